//! What a request head implies: how its body is framed (RFC 9112 section 6.3), whether the
//! connection persists (CPython's rules), and whether the client waits for `100 Continue`.

use super::authority;
use crate::ascii::Folded;
use crate::{Config, Headers, ParseMode, RequestError, RequestFraming, Version};

const HOST: Folded<4> = Folded::new(b"host");
const EXPECT: Folded<6> = Folded::new(b"expect");
pub(crate) const CONNECTION: Folded<10> = Folded::new(b"connection");
pub(crate) const CONTENT_LENGTH: Folded<14> = Folded::new(b"content-length");
pub(crate) const TRANSFER_ENCODING: Folded<17> = Folded::new(b"transfer-encoding");
const CONTINUE: Folded<12> = Folded::new(b"100-continue");
pub(crate) const CLOSE: Folded<5> = Folded::new(b"close");
pub(crate) const KEEP_ALIVE: Folded<10> = Folded::new(b"keep-alive");

/// The facts derived from a head.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Semantics {
    pub(crate) framing: RequestFraming,
    pub(crate) keep_alive: bool,
    pub(crate) expects_continue: bool,
}

/// What framing, persistence and `Expect` depend on, noted field by field as a head is read
/// (the head of every request goes through here, and most fields are none of these).
#[derive(Debug, Default)]
pub(crate) struct FieldFacts {
    hosts: usize,
    /// Some `Host` value is not `uri-host [ ":" port ]` (checked on the `Host` values only).
    invalid_host: bool,
    transfer_encoding: bool,
    content_length: bool,
    /// Whether the first `Connection` value is `close` / `keep-alive` as a whole: CPython
    /// compares that one value.
    first_connection: Option<(bool, bool)>,
    /// Some `Connection` field lists `close` / `keep-alive` (RFC 9110 token lists).
    close_token: bool,
    keep_alive_token: bool,
    /// Whether the first `Expect` value is `100-continue`.
    expect_continue: Option<bool>,
}

impl FieldFacts {
    /// The facts of every field of `headers`.
    pub(crate) fn of(headers: &Headers) -> Self {
        let mut facts = Self::default();
        for field in headers {
            facts.note(field.name(), field.value());
        }
        facts
    }

    /// Takes one field into account.
    ///
    /// Inlined into the loop over a head's fields: most fields are none of the five names,
    /// and the name's length and first letter (folded to lower case) rule them out in two
    /// compares. A browser's `Accept`, `Cookie`, `User-Agent`, `Sec-Fetch-*` and
    /// `If-Modified-Since` share a length with one of the five, so length alone would not.
    #[inline]
    pub(crate) fn note(&mut self, name: &[u8], value: &[u8]) {
        let key = (name.len(), name.first().map_or(0, |&b| b | 0x20));
        if matches!(key, (4, b'h') | (6, b'e') | (10 | 14, b'c') | (17, b't')) {
            self.note_candidate(name, value);
        }
    }

    /// [`note`](Self::note) for a field that may be one of the five names.
    #[inline(never)]
    fn note_candidate(&mut self, name: &[u8], value: &[u8]) {
        match name.len() {
            4 if HOST.matches(name) => {
                self.hosts += 1;
                self.invalid_host |= !authority::valid_host(value);
            }
            6 if EXPECT.matches(name) => {
                self.expect_continue
                    .get_or_insert_with(|| CONTINUE.matches(value));
            }
            10 if CONNECTION.matches(name) => {
                let whole = (CLOSE.matches(value), KEEP_ALIVE.matches(value));
                self.first_connection.get_or_insert(whole);
                if whole.0 || whole.1 {
                    // The usual value is the one token: no list to split.
                    self.close_token |= whole.0;
                    self.keep_alive_token |= whole.1;
                    return;
                }
                for token in value.split(|&b| b == b',').map(<[u8]>::trim_ascii) {
                    self.close_token |= CLOSE.matches(token);
                    self.keep_alive_token |= KEEP_ALIVE.matches(token);
                }
            }
            14 if CONTENT_LENGTH.matches(name) => self.content_length = true,
            17 if TRANSFER_ENCODING.matches(name) => self.transfer_encoding = true,
            _ => {}
        }
    }
}

