//! Behaviour of `plan_request` beyond the golden bytes: CPython `test_httpservers` scenarios,
//! deliberate deviations, extra headers, CGI planning (nothing is spawned), and a property
//! test that no target panics or escapes the root.
#![expect(
    clippy::disallowed_methods,
    clippy::disallowed_types,
    reason = "a test may read the clock (Date is not compared) and run mkfifo for a fixture"
)]

mod support;

use std::ffi::OsString;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::SystemTime;

use handler::{PlanBody, RequestContext, Settings, plan_request};
use proptest::prelude::*;
use support::{parse_head, wire};

fn ctx() -> RequestContext<'static> {
    RequestContext::new("10.1.2.3:5555".parse().unwrap(), SystemTime::now())
}

fn get(settings: &Settings, target: &[u8]) -> handler::Plan {
    let mut raw = b"GET ".to_vec();
    raw.extend_from_slice(target);
    raw.extend_from_slice(b" HTTP/1.0\r\n\r\n");
    plan_request(settings, &parse_head(&raw), &ctx())
}

fn body_text(plan: handler::Plan) -> String {
    String::from_utf8_lossy(&wire(plan)).into_owned()
}

#[test]
fn listing_title_keeps_query_like_311() {
    let dir = tempfile::tempdir().unwrap();
    let settings = Settings::new(dir.path());
    // test_undecodable_parameter
    assert!(
        body_text(get(&settings, b"/?x=123"))
            .contains("<title>Directory listing for /?x=123</title>")
    );
    assert!(
        body_text(get(&settings, b"/?x=%bb")).contains("Directory listing for /?x=\u{FFFD}</h1>")
    );
}

#[test]
fn crash_paths_of_cpython_are_404() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("a.txt"), "x").unwrap();
    let settings = Settings::new(dir.path());
    for target in [&b"/a.txt%00"[..], b"/x%00/", b"/%ed%a0%80", b"/%ed%a0%80/"] {
        let plan = get(&settings, target);
        assert_eq!(plan.head.status, 404, "{target:?}");
        assert_eq!(plan.head.reason.as_deref(), Some(&b"File not found"[..]));
    }
}

#[test]
fn fifo_is_not_served_and_does_not_block() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("pipe");
    let status = std::process::Command::new("mkfifo").arg(&fifo).status();
    if !status.is_ok_and(|s| s.success()) {
        return;
    }
    assert_eq!(get(&Settings::new(dir.path()), b"/pipe").head.status, 404);
}

#[test]
fn extra_headers_on_200_only_and_never_override() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("a.txt"), "x").unwrap();
    let mut settings = Settings::new(dir.path());
    settings.extra_headers = vec![
        ("Access-Control-Allow-Origin".into(), "*".into()),
        ("content-length".into(), "999".into()),
        ("X-Dup".into(), "1".into()),
        ("X-Dup".into(), "2".into()),
    ];
    let plan = get(&settings, b"/a.txt");
    let names: Vec<_> = plan
        .head
        .headers
        .iter()
        .map(|f| String::from_utf8_lossy(f.name()).into_owned())
        .collect();
    assert_eq!(
        names,
        [
            "Server",
            "Date",
            "Content-type",
            "Content-Length",
            "Last-Modified",
            "Accept-Ranges",
            "ETag",
            "Access-Control-Allow-Origin",
            "X-Dup",
            "X-Dup"
        ]
    );
    let listing = get(&settings, b"/");
    assert!(listing.head.headers.contains("Access-Control-Allow-Origin"));
    for target in [&b"/nope"[..], b"/sub"] {
        assert!(
            !get(&settings, target)
                .head
                .headers
                .contains("Access-Control-Allow-Origin")
        );
    }
}

#[test]
fn head_has_get_headers_without_body() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("test"), "We are the knights who say Ni!").unwrap();
    let settings = Settings::new(dir.path());
    let plan = plan_request(
        &settings,
        &parse_head(b"HEAD /test HTTP/1.0\r\n\r\n"),
        &ctx(),
    );
    assert!(matches!(plan.body, PlanBody::Empty));
    assert_eq!(plan.head.headers.get("Content-Length"), Some(&b"30"[..]));
    assert_eq!(
        plan.head.headers.get("Content-type"),
        Some(&b"application/octet-stream"[..])
    );
}

