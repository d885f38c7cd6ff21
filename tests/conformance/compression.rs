//! `--precompressed` (`file.br` / `file.gz` beside `file`) and `--compress` (gzip or brotli on
//! the fly): the coding chosen from `Accept-Encoding`, `Vary`, distinct tags, ranges, and the
//! plain file for everyone else; `curl --compressed` round trips where curl exists.

use std::io::Read as _;
use std::process::Command;

use crate::common::fixture::{Fixture, file};
use crate::common::{Response, Server, request};

fn get(addr: std::net::SocketAddr, target: &str, extra: &str) -> Response {
    request(
        addr,
        format!("GET {target} HTTP/1.0\r\n{extra}\r\n").as_bytes(),
    )
}

fn gunzip(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(data)
        .read_to_end(&mut out)
        .unwrap();
    out
}

fn unbrotli(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    brotli::BrotliDecompress(&mut &data[..], &mut out).unwrap();
    out
}

fn text() -> Vec<u8> {
    "The quick brown fox jumps over the lazy dog.\n"
        .repeat(100)
        .into_bytes()
}

fn precompressed(rt: &'static str) {
    let fx = Fixture::empty();
    file(&fx.root, "app.js", b"console.log('plain');\n");
    file(&fx.root, "app.js.br", b"BROTLI-BYTES");
    file(&fx.root, "app.js.gz", b"GZIP-BYTES!");
    file(&fx.root, "only.css", b"body{}\n");
    file(&fx.root, "only.css.gz", b"GZ");
    file(&fx.root, "lonely.txt", b"no sibling\n");
    let server = Server::start(rt, &fx.root, &["--precompressed"]);
    let addr = server.addr;

    let plain = get(addr, "/app.js", "");
    assert_eq!(plain.code, 200);
    assert_eq!(plain.body, b"console.log('plain');\n");
    assert_eq!(plain.header("Vary"), Some("Accept-Encoding"));
    assert_eq!(plain.header("Content-Encoding"), None);
    let plain_tag = plain.header("ETag").unwrap().to_owned();

    let br = get(addr, "/app.js", "Accept-Encoding: gzip, deflate, br\r\n");
    assert_eq!(br.body, b"BROTLI-BYTES", "{}", br.describe());
    assert_eq!(br.header("Content-Encoding"), Some("br"));
    assert_eq!(br.header("Content-type"), Some("text/javascript"));
    assert_eq!(br.header("Content-Length"), Some("12"));
    assert_eq!(br.header("Vary"), Some("Accept-Encoding"));
    let br_tag = br.header("ETag").unwrap().to_owned();
    assert_ne!(br_tag, plain_tag);
    assert!(!br_tag.starts_with("W/"));

    let gz = get(addr, "/app.js", "Accept-Encoding: br;q=0.5, gzip\r\n");
    assert_eq!(gz.body, b"GZIP-BYTES!");
    assert_eq!(gz.header("Content-Encoding"), Some("gzip"));
    assert_ne!(gz.header("ETag").unwrap(), br_tag);

    let none = get(addr, "/app.js", "Accept-Encoding: br;q=0, gzip;q=0\r\n");
    assert_eq!(none.body, b"console.log('plain');\n");
    assert_eq!(none.header("Vary"), Some("Accept-Encoding"));

    // Only a .gz: a br-only client gets the plain file.
    let r = get(addr, "/only.css", "Accept-Encoding: br\r\n");
    assert_eq!(r.body, b"body{}\n");
    let r = get(addr, "/only.css", "Accept-Encoding: *\r\n");
    assert_eq!(r.body, b"GZ");
    assert_eq!(r.header("Content-type"), Some("text/css"));

    // Ranges apply to the compressed bytes; a 304 for the sibling's own tag.
    let r = get(
        addr,
        "/app.js",
        "Accept-Encoding: br\r\nRange: bytes=0-5\r\n",
    );
    assert_eq!(r.code, 206);
    assert_eq!(r.body, b"BROTLI");
    assert_eq!(r.header("Content-Range"), Some("bytes 0-5/12"));
    let r = get(
        addr,
        "/app.js",
        &format!("Accept-Encoding: br\r\nIf-None-Match: {br_tag}\r\n"),
    );
    assert_eq!(r.code, 304);
    assert_eq!(r.header("Content-Encoding"), Some("br"));
    assert_eq!(r.header("Vary"), Some("Accept-Encoding"));
    let r = get(
        addr,
        "/app.js",
        &format!("Accept-Encoding: gzip\r\nIf-None-Match: {br_tag}\r\n"),
    );
    assert_eq!(r.code, 200);

    // No sibling: no Vary.
    let r = get(addr, "/lonely.txt", "Accept-Encoding: br\r\n");
    assert_eq!(r.header("Vary"), None);
    assert_eq!(r.body, b"no sibling\n");
    // The sibling itself is still a file of its own.
    let r = get(addr, "/app.js.gz", "");
    assert_eq!(r.body, b"GZIP-BYTES!");
    assert_eq!(r.header("Content-type"), Some("application/gzip"));
    server.stop_clean();
}

