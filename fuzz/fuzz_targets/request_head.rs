//! Arbitrary bytes as the start of a connection, in both parse modes.
//!
//! Input: one flag byte (bit 1: `-p HTTP/1.1`, bit 2: small limits, the rest: a cut point),
//! then the wire bytes. Each input is run whole and cut in two; an auto-responder answers
//! every request so pipelined heads are parsed too. Oracles: no panic, every event sequence
//! passes the [`Checker`], both runs give the same events and the same output bytes, and
//! after the end of stream the connection has shut down and closed.

#![no_main]

use std::sync::Arc;

use libfuzzer_sys::fuzz_target;
use protocol::{Config, Event, ServerConnection};
use protocol_fuzz::{Checker, Wire, config, settle, t0};

/// Feeds `pieces`, then the end of stream; returns the events (adjacent bodies merged) and
/// the output.
fn run(config: &Arc<Config>, pieces: &[&[u8]]) -> (Vec<Event>, Vec<u8>) {
    let now = t0();
    let mut conn = ServerConnection::new(config.clone(), now);
    let mut checker = Checker::recording();
    let mut wire = Wire::default();
    for piece in pieces {
        conn.receive(piece, now);
        settle(&mut conn, &mut checker, &mut wire);
    }
    conn.receive_eof(now);
    settle(&mut conn, &mut checker, &mut wire);
    // Every request was answered and the peer is gone: nothing can be left waiting.
    assert!(
        wire.shutdown && conn.is_closed(),
        "the connection did not close after the end of stream"
    );
    (checker.log, wire.bytes)
}

fuzz_target!(|data: &[u8]| {
    let Some((&flags, wire)) = data.split_first() else {
        return;
    };
    let cut = usize::from(flags >> 2) * wire.len() / 64;
    for compat in [false, true] {
        let config = config(compat, flags & 1 != 0, flags & 2 != 0);
        let whole = run(&config, &[wire]);
        let (a, b) = wire.split_at(cut);
        let split = run(&config, &[a, b]);
        assert_eq!(whole, split, "the cut at {cut} changed what happened");
    }
});
