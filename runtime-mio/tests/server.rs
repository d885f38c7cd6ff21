//! `MioServer` and `HttpService` over real loopback sockets: your handler on the worker pool
//! and on the loop (body in, large body out, 100-continue, a panicking handler), its routes
//! beside the file service, CGI time limits and pipelined scripts, pipelining across reads,
//! the connection cap, graceful stop, and the embedding API in a user-owned `Poll`.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use handler::exchange::{Exchange, Handler};
use protocol::RequestHead;
use runtime_mio::{HttpService, MioServer, StopHandle};
use serve::{Facts, ServerConfig};

/// Echoes POST bodies; GET /big/N answers N bytes; GET /panic panics; GET /silent says
/// nothing. Takes every request but those under `/files/`.
struct Echo;

impl Handler for Echo {
    fn accepts(&self, request: &RequestHead) -> bool {
        !request.target().starts_with(b"/files/")
    }

    fn do_get(&self, ex: &mut Exchange<'_>) -> io::Result<()> {
        assert!(
            ex.path() != "/panic",
            "handler panic (expected by the test)"
        );
        if ex.path() == "/silent" {
            return Ok(());
        }
        let n: usize = ex
            .path()
            .strip_prefix("/big/")
            .and_then(|n| n.parse().ok())
            .unwrap_or(5);
        ex.send_response(200, None);
        ex.send_header("Content-Length", &n.to_string());
        ex.end_headers()?;
        let chunk = vec![b'x'; 8192];
        let mut left = n;
        while left > 0 {
            let take = left.min(chunk.len());
            ex.wfile().write_all(&chunk[..take])?;
            left -= take;
        }
        Ok(())
    }

    fn do_post(&self, ex: &mut Exchange<'_>) -> io::Result<()> {
        let mut body = Vec::new();
        ex.rfile().read_to_end(&mut body)?;
        ex.send_response(200, None);
        ex.send_header("Content-Length", &body.len().to_string());
        ex.end_headers()?;
        ex.wfile().write_all(&body)
    }
}

fn config(dir: &std::path::Path, routes: Option<Arc<dyn Handler>>) -> ServerConfig {
    let mut settings = handler::Settings::new(dir);
    settings.protocol_version = "HTTP/1.1".into();
    let facts = Facts::new("127.0.0.1:0".parse().unwrap(), "localhost");
    let mut config = ServerConfig::new(settings, facts);
    let mut protocol = protocol::Config::default();
    protocol.protocol_version = "HTTP/1.1".into();
    config.protocol = Arc::new(protocol);
    config.routes = routes;
    config
}

/// The service `config` describes on `listener`, in a `Poll` of the test's own, under tokens
/// 100 to 109.
fn embedded(
    listener: std::net::TcpListener,
    config: ServerConfig,
    poll: &mio::Poll,
) -> HttpService {
    HttpService::new(
        listener,
        Arc::new(config),
        poll.registry(),
        mio::Token(100)..mio::Token(110),
    )
    .unwrap()
}

/// One round of an embedding loop that has only the service: poll (20 ms at most), hand it
/// the events, then `handle_timeout`.
fn round(http: &mut HttpService, poll: &mut mio::Poll, events: &mut mio::Events) {
    poll.poll(events, Some(Duration::from_millis(20))).unwrap();
    for event in events.iter() {
        http.handle_event(poll.registry(), event);
    }
    http.handle_timeout(poll.registry(), Instant::now());
}

fn echo() -> Arc<dyn Handler> {
    Arc::new(Echo)
}

struct Running {
    addr: SocketAddr,
    stop: StopHandle,
    thread: JoinHandle<io::Result<()>>,
}

impl Running {
    fn start(config: ServerConfig, workers: usize) -> Self {
        Self::start_with(config, |server| server.with_workers(workers))
    }

    fn start_with(config: ServerConfig, build: impl FnOnce(MioServer) -> MioServer) -> Self {
        let listener = sys::listener::bind("127.0.0.1:0".parse().unwrap(), 128, true).unwrap();
        let server = build(MioServer::new(listener, Arc::new(config)).unwrap());
        let addr = server.local_addr();
        let stop = server.stop_handle();
        let thread = std::thread::spawn(move || server.serve_forever());
        Self { addr, stop, thread }
    }

