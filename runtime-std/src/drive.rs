//! One connection on a blocking socket: the canonical driving loop of the protocol core.
//!
//! Drain events (answering each request), write what the core transmits (sendfile for file
//! spans), then block in `read` with the core's next deadline as the socket timeout. The
//! thread blocks while writing, so outbound backpressure needs no bookkeeping.

use std::io::{self, Read};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use protocol::{RequestHead, ResponseBody, ResponseHead, ServerConnection, UsageError};

use crate::sendfile::{self, FileSpan, Next, next_transmit};
use crate::server::Shared;
use crate::{Service, cgi};
use handler::exchange::{Transport, fill_from_chunk, serve_request};
use handler::session::{Action, Mode, Session, next_body_part};

/// A connection and its socket.
pub(crate) struct Driver<'s> {
    stream: TcpStream,
    core: ServerConnection,
    peer: SocketAddr,
    shared: &'s Shared,
    file: Option<FileSpan>,
    /// The read timeout currently set on the socket (a syscall to change).
    read_timeout: Option<Duration>,
    /// Part of a body chunk a handler's read could not take whole.
    leftover: Option<Bytes>,
    /// The socket failed; the connection is being dropped.
    broken: bool,
}

impl<'s> Driver<'s> {
    pub(crate) fn new(stream: TcpStream, peer: SocketAddr, shared: &'s Shared) -> Self {
        // Responses are written whole; Nagle would only delay the last segment.
        let _ = stream.set_nodelay(true);
        let core = ServerConnection::new(Arc::clone(&shared.protocol), Instant::now());
        Self {
            stream,
            core,
            peer,
            shared,
            file: None,
            read_timeout: None,
            leftover: None,
            broken: false,
        }
    }

    /// Serves the connection until it closes.
    pub(crate) fn run(mut self) {
        while !self.core.is_closed() && !self.broken {
            if self.shared.stopping() {
                self.core.close_after_response();
            }
            // Writing a response out can complete it and release a pipelined request that
            // was already buffered: answer until neither side has anything left to do.
            loop {
                let handled = self.dispatch();
                if self.flush().is_err() {
                    return;
                }
                if handled == 0 {
                    break;
                }
            }
            if self.core.is_closed() {
                break;
            }
            self.wait_for_input();
        }
    }

    /// Drains events, answering requests as they come. Returns how many were handled.
    fn dispatch(&mut self) -> usize {
        let session = Session {
            settings: &self.shared.settings,
            mode: match self.shared.service {
                Service::Files => Mode::Files,
                Service::Custom(_) => Mode::Custom,
            },
        };
        let mut log = String::new();
        let mut handled = 0;
        while let Some(event) = self.core.poll_event() {
            handled += 1;
            let ctx = self.shared.request_context(self.peer);
            let action = session.handle_event(&mut self.core, event, &ctx, &mut log);
            if !log.is_empty() {
                crate::write_log(&log);
                log.clear();
            }
            match action {
                Action::SendFile { file, offset } => self.file = Some(FileSpan { file, offset }),
                Action::Cgi { spec, response } => cgi::run(self, &spec, &response),
                Action::Custom(head) => self.run_handler(&head),
                Action::None => {}
            }
        }
        handled
    }

    /// Runs the user's handler on this thread: its reads and writes drive this connection.
    fn run_handler(&mut self, head: &RequestHead) {
        let Service::Custom(handler) = &self.shared.service else {
            return;
        };
        let handler = Arc::clone(handler);
        let shared = self.shared;
        let peer = self.peer;
        if !serve_request(handler.as_ref(), &shared.settings, head, peer, self) {
            self.core.abort();
        }
    }

    /// Writes everything the core has queued. Errors mean the peer is gone.
    pub(crate) fn flush(&mut self) -> io::Result<()> {
        loop {
            let Some(next) = next_transmit(&mut self.core) else {
                return Ok(());
            };
            let result = match next {
                Next::Bytes => self.write_queued(),
                Next::External(len) => self.send_file(len),
                Next::Shutdown => {
                    let _ = self.stream.shutdown(Shutdown::Write);
                    Ok(())
                }
            };
            if let Err(e) = result {
                self.core.abort();
                self.broken = true;
                return Err(e);
            }
        }
    }

    fn write_queued(&mut self) -> io::Result<()> {
        sendfile::write_queued(&mut self.core, &mut self.stream)
    }

