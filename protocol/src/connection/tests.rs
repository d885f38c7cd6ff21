//! Behaviour of [`ServerConnection`] one scenario at a time: pipelining, `100 Continue`,
//! HEAD and HTTP/0.9 responses, keep-alive, discarded bodies, passthrough and external bodies,
//! the copy-free receive path, the state summary and idle memory; and the helpers the other
//! scenario files (`error_tests.rs`, `closing_tests.rs`) share.
//!
//! Every test drives the connection only through its public methods, with a fake clock.

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;

use crate::{
    Config, Event, Headers, RequestError, RequestFraming, RequestHead, ResponseBody, ResponseHead,
    ServerConnection, Transmit, UsageError, Version,
};

/// The origin of every fake clock: all other instants are `t0() + Duration`.
#[allow(clippy::disallowed_methods)] // One reading of the real clock, as an arbitrary origin.
pub(super) fn t0() -> Instant {
    Instant::now()
}

/// `-p HTTP/1.1`: keep-alive offered, as `http-server -p HTTP/1.1`.
pub(super) fn http11() -> Config {
    Config {
        protocol_version: Bytes::from_static(b"HTTP/1.1"),
        ..Config::default()
    }
}

/// `n` distinct header lines.
pub(super) fn header_lines(n: usize) -> String {
    (0..n).fold(String::new(), |mut lines, i| {
        let _ = write!(lines, "X-{i}: v\r\n");
        lines
    })
}

pub(super) fn connect(config: Config, now: Instant) -> ServerConnection {
    ServerConnection::new(Arc::new(config), now)
}

/// Every queued event.
pub(super) fn events(conn: &mut ServerConnection) -> Vec<Event> {
    std::iter::from_fn(|| conn.poll_event()).collect()
}

/// What a runtime would have written.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct Out {
    /// Bytes written; external spans are filled with `#`.
    pub(super) bytes: Vec<u8>,
    pub(super) shutdown: bool,
}

/// Writes everything queued, as a socket that accepts it all.
pub(super) fn drain(conn: &mut ServerConnection) -> Out {
    let mut out = Out::default();
    loop {
        let n = match conn.poll_transmit() {
            None => return out,
            Some(Transmit::Bytes(b)) => {
                out.bytes.extend_from_slice(b);
                b.len()
            }
            Some(Transmit::External(n)) => {
                let n = usize::try_from(n).unwrap();
                out.bytes.resize(out.bytes.len() + n, b'#');
                n
            }
            Some(Transmit::Shutdown) => {
                assert!(!out.shutdown, "shutdown transmitted twice");
                out.shutdown = true;
                continue;
            }
        };
        conn.advance_transmit(n);
    }
}

/// Pops the next event, which must be a request head.
pub(super) fn request(conn: &mut ServerConnection) -> RequestHead {
    match conn.poll_event() {
        Some(Event::Request(head)) => head,
        other => panic!("expected a request, got {other:?}"),
    }
}

pub(super) fn end() -> Event {
    Event::EndOfRequest {
        trailers: Headers::new(),
    }
}

/// Answers with `200 OK` and a two-byte body, and writes it out.
pub(super) fn answer(conn: &mut ServerConnection) -> Out {
    conn.respond(&ResponseHead::new(200), Bytes::from_static(b"ok"))
        .unwrap();
    drain(conn)
}

pub(super) fn text(out: &Out) -> String {
    String::from_utf8_lossy(&out.bytes).into_owned()
}

pub(super) const GET_11: &[u8] = b"GET / HTTP/1.1\r\nHost: a\r\n\r\n";

// ----- pipelining -----

