//! [`ServerConnection`]: the public face of the core. Inputs are method calls, outputs are
//! drained with `poll_*`. Which input a call amounts to is decided here; what it does to the
//! connection's states is a row of the table in [`machine`](crate::machine), applied by
//! [`ServerConnection::transition`] alone.

use std::collections::VecDeque;
use std::io::IoSlice;
use std::sync::Arc;
use std::time::Instant;

use bytes::{Bytes, BytesMut};

use crate::body::encode::{self, AddedField, BodyEncoder};
use crate::body::{BodyDecoder, Decoded};
use crate::head::{self, CLOSE, CONNECTION, HeadReader, KEEP_ALIVE, Progress};
use crate::machine::{ConnState, Input, Machine};
use crate::spare;
use crate::state::{ReadState, State, WriteState};
use crate::timer::TimerTable;
use crate::transmit::{Marker, OutQueue};
use crate::{
    Config, Event, Headers, ParseMode, RequestError, RequestHead, ResponseBody, ResponseHead,
    TimeoutKind, Transmit, UsageError, Version,
};

/// How much spare room [`ServerConnection::recv_buf`] offers per read once a read filled
/// the room it had (a body or a burst of pipelined requests is coming).
const RECV_CHUNK: usize = 16 * 1024;

/// The room offered otherwise: a request head fits, cookies and all, and the buffer stays
/// small enough to be kept between requests (see [`KEEP_IDLE_BUFFER`]). The room is zeroed
/// each time it is offered (safe code cannot hand out uninitialised memory), so its size is
/// paid per read; but a head that fills it costs another `recv` and a [`RECV_CHUNK`] buffer.
/// Measured: 1 KiB saved about 25 ns of zeroing per small request (`memset` was 0.4% of the
/// samples of serving a 1 KiB file), while a browser's 1-4 KiB head would pay a second system
/// call (some 400 ns); so 4 KiB.
pub(crate) const RECV_FIRST: usize = 4 * 1024;

/// An emptied receive buffer that never grew past this is kept between requests.
/// Keeping it lets the next request reuse the allocation (once the application has dropped
/// the previous head, which shares it) instead of allocating twice per request; anything
/// larger (a `recv_buf` room, a big body read) is released, so idle connections stay cheap.
const KEEP_IDLE_BUFFER: usize = 4 * 1024;

/// Facts about the exchange in progress that shape its response.
#[derive(Debug, Default, Clone, Copy)]
struct Exchange {
    head_request: bool,
    /// HTTP/0.9: the response is the body alone, no status line or headers.
    headless: bool,
    /// The peer speaks HTTP/1.1 (chunked responses are allowed).
    peer_11: bool,
    expects_continue: bool,
    continue_sent: bool,
    keep_alive: bool,
    /// The request failed to parse: never keep the connection.
    errored: bool,
    /// Bytes of an unread request body dropped so far ([`ReadState::Discard`]).
    discarded: u64,
}

/// One HTTP/1.x server connection, without any I/O.
///
/// See the [crate documentation](crate) for the driving loop and a walk through every state.
#[derive(Debug)]
pub struct ServerConnection {
    config: Arc<Config>,
    input: BytesMut,
    /// The largest capacity `input` had since it was last replaced: a lower bound of the
    /// allocation behind it, which `BytesMut` does not expose once bytes were split off.
    input_peak: usize,
    /// The last read filled all the room it was given: offer [`RECV_CHUNK`] next.
    recv_filled: bool,
    /// Length of `input` before the spare room handed out by `recv_buf`.
    recv_base: Option<usize>,
    head_reader: HeadReader,
    /// The states of the three sides; only [`Self::transition`] changes them.
    machine: Machine,
    /// The request body's framing, used while the read side is `Body` or `Discard`.
    decoder: BodyDecoder,
    /// The response body's framing, used while the write side is `Body`.
    encoder: BodyEncoder,
    exchange: Exchange,
    out: OutQueue,
    events: VecDeque<Event>,
    timers: TimerTable,
    /// The latest instant seen; instants passed in are clamped to never go backwards.
    now: Instant,
    /// When the head being read began to arrive (the start of the connection for the first).
    head_started: Option<Instant>,
    /// When the connection last became idle between requests.
    idle_since: Instant,
    /// When the request body last made progress.
    body_progress: Instant,
    /// The request line of a head that failed to parse, for logging (boxed: a connection
    /// carries the room for it its whole life, and needs it once at most).
    failed_line: Option<Box<Bytes>>,
    /// The peer closed its side.
    peer_eof: bool,
    /// The application asked to close once the current exchange is over.
    draining: bool,
}

