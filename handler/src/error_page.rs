//! `send_error`: CPython's error response, head and HTML page.

use std::time::SystemTime;

use bytes::Bytes;

use crate::Settings;
use crate::plan::{Plan, PlanBody};
use crate::pystr::{latin1_encode_lossy, push_html_escaped};
use crate::response::response_head;

/// Builds the reply CPython's `send_error(code, message, explain)` sends.
///
/// `message` defaults to the standard reason phrase (`???` for unknown codes) and becomes the
/// reason phrase of the status line; `explain` defaults to the status description. Headers:
/// `Server`, `Date`, `Connection: close`, then (unless the code is 1xx, 204, 205 or 304)
/// `Content-Type: <error_content_type>` and `Content-Length`. The page is
/// `error_message_format` with message and explanation HTML-escaped. A `HEAD` request
/// (`head_request`) gets the same head and no body. The plan logs `code N, message M`.
pub fn send_error(
    settings: &Settings,
    code: u16,
    message: Option<&str>,
    explain: Option<&str>,
    head_request: bool,
    now: SystemTime,
) -> Plan {
    let message = message
        .or_else(|| protocol::status::reason_phrase(code))
        .unwrap_or("???");
    let explain = explain
        .or_else(|| protocol::status::description(code))
        .unwrap_or("???");
    let reason = Bytes::from(latin1_encode_lossy(message.as_bytes()));
    let mut head = response_head(settings, code, Some(reason), now);
    head.headers.append("Connection", "close");
    let mut body = PlanBody::Empty;
    if code >= 200 && !matches!(code, 204 | 205 | 304) {
        let page = render_error_page(&settings.error_message_format, code, message, explain);
        head.headers
            .append("Content-Type", settings.error_content_type.clone());
        head.headers
            .append("Content-Length", page.len().to_string());
        if !head_request && !page.is_empty() {
            body = PlanBody::Bytes(Bytes::from(page));
        }
    }
    Plan {
        head,
        body,
        log_messages: vec![format!("code {code}, message {message}")],
    }
}

/// `error_message_format % {'code': ..., 'message': escaped, 'explain': escaped}`.
///
/// Supports what a `%`-template with a mapping can say about these keys: `%(key)s`, `%(key)d`,
/// `%(key)i` and `%%`. Anything else is copied as it is (CPython would raise instead).
pub(crate) fn render_error_page(
    template: &str,
    code: u16,
    message: &str,
    explain: &str,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(template.len() + message.len() + explain.len());
    let t = template.as_bytes();
    let mut i = 0;
    while i < t.len() {
        let Some(off) = t[i..].iter().position(|&b| b == b'%') else {
            out.extend_from_slice(&t[i..]);
            break;
        };
        out.extend_from_slice(&t[i..i + off]);
        i += off;
        if t.get(i + 1) == Some(&b'%') {
            out.push(b'%');
            i += 2;
            continue;
        }
        if let Some(len) = substitute(&t[i..], code, message, explain, &mut out) {
            i += len;
        } else {
            out.push(b'%');
            i += 1;
        }
    }
    out
}

