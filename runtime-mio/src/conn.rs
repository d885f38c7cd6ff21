//! One connection of a reactor: its [`Driver`] (which does all the work), and what the reactor
//! keeps beside it: the slab slot and generation that name it, its roster ticket, the deadline
//! it has in the timer heap, and its registrations.
//!
//! Edge-triggered readiness reports a *change*, so the driver remembers what the last read and
//! write returned (`readable()`/`writable()` tell it about new edges). `READABLE` stays
//! registered for the connection's whole life; `WRITABLE` is added only while a write is
//! blocked, so an idle keep-alive connection costs the kernel one readable registration.

use std::io;
use std::net::TcpStream;
use std::os::fd::AsRawFd;
use std::time::Instant;

use mio::unix::SourceFd;
use mio::{Interest, Registry, Token};
use serve::{Roster, Ticket};
use sys::drive::Driver;

use crate::drive::Ready;
use crate::timers::ConnId;

/// A connection and the reactor's bookkeeping for it.
#[derive(Debug)]
pub(crate) struct Conn {
    pub(crate) driver: Driver<TcpStream>,
    pub(crate) id: ConnId,
    pub(crate) ticket: Ticket,
    /// The deadline this connection has in the timer heap.
    pub(crate) armed: Option<Instant>,
    /// What the roster was last told (it is told only of changes, which saves a clock read
    /// per turn).
    pub(crate) idle: bool,
    /// The registered pipes of the running script (boxed: most connections never run one,
    /// and each idle connection would carry the room).
    pub(crate) pipes: Option<Box<PipeSlots>>,
    /// Whether `WRITABLE` is part of the socket's registration.
    writable: bool,
}

impl Conn {
    /// A connection whose socket is registered `READABLE` already.
    pub(crate) fn new(driver: Driver<TcpStream>, id: ConnId, ticket: Ticket) -> Self {
        Self {
            driver,
            id,
            ticket,
            armed: None,
            // The roster admits connections as idle.
            idle: true,
            pipes: None,
            writable: false,
        }
    }

    /// Tells the roster when the connection starts or stops sitting between requests (an
    /// idle one is closed first when the server is full).
    pub(crate) fn note_idle(&mut self, roster: &mut Roster<ConnId>, at: Instant) {
        let idle = self.driver.conn().is_idle();
        if idle != self.idle {
            self.idle = idle;
            roster.set_idle(self.ticket, idle, at);
        }
    }

    /// Readiness of the socket: an error or hang-up counts as both (the next read or write
    /// finds it).
    pub(crate) fn ready(&mut self, ready: Ready) {
        if ready.read {
            self.driver.readable();
        }
        if ready.read_closed {
            self.driver.read_closed();
        }
        if ready.write {
            self.driver.writable();
        }
    }

    /// Registers `WRITABLE` interest while `write` (a write is blocked), `READABLE` always.
    pub(crate) fn want_write(
        &mut self,
        registry: &Registry,
        token: Token,
        write: bool,
    ) -> io::Result<()> {
        if write == self.writable {
            return Ok(());
        }
        let interest = if write {
            Interest::READABLE | Interest::WRITABLE
        } else {
            Interest::READABLE
        };
        self.writable = write;
        let fd = self.driver.socket().as_raw_fd();
        registry.reregister(&mut SourceFd(&fd), token, interest)
    }

    /// Takes the socket out of the poll before it is closed.
    pub(crate) fn deregister(&self, registry: &Registry) {
        let fd = self.driver.socket().as_raw_fd();
        let _ = registry.deregister(&mut SourceFd(&fd));
    }
}

/// Where the pipes of a connection's running script are registered.
#[derive(Debug)]
pub(crate) struct PipeSlots {
    /// Slab keys of the registered pipes: stdin, stdout, stderr.
    pub(crate) keys: [Option<usize>; 3],
    /// [`Driver::scripts_started`] when they were registered.
    pub(crate) script: u64,
}

/// Registers a socket's `READABLE` interest under `token`.
pub(crate) fn register(registry: &Registry, socket: &TcpStream, token: Token) -> io::Result<()> {
    registry.register(
        &mut SourceFd(&socket.as_raw_fd()),
        token,
        Interest::READABLE,
    )
}

#[cfg(test)]
mod tests {
    /// An idle connection is this box and its slab slot, timer heap and roster entries: the
    /// core and the serve layer keep no buffer while it waits (their `retained_bytes`
    /// tests). Issue #17 asks for at most 1 KiB in all; the box was 776 bytes when this
    /// bound was set, the entries about 100, and allocator overhead the rest. The slab slot
    /// stays a pointer wide.
    #[test]
    fn idle_footprint_stays_small() {
        let size = size_of::<super::Conn>();
        assert!(size <= 832, "{size}");
        assert!(size_of::<crate::service::Slot>() <= 16);
    }
}
