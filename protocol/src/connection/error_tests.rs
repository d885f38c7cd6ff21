//! [`ServerConnection`] when a request or the application goes wrong: request errors and
//! the answers they get, and usage errors the application makes. Helpers: `tests.rs`.

use bytes::Bytes;

use crate::{
    Config, Event, ParseMode, RequestError, RequestFraming, ResponseBody, ResponseHead, UsageError,
};

use super::tests::*;

// ----- request errors -----

/// Feeds `wire`, expects exactly `error`, answers it with its status hint, and checks the
/// connection then shuts down and ignores anything else the peer sends.
fn assert_request_error(config: Config, wire: &[u8], error: &RequestError, status: u16) {
    let t0 = t0();
    let mut conn = connect(config, t0);
    conn.receive(wire, t0);
    let got = events(&mut conn);
    let Some(Event::RequestError(e)) = got.last() else {
        panic!("no request error: {got:?}")
    };
    assert_eq!(e, error);
    assert_eq!(e.status_hint(), status);
    assert!(e.closes_connection());
    assert!(!conn.wants_read());
    let reply = ResponseHead::new(e.status_hint()).with_header("Connection", "close");
    conn.respond(&reply, Bytes::from_static(b"error page"))
        .unwrap();
    let out = drain(&mut conn);
    let status_line = format!("HTTP/1.0 {status} ");
    assert!(
        out.bytes.starts_with(status_line.as_bytes()),
        "{}",
        text(&out)
    );
    assert!(out.bytes.ends_with(b"\r\n\r\nerror page"));
    assert!(out.shutdown);
    assert_eq!(
        events(&mut conn),
        [Event::ResponseComplete { keep_alive: false }]
    );
    conn.receive(GET_11, t0);
    assert_eq!(conn.poll_event(), None, "nothing is parsed after the error");
}

#[test]
fn request_line_limit_is_414_at_65537_bytes() {
    // CPython reads 65,537 bytes: a line that long (ending included) is refused.
    let target = "a".repeat(65_537 - "GET / HTTP/1.0\r\n".len());
    let long = format!("GET /{target} HTTP/1.0\r\n\r\n");
    assert_eq!(long.len() - 2, 65_537);
    let e = RequestError::RequestLineTooLong;
    assert_request_error(Config::default(), long.as_bytes(), &e, 414);
    // One byte shorter is fine.
    let fits = format!("GET /{} HTTP/1.0\r\n\r\n", &target[1..]);
    let t0 = t0();
    let mut conn = connect(Config::default(), t0);
    conn.receive(fits.as_bytes(), t0);
    assert_eq!(request(&mut conn).target().len(), 65_536 - 15);
}

#[test]
fn header_limits_are_431() {
    let value = "v".repeat(65_537 - "X: \r\n".len());
    let long = format!("GET / HTTP/1.0\r\nX: {value}\r\n\r\n");
    assert_request_error(
        Config::default(),
        long.as_bytes(),
        &RequestError::HeaderLineTooLong,
        431,
    );
    let many = header_lines(101);
    let wire = format!("GET / HTTP/1.0\r\n{many}\r\n");
    assert_request_error(
        Config::default(),
        wire.as_bytes(),
        &RequestError::TooManyHeaders,
        431,
    );
    let hundred = header_lines(100);
    let t0 = t0();
    let mut conn = connect(Config::default(), t0);
    conn.receive(format!("GET / HTTP/1.0\r\n{hundred}\r\n").as_bytes(), t0);
    assert_eq!(request(&mut conn).headers().len(), 100);
}

#[test]
fn smuggling_shapes_are_refused() {
    let cases: [(&[u8], RequestError, u16); 6] = [
        (
            b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n",
            RequestError::ConflictingFraming,
            400,
        ),
        (
            b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
            RequestError::InvalidContentLength,
            400,
        ),
        (
            b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
            RequestError::UnsupportedTransferCoding,
            501,
        ),
        (
            b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n",
            RequestError::ConflictingFraming,
            400,
        ),
        (
            b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\nhello\r\n0\r\n\r\n",
            RequestError::BadChunk,
            400,
        ),
        (
            b"GET / HTTP/1.0\r\nX-A: 1\r\n folded\r\n\r\n",
            RequestError::InvalidHeader,
            400,
        ),
    ];
    for (wire, error, status) in cases {
        assert_request_error(Config::default(), wire, &error, status);
    }
    // The same value repeated is one length, not a conflict.
    let t0 = t0();
    let mut conn = connect(http11(), t0);
    conn.receive(
        b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nhi",
        t0,
    );
    assert_eq!(request(&mut conn).framing(), RequestFraming::Length(2));
}

