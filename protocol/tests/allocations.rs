//! No allocation per request on the hot path, counted.
//!
//! A kept-alive connection that has served a few requests has every buffer it needs: the
//! receive buffer, the field arena, the event queue, the output queue and its staging buffer
//! are all reused, so serving the next request of the same shape must not touch the
//! allocator at all.
//!
//! The test installs a counting global allocator (`stats_alloc`: the workspace forbids
//! `unsafe` everywhere, tests included, and implementing `GlobalAlloc` needs it). Its counts
//! are process-wide, so this is a test binary of its own without the libtest harness
//! (`harness = false` in `Cargo.toml`): the harness's own thread allocates while a test runs,
//! which made the count depend on timing. Here `main` is the only thread.

use std::alloc::System;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use protocol::{Config, Event, ResponseBody, ResponseHead, ServerConnection, Transmit};
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, Stats, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// Requests served before counting: enough for every buffer to reach its working size.
const WARM_UP: usize = 16;
/// Requests counted.
const COUNTED: usize = 1_000;

/// What Firefox sends for a stylesheet, as in `benches/cycle.rs`.
const GET: &[u8] = include_bytes!("../benches/firefox-get.http");

/// A form post whose body arrives with its head.
const POST: &[u8] = b"POST /submit HTTP/1.1\r\n\
Host: localhost:8000\r\n\
Content-Type: application/x-www-form-urlencoded\r\n\
Content-Length: 27\r\n\
\r\n\
name=value&other=more+value";

/// A chunked upload with a trailer field.
const CHUNKED: &[u8] = b"POST /upload HTTP/1.1\r\n\
Host: localhost:8000\r\n\
Transfer-Encoding: chunked\r\n\
\r\n\
5\r\nhello\r\n6\r\n world\r\n0\r\nDigest: sha-256=abc\r\n\r\n";

/// A head that arrives in three reads, so it takes the line-by-line scan rather than the
/// one-pass parse.
const TRICKLED: [&[u8]; 3] = [
    b"GET /a HTTP/1.1\r\nHo",
    b"st: localhost:8000\r\nAccept: */*\r\nUser-Agent: curl/8.5.0\r\n",
    b"\r\n",
];

#[expect(
    clippy::disallowed_methods,
    reason = "the test is the runtime: it reads the clock once, before counting"
)]
fn origin() -> Instant {
    Instant::now()
}

fn connection(now: Instant) -> ServerConnection {
    let mut config = Config::default();
    config.protocol_version = Bytes::from_static(b"HTTP/1.1");
    ServerConnection::new(Arc::new(config), now)
}

fn response_head() -> ResponseHead {
    ResponseHead::new(200)
        .with_header("Server", "SimpleHTTP/0.6 Python/3.14.0")
        .with_header("Date", "Mon, 23 Nov 2026 08:00:00 GMT")
        .with_header("Content-type", "text/css")
        .with_header("Last-Modified", "Sun, 22 Nov 2026 12:00:00 GMT")
}

/// Writes everything queued, in one piece per `poll_transmit`, as a socket with room would.
fn drain(conn: &mut ServerConnection) -> usize {
    let mut written = 0;
    while let Some(transmit) = conn.poll_transmit() {
        let Transmit::Bytes(bytes) = transmit else {
            panic!("unexpected {transmit:?}")
        };
        let n = bytes.len();
        written += n;
        conn.advance_transmit(n);
    }
    written
}

/// The request in `reads` in, its events out; returns the body bytes and trailer fields
/// received.
fn receive(conn: &mut ServerConnection, reads: &[&[u8]], now: Instant) -> (usize, usize) {
    for read in reads {
        conn.receive(read, now);
    }
    let Some(Event::Request(request)) = conn.poll_event() else {
        panic!("no request")
    };
    assert!(request.keep_alive());
    drop(request);
    let mut body = 0;
    loop {
        match conn.poll_event() {
            Some(Event::Body(data)) => body += data.len(),
            Some(Event::EndOfRequest { trailers }) => return (body, trailers.len()),
            other => panic!("unexpected {other:?}"),
        }
    }
}

fn complete(conn: &mut ServerConnection) {
    assert_eq!(
        conn.poll_event(),
        Some(Event::ResponseComplete { keep_alive: true })
    );
}

/// Runs `cycle` `WARM_UP` times, then counts the allocator calls of `COUNTED` more runs.
fn count(mut cycle: impl FnMut()) -> Stats {
    for _ in 0..WARM_UP {
        cycle();
    }
    let region = Region::new(GLOBAL);
    for _ in 0..COUNTED {
        cycle();
    }
    region.change()
}

fn main() {
    let now = origin();
    let head = response_head();
    let body = Bytes::from(vec![b'x'; 1024]);
    let mut results = Vec::with_capacity(8);

    // The benchmark's cycle: a browser GET, a prepared head and an in-memory body.
    let mut conn = connection(now);
    let stats = count(|| {
        assert_eq!(receive(&mut conn, &[GET], now), (0, 0));
        conn.respond(&head, body.clone()).unwrap();
        assert!(drain(&mut conn) > 1024);
        complete(&mut conn);
    });
    results.push(("GET, 200 with a 1 KiB body", stats));

    // A body read with its head, answered with a chunked body in two pieces.
    let mut conn = connection(now);
    let stats = count(|| {
        assert_eq!(receive(&mut conn, &[POST], now), (27, 0));
        conn.send_response(&head, ResponseBody::Chunked).unwrap();
        conn.send_body(body.slice(..100)).unwrap();
        conn.send_body(body.slice(100..)).unwrap();
        conn.finish_response().unwrap();
        drain(&mut conn);
        complete(&mut conn);
    });
    results.push(("POST with a body, chunked 200", stats));

    // A head in three reads (the line scan, not the one-pass parse).
    let mut conn = connection(now);
    let stats = count(|| {
        assert_eq!(receive(&mut conn, &TRICKLED, now), (0, 0));
        conn.respond(&head, body.clone()).unwrap();
        drain(&mut conn);
        complete(&mut conn);
    });
    results.push(("trickled GET, 200 with a 1 KiB body", stats));

    // A chunked upload with a trailer, answered with a body-less 204.
    let mut conn = connection(now);
    let no_content = ResponseHead::new(204);
    let stats = count(|| {
        assert_eq!(receive(&mut conn, &[CHUNKED], now), (11, 1));
        conn.send_response(&no_content, ResponseBody::None).unwrap();
        conn.finish_response().unwrap();
        drain(&mut conn);
        complete(&mut conn);
    });
    results.push(("chunked POST with a trailer, 204", stats));

    for (name, stats) in &results {
        println!(
            "{name}: {} allocations, {} reallocations, {} deallocations in {COUNTED} cycles",
            stats.allocations, stats.reallocations, stats.deallocations
        );
    }
    for (name, stats) in results {
        assert_eq!(
            (stats.allocations, stats.reallocations, stats.deallocations),
            (0, 0, 0),
            "{name}: {stats:?} in {COUNTED} cycles"
        );
    }
    println!("allocations: no allocation per request cycle");
}
