//! The access and error log, formatted as CPython's `log_message` writes it to stderr.
//!
//! The handler only formats; the runtime decides where lines go. A request produces, in order,
//! the plan's [`log_messages`](crate::Plan::log_messages) (CPython's `log_error` calls, such as
//! `code 404, message File not found`) and then [`request_log_message`] (`log_request`, which
//! CPython calls from `send_response`). Each goes through [`format_log_line`].

use std::fmt::Write as _;
use std::net::IpAddr;
use std::time::SystemTime;

use crate::time::log_date_time_string;

/// `log_message`: `<client ip> - - [<local date>] <message>\n`.
///
/// As CPython 3.12+ does (gh-100001), the message has every C0 control, DEL and C1 control
/// replaced by `\xHH` (lower-case hex) and each backslash doubled, so a request cannot write
/// terminal escape sequences into the log. The address and date are not escaped.
pub fn format_log_line(client: IpAddr, time: SystemTime, message: &str) -> String {
    let mut line = String::with_capacity(message.len() + 48);
    let _ = write!(line, "{client} - - [{}] ", log_date_time_string(time));
    push_log_escaped(&mut line, message);
    line.push('\n');
    line
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

/// `log_request(code)`: `"<request line>" <code> -` (the size is always `-`, as in CPython).
/// The raw request line is latin-1 decoded; it is empty after a 414.
pub fn request_log_message(request_line: &[u8], code: u16) -> String {
    let mut s = String::with_capacity(request_line.len() + 10);
    s.push('"');
    s.extend(request_line.iter().map(|&b| char::from(b)));
    let _ = write!(s, "\" {code} -");
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

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
}
