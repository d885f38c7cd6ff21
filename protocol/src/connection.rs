//! [`ServerConnection`]: the public face of the core. Inputs are method calls, outputs are
//! drained with `poll_*`; the transitions themselves are kept in the small helpers at the end.

use std::collections::VecDeque;
use std::io::IoSlice;
use std::sync::Arc;
use std::time::Instant;

use bytes::{Bytes, BytesMut};

use crate::body::encode::{self, AddedField, BodyEncoder};
use crate::body::{BodyDecoder, Decoded};
use crate::head::{self, CLOSE, CONNECTION, HeadReader, KEEP_ALIVE, Progress};
use crate::state::{ReadState, State, WriteState};
use crate::timer::TimerTable;
use crate::transmit::{Marker, OutQueue};
use crate::{
    Config, Event, Headers, ParseMode, RequestError, RequestHead, ResponseBody, ResponseHead,
    TimeoutKind, Transmit, UsageError, Version,
};

/// How much spare room [`ServerConnection::recv_buf`] offers per read.
const RECV_CHUNK: usize = 16 * 1024;

/// An emptied receive buffer that never grew past this is kept between requests.
/// Keeping it lets the next request reuse the allocation (once the application has dropped
/// the previous head, which shares it) instead of allocating twice per request; anything
/// larger (a `recv_buf` room, a big body read) is released, so idle connections stay cheap.
const KEEP_IDLE_BUFFER: usize = 4 * 1024;

/// The receive side.
#[derive(Debug)]
enum Reading {
    /// Waiting for, or in the middle of, a request head.
    Head,
    /// Decoding a request body.
    Body(BodyDecoder),
    /// The request was read completely; pipelined bytes wait until its response is complete.
    Done,
    /// Nothing more is parsed: after an error, or once the connection is closing.
    Closed,
}

/// The send side.
#[derive(Debug)]
enum Writing {
    /// No request to answer.
    Idle,
    /// A request (or a request error) waits for a response head.
    Pending,
    /// The head was queued; the body is being written.
    Body(BodyEncoder),
    /// The response is queued completely and is draining to the socket.
    Finished,
    /// No more output.
    Closed,
}

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
    /// The response is done; the rest of the request body is read and dropped.
    discarding: bool,
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
    /// Length of `input` before the spare room handed out by `recv_buf`.
    recv_base: Option<usize>,
    head_reader: HeadReader,
    reading: Reading,
    writing: Writing,
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
    /// The request line of a head that failed to parse, for logging.
    failed_line: Option<Bytes>,
    /// The peer closed its side.
    peer_eof: bool,
    /// The application asked to close once the current exchange is over.
    draining: bool,
    /// Our shutdown was handed to the runtime; we only drain input now.
    lingering: bool,
    closed: bool,
}

