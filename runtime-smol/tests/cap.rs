//! The connection cap on the smol runtime: at the cap, the connection idle the longest is
//! closed from outside (its socket shut down under its task) to make room, and the new
//! client is answered at once.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::Duration;

use runtime_smol::SmolServer;
use serve::{Facts, ServerConfig};

fn get(stream: &mut TcpStream) -> bool {
    if stream
        .write_all(b"GET /hello.txt HTTP/1.1\r\nHost: h\r\n\r\n")
        .is_err()
    {
        return false;
    }
    let mut head = Vec::new();
    let mut byte = [0; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match stream.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            _ => return false,
        }
    }
    let text = String::from_utf8(head).unwrap();
    let length: usize = text
        .lines()
        .find_map(|l| l.strip_prefix("Content-Length: "))
        .map_or(0, |v| v.trim().parse().unwrap());
    let mut body = vec![0; length];
    stream.read_exact(&mut body).is_ok()
}

fn connect(addr: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream
}

#[test]
fn at_the_cap_the_longest_idle_connection_makes_room() {
    let root = tempfile::tempdir().unwrap();
    // A file (an error page would close its connection: not idle, not evictable).
    std::fs::write(root.path().join("hello.txt"), "hello\n").unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let mut settings = handler::Settings::new(root.path());
    settings.protocol_version = "HTTP/1.1".into();
    let mut config = ServerConfig::new(settings, Facts::new(addr, "localhost"));
    let mut protocol = protocol::Config::default();
    protocol.protocol_version = "HTTP/1.1".into();
    config.protocol = Arc::new(protocol);
    config.max_connections = 2;
    let server = SmolServer::new(listener, Arc::new(config))
        .unwrap()
        .with_workers(1);
    let stop = server.stop_handle();
    let thread = std::thread::spawn(move || server.serve_forever());

    let mut oldest = connect(addr);
    assert!(get(&mut oldest));
    std::thread::sleep(Duration::from_millis(50));
    let mut newer = connect(addr);
    assert!(get(&mut newer));
    // The third client is served; the oldest idle connection was closed for it.
    let mut third = connect(addr);
    assert!(get(&mut third), "the new client is answered");
    let mut buf = [0; 16];
    assert!(
        matches!(oldest.read(&mut buf), Ok(0) | Err(_)),
        "the longest-idle connection was closed"
    );
    assert!(get(&mut newer), "the other one still serves");

    drop((oldest, newer, third));
    stop.stop();
    thread.join().unwrap().unwrap();
}
