//! What people who serve a folder expect: `--quiet`, `--log-format combined`, the banner's
//! "Available at" URLs, JSON listings and the rich listing (`--listing rich`).

use std::ffi::OsString;
use std::time::{Duration, Instant};

use crate::common::fixture::{BAD_DIR, BAD_FILE, Fixture};
use crate::common::{self, Server, contains, find, get, request, show};
use crate::support::Env;

fn quiet(rt: &'static str) {
    let env = Env::new(rt, &["--quiet"]);
    assert_eq!(get(env.addr(), "/a.txt").code, 200);
    assert_eq!(get(env.addr(), "/nope").code, 404);
    assert!(
        env.server
            .wait_stderr(b"] code 404, message File not found\n"),
        "the error line is still written: {}",
        env.server.stderr()
    );
    let stderr = env.finish();
    assert!(!stderr.contains("\"GET "), "no access lines: {stderr}");
}

/// `127.0.0.1 - - [DD/Mon/YYYY:HH:MM:SS +ZZZZ] REST`: the time's shape, and REST.
fn combined_rest(line: &str) -> Option<&str> {
    let rest = line.strip_prefix("127.0.0.1 - - [")?;
    let (time, rest) = rest.split_once("] ")?;
    let b = time.as_bytes();
    let shape = b.len() == 26
        && b[2] == b'/'
        && b[6] == b'/'
        && b[11] == b':'
        && b[14] == b':'
        && b[17] == b':'
        && b[20] == b' '
        && (b[21] == b'+' || b[21] == b'-')
        && b[22..].iter().all(u8::is_ascii_digit);
    shape.then_some(rest)
}

fn log_format_combined(rt: &'static str) {
    let env = Env::new(rt, &["--log-format", "combined"]);
    request(
        env.addr(),
        b"GET /a.txt HTTP/1.0\r\nReferer: http://example.com/x\r\nUser-Agent: agent \"1\"\r\n\r\n",
    );
    request(env.addr(), b"HEAD /a.txt HTTP/1.0\r\n\r\n");
    let missing = get(env.addr(), "/nope");
    assert!(
        env.server.wait_stderr(b"\"GET /nope HTTP/1.0\" 404"),
        "{}",
        env.server.stderr()
    );
    let stderr = env.finish();
    let rests: Vec<&str> = stderr.lines().filter_map(combined_rest).collect();
    let expected_404 = format!(
        "\"GET /nope HTTP/1.0\" 404 {} \"-\" \"-\"",
        missing.body.len()
    );
    for want in [
        "\"GET /a.txt HTTP/1.0\" 200 6 \"http://example.com/x\" \"agent \\x221\\x22\"",
        "\"HEAD /a.txt HTTP/1.0\" 200 0 \"-\" \"-\"",
        &expected_404,
    ] {
        assert!(rests.contains(&want), "{want} in:\n{stderr}");
    }
    // Error lines keep CPython's form.
    assert!(
        stderr.contains("] code 404, message File not found\n"),
        "{stderr}"
    );
}

fn banner_lists_urls(rt: &'static str) {
    let fx = Fixture::new();
    let mut server = None;
    let mut last = None;
    for _ in 0..5 {
        let port = common::free_port();
        let argv: Vec<OsString> = vec![
            port.to_string().into(),
            "-d".into(),
            fx.root.as_os_str().to_owned(),
            "--runtime".into(),
            rt.into(),
        ];
        match Server::spawn(rt, &argv) {
            Ok(s) => {
                server = Some(s);
                break;
            }
            // Most likely the port was taken in between: try another.
            Err(e) => last = Some(e),
        }
    }
    let server = server.unwrap_or_else(|| panic!("did not start: {last:#?}"));
    let port = server.addr.port();
    assert_eq!(
        server.banner,
        format!("Serving HTTP on :: port {port} (http://[::]:{port}/) ...")
    );
    let deadline = Instant::now() + Duration::from_secs(5);
    while !server.stdout().contains("127.0.0.1") && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let stdout = server.stdout();
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines[1], "Available at:", "{stdout}");
    assert_eq!(lines[2], format!("  http://localhost:{port}/"), "{stdout}");
    assert_eq!(lines[3], format!("  http://127.0.0.1:{port}/"), "{stdout}");
    for line in &lines[2..] {
        let url = line.strip_prefix("  http://").expect(line);
        assert!(url.ends_with(&format!(":{port}/")), "{stdout}");
    }
    // Each IPv4 URL answers.
    for line in &lines[3..] {
        let host = &line["  http://".len()..line.len() - format!(":{port}/").len()];
        if let Ok(ip) = host.parse::<std::net::Ipv4Addr>() {
            let r = get((ip, port).into(), "/a.txt");
            assert_eq!(r.code, 200, "{line}");
        }
    }
    server.stop_clean();
    // Bound to one address: CPython's line alone.
    let env = Env::new(rt, &[]);
    assert_eq!(env.server.stdout().lines().count(), 1);
    env.finish();
}

