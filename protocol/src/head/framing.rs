//! What a request head implies: how its body is framed (RFC 9112 section 6.3), whether the
//! connection persists (CPython's rules), and whether the client waits for `100 Continue`.

use crate::{Config, Headers, ParseMode, RequestError, RequestFraming, Version};

/// The facts derived from a head.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Semantics {
    pub(crate) framing: RequestFraming,
    pub(crate) keep_alive: bool,
    pub(crate) expects_continue: bool,
}

/// The fields framing, persistence and `Expect` depend on, found in one pass over the head
/// (the head of every request goes through here, and most fields are none of these).
#[derive(Debug, Default)]
struct Seen<'a> {
    hosts: usize,
    transfer_encoding: bool,
    content_length: bool,
    /// The first `Connection` value: CPython compares that one as a whole.
    first_connection: Option<&'a [u8]>,
    /// Some `Connection` field lists `close` / `keep-alive` (RFC 9110 token lists).
    close_token: bool,
    keep_alive_token: bool,
    /// The first `Expect` value.
    expect: Option<&'a [u8]>,
}

impl<'a> Seen<'a> {
    fn scan(headers: &'a Headers) -> Self {
        let mut seen = Self::default();
        for field in headers {
            let (name, value) = (field.name(), field.value());
            // The length rules out almost every field before any byte is compared.
            match name.len() {
                4 if name.eq_ignore_ascii_case(b"host") => seen.hosts += 1,
                6 if name.eq_ignore_ascii_case(b"expect") => {
                    seen.expect.get_or_insert(value);
                }
                10 if name.eq_ignore_ascii_case(b"connection") => {
                    seen.first_connection.get_or_insert(value);
                    for token in value.split(|&b| b == b',').map(<[u8]>::trim_ascii) {
                        seen.close_token |= token.eq_ignore_ascii_case(b"close");
                        seen.keep_alive_token |= token.eq_ignore_ascii_case(b"keep-alive");
                    }
                }
                14 if name.eq_ignore_ascii_case(b"content-length") => seen.content_length = true,
                17 if name.eq_ignore_ascii_case(b"transfer-encoding") => {
                    seen.transfer_encoding = true;
                }
                _ => {}
            }
        }
        seen
    }
}

/// Derives framing, keep-alive and `Expect` handling, rejecting ambiguous framing.
pub(crate) fn analyse(
    version: Version,
    headers: &Headers,
    config: &Config,
) -> Result<Semantics, RequestError> {
    if version == Version::Http09 {
        return Ok(Semantics {
            framing: RequestFraming::None,
            keep_alive: false,
            expects_continue: false,
        });
    }
    let seen = Seen::scan(headers);
    if config.parse_mode == ParseMode::Strict && version.at_least_11() && seen.hosts != 1 {
        return Err(RequestError::BadHost);
    }
    let framing = framing(version, headers, &seen)?;
    Ok(Semantics {
        framing,
        keep_alive: keep_alive(version, &seen, config),
        expects_continue: config.keep_alive_enabled()
            && version.at_least_11()
            && seen
                .expect
                .is_some_and(|v| v.eq_ignore_ascii_case(b"100-continue")),
    })
}

fn framing(
    version: Version,
    headers: &Headers,
    seen: &Seen<'_>,
) -> Result<RequestFraming, RequestError> {
    if seen.transfer_encoding {
        if seen.content_length || !version.at_least_11() {
            return Err(RequestError::ConflictingFraming);
        }
        return transfer_coding(headers);
    }
    if !seen.content_length {
        return Ok(RequestFraming::None);
    }
    // Every value, including comma-separated repeats, must be the same decimal number.
    let mut length = None;
    for item in headers
        .get_all("content-length")
        .flat_map(|v| v.split(|&b| b == b','))
    {
        let n = parse_decimal(item.trim_ascii()).ok_or(RequestError::InvalidContentLength)?;
        if length.is_some_and(|l| l != n) {
            return Err(RequestError::InvalidContentLength);
        }
        length = Some(n);
    }
    length
        .map(RequestFraming::Length)
        .ok_or(RequestError::InvalidContentLength)
}

/// Only a single, final `chunked` is supported: anything else cannot be framed safely.
/// A final coding other than `chunked` (or a `chunked` before the end) leaves the length
/// undecidable (400, RFC 9112 section 6.3); a known-good final `chunked` after another
/// coding is a coding we do not implement (501).
fn transfer_coding(headers: &Headers) -> Result<RequestFraming, RequestError> {
    let is_chunked = |c: &[u8]| c.eq_ignore_ascii_case(b"chunked");
    let mut last: Option<&[u8]> = None;
    let mut earlier_chunked = false;
    let mut earlier_other = false;
    for coding in headers
        .get_all("transfer-encoding")
        .flat_map(|v| v.split(|&b| b == b','))
        .map(<[u8]>::trim_ascii)
        .filter(|c| !c.is_empty())
    {
        if let Some(previous) = last.replace(coding) {
            earlier_chunked |= is_chunked(previous);
            earlier_other |= !is_chunked(previous);
        }
    }
    match last {
        Some(coding) if is_chunked(coding) && !earlier_chunked => {
            if earlier_other {
                Err(RequestError::UnsupportedTransferCoding)
            } else {
                Ok(RequestFraming::Chunked)
            }
        }
        _ => Err(RequestError::ConflictingFraming),
    }
}

