//! Oracles and drivers for tests and fuzzers of the core (feature `testing`).
//!
//! [`Checker`] encodes what a connection may emit, event by event: no request after a
//! close-forcing event, no request before the previous response completed, body events only
//! inside a request and never more than declared, heads that keep the strict rules. The
//! drivers move output the way a runtime would, within a byte budget, and answer requests
//! the way a small application would. The proptests in `tests/properties` and the targets
//! in `fuzz/` both run on them, so every harness checks the same promises.
//!
//! Not part of the stable API: it exists for harnesses and may change with them.

#![allow(
    clippy::missing_panics_doc,
    reason = "every function here panics at a broken promise: that is what an oracle is for"
)]

use bytes::Bytes;

use crate::head::is_tchar;
use crate::{
    Config, Event, Limits, ParseMode, RequestError, RequestFraming, RequestHead, ResponseBody,
    ResponseHead, ServerConnection, Transmit, Version,
};

/// The small limits every harness uses when it wants inputs of fuzzer size to reach every
/// limit: the fuzz targets (`fuzz/src/lib.rs`) and the proptests (`tests/properties`) share
/// this one set, so a finding in one reproduces in the other.
///
/// ```
/// let limits = protocol::testing::small_limits();
/// assert_eq!(limits.max_request_line, 48);
/// assert!(limits.max_head < limits.max_buffered_input);
/// ```
pub fn small_limits() -> Limits {
    Limits {
        max_request_line: 48,
        max_header_line: 40,
        max_headers: 5,
        max_head: 120,
        max_chunk_line: 12,
        max_trailer_bytes: 40,
        max_discard: 16,
        max_buffered_input: 256,
    }
}

/// What the core decided about the first request of a byte string, as a plain value that
/// compares with `==`: the request it parsed, the error it reported (with its suggested
/// status), or that it needs more bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The head was accepted.
    Request {
        /// The method token.
        method: Vec<u8>,
        /// The request target, as sent.
        target: Vec<u8>,
        /// The version the core understood.
        version: Version,
        /// The header fields in order, names as sent.
        fields: Vec<(Vec<u8>, Vec<u8>)>,
        /// How the body is framed.
        framing: RequestFraming,
    },
    /// The bytes were refused.
    Error {
        /// The error the core reported.
        error: RequestError,
        /// The status it suggests answering with.
        status: u16,
    },
    /// Neither yet: the head is incomplete.
    Incomplete,
}

/// The core's [`Verdict`] on `bytes` (the first request in them), under `config`. No end of
/// stream is given: a head cut short is [`Verdict::Incomplete`].
///
/// ```
/// use protocol::{Config, RequestError, RequestFraming, Version};
/// use protocol::testing::{Verdict, verdict};
///
/// let config = Config::default();
/// assert_eq!(
///     verdict(&config, b"POST /up HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc"),
///     Verdict::Request {
///         method: b"POST".to_vec(),
///         target: b"/up".to_vec(),
///         version: Version::Http { major: 1, minor: 1 },
///         fields: vec![
///             (b"Host".to_vec(), b"a".to_vec()),
///             (b"Content-Length".to_vec(), b"3".to_vec()),
///         ],
///         framing: RequestFraming::Length(3),
///     }
/// );
///
/// // Request smuggling's classic shape: both framings at once.
/// let smuggle = b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\
///                 Transfer-Encoding: chunked\r\n\r\n";
/// assert_eq!(
///     verdict(&config, smuggle),
///     Verdict::Error { error: RequestError::ConflictingFraming, status: 400 }
/// );
///
/// assert_eq!(verdict(&config, b"GET / HTTP/1.1\r\nHost"), Verdict::Incomplete);
/// ```
#[expect(
    clippy::disallowed_methods,
    reason = "an arbitrary origin: no time passes and no deadline is looked at"
)]
pub fn verdict(config: &Config, bytes: &[u8]) -> Verdict {
    let now = std::time::Instant::now();
    let mut conn = ServerConnection::new(std::sync::Arc::new(config.clone()), now);
    conn.receive(bytes, now);
    while let Some(event) = conn.poll_event() {
        match event {
            Event::Request(head) => {
                return Verdict::Request {
                    method: head.method().to_vec(),
                    target: head.target().to_vec(),
                    version: head.version(),
                    fields: head
                        .headers()
                        .iter()
                        .map(|f| (f.name().to_vec(), f.value().to_vec()))
                        .collect(),
                    framing: head.framing(),
                };
            }
            Event::RequestError(error) => {
                let status = error.status_hint();
                return Verdict::Error { error, status };
            }
            _ => {}
        }
    }
    Verdict::Incomplete
}

