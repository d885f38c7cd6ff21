//! Deadlines under a fake clock: every instant is `t0 + Duration`, nothing sleeps.
//!
//! Each timeout must fire exactly once, an early `handle_timeout` must change nothing, and
//! after `handle_timeout(now)` no deadline may be at or before `now` (a runtime that re-arms
//! its timer from `poll_timeout` would otherwise spin).

use std::time::{Duration, Instant};

use bytes::Bytes;
use proptest::prelude::*;

use super::tests::{answer, connect, drain, events, http11, request, t0};
use crate::{Config, Event, RequestError, ResponseHead, ServerConnection, TimeoutKind};

const NS: Duration = Duration::from_nanos(1);

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

/// Calls `handle_timeout` just before `deadline` (must be a no-op), then at it; returns the
/// events it produced. Checks the invariants every call must keep.
fn fire_at(conn: &mut ServerConnection, deadline: Instant) -> Vec<Event> {
    assert_eq!(conn.poll_timeout(), Some(deadline));
    assert_eq!(
        conn.poll_event(),
        None,
        "events left over before the timeout"
    );
    conn.handle_timeout(deadline.checked_sub(NS).unwrap());
    assert_eq!(conn.poll_event(), None, "early handle_timeout fired");
    assert_eq!(
        conn.poll_timeout(),
        Some(deadline),
        "early handle_timeout moved the deadline"
    );
    conn.handle_timeout(deadline);
    assert_after(conn, deadline);
    events(conn)
}

fn assert_after(conn: &ServerConnection, now: Instant) {
    if let Some(next) = conn.poll_timeout() {
        assert!(next > now, "deadline {next:?} is not after {now:?}");
    }
}

/// Nothing fires any more, however late it gets.
fn assert_quiet_forever(conn: &mut ServerConnection, from: Instant) {
    for later in [secs(1), secs(100), secs(100_000)] {
        conn.handle_timeout(from + later);
        assert_eq!(conn.poll_event(), None, "a timeout fired twice");
        assert_after(conn, from + later);
    }
}

#[test]
fn header_read_with_a_partial_head_is_a_request_error() {
    let t0 = t0();
    let mut conn = connect(Config::default(), t0);
    conn.receive(b"GET / HT", t0 + secs(5));
    // Measured from the start of the connection, not from the first byte.
    let fired = fire_at(&mut conn, t0 + secs(30));
    assert_eq!(
        fired,
        [Event::RequestError(RequestError::Timeout(
            TimeoutKind::HeaderRead
        ))]
    );
    // The application can still answer 408.
    let out = {
        conn.respond(&ResponseHead::new(408), Bytes::new()).unwrap();
        drain(&mut conn)
    };
    assert!(out.bytes.starts_with(b"HTTP/1.0 408 Request Timeout\r\n"));
    assert!(out.shutdown);
    assert_eq!(
        events(&mut conn),
        [Event::ResponseComplete { keep_alive: false }]
    );
    assert_quiet_forever(&mut conn, t0 + secs(30));
}

#[test]
fn header_read_with_no_bytes_is_a_timeout_and_shutdown() {
    let t0 = t0();
    let mut conn = connect(Config::default(), t0);
    let fired = fire_at(&mut conn, t0 + secs(30));
    assert_eq!(fired, [Event::Timeout(TimeoutKind::HeaderRead)]);
    let out = drain(&mut conn);
    assert!(out.bytes.is_empty(), "no response to a silent client");
    assert!(out.shutdown);
    assert!(!conn.is_closed(), "lingering");
    assert_quiet_forever(&mut conn, t0 + secs(30));
    assert!(conn.is_closed(), "linger ended");
}

