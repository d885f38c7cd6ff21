//! The rich listing in a real browser: headless Chromium loads `--listing rich` on a
//! 200-entry directory, follows the Size column's sort link (from the `href` in its DOM), and
//! the rows come back largest first. No JavaScript is involved: the page has none.
//!
//! Chromium is Debian's `chromium`: installed with apt-get when missing and running as root;
//! otherwise the test prints why it is skipped and passes. Runs on the default runtime only.
//! `HTTP_SERVER_SCREENSHOT=path.png` (relative to the workspace) also saves a 1200x900
//! screenshot of the listing (how
//! `docs/listing.png` is made).

#[allow(unused_macros, reason = "runtime_suite! is for the per-runtime suites")]
mod common;

use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::Server;

/// The browser binary, installing Debian's package when it is missing and we are root.
fn chromium() -> Option<PathBuf> {
    let find = || {
        ["chromium", "chromium-browser"].iter().find_map(|name| {
            std::env::var_os("PATH").and_then(|paths| {
                std::env::split_paths(&paths)
                    .map(|dir| dir.join(name))
                    .find(|p| p.is_file())
            })
        })
    };
    if let Some(found) = find() {
        return Some(found);
    }
    if !rustix::process::geteuid().is_root() {
        eprintln!("skipped: chromium is not installed and installing it needs root");
        return None;
    }
    let install =
        "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium";
    let ok = Command::new("sh")
        .args(["-c", install])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    let found = find();
    if !ok || found.is_none() {
        eprintln!("skipped: `{install}` did not give a chromium");
    }
    found
}

/// Runs headless Chromium with `args` then `url`, killed after 20 s; returns its stdout.
fn run_chromium(browser: &Path, profile: &Path, args: &[&str], url: &str) -> String {
    let mut child = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--window-size=1200,900",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .arg(url)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromium runs");
    let stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut out = String::new();
        let _ = std::io::Read::read_to_string(&mut { stdout }, &mut out);
        out
    });
    let deadline = Instant::now() + Duration::from_secs(20);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium did not finish {url} within 20 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    reader.join().unwrap()
}

/// 200 entries: 12 directories and 188 files of assorted sizes, a few with long or odd names.
fn populate(root: &Path) {
    for dir in [
        "assets", "backups", "docs", "drafts", "fonts", "music", "photos", "projects", "scripts",
        "shared", "slides", "videos",
    ] {
        std::fs::create_dir(root.join(dir)).unwrap();
    }
    let kinds = ["txt", "pdf", "png", "csv", "tar.gz", "md", "json", "mp3"];
    for i in 0..188u64 {
        let name = match i {
            0 => "a file with a very long name that goes on and on to show how the listing wraps it instead of scrolling sideways.txt".to_owned(),
            1 => "notes & <drafts> \"quoted\".md".to_owned(),
            2 => "\u{fc}bersicht-\u{e9}t\u{e9}.pdf".to_owned(),
            _ => format!("report-{i:03}.{}", kinds[(i % 8) as usize]),
        };
        // Sizes from bytes to a few MiB, not in name order (sparse files: no disk needed).
        let len = (i * 7919 % 188).pow(3) * 3 + i;
        let file = std::fs::File::create(root.join(name)).unwrap();
        file.set_len(len).unwrap();
        let mtime = std::time::UNIX_EPOCH + Duration::from_secs(1_700_000_000 + i * 86_311);
        file.set_modified(mtime).unwrap();
    }
}

/// The `href` of every file row, in page order.
fn file_rows(dom: &str) -> Vec<String> {
    let marker = "<tr class=\"file\"><td class=\"name\"><a href=\"";
    dom.match_indices(marker)
        .map(|(i, _)| {
            let rest = &dom[i + marker.len()..];
            rest[..rest.find('"').unwrap()].to_owned()
        })
        .collect()
}

