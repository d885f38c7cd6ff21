//! A whole connection: arbitrary bytes at arbitrary split points, arbitrary application
//! behaviour, and a clock that jumps.
//!
//! Input: a flag byte (bit 0: compat parsing, bit 1: `-p HTTP/1.1`, bit 2: small limits,
//! bit 3: no timeouts), a byte `n`, `n` operation bytes, then the wire bytes the operations
//! consume. Each operation's low nibble picks what happens (receive a piece, end of stream,
//! time steps, a response of some kind, body bytes, external spans, partial transmits,
//! abort, ...), its high nibble is a parameter. Afterwards the rest of the wire arrives,
//! then the end of stream, and an auto-responder answers whatever is still waiting.
//!
//! Oracles: no panic; the [`Checker`] accepts every event (no request after a close-forcing
//! error, nothing after close, bodies within their declared length); a response can only be
//! started when a request or request error waits for one; after `handle_timeout(now)`
//! every deadline is later than `now`; an early `handle_timeout` changes nothing; an idle
//! connection with deadlines configured always has one armed.

#![no_main]

use std::time::{Duration, Instant};

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use protocol::{ResponseBody, ResponseHead, ServerConnection, Timeouts};
use protocol_fuzz::{Checker, Wire, config, settle, t0, transmit};

/// Time steps, chosen around the default deadlines (30 s head, 75 s idle, 60 s body,
/// 2 s linger) so that both sides of each boundary are reached.
const STEPS_MS: [u64; 16] = [
    0, 1, 10, 500, 1_000, 1_999, 2_000, 5_000, 29_999, 30_000, 30_001, 59_999, 60_000, 75_000,
    75_001, 1_000_000,
];

fn check_deadline(conn: &ServerConnection, now: Instant) {
    if let Some(deadline) = conn.poll_timeout() {
        assert!(
            deadline > now,
            "deadline {deadline:?} not after now {now:?}"
        );
    }
}

/// Starts a response of the kind `param` picks.
fn start_response(conn: &mut ServerConnection, checker: &mut Checker, param: u8) {
    let mut head = ResponseHead::new(if param & 8 == 0 { 200 } else { 204 });
    if param & 4 != 0 {
        head = head.with_header("Connection", "close");
    }
    let body = match param % 6 {
        0 => ResponseBody::None,
        1 => ResponseBody::Length(u64::from(param)),
        2 => ResponseBody::Chunked,
        3 => ResponseBody::UntilClose,
        4 => ResponseBody::Passthrough,
        _ => ResponseBody::Length(0),
    };
    let waiting = checker.awaiting_response;
    if conn.send_response(&head, body).is_ok() {
        assert!(waiting, "a response was accepted with no request waiting");
        checker.responded();
    }
}

fuzz_target!(|data: &[u8]| {
    let [flags, n, rest @ ..] = data else {
        return;
    };
    let (ops, mut wire) = rest.split_at(usize::from(*n).min(rest.len()));
    let mut config = (*config(flags & 1 != 0, flags & 2 != 0, flags & 4 != 0)).clone();
    if flags & 8 != 0 {
        config.timeouts = Timeouts::none();
    }
    let timeouts_on = flags & 8 == 0;
    let config = std::sync::Arc::new(config);
    let mut now = t0();
    let mut conn = ServerConnection::new(config, now);
    let mut checker = Checker::default();
    let mut out = Wire::default();
    for &op in ops {
        let param = op >> 4;
        match op & 0x0f {
            0 => {
                let n = (1usize << param).min(wire.len());
                let (piece, rest) = wire.split_at(n);
                wire = rest;
                conn.receive(piece, now);
            }
            1 => {
                let buf = conn.recv_buf();
                let n = (1usize << param).min(wire.len()).min(buf.len());
                buf[..n].copy_from_slice(&wire[..n]);
                wire = &wire[n..];
                conn.commit_recv(n, now);
            }
            2 => conn.receive_eof(now),
            3 => {
                now += Duration::from_millis(STEPS_MS[usize::from(param)]);
                conn.handle_timeout(now);
                check_deadline(&conn, now);
            }
            4 => {
                // Exactly at the deadline: the boundary case of `d <= now`.
                if let Some(deadline) = conn.poll_timeout() {
                    now = now.max(deadline);
                }
                conn.handle_timeout(now);
                check_deadline(&conn, now);
            }
            5 => {
                let head = ResponseHead::new(200);
                let waiting = checker.awaiting_response;
                let body = Bytes::from(vec![b'x'; usize::from(param)]);
                if conn.respond(&head, body).is_ok() {
                    assert!(waiting, "a response was accepted with no request waiting");
                    checker.responded();
                }
            }
            6 => start_response(&mut conn, &mut checker, param),
            7 => {
                let _ = conn.send_body(Bytes::from(vec![b'y'; usize::from(param)]));
            }
            8 => {
                let _ = conn.send_body_external(u64::from(param));
            }
            9 => {
                let _ = conn.finish_response();
            }
            10 => {
                let _ = conn.send_continue();
            }
            11 => {
                transmit(&mut conn, &mut out, 1 << param);
            }
            12 => {
                transmit(&mut conn, &mut out, usize::MAX);
            }
            13 => conn.close_after_response(),
            14 if param == 15 => {
                conn.abort();
                assert!(conn.is_closed());
            }
            14 => {
                let _ = conn.wants_read();
                let _ = conn.wants_body_data();
            }
            _ => {
                // An early call must change nothing.
                checker.drain(&mut conn);
                let before = conn.poll_timeout();
                if before.is_none_or(|d| d > now) {
                    conn.handle_timeout(now);
                    assert_eq!(
                        conn.poll_event(),
                        None,
                        "early handle_timeout emitted an event"
                    );
                    assert_eq!(
                        conn.poll_timeout(),
                        before,
                        "early handle_timeout moved a deadline"
                    );
                }
            }
        }
        checker.drain(&mut conn);
        if timeouts_on && conn.is_idle() {
            assert!(
                conn.poll_timeout().is_some(),
                "idle connection without a deadline"
            );
        }
    }
    conn.receive(wire, now);
    settle(&mut conn, &mut checker, &mut out);
    conn.receive_eof(now);
    settle(&mut conn, &mut checker, &mut out);
});