/// Expands one `%(key)c` at the start of `t`; returns its length, or `None` if it is not one.
fn substitute(
    t: &[u8],
    code: u16,
    message: &str,
    explain: &str,
    out: &mut Vec<u8>,
) -> Option<usize> {
    let rest = t.strip_prefix(b"%(")?;
    let close = rest.iter().position(|&b| b == b')')?;
    let key = &rest[..close];
    let conv = *rest.get(close + 1)?;
    match (key, conv) {
        (b"code", b's' | b'd' | b'i') => out.extend_from_slice(code.to_string().as_bytes()),
        (b"message", b's') => push_html_escaped(out, message.as_bytes()),
        (b"explain", b's') => push_html_escaped(out, explain.as_bytes()),
        _ => return None,
    }
    Some(2 + close + 2)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    fn settings() -> Settings {
        let mut s = Settings::new("/srv");
        s.sys_version = "Python/3.14.2".into();
        s
    }

    fn now() -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(784_111_777)
    }

    #[test]
    fn not_found_page_is_cpythons() {
        let plan = send_error(&settings(), 404, Some("File not found"), None, false, now());
        let expected = include_bytes!("../tests/golden/error_404.html");
        let PlanBody::Bytes(body) = &plan.body else {
            panic!("no body")
        };
        assert_eq!(&body[..], &expected[..]);
        assert_eq!(body.len(), 460);
        let names: Vec<_> = plan
            .head
            .headers
            .iter()
            .map(|f| f.name().to_vec())
            .collect();
        assert_eq!(
            names,
            [
                &b"Server"[..],
                b"Date",
                b"Connection",
                b"Content-Type",
                b"Content-Length"
            ]
        );
        assert_eq!(plan.head.headers.get("Content-Length"), Some(&b"460"[..]));
        assert_eq!(
            plan.head.headers.get("Server"),
            Some(&b"SimpleHTTP/0.6 Python/3.14.2"[..])
        );
        assert_eq!(
            plan.head.headers.get("Date"),
            Some(&b"Sun, 06 Nov 1994 08:49:37 GMT"[..])
        );
        assert_eq!(plan.head.reason.as_deref(), Some(&b"File not found"[..]));
        assert_eq!(plan.log_messages, ["code 404, message File not found"]);
    }

    #[test]
    fn escapes_message_but_not_quotes() {
        let plan = send_error(
            &settings(),
            501,
            Some("Unsupported method ('<script>alert(\"x\")</script>')"),
            None,
            false,
            now(),
        );
        let PlanBody::Bytes(body) = &plan.body else {
            panic!()
        };
        let body = std::str::from_utf8(body).unwrap();
        assert!(body.contains(
            "Message: Unsupported method ('&lt;script&gt;alert(\"x\")&lt;/script&gt;')."
        ));
        assert!(
            body.contains("Error code explanation: 501 - Server does not support this operation.")
        );
    }

    #[test]
    fn no_body_codes_and_head() {
        for code in [100, 101, 204, 205, 304] {
            let plan = send_error(&settings(), code, None, None, false, now());
            assert!(matches!(plan.body, PlanBody::Empty));
            assert!(!plan.head.headers.contains("Content-Length"));
            assert!(!plan.head.headers.contains("Content-Type"));
        }
        let plan = send_error(&settings(), 200, None, None, true, now());
        assert!(matches!(plan.body, PlanBody::Empty));
        assert!(plan.head.headers.contains("Content-Length"));
        assert_eq!(
            plan.head.headers.get("Content-Type"),
            Some(&b"text/html;charset=utf-8"[..])
        );
    }

    #[test]
    fn unknown_code() {
        let plan = send_error(&settings(), 999, None, None, false, now());
        assert_eq!(plan.head.reason.as_deref(), Some(&b"???"[..]));
        let PlanBody::Bytes(body) = &plan.body else {
            panic!()
        };
        assert!(
            std::str::from_utf8(body)
                .unwrap()
                .contains("<p>Message: ???.</p>")
        );
    }

    #[test]
    fn non_latin1_reason_is_replaced_in_status_line_only() {
        let plan = send_error(
            &settings(),
            404,
            Some("No such CGI script ('/cgi-bin/€')"),
            None,
            false,
            now(),
        );
        assert_eq!(
            plan.head.reason.as_deref(),
            Some(&b"No such CGI script ('/cgi-bin/?')"[..])
        );
        let PlanBody::Bytes(body) = &plan.body else {
            panic!()
        };
        assert!(std::str::from_utf8(body).unwrap().contains("/cgi-bin/€"));
    }

    #[test]
    fn template_rendering() {
        assert_eq!(
            render_error_page("%(code)d %% %(nope)s %", 7, "m", "e"),
            b"7 % %(nope)s %"
        );
    }
}
