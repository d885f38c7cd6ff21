//! One connection's socket glue: non-blocking reads into the core, vectored writes and
//! sendfile spans out of it, the half-close, and the readiness bookkeeping that edge-triggered
//! polling needs.
//!
//! Edge-triggered readiness reports a *change*: after a readable edge the socket must be read
//! until `WouldBlock`, or the bytes left in the kernel buffer never raise another event. So a
//! connection remembers `read_ready` (no `WouldBlock` since the last edge) and reads again
//! whenever the core wants input and that flag is still set — in particular when `wants_read`
//! turns true after a pipelined request or body backpressure paused reading. Writes work the
//! same way with `write_blocked`, and `WRITABLE` interest is registered only while a write is
//! blocked, so an idle connection costs the kernel one readable registration.

use std::fs::File;
use std::io::{self, Read};
use std::net::{Shutdown, SocketAddr};
use std::sync::Arc;
use std::time::Instant;

use mio::net::TcpStream;
use mio::{Interest, Registry, Token};
use protocol::{Event, ServerConnection};
use runtime_std::sendfile::{FileSpan, Next, next_transmit};

use crate::cgi::CgiRun;
use crate::custom::CustomRun;
use crate::timers::ConnId;

/// Work a connection does beside the socket while a request is answered.
#[derive(Debug)]
pub(crate) enum Job {
    /// A CGI script runs for it.
    Cgi(CgiRun),
    /// A user handler runs for it on the worker pool.
    Custom(CustomRun),
}

impl Job {
    /// Whether the job has room for another request body chunk (else the socket is not read).
    fn accepts_body(&self) -> bool {
        match self {
            Self::Cgi(run) => run.accepts_body(),
            Self::Custom(run) => run.accepts_body(),
        }
    }

    /// Feeds the core's request body events to the job and returns the first event that is
    /// not for it, for the session. `None` when no event is available now, or while the
    /// job's one-chunk slot is full.
    pub(crate) fn route(&mut self, core: &mut ServerConnection) -> Option<Event> {
        loop {
            let wants = match self {
                Self::Cgi(run) => run.wants_body(),
                Self::Custom(run) => run.wants_body(),
            };
            if wants && !self.accepts_body() {
                return None;
            }
            let event = core.poll_event()?;
            if !wants {
                return Some(event);
            }
            let error = match event {
                Event::Body(data) => {
                    match self {
                        Self::Cgi(run) => run.push_body(data),
                        Self::Custom(run) => run.push_body(data),
                    }
                    continue;
                }
                Event::EndOfRequest { .. } => None,
                Event::RequestError(e) => Some(e.to_string()),
                other => return Some(other),
            };
            match self {
                Self::Cgi(run) => run.end_body(),
                Self::Custom(run) => run.end_body(error),
            }
        }
    }

    /// The job's own deadline (the CGI time limit).
    fn deadline(&self) -> Option<Instant> {
        match self {
            Self::Cgi(run) => Some(run.deadline()),
            Self::Custom(_) => None,
        }
    }
}

/// A connection: the socket, the protocol core, and what runs for the current request.
#[derive(Debug)]
pub(crate) struct Conn {
    pub(crate) stream: TcpStream,
    pub(crate) core: ServerConnection,
    pub(crate) peer: SocketAddr,
    pub(crate) id: ConnId,
    /// The deadline this connection has in the timer heap.
    pub(crate) armed: Option<Instant>,
    /// A CGI script or a user handler answering the current request.
    pub(crate) job: Option<Box<Job>>,
    file: Option<FileSpan>,
    /// No read returned `WouldBlock` since the last readable edge.
    read_ready: bool,
    /// The last write returned `WouldBlock`; wait for a writable edge.
    write_blocked: bool,
    /// Whether `WRITABLE` is part of the registered interest.
    writable_registered: bool,
}

impl Conn {
    /// A freshly accepted connection. Bytes may already wait in the socket (the request often
    /// arrives with the handshake), so it starts out read-ready.
    pub(crate) fn new(
        stream: TcpStream,
        peer: SocketAddr,
        id: ConnId,
        config: &Arc<protocol::Config>,
    ) -> Self {
        // Responses are written whole; Nagle would only delay the last segment.
        let _ = stream.set_nodelay(true);
        Self {
            stream,
            core: ServerConnection::new(Arc::clone(config), Instant::now()),
            peer,
            id,
            armed: None,
            job: None,
            file: None,
            read_ready: true,
            write_blocked: false,
            writable_registered: false,
        }
    }

