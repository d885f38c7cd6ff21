//! Helpers shared by the conformance topics: the [`Env`] a test serves from, the header
//! orders CPython sends, and the `assert_*` checks for files, listings, redirects and errors.

use std::io::Read;

use crate::common::fixture::{self, Fixture};
use crate::common::{self, Conn, Response, Server, show};

/// A server and the tree it serves; the server is stopped (killed) before the tree goes away.
pub(crate) struct Env {
    pub(crate) server: Server,
    fx: Fixture,
}

impl Env {
    pub(crate) fn new(runtime: &str, args: &[&str]) -> Self {
        let fx = Fixture::new();
        let server = Server::start(runtime, &fx.root, args);
        Self { server, fx }
    }

    pub(crate) fn addr(&self) -> std::net::SocketAddr {
        self.server.addr
    }

    /// Stops with SIGTERM and checks exit status 0 and no panic; returns stderr.
    pub(crate) fn finish(self) -> String {
        let Self { server, fx } = self;
        let stderr = server.stop_clean();
        drop(fx);
        stderr
    }
}

pub(crate) fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// A 200 file response in the default mode: CPython's headers, then the validators.
pub(crate) const FILE_HEADERS: &[&str] = &[
    "Server",
    "Date",
    "Content-type",
    "Content-Length",
    "Last-Modified",
    "Accept-Ranges",
    "ETag",
];
/// CPython's own (and `--compat`'s) 200 file response.
pub(crate) const CPYTHON_FILE_HEADERS: &[&str] = &[
    "Server",
    "Date",
    "Content-type",
    "Content-Length",
    "Last-Modified",
];
pub(crate) const LISTING_HEADERS: &[&str] = &["Server", "Date", "Content-type", "Content-Length"];
pub(crate) const REDIRECT_HEADERS: &[&str] = &["Server", "Date", "Location", "Content-Length"];
pub(crate) const ERROR_HEADERS: &[&str] = &[
    "Server",
    "Date",
    "Connection",
    "Content-Type",
    "Content-Length",
];

/// `Wdy, DD Mon YYYY HH:MM:SS GMT`.
pub(crate) fn assert_http_date(value: &str) {
    let b = value.as_bytes();
    let ok = b.len() == 29
        && value.ends_with(" GMT")
        && b[3] == b','
        && ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"].contains(&&value[..3])
        && b[5..7].iter().all(u8::is_ascii_digit)
        && b[12..16].iter().all(u8::is_ascii_digit)
        && &value[19..20] == ":";
    assert!(ok, "not an RFC 1123 date: {value:?}");
}

pub(crate) fn assert_ok_file(r: &Response, version: &str, ctype: &str, body: &[u8]) {
    assert_eq!(
        r.status_line(),
        format!("{version} 200 OK"),
        "{}",
        r.describe()
    );
    assert_eq!(r.header_names(), FILE_HEADERS, "{}", r.describe());
    assert_eq!(r.header("Content-type"), Some(ctype), "{}", r.describe());
    assert_eq!(
        r.header("Content-Length"),
        Some(body.len().to_string().as_str())
    );
    assert_eq!(r.header("Last-Modified"), Some(fixture::MTIME_HTTP));
    assert!(!r.header("Server").unwrap_or_default().is_empty());
    assert_http_date(r.header("Date").unwrap());
    assert!(
        r.body == body,
        "body: expected {:?}, got {:?}",
        show(body),
        show(&r.body)
    );
}

pub(crate) fn assert_listing(r: &Response, version: &str) {
    assert_eq!(
        r.status_line(),
        format!("{version} 200 OK"),
        "{}",
        r.describe()
    );
    assert_eq!(r.header_names(), LISTING_HEADERS, "{}", r.describe());
    assert_eq!(r.header("Content-type"), Some("text/html; charset=utf-8"));
    assert_eq!(
        r.header("Content-Length"),
        Some(r.body.len().to_string().as_str())
    );
    assert!(
        r.body.starts_with(b"<!DOCTYPE HTML>\n<html lang=\"en\">\n"),
        "{}",
        r.describe()
    );
}

pub(crate) fn assert_redirect(r: &Response, location: &str) {
    assert_eq!(
        r.status_line(),
        "HTTP/1.0 301 Moved Permanently",
        "{}",
        r.describe()
    );
    assert_eq!(r.header_names(), REDIRECT_HEADERS, "{}", r.describe());
    assert_eq!(r.header("Location"), Some(location), "{}", r.describe());
    assert_eq!(r.header("Content-Length"), Some("0"));
    assert!(r.body.is_empty(), "{}", r.describe());
}

/// CPython's `send_error` reply. `headless_ok`: 3.14 sends errors found before a valid
/// version (bad version, 505, bad HTTP/0.9 method) as a bare page without status line;
/// 3.15 adds one. Either is accepted there, and the page must match.
pub(crate) fn assert_error(
    r: &Response,
    version: &str,
    code: u16,
    message: &str,
    explain: &str,
    headless_ok: bool,
) {
    let page = fixture::error_page(code, &html_escape(message), &html_escape(explain));
    if r.headless() {
        assert!(
            headless_ok,
            "expected a status line for {code} {message}; got:\n{}",
            r.describe()
        );
    } else {
        assert_eq!(
            r.status_line(),
            format!("{version} {code} {message}"),
            "{}",
            r.describe()
        );
        assert_eq!(r.header_names(), ERROR_HEADERS, "{}", r.describe());
        assert_eq!(r.header("Connection"), Some("close"));
        assert_eq!(r.header("Content-Type"), Some("text/html;charset=utf-8"));
        assert_eq!(
            r.header("Content-Length"),
            Some(page.len().to_string().as_str()),
            "{}",
            r.describe()
        );
    }
    assert_eq!(r.text(), page, "error page for {code} {message}");
}

pub(crate) fn assert_404(r: &Response) {
    assert_error(
        r,
        "HTTP/1.0",
        404,
        "File not found",
        "Nothing matches the given URI",
        false,
    );
}

/// Reads a response head byte by byte (leaving the body on the socket).
pub(crate) fn read_head(conn: &mut Conn) -> Response {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        let n = conn.stream.read(&mut byte).unwrap();
        assert!(n == 1, "closed inside the head: {}", show(&head));
        head.push(byte[0]);
    }
    common::parse_head(&head).unwrap()
}
