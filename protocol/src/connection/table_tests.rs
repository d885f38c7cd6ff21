//! Walks every row of the state table ([`ROWS`]) on a real connection: each case drives a
//! new [`ServerConnection`] with public calls into a row's from-state, applies the row's input
//! the way a peer, an application or a runtime would, and checks the states
//! [`ServerConnection::state`] reports before and after, both against the states the case
//! spells out and against the table. `abort` (a row from any state) is applied in every
//! state the walk passes through.
//!
//! The machine's trail tells which input a call amounted to, so a case cannot pass by
//! reaching the right state along another row; the states written out in each case are what
//! a wrong row would contradict (the connection's state *is* the table's, so comparing the
//! two alone could never fail).

use std::time::{Duration, Instant};

use bytes::Bytes;

use super::tests::{GET_11, answer, connect, drain, events, http11, t0};
use crate::machine::{ConnState, Input, Phase, ROWS};
use crate::{Config, ParseMode, ResponseBody, ResponseHead, ServerConnection, State, Transmit};

/// One walk: an input applied in the state `setup` leads to. `from` and `to` are the states
/// before and after, as [`State`] displays them, written out by hand: the table is checked
/// against them, not they against the table.
struct Case {
    name: &'static str,
    from: &'static str,
    setup: fn(Instant) -> ServerConnection,
    input: Input,
    apply: fn(&mut ServerConnection, Instant),
    to: &'static str,
}

const POST_4: &[u8] = b"POST /u HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\n\r\n";
const POST_10: &[u8] = b"POST /u HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\n012";
const CHUNKED: &[u8] = b"POST /u HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n";
const EXPECT: &[u8] =
    b"PUT /f HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n";
/// A head refused for its missing `Host`.
const NO_HOST: &[u8] = b"GET / HTTP/1.1\r\n\r\n";
const BAD_CHUNK: &[u8] = b"zz\r\n";

// ----- set-ups: a connection in a known state -----

/// read `head`, write `idle`, conn `open`.
fn fresh(t0: Instant) -> ServerConnection {
    connect(http11(), t0)
}

fn fed(config: Config, wire: &[u8], t0: Instant) -> ServerConnection {
    let mut conn = connect(config, t0);
    conn.receive(wire, t0);
    events(&mut conn);
    conn
}

/// read `done`, write `pending`.
fn got_get(t0: Instant) -> ServerConnection {
    fed(http11(), GET_11, t0)
}

/// read `body`, write `pending`.
fn got_post(t0: Instant) -> ServerConnection {
    fed(http11(), POST_4, t0)
}

/// read `body`, write `pending`, waiting for `100 Continue`.
fn got_expect(t0: Instant) -> ServerConnection {
    fed(http11(), EXPECT, t0)
}

/// read `body` (chunked), write `pending`.
fn got_chunked(t0: Instant) -> ServerConnection {
    fed(http11(), CHUNKED, t0)
}

/// read `body` (chunked), write `body`.
fn chunked_responding(t0: Instant) -> ServerConnection {
    let mut conn = got_chunked(t0);
    conn.send_response(&ResponseHead::new(200), ResponseBody::Length(2))
        .unwrap();
    conn
}

/// read `body` (chunked), write `finished`: the response is queued, not yet written.
fn chunked_answered(t0: Instant) -> ServerConnection {
    let mut conn = got_chunked(t0);
    conn.respond(&ResponseHead::new(200), Bytes::from_static(b"ok"))
        .unwrap();
    conn
}

/// read `done`, write `body`.
fn get_responding(t0: Instant) -> ServerConnection {
    let mut conn = got_get(t0);
    conn.send_response(&ResponseHead::new(200), ResponseBody::Length(2))
        .unwrap();
    conn.send_body(Bytes::from_static(b"ok")).unwrap();
    conn
}

/// read `done`, write `finished`, keep-alive.
fn get_answered(t0: Instant) -> ServerConnection {
    let mut conn = got_get(t0);
    conn.respond(&ResponseHead::new(200), Bytes::from_static(b"ok"))
        .unwrap();
    conn
}

/// read `done`, write `finished`, no keep-alive (HTTP/1.0 server).
fn get_answered_10(t0: Instant) -> ServerConnection {
    let mut conn = fed(Config::default(), GET_11, t0);
    conn.respond(&ResponseHead::new(200), Bytes::from_static(b"ok"))
        .unwrap();
    conn
}

/// read `body` (three of ten bytes read), write `finished`.
fn post_answered(t0: Instant) -> ServerConnection {
    let mut conn = fed(http11(), POST_10, t0);
    conn.respond(&ResponseHead::new(200), Bytes::from_static(b"ok"))
        .unwrap();
    conn
}

