//! Shared helpers for the integration suites (conformance, differential, cli).
//!
//! - which runtimes to test ([`enabled_runtimes`], the [`runtime_suite!`] macro),
//! - a real `http-server` process on a free loopback port ([`Server`]),
//! - raw-byte clients ([`exchange`], [`Conn`]) and a response parser ([`Response`]),
//! - the fixture tree both suites serve ([`fixture`]).
//!
//! Nothing here knows the server's internals: bytes go in over TCP, bytes come out.
#![allow(dead_code, unreachable_pub)]

pub mod fixture;

use std::ffi::OsString;
use std::fmt::Write as _;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// The binary under test, built by cargo for this test target.
pub const BIN: &str = env!("CARGO_BIN_EXE_http-server");

/// Runtimes tested when `HTTP_SERVER_RUNTIMES` is unset. Add `"smol"` and `"mio"` here when
/// they are built; until then `HTTP_SERVER_RUNTIMES=std,smol cargo test` switches one on.
pub const DEFAULT_RUNTIMES: &[&str] = &["std", "smol", "mio"];

/// Every runtime the CLI knows; each gets a module of tests from [`runtime_suite!`].
pub const ALL_RUNTIMES: &[&str] = &["std", "smol", "mio"];

/// How long any single network read or write may block before the test fails.
pub const IO_TIMEOUT: Duration = Duration::from_secs(20);

/// The runtimes to test: `HTTP_SERVER_RUNTIMES` (comma-separated) or [`DEFAULT_RUNTIMES`].
pub fn enabled_runtimes() -> Vec<String> {
    match std::env::var("HTTP_SERVER_RUNTIMES") {
        Ok(list) if !list.trim().is_empty() => list
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
        _ => DEFAULT_RUNTIMES.iter().map(|s| (*s).to_owned()).collect(),
    }
}

pub fn runtime_enabled(runtime: &str) -> bool {
    enabled_runtimes().iter().any(|r| r == runtime)
}

/// Runs `test` against `runtime`, or says why it is skipped (the runtime is not enabled).
pub fn on_runtime(runtime: &'static str, test: fn(&'static str)) {
    if runtime_enabled(runtime) {
        test(runtime);
    } else {
        eprintln!(
            "skipped: runtime {runtime:?} is not enabled (HTTP_SERVER_RUNTIMES=std,smol,mio to enable)"
        );
    }
}

/// `runtime_suite!([test_a, test_b])` makes `std_runtime::test_a`, `smol_runtime::test_a`,
/// `mio_runtime::test_a`, ... each calling `test_a(runtime)`; the runtimes that are not
/// enabled (see [`enabled_runtimes`]) print a skip notice and pass.
macro_rules! runtime_suite {
    ([$($test:ident),* $(,)?]) => {
        runtime_suite!(@module std_runtime "std" [$($test),*]);
        runtime_suite!(@module smol_runtime "smol" [$($test),*]);
        runtime_suite!(@module mio_runtime "mio" [$($test),*]);
    };
    (@module $module:ident $runtime:literal [$($test:ident),*]) => {
        mod $module {
            $(
                #[test]
                fn $test() {
                    crate::common::on_runtime($runtime, super::$test);
                }
            )*
        }
    };
}

// ---------------------------------------------------------------------------------------------
// The server process
// ---------------------------------------------------------------------------------------------

/// Captured output of a child, filled by a reader thread; `eof` turns true when the pipe closes.
#[derive(Default)]
struct Captured {
    bytes: Mutex<(Vec<u8>, bool)>,
    changed: Condvar,
}

impl Captured {
    fn spawn_reader(mut source: impl Read + Send + 'static) -> Arc<Self> {
        let captured = Arc::new(Self::default());
        let sink = Arc::clone(&captured);
        std::thread::spawn(move || {
            let mut buf = [0u8; 8192];
            loop {
                let n = source.read(&mut buf).unwrap_or(0);
                let mut guard = sink.bytes.lock().unwrap();
                if n == 0 {
                    guard.1 = true;
                    sink.changed.notify_all();
                    return;
                }
                guard.0.extend_from_slice(&buf[..n]);
                sink.changed.notify_all();
            }
        });
        captured
    }

