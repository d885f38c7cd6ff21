//! CGI under load and under attack, on every runtime: bodies far larger than the memory the
//! server may use, scripts that never end, slow readers of huge output, traversal attempts,
//! many scripts at once; and after each, no zombie and no leaked descriptor.

#[macro_use]
mod common;

use std::fs;
use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use common::fixture::Fixture;
use common::{Conn, Server, connect, contains, exchange, request, show};

const MIB: u64 = 1024 * 1024;

/// Resident memory the server may reach while streaming 100 MiB through a script.
const RSS_LIMIT_KIB: u64 = 64 * 1024;

fn script(dir: &Path, name: &str, body: &str) {
    let path = dir.join(name);
    fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
}

/// A tree with CGI scripts in /cgi-bin and executable decoys outside it.
fn cgi_fixture() -> Fixture {
    let fx = Fixture::empty();
    let bin = fx.root.join("cgi-bin");
    fs::create_dir(&bin).unwrap();
    script(
        &bin,
        "count.sh",
        "printf 'Content-Type: text/plain\\r\\n\\r\\n'\nwc -c | tr -d ' '",
    );
    // Outputs are computed, so a script's output never appears in its source.
    script(
        &bin,
        "hello.sh",
        "printf 'Content-Type: text/plain\\r\\n\\r\\n'\necho CGI-$((40+2))",
    );
    script(
        &bin,
        "forever.sh",
        "printf 'Content-Type: text/plain\\r\\n\\r\\n'\necho started\nexec sleep 86399",
    );
    script(
        &bin,
        "flood.sh",
        "printf 'Content-Type: application/octet-stream\\r\\n\\r\\n'\nexec head -c 104857600 /dev/zero",
    );
    script(
        &bin,
        "slow.sh",
        "printf 'Content-Type: text/plain\\r\\n\\r\\n'\nsleep 0.2\necho done",
    );
    script(
        &fx.root,
        "outside.sh",
        "printf 'Content-Type: text/plain\\r\\n\\r\\n'\necho EXECUTED-$((40+2))",
    );
    script(&fx.root, "secret.py", "echo EXECUTED-$((40+3))");
    fx
}

fn start(runtime: &str, fx: &Fixture, extra: &[&str]) -> Server {
    let mut args = vec!["--cgi"];
    args.extend_from_slice(extra);
    Server::start(runtime, &fx.root, &args)
}

/// The server's resident set, in KiB.
fn rss_kib(pid: i32) -> u64 {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// Samples the server's RSS every 20 ms until dropped; `max()` is the peak.
struct RssProbe {
    stop: Arc<AtomicBool>,
    peak: Arc<AtomicU64>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl RssProbe {
    fn start(pid: i32) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let peak = Arc::new(AtomicU64::new(rss_kib(pid)));
        let (s, p) = (Arc::clone(&stop), Arc::clone(&peak));
        let thread = std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                p.fetch_max(rss_kib(pid), Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(20));
            }
        });
        Self {
            stop,
            peak,
            thread: Some(thread),
        }
    }

    fn finish(mut self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            t.join().unwrap();
        }
        self.peak.load(Ordering::Relaxed)
    }
}

/// Open descriptors of the server.
fn fd_count(pid: i32) -> usize {
    fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, Iterator::count)
}

/// Children of `pid` (any state), with their state letter.
fn children(pid: i32) -> Vec<(i32, char)> {
    let mut out = Vec::new();
    for entry in fs::read_dir("/proc").unwrap().flatten() {
        let Ok(child) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let Ok(stat) = fs::read_to_string(format!("/proc/{child}/stat")) else {
            continue;
        };
        // `pid (comm) state ppid ...`: comm may hold spaces, so split after the last ')'.
        let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else {
            continue;
        };
        let mut fields = rest.split_whitespace();
        let state = fields.next().and_then(|s| s.chars().next()).unwrap_or('?');
        if fields.next().and_then(|p| p.parse::<i32>().ok()) == Some(pid) {
            out.push((child, state));
        }
    }
    out
}

/// Whether some process is running `sleep 86399` (the never-ending script's payload).
fn forever_sleeper_alive() -> bool {
    fs::read_dir("/proc").unwrap().flatten().any(|entry| {
        fs::read(entry.path().join("cmdline")).is_ok_and(|c| c == b"sleep\x0086399\x00")
    })
}

/// Waits until `cond` holds (up to `limit`).
fn eventually(limit: Duration, cond: impl Fn() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    cond()
}

