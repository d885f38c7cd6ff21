//! Standard status codes: reason phrases and one-line descriptions.
//!
//! The texts are CPython 3.14's `http.HTTPStatus` table, so a status line or an error page built
//! from them matches what `http.server` sends.

/// `(code, reason phrase, description)`, sorted by code.
const TABLE: &[(u16, &str, &str)] = &[
    (100, "Continue", "Request received, please continue"),
    (
        101,
        "Switching Protocols",
        "Switching to new protocol; obey Upgrade header",
    ),
    (102, "Processing", "Server is processing the request"),
    (
        103,
        "Early Hints",
        "Headers sent to prepare for the response",
    ),
    (200, "OK", "Request fulfilled, document follows"),
    (201, "Created", "Document created, URL follows"),
    (
        202,
        "Accepted",
        "Request accepted, processing continues off-line",
    ),
    (
        203,
        "Non-Authoritative Information",
        "Request fulfilled from cache",
    ),
    (204, "No Content", "Request fulfilled, nothing follows"),
    (205, "Reset Content", "Clear input form for further input"),
    (206, "Partial Content", "Partial content follows"),
    (
        207,
        "Multi-Status",
        "Response contains multiple statuses in the body",
    ),
    (
        208,
        "Already Reported",
        "Operation has already been reported",
    ),
    (
        226,
        "IM Used",
        "Request completed using instance manipulations",
    ),
    (
        300,
        "Multiple Choices",
        "Object has several resources -- see URI list",
    ),
    (
        301,
        "Moved Permanently",
        "Object moved permanently -- see URI list",
    ),
    (302, "Found", "Object moved temporarily -- see URI list"),
    (303, "See Other", "Object moved -- see Method and URL list"),
    (
        304,
        "Not Modified",
        "Document has not changed since given time",
    ),
    (
        305,
        "Use Proxy",
        "You must use proxy specified in Location to access this resource",
    ),
    (
        307,
        "Temporary Redirect",
        "Object moved temporarily -- see URI list",
    ),
    (
        308,
        "Permanent Redirect",
        "Object moved permanently -- see URI list",
    ),
    (
        400,
        "Bad Request",
        "Bad request syntax or unsupported method",
    ),
    (
        401,
        "Unauthorized",
        "No permission -- see authorization schemes",
    ),
    (
        402,
        "Payment Required",
        "No payment -- see charging schemes",
    ),
    (
        403,
        "Forbidden",
        "Request forbidden -- authorization will not help",
    ),
    (404, "Not Found", "Nothing matches the given URI"),
    (
        405,
        "Method Not Allowed",
        "Specified method is invalid for this resource",
    ),
    (
        406,
        "Not Acceptable",
        "URI not available in preferred format",
    ),
    (
        407,
        "Proxy Authentication Required",
        "You must authenticate with this proxy before proceeding",
    ),
    (408, "Request Timeout", "Request timed out; try again later"),
    (409, "Conflict", "Request conflict"),
    (
        410,
        "Gone",
        "URI no longer exists and has been permanently removed",
    ),
    (411, "Length Required", "Client must specify Content-Length"),
    (
        412,
        "Precondition Failed",
        "Precondition in headers is false",
    ),
    (413, "Content Too Large", "Content is too large"),
    (414, "URI Too Long", "URI is too long"),
    (
        415,
        "Unsupported Media Type",
        "Entity body in unsupported format",
    ),
    (416, "Range Not Satisfiable", "Cannot satisfy request range"),
    (
        417,
        "Expectation Failed",
        "Expect condition could not be satisfied",
    ),
    (
        418,
        "I'm a Teapot",
        "Server refuses to brew coffee because it is a teapot",
    ),
    (
        421,
        "Misdirected Request",
        "Server is not able to produce a response",
    ),
    (
        422,
        "Unprocessable Content",
        "Server is not able to process the contained instructions",
    ),
    (423, "Locked", "Resource of a method is locked"),
    (
        424,
        "Failed Dependency",
        "Dependent action of the request failed",
    ),
    (
        425,
        "Too Early",
        "Server refuses to process a request that might be replayed",
    ),
    (
        426,
        "Upgrade Required",
        "Server refuses to perform the request using the current protocol",
    ),
    (
        428,
        "Precondition Required",
        "The origin server requires the request to be conditional",
    ),
    (
        429,
        "Too Many Requests",
        "The user has sent too many requests in a given amount of time (\"rate limiting\")",
    ),
    (
        431,
        "Request Header Fields Too Large",
        "The server is unwilling to process the request because its header fields are too large",
    ),
    (
        451,
        "Unavailable For Legal Reasons",
        "The server is denying access to the resource as a consequence of a legal demand",
    ),
    (500, "Internal Server Error", "Server got itself in trouble"),
    (
        501,
        "Not Implemented",
        "Server does not support this operation",
    ),
    (
        502,
        "Bad Gateway",
        "Invalid responses from another server/proxy",
    ),
    (
        503,
        "Service Unavailable",
        "The server cannot process the request due to a high load",
    ),
    (
        504,
        "Gateway Timeout",
        "The gateway server did not receive a timely response",
    ),
    (505, "HTTP Version Not Supported", "Cannot fulfill request"),
    (
        506,
        "Variant Also Negotiates",
        "Server has an internal configuration error",
    ),
    (
        507,
        "Insufficient Storage",
        "Server is not able to store the representation",
    ),
    (
        508,
        "Loop Detected",
        "Server encountered an infinite loop while processing a request",
    ),
    (
        510,
        "Not Extended",
        "Request does not meet the resource access policy",
    ),
    (
        511,
        "Network Authentication Required",
        "The client needs to authenticate to gain network access",
    ),
];

