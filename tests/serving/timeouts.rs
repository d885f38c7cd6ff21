//! `--header-timeout`, `--idle-timeout`, `--send-timeout`, `--min-rate`: each cuts the
//! connection it is about, and any value, however large, works.

use std::fs;
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, Instant};

use crate::common::fixture::{self, Fixture};
use crate::common::{Conn, Server, get};

/// A client that stops reading a 100 MiB response is cut at the send timeout; until then, and
/// after, others are served.
fn send_timeout_cuts_a_client_that_stops_reading(rt: &'static str) {
    let fx = Fixture::with_sparse();
    let server = Server::start(rt, &fx.root, &["--send-timeout", "1", "--min-rate", "0"]);
    let mut stalled = Conn::open(server.addr);
    stalled.send(b"GET /sparse.bin HTTP/1.0\r\n\r\n");
    std::thread::sleep(Duration::from_millis(2500));
    assert_eq!(get(server.addr, "/a.txt").body, fixture::A_TXT);
    // Whatever the kernel buffers held arrives, then the end: far short of 100 MiB.
    let mut got = 0u64;
    let mut chunk = vec![0; 1 << 16];
    loop {
        match stalled.stream.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => got += n as u64,
        }
    }
    assert!(
        got < fixture::SPARSE_LEN,
        "the whole file arrived ({got} bytes)"
    );
    let stderr = server.stop_clean();
    assert!(stderr.contains("send timeout"), "{stderr}");
}

/// A request body trickled below the minimum rate is cut after the grace period.
fn min_rate_cuts_a_trickled_body(rt: &'static str) {
    let fx = Fixture::empty();
    let bin = fx.root.join("cgi-bin");
    fs::create_dir(&bin).unwrap();
    let script = bin.join("sink.sh");
    fs::write(
        &script,
        "#!/bin/sh\ncat >/dev/null\nprintf 'Content-Type: text/plain\\r\\n\\r\\nread\\n'\n",
    )
    .unwrap();
    fs::set_permissions(&script, fs::Permissions::from_mode(0o755)).unwrap();
    let server = Server::start(rt, &fx.root, &["--cgi", "--min-rate", "1000"]);
    let mut conn = Conn::open(server.addr);
    conn.send(b"POST /cgi-bin/sink.sh HTTP/1.0\r\nContent-Length: 100000\r\n\r\n");
    let start = Instant::now();
    let mut cut = false;
    while start.elapsed() < Duration::from_secs(15) {
        if conn.try_send(b"x").is_err() || conn.closed_within(Duration::from_millis(500)) {
            cut = true;
            break;
        }
    }
    assert!(cut, "a body at 2 bytes/s was never cut");
    let elapsed = start.elapsed();
    assert!(
        elapsed >= Duration::from_secs(4),
        "cut before the grace period: {elapsed:?}"
    );
    let stderr = server.stop_clean();
    assert!(stderr.contains("minimum rate"), "{stderr}");
}

fn header_timeout_flag(rt: &'static str) {
    let fx = Fixture::new();
    let server = Server::start(rt, &fx.root, &["--header-timeout", "1"]);
    let mut conn = Conn::open(server.addr);
    conn.send(b"GET /a.txt HTTP/1.1\r\nHost: h\r\n");
    let start = Instant::now();
    let response = conn.read_to_end();
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "{:?}",
        start.elapsed()
    );
    let text = String::from_utf8_lossy(&response);
    assert!(
        text.is_empty() || text.starts_with("HTTP/1.0 408"),
        "{text}"
    );
    server.stop_clean();
}

fn idle_timeout_flag(rt: &'static str) {
    let fx = Fixture::new();
    let server = Server::start(rt, &fx.root, &["-p", "HTTP/1.1", "--idle-timeout", "1"]);
    let mut conn = Conn::open(server.addr);
    conn.send(b"GET /a.txt HTTP/1.1\r\nHost: h\r\n\r\n");
    assert_eq!(conn.read_response(false).body, fixture::A_TXT);
    assert!(conn.closed_within(Duration::from_secs(5)));
    server.stop_clean();
}

/// Timeouts far past what an `Instant` can add are "never", not a panic.
fn huge_timeouts_work(rt: &'static str) {
    let fx = Fixture::new();
    let huge = "1e300";
    let server = Server::start(
        rt,
        &fx.root,
        &[
            "-p",
            "HTTP/1.1",
            "--header-timeout",
            huge,
            "--idle-timeout",
            huge,
            "--body-timeout",
            huge,
            "--send-timeout",
            huge,
            "--shutdown-timeout",
            huge,
            "--cgi-timeout",
            huge,
        ],
    );
    let mut conn = Conn::open(server.addr);
    for _ in 0..3 {
        conn.send(b"GET /a.txt HTTP/1.1\r\nHost: h\r\n\r\n");
        assert_eq!(conn.read_response(false).body, fixture::A_TXT);
    }
    drop(conn);
    server.stop_clean();
}

runtime_suite!([
    send_timeout_cuts_a_client_that_stops_reading,
    min_rate_cuts_a_trickled_body,
    header_timeout_flag,
    idle_timeout_flag,
    huge_timeouts_work,
]);
