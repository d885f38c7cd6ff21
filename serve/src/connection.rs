//! One connection of the server: the protocol core, the request being answered (a file being
//! sent, a CGI script, a user handler), and the deadlines above the core (send progress, the
//! minimum rate, the stop). Inputs in, I/O requests out; no I/O, no clock.

use std::collections::VecDeque;
use std::fs::File;
use std::io::IoSlice;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use protocol::ServerConnection;

use crate::cgi::CgiJob;
use crate::config::ServerConfig;
use crate::io::{Io, Transmit};
use crate::pace::Pace;
use crate::record::{Record, Recording};
use crate::routes::HandlerJob;
use crate::tls::{Phase, Tls};
use crate::trace::Tracer;

/// How long a script whose output ended may take to exit on its own before its group is
/// killed.
const CGI_EXIT_GRACE: Duration = Duration::from_secs(2);

/// The time, as the runtime read it: monotonic for deadlines, wall-clock for `Date` and logs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Now {
    /// Monotonic time.
    pub instant: Instant,
    /// Wall-clock time.
    pub wall: SystemTime,
}

impl Now {
    /// The time `instant` (monotonic) and `wall` (wall-clock), read together.
    pub fn new(instant: Instant, wall: SystemTime) -> Self {
        Self { instant, wall }
    }
}

/// What answers the current request beside the core.
#[derive(Debug)]
enum Job {
    Cgi(Box<CgiJob>),
    Handler(Box<HandlerJob>),
}

/// The file behind the response's external spans: where the current span has got to (the
/// front) and where each span after it starts, in the order the core transmits them.
#[derive(Debug)]
struct FileSpan {
    file: Arc<File>,
    /// Where each external span of the response starts, in order (several for a
    /// `multipart/byteranges` response).
    offsets: VecDeque<u64>,
    /// What is left of the span, when the last transmit offered was the span (not bytes).
    /// `handle_sent` goes by this and never asks the core again: asking is not free of
    /// effects (it takes a queued shutdown, which would then never reach the runtime).
    sending: Option<u64>,
}

/// One connection of the server. See the crate docs for the driving loop.
#[derive(Debug)]
pub struct Connection {
    config: Arc<ServerConfig>,
    core: ServerConnection,
    peer: SocketAddr,
    /// Boxed: most of a connection's life has no file in flight, and an idle connection
    /// should not carry its room.
    file: Option<Box<FileSpan>>,
    job: Option<Job>,
    io: VecDeque<Io>,
    pace: Pace,
    /// After a stop: when the connection is closed, finished or not.
    stop_by: Option<Instant>,
    /// The latest time seen.
    now: Now,
    /// `Some` when [`ServerConfig::trace`] is on.
    trace: Option<Box<Tracer>>,
    /// `Some` when [`ServerConfig::recorder`] recorded this connection (`--record`).
    record: Option<Box<Recording>>,
    /// `Some` when [`ServerConfig::tls`] is set (see the TLS section below).
    tls: Option<Box<Tls>>,
}

impl Connection {
    /// A connection from `peer`, accepted at `now`.
    pub fn new(config: Arc<ServerConfig>, peer: SocketAddr, now: Now) -> Self {
        let mut core = ServerConnection::new(Arc::clone(&config.protocol), now.instant);
        let tls = config.tls.as_ref().and_then(|tls| {
            let deadline = now.instant.checked_add(config.tls_handshake_timeout);
            // A configuration rustls refuses cannot serve anyone: the connection just closes.
            Tls::new(tls, deadline).map(Box::new).ok().or_else(|| {
                core.abort();
                None
            })
        });
        let trace = config.trace.then(|| {
            let mut tracer = Tracer::new(Arc::clone(&config.log), peer, now.instant);
            tracer.state(now.instant, core.state());
            Box::new(tracer)
        });
        Self {
            trace,
            record: Recording::open(&config, peer, now),
            pace: Pace::new(now.instant),
            config,
            core,
            peer,
            file: None,
            job: None,
            io: VecDeque::new(),
            stop_by: None,
            now,
            tls,
        }
    }

    /// The peer's address.
    pub fn peer(&self) -> SocketAddr {
        self.peer
    }

    /// The server configuration.
    pub fn config(&self) -> &Arc<ServerConfig> {
        &self.config
    }

    // ----- socket input -----

    /// Spare room to read the socket into; report with [`handle_recv`](Self::handle_recv).
    pub fn recv_buf(&mut self) -> &mut [u8] {
        if let Some(tls) = &mut self.tls {
            return tls.recv_buf();
        }
        self.core.recv_buf()
    }

    /// `n` bytes were read into [`recv_buf`](Self::recv_buf) (`0` just returns the room).
    pub fn handle_recv(&mut self, n: usize, now: Now) {
        self.take_recv(n, now, true);
    }

    /// As [`handle_recv`](Self::handle_recv), except that the requests the bytes complete
    /// are not planned yet: [`plan_received`](Self::plan_received) (or any later call that
    /// takes input, output progress or time in) plans them. A reactor reads every ready
    /// connection of a poll before it plans any, so that planning can share what it looks
    /// up (see `handler::with_shared_looks`). Over TLS the requests are planned at once.
    pub fn handle_recv_unplanned(&mut self, n: usize, now: Now) {
        self.take_recv(n, now, false);
    }

