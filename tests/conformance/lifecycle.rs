//! Concurrency and shutdown: 50 concurrent clients, idle keep-alive connections, SIGTERM
//! letting an in-flight download finish, SIGINT/SIGTERM when idle, the banner and port 0, and
//! garbage input that must never crash the server.

use std::ffi::OsString;
use std::io::Read;
use std::net::TcpStream;
use std::sync::{Arc, Barrier};
use std::time::Duration;

use crate::common::fixture::{self, Fixture};
use crate::common::{self, Conn, Server, get};
use crate::support::{Env, read_head};

fn concurrent_clients(rt: &'static str) {
    let env = Env::new(rt, &[]);
    let addr = env.addr();
    let barrier = Arc::new(Barrier::new(50));
    let big = Arc::new(fixture::big_bytes());
    let handles: Vec<_> = (0..50)
        .map(|i| {
            let barrier = Arc::clone(&barrier);
            let big = Arc::clone(&big);
            std::thread::spawn(move || {
                barrier.wait();
                if i % 2 == 0 {
                    let r = get(addr, "/big.bin");
                    assert!(
                        r.code == 200 && r.body == *big,
                        "client {i}: 1 MiB download"
                    );
                } else {
                    let r = get(addr, "/sub/");
                    assert_eq!(r.code, 200, "client {i}: listing");
                }
            })
        })
        .collect();
    for h in handles {
        h.join().expect("client thread failed");
    }
    env.finish();
}

fn concurrent_idle_keep_alive(rt: &'static str) {
    // 50 open keep-alive connections at once: serving one must not wait for another.
    let env = Env::new(rt, &["-p", "HTTP/1.1"]);
    let mut conns: Vec<Conn> = (0..50).map(|_| Conn::open(env.addr())).collect();
    for conn in conns.iter_mut().rev() {
        conn.send(b"GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n");
        assert_eq!(conn.read_response(false).body, fixture::A_TXT);
    }
    for conn in &mut conns {
        conn.send(b"GET /test HTTP/1.1\r\nHost: x\r\n\r\n");
    }
    for conn in &mut conns {
        assert_eq!(conn.read_response(false).body, fixture::TEST);
    }
    drop(conns);
    env.finish();
}

fn sigterm_graceful(rt: &'static str) {
    let fx = Fixture::with_sparse();
    let mut server = Server::start(rt, &fx.root, &[]);
    let addr = server.addr;
    // Start a 100 MiB download and stall it (the socket buffers fill up).
    let mut conn = Conn::open(addr);
    conn.send(b"GET /sparse.bin HTTP/1.0\r\n\r\n");
    let head = read_head(&mut conn);
    assert_eq!(head.code, 200);
    let mut first = vec![0u8; 4096];
    conn.stream.read_exact(&mut first).unwrap();
    std::thread::sleep(Duration::from_millis(200));
    server.signal(rustix::process::Signal::TERM);
    // New connections are refused soon after.
    let refused = (0..100).any(|_| {
        std::thread::sleep(Duration::from_millis(50));
        TcpStream::connect_timeout(&addr, Duration::from_secs(1)).is_err()
    });
    assert!(refused, "new connections still accepted 5 s after SIGTERM");
    assert!(
        server.wait_exit(Duration::from_millis(100)).is_none(),
        "exited before the in-flight download finished"
    );
    // The in-flight download completes.
    let mut hash = common::fnv1a(&first, common::FNV_OFFSET);
    let (rest_len, _) = {
        let mut total = first.len() as u64;
        let mut buf = vec![0u8; 1 << 16];
        loop {
            match conn.stream.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    hash = common::fnv1a(&buf[..n], hash);
                    total += n as u64;
                }
                Err(e) => panic!("download broke after {total} bytes: {e}"),
            }
        }
        (total, hash)
    };
    assert_eq!(
        (rest_len, hash),
        fixture::sparse_checksum(),
        "download across SIGTERM: (length, fnv1a)"
    );
    let status = server
        .wait_exit(Duration::from_secs(10))
        .expect("server did not exit after the download");
    let stderr = server.stderr();
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(
        status.code(),
        Some(0),
        "exit status after SIGTERM; stderr:\n{stderr}"
    );
}

