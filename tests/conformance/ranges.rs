//! Byte ranges and validators (RFC 9110 sections 13 and 14), in the default mode: 206 with
//! `Content-Range`, `multipart/byteranges`, 416, ignored ranges, `If-Range`, a strong `ETag`,
//! `If-None-Match`, `If-Match`, `If-Unmodified-Since`; `--charset`; and none of it in
//! `--compat`.

use std::time::{Duration, SystemTime};

use crate::common::fixture::{self, Fixture};
use crate::common::{Conn, Response, Server, request, show};
use crate::support::{CPYTHON_FILE_HEADERS, Env};

const BIG: &str = "1048576";

fn range(addr: std::net::SocketAddr, target: &str, extra: &str) -> Response {
    let req = format!("GET {target} HTTP/1.0\r\n{extra}\r\n");
    request(addr, req.as_bytes())
}

fn single_ranges(rt: &'static str) {
    let env = Env::new(rt, &[]);
    let big = fixture::big_bytes();
    let cases: [(&str, usize, usize); 6] = [
        ("bytes=1000-1999", 1000, 1999),
        ("bytes=-500", big.len() - 500, big.len() - 1),
        ("bytes=1048000-", 1_048_000, big.len() - 1),
        ("bytes=0-99999999999999999999", 0, big.len() - 1),
        ("bytes=1048575-2000000", big.len() - 1, big.len() - 1),
        // Coalesced into one: overlapping and adjacent.
        ("bytes=10-19, 15-29,30-39", 10, 39),
    ];
    for (value, first, last) in cases {
        let r = range(env.addr(), "/big.bin", &format!("Range: {value}\r\n"));
        assert_eq!(
            r.status_line(),
            "HTTP/1.0 206 Partial Content",
            "{value}: {}",
            r.describe()
        );
        assert_eq!(
            r.header_names(),
            [
                "Server",
                "Date",
                "Content-type",
                "Content-Range",
                "Content-Length",
                "Last-Modified",
                "Accept-Ranges",
                "ETag"
            ]
        );
        assert_eq!(
            r.header("Content-Range"),
            Some(format!("bytes {first}-{last}/{BIG}").as_str()),
            "{value}"
        );
        assert_eq!(
            r.header("Content-Length"),
            Some((last - first + 1).to_string().as_str())
        );
        assert_eq!(r.header("Content-type"), Some("application/octet-stream"));
        assert!(r.body == big[first..=last], "{value}: body differs");
    }
    // HEAD: the same head, no body.
    let r = request(
        env.addr(),
        b"HEAD /big.bin HTTP/1.0\r\nRange: bytes=-500\r\n\r\n",
    );
    assert_eq!(r.code, 206);
    assert_eq!(r.header("Content-Length"), Some("500"));
    assert!(r.body.is_empty());
    env.finish();
}

/// The header fields of one part of a multipart body.
type PartHeaders = Vec<(String, String)>;

/// Splits a `multipart/byteranges` body into (part headers, data).
fn parts(body: &[u8], boundary: &str) -> Vec<(PartHeaders, Vec<u8>)> {
    let delimiter = format!("--{boundary}");
    let close = format!("\r\n--{boundary}--\r\n");
    assert!(body.starts_with(delimiter.as_bytes()), "{}", show(body));
    assert!(body.ends_with(close.as_bytes()), "{}", show(body));
    let mut out = Vec::new();
    let mut rest = &body[delimiter.len()..body.len() - close.len() + 2];
    while !rest.is_empty() {
        assert!(rest.starts_with(b"\r\n"), "{}", show(rest));
        let head_end = crate::common::find(rest, b"\r\n\r\n").unwrap();
        let headers: Vec<(String, String)> = String::from_utf8_lossy(&rest[2..head_end])
            .split("\r\n")
            .map(|l| {
                let (n, v) = l.split_once(": ").unwrap();
                (n.to_owned(), v.to_owned())
            })
            .collect();
        let range = &headers
            .iter()
            .find(|(n, _)| n == "Content-Range")
            .unwrap()
            .1;
        let (span, _) = range
            .strip_prefix("bytes ")
            .unwrap()
            .split_once('/')
            .unwrap();
        let (a, b) = span.split_once('-').unwrap();
        let len = b.parse::<usize>().unwrap() - a.parse::<usize>().unwrap() + 1;
        let data_at = head_end + 4;
        out.push((headers, rest[data_at..data_at + len].to_vec()));
        rest = &rest[data_at + len..];
        let next = format!("\r\n{delimiter}");
        if rest == b"\r\n" {
            break;
        }
        assert!(rest.starts_with(next.as_bytes()), "{}", show(rest));
        rest = &rest[next.len()..];
    }
    out
}

