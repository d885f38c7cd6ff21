//! Finding 10: the trailing-slash redirect never sends a browser to another host.
//!
//! `GET /\evil.com/..` names the root directory, whose redirect used to be
//! `Location: /\evil.com/../` (browsers read `/\` as `//`, another host); in `--compat`,
//! `GET \x01//evil.com/../..` gave `Location: //evil.com/../../`. A Location we build never
//! starts with `//`, `/\` or `\`, holds no backslash, and carries a scheme and host only when the
//! client itself sent an absolute `http(s)` URL.

use crate::common::fixture::Fixture;
use crate::common::{Server, exchange, parse_response, show};

/// Targets that name a directory without a trailing slash, spelled to smuggle a host in.
const ATTACKS: &[&[u8]] = &[
    b"/\\evil.com/..",
    b"/\\evil.com/../sub",
    b"\\evil.com/..",
    b"\\\\evil.com/..",
    b"/\\/evil.com/..",
    b"//\\evil.com/..",
    b"/%5cevil.com/..",
    b"//evil.com/..",
    b"///evil.com/..",
    b"//evil.com/..%2f..%2fsub",
    b"/evil.com/..%2f..%2fsub",
    b"\x01//evil.com/../..",
    b"\x01/\\evil.com/../..",
    b" //evil.com/../..",
    b"\t//evil.com/../..",
    b"http:/evil.com/..",
    b"http:\\\\evil.com/..",
    b"ftp://evil.com/../..",
];

/// Why `location` could send a browser elsewhere, if it could.
fn unsafe_location(location: &str) -> Option<&'static str> {
    if location.starts_with("//") {
        return Some("scheme-relative");
    }
    if location.starts_with('\\') || location.starts_with("/\\") {
        return Some("backslash start");
    }
    if location.contains('\\') {
        return Some("raw backslash");
    }
    let first = location.split('/').next().unwrap_or_default();
    if first.contains(':') {
        return Some("a scheme the client did not send");
    }
    None
}

fn check_mode(rt: &'static str, args: &[&str]) {
    let fx = Fixture::new();
    let server = Server::start(rt, &fx.root, args);
    let mut bad = Vec::new();
    for target in ATTACKS {
        for version in ["HTTP/1.0", "HTTP/1.1"] {
            let mut raw = b"GET ".to_vec();
            raw.extend_from_slice(target);
            raw.extend_from_slice(format!(" {version}\r\nHost: h\r\n\r\n").as_bytes());
            let response = exchange(server.addr, &raw);
            let Ok(r) = parse_response(&response, false) else {
                continue;
            };
            if let Some(location) = r.header("location")
                && let Some(why) = unsafe_location(location)
            {
                bad.push(format!("{} -> {location:?} ({why})", show(&raw)));
            }
        }
    }
    assert!(bad.is_empty(), "{args:?}:\n{}", bad.join("\n"));
    server.stop_clean();
}

fn redirects_stay_on_this_host(rt: &'static str) {
    check_mode(rt, &[]);
}

fn compat_redirects_stay_on_this_host(rt: &'static str) {
    check_mode(rt, &["--compat"]);
}

/// The two reported cases, with the Location each now gets.
fn reported_cases(rt: &'static str) {
    let fx = Fixture::new();
    let server = Server::start(rt, &fx.root, &[]);
    let r = parse_response(
        &exchange(server.addr, b"GET /\\evil.com/.. HTTP/1.0\r\n\r\n"),
        false,
    )
    .unwrap();
    assert_eq!(r.code, 301, "{}", r.describe());
    assert_eq!(r.header("location"), Some("/%5Cevil.com/../"));
    server.stop_clean();

    let server = Server::start(rt, &fx.root, &["--compat"]);
    let r = parse_response(
        &exchange(server.addr, b"GET \x01//evil.com/../.. HTTP/1.0\r\n\r\n"),
        false,
    )
    .unwrap();
    assert_eq!(r.code, 301, "{}", r.describe());
    assert_eq!(r.header("location"), Some("/evil.com/../../"));
    server.stop_clean();
}

runtime_suite!([
    redirects_stay_on_this_host,
    compat_redirects_stay_on_this_host,
    reported_cases
]);