fn sigint_and_sigterm_idle(rt: &'static str) {
    for signal in [rustix::process::Signal::INT, rustix::process::Signal::TERM] {
        let fx = Fixture::new();
        let mut server = Server::start(rt, &fx.root, &[]);
        assert_eq!(get(server.addr, "/a.txt").code, 200);
        // An idle keep-alive connection must not hold up the exit forever.
        let _idle = TcpStream::connect(server.addr).unwrap();
        server.signal(signal);
        let status = server
            .wait_exit(Duration::from_secs(10))
            .unwrap_or_else(|| panic!("no exit 10 s after {signal:?}"));
        assert_eq!(
            status.code(),
            Some(0),
            "{signal:?}: stderr {}",
            server.stderr()
        );
        assert!(!server.stderr().contains("panicked"));
    }
}

fn banner_and_port_zero(rt: &'static str) {
    let fx = Fixture::new();
    let argv: Vec<OsString> = ["0", "-b", "127.0.0.1", "--runtime", rt, "-d"]
        .iter()
        .map(OsString::from)
        .chain([fx.root.clone().into_os_string()])
        .collect();
    let server = Server::spawn(rt, &argv).unwrap_or_else(|e| panic!("port 0: {e:#?}"));
    assert_ne!(server.addr.port(), 0);
    assert_eq!(get(server.addr, "/a.txt").body, fixture::A_TXT);
    server.stop_clean();
    let env = Env::new(rt, &[]);
    let port = env.addr().port();
    assert_eq!(
        env.server.banner,
        format!("Serving HTTP on 127.0.0.1 port {port} (http://127.0.0.1:{port}/) ...")
    );
    env.finish();
}

/// Garbage must never crash the server: it keeps serving and never panics.
fn garbage_no_panic(rt: &'static str) {
    let env = Env::new(rt, &["-p", "HTTP/1.1"]);
    let inputs: &[&[u8]] = &[
        b"\x00\x00\x00\x00\r\n\r\n",
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", // a TLS ClientHello start
        b"GET /a.txt%00 HTTP/1.0\r\n\r\n",
        b"GET /%ed%a0%80 HTTP/1.0\r\n\r\n",
        b"GET /x%00/ HTTP/1.0\r\n\r\n",
        b"GET /a.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999\r\n\r\n",
        b"GET /a.txt HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        b"GET /a.txt HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffffff\r\n",
        b"GET /a.txt HTTP/1.0\r\nX: \xff\xfe\r\n\r\n",
        b"GET /\xff\xfe HTTP/1.0\r\n\r\n",
        b"GET /a.txt HTTP/1.0\rX: y\r\n\r\n",
        b"GET /a.txt HTTP/1.0\n\n",
        b"G",
        b"GET /a.txt HTTP/1.1\r\nHost: x\r\n",
        b" \t \r\n",
        b"\r\n\r\n\r\n",
    ];
    for input in inputs {
        let mut conn = Conn::open(env.addr());
        let _ = conn.try_send(input);
        conn.shutdown_write();
        let _ = conn.read_to_end();
    }
    // Closing mid-download.
    let mut conn = Conn::open(env.addr());
    conn.send(b"GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n");
    let _ = conn.read_exact_n(100);
    drop(conn);
    assert_eq!(
        get(env.addr(), "/a.txt").body,
        fixture::A_TXT,
        "still serving after garbage"
    );
    env.finish();
}

runtime_suite!([
    concurrent_clients,
    concurrent_idle_keep_alive,
    sigterm_graceful,
    sigint_and_sigterm_idle,
    banner_and_port_zero,
    garbage_no_panic,
]);