    fn snapshot(&self) -> Vec<u8> {
        self.bytes.lock().unwrap().0.clone()
    }

    /// Waits until `pred(bytes)` holds or the pipe closes or `timeout` passes.
    fn wait_for(&self, timeout: Duration, pred: impl Fn(&[u8]) -> bool) -> bool {
        let deadline = Instant::now() + timeout;
        let mut guard = self.bytes.lock().unwrap();
        loop {
            if pred(&guard.0) {
                return true;
            }
            let now = Instant::now();
            if guard.1 || now >= deadline {
                return false;
            }
            guard = self.changed.wait_timeout(guard, deadline - now).unwrap().0;
        }
    }
}

/// Why a server did not come up.
#[derive(Debug)]
pub struct StartError {
    pub status: Option<ExitStatus>,
    pub stdout: String,
    pub stderr: String,
}

impl StartError {
    fn port_busy(&self) -> bool {
        let e = self.stderr.to_lowercase();
        e.contains("in use") || e.contains("os error 98") || e.contains("addrinuse")
    }
}

/// A running `http-server`; killed (`SIGKILL`) on drop unless stopped with [`Server::stop`].
pub struct Server {
    child: Option<Child>,
    /// Where it listens (from the banner).
    pub addr: SocketAddr,
    /// The startup line, without the newline.
    pub banner: String,
    pub runtime: String,
    stdout: Arc<Captured>,
    stderr: Arc<Captured>,
}

/// How a server ended.
#[derive(Debug)]
pub struct Stopped {
    pub status: ExitStatus,
    pub stderr: String,
}

