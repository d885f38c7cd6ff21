//! The two error families: what the peer got wrong, and what the application got wrong.
//!
//! A [`RequestError`] is remote: the bytes on the wire were unacceptable. It carries the
//! offending token (so the application can word a page, `Bad request version ('HTTP/1.1.1')`),
//! a suggested status code, and always ends the receive side. The application may still send
//! one response (the error page) before the connection closes.
//!
//! A [`UsageError`] is local: the application called the API out of order or broke a promise
//! (a second response, more body than declared). The connection state is left unchanged.

use bytes::Bytes;

use crate::TimeoutKind;

/// The peer sent something the server will not process.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RequestError {
    /// The request line was longer than the configured limit (414).
    RequestLineTooLong,
    /// The request line did not have the shape `METHOD TARGET VERSION` (400).
    BadRequestSyntax {
        /// The request line, without its line ending.
        line: Bytes,
    },
    /// The version token was not `HTTP/<digits>.<digits>` (400).
    BadVersion {
        /// The version token as received.
        token: Bytes,
    },
    /// A well-formed version this server does not speak, such as `HTTP/2.0` (505).
    UnsupportedVersion {
        /// The version token as received (`HTTP/2.0`).
        token: Bytes,
    },
    /// A two-word (HTTP/0.9) request line whose method is not `GET` (400).
    BadHttp09Method {
        /// The method token.
        method: Bytes,
    },
    /// A header line was longer than the configured limit (431).
    HeaderLineTooLong,
    /// More header fields than the configured limit (431).
    TooManyHeaders,
    /// The header block as a whole exceeded the configured limit (431).
    HeadTooLarge,
    /// A header line that RFC 9112 forbids: no colon, whitespace before the colon, obs-fold,
    /// a bare CR, a control byte (400).
    InvalidHeader,
    /// HTTP/1.1 requires exactly one `Host` field, and no request may carry two (400).
    BadHost,
    /// The `Host` value is not `uri-host [ ":" port ]` (RFC 9110 section 7.2, RFC 3986):
    /// whitespace, userinfo, a path, an unclosed IPv6 literal, a port that is not digits (400).
    InvalidHost,
    /// `Content-Length` was not a decimal number, or several differing values were sent (400).
    InvalidContentLength,
    /// `Transfer-Encoding` together with `Content-Length`, or `Transfer-Encoding` in HTTP/1.0:
    /// the framing is ambiguous, the classic request-smuggling shape (400).
    ConflictingFraming,
    /// A transfer coding other than one final `chunked` (501).
    UnsupportedTransferCoding,
    /// The chunked body was malformed (400).
    BadChunk,
    /// A chunk-size line, chunk extension or trailer section exceeded its limit (400).
    ChunkTooLarge,
    /// The peer closed the connection in the middle of a request (400).
    UnexpectedEof,
    /// The peer was too slow (408).
    Timeout(TimeoutKind),
}

impl RequestError {
    /// The status code a server should answer with.
    pub fn status_hint(&self) -> u16 {
        match self {
            Self::RequestLineTooLong => 414,
            Self::HeaderLineTooLong | Self::TooManyHeaders | Self::HeadTooLarge => 431,
            Self::UnsupportedVersion { .. } => 505,
            Self::UnsupportedTransferCoding => 501,
            Self::Timeout(_) => 408,
            Self::BadRequestSyntax { .. }
            | Self::BadVersion { .. }
            | Self::BadHttp09Method { .. }
            | Self::InvalidHeader
            | Self::BadHost
            | Self::InvalidHost
            | Self::InvalidContentLength
            | Self::ConflictingFraming
            | Self::BadChunk
            | Self::ChunkTooLarge
            | Self::UnexpectedEof => 400,
        }
    }

    /// Whether the connection must close after the error response. Always true today: once the
    /// framing of one request is in doubt, nothing after it on the wire can be trusted.
    pub fn closes_connection(&self) -> bool {
        true
    }
}