/// The `href` of the column heading link whose text starts with `label`.
fn heading_href(dom: &str, label: &str) -> String {
    let end = dom
        .find(&format!("\">{label}"))
        .unwrap_or_else(|| panic!("no {label} heading in {dom}"));
    let start = dom[..end].rfind("href=\"").unwrap() + "href=\"".len();
    dom[start..end].replace("&amp;", "&")
}

fn percent_decode(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16)
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    out
}

#[test]
fn sort_link_in_chromium() {
    let Some(browser) = chromium() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    std::fs::create_dir(&root).unwrap();
    populate(&root);
    let server = Server::start("std", &root, &["--listing", "rich"]);
    let base = format!("http://{}/", server.addr);

    let profile = tempfile::tempdir().unwrap();
    if let Some(shot) = std::env::var_os("HTTP_SERVER_SCREENSHOT") {
        // Relative to the workspace (cargo runs tests from cli/).
        let shot = Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(shot);
        let arg = format!("--screenshot={}", shot.display());
        run_chromium(&browser, profile.path(), &[&arg], &base);
        assert!(shot.is_file(), "no screenshot at {}", shot.display());
    }

    let dom = run_chromium(&browser, profile.path(), &["--dump-dom"], &base);
    let by_name = file_rows(&dom);
    assert_eq!(by_name.len(), 188, "{dom}");
    assert_eq!(dom.matches("<tr class=\"dir\">").count(), 12);
    let lower: Vec<String> = by_name
        .iter()
        .map(|n| String::from_utf8(percent_decode(n)).unwrap().to_lowercase())
        .collect();
    assert!(
        lower.windows(2).all(|w| w[0] <= w[1]),
        "by name: {by_name:?}"
    );

    let href = heading_href(&dom, "Size");
    assert_eq!(href, "?sort=size&order=desc");
    let dom = run_chromium(
        &browser,
        profile.path(),
        &["--dump-dom"],
        &format!("{base}{href}"),
    );
    let by_size = file_rows(&dom);
    assert_eq!(by_size.len(), 188);
    assert_ne!(by_size, by_name, "the order changed");
    let size = |href: &String| {
        let name = percent_decode(href);
        std::fs::metadata(root.join(std::ffi::OsStr::from_bytes(&name)))
            .unwrap()
            .len()
    };
    let sizes: Vec<u64> = by_size.iter().map(size).collect();
    assert!(
        sizes.windows(2).all(|w| w[0] >= w[1]),
        "largest first: {sizes:?}"
    );
    // The heading now offers the other direction.
    assert_eq!(heading_href(&dom, "Size"), "?sort=size&order=asc");
    server.stop_clean();
}

/// A `<video>` fetches its media with `Range` requests, and gets 206: what seeking needs.
///
/// Checked at the HTTP level, from the access log: no tool to make a real video is assumed
/// (no ffmpeg), so the file is not playable and Chromium only gets as far as the first
/// fetch, which is enough to show that it asks for a range (`Range: bytes=0-`) and that the
/// server answers it with 206 rather than 200.
#[test]
fn video_fetches_ranges_in_chromium() {
    let Some(browser) = chromium() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    std::fs::create_dir(&root).unwrap();
    std::fs::write(
        root.join("index.html"),
        "<!DOCTYPE html><video src=\"clip.webm\" preload=\"auto\" muted></video>",
    )
    .unwrap();
    let clip: Vec<u8> = (0..(2u32 << 20)).map(|i| (i % 253) as u8).collect();
    std::fs::write(root.join("clip.webm"), clip).unwrap();
    let server = Server::start("std", &root, &["-p", "HTTP/1.1"]);
    let profile = tempfile::tempdir().unwrap();
    run_chromium(
        &browser,
        profile.path(),
        &[
            "--dump-dom",
            "--virtual-time-budget=3000",
            "--autoplay-policy=no-user-gesture-required",
        ],
        &format!("http://{}/", server.addr),
    );
    assert!(
        server.wait_stderr(b"\"GET /clip.webm HTTP/1.1\" 206"),
        "no 206 for the video: {}",
        server.stderr()
    );
    server.stop_clean();
}
