//! The driver every property uses: feed pieces, answer like a small application, write
//! everything out, and record what happened.
//!
//! The auto-responder answers a request once its body has been read (or at once for a
//! request error). Answering earlier would make the connection discard the rest of the
//! body, and how much of it had already been delivered would then depend on how the bytes
//! were split, which is exactly what the properties must not depend on.

use std::sync::{Arc, OnceLock};
use std::time::Instant;

use bytes::Bytes;
use protocol::testing::{Checker, Wire, push_merged, small_limits, transmit};
use protocol::{
    Config, Event, ParseMode, RequestError, ResponseBody, ResponseHead, ServerConnection,
};

/// One origin for every fake clock in the run.
pub(crate) fn t0() -> Instant {
    static T0: OnceLock<Instant> = OnceLock::new();
    // One reading of the real clock as an arbitrary origin; everything else is t0 + Duration.
    #[allow(clippy::disallowed_methods)]
    *T0.get_or_init(Instant::now)
}

/// The connection settings a property runs under.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Setup {
    pub(crate) mode: ParseMode,
    /// `-p HTTP/1.1`: keep-alive, pipelining, 100-continue, chunked responses.
    pub http11: bool,
    /// Small limits, so generated inputs reach every limit.
    pub(crate) small: bool,
    /// Answer with a chunked body when the peer allows it.
    pub(crate) chunked_replies: bool,
}

impl Setup {
    pub(crate) fn config(self) -> Arc<Config> {
        let mut config = Config::default();
        config.parse_mode = self.mode;
        if self.http11 {
            config.protocol_version = Bytes::from_static(b"HTTP/1.1");
        }
        if self.small {
            config.limits = small_limits();
        }
        Arc::new(config)
    }
}

/// Everything observable from one run.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Run {
    /// Events, adjacent body pieces merged.
    pub(crate) events: Vec<Event>,
    /// Output bytes, external spans filled in.
    pub(crate) wire: Vec<u8>,
    pub(crate) shutdown: bool,
    pub(crate) closed: bool,
}

/// How input reaches the connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Path {
    /// `receive(&[u8])`.
    Copy,
    /// `recv_buf()` then `commit_recv(n)`.
    CopyFree,
}

/// Feeds `wire` cut at `cuts` (sorted offsets), then the end of stream.
pub(crate) fn run(setup: Setup, wire: &[u8], cuts: &[usize], path: Path) -> Run {
    let now = t0();
    let mut conn = ServerConnection::new(setup.config(), now);
    let mut driver = Driver {
        setup,
        run: Run::default(),
        checker: Checker::default(),
    };
    let mut start = 0;
    for &cut in cuts.iter().chain(std::iter::once(&wire.len())) {
        let cut = cut.clamp(start, wire.len());
        let piece = &wire[start..cut];
        start = cut;
        if piece.is_empty() {
            continue;
        }
        match path {
            Path::Copy => conn.receive(piece, now),
            Path::CopyFree => {
                // recv_buf offers a bounded room: fill it as many times as the piece needs.
                for part in piece.chunks(1024) {
                    let room = conn.recv_buf();
                    assert!(room.len() >= part.len());
                    room[..part.len()].copy_from_slice(part);
                    conn.commit_recv(part.len(), now);
                }
            }
        }
        driver.settle(&mut conn);
    }
    conn.receive_eof(now);
    driver.settle(&mut conn);
    driver.run.closed = conn.is_closed();
    driver.run
}

/// Offsets `0..=len` chosen by `picks` (proptest indices), sorted.
pub(crate) fn cuts_from(picks: &[proptest::sample::Index], len: usize) -> Vec<usize> {
    let mut cuts: Vec<usize> = picks.iter().map(|i| i.index(len + 1)).collect();
    cuts.sort_unstable();
    cuts
}

/// Every offset: the bytes arrive one at a time.
pub(crate) fn bytewise(len: usize) -> Vec<usize> {
    (1..len).collect()
}

struct Driver {
    setup: Setup,
    run: Run,
    /// The promises every event sequence keeps, whatever the input; it also knows when a
    /// request waits for its answer.
    checker: Checker,
}

impl Driver {
    /// Drains events, answers, writes; repeats until nothing moves.
    fn settle(&mut self, conn: &mut ServerConnection) {
        loop {
            let mut moved = false;
            let config = conn.config().clone();
            while let Some(event) = conn.poll_event() {
                moved = true;
                self.checker.observe(&event, &config);
                push_merged(&mut self.run.events, event);
            }
            // A request is answered once its body was read (or failed), as the fuzzers'
            // auto-responder does.
            if self.checker.awaiting_response && self.checker.request_done {
                self.answer(conn);
                moved = true;
            }
            moved |= self.write(conn);
            if !moved {
                return;
            }
        }
    }

    /// A small response: `200` (or the error's status) with a short body.
    fn answer(&mut self, conn: &mut ServerConnection) {
        self.checker.responded();
        let error = self.run.events.iter().rev().find_map(|e| match e {
            Event::RequestError(e) => Some(e.status_hint()),
            Event::Request(_) => Some(200),
            _ => None,
        });
        let head =
            ResponseHead::new(error.unwrap_or(200)).with_header("Content-Type", "text/plain");
        if self.setup.chunked_replies && conn.send_response(&head, ResponseBody::Chunked).is_ok() {
            conn.send_body(Bytes::from_static(b"chunk")).unwrap();
            conn.send_body(Bytes::from_static(b"ed")).unwrap();
            conn.finish_response().unwrap();
            return;
        }
        // Fails only when nothing may be answered any more (never in these runs).
        conn.respond(&head, Bytes::from_static(b"ok")).unwrap();
    }

    /// Writes all queued output; returns whether anything moved.
    fn write(&mut self, conn: &mut ServerConnection) -> bool {
        let mut wire = Wire {
            bytes: std::mem::take(&mut self.run.wire),
            shutdown: self.run.shutdown,
        };
        let moved = transmit(conn, &mut wire, usize::MAX);
        self.run.wire = wire.bytes;
        self.run.shutdown = wire.shutdown;
        moved
    }
}

/// Whether a request error of this kind was seen.
pub(crate) fn has_error(run: &Run, pred: impl Fn(&RequestError) -> bool) -> bool {
    run.events
        .iter()
        .any(|e| matches!(e, Event::RequestError(err) if pred(err)))
}