/// The server's descriptor count once one script has run: a runtime may set up process
/// machinery once (async-process keeps a reaper and a signal pipe); what is checked is that
/// each script gives back what it took.
fn baseline_fds(server: &Server) -> usize {
    let raw = exchange(server.addr, b"GET /cgi-bin/hello.sh HTTP/1.0\r\n\r\n");
    assert!(contains(&raw, b"CGI-42"), "{}", show(&raw));
    std::thread::sleep(Duration::from_millis(200));
    fd_count(server.pid())
}

/// No zombie children, and the descriptor count is back to `baseline`.
fn assert_clean(server: &Server, baseline: usize) {
    let pid = server.pid();
    assert!(
        eventually(Duration::from_secs(5), || children(pid)
            .iter()
            .all(|&(_, s)| s != 'Z')),
        "zombie children: {:?}",
        children(pid)
    );
    assert!(
        eventually(Duration::from_secs(5), || fd_count(pid) <= baseline),
        "descriptors leaked: {} open, {baseline} before",
        fd_count(pid)
    );
}

fn post_100_mib_is_streamed_to_the_script(runtime: &'static str) {
    let fx = cgi_fixture();
    let server = start(runtime, &fx, &[]);
    let baseline = baseline_fds(&server);
    let probe = RssProbe::start(server.pid());
    let mut conn = Conn::open(server.addr);
    let total = 100 * MIB;
    conn.send(
        format!("POST /cgi-bin/count.sh HTTP/1.0\r\nContent-Length: {total}\r\n\r\n").as_bytes(),
    );
    let chunk = vec![b'x'; MIB as usize];
    for _ in 0..100 {
        conn.send(&chunk);
    }
    let response = conn.read_response(false);
    let peak = probe.finish();
    assert_eq!(response.code, 200, "{}", response.describe());
    assert_eq!(response.text().trim(), total.to_string());
    assert!(peak < RSS_LIMIT_KIB, "server RSS peaked at {peak} KiB");
    assert_clean(&server, baseline);
    server.stop_clean();
}

fn chunked_post_is_streamed_to_the_script(runtime: &'static str) {
    let fx = cgi_fixture();
    let server = start(runtime, &fx, &["-p", "HTTP/1.1"]);
    let mut conn = Conn::open(server.addr);
    conn.send(b"POST /cgi-bin/count.sh HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n");
    let piece = vec![b'y'; 100_000];
    for _ in 0..50 {
        conn.send(format!("{:x}\r\n", piece.len()).as_bytes());
        conn.send(&piece);
        conn.send(b"\r\n");
    }
    conn.send(b"0\r\n\r\n");
    let response = conn.read_response(false);
    assert_eq!(response.code, 200, "{}", response.describe());
    assert_eq!(response.text().trim(), "5000000");
    server.stop_clean();
}

fn script_that_never_exits_is_killed(runtime: &'static str) {
    let fx = cgi_fixture();
    let server = start(runtime, &fx, &["--cgi-timeout", "1"]);
    let baseline = baseline_fds(&server);
    let started = Instant::now();
    let raw = exchange(server.addr, b"GET /cgi-bin/forever.sh HTTP/1.0\r\n\r\n");
    let waited = started.elapsed();
    assert!(
        contains(&raw, b"started"),
        "the client gets what was sent: {}",
        show(&raw)
    );
    assert!(
        waited < Duration::from_secs(10),
        "connection held for {waited:?}"
    );
    assert!(
        eventually(Duration::from_secs(5), || !forever_sleeper_alive()),
        "the script's process group survived"
    );
    assert!(
        server.wait_stderr(b"killed"),
        "the kill is logged: {}",
        server.stderr()
    );
    // Still healthy.
    let response = request(server.addr, b"GET /cgi-bin/hello.sh HTTP/1.0\r\n\r\n");
    assert!(
        contains(&response.body, b"CGI-42"),
        "{}",
        response.describe()
    );
    assert_clean(&server, baseline);
    server.stop_clean();
}

fn huge_output_to_a_slow_reader_is_bounded(runtime: &'static str) {
    let fx = cgi_fixture();
    let server = start(runtime, &fx, &[]);
    let probe = RssProbe::start(server.pid());
    let mut stream = connect(server.addr);
    stream
        .write_all(b"GET /cgi-bin/flood.sh HTTP/1.0\r\n\r\n")
        .unwrap();
    let mut received = 0u64;
    let mut buf = vec![0; 256 * 1024];
    loop {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => received += n as u64,
        }
        // A slow reader: the script must be throttled, not buffered.
        std::thread::sleep(Duration::from_millis(4));
    }
    let peak = probe.finish();
    assert!(received > 100 * MIB, "got {received} bytes");
    assert!(peak < RSS_LIMIT_KIB, "server RSS peaked at {peak} KiB");
    server.stop_clean();
}