    fn connect(&self) -> TcpStream {
        let s = TcpStream::connect(self.addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        s
    }

    fn stop(self) {
        self.stop.stop();
        self.thread.join().unwrap().unwrap();
    }
}

/// Reads one response with a Content-Length body; returns (head, body).
fn read_response(s: &mut TcpStream) -> (String, Vec<u8>) {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") {
        assert_eq!(s.read(&mut byte).unwrap(), 1, "EOF in head: {buf:?}");
        buf.push(byte[0]);
    }
    let head = String::from_utf8(buf).unwrap();
    let len: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("Content-Length: "))
        .map_or(0, |v| v.trim().parse().unwrap());
    let mut body = vec![0; len];
    if let Err(e) = s.read_exact(&mut body) {
        panic!("{head} body of {len}: {e}")
    }
    (head, body)
}

#[test]
fn custom_handler_echoes_chunked_body_and_streams_big_response() {
    let dir = tempfile::tempdir().unwrap();
    let server = Running::start(config(dir.path(), Some(echo())), 2);
    let mut s = server.connect();
    s.write_all(
        b"POST /e HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n",
    )
    .unwrap();
    let (head, body) = read_response(&mut s);
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
    assert_eq!(body, b"hello world");

    // A body far above the high-water mark: the handler is paced by the socket.
    let n = 8 << 20;
    s.write_all(format!("GET /big/{n} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes())
        .unwrap();
    let (_, body) = read_response(&mut s);
    assert_eq!(body.len(), n);

    // 100-continue, then a large uploaded body.
    let upload = vec![b'u'; 3 << 20];
    s.write_all(
        format!(
            "POST /e HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: {}\r\n\r\n",
            upload.len()
        )
        .as_bytes(),
    )
    .unwrap();
    let mut cont = [0u8; 25];
    s.read_exact(&mut cont).unwrap();
    assert_eq!(&cont, b"HTTP/1.1 100 Continue\r\n\r\n");
    s.write_all(&upload).unwrap();
    let (_, body) = read_response(&mut s);
    assert_eq!(body, upload);
    server.stop();
}

/// The next request can start before the previous handler's `Done` reaches the reactor:
/// commands of the old run must not be taken for the new one's.
#[test]
fn back_to_back_handler_requests_on_one_connection() {
    let dir = tempfile::tempdir().unwrap();
    let server = Running::start(config(dir.path(), Some(echo())), 1);
    let mut s = server.connect();
    s.write_all(&b"POST /e HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nok".repeat(200))
        .unwrap();
    for _ in 0..200 {
        assert_eq!(read_response(&mut s).1, b"ok");
    }
    for i in 0..50 {
        let n = 100_000 + i;
        s.write_all(format!("GET /big/{n} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes())
            .unwrap();
        assert_eq!(read_response(&mut s).1.len(), n);
    }
    server.stop();
}

#[test]
fn failing_handlers_close_without_reply() {
    let dir = tempfile::tempdir().unwrap();
    let server = Running::start(config(dir.path(), Some(echo())), 1);
    for path in ["/panic", "/silent"] {
        let mut s = server.connect();
        s.write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes())
            .unwrap();
        let mut rest = Vec::new();
        let _ = s.read_to_end(&mut rest);
        assert!(rest.is_empty(), "{path}: {rest:?}");
    }
    // The pool survived the panic.
    let mut s = server.connect();
    s.write_all(b"GET /big/3 HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    assert_eq!(read_response(&mut s).1, b"xxx");
    server.stop();
}

#[test]
fn pipelined_requests_in_one_segment_all_answered() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.txt"), b"abc").unwrap();
    let server = Running::start(config(dir.path(), None), 1);
    let mut s = server.connect();
    let one = b"GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n";
    s.write_all(&one.repeat(50)).unwrap();
    for _ in 0..50 {
        assert_eq!(read_response(&mut s).1, b"abc");
    }
    server.stop();
}

#[test]
fn cgi_time_limit_kills_the_script() {
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("cgi-bin");
    std::fs::create_dir(&bin).unwrap();
    let script = bin.join("slow.sh");
    std::fs::write(
        &script,
        "#!/bin/sh\necho 'Content-Type: text/plain'\necho\necho started\nexec sleep 30\n",
    )
    .unwrap();
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let mut config = config(dir.path(), None);
    config.settings.cgi.enabled = true;
    config.cgi_timeout = Duration::from_millis(500);
    let server = Running::start(config, 1);
    let mut s = server.connect();
    let started = Instant::now();
    s.write_all(b"GET /cgi-bin/slow.sh HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).unwrap();
    let out = String::from_utf8_lossy(&out);
    assert!(
        out.starts_with("HTTP/1.1 200 Script output follows\r\n"),
        "{out}"
    );
    assert!(out.ends_with("started\n"), "{out}");
    assert!(started.elapsed() < Duration::from_secs(5));
    server.stop();
}

#[test]
fn stop_refuses_new_connections_and_finishes_responses() {
    let dir = tempfile::tempdir().unwrap();
    let server = Running::start(config(dir.path(), Some(echo())), 2);
    let mut busy = server.connect();
    let n = 32 << 20;
    busy.write_all(format!("GET /big/{n} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes())
        .unwrap();
    let mut idle = server.connect();
    idle.write_all(b"GET /big/1 HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    read_response(&mut idle);
    // Let the big response start, then stop while it is in flight.
    let mut first = [0u8; 1024];
    busy.read_exact(&mut first).unwrap();
    server.stop.stop();
    // The idle keep-alive connection is closed.
    let mut rest = Vec::new();
    idle.read_to_end(&mut rest).unwrap();
    assert!(rest.is_empty());
    // New connections are refused once the listeners are gone.
    std::thread::sleep(Duration::from_millis(200));
    assert!(TcpStream::connect(server.addr).is_err());
    // The in-flight response completes.
    let mut body = Vec::new();
    busy.read_to_end(&mut body).unwrap();
    let total = first.len() + body.len();
    assert!(total > n, "got {total} bytes");
    server.thread.join().unwrap().unwrap();
}

#[test]
fn embedded_service_shares_the_poll() {
    use mio::net::UdpSocket;
    use mio::{Events, Interest, Poll, Token};

    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("f"), b"embedded").unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let mut poll = Poll::new().unwrap();
    let mut udp = UdpSocket::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let udp_addr = udp.local_addr().unwrap();
    poll.registry()
        .register(&mut udp, Token(7), Interest::READABLE)
        .unwrap();
    let mut http = embedded(listener, config(dir.path(), None), &poll);
    let addr = http.local_addr();
    let client = std::thread::spawn(move || {
        let sock = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        sock.send_to(b"dgram", udp_addr).unwrap();
        let mut s = TcpStream::connect(addr).unwrap();
        s.write_all(b"GET /f HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .unwrap();
        s.shutdown(Shutdown::Write).unwrap();
        let mut out = Vec::new();
        s.read_to_end(&mut out).unwrap();
        out
    });
    let mut events = Events::with_capacity(64);
    let mut got_udp = false;
    let deadline = Instant::now() + Duration::from_secs(10);
    while !client.is_finished() || !got_udp {
        assert!(Instant::now() < deadline, "timed out");
        let timeout = http
            .poll_timeout()
            .map_or(Duration::from_millis(50), |at| {
                at.saturating_duration_since(Instant::now())
            })
            .min(Duration::from_millis(50));
        poll.poll(&mut events, Some(timeout)).unwrap();
        for event in &events {
            if !http.handle_event(poll.registry(), event) {
                assert_eq!(event.token(), Token(7));
                let mut buf = [0u8; 64];
                let (n, _) = udp.recv_from(&mut buf).unwrap();
                assert_eq!(&buf[..n], b"dgram");
                got_udp = true;
            }
        }
        http.handle_timeout(poll.registry(), Instant::now());
    }
    let out = client.join().unwrap();
    assert!(out.ends_with(b"\r\n\r\nembedded"), "{out:?}");
    http.shutdown(poll.registry());
    assert!(http.is_stopped());
}

/// A deadline that `handle_timeout` finds due is due for the connection's turn too, even when
/// the round's clock reading was taken before (events were handled first) or the embedder's
/// `now` runs ahead: the idle connection closes and the call returns (it used to re-arm the
/// deadline and pop it again forever).
#[test]
fn deadlines_due_at_handle_timeout_fire_whatever_the_round_read() {
    use mio::{Events, Poll};

    let dir = tempfile::tempdir().unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let mut poll = Poll::new().unwrap();
    let mut http = embedded(listener, config(dir.path(), None), &poll);
    let mut client = TcpStream::connect(http.local_addr()).unwrap();
    client
        .write_all(b"GET /missing HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut events = Events::with_capacity(16);
    let deadline = Instant::now() + Duration::from_secs(10);
    // Until the response went out: the connection is then idle, its idle deadline armed.
    client
        .set_read_timeout(Some(Duration::from_millis(20)))
        .unwrap();
    let mut answer = Vec::new();
    while !answer.ends_with(b"</html>\n") {
        assert!(Instant::now() < deadline, "no answer");
        round(&mut http, &mut poll, &mut events);
        let mut buf = [0; 4096];
        if let Ok(n) = client.read(&mut buf) {
            answer.extend_from_slice(&buf[..n]);
        }
    }
    assert_eq!(http.connections(), 1);
    // An hour on: every deadline is due. Handled on a thread of its own, so a loop fails
    // the test instead of hanging it.
    let done = std::thread::spawn(move || {
        http.handle_timeout(poll.registry(), Instant::now() + Duration::from_secs(3600));
        http.connections()
    });
    let waited = Instant::now();
    while !done.is_finished() {
        assert!(
            waited.elapsed() < Duration::from_secs(10),
            "handle_timeout never returned"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(done.join().unwrap(), 0, "the idle connection timed out");
}

/// One server answers the handler's routes and serves files for the rest, on one connection.
#[test]
fn handler_routes_and_files_side_by_side() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("files")).unwrap();
    std::fs::write(dir.path().join("files/a.txt"), b"from disk").unwrap();
    let server = Running::start(config(dir.path(), Some(echo())), 1);
    let mut s = server.connect();
    for _ in 0..3 {
        s.write_all(b"GET /files/a.txt HTTP/1.1\r\nHost: x\r\n\r\n")
            .unwrap();
        assert_eq!(read_response(&mut s).1, b"from disk");
        s.write_all(b"GET /big/4 HTTP/1.1\r\nHost: x\r\n\r\n")
            .unwrap();
        assert_eq!(read_response(&mut s).1, b"xxxx");
    }
    server.stop();
}

/// With no handler threads the handler runs on the loop, and still streams a body larger
/// than the send queue and reads an upload larger than one chunk.
#[test]
fn handlers_on_the_loop() {
    let dir = tempfile::tempdir().unwrap();
    let server = Running::start_with(config(dir.path(), Some(echo())), |server| {
        server.with_workers(1).with_handler_threads(0)
    });
    let mut s = server.connect();
    let n = 4 << 20;
    s.write_all(format!("GET /big/{n} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes())
        .unwrap();
    assert_eq!(read_response(&mut s).1.len(), n);
    let upload = vec![b'u'; 1 << 20];
    s.write_all(
        format!(
            "POST /e HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n",
            upload.len()
        )
        .as_bytes(),
    )
    .unwrap();
    s.write_all(&upload).unwrap();
    assert_eq!(read_response(&mut s).1, upload);
    server.stop();
}

/// At the cap, the connection idle the longest makes room for a new client.
#[test]
fn at_the_cap_the_longest_idle_connection_goes() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.txt"), b"abc").unwrap();
    let mut config = config(dir.path(), None);
    config.max_connections = 2;
    let server = Running::start(config, 1);
    let mut first = server.connect();
    first
        .write_all(b"GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    read_response(&mut first);
    std::thread::sleep(Duration::from_millis(20));
    let mut second = server.connect();
    second
        .write_all(b"GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    read_response(&mut second);
    let mut third = server.connect();
    third
        .write_all(b"GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    assert_eq!(read_response(&mut third).1, b"abc");
    let mut rest = Vec::new();
    first.read_to_end(&mut rest).unwrap();
    assert!(rest.is_empty(), "{rest:?}");
    second
        .write_all(b"GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    assert_eq!(read_response(&mut second).1, b"abc");
    server.stop();
}

/// A connection whose request was read in a poll is busy from then on, though its request is
/// planned only at `handle_timeout`: a client accepted later in the same poll, at the cap,
/// makes room by closing a connection that is really idle.
#[test]
fn at_the_cap_a_connection_read_ahead_is_not_taken_for_idle() {
    use mio::{Events, Poll};

    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.txt"), b"abc").unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let mut poll = Poll::new().unwrap();
    let mut config = config(dir.path(), None);
    config.max_connections = 2;
    let mut http = embedded(listener, config, &poll);
    let mut events = Events::with_capacity(16);
    let mut turn = |http: &mut HttpService| round(http, &mut poll, &mut events);
    let addr = http.local_addr();
    // Two idle connections; the first has been idle the longest.
    let mut first = TcpStream::connect(addr).unwrap();
    while http.connections() < 1 {
        turn(&mut http);
    }
    std::thread::sleep(Duration::from_millis(20));
    let mut second = TcpStream::connect(addr).unwrap();
    while http.connections() < 2 {
        turn(&mut http);
    }
    // The first one's request, then a third client: one poll reports both, in that order.
    first
        .write_all(b"GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut third = TcpStream::connect(addr).unwrap();
    std::thread::sleep(Duration::from_millis(20));
    for stream in [&first, &second, &third] {
        stream
            .set_read_timeout(Some(Duration::from_millis(20)))
            .unwrap();
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut answer = Vec::new();
    let mut second_closed = false;
    while !(answer.ends_with(b"abc") && second_closed) {
        assert!(
            Instant::now() < deadline,
            "answer {answer:?}, second closed {second_closed}"
        );
        turn(&mut http);
        let mut buf = [0; 4096];
        match first.read(&mut buf) {
            Ok(0) => panic!("the busy connection was closed"),
            Ok(n) => answer.extend_from_slice(&buf[..n]),
            Err(_) => {}
        }
        second_closed |= matches!(second.read(&mut buf), Ok(0));
    }
    // The third client is served.
    third
        .write_all(b"GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut answer = Vec::new();
    while !answer.ends_with(b"abc") {
        assert!(Instant::now() < deadline, "third: {answer:?}");
        turn(&mut http);
        let mut buf = [0; 4096];
        if let Ok(n) = third.read(&mut buf) {
            answer.extend_from_slice(&buf[..n]);
        }
    }
}

/// Scripts one after another, each fed its request body and read to the end: the pipes of
/// each are registered afresh (their descriptor numbers are the previous one's).
#[test]
fn cgi_scripts_one_after_another() {
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("cgi-bin");
    std::fs::create_dir(&bin).unwrap();
    let script = bin.join("hi.sh");
    std::fs::write(
        &script,
        "#!/bin/sh\nread line\necho 'Content-Type: text/plain'\necho\necho \"got $line\"\n",
    )
    .unwrap();
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let mut config = config(dir.path(), None);
    config.settings.cgi.enabled = true;
    let server = Running::start(config, 1);
    for i in 0..5 {
        let mut s = server.connect();
        s.write_all(
            format!("POST /cgi-bin/hi.sh HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{i}\n")
                .as_bytes(),
        )
        .unwrap();
        let mut out = Vec::new();
        s.read_to_end(&mut out).unwrap();
        let out = String::from_utf8_lossy(&out);
        assert!(out.ends_with(&format!("\r\n\r\ngot {i}\n")), "{out}");
    }
    server.stop();
}