fn multipart(rt: &'static str) {
    let env = Env::new(rt, &["-p", "HTTP/1.1"]);
    let big = fixture::big_bytes();
    let mut conn = Conn::open(env.addr());
    // Twice on one kept-alive connection: the framing must be exact.
    for _ in 0..2 {
        conn.send(
            b"GET /big.bin HTTP/1.1\r\nHost: x\r\nRange: bytes=500000-500099, 0-99,-10,50-60\r\n\r\n",
        );
        let r = conn.read_response(false);
        assert_eq!(r.code, 206, "{}", r.describe());
        let ctype = r.header("Content-type").unwrap();
        let boundary = ctype
            .strip_prefix("multipart/byteranges; boundary=")
            .unwrap_or_else(|| panic!("{ctype}"));
        assert_eq!(r.header("Content-Range"), None);
        assert_eq!(
            r.header("Content-Length"),
            Some(r.body.len().to_string().as_str())
        );
        let got = parts(&r.body, boundary);
        // Request order; 50-60 coalesced into 0-99.
        let want = [(500_000, 500_099), (0, 99), (big.len() - 10, big.len() - 1)];
        assert_eq!(got.len(), want.len());
        for ((headers, data), (first, last)) in got.iter().zip(want) {
            assert_eq!(
                headers,
                &[
                    (
                        "Content-Type".to_owned(),
                        "application/octet-stream".to_owned()
                    ),
                    (
                        "Content-Range".to_owned(),
                        format!("bytes {first}-{last}/{BIG}")
                    ),
                ]
            );
            assert!(*data == big[first..=last]);
        }
    }
    // More than 100 ranges: refused, the whole file.
    let many: Vec<String> = (0..101).map(|i| format!("{}-{}", i * 10, i * 10)).collect();
    conn.send(
        format!(
            "GET /big.bin HTTP/1.1\r\nHost: x\r\nRange: bytes={}\r\n\r\n",
            many.join(",")
        )
        .as_bytes(),
    );
    let r = conn.read_response(false);
    assert_eq!(r.code, 200);
    assert!(r.body == big);
    // Many overlapping ranges: refused too.
    conn.send(b"GET /a.txt HTTP/1.1\r\nHost: x\r\nRange: bytes=0-5,1-5,2-5,3-5\r\n\r\n");
    let r = conn.read_response(false);
    assert_eq!(r.code, 200);
    assert_eq!(r.body, fixture::A_TXT);
    drop(conn);
    env.finish();
}

fn unsatisfiable_and_invalid(rt: &'static str) {
    let env = Env::new(rt, &[]);
    for (target, value, len) in [
        ("/big.bin", "bytes=1048576-", BIG),
        ("/big.bin", "bytes=-0", BIG),
        ("/big.bin", "bytes=2000000-3000000,1048576-", BIG),
        ("/empty.txt", "bytes=0-", "0"),
        ("/empty.txt", "bytes=-1", "0"),
    ] {
        let r = range(env.addr(), target, &format!("Range: {value}\r\n"));
        assert_eq!(
            r.status_line(),
            "HTTP/1.0 416 Range Not Satisfiable",
            "{value}: {}",
            r.describe()
        );
        assert_eq!(
            r.header("Content-Range"),
            Some(format!("bytes */{len}").as_str())
        );
        assert_eq!(r.header("Content-Type"), Some("text/html;charset=utf-8"));
        assert!(r.text().contains("Error code: 416"), "{}", r.text());
    }
    for value in [
        "bytes=",
        "bytes=abc",
        "bytes=5-1",
        "items=0-1",
        "bytes=1 - 2",
        "bytes=0x10-",
    ] {
        let r = range(env.addr(), "/a.txt", &format!("Range: {value}\r\n"));
        assert_eq!(r.code, 200, "{value}: {}", r.describe());
        assert_eq!(r.body, fixture::A_TXT);
    }
    // Ranges never apply to listings or errors.
    let r = range(env.addr(), "/sub/", "Range: bytes=0-1\r\n");
    assert_eq!(r.code, 200);
    assert_eq!(r.header("Accept-Ranges"), None);
    let r = range(env.addr(), "/nope", "Range: bytes=0-1\r\n");
    assert_eq!(r.code, 404);
    env.finish();
}