#[test]
fn test_get_matrix_from_test_httpservers() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    fs::write(root.join("test"), "We are the knights who say Ni!").unwrap();
    fs::create_dir(root.join("d")).unwrap();
    fs::create_dir(root.join("d/index.html")).unwrap();
    let settings = Settings::new(root);
    let status = |t: &[u8]| get(&settings, t).head.status;
    assert_eq!(status(b"/test"), 200);
    for t in [
        &b"/test/"[..],
        b"/test%2f",
        b"/test%2F",
        b"/nope",
        b"/nope/",
    ] {
        assert_eq!(status(t), 404, "{t:?}");
    }
    for t in [&b"/"[..], b"/%2f", b"/%2F", b"/?hi=2", b"/d/"] {
        assert_eq!(status(t), 200, "{t:?}");
    }
    let plan = get(&settings, b"/d?hi=1");
    assert_eq!(plan.head.status, 301);
    assert_eq!(plan.head.headers.get("Location"), Some(&b"/d/?hi=1"[..]));
    // test_path_without_leading_slash
    assert_eq!(status(b"test"), 200);
    assert_eq!(
        get(&settings, b"d").head.headers.get("Location"),
        Some(&b"d/"[..])
    );
}

#[test]
fn symlinked_index_and_listing_marks() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    fs::create_dir(root.join("real")).unwrap();
    std::os::unix::fs::symlink("real", root.join("ln")).unwrap();
    std::os::unix::fs::symlink("missing", root.join("dangling")).unwrap();
    let text = body_text(get(&Settings::new(root), b"/"));
    assert!(text.contains("<li><a href=\"ln/\">ln@</a></li>"));
    assert!(text.contains("<li><a href=\"dangling\">dangling@</a></li>"));
    assert!(text.contains("<li><a href=\"real/\">real/</a></li>"));
}

fn cgi_fixture(root: &Path) {
    fs::create_dir_all(root.join("cgi-bin/child-dir")).unwrap();
    let script = |p: &str, mode: u32| {
        let path = root.join(p);
        fs::write(&path, "#!/bin/sh\necho\n").unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(mode)).unwrap();
    };
    script("cgi-bin/file1.py", 0o755);
    script("cgi-bin/run.sh", 0o755);
    script("cgi-bin/child-dir/file3.py", 0o755);
    script("cgi-bin/noexec.sh", 0o644);
}

fn cgi_settings(root: &Path) -> Settings {
    let mut s = Settings::new(root);
    s.cgi.enabled = true;
    s.cgi.python = "/usr/bin/python3".into();
    s
}

fn env_of(spec: &handler::CgiSpec) -> Vec<(String, String)> {
    spec.env
        .iter()
        .map(|(k, v)| {
            (
                k.to_string_lossy().into_owned(),
                v.to_string_lossy().into_owned(),
            )
        })
        .collect()
}

#[test]
fn cgi_errors() {
    let dir = tempfile::tempdir().unwrap();
    cgi_fixture(dir.path());
    let settings = cgi_settings(dir.path());
    let reason = |t: &[u8]| {
        let p = get(&settings, t);
        (
            p.head.status,
            String::from_utf8_lossy(p.head.reason.as_deref().unwrap_or_default()).into_owned(),
        )
    };
    assert_eq!(
        reason(b"/cgi-bin/invalid"),
        (404, "No such CGI script ('/cgi-bin/invalid')".into())
    );
    assert_eq!(
        reason(b"///////////nocgi.py/../cgi-bin/nothere.sh"),
        (404, "No such CGI script ('/cgi-bin/nothere.sh')".into())
    );
    assert_eq!(
        reason(b"/cgi-bin/"),
        (403, "CGI script is not a plain file ('/cgi-bin/')".into())
    );
    if !rustix::process::geteuid().is_root() {
        assert_eq!(
            reason(b"/cgi-bin/noexec.sh"),
            (
                403,
                "CGI script is not executable ('/cgi-bin/noexec.sh')".into()
            )
        );
    }
    assert_eq!(reason(b"/cgi-bin").0, 301);
    assert_eq!(reason(b"/../cgi-bin/run.sh").0, 404);
    let post = |t: &[u8]| {
        let mut raw = b"POST ".to_vec();
        raw.extend_from_slice(t);
        raw.extend_from_slice(b" HTTP/1.0\r\nContent-Length: 0\r\n\r\n");
        plan_request(&settings, &parse_head(&raw), &ctx())
    };
    let p = post(b"/index.html");
    assert_eq!(
        (p.head.status, p.head.reason.as_deref()),
        (501, Some(&b"Can only POST to CGI scripts"[..]))
    );
    assert!(matches!(post(b"/cgi-bin/run.sh").body, PlanBody::Cgi(_)));
    // Without CGI, POST is just another unsupported method.
    let plain = Settings::new(dir.path());
    let p = plan_request(
        &plain,
        &parse_head(b"POST /cgi-bin/run.sh HTTP/1.0\r\nContent-Length: 0\r\n\r\n"),
        &ctx(),
    );
    assert_eq!(
        p.head.reason.as_deref(),
        Some(&b"Unsupported method ('POST')"[..])
    );
}