#[test]
fn pipelined_request_waits_for_the_response() {
    let t0 = t0();
    let mut conn = connect(http11(), t0);
    conn.receive(
        b"GET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\n",
        t0,
    );
    assert_eq!(request(&mut conn).target(), b"/1");
    assert_eq!(events(&mut conn), [end()]);
    // The second head is buffered but not parsed, and reading pauses to bound memory.
    assert!(!conn.wants_read());
    conn.respond(&ResponseHead::new(200), Bytes::from_static(b"ok"))
        .unwrap();
    // Queued is not sent: the first response is not complete until its bytes are out.
    assert_eq!(conn.poll_event(), None);
    let out = drain(&mut conn);
    assert!(!out.shutdown);
    assert_eq!(
        conn.poll_event(),
        Some(Event::ResponseComplete { keep_alive: true })
    );
    assert_eq!(request(&mut conn).target(), b"/2");
    assert_eq!(events(&mut conn), [end()]);
    // Nothing is buffered now, so reading may go on: the next bytes will wait their turn.
    assert!(conn.wants_read());
    answer(&mut conn);
    assert_eq!(
        events(&mut conn),
        [Event::ResponseComplete { keep_alive: true }]
    );
    assert!(conn.wants_read());
    assert!(conn.is_idle());
}

#[test]
fn pipelined_bytes_are_parsed_without_new_input() {
    // The second request and half of the third arrive with the first.
    let t0 = t0();
    let mut conn = connect(http11(), t0);
    conn.receive(
        b"GET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\nGET /3 HT",
        t0,
    );
    assert_eq!(request(&mut conn).target(), b"/1");
    assert_eq!(events(&mut conn), [end()]);
    answer(&mut conn);
    let after_first = events(&mut conn);
    assert_eq!(after_first.len(), 3, "{after_first:?}");
    assert!(matches!(&after_first[1], Event::Request(h) if h.target() == b"/2"));
    answer(&mut conn);
    assert_eq!(
        events(&mut conn),
        [Event::ResponseComplete { keep_alive: true }]
    );
    // Waiting for the rest of the third head: reading resumes.
    assert!(conn.wants_read());
    conn.receive(b"TP/1.1\r\nHost: a\r\n\r\n", t0);
    assert_eq!(request(&mut conn).target(), b"/3");
}

// ----- Expect: 100-continue -----

const EXPECT: &[u8] =
    b"PUT /f HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n";

#[test]
fn continue_then_body_then_response_keeps_the_connection() {
    let t0 = t0();
    let mut conn = connect(http11(), t0);
    conn.receive(EXPECT, t0);
    assert!(request(&mut conn).expects_continue());
    assert_eq!(conn.poll_event(), None, "the client waits for 100 Continue");
    conn.send_continue().unwrap();
    assert_eq!(
        conn.send_continue(),
        Err(UsageError::ContinueNotExpected),
        "only once"
    );
    assert_eq!(drain(&mut conn).bytes, b"HTTP/1.1 100 Continue\r\n\r\n");
    conn.receive(b"abc", t0);
    assert_eq!(events(&mut conn), [Event::Body("abc".into()), end()]);
    let out = answer(&mut conn);
    assert!(out.bytes.starts_with(b"HTTP/1.1 200 OK\r\n"));
    assert_eq!(
        events(&mut conn),
        [Event::ResponseComplete { keep_alive: true }]
    );
}

#[test]
fn answering_without_continue_closes() {
    // The client may or may not send its body now: the next request cannot be found.
    let t0 = t0();
    let mut conn = connect(http11(), t0);
    conn.receive(EXPECT, t0);
    request(&mut conn);
    let out = answer(&mut conn);
    assert!(out.shutdown);
    assert_eq!(
        events(&mut conn),
        [Event::ResponseComplete { keep_alive: false }]
    );
}

#[test]
fn continue_needs_a_request_that_asked() {
    let t0 = t0();
    let mut conn = connect(http11(), t0);
    assert_eq!(conn.send_continue(), Err(UsageError::NoRequestToAnswer));
    conn.receive(GET_11, t0);
    assert!(!request(&mut conn).expects_continue());
    assert_eq!(conn.send_continue(), Err(UsageError::ContinueNotExpected));
    // Under the default HTTP/1.0 protocol version, CPython never sends 100 Continue.
    let mut conn = connect(Config::default(), t0);
    conn.receive(EXPECT, t0);
    assert!(!request(&mut conn).expects_continue());
}

