//! Request parsing in the default (strict) mode: holes where our reading of a request could
//! differ from another parser's on the way, so that a proxy and this server disagree about
//! which host a request is for, what its target is, or where its body ends.
//!
//! - `Host` values that are not `uri-host [ ":" port ]` (RFC 9110 section 7.2);
//! - request targets in none of RFC 9112's four forms (`GET HTTP/1.1` was an HTTP/0.9
//!   request for the target `HTTP/1.1`);
//! - chunk-size lines with something other than `BWS ";" chunk-ext` after the size
//!   (`1 zz junk` was read as size 1), and bare LFs in the chunked framing.
//!
//! Every bad request is sent on a keep-alive connection (`-p HTTP/1.1`) with a second,
//! valid request right behind it: the bad one must get its answer and the connection must
//! close without the second one ever being answered.

use crate::common::fixture::{self, Fixture};
use crate::common::{self, Response, Server, contains, exchange, show};

/// The request pipelined behind every one: the answer to a bad one must never be followed by
/// its answer (the file's text); behind a good one, it is answered and closes the connection.
const SMUGGLED: &str = "GET /a.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";

/// A keep-alive server over the fixture tree; the tree lives as long as the server.
struct Env {
    server: Server,
    _fixture: Fixture,
}

impl Env {
    fn new(rt: &str) -> Self {
        let fixture = Fixture::new();
        let server = Server::start(rt, &fixture.root, &["-p", "HTTP/1.1"]);
        Self {
            server,
            _fixture: fixture,
        }
    }

    /// Sends `request` then the smuggled one, reads to the close; the responses, or why the
    /// bytes are not responses.
    fn pipeline(&self, request: &[u8]) -> (Vec<u8>, Result<Vec<Response>, String>) {
        let mut wire = request.to_vec();
        wire.extend_from_slice(SMUGGLED.as_bytes());
        let raw = exchange(self.server.addr, &wire);
        let parsed = common::parse_responses(&raw, &[false]);
        (raw, parsed)
    }
}