#[test]
fn bad_chunk_after_the_head_still_lets_the_app_answer() {
    let t0 = t0();
    let mut conn = connect(http11(), t0);
    conn.receive(
        b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\nzz\r\n",
        t0,
    );
    request(&mut conn);
    assert_eq!(
        events(&mut conn),
        [
            Event::Body("ab".into()),
            Event::RequestError(RequestError::BadChunk)
        ]
    );
    let out = answer(&mut conn);
    assert!(out.bytes.starts_with(b"HTTP/1.1 200 OK"));
    assert!(out.shutdown);
}

#[test]
fn obs_fold_is_kept_in_compat_mode() {
    let config = Config {
        parse_mode: ParseMode::Compat,
        ..Config::default()
    };
    let t0 = t0();
    let mut conn = connect(config, t0);
    conn.receive(b"GET / HTTP/1.0\r\nX-A: 1\r\n folded\r\n\r\n", t0);
    let head = request(&mut conn);
    assert_eq!(head.headers().get("x-a"), Some(&b"1\r\n folded"[..]));
}

// ----- usage errors -----

#[test]
fn usage_errors_leave_the_response_intact() {
    let t0 = t0();
    let mut conn = connect(http11(), t0);
    assert_eq!(
        conn.send_response(&ResponseHead::new(200), ResponseBody::None),
        Err(UsageError::NoRequestToAnswer)
    );
    conn.receive(GET_11, t0);
    events(&mut conn);
    assert_eq!(
        conn.send_body("x".into()),
        Err(UsageError::ResponseNotStarted)
    );
    // Response splitting: the head is refused whole and nothing is queued.
    let injected = ResponseHead::new(200)
        .with_header("Content-Type", "text/plain")
        .with_header("X-Name", "a\r\nSet-Cookie: evil=1");
    assert_eq!(
        conn.send_response(&injected, ResponseBody::Length(2)),
        Err(UsageError::InvalidHeader { index: 1 })
    );
    assert!(!conn.has_pending_output());
    conn.send_response(&ResponseHead::new(200), ResponseBody::Length(3))
        .unwrap();
    assert_eq!(
        conn.send_response(&ResponseHead::new(200), ResponseBody::Length(3)),
        Err(UsageError::ResponseAlreadyStarted)
    );
    conn.send_body("ab".into()).unwrap();
    assert_eq!(
        conn.send_body("cd".into()),
        Err(UsageError::BodyLongerThanDeclared { declared: 3 })
    );
    assert_eq!(
        conn.finish_response(),
        Err(UsageError::BodyShorterThanDeclared {
            declared: 3,
            sent: 2
        })
    );
    conn.send_body("c".into()).unwrap();
    conn.finish_response().unwrap();
    assert_eq!(
        text(&drain(&mut conn)),
        "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc"
    );
    assert_eq!(
        conn.send_response(&ResponseHead::new(200), ResponseBody::None),
        Err(UsageError::NoRequestToAnswer),
        "a second response to the same request"
    );
}

#[test]
fn chunked_needs_an_http11_peer() {
    let t0 = t0();
    let mut conn = connect(http11(), t0);
    conn.receive(b"GET / HTTP/1.0\r\n\r\n", t0);
    events(&mut conn);
    assert_eq!(
        conn.send_response(&ResponseHead::new(200), ResponseBody::Chunked),
        Err(UsageError::ChunkedNotSupported)
    );
    conn.send_response(&ResponseHead::new(200), ResponseBody::UntilClose)
        .unwrap();
}

#[test]
fn declared_content_length_must_match() {
    let t0 = t0();
    let mut conn = connect(http11(), t0);
    conn.receive(GET_11, t0);
    events(&mut conn);
    let head = ResponseHead::new(200).with_header("Content-Length", "4");
    assert_eq!(
        conn.send_response(&head, ResponseBody::Length(5)),
        Err(UsageError::ContentLengthMismatch)
    );
    // When it matches, it is not written twice.
    conn.respond(&head, "abcd".into()).unwrap();
    assert_eq!(
        text(&drain(&mut conn)),
        "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nabcd"
    );
}

#[test]
fn bodiless_statuses_refuse_a_body() {
    let t0 = t0();
    let mut conn = connect(http11(), t0);
    conn.receive(GET_11, t0);
    events(&mut conn);
    conn.send_response(&ResponseHead::new(304), ResponseBody::None)
        .unwrap();
    assert_eq!(conn.send_body("x".into()), Err(UsageError::BodyNotAllowed));
    conn.finish_response().unwrap();
    assert_eq!(text(&drain(&mut conn)), "HTTP/1.1 304 Not Modified\r\n\r\n");
}
