//! One connection on its own thread: turn the driver, then wait for what the turn names
//! (the socket, the CGI script's pipes, the next deadline, a stop). A blocking read could
//! not also wait for a pipe, so the socket is non-blocking and everything is waited for at
//! once: in the thread's own epoll set (`wait_set`), or with `poll(2)` while a script runs.
//! Before it waits to read (between two requests, or for more of a body) the thread first
//! yields the processor and reads once more: on a busy server the bytes are there by then, and
//! the thread did not sleep.
//!
//! Your handler runs inline, on this thread, as in Python's `ThreadingHTTPServer`. Each of
//! its commands goes to the connection, and when the handler waits for an answer that
//! needs the socket first (a body chunk not yet read, room in a full send queue), this
//! thread drives the socket until the answer is there.

use std::net::{SocketAddr, TcpStream};
use std::os::fd::AsFd;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustix::event::epoll::EventFlags;
use rustix::event::{PollFd, PollFlags, Timespec, poll};
use serve::{Command, Connection, Ticket};
use sys::clock::now;
use sys::drive::{Driver, Turn};

use crate::server::Shared;
use crate::wait_set::WaitSet;

/// Serves the connection on `stream` until it is over.
pub(crate) fn serve(shared: &Shared, stream: Arc<TcpStream>, peer: SocketAddr, ticket: Ticket) {
    let conn = Connection::new(Arc::clone(&shared.config), peer, now());
    let mut thread = Thread {
        shared,
        ticket,
        driver: Driver::new(conn, stream),
        idle: true,
        stopped: false,
        wait_set: None,
        no_wait_set: false,
        waited_idle: false,
        yielded_at: None,
    };
    loop {
        let turn = thread.turn();
        if turn.done {
            break;
        }
        if let Some(task) = thread.driver.take_task() {
            task.run(|command| thread.deliver(command));
            continue;
        }
        thread.wait(turn);
    }
}

struct Thread<'a> {
    shared: &'a Shared,
    ticket: Ticket,
    driver: Driver<Arc<TcpStream>>,
    /// What the roster was last told.
    idle: bool,
    /// The stop reached this connection (and the stop pipe is no longer waited on).
    stopped: bool,
    /// Where the thread waits when only the socket and the stop matter (nearly always).
    wait_set: Option<WaitSet>,
    /// The wait set could not be made or changed: this connection waits with `poll(2)`.
    no_wait_set: bool,
    /// The connection has waited for a request before. The set is made when it waits for
    /// its second: a set costs four system calls (make, two registrations, close), more than
    /// a `poll(2)` saves once, and a connection that serves one request (a client that
    /// connects per request, `Connection: close`) never waits for another.
    waited_idle: bool,
    /// The thread's count of arrivals (`protocol::arrivals`, this connection's alone) when
    /// it last looked for a request without waiting (see [`Thread::yield_then_read`]).
    yielded_at: Option<u64>,
}

/// The longest single wait: `epoll_wait` takes at most `c_int::MAX` milliseconds; a deadline
/// further off is simply waited for again.
const LONGEST_WAIT: Duration = Duration::from_secs(24 * 3600);