/// A TCP port that was free a moment ago (bound to port 0 and released).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Server {
    /// `http-server PORT -b 127.0.0.1 -d DIR --runtime RUNTIME ARGS...` on a free port; retries
    /// when the port was taken in between. Panics (with the server's stderr) if it cannot start.
    pub fn start(runtime: &str, dir: &Path, args: &[&str]) -> Self {
        let mut last = None;
        for _ in 0..5 {
            let port = free_port();
            let mut command_line: Vec<OsString> =
                vec![port.to_string().into(), "-b".into(), "127.0.0.1".into()];
            command_line.push("-d".into());
            command_line.push(dir.as_os_str().to_owned());
            command_line.push("--runtime".into());
            command_line.push(runtime.into());
            command_line.extend(args.iter().map(OsString::from));
            match Self::spawn(runtime, &command_line) {
                Ok(server) => return server,
                Err(e) if e.port_busy() => last = Some(e),
                Err(e) => panic!("http-server {command_line:?} did not start: {e:#?}"),
            }
        }
        panic!("http-server kept finding its port busy: {last:#?}");
    }

    /// Spawns the binary with exactly `argv` and waits (15 s at most) for the banner.
    pub fn spawn(runtime: &str, argv: &[OsString]) -> Result<Self, StartError> {
        let mut command = Command::new(BIN);
        command.args(argv);
        Self::spawn_command(command, runtime, Duration::from_secs(15))
    }

    /// Spawns any server `command` that prints a `python -m http.server` banner on stdout,
    /// and waits up to `timeout` for it.
    pub fn spawn_command(
        mut command: Command,
        label: &str,
        timeout: Duration,
    ) -> Result<Self, StartError> {
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {command:?}: {e}"));
        let stdout = Captured::spawn_reader(child.stdout.take().unwrap());
        let stderr = Captured::spawn_reader(child.stderr.take().unwrap());
        let has_line = |b: &[u8]| b.contains(&b'\n');
        if !stdout.wait_for(timeout, has_line) {
            // Exited (pipe closed) or hung: either way, no banner.
            let _ = child.kill();
            let status = child.wait().ok();
            stderr.wait_for(Duration::from_secs(2), |_| false);
            return Err(StartError {
                status,
                stdout: String::from_utf8_lossy(&stdout.snapshot()).into_owned(),
                stderr: String::from_utf8_lossy(&stderr.snapshot()).into_owned(),
            });
        }
        let out = stdout.snapshot();
        let line = out.split(|&b| b == b'\n').next().unwrap();
        let banner = String::from_utf8_lossy(line).into_owned();
        let addr = parse_banner(&banner).unwrap_or_else(|| {
            let _ = child.kill();
            panic!(
                "unexpected startup line {banner:?}; stderr: {}",
                String::from_utf8_lossy(&stderr.snapshot())
            )
        });
        Ok(Self {
            child: Some(child),
            addr,
            banner,
            runtime: label.to_owned(),
            stdout,
            stderr,
        })
    }

    pub fn pid(&self) -> i32 {
        self.child
            .as_ref()
            .map_or(0, |c| i32::try_from(c.id()).unwrap_or(0))
    }

    /// Everything the server wrote on stderr so far (lossy UTF-8).
    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.stderr.snapshot()).into_owned()
    }

    /// Everything the server wrote on stdout so far (lossy UTF-8): the banner and, after
    /// SIGINT, CPython's goodbye.
    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.stdout.snapshot()).into_owned()
    }

    pub fn stderr_bytes(&self) -> Vec<u8> {
        self.stderr.snapshot()
    }

    /// Waits up to 5 s for `needle` to appear on stderr.
    pub fn wait_stderr(&self, needle: &[u8]) -> bool {
        self.stderr.wait_for(Duration::from_secs(5), |b| {
            b.windows(needle.len()).any(|w| w == needle)
        })
    }

    /// Sends a signal to the server process.
    pub fn signal(&self, signal: rustix::process::Signal) {
        if let Some(pid) = rustix::process::Pid::from_raw(self.pid()) {
            let _ = rustix::process::kill_process(pid, signal);
        }
    }

    /// Waits up to `timeout` for the process to exit on its own.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let child = self.child.as_mut()?;
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// SIGTERM, then wait (20 s) for the exit; SIGKILL and panic if it does not come.
    pub fn stop(mut self) -> Stopped {
        self.signal(rustix::process::Signal::TERM);
        let status = self.wait_exit(Duration::from_secs(20));
        let Some(status) = status else {
            let stderr = self.stderr();
            drop(self);
            panic!("http-server did not exit within 20 s of SIGTERM; stderr:\n{stderr}");
        };
        self.child = None;
        self.stderr.wait_for(Duration::from_secs(2), |_| false);
        Stopped {
            status,
            stderr: self.stderr(),
        }
    }

    /// [`Server::stop`], then checks the exit was clean: status 0 and no panic on stderr.
    pub fn stop_clean(self) -> String {
        let stopped = self.stop();
        assert!(
            !stopped.stderr.contains("panicked"),
            "server panicked:\n{}",
            stopped.stderr
        );
        assert_eq!(
            stopped.status.code(),
            Some(0),
            "exit status after SIGTERM; stderr:\n{}",
            stopped.stderr
        );
        stopped.stderr
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// `Serving HTTP on 127.0.0.1 port 8000 (http://127.0.0.1:8000/) ...` -> the address (or
/// `Serving HTTPS ... (https://...)` under TLS).
pub fn parse_banner(line: &str) -> Option<SocketAddr> {
    let (rest, scheme) = match line.strip_prefix("Serving HTTPS on ") {
        Some(rest) => (rest, "https"),
        None => (line.strip_prefix("Serving HTTP on ")?, "http"),
    };
    let (host, rest) = rest.split_once(" port ")?;
    let (port, rest) = rest.split_once(' ')?;
    let port: u16 = port.parse().ok()?;
    let url_host = if host.contains(':') {
        format!("[{host}]")
    } else {
        host.to_owned()
    };
    if rest != format!("({scheme}://{url_host}:{port}/) ...") {
        return None;
    }
    let ip: std::net::IpAddr = host.parse().ok()?;
    Some(SocketAddr::new(ip, port))
}

/// Runs the binary with `args` and no server expected: waits (10 s) for it to exit.
/// Returns (exit code, stdout, stderr); a process still running after 10 s is killed and reported.
pub fn run_cli(args: &[OsString]) -> (Option<i32>, String, String) {
    let mut child = Command::new(BIN)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = Captured::spawn_reader(child.stdout.take().unwrap());
    let stderr = Captured::spawn_reader(child.stderr.take().unwrap());
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    stdout.wait_for(Duration::from_secs(2), |_| false);
    stderr.wait_for(Duration::from_secs(2), |_| false);
    let out = String::from_utf8_lossy(&stdout.snapshot()).into_owned();
    let err = String::from_utf8_lossy(&stderr.snapshot()).into_owned();
    match status {
        Some(status) => (status.code(), out, err),
        None => (
            None,
            out,
            format!("{err}\n[still running after 10 s: killed]"),
        ),
    }
}

// ---------------------------------------------------------------------------------------------
// Clients
// ---------------------------------------------------------------------------------------------

pub fn connect(addr: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect_timeout(&addr, IO_TIMEOUT)
        .unwrap_or_else(|e| panic!("connect {addr}: {e}"));
    stream.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
    stream.set_write_timeout(Some(IO_TIMEOUT)).unwrap();
    stream.set_nodelay(true).unwrap();
    stream
}

/// Sends `request` on a new connection and reads until the server closes it.
/// A reset after some bytes counts as the end (the bytes are kept).
pub fn exchange(addr: SocketAddr, request: &[u8]) -> Vec<u8> {
    let mut conn = Conn::open(addr);
    conn.send(request);
    conn.read_to_end()
}

/// Like [`exchange`] but never panics: reads until close, reset or `timeout` of silence.
/// Returns the bytes and whether the server closed the connection.
pub fn exchange_timeout(addr: SocketAddr, request: &[u8], timeout: Duration) -> (Vec<u8>, bool) {
    let Ok(mut stream) = TcpStream::connect_timeout(&addr, timeout) else {
        return (Vec::new(), true);
    };
    let _ = stream.set_read_timeout(Some(timeout));
    let _ = stream.write_all(request);
    let mut out = Vec::new();
    let mut chunk = vec![0u8; 65536];
    loop {
        match stream.read(&mut chunk) {
            Ok(0) => return (out, true),
            Ok(n) => out.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                return (out, false);
            }
            Err(_) => return (out, true),
        }
    }
}

