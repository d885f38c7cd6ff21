//! Finding 3: what a CGI script sees of the server's environment.
//!
//! CPython copies the server's whole environment into every script: secrets, `HOME`, a
//! server-side `HTTP_PROXY`. Here a script sees an allow-list (`PATH`, `TZ`, `LANG`, `LC_*`)
//! plus the names given with `--cgi-pass-env`, and never an `HTTP_PROXY` built from a request's
//! `Proxy:` header (httpoxy).

use std::ffi::OsString;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::process::Command;
use std::time::Duration;

use crate::common::fixture::Fixture;
use crate::common::{BIN, Server, free_port, request, show};

/// A server with a polluted environment, serving `cgi-bin/env.sh` (prints its environment).
fn start(rt: &str, extra: &[&str]) -> (Fixture, Server) {
    let fx = Fixture::empty();
    let bin = fx.root.join("cgi-bin");
    fs::create_dir(&bin).unwrap();
    let script = bin.join("env.sh");
    fs::write(
        &script,
        "#!/bin/sh\nprintf 'Content-Type: text/plain\\r\\n\\r\\n'\nenv | sort\n",
    )
    .unwrap();
    fs::set_permissions(&script, fs::Permissions::from_mode(0o755)).unwrap();
    let mut argv: Vec<OsString> = vec![
        free_port().to_string().into(),
        "-b".into(),
        "127.0.0.1".into(),
        "-d".into(),
        fx.root.clone().into(),
        "--runtime".into(),
        rt.into(),
        "--cgi".into(),
    ];
    argv.extend(extra.iter().map(OsString::from));
    let mut command = Command::new(BIN);
    command
        .args(&argv)
        .env("SECRET_TOKEN", "hunter2")
        .env("HOME", "/home/server-owner")
        .env("HTTP_PROXY", "http://server-side-proxy:3128")
        .env("http_proxy", "http://server-side-proxy:3128")
        .env("REMOTE_USER", "admin")
        .env("SITE_DB", "postgres://db")
        .env("LC_ALL", "C")
        .env("TZ", "UTC");
    let server = Server::spawn_command(command, rt, Duration::from_secs(15))
        .unwrap_or_else(|e| panic!("server did not start: {e:?}"));
    (fx, server)
}

fn env_of(server: &Server, extra_header: &str) -> Vec<String> {
    let raw = format!("GET /cgi-bin/env.sh HTTP/1.0\r\n{extra_header}\r\n");
    let r = request(server.addr, raw.as_bytes());
    assert_eq!(r.code, 200, "{}", r.describe());
    String::from_utf8_lossy(&r.body)
        .lines()
        .map(str::to_owned)
        .collect()
}

fn has(env: &[String], name: &str) -> bool {
    env.iter().any(|l| l.starts_with(&format!("{name}=")))
}

fn server_environment_is_not_inherited(rt: &'static str) {
    let (_fx, server) = start(rt, &[]);
    let env = env_of(&server, "Proxy: http://attacker:8080\r\n");
    for secret in [
        "SECRET_TOKEN",
        "HOME",
        "HTTP_PROXY",
        "http_proxy",
        "SITE_DB",
    ] {
        assert!(!has(&env, secret), "{secret} leaked: {env:?}");
    }
    assert!(
        !env.iter().any(|l| l.contains("attacker")),
        "the request's Proxy header reached the script: {env:?}"
    );
    // The server's REMOTE_USER never lends an identity to a request without credentials.
    assert!(!env.iter().any(|l| l.contains("admin")), "{env:?}");
    for kept in [
        "PATH",
        "LC_ALL",
        "TZ",
        "GATEWAY_INTERFACE",
        "SERVER_SOFTWARE",
    ] {
        assert!(has(&env, kept), "{kept} missing: {env:?}");
    }
    server.stop_clean();
}

fn pass_env_names_what_a_site_needs(rt: &'static str) {
    let (_fx, server) = start(rt, &["--cgi-pass-env", "SITE_DB"]);
    let env = env_of(&server, "");
    assert!(
        env.iter().any(|l| l == "SITE_DB=postgres://db"),
        "{}",
        show(env.join("\n").as_bytes())
    );
    assert!(!has(&env, "SECRET_TOKEN"), "{env:?}");
    server.stop_clean();
}

runtime_suite!([
    server_environment_is_not_inherited,
    pass_env_names_what_a_site_needs
]);