/// read `body`, more unread than may be discarded, write `finished`.
fn huge_post_answered(t0: Instant) -> ServerConnection {
    let config = http11();
    let wire = format!(
        "POST /u HTTP/1.1\r\nHost: a\r\nContent-Length: {}\r\n\r\n",
        config.limits.max_discard + 1
    );
    let mut conn = fed(config, wire.as_bytes(), t0);
    conn.respond(&ResponseHead::new(200), Bytes::from_static(b"ok"))
        .unwrap();
    conn
}

/// read `discard`, write `idle`: seven bytes of the body still to drop.
fn discarding(t0: Instant) -> ServerConnection {
    let mut conn = fed(http11(), POST_10, t0);
    answer(&mut conn);
    events(&mut conn);
    conn
}

/// read `discard` (chunked, at most four bytes may be dropped), write `idle`.
fn discarding_little(t0: Instant) -> ServerConnection {
    let mut config = http11();
    config.limits.max_discard = 4;
    let mut conn = fed(config, CHUNKED, t0);
    answer(&mut conn);
    events(&mut conn);
    conn
}

/// read `closed`, write `pending`: a request error to answer.
fn refused(t0: Instant) -> ServerConnection {
    fed(http11(), NO_HOST, t0)
}

/// read `closed`, write `finished`: the answer to a request error is queued.
fn refused_answered(t0: Instant) -> ServerConnection {
    let mut conn = refused(t0);
    conn.respond(&ResponseHead::new(400), Bytes::new()).unwrap();
    conn
}

/// read and write `closed`, conn `open`: our shutdown is queued.
fn closing(t0: Instant) -> ServerConnection {
    let mut conn = fresh(t0);
    conn.close_after_response();
    conn
}

/// As [`closing`], after the peer's EOF.
fn closing_after_eof(t0: Instant) -> ServerConnection {
    let mut conn = fresh(t0);
    conn.receive_eof(t0);
    events(&mut conn);
    conn
}

/// conn `lingering`.
fn lingering(t0: Instant) -> ServerConnection {
    let mut conn = closing(t0);
    assert!(drain(&mut conn).shutdown);
    conn
}

// ----- applying an input -----

/// Writes every queued byte, as a socket that takes them all, but leaves a queued shutdown
/// where it is (taking it is an input of its own).
fn write_bytes(conn: &mut ServerConnection, _: Instant) {
    loop {
        let mut slices = [std::io::IoSlice::new(&[]); 8];
        let filled = conn.fill_io_slices(&mut slices);
        let n: usize = slices[..filled].iter().map(|s| s.len()).sum();
        if n == 0 {
            return;
        }
        conn.advance_transmit(n);
    }
}

/// `apply` for a wire: a closure of its own, capturing nothing, as a plain fn must.
macro_rules! feed {
    ($wire:expr) => {
        |conn: &mut ServerConnection, now: Instant| conn.receive($wire, now)
    };
}