/// [`exchange`] plus [`parse_response`] (a `HEAD` request gets no body).
pub fn request(addr: SocketAddr, request: &[u8]) -> Response {
    let raw = exchange(addr, request);
    let is_head = request.starts_with(b"HEAD ");
    parse_response(&raw, is_head).unwrap_or_else(|e| panic!("request {:?}: {e}", show(request)))
}

/// `GET {target} HTTP/1.0` with no headers.
pub fn get(addr: SocketAddr, target: &str) -> Response {
    request(addr, format!("GET {target} HTTP/1.0\r\n\r\n").as_bytes())
}

/// One connection with its own read buffer, for keep-alive and pipelining.
pub struct Conn {
    pub stream: TcpStream,
    buf: Vec<u8>,
    eof: bool,
}

impl Conn {
    pub fn open(addr: SocketAddr) -> Self {
        Self {
            stream: connect(addr),
            buf: Vec::new(),
            eof: false,
        }
    }

    pub fn send(&mut self, bytes: &[u8]) {
        self.stream
            .write_all(bytes)
            .unwrap_or_else(|e| panic!("write {} bytes: {e}", bytes.len()));
    }

    /// Tries to send; a peer that already closed is not a test failure here.
    pub fn try_send(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.stream.write_all(bytes)
    }

    pub fn shutdown_write(&self) {
        let _ = self.stream.shutdown(Shutdown::Write);
    }

    /// Reads more into the buffer; false at end of stream (or reset).
    fn fill(&mut self) -> bool {
        if self.eof {
            return false;
        }
        let mut chunk = vec![0u8; 65536];
        match self.stream.read(&mut chunk) {
            Ok(0) => {
                self.eof = true;
                false
            }
            Ok(n) => {
                self.buf.extend_from_slice(&chunk[..n]);
                true
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => true,
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                panic!(
                    "read timed out after {IO_TIMEOUT:?}; got so far: {:?}",
                    show(&self.buf)
                )
            }
            Err(_) => {
                // Connection reset: treat as the end; what arrived is kept.
                self.eof = true;
                false
            }
        }
    }

    /// Everything until the server closes the connection (buffered bytes first).
    pub fn read_to_end(&mut self) -> Vec<u8> {
        while self.fill() {}
        std::mem::take(&mut self.buf)
    }

