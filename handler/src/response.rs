//! `send_response`: the status line plus `Server` and `Date`, which every response starts with.

use std::cell::RefCell;
use std::time::SystemTime;

use bytes::Bytes;
use protocol::ResponseHead;

use crate::Settings;
use crate::recent::Recent;
use crate::time::date_header;

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
    head.headers.append("Server", server_header(settings));
    head.headers.append("Date", date_header(now));
    head
}

/// `version_string()`, kept per thread while the settings name the same versions: one
/// comparison instead of an allocation per response.
fn server_header(settings: &Settings) -> Bytes {
    thread_local! {
        static LAST: RefCell<Recent<(String, String), Bytes>> = const { RefCell::new(Recent::new()) };
    }
    LAST.with(|last| {
        last.borrow_mut().get_or(
            |(server, sys)| *server == settings.server_version && *sys == settings.sys_version,
            || {
                let versions = (
                    settings.server_version.clone(),
                    settings.sys_version.clone(),
                );
                (versions, Bytes::from(settings.version_string()))
            },
        )
    })
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
