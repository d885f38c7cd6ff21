//! Differential test: CPython 3.14's own http.server (the oracle, `scripts/python314`) and ours
//! serve the same fixture tree; the same raw requests go to both; status lines, header names
//! and order, header values and bodies must match byte for byte, and so must the access log.
//!
//! Normalised before comparing:
//! - `Date` and `Server` values (clock and version string);
//! - `Content-type` only for the extensions in [`MIME_DIFFERENCES`], where CPython reads the
//!   machine's `/etc/mime.types` and we use our own table (both values are checked);
//! - in the default mode only, the validators it adds to CPython's file responses
//!   (README.md, "The command line"): `Accept-Ranges` and `ETag` lines are
//!   dropped from our 200s, `ETag` and `Last-Modified` from our 304s; a request whose answer the
//!   validators change (`If-None-Match: *`, a 304 by RFC 9110 13.1.2 where CPython ignores the
//!   field) is compared in `--compat` only ([`Deviation::Validators`]);
//! - the listing title for requests with a query ([`Deviation::TitleKeepsQuery`]): we keep 3.11's
//!   title because CPython's own test suite (3.11 to 3.13) asserts it (README.md, "Where we differ
//!   from CPython").
//!
//! The oracle: the launcher named by `$HTTP_SERVER_PY314`, else the project's `scripts/python314`
//! (it fetches CPython 3.14.2's http.server once; see its header comment). If the oracle cannot
//! start, the test fails and says why. `HTTP_SERVER_SKIP_PY314=1` skips it (offline machines),
//! printing that it did.

#[macro_use]
mod common;

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use common::fixture::{self, Fixture};
use common::{Server, show};

/// Extensions whose Content-type legitimately differs: (extension, CPython 3.14 on Debian with
/// /etc/mime.types, ours). Both sides are asserted, then normalised.
/// CPython's built-in table (`mimetypes.MimeTypes(filenames=())`) agrees with ours for these;
/// Debian's /etc/mime.types overrides it. On a machine without that file CPython answers like us,
/// which is accepted too.
const MIME_DIFFERENCES: &[(&str, &str, &str)] = &[
    ("xml", "application/xml", "text/xml"),
    ("c", "text/x-csrc", "text/plain"),
    ("h", "text/x-chdr", "text/plain"),
    ("wav", "audio/x-wav", "audio/vnd.wave"),
    // Types CPython's built-in table lacks (it answers octet-stream, or whatever the machine's
    // /etc/mime.types says); ours come from mime_guess's richer table, the same on every machine.
    ("toml", "application/octet-stream", "text/x-toml"),
    ("map", "application/octet-stream", "text/plain"),
    (
        "ts",
        "text/vnd.trolltech.linguist",
        "video/vnd.dlna.mpeg-tts",
    ),
];

/// A per-request, documented difference from 3.14 applied to *our* response before comparing.
#[derive(Clone, Copy, Debug)]
enum Deviation {
    None,
    /// Our listing title/h1 show `ours`, 3.14's show `py` (README.md, "Where we differ from CPython").
    TitleKeepsQuery {
        ours: &'static str,
        py: &'static str,
    },
    /// The default mode evaluates `If-None-Match` (RFC 9110 13.1.2), which CPython ignores:
    /// compared in `--compat` only.
    Validators,
}

struct Case {
    name: String,
    request: Vec<u8>,
    deviation: Deviation,
    /// No real client sends it: the default (strict, RFC 9112) parser answers it differently
    /// on purpose, so only `--compat` (CPython's own parsing) is compared with 3.14.
    malformed: bool,
}

fn case(name: impl Into<String>, request: impl Into<Vec<u8>>) -> Case {
    Case {
        name: name.into(),
        request: request.into(),
        malformed: false,
        deviation: Deviation::None,
    }
}

fn get10(target: &str) -> Case {
    case(
        format!("GET {target}"),
        format!("GET {target} HTTP/1.0\r\n\r\n"),
    )
}