impl Thread<'_> {
    fn turn(&mut self) -> Turn {
        let at = now();
        let turn = self.driver.turn(at);
        let idle = self.driver.conn().is_idle();
        if idle != self.idle {
            // Only changes take the roster's lock.
            self.idle = idle;
            self.shared.set_idle(self.ticket, idle, at.instant);
        }
        turn
    }

    /// Hands a handler's command to the connection, and returns once the handler may wait
    /// for its reply: the task blocks on it, so the socket progress the reply needs has to
    /// happen here first. Turning after every command also sends what the handler wrote
    /// without waiting for the next.
    fn deliver(&mut self, command: Command) {
        // A handler that does not wait for the socket never reaches `wait`: a stop must
        // still reach its response (`Connection: close`).
        self.notice_stop();
        self.driver.command(command);
        loop {
            let turn = self.turn();
            // A connection that closed answers every waiting command (with an error).
            if !self.driver.conn().handler_waiting() {
                return;
            }
            self.wait(turn);
        }
    }

    /// Waits for what `turn` names, and tells the driver what happened.
    fn wait(&mut self, turn: Turn) {
        if turn.more || self.notice_stop() || self.yield_then_read(turn) {
            return;
        }
        let timeout = turn
            .deadline
            .map(|at| {
                at.saturating_duration_since(Instant::now())
                    .min(LONGEST_WAIT)
            })
            .and_then(|left| Timespec::try_from(left).ok());
        let socket_ready = match self.wait_in_set(turn, timeout.as_ref()) {
            Some(ready) => ready,
            None => self.poll(turn, timeout.as_ref()),
        };
        if socket_ready {
            self.driver.readable();
            self.driver.writable();
        }
        self.notice_stop();
    }

    /// Instead of sleeping until the next request arrives, lets the other threads run first
    /// and then reads: on a busy server the client has sent it by then, and the thread is
    /// spared a sleep and a wake-up (measured, 32 connections on one core: 1.00 `recv` and
    /// no `epoll_wait` per request, and 8.3 µs of CPU per request instead of 10.3-11.1).
    /// Once per arrival: if nothing came, the thread waits. An idle server pays one yield and
    /// one empty `recv` per request.
    fn yield_then_read(&mut self, turn: Turn) -> bool {
        let arrivals = protocol::arrivals();
        if !turn.read || turn.write || self.yielded_at == Some(arrivals) {
            return false;
        }
        self.yielded_at = Some(arrivals);
        std::thread::yield_now();
        self.driver.readable();
        true
    }

    /// The wait in the thread's epoll set (made when the connection waits for its second
    /// request), when no script's pipes are waited for too. `None` when the set cannot be
    /// used: the process is out of descriptors, or changing the set failed (then the rest of
    /// the connection polls).
    fn wait_in_set(&mut self, turn: Turn, timeout: Option<&Timespec>) -> Option<bool> {
        if self.driver.pipes().is_some() || self.no_wait_set {
            return None;
        }
        let stop = self.shared.stop_fd();
        if self.wait_set.is_none() {
            if !self.driver.conn().is_idle() || !std::mem::replace(&mut self.waited_idle, true) {
                return None;
            }
            self.wait_set = WaitSet::new(stop.as_fd()).ok();
            self.no_wait_set = self.wait_set.is_none();
        }
        let set = self.wait_set.as_mut()?;
        let mut want = EventFlags::empty();
        if turn.read {
            want |= EventFlags::IN;
        }
        if turn.write {
            want |= EventFlags::OUT;
        }
        let socket = self.driver.socket().as_fd();
        let ready = set
            .wait(socket, want, stop.as_fd(), !self.stopped, timeout)
            .ok();
        if ready.is_none() {
            self.wait_set = None;
            self.no_wait_set = true;
        }
        ready
    }

    /// The wait with `poll(2)`: the socket, the stop pipe and the script's pipes. Returns
    /// whether the socket reported anything.
    fn poll(&self, turn: Turn, timeout: Option<&Timespec>) -> bool {
        let mut socket = PollFlags::empty();
        if turn.read {
            socket |= PollFlags::IN;
        }
        if turn.write {
            socket |= PollFlags::OUT;
        }
        let stop_fd = self.shared.stop_fd();
        let socket_fd = self.driver.socket().as_fd();
        let pipes = self.driver.pipes();
        let wanted = [
            (!socket.is_empty()).then_some((socket_fd, socket)),
            (!self.stopped).then_some((stop_fd.as_fd(), PollFlags::IN)),
            pipes.and_then(|p| p.stdin).map(|fd| (fd, PollFlags::OUT)),
            pipes.and_then(|p| p.stdout).map(|fd| (fd, PollFlags::IN)),
            pipes.and_then(|p| p.stderr).map(|fd| (fd, PollFlags::IN)),
        ];
        // On the stack; places past `count` are not polled.
        let mut fds: [PollFd<'_>; 5] =
            std::array::from_fn(|_| PollFd::from_borrowed_fd(socket_fd, PollFlags::empty()));
        let mut count = 0;
        for (fd, flags) in wanted.into_iter().flatten() {
            fds[count] = PollFd::from_borrowed_fd(fd, flags);
            count += 1;
        }
        // Interrupted or failed: the next turn finds out what there is to do.
        let _ = poll(&mut fds[..count], timeout);
        // Readiness, a hang-up or an error: the next read or write says which.
        !socket.is_empty() && !fds[0].revents().is_empty()
    }

    /// Stops the connection once the server stops. Returns whether that happened now.
    fn notice_stop(&mut self) -> bool {
        if self.stopped || !self.shared.stopping() {
            return false;
        }
        self.stopped = true;
        self.driver.stop();
        true
    }
}
