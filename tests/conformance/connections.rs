//! Connections: HTTP/1.0 close, HTTP/1.1 keep-alive, pipelining, and request bodies
//! consumed rather than parsed as the next request.

use std::time::Duration;

use crate::common::Conn;
use crate::common::fixture;
use crate::support::{Env, LISTING_HEADERS, assert_error, assert_ok_file};

fn http10_closes(rt: &'static str) {
    let env = Env::new(rt, &[]);
    for req in [
        "GET /a.txt HTTP/1.0\r\n\r\n",
        "GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET /a.txt HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
        "GET /a.txt HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n\r\n",
    ] {
        let mut conn = Conn::open(env.addr());
        conn.send(req.as_bytes());
        let r = conn.read_response(false);
        assert_ok_file(&r, "HTTP/1.0", "text/plain", fixture::A_TXT);
        assert_eq!(
            r.header("Connection"),
            None,
            "no Connection header under HTTP/1.0"
        );
        assert!(
            conn.closed_within(Duration::from_secs(5)),
            "HTTP/1.0 server must close after {req:?}"
        );
    }
    env.finish();
}

fn keep_alive_sequential(rt: &'static str) {
    let env = Env::new(rt, &["-p", "HTTP/1.1"]);
    let mut conn = Conn::open(env.addr());
    for target in ["/a.txt", "/test", "/big.bin", "/a.txt"] {
        conn.send(format!("GET {target} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes());
        let r = conn.read_response(false);
        assert_eq!(
            r.status_line(),
            "HTTP/1.1 200 OK",
            "{target}: {}",
            r.describe()
        );
        assert_eq!(r.header("Connection"), None);
    }
    conn.send(b"HEAD /sub/ HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(conn.read_response(true).header_names(), LISTING_HEADERS);
    conn.send(b"GET /sub HTTP/1.1\r\nHost: x\r\n\r\n");
    let r = conn.read_response(false);
    assert_eq!((r.code, r.header("Location")), (301, Some("/sub/")));
    conn.send(b"GET /a.txt HTTP/1.1\r\nHost: x\r\nIf-Modified-Since: Sun, 09 Sep 2030 01:46:40 GMT\r\n\r\n");
    assert_eq!(conn.read_response(false).code, 304);
    assert!(
        !conn.closed_within(Duration::from_millis(300)),
        "keep-alive connection closed early"
    );
    conn.send(b"GET /a.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    let r = conn.read_response(false);
    assert_eq!(r.body, fixture::A_TXT);
    assert!(
        conn.closed_within(Duration::from_secs(5)),
        "Connection: close must close"
    );
    env.finish();
}

fn keep_alive_pipelined(rt: &'static str) {
    let env = Env::new(rt, &["-p", "HTTP/1.1"]);
    let mut conn = Conn::open(env.addr());
    conn.send(
        b"GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n\
          HEAD /big.bin HTTP/1.1\r\nHost: x\r\n\r\n\
          GET /sub HTTP/1.1\r\nHost: x\r\n\r\n\
          GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n\
          GET /emptydir/ HTTP/1.1\r\nHost: x\r\n\r\n\
          GET /test HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(conn.read_response(false).body, fixture::A_TXT);
    let r = conn.read_response(true);
    assert_eq!((r.code, r.header("Content-Length")), (200, Some("1048576")));
    assert_eq!(conn.read_response(false).code, 301);
    assert!(
        conn.read_response(false).body == fixture::big_bytes(),
        "pipelined 1 MiB body"
    );
    assert_eq!(
        conn.read_response(false).text(),
        fixture::empty_listing("/emptydir/")
    );
    assert_eq!(conn.read_response(false).body, fixture::TEST);
    assert!(conn.closed_within(Duration::from_secs(5)));
    // Requests split across writes byte by byte still parse.
    let mut conn = Conn::open(env.addr());
    for b in b"GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n" {
        conn.send(&[*b]);
    }
    assert_eq!(conn.read_response(false).body, fixture::A_TXT);
    // Body and next request in one write.
    let mut conn = Conn::open(env.addr());
    conn.send(b"GET /a.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhelloGET /test HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(conn.read_response(false).body, fixture::A_TXT);
    let r = conn.read_response(false);
    assert_eq!(
        (r.code, r.body.as_slice()),
        (200, fixture::TEST),
        "pipelined after a body: {}",
        r.describe()
    );
    env.finish();
}

fn keep_alive_rules(rt: &'static str) {
    let env = Env::new(rt, &["-p", "HTTP/1.1"]);
    // HTTP/1.0 request: HTTP/1.1 status line, then closed.
    let mut conn = Conn::open(env.addr());
    conn.send(b"GET /a.txt HTTP/1.0\r\n\r\n");
    assert_eq!(conn.read_response(false).status_line(), "HTTP/1.1 200 OK");
    assert!(
        conn.closed_within(Duration::from_secs(5)),
        "HTTP/1.0 request must close"
    );
    // HTTP/1.0 with Connection: keep-alive stays open.
    let mut conn = Conn::open(env.addr());
    conn.send(b"GET /a.txt HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    assert_eq!(conn.read_response(false).body, fixture::A_TXT);
    assert!(
        !conn.closed_within(Duration::from_millis(300)),
        "HTTP/1.0 keep-alive must stay open"
    );
    conn.send(b"GET /test HTTP/1.0\r\n\r\n");
    assert_eq!(conn.read_response(false).body, fixture::TEST);
    assert!(conn.closed_within(Duration::from_secs(5)));
    // An error closes, and a pipelined request after it is not answered.
    let mut conn = Conn::open(env.addr());
    conn.send(b"GET /nope HTTP/1.1\r\nHost: x\r\n\r\nGET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n");
    let r = conn.read_response(false);
    assert_error(
        &r,
        "HTTP/1.1",
        404,
        "File not found",
        "Nothing matches the given URI",
        false,
    );
    assert!(
        conn.closed_within(Duration::from_secs(5)),
        "an error must close the connection"
    );
    env.finish();
}

/// A request body is consumed, never parsed as the next request (DESIGN.md, framing). Each next
/// request is sent in its own write after the response, so this does not depend on pipelining.
fn request_bodies_consumed(rt: &'static str) {
    let env = Env::new(rt, &["-p", "HTTP/1.1"]);
    let mut conn = Conn::open(env.addr());
    let next = |conn: &mut Conn| {
        conn.send(b"GET /test HTTP/1.1\r\nHost: x\r\n\r\n");
        let r = conn.read_response(false);
        assert_eq!(
            (r.code, r.body.as_slice()),
            (200, fixture::TEST),
            "{}",
            r.describe()
        );
    };
    conn.send(b"GET /a.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello");
    assert_eq!(conn.read_response(false).body, fixture::A_TXT);
    next(&mut conn);
    conn.send(b"GET /a.txt HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n");
    assert_eq!(conn.read_response(false).body, fixture::A_TXT);
    next(&mut conn);
    // The body arrives after the head, in a later write.
    conn.send(b"GET /a.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n");
    std::thread::sleep(Duration::from_millis(100));
    conn.send(b"hello");
    assert_eq!(conn.read_response(false).body, fixture::A_TXT);
    next(&mut conn);
    env.finish();
}

/// `printf 'GET ...GET ...' | nc -N`: requests pipelined before the client closed its side are
/// all answered (as CPython answers what its buffer holds), then the connection closes.
fn pipelined_then_half_closed(rt: &'static str) {
    let env = Env::new(rt, &["-p", "HTTP/1.1"]);
    let mut conn = Conn::open(env.addr());
    conn.send(
        b"GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n\
          GET /test HTTP/1.1\r\nHost: x\r\n\r\n",
    );
    conn.shutdown_write();
    assert_eq!(conn.read_response(false).body, fixture::A_TXT);
    assert_eq!(conn.read_response(false).body, fixture::TEST);
    assert!(conn.closed_within(Duration::from_secs(5)));
}

runtime_suite!([
    http10_closes,
    keep_alive_sequential,
    keep_alive_pipelined,
    pipelined_then_half_closed,
    keep_alive_rules,
    request_bodies_consumed,
]);