#[test]
fn cgi_spec_and_environment() {
    let dir = tempfile::tempdir().unwrap();
    cgi_fixture(dir.path());
    let settings = cgi_settings(dir.path());
    let environ = vec![
        (OsString::from("PATH"), OsString::from("/bin")),
        (OsString::from("SERVER_SOFTWARE"), OsString::from("leak")),
        (OsString::from("HTTP_USER_AGENT"), OsString::from("leak")),
        (OsString::from("REMOTE_USER"), OsString::from("admin")),
    ];
    let ctx = RequestContext::new("10.1.2.3:5555".parse().unwrap(), SystemTime::now())
        .with_server("host.example", 8000)
        .with_environ(&environ);
    let raw = b"GET /cgi-bin/child-dir/file3.py/extra%2520path?a=b?c=d%2F%2F// HTTP/1.0\r\n\
Authorization: Basic dXNlcjpwYXNz\r\nAccept: text/html\r\nAccept: text/plain\r\n\
Cookie: a=1\r\nCookie: b=2\r\nReferer: http://r/\r\n\r\n";
    let plan = plan_request(&settings, &parse_head(raw), &ctx);
    assert_eq!(plan.head.status, 200);
    assert_eq!(
        plan.head.reason.as_deref(),
        Some(&b"Script output follows"[..])
    );
    let names: Vec<_> = plan
        .head
        .headers
        .iter()
        .map(|f| f.name().to_vec())
        .collect();
    assert_eq!(names, [&b"Server"[..], b"Date"]);
    let PlanBody::Cgi(spec) = plan.body else {
        panic!("not CGI")
    };
    let script = dir.path().join("cgi-bin/child-dir/file3.py");
    assert_eq!(spec.program, Path::new("/usr/bin/python3"));
    assert_eq!(spec.args, [script.clone().into_os_string()]); // query has '=': no argv
    assert_eq!(spec.script, script);
    assert_eq!(spec.cwd, dir.path().join("cgi-bin/child-dir"));
    assert_eq!((spec.uid, spec.gid), (None, None));
    let env = env_of(&spec);
    let root = dir.path().to_string_lossy().into_owned();
    // Only PATH passes the allow-list; the server's other variables never reach the script.
    let expected: Vec<(String, String)> = [
        ("PATH", "/bin".to_owned()),
        (
            "SERVER_SOFTWARE",
            format!("SimpleHTTP/0.6 {}", handler::DEFAULT_SYS_VERSION),
        ),
        ("SERVER_NAME", "host.example".into()),
        ("GATEWAY_INTERFACE", "CGI/1.1".into()),
        ("SERVER_PROTOCOL", "HTTP/1.0".into()),
        ("SERVER_PORT", "8000".into()),
        ("REQUEST_METHOD", "GET".into()),
        // Decoded once: CPython decodes twice (%2520 -> %20 -> space); `--compat` does too.
        ("PATH_INFO", "/extra%20path".into()),
        ("PATH_TRANSLATED", format!("{root}/extra%20path")),
        ("SCRIPT_NAME", "/cgi-bin/child-dir/file3.py".into()),
        ("QUERY_STRING", "a=b?c=d%2F%2F//".into()),
        ("REMOTE_ADDR", "10.1.2.3".into()),
        ("AUTH_TYPE", "Basic".into()),
        ("REMOTE_USER", "user".into()),
        ("CONTENT_TYPE", "text/plain".into()),
        ("HTTP_REFERER", "http://r/".into()),
        ("HTTP_ACCEPT", "text/html,text/plain".into()),
        ("HTTP_COOKIE", "a=1, b=2".into()),
        ("REMOTE_HOST", String::new()),
        ("CONTENT_LENGTH", String::new()),
        ("HTTP_USER_AGENT", String::new()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    assert_eq!(env, expected);

    let mut compat = settings.clone();
    compat.compat = true;
    let PlanBody::Cgi(spec) = plan_request(&compat, &parse_head(raw), &ctx).body else {
        panic!("not CGI")
    };
    let env = env_of(&spec);
    let path_info = env.iter().find(|(k, _)| k == "PATH_INFO").unwrap();
    assert_eq!(path_info.1, "/extra path");
}

#[test]
fn cgi_argv_and_root() {
    let dir = tempfile::tempdir().unwrap();
    cgi_fixture(dir.path());
    let settings = cgi_settings(dir.path());
    let ctx = ctx().with_root(true);
    let plan = plan_request(
        &settings,
        &parse_head(b"GET /cgi-bin%2frun.sh?hello+world%21 HTTP/1.0\r\n\r\n"),
        &ctx,
    );
    let PlanBody::Cgi(spec) = plan.body else {
        panic!("not CGI")
    };
    assert_eq!(spec.program, dir.path().join("cgi-bin/run.sh"));
    assert_eq!(spec.args, [OsString::from("hello world%21")]);
    assert_eq!(spec.uid.is_some(), handler::cgi::nobody().is_some());
    let plan = plan_request(
        &settings,
        &parse_head(b"GET /cgi-bin/run.sh HTTP/1.0\r\n\r\n"),
        &ctx,
    );
    let PlanBody::Cgi(spec) = plan.body else {
        panic!("not CGI")
    };
    assert_eq!(spec.args, [OsString::new()]);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// No target panics, and whatever it names lies under the root.
    #[test]
    fn targets_never_escape_the_root(target in proptest::collection::vec(
        prop_oneof![
            Just(b'/'), Just(b'.'), Just(b'%'), Just(b'?'), Just(b'#'), Just(b'\\'),
            Just(b'2'), Just(b'e'), Just(b'f'), Just(b'a'), Just(b'0'), any::<u8>(),
        ],
        0..40,
    )) {
        let root = Path::new("/srv/root");
        let translated = handler::translate_path(root, &handler::request_path(&target));
        if let Some(p) = handler::to_fs_path(translated) {
            prop_assert!(p.starts_with(root), "{p:?}");
            prop_assert!(!p.components().any(|c| c == std::path::Component::ParentDir));
        }
        let _ = handler::cgi::url_collapse_path(&target);
        let _ = handler::cgi::is_cgi(&["/cgi-bin".to_owned()], &target);
    }

    /// The whole planner on a real tree, with arbitrary targets and methods.
    #[test]
    fn planning_never_panics(target in proptest::collection::vec(any::<u8>(), 0..30), head in any::<bool>(), cgi in any::<bool>()) {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("a.txt"), "x").unwrap();
        fs::create_dir(dir.path().join("cgi-bin")).unwrap();
        let mut settings = Settings::new(dir.path());
        settings.cgi.enabled = cgi;
        let mut raw = if head { b"HEAD /".to_vec() } else { b"GET /".to_vec() };
        raw.extend(target.iter().map(|&b| if b <= b' ' || b == 0x7f || b >= 0x80 { b'%' } else { b }));
        raw.extend_from_slice(b" HTTP/1.0\r\n\r\n");
        let plan = plan_request(&settings, &parse_head(&raw), &ctx());
        prop_assert!(plan.head.status >= 200);
    }
}

#[test]
fn cgi_environment_encodings_match_cpython() {
    // Recorded from CPython 3.14 --cgi: decoded PATH_INFO is UTF-8, latin-1 header bytes are
    // re-encoded as UTF-8, an explicit Content-Type is passed through.
    let dir = tempfile::tempdir().unwrap();
    cgi_fixture(dir.path());
    let settings = cgi_settings(dir.path());
    let raw = b"GET /cgi-bin/run.sh/x%C3%A9 HTTP/1.0\r\nReferer: http://r/\xe9\r\nContent-Type: x/y\r\nContent-Length: 3\r\n\r\n";
    let PlanBody::Cgi(spec) = plan_request(&settings, &parse_head(raw), &ctx()).body else {
        panic!("not CGI")
    };
    let get = |k: &str| {
        spec.env
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.as_encoded_bytes().to_vec())
    };
    assert_eq!(get("PATH_INFO").unwrap(), "/x\u{e9}".as_bytes());
    assert_eq!(get("HTTP_REFERER").unwrap(), "http://r/\u{e9}".as_bytes());
    assert_eq!(get("CONTENT_TYPE").unwrap(), b"x/y");
    assert_eq!(get("CONTENT_LENGTH").unwrap(), b"3");
    assert_eq!(get("HTTP_ACCEPT").unwrap(), b"");
    assert_eq!(get("AUTH_TYPE"), None);
}
