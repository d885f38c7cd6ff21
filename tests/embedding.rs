//! Your own handler, embedded on every runtime, over real sockets: it runs off the event loop,
//! reads request bodies (by length, chunked, large, after 100-continue), writes large bodies
//! under backpressure, and loses only its connection when it panics; at the cap the
//! longest-idle connection makes room; a graceful stop closes idle connections, lets a busy
//! one finish, refuses new ones and returns from `serve_forever`. Then what only one runtime
//! has: std's `HttpServer` (one connection at a time), smol's handlers on its blocking pool,
//! mio's handlers on the loop.
//!
//! Each runtime is started through its own embedding API (not the CLI), with the same
//! `serve::ServerConfig`. Files and CGI are covered for every runtime by the conformance suite.

#[macro_use]
mod common;

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use handler::exchange::{Exchange, Handler};

const BIG: usize = 4 << 20;

struct Echo;

impl Handler for Echo {
    fn do_get(&self, ex: &mut Exchange<'_>) -> io::Result<()> {
        if ex.path() == "/slow" {
            std::thread::sleep(Duration::from_millis(500));
        }
        let body = format!("you asked for {}\n", ex.path());
        ex.send_response(200, None);
        ex.send_header("Content-Length", &body.len().to_string());
        ex.end_headers()?;
        ex.wfile().write_all(body.as_bytes())
    }

    fn do_post(&self, ex: &mut Exchange<'_>) -> io::Result<()> {
        let mut body = Vec::new();
        ex.rfile().read_to_end(&mut body)?;
        ex.send_response(200, None);
        ex.send_header("Content-Length", &body.len().to_string());
        ex.end_headers()?;
        ex.wfile().write_all(&body)
    }

    fn do_put(&self, ex: &mut Exchange<'_>) -> io::Result<()> {
        ex.send_response(200, None);
        ex.send_header("Content-Length", &BIG.to_string());
        ex.end_headers()?;
        let chunk = vec![b'x'; 64 * 1024];
        for _ in 0..BIG / chunk.len() {
            ex.wfile().write_all(&chunk)?;
        }
        Ok(())
    }

    fn do_delete(&self, _ex: &mut Exchange<'_>) -> io::Result<()> {
        panic!("a handler bug");
    }
}

/// A server on a thread of its own, and how to stop it.
struct Running {
    addr: SocketAddr,
    stop: StopFn,
    thread: JoinHandle<io::Result<()>>,
}

impl Running {
    fn stop(&self) {
        (self.stop)();
    }
}

/// What a test varies.
#[derive(Clone, Copy)]
struct Options {
    max_connections: usize,
    /// Threads for handlers (smol, mio); 0: smol's blocking pool, mio's loop.
    handler_threads: usize,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            max_connections: 64,
            handler_threads: 2,
        }
    }
}

fn config(options: &Options) -> Arc<serve::ServerConfig> {
    let facts = serve::Facts::new("127.0.0.1:0".parse().unwrap(), "localhost");
    let mut settings = handler::Settings::new(".");
    settings.protocol_version = "HTTP/1.1".into();
    let mut config = serve::ServerConfig::new(settings, facts);
    let mut protocol = protocol::Config::default();
    protocol.protocol_version = "HTTP/1.1".into();
    config.protocol = Arc::new(protocol);
    config.routes = Some(Arc::new(Echo));
    config.max_connections = options.max_connections;
    Arc::new(config)
}

fn listener() -> TcpListener {
    sys::listener::bind("127.0.0.1:0".parse().unwrap(), 128, false).unwrap()
}

/// Stops a server from another thread.
type StopFn = Box<dyn Fn() + Send + Sync>;
/// Serves until stopped.
type ServeFn = Box<dyn FnOnce() -> io::Result<()> + Send>;

/// Starts runtime `rt` with `options`, through its own API.
fn start(rt: &str, options: Options) -> Running {
    let config = config(&options);
    let (addr, stop, serve): (SocketAddr, StopFn, ServeFn) = match rt {
        "std" => {
            let server = runtime_std::ThreadingHttpServer::new(listener(), config).unwrap();
            let stop = server.stop_handle();
            (
                server.local_addr(),
                Box::new(move || stop.stop()),
                Box::new(move || server.serve_forever()),
            )
        }
        "smol" => {
            let server = runtime_smol::SmolServer::new(listener(), config)
                .unwrap()
                .with_workers(2)
                .with_handler_threads(options.handler_threads);
            let stop = server.stop_handle();
            (
                server.local_addr(),
                Box::new(move || stop.stop()),
                Box::new(move || server.serve_forever()),
            )
        }
        "mio" => {
            let server = runtime_mio::MioServer::new(listener(), config)
                .unwrap()
                .with_workers(1)
                .with_handler_threads(options.handler_threads);
            let stop = server.stop_handle();
            (
                server.local_addr(),
                Box::new(move || stop.stop()),
                Box::new(move || server.serve_forever()),
            )
        }
        other => panic!("no runtime {other}"),
    };
    let thread = std::thread::spawn(serve);
    Running { addr, stop, thread }
}