    /// A readiness event arrived for the socket.
    pub(crate) fn on_ready(&mut self, readable: bool, writable: bool) {
        // Errors and hang-ups are found by the next read or write.
        self.read_ready |= readable;
        if writable {
            self.write_blocked = false;
        }
    }

    /// The file an external span will be sent from.
    pub(crate) fn set_file(&mut self, file: File, offset: u64) {
        self.file = Some(FileSpan { file, offset });
    }

    /// Whether a read should be tried now.
    pub(crate) fn can_read(&self) -> bool {
        self.read_ready
            && self.core.wants_read()
            && self.job.as_deref().is_none_or(Job::accepts_body)
    }

    /// One read into the core through the reactor-wide `buf` (connections keep no read
    /// buffer of their own, so an idle one holds none). Returns whether anything happened.
    pub(crate) fn read_once(&mut self, buf: &mut [u8]) -> bool {
        loop {
            match (&self.stream).read(buf) {
                Ok(0) => {
                    self.read_ready = false;
                    self.core.receive_eof(Instant::now());
                    return true;
                }
                Ok(n) => {
                    self.core.receive(&buf[..n], Instant::now());
                    return true;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.read_ready = false;
                    return false;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => {
                    self.core.abort();
                    return true;
                }
            }
        }
    }

    /// Writes what the core has queued until it is all out or the socket is full. A socket
    /// error aborts the connection. Returns whether anything went out (a completed response
    /// can release pipelined requests, so the caller drains events again).
    pub(crate) fn flush(&mut self) -> bool {
        let mut progress = false;
        while !self.write_blocked {
            let Some(next) = next_transmit(&mut self.core) else {
                break;
            };
            let result = match next {
                Next::Bytes => self.write_queued(),
                Next::External(len) => self.send_file(len),
                Next::Shutdown => {
                    // Half-close, then keep reading and discarding until the peer closes
                    // or the linger deadline passes (the core says so with is_closed).
                    self.file = None;
                    let _ = self.stream.shutdown(Shutdown::Write);
                    Ok(())
                }
            };
            match result {
                Ok(()) => progress = true,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => self.write_blocked = true,
                Err(_) => {
                    self.core.abort();
                    return true;
                }
            }
        }
        progress
    }

    fn write_queued(&mut self) -> io::Result<()> {
        runtime_std::sendfile::write_queued(&mut self.core, &self.stream)
    }

    fn send_file(&mut self, len: u64) -> io::Result<()> {
        let span = self
            .file
            .as_mut()
            .ok_or_else(|| io::Error::other("external span without a file"))?;
        let stream = &self.stream;
        // mio's documented way to do I/O it does not know about on a registered socket.
        let sent = stream.try_io(|| {
            runtime_std::sendfile::send_span(&mut &*stream, &span.file, &mut span.offset, len)
        })?;
        if sent == 0 {
            // The file shrank after it was measured: the promised length cannot be kept.
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        self.core.advance_transmit(sent);
        if sent as u64 == len {
            // Span done: an idle keep-alive connection must not keep the file open.
            self.file = None;
        }
        Ok(())
    }

    /// Registers `WRITABLE` interest only while a write is blocked; `READABLE` always.
    pub(crate) fn update_interest(&mut self, registry: &Registry, token: Token) {
        let want = self.write_blocked && !self.core.is_closed();
        if want != self.writable_registered {
            let interest = if want {
                Interest::READABLE | Interest::WRITABLE
            } else {
                Interest::READABLE
            };
            if registry
                .reregister(&mut self.stream, token, interest)
                .is_err()
            {
                self.core.abort();
            }
            self.writable_registered = want;
        }
    }

    /// The earliest deadline: the core's timers and the job's time limit.
    pub(crate) fn deadline(&self) -> Option<Instant> {
        let job = self.job.as_deref().and_then(Job::deadline);
        match (self.core.poll_timeout(), job) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

#[cfg(test)]
mod tests {
    /// An idle connection is this box plus what the core keeps between requests; the slab slot
    /// stays a pointer wide. Growing these is a memory cost per idle connection (bench/).
    #[test]
    fn idle_footprint_stays_small() {
        assert!(
            size_of::<super::Conn>() <= 1024,
            "{}",
            size_of::<super::Conn>()
        );
        assert!(size_of::<crate::service::Slot>() <= 16);
    }
}