fn head10(target: &str) -> Case {
    case(
        format!("HEAD {target}"),
        format!("HEAD {target} HTTP/1.0\r\n\r\n"),
    )
}

/// Requests for the default (HTTP/1.0) server.
#[allow(clippy::too_many_lines)] // one flat table of requests reads best
fn cases_http10() -> Vec<Case> {
    let mut cases = Vec::new();
    let targets = [
        "/",
        "/a.txt",
        "/test",
        "/empty.txt",
        "/big.bin",
        "/sub",
        "/sub/",
        "/sub?x=1",
        "/sub?x=1#f",
        "/sub#f",
        "/sub?",
        "/sub%2f",
        "/sub%2F",
        "/sub/inner",
        "/sub/inner/",
        "/emptydir/",
        "/emptydir",
        "/idx/",
        "/idx",
        "/idxm/",
        "/both/",
        "/dirindex/",
        "/dirindex/index.html/",
        "/dirindex/index.html",
        "/listing/",
        "/spaced%20dir/",
        "/spaced%20dir",
        "/%C3%BCn%C3%AF%20dir/",
        "/%26%3Cdir%3E%22%27/",
        "/bad%ED%B3%BFname.txt",
        "/bad%ED%B3%BEdir/",
        "/bad%FFname.txt",
        "/with%20space.txt",
        "/pct%2541.txt",
        "/pct%41.txt",
        "/a%26b.txt",
        "/lt%3Cgt%3E.txt",
        "/quote%22dq%27sq.txt",
        "/hash%23name.txt",
        "/q%3Fmark.txt",
        "/semi;colon.txt",
        "/plus+sign.txt",
        "/a.txt?x=1",
        "/a.txt#f",
        "/a.txt?x=1#f",
        "/a.txt/",
        "/a.txt%2f",
        "/test/",
        "/nope",
        "/nope/",
        "/A.TXT",
        "/a.txt%20",
        "/../a.txt",
        "/%2e%2e/a.txt",
        "/sub/..%2fa.txt",
        "/sub/inner/../../a.txt",
        "/./a.txt",
        "/%2e%2e%2f%2e%2e%2fsecret.txt",
        "/../secret.txt",
        "//a.txt",
        "//sub",
        "//evil.com/..%2f..%2fsub",
        "///evil.com/..%2f..%2fsub",
        "//evil.com/%2e%2e%2f%2e%2e%2fsub",
        "/link-a.txt",
        "/link-sub",
        "/link-sub/",
        "/link-sub/b.txt",
        "/dangling",
        "/%61.txt",
        "/a%2etxt",
    ];
    cases.extend(targets.iter().map(|t| get10(t)));
    // Targets in none of RFC 9112's forms: CPython serves them as if they began with `/`; the
    // strict parser refuses them.
    for target in ["a.txt", "sub", "sub/"] {
        cases.push(Case {
            malformed: true,
            ..get10(target)
        });
    }
    // Absolute-form: CPython looks for a directory named `http:` (404); RFC 9112 3.2.2 says a
    // server MUST accept it, and the default mode serves the URL's path (docs/SECURITY.md,
    // finding 7). Compared in `--compat` only.
    cases.push(Case {
        malformed: true,
        ..get10("http://example.com/a.txt")
    });
    for t in [
        "/a.txt",
        "/sub/",
        "/sub",
        "/nope",
        "/big.bin",
        "/listing/",
        "/emptydir/",
        "/idx/",
    ] {
        cases.push(head10(t));
    }
    for ext in fixture::MIME_EXTS {
        cases.push(get10(&format!("/mime/x.{ext}")));
    }
    cases.push(get10("/mime/noext"));
    cases.push(get10("/mime/X.TXT"));
    // Listing titles with a query: 3.14 strips it, we keep it (documented deviation).
    cases.push(Case {
        deviation: Deviation::TitleKeepsQuery {
            ours: "/sub/?x=1",
            py: "/sub/",
        },
        ..get10("/sub/?x=1")
    });
    cases.push(Case {
        deviation: Deviation::TitleKeepsQuery {
            ours: "/?x=\u{fffd}",
            py: "/",
        },
        ..get10("/?x=%bb")
    });
    // Methods.
    for line in [
        "POST /a.txt HTTP/1.0",
        "PUT /a.txt HTTP/1.0",
        "DELETE /a.txt HTTP/1.0",
        "OPTIONS * HTTP/1.0",
        "PATCH /a.txt HTTP/1.0",
        "get /a.txt HTTP/1.0",
        "GETs /a.txt HTTP/1.0",
        "FOO / HTTP/1.0",
    ] {
        cases.push(case(line, format!("{line}\r\n\r\n")));
    }
    cases.push(case(
        "POST with body",
        "POST /a.txt HTTP/1.0\r\nContent-Length: 5\r\n\r\nhello",
    ));
    cases.push(case("HEAD 501", "HEAD /a.txt HTTP/1.0\r\n\r\n"));
    // Versions and request-line syntax.
    for version in [
        "HTTP/1.1.1",
        "FOO/1.0",
        "http/1.0",
        "HTTP/2.0",
        "HTTP/9.9",
        "HTTP/1.909876543210",
        "HTTP/-9_9_9.+9_9_9",
    ] {
        cases.push(malformed(
            format!("version {version}"),
            format!("GET /a.txt {version}\r\n\r\n"),
        ));
    }
    cases.push(case(
        "HTTP/1.1 request",
        "GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n",
    ));
    cases.push(case(
        "HTTP/1.1 keep-alive request",
        "GET /a.txt HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n\r\n",
    ));
    cases.push(malformed(
        "syntax: space in path",
        "GET /a b.txt HTTP/1.0\r\n\r\n",
    ));
    cases.push(malformed("syntax: one word", "GET\r\n\r\n"));
    cases.push(malformed("blank line", "\r\n"));
    // HTTP/0.9.
    cases.push(case("0.9 file", "GET /a.txt\r\n"));
    cases.push(case("0.9 listing", "GET /sub/\r\n"));
    cases.push(case("0.9 404", "GET /nope\r\n"));
    cases.push(case("0.9 redirect", "GET /sub\r\n"));
    cases.push(malformed("0.9 POST", "POST /a.txt\r\n"));
    cases.push(case("0.9 in version", "GET /a.txt HTTP/0.9\r\n\r\n"));
    // Conditional GET.
    for (name, ims) in [
        ("IMS equal", fixture::MTIME_HTTP),
        ("IMS later", "Sun, 09 Sep 2001 02:46:40 GMT"),
        ("IMS earlier", "Sat, 08 Sep 2001 01:46:40 GMT"),
        ("IMS rfc850", "Sunday, 09-Sep-01 01:46:40 GMT"),
        ("IMS asctime", "Sun Sep  9 01:46:40 2001"),
        ("IMS no zone", "Sun, 09 Sep 2001 01:46:40"),
        ("IMS +0100", "Sun, 09 Sep 2001 02:46:40 +0100"),
        ("IMS garbage", "yesterday"),
    ] {
        cases.push(case(
            name,
            format!("GET /a.txt HTTP/1.0\r\nIf-Modified-Since: {ims}\r\n\r\n"),
        ));
    }
    cases.push(Case {
        deviation: Deviation::Validators,
        ..case(
            "IMS + If-None-Match",
            format!(
                "GET /a.txt HTTP/1.0\r\nIf-Modified-Since: {}\r\nIf-None-Match: *\r\n\r\n",
                fixture::MTIME_HTTP
            ),
        )
    });
    cases.push(case(
        "IMS on listing",
        "GET /sub/ HTTP/1.0\r\nIf-Modified-Since: Sun, 09 Sep 2030 01:46:40 GMT\r\n\r\n",
    ));
    // Limits.
    let fixed = "GET /".len() + " HTTP/1.0\r\n".len();
    cases.push(case(
        "line 65536",
        format!("GET /{} HTTP/1.0\r\n\r\n", "a".repeat(65536 - fixed)),
    ));
    cases.push(case(
        "line 65537",
        format!("GET /{} HTTP/1.0\r\n\r\n", "a".repeat(65537 - fixed)),
    ));
    cases.push(case(
        "header line 70000",
        format!("GET /a.txt HTTP/1.0\r\nX: {}\r\n\r\n", "a".repeat(70_000)),
    ));
    for n in [99, 100, 101] {
        let headers = (0..n).fold(String::new(), |mut s, i| {
            let _ = write!(s, "X-H{i}: {i}\r\n");
            s
        });
        // 3.14 counts the terminating blank line toward its 100 (3.15 and strict mode do not).
        let name = format!("{n} headers");
        let request = format!("GET /a.txt HTTP/1.0\r\n{headers}\r\n");
        cases.push(if n == 100 {
            malformed(name, request)
        } else {
            case(name, request)
        });
    }
    cases
}

