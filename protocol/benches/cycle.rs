//! One full request cycle on a kept-alive connection, next to httparse parsing the same head.
//!
//! The cycle is what a runtime does per request: `receive` a typical ~500-byte browser GET
//! head, take the `Request` and `EndOfRequest` events, `respond` with a 200 head (a few
//! headers) and a 1 KiB body, and drain `poll_transmit`/`advance_transmit` until
//! `ResponseComplete`. The connection is reused across iterations, as keep-alive does.
//!
//! The reference is `httparse::Request::parse` of the same head alone, with room for 100
//! fields (the core's `Limits::max_headers` default, and hyper's). The acceptance bar is a
//! cycle at most 2x the parse (it was 3x before issue #17). Run with
//! `cargo bench -p protocol --bench cycle`; results are kept in `bench/RESULTS.md`.
//!
//! The response head is built once, as a server does with the heads it sends again and
//! again; its fields are checked when they are appended, so sending it costs no second
//! check. The third benchmark builds the head inside the cycle, as a handler that formats
//! a fresh head per request does, and pays for those checks (and the head's allocations).

use std::hint::black_box;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use criterion::{Criterion, criterion_group, criterion_main};
use protocol::{Config, Event, ResponseHead, ServerConnection, Transmit};

/// What Firefox sends for a stylesheet on a page served by `python -m http.server`.
const HEAD: &[u8] = include_bytes!("firefox-get.http");

fn response_head() -> ResponseHead {
    ResponseHead::new(200)
        .with_header("Server", "SimpleHTTP/0.6 Python/3.14.0")
        .with_header("Date", "Mon, 23 Nov 2026 08:00:00 GMT")
        .with_header("Content-type", "text/css")
        .with_header("Last-Modified", "Sun, 22 Nov 2026 12:00:00 GMT")
}

/// One request in, one response out; panics if the connection misbehaves, so a broken
/// cycle cannot look fast.
fn cycle(conn: &mut ServerConnection, head: &ResponseHead, body: &Bytes, now: Instant) {
    conn.receive(HEAD, now);
    match conn.poll_event() {
        Some(Event::Request(request)) => {
            black_box(&request);
        }
        other => panic!("expected a request, got {other:?}"),
    }
    assert!(matches!(
        conn.poll_event(),
        Some(Event::EndOfRequest { .. })
    ));
    conn.respond(head, body.clone()).unwrap();
    while let Some(transmit) = conn.poll_transmit() {
        let Transmit::Bytes(bytes) = transmit else {
            panic!("unexpected {transmit:?}")
        };
        let n = black_box(bytes).len();
        conn.advance_transmit(n);
    }
    assert_eq!(
        conn.poll_event(),
        Some(Event::ResponseComplete { keep_alive: true })
    );
}

fn benches(c: &mut Criterion) {
    assert!(
        (450..=550).contains(&HEAD.len()),
        "head is {} bytes",
        HEAD.len()
    );
    let mut config = Config::default();
    config.protocol_version = Bytes::from_static(b"HTTP/1.1");
    // The benchmark is a runtime: it owns the clock, and reads it once.
    #[allow(clippy::disallowed_methods)]
    let now = Instant::now();
    let mut conn = ServerConnection::new(Arc::new(config), now);
    let head = response_head();
    let body = Bytes::from(vec![b'x'; 1024]);

    c.bench_function("cycle: GET in, 200 + 1 KiB out, keep-alive", |b| {
        b.iter(|| cycle(&mut conn, &head, &body, now));
    });

    c.bench_function("cycle, response head built per request", |b| {
        b.iter(|| cycle(&mut conn, &response_head(), &body, now));
    });

    c.bench_function("httparse::Request::parse (same head)", |b| {
        b.iter(|| {
            let mut fields = [httparse::EMPTY_HEADER; 100];
            let mut request = httparse::Request::new(&mut fields);
            let status = request.parse(black_box(HEAD)).unwrap();
            assert!(status.is_complete());
            black_box(request.headers.len());
        });
    });
}

criterion_group!(cycle_benches, benches);
criterion_main!(cycle_benches);