/// What follows the version in the status line of each code from 100 to 999: SP, the three
/// digits, SP, the standard reason phrase (nothing for an unregistered code) and CRLF, built
/// at compile time so a response head starts with two copies instead of a table search and
/// five pieces. The tail of `code` is `TAILS.0[TAILS.1[i]..TAILS.1[i + 1]]`, `i = code - 100`.
const TAILS: ([u8; TAILS_LEN], [u16; 901]) = {
    let mut bytes = [0u8; TAILS_LEN];
    let mut starts = [0u16; 901];
    let (mut at, mut row) = (0, 0);
    let mut code = 100;
    while code < 1000 {
        starts[code - 100] = at as u16;
        let digits = [
            b' ',
            b'0' + (code / 100) as u8,
            b'0' + (code / 10 % 10) as u8,
            b'0' + (code % 10) as u8,
            b' ',
        ];
        let mut i = 0;
        while i < digits.len() {
            bytes[at] = digits[i];
            at += 1;
            i += 1;
        }
        if row < TABLE.len() && TABLE[row].0 as usize == code {
            let reason = TABLE[row].1.as_bytes();
            let mut i = 0;
            while i < reason.len() {
                bytes[at] = reason[i];
                at += 1;
                i += 1;
            }
            row += 1;
        }
        bytes[at] = b'\r';
        bytes[at + 1] = b'\n';
        at += 2;
        code += 1;
    }
    starts[900] = at as u16;
    assert!(at == TAILS_LEN && row == TABLE.len());
    (bytes, starts)
};

/// The bytes of [`TAILS`]: seven a code, and the reason phrases.
const TAILS_LEN: usize = {
    let mut len = 900 * 7;
    let mut row = 0;
    while row < TABLE.len() {
        len += TABLE[row].1.len();
        row += 1;
    }
    len
};

/// ` 200 OK\r\n`: what follows the version in the status line of `code` (100 to 999) with its
/// standard reason phrase.
pub(crate) fn status_line_tail(code: u16) -> &'static [u8] {
    let i = usize::from(code - 100);
    let (bytes, starts) = &TAILS;
    &bytes[usize::from(starts[i])..usize::from(starts[i + 1])]
}

fn lookup(code: u16) -> Option<&'static (u16, &'static str, &'static str)> {
    TABLE
        .binary_search_by_key(&code, |row| row.0)
        .ok()
        .map(|i| &TABLE[i])
}

/// The standard reason phrase for `code`, if it is a registered status.
///
/// ```
/// assert_eq!(protocol::status::reason_phrase(404), Some("Not Found"));
/// assert_eq!(protocol::status::reason_phrase(999), None);
/// ```
pub fn reason_phrase(code: u16) -> Option<&'static str> {
    lookup(code).map(|row| row.1)
}

/// The one-line description CPython shows on error pages (`Nothing matches the given URI`).
pub fn description(code: u16) -> Option<&'static str> {
    lookup(code).map(|row| row.2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_sorted_for_binary_search() {
        assert!(TABLE.windows(2).all(|w| w[0].0 < w[1].0));
    }

    #[test]
    fn status_line_tails_are_digits_and_phrase() {
        for code in 100..=999 {
            let phrase = reason_phrase(code).unwrap_or("");
            assert_eq!(
                status_line_tail(code),
                format!(" {code} {phrase}\r\n").as_bytes(),
                "{code}"
            );
        }
    }

    #[test]
    fn known_and_unknown_codes() {
        assert_eq!(reason_phrase(200), Some("OK"));
        assert_eq!(reason_phrase(414), Some("URI Too Long"));
        assert_eq!(description(404), Some("Nothing matches the given URI"));
        assert_eq!(reason_phrase(299), None);
    }
}