/// Requests for `-p HTTP/1.1` servers; every one ends the connection (close or error), since
/// CPython has no idle timeout.
fn cases_http11() -> Vec<Case> {
    vec![
        case(
            "1.1 close",
            "GET /a.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        ),
        case("1.1 HTTP/1.0 request", "GET /a.txt HTTP/1.0\r\n\r\n"),
        case(
            "1.1 pipeline",
            "GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\nHEAD /sub/ HTTP/1.1\r\nHost: x\r\n\r\nGET /sub HTTP/1.1\r\nHost: x\r\n\r\n\
             GET /emptydir/ HTTP/1.1\r\nHost: x\r\n\r\nGET /a.txt HTTP/1.1\r\nHost: x\r\nIf-Modified-Since: Sun, 09 Sep 2030 01:46:40 GMT\r\n\r\n\
             GET /nope HTTP/1.1\r\nHost: x\r\n\r\nGET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n",
        ),
        case(
            "1.1 HTTP/1.0 keep-alive then close",
            "GET /a.txt HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /test HTTP/1.0\r\n\r\n",
        ),
        case("1.1 501", "DELETE /a.txt HTTP/1.1\r\nHost: x\r\n\r\n"),
        malformed(
            "1.1 bad version",
            "GET /a.txt HTTP/1.1.1\r\nHost: x\r\n\r\n",
        ),
        case("1.1 0.9", "GET /a.txt\r\n"),
    ]
}

impl Case {
    fn clone_case(&self) -> Self {
        Self {
            name: self.name.clone(),
            request: self.request.clone(),
            deviation: self.deviation,
            malformed: self.malformed,
        }
    }
}

/// A case only `--compat` answers as CPython 3.14 does (see [`Case::malformed`]).
fn malformed(name: impl Into<String>, request: impl Into<Vec<u8>>) -> Case {
    Case {
        malformed: true,
        ..case(name, request)
    }
}

/// The CPython 3.14 launcher: `$HTTP_SERVER_PY314`, else the project's `scripts/python314`
/// (`CARGO_MANIFEST_DIR` is `cli/`, whose tests these are).
fn oracle() -> PathBuf {
    std::env::var_os("HTTP_SERVER_PY314").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scripts/python314"),
        PathBuf::from,
    )
}