/// Each request must be answered with exactly one `want` response that closes the
/// connection (`Connection: close`), and the request behind it must not be answered.
fn assert_refused(env: &Env, want: u16, requests: &[Vec<u8>]) {
    let mut failures = Vec::new();
    for request in requests {
        let (raw, parsed) = env.pipeline(request);
        let ok = parsed.is_ok_and(|all| {
            all.len() == 1
                && all[0].code == want
                && all[0].header("Connection") == Some("close")
                && !contains(&raw, fixture::A_TXT)
        });
        if !ok {
            failures.push(format!(
                "request:\n{}\n--- got:\n{}",
                show(request),
                show(&raw)
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} requests were not refused with {want}:\n{}",
        failures.len(),
        requests.len(),
        failures.join("\n=====\n")
    );
}

/// Each request must be answered with `want` (a parsed request, not a 400) and, when the
/// answer keeps the connection, the request behind it must be served too.
fn assert_served(env: &Env, cases: &[(Vec<u8>, u16)]) {
    let mut failures = Vec::new();
    for (request, want) in cases {
        let (raw, parsed) = env.pipeline(request);
        let ok = parsed.is_ok_and(|all| {
            let closes = all
                .first()
                .is_some_and(|r| r.header("Connection") == Some("close"));
            all.first().is_some_and(|r| r.code == *want)
                && if closes {
                    all.len() == 1
                } else {
                    all.len() == 2 && all[1].code == 200 && all[1].body == fixture::A_TXT
                }
        });
        if !ok {
            failures.push(format!(
                "request (want {want}):\n{}\n--- got:\n{}",
                show(request),
                show(&raw)
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} requests were not served:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n=====\n")
    );
}

// ----- Host -----

/// `Host` values that are not `uri-host [ ":" port ]`: 400, whatever the version.
fn invalid_host_is_refused(rt: &'static str) {
    let env = Env::new(rt);
    let mut requests = Vec::new();
    for host in [
        &b"a b"[..],
        b"user@host",
        b"user:pw@host:80",
        b"a, b",
        b"a,\tb",
        b"host/path",
        b"host?x",
        b"host#x",
        b"host\\x",
        b"[::1",
        b"::1",
        b"[::1]x",
        b"[::g]",
        b"[1:2]",
        b"[::1%25eth0]",
        b"[v1]",
        b"h:port",
        b"h:80a",
        b"h:80:80",
        b"h:+80",
        b"a%zz",
        b"a%4",
        b"a\x01b",
        b"a\x7fb",
        b"a\"b",
        b"\xc3\xbc.example",
    ] {
        for version in ["HTTP/1.1", "HTTP/1.0"] {
            let mut request =
                format!("GET /a.txt {version}\r\nConnection: keep-alive\r\nHost: ").into_bytes();
            request.extend_from_slice(host);
            request.extend_from_slice(b"\r\n\r\n");
            requests.push(request);
        }
    }
    assert_refused(&env, 400, &requests);
    env.server.stop_clean();
}

/// Missing in HTTP/1.1, repeated in any version: 400 (RFC 9110 section 7.2).
fn missing_or_repeated_host_is_refused(rt: &'static str) {
    let env = Env::new(rt);
    let requests: Vec<Vec<u8>> = [
        "GET /a.txt HTTP/1.1\r\n\r\n",
        "GET /a.txt HTTP/1.1\r\nHost: x\r\nHost: x\r\n\r\n",
        "GET /a.txt HTTP/1.1\r\nHost: x\r\nhost: y\r\n\r\n",
        "GET /a.txt HTTP/1.0\r\nConnection: keep-alive\r\nHost: x\r\nHost: y\r\n\r\n",
    ]
    .iter()
    .map(|r| r.as_bytes().to_vec())
    .collect();
    assert_refused(&env, 400, &requests);
    env.server.stop_clean();
}

/// Valid hosts of every shape are served, and the connection stays usable.
fn valid_host_is_served(rt: &'static str) {
    let env = Env::new(rt);
    let cases: Vec<(Vec<u8>, u16)> = [
        "",
        "x",
        "h:8000",
        "h:",
        "localhost:8000",
        "127.0.0.1",
        "127.0.0.1:8000",
        "[::1]",
        "[::1]:80",
        "[::ffff:192.0.2.1]:443",
        "[v1.x]",
        "a%20b.example",
        "a!$&'()*+,;=b",
        "Example.COM.",
    ]
    .iter()
    .map(|host| {
        let request = format!("GET /a.txt HTTP/1.1\r\nHost: {host}\r\n\r\n");
        (request.into_bytes(), 200)
    })
    .collect();
    assert_served(&env, &cases);
    // Whitespace around the value is not part of it.
    assert_served(
        &env,
        &[(
            b"GET /a.txt HTTP/1.1\r\nHost: \t h:80 \t\r\n\r\n".to_vec(),
            200,
        )],
    );
    env.server.stop_clean();
}

// ----- request targets -----

/// Targets in none of the four forms, or in a form the method does not take: 400. The
/// reported case is `GET HTTP/1.1` (no target), once answered as an HTTP/0.9 request for the
/// file `HTTP/1.1`, without a status line.
fn target_in_no_form_is_refused(rt: &'static str) {
    let env = Env::new(rt);
    let requests: Vec<Vec<u8>> = [
        "GET HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET HTTP/1.0\r\n\r\n",
        "HEAD HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET a.txt HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET a.txt\r\n",
        "GET HTTP/1.1\r\n",
        "GET * HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET *\r\n",
        "OPTIONS ** HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET x:80 HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET ?a.txt HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET http:/a.txt HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET http:a.txt HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET http:///a.txt HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET http://u@x/a.txt HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET http://[::1/a.txt HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET 1http://x/a.txt HTTP/1.1\r\nHost: x\r\n\r\n",
        "CONNECT / HTTP/1.1\r\nHost: x\r\n\r\n",
        "CONNECT x HTTP/1.1\r\nHost: x\r\n\r\n",
        "CONNECT http://x:443/ HTTP/1.1\r\nHost: x\r\n\r\n",
        "CONNECT u@x:443 HTTP/1.1\r\nHost: x\r\n\r\n",
    ]
    .iter()
    .map(|r| r.as_bytes().to_vec())
    .collect();
    assert_refused(&env, 400, &requests);
    env.server.stop_clean();
}

/// The valid forms still reach the handler: origin-form and absolute-form are mapped to a
/// path (the file, whatever host the URL names: see targets.rs), `*` for OPTIONS and authority-form for
/// CONNECT get the handler's 501, HTTP/0.9 with an origin-form target is served.
fn valid_target_forms_reach_the_handler(rt: &'static str) {
    let env = Env::new(rt);
    let cases: Vec<(Vec<u8>, u16)> = [
        ("GET /a.txt?x=1 HTTP/1.1\r\nHost: x\r\n\r\n", 200),
        (
            "GET http://example.com/a.txt HTTP/1.1\r\nHost: x\r\n\r\n",
            200,
        ),
        ("OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n", 501),
        (
            "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n",
            501,
        ),
    ]
    .iter()
    .map(|(r, code)| (r.as_bytes().to_vec(), *code))
    .collect();
    assert_served(&env, &cases);
    // HTTP/0.9 is answered without a status line, and closes.
    assert_eq!(
        exchange(env.server.addr, b"GET /a.txt\r\n"),
        fixture::A_TXT,
        "HTTP/0.9 with an origin-form target"
    );
    env.server.stop_clean();
}

// ----- chunked bodies -----

/// `GET /a.txt` with a chunked body whose first size line is `line`, one byte of data, the
/// last chunk.
fn chunked(line: &[u8]) -> Vec<u8> {
    let mut request =
        b"GET /a.txt HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
    request.extend_from_slice(line);
    request.extend_from_slice(b"\r\nx\r\n0\r\n\r\n");
    request
}

/// A bad body ends the connection, and nothing behind it is answered. The request's head
/// was valid, so the application may have answered it (200) before the body was found bad;
/// today's handler then drops that answer and closes without a byte, because the core
/// refuses the 400 it tries to queue on top. Any of the three is a refusal; a second
/// response, or a connection left open, is the hole.
fn assert_body_refused(env: &Env, requests: &[Vec<u8>]) {
    let mut failures = Vec::new();
    for request in requests {
        let (raw, parsed) = env.pipeline(request);
        let ok = raw.is_empty()
            || parsed.is_ok_and(|all| {
                all.len() == 1
                    && (all[0].code == 400 || (all[0].code == 200 && all[0].body == fixture::A_TXT))
            });
        if !ok {
            failures.push(format!(
                "request:\n{}\n--- got:\n{}",
                show(request),
                show(&raw)
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} bodies were not refused:\n{}",
        failures.len(),
        requests.len(),
        failures.join("\n=====\n")
    );
}

/// Anything after the chunk size but `BWS ";" chunk-ext`: the reported case is `1 zz junk`,
/// read as size 1 with the junk skipped, after which the pipelined request was answered.
fn junk_after_chunk_size_is_refused(rt: &'static str) {
    let env = Env::new(rt);
    let lines: [&[u8]; 34] = [
        b"1 zz junk",
        b"1zz",
        b"1 z",
        b"1 ",
        b"1\t",
        b"1 1",
        b"1.0",
        b"1_0",
        b"1;",
        b"1; ",
        b"1;;a",
        b"1;=b",
        b"1;a=",
        b"1;a ",
        b"1;a =",
        b"1;a=b ",
        b"1;a=b c",
        b"1;a b",
        b"1;a=b=c",
        b"1;a,b",
        b"1;a@b",
        b"1;a=\"b",
        b"1;a=\"b\"c",
        b"1;a=\"b\" c",
        b"1;a=\"b\\",
        b"1;a=(b)",
        b"1;a=\x80",
        b"1;a\x01",
        b"1;a=b\x7f",
        b"1;a=\"\x00\"",
        b"1;a=\"\\\x01\"",
        b"1;a=\"\x1b[31m\"",
        b"1;\xff",
        b"1;a\x0bb",
    ];
    let requests: Vec<Vec<u8>> = lines.iter().map(|l| chunked(l)).collect();
    assert_body_refused(&env, &requests);
    env.server.stop_clean();
}

/// The size itself: `0x`, signs, leading whitespace, no digits, more than 64 bits.
fn malformed_chunk_size_is_refused(rt: &'static str) {
    let env = Env::new(rt);
    let lines: [&[u8]; 9] = [
        b"0x1",
        b"+1",
        b"-1",
        b" 1",
        b"\t1",
        b"",
        b";a=b",
        b"10000000000000001",
        b"fffffffffffffffff",
    ];
    let requests: Vec<Vec<u8>> = lines.iter().map(|l| chunked(l)).collect();
    assert_body_refused(&env, &requests);
    // An extension longer than the size-line limit (4 KiB).
    let long = format!("1;a={}", "b".repeat(5000));
    assert_body_refused(&env, &[chunked(long.as_bytes())]);
    env.server.stop_clean();
}

/// Every line ending in a chunked body is CRLF, in the trailer section too: a bare LF there
/// once ended a field, and `0\r\n\n` left the server waiting for more trailers.
fn bare_lf_in_chunked_body_is_refused(rt: &'static str) {
    let env = Env::new(rt);
    let head = b"GET /a.txt HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
    let bodies: [&[u8]; 8] = [
        b"1\nx\r\n0\r\n\r\n",
        b"1;a=b\nx\r\n0\r\n\r\n",
        b"1\r\nx\n0\r\n\r\n",
        b"1\rx\r\n0\r\n\r\n",
        b"0\n\r\n",
        b"0\r\nX: 1\nY: 2\r\n\r\n",
        b"0\r\nX: 1\n\r\n",
        b"0\r\n\n",
    ];
    let requests: Vec<Vec<u8>> = bodies.iter().map(|b| [&head[..], b].concat()).collect();
    assert_body_refused(&env, &requests);
    env.server.stop_clean();
}

/// Well-formed size lines and trailers keep the connection: the next request is served.
fn valid_chunk_lines_keep_the_connection(rt: &'static str) {
    let env = Env::new(rt);
    let lines: [&[u8]; 9] = [
        b"1",
        b"0001",
        b"00000000000000000000001",
        b"1;a",
        b"1;a=b",
        b"1 ; a = b ; c",
        b"1\t;\ta\t=\t\"q \\\" ; \x80\"",
        b"1;a=\"\";b=\"\\\\\"",
        b"1;!#$%&'*+-.^_`|~=x",
    ];
    let mut cases: Vec<(Vec<u8>, u16)> = lines.iter().map(|l| (chunked(l), 200)).collect();
    cases.push((
        b"GET /a.txt HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n\
          1\r\nx\r\n0\r\nX-Sum: 1\r\nX-Other: a b\r\n\r\n"
            .to_vec(),
        200,
    ));
    assert_served(&env, &cases);
    env.server.stop_clean();
}

runtime_suite!([
    invalid_host_is_refused,
    missing_or_repeated_host_is_refused,
    valid_host_is_served,
    target_in_no_form_is_refused,
    valid_target_forms_reach_the_handler,
    junk_after_chunk_size_is_refused,
    malformed_chunk_size_is_refused,
    bare_lf_in_chunked_body_is_refused,
    valid_chunk_lines_keep_the_connection,
]);