fn etag_and_preconditions(rt: &'static str) {
    let env = Env::new(rt, &[]);
    let addr = env.addr();
    let r = range(addr, "/a.txt", "");
    let etag = r.header("ETag").unwrap().to_owned();
    assert!(
        etag.len() > 2 && etag.starts_with('"') && etag.ends_with('"') && !etag.starts_with("W/"),
        "{etag}"
    );
    assert_eq!(r.header("Accept-Ranges"), Some("bytes"));
    assert_eq!(
        r.header_names(),
        [
            "Server",
            "Date",
            "Content-type",
            "Content-Length",
            "Last-Modified",
            "Accept-Ranges",
            "ETag"
        ]
    );
    assert_eq!(
        range(addr, "/a.txt", "").header("ETag"),
        Some(etag.as_str())
    );
    assert_ne!(range(addr, "/test", "").header("ETag"), Some(etag.as_str()));

    // If-None-Match: `*`, the tag, a list, a weak form of it; it wins over If-Modified-Since.
    for inm in [
        "*".to_owned(),
        etag.clone(),
        format!("\"other\", {etag}"),
        format!("W/{etag}"),
    ] {
        let r = range(
            addr,
            "/a.txt",
            &format!(
                "If-None-Match: {inm}\r\nIf-Modified-Since: Sat, 01 Jan 2000 00:00:00 GMT\r\n"
            ),
        );
        assert_eq!(r.status_line(), "HTTP/1.0 304 Not Modified", "{inm}");
        assert_eq!(
            r.header_names(),
            ["Server", "Date", "ETag", "Last-Modified"]
        );
        assert_eq!(r.header("ETag"), Some(etag.as_str()));
        assert_eq!(r.header("Last-Modified"), Some(fixture::MTIME_HTTP));
        assert!(r.body.is_empty());
    }
    let r = range(
        addr,
        "/a.txt",
        &format!(
            "If-None-Match: \"other\"\r\nIf-Modified-Since: {}\r\n",
            fixture::MTIME_HTTP
        ),
    );
    assert_eq!(r.code, 200, "If-None-Match decides, not If-Modified-Since");
    let r = range(
        addr,
        "/a.txt",
        &format!("If-Modified-Since: {}\r\n", fixture::MTIME_HTTP),
    );
    assert_eq!(r.code, 304);
    assert_eq!(r.header("ETag"), Some(etag.as_str()));
    // HEAD too.
    let r = request(
        addr,
        format!("HEAD /a.txt HTTP/1.0\r\nIf-None-Match: {etag}\r\n\r\n").as_bytes(),
    );
    assert_eq!(r.code, 304);

    // If-Match and If-Unmodified-Since.
    for (fields, code) in [
        (format!("If-Match: {etag}\r\n"), 200),
        ("If-Match: *\r\n".to_owned(), 200),
        ("If-Match: \"wrong\"\r\n".to_owned(), 412),
        (format!("If-Match: W/{etag}\r\n"), 412),
        (
            "If-Unmodified-Since: Sat, 08 Sep 2001 01:46:40 GMT\r\n".to_owned(),
            412,
        ),
        (
            format!("If-Unmodified-Since: {}\r\n", fixture::MTIME_HTTP),
            200,
        ),
        (
            format!("If-Match: {etag}\r\nIf-Unmodified-Since: Sat, 08 Sep 2001 01:46:40 GMT\r\n"),
            200,
        ),
        (
            "If-Match: \"wrong\"\r\nIf-None-Match: *\r\n".to_owned(),
            412,
        ),
    ] {
        let r = range(addr, "/a.txt", &fields);
        assert_eq!(r.code, code, "{fields:?}: {}", r.describe());
        if code == 412 {
            assert_eq!(r.status_line(), "HTTP/1.0 412 Precondition Failed");
            assert!(r.text().contains("Error code: 412"));
        }
    }
    env.finish();
}