fn on_the_fly(rt: &'static str) {
    let fx = Fixture::empty();
    let body = text();
    file(&fx.root, "page.html", &body);
    file(&fx.root, "data.json", &body);
    file(&fx.root, "small.txt", b"tiny\n");
    file(&fx.root, "photo.png", &body);
    let server = Server::start(rt, &fx.root, &["--compress"]);
    let addr = server.addr;

    let plain = get(addr, "/page.html", "");
    assert_eq!(plain.body, body);
    assert_eq!(plain.header("Vary"), Some("Accept-Encoding"));
    assert_eq!(plain.header("Accept-Ranges"), Some("bytes"));
    let plain_tag = plain.header("ETag").unwrap().to_owned();

    let gz = get(addr, "/page.html", "Accept-Encoding: gzip\r\n");
    assert_eq!(gz.code, 200);
    assert_eq!(gz.header("Content-Encoding"), Some("gzip"));
    assert_eq!(gz.header("Content-type"), Some("text/html"));
    assert_eq!(
        gz.header("Content-Length"),
        Some(gz.body.len().to_string().as_str())
    );
    assert!(gz.body.len() < body.len() / 4);
    assert_eq!(gunzip(&gz.body), body);
    let gz_tag = gz.header("ETag").unwrap().to_owned();
    assert!(gz_tag.starts_with("W/"), "{gz_tag}");
    assert_ne!(gz_tag, plain_tag);

    let br = get(addr, "/data.json", "Accept-Encoding: gzip, br\r\n");
    assert_eq!(br.header("Content-Encoding"), Some("br"));
    assert_eq!(unbrotli(&br.body), body);

    // HEAD: same head, no body.
    let head = request(
        addr,
        b"HEAD /page.html HTTP/1.0\r\nAccept-Encoding: gzip\r\n\r\n",
    );
    assert_eq!(head.header("Content-Length"), gz.header("Content-Length"));
    assert!(head.body.is_empty());

    // The weak tag revalidates; If-Match (strong) with it fails.
    let r = get(
        addr,
        "/page.html",
        &format!("Accept-Encoding: gzip\r\nIf-None-Match: {gz_tag}\r\n"),
    );
    assert_eq!(r.code, 304, "{}", r.describe());
    assert_eq!(r.header("ETag"), Some(gz_tag.as_str()));
    let r = get(
        addr,
        "/page.html",
        &format!("Accept-Encoding: gzip\r\nIf-Match: {gz_tag}\r\n"),
    );
    assert_eq!(r.code, 412);

    // Never for a Range request: the plain file's bytes.
    let r = get(
        addr,
        "/page.html",
        "Accept-Encoding: gzip\r\nRange: bytes=0-9\r\n",
    );
    assert_eq!(r.code, 206);
    assert_eq!(r.body, &body[..10]);
    assert_eq!(r.header("Content-Encoding"), None);
    assert_eq!(r.header("Vary"), Some("Accept-Encoding"));

    // Too small, or not a compressible type: plain, no Vary.
    for target in ["/small.txt", "/photo.png"] {
        let r = get(addr, target, "Accept-Encoding: gzip, br\r\n");
        assert_eq!(r.header("Content-Encoding"), None, "{target}");
        assert_eq!(r.header("Vary"), None, "{target}");
    }
    server.stop_clean();
}

/// Neither flag changes anything by default.
fn off_by_default(rt: &'static str) {
    let fx = Fixture::empty();
    file(&fx.root, "page.html", &text());
    file(&fx.root, "page.html.gz", b"GZ");
    let server = Server::start(rt, &fx.root, &[]);
    let r = get(server.addr, "/page.html", "Accept-Encoding: gzip, br\r\n");
    assert_eq!(r.body, text());
    assert_eq!(r.header("Content-Encoding"), None);
    assert_eq!(r.header("Vary"), None);
    server.stop_clean();
}

fn curl_compressed(rt: &'static str) {
    if Command::new("curl").arg("--version").output().is_err() {
        eprintln!("skipped: curl is not installed");
        return;
    }
    let fx = Fixture::empty();
    file(&fx.root, "page.html", &text());
    let server = Server::start(rt, &fx.root, &["--compress"]);
    let url = format!("http://{}/page.html", server.addr);
    let out = Command::new("curl")
        .args(["-s", "--compressed", "-D", "-", &url])
        .output()
        .unwrap();
    let text_out = String::from_utf8_lossy(&out.stdout);
    assert!(
        text_out.to_ascii_lowercase().contains("content-encoding:"),
        "{text_out}"
    );
    assert!(
        out.stdout.ends_with(&text()),
        "curl did not decode the body"
    );
    server.stop_clean();
}

runtime_suite!([precompressed, on_the_fly, off_by_default, curl_compressed]);