    /// Plans the requests [`handle_recv_unplanned`](Self::handle_recv_unplanned) left.
    pub fn plan_received(&mut self) {
        self.process();
    }

    fn take_recv(&mut self, n: usize, now: Now, plan: bool) {
        self.tick(now);
        if self.tls.is_some() {
            self.tls_receive(None, n);
            if n == 0 {
                self.park();
            }
            return;
        }
        if n > 0
            && let Some(trace) = &self.trace
        {
            // The room handed out by `recv_buf` is still there: asking again returns it.
            let bytes = &self.core.recv_buf()[..n];
            trace.received(now.instant, bytes);
        }
        if n > 0
            && let Some(record) = &mut self.record
        {
            record.record(now.instant, Record::Data(&self.core.recv_buf()[..n]));
        }
        self.core.commit_recv(n, now.instant);
        self.pace.received(n, now.instant);
        if plan {
            self.process();
        }
        if n == 0 {
            self.park();
        }
    }

    /// The runtime is about to wait for the socket (a read found nothing, or found less than
    /// it had room for). A connection between requests gives back what only a request in
    /// progress needs (see [`ServerConnection::shrink_idle`]; the next request takes it
    /// again, from a per-thread stash), so an idle keep-alive connection costs little more
    /// than this struct. Harmless at any time: a busy connection keeps everything.
    pub fn park(&mut self) {
        if self.is_idle() {
            self.core.shrink_idle();
            if self.io.is_empty() {
                self.io = VecDeque::new();
            }
        }
    }

    /// Heap bytes the connection holds in its buffers and queues beyond its own struct (see
    /// [`ServerConnection::retained_bytes`]); boxed parts (TLS, tracing, a file or job in
    /// flight) are not counted.
    pub fn retained_bytes(&self) -> usize {
        self.core.retained_bytes() + self.io.capacity() * size_of::<Io>()
    }

    /// Bytes read from the socket (copied).
    pub fn handle_input(&mut self, data: &[u8], now: Now) {
        self.tick(now);
        if self.tls.is_some() {
            self.tls_receive(Some(data), data.len());
            return;
        }
        if let Some(trace) = &self.trace {
            trace.received(now.instant, data);
        }
        if let Some(record) = &mut self.record {
            record.record(now.instant, Record::Data(data));
        }
        self.core.receive(data, now.instant);
        self.pace.received(data.len(), now.instant);
        self.process();
    }

    /// The peer closed its side (a read returned 0).
    pub fn handle_eof(&mut self, now: Now) {
        self.tick(now);
        if self
            .tls
            .as_ref()
            .is_some_and(|tls| matches!(tls.phase(), Phase::Rejected | Phase::Failed))
        {
            // The refusal is out; nothing more will be said.
            self.abort();
            return;
        }
        if let Some(trace) = &self.trace {
            trace.eof(now.instant);
        }
        if let Some(record) = &mut self.record {
            record.record(now.instant, Record::Eof);
        }
        self.core.commit_recv(0, now.instant);
        self.core.receive_eof(now.instant);
        self.process();
    }

    /// The socket failed: the connection is over.
    pub fn abort(&mut self) {
        let open = !self.core.is_closed();
        self.core.abort();
        if let Some(trace) = &mut self.trace
            && open
        {
            trace.note(self.now.instant, "aborted: the connection is dropped");
            trace.state(self.now.instant, self.core.state());
        }
        self.end_job();
    }

    // ----- socket output -----