impl std::fmt::Display for RequestError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let lossy = |b: &Bytes| String::from_utf8_lossy(b).into_owned();
        match self {
            Self::RequestLineTooLong => f.write_str("request line too long"),
            Self::BadRequestSyntax { line } => write!(f, "bad request syntax {:?}", lossy(line)),
            Self::BadVersion { token } => write!(f, "bad request version {:?}", lossy(token)),
            Self::UnsupportedVersion { token } => {
                write!(f, "unsupported HTTP version {:?}", lossy(token))
            }
            Self::BadHttp09Method { method } => {
                write!(f, "bad HTTP/0.9 request type {:?}", lossy(method))
            }
            Self::HeaderLineTooLong => f.write_str("header line too long"),
            Self::TooManyHeaders => f.write_str("too many headers"),
            Self::HeadTooLarge => f.write_str("header block too large"),
            Self::InvalidHeader => f.write_str("invalid header line"),
            Self::BadHost => f.write_str("missing or repeated Host header"),
            Self::InvalidHost => f.write_str("invalid Host header"),
            Self::InvalidContentLength => f.write_str("invalid Content-Length"),
            Self::ConflictingFraming => f.write_str("ambiguous request framing"),
            Self::UnsupportedTransferCoding => f.write_str("unsupported transfer coding"),
            Self::BadChunk => f.write_str("malformed chunked body"),
            Self::ChunkTooLarge => f.write_str("chunk line or trailers too large"),
            Self::UnexpectedEof => f.write_str("connection closed mid-request"),
            Self::Timeout(kind) => write!(f, "{kind} timed out"),
        }
    }
}

impl std::error::Error for RequestError {}

/// The application used the API out of order or broke a promise it made.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum UsageError {
    /// There is no request waiting for a response.
    NoRequestToAnswer,
    /// A response head was already sent for this request.
    ResponseAlreadyStarted,
    /// No response head has been sent yet.
    ResponseNotStarted,
    /// This response cannot carry a body (declared [`ResponseBody::None`](crate::ResponseBody)).
    BodyNotAllowed,
    /// More body bytes than the declared length.
    BodyLongerThanDeclared {
        /// The declared length.
        declared: u64,
    },
    /// The response was finished before the declared length was sent.
    BodyShorterThanDeclared {
        /// The declared length.
        declared: u64,
        /// What was sent.
        sent: u64,
    },
    /// `Content-Length` in the head disagrees with the declared body length.
    ContentLengthMismatch,
    /// Chunked encoding was asked for an HTTP/1.0 peer.
    ChunkedNotSupported,
    /// A header value contains CR or LF (response splitting) or another control byte other
    /// than HTAB, or a name is not a token.
    InvalidHeader {
        /// Position of the field in the head.
        index: usize,
    },
    /// The reason phrase contains a control byte other than HTAB (CR and LF among them).
    InvalidReason,
    /// The status code is not three digits (100 to 999).
    InvalidStatus,
    /// `100 Continue` was not expected, or is too late.
    ContinueNotExpected,
    /// The connection is closed or closing.
    Closed,
}

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::NoRequestToAnswer => f.write_str("no request is waiting for a response"),
            Self::ResponseAlreadyStarted => f.write_str("a response was already started"),
            Self::ResponseNotStarted => f.write_str("no response was started"),
            Self::BodyNotAllowed => f.write_str("this response has no body"),
            Self::BodyLongerThanDeclared { declared } => {
                write!(f, "body longer than the declared {declared} bytes")
            }
            Self::BodyShorterThanDeclared { declared, sent } => {
                write!(
                    f,
                    "body of {sent} bytes is shorter than the declared {declared}"
                )
            }
            Self::ContentLengthMismatch => {
                f.write_str("Content-Length disagrees with the declared body length")
            }
            Self::ChunkedNotSupported => f.write_str("chunked encoding needs an HTTP/1.1 peer"),
            Self::InvalidHeader { index } => write!(f, "header field {index} is not valid"),
            Self::InvalidReason => f.write_str("reason phrase contains a control byte"),
            Self::InvalidStatus => f.write_str("status code is not three digits"),
            Self::ContinueNotExpected => f.write_str("100 Continue is not expected here"),
            Self::Closed => f.write_str("the connection is closed"),
        }
    }
}

impl std::error::Error for UsageError {}
