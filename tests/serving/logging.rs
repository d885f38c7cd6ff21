//! The log never blocks serving: a stderr pipe nobody reads used to stop every runtime after
//! about a thousand requests. Lines now go through a bounded queue, and are dropped (and
//! counted) when it is full.

use std::ffi::OsString;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::fixture::{self, Fixture};
use crate::common::{BIN, Conn, free_port, parse_banner};

fn a_full_stderr_never_stops_serving(rt: &'static str) {
    let fx = Fixture::new();
    let port = free_port();
    let args: Vec<OsString> = vec![
        port.to_string().into(),
        "-b".into(),
        "127.0.0.1".into(),
        "-d".into(),
        fx.root.clone().into(),
        "--runtime".into(),
        rt.into(),
        "-p".into(),
        "HTTP/1.1".into(),
    ];
    // stderr is a pipe that is never read: it fills after 64 KiB.
    let mut child = Command::new(BIN)
        .args(&args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut banner = String::new();
    std::io::BufRead::read_line(&mut stdout, &mut banner).unwrap();
    let addr = parse_banner(banner.trim_end()).expect(&banner);
    let start = Instant::now();
    let mut conn = Conn::open(addr);
    // Each request logs about 100 bytes: 5,000 of them are far more than the pipe holds.
    for _ in 0..5000 {
        conn.send(b"GET /a.txt HTTP/1.1\r\nHost: h\r\n\r\n");
        assert_eq!(conn.read_response(false).body, fixture::A_TXT);
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "serving slowed to a crawl"
        );
    }
    let _ = child.kill();
    let _ = child.wait();
}

runtime_suite!([a_full_stderr_never_stops_serving]);