    /// Reads exactly `n` bytes (or fewer if the stream ends).
    pub fn read_exact_n(&mut self, n: usize) -> Vec<u8> {
        while self.buf.len() < n && self.fill() {}
        let n = n.min(self.buf.len());
        self.buf.drain(..n).collect()
    }

    /// Reads one response; `head` = it answers a HEAD request (no body).
    pub fn read_response(&mut self, head: bool) -> Response {
        let end = loop {
            if let Some(i) = find(&self.buf, b"\r\n\r\n") {
                break i + 4;
            }
            assert!(
                self.fill(),
                "connection ended inside a response head: {:?}",
                show(&self.buf)
            );
        };
        let head_bytes: Vec<u8> = self.buf.drain(..end).collect();
        let mut response = parse_head(&head_bytes).unwrap_or_else(|e| panic!("{e}"));
        match body_length(&response, head) {
            Some(n) => {
                while self.buf.len() < n && self.fill() {}
                assert!(
                    self.buf.len() >= n,
                    "body ended after {} of {n} bytes ({})",
                    self.buf.len(),
                    response.status_line()
                );
                response.body = self.buf.drain(..n).collect();
            }
            None => response.body = self.read_to_end(),
        }
        response
    }

    /// True if the server closes the connection (EOF or reset with nothing buffered) within
    /// `wait`; false if it stays open that long. Bytes that arrive instead are a failure.
    pub fn closed_within(&mut self, wait: Duration) -> bool {
        assert!(
            self.buf.is_empty(),
            "unexpected extra bytes: {:?}",
            show(&self.buf)
        );
        if self.eof {
            return true;
        }
        self.stream.set_read_timeout(Some(wait)).unwrap();
        let mut chunk = [0u8; 4096];
        let result = self.stream.read(&mut chunk);
        self.stream.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
        match result {
            Ok(0) => {
                self.eof = true;
                true
            }
            Ok(n) => panic!("unexpected extra bytes: {:?}", show(&chunk[..n])),
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                false
            }
            Err(_) => {
                self.eof = true;
                true
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Responses
// ---------------------------------------------------------------------------------------------

/// One parsed response. Header names keep their case; values are latin-1 decoded.
#[derive(Clone, Debug, Default)]
pub struct Response {
    /// The head as received, CRLFs and all (empty for a head-less HTTP/0.9 style reply).
    pub head: Vec<u8>,
    pub version: String,
    pub code: u16,
    pub reason: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    /// The first header called `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn header_count(&self, name: &str) -> usize {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .count()
    }

    pub fn header_names(&self) -> Vec<&str> {
        self.headers.iter().map(|(n, _)| n.as_str()).collect()
    }

    pub fn status_line(&self) -> String {
        format!("{} {} {}", self.version, self.code, self.reason)
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// True if there is no status line (an HTTP/0.9-style reply: body only).
    pub fn headless(&self) -> bool {
        self.head.is_empty()
    }

    /// A short description for assertion messages.
    pub fn describe(&self) -> String {
        format!(
            "{}\n{}",
            show(&self.head),
            show(&self.body[..self.body.len().min(600)])
        )
    }
}

pub fn latin1(bytes: &[u8]) -> String {
    bytes.iter().map(|&b| char::from(b)).collect()
}

pub fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    find(haystack, needle).is_some()
}

/// Parses a head (status line + headers + blank line).
pub fn parse_head(head: &[u8]) -> Result<Response, String> {
    let text = latin1(head);
    let text = text
        .strip_suffix("\r\n\r\n")
        .ok_or_else(|| format!("head not ended by CRLFCRLF: {:?}", show(head)))?;
    let mut lines = text.split("\r\n");
    let status = lines.next().unwrap_or_default();
    let mut parts = status.splitn(3, ' ');
    let version = parts.next().unwrap_or_default().to_owned();
    let code = parts
        .next()
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| format!("bad status line {status:?}"))?;
    let reason = parts.next().unwrap_or_default().to_owned();
    if !version.starts_with("HTTP/") {
        return Err(format!("bad status line {status:?}"));
    }
    let mut headers = Vec::new();
    for line in lines {
        let (name, value) = line
            .split_once(':')
            .ok_or_else(|| format!("bad header line {line:?}"))?;
        headers.push((
            name.to_owned(),
            value.trim_start_matches([' ', '\t']).to_owned(),
        ));
    }
    Ok(Response {
        head: head.to_vec(),
        version,
        code,
        reason,
        headers,
        body: Vec::new(),
    })
}

/// The body length a client must read: None = until close.
fn body_length(response: &Response, head: bool) -> Option<usize> {
    if head || response.code / 100 == 1 || response.code == 204 || response.code == 304 {
        return Some(0);
    }
    response
        .header("Content-Length")
        .map(|v| v.trim().parse().expect("numeric Content-Length"))
}

/// Parses a complete capture holding exactly one response. A capture that does not start
/// with `HTTP/` is a head-less (HTTP/0.9 style) reply: all body. Bytes after a
/// Content-Length body are an error.
pub fn parse_response(raw: &[u8], head: bool) -> Result<Response, String> {
    let mut all = parse_responses(raw, &[head])?;
    if all.len() != 1 {
        return Err(format!(
            "expected one response, got {}: {:?}",
            all.len(),
            show(raw)
        ));
    }
    Ok(all.remove(0))
}

/// Parses a complete capture of pipelined responses; `heads[i]` says whether the i-th
/// answers a HEAD (the last entry repeats for later responses).
pub fn parse_responses(raw: &[u8], heads: &[bool]) -> Result<Vec<Response>, String> {
    if raw.is_empty() {
        return Err("no response at all (connection closed without a byte)".into());
    }
    if !raw.starts_with(b"HTTP/") {
        return Ok(vec![Response {
            body: raw.to_vec(),
            ..Response::default()
        }]);
    }
    let mut out = Vec::new();
    let mut rest = raw;
    while !rest.is_empty() {
        let end = find(rest, b"\r\n\r\n")
            .ok_or_else(|| format!("incomplete head: {:?}", show(rest)))?
            + 4;
        let mut response = parse_head(&rest[..end])?;
        rest = &rest[end..];
        let head = heads
            .get(out.len())
            .or(heads.last())
            .copied()
            .unwrap_or(false);
        match body_length(&response, head) {
            Some(n) if n <= rest.len() => {
                response.body = rest[..n].to_vec();
                rest = &rest[n..];
            }
            Some(n) => return Err(format!("body cut short: {} of {n} bytes", rest.len())),
            None => {
                response.body = rest.to_vec();
                rest = &[];
            }
        }
        out.push(response);
        if !rest.is_empty() && !rest.starts_with(b"HTTP/") {
            return Err(format!(
                "bytes after response {}: {:?}",
                out.len(),
                show(rest)
            ));
        }
    }
    Ok(out)
}

/// Bytes for assertion messages: printable ASCII as is, the rest escaped; long runs cut.
pub fn show(bytes: &[u8]) -> String {
    const MAX: usize = 2000;
    let mut s = String::new();
    for &b in &bytes[..bytes.len().min(MAX)] {
        match b {
            b'\r' => s.push_str("\\r"),
            b'\n' => s.push_str("\\n\n"),
            b'\\' => s.push_str("\\\\"),
            0x20..=0x7e => s.push(char::from(b)),
            _ => {
                let _ = write!(s, "\\x{b:02x}");
            }
        }
    }
    if bytes.len() > MAX {
        let _ = write!(s, "... ({} bytes)", bytes.len());
    }
    s
}

/// FNV-1a (64-bit): a cheap checksum for large downloads.
pub fn fnv1a(bytes: &[u8], mut hash: u64) -> u64 {
    for &b in bytes {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

pub const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;

/// Drains a reader, returning (length, checksum), without keeping it in memory.
pub fn drain_checksum(reader: &mut impl Read) -> (u64, u64) {
    let mut hash = FNV_OFFSET;
    let mut total = 0u64;
    let mut buf = vec![0u8; 1 << 16];
    loop {
        match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                hash = fnv1a(&buf[..n], hash);
                total += n as u64;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => panic!("download failed after {total} bytes: {e}"),
        }
    }
    (total, hash)
}

/// A line reader over a byte slice, for log assertions.
pub fn lines(bytes: &[u8]) -> Vec<Vec<u8>> {
    BufReader::new(bytes)
        .split(b'\n')
        .map(Result::unwrap)
        .collect()
}