impl ServerConnection {
    /// A new connection, accepted at `now`.
    pub fn new(config: Arc<Config>, now: Instant) -> Self {
        let mut connection = Self {
            config,
            input: BytesMut::new(),
            input_peak: 0,
            recv_base: None,
            head_reader: HeadReader::default(),
            reading: Reading::Head,
            writing: Writing::Idle,
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
            lingering: false,
            closed: false,
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
        if self.closed || data.is_empty() {
            return;
        }
        self.input.extend_from_slice(data);
        self.input_peak = self.input_peak.max(self.input.capacity());
        self.after_receive();
    }

    /// Spare room to read into without an extra copy; report what was read with
    /// [`commit_recv`](Self::commit_recv).
    pub fn recv_buf(&mut self) -> &mut [u8] {
        let base = self.recv_base.unwrap_or(self.input.len());
        self.input.resize(base + RECV_CHUNK, 0);
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
        if base == 0 && n == 0 {
            // A read that found nothing on an empty buffer (the usual last read of an idle
            // keep-alive connection): the room goes back whole, or every idle connection
            // would keep RECV_CHUNK allocated while it waits.
            self.input = BytesMut::new();
            self.input_peak = 0;
            return;
        }
        self.input.truncate(base + n.min(RECV_CHUNK));
        if n > 0 && !self.closed {
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
        if self.closed || self.peer_eof {
            return;
        }
        self.peer_eof = true;
        match self.reading {
            Reading::Head if self.head_reader.started(&self.input) => {
                match self
                    .head_reader
                    .finish_at_eof(&mut self.input, &self.config)
                {
                    Ok(Progress::Head(head)) => {
                        self.on_head(head);
                        self.process();
                        // The head was completed by the end of stream (compat mode), so a
                        // body it announces can never arrive: without this, the request
                        // would wait for it forever.
                        if matches!(self.reading, Reading::Body(_)) {
                            self.fail(RequestError::UnexpectedEof);
                        }
                    }
                    Ok(Progress::Blank | Progress::NeedMore) => self.start_close(),
                    Err(e) => self.fail(e),
                }
            }
            Reading::Head => {
                self.events.push_back(Event::PeerClosed);
                self.start_close();
            }
            Reading::Body(_) => self.fail(RequestError::UnexpectedEof),
            Reading::Done => {}
            Reading::Closed => {
                if self.lingering {
                    self.closed = true;
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
                    self.start_close();
                }
                TimeoutKind::BodyRead => self.fail(RequestError::Timeout(kind)),
                TimeoutKind::Linger => {
                    self.closed = true;
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
        let unread_body = matches!(self.reading, Reading::Body(_));
        if exchange.headless
            || self.draining
            || self.peer_eof
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
        self.writing = Writing::Body(encoder);
        Ok(())
    }

    /// Queues body bytes of the response in progress.
    pub fn send_body(&mut self, data: Bytes) -> Result<(), UsageError> {
        match &mut self.writing {
            Writing::Body(encoder) => encoder.data(&mut self.out, data),
            _ => Err(self.not_writing_body()),
        }
    }

    /// Declares `len` body bytes that the runtime sends itself (with sendfile, say). They
    /// appear as [`Transmit::External`] at their place in the output.
    pub fn send_body_external(&mut self, len: u64) -> Result<(), UsageError> {
        match &mut self.writing {
            Writing::Body(encoder) => encoder.external(&mut self.out, len),
            _ => Err(self.not_writing_body()),
        }
    }

    /// Ends the response (writing the last chunk of a chunked body).
    pub fn finish_response(&mut self) -> Result<(), UsageError> {
        match &self.writing {
            Writing::Body(encoder) => encoder.finish(&mut self.out)?,
            _ => return Err(self.not_writing_body()),
        }
        self.writing = Writing::Finished;
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
            self.start_close();
            self.update_timers();
        }
    }

    /// Gives up on the connection: queued output is dropped and it is closed at once.
    pub fn abort(&mut self) {
        self.out.clear();
        self.input = BytesMut::new();
        self.reading = Reading::Closed;
        self.writing = Writing::Closed;
        self.timers = TimerTable::default();
        self.closed = true;
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
            self.lingering = true;
            if self.peer_eof {
                self.closed = true;
            } else {
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
        if self.closed || self.peer_eof {
            return false;
        }
        match self.reading {
            Reading::Head => true,
            Reading::Body(_) => self.input.len() < self.config.limits.max_buffered_input,
            Reading::Done => self.input.is_empty(),
            Reading::Closed => self.lingering,
        }
    }

    /// Whether a response body is in progress and the output queue is below its high-water
    /// mark: producers (file reads, CGI output) should push more only while this holds.
    pub fn wants_body_data(&self) -> bool {
        matches!(self.writing, Writing::Body(_))
            && self.out.buffered() < self.config.send_high_water
    }

    /// Whether output is queued.
    pub fn has_pending_output(&self) -> bool {
        !self.out.is_empty()
    }

    /// Whether the connection sits between requests with nothing buffered either way.
    pub fn is_idle(&self) -> bool {
        matches!(
            (&self.reading, &self.writing),
            (Reading::Head, Writing::Idle)
        ) && self.input.is_empty()
            && self.out.is_empty()
            && !self.closed
    }

    /// The request line (ending stripped) of a head that failed with a
    /// [`RequestError`], when one was read: what CPython logs as `requestline`. `None` when the
    /// error came before a complete line (414) or after a head was delivered.
    pub fn failed_request_line(&self) -> Option<&Bytes> {
        self.failed_line.as_ref()
    }

    /// Whether the connection is over: the runtime should close the socket.
    pub fn is_closed(&self) -> bool {
        self.closed
    }

    /// Where the connection stands (read-only, for tracing and tests): which part of a
    /// request it reads, which part of a response it writes, whether it lingers or is closed.
    pub fn state(&self) -> State {
        State {
            read: match self.reading {
                Reading::Head => ReadState::Head,
                Reading::Body(_) => ReadState::Body,
                Reading::Done => ReadState::Done,
                Reading::Closed => ReadState::Closed,
            },
            write: match self.writing {
                Writing::Idle => WriteState::Idle,
                Writing::Pending => WriteState::Pending,
                Writing::Body(_) => WriteState::Body,
                Writing::Finished => WriteState::Finished,
                Writing::Closed => WriteState::Closed,
            },
            lingering: self.lingering,
            closed: self.closed,
        }
    }

    // ----- transitions -----

    fn tick(&mut self, now: Instant) {
        self.now = self.now.max(now);
    }

    fn check_pending(&self) -> Result<(), UsageError> {
        match self.writing {
            Writing::Pending => Ok(()),
            Writing::Idle => Err(UsageError::NoRequestToAnswer),
            Writing::Body(_) | Writing::Finished => Err(UsageError::ResponseAlreadyStarted),
            Writing::Closed => Err(UsageError::Closed),
        }
    }

    fn not_writing_body(&self) -> UsageError {
        match self.writing {
            Writing::Pending => UsageError::ResponseNotStarted,
            Writing::Closed => UsageError::Closed,
            Writing::Idle | Writing::Finished | Writing::Body(_) => UsageError::NoRequestToAnswer,
        }
    }

    fn after_receive(&mut self) {
        match self.reading {
            Reading::Closed => {
                // Lingering: what the peer still sends is read only to be dropped.
                self.input.clear();
                return;
            }
            Reading::Body(_) => self.body_progress = self.now,
            Reading::Head | Reading::Done => {}
        }
        self.process();
        self.update_timers();
    }

    /// Parses as far as the buffered input and the state allow.
    fn process(&mut self) {
        loop {
            match &mut self.reading {
                Reading::Head => {
                    if !matches!(self.writing, Writing::Idle) {
                        return;
                    }
                    if self.input.is_empty() && !self.head_reader.started(&self.input) {
                        if self.peer_eof {
                            self.start_close();
                        }
                        return;
                    }
                    match self.head_reader.advance(&mut self.input, &self.config) {
                        Ok(Progress::NeedMore) => {
                            self.head_started.get_or_insert(self.now);
                            return;
                        }
                        Ok(Progress::Head(head)) => self.on_head(head),
                        Ok(Progress::Blank) => {
                            self.start_close();
                            return;
                        }
                        Err(e) => {
                            self.fail(e);
                            return;
                        }
                    }
                }
                Reading::Body(decoder) => match decoder.decode(&mut self.input) {
                    Ok(Decoded::Data(data)) => self.on_body(data),
                    Ok(Decoded::End(trailers)) => self.on_end_of_body(trailers),
                    Ok(Decoded::NeedMore) => return,
                    Err(e) => {
                        self.fail(e);
                        return;
                    }
                },
                Reading::Done | Reading::Closed => return,
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
        self.writing = Writing::Pending;
        let decoder = BodyDecoder::for_framing(head.framing(), &self.config.limits);
        self.events.push_back(Event::Request(head));
        match decoder {
            Some(decoder) => {
                self.body_progress = self.now;
                self.reading = Reading::Body(decoder);
            }
            None => self.on_end_of_body(Headers::new()),
        }
    }

    fn on_body(&mut self, data: Bytes) {
        self.body_progress = self.now;
        if !self.exchange.discarding {
            self.events.push_back(Event::Body(data));
            return;
        }
        self.exchange.discarded += data.len() as u64;
        if self.exchange.discarded > self.config.limits.max_discard {
            self.start_close();
        }
    }

    fn on_end_of_body(&mut self, trailers: Headers) {
        if self.exchange.discarding {
            self.exchange.discarding = false;
            self.begin_next_request();
        } else {
            self.events.push_back(Event::EndOfRequest { trailers });
            self.reading = Reading::Done;
        }
    }

    /// The peer broke the protocol: stop reading, let the application answer if it can.
    fn fail(&mut self, error: RequestError) {
        self.reading = Reading::Closed;
        let headless = matches!(self.writing, Writing::Idle)
            && self.config.parse_mode == ParseMode::Compat
            && self.head_reader.cpython_headless_error(&error, &self.input);
        if matches!(self.writing, Writing::Idle) {
            self.failed_line = self.head_reader.last_line(&self.input);
        }
        self.head_reader = HeadReader::default();
        self.input.clear();
        self.exchange.keep_alive = false;
        if self.exchange.discarding {
            // The response already went out; nothing is left to say.
            self.start_close();
            return;
        }
        if matches!(self.writing, Writing::Idle) {
            self.exchange = Exchange {
                errored: true,
                headless,
                ..Exchange::default()
            };
            self.writing = Writing::Pending;
        }
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
        let unread_too_large = match &self.reading {
            Reading::Body(decoder) => decoder
                .known_remaining()
                .is_some_and(|n| n > self.config.limits.max_discard),
            _ => false,
        };
        let keep_alive = self.exchange.keep_alive && !self.draining && !unread_too_large;
        self.events
            .push_back(Event::ResponseComplete { keep_alive });
        self.writing = Writing::Idle;
        if !keep_alive {
            self.start_close();
            return;
        }
        match &self.reading {
            Reading::Done => self.begin_next_request(),
            Reading::Body(_) => {
                self.exchange.discarding = true;
                self.process();
            }
            Reading::Head | Reading::Closed => self.start_close(),
        }
    }

    fn begin_next_request(&mut self) {
        self.reading = Reading::Head;
        self.idle_since = self.now;
        if self.input.is_empty() && self.input_peak > KEEP_IDLE_BUFFER {
            // Idle connections hold no large receive buffer.
            self.input = BytesMut::new();
            self.input_peak = 0;
        }
        self.process();
    }

    /// Queues the shutdown of our side; reading and writing stop.
    fn start_close(&mut self) {
        if !matches!(self.writing, Writing::Closed) {
            self.reading = Reading::Closed;
            self.writing = Writing::Closed;
            self.out.push_shutdown();
        }
    }

    /// Re-arms every deadline from the current state.
    fn update_timers(&mut self) {
        let timeouts = &self.config.timeouts;
        let waiting_for_head = matches!(
            (&self.reading, &self.writing),
            (Reading::Head, Writing::Idle)
        );
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
        let body_read = match self.reading {
            Reading::Body(_) => timeouts
                .body_read
                .and_then(|d| self.body_progress.checked_add(d)),
            _ => None,
        };
        self.timers.set(TimeoutKind::HeaderRead, header_read);
        self.timers.set(TimeoutKind::Idle, idle);
        self.timers.set(TimeoutKind::BodyRead, body_read);
        if self.closed {
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
mod tests;
#[cfg(test)]
mod timer_tests;