/// A very small check of the JSON listing's shape, with `serde_json`.
fn json_entries(body: &[u8]) -> Vec<serde_json::Value> {
    let value: serde_json::Value =
        serde_json::from_slice(body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", show(body)));
    value.as_array().expect("an array").clone()
}

fn entry<'a>(entries: &'a [serde_json::Value], name: &str) -> &'a serde_json::Value {
    entries
        .iter()
        .find(|e| e["name"] == name)
        .unwrap_or_else(|| panic!("no entry {name:?} in {entries:?}"))
}

fn json_listing(rt: &'static str) {
    let env = Env::new(rt, &[]);
    let r = get(env.addr(), "/listing/?format=json");
    assert_eq!(r.code, 200, "{}", r.describe());
    assert_eq!(r.header("Content-type"), Some("application/json"));
    assert_eq!(
        r.header("Vary"),
        None,
        "the default mode does not negotiate"
    );
    let entries = json_entries(&r.body);
    assert_eq!(entries.len(), 10);
    // Directories first.
    assert_eq!(entries[0]["name"], "a dir");
    assert_eq!(entries[1]["name"], "link-dir");
    let amp = entry(&entries, "amp&<x>.txt");
    assert_eq!(amp["type"], "file");
    assert_eq!(amp["size"], 0);
    assert_eq!(amp["mtime"], 1_000_000_000);
    assert_eq!(amp["modified"], "2001-09-09T01:46:40Z");
    assert_eq!(amp["url"], "amp%26%3Cx%3E.txt");
    assert_eq!(entry(&entries, "a dir")["type"], "dir");
    assert_eq!(entry(&entries, "a dir")["url"], "a%20dir/");
    assert_eq!(entry(&entries, "link-file")["type"], "symlink");
    assert_eq!(entry(&entries, "link-dir")["url"], "link-dir/");
    assert_eq!(entry(&entries, "q\"uote'.txt")["url"], "q%22uote%27.txt");

    // The root: an undecodable name is U+FFFD in `name`, and its `url` works.
    let entries = json_entries(&get(env.addr(), "/?format=json").body);
    let bad = entry(&entries, &String::from_utf8_lossy(BAD_FILE));
    let url = bad["url"].as_str().unwrap();
    assert_eq!(
        get(env.addr(), &format!("/{url}")).body,
        b"undecodable name\n"
    );
    assert_eq!(entry(&entries, "big.bin")["size"], 1 << 20);
    assert_eq!(entry(&entries, "dangling")["size"], serde_json::Value::Null);

    // Accept alone does not change the default mode's CPython page.
    let r = request(
        env.addr(),
        b"GET /listing/ HTTP/1.0\r\nAccept: application/json\r\n\r\n",
    );
    assert_eq!(r.header("Content-type"), Some("text/html; charset=utf-8"));
    env.finish();

    // The rich mode negotiates.
    let env = Env::new(rt, &["--listing", "rich"]);
    let r = request(
        env.addr(),
        b"GET /listing/ HTTP/1.0\r\nAccept: text/html;q=0.5, application/json\r\n\r\n",
    );
    assert_eq!(r.header("Content-type"), Some("application/json"));
    assert_eq!(r.header("Vary"), Some("Accept"));
    assert_eq!(json_entries(&r.body).len(), 10);
    let browser = b"GET /listing/ HTTP/1.0\r\nAccept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\n\r\n";
    let r = request(env.addr(), browser);
    assert_eq!(r.header("Content-type"), Some("text/html; charset=utf-8"));
    assert_eq!(r.header("Vary"), Some("Accept"));
    env.finish();

    // --compat: CPython's page, whatever the query says.
    let env = Env::new(rt, &["--compat"]);
    let r = get(env.addr(), "/listing/?format=json");
    assert_eq!(r.header("Content-type"), Some("text/html; charset=utf-8"));
    env.finish();
}

fn position(body: &[u8], needle: &str) -> usize {
    find(body, needle.as_bytes())
        .unwrap_or_else(|| panic!("{needle:?} not in {}", show(&body[..body.len().min(4000)])))
}

