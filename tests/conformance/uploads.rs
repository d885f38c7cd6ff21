//! `--upload`: `PUT` and multipart `POST` into the served tree, and every way of writing
//! where one must not (`..`, `%2e%2e`, hidden and absolute names, a link out of the root), a
//! body over `--upload-max`, two uploads racing for one name, a body that stops early; `curl
//! -T` and `curl -F` round trips where curl exists.

use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::common::fixture::{Fixture, file};
use crate::common::{Conn, Response, Server, request};

fn put(addr: std::net::SocketAddr, target: &str, body: &[u8]) -> Response {
    let mut req = format!(
        "PUT {target} HTTP/1.0\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    req.extend_from_slice(body);
    request(addr, &req)
}

fn multipart(addr: std::net::SocketAddr, target: &str, files: &[(&str, &[u8])]) -> Response {
    let mut body = Vec::new();
    body.extend_from_slice(
        b"--b0undary\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nignored\r\n",
    );
    for (name, data) in files {
        body.extend_from_slice(
            format!(
                "--b0undary\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(data);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(b"--b0undary--\r\n");
    let mut req = format!(
        "POST {target} HTTP/1.0\r\nContent-Type: multipart/form-data; boundary=b0undary\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    req.extend_from_slice(&body);
    request(addr, &req)
}

/// The names in `dir`, sorted.
fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

fn no_temp_files(dir: &Path) -> bool {
    !names(dir).iter().any(|n| n.starts_with(".upload-"))
}

fn put_and_post(rt: &'static str) {
    let fx = Fixture::empty();
    std::fs::create_dir(fx.root.join("sub")).unwrap();
    let server = Server::start(rt, &fx.root, &["--upload"]);
    let addr = server.addr;

    let r = put(addr, "/sub/new%20file.txt", b"hello");
    assert_eq!(r.code, 201, "{}", r.describe());
    assert_eq!(r.header("Location"), Some("/sub/new%20file.txt"));
    let saved = fx.root.join("sub/new file.txt");
    assert_eq!(std::fs::read(&saved).unwrap(), b"hello");
    assert_eq!(
        std::fs::metadata(&saved).unwrap().permissions().mode() & 0o777,
        0o644
    );
    // It is served at once.
    let r = request(addr, b"GET /sub/new%20file.txt HTTP/1.0\r\n\r\n");
    assert_eq!(r.body, b"hello");

    let r = put(addr, "/sub/new%20file.txt", b"again");
    assert_eq!(r.code, 409, "{}", r.describe());
    assert_eq!(std::fs::read(&saved).unwrap(), b"hello");

    let zeros = vec![0u8; 70000];
    let r = multipart(
        addr,
        "/sub/",
        &[("one.txt", b"1\r\n--b0und"), ("two.bin", &zeros)],
    );
    assert_eq!(r.code, 201, "{}", r.describe());
    assert_eq!(r.header("Location"), Some("/sub/one.txt"));
    assert_eq!(
        std::fs::read(fx.root.join("sub/one.txt")).unwrap(),
        b"1\r\n--b0und"
    );
    assert_eq!(
        std::fs::read(fx.root.join("sub/two.bin")).unwrap(),
        vec![0u8; 70000]
    );

    // A directory, not a file; a file, not a directory; a missing directory.
    assert_eq!(put(addr, "/sub/", b"x").code, 403);
    assert_eq!(multipart(addr, "/sub/one.txt/", &[("a", b"x")]).code, 403);
    assert_eq!(put(addr, "/missing/a.txt", b"x").code, 403);
    // A form without a file field; a broken one.
    assert_eq!(multipart(addr, "/sub/", &[]).code, 400);
    let r = request(
        addr,
        b"POST /sub/ HTTP/1.0\r\nContent-Type: multipart/form-data; boundary=zz\r\nContent-Length: 5\r\n\r\nhello",
    );
    assert_eq!(r.code, 400, "{}", r.describe());
    assert!(no_temp_files(&fx.root.join("sub")));
    server.stop_clean();

    // With --upload-overwrite: 204, replaced.
    let server = Server::start(rt, &fx.root, &["--upload", "--upload-overwrite"]);
    let r = put(server.addr, "/sub/new%20file.txt", b"replaced");
    assert_eq!(r.code, 204, "{}", r.describe());
    assert_eq!(std::fs::read(&saved).unwrap(), b"replaced");
    server.stop_clean();
}

fn hostile_names(rt: &'static str) {
    let fx = Fixture::empty();
    let outside = fx.root.parent().unwrap().join("elsewhere");
    std::fs::create_dir(&outside).unwrap();
    std::fs::create_dir(fx.root.join("sub")).unwrap();
    symlink(&outside, fx.root.join("out")).unwrap();
    let server = Server::start(rt, &fx.root, &["--upload"]);
    let addr = server.addr;
    let before_parent = names(fx.root.parent().unwrap());

    for target in [
        "/../x.txt",
        "/sub/../../x.txt",
        "/%2e%2e/x.txt",
        "/sub/%2E%2E/%2e%2e/x.txt",
        "/sub/..%2fx.txt",
        "/sub/.hidden",
        "/sub/..",
        "/sub/%2e",
        "/sub/a%5cb.txt",
        "/sub/a%00b.txt",
        "/out/x.txt",
        "/out/",
    ] {
        let r = put(addr, target, b"pwned");
        assert_eq!(r.code, 403, "{target}: {}", r.describe());
    }
    for filename in [
        "../x.txt",
        "/etc/x.txt",
        "a/b.txt",
        "..\\\\x.txt",
        ".hidden",
        "..",
    ] {
        let r = multipart(addr, "/sub/", &[(filename, b"pwned")]);
        assert_eq!(r.code, 400, "{filename}: {}", r.describe());
    }
    let r = multipart(addr, "/out/", &[("x.txt", b"pwned")]);
    assert_eq!(r.code, 403, "{}", r.describe());
    assert!(names(&outside).is_empty(), "{:?}", names(&outside));
    assert!(
        names(&fx.root.join("sub")).is_empty(),
        "{:?}",
        names(&fx.root.join("sub"))
    );
    assert_eq!(names(fx.root.parent().unwrap()), before_parent);
    assert_eq!(names(&fx.root), ["out", "sub"]);
    server.stop_clean();
}

fn too_large(rt: &'static str) {
    let fx = Fixture::empty();
    let server = Server::start(rt, &fx.root, &["--upload", "--upload-max", "1000"]);
    let addr = server.addr;
    // A declared 2 GiB body: refused before it is read.
    let mut conn = Conn::open(addr);
    conn.send(b"PUT /big.bin HTTP/1.1\r\nHost: x\r\nContent-Length: 2147483648\r\n\r\n");
    let _ = conn.try_send(&[0u8; 16384]);
    let r = conn.read_response(false);
    assert_eq!(r.code, 413, "{}", r.describe());
    assert!(conn.closed_within(Duration::from_secs(5)));
    // Chunked, growing past the limit as it streams: cut at the limit.
    let mut conn = Conn::open(addr);
    conn.send(b"PUT /big.bin HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n");
    for _ in 0..4 {
        let _ = conn.try_send(b"200\r\n");
        let _ = conn.try_send(&[b'a'; 512]);
        let _ = conn.try_send(b"\r\n");
    }
    let r = conn.read_response(false);
    assert_eq!(r.code, 413, "{}", r.describe());
    drop(conn);
    // At the limit exactly: fine.
    assert_eq!(put(addr, "/ok.bin", &[7u8; 1000]).code, 201);
    let multi = multipart(addr, "/", &[("m.bin", &[1u8; 2000])]);
    assert_eq!(multi.code, 413);
    assert_eq!(names(&fx.root), ["ok.bin"]);
    server.stop_clean();
}

fn racing_for_one_name(rt: &'static str) {
    let fx = Fixture::empty();
    let server = Server::start(rt, &fx.root, &["--upload"]);
    let addr = server.addr;
    let mut a = Conn::open(addr);
    let mut b = Conn::open(addr);
    for c in [&mut a, &mut b] {
        c.send(b"PUT /same.txt HTTP/1.0\r\nContent-Length: 10\r\n\r\nfive!");
    }
    std::thread::sleep(Duration::from_millis(200));
    a.send(b"aaaaa");
    b.send(b"bbbbb");
    let mut codes = [a.read_response(false).code, b.read_response(false).code];
    codes.sort_unstable();
    assert_eq!(codes, [201, 409]);
    let content = std::fs::read(fx.root.join("same.txt")).unwrap();
    assert!(content == b"five!aaaaa" || content == b"five!bbbbb");
    assert_eq!(names(&fx.root), ["same.txt"]);
    server.stop_clean();
}

fn body_ends_early(rt: &'static str) {
    let fx = Fixture::empty();
    let server = Server::start(rt, &fx.root, &["--upload"]);
    let mut conn = Conn::open(server.addr);
    conn.send(b"PUT /cut.txt HTTP/1.0\r\nContent-Length: 100000\r\n\r\n");
    conn.send(&[b'x'; 5000]);
    std::thread::sleep(Duration::from_millis(200));
    drop(conn);
    let deadline = Instant::now() + Duration::from_secs(10);
    while !names(&fx.root).is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(names(&fx.root).is_empty(), "{:?}", names(&fx.root));
    server.stop_clean();
}

/// Without --upload, PUT is CPython's 501 and POST too; the rich listing shows the form only
/// with --upload.
fn off_by_default(rt: &'static str) {
    let fx = Fixture::empty();
    file(&fx.root, "a.txt", b"a");
    let server = Server::start(rt, &fx.root, &["--listing", "rich"]);
    let r = put(server.addr, "/b.txt", b"x");
    assert_eq!(r.code, 501);
    assert_eq!(r.reason, "Unsupported method ('PUT')");
    assert_eq!(multipart(server.addr, "/", &[("b.txt", b"x")]).code, 501);
    let listing = request(server.addr, b"GET / HTTP/1.0\r\n\r\n");
    assert!(!listing.text().contains("<form"));
    server.stop_clean();
    let server = Server::start(rt, &fx.root, &["--listing", "rich", "--upload"]);
    let listing = request(server.addr, b"GET / HTTP/1.0\r\n\r\n");
    assert!(
        listing
            .text()
            .contains("method=\"post\" action=\"./\" enctype=\"multipart/form-data\"")
    );
    server.stop_clean();
    assert_eq!(names(&fx.root), ["a.txt"]);
}

fn curl_uploads(rt: &'static str) {
    if Command::new("curl").arg("--version").output().is_err() {
        eprintln!("skipped: curl is not installed");
        return;
    }
    let fx = Fixture::empty();
    let src = fx.root.parent().unwrap().join("src.txt");
    std::fs::write(&src, "from curl\n".repeat(1000)).unwrap();
    let server = Server::start(rt, &fx.root, &["--upload"]);
    let base = format!("http://{}", server.addr);
    let code = |args: &[&str]| {
        let out = Command::new("curl")
            .args(["-s", "-o", "/dev/null", "-w", "%{http_code}"])
            .args(args)
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let src_arg = src.to_str().unwrap();
    assert_eq!(code(&["-T", src_arg, &format!("{base}/put.txt")]), "201");
    assert_eq!(
        code(&["-F", &format!("file=@{src_arg}"), &format!("{base}/")]),
        "201"
    );
    assert_eq!(
        std::fs::read(fx.root.join("put.txt")).unwrap(),
        std::fs::read(&src).unwrap()
    );
    assert_eq!(
        std::fs::read(fx.root.join("src.txt")).unwrap(),
        std::fs::read(&src).unwrap()
    );
    server.stop_clean();
}

/// `GET`, `PUT`, `GET` of one file pipelined on one connection: the second `GET` was sent
/// after the `PUT`, so it gets the uploaded file, even on a server that shares one look at a
/// file among the requests that arrived before it (smol and mio with one worker): the upload
/// runs on another thread and changes the file after that look.
fn pipelined_get_after_put(rt: &'static str) {
    let fx = Fixture::empty();
    std::fs::write(fx.root.join("f.txt"), "old").unwrap();
    let server = Server::start(
        rt,
        &fx.root,
        &[
            "-p",
            "HTTP/1.1",
            "--upload",
            "--upload-overwrite",
            "--workers",
            "1",
        ],
    );
    let mut conn = Conn::open(server.addr);
    conn.send(
        b"GET /f.txt HTTP/1.1\r\nHost: x\r\n\r\n\
          PUT /f.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nnew\
          GET /f.txt HTTP/1.1\r\nHost: x\r\n\r\n",
    );
    let first = conn.read_response(false);
    assert_eq!((first.code, first.text()), (200, "old".to_owned()));
    let put = conn.read_response(false);
    assert!(put.code / 100 == 2, "{}", put.describe());
    let second = conn.read_response(false);
    assert_eq!((second.code, second.text()), (200, "new".to_owned()));
    drop(conn);
    server.stop_clean();
}

runtime_suite!([
    pipelined_get_after_put,
    put_and_post,
    hostile_names,
    too_large,
    racing_for_one_name,
    body_ends_early,
    off_by_default,
    curl_uploads,
]);