/// Derives framing, keep-alive and `Expect` handling from `facts`, the facts of `headers`,
/// rejecting ambiguous framing.
pub(crate) fn analyse_facts(
    version: Version,
    headers: &Headers,
    facts: &FieldFacts,
    config: &Config,
) -> Result<Semantics, RequestError> {
    if version == Version::Http09 {
        return Ok(Semantics {
            framing: RequestFraming::None,
            keep_alive: false,
            expects_continue: false,
        });
    }
    if config.parse_mode == ParseMode::Strict {
        // RFC 9110 section 7.2: a 400 for an HTTP/1.1 request without `Host`, and for any
        // request with more than one `Host` line or an invalid one, whatever its version.
        if facts.hosts > 1 || (facts.hosts == 0 && version.at_least_11()) {
            return Err(RequestError::BadHost);
        }
        if facts.invalid_host {
            return Err(RequestError::InvalidHost);
        }
    }
    let framing = framing(version, headers, facts)?;
    Ok(Semantics {
        framing,
        keep_alive: keep_alive(version, facts, config),
        expects_continue: config.keep_alive_enabled()
            && version.at_least_11()
            && facts.expect_continue == Some(true),
    })
}

fn framing(
    version: Version,
    headers: &Headers,
    facts: &FieldFacts,
) -> Result<RequestFraming, RequestError> {
    if facts.transfer_encoding {
        if facts.content_length || !version.at_least_11() {
            return Err(RequestError::ConflictingFraming);
        }
        return transfer_coding(headers);
    }
    if !facts.content_length {
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
fn keep_alive(version: Version, facts: &FieldFacts, config: &Config) -> bool {
    if !config.keep_alive_enabled() {
        return false;
    }
    let (close, keep) = match config.parse_mode {
        // RFC 9110: Connection is a list of tokens.
        ParseMode::Strict => (facts.close_token, facts.keep_alive_token),
        // CPython compares the first Connection field as a whole.
        ParseMode::Compat => facts.first_connection.unwrap_or_default(),
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

    /// Facts and analysis in one step, as the head reader's line scan does them.
    fn analyse(
        version: Version,
        headers: &Headers,
        config: &Config,
    ) -> Result<Semantics, RequestError> {
        analyse_facts(version, headers, &FieldFacts::of(headers), config)
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
        // RFC 9110 section 7.2: two `Host` lines are a 400 whatever the version.
        assert_eq!(
            analyse(
                Version::HTTP_10,
                &headers(&[("Host", "a"), ("Host", "a")]),
                &c
            ),
            Err(RequestError::BadHost)
        );
    }

    #[test]
    fn host_values_are_checked_in_strict_mode_only() {
        let strict = Config::default();
        let compat = Config {
            parse_mode: ParseMode::Compat,
            ..Config::default()
        };
        for version in [Version::HTTP_10, Version::HTTP_11] {
            for bad in ["a b", "user@host", "a, b", "host/path", "[::1", "h:port"] {
                let fields = headers(&[("Host", bad)]);
                assert_eq!(
                    analyse(version, &fields, &strict),
                    Err(RequestError::InvalidHost),
                    "{bad:?}"
                );
                assert!(analyse(version, &fields, &compat).is_ok(), "{bad:?}");
            }
            for good in ["", "h:8000", "[::1]:80", "[v1.x]", "10.0.0.1", "a%20b;c"] {
                assert!(
                    analyse(version, &headers(&[("Host", good)]), &strict).is_ok(),
                    "{good:?}"
                );
            }
        }
        // A repeated `Host` is named as such, even when a value is bad too.
        assert_eq!(
            analyse(
                Version::HTTP_11,
                &headers(&[("Host", "a b"), ("Host", "a")]),
                &strict
            ),
            Err(RequestError::BadHost)
        );
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