// ----- HEAD and HTTP/0.9 -----

#[test]
fn head_response_declares_the_length_but_sends_no_body() {
    let t0 = t0();
    let mut conn = connect(http11(), t0);
    conn.receive(b"HEAD / HTTP/1.1\r\nHost: a\r\n\r\n", t0);
    request(&mut conn);
    events(&mut conn);
    conn.respond(&ResponseHead::new(200), Bytes::from_static(b"hello"))
        .unwrap();
    let out = drain(&mut conn);
    assert_eq!(text(&out), "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n");
    assert_eq!(
        events(&mut conn),
        [Event::ResponseComplete { keep_alive: true }]
    );
    // The declared length still binds: more than declared is refused.
    conn.receive(b"HEAD / HTTP/1.1\r\nHost: a\r\n\r\n", t0);
    events(&mut conn);
    conn.send_response(&ResponseHead::new(200), ResponseBody::Length(2))
        .unwrap();
    assert_eq!(
        conn.send_body("abc".into()),
        Err(UsageError::BodyLongerThanDeclared { declared: 2 })
    );
    // And a HEAD answer may skip the body altogether.
    conn.finish_response().unwrap();
    assert_eq!(
        text(&drain(&mut conn)),
        "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n"
    );
}

#[test]
fn http09_gets_the_body_alone_then_close() {
    let t0 = t0();
    let mut conn = connect(http11(), t0);
    conn.receive(b"GET /a.txt\r\n", t0);
    let head = request(&mut conn);
    assert_eq!(head.version(), Version::Http09);
    assert!(head.version_raw().is_empty() && head.headers().is_empty());
    assert_eq!(events(&mut conn), [end()]);
    let response = ResponseHead::new(200).with_header("Content-Type", "text/plain");
    conn.respond(&response, Bytes::from_static(b"file"))
        .unwrap();
    let out = drain(&mut conn);
    assert_eq!(out.bytes, b"file");
    assert!(out.shutdown);
    assert_eq!(
        events(&mut conn),
        [Event::ResponseComplete { keep_alive: false }]
    );
}

#[test]
fn http_0_9_version_token_is_headless_too() {
    // CPython answers `GET / HTTP/0.9` without a status line, like a two-word request.
    let t0 = t0();
    let mut conn = connect(http11(), t0);
    conn.receive(b"GET / HTTP/0.9\r\nHost: a\r\n\r\n", t0);
    let head = request(&mut conn);
    assert_eq!(head.version(), Version::Http { major: 0, minor: 9 });
    assert_eq!(head.version_raw(), b"HTTP/0.9");
    assert!(!head.keep_alive());
    events(&mut conn);
    assert_eq!(
        conn.send_response(&ResponseHead::new(200), ResponseBody::Chunked),
        Err(UsageError::ChunkedNotSupported)
    );
    let out = answer(&mut conn);
    assert_eq!(out.bytes, b"ok");
    assert!(out.shutdown);
}

// ----- keep-alive -----

/// The `keep_alive` of the request head and of the completed response.
fn keep_alive(config: Config, wire: &[u8], response: &ResponseHead) -> (bool, bool) {
    let t0 = t0();
    let mut conn = connect(config, t0);
    conn.receive(wire, t0);
    let asked = request(&mut conn).keep_alive();
    events(&mut conn);
    conn.respond(response, Bytes::new()).unwrap();
    let out = drain(&mut conn);
    let Some(Event::ResponseComplete { keep_alive }) = conn.poll_event() else {
        panic!("response not complete")
    };
    assert_eq!(out.shutdown, !keep_alive, "close is an output");
    (asked, keep_alive)
}