impl ServerConnection {
    /// A new connection, accepted at `now`.
    pub fn new(config: Arc<Config>, now: Instant) -> Self {
        let mut connection = Self {
            config,
            input: BytesMut::new(),
            input_peak: 0,
            recv_filled: false,
            recv_base: None,
            head_reader: HeadReader::default(),
            machine: Machine::new(),
            decoder: BodyDecoder::Length(0),
            encoder: BodyEncoder::Refuse,
            exchange: Exchange::default(),
            out: OutQueue::default(),
            events: VecDeque::new(),
            timers: TimerTable::default(),
            now,
            head_started: Some(now),
            idle_since: now,
            body_progress: now,
            failed_line: None,
            peer_eof: false,
            draining: false,
        };
        connection.update_timers();
        connection
    }

    /// The configuration this connection runs with.
    pub fn config(&self) -> &Config {
        &self.config
    }

    // ----- inputs -----

    /// Bytes arrived from the peer (copied into the connection's buffer).
    pub fn receive(&mut self, data: &[u8], now: Instant) {
        self.tick(now);
        self.take_back_recv_room();
        if self.is_closed() || data.is_empty() {
            return;
        }
        crate::arrivals::arrived();
        self.input.extend_from_slice(data);
        self.input_peak = self.input_peak.max(self.input.capacity());
        self.after_receive();
    }

    /// Spare room to read into without an extra copy; report what was read with
    /// [`commit_recv`](Self::commit_recv).
    pub fn recv_buf(&mut self) -> &mut [u8] {
        let base = self.recv_base.unwrap_or(self.input.len());
        let room = if self.recv_filled {
            RECV_CHUNK
        } else {
            RECV_FIRST
        };
        if self.input.capacity() == 0
            && let Some(kept) = spare::take_input()
        {
            self.input = kept;
        }
        self.input.resize(base + room, 0);
        self.input_peak = self.input_peak.max(self.input.capacity());
        self.recv_base = Some(base);
        &mut self.input[base..]
    }

    /// `n` bytes were read into the slice [`recv_buf`](Self::recv_buf) returned.
    /// `commit_recv(0, now)` just returns the room; end of stream is
    /// [`receive_eof`](Self::receive_eof).
    pub fn commit_recv(&mut self, n: usize, now: Instant) {
        self.tick(now);
        let Some(base) = self.recv_base.take() else {
            return;
        };
        if n > 0 {
            crate::arrivals::arrived();
        }
        self.recv_filled = n > 0 && base + n >= self.input.len();
        if base == 0 && n == 0 {
            // A read that found nothing on an empty buffer (the usual last read of an idle
            // keep-alive connection): the room goes back whole, or every idle connection
            // would keep RECV_CHUNK allocated while it waits.
            self.release_input();
            self.shrink_idle();
            return;
        }
        self.input.truncate((base + n).min(self.input.len()));
        if n > 0 && !self.is_closed() {
            self.after_receive();
        } else if self.input.is_empty() && self.input_peak > KEEP_IDLE_BUFFER {
            // A read that found nothing (the usual last read of an edge-triggered loop)
            // leaves no room behind: a connection waiting for its next request holds no
            // receive buffer, and the next read takes a fresh one.
            self.input = BytesMut::new();
            self.input_peak = 0;
        }
    }