/// `1*DIGIT` that fits a `u64`.
pub(crate) fn parse_decimal(digits: &[u8]) -> Option<u64> {
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    digits.iter().try_fold(0u64, |n, d| {
        n.checked_mul(10)?.checked_add(u64::from(d - b'0'))
    })
}

/// CPython: persistent only when `protocol_version >= "HTTP/1.1"` and the request is HTTP/1.1
/// or says `Connection: keep-alive`; `Connection: close` always wins.
fn keep_alive(version: Version, seen: &Seen<'_>, config: &Config) -> bool {
    if !config.keep_alive_enabled() {
        return false;
    }
    let (close, keep) = match config.parse_mode {
        // RFC 9110: Connection is a list of tokens.
        ParseMode::Strict => (seen.close_token, seen.keep_alive_token),
        // CPython compares the first Connection field as a whole.
        ParseMode::Compat => {
            let first = seen.first_connection.unwrap_or_default();
            (
                first.eq_ignore_ascii_case(b"close"),
                first.eq_ignore_ascii_case(b"keep-alive"),
            )
        }
    };
    !close && (version.at_least_11() || keep)
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;

    fn headers(fields: &[(&'static str, &'static str)]) -> Headers {
        fields.iter().map(|&(n, v)| (n, v)).collect()
    }

    fn http11() -> Config {
        Config {
            protocol_version: Bytes::from_static(b"HTTP/1.1"),
            ..Config::default()
        }
    }

    #[test]
    fn framing_rules() {
        let c = Config::default();
        let v = Version::HTTP_11;
        let f = |h: &[(&'static str, &'static str)]| analyse(v, &headers(h), &c).map(|s| s.framing);
        assert_eq!(f(&[("Host", "a")]), Ok(RequestFraming::None));
        assert_eq!(
            f(&[("Host", "a"), ("Content-Length", "5")]),
            Ok(RequestFraming::Length(5))
        );
        assert_eq!(
            f(&[
                ("Host", "a"),
                ("Content-Length", "5, 5"),
                ("content-length", "5")
            ]),
            Ok(RequestFraming::Length(5))
        );
        assert_eq!(
            f(&[
                ("Host", "a"),
                ("Content-Length", "5"),
                ("Content-Length", "6")
            ]),
            Err(RequestError::InvalidContentLength)
        );
        assert_eq!(
            f(&[("Host", "a"), ("Content-Length", "+5")]),
            Err(RequestError::InvalidContentLength)
        );
        assert_eq!(
            f(&[("Host", "a"), ("Content-Length", "99999999999999999999")]),
            Err(RequestError::InvalidContentLength)
        );
        assert_eq!(
            f(&[("Host", "a"), ("Transfer-Encoding", "Chunked")]),
            Ok(RequestFraming::Chunked)
        );
        assert_eq!(
            f(&[
                ("Host", "a"),
                ("Transfer-Encoding", "chunked"),
                ("Content-Length", "3")
            ]),
            Err(RequestError::ConflictingFraming)
        );
        assert_eq!(
            f(&[("Host", "a"), ("Transfer-Encoding", "chunked, gzip")]),
            Err(RequestError::ConflictingFraming)
        );
        assert_eq!(
            f(&[("Host", "a"), ("Transfer-Encoding", "gzip, chunked")]),
            Err(RequestError::UnsupportedTransferCoding)
        );
        assert_eq!(
            f(&[
                ("Host", "a"),
                ("Transfer-Encoding", "chunked"),
                ("Transfer-Encoding", "chunked")
            ]),
            Err(RequestError::ConflictingFraming)
        );
        let te_in_10 = analyse(
            Version::HTTP_10,
            &headers(&[("Transfer-Encoding", "chunked")]),
            &c,
        );
        assert_eq!(te_in_10, Err(RequestError::ConflictingFraming));
    }

    #[test]
    fn host_rules_in_strict_mode() {
        let c = Config::default();
        assert_eq!(
            analyse(Version::HTTP_11, &headers(&[]), &c),
            Err(RequestError::BadHost)
        );
        assert_eq!(
            analyse(
                Version::HTTP_11,
                &headers(&[("Host", "a"), ("host", "b")]),
                &c
            ),
            Err(RequestError::BadHost)
        );
        assert!(analyse(Version::HTTP_10, &headers(&[]), &c).is_ok());
    }

    #[test]
    fn keep_alive_follows_cpython() {
        let ka = |c: &Config, v, h: &[(&'static str, &'static str)]| {
            analyse(v, &headers(h), c).unwrap().keep_alive
        };
        let c10 = Config::default();
        let c11 = http11();
        assert!(!ka(&c10, Version::HTTP_11, &[("Host", "a")]));
        assert!(ka(&c11, Version::HTTP_11, &[("Host", "a")]));
        assert!(!ka(&c11, Version::HTTP_10, &[]));
        assert!(ka(&c11, Version::HTTP_10, &[("Connection", "Keep-Alive")]));
        assert!(!ka(
            &c11,
            Version::HTTP_11,
            &[("Host", "a"), ("Connection", "close")]
        ));
    }

    #[test]
    fn expect_continue_needs_11_on_both_sides() {
        let e = |c: &Config, v| {
            analyse(v, &headers(&[("Host", "a"), ("Expect", "100-Continue")]), c)
                .unwrap()
                .expects_continue
        };
        assert!(e(&http11(), Version::HTTP_11));
        assert!(!e(&http11(), Version::HTTP_10));
        assert!(!e(&Config::default(), Version::HTTP_11));
    }
}