#[test]
fn keep_alive_follows_cpython() {
    let plain = ResponseHead::new(200);
    let req_10 = b"GET / HTTP/1.0\r\n\r\n";
    let req_10_ka = b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n";
    let req_11_close = b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n";
    // Default protocol_version HTTP/1.0: every connection closes, whatever the client says.
    let ten = Config::default;
    assert_eq!(keep_alive(ten(), GET_11, &plain), (false, false));
    assert_eq!(keep_alive(ten(), req_10_ka, &plain), (false, false));
    // -p HTTP/1.1: HTTP/1.1 persists unless it says close; HTTP/1.0 only if it asks.
    assert_eq!(keep_alive(http11(), GET_11, &plain), (true, true));
    assert_eq!(keep_alive(http11(), req_11_close, &plain), (false, false));
    assert_eq!(keep_alive(http11(), req_10, &plain), (false, false));
    assert_eq!(keep_alive(http11(), req_10_ka, &plain), (true, true));
}

#[test]
fn response_connection_header_overrides() {
    let close = ResponseHead::new(200).with_header("Connection", "close");
    let keep = ResponseHead::new(200).with_header("connection", "Keep-Alive");
    assert_eq!(keep_alive(http11(), GET_11, &close), (true, false));
    // CPython's send_header('Connection', 'keep-alive') reopens what the request closed.
    assert_eq!(
        keep_alive(http11(), b"GET / HTTP/1.0\r\n\r\n", &keep),
        (false, true)
    );
    assert_eq!(keep_alive(Config::default(), GET_11, &keep), (false, true));
}

#[test]
fn error_responses_never_keep_the_connection() {
    let t0 = t0();
    let mut conn = connect(http11(), t0);
    conn.receive(b"GET / HTTP/1.1\r\n\r\n", t0);
    assert_eq!(
        events(&mut conn),
        [Event::RequestError(RequestError::BadHost)]
    );
    let keep = ResponseHead::new(400).with_header("Connection", "keep-alive");
    conn.respond(&keep, Bytes::new()).unwrap();
    assert!(drain(&mut conn).shutdown);
    assert_eq!(
        events(&mut conn),
        [Event::ResponseComplete { keep_alive: false }]
    );
}

// ----- unread request bodies -----

#[test]
fn unread_body_is_discarded_for_keep_alive() {
    let t0 = t0();
    let mut conn = connect(http11(), t0);
    conn.receive(
        b"POST /u HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\n012",
        t0,
    );
    assert_eq!(request(&mut conn).framing(), RequestFraming::Length(10));
    assert_eq!(events(&mut conn), [Event::Body("012".into())]);
    // Answered before the body was read: the rest is read and dropped, never parsed.
    answer(&mut conn);
    assert_eq!(
        events(&mut conn),
        [Event::ResponseComplete { keep_alive: true }]
    );
    assert!(conn.wants_read());
    conn.receive(b"3456", t0);
    assert_eq!(conn.poll_event(), None);
    conn.receive(b"789GET /next HTTP/1.1\r\nHost: a\r\n\r\n", t0);
    assert_eq!(request(&mut conn).target(), b"/next");
    assert_eq!(events(&mut conn), [end()]);
}

#[test]
fn unread_chunked_body_is_discarded_too() {
    let t0 = t0();
    let mut conn = connect(http11(), t0);
    conn.receive(
        b"POST /u HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n",
        t0,
    );
    request(&mut conn);
    assert_eq!(events(&mut conn), [Event::Body("abc".into())]);
    answer(&mut conn);
    events(&mut conn);
    conn.receive(
        b"2\r\nde\r\n0\r\n\r\nGET /next HTTP/1.1\r\nHost: a\r\n\r\n",
        t0,
    );
    assert_eq!(request(&mut conn).target(), b"/next");
}

#[test]
fn too_large_unread_body_closes() {
    let t0 = t0();
    let config = http11();
    let too_much = config.limits.max_discard + 1;
    let mut conn = connect(config, t0);
    let wire = format!("POST /u HTTP/1.1\r\nHost: a\r\nContent-Length: {too_much}\r\n\r\n");
    conn.receive(wire.as_bytes(), t0);
    request(&mut conn);
    let out = answer(&mut conn);
    assert!(out.shutdown);
    // The event tells the truth up front: no further request on this connection.
    assert_eq!(
        events(&mut conn),
        [Event::ResponseComplete { keep_alive: false }]
    );
}

