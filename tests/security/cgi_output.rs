//! What a CGI script writes on stdout, and what reaches the client (RFC 3875 6.3).
//!
//! The hole: a reply to `HEAD` carried the script's body, so a client or proxy that (rightly)
//! reads no body after a `HEAD` head took those bytes for the next response. Now the script's
//! header block is parsed: `Status:` and `Location:` make the status line, a malformed block
//! is a 502, bare `\n` line ends work, and a `HEAD` reply stops at the script's blank line in
//! every mode. `--compat` still sends CPython's bytes.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use crate::common::fixture::Fixture;
use crate::common::{contains, exchange, find, parse_response, show};

/// Writes an executable `/bin/sh` script `name` into `dir`.
pub(crate) fn script(dir: &Path, name: &str, body: &str) {
    let path = dir.join(name);
    fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
}

/// A tree with an empty `/cgi-bin`.
pub(crate) fn cgi_tree() -> Fixture {
    let fx = Fixture::empty();
    fs::create_dir(fx.root.join("cgi-bin")).unwrap();
    fx
}

/// A script whose body is a complete second response: what a client would read as the answer
/// to its next pipelined request if the body of a `HEAD` reply got through.
const INJECT: &str = "printf 'Content-Type: text/plain\\r\\n\\r\\n'\n\
     printf 'HTTP/1.1 200 OK\\r\\nContent-Length: 8\\r\\n\\r\\nINJECTED'";

fn tree() -> Fixture {
    let fx = cgi_tree();
    let bin = fx.root.join("cgi-bin");
    script(&bin, "inject.sh", INJECT);
    script(
        &bin,
        "lf.sh",
        "printf 'Content-Type: text/plain\\n\\nhello-%s\\n' $((40+2))",
    );
    script(
        &bin,
        "lf_inject.sh",
        "printf 'Content-Type: text/plain\\n\\nINJECTED\\n'",
    );
    script(
        &bin,
        "status.sh",
        "printf 'Status: 404 Not Found\\r\\nContent-Type: text/plain\\r\\nX-Script: yes\\r\\n\\r\\nmissing'",
    );
    script(&bin, "location.sh", "printf 'Location: /elsewhere\\n\\n'");
    script(
        &bin,
        "no_colon.sh",
        "printf 'this is not a header\\n\\nbody'",
    );
    script(&bin, "no_blank.sh", "printf 'Content-Type: text/plain\\n'");
    script(&bin, "silent.sh", "exit 0");
    script(
        &bin,
        "bad_value.sh",
        "printf 'X-Split: a\\rInjected: b\\n\\nbody'",
    );
    script(
        &bin,
        "huge_head.sh",
        "printf 'X-Big: '\nhead -c 70000 /dev/zero | tr '\\0' a\nprintf '\\n\\nbody'",
    );
    fx
}

fn start(runtime: &str, fx: &Fixture, compat: bool) -> crate::common::Server {
    let mut args = vec!["--cgi"];
    if compat {
        args.push("--compat");
    }
    crate::common::Server::start(runtime, &fx.root, &args)
}

/// The bytes after the first blank line (`\r\n\r\n`) of `raw`.
fn after_head(raw: &[u8]) -> &[u8] {
    let end = find(raw, b"\r\n\r\n").unwrap_or_else(|| panic!("no head: {}", show(raw))) + 4;
    &raw[end..]
}

fn head_reply_carries_no_body(runtime: &'static str) {
    let fx = tree();
    let server = start(runtime, &fx, false);
    let raw = exchange(server.addr, b"HEAD /cgi-bin/inject.sh HTTP/1.0\r\n\r\n");
    assert!(
        raw.starts_with(b"HTTP/1.0 200 Script output follows\r\n"),
        "{}",
        show(&raw)
    );
    assert!(
        after_head(&raw).is_empty(),
        "body bytes after a HEAD head: {}",
        show(&raw)
    );
    let raw = exchange(server.addr, b"HEAD /cgi-bin/lf_inject.sh HTTP/1.0\r\n\r\n");
    assert!(!contains(&raw, b"INJECTED"), "{}", show(&raw));
    assert!(after_head(&raw).is_empty(), "{}", show(&raw));
    // GET still gets the body.
    let raw = exchange(server.addr, b"GET /cgi-bin/inject.sh HTTP/1.0\r\n\r\n");
    assert!(
        after_head(&raw).starts_with(b"HTTP/1.1 200 OK"),
        "{}",
        show(&raw)
    );
    server.stop_clean();
}

fn compat_head_reply_stops_at_the_blank_line(runtime: &'static str) {
    let fx = tree();
    let server = start(runtime, &fx, true);
    let raw = exchange(server.addr, b"HEAD /cgi-bin/inject.sh HTTP/1.0\r\n\r\n");
    assert!(
        raw.ends_with(b"Content-Type: text/plain\r\n\r\n"),
        "the reply must end at the script's blank line: {}",
        show(&raw)
    );
    assert!(!contains(&raw, b"INJECTED"), "{}", show(&raw));
    let raw = exchange(server.addr, b"HEAD /cgi-bin/lf_inject.sh HTTP/1.0\r\n\r\n");
    assert!(
        raw.ends_with(b"\r\nContent-Type: text/plain\n\n"),
        "{}",
        show(&raw)
    );
    server.stop_clean();
}

