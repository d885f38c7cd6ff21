//! Finding 11: symbolic links escaped the served root. `ln -s /etc root/etc` served
//! `/etc/passwd`, and with `--cgi` a link to the script directory served a script's source.
//!
//! By default a path whose links lead outside the root is a 404 (as if missing), a listing
//! shows such a link by name but not as an enterable directory, and links that stay inside
//! the root work as before. `--follow-symlinks` (not tested here) restores CPython's behaviour.

use std::fs;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::PathBuf;

use crate::common::fixture::{self, Fixture};
use crate::common::{Response, Server, contains, get, request};

const OUTSIDE_SECRET: &[u8] = b"sibling directory secret\n";
const SCRIPT_SOURCE: &[u8] = b"#!/bin/sh\n# source marker: do-not-serve\nprintf 'Content-Type: text/plain\\r\\n\\r\\nran\\n'\n";

/// `tmp/root` served, with `tmp/secret.txt` (the fixture's) and `tmp/outside/secret.txt`
/// beside it, and links in and out.
fn tree() -> (Fixture, PathBuf) {
    let fx = Fixture::empty();
    let root = fx.root.clone();
    let tmp = root.parent().unwrap().to_path_buf();
    let outside = tmp.join("outside");
    fs::create_dir(&outside).unwrap();
    fs::write(outside.join("secret.txt"), OUTSIDE_SECRET).unwrap();

    fixture::file(&root, "a.txt", fixture::A_TXT);
    fs::create_dir(root.join("sub")).unwrap();
    fixture::file(&root.join("sub"), "b.txt", fixture::B_TXT);

    let link = |target: &str, at: &str| symlink(target, root.join(at)).unwrap();
    // Out of the root.
    link("/etc", "etc");
    link("../outside", "up");
    link("../secret.txt", "secret-link");
    link("../../outside", "sub/up2");
    symlink(outside.join("secret.txt"), root.join("abs-out")).unwrap();
    // Inside the root.
    link("a.txt", "link-a.txt");
    link("sub", "link-sub");
    link("../a.txt", "sub/parent-a.txt");
    let canonical = fs::canonicalize(&root).unwrap();
    symlink(canonical.join("a.txt"), root.join("abs-in.txt")).unwrap();
    (fx, outside)
}

fn assert_not_found(r: &Response, target: &str) {
    assert_eq!(
        (r.code, r.reason.as_str()),
        (404, "File not found"),
        "{target}: {}",
        r.describe()
    );
    for leak in [
        OUTSIDE_SECRET,
        fixture::SECRET,
        b"root:x:0:0",
        b"secret.txt",
    ] {
        assert!(
            !contains(&r.body, leak),
            "{target} leaked: {}",
            r.describe()
        );
    }
}

fn links_out_of_the_root_are_not_found(runtime: &'static str) {
    let (fx, _outside) = tree();
    let server = Server::start(runtime, &fx.root, &[]);
    for target in [
        "/etc/passwd",
        "/etc/",
        "/etc",
        "/etc%2fpasswd",
        "/up/secret.txt",
        "/up/",
        "/up",
        "/secret-link",
        "/sub/up2/secret.txt",
        "/sub/up2/",
        "/abs-out",
        // `..` spelled in ways that reach the same links.
        "/%2e%2e/etc/passwd",
        "/sub/%2e%2e/up/secret.txt",
        "/link-sub/%2e%2e/up/secret.txt",
        "/link-sub/up2/secret.txt",
        "/link-sub/up2/%2e%2e/secret.txt",
        "/sub/..%2fetc%2fpasswd",
    ] {
        assert_not_found(&get(server.addr, target), target);
        let head = request(
            server.addr,
            format!("HEAD {target} HTTP/1.0\r\n\r\n").as_bytes(),
        );
        assert_eq!(head.code, 404, "HEAD {target}: {}", head.describe());
    }
    server.stop_clean();
    drop(fx);
}