/// What to do when the oracle cannot run: fail, with how to fix it or opt out.
const ORACLE_HELP: &str = "The oracle needs bash, CPython >= 3.11 and, the first time, access \
     to the npm registry (see scripts/python314 and tests/README.md, \"The oracle\"). \
     To skip this test on a machine that cannot run it, set HTTP_SERVER_SKIP_PY314=1.";

/// `HTTP_SERVER_SKIP_PY314=1`: the one way to skip the comparison, and it says so.
fn skip_requested() -> bool {
    let skip = std::env::var_os("HTTP_SERVER_SKIP_PY314").is_some_and(|v| v == "1");
    if skip {
        eprintln!(
            "SKIPPED differential test against CPython 3.14: HTTP_SERVER_SKIP_PY314=1 is set \
             (nothing was compared)"
        );
    }
    skip
}

fn start_python(script: &PathBuf, dir: &std::path::Path, args: &[&str]) -> Result<Server, String> {
    let mut last = String::new();
    for _ in 0..5 {
        let port = common::free_port();
        let mut command = Command::new("bash");
        command
            .arg(script)
            .arg(port.to_string())
            .args(["--bind", "127.0.0.1", "--directory"])
            .arg(dir)
            .args(args);
        command.env("PYTHONUNBUFFERED", "1");
        match Server::spawn_command(command, "cpython-3.14", Duration::from_secs(180)) {
            Ok(server) => return Ok(server),
            Err(e) => {
                last = format!("{e:#?}");
                if !e.stderr.contains("in use") {
                    break;
                }
            }
        }
    }
    Err(last)
}