fn traversal_never_runs_or_discloses(runtime: &'static str) {
    let fx = cgi_fixture();
    let server = start(runtime, &fx, &[]);
    let source = fs::read(fx.root.join("cgi-bin/hello.sh")).unwrap();
    let secret = fs::read(&fx.outside).unwrap();
    let attempts = [
        "/cgi-bin/../outside.sh",
        "/cgi-bin/..%2foutside.sh",
        "/cgi-bin%2f..%2foutside.sh",
        "//cgi-bin/../outside.sh",
        "/cgi-bin/..%2fsecret.py",
        "/cgi-bin/%2e%2e/secret.py",
        "/cgi-bin/../../secret.txt",
        "/cgi-bin/..%2f..%2fsecret.txt",
        "/../cgi-bin/../secret.txt",
        "/htbin/../../secret.txt",
        "///////outside.sh/../cgi-bin/nothere.sh",
    ];
    for target in attempts {
        for method in ["GET", "POST"] {
            let raw = exchange(
                server.addr,
                format!("{method} {target} HTTP/1.0\r\nContent-Length: 0\r\n\r\n").as_bytes(),
            );
            assert!(
                !contains(&raw, b"EXECUTED-4"),
                "{method} {target} ran a script outside cgi-bin: {}",
                show(&raw)
            );
            assert!(
                !contains(&raw, &secret),
                "{method} {target} disclosed a file outside the root"
            );
        }
    }
    // Spellings of a real script's path run it; none of them hands out its source.
    for target in [
        "/cgi-bin/hello.sh",
        "/cgi-bin%2fhello.sh",
        "/%63gi-bin/hello.sh",
        "/cgi-bin/./hello.sh",
    ] {
        let raw = exchange(
            server.addr,
            format!("GET {target} HTTP/1.0\r\n\r\n").as_bytes(),
        );
        assert!(contains(&raw, b"CGI-42"), "{target}: {}", show(&raw));
        assert!(
            !contains(&raw, &source),
            "{target} disclosed the script's source"
        );
    }
    // Without its leading slash the target is in no RFC 9112 form: refused before any
    // path is mapped (CPython, and `--compat`, run the script).
    let raw = exchange(server.addr, b"GET cgi-bin/hello.sh HTTP/1.0\r\n\r\n");
    assert!(raw.starts_with(b"HTTP/1.0 400 "), "{}", show(&raw));
    assert!(!contains(&raw, b"CGI-42") && !contains(&raw, &source));
    server.stop_clean();
    let server = start(runtime, &fx, &["--compat"]);
    let raw = exchange(server.addr, b"GET cgi-bin/hello.sh HTTP/1.0\r\n\r\n");
    assert!(contains(&raw, b"CGI-42"), "--compat: {}", show(&raw));
    assert!(
        !contains(&raw, &source),
        "--compat disclosed the script's source"
    );
    server.stop_clean();
}

fn fifty_concurrent_scripts_are_all_answered(runtime: &'static str) {
    let fx = cgi_fixture();
    let server = start(runtime, &fx, &[]);
    let baseline = baseline_fds(&server);
    let addr = server.addr;
    let clients: Vec<_> = (0..50)
        .map(|_| {
            std::thread::spawn(move || exchange(addr, b"GET /cgi-bin/slow.sh HTTP/1.0\r\n\r\n"))
        })
        .collect();
    for client in clients {
        let raw = client.join().unwrap();
        assert!(
            raw.starts_with(b"HTTP/1.0 200 Script output follows\r\n"),
            "{}",
            show(&raw)
        );
        assert!(contains(&raw, b"done"), "{}", show(&raw));
    }
    assert_clean(&server, baseline);
    server.stop_clean();
}

runtime_suite!([
    post_100_mib_is_streamed_to_the_script,
    chunked_post_is_streamed_to_the_script,
    script_that_never_exits_is_killed,
    huge_output_to_a_slow_reader_is_bounded,
    traversal_never_runs_or_discloses,
    fifty_concurrent_scripts_are_all_answered,
]);
