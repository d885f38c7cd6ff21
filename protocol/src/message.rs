//! Request and response heads: the wire-faithful vocabulary the core speaks.
//!
//! Everything the peer sent is kept as raw bytes (method, target, version token, header names
//! in their original case), because a server that wants to answer exactly as CPython's
//! `http.server` does needs what was on the wire, not a normalised view of it.

use bytes::Bytes;

use crate::Headers;
use crate::head::Semantics;
use crate::span::Span;

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

/// Where the parts of a request line sit in the head's bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct LineSpans {
    pub(crate) method: Span,
    pub(crate) target: Span,
    /// Empty for HTTP/0.9.
    pub(crate) version: Span,
    /// Where the request line ends without its line ending (it starts the head).
    pub(crate) line_end: u32,
}

/// [`RequestFraming`] without its length, which [`RequestHead`] keeps beside it: one byte
/// instead of sixteen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum FramingKind {
    None,
    Length,
    Chunked,
}

/// A parsed request head: the bytes it arrived in, and where each part sits in them.
///
/// Nothing is copied out of the receive buffer and nothing is allocated: the head holds one
/// shared reference to its bytes (followed in the same memory by the offsets of its fields),
/// and the accessors slice them. [`raw`](Self::raw) gives the bytes themselves, for showing
/// a learner exactly what arrived; [`share`](Self::share) keeps a part without a copy.
///
/// ```
/// use std::sync::Arc;
/// use std::time::Instant;
///
/// use protocol::{Config, Event, ServerConnection, Version};
///
/// let mut conn = ServerConnection::new(Arc::new(Config::default()), Instant::now());
/// conn.receive(b"GET /docs/?q=1 HTTP/1.1\r\nHost: example\r\n\r\n", Instant::now());
/// let Some(Event::Request(head)) = conn.poll_event() else { panic!() };
/// assert_eq!(head.method(), b"GET");
/// assert_eq!(head.target(), b"/docs/?q=1");
/// assert_eq!(head.version(), Version::HTTP_11);
/// assert_eq!(head.headers().get("host"), Some(&b"example"[..]));
/// assert_eq!(head.request_line(), b"GET /docs/?q=1 HTTP/1.1");
/// let target = head.share(head.target()); // a `Bytes`, no copy
/// assert_eq!(target, "/docs/?q=1");
/// ```
#[derive(Clone)]
pub struct RequestHead {
    // The fields are laid out to keep a head (and so an `Event`) at 128 bytes: events are
    // moved through the event queue several times per request, and a move of up to 128
    // bytes is a few vector loads and stores where a larger one is a call to `memcpy`.
    // Hence the version and the framing kept in parts (`version()` and `framing()` put
    // them together), and 32-bit offsets.
    /// The fields; their source is the whole head as received.
    headers: Headers,
    line: LineSpans,
    /// `Version::Http { major, minor }`, unless `http09`.
    major: u64,
    minor: u64,
    http09: bool,
    /// The body's length, when `framing` is `FramingKind::Length`.
    length: u64,
    framing: FramingKind,
    expects_continue: bool,
    keep_alive: bool,
}

impl RequestHead {
    /// Assembles a head whose line spans and fields point into `headers`' source.
    pub(crate) fn new(
        headers: Headers,
        line: LineSpans,
        version: Version,
        semantics: Semantics,
    ) -> Self {
        debug_assert!(line.line_end as usize <= headers.head().len());
        let (major, minor, http09) = match version {
            Version::Http09 => (0, 0, true),
            Version::Http { major, minor } => (major, minor, false),
        };
        let (framing, length) = match semantics.framing {
            RequestFraming::None => (FramingKind::None, 0),
            RequestFraming::Length(n) => (FramingKind::Length, n),
            RequestFraming::Chunked => (FramingKind::Chunked, 0),
        };
        Self {
            headers,
            line,
            major,
            minor,
            http09,
            length,
            framing,
            expects_continue: semantics.expects_continue,
            keep_alive: semantics.keep_alive,
        }
    }

