//! One connection of the server: the protocol core, the request being answered (a file being
//! sent, a CGI script, a user handler), and the deadlines above the core (send progress, the
//! minimum rate, the stop). Inputs in, I/O requests out; no I/O, no clock.

use std::collections::VecDeque;
use std::fs::File;
use std::io::IoSlice;
use std::net::SocketAddr;
use std::process::ExitStatus;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use protocol::{Event, RequestError, RequestHead, ServerConnection};

use crate::cgi::{CgiJob, exit_message};
use crate::config::ServerConfig;
use crate::io::{Io, Transmit};
use crate::pace::Pace;
use crate::plan::{Queued, log_plan, queue};
use crate::record::{Record, Recording};
use crate::routes::{Command, HandlerJob};
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
    file: File,
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
    file: Option<FileSpan>,
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
        self.tick(now);
        if self.tls.is_some() {
            self.tls_receive(None, n);
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
        self.process();
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

    // ----- CGI -----

    /// The script of [`Io::SpawnCgi`] runs.
    pub fn handle_cgi_started(&mut self, now: Now) {
        self.tick(now);
        if let Some(Job::Cgi(cgi)) = self.job.as_mut() {
            cgi.started(&mut self.core, &self.config, now.wall);
        }
        self.process();
    }

    /// The script of [`Io::SpawnCgi`] could not start: the connection is closed without a
    /// reply, as CPython's forked child would leave it.
    pub fn handle_cgi_failed(&mut self, error: &std::io::Error, now: Now) {
        self.tick(now);
        self.log(&format!("CGI script failed to start: {error}"));
        self.job = None;
        self.core.abort();
    }

    /// Bytes waiting for the script's stdin; report with
    /// [`handle_cgi_stdin_written`](Self::handle_cgi_stdin_written).
    pub fn cgi_stdin(&self) -> Option<&[u8]> {
        match self.job.as_ref() {
            Some(Job::Cgi(cgi)) => cgi.stdin(),
            _ => None,
        }
    }

    /// `n` bytes of [`cgi_stdin`](Self::cgi_stdin) went into the pipe.
    pub fn handle_cgi_stdin_written(&mut self, n: usize, now: Now) {
        self.tick(now);
        if let Some(Job::Cgi(cgi)) = self.job.as_mut() {
            cgi.stdin_written(n);
        }
        self.process();
    }

    /// The script's stdin is closed (it stopped reading): the rest of the body is dropped.
    pub fn handle_cgi_stdin_closed(&mut self, now: Now) {
        self.tick(now);
        if let Some(Job::Cgi(cgi)) = self.job.as_mut() {
            cgi.stdin_closed();
        }
        self.process();
    }

    /// Whether to read the script's stdout now (the response has room).
    pub fn wants_cgi_stdout(&self) -> bool {
        matches!(self.job.as_ref(), Some(Job::Cgi(cgi)) if cgi.wants_stdout(&self.core))
    }

    /// Bytes the script wrote on stdout.
    pub fn handle_cgi_stdout(&mut self, data: &[u8], now: Now) {
        self.tick(now);
        if let Some(Job::Cgi(cgi)) = self.job.as_mut() {
            cgi.stdout(data, &mut self.core, &self.config, now.wall);
            if cgi.is_finishing() {
                self.io.push_back(Io::FinishCgi {
                    reap_by: now.instant + CGI_EXIT_GRACE,
                });
            }
        }
        self.process();
    }

    /// The script closed its stdout: the response ends.
    pub fn handle_cgi_stdout_end(&mut self, now: Now) {
        self.tick(now);
        if let Some(Job::Cgi(cgi)) = self.job.as_mut()
            && !cgi.is_finishing()
        {
            cgi.finish(&mut self.core, &self.config, now.wall);
            self.io.push_back(Io::FinishCgi {
                reap_by: now.instant + CGI_EXIT_GRACE,
            });
        }
        self.process();
    }

    /// Bytes the script wrote on stderr: logged a line at a time (long lines cut).
    pub fn handle_cgi_stderr(&mut self, data: &[u8], now: Now) {
        self.tick(now);
        if let Some(Job::Cgi(cgi)) = self.job.as_mut() {
            cgi.stderr(data, &self.config, self.peer, now.wall);
        }
    }

    /// The script closed its stderr.
    pub fn handle_cgi_stderr_end(&mut self, now: Now) {
        self.tick(now);
        if let Some(Job::Cgi(cgi)) = self.job.as_mut() {
            cgi.stderr_end(&self.config, self.peer, now.wall);
        }
    }

    /// The script was reaped: its exit is logged and the run is over.
    pub fn handle_cgi_exit(&mut self, status: ExitStatus, now: Now) {
        self.tick(now);
        self.log(&exit_message(status));
        if matches!(self.job.as_ref(), Some(Job::Cgi(_))) {
            self.job = None;
        }
        self.process();
    }

    // ----- your handler -----

    /// A command from the handler run of [`Io::RunHandler`].
    pub fn handle_command(&mut self, command: Command, now: Now) {
        self.tick(now);
        let Some(Job::Handler(run)) = self.job.as_mut() else {
            return;
        };
        if let Some(ok) = run.command(&mut self.core, command) {
            self.job = None;
            if !ok {
                // A handler that failed or said nothing: CPython closes without a reply.
                self.core.abort();
            }
        }
        self.process();
    }

    /// Whether the handler waits for an answer that needs socket progress first (a body
    /// chunk not read yet, room in the send queue): the blocking runtime drives the socket
    /// until this turns false.
    pub fn handler_waiting(&self) -> bool {
        matches!(self.job.as_ref(), Some(Job::Handler(run)) if run.is_waiting())
    }

    // ----- TLS (when ServerConfig::tls is set) -----

    /// Under TLS, bytes of the file span of [`Transmit::ReadFile`], read at its offset: they
    /// are encrypted and leave as [`Transmit::Write`]. An empty `data` means the file shrank:
    /// call [`abort`](Self::abort) instead.
    pub fn handle_file_bytes(&mut self, data: &[u8], now: Now) {
        self.tick(now);
        let Some(tls) = &mut self.tls else {
            return;
        };
        tls.encrypt(&[IoSlice::new(data)]);
        if let Some(trace) = &self.trace {
            let offset = self.file.as_ref().and_then(|f| f.offsets.front().copied());
            trace.sendfile(now.instant, data.len(), offset);
        }
        self.advance_span(data.len());
        self.process();
    }

    /// Ciphertext came in (`data`, or the first `n` bytes of the TLS read room): plaintext
    /// goes on to the core.
    fn tls_receive(&mut self, data: Option<&[u8]>, n: usize) {
        let Some(tls) = &mut self.tls else {
            return;
        };
        let mut plain = Vec::new();
        let result = match data {
            Some(data) => tls.receive(data, &mut plain),
            None => tls.receive_room(n, &mut plain),
        };
        self.pace.received(n, self.now.instant);
        if let Err(refused) = result {
            self.log(&crate::tls::describe(&refused));
        }
        if !plain.is_empty() {
            if let Some(trace) = &self.trace {
                trace.received(self.now.instant, &plain);
            }
            self.core.receive(&plain, self.now.instant);
        }
        self.process();
    }

    /// [`poll_transmit`](Self::poll_transmit) under TLS: ciphertext first; then the core's
    /// bytes are encrypted, and a file span is asked for as [`Transmit::ReadFile`].
    fn tls_poll_transmit(&mut self) -> Option<Transmit<'_>> {
        loop {
            let tls = self.tls.as_mut()?;
            if tls.has_output() {
                return Some(Transmit::Write);
            }
            if tls.take_shutdown() {
                return Some(Transmit::Shutdown);
            }
            if !tls.has_room() || tls.is_closing() {
                return None;
            }
            let len = match self.core.poll_transmit()? {
                protocol::Transmit::Bytes(_) => {
                    let mut slices = [IoSlice::new(&[]); 64];
                    let count = self.core.fill_io_slices(&mut slices);
                    let mut n = 0;
                    let mut end = 0;
                    while end < count && n < crate::tls::ENCRYPT_CHUNK {
                        n += slices[end].len();
                        end += 1;
                    }
                    tls.encrypt(&slices[..end]);
                    if let Some(trace) = &self.trace {
                        trace.sent(self.now.instant, &slices[..end], n);
                    }
                    if let Some(span) = &mut self.file {
                        span.sending = None;
                    }
                    self.core.advance_transmit(n);
                    continue;
                }
                protocol::Transmit::External(len) => len,
                // Anything else (today only Shutdown) ends the output: close_notify first.
                _ => {
                    tls.close();
                    self.file = None;
                    if let Some(trace) = &mut self.trace {
                        trace.shutdown(self.now.instant);
                        trace.state(self.now.instant, self.core.state());
                    }
                    continue;
                }
            };
            let Some(offset) = self.file.as_ref().and_then(|f| f.offsets.front().copied()) else {
                self.abort();
                return None;
            };
            let span = self.file.as_mut()?;
            span.sending = Some(len);
            return Some(Transmit::ReadFile {
                file: &span.file,
                offset,
                len: len.min(crate::tls::ENCRYPT_CHUNK as u64),
            });
        }
    }

    // ----- the machine -----

    /// What `handle_sent` reports, traced before the core lets go of it.
    fn trace_sent(&self, trace: &Tracer, n: usize, at: Instant) {
        match &self.file {
            Some(span) if span.sending.is_some() => {
                trace.sendfile(at, n, span.offsets.front().copied());
            }
            _ => {
                let mut slices = [IoSlice::new(&[]); 64];
                let count = self.core.fill_io_slices(&mut slices);
                trace.sent(at, &slices[..count], n);
            }
        }
    }

    /// The core's state, traced when it changed.
    fn trace_state(&mut self) {
        if let Some(trace) = &mut self.trace {
            trace.state(self.now.instant, self.core.state());
        }
    }

    fn tick(&mut self, now: Now) {
        if now.instant > self.now.instant {
            self.now = now;
        }
    }

    /// Whether a request body is being read (for the minimum rate).
    fn receiving(&self) -> bool {
        self.job.as_ref().is_some_and(|job| match job {
            Job::Cgi(cgi) => cgi.wants_body(),
            Job::Handler(run) => run.wants_body(),
        })
    }

    /// Drains the core's events and pumps the job until nothing moves.
    fn process(&mut self) {
        self.trace_state();
        loop {
            let mut progress = self.dispatch();
            progress |= self.pump_job();
            if !progress {
                break;
            }
        }
        if self.core.is_closed() {
            self.end_job();
        }
        self.trace_state();
        let pending =
            self.core.has_pending_output() || self.tls.as_ref().is_some_and(|tls| tls.has_output());
        let receiving = self.receiving();
        self.pace
            .update(&self.config, pending, receiving, self.now.instant);
    }

    /// Routes the core's events: request body to the job, the rest answered here. Returns
    /// whether any event was handled.
    fn dispatch(&mut self) -> bool {
        let mut progress = false;
        while let Some(event) = self.next_event() {
            progress = true;
            match event {
                Event::Request(head) => self.on_request(head),
                Event::RequestError(error) => self.on_request_error(&error),
                // Unread bodies are discarded by the core; the rest needs no answer.
                _ => {}
            }
            self.trace_state();
        }
        progress
    }

    /// The next event that is not request body for the job (which takes those in).
    fn next_event(&mut self) -> Option<Event> {
        loop {
            let Some(job) = self.job.as_mut() else {
                let event = self.core.poll_event()?;
                if let Some(trace) = &mut self.trace {
                    trace.event(self.now.instant, &event);
                }
                return Some(event);
            };
            let (wants, accepts) = match job {
                Job::Cgi(cgi) => (cgi.wants_body(), cgi.accepts_body()),
                Job::Handler(run) => (run.wants_body(), run.accepts_body()),
            };
            if !wants {
                // The job's request is read whole. The next request waits until the job is
                // over (its handler said `Done`, its script was reaped): dispatched now, its
                // job would take the place of one that still runs, and the old one's last
                // word (`Done`, the exit) would end the new one.
                return None;
            }
            if !accepts {
                return None;
            }
            let event = self.core.poll_event()?;
            if let Some(trace) = &mut self.trace {
                trace.event(self.now.instant, &event);
            }
            match (job, event) {
                (Job::Cgi(cgi), Event::Body(data)) => cgi.push_body(data),
                (Job::Handler(run), Event::Body(data)) => run.push_body(data),
                (Job::Cgi(cgi), Event::EndOfRequest { .. } | Event::RequestError(_)) => {
                    cgi.end_body();
                }
                (Job::Handler(run), Event::EndOfRequest { .. }) => run.end_body(None),
                (Job::Handler(run), Event::RequestError(e)) => run.end_body(Some(e.to_string())),
                (_, other) => return Some(other),
            }
        }
    }

    fn on_request(&mut self, head: RequestHead) {
        if let Some(routes) = &self.config.routes
            && routes.accepts(&head)
        {
            let (job, task) = HandlerJob::start(
                Arc::clone(routes),
                Arc::clone(&self.config),
                head,
                self.peer,
            );
            self.job = Some(Job::Handler(Box::new(job)));
            self.io.push_back(Io::RunHandler(task));
            return;
        }
        let wall = self.now.wall;
        let ctx = self.config.facts.request_context(self.peer, wall);
        let plan = handler::plan_request(&self.config.settings, &head, &ctx);
        log_plan(
            &self.config,
            self.peer,
            wall,
            head.request_line(),
            Some(&head),
            &plan,
        );
        match queue(&mut self.core, plan) {
            Err(_) => self.core.abort(),
            Ok(Queued::Done) => {}
            Ok(Queued::File(file, offsets)) => {
                self.file = Some(FileSpan {
                    file,
                    offsets,
                    sending: None,
                });
            }
            Ok(Queued::Cgi { spec, response }) => {
                let deadline = self
                    .now
                    .instant
                    .checked_add(self.config.cgi_timeout)
                    .unwrap_or(self.now.instant + Duration::from_secs(86_400 * 365));
                let job = CgiJob::new(
                    response,
                    head.is_head(),
                    self.config.settings.compat,
                    deadline,
                );
                self.job = Some(Job::Cgi(Box::new(job)));
                self.io.push_back(Io::SpawnCgi(spec));
            }
        }
    }

    fn on_request_error(&mut self, error: &RequestError) {
        let wall = self.now.wall;
        let line = self
            .core
            .failed_request_line()
            .map_or_else(Bytes::new, Bytes::clone);
        let plan = handler::plan_request_error(&self.config.settings, error, wall);
        log_plan(&self.config, self.peer, wall, &line, None, &plan);
        match queue(&mut self.core, plan) {
            Ok(Queued::Done) => {}
            // The error came in the body of a request whose response is already on its way:
            // that response is finished, then the connection closes (the core knows it must).
            Err(_) => self.core.close_after_response(),
            // An error page is bytes; anything else is a planner bug.
            Ok(_) => self.core.abort(),
        }
    }

    /// Lets the job move what it can. Returns whether anything moved.
    fn pump_job(&mut self) -> bool {
        match self.job.as_mut() {
            None => false,
            Some(Job::Handler(run)) => run.pump(&self.core),
            Some(Job::Cgi(cgi)) => {
                let close = cgi.take_stdin_close();
                if close {
                    self.io.push_back(Io::CloseCgiStdin);
                }
                close
            }
        }
    }

    /// The connection is over: a running script is killed, a waiting handler learns it.
    fn end_job(&mut self) {
        match self.job.as_mut() {
            Some(Job::Cgi(cgi)) if !cgi.is_finishing() => {
                cgi.finish(&mut self.core, &self.config, self.now.wall);
                self.io.push_back(Io::KillCgi);
            }
            Some(Job::Handler(run)) => {
                // Answers a waiting read or write with "connection closed".
                run.end_body(Some("connection closed".to_owned()));
                run.pump(&self.core);
            }
            _ => {}
        }
    }

    fn log(&self, message: &str) {
        self.config.log.log(&handler::format_log_line(
            self.peer.ip(),
            self.now.wall,
            message,
        ));
    }
}

#[cfg(test)]
mod tests;
