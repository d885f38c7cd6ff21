//! Command line errors: one line on stderr, exit status 2, no panic.

use std::ffi::OsString;
use std::net::TcpListener;

use crate::common::{self, fixture::Fixture};

fn assert_usage_error(args: &[OsString], what: &str) {
    let (code, stdout, stderr) = common::run_cli(args);
    assert!(!stderr.contains("panicked"), "{what}: panic: {stderr}");
    assert_eq!(
        code,
        Some(2),
        "{what}: exit status; stdout {stdout:?} stderr {stderr:?}"
    );
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(
        lines.len(),
        1,
        "{what}: want one line on stderr, got {stderr:?}"
    );
    assert!(
        !stdout.contains("Serving"),
        "{what}: started serving: {stdout:?}"
    );
}

fn cli_errors(rt: &'static str) {
    let fx = Fixture::new();
    let root = fx.root.clone().into_os_string();
    let os = |v: &[&str]| -> Vec<OsString> { v.iter().map(OsString::from).collect() };
    let with_root = |v: &[&str]| -> Vec<OsString> {
        let mut a = os(v);
        a.extend([
            OsString::from("-d"),
            root.clone(),
            OsString::from("--runtime"),
            OsString::from(rt),
        ]);
        a
    };
    let free = common::free_port().to_string();
    assert_usage_error(
        &with_root(&[&free, "-b", "127.0.0.1", "--no-such-flag"]),
        "unknown flag",
    );
    assert_usage_error(
        &with_root(&["70000", "-b", "127.0.0.1"]),
        "port out of range",
    );
    assert_usage_error(
        &with_root(&["eighty", "-b", "127.0.0.1"]),
        "non-numeric port",
    );
    assert_usage_error(
        &with_root(&[&free, "-b", "127.0.0.1", "-p", "FOO"]),
        "bad protocol FOO",
    );
    assert_usage_error(
        &with_root(&[&free, "-b", "127.0.0.1", "-p", "1.1"]),
        "bad protocol 1.1",
    );
    assert_usage_error(
        &with_root(&[&free, "-b", "127.0.0.1", "-H", "X-Only-Name"]),
        "-H with one argument",
    );
    assert_usage_error(
        &with_root(&[&free, "-b", "no such host.invalid"]),
        "unresolvable bind address",
    );
    let mut args = os(&[
        &free,
        "-b",
        "127.0.0.1",
        "--runtime",
        rt,
        "-d",
        "/nonexistent/http-server-test",
    ]);
    assert_usage_error(&args, "missing directory");
    args.pop();
    args.push(fx.path("a.txt").into_os_string());
    assert_usage_error(&args, "directory is a file");
    // Busy port.
    let holder = TcpListener::bind("127.0.0.1:0").unwrap();
    let busy = holder.local_addr().unwrap().port().to_string();
    assert_usage_error(&with_root(&[&busy, "-b", "127.0.0.1"]), "busy port");
    drop(holder);
}

runtime_suite!([cli_errors,]);