/// Follows one connection's event stream and panics at the first broken promise.
#[derive(Debug, Default)]
pub struct Checker {
    /// A request (or request error) has not had its `ResponseComplete` yet.
    exchange_open: bool,
    /// The body of the current request: its framing and the bytes seen so far.
    body: Option<(RequestFraming, u64)>,
    /// A close-forcing event was seen: no request may follow.
    no_more_requests: bool,
    /// `is_closed()` was seen true after the queue was drained: no event may follow.
    closed: bool,
    /// Requests seen, for targets that want to know whether parsing got anywhere.
    pub requests: usize,
    /// A request or request error waits for the application's response.
    pub awaiting_response: bool,
    /// Whether to keep every event in `log`.
    record: bool,
    /// Every event seen, adjacent bodies merged (when recording).
    pub log: Vec<Event>,
    /// The body of the current request is complete (the auto-responder answers then).
    pub request_done: bool,
    /// The status the waiting exchange should be answered with: a request error's suggested
    /// status, else `200`.
    pub status: u16,
}

impl Checker {
    /// A checker that also keeps the events, for comparing runs.
    pub fn recording() -> Self {
        Self {
            record: true,
            ..Self::default()
        }
    }

    /// Checks one event against everything seen before it.
    pub fn observe(&mut self, event: &Event, config: &Config) {
        assert!(!self.closed, "event after the connection closed: {event:?}");
        match event {
            Event::Request(head) => {
                assert!(
                    !self.no_more_requests,
                    "request after a close-forcing event: {head:?}"
                );
                assert!(
                    !self.exchange_open,
                    "request before the previous response completed"
                );
                check_head(head, config);
                self.requests += 1;
                self.exchange_open = true;
                self.awaiting_response = true;
                self.request_done = false;
                self.status = 200;
                self.body = Some((head.framing(), 0));
            }
            Event::Body(data) => {
                assert!(!data.is_empty(), "empty body event");
                let (framing, seen) = self.body.as_mut().expect("body event outside a request");
                *seen += data.len() as u64;
                match *framing {
                    RequestFraming::Length(n) => assert!(*seen <= n, "more body than declared"),
                    RequestFraming::Chunked => {}
                    _ => panic!("body event for a request without a body"),
                }
            }
            Event::EndOfRequest { trailers } => {
                let (framing, seen) = self.body.take().expect("end of request outside a request");
                match framing {
                    RequestFraming::Length(n) => assert_eq!(seen, n, "body shorter than declared"),
                    RequestFraming::Chunked => {}
                    _ => assert_eq!(seen, 0),
                }
                if framing != RequestFraming::Chunked {
                    assert!(trailers.is_empty(), "trailers without chunked coding");
                }
                self.request_done = true;
            }
            Event::RequestError(error) => {
                assert!((400..=599).contains(&error.status_hint()));
                if error.closes_connection() {
                    self.no_more_requests = true;
                }
                self.body = None;
                if !self.exchange_open {
                    self.exchange_open = true;
                    self.awaiting_response = true;
                }
                if self.awaiting_response {
                    self.status = error.status_hint();
                }
                self.request_done = true;
            }
            Event::Timeout(_) | Event::PeerClosed => {
                assert!(
                    !self.exchange_open,
                    "{event:?} while a request is in progress"
                );
                self.no_more_requests = true;
            }
            Event::ResponseComplete { keep_alive } => {
                assert!(self.exchange_open, "response complete without a request");
                assert!(
                    !self.awaiting_response,
                    "response complete before a response"
                );
                self.exchange_open = false;
                self.body = None;
                if !keep_alive {
                    self.no_more_requests = true;
                }
            }
        }
        if self.record {
            push_merged(&mut self.log, event.clone());
        }
    }

    /// Drains and checks every queued event.
    pub fn drain(&mut self, conn: &mut ServerConnection) {
        let config = conn.config().clone();
        while let Some(event) = conn.poll_event() {
            self.observe(&event, &config);
        }
        if conn.is_closed() {
            self.closed = true;
        }
    }

    /// Records that the application started a response.
    pub fn responded(&mut self) {
        self.awaiting_response = false;
    }
}

/// Appends `event`, joining it to a preceding body event: how a body is cut into events
/// depends on how it arrived, which is not something runs can be compared on.
pub fn push_merged(events: &mut Vec<Event>, event: Event) {
    if let (Some(Event::Body(last)), Event::Body(more)) = (events.last_mut(), &event) {
        let mut joined = last.to_vec();
        joined.extend_from_slice(more);
        *last = joined.into();
        return;
    }
    events.push(event);
}