fn if_range(rt: &'static str) {
    let env = Env::new(rt, &[]);
    let addr = env.addr();
    let etag = range(addr, "/big.bin", "")
        .header("ETag")
        .unwrap()
        .to_owned();
    for (if_range, partial) in [
        (etag.clone(), true),
        (fixture::MTIME_HTTP.to_owned(), true),
        ("\"stale\"".to_owned(), false),
        (format!("W/{etag}"), false),
        ("Sat, 08 Sep 2001 01:46:40 GMT".to_owned(), false),
        ("Sun, 09 Sep 2001 01:46:41 GMT".to_owned(), false),
        ("not a date".to_owned(), false),
    ] {
        let r = range(
            addr,
            "/big.bin",
            &format!("Range: bytes=0-9\r\nIf-Range: {if_range}\r\n"),
        );
        if partial {
            assert_eq!(r.code, 206, "{if_range}");
            assert!(r.body == fixture::big_bytes()[..10]);
        } else {
            assert_eq!(r.code, 200, "{if_range}");
            assert!(r.body == fixture::big_bytes());
        }
    }
    env.finish();
}

fn changed_file_new_etag(rt: &'static str) {
    let fx = Fixture::new();
    let server = Server::start(rt, &fx.root, &[]);
    let path = fx.path("changing.txt");
    let second = SystemTime::UNIX_EPOCH + Duration::from_secs(fixture::MTIME_UNIX);
    let write = |content: &[u8], mtime: SystemTime| {
        std::fs::write(&path, content).unwrap();
        let f = std::fs::File::options().write(true).open(&path).unwrap();
        f.set_modified(mtime).unwrap();
    };
    let etag = || {
        let r = range(server.addr, "/changing.txt", "");
        assert_eq!(r.code, 200);
        (
            r.header("ETag").unwrap().to_owned(),
            r.header("Last-Modified").unwrap().to_owned(),
            r.body,
        )
    };
    write(b"aaaa", second + Duration::from_millis(100));
    let (first, lm1, _) = etag();
    // Same size, same second: the nanoseconds of the mtime differ.
    write(b"bbbb", second + Duration::from_millis(200));
    let (rewritten, lm2, body) = etag();
    assert_eq!(lm1, lm2, "Last-Modified cannot tell the two apart");
    assert_ne!(first, rewritten);
    assert_eq!(body, b"bbbb");
    // Replaced by a rename with the very same mtime: the inode differs.
    let tmp = fx.path("changing.tmp");
    std::fs::write(&tmp, b"cccc").unwrap();
    std::fs::File::options()
        .write(true)
        .open(&tmp)
        .unwrap()
        .set_modified(second + Duration::from_millis(200))
        .unwrap();
    std::fs::rename(&tmp, &path).unwrap();
    let (renamed, _, body) = etag();
    assert_ne!(renamed, rewritten);
    assert_eq!(body, b"cccc");
    // The old tag no longer matches: If-Range sends the whole new file, If-Match fails.
    let r = range(
        server.addr,
        "/changing.txt",
        &format!("Range: bytes=0-1\r\nIf-Range: {first}\r\n"),
    );
    assert_eq!((r.code, r.body.as_slice()), (200, &b"cccc"[..]));
    let r = range(
        server.addr,
        "/changing.txt",
        &format!("If-Match: {first}\r\n"),
    );
    assert_eq!(r.code, 412);
    server.stop_clean();
}

fn compat_has_none_of_it(rt: &'static str) {
    let env = Env::new(rt, &["--compat"]);
    let addr = env.addr();
    let r = range(addr, "/a.txt", "Range: bytes=0-1\r\n");
    assert_eq!(r.code, 200);
    assert_eq!(r.header_names(), CPYTHON_FILE_HEADERS);
    assert_eq!(r.body, fixture::A_TXT);
    let r = range(addr, "/a.txt", "If-None-Match: *\r\n");
    assert_eq!(r.code, 200);
    let r = range(addr, "/a.txt", "If-Match: \"x\"\r\n");
    assert_eq!(r.code, 200);
    let r = range(
        addr,
        "/a.txt",
        &format!("If-Modified-Since: {}\r\n", fixture::MTIME_HTTP),
    );
    assert_eq!(r.code, 304);
    assert_eq!(r.header_names(), ["Server", "Date"]);
    env.finish();
}

