//! Logging: the access and error lines on stderr, with control characters escaped.

use crate::common::{self, exchange, get, show};
use crate::support::Env;

/// `127.0.0.1 - - [DD/Mon/YYYY HH:MM:SS] MESSAGE`
fn is_log_line(line: &[u8], message: &[u8]) -> bool {
    let Some(rest) = line.strip_prefix(b"127.0.0.1 - - [") else {
        return false;
    };
    if rest.len() < 22 || &rest[20..22] != b"] " {
        return false;
    }
    let date = &rest[..20];
    let digits = |r: std::ops::Range<usize>| date[r].iter().all(u8::is_ascii_digit);
    digits(0..2)
        && date[2] == b'/'
        && date[6] == b'/'
        && digits(7..11)
        && date[11] == b' '
        && digits(12..14)
        && &rest[22..] == message
}

fn access_log(rt: &'static str) {
    let env = Env::new(rt, &[]);
    get(env.addr(), "/a.txt");
    get(env.addr(), "/nope");
    assert!(
        env.server.wait_stderr(b"\"GET /nope HTTP/1.0\" 404 -"),
        "stderr: {}",
        env.server.stderr()
    );
    let stderr = env.server.stderr_bytes();
    let lines = common::lines(&stderr);
    let has = |message: &[u8]| lines.iter().any(|l| is_log_line(l, message));
    assert!(
        has(b"\"GET /a.txt HTTP/1.0\" 200 -"),
        "access line for /a.txt in:\n{}",
        show(&stderr)
    );
    assert!(
        has(b"code 404, message File not found"),
        "error line in:\n{}",
        show(&stderr)
    );
    let i = lines
        .iter()
        .position(|l| is_log_line(l, b"code 404, message File not found"))
        .unwrap();
    assert!(
        is_log_line(&lines[i + 1], b"\"GET /nope HTTP/1.0\" 404 -"),
        "error line then access line:\n{}",
        show(&stderr)
    );
    env.finish();
}

fn access_log_escapes_control_chars(rt: &'static str) {
    let env = Env::new(rt, &[]);
    exchange(env.addr(), b"GET /\x1b[31m\x07\\ HTTP/1.0\r\n\r\n");
    exchange(env.addr(), b"GET /x\x7fy\x9fz\x01 HTTP/1.0\r\n\r\n");
    exchange(env.addr(), b"GET /a.txt\x1b]0;title\x07 HTTP/1.0\r\n\r\n");
    let expected: [&[u8]; 3] = [
        br#""GET /\x1b[31m\x07\\ HTTP/1.0""#,
        br#""GET /x\x7fy\x9fz\x01 HTTP/1.0""#,
        br#""GET /a.txt\x1b]0;title\x07 HTTP/1.0""#,
    ];
    for e in expected {
        assert!(
            env.server.wait_stderr(e),
            "want {} in stderr:\n{}",
            show(e),
            show(&env.server.stderr_bytes())
        );
    }
    let stderr = env.server.stderr_bytes();
    for raw in [0x1b_u8, 0x07, 0x7f, 0x01] {
        assert!(
            !stderr.contains(&raw),
            "raw control byte {raw:#04x} on stderr:\n{}",
            show(&stderr)
        );
    }
    env.finish();
}

runtime_suite!([access_log, access_log_escapes_control_chars,]);
