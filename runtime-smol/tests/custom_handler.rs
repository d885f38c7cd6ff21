//! A user handler on the smol runtime, over real sockets: it runs off the executor, reads
//! request bodies (plain and chunked), writes large bodies under backpressure, loses only its
//! connection when it panics; and a graceful stop closes idle connections, refuses new ones
//! and returns from `serve_forever`.
//!
//! (Files and CGI are covered for every runtime by the workspace's conformance suite.)

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use handler::exchange::{Exchange, Handler};
use runtime_smol::{SmolServer, StopHandle};
use serve::{Facts, ServerConfig};

const BIG: usize = 4 << 20;

struct Echo;

impl Handler for Echo {
    fn do_get(&self, ex: &mut Exchange<'_>) -> io::Result<()> {
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

struct Running {
    addr: SocketAddr,
    stop: StopHandle,
    thread: JoinHandle<io::Result<()>>,
}

/// A server on its own thread: `handler_threads` as [`SmolServer::with_handler_threads`].
fn start(handler_threads: usize) -> Running {
    let mut settings = handler::Settings::new(".");
    settings.protocol_version = "HTTP/1.1".into();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let facts = Facts::new(listener.local_addr().unwrap(), "localhost");
    let mut config = ServerConfig::new(settings, facts);
    let mut protocol = protocol::Config::default();
    protocol.protocol_version = "HTTP/1.1".into();
    config.protocol = Arc::new(protocol);
    config.routes = Some(Arc::new(Echo));
    let server = SmolServer::new(listener, Arc::new(config))
        .unwrap()
        .with_workers(2)
        .with_handler_threads(handler_threads);
    let addr = server.local_addr();
    let stop = server.stop_handle();
    let thread = std::thread::spawn(move || server.serve_forever());
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

#[test]
fn handler_reads_and_writes_on_its_threads() {
    exchanges(start(2));
}

#[test]
fn handler_reads_and_writes_on_the_blocking_pool() {
    exchanges(start(0));
}

fn exchanges(server: Running) {
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
    server.stop.stop();
    server.thread.join().unwrap().unwrap();
}

#[test]
fn a_panicking_handler_loses_only_its_connection() {
    let server = start(2);
    let mut conn = connect(server.addr);
    conn.write_all(b"DELETE / HTTP/1.1\r\nHost: h\r\n\r\n")
        .unwrap();
    assert!(closed(&mut conn), "no reply, connection closed");
    let mut conn = connect(server.addr);
    conn.write_all(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n")
        .unwrap();
    assert_eq!(read_response(&mut conn).1, b"you asked for /\n");
    drop(conn);
    server.stop.stop();
    server.thread.join().unwrap().unwrap();
}

#[test]
fn stop_closes_idle_connections_and_refuses_new_ones() {
    let server = start(2);
    let mut idle = connect(server.addr);
    idle.write_all(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n")
        .unwrap();
    read_response(&mut idle);
    server.stop.stop();
    assert!(
        closed(&mut idle),
        "an idle keep-alive connection closes on stop"
    );
    drop(idle);
    server.thread.join().unwrap().unwrap();
    assert!(TcpStream::connect(server.addr).is_err(), "listener closed");
}
