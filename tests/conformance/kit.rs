//! The teaching, fuzzing and differential kit: `--trace` (each connection's bytes, events and
//! states on stderr) and `--echo` (every request answered with how it was parsed, as HTTP
//! Garden's echo origins answer), on every runtime.

use crate::common::{self, Conn, request, show};
use crate::support::Env;

/// Waits for `needle` on the server's stderr; fails with the whole of it.
fn assert_stderr(env: &Env, needle: &str) {
    assert!(
        env.server.wait_stderr(needle.as_bytes()),
        "{needle:?} not on stderr:\n{}",
        env.server.stderr()
    );
}

fn trace_shows_bytes_events_and_status(rt: &'static str) {
    let env = Env::new(rt, &["--trace"]);
    let response = request(env.addr(), b"GET /a.txt HTTP/1.0\r\nHost: x\r\n\r\n");
    assert_eq!(response.code, 200);
    // The request's bytes, CR and LF visible, one wire line per trace line.
    assert_stderr(&env, "     GET /a.txt HTTP/1.0\\r\\n\n");
    assert_stderr(&env, "     Host: x\\r\\n\n");
    // The core's event, then the status line as it went out.
    assert_stderr(
        &env,
        "event Request GET /a.txt HTTP/1.0 framing=none keep-alive=false\n",
    );
    assert_stderr(&env, "     HTTP/1.0 200 OK\\r\\n\n");
    // The file body is a span the runtime sent itself.
    assert_stderr(&env, "-> [sendfile ");
    assert_stderr(&env, "state closed\n");
    let stderr = env.server.stderr();
    // Every trace line names the peer and the time since the connection began.
    let traced: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("[127.0.0.1:"))
        .collect();
    assert!(traced.len() > 8, "trace lines:\n{stderr}");
    let stamped = traced
        .iter()
        .filter_map(|l| l.split_once("] +").map(|(_, rest)| rest))
        .filter(|rest| {
            rest.split_once("s ")
                .is_some_and(|(secs, _)| secs.parse::<f64>().is_ok() && secs.contains('.'))
        })
        .count();
    assert!(stamped > 4, "time stamps in:\n{stderr}");
    // The access line is still there, as without --trace.
    assert!(
        stderr.contains("\"GET /a.txt HTTP/1.0\" 200 -"),
        "access line in:\n{stderr}"
    );
    env.finish();
}

fn trace_shows_request_errors(rt: &'static str) {
    let env = Env::new(rt, &["--trace"]);
    let raw = common::exchange(env.addr(), b"GET /\x01 HTTP/1.0\r\n\r\n");
    assert!(raw.starts_with(b"HTTP/1.0 400 "), "{}", show(&raw));
    assert_stderr(&env, "     GET /\\x01 HTTP/1.0\\r\\n\n");
    assert_stderr(&env, "event RequestError 400 ");
    assert_stderr(&env, "     HTTP/1.0 400 ");
    env.finish();
}

/// Standard base64, padded (what the echo origin sends).
fn unbase64(text: &str) -> Vec<u8> {
    let value = |c: u8| -> u32 {
        match c {
            b'A'..=b'Z' => u32::from(c - b'A'),
            b'a'..=b'z' => u32::from(c - b'a') + 26,
            b'0'..=b'9' => u32::from(c - b'0') + 52,
            b'+' => 62,
            b'/' => 63,
            _ => panic!("not base64: {text:?}"),
        }
    };
    assert_eq!(text.len() % 4, 0, "unpadded base64: {text:?}");
    let mut out = Vec::new();
    for quad in text.as_bytes().chunks(4) {
        let pad = quad.iter().rev().take_while(|&&c| c == b'=').count();
        let n = quad
            .iter()
            .map(|&c| if c == b'=' { 0 } else { value(c) })
            .fold(0, |n, v| n << 6 | v);
        let bytes = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        out.extend_from_slice(&bytes[..3 - pad]);
    }
    out
}

fn field(json: &serde_json::Value, name: &str) -> Vec<u8> {
    unbase64(
        json[name]
            .as_str()
            .unwrap_or_else(|| panic!("no {name} in {json}")),
    )
}

fn echo(rt: &'static str, raw_request: &[u8]) -> (common::Response, serde_json::Value) {
    let env = Env::new(rt, &["--echo", "-p", "HTTP/1.1"]);
    let mut conn = Conn::open(env.addr());
    conn.send(raw_request);
    let response = conn.read_response(raw_request.starts_with(b"HEAD "));
    drop(conn);
    env.finish();
    let json = if response.code == 200 && !response.body.is_empty() {
        serde_json::from_slice(&response.body)
            .unwrap_or_else(|e| panic!("{e}: {}", show(&response.body)))
    } else {
        serde_json::Value::Null
    };
    (response, json)
}