fn status_field_makes_the_status_line(runtime: &'static str) {
    let fx = tree();
    let server = start(runtime, &fx, false);
    let raw = exchange(server.addr, b"GET /cgi-bin/status.sh HTTP/1.0\r\n\r\n");
    let response = parse_response(&raw, false).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        response.status_line(),
        "HTTP/1.0 404 Not Found",
        "{}",
        show(&raw)
    );
    assert_eq!(response.header("Status"), None, "{}", show(&raw));
    assert_eq!(response.header("Content-Type"), Some("text/plain"));
    assert_eq!(response.header("X-Script"), Some("yes"));
    assert_eq!(response.header_count("Server"), 1);
    assert_eq!(response.header_count("Date"), 1);
    assert_eq!(response.body, b"missing");
    server.stop_clean();
}

fn location_alone_is_a_redirect(runtime: &'static str) {
    let fx = tree();
    let server = start(runtime, &fx, false);
    let raw = exchange(server.addr, b"GET /cgi-bin/location.sh HTTP/1.0\r\n\r\n");
    let response = parse_response(&raw, false).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        response.status_line(),
        "HTTP/1.0 302 Found",
        "{}",
        show(&raw)
    );
    assert_eq!(response.header("Location"), Some("/elsewhere"));
    assert!(response.body.is_empty(), "{}", show(&raw));
    server.stop_clean();
}

fn malformed_output_is_a_bad_gateway(runtime: &'static str) {
    let fx = tree();
    let server = start(runtime, &fx, false);
    for name in [
        "no_colon.sh",
        "no_blank.sh",
        "silent.sh",
        "bad_value.sh",
        "huge_head.sh",
    ] {
        let raw = exchange(
            server.addr,
            format!("GET /cgi-bin/{name} HTTP/1.0\r\n\r\n").as_bytes(),
        );
        let response = parse_response(&raw, false).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(response.code, 502, "{name}: {}", show(&raw));
        assert_eq!(response.reason, "Bad Gateway", "{name}");
        assert_eq!(
            response.header("Content-Type"),
            Some("text/html;charset=utf-8")
        );
        assert!(contains(&response.body, b"Error code: 502"), "{name}");
        assert!(!contains(&raw, b"Injected:"), "{name}: {}", show(&raw));
        assert!(!contains(&raw, b"aaaaaaaa"), "{name}: a huge head leaked");
    }
    let head = exchange(server.addr, b"HEAD /cgi-bin/no_colon.sh HTTP/1.0\r\n\r\n");
    assert!(head.starts_with(b"HTTP/1.0 502 "), "{}", show(&head));
    assert!(after_head(&head).is_empty(), "{}", show(&head));
    server.stop_clean();
}

fn newline_only_scripts_work(runtime: &'static str) {
    let fx = tree();
    let server = start(runtime, &fx, false);
    let raw = exchange(server.addr, b"GET /cgi-bin/lf.sh HTTP/1.0\r\n\r\n");
    let response = parse_response(&raw, false).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(response.status_line(), "HTTP/1.0 200 Script output follows");
    assert_eq!(response.header("Content-Type"), Some("text/plain"));
    assert_eq!(response.body, b"hello-42\n");
    server.stop_clean();
}

fn compat_keeps_cpython_bytes(runtime: &'static str) {
    let fx = tree();
    let server = start(runtime, &fx, true);
    for (name, tail) in [
        ("lf.sh", &b"\r\nContent-Type: text/plain\n\nhello-42\n"[..]),
        ("no_colon.sh", b"\r\nthis is not a header\n\nbody"),
    ] {
        let raw = exchange(
            server.addr,
            format!("GET /cgi-bin/{name} HTTP/1.0\r\n\r\n").as_bytes(),
        );
        assert!(
            raw.starts_with(b"HTTP/1.0 200 Script output follows\r\nServer: "),
            "{name}: {}",
            show(&raw)
        );
        assert!(raw.ends_with(tail), "{name}: {}", show(&raw));
        let date = find(&raw, b"\r\nDate: ").expect("a Date header");
        assert_eq!(
            find(&raw[date + 2..], b"\r\n").map(|i| date + 2 + i + tail.len()),
            Some(raw.len()),
            "{name}: the script's bytes follow the Date line verbatim: {}",
            show(&raw)
        );
    }
    server.stop_clean();
}

runtime_suite!([
    head_reply_carries_no_body,
    compat_head_reply_stops_at_the_blank_line,
    status_field_makes_the_status_line,
    location_alone_is_a_redirect,
    malformed_output_is_a_bad_gateway,
    newline_only_scripts_work,
    compat_keeps_cpython_bytes,
]);
