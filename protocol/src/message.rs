//! Request and response heads: the wire-faithful vocabulary the core speaks.
//!
//! Everything the peer sent is kept as raw bytes (method, target, version token, header names
//! in their original case), because a server that wants to answer exactly as CPython's
//! `http.server` does needs what was on the wire, not a normalised view of it.

use bytes::Bytes;

use crate::Headers;

/// The HTTP version of a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Version {
    /// A two-word request line (`GET /path`): no headers, no status line in the reply.
    Http09,
    /// `HTTP/<major>.<minor>`. Components are `u64` because CPython accepts up to ten digits.
    Http {
        /// The major version.
        major: u64,
        /// The minor version.
        minor: u64,
    },
}

impl Version {
    /// HTTP/1.0.
    pub const HTTP_10: Self = Self::Http { major: 1, minor: 0 };
    /// HTTP/1.1.
    pub const HTTP_11: Self = Self::Http { major: 1, minor: 1 };

    /// Whether this is HTTP/1.1 or later.
    pub fn at_least_11(self) -> bool {
        self >= Self::HTTP_11
    }
}

/// How the body of a request is delimited on the wire (RFC 9112 section 6.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RequestFraming {
    /// No body at all.
    None,
    /// Exactly this many bytes follow the head (`Content-Length`).
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
}

impl RequestFraming {
    /// Whether a body follows the head.
    pub fn has_body(self) -> bool {
        !matches!(self, Self::None | Self::Length(0))
    }
}

/// A parsed request head, all fields owned (cheap slices of one shared buffer).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RequestHead {
    /// The method token, case as sent (`GET`, `get` and `<script>` are all kept as they came).
    pub method: Bytes,
    /// The request-target, raw: never decoded, normalised or split.
    pub target: Bytes,
    /// The parsed version.
    pub version: Version,
    /// The version token as sent (`HTTP/01.00`), empty for HTTP/0.9.
    pub version_raw: Bytes,
    /// Header fields in wire order.
    pub headers: Headers,
    /// How the body is framed.
    pub framing: RequestFraming,
    /// The client asked for `100 Continue` under CPython's rules (HTTP/1.1 on both sides).
    pub expects_continue: bool,
    /// Whether the connection stays open after this exchange, as decided from the request.
    /// The response can still turn this off (`Connection: close`, an until-close body).
    pub keep_alive: bool,
    /// The request line without its line ending, as CPython logs it.
    pub request_line: Bytes,
}

impl RequestHead {
    /// Whether the method is exactly `HEAD`.
    pub fn is_head(&self) -> bool {
        &self.method[..] == b"HEAD"
    }
}

/// The head of a response: status, optional custom reason phrase, headers in send order.
///
/// ```
/// use protocol::ResponseHead;
///
/// let head = ResponseHead::new(404)
///     .with_reason("File not found")
///     .with_header("Content-Type", "text/html;charset=utf-8");
/// assert_eq!(head.status, 404);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ResponseHead {
    /// The status code; any three-digit value is allowed (CPython tests send 999).
    pub status: u16,
    /// The reason phrase; `None` uses the standard phrase (or nothing for an unknown code).
    pub reason: Option<Bytes>,
    /// Header fields, written in this order with this spelling.
    pub headers: Headers,
}

impl ResponseHead {
    /// A head with this status, the standard reason phrase and no headers.
    pub fn new(status: u16) -> Self {
        Self {
            status,
            reason: None,
            headers: Headers::new(),
        }
    }

    /// Sets a custom reason phrase (CPython sends `404 File not found`).
    #[must_use]
    pub fn with_reason(mut self, reason: impl Into<Bytes>) -> Self {
        self.reason = Some(reason.into());
        self
    }

    /// Appends a header field.
    #[must_use]
    pub fn with_header(mut self, name: impl Into<Bytes>, value: impl Into<Bytes>) -> Self {
        self.headers.append(name, value);
        self
    }
}

/// How the application will deliver the response body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ResponseBody {
    /// No body: HEAD, 1xx, 204, 304, or a head whose `Content-Length` describes a body that is not
    /// sent. The head is written exactly as given.
    None,
    /// Exactly this many bytes; sending more or fewer is a [`UsageError`](crate::UsageError).
    /// `Content-Length` is added if the head does not carry it.
    Length(u64),
    /// Chunked transfer coding (HTTP/1.1 peers only); `Transfer-Encoding` is added if absent.
    Chunked,
    /// Bytes until the connection closes (HTTP/1.0 style); the connection will not be reused.
    UntilClose,
    /// The status line and headers are written *without* the blank line that ends the head; the
    /// body bytes (which complete the head themselves, as a CGI script's output does) follow
    /// verbatim until the connection closes.
    Passthrough,
}
