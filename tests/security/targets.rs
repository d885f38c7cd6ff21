//! Finding 7: absolute-form request targets (RFC 9112 3.2.2: a server MUST accept them).
//!
//! `GET http://localhost/a.txt HTTP/1.1` used to be a 404 (CPython looks for a directory named
//! `http:`). The path of the URL is served, whatever host it names: this server has no virtual
//! hosts and is not a proxy (docs/SECURITY.md). `--compat` keeps CPython's 404.

use crate::common::fixture::{self, Fixture};
use crate::common::{Server, request};

fn get(server: &Server, target: &str) -> crate::common::Response {
    request(
        server.addr,
        format!("GET {target} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").as_bytes(),
    )
}

fn absolute_form_is_served(rt: &'static str) {
    let fx = Fixture::new();
    let server = Server::start(rt, &fx.root, &[]);
    for target in [
        "http://localhost/a.txt",
        "HTTP://LOCALHOST/a.txt",
        "http://localhost:8000/a.txt?x=1",
        "https://localhost/a.txt",
        "http://other.example/a.txt",
        "http://localhost/sub/../a.txt",
        "http://localhost/%61.txt",
    ] {
        let r = get(&server, target);
        assert_eq!(
            (r.code, r.body.as_slice()),
            (200, fixture::A_TXT),
            "GET {target}: {}",
            r.describe()
        );
    }
    // A directory: the redirect keeps the URL the client sent.
    let r = get(&server, "http://localhost/sub");
    assert_eq!(r.code, 301, "{}", r.describe());
    assert_eq!(r.header("location"), Some("http://localhost/sub/"));
    let r = get(&server, "http://localhost");
    assert_eq!(
        r.header("location"),
        Some("http://localhost/"),
        "{}",
        r.describe()
    );
    let r = get(&server, "http://localhost/");
    assert_eq!(r.code, 200, "{}", r.describe());
    // Never above the root.
    let r = get(&server, "http://localhost/../secret.txt");
    assert_eq!(r.code, 404, "{}", r.describe());
    server.stop_clean();
}

fn compat_keeps_cpython_404(rt: &'static str) {
    let fx = Fixture::new();
    let server = Server::start(rt, &fx.root, &["--compat"]);
    let r = get(&server, "http://localhost/a.txt");
    assert_eq!(r.code, 404, "{}", r.describe());
    server.stop_clean();
}

runtime_suite!([absolute_form_is_served, compat_keeps_cpython_404]);