/// Replaces the values of `Date:` and `Server:` header lines (at line starts in the head).
fn normalise(raw: &[u8], case: &Case, ours: bool, notes: &mut Vec<String>) -> Vec<u8> {
    let mut out = raw.to_vec();
    if let (Deviation::TitleKeepsQuery { ours: o, py }, true) = (case.deviation, ours) {
        out = retitle(&out, o, py);
    }
    // Header lines only: split at the first blank line of every response we can see.
    let mut result = Vec::with_capacity(out.len());
    let mut in_head = out.starts_with(b"HTTP/");
    let mut remaining_body: Option<usize> = None;
    let heads: Vec<bool> = case
        .request
        .split(|&b| b == b'\n')
        .filter(|line| {
            line.starts_with(b"HTTP/")
                || line.windows(6).any(|w| w == b" HTTP/")
                || line.starts_with(b"GET ")
                || line.starts_with(b"HEAD ")
        })
        .map(|line| line.starts_with(b"HEAD "))
        .collect();
    let mut index = 0;
    let mut i = 0;
    while i < out.len() {
        if in_head {
            let end = common::find(&out[i..], b"\r\n").map_or(out.len(), |e| i + e + 2);
            let line = &out[i..end];
            if line == b"\r\n" {
                in_head = false;
                result.extend_from_slice(line);
                i = end;
                continue;
            }
            if line.starts_with(b"Date: ") {
                result.extend_from_slice(b"Date: <date>\r\n");
            } else if line.starts_with(b"Server: ") {
                result.extend_from_slice(b"Server: <server>\r\n");
            } else if let Some(value) = line.strip_prefix(b"Content-type: ") {
                let value = String::from_utf8_lossy(value).trim_end().to_owned();
                result
                    .extend_from_slice(normalise_mime(&case.name, &value, ours, notes).as_bytes());
            } else {
                if let Some(v) = line.strip_prefix(b"Content-Length: ") {
                    remaining_body = String::from_utf8_lossy(v).trim().parse().ok();
                }
                result.extend_from_slice(line);
            }
            i = end;
        } else {
            // Body: Content-Length bytes (none for HEAD, 304, ...); then maybe the next head.
            let answers_head = heads.get(index).or(heads.last()).copied().unwrap_or(false);
            index += 1;
            let rest = &out[i..];
            let n = match remaining_body.take() {
                _ if answers_head => 0,
                Some(n) => n.min(rest.len()),
                None if rest.starts_with(b"HTTP/") => 0,
                None => rest.len(),
            };
            result.extend_from_slice(&rest[..n]);
            i += n;
            in_head = out[i..].starts_with(b"HTTP/");
            if !in_head && i < out.len() {
                result.extend_from_slice(&out[i..]);
                break;
            }
        }
    }
    result
}