#[test]
fn discarded_chunked_body_past_the_limit_closes() {
    let t0 = t0();
    let mut config = http11();
    config.limits.max_discard = 4;
    let mut conn = connect(config, t0);
    conn.receive(
        b"POST /u HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n",
        t0,
    );
    request(&mut conn);
    answer(&mut conn);
    // Chunked: the size is unknown until it arrives, so the limit is applied as it does.
    assert_eq!(
        events(&mut conn),
        [Event::ResponseComplete { keep_alive: true }]
    );
    conn.receive(
        b"5\r\nhello\r\n0\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n",
        t0,
    );
    assert_eq!(conn.poll_event(), None);
    assert!(drain(&mut conn).shutdown);
}

#[test]
fn body_error_is_never_answered_with_keep_alive() {
    // Regression: a body that failed after a good head, answered with `Connection:
    // keep-alive`, was reported as `ResponseComplete { keep_alive: true }` although the
    // connection then closed (reading had stopped at the error).
    let t0 = t0();
    let mut conn = connect(http11(), t0);
    conn.receive(
        b"POST /u HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        t0,
    );
    request(&mut conn);
    assert!(matches!(
        conn.poll_event(),
        Some(Event::RequestError(RequestError::BadChunk))
    ));
    let keep = ResponseHead::new(400).with_header("Connection", "keep-alive");
    conn.respond(&keep, Bytes::new()).unwrap();
    assert!(drain(&mut conn).shutdown);
    assert_eq!(
        events(&mut conn),
        [Event::ResponseComplete { keep_alive: false }]
    );
}

// ----- passthrough, external spans, chunked output -----

#[test]
fn passthrough_leaves_the_head_open() {
    let t0 = t0();
    let mut conn = connect(http11(), t0);
    conn.receive(GET_11, t0);
    events(&mut conn);
    let head = ResponseHead::new(200)
        .with_reason("Script output follows")
        .with_header("Server", "SimpleHTTP/0.6");
    conn.send_response(&head, ResponseBody::Passthrough)
        .unwrap();
    conn.send_body("Content-Type: text/plain\r\n\r\nhi".into())
        .unwrap();
    conn.finish_response().unwrap();
    let out = drain(&mut conn);
    assert_eq!(
        text(&out),
        "HTTP/1.1 200 Script output follows\r\nServer: SimpleHTTP/0.6\r\n\
         Content-Type: text/plain\r\n\r\nhi"
    );
    assert!(out.shutdown, "a passthrough body ends with the connection");
}

#[test]
fn external_spans_are_transmitted_in_place() {
    let t0 = t0();
    let mut conn = connect(http11(), t0);
    conn.receive(GET_11, t0);
    events(&mut conn);
    conn.send_response(&ResponseHead::new(200), ResponseBody::Length(10))
        .unwrap();
    conn.send_body("ab".into()).unwrap();
    conn.send_body_external(8).unwrap();
    conn.finish_response().unwrap();
    let Some(Transmit::Bytes(head)) = conn.poll_transmit() else {
        panic!()
    };
    let n = head.len();
    assert!(head.ends_with(b"\r\n\r\n"));
    conn.advance_transmit(n);
    assert_eq!(conn.poll_transmit(), Some(Transmit::Bytes(b"ab")));
    conn.advance_transmit(2);
    assert_eq!(conn.poll_transmit(), Some(Transmit::External(8)));
    // A partial sendfile: the rest of the span is offered again.
    conn.advance_transmit(3);
    assert_eq!(conn.poll_transmit(), Some(Transmit::External(5)));
    assert_eq!(conn.poll_event(), None);
    conn.advance_transmit(5);
    assert_eq!(
        events(&mut conn),
        [Event::ResponseComplete { keep_alive: true }]
    );
}