/// Every walk, by input in the table's order.
const CASES: &[Case] = &[
    Case {
        name: "a GET head",
        from: "read=head write=idle",
        setup: fresh,
        input: Input::Head,
        apply: feed!(GET_11),
        to: "read=done write=pending",
    },
    Case {
        name: "a POST head",
        from: "read=head write=idle",
        setup: fresh,
        input: Input::HeadWithBody,
        apply: feed!(POST_4),
        to: "read=body write=pending",
    },
    Case {
        name: "a head expecting 100-continue",
        from: "read=head write=idle",
        setup: fresh,
        input: Input::HeadExpectingContinue,
        apply: feed!(EXPECT),
        to: "read=body write=pending",
    },
    Case {
        name: "the last body bytes",
        from: "read=body write=pending",
        setup: got_post,
        input: Input::BodyEnd,
        apply: feed!(b"abcd"),
        to: "read=done write=pending",
    },
    Case {
        name: "the last bytes of a discarded body",
        from: "read=discard write=idle",
        setup: discarding,
        input: Input::BodyEnd,
        apply: feed!(b"3456789"),
        to: "read=head write=idle",
    },
    Case {
        name: "a head without Host",
        from: "read=head write=idle",
        setup: fresh,
        input: Input::BadRequest,
        apply: feed!(NO_HOST),
        to: "read=closed write=pending",
    },
    Case {
        name: "a bad chunk, response owed",
        from: "read=body write=pending",
        setup: got_chunked,
        input: Input::BadRequest,
        apply: feed!(BAD_CHUNK),
        to: "read=closed write=pending",
    },
    Case {
        name: "a bad chunk, response started",
        from: "read=body write=body",
        setup: chunked_responding,
        input: Input::BadRequest,
        apply: feed!(BAD_CHUNK),
        to: "read=closed write=body",
    },
    Case {
        name: "a bad chunk, response queued",
        from: "read=body write=finished",
        setup: chunked_answered,
        input: Input::BadRequest,
        apply: feed!(BAD_CHUNK),
        to: "read=closed write=finished",
    },
    Case {
        name: "an unread body past the discard limit",
        from: "read=discard write=idle",
        setup: discarding_little,
        input: Input::DiscardFailed,
        apply: feed!(b"5\r\nhello\r\n"),
        to: "read=closed write=closed",
    },
    Case {
        name: "EOF between requests",
        from: "read=head write=idle",
        setup: fresh,
        input: Input::PeerEof,
        apply: |conn, now| conn.receive_eof(now),
        to: "read=closed write=closed",
    },
    Case {
        name: "a blank request line (compat)",
        from: "read=head write=idle",
        setup: |t0| {
            let config = Config {
                parse_mode: ParseMode::Compat,
                ..http11()
            };
            connect(config, t0)
        },
        input: Input::BlankLine,
        apply: feed!(b" \r\n"),
        to: "read=closed write=closed",
    },
    Case {
        name: "no head before the header read deadline",
        from: "read=head write=idle",
        setup: fresh,
        input: Input::IdleTimeout,
        apply: |conn, now| conn.handle_timeout(now + Duration::from_secs(3600)),
        to: "read=closed write=closed",
    },
    Case {
        name: "close_after_response between requests",
        from: "read=head write=idle",
        setup: fresh,
        input: Input::CloseIdle,
        apply: |conn, _| conn.close_after_response(),
        to: "read=closed write=closed",
    },
    Case {
        name: "send_continue",
        from: "read=body write=pending",
        setup: got_expect,
        input: Input::Continue,
        apply: |conn, _| conn.send_continue().unwrap(),
        to: "read=body write=pending",
    },
    Case {
        name: "send_response",
        from: "read=done write=pending",
        setup: got_get,
        input: Input::ResponseHead,
        apply: |conn, _| {
            conn.send_response(&ResponseHead::new(200), ResponseBody::Length(2))
                .unwrap();
        },
        to: "read=done write=body",
    },
    Case {
        name: "finish_response",
        from: "read=done write=body",
        setup: get_responding,
        input: Input::ResponseEnd,
        apply: |conn, _| conn.finish_response().unwrap(),
        to: "read=done write=finished",
    },
    Case {
        name: "a kept-alive response written",
        from: "read=done write=finished",
        setup: get_answered,
        input: Input::Sent,
        apply: write_bytes,
        to: "read=head write=idle",
    },
    Case {
        name: "a kept-alive response written, body unread",
        from: "read=body write=finished",
        setup: post_answered,
        input: Input::Sent,
        apply: write_bytes,
        to: "read=discard write=idle",
    },
    Case {
        name: "a last response written",
        from: "read=done write=finished",
        setup: get_answered_10,
        input: Input::SentClose,
        apply: write_bytes,
        to: "read=closed write=closed",
    },
    Case {
        name: "a response written, too much body unread",
        from: "read=body write=finished",
        setup: huge_post_answered,
        input: Input::SentClose,
        apply: write_bytes,
        to: "read=closed write=closed",
    },
    Case {
        name: "an error's answer written",
        from: "read=closed write=finished",
        setup: refused_answered,
        input: Input::SentClose,
        apply: write_bytes,
        to: "read=closed write=closed",
    },
    Case {
        name: "the shutdown taken",
        from: "read=closed write=closed",
        setup: closing,
        input: Input::ShutdownSent,
        apply: |conn, _| assert_eq!(conn.poll_transmit(), Some(Transmit::Shutdown)),
        to: "read=closed write=closed lingering",
    },
    Case {
        name: "the shutdown taken after the peer's EOF",
        from: "read=closed write=closed",
        setup: closing_after_eof,
        input: Input::ShutdownAfterEof,
        apply: |conn, _| assert_eq!(conn.poll_transmit(), Some(Transmit::Shutdown)),
        to: "closed",
    },
    Case {
        name: "EOF while lingering",
        from: "read=closed write=closed lingering",
        setup: lingering,
        input: Input::LingerEof,
        apply: |conn, now| conn.receive_eof(now),
        to: "closed",
    },
    Case {
        name: "the linger deadline",
        from: "read=closed write=closed lingering",
        setup: lingering,
        input: Input::LingerTimeout,
        apply: |conn, now| conn.handle_timeout(now + Duration::from_secs(3600)),
        to: "closed",
    },
];