fn rich_listing(rt: &'static str) {
    let env = Env::new(rt, &["--listing", "rich"]);
    let r = get(env.addr(), "/listing/");
    assert_eq!(r.code, 200, "{}", r.describe());
    assert_eq!(
        r.header_names(),
        ["Server", "Date", "Content-type", "Content-Length", "Vary"]
    );
    let body = &r.body;
    assert!(!contains(body, b"<script"), "no JavaScript");
    assert!(contains(body, b"prefers-color-scheme:dark"));
    assert!(contains(body, b"overflow-wrap:anywhere"));
    // Breadcrumb and parent link.
    assert!(contains(
        body,
        b"<h1>Index of <a href=\"/\">/</a><a href=\"/listing/\">listing</a>/</h1>"
    ));
    assert!(contains(body, b"<a href=\"../\">../</a>"));
    // Escaped and quoted as CPython's listing does.
    assert!(contains(
        body,
        b"<a href=\"amp%26%3Cx%3E.txt\">amp&amp;&lt;x&gt;.txt</a>"
    ));
    assert!(contains(
        body,
        b"<a href=\"q%22uote%27.txt\">q\"uote'.txt</a>"
    ));
    assert!(contains(
        body,
        "<a href=\"%C3%BC.txt\">\u{fc}.txt</a>".as_bytes()
    ));
    assert!(contains(
        body,
        b"<time datetime=\"2001-09-09T01:46:40Z\">2001-09-09 01:46</time>"
    ));
    // Directories first, then files by name.
    let order: Vec<usize> = [
        "a%20dir/",
        "link-dir/",
        "amp%26",
        "Apple.txt",
        "B2\"",
        "%C3%BC.txt",
    ]
    .iter()
    .map(|href| position(body, &format!("href=\"{href}")))
    .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{order:?}");

    // The root: no parent link; sizes in units with the bytes in a tooltip; odd names.
    let root = get(env.addr(), "/").body;
    assert!(!contains(&root, b"href=\"../\""));
    assert!(contains(
        &root,
        b"<td class=\"size\" title=\"1048576 bytes\">1.0 MiB</td>"
    ));
    assert!(contains(
        &root,
        b"<td class=\"size\" title=\"6 bytes\">6 B</td>"
    ));
    let mut bad = b">".to_vec();
    bad.extend_from_slice(BAD_FILE);
    bad.extend_from_slice(b"</a>");
    assert!(contains(&root, &bad), "raw bytes of the undecodable name");
    let mut bad_dir = b">".to_vec();
    bad_dir.extend_from_slice(BAD_DIR);
    bad_dir.extend_from_slice(b"/</a>");
    assert!(contains(&root, &bad_dir));
    assert!(contains(
        &root,
        b"<a href=\"%26%3Cdir%3E%22%27/\">&amp;&lt;dir&gt;\"'/</a>"
    ));

    // Sorting: by size, largest first; by name, descending; unknown values ignored.
    let by_size = get(env.addr(), "/?sort=size&order=desc").body;
    assert!(position(&by_size, "href=\"big.bin\"") < position(&by_size, "href=\"a.txt\""));
    assert!(position(&by_size, "href=\"a.txt\"") < position(&by_size, "href=\"empty.txt\""));
    assert!(contains(
        &by_size,
        "<a href=\"?sort=size&amp;order=asc\">Size \u{25bc}</a>".as_bytes()
    ));
    let by_name_desc = get(env.addr(), "/?sort=name&order=desc").body;
    assert!(position(&by_name_desc, "href=\"test\"") < position(&by_name_desc, "href=\"a.txt\""));
    assert!(
        position(&by_name_desc, "href=\"sub/\"") < position(&by_name_desc, "href=\"emptydir/\"")
    );
    let bogus = get(env.addr(), "/?sort=bogus&order=sideways").body;
    let plain = get(env.addr(), "/").body;
    assert_eq!(bogus, plain);

    // Nested breadcrumb; HEAD has the head alone.
    let inner = get(env.addr(), "/sub/inner/").body;
    assert!(contains(
        &inner,
        b"<a href=\"/sub/\">sub</a>/<a href=\"/sub/inner/\">inner</a>/</h1>"
    ));
    let head = request(env.addr(), b"HEAD /sub/inner/ HTTP/1.0\r\n\r\n");
    assert!(head.body.is_empty());
    assert_eq!(
        head.header("Content-Length"),
        Some(inner.len().to_string().as_str())
    );
    env.finish();
}

runtime_suite!([
    quiet,
    log_format_combined,
    banner_lists_urls,
    json_listing,
    rich_listing
]);
