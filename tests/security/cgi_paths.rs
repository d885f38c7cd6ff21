//! Finding 1: which program a CGI URL runs.
//!
//! The URL used to be percent-decoded twice (once to pick the CGI directory, once more to find
//! the script), so `/cgi-bin/%252e%252e%252fvenv%252fbin%252fpython3?-c...` ran a program
//! outside the CGI directory with the query as its argument. Now a path is decoded exactly once
//! and the program that would run, after every symbolic link is resolved, must be a regular
//! executable file inside a CGI directory under the root.
//!
//! The tree holds decoy executables that print a marker only when *run* (the marker is computed,
//! so serving a decoy's source never shows it): `venv/bin/python3` under the root but outside
//! the CGI directory, `evil.sh` outside the root, and links to both from inside `cgi-bin`.

use std::fs;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::Path;

use crate::common::fixture::Fixture;
use crate::common::{Server, contains, exchange, show};

/// What a decoy prints when it runs: `RAN-` and 42, computed by the shell.
const RAN: &[u8] = b"RAN-42";

fn script(path: &Path, body: &str) {
    fs::write(path, format!("#!/bin/sh\n{body}\n")).unwrap();
    fs::set_permissions(path, fs::Permissions::from_mode(0o755)).unwrap();
}

fn decoy(path: &Path) {
    script(
        path,
        "printf 'Content-Type: text/plain\\r\\n\\r\\n'\necho RAN-$((6*7)) \"$@\"",
    );
}

/// `cgi-bin/hello.sh` (a real script), decoys, and links in and out of the CGI directory.
fn fixture() -> Fixture {
    let fx = Fixture::empty();
    let root = &fx.root;
    let bin = root.join("cgi-bin");
    fs::create_dir_all(&bin).unwrap();
    script(
        &bin.join("hello.sh"),
        "printf 'Content-Type: text/plain\\r\\n\\r\\n'\necho CGI-$((40+2))",
    );
    symlink("hello.sh", bin.join("inside-link.sh")).unwrap();
    fs::create_dir_all(root.join("venv/bin")).unwrap();
    decoy(&root.join("venv/bin/python3"));
    let outside = fx.outside.parent().unwrap().join("evil.sh");
    decoy(&outside);
    symlink(&outside, bin.join("evil-link.sh")).unwrap();
    symlink("../venv/bin/python3", bin.join("venv-link")).unwrap();
    symlink("../venv/bin", bin.join("venv-dir")).unwrap();
    symlink(outside.parent().unwrap(), bin.join("out-dir")).unwrap();
    fx
}

/// Spellings of "the program at `venv/bin/python3`", from inside the CGI directory.
const ATTACKS: &[&str] = &[
    // double and triple encoding
    "/cgi-bin/%252e%252e%252fvenv%252fbin%252fpython3",
    "/cgi-bin/%252E%252E%252Fvenv%252Fbin%252Fpython3",
    "/cgi-bin/%25252e%25252e%25252fvenv%25252fbin%25252fpython3",
    "/cgi-bin/%252e%252e/venv/bin/python3",
    "/cgi-bin/.%252e/venv/bin/python3",
    "/cgi-bin/%252e%252e/%252e%252e/venv/bin/python3",
    "//cgi-bin/%252e%252e/venv/bin/python3",
    "/cgi-bin%252f%252e%252e%252fvenv/bin/python3",
    // single encoding (collapses out of the CGI directory: served as a file, never run)
    "/cgi-bin/%2e%2e/venv/bin/python3",
    "/cgi-bin/%2E%2E%2Fvenv%2Fbin%2Fpython3",
    "/cgi-bin/..%2fvenv%2fbin%2fpython3",
    "/cgi-bin/../venv/bin/python3",
    "/cgi-bin//..//venv/bin/python3",
    // backslashes, overlong UTF-8, parameters
    "/cgi-bin/..%5cvenv%5cbin%5cpython3",
    "/cgi-bin/%5c..%5cvenv/bin/python3",
    "/cgi-bin/%c0%ae%c0%ae%c0%afvenv%c0%afbin%c0%afpython3",
    "/cgi-bin/%c0%ae%c0%ae/venv/bin/python3",
    "/cgi-bin/..;/venv/bin/python3",
    "/cgi-bin/;/../venv/bin/python3",
    "/cgi-bin/%3b/%2e%2e/venv/bin/python3",
    // links inside the CGI directory that lead out of it
    "/cgi-bin/venv-link",
    "/cgi-bin/venv-dir/python3",
    "/cgi-bin/evil-link.sh",
    "/cgi-bin/out-dir/evil.sh",
    "/cgi-bin/%2576env-link",
];

fn send(addr: std::net::SocketAddr, method: &str, target: &str) -> Vec<u8> {
    let request = if method == "POST" {
        format!("{method} {target} HTTP/1.0\r\nContent-Length: 4\r\n\r\nbody")
    } else {
        format!("{method} {target} HTTP/1.0\r\n\r\n")
    };
    exchange(addr, request.as_bytes())
}

fn double_decoding_never_runs_a_program(rt: &'static str) {
    let fx = fixture();
    let server = Server::start(rt, &fx.root, &["--cgi"]);
    let mut ran = Vec::new();
    for target in ATTACKS {
        for query in ["", "?-c+import+os", "?a=b"] {
            for method in ["GET", "POST", "HEAD"] {
                let target = format!("{target}{query}");
                let response = send(server.addr, method, &target);
                if contains(&response, RAN) || response.is_empty() {
                    ran.push(format!("{method} {target}: {}", show(&response)));
                }
            }
        }
    }
    assert!(ran.is_empty(), "programs ran:\n{}", ran.join("\n"));
    // The decoys' stdout never reached anyone, and the real script still runs.
    let hello = send(server.addr, "GET", "/cgi-bin/hello.sh");
    assert!(contains(&hello, b"CGI-42"), "{}", show(&hello));
    let linked = send(server.addr, "GET", "/cgi-bin/inside-link.sh?x");
    assert!(contains(&linked, b"CGI-42"), "{}", show(&linked));
    let encoded_once = send(server.addr, "GET", "/cgi-bin/%68ello.sh");
    assert!(
        contains(&encoded_once, b"CGI-42"),
        "{}",
        show(&encoded_once)
    );
    let stderr = server.stop_clean();
    assert!(!stderr.contains("RAN-"), "{stderr}");
}

/// What answers a refused script: 404 (or 403) with a body, never a run and never silence.
fn refused_scripts_get_an_error_page(rt: &'static str) {
    let fx = fixture();
    let server = Server::start(rt, &fx.root, &["--cgi"]);
    for target in [
        "/cgi-bin/%252e%252e%252fvenv%252fbin%252fpython3",
        "/cgi-bin/venv-link",
        "/cgi-bin/evil-link.sh",
        "/cgi-bin/venv-dir/python3",
    ] {
        let response = send(server.addr, "GET", target);
        let head = String::from_utf8_lossy(&response);
        assert!(
            head.starts_with("HTTP/1.0 404 ") || head.starts_with("HTTP/1.0 403 "),
            "GET {target}: {}",
            show(&response)
        );
        assert!(contains(&response, b"<html"), "{}", show(&response));
    }
    server.stop_clean();
}

runtime_suite!([
    double_decoding_never_runs_a_program,
    refused_scripts_get_an_error_page
]);
