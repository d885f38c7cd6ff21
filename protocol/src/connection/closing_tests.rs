//! How a [`ServerConnection`] closes: the peer's end of stream at every stage, shutdown,
//! lingering, and what a close promises. Helpers: `tests.rs`.

use bytes::Bytes;

use crate::{
    Config, Event, ParseMode, RequestError, RequestFraming, ResponseBody, ResponseHead, UsageError,
};

use super::tests::*;

// ----- closing -----

#[test]
fn peer_close_between_requests_shuts_down() {
    let t0 = t0();
    let mut conn = connect(http11(), t0);
    conn.receive(GET_11, t0);
    events(&mut conn);
    answer(&mut conn);
    events(&mut conn);
    conn.receive_eof(t0);
    assert_eq!(events(&mut conn), [Event::PeerClosed]);
    assert!(drain(&mut conn).shutdown);
    assert!(conn.is_closed(), "the peer already closed: no linger");
}

#[test]
fn requests_pipelined_before_the_peer_closed_are_all_answered() {
    // `printf 'GET /1 ...GET /2 ...' | nc -N`: CPython answers both, then closes.
    let t0 = t0();
    let mut conn = connect(http11(), t0);
    conn.receive(
        b"GET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\n",
        t0,
    );
    conn.receive_eof(t0);
    assert_eq!(request(&mut conn).target(), b"/1");
    assert_eq!(conn.poll_event(), Some(end()));
    let first = answer(&mut conn);
    assert!(
        !text(&first).contains("Connection: close"),
        "{}",
        text(&first)
    );
    assert!(!first.shutdown);
    assert_eq!(
        conn.poll_event(),
        Some(Event::ResponseComplete { keep_alive: true })
    );
    assert_eq!(request(&mut conn).target(), b"/2");
    assert_eq!(conn.poll_event(), Some(end()));
    let second = answer(&mut conn);
    assert!(text(&second).ends_with("\r\n\r\nok"), "{}", text(&second));
    assert!(second.shutdown);
    assert_eq!(
        events(&mut conn),
        [Event::ResponseComplete { keep_alive: false }]
    );
    assert!(conn.is_closed());
}

#[test]
fn peer_close_while_the_response_drains() {
    // Regression: an EOF that arrived after `send_response`, before the response was out,
    // was not seen again: the event promised keep-alive, and a pipelined head cut short by
    // the EOF waited forever (no read deadline under CPython's timeouts).
    let t0 = t0();
    let config = Config {
        timeouts: crate::Timeouts::none(),
        ..http11()
    };
    let mut conn = connect(config.clone(), t0);
    conn.receive(GET_11, t0);
    events(&mut conn);
    conn.respond(&ResponseHead::new(200), Bytes::from_static(b"ok"))
        .unwrap();
    conn.receive_eof(t0);
    assert!(drain(&mut conn).shutdown);
    assert_eq!(
        events(&mut conn),
        [Event::ResponseComplete { keep_alive: false }]
    );
    assert!(conn.is_closed());

    let mut conn = connect(config, t0);
    conn.receive(b"GET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HT", t0);
    events(&mut conn);
    conn.respond(&ResponseHead::new(200), Bytes::from_static(b"ok"))
        .unwrap();
    conn.receive_eof(t0);
    drain(&mut conn);
    assert_eq!(
        events(&mut conn),
        [
            Event::ResponseComplete { keep_alive: true },
            Event::RequestError(RequestError::UnexpectedEof)
        ]
    );
}

#[test]
fn eof_mid_head_and_mid_body_are_errors() {
    let t0 = t0();
    let mut conn = connect(http11(), t0);
    conn.receive(b"GET / HTTP/1.1\r\nHo", t0);
    conn.receive_eof(t0);
    assert_eq!(
        events(&mut conn),
        [Event::RequestError(RequestError::UnexpectedEof)]
    );
    let mut conn = connect(http11(), t0);
    conn.receive(
        b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\na",
        t0,
    );
    conn.receive_eof(t0);
    let got = events(&mut conn);
    assert_eq!(
        got[1..],
        [
            Event::Body("a".into()),
            Event::RequestError(RequestError::UnexpectedEof)
        ]
    );
}