#[test]
fn idle_after_a_kept_alive_response() {
    let t0 = t0();
    let mut conn = connect(http11(), t0);
    let t1 = t0 + secs(3);
    conn.receive(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n", t1);
    request(&mut conn);
    events(&mut conn);
    // No deadline while the application works on its response: that is not the client's delay.
    assert_eq!(conn.poll_timeout(), None);
    answer(&mut conn);
    assert_eq!(
        events(&mut conn),
        [Event::ResponseComplete { keep_alive: true }]
    );
    let fired = fire_at(&mut conn, t1 + secs(75));
    assert_eq!(fired, [Event::Timeout(TimeoutKind::Idle)]);
    assert!(drain(&mut conn).shutdown);
    assert_quiet_forever(&mut conn, t1 + secs(75));
}

#[test]
fn first_byte_of_the_next_request_swaps_idle_for_header_read() {
    let t0 = t0();
    let mut conn = connect(http11(), t0);
    conn.receive(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n", t0);
    events(&mut conn);
    answer(&mut conn);
    events(&mut conn);
    assert_eq!(conn.poll_timeout(), Some(t0 + secs(75)));
    let t1 = t0 + secs(50);
    conn.receive(b"GE", t1);
    let fired = fire_at(&mut conn, t1 + secs(30));
    assert_eq!(
        fired,
        [Event::RequestError(RequestError::Timeout(
            TimeoutKind::HeaderRead
        ))]
    );
}

#[test]
fn body_read_fires_mid_body_and_progress_rearms_it() {
    let t0 = t0();
    let mut conn = connect(http11(), t0);
    conn.receive(
        b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nabc",
        t0,
    );
    request(&mut conn);
    events(&mut conn);
    assert_eq!(conn.poll_timeout(), Some(t0 + secs(60)));
    let t1 = t0 + secs(50);
    conn.receive(b"de", t1);
    events(&mut conn);
    let fired = fire_at(&mut conn, t1 + secs(60));
    assert_eq!(
        fired,
        [Event::RequestError(RequestError::Timeout(
            TimeoutKind::BodyRead
        ))]
    );
    conn.respond(&ResponseHead::new(408), Bytes::new()).unwrap();
    assert!(drain(&mut conn).shutdown);
    assert_eq!(
        events(&mut conn),
        [Event::ResponseComplete { keep_alive: false }]
    );
    assert_quiet_forever(&mut conn, t1 + secs(60));
}

#[test]
fn linger_after_shutdown_ends_in_close() {
    let t0 = t0();
    let mut conn = connect(Config::default(), t0);
    let t1 = t0 + secs(1);
    conn.receive(b"GET / HTTP/1.0\r\n\r\n", t1);
    events(&mut conn);
    let out = answer(&mut conn);
    assert!(out.shutdown);
    assert!(!conn.is_closed());
    // While lingering, the runtime reads and the core drops what arrives.
    assert!(conn.wants_read());
    conn.receive(b"leftovers", t1 + secs(1));
    assert_eq!(
        events(&mut conn),
        [Event::ResponseComplete { keep_alive: false }]
    );
    let fired = fire_at(&mut conn, t1 + secs(2));
    assert_eq!(fired, [], "the end of lingering is silent");
    assert!(conn.is_closed());
    assert_eq!(conn.poll_timeout(), None);
    assert_quiet_forever(&mut conn, t1 + secs(2));
}

#[test]
fn peer_eof_while_lingering_closes_at_once() {
    let t0 = t0();
    let mut conn = connect(Config::default(), t0);
    conn.receive(b"GET / HTTP/1.0\r\n\r\n", t0);
    events(&mut conn);
    assert!(answer(&mut conn).shutdown);
    conn.receive_eof(t0 + secs(1));
    assert!(conn.is_closed());
    assert_eq!(conn.poll_timeout(), None);
}

#[test]
fn disabled_timeouts_arm_nothing() {
    let t0 = t0();
    let mut config = http11();
    config.timeouts = crate::Timeouts::none();
    let mut conn = connect(config, t0);
    assert_eq!(conn.poll_timeout(), None);
    conn.receive(
        b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n\r\n",
        t0,
    );
    assert_eq!(conn.poll_timeout(), None);
    conn.handle_timeout(t0 + secs(1_000_000));
    assert_eq!(events(&mut conn).len(), 1, "only the request");
}

#[test]
fn clock_going_backwards_is_clamped() {
    let t0 = t0();
    let mut conn = connect(Config::default(), t0 + secs(10));
    // An instant before the connection's own start must not pull the deadline earlier.
    conn.receive(b"GET", t0);
    assert_eq!(conn.poll_timeout(), Some(t0 + secs(40)));
    conn.handle_timeout(t0 + secs(39));
    assert_eq!(conn.poll_event(), None);
}

/// One step of a random timeline.
#[derive(Clone, Debug)]
enum Step {
    /// Some bytes of the scripted requests arrive.
    Bytes(usize),
    /// Time passes, then `handle_timeout`.
    Wait(u64),
    /// `handle_timeout` exactly at the current deadline.
    AtDeadline,
    /// The application answers whatever waits, and the output is written.
    Answer,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        (1usize..40).prop_map(Step::Bytes),
        prop_oneof![
            Just(0u64),
            1u64..3_000,
            29_000u64..31_000,
            59_000u64..61_000,
            74_000u64..76_000
        ]
        .prop_map(Step::Wait),
        Just(Step::AtDeadline),
        Just(Step::Answer),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Along any timeline: after `handle_timeout(now)` every deadline is later than `now`,
    /// each kind of timeout fires at most once per exchange, and a timeout never interrupts
    /// an exchange that is waiting on the application.
    #[test]
    fn deadlines_are_always_in_the_future(steps in proptest::collection::vec(step(), 1..40)) {
        let wire: &[u8] = b"GET /1 HTTP/1.1\r\nHost: a\r\n\r\nPOST /2 HTTP/1.1\r\nHost: a\r\n\
            Content-Length: 6\r\n\r\nabcdefGET /3 HTTP/1.1\r\nHost: a\r\n\r\n";
        let t0 = t0();
        let mut now = t0;
        let mut conn = connect(http11(), t0);
        let mut rest = wire;
        let mut waiting = false;
        let mut fired = Vec::new();
        for step in steps {
            match step {
                Step::Bytes(n) => {
                    let n = n.min(rest.len());
                    conn.receive(&rest[..n], now);
                    rest = &rest[n..];
                }
                Step::Wait(ms) => {
                    now += Duration::from_millis(ms);
                    conn.handle_timeout(now);
                    assert_after(&conn, now);
                }
                Step::AtDeadline => {
                    if let Some(deadline) = conn.poll_timeout() {
                        now = now.max(deadline);
                    }
                    conn.handle_timeout(now);
                    assert_after(&conn, now);
                }
                Step::Answer => {
                    if waiting {
                        answer(&mut conn);
                        waiting = false;
                    }
                }
            }
            for event in events(&mut conn) {
                match event {
                    Event::RequestError(RequestError::Timeout(kind)) => {
                        prop_assert!(!fired.contains(&kind), "{kind:?} fired twice");
                        fired.push(kind);
                        waiting = true;
                    }
                    Event::Request(_) | Event::RequestError(_) => waiting = true,
                    Event::Timeout(kind) => {
                        prop_assert!(!waiting, "timeout while the application owes a response");
                        prop_assert!(!fired.contains(&kind), "{kind:?} fired twice");
                        fired.push(kind);
                    }
                    Event::ResponseComplete { keep_alive: true } => fired.clear(),
                    _ => {}
                }
            }
        }
    }
}

/// Any timeout, however large, is taken as "never": no `Instant + Duration` overflow.
#[test]
fn huge_timeouts_never_overflow() {
    let mut config = http11();
    config.timeouts.header_read = Some(Duration::MAX);
    config.timeouts.idle = Some(Duration::MAX);
    config.timeouts.body_read = Some(Duration::MAX);
    config.timeouts.linger = Duration::MAX;
    let t = t0();
    let mut conn = ServerConnection::new(std::sync::Arc::new(config), t);
    assert_eq!(conn.poll_timeout(), None);
    conn.receive(
        b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nab",
        t,
    );
    let _ = events(&mut conn);
    assert_eq!(conn.poll_timeout(), None);
    conn.close_after_response();
    conn.respond(&ResponseHead::new(200), Bytes::new()).unwrap();
    while let Some(transmit) = conn.poll_transmit() {
        if let crate::Transmit::Bytes(b) = transmit {
            let n = b.len();
            conn.advance_transmit(n);
        }
    }
    conn.handle_timeout(t + secs(1 << 40));
    assert!(conn.poll_timeout().is_none_or(|at| at > t));
}