    fn send_file(&mut self, len: u64) -> io::Result<()> {
        let span = self
            .file
            .as_mut()
            .ok_or_else(|| io::Error::other("external span without a file"))?;
        let sent = sendfile::send_span(&mut self.stream, &span.file, &mut span.offset, len)?;
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

    /// Blocks until input arrives or the next deadline passes.
    fn wait_for_input(&mut self) {
        if !self.core.wants_read() {
            match self.core.poll_timeout() {
                Some(deadline) => {
                    std::thread::sleep(deadline.saturating_duration_since(Instant::now()));
                    self.core.handle_timeout(Instant::now());
                }
                // Nothing to read, nothing to write, nothing to wait for.
                None => self.core.abort(),
            }
            return;
        }
        let _ = self.read_once();
    }

    /// One read from the socket into the core. Returns whether a body byte or EOF arrived.
    fn read_once(&mut self) -> io::Result<usize> {
        let timeout = self.core.poll_timeout().map(|d| {
            d.saturating_duration_since(Instant::now())
                .max(Duration::from_millis(1))
        });
        if timeout != self.read_timeout {
            self.stream.set_read_timeout(timeout)?;
            self.read_timeout = timeout;
        }
        let buf = self.core.recv_buf();
        match self.stream.read(buf) {
            Ok(0) => {
                self.core.commit_recv(0, Instant::now());
                self.core.receive_eof(Instant::now());
                Ok(0)
            }
            Ok(n) => {
                self.core.commit_recv(n, Instant::now());
                Ok(n)
            }
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                self.core.commit_recv(0, Instant::now());
                self.core.handle_timeout(Instant::now());
                Ok(0)
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {
                self.core.commit_recv(0, Instant::now());
                Ok(0)
            }
            Err(e) => {
                self.core.commit_recv(0, Instant::now());
                self.core.abort();
                self.broken = true;
                Err(e)
            }
        }
    }

    /// Reads request body bytes for a handler or a CGI script: `Ok(0)` at the end.
    pub(crate) fn next_body_chunk(&mut self) -> io::Result<Option<Bytes>> {
        loop {
            if let Some(part) = next_body_part(&mut self.core) {
                return part.into_chunk();
            }
            self.flush()?;
            if self.core.is_closed() || self.broken {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
            self.wait_for_input();
        }
    }

    /// The `http.server` settings.
    pub(crate) fn settings(&self) -> &'s handler::Settings {
        &self.shared.settings
    }

    /// The CGI time limit.
    pub(crate) fn cgi_timeout(&self) -> Duration {
        self.shared.cgi_timeout
    }

    /// The socket descriptor, to poll it beside a script's pipes.
    pub(crate) fn socket_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        std::os::fd::AsFd::as_fd(&self.stream)
    }

    /// One read, when the socket is known to be readable.
    pub(crate) fn read_ready(&mut self) -> io::Result<()> {
        self.read_once().map(|_| ())
    }

    /// The protocol core, for runtime pieces that drive it directly (CGI).
    pub(crate) fn core_mut(&mut self) -> &mut ServerConnection {
        &mut self.core
    }

    /// The peer address.
    pub(crate) fn peer(&self) -> SocketAddr {
        self.peer
    }

    /// Whether the connection broke.
    pub(crate) fn is_broken(&self) -> bool {
        self.broken
    }
}

impl Transport for Driver<'_> {
    fn read_body(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let chunk = match self.leftover.take() {
            Some(chunk) => chunk,
            None => match self.next_body_chunk()? {
                Some(chunk) => chunk,
                None => return Ok(0),
            },
        };
        Ok(fill_from_chunk(chunk, buf, &mut self.leftover))
    }

    fn send_continue(&mut self) -> io::Result<()> {
        self.core.send_continue().map_err(|e| usage(&e))?;
        self.flush()
    }

    fn start_response(&mut self, head: &ResponseHead, body: ResponseBody) -> io::Result<()> {
        self.core.send_response(head, body).map_err(|e| usage(&e))?;
        self.flush()
    }

    fn write_body(&mut self, data: &[u8]) -> io::Result<()> {
        self.core
            .send_body(Bytes::copy_from_slice(data))
            .map_err(|e| usage(&e))?;
        self.flush()
    }

    fn finish_response(&mut self) -> io::Result<()> {
        self.core.finish_response().map_err(|e| usage(&e))?;
        self.flush()
    }

    fn log(&mut self, line: &str) {
        crate::write_log(line);
    }
}

fn usage(e: &UsageError) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, e.to_string())
}