#[test]
fn chunked_framing_wraps_external_spans() {
    let t0 = t0();
    let mut conn = connect(http11(), t0);
    conn.receive(GET_11, t0);
    events(&mut conn);
    conn.send_response(&ResponseHead::new(200), ResponseBody::Chunked)
        .unwrap();
    conn.send_body("ab".into()).unwrap();
    conn.send_body(Bytes::new()).unwrap();
    conn.send_body_external(300).unwrap();
    conn.finish_response().unwrap();
    let mut pieces = Vec::new();
    while let Some(t) = conn.poll_transmit() {
        let (piece, n) = match t {
            Transmit::Bytes(b) => (String::from_utf8_lossy(b).into_owned(), b.len()),
            Transmit::External(n) => (format!("<{n}>"), usize::try_from(n).unwrap()),
            Transmit::Shutdown => panic!("keep-alive"),
        };
        pieces.push(piece);
        conn.advance_transmit(n);
    }
    assert_eq!(
        pieces.concat(),
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\
         2\r\nab\r\n12c\r\n<300>\r\n0\r\n\r\n"
    );
}

// ----- the copy-free receive path -----

#[test]
fn recv_buf_gives_the_same_events_as_receive() {
    let wire: &[u8] = b"POST /a HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhelloGET /b HTTP/1.1\r\n\
        Host: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nX: 1\r\n\r\nGET /c HTTP/1.1\r\n";
    let run = |copy_free: bool, step: usize| {
        let t0 = t0();
        let mut conn = connect(http11(), t0);
        let mut seen = Vec::new();
        for piece in wire.chunks(step) {
            if copy_free {
                let buf = conn.recv_buf();
                buf[..piece.len()].copy_from_slice(piece);
                conn.commit_recv(piece.len(), t0);
            } else {
                conn.receive(piece, t0);
            }
            while let Some(event) = conn.poll_event() {
                let done = matches!(event, Event::EndOfRequest { .. });
                match (seen.last_mut(), event) {
                    (Some(Event::Body(a)), Event::Body(b)) => *a = [&a[..], &b[..]].concat().into(),
                    (_, event) => seen.push(event),
                }
                if done {
                    answer(&mut conn);
                }
            }
        }
        seen
    };
    let reference = run(false, wire.len());
    assert_eq!(
        reference
            .iter()
            .filter(|e| matches!(e, Event::Request(_)))
            .count(),
        2
    );
    for step in [1, 2, 7, 64] {
        assert_eq!(run(true, step), reference, "recv_buf, step {step}");
        assert_eq!(run(false, step), reference, "receive, step {step}");
    }
}

#[test]
fn commit_recv_of_zero_returns_the_room() {
    let t0 = t0();
    let mut conn = connect(http11(), t0);
    let room = conn.recv_buf().len();
    assert!(room > 0);
    conn.commit_recv(0, t0);
    assert!(conn.is_idle(), "no phantom bytes were buffered");
    let buf = conn.recv_buf();
    buf[..GET_11.len()].copy_from_slice(GET_11);
    conn.commit_recv(GET_11.len(), t0);
    assert_eq!(request(&mut conn).target(), b"/");
}

/// The last read of an edge-triggered loop finds nothing: its room goes back with the
/// allocation, so a connection between requests holds no receive buffer (16 KiB each, for
/// thousands of idle keep-alive connections). Memory is not observable through the API, so
/// this test alone looks at the buffer itself.
#[test]
fn an_empty_read_between_requests_releases_the_buffer() {
    let t0 = t0();
    let mut conn = connect(http11(), t0);
    let buf = conn.recv_buf();
    buf[..GET_11.len()].copy_from_slice(GET_11);
    conn.commit_recv(GET_11.len(), t0);
    assert_eq!(request(&mut conn).target(), b"/");
    answer(&mut conn);
    events(&mut conn);
    assert!(conn.is_idle());
    let _ = conn.recv_buf();
    conn.commit_recv(0, t0);
    assert_eq!(conn.input.capacity(), 0);
    // Half a head is kept, with its room.
    conn.recv_buf()[..4].copy_from_slice(b"GET ");
    conn.commit_recv(4, t0);
    let _ = conn.recv_buf();
    conn.commit_recv(0, t0);
    assert!(conn.input.capacity() >= 4);
    let rest = &GET_11[4..];
    conn.recv_buf()[..rest.len()].copy_from_slice(rest);
    conn.commit_recv(rest.len(), t0);
    assert_eq!(request(&mut conn).target(), b"/");
}

