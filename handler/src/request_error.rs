//! Replies to requests the protocol core refused: CPython's message for each request-line and
//! header error, and CPython-style messages for the framing errors CPython never detects.

use std::time::SystemTime;

use protocol::RequestError;

use crate::Settings;
use crate::error_page::send_error;
use crate::plan::Plan;
use crate::pystr::{latin1, repr};

/// The error reply for a [`RequestError`], as CPython's `parse_request`/`handle_one_request`
/// words it (`Bad request version ('HTTP/1.1.1')`, `Invalid HTTP version (2.0)`, ...).
///
/// The status is [`RequestError::status_hint`]. Request-line bytes are latin-1 decoded for the
/// message; the status line carries them latin-1, the page UTF-8 and HTML-escaped.
pub fn plan_request_error(settings: &Settings, error: &RequestError, now: SystemTime) -> Plan {
    let code = error.status_hint();
    let (message, explain): (Option<String>, Option<&str>) = match error {
        RequestError::BadRequestSyntax { line } => (
            Some(format!("Bad request syntax ({})", repr(&latin1(line)))),
            None,
        ),
        RequestError::BadVersion { token } => (
            Some(format!("Bad request version ({})", repr(&latin1(token)))),
            None,
        ),
        RequestError::UnsupportedVersion { token } => {
            let number = token
                .iter()
                .position(|&b| b == b'/')
                .map_or(&token[..], |i| &token[i + 1..]);
            let number = String::from_utf8_lossy(&latin1(number)).into_owned();
            (Some(format!("Invalid HTTP version ({number})")), None)
        }
        RequestError::BadHttp09Method { method } => (
            Some(format!(
                "Bad HTTP/0.9 request type ({})",
                repr(&latin1(method))
            )),
            None,
        ),
        RequestError::HeaderLineTooLong => (
            Some("Line too long".into()),
            Some("got more than 65536 bytes when reading header line"),
        ),
        RequestError::TooManyHeaders => (
            Some("Too many headers".into()),
            Some("got more than 100 headers"),
        ),
        RequestError::HeadTooLarge => (
            Some("Header block too large".into()),
            Some("The header lines together are longer than the server accepts"),
        ),
        RequestError::InvalidHeader => (
            Some("Bad header line".into()),
            Some(
                "A header line is malformed (no colon, space before the colon, a folded line or a control character)",
            ),
        ),
        RequestError::BadHost => (
            Some("Bad Host header".into()),
            Some("An HTTP/1.1 request must carry exactly one Host header"),
        ),
        RequestError::InvalidHost => (
            Some("Bad Host header".into()),
            Some("The Host header must be a host name or address, and an optional port"),
        ),
        RequestError::InvalidContentLength => (
            Some("Bad Content-Length".into()),
            Some("Content-Length must be one decimal number"),
        ),
        RequestError::ConflictingFraming => (
            Some("Ambiguous request framing".into()),
            Some("Transfer-Encoding cannot be combined with Content-Length or used in HTTP/1.0"),
        ),
        RequestError::UnsupportedTransferCoding => (
            Some("Unsupported transfer coding".into()),
            Some("Only a final chunked transfer coding is supported"),
        ),
        RequestError::BadChunk => (Some("Bad chunked body".into()), None),
        RequestError::ChunkTooLarge => (Some("Chunk line or trailers too long".into()), None),
        RequestError::UnexpectedEof => (
            Some("Incomplete request".into()),
            Some("The connection closed in the middle of the request"),
        ),
        // 414, timeouts, and variants added later: the standard phrase and description.
        _ => (None, None),
    };
    let mut plan = send_error(settings, code, message.as_deref(), explain, false, now);
    if let RequestError::Timeout(kind) = error {
        // CPython logs this (and sends nothing, as it only notices when a read fails).
        plan.log_messages.insert(
            0,
            format!("Request timed out: TimeoutError('{kind} timed out')"),
        );
    }
    plan
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use protocol::TimeoutKind;

    fn reason(e: &RequestError) -> (u16, String) {
        let plan = plan_request_error(&Settings::new("/"), e, SystemTime::UNIX_EPOCH);
        (
            plan.head.status,
            String::from_utf8(plan.head.reason.unwrap().to_vec()).unwrap(),
        )
    }

    #[test]
    fn cpython_messages() {
        let b = |s: &'static [u8]| Bytes::from_static(s);
        assert_eq!(
            reason(&RequestError::BadVersion {
                token: b(b"HTTP/1.1.1")
            }),
            (400, "Bad request version ('HTTP/1.1.1')".into())
        );
        assert_eq!(
            reason(&RequestError::BadRequestSyntax {
                line: b(b"GET /a b HTTP/1.0")
            }),
            (400, "Bad request syntax ('GET /a b HTTP/1.0')".into())
        );
        assert_eq!(
            reason(&RequestError::BadHttp09Method { method: b(b"POST") }),
            (400, "Bad HTTP/0.9 request type ('POST')".into())
        );
        assert_eq!(
            reason(&RequestError::UnsupportedVersion {
                token: b(b"HTTP/2.0")
            }),
            (505, "Invalid HTTP version (2.0)".into())
        );
        assert_eq!(
            reason(&RequestError::RequestLineTooLong),
            (414, "URI Too Long".into())
        );
        assert_eq!(
            reason(&RequestError::HeaderLineTooLong),
            (431, "Line too long".into())
        );
        assert_eq!(
            reason(&RequestError::TooManyHeaders),
            (431, "Too many headers".into())
        );
        assert_eq!(
            reason(&RequestError::Timeout(TimeoutKind::HeaderRead)),
            (408, "Request Timeout".into())
        );
        // Latin-1 in the status line, repr escapes for controls.
        let plan = plan_request_error(
            &Settings::new("/"),
            &RequestError::BadVersion {
                token: b(b"\xe9\x01'"),
            },
            SystemTime::UNIX_EPOCH,
        );
        assert_eq!(
            plan.head.reason.as_deref(),
            Some(&b"Bad request version (\"\xe9\\x01'\")"[..])
        );
    }
}
