//! Path translation: query and fragment stripped, percent-decoding, dot segments kept
//! inside the root, double slashes collapsed (no open redirect), targets without a leading slash.

use crate::common::fixture;
use crate::common::{contains, get};
use crate::support::{Env, assert_404, assert_error, assert_listing, assert_redirect};

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
        // A target without its leading slash is in no RFC 9112 form: the strict parser
        // refuses it (400) before any path is looked at; CPython (`--compat`) says 404.
        let want = if target.starts_with('/') { 404 } else { 400 };
        if r.code != want || contains(&r.body, fixture::SECRET) {
            failures.push(format!("GET {target}: want {want}, got {}", r.describe()));
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
    // CPython serves a target without its leading slash as if it had one (`--compat`).
    let env = Env::new(rt, &["--compat"]);
    assert_eq!(get(env.addr(), "a.txt").body, fixture::A_TXT);
    assert_redirect(&get(env.addr(), "sub"), "sub/");
    assert_listing(&get(env.addr(), "sub/"), "HTTP/1.0");
    // CPython looks for a directory named `http:` for an absolute-form target.
    assert_404(&get(env.addr(), "http://example.com/a.txt"));
    env.finish();
    // RFC 9112 section 3.2: such a target is in none of the four forms, so the default
    // (strict) parser refuses it; absolute-form is a form, and reaches the handler as above.
    let env = Env::new(rt, &[]);
    for target in ["a.txt", "sub", "sub/"] {
        assert_error(
            &get(env.addr(), target),
            "HTTP/1.0",
            400,
            &format!("Bad request syntax ('GET {target} HTTP/1.0')"),
            "Bad request syntax or unsupported method",
            false,
        );
    }
    // Absolute-form targets name the path of the URL (RFC 9112 3.2.2; tests/security/targets.rs).
    assert_eq!(
        get(env.addr(), "http://example.com/a.txt").body,
        fixture::A_TXT
    );
    env.finish();
}

runtime_suite!([
    path_query_and_fragment,
    path_percent_decoding,
    path_dot_segments_stay_in_root,
    path_double_slash_collapsed,
    path_without_leading_slash,
]);