fn charset(rt: &'static str) {
    let env = Env::new(rt, &["--charset", "utf-8"]);
    for (target, ctype) in [
        ("/a.txt", "text/plain; charset=utf-8"),
        ("/mime/x.html", "text/html; charset=utf-8"),
        ("/mime/x.js", "text/javascript; charset=utf-8"),
        ("/mime/x.svg", "image/svg+xml; charset=utf-8"),
        ("/mime/x.json", "application/json"),
        ("/mime/x.png", "image/png"),
    ] {
        let r = range(env.addr(), target, "");
        assert_eq!(r.header("Content-type"), Some(ctype), "{target}");
    }
    // Parts of a multipart body carry it too.
    let r = range(env.addr(), "/a.txt", "Range: bytes=0-0,2-2\r\n");
    assert!(
        r.text()
            .contains("Content-Type: text/plain; charset=utf-8\r\n"),
        "{}",
        r.text()
    );
    env.finish();
}

/// `curl -C -` resumes a partial download with `Range: bytes=N-`.
fn curl_resume(rt: &'static str) {
    if std::process::Command::new("curl")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("skipped: curl is not installed");
        return;
    }
    let env = Env::new(rt, &[]);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("big.part");
    let big = fixture::big_bytes();
    std::fs::write(&out, &big[..300_000]).unwrap();
    let status = std::process::Command::new("curl")
        .args(["-sS", "-f", "-C", "-", "-o"])
        .arg(&out)
        .arg(format!("http://{}/big.bin", env.addr()))
        .status()
        .unwrap();
    assert!(status.success(), "curl: {status}");
    assert!(std::fs::read(&out).unwrap() == big, "resumed file differs");
    env.finish();
}

/// Kept-alive connections taking turns, the file replaced (same size, same mtime, another
/// inode) after each response: the next request, on another connection, gets the new file. A
/// reactor that shares one look at a file among the requests of one poll must not share it
/// with a request sent after the change. One worker and two: smol shares looks only on a
/// one-thread executor.
fn replaced_between_two_connections(rt: &'static str) {
    for workers in ["1", "2"] {
        replaced_between_two_connections_on(rt, workers);
    }
}

fn replaced_between_two_connections_on(rt: &'static str, workers: &str) {
    let fx = Fixture::new();
    let server = Server::start(rt, &fx.root, &["-p", "HTTP/1.1", "--workers", workers]);
    let path = fx.path("turns.txt");
    let mtime = SystemTime::UNIX_EPOCH + Duration::from_secs(fixture::MTIME_UNIX);
    let replace = |n: usize| {
        let tmp = fx.path("turns.tmp");
        std::fs::write(&tmp, format!("version {n}")).unwrap();
        std::fs::File::options()
            .write(true)
            .open(&tmp)
            .unwrap()
            .set_modified(mtime)
            .unwrap();
        std::fs::rename(&tmp, &path).unwrap();
    };
    replace(0);
    let mut conns: Vec<Conn> = (0..3).map(|_| Conn::open(server.addr)).collect();
    for n in 0..9 {
        let conn = &mut conns[n % 3];
        conn.send(b"GET /turns.txt HTTP/1.1\r\nHost: x\r\n\r\n");
        let r = conn.read_response(false);
        assert_eq!(r.code, 200);
        assert_eq!(r.text(), format!("version {n}"), "{workers} worker(s)");
        replace(n + 1);
    }
    drop(conns);
    server.stop_clean();
}

runtime_suite!([
    single_ranges,
    multipart,
    unsatisfiable_and_invalid,
    etag_and_preconditions,
    if_range,
    changed_file_new_etag,
    replaced_between_two_connections,
    compat_has_none_of_it,
    charset,
    curl_resume,
]);