fn connect(addr: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream
}

/// Reads one response framed by Content-Length: (head, body).
fn read_response(stream: &mut TcpStream) -> (String, Vec<u8>) {
    let mut data = Vec::new();
    let mut byte = [0; 1];
    while !data.ends_with(b"\r\n\r\n") {
        assert_eq!(stream.read(&mut byte).unwrap(), 1, "closed inside a head");
        data.push(byte[0]);
    }
    let head = String::from_utf8(data).unwrap();
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("Content-Length: "))
        .map_or(0, |v| v.trim().parse().unwrap());
    let mut body = vec![0; length];
    stream.read_exact(&mut body).unwrap();
    (head, body)
}

fn closed(stream: &mut TcpStream) -> bool {
    let mut buf = [0; 64];
    matches!(stream.read(&mut buf), Ok(0) | Err(_))
}

fn handler_reads_and_writes(rt: &'static str) {
    let server = start(rt, Options::default());
    let mut conn = connect(server.addr);
    conn.write_all(b"GET /x?y HTTP/1.1\r\nHost: h\r\n\r\n")
        .unwrap();
    let (head, body) = read_response(&mut conn);
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
    assert_eq!(body, b"you asked for /x?y\n");

    // Same connection: a body by length, then a chunked one, then one after 100-continue.
    conn.write_all(b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello")
        .unwrap();
    assert_eq!(read_response(&mut conn).1, b"hello");
    conn.write_all(
        b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n",
    )
    .unwrap();
    assert_eq!(read_response(&mut conn).1, b"abcde");
    conn.write_all(
        b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n",
    )
    .unwrap();
    let mut line = [0; 25];
    conn.read_exact(&mut line).unwrap();
    assert_eq!(&line, b"HTTP/1.1 100 Continue\r\n\r\n");
    conn.write_all(b"xyz").unwrap();
    assert_eq!(read_response(&mut conn).1, b"xyz");

    // A large body the client reads slowly: the handler is paced, every byte arrives.
    conn.write_all(b"PUT / HTTP/1.1\r\nHost: h\r\n\r\n")
        .unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let (_, body) = read_response(&mut conn);
    assert_eq!(body.len(), BIG);
    assert!(body.iter().all(|&b| b == b'x'));

    // Closed first, so the server's lingering close has nothing to wait for.
    drop(conn);
    server.stop();
    server.thread.join().unwrap().unwrap();
}

fn a_panicking_handler_loses_only_its_connection(rt: &'static str) {
    let server = start(rt, Options::default());
    let mut conn = connect(server.addr);
    conn.write_all(b"DELETE / HTTP/1.1\r\nHost: h\r\n\r\n")
        .unwrap();
    assert!(closed(&mut conn), "no reply, connection closed");
    let mut conn = connect(server.addr);
    conn.write_all(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n")
        .unwrap();
    assert_eq!(read_response(&mut conn).1, b"you asked for /\n");
    drop(conn);
    server.stop();
    server.thread.join().unwrap().unwrap();
}

fn stop_closes_idle_connections_and_refuses_new_ones(rt: &'static str) {
    let server = start(rt, Options::default());
    let mut idle = connect(server.addr);
    idle.write_all(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n")
        .unwrap();
    read_response(&mut idle);
    server.stop();
    assert!(
        closed(&mut idle),
        "an idle keep-alive connection closes on stop"
    );
    drop(idle);
    server.thread.join().unwrap().unwrap();
    assert!(TcpStream::connect(server.addr).is_err(), "listener closed");
}

fn a_large_request_body_reaches_the_handler_whole(rt: &'static str) {
    let server = start(rt, Options::default());
    let mut conn = connect(server.addr);
    let body: Vec<u8> = (0..2_000_000u32).map(|i| (i % 251) as u8).collect();
    let writer = {
        let mut conn = conn.try_clone().unwrap();
        let body = body.clone();
        std::thread::spawn(move || {
            let head = format!(
                "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: {}\r\n\r\n",
                body.len()
            );
            conn.write_all(head.as_bytes()).unwrap();
            conn.write_all(&body).unwrap();
        })
    };
    let (head, echoed) = read_response(&mut conn);
    writer.join().unwrap();
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
    assert!(echoed == body, "the body came back changed");
    drop(conn);
    server.stop();
    server.thread.join().unwrap().unwrap();
}

fn at_the_cap_the_longest_idle_connection_makes_room(rt: &'static str) {
    let server = start(
        rt,
        Options {
            max_connections: 2,
            ..Options::default()
        },
    );
    let mut first = connect(server.addr);
    first
        .write_all(b"GET /1 HTTP/1.1\r\nHost: h\r\n\r\n")
        .unwrap();
    read_response(&mut first);
    // A connection turns idle in the roster a moment after its response is out.
    std::thread::sleep(Duration::from_millis(200));
    let mut second = connect(server.addr);
    second
        .write_all(b"GET /2 HTTP/1.1\r\nHost: h\r\n\r\n")
        .unwrap();
    read_response(&mut second);
    std::thread::sleep(Duration::from_millis(200));
    // Both idle: a third client is answered at once, and the longest idle goes.
    let mut third = connect(server.addr);
    third
        .write_all(b"GET /3 HTTP/1.1\r\nHost: h\r\n\r\n")
        .unwrap();
    assert_eq!(read_response(&mut third).1, b"you asked for /3\n");
    assert!(closed(&mut first), "the longest-idle connection was closed");
    second
        .write_all(b"GET /2 HTTP/1.1\r\nHost: h\r\n\r\n")
        .unwrap();
    assert_eq!(read_response(&mut second).1, b"you asked for /2\n");
    drop((second, third));
    server.stop();
    server.thread.join().unwrap().unwrap();
}

fn stop_lets_a_busy_connection_finish(rt: &'static str) {
    let server = start(rt, Options::default());
    let mut busy = connect(server.addr);
    busy.write_all(b"GET /slow HTTP/1.1\r\nHost: h\r\n\r\n")
        .unwrap();
    std::thread::sleep(Duration::from_millis(100));
    server.stop();
    let (head, body) = read_response(&mut busy);
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
    assert_eq!(body, b"you asked for /slow\n");
    assert!(closed(&mut busy), "closed after its response");
    assert!(TcpStream::connect(server.addr).is_err(), "listener closed");
    server.thread.join().unwrap().unwrap();
}

/// smol with no handler threads of its own: handlers run on its blocking pool.
#[test]
fn smol_handlers_on_the_blocking_pool() {
    common::on_runtime("smol", handlers_without_threads);
}

/// mio with no handler threads: handlers run on the reactor's loop.
#[test]
fn mio_handlers_on_the_loop() {
    common::on_runtime("mio", handlers_without_threads);
}

fn handlers_without_threads(rt: &'static str) {
    let server = start(
        rt,
        Options {
            handler_threads: 0,
            ..Options::default()
        },
    );
    let mut conn = connect(server.addr);
    conn.write_all(b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello")
        .unwrap();
    assert_eq!(read_response(&mut conn).1, b"hello");
    drop(conn);
    server.stop();
    server.thread.join().unwrap().unwrap();
}

/// std's `HttpServer`: one connection at a time, as Python's.
#[test]
fn http_server_serves_one_connection_at_a_time() {
    common::on_runtime("std", one_connection_at_a_time);
}

fn one_connection_at_a_time(_: &'static str) {
    let server = runtime_std::HttpServer::new(listener(), config(&Options::default())).unwrap();
    let addr = server.local_addr();
    let stop = server.stop_handle();
    let thread = std::thread::spawn(move || server.serve_forever());
    let mut first = connect(addr);
    first
        .write_all(b"GET /1 HTTP/1.1\r\nHost: h\r\n\r\n")
        .unwrap();
    read_response(&mut first);
    // The second client waits in the backlog while the first is open.
    let mut second = connect(addr);
    second
        .write_all(b"GET /2 HTTP/1.1\r\nHost: h\r\n\r\n")
        .unwrap();
    second
        .set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    let mut byte = [0; 1];
    assert!(
        second.read(&mut byte).is_err(),
        "answered while the first was open"
    );
    second
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let started = Instant::now();
    drop(first);
    assert_eq!(read_response(&mut second).1, b"you asked for /2\n");
    assert!(started.elapsed() < Duration::from_secs(5));
    drop(second);
    stop.stop();
    thread.join().unwrap().unwrap();
}

runtime_suite!([
    handler_reads_and_writes,
    a_panicking_handler_loses_only_its_connection,
    stop_closes_idle_connections_and_refuses_new_ones,
    a_large_request_body_reaches_the_handler_whole,
    at_the_cap_the_longest_idle_connection_makes_room,
    stop_lets_a_busy_connection_finish,
]);