    /// The method token, case as sent (`GET`, `get` and `<script>` are all kept as they came).
    pub fn method(&self) -> &[u8] {
        self.line.method.of(self.raw())
    }

    /// The request-target, raw: never decoded, normalised or split.
    pub fn target(&self) -> &[u8] {
        self.line.target.of(self.raw())
    }

    /// The parsed version.
    pub fn version(&self) -> Version {
        if self.http09 {
            Version::Http09
        } else {
            Version::Http {
                major: self.major,
                minor: self.minor,
            }
        }
    }

    /// The version token as sent (`HTTP/01.00`), empty for HTTP/0.9.
    pub fn version_raw(&self) -> &[u8] {
        self.line.version.of(self.raw())
    }

    /// The request line without its line ending, as CPython logs it.
    pub fn request_line(&self) -> &[u8] {
        &self.raw()[..self.line.line_end as usize]
    }

    /// Header fields in wire order.
    pub fn headers(&self) -> &Headers {
        &self.headers
    }

    /// How the body is framed.
    pub fn framing(&self) -> RequestFraming {
        match self.framing {
            FramingKind::None => RequestFraming::None,
            FramingKind::Length => RequestFraming::Length(self.length),
            FramingKind::Chunked => RequestFraming::Chunked,
        }
    }

    /// The client asked for `100 Continue` under CPython's rules (HTTP/1.1 on both sides).
    pub fn expects_continue(&self) -> bool {
        self.expects_continue
    }

    /// Whether the connection stays open after this exchange, as decided from the request.
    /// The response can still turn this off (`Connection: close`, an until-close body).
    pub fn keep_alive(&self) -> bool {
        self.keep_alive
    }

    /// Whether the method is exactly `HEAD`.
    pub fn is_head(&self) -> bool {
        self.method() == b"HEAD"
    }

    /// The head exactly as it arrived: the request line and, unless it is HTTP/0.9, the
    /// header lines and the blank line that ends them (leading empty lines skipped; in
    /// compat mode a head the peer ended by closing stops where its bytes stopped). Every
    /// accessor is a slice of these bytes.
    pub fn raw(&self) -> &[u8] {
        self.headers.head()
    }

    /// `part` of the head (a slice of [`raw`](Self::raw), such as [`target`](Self::target)
    /// or a header value) as `Bytes` that share the head's memory: kept without a copy, for
    /// as long as needed.
    ///
    /// # Panics
    /// If `part` is not empty and not a slice of [`raw`](Self::raw).
    pub fn share(&self, part: &[u8]) -> Bytes {
        if part.is_empty() {
            return Bytes::new();
        }
        let head = self.headers.head();
        let start = part.as_ptr().addr().wrapping_sub(head.as_ptr().addr());
        assert!(
            start <= head.len() && part.len() <= head.len() - start,
            "share: not a part of this head"
        );
        self.headers.source().slice(start..start + part.len())
    }
}

/// Heads are equal when they arrived as the same bytes and say the same things, whichever
/// way they were parsed.
impl PartialEq for RequestHead {
    fn eq(&self, other: &Self) -> bool {
        self.raw() == other.raw()
            && self.request_line() == other.request_line()
            && self.method() == other.method()
            && self.target() == other.target()
            && self.version_raw() == other.version_raw()
            && self.version() == other.version()
            && self.headers == other.headers
            && self.framing() == other.framing()
            && self.expects_continue == other.expects_continue
            && self.keep_alive == other.keep_alive
    }
}

impl Eq for RequestHead {}

impl std::fmt::Debug for RequestHead {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
        f.debug_struct("RequestHead")
            .field("method", &text(self.method()))
            .field("target", &text(self.target()))
            .field("version", &self.version())
            .field("version_raw", &text(self.version_raw()))
            .field("headers", &self.headers)
            .field("framing", &self.framing())
            .field("expects_continue", &self.expects_continue)
            .field("keep_alive", &self.keep_alive)
            .finish_non_exhaustive()
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
