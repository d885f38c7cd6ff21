//! Errors: CPython's error pages for 404, unsupported methods, bad versions and request
//! syntax, HTTP/0.9, request-line and header limits, and framing (smuggling) errors that close.

use std::fmt::Write as _;
use std::time::Duration;

use crate::common::fixture;
use crate::common::{self, Conn, contains, exchange, get, request, show};
use crate::support::{Env, assert_404, assert_error, assert_http_date};

fn not_found_page(rt: &'static str) {
    let env = Env::new(rt, &[]);
    let r = get(env.addr(), "/nope");
    assert_404(&r);
    assert_eq!(r.header("Content-Length"), Some("460"));
    assert_http_date(r.header("Date").unwrap());
    // HTTP/1.1 request to the default server: still an HTTP/1.0 reply, closed.
    let r = request(env.addr(), b"GET /nope HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_404(&r);
    env.finish();
}

fn unsupported_methods(rt: &'static str) {
    let env = Env::new(rt, &[]);
    for (req, method) in [
        ("POST /a.txt HTTP/1.0\r\n\r\n", "POST"),
        ("PUT /a.txt HTTP/1.0\r\nContent-Length: 3\r\n\r\nabc", "PUT"),
        (
            "POST /a.txt HTTP/1.0\r\nContent-Length: 5\r\n\r\nhello",
            "POST",
        ),
        ("DELETE /a.txt HTTP/1.0\r\n\r\n", "DELETE"),
        ("OPTIONS * HTTP/1.0\r\n\r\n", "OPTIONS"),
        ("PATCH /a.txt HTTP/1.0\r\n\r\n", "PATCH"),
        ("TRACE / HTTP/1.0\r\n\r\n", "TRACE"),
        ("get /a.txt HTTP/1.0\r\n\r\n", "get"),
        ("GETs /a.txt HTTP/1.0\r\n\r\n", "GETs"),
        ("FOO / HTTP/1.0\r\n\r\n", "FOO"),
        ("custom / HTTP/1.0\r\n\r\n", "custom"),
    ] {
        let r = request(env.addr(), req.as_bytes());
        let message = format!("Unsupported method ('{method}')");
        assert_error(
            &r,
            "HTTP/1.0",
            501,
            &message,
            "Server does not support this operation",
            false,
        );
    }
    env.finish();
}

fn bad_versions(rt: &'static str) {
    let env = Env::new(rt, &[]);
    for version in [
        "HTTP/1.1.1",
        "FOO/1.0",
        "http/1.0",
        "HTTP/-9_9_9.+9_9_9",
        "HTTP/1.909876543210",
        "HTTP/909876543210.0",
        "FUBAR",
        "HTTP/9.9.9",
    ] {
        let r = request(
            env.addr(),
            format!("GET /a.txt {version}\r\n\r\n").as_bytes(),
        );
        let message = format!("Bad request version ('{version}')");
        assert_error(
            &r,
            "HTTP/1.0",
            400,
            &message,
            "Bad request syntax or unsupported method",
            true,
        );
    }
    for (version, shown) in [
        ("HTTP/2.0", "2.0"),
        ("HTTP/9.9", "9.9"),
        ("HTTP/3.0", "3.0"),
    ] {
        let r = request(
            env.addr(),
            format!("GET /a.txt {version}\r\n\r\n").as_bytes(),
        );
        let message = format!("Invalid HTTP version ({shown})");
        assert_error(
            &r,
            "HTTP/1.0",
            505,
            &message,
            "Cannot fulfill request",
            true,
        );
    }
    env.finish();
}

fn bad_request_syntax(rt: &'static str) {
    let env = Env::new(rt, &[]);
    for line in ["GET /a b.txt HTTP/1.0", "GET"] {
        let r = request(env.addr(), format!("{line}\r\n\r\n").as_bytes());
        let message = format!("Bad request syntax ('{line}')");
        assert_error(
            &r,
            "HTTP/1.0",
            400,
            &message,
            "Bad request syntax or unsupported method",
            true,
        );
    }
    // An empty line gets no reply. (CPython then closes; RFC 9112 lets a server skip empty
    // lines before a request line and wait, which DESIGN.md's strict parser does.)
    let (raw, _closed) = common::exchange_timeout(env.addr(), b"\r\n", Duration::from_secs(1));
    assert_eq!(raw, b"", "blank request line");
    env.finish();
}

fn http09(rt: &'static str) {
    let env = Env::new(rt, &[]);
    assert_eq!(
        exchange(env.addr(), b"GET /a.txt\r\n"),
        fixture::A_TXT,
        "HTTP/0.9 file"
    );
    assert_eq!(
        exchange(env.addr(), b"GET /a.txt HTTP/0.9\r\n\r\n"),
        fixture::A_TXT,
        "HTTP/0.9 in request line"
    );
    let listing = exchange(env.addr(), b"GET /emptydir/\r\n");
    assert_eq!(
        String::from_utf8_lossy(&listing),
        fixture::empty_listing("/emptydir/")
    );
    // No wait for a header block (gh-70765): answered without the final blank line, and the
    // connection closes after one response.
    let mut conn = Conn::open(env.addr());
    conn.send(b"GET /a.txt\r\nGET /test\r\n");
    assert_eq!(conn.read_to_end(), fixture::A_TXT);
    let r = request(env.addr(), b"POST /a.txt\r\n");
    assert_error(
        &r,
        "HTTP/1.0",
        400,
        "Bad HTTP/0.9 request type ('POST')",
        "Bad request syntax or unsupported method",
        true,
    );
    env.finish();
}

fn request_line_limits(rt: &'static str) {
    let env = Env::new(rt, &[]);
    // The request line including CRLF: 65536 bytes is fine, 65537 is 414.
    let line = |total: usize| {
        let fixed = "GET /".len() + " HTTP/1.0\r\n".len();
        format!("GET /{} HTTP/1.0\r\n\r\n", "a".repeat(total - fixed))
    };
    let r = request(env.addr(), line(65536).as_bytes());
    assert_404(&r);
    let r = request(env.addr(), line(65537).as_bytes());
    assert_error(
        &r,
        "HTTP/1.0",
        414,
        "URI Too Long",
        "URI is too long",
        false,
    );
    let r = request(
        env.addr(),
        format!("GET /{} HTTP/1.0\r\n\r\n", "a".repeat(200_000)).as_bytes(),
    );
    assert_eq!(r.code, 414, "{}", r.describe());
    env.finish();
}

fn header_limits(rt: &'static str) {
    let env = Env::new(rt, &[]);
    let long = format!(
        "GET /a.txt HTTP/1.0\r\nX-Long: {}\r\n\r\n",
        "a".repeat(70_000)
    );
    let r = request(env.addr(), long.as_bytes());
    assert_error(
        &r,
        "HTTP/1.0",
        431,
        "Line too long",
        "got more than 65536 bytes when reading header line",
        false,
    );
    let many = |n: usize| {
        let headers = (0..n).fold(String::new(), |mut s, i| {
            let _ = write!(s, "X-H{i}: {i}\r\n");
            s
        });
        format!("GET /a.txt HTTP/1.0\r\n{headers}\r\n")
    };
    let r = request(env.addr(), many(101).as_bytes());
    assert_error(
        &r,
        "HTTP/1.0",
        431,
        "Too many headers",
        "got more than 100 headers",
        false,
    );
    let r = request(env.addr(), many(99).as_bytes());
    assert_eq!(r.code, 200, "99 headers are fine: {}", r.describe());
    env.finish();
}

/// Request smuggling shapes: 400, `Connection: close`, and the smuggled request is never answered.
fn framing_errors_close(rt: &'static str) {
    let env = Env::new(rt, &["-p", "HTTP/1.1"]);
    let smuggled = "GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n";
    let shapes = [
        "POST /a.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        "GET /a.txt HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n",
        "GET /a.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
        "GET /a.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 5, 6\r\n\r\nhello!",
        "GET /a.txt HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
        "GET /a.txt HTTP/1.1\r\nHost: x\r\nContent-Length: +5\r\n\r\nhello",
        "GET /a.txt HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n",
        "GET /a.txt HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
        "GET /a.txt HTTP/1.1\r\nHost: x\r\nTransfer-Encoding : chunked\r\n\r\n0\r\n\r\n",
        "GET /a.txt HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        "GET /a.txt HTTP/1.1\r\nHost: x\r\nX-Folded: a\r\n b\r\n\r\n",
        "GET /a.txt HTTP/1.1\r\n\r\n",
        "GET /a.txt HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n",
    ];
    let mut failures = Vec::new();
    for shape in shapes {
        let raw = exchange(env.addr(), format!("{shape}{smuggled}").as_bytes());
        let all = common::parse_responses(&raw, &[false]);
        let ok = match &all {
            Ok(all) => {
                all.len() == 1
                    && all[0].code == 400
                    && all[0].header("Connection") == Some("close")
                    && !contains(&raw, b"alpha")
            }
            Err(_) => false,
        };
        if !ok {
            failures.push(format!(
                "request:\n{}\n--- got:\n{}",
                show(format!("{shape}{smuggled}").as_bytes()),
                show(&raw)
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} shapes failed:\n{}",
        failures.len(),
        shapes.len(),
        failures.join("\n=====\n")
    );
    env.finish();
}

runtime_suite!([
    not_found_page,
    unsupported_methods,
    bad_versions,
    bad_request_syntax,
    http09,
    request_line_limits,
    header_limits,
    framing_errors_close,
]);
