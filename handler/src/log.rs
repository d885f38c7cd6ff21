//! The access and error log, formatted as CPython's `log_message` writes it to stderr.
//!
//! The handler only formats; the runtime decides where lines go. A request produces, in order,
//! the plan's [`log_messages`](crate::Plan::log_messages) (CPython's `log_error` calls, such as
//! `code 404, message File not found`) and then [`request_log_message`] (`log_request`, which
//! CPython calls from `send_response`). Each goes through [`format_log_line`].

use std::fmt::Write as _;
use std::net::IpAddr;
use std::time::SystemTime;

use protocol::RequestHead;

use crate::plan::{Plan, PlanBody};
use crate::settings::{LogFormat, Settings};
use crate::time::{common_log_time, push_log_date_time};

/// `log_message`: `<client ip> - - [<local date>] <message>\n`.
///
/// As CPython 3.12+ does (gh-100001), the message has every C0 control, DEL and C1 control
/// replaced by `\xHH` (lower-case hex) and each backslash doubled, so a request cannot write
/// terminal escape sequences into the log. The address and date are not escaped.
pub fn format_log_line(client: IpAddr, time: SystemTime, message: &str) -> String {
    let mut line = String::with_capacity(message.len() + 48);
    push_log_prefix(&mut line, client, time);
    push_log_escaped(&mut line, message);
    line.push('\n');
    line
}

/// `<client ip> - - [<local date>] `: how every line of `log_message` begins.
fn push_log_prefix(out: &mut String, client: IpAddr, time: SystemTime) {
    push_ip(out, client);
    out.push_str(" - - [");
    push_log_date_time(out, time);
    out.push_str("] ");
}

/// Appends `ip` as `Display` writes it; an IPv4 address (every line of a typical log)
/// without the formatting machinery, which costs more than the rest of the line.
fn push_ip(out: &mut String, ip: IpAddr) {
    let IpAddr::V4(v4) = ip else {
        let _ = write!(out, "{ip}");
        return;
    };
    for (i, octet) in v4.octets().into_iter().enumerate() {
        if i > 0 {
            out.push('.');
        }
        push_decimal(out, octet.into());
    }
}

/// Appends `n` (below 1000) in decimal.
fn push_decimal(out: &mut String, n: u16) {
    debug_assert!(n < 1000, "{n} has more than three digits");
    let digit = |d: u16| char::from(b'0' + (d % 10) as u8);
    if n >= 100 {
        out.push(digit(n / 100));
    }
    if n >= 10 {
        out.push(digit(n / 10));
    }
    out.push(digit(n));
}

/// Appends `message` with CPython's log escaping (`_control_char_table`).
pub fn push_log_escaped(out: &mut String, message: &str) {
    for c in message.chars() {
        match u32::from(c) {
            cp @ (0..=0x1F | 0x7F..=0x9F) => {
                let _ = write!(out, "\\x{cp:02x}");
            }
            0x5C => out.push_str("\\\\"),
            _ => out.push(c),
        }
    }
}

/// [`push_log_escaped`] of `bytes` decoded as latin-1 (how CPython reads a request line),
/// runs of printable ASCII copied whole.
fn push_latin1_log_escaped(out: &mut String, bytes: &[u8]) {
    let mut rest = bytes;
    loop {
        let plain = rest
            .iter()
            .position(|&b| !(0x20..0x7F).contains(&b) || b == b'\\')
            .unwrap_or(rest.len());
        let (run, tail) = rest.split_at(plain);
        // Printable ASCII: always UTF-8.
        out.push_str(std::str::from_utf8(run).unwrap_or_default());
        let Some((&b, tail)) = tail.split_first() else {
            return;
        };
        match b {
            b'\\' => out.push_str("\\\\"),
            0..=0x1F | 0x7F..=0x9F => {
                let _ = write!(out, "\\x{b:02x}");
            }
            _ => out.push(char::from(b)),
        }
        rest = tail;
    }
}

/// `log_request(code)`: `"<request line>" <code> -` (the size is always `-`, as in CPython).
/// The raw request line is latin-1 decoded; it is empty after a 414.
pub fn request_log_message(request_line: &[u8], code: u16) -> String {
    let mut s = String::with_capacity(request_line.len() + 10);
    s.push('"');
    s.extend(request_line.iter().map(|&b| char::from(b)));
    let _ = write!(s, "\" {code} -");
    s
}

/// Every line a planned response logs, appended to `text`: the plan's own messages, then the
/// access line in the format of [`Settings::log_format`] (none when [`Settings::quiet`]).
/// `head` is the request, when one was parsed (the combined format logs its `Referer` and
/// `User-Agent`); `request_line` is what CPython logs (empty after a 414). Appended, so a
/// server logging every request reuses one buffer.
pub fn access_log(
    text: &mut String,
    settings: &Settings,
    client: IpAddr,
    time: SystemTime,
    request_line: &[u8],
    head: Option<&RequestHead>,
    plan: &Plan,
) {
    for message in &plan.log_messages {
        text.push_str(&format_log_line(client, time, message));
    }
    if settings.quiet {
        return;
    }
    if settings.log_format == LogFormat::Combined {
        let header = |name: &str| head.and_then(|h| h.headers().get(name));
        let bytes = match &plan.body {
            PlanBody::Empty => Some(0),
            PlanBody::Bytes(bytes) => Some(bytes.len() as u64),
            PlanBody::File { len, .. } => Some(*len),
            PlanBody::Parts { parts, .. } => Some(parts.iter().map(crate::Part::len).sum()),
            _ => None,
        };
        text.push_str(&combined_log_line(
            client,
            time,
            request_line,
            plan.head.status,
            bytes,
            [header("Referer"), header("User-Agent")],
        ));
    } else {
        // `format_log_line(request_log_message(..))`, written in place.
        text.reserve(request_line.len() + 64);
        push_log_prefix(text, client, time);
        text.push('"');
        push_latin1_log_escaped(text, request_line);
        text.push_str("\" ");
        // `validate` holds every status sent to three digits; a plan's may be anything.
        match plan.head.status {
            status @ 100..1000 => push_decimal(text, status),
            status => {
                let _ = write!(text, "{status}");
            }
        }
        text.push_str(" -\n");
    }
}