    /// What to write next, if anything.
    pub fn poll_transmit(&mut self) -> Option<Transmit<'_>> {
        if self.tls.is_some() {
            return self.tls_poll_transmit();
        }
        let external = match self.core.poll_transmit()? {
            protocol::Transmit::Bytes(_) => {
                if let Some(span) = &mut self.file {
                    span.sending = None;
                }
                return Some(Transmit::Write);
            }
            protocol::Transmit::External(len) => Some(len),
            // Anything else (today only Shutdown) ends the output.
            _ => None,
        };
        let Some(len) = external else {
            self.file = None;
            if let Some(trace) = &mut self.trace {
                trace.shutdown(self.now.instant);
                trace.state(self.now.instant, self.core.state());
            }
            return Some(Transmit::Shutdown);
        };
        let Some(offset) = self.file.as_ref().and_then(|f| f.offsets.front().copied()) else {
            // An external span without its file cannot be sent: nothing sane is left.
            self.abort();
            return None;
        };
        let span = self.file.as_mut()?;
        span.sending = Some(len);
        Some(Transmit::SendFile {
            file: &span.file,
            offset,
            len,
        })
    }

    /// Fills `out` with the queued bytes for one vectored write ([`Transmit::Write`]);
    /// returns how many slices were filled.
    pub fn io_slices<'a>(&'a self, out: &mut [IoSlice<'a>]) -> usize {
        if let Some(tls) = &self.tls {
            return tls.io_slices(out);
        }
        self.core.fill_io_slices(out)
    }

    /// Whether output waits to be written (response bytes, a file span, or TLS records).
    pub fn has_output(&self) -> bool {
        self.core.has_pending_output() || self.tls.as_ref().is_some_and(|tls| tls.has_output())
    }

    /// Whether a file span follows the bytes of a [`Transmit::Write`]: write them with
    /// `MSG_MORE` (or under `TCP_CORK`), so a head and the start of its file leave in full
    /// segments instead of a small one first.
    pub fn file_follows(&self) -> bool {
        self.tls.is_none() && self.file.as_ref().is_some_and(|f| !f.offsets.is_empty())
    }

    /// `n` bytes of the current transmit reached the socket.
    pub fn handle_sent(&mut self, n: usize, now: Now) {
        self.tick(now);
        if let Some(tls) = &mut self.tls {
            tls.sent(n);
            self.pace.sent(n, now.instant);
            self.process();
            return;
        }
        if let Some(trace) = &self.trace {
            self.trace_sent(trace, n, now.instant);
        }
        self.advance_span(n);
        self.pace.sent(n, now.instant);
        self.process();
    }

    /// `n` bytes of the core's output left it (sent, or encrypted under TLS).
    fn advance_span(&mut self, n: usize) {
        let mut span_done = false;
        if let Some(span) = &mut self.file
            && let Some(left) = span.sending
        {
            let left = left.saturating_sub(n as u64);
            span.sending = Some(left);
            if left == 0 {
                span.offsets.pop_front();
                span.sending = None;
                span_done = span.offsets.is_empty();
            } else if let Some(offset) = span.offsets.front_mut() {
                *offset += n as u64;
            }
        }
        self.core.advance_transmit(n);
        if span_done {
            // Spans done: an idle keep-alive connection must not keep the file open.
            self.file = None;
        }
    }

    // ----- time and lifecycle -----

    /// The earliest deadline; call [`handle_timeout`](Self::handle_timeout) when it passes.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let job = match self.job.as_ref() {
            Some(Job::Cgi(cgi)) if !cgi.is_finishing() => Some(cgi.deadline),
            _ => None,
        };
        [
            self.core.poll_timeout(),
            job,
            self.pace.deadline(&self.config),
            self.stop_by,
            self.tls.as_ref().and_then(|tls| tls.deadline()),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Time passed; deadlines due at `now` fire (calling early is harmless).
    pub fn handle_timeout(&mut self, now: Now) {
        self.tick(now);
        if let Some(record) = &mut self.record {
            record.record(now.instant, Record::Timeout);
        }
        let at = now.instant;
        self.core.handle_timeout(at);
        if self.stop_by.is_some_and(|t| t <= at) {
            self.abort();
            return;
        }
        if let Some(tls) = &self.tls
            && tls.deadline().is_some_and(|t| t <= at)
        {
            if tls.phase() == Phase::Handshaking {
                self.log("TLS handshake timed out");
            }
            self.abort();
            return;
        }
        if let Some(why) = self.pace.expired(&self.config, at) {
            self.log(why);
            self.abort();
            return;
        }
        if let Some(Job::Cgi(cgi)) = self.job.as_mut()
            && !cgi.is_finishing()
            && cgi.deadline <= at
        {
            cgi.finish(&mut self.core, &self.config, now.wall);
            self.io.push_back(Io::KillCgi);
            self.log("CGI script timed out and was killed");
        }
        self.process();
    }

    /// Stop gracefully: an idle connection closes now, one in the middle of a response
    /// finishes it (within the configured shutdown timeout) and then closes.
    pub fn stop(&mut self, now: Now) {
        self.tick(now);
        if let Some(trace) = &self.trace
            && self.stop_by.is_none()
        {
            trace.note(now.instant, "stop: the server is shutting down");
        }
        if self.stop_by.is_none() {
            self.stop_by = Some(
                now.instant
                    .checked_add(self.config.shutdown_timeout)
                    .unwrap_or(now.instant + Duration::from_secs(86_400 * 365)),
            );
        }
        self.core.close_after_response();
        self.process();
    }

    /// Whether the runtime should read the socket now.
    pub fn wants_read(&self) -> bool {
        self.core.wants_read()
            && match self.job.as_ref() {
                Some(Job::Cgi(cgi)) => cgi.accepts_body(),
                Some(Job::Handler(run)) => run.accepts_body(),
                None => true,
            }
    }

    /// Whether the connection sits between requests with nothing to do: the one to close
    /// first when the server needs room for a new client.
    pub fn is_idle(&self) -> bool {
        self.job.is_none() && self.core.is_idle()
    }

    /// Whether the connection is over: close the socket and drop it. A CGI script still
    /// running is killed by the runtime when it drops the script.
    pub fn is_closed(&self) -> bool {
        self.core.is_closed()
    }

    /// Work beside the socket, in order.
    pub fn poll_io(&mut self) -> Option<Io> {
        self.io.pop_front()
    }
}

mod cgi;
mod machine;
mod routes;
mod secure;
#[cfg(test)]
mod tests;