#[test]
fn compat_head_ended_by_eof_cannot_wait_for_its_body() {
    // Regression (proptest `arbitrary_bytes_end_in_a_clean_close`): CPython-style parsing
    // takes the end of stream as the end of the head; the announced body then never came
    // and the connection neither failed nor closed.
    let config = Config {
        parse_mode: ParseMode::Compat,
        ..Config::default()
    };
    let t0 = t0();
    let mut conn = connect(config, t0);
    conn.receive(b"POST / HTTP/1.0\r\nContent-Length: 1\r\n", t0);
    conn.receive_eof(t0);
    assert_eq!(request(&mut conn).framing(), RequestFraming::Length(1));
    assert_eq!(
        events(&mut conn),
        [Event::RequestError(RequestError::UnexpectedEof)]
    );
    let out = answer(&mut conn);
    assert!(out.shutdown && conn.is_closed());
}

#[test]
fn abort_drops_everything() {
    let t0 = t0();
    let mut conn = connect(http11(), t0);
    conn.receive(GET_11, t0);
    events(&mut conn);
    conn.send_response(&ResponseHead::new(200), ResponseBody::Length(1))
        .unwrap();
    conn.abort();
    assert!(conn.is_closed());
    assert_eq!(conn.poll_transmit(), None);
    assert_eq!(conn.poll_timeout(), None);
    assert_eq!(conn.send_body("x".into()), Err(UsageError::Closed));
    conn.receive(GET_11, t0);
    assert_eq!(conn.poll_event(), None);
}

#[test]
fn close_after_response_finishes_in_flight_then_closes() {
    let t0 = t0();
    let mut conn = connect(http11(), t0);
    conn.receive(GET_11, t0);
    events(&mut conn);
    conn.close_after_response();
    let out = answer(&mut conn);
    assert!(out.bytes.ends_with(b"ok") && out.shutdown);
    assert_eq!(
        events(&mut conn),
        [Event::ResponseComplete { keep_alive: false }]
    );
    // An idle connection goes at once.
    let mut idle = connect(http11(), t0);
    idle.close_after_response();
    assert!(drain(&mut idle).shutdown);
}

#[test]
fn failed_request_line_survives_header_errors() {
    // Regression: the line was kept for request-line errors only; an error found in the
    // header block (here, a missing Host) lost it, so the access log had nothing to show.
    let t0 = t0();
    for (wire, error) in [
        (&b"GET /a HTTP/1.1\r\n\r\n"[..], RequestError::BadHost),
        (
            b"GET /a HTTP/1.1\r\nHost: a\r\nX : y\r\n\r\n",
            RequestError::InvalidHeader,
        ),
        (
            b"GET /a HTTP/2.0\r\n\r\n",
            RequestError::UnsupportedVersion {
                token: "HTTP/2.0".into(),
            },
        ),
    ] {
        let mut conn = connect(http11(), t0);
        conn.receive(wire, t0);
        assert_eq!(events(&mut conn), [Event::RequestError(error)]);
        let line = conn.failed_request_line().map(|l| l.to_vec());
        let expected = &wire[..wire.iter().position(|&b| b == b'\r').unwrap()];
        assert_eq!(line.as_deref(), Some(expected));
    }
    // A head that parsed leaves nothing behind.
    let mut conn = connect(http11(), t0);
    conn.receive(GET_11, t0);
    events(&mut conn);
    assert_eq!(conn.failed_request_line(), None);
}

/// Room taken with `recv_buf` and never committed is not input, whatever input comes next.
#[test]
fn uncommitted_recv_room_is_taken_back() {
    let mut conn = connect(Config::default(), t0());
    let _ = conn.recv_buf();
    conn.receive_eof(t0());
    assert!(
        !events(&mut conn)
            .iter()
            .any(|e| matches!(e, Event::RequestError(_))),
        "a spurious request error"
    );

    let mut conn = connect(Config::default(), t0());
    let _ = conn.recv_buf();
    conn.receive(b"GET / HTTP/1.0\r\n\r\n", t0());
    let evs = events(&mut conn);
    assert!(
        matches!(evs.first(), Some(Event::Request(head)) if head.target() == b"/"),
        "{evs:?}"
    );

    let mut conn = connect(Config::default(), t0());
    let _ = conn.recv_buf();
    conn.handle_timeout(t0());
    conn.receive(b"GET /x HTTP/1.0\r\n\r\n", t0());
    let evs = events(&mut conn);
    assert!(
        matches!(evs.first(), Some(Event::Request(head)) if head.target() == b"/x"),
        "{evs:?}"
    );
}
