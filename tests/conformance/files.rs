//! Files, HEAD, Content-type, Content-Length, Last-Modified: plain files served with
//! CPython's headers and types, HEAD without a body, conditional GET, and big (1 MiB, sparse
//! 100 MiB) downloads.

use crate::common::fixture::{self, Fixture};
use crate::common::{self, Conn, Server, exchange, get, request, show};
use crate::support::{
    ERROR_HEADERS, Env, FILE_HEADERS, LISTING_HEADERS, assert_ok_file, read_head,
};

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
        // CPython sends Server and Date alone; the default mode adds the validators.
        assert_eq!(
            r.header_names(),
            ["Server", "Date", "ETag", "Last-Modified"],
            "IMS {value:?}"
        );
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
    // If-None-Match present: If-Modified-Since is ignored (an If-None-Match that does not
    // match decides: 200; `*` is in `ranges.rs`, a 304 in the default mode).
    let r = ims(fixture::MTIME_HTTP, "If-None-Match: \"other\"\r\n");
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

runtime_suite!([
    get_file,
    head_requests,
    content_types,
    if_modified_since,
    big_files,
]);
