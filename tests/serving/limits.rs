//! The connection cap degrades as nginx's does: at the cap, the connection idle the longest
//! makes room for a new client, so idle keep-alive clients cannot lock anyone out. Running
//! out of descriptors is a 503 the client may retry, never a 404.

use std::ffi::OsString;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::common::fixture::{self, Fixture};
use crate::common::{BIN, Conn, Server, connect, get};

/// At `--max-connections 8` with eight idle keep-alive clients, a ninth is answered at once.
fn idle_connections_make_room(rt: &'static str) {
    let fx = Fixture::new();
    let server = Server::start(rt, &fx.root, &["-p", "HTTP/1.1", "--max-connections", "8"]);
    let mut idle: Vec<Conn> = (0..8)
        .map(|_| {
            let mut c = Conn::open(server.addr);
            c.send(b"GET /a.txt HTTP/1.1\r\nHost: h\r\n\r\n");
            assert_eq!(c.read_response(false).body, fixture::A_TXT);
            c
        })
        .collect();
    let start = Instant::now();
    let r = get(server.addr, "/a.txt");
    assert_eq!(r.body, fixture::A_TXT);
    assert!(
        start.elapsed() < Duration::from_secs(1),
        "{:?}",
        start.elapsed()
    );
    // An idle one made room: it is closed now. (Which one is the oldest of its reactor's: mio
    // shares the cap out between its reactors, and the kernel spreads connections over them.)
    std::thread::sleep(Duration::from_millis(200));
    let mut closed = 0;
    for conn in &mut idle {
        if conn.closed_within(Duration::from_millis(50)) {
            closed += 1;
        }
    }
    assert!(closed >= 1, "no idle connection made room");
    drop(idle);
    server.stop_clean();
}

/// 10,000 idle keep-alive connections with default flags, and a fresh client still answered
/// within 100 ms (mio and smol; needs 10,000 descriptors on both ends).
fn ten_thousand_idle_connections(rt: &'static str) {
    if rt == "std" {
        eprintln!("std keeps a thread per connection: skipped for 10,000 connections");
        return;
    }
    let want = 10_000u64;
    let limit = sys_fd_limit();
    if limit < want + 1000 {
        eprintln!("descriptor limit {limit}: skipped");
        return;
    }
    let fx = Fixture::new();
    let server = Server::start(rt, &fx.root, &["-p", "HTTP/1.1"]);
    let mut conns = Vec::with_capacity(want as usize);
    for _ in 0..want {
        let mut c = connect(server.addr);
        std::io::Write::write_all(&mut c, b"GET /a.txt HTTP/1.1\r\nHost: h\r\n\r\n").unwrap();
        conns.push(c);
    }
    // Every one got its answer (and is now idle).
    for c in &mut conns {
        let mut buf = [0u8; 512];
        let n = std::io::Read::read(c, &mut buf).unwrap();
        assert!(buf[..n].starts_with(b"HTTP/1.1 200"));
    }
    let start = Instant::now();
    let r = get(server.addr, "/a.txt");
    let elapsed = start.elapsed();
    assert_eq!(r.body, fixture::A_TXT);
    assert!(elapsed < Duration::from_millis(100), "{elapsed:?}");
    drop(conns);
    server.stop_clean();
}

/// Raises this process's soft descriptor limit to the hard one and returns it.
fn sys_fd_limit() -> u64 {
    use rustix::process::{Resource, getrlimit, setrlimit};
    let mut limit = getrlimit(Resource::Nofile);
    limit.current = limit.maximum;
    let _ = setrlimit(Resource::Nofile, limit);
    getrlimit(Resource::Nofile).current.unwrap_or(0)
}

/// Out of descriptors: a file that cannot be opened is `503` with `Retry-After`, not 404.
fn out_of_descriptors_is_503(rt: &'static str) {
    let fx = Fixture::new();
    let port = crate::common::free_port();
    let script = format!(
        "ulimit -n 48 && exec \"$0\" {port} -b 127.0.0.1 -d \"$1\" --runtime {rt} --workers 1 -p HTTP/1.1 --max-connections 1000"
    );
    let mut command = Command::new("/bin/sh");
    command
        .arg("-c")
        .arg(script)
        .arg(BIN)
        .arg(OsString::from(fx.root.clone()));
    let server = Server::spawn_command(command, rt, Duration::from_secs(15)).unwrap();
    let mut first = Conn::open(server.addr);
    // A listing: nothing stays open after it (a file would be kept open, and given back
    // when descriptors run out, which would let the next open succeed).
    first.send(b"GET /sub/ HTTP/1.1\r\nHost: h\r\n\r\n");
    assert_eq!(first.read_response(false).code, 200);
    // Take every descriptor the server has left.
    let hogs: Vec<_> = (0..60).map(|_| connect(server.addr)).collect();
    std::thread::sleep(Duration::from_millis(500));
    first.send(b"GET /a.txt HTTP/1.1\r\nHost: h\r\n\r\n");
    let r = first.read_response(false);
    assert_eq!(r.code, 503, "{}", r.describe());
    assert_eq!(r.header("retry-after"), Some("1"));
    drop(hogs);
    drop(first);
    server.stop_clean();
}

runtime_suite!([
    idle_connections_make_room,
    ten_thousand_idle_connections,
    out_of_descriptors_is_503,
]);