fn echo_describes_the_parsed_request(rt: &'static str) {
    let (response, json) = echo(
        rt,
        b"POST /up?x=1%20 HTTP/1.1\r\nHost: example\r\nTransfer-Encoding: chunked\r\n\
          X-Two:  spaced value \r\nx-two: again\r\n\r\n3\r\nabc\r\n2;ext=1\r\nde\r\n0\r\n\r\n",
    );
    assert_eq!(response.code, 200, "{}", response.describe());
    assert_eq!(response.header("Content-Type"), Some("application/json"));
    assert_eq!(
        response.header("Content-Length"),
        Some(response.body.len().to_string().as_str())
    );
    assert_eq!(field(&json, "method"), b"POST");
    assert_eq!(field(&json, "uri"), b"/up?x=1%20");
    assert_eq!(field(&json, "version"), b"HTTP/1.1");
    // The chunked body, decoded.
    assert_eq!(field(&json, "body"), b"abcde");
    let headers: Vec<(Vec<u8>, Vec<u8>)> = json["headers"]
        .as_array()
        .unwrap_or_else(|| panic!("no headers in {json}"))
        .iter()
        .map(|pair| {
            let pair = pair.as_array().unwrap_or_else(|| panic!("{pair}"));
            assert_eq!(pair.len(), 2, "{pair:?}");
            (
                unbase64(pair[0].as_str().unwrap()),
                unbase64(pair[1].as_str().unwrap()),
            )
        })
        .collect();
    let expected: [(&[u8], &[u8]); 4] = [
        (b"Host", b"example"),
        (b"Transfer-Encoding", b"chunked"),
        (b"X-Two", b"spaced value"),
        (b"x-two", b"again"),
    ];
    let expected: Vec<(Vec<u8>, Vec<u8>)> = expected
        .iter()
        .map(|(n, v)| (n.to_vec(), v.to_vec()))
        .collect();
    assert_eq!(headers, expected, "in wire order, names as sent");
}

fn echo_answers_every_method(rt: &'static str) {
    let (response, json) = echo(rt, b"FROB /thing HTTP/1.1\r\nHost: h\r\n\r\n");
    assert_eq!(response.code, 200, "{}", response.describe());
    assert_eq!(field(&json, "method"), b"FROB");
    assert_eq!(field(&json, "uri"), b"/thing");
    assert_eq!(field(&json, "body"), b"");
}

fn echo_caps_the_body(rt: &'static str) {
    let size = 1024 * 1024 + 1;
    let mut raw =
        format!("PUT /big HTTP/1.1\r\nHost: h\r\nContent-Length: {size}\r\n\r\n").into_bytes();
    raw.resize(raw.len() + size, b'x');
    let (response, _) = echo(rt, &raw);
    assert_eq!(response.code, 413, "{}", response.describe());
}

fn echo_head_has_no_body(rt: &'static str) {
    let (response, _) = echo(rt, b"HEAD /h HTTP/1.1\r\nHost: h\r\n\r\n");
    assert_eq!(response.code, 200, "{}", response.describe());
    assert_eq!(response.header("Content-Type"), Some("application/json"));
    assert!(response.body.is_empty());
}

fn echo_rejection_is_not_200(rt: &'static str) {
    // Content-Length with Transfer-Encoding: the core refuses it before any handler runs.
    let (response, _) = echo(
        rt,
        b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    );
    assert_eq!(response.code, 400, "{}", response.describe());
}

fn echo_bad_body_is_400(rt: &'static str) {
    // The head is fine, the chunk-size line is not: the handler has started reading the body
    // when the core refuses it, and says so with a 400 rather than a bare close.
    let (response, _) = echo(
        rt,
        b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5 zz\r\nhello\r\n0\r\n\r\n",
    );
    assert_eq!(response.code, 400, "{}", response.describe());
    assert!(
        response.reason.starts_with("Bad request body: "),
        "{}",
        response.describe()
    );
    assert_eq!(response.header("Connection"), Some("close"));
}

runtime_suite!([
    trace_shows_bytes_events_and_status,
    trace_shows_request_errors,
    echo_describes_the_parsed_request,
    echo_answers_every_method,
    echo_caps_the_body,
    echo_head_has_no_body,
    echo_rejection_is_not_200,
    echo_bad_body_is_400,
]);