/// What a parsed head must look like whatever bytes produced it.
pub fn check_head(head: &RequestHead, config: &Config) {
    assert!(!head.method().is_empty() && !head.target().is_empty());
    assert_eq!(
        head.version() == Version::Http09,
        head.version_raw().is_empty()
    );
    let line = head.request_line();
    assert!(contains(line, head.method()) && contains(line, head.target()));
    assert!(head.raw().starts_with(line));
    if head.version() != Version::Http09 {
        assert!(line.ends_with(head.version_raw()) || config.parse_mode == ParseMode::Compat);
        assert!(contains(line, head.version_raw()));
    }
    if config.parse_mode == ParseMode::Strict {
        assert!(head.method().iter().all(|&b| is_tchar(b)));
        // One of RFC 9112's four target forms, each with the method it belongs to.
        let (method, target) = (head.method(), head.target());
        assert!(
            match (method, target.first()) {
                (b"CONNECT", _) => !target.starts_with(b"/") && target.contains(&b':'),
                (_, Some(b'/')) => true,
                (b"OPTIONS", _) if target == b"*" => true,
                _ => contains(target, b"://"),
            },
            "target {target:?} is in no form for {method:?}"
        );
        for field in head.headers() {
            assert!(!field.name().is_empty() && field.name().iter().all(|&b| is_tchar(b)));
            assert!(
                !field
                    .value()
                    .iter()
                    .any(|&b| matches!(b, b'\r' | b'\n' | 0))
            );
        }
    }
    let has_te = head.headers().contains("transfer-encoding");
    let has_cl = head.headers().contains("content-length");
    match head.framing() {
        RequestFraming::Chunked => assert!(has_te && !has_cl && head.version().at_least_11()),
        RequestFraming::Length(_) => assert!(has_cl && !has_te),
        _ => assert!(!has_te && (!has_cl || head.version() == Version::Http09)),
    }
    if head.keep_alive() || head.expects_continue() {
        assert!(config.keep_alive_enabled());
    }
    if head.expects_continue() {
        assert!(head.version().at_least_11());
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    needle.is_empty() || haystack.windows(needle.len()).any(|w| w == needle)
}

/// Output seen on the wire so far.
#[derive(Debug, Default)]
pub struct Wire {
    /// Bytes written, external spans filled with `#`.
    pub bytes: Vec<u8>,
    /// The shutdown was transmitted.
    pub shutdown: bool,
}

/// Writes at most `budget` bytes of output, as a socket accepting that much would. Returns
/// whether anything moved.
pub fn transmit(conn: &mut ServerConnection, wire: &mut Wire, mut budget: usize) -> bool {
    let mut moved = false;
    while budget > 0 {
        let n = match conn.poll_transmit() {
            None => break,
            Some(Transmit::Shutdown) => {
                assert!(!wire.shutdown, "shutdown transmitted twice");
                wire.shutdown = true;
                moved = true;
                continue;
            }
            Some(Transmit::Bytes(bytes)) => {
                assert!(!bytes.is_empty(), "empty transmit");
                let n = bytes.len().min(budget);
                wire.bytes.extend_from_slice(&bytes[..n]);
                n
            }
            Some(Transmit::External(len)) => {
                assert!(len > 0, "empty external span");
                let n = usize::try_from(len).unwrap_or(usize::MAX).min(budget);
                wire.bytes.resize(wire.bytes.len() + n, b'#');
                n
            }
        };
        assert!(!wire.shutdown, "bytes after shutdown");
        conn.advance_transmit(n);
        budget -= n;
        moved = true;
    }
    moved
}

/// Answers a waiting request with a small complete `200` response, and a waiting request
/// error with the status the error suggests.
///
/// It waits for the end of the request body (or the error) so that how the bytes were split
/// cannot change what happens: answering mid-body would discard a body that, split
/// differently, would already have been delivered.
pub fn auto_respond(conn: &mut ServerConnection, checker: &mut Checker) -> bool {
    if !checker.awaiting_response || !checker.request_done {
        return false;
    }
    let status = checker.status;
    let head = ResponseHead::new(status).with_header("Content-Type", "text/plain");
    match conn.send_response(&head, ResponseBody::Length(2)) {
        Ok(()) => {
            checker.responded();
            conn.send_body(Bytes::from_static(b"ok"))
                .expect("declared length");
            conn.finish_response().expect("complete body");
        }
        // The connection closed under us (an abort, a timeout): nothing to answer any more.
        Err(_) => checker.awaiting_response = false,
    }
    true
}

/// Runs the connection to quiescence: answer, transmit everything, repeat.
///
/// Every round answers one request or moves bytes, and the input is finite, so this ends;
/// the bound only turns a livelock into a finding. (It must not be small: a fixed cap of 64
/// rounds once left the 65th pipelined request of one read unanswered until the end of
/// stream, which the `request_head` target reported as a split-dependent difference.)
pub fn settle(conn: &mut ServerConnection, checker: &mut Checker, wire: &mut Wire) {
    for _ in 0..1_000_000 {
        checker.drain(conn);
        let answered = auto_respond(conn, checker);
        let moved = transmit(conn, wire, usize::MAX);
        checker.drain(conn);
        if !answered && !moved {
            return;
        }
    }
    panic!("the connection never settles");
}