    /// Room handed out by [`recv_buf`](Self::recv_buf) and never committed is not input:
    /// every other input takes it back first, so a runtime that forgot `commit_recv(0)` after
    /// a failed read cannot feed the parser 16 KiB of zeros.
    fn take_back_recv_room(&mut self) {
        if let Some(base) = self.recv_base.take() {
            self.input.truncate(base);
        }
    }

    /// The peer closed its sending side.
    pub fn receive_eof(&mut self, now: Instant) {
        self.tick(now);
        self.take_back_recv_room();
        if self.is_closed() || self.peer_eof {
            return;
        }
        // The end can complete a request (in compat mode, a head cut short by it).
        crate::arrivals::arrived();
        self.peer_eof = true;
        match self.machine.read() {
            ReadState::Head => self.eof_at_head(),
            ReadState::Body | ReadState::Discard => self.fail(RequestError::UnexpectedEof),
            // The response in progress learns of it (no keep-alive) when it starts.
            ReadState::Done => {}
            ReadState::Closed => {
                if self.machine.conn() == ConnState::Lingering {
                    self.transition(Input::LingerEof);
                }
            }
        }
        self.update_timers();
    }

    /// Fires every deadline due at `now`. Calling it early is harmless.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.tick(now);
        self.take_back_recv_room();
        while let Some(kind) = self.timers.take_expired(self.now) {
            match kind {
                TimeoutKind::HeaderRead if self.head_reader.started(&self.input) => {
                    self.fail(RequestError::Timeout(kind));
                }
                TimeoutKind::HeaderRead | TimeoutKind::Idle => {
                    self.events.push_back(Event::Timeout(kind));
                    self.close(Input::IdleTimeout);
                }
                TimeoutKind::BodyRead => self.fail(RequestError::Timeout(kind)),
                TimeoutKind::Linger => {
                    self.transition(Input::LingerTimeout);
                    self.timers = TimerTable::default();
                }
            }
        }
        self.update_timers();
    }

    // ----- application commands -----

    /// Sends `100 Continue` to a client that asked for it
    /// ([`RequestHead::expects_continue`]). Call it before reading the body.
    pub fn send_continue(&mut self) -> Result<(), UsageError> {
        self.check_pending()?;
        if !self.exchange.expects_continue || self.exchange.continue_sent {
            return Err(UsageError::ContinueNotExpected);
        }
        self.exchange.continue_sent = true;
        self.transition(Input::Continue);
        encode::continue_head(&mut self.out, &self.config.protocol_version);
        Ok(())
    }

    /// Starts the response to the current request (or to a [`RequestError`]).
    ///
    /// The head is written as given; the only field the core adds is the framing field the
    /// body kind implies when the head lacks it (`Content-Length` for
    /// [`ResponseBody::Length`], `Transfer-Encoding: chunked` for [`ResponseBody::Chunked`]).
    /// A `Connection: close` or `keep-alive` field decides persistence, as in CPython.
    pub fn send_response(
        &mut self,
        head: &ResponseHead,
        body: ResponseBody,
    ) -> Result<(), UsageError> {
        self.check_pending()?;
        encode::validate(head)?;
        let exchange = self.exchange;
        // 1xx, 204 and 304 never carry a body; a reply to HEAD describes one it does not send.
        let bodiless_status = head.status < 200 || head.status == 204 || head.status == 304;
        let suppress = exchange.head_request || bodiless_status;
        let mut keep_alive = exchange.keep_alive;
        let (close, keep) = connection_tokens(&head.headers);
        if close {
            keep_alive = false;
        } else if keep && !exchange.errored {
            keep_alive = true;
        }
        let (encoder, added) = match body {
            ResponseBody::None => (BodyEncoder::Refuse, AddedField::None),
            ResponseBody::Length(n) => {
                let declared = encode::content_length(&head.headers);
                if declared.is_some_and(|v| head::parse_decimal(v.trim_ascii()) != Some(n)) {
                    return Err(UsageError::ContentLengthMismatch);
                }
                let added = if declared.is_some() || bodiless_status {
                    AddedField::None
                } else {
                    AddedField::ContentLength(n)
                };
                if suppress {
                    (
                        BodyEncoder::Discard {
                            declared: Some(n),
                            sent: 0,
                        },
                        added,
                    )
                } else {
                    (
                        BodyEncoder::Length {
                            declared: n,
                            sent: 0,
                        },
                        added,
                    )
                }
            }
            ResponseBody::Chunked => {
                if !exchange.peer_11 || exchange.headless {
                    return Err(UsageError::ChunkedNotSupported);
                }
                let added = if encode::has_transfer_encoding(&head.headers) || bodiless_status {
                    AddedField::None
                } else {
                    AddedField::Chunked
                };
                if suppress {
                    (
                        BodyEncoder::Discard {
                            declared: None,
                            sent: 0,
                        },
                        added,
                    )
                } else {
                    (BodyEncoder::Chunked, added)
                }
            }
            ResponseBody::UntilClose | ResponseBody::Passthrough => {
                keep_alive = false;
                if suppress && body == ResponseBody::UntilClose {
                    (
                        BodyEncoder::Discard {
                            declared: None,
                            sent: 0,
                        },
                        AddedField::None,
                    )
                } else {
                    (BodyEncoder::Raw, AddedField::None)
                }
            }
        };
        // A client still waiting for `100 Continue` may or may not send its body: the only
        // safe way to find the next request is not to look for one.
        let unread_body = self.machine.read() == ReadState::Body;
        // A peer that closed its side may have pipelined more requests before it did: they
        // are answered (as CPython answers what its buffer holds); the last one closes.
        if exchange.headless
            || self.draining
            || (self.peer_eof && self.input.is_empty())
            || (exchange.expects_continue && !exchange.continue_sent && unread_body)
        {
            keep_alive = false;
        }
        self.exchange.keep_alive = keep_alive;
        if !exchange.headless {
            let open_ended = body == ResponseBody::Passthrough;
            encode::head(
                &mut self.out,
                &self.config.protocol_version,
                head,
                added,
                open_ended,
            );
        }
        self.encoder = encoder;
        self.transition(Input::ResponseHead);
        Ok(())
    }

    /// Queues body bytes of the response in progress.
    pub fn send_body(&mut self, data: Bytes) -> Result<(), UsageError> {
        match self.machine.write() {
            WriteState::Body => self.encoder.data(&mut self.out, data),
            _ => Err(self.not_writing_body()),
        }
    }

    /// Declares `len` body bytes that the runtime sends itself (with sendfile, say). They
    /// appear as [`Transmit::External`] at their place in the output.
    pub fn send_body_external(&mut self, len: u64) -> Result<(), UsageError> {
        match self.machine.write() {
            WriteState::Body => self.encoder.external(&mut self.out, len),
            _ => Err(self.not_writing_body()),
        }
    }

    /// Ends the response (writing the last chunk of a chunked body).
    pub fn finish_response(&mut self) -> Result<(), UsageError> {
        match self.machine.write() {
            WriteState::Body => self.encoder.finish(&mut self.out)?,
            _ => return Err(self.not_writing_body()),
        }
        self.transition(Input::ResponseEnd);
        self.out.push_end_of_response();
        self.settle();
        self.update_timers();
        Ok(())
    }

    /// A whole response with an in-memory body, in one call.
    pub fn respond(&mut self, head: &ResponseHead, body: Bytes) -> Result<(), UsageError> {
        self.send_response(head, ResponseBody::Length(body.len() as u64))?;
        self.send_body(body)?;
        self.finish_response()
    }

    /// Closes once the exchange in progress is over, or now if the connection is idle.
    /// For graceful shutdown: in-flight responses finish, idle keep-alive connections go.
    pub fn close_after_response(&mut self) {
        self.draining = true;
        self.exchange.keep_alive = false;
        if self.is_idle() {
            self.close(Input::CloseIdle);
            self.update_timers();
        }
    }

    /// Gives up on the connection: queued output is dropped and it is closed at once.
    pub fn abort(&mut self) {
        self.out.clear();
        self.input = BytesMut::new();
        // Every state has an `abort` row, so this step cannot fail (and cannot recurse).
        let _ = self.machine.step(Input::Abort);
        self.timers = TimerTable::default();
    }

    // ----- outputs -----

    /// The next event, if any. Drain after every input and command.
    #[must_use]
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// What to write next, if anything. Report progress with
    /// [`advance_transmit`](Self::advance_transmit).
    #[must_use]
    pub fn poll_transmit(&mut self) -> Option<Transmit<'_>> {
        self.settle();
        if self.out.pop_shutdown() {
            if self.peer_eof {
                self.transition(Input::ShutdownAfterEof);
            } else {
                self.transition(Input::ShutdownSent);
                // A linger too long to represent never ends (the peer's close does).
                let until = self.now.checked_add(self.config.timeouts.linger);
                self.timers.set(TimeoutKind::Linger, until);
            }
            self.input = BytesMut::new();
            return Some(Transmit::Shutdown);
        }
        self.out.peek()
    }

    /// Fills `out` with the queued byte segments up to the next external span or shutdown,
    /// for one vectored write. Returns how many slices were filled.
    pub fn fill_io_slices<'a>(&'a self, out: &mut [IoSlice<'a>]) -> usize {
        self.out.fill_io_slices(out)
    }

    /// `n` bytes of what [`poll_transmit`](Self::poll_transmit) or
    /// [`fill_io_slices`](Self::fill_io_slices) offered reached the socket.
    ///
    /// # Panics
    /// If `n` exceeds what was offered.
    pub fn advance_transmit(&mut self, n: usize) {
        self.out.advance(n);
        self.settle();
        self.update_timers();
    }

    /// The earliest deadline; call [`handle_timeout`](Self::handle_timeout) when it passes.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.next()
    }

    // ----- getters -----

    /// Whether the runtime should read from the socket now. False while a pipelined request
    /// waits for the current response, or when the connection is closed.
    pub fn wants_read(&self) -> bool {
        if self.is_closed() || self.peer_eof {
            return false;
        }
        match self.machine.read() {
            ReadState::Head => true,
            ReadState::Body | ReadState::Discard => {
                self.input.len() < self.config.limits.max_buffered_input
            }
            ReadState::Done => self.input.is_empty(),
            ReadState::Closed => self.machine.conn() == ConnState::Lingering,
        }
    }

    /// Whether a response body is in progress and the output queue is below its high-water
    /// mark: producers (file reads, CGI output) should push more only while this holds.
    pub fn wants_body_data(&self) -> bool {
        self.machine.write() == WriteState::Body
            && self.out.buffered() < self.config.send_high_water
    }

    /// Whether output is queued.
    pub fn has_pending_output(&self) -> bool {
        !self.out.is_empty()
    }

    /// Whether the connection sits between requests with nothing buffered either way.
    pub fn is_idle(&self) -> bool {
        (self.machine.read(), self.machine.write()) == (ReadState::Head, WriteState::Idle)
            && self.input.is_empty()
            && self.out.is_empty()
            && !self.is_closed()
    }

    /// Gives back the memory an idle connection does not need: the receive buffer and the
    /// event and output queues. The queues are kept for reuse by the next request served on
    /// this thread (a bounded per-thread stash), so a busy server does not allocate them
    /// for every request. Does nothing unless the connection [`is_idle`](Self::is_idle)
    /// with no event waiting.
    ///
    /// [`commit_recv`](Self::commit_recv) calls it when a read finds nothing on an empty
    /// buffer, the moment a runtime parks a connection to wait for its next request; a
    /// runtime feeding [`receive`](Self::receive) calls it itself before it waits.
    pub fn shrink_idle(&mut self) {
        if !self.is_idle() || !self.events.is_empty() || self.recv_base.is_some() {
            return;
        }
        self.release_input();
        spare::give_events(std::mem::take(&mut self.events));
        self.out.release();
    }

    /// Lets go of the receive buffer (empty): kept per thread for the next read when small.
    fn release_input(&mut self) {
        spare::give_input(std::mem::take(&mut self.input));
        self.input_peak = 0;
    }

    /// Heap bytes the connection holds in its receive buffer and its queues, by their
    /// capacities (a lower bound: allocator overhead, the struct itself, the shared
    /// configuration and bytes lent out to the application are not counted). Zero for an
    /// idle connection after [`shrink_idle`](Self::shrink_idle).
    pub fn retained_bytes(&self) -> usize {
        self.input_peak.max(self.input.capacity())
            + self.events.capacity() * size_of::<Event>()
            + self.out.retained_bytes()
    }

    /// The request line (ending stripped) of a head that failed with a
    /// [`RequestError`], when one was read: what CPython logs as `requestline`. `None` when the
    /// error came before a complete line (414) or after a head was delivered.
    pub fn failed_request_line(&self) -> Option<&Bytes> {
        self.failed_line.as_deref()
    }

    /// Whether the connection is over: the runtime should close the socket.
    pub fn is_closed(&self) -> bool {
        self.machine.conn() == ConnState::Closed
    }

    /// Where the connection stands (read-only, for tracing and tests): which part of a
    /// request it reads, which part of a response it writes, whether it lingers or is closed.
    pub fn state(&self) -> State {
        State {
            read: self.machine.read(),
            write: self.machine.write(),
            lingering: self.machine.conn() == ConnState::Lingering,
            closed: self.is_closed(),
        }
    }

    // ----- transitions -----

    /// Applies `input` to the states: the one place they change. An input the table has no
    /// row for is a bug here; a debug build stops in [`Machine::step`], a release build
    /// aborts the connection rather than go on in a state the table does not know.
    #[inline]
    fn transition(&mut self, input: Input) -> bool {
        let moved = self.machine.step(input);
        if !moved {
            self.abort();
        }
        moved
    }

    /// Applies an input that ends the exchange without a response, and queues our shutdown.
    fn close(&mut self, input: Input) {
        if self.transition(input) {
            self.out.push_shutdown();
        }
    }

    fn tick(&mut self, now: Instant) {
        self.now = self.now.max(now);
    }

    fn check_pending(&self) -> Result<(), UsageError> {
        match self.machine.write() {
            WriteState::Pending => Ok(()),
            WriteState::Idle => Err(UsageError::NoRequestToAnswer),
            WriteState::Body | WriteState::Finished => Err(UsageError::ResponseAlreadyStarted),
            WriteState::Closed => Err(UsageError::Closed),
        }
    }

    fn not_writing_body(&self) -> UsageError {
        match self.machine.write() {
            WriteState::Pending => UsageError::ResponseNotStarted,
            WriteState::Closed => UsageError::Closed,
            WriteState::Idle | WriteState::Finished | WriteState::Body => {
                UsageError::NoRequestToAnswer
            }
        }
    }

    fn after_receive(&mut self) {
        match self.machine.read() {
            ReadState::Closed => {
                // Lingering: what the peer still sends is read only to be dropped.
                self.input.clear();
                return;
            }
            ReadState::Body | ReadState::Discard => self.body_progress = self.now,
            ReadState::Head | ReadState::Done => {}
        }
        if self.events.capacity() == 0
            && let Some(events) = spare::take_events()
        {
            // A connection that gave its queue back when it parked takes a kept one.
            self.events = events;
        }
        self.process();
        self.update_timers();
    }

    /// Parses as far as the buffered input and the state allow.
    fn process(&mut self) {
        loop {
            match self.machine.read() {
                ReadState::Head => {
                    if self.machine.write() != WriteState::Idle {
                        return;
                    }
                    if self.input.is_empty() && !self.head_reader.started(&self.input) {
                        if self.peer_eof {
                            self.eof_at_head();
                        }
                        return;
                    }
                    match self.head_reader.advance(&mut self.input, &self.config) {
                        Ok(Progress::NeedMore) => {
                            if self.peer_eof {
                                // Pipelined bytes behind a response, and the peer closed
                                // while it was written: the rest of this head never comes.
                                self.eof_at_head();
                            } else {
                                self.head_started.get_or_insert(self.now);
                            }
                            return;
                        }
                        Ok(Progress::Head(head)) => self.on_head(head),
                        Ok(Progress::Blank) => {
                            self.close(Input::BlankLine);
                            return;
                        }
                        Err(e) => {
                            self.fail(e);
                            return;
                        }
                    }
                }
                ReadState::Body | ReadState::Discard => {
                    match self.decoder.decode(&mut self.input) {
                        Ok(Decoded::Data(data)) => self.on_body(data),
                        Ok(Decoded::End(trailers)) => self.on_end_of_body(trailers),
                        Ok(Decoded::NeedMore) => return,
                        Err(e) => {
                            self.fail(e);
                            return;
                        }
                    }
                }
                ReadState::Done | ReadState::Closed => return,
            }
        }
    }

    fn on_head(&mut self, head: RequestHead) {
        self.head_started = None;
        self.exchange = Exchange {
            head_request: head.is_head(),
            headless: head.version() == Version::Http09 || head.version_raw() == b"HTTP/0.9",
            peer_11: head.version().at_least_11(),
            expects_continue: head.expects_continue(),
            keep_alive: head.keep_alive(),
            ..Exchange::default()
        };
        let decoder = BodyDecoder::for_framing(head.framing(), &self.config.limits);
        self.transition(match decoder {
            None => Input::Head,
            Some(_) if head.expects_continue() => Input::HeadExpectingContinue,
            Some(_) => Input::HeadWithBody,
        });
        self.events.push_back(Event::Request(head));
        match decoder {
            Some(decoder) => {
                self.body_progress = self.now;
                self.decoder = decoder;
            }
            None => self.events.push_back(Event::EndOfRequest {
                trailers: Headers::new(),
            }),
        }
    }

    /// The peer closed while a head is awaited (between requests, or in the middle of one).
    fn eof_at_head(&mut self) {
        if !self.head_reader.started(&self.input) {
            self.events.push_back(Event::PeerClosed);
            self.close(Input::PeerEof);
            return;
        }
        match self
            .head_reader
            .finish_at_eof(&mut self.input, &self.config)
        {
            Ok(Progress::Head(head)) => {
                self.on_head(head);
                self.process();
                // The head was completed by the end of stream (compat mode), so a body it
                // announces can never arrive: without this, the request would wait for it
                // forever.
                if self.machine.read() == ReadState::Body {
                    self.fail(RequestError::UnexpectedEof);
                }
            }
            Ok(Progress::Blank | Progress::NeedMore) => self.close(Input::BlankLine),
            Err(e) => self.fail(e),
        }
    }

    fn on_body(&mut self, data: Bytes) {
        self.body_progress = self.now;
        if self.machine.read() != ReadState::Discard {
            self.events.push_back(Event::Body(data));
            return;
        }
        self.exchange.discarded += data.len() as u64;
        if self.exchange.discarded > self.config.limits.max_discard {
            self.close(Input::DiscardFailed);
        }
    }

    fn on_end_of_body(&mut self, trailers: Headers) {
        let discarded = self.machine.read() == ReadState::Discard;
        self.transition(Input::BodyEnd);
        if discarded {
            self.await_next_head();
        } else {
            self.events.push_back(Event::EndOfRequest { trailers });
        }
    }

    /// The peer broke the protocol: stop reading, let the application answer if it can.
    fn fail(&mut self, error: RequestError) {
        let unanswered = self.machine.write() == WriteState::Idle;
        let headless = unanswered
            && self.config.parse_mode == ParseMode::Compat
            && self.head_reader.cpython_headless_error(&error, &self.input);
        if unanswered {
            self.failed_line = self.head_reader.last_line(&self.input).map(Box::new);
        }
        self.head_reader = HeadReader::default();
        self.input.clear();
        self.exchange.keep_alive = false;
        // Also when a good head came first: a `Connection: keep-alive` in the answer must
        // not promise a next request that will never be read.
        self.exchange.errored = true;
        if self.machine.read() == ReadState::Discard {
            // The response already went out; nothing is left to say.
            self.close(Input::DiscardFailed);
            return;
        }
        if unanswered {
            self.exchange = Exchange {
                errored: true,
                headless,
                ..Exchange::default()
            };
        }
        self.transition(Input::BadRequest);
        self.events.push_back(Event::RequestError(error));
    }

    /// Handles markers that reached the head of the output queue.
    fn settle(&mut self) {
        while let Some(Marker::EndOfResponse) = self.out.pop_marker() {
            self.on_response_complete();
        }
    }

    // Out of line: `settle` runs on every poll and advance, and finds a marker once per
    // response; inlined, this made every call pay for a large frame.
    #[inline(never)]
    fn on_response_complete(&mut self) {
        // An unread body known to be too large to discard ends the connection; decide that
        // before the event, which promises whether another request can follow.
        let unread_too_large = self.machine.read() == ReadState::Body
            && self
                .decoder
                .known_remaining()
                .is_some_and(|n| n > self.config.limits.max_discard);
        // The peer closed (after the response started) and nothing is buffered: no request
        // can follow, so the event must not promise one.
        let peer_done = self.peer_eof && self.input.is_empty();
        let keep_alive =
            self.exchange.keep_alive && !self.draining && !unread_too_large && !peer_done;
        self.events
            .push_back(Event::ResponseComplete { keep_alive });
        if !keep_alive {
            self.close(Input::SentClose);
            return;
        }
        if !self.transition(Input::Sent) {
            return;
        }
        match self.machine.read() {
            ReadState::Head => self.await_next_head(),
            // Discarding: the rest of the body may be buffered already.
            _ => self.process(),
        }
    }

    /// The read side is back at `head` between requests: parse what is buffered.
    fn await_next_head(&mut self) {
        self.idle_since = self.now;
        if self.input.is_empty() && self.input_peak > KEEP_IDLE_BUFFER {
            // Idle connections hold no large receive buffer.
            self.input = BytesMut::new();
            self.input_peak = 0;
        }
        self.process();
    }

    /// Re-arms every deadline from the current state.
    fn update_timers(&mut self) {
        let timeouts = &self.config.timeouts;
        let waiting_for_head =
            (self.machine.read(), self.machine.write()) == (ReadState::Head, WriteState::Idle);
        let header_read = match self.head_started {
            Some(start) if waiting_for_head => {
                timeouts.header_read.and_then(|d| start.checked_add(d))
            }
            _ => None,
        };
        let idle = match self.head_started {
            None if waiting_for_head => timeouts.idle.and_then(|d| self.idle_since.checked_add(d)),
            _ => None,
        };
        let body_read = match self.machine.read() {
            ReadState::Body | ReadState::Discard => timeouts
                .body_read
                .and_then(|d| self.body_progress.checked_add(d)),
            _ => None,
        };
        self.timers.set(TimeoutKind::HeaderRead, header_read);
        self.timers.set(TimeoutKind::Idle, idle);
        self.timers.set(TimeoutKind::BodyRead, body_read);
        if self.is_closed() {
            self.timers = TimerTable::default();
        }
    }
}

/// Whether the head's `Connection` fields list `close` and `keep-alive`, in one pass (this
/// runs for every response).
fn connection_tokens(headers: &Headers) -> (bool, bool) {
    let (mut close, mut keep) = (false, false);
    if !headers.summary().connection {
        return (close, keep);
    }
    for field in headers {
        if CONNECTION.matches(field.name()) {
            for token in field.value().split(|&b| b == b',').map(<[u8]>::trim_ascii) {
                close |= CLOSE.matches(token);
                keep |= KEEP_ALIVE.matches(token);
            }
        }
    }
    (close, keep)
}

#[cfg(test)]
mod closing_tests;
#[cfg(test)]
mod error_tests;
#[cfg(test)]
mod table_tests;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod timer_tests;