/// The three sides as the public summary reports them.
fn phases(state: State) -> [Phase; 3] {
    let conn = if state.closed {
        ConnState::Closed
    } else if state.lingering {
        ConnState::Lingering
    } else {
        ConnState::Open
    };
    [
        Phase::Read(state.read),
        Phase::Write(state.write),
        Phase::Conn(conn),
    ]
}

/// The row `input` takes from `from`, if any.
fn row_for(from: Phase, input: Input) -> Option<usize> {
    ROWS.iter().position(|row| {
        row.input == input
            && row.to.side() == from.side()
            && row.from.is_none_or(|state| state == from)
    })
}

/// Applies `input` with `apply` and checks every side against the table; returns the rows
/// it took.
fn walk(
    name: &str,
    conn: &mut ServerConnection,
    input: Input,
    apply: impl FnOnce(&mut ServerConnection),
) -> Vec<usize> {
    conn.machine.take_trail();
    let before = phases(conn.state());
    apply(conn);
    let trail = conn.machine.take_trail();
    assert_eq!(
        trail.iter().map(|&(_, input)| input).collect::<Vec<_>>(),
        [input],
        "{name}: the inputs applied"
    );
    assert_eq!(trail[0].0, before, "{name}: the trail's states");
    let after = phases(conn.state());
    let mut taken = Vec::new();
    for (side, (&from, &to)) in before.iter().zip(&after).enumerate() {
        if let Some(n) = row_for(from, input) {
            assert_eq!(to, ROWS[n].to, "{name}: side {side} after {input:?}");
            taken.push(n);
        } else {
            assert!(
                !ROWS
                    .iter()
                    .any(|row| row.input == input && row.to.side() == from.side()),
                "{name}: no row for {input:?} from {from:?}"
            );
            assert_eq!(to, from, "{name}: a side without rows for {input:?} moved");
        }
    }
    taken
}

#[test]
fn every_row_is_walked() {
    let t0 = t0();
    let mut walked = vec![false; ROWS.len()];
    for case in CASES {
        let mut conn = (case.setup)(t0);
        assert_eq!(conn.state().to_string(), case.from, "{}: set up", case.name);
        let rows = walk(case.name, &mut conn, case.input, |conn| {
            (case.apply)(conn, t0);
        });
        assert_eq!(conn.state().to_string(), case.to, "{}: applied", case.name);
        for n in rows {
            walked[n] = true;
        }
        // `abort` from the state this case starts in, and from the one it ends in.
        let mut conn = (case.setup)(t0);
        for n in walk(case.name, &mut conn, Input::Abort, ServerConnection::abort) {
            walked[n] = true;
        }
        assert_eq!(conn.state().to_string(), "closed", "{}: aborted", case.name);
        let mut conn = (case.setup)(t0);
        (case.apply)(&mut conn, t0);
        if !conn.is_closed() {
            walk(case.name, &mut conn, Input::Abort, ServerConnection::abort);
            assert_eq!(conn.state().to_string(), "closed", "{}: aborted", case.name);
        }
    }
    let missed: Vec<_> = ROWS
        .iter()
        .zip(&walked)
        .filter(|(_, walked)| !**walked)
        .map(|(row, _)| row)
        .collect();
    assert!(missed.is_empty(), "rows no case walks: {missed:#?}");
}

#[test]
#[cfg(debug_assertions)]
#[should_panic(expected = "no row for Sent")]
fn an_input_without_a_row_stops_a_debug_build() {
    // Write `idle` has no `sent, keep-alive` row: nothing was sent.
    let mut conn = fresh(t0());
    conn.transition(Input::Sent);
}

#[test]
#[cfg(not(debug_assertions))]
fn an_input_without_a_row_aborts_in_release() {
    let mut conn = fresh(t0());
    assert!(!conn.transition(Input::Sent));
    assert!(conn.is_closed());
}

#[test]
fn a_connection_walks_its_states_in_order() {
    // The inputs of one exchange with an unread body, as the trail records them.
    let t0 = t0();
    let mut conn = fresh(t0);
    conn.receive(POST_10, t0);
    answer(&mut conn);
    conn.receive(b"3456789", t0);
    conn.close_after_response();
    drain(&mut conn);
    conn.receive_eof(t0);
    let inputs: Vec<Input> = conn.machine.take_trail().iter().map(|&(_, i)| i).collect();
    assert_eq!(
        inputs,
        [
            Input::HeadWithBody,
            Input::ResponseHead,
            Input::ResponseEnd,
            Input::Sent,
            Input::BodyEnd,
            Input::CloseIdle,
            Input::ShutdownSent,
            Input::LingerEof,
        ]
    );
    assert!(conn.is_closed());
}