fn links_inside_the_root_still_work(runtime: &'static str) {
    let (fx, _outside) = tree();
    let server = Server::start(runtime, &fx.root, &[]);
    for (target, body) in [
        ("/link-a.txt", fixture::A_TXT),
        ("/sub/parent-a.txt", fixture::A_TXT),
        ("/link-sub/b.txt", fixture::B_TXT),
        ("/link-sub/%2e%2e/a.txt", fixture::A_TXT),
        ("/link-sub/parent-a.txt", fixture::A_TXT),
        // An absolute link that names a file inside the root.
        ("/abs-in.txt", fixture::A_TXT),
    ] {
        let r = get(server.addr, target);
        assert_eq!(r.code, 200, "{target}: {}", r.describe());
        assert_eq!(r.body, body, "{target}");
        assert_eq!(r.header("Last-Modified"), Some(fixture::MTIME_HTTP));
    }
    let r = get(server.addr, "/link-sub");
    assert_eq!(r.code, 301, "{}", r.describe());
    assert_eq!(r.header("Location"), Some("/link-sub/"));
    let r = get(server.addr, "/link-sub/");
    assert_eq!(r.code, 200, "{}", r.describe());
    assert!(
        contains(&r.body, b"<a href=\"b.txt\">b.txt</a>"),
        "{}",
        r.describe()
    );
    server.stop_clean();
    drop(fx);
}

fn listing_shows_outside_links_as_plain_entries(runtime: &'static str) {
    let (fx, _outside) = tree();
    let server = Server::start(runtime, &fx.root, &[]);
    let r = get(server.addr, "/");
    assert_eq!(r.code, 200, "{}", r.describe());
    // Listed by name, as CPython lists them, but not as directories to enter.
    assert!(
        contains(&r.body, b"<li><a href=\"etc\">etc@</a></li>"),
        "{}",
        r.describe()
    );
    assert!(
        contains(&r.body, b"<li><a href=\"up\">up@</a></li>"),
        "{}",
        r.describe()
    );
    // A link to a directory inside keeps its trailing slash.
    assert!(
        contains(&r.body, b"<li><a href=\"link-sub/\">link-sub@</a></li>"),
        "{}",
        r.describe()
    );
    let r = get(server.addr, "/sub/");
    assert!(
        contains(&r.body, b"<li><a href=\"up2\">up2@</a></li>"),
        "{}",
        r.describe()
    );
    server.stop_clean();
    drop(fx);
}

fn cgi_source_is_not_served_through_a_link(runtime: &'static str) {
    let (fx, _outside) = tree();
    let bin = fx.root.join("cgi-bin");
    fs::create_dir(&bin).unwrap();
    let script = bin.join("hello.sh");
    fs::write(&script, SCRIPT_SOURCE).unwrap();
    fs::set_permissions(&script, fs::Permissions::from_mode(0o755)).unwrap();
    symlink("cgi-bin", fx.root.join("scripts")).unwrap();
    symlink("cgi-bin/hello.sh", fx.root.join("hello-link.sh")).unwrap();
    symlink("../cgi-bin/hello.sh", fx.root.join("sub/hello.sh")).unwrap();
    let server = Server::start(runtime, &fx.root, &["--cgi"]);
    for target in [
        "/scripts/hello.sh",
        "/hello-link.sh",
        "/sub/hello.sh",
        "/link-sub/hello.sh",
        "/scripts/%2e/hello.sh",
    ] {
        let r = get(server.addr, target);
        assert_eq!(r.code, 404, "{target}: {}", r.describe());
        assert!(
            !contains(&r.body, b"do-not-serve"),
            "{target} leaked the source"
        );
    }
    // Outside links stay closed with CGI on too.
    assert_not_found(&get(server.addr, "/etc/passwd"), "/etc/passwd");
    // The script itself still runs where its URL says it is one.
    let r = get(server.addr, "/cgi-bin/hello.sh");
    assert_eq!(r.code, 200, "{}", r.describe());
    assert!(!contains(&r.body, b"do-not-serve"), "{}", r.describe());
    server.stop_clean();
    drop(fx);
}

runtime_suite!([
    links_out_of_the_root_are_not_found,
    links_inside_the_root_still_work,
    listing_shows_outside_links_as_plain_entries,
    cgi_source_is_not_served_through_a_link,
]);
