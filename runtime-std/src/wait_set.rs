//! A connection thread's own epoll set, holding its socket and the server's stop pipe, so
//! that waiting for the next request is one `epoll_wait`. A `poll(2)` of the same two
//! descriptors sets up and tears down a wait-queue entry on each of them for every request,
//! and the stop pipe is shared by every connection thread.
//!
//! The set is level-triggered, like the `poll(2)` it replaces: the socket's interest follows
//! what the turn waits for, changed only when that changes (reading, nearly always). A socket
//! nothing is wanted from leaves the set, or its hang-up would be reported on every wait; the
//! stop pipe leaves it once the stop was seen, as it stays readable from then on.

use std::io;
use std::mem::MaybeUninit;
use std::os::fd::{BorrowedFd, OwnedFd};

use rustix::event::Timespec;
use rustix::event::epoll::{self, CreateFlags, Event, EventData, EventFlags};

/// The user data of the socket's registration.
const SOCKET: u64 = 0;

/// The user data of the stop pipe's registration.
const STOP: u64 = 1;

/// The epoll set of one connection thread.
#[derive(Debug)]
pub(crate) struct WaitSet {
    epoll: OwnedFd,
    /// What the socket is registered for; `None`: it is not in the set.
    socket: Option<EventFlags>,
    /// Whether the stop pipe is in the set.
    stop: bool,
}

impl WaitSet {
    /// A set holding the stop pipe. Fails when the process is out of descriptors (the
    /// caller then waits with `poll(2)`).
    pub(crate) fn new(stop: BorrowedFd<'_>) -> io::Result<Self> {
        let epoll = epoll::create(CreateFlags::CLOEXEC)?;
        epoll::add(&epoll, stop, EventData::new_u64(STOP), EventFlags::IN)?;
        Ok(Self {
            epoll,
            socket: None,
            stop: true,
        })
    }

    /// Waits until `socket` is ready for `want` (`IN`, `OUT`; empty: not waited for), the
    /// stop pipe is readable (while `watch_stop`), or `timeout` passed. Returns whether the
    /// socket reported anything (readiness, a hang-up or an error: the next read or write
    /// says which). `Err` when the set could not be changed: the caller waits another way.
    pub(crate) fn wait(
        &mut self,
        socket: BorrowedFd<'_>,
        want: EventFlags,
        stop: BorrowedFd<'_>,
        watch_stop: bool,
        timeout: Option<&Timespec>,
    ) -> io::Result<bool> {
        let want = (!want.is_empty()).then_some(want);
        if want != self.socket {
            let data = EventData::new_u64(SOCKET);
            match (self.socket, want) {
                (None, Some(flags)) => epoll::add(&self.epoll, socket, data, flags)?,
                (Some(_), Some(flags)) => epoll::modify(&self.epoll, socket, data, flags)?,
                (Some(_), None) => epoll::delete(&self.epoll, socket)?,
                (None, None) => {}
            }
            self.socket = want;
        }
        if self.stop && !watch_stop {
            epoll::delete(&self.epoll, stop)?;
            self.stop = false;
        }
        let mut events = [MaybeUninit::<Event>::uninit(); 2];
        match epoll::wait(&self.epoll, &mut events, timeout) {
            Ok((ready, _)) => Ok(ready.iter().any(|event| event.data.u64() == SOCKET)),
            // Interrupted: the next turn finds out what there is to do.
            Err(rustix::io::Errno::INTR) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::net::{TcpListener, TcpStream};
    use std::os::fd::AsFd;
    use std::time::{Duration, Instant};

    use super::*;

    fn pair() -> (TcpStream, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server, _) = listener.accept().unwrap();
        (client, server)
    }

    fn ms(n: u64) -> Timespec {
        Timespec::try_from(Duration::from_millis(n)).unwrap()
    }

    #[test]
    fn wakes_for_the_socket_the_stop_and_the_timeout() {
        let (mut client, server) = pair();
        let (stop_rx, stop_tx) = rustix::pipe::pipe().unwrap();
        let mut set = WaitSet::new(stop_rx.as_fd()).unwrap();
        let (socket, stop) = (server.as_fd(), stop_rx.as_fd());
        // Nothing yet: the timeout.
        let start = Instant::now();
        assert!(
            !set.wait(socket, EventFlags::IN, stop, true, Some(&ms(50)))
                .unwrap()
        );
        assert!(start.elapsed() >= Duration::from_millis(40));
        // Bytes: the socket, and again while they are unread (level-triggered).
        client.write_all(b"x").unwrap();
        for _ in 0..2 {
            assert!(
                set.wait(socket, EventFlags::IN, stop, true, Some(&ms(1000)))
                    .unwrap()
            );
        }
        // Not wanted: the unread bytes do not wake the wait.
        assert!(
            !set.wait(socket, EventFlags::empty(), stop, true, Some(&ms(20)))
                .unwrap()
        );
        // The stop wakes it, and once seen leaves the set.
        rustix::io::write(&stop_tx, &[1]).unwrap();
        let start = Instant::now();
        assert!(
            !set.wait(socket, EventFlags::empty(), stop, true, Some(&ms(1000)))
                .unwrap()
        );
        assert!(start.elapsed() < Duration::from_millis(500));
        let start = Instant::now();
        assert!(
            !set.wait(socket, EventFlags::empty(), stop, false, Some(&ms(50)))
                .unwrap()
        );
        assert!(start.elapsed() >= Duration::from_millis(40));
        // Writable, once asked.
        assert!(
            set.wait(socket, EventFlags::OUT, stop, false, Some(&ms(1000)))
                .unwrap()
        );
    }
}
