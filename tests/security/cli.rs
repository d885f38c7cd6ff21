//! Finding 12: command-line values that would break every response are refused at start.
//!
//! `-H 'Bad Name' v`, a value with CR, LF or NUL, the same in `--content-type`: each 200 used to
//! become an empty reply while the log said 200. `--cgi-dir` without `--cgi` served the scripts'
//! source. Now each is one line on stderr and exit status 2.

use std::ffi::OsString;

use crate::common::fixture::Fixture;
use crate::common::{Server, get, run_cli};

fn cli_refuses_values_that_break_responses(rt: &'static str) {
    let fx = Fixture::new();
    let dir = fx.root.to_string_lossy().into_owned();
    let cases: &[&[&str]] = &[
        &["-H", "Bad Name", "v"],
        &["-H", "X-A:", "v"],
        &["-H", "", "v"],
        &["-H", "X-A", "a\r\nSet-Cookie: stolen=1"],
        &["-H", "X-A", "a\nb"],
        &["-H", "X-A", "a\rb"],
        &["-H", "X-A\n", "v"],
        &["--content-type", "text/plain\r\nX-Injected: 1"],
        &["--content-type", "text/plain\n"],
        &["--cgi-dir", "/cgi-bin"],
        &["--cgi", "--cgi-dir", "cgi-bin"],
        &["--cgi", "--cgi-dir", "/"],
        &["--cgi-pass-env", "HOME"],
        &["--workers", "0"],
        &["--max-connections", "0"],
        &["-p", "HTTP/1.2"],
        &["-p", "HTTP/2.0"],
        &["-p", "HTTP/0.9"],
        &["-p", "HTTP/1.1\r\nX: y"],
    ];
    for case in cases {
        let mut args: Vec<OsString> = vec!["0".into(), "-b".into(), "127.0.0.1".into()];
        args.extend(["-d", &dir, "--runtime", rt].map(OsString::from));
        args.extend(case.iter().map(OsString::from));
        let (code, stdout, stderr) = run_cli(&args);
        assert_eq!(
            code,
            Some(2),
            "{case:?}: stdout {stdout:?} stderr {stderr:?}"
        );
        assert!(stdout.is_empty(), "{case:?}: {stdout:?}");
        assert_eq!(stderr.trim_end().lines().count(), 1, "{case:?}: {stderr:?}");
        assert!(stderr.starts_with("http-server: error: "), "{stderr:?}");
    }
    // A NUL cannot reach argv at all; the values that are fine still work.
    let server = Server::start(
        rt,
        &fx.root,
        &["-H", "X-Ok", "a\tb c", "--content-type", "text/x-ok"],
    );
    let r = get(server.addr, "/test");
    assert_eq!(r.code, 200, "{}", r.describe());
    assert_eq!(r.header("x-ok"), Some("a\tb c"));
    assert_eq!(r.header("content-type"), Some("text/x-ok"));
    server.stop_clean();
}

runtime_suite!([cli_refuses_values_that_break_responses]);