/// One line of the Combined Log Format (nginx's `combined`):
/// `$remote_addr - - [$time_local] "$request" $status $body_bytes_sent "$http_referer"
/// "$http_user_agent"`. `bytes` is `None` when the size is not known (`-`); a missing header
/// of `[referer, user_agent]` is `-`, as nginx writes it. As nginx does, `"`, `\` and bytes
/// outside printable ASCII are written `\xHH`.
pub fn combined_log_line(
    client: IpAddr,
    time: SystemTime,
    request_line: &[u8],
    status: u16,
    bytes: Option<u64>,
    [referer, user_agent]: [Option<&[u8]>; 2],
) -> String {
    let mut out = String::with_capacity(request_line.len() + 120);
    let _ = write!(out, "{client} - - [{}] \"", common_log_time(time));
    push_combined_escaped(&mut out, request_line);
    let _ = write!(out, "\" {status} ");
    match bytes {
        Some(n) => {
            let _ = write!(out, "{n}");
        }
        None => out.push('-'),
    }
    for value in [referer, user_agent] {
        out.push_str(" \"");
        push_combined_escaped(&mut out, value.unwrap_or(b"-"));
        out.push('"');
    }
    out.push('\n');
    out
}

fn push_combined_escaped(out: &mut String, bytes: &[u8]) {
    for &b in bytes {
        if (0x20..0x7F).contains(&b) && b != b'"' && b != b'\\' {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "\\x{b:02X}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    #[test]
    fn addresses_and_numbers_are_written_as_display_writes_them() {
        for ip in [
            "0.0.0.0",
            "255.255.255.255",
            "10.0.100.7",
            "192.168.1.10",
            "::1",
            "::ffff:1.2.3.4",
            "fe80::1",
        ] {
            let ip: IpAddr = ip.parse().unwrap();
            let mut s = String::new();
            push_ip(&mut s, ip);
            assert_eq!(s, ip.to_string());
        }
        for n in 0..1000 {
            let mut s = String::new();
            push_decimal(&mut s, n);
            assert_eq!(s, n.to_string());
        }
    }

    #[test]
    fn escapes_like_cpython() {
        // test_unprintable_not_logged: ESC, NUL, DEL and C1 escaped, NBSP kept, backslash doubled.
        let mut s = String::new();
        push_log_escaped(&mut s, "a\x1b[31m\x00\x7f\u{9f}\u{a0}\\z");
        assert_eq!(s, "a\\x1b[31m\\x00\\x7f\\x9f\u{a0}\\\\z");
    }

    #[test]
    fn request_line_is_latin1() {
        let msg = request_log_message(b"GET /\x1b[31m\x07\\\xe9 HTTP/1.0", 404);
        let mut s = String::new();
        push_log_escaped(&mut s, &msg);
        assert_eq!(s, "\"GET /\\x1b[31m\\x07\\\\\u{e9} HTTP/1.0\" 404 -");
    }

    proptest::proptest! {
        #[test]
        fn the_request_line_escaped_in_place_is_the_message_escaped(
            line in proptest::collection::vec(proptest::num::u8::ANY, 0..80),
        ) {
            let mut fast = String::new();
            push_latin1_log_escaped(&mut fast, &line);
            let mut slow = String::new();
            push_log_escaped(&mut slow, &request_log_message(&line, 200));
            proptest::prop_assert_eq!(format!("\"{fast}\" 200 -"), slow);
        }
    }

    #[test]
    fn whole_line() {
        let line = format_log_line(
            IpAddr::V4(Ipv4Addr::LOCALHOST),
            SystemTime::UNIX_EPOCH,
            "code 404, message File not found",
        );
        assert!(line.starts_with("127.0.0.1 - - ["));
        assert!(line.ends_with("] code 404, message File not found\n"));
    }

    #[test]
    fn combined_format() {
        let line = combined_log_line(
            IpAddr::V4(Ipv4Addr::LOCALHOST),
            SystemTime::UNIX_EPOCH,
            b"GET /a\"b\x1b\xff HTTP/1.1",
            200,
            Some(6),
            [None, Some(b"curl/8 \\x")],
        );
        let (start, rest) = line.split_once(" [").unwrap();
        assert_eq!(start, "127.0.0.1 - -");
        let (time, rest) = rest.split_once("] ").unwrap();
        assert_eq!(time.len(), "01/Jan/1970:00:00:00 +0000".len(), "{time}");
        assert!(time.starts_with("01/Jan/1970:") || time.starts_with("31/Dec/1969:"));
        assert_eq!(
            rest,
            "\"GET /a\\x22b\\x1B\\xFF HTTP/1.1\" 200 6 \"-\" \"curl/8 \\x5Cx\"\n"
        );
        let line = combined_log_line(
            IpAddr::V4(Ipv4Addr::LOCALHOST),
            SystemTime::UNIX_EPOCH,
            b"",
            414,
            None,
            [Some(b"http://r/"), None],
        );
        assert!(
            line.ends_with("] \"\" 414 - \"http://r/\" \"-\"\n"),
            "{line}"
        );
    }
}
