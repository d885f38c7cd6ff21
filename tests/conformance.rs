//! Raw-socket conformance suite: a real `http-server` process per test, bytes in, bytes out,
//! checked against CPython 3.14's http.server behaviour (and DESIGN.md where we are stricter).
//!
//! Every test runs once per runtime (`std_runtime::*`, `smol_runtime::*`, `mio_runtime::*`);
//! runtimes not yet enabled print a skip notice. See `common::DEFAULT_RUNTIMES` and the
//! `HTTP_SERVER_RUNTIMES` environment variable.

#[macro_use]
mod common;

use std::ffi::OsString;
use std::fmt::Write as _;
use std::io::Read;
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Barrier};
use std::time::Duration;

use common::fixture::{self, Fixture};
use common::{Conn, Response, Server, contains, exchange, get, request, show};

/// A server and the tree it serves; the server is stopped (killed) before the tree goes away.
struct Env {
    server: Server,
    fx: Fixture,
}

impl Env {
    fn new(runtime: &str, args: &[&str]) -> Self {
        let fx = Fixture::new();
        let server = Server::start(runtime, &fx.root, args);
        Self { server, fx }
    }

    fn addr(&self) -> std::net::SocketAddr {
        self.server.addr
    }

    /// Stops with SIGTERM and checks exit status 0 and no panic; returns stderr.
    fn finish(self) -> String {
        let Self { server, fx } = self;
        let stderr = server.stop_clean();
        drop(fx);
        stderr
    }
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

const FILE_HEADERS: &[&str] = &[
    "Server",
    "Date",
    "Content-type",
    "Content-Length",
    "Last-Modified",
];
const LISTING_HEADERS: &[&str] = &["Server", "Date", "Content-type", "Content-Length"];
const REDIRECT_HEADERS: &[&str] = &["Server", "Date", "Location", "Content-Length"];
const ERROR_HEADERS: &[&str] = &[
    "Server",
    "Date",
    "Connection",
    "Content-Type",
    "Content-Length",
];

/// `Wdy, DD Mon YYYY HH:MM:SS GMT`.
fn assert_http_date(value: &str) {
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

fn assert_ok_file(r: &Response, version: &str, ctype: &str, body: &[u8]) {
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

fn assert_listing(r: &Response, version: &str) {
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

fn assert_redirect(r: &Response, location: &str) {
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
fn assert_error(
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

fn assert_404(r: &Response) {
    assert_error(
        r,
        "HTTP/1.0",
        404,
        "File not found",
        "Nothing matches the given URI",
        false,
    );
}

// ---------------------------------------------------------------------------------------------
// Files, HEAD, Content-type, Content-Length, Last-Modified
// ---------------------------------------------------------------------------------------------

fn get_file(rt: &'static str) {
    let env = Env::new(rt, &[]);
    let r = get(env.addr(), "/a.txt");
    assert_ok_file(&r, "HTTP/1.0", "text/plain", fixture::A_TXT);
    assert_eq!(r.header("Connection"), None);
    let r = get(env.addr(), "/test");
    assert_ok_file(&r, "HTTP/1.0", "application/octet-stream", fixture::TEST);
    let r = get(env.addr(), "/empty.txt");
    assert_ok_file(&r, "HTTP/1.0", "text/plain", b"");
    // The whole capture is head + body, nothing more.
    let raw = exchange(env.addr(), b"GET /a.txt HTTP/1.0\r\n\r\n");
    assert!(raw.ends_with(b"\r\n\r\nalpha\n"), "{}", show(&raw));
    env.finish();
}

fn head_requests(rt: &'static str) {
    let env = Env::new(rt, &[]);
    let addr = env.addr();
    let raw = exchange(addr, b"HEAD /a.txt HTTP/1.0\r\n\r\n");
    assert!(
        raw.ends_with(b"\r\n\r\n"),
        "HEAD must send no body: {}",
        show(&raw)
    );
    let r = request(addr, b"HEAD /a.txt HTTP/1.0\r\n\r\n");
    assert_eq!(r.header_names(), FILE_HEADERS);
    assert_eq!(r.header("Content-Length"), Some("6"));
    let r = request(addr, b"HEAD /big.bin HTTP/1.0\r\n\r\n");
    assert_eq!(r.header("Content-Length"), Some("1048576"));
    assert_eq!(r.header("Content-type"), Some("application/octet-stream"));
    // Listing: same headers as GET, no body.
    let listing = get(addr, "/sub/");
    let raw = exchange(addr, b"HEAD /sub/ HTTP/1.0\r\n\r\n");
    let r = common::parse_head(&raw).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.header_names(), LISTING_HEADERS);
    assert_eq!(r.header("Content-Length"), listing.header("Content-Length"));
    // Redirect and error: headers only; the error keeps the page's Content-Length.
    let raw = exchange(addr, b"HEAD /sub HTTP/1.0\r\n\r\n");
    let r = common::parse_head(&raw).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.code, 301);
    assert_eq!(r.header("Location"), Some("/sub/"));
    let raw = exchange(addr, b"HEAD /nope HTTP/1.0\r\n\r\n");
    let r = common::parse_head(&raw).unwrap_or_else(|e| panic!("HEAD /nope: {e}"));
    assert_eq!(r.status_line(), "HTTP/1.0 404 File not found");
    assert_eq!(r.header_names(), ERROR_HEADERS);
    assert_eq!(r.header("Content-Length"), Some("460"));
    env.finish();
}

fn content_types(rt: &'static str) {
    let env = Env::new(rt, &[]);
    let cases = [
        ("/a.txt", "text/plain"),
        ("/mime/x.html", "text/html"),
        ("/mime/x.htm", "text/html"),
        ("/mime/x.HTML", "text/html"),
        ("/mime/X.TXT", "text/plain"),
        ("/mime/x.css", "text/css"),
        ("/mime/x.js", "text/javascript"),
        ("/mime/x.json", "application/json"),
        ("/mime/x.png", "image/png"),
        ("/mime/x.jpg", "image/jpeg"),
        ("/mime/x.gif", "image/gif"),
        ("/mime/x.svg", "image/svg+xml"),
        ("/mime/x.pdf", "application/pdf"),
        ("/mime/x.wasm", "application/wasm"),
        ("/mime/x.zip", "application/zip"),
        ("/mime/x.gz", "application/gzip"),
        ("/mime/x.tar.gz", "application/gzip"),
        ("/mime/x.bz2", "application/x-bzip2"),
        ("/mime/x.xz", "application/x-xz"),
        ("/mime/x.Z", "application/octet-stream"),
        ("/mime/noext", "application/octet-stream"),
        ("/mime/x.unknownext", "application/octet-stream"),
    ];
    let mut failures = Vec::new();
    for (target, want) in cases {
        let r = get(env.addr(), target);
        if r.code != 200 || r.header("Content-type") != Some(want) {
            failures.push(format!(
                "GET {target}: want {want}, got {} {:?}",
                r.code,
                r.header("Content-type")
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    env.finish();
    // --content-type sets the type of files nothing else matches.
    let env = Env::new(rt, &["--content-type", "text/x-custom"]);
    assert_eq!(
        get(env.addr(), "/mime/noext").header("Content-type"),
        Some("text/x-custom")
    );
    assert_eq!(
        get(env.addr(), "/a.txt").header("Content-type"),
        Some("text/plain")
    );
    env.finish();
}

fn if_modified_since(rt: &'static str) {
    let env = Env::new(rt, &[]);
    let ims = |value: &str, extra: &str| {
        let req = format!("GET /a.txt HTTP/1.0\r\nIf-Modified-Since: {value}\r\n{extra}\r\n");
        request(env.addr(), req.as_bytes())
    };
    let not_modified = [
        fixture::MTIME_HTTP,
        "Sun, 09 Sep 2001 02:46:40 GMT",
        "Sun, 09 Sep 2001 01:46:40 +0000",
        "Sunday, 09-Sep-01 01:46:40 GMT",
        "Sun Sep  9 01:46:40 2001",
        "Sun, 09 Sep 2001 01:46:40",
        "Sun, 09 Sep 2030 01:46:40 GMT",
    ];
    for value in not_modified {
        let r = ims(value, "");
        assert_eq!(
            r.status_line(),
            "HTTP/1.0 304 Not Modified",
            "IMS {value:?}: {}",
            r.describe()
        );
        assert_eq!(r.header_names(), ["Server", "Date"], "IMS {value:?}");
        assert!(r.body.is_empty());
    }
    for value in [
        "Sat, 08 Sep 2001 01:46:40 GMT",
        "Sun, 09 Sep 2001 01:46:39 GMT",
        "garbage",
        "Sun, 09 Sep 2001 02:46:40 +0100",
    ] {
        let r = ims(value, "");
        assert_eq!(
            r.code,
            200,
            "IMS {value:?} must be ignored or older: {}",
            r.describe()
        );
        assert_eq!(r.body, fixture::A_TXT);
    }
    // If-None-Match present: If-Modified-Since is ignored.
    let r = ims(fixture::MTIME_HTTP, "If-None-Match: *\r\n");
    assert_eq!(r.code, 200, "{}", r.describe());
    // Listings never answer 304.
    let r = request(
        env.addr(),
        b"GET /sub/ HTTP/1.0\r\nIf-Modified-Since: Sun, 09 Sep 2030 01:46:40 GMT\r\n\r\n",
    );
    assert_eq!(r.code, 200);
    env.finish();
}

fn big_files(rt: &'static str) {
    let fx = Fixture::with_sparse();
    let server = Server::start(rt, &fx.root, &[]);
    let r = get(server.addr, "/big.bin");
    assert_eq!(r.header("Content-Length"), Some("1048576"));
    assert!(
        r.body == fixture::big_bytes(),
        "1 MiB body differs (len {})",
        r.body.len()
    );

    let mut conn = Conn::open(server.addr);
    conn.send(b"GET /sparse.bin HTTP/1.0\r\n\r\n");
    let head = read_head(&mut conn);
    assert_eq!(
        head.header("Content-Length"),
        Some(fixture::SPARSE_LEN.to_string().as_str())
    );
    let (len, sum) = common::drain_checksum(&mut conn.stream);
    assert_eq!(
        (len, sum),
        fixture::sparse_checksum(),
        "100 MiB download: (length, fnv1a)"
    );
    server.stop_clean();
}

/// Reads a response head byte by byte (leaving the body on the socket).
fn read_head(conn: &mut Conn) -> Response {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        let n = conn.stream.read(&mut byte).unwrap();
        assert!(n == 1, "closed inside the head: {}", show(&head));
        head.push(byte[0]);
    }
    common::parse_head(&head).unwrap()
}

// ---------------------------------------------------------------------------------------------
// Path translation
// ---------------------------------------------------------------------------------------------

fn path_query_and_fragment(rt: &'static str) {
    let env = Env::new(rt, &[]);
    for target in [
        "/a.txt?x=1",
        "/a.txt#frag",
        "/a.txt?x=1#f",
        "/a.txt#f?x",
        "/a.txt?",
        "/a.txt?a=/../b",
        "/a.txt?%2e%2e",
    ] {
        let r = get(env.addr(), target);
        assert_eq!(
            (r.code, r.body.as_slice()),
            (200, fixture::A_TXT),
            "GET {target}: {}",
            r.describe()
        );
    }
    env.finish();
}

fn path_percent_decoding(rt: &'static str) {
    let env = Env::new(rt, &[]);
    let cases: &[(&str, &[u8])] = &[
        ("/%61.txt", fixture::A_TXT),
        ("/a%2Etxt", fixture::A_TXT),
        ("/a%2etxt", fixture::A_TXT),
        ("/with%20space.txt", b"file with space.txt\n"),
        (
            "/%C3%BCn%C3%AFc%C3%B6d%C3%A9.txt",
            "file \u{fc}n\u{ef}c\u{f6}d\u{e9}.txt\n".as_bytes(),
        ),
        ("/pct%2541.txt", b"file pct%41.txt\n"),
        ("/a%26b.txt", b"file a&b.txt\n"),
        ("/a&b.txt", b"file a&b.txt\n"),
        ("/lt%3Cgt%3E.txt", b"file lt<gt>.txt\n"),
        ("/quote%22dq%27sq.txt", b"file quote\"dq'sq.txt\n"),
        ("/hash%23name.txt", b"file hash#name.txt\n"),
        ("/q%3Fmark.txt", b"file q?mark.txt\n"),
        ("/semi;colon.txt", b"file semi;colon.txt\n"),
        ("/plus+sign.txt", b"file plus+sign.txt\n"),
        ("/tilde~.txt", b"file tilde~.txt\n"),
        ("/spaced%20dir/f.txt", b"in spaced dir\n"),
        ("/sub%2Fb.txt", fixture::B_TXT),
        ("/link-a.txt", fixture::A_TXT),
        ("/link-sub/b.txt", fixture::B_TXT),
    ];
    let mut failures = Vec::new();
    for (target, body) in cases {
        let r = get(env.addr(), target);
        if r.code != 200 || r.body != *body {
            failures.push(format!("GET {target}: {}", r.describe()));
        }
    }
    // Not decoded twice, not case-folded, no trailing-space trimming.
    for target in [
        "/pct%41.txt",
        "/A.TXT",
        "/a.txt%20",
        "/nope",
        "/dangling",
        "/sub/nope/",
        "/with+space.txt",
    ] {
        let r = get(env.addr(), target);
        if r.code != 404 {
            failures.push(format!("GET {target}: want 404, got {}", r.describe()));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    env.finish();
}

fn path_dot_segments_stay_in_root(rt: &'static str) {
    let env = Env::new(rt, &[]);
    let inside = [
        "/../a.txt",
        "/../../../a.txt",
        "/%2e%2e/a.txt",
        "/%2E%2E/a.txt",
        "/sub/../a.txt",
        "/sub/..%2fa.txt",
        "/sub/inner/../../a.txt",
        "/./a.txt",
        "/sub/./b.txt",
        "/%2e/a.txt",
        "/sub/%2e%2e/%2e%2e/a.txt",
    ];
    let mut failures = Vec::new();
    for target in inside {
        let r = get(env.addr(), target);
        if r.code != 200 || r.body != fixture::A_TXT && r.body != fixture::B_TXT {
            failures.push(format!("GET {target}: want 200, got {}", r.describe()));
        }
    }
    let escapes = [
        "/../secret.txt",
        "/%2e%2e/secret.txt",
        "/..%2fsecret.txt",
        "/%2e%2e%2fsecret.txt",
        "/sub/../../secret.txt",
        "/sub/%2e%2e%2f%2e%2e%2fsecret.txt",
        "/..%5csecret.txt",
        "/..\\secret.txt",
        "../secret.txt",
        "//../secret.txt",
    ];
    for target in escapes {
        let r = get(env.addr(), target);
        if r.code != 404 || contains(&r.body, fixture::SECRET) {
            failures.push(format!("GET {target}: want 404, got {}", r.describe()));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    env.finish();
}

fn path_double_slash_collapsed(rt: &'static str) {
    let env = Env::new(rt, &[]);
    assert_eq!(get(env.addr(), "//a.txt").body, fixture::A_TXT);
    assert_eq!(get(env.addr(), "///a.txt").body, fixture::A_TXT);
    assert_redirect(&get(env.addr(), "//sub"), "/sub/");
    // CVE-2021-28861: the Location must never be scheme-relative (`//host/...`).
    for target in [
        "//evil.com/..%2f..%2fsub",
        "///evil.com/..%2f..%2fsub",
        "//evil.com/%2e%2e%2f%2e%2e%2fsub",
    ] {
        let r = get(env.addr(), target);
        assert_eq!(r.code, 301, "GET {target}: {}", r.describe());
        let location = r.header("Location").unwrap();
        assert!(
            !location.starts_with("//"),
            "GET {target}: open redirect to {location:?}"
        );
    }
    assert_redirect(
        &get(env.addr(), "//evil.com/..%2f..%2fsub"),
        "/evil.com/..%2f..%2fsub/",
    );
    assert_redirect(
        &get(env.addr(), "///evil.com/..%2f..%2fsub"),
        "/evil.com/..%2f..%2fsub/",
    );
    env.finish();
}

fn path_without_leading_slash(rt: &'static str) {
    let env = Env::new(rt, &[]);
    assert_eq!(get(env.addr(), "a.txt").body, fixture::A_TXT);
    assert_redirect(&get(env.addr(), "sub"), "sub/");
    assert_listing(&get(env.addr(), "sub/"), "HTTP/1.0");
    // Absolute-form targets are not understood: `http:` and the host become path segments.
    assert_404(&get(env.addr(), "http://example.com/a.txt"));
    env.finish();
}

// ---------------------------------------------------------------------------------------------
// Directories
// ---------------------------------------------------------------------------------------------

fn directory_redirect(rt: &'static str) {
    let env = Env::new(rt, &[]);
    let cases = [
        ("/sub", "/sub/"),
        ("/sub?x=1", "/sub/?x=1"),
        ("/sub?x=1&y=%2F", "/sub/?x=1&y=%2F"),
        ("/sub#frag", "/sub/#frag"),
        ("/sub?x=1#f", "/sub/?x=1#f"),
        ("/sub?", "/sub/"),
        ("/sub/inner", "/sub/inner/"),
        ("/spaced%20dir", "/spaced%20dir/"),
        ("/emptydir", "/emptydir/"),
        ("/link-sub", "/link-sub/"),
        ("/idx", "/idx/"),
    ];
    for (target, location) in cases {
        let r = get(env.addr(), target);
        assert_redirect(&r, location);
    }
    env.finish();
}

fn directory_trailing_slash(rt: &'static str) {
    let env = Env::new(rt, &[]);
    for target in [
        "/sub/",
        "/sub%2f",
        "/sub%2F",
        "/",
        "/%2f",
        "/?hi=2",
        "/sub/?x=1",
        "/sub/#x",
    ] {
        assert_listing(&get(env.addr(), target), "HTTP/1.0");
    }
    // A file asked for with a trailing slash is not found.
    for target in ["/a.txt/", "/a.txt%2f", "/a.txt%2F", "/test/"] {
        assert_404(&get(env.addr(), target));
    }
    env.finish();
}

fn index_pages(rt: &'static str) {
    let env = Env::new(rt, &[]);
    assert_ok_file(
        &get(env.addr(), "/idx/"),
        "HTTP/1.0",
        "text/html",
        fixture::INDEX_HTML,
    );
    assert_ok_file(
        &get(env.addr(), "/idx/index.html"),
        "HTTP/1.0",
        "text/html",
        fixture::INDEX_HTML,
    );
    assert_ok_file(
        &get(env.addr(), "/idxm/"),
        "HTTP/1.0",
        "text/html",
        fixture::INDEX_HTM,
    );
    assert_ok_file(
        &get(env.addr(), "/both/"),
        "HTTP/1.0",
        "text/html",
        fixture::INDEX_HTML,
    );
    // A *directory* named index.html does not hide the listing (gh-100474).
    let r = get(env.addr(), "/dirindex/");
    assert_listing(&r, "HTTP/1.0");
    assert!(
        contains(&r.body, b"<li><a href=\"index.html/\">index.html/</a></li>"),
        "{}",
        r.describe()
    );
    assert!(
        contains(&r.body, b"<li><a href=\"other.txt\">other.txt</a></li>"),
        "{}",
        r.describe()
    );
    env.finish();
}

fn listing_exact(rt: &'static str) {
    let env = Env::new(rt, &[]);
    let r = get(env.addr(), "/listing/");
    assert_listing(&r, "HTTP/1.0");
    assert_eq!(r.text(), fixture::LISTING_PAGE);
    assert_eq!(r.header("Last-Modified"), None);
    let r = get(env.addr(), "/emptydir/");
    assert_listing(&r, "HTTP/1.0");
    assert_eq!(r.text(), fixture::empty_listing("/emptydir/"));
    env.finish();
}

fn listing_titles_escaped(rt: &'static str) {
    let env = Env::new(rt, &[]);
    let cases = [
        ("/spaced%20dir/", "/spaced dir/"),
        ("/%C3%BCn%C3%AF%20dir/", "/\u{fc}n\u{ef} dir/"),
        ("/%26%3Cdir%3E%22%27/", "/&amp;&lt;dir&gt;\"'/"),
        ("//emptydir/", "/emptydir/"),
    ];
    for (target, title) in cases {
        let r = get(env.addr(), target);
        assert_listing(&r, "HTTP/1.0");
        let want = format!("<title>Directory listing for {title}</title>");
        assert!(
            r.text().contains(&want),
            "GET {target}: want {want:?} in\n{}",
            r.text()
        );
        let want = format!("<h1>Directory listing for {title}</h1>");
        assert!(
            r.text().contains(&want),
            "GET {target}: want {want:?} in\n{}",
            r.text()
        );
    }
    env.finish();
}

fn listing_root_entries(rt: &'static str) {
    let env = Env::new(rt, &[]);
    let r = get(env.addr(), "/");
    assert_listing(&r, "HTTP/1.0");
    let entries: &[&[u8]] = &[
        b"<li><a href=\"a.txt\">a.txt</a></li>",
        b"<li><a href=\"sub/\">sub/</a></li>",
        b"<li><a href=\"emptydir/\">emptydir/</a></li>",
        b"<li><a href=\"link-a.txt\">link-a.txt@</a></li>",
        b"<li><a href=\"link-sub/\">link-sub@</a></li>",
        b"<li><a href=\"dangling\">dangling@</a></li>",
        b"<li><a href=\"with%20space.txt\">with space.txt</a></li>",
        b"<li><a href=\"a%26b.txt\">a&amp;b.txt</a></li>",
        b"<li><a href=\"lt%3Cgt%3E.txt\">lt&lt;gt&gt;.txt</a></li>",
        b"<li><a href=\"quote%22dq%27sq.txt\">quote\"dq'sq.txt</a></li>",
        b"<li><a href=\"hash%23name.txt\">hash#name.txt</a></li>",
        b"<li><a href=\"q%3Fmark.txt\">q?mark.txt</a></li>",
        b"<li><a href=\"pct%2541.txt\">pct%41.txt</a></li>",
        b"<li><a href=\"%26%3Cdir%3E%22%27/\">&amp;&lt;dir&gt;\"'/</a></li>",
        "<li><a href=\"%C3%BCn%C3%AFc%C3%B6d%C3%A9.txt\">\u{fc}n\u{ef}c\u{f6}d\u{e9}.txt</a></li>"
            .as_bytes(),
        // Undecodable names: href by surrogatepass (U+DCFF -> ED B3 BF), text as the raw byte.
        b"<li><a href=\"bad%ED%B3%BFname.txt\">bad\xffname.txt</a></li>",
        b"<li><a href=\"bad%ED%B3%BEdir/\">bad\xfedir/</a></li>",
    ];
    let missing: Vec<String> = entries
        .iter()
        .filter(|e| !contains(&r.body, e))
        .map(|e| show(e))
        .collect();
    assert!(
        missing.is_empty(),
        "missing from / listing:\n{}\n--- page:\n{}",
        missing.join("\n"),
        show(&r.body)
    );
    // Case-insensitive order: a.txt < A... (both/ before big.bin before dangling ...).
    let pos = |needle: &str| common::find(&r.body, needle.as_bytes()).unwrap_or(usize::MAX);
    let order = [
        "\"a%26b.txt\"",
        "\"a.txt\"",
        "\"big.bin\"",
        "\"both/\"",
        "\"dangling\"",
        "\"emptydir/\"",
        "\"sub/\"",
        "\"test\"",
    ];
    for pair in order.windows(2) {
        assert!(
            pos(pair[0]) < pos(pair[1]),
            "{} must come before {} in\n{}",
            pair[0],
            pair[1],
            r.text()
        );
    }
    env.finish();
}

fn undecodable_names(rt: &'static str) {
    let env = Env::new(rt, &[]);
    let r = get(env.addr(), "/bad%ED%B3%BFname.txt");
    assert_eq!(
        (r.code, r.body.as_slice()),
        (200, b"undecodable name\n".as_slice()),
        "{}",
        r.describe()
    );
    let r = get(env.addr(), "/bad%ED%B3%BEdir/");
    assert_listing(&r, "HTTP/1.0");
    assert!(
        contains(&r.body, b"<a href=\"h.txt\">h.txt</a>"),
        "{}",
        r.describe()
    );
    assert_404(&get(env.addr(), "/bad%FFname.txt"));
    env.finish();
}

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------------
// Connections: HTTP/1.0 close, HTTP/1.1 keep-alive, pipelining
// ---------------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------------
// Logging
// ---------------------------------------------------------------------------------------------

/// `127.0.0.1 - - [DD/Mon/YYYY HH:MM:SS] MESSAGE`
fn is_log_line(line: &[u8], message: &[u8]) -> bool {
    let Some(rest) = line.strip_prefix(b"127.0.0.1 - - [") else {
        return false;
    };
    if rest.len() < 22 || &rest[20..22] != b"] " {
        return false;
    }
    let date = &rest[..20];
    let digits = |r: std::ops::Range<usize>| date[r].iter().all(u8::is_ascii_digit);
    digits(0..2)
        && date[2] == b'/'
        && date[6] == b'/'
        && digits(7..11)
        && date[11] == b' '
        && digits(12..14)
        && &rest[22..] == message
}

fn access_log(rt: &'static str) {
    let env = Env::new(rt, &[]);
    get(env.addr(), "/a.txt");
    get(env.addr(), "/nope");
    assert!(
        env.server.wait_stderr(b"\"GET /nope HTTP/1.0\" 404 -"),
        "stderr: {}",
        env.server.stderr()
    );
    let stderr = env.server.stderr_bytes();
    let lines = common::lines(&stderr);
    let has = |message: &[u8]| lines.iter().any(|l| is_log_line(l, message));
    assert!(
        has(b"\"GET /a.txt HTTP/1.0\" 200 -"),
        "access line for /a.txt in:\n{}",
        show(&stderr)
    );
    assert!(
        has(b"code 404, message File not found"),
        "error line in:\n{}",
        show(&stderr)
    );
    let i = lines
        .iter()
        .position(|l| is_log_line(l, b"code 404, message File not found"))
        .unwrap();
    assert!(
        is_log_line(&lines[i + 1], b"\"GET /nope HTTP/1.0\" 404 -"),
        "error line then access line:\n{}",
        show(&stderr)
    );
    env.finish();
}

fn access_log_escapes_control_chars(rt: &'static str) {
    let env = Env::new(rt, &[]);
    exchange(env.addr(), b"GET /\x1b[31m\x07\\ HTTP/1.0\r\n\r\n");
    exchange(env.addr(), b"GET /x\x7fy\x9fz\x01 HTTP/1.0\r\n\r\n");
    exchange(env.addr(), b"GET /a.txt\x1b]0;title\x07 HTTP/1.0\r\n\r\n");
    let expected: [&[u8]; 3] = [
        br#""GET /\x1b[31m\x07\\ HTTP/1.0""#,
        br#""GET /x\x7fy\x9fz\x01 HTTP/1.0""#,
        br#""GET /a.txt\x1b]0;title\x07 HTTP/1.0""#,
    ];
    for e in expected {
        assert!(
            env.server.wait_stderr(e),
            "want {} in stderr:\n{}",
            show(e),
            show(&env.server.stderr_bytes())
        );
    }
    let stderr = env.server.stderr_bytes();
    for raw in [0x1b_u8, 0x07, 0x7f, 0x01] {
        assert!(
            !stderr.contains(&raw),
            "raw control byte {raw:#04x} on stderr:\n{}",
            show(&stderr)
        );
    }
    env.finish();
}

// ---------------------------------------------------------------------------------------------
// Concurrency and shutdown
// ---------------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------------
// Command line errors: one line on stderr, exit status 2, no panic
// ---------------------------------------------------------------------------------------------

fn assert_usage_error(args: &[OsString], what: &str) {
    let (code, stdout, stderr) = common::run_cli(args);
    assert!(!stderr.contains("panicked"), "{what}: panic: {stderr}");
    assert_eq!(
        code,
        Some(2),
        "{what}: exit status; stdout {stdout:?} stderr {stderr:?}"
    );
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(
        lines.len(),
        1,
        "{what}: want one line on stderr, got {stderr:?}"
    );
    assert!(
        !stdout.contains("Serving"),
        "{what}: started serving: {stdout:?}"
    );
}

fn cli_errors(rt: &'static str) {
    let fx = Fixture::new();
    let root = fx.root.clone().into_os_string();
    let os = |v: &[&str]| -> Vec<OsString> { v.iter().map(OsString::from).collect() };
    let with_root = |v: &[&str]| -> Vec<OsString> {
        let mut a = os(v);
        a.extend([
            OsString::from("-d"),
            root.clone(),
            OsString::from("--runtime"),
            OsString::from(rt),
        ]);
        a
    };
    let free = common::free_port().to_string();
    assert_usage_error(
        &with_root(&[&free, "-b", "127.0.0.1", "--no-such-flag"]),
        "unknown flag",
    );
    assert_usage_error(
        &with_root(&["70000", "-b", "127.0.0.1"]),
        "port out of range",
    );
    assert_usage_error(
        &with_root(&["eighty", "-b", "127.0.0.1"]),
        "non-numeric port",
    );
    assert_usage_error(
        &with_root(&[&free, "-b", "127.0.0.1", "-p", "FOO"]),
        "bad protocol FOO",
    );
    assert_usage_error(
        &with_root(&[&free, "-b", "127.0.0.1", "-p", "1.1"]),
        "bad protocol 1.1",
    );
    assert_usage_error(
        &with_root(&[&free, "-b", "127.0.0.1", "-H", "X-Only-Name"]),
        "-H with one argument",
    );
    assert_usage_error(
        &with_root(&[&free, "-b", "no such host.invalid"]),
        "unresolvable bind address",
    );
    let mut args = os(&[
        &free,
        "-b",
        "127.0.0.1",
        "--runtime",
        rt,
        "-d",
        "/nonexistent/http-server-test",
    ]);
    assert_usage_error(&args, "missing directory");
    args.pop();
    args.push(fx.path("a.txt").into_os_string());
    assert_usage_error(&args, "directory is a file");
    // Busy port.
    let holder = TcpListener::bind("127.0.0.1:0").unwrap();
    let busy = holder.local_addr().unwrap().port().to_string();
    assert_usage_error(&with_root(&[&busy, "-b", "127.0.0.1"]), "busy port");
    drop(holder);
}

runtime_suite!([
    get_file,
    head_requests,
    content_types,
    if_modified_since,
    big_files,
    path_query_and_fragment,
    path_percent_decoding,
    path_dot_segments_stay_in_root,
    path_double_slash_collapsed,
    path_without_leading_slash,
    directory_redirect,
    directory_trailing_slash,
    index_pages,
    listing_exact,
    listing_titles_escaped,
    listing_root_entries,
    undecodable_names,
    not_found_page,
    unsupported_methods,
    bad_versions,
    bad_request_syntax,
    http09,
    request_line_limits,
    header_limits,
    framing_errors_close,
    http10_closes,
    keep_alive_sequential,
    keep_alive_pipelined,
    keep_alive_rules,
    request_bodies_consumed,
    access_log,
    access_log_escapes_control_chars,
    concurrent_clients,
    concurrent_idle_keep_alive,
    sigterm_graceful,
    sigint_and_sigterm_idle,
    banner_and_port_zero,
    garbage_no_panic,
    cli_errors,
]);