// ----- the state summary -----

#[test]
fn state_follows_one_exchange() {
    use crate::{ReadState, WriteState};
    let t0 = t0();
    let mut conn = connect(http11(), t0);
    let state = conn.state();
    assert_eq!(
        (state.read, state.write),
        (ReadState::Head, WriteState::Idle)
    );
    assert_eq!(state.to_string(), "read=head write=idle");
    conn.receive(
        b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\n\r\nab",
        t0,
    );
    let state = conn.state();
    assert_eq!(
        (state.read, state.write),
        (ReadState::Body, WriteState::Pending)
    );
    conn.receive(b"cd", t0);
    assert_eq!(conn.state().read, ReadState::Done);
    conn.respond(&ResponseHead::new(200), Bytes::from_static(b"ok"))
        .unwrap();
    assert_eq!(conn.state().write, WriteState::Finished);
    drain(&mut conn);
    assert_eq!(conn.state().to_string(), "read=head write=idle");
    conn.receive_eof(t0);
    let _ = conn.poll_transmit();
    assert!(conn.state().closed);
    assert_eq!(conn.state().to_string(), "closed");
}

// ----- idle memory -----

/// One request over the copy-free path, answered and written out.
fn exchange_once(conn: &mut ServerConnection, at: Instant) {
    conn.recv_buf()[..GET_11.len()].copy_from_slice(GET_11);
    conn.commit_recv(GET_11.len(), at);
    let evs = events(conn);
    assert!(matches!(evs.first(), Some(Event::Request(_))), "{evs:?}");
    drop(evs);
    conn.respond(&ResponseHead::new(200), Bytes::from_static(b"hello"))
        .unwrap();
    // Busy: the queues hold the response and its events.
    assert!(conn.retained_bytes() > 0);
    drain(conn);
    let evs = events(conn);
    assert!(
        matches!(evs[..], [Event::ResponseComplete { keep_alive: true }]),
        "{evs:?}"
    );
    assert!(conn.is_idle());
}

#[test]
fn a_parked_idle_connection_holds_no_buffer() {
    let t0 = t0();
    let mut conn = connect(http11(), t0);
    assert_eq!(conn.retained_bytes(), 0);
    for _ in 0..3 {
        exchange_once(&mut conn, t0);
        // The runtime's last read finds nothing: it is about to wait for the next request.
        let _ = conn.recv_buf();
        conn.commit_recv(0, t0);
        assert_eq!(conn.retained_bytes(), 0);
    }
}

#[test]
fn shrink_idle_waits_until_the_connection_is_idle() {
    let t0 = t0();
    let mut conn = connect(http11(), t0);
    conn.receive(GET_11, t0);
    // A request waits for its answer, its event not yet taken: nothing is released.
    conn.shrink_idle();
    let busy = conn.retained_bytes();
    assert!(busy > 0);
    assert!(matches!(conn.poll_event(), Some(Event::Request(_))));
    conn.shrink_idle();
    assert!(conn.retained_bytes() > 0);
    conn.respond(&ResponseHead::new(200), Bytes::new()).unwrap();
    drain(&mut conn);
    let _ = events(&mut conn);
    // A runtime that feeds `receive` calls it itself before it waits.
    conn.shrink_idle();
    assert_eq!(conn.retained_bytes(), 0);
    // The next request allocates again and is served as usual.
    exchange_once(&mut conn, t0);
}