/// Drops the header lines the default mode adds to CPython's file responses: `Accept-Ranges`
/// and `ETag` anywhere, `Last-Modified` in a 304 (CPython's 304 is `Server` and `Date` alone).
/// Header lines are those between a status line and the blank line ending its head; bodies
/// (found by `Content-Length`) are kept whole.
fn without_validators(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len());
    let mut rest = raw;
    while rest.starts_with(b"HTTP/") {
        let head_end = common::find(rest, b"\r\n\r\n").map_or(rest.len(), |i| i + 4);
        let head = &rest[..head_end];
        let not_modified = head.split(|&b| b == b' ').nth(1) == Some(b"304");
        let mut length = 0;
        for line in head.split_inclusive(|&b| b == b'\n') {
            let added = line.starts_with(b"Accept-Ranges: ")
                || line.starts_with(b"ETag: ")
                || (not_modified && line.starts_with(b"Last-Modified: "));
            if let Some(v) = line.strip_prefix(b"Content-Length: ") {
                length = String::from_utf8_lossy(v).trim().parse().unwrap_or(0);
            }
            if !added {
                out.extend_from_slice(line);
            }
        }
        rest = &rest[head_end..];
        // A body (none after a 304 or for HEAD, which then starts the next head or ends).
        let body = if rest.starts_with(b"HTTP/") || not_modified {
            0
        } else {
            length.min(rest.len())
        };
        out.extend_from_slice(&rest[..body]);
        rest = &rest[body..];
    }
    out.extend_from_slice(rest);
    out
}

/// Our listing title/h1 `ours` -> `py`, with the Content-Length adjusted.
fn retitle(raw: &[u8], ours: &str, py: &str) -> Vec<u8> {
    let text_from = format!("Directory listing for {ours}<");
    let text_to = format!("Directory listing for {py}<");
    let count = raw
        .windows(text_from.len())
        .filter(|w| *w == text_from.as_bytes())
        .count();
    if count == 0 {
        return raw.to_vec();
    }
    let mut out = Vec::new();
    let mut rest = raw;
    while let Some(p) = common::find(rest, text_from.as_bytes()) {
        out.extend_from_slice(&rest[..p]);
        out.extend_from_slice(text_to.as_bytes());
        rest = &rest[p + text_from.len()..];
    }
    out.extend_from_slice(rest);
    let delta = (text_from.len() - text_to.len()) * count;
    if let Some(p) = common::find(&out, b"Content-Length: ") {
        let start = p + "Content-Length: ".len();
        let end = start + common::find(&out[start..], b"\r\n").unwrap();
        let n: usize = String::from_utf8_lossy(&out[start..end]).parse().unwrap();
        out.splice(start..end, (n - delta).to_string().into_bytes());
    }
    out
}

fn normalise_mime(case: &str, value: &str, ours: bool, notes: &mut Vec<String>) -> String {
    for (ext, py, our) in MIME_DIFFERENCES {
        if case.ends_with(&format!("/x.{ext}")) {
            let want = if ours { our } else { py };
            if value != *want && value != *our {
                notes.push(format!(
                    "{case}: {} Content-type {value:?}, listed as {want:?}",
                    if ours { "our" } else { "CPython's" }
                ));
            }
            return "Content-type: <normalised>\r\n".to_owned();
        }
    }
    format!("Content-type: {value}\r\n")
}

/// The log message after `127.0.0.1 - - [date] `, per line.
fn log_messages(stderr: &[u8]) -> Vec<String> {
    common::lines(stderr)
        .iter()
        .filter_map(|line| {
            let p = common::find(line, b"] ")?;
            line.starts_with(b"127.0.0.1 - - [")
                .then(|| show(&line[p + 2..]))
        })
        .collect()
}

fn first_difference(a: &[u8], b: &[u8]) -> usize {
    a.iter()
        .zip(b)
        .position(|(x, y)| x != y)
        .unwrap_or(a.len().min(b.len()))
}

fn context(bytes: &[u8], at: usize) -> String {
    let start = at.saturating_sub(300);
    let end = (at + 300).min(bytes.len());
    format!(
        "[{start}..{end} of {}] {}",
        bytes.len(),
        show(&bytes[start..end])
    )
}

