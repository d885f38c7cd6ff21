//! The stop: the first SIGINT or SIGTERM stops accepting and lets in-flight responses finish
//! for at most `--shutdown-timeout`, then the server exits 0; a second signal exits at once.
//! SIGINT says goodbye as CPython does.

use std::time::{Duration, Instant};

use rustix::process::Signal;

use crate::common::fixture::{self, Fixture};
use crate::common::{Conn, Server, get};

/// A server with `--shutdown-timeout SECS` and neither send timeout nor minimum rate, and a
/// client that asked for a 100 MiB file and stopped reading once the response was under way.
fn stalled_download(rt: &str, shutdown_timeout: &str) -> (Fixture, Server, Conn) {
    let fx = Fixture::with_sparse();
    let server = Server::start(
        rt,
        &fx.root,
        &[
            "--shutdown-timeout",
            shutdown_timeout,
            "--send-timeout",
            "0",
            "--min-rate",
            "0",
        ],
    );
    let mut stalled = Conn::open(server.addr);
    stalled.send(b"GET /sparse.bin HTTP/1.0\r\n\r\n");
    let _ = stalled.read_exact_n(1000);
    (fx, server, stalled)
}

/// A client stalling a 100 MiB response does not keep the server from stopping.
fn stop_finishes_despite_a_stalled_client(rt: &'static str) {
    let (_fx, mut server, _stalled) = stalled_download(rt, "1");
    let start = Instant::now();
    server.signal(Signal::TERM);
    let status = server.wait_exit(Duration::from_secs(10));
    assert!(status.is_some(), "still running 10 s after SIGTERM");
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(status.unwrap().code(), Some(0));
}

/// In-flight responses finish before the exit; idle connections close at once.
fn stop_lets_in_flight_responses_finish(rt: &'static str) {
    let fx = Fixture::new();
    let mut server = Server::start(rt, &fx.root, &["-p", "HTTP/1.1"]);
    let mut idle = Conn::open(server.addr);
    idle.send(b"GET /a.txt HTTP/1.1\r\nHost: h\r\n\r\n");
    assert_eq!(idle.read_response(false).body, fixture::A_TXT);
    let mut busy = Conn::open(server.addr);
    busy.send(b"GET /big.bin HTTP/1.1\r\nHost: h\r\n\r\n");
    let first = busy.read_exact_n(100);
    assert!(first.starts_with(b"HTTP/1.1 200"));
    server.signal(Signal::TERM);
    assert!(
        idle.closed_within(Duration::from_secs(5)),
        "the idle connection stayed open"
    );
    let rest = busy.read_to_end();
    assert!(
        first.len() + rest.len() > fixture::BIG_LEN,
        "the in-flight response was cut: {} bytes",
        first.len() + rest.len()
    );
    let status = server.wait_exit(Duration::from_secs(10));
    assert_eq!(status.and_then(|s| s.code()), Some(0));
}

/// A second signal does not wait for anyone.
fn second_signal_exits_at_once(rt: &'static str) {
    let (_fx, mut server, _stalled) = stalled_download(rt, "3600");
    server.signal(Signal::TERM);
    assert!(
        server.wait_exit(Duration::from_millis(800)).is_none(),
        "the drain was skipped"
    );
    let start = Instant::now();
    server.signal(Signal::TERM);
    assert!(
        server.wait_exit(Duration::from_secs(5)).is_some(),
        "the second signal was ignored"
    );
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "{:?}",
        start.elapsed()
    );
}

/// SIGINT: CPython's `Keyboard interrupt received, exiting.` on stdout, exit status 0.
fn sigint_says_goodbye(rt: &'static str) {
    let fx = Fixture::new();
    let mut server = Server::start(rt, &fx.root, &[]);
    assert_eq!(get(server.addr, "/a.txt").body, fixture::A_TXT);
    server.signal(Signal::INT);
    let status = server.wait_exit(Duration::from_secs(10));
    assert_eq!(status.and_then(|s| s.code()), Some(0));
    assert!(
        server
            .stdout()
            .contains("\nKeyboard interrupt received, exiting.\n"),
        "{:?}",
        server.stdout()
    );
}

runtime_suite!([
    stop_finishes_despite_a_stalled_client,
    stop_lets_in_flight_responses_finish,
    second_signal_exits_at_once,
    sigint_says_goodbye,
]);
