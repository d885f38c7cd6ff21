//! `send_response`: the status line plus `Server` and `Date`, which every response starts with.

use std::time::SystemTime;

use bytes::Bytes;
use protocol::ResponseHead;

use crate::Settings;
use crate::time::date_time_string;

/// A head as CPython's `send_response(code, message)` begins it: status (with a custom reason
/// phrase if given), then `Server: <version_string>` and `Date: <now>`, in that order.
pub fn response_head(
    settings: &Settings,
    code: u16,
    reason: Option<Bytes>,
    now: SystemTime,
) -> ResponseHead {
    let mut head = ResponseHead::new(code);
    head.reason = reason;
    // Room for the largest standard head (a file: five fields) plus a few extra headers.
    head.headers = protocol::Headers::with_capacity(8);
    head.headers.append("Server", settings.version_string());
    head.headers.append("Date", date_time_string(now));
    head
}

/// Appends `extra_headers` (3.15's `extra_response_headers`), skipping any whose name one of
/// the standard headers of this response already has, so they can never override those.
/// Duplicates among the extra headers themselves are all sent, as in CPython.
pub(crate) fn append_extra_headers(settings: &Settings, head: &mut ResponseHead) {
    let standard = head.headers.len();
    for (name, value) in &settings.extra_headers {
        let taken = head
            .headers
            .iter()
            .take(standard)
            .any(|f| f.name().eq_ignore_ascii_case(name.as_bytes()));
        if !taken {
            head.headers.append(
                crate::pystr::latin1_encode_lossy(name.as_bytes()),
                crate::pystr::latin1_encode_lossy(value.as_bytes()),
            );
        }
    }
}