/// Runs `cases` against both servers; returns the failure reports.
fn compare(
    py: &Server,
    ours: &Server,
    cases: &[Case],
    strict: bool,
    notes: &mut Vec<String>,
) -> Vec<String> {
    let mut failures = Vec::new();
    for case in cases {
        let timeout = Duration::from_secs(10);
        let (py_raw, py_closed) = common::exchange_timeout(py.addr, &case.request, timeout);
        let (our_raw, our_closed) = common::exchange_timeout(ours.addr, &case.request, timeout);
        let a = normalise(&py_raw, case, false, notes);
        let mut b = normalise(&our_raw, case, true, notes);
        if strict {
            b = without_validators(&b);
        }
        if a != b || py_closed != our_closed {
            let at = first_difference(&a, &b);
            failures.push(format!(
                "--- {} ---\nrequest: {}\nclosed: cpython {py_closed}, ours {our_closed}\nfirst difference at byte {at}\ncpython: {}\nours:    {}",
                case.name,
                show(&case.request[..case.request.len().min(300)]),
                context(&a, at),
                context(&b, at),
            ));
        }
    }
    failures
}

fn compare_logs(py: &Server, ours: &Server, failures: &mut Vec<String>) {
    std::thread::sleep(Duration::from_millis(300));
    let a = log_messages(&py.stderr_bytes());
    let b = log_messages(&ours.stderr_bytes());
    if a != b {
        let i = a
            .iter()
            .zip(&b)
            .position(|(x, y)| x != y)
            .unwrap_or(a.len().min(b.len()));
        failures.push(format!(
            "--- access log --- ({} vs {} lines) first difference at line {i}:\ncpython: {:?}\nours:    {:?}",
            a.len(),
            b.len(),
            a.get(i.saturating_sub(1)..(i + 2).min(a.len())),
            b.get(i.saturating_sub(1)..(i + 2).min(b.len())),
        ));
    }
}

fn differential(rt: &'static str) {
    if skip_requested() {
        return;
    }
    let script = oracle();
    assert!(
        script.is_file(),
        "the CPython 3.14 launcher {} does not exist. {ORACLE_HELP}",
        script.display()
    );
    let fx = Fixture::new();
    let mut failures = Vec::new();
    let mut notes = Vec::new();
    for (protocol, cases) in [(None, cases_http10()), (Some("HTTP/1.1"), cases_http11())] {
        let extra: Vec<&str> = protocol.map(|p| vec!["-p", p]).unwrap_or_default();
        let py = match start_python(&script, &fx.root, &extra) {
            Ok(py) => py,
            Err(e) => panic!(
                "CPython 3.14 ({}) did not start: {e}\n{ORACLE_HELP}",
                script.display()
            ),
        };
        let label = protocol.unwrap_or("HTTP/1.0");
        // `--compat` parses as CPython does: every case, and the access log, must match.
        let compat_args: Vec<&str> = extra.iter().copied().chain(["--compat"]).collect();
        let ours = Server::start(rt, &fx.root, &compat_args);
        let mut f = compare(&py, &ours, &cases, false, &mut notes);
        compare_logs(&py, &ours, &mut f);
        eprintln!(
            "differential ({label}, --compat): {} cases, {} differ",
            cases.len(),
            f.len()
        );
        failures.extend(f.into_iter().map(|f| format!("[{label} --compat] {f}")));
        let stderr = ours.stop_clean();
        assert!(!stderr.contains("panicked"));
        // The default (strict) parser must give every request a real client sends the same bytes.
        let real: Vec<Case> = cases
            .iter()
            .filter(|c| !c.malformed && !matches!(c.deviation, Deviation::Validators))
            .map(Case::clone_case)
            .collect();
        let ours = Server::start(rt, &fx.root, &extra);
        let f = compare(&py, &ours, &real, true, &mut notes);
        eprintln!(
            "differential ({label}, strict): {} cases, {} differ",
            real.len(),
            f.len()
        );
        failures.extend(f.into_iter().map(|f| format!("[{label} strict] {f}")));
        let stderr = ours.stop_clean();
        assert!(!stderr.contains("panicked"));
        drop(py);
    }
    for n in &notes {
        eprintln!("note: {n}");
    }
    assert!(
        notes.is_empty(),
        "MIME_DIFFERENCES is out of date:\n{}",
        notes.join("\n")
    );
    assert!(
        failures.is_empty(),
        "{} differences from CPython 3.14:\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

runtime_suite!([differential]);
