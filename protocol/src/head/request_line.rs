//! The request line, in two modes: RFC 9112 (strict) and what CPython accepts (compat).
//!
//! Both modes answer the same questions in the same order as CPython's `parse_request`, so an
//! error names the same token CPython would name (`Bad request version ('HTTP/1.1.1')`): when
//! three or more words are present the *last* one is checked as a version first, then the word
//! count, then the HTTP/0.9 rules.

use std::ops::Range;

use bytes::Bytes;

use super::authority;
use crate::{ParseMode, RequestError, Version};

/// A parsed request line: where each part sits in the line.
#[derive(Debug)]
pub(crate) struct RequestLine {
    pub(crate) method: Range<usize>,
    pub(crate) target: Range<usize>,
    pub(crate) version: Version,
    /// Empty for HTTP/0.9.
    pub(crate) version_raw: Range<usize>,
}

/// What a request line turned out to be.
#[derive(Debug)]
pub(crate) enum LineOutcome {
    Request(RequestLine),
    /// Only whitespace: CPython closes the connection without a reply (compat mode only).
    Blank,
}

/// Parses `line` (its line ending already removed). Errors carry copies of the offending
/// part, so they outlive the receive buffer.
pub(crate) fn parse(
    line: &[u8],
    mode: ParseMode,
    allow_http09: bool,
) -> Result<LineOutcome, RequestError> {
    let mut words = [0..0, 0..0, 0..0];
    let (count, last) = match mode {
        ParseMode::Strict => split_strict(line, &mut words).ok_or_else(|| bad_syntax(line))?,
        ParseMode::Compat => split_compat(line, &mut words),
    };
    if count == 0 {
        return match mode {
            ParseMode::Compat => Ok(LineOutcome::Blank),
            ParseMode::Strict => Err(bad_syntax(line)),
        };
    }
    let mut version = None;
    if count >= 3 {
        version = Some((parse_version(&line[last.clone()], mode)?, last));
    }
    if !(2..=3).contains(&count) {
        return Err(bad_syntax(line));
    }
    let [method, target, _] = words;
    if mode == ParseMode::Strict && !valid_strict(&line[method.clone()], &line[target.clone()]) {
        return Err(bad_syntax(line));
    }
    let (version, version_raw) = if let Some(v) = version {
        v
    } else {
        if &line[method.clone()] != b"GET" || !allow_http09 {
            return Err(RequestError::BadHttp09Method {
                method: Bytes::copy_from_slice(&line[method]),
            });
        }
        (Version::Http09, line.len()..line.len())
    };
    if let Version::Http { major, .. } = version {
        let token = || Bytes::copy_from_slice(&line[version_raw.clone()]);
        if major >= 2 {
            return Err(RequestError::UnsupportedVersion { token: token() });
        }
        if major == 0 && !allow_http09 {
            return Err(RequestError::BadVersion { token: token() });
        }
    }
    Ok(LineOutcome::Request(RequestLine {
        method,
        target,
        version,
        version_raw,
    }))
}

fn bad_syntax(line: &[u8]) -> RequestError {
    RequestError::BadRequestSyntax {
        line: Bytes::copy_from_slice(line),
    }
}

/// Splits on single spaces. Returns the number of words (capped at 4, meaning "too many") and
/// the range of the last word, or `None` for an empty word (two spaces, a leading or trailing
/// space): RFC 9112 allows exactly one space between the parts.
fn split_strict(line: &[u8], words: &mut [Range<usize>; 3]) -> Option<(usize, Range<usize>)> {
    if line.is_empty() {
        return Some((0, 0..0));
    }
    let mut count = 0;
    let mut start = 0;
    let mut last = 0..0;
    for end in memchr::memchr_iter(b' ', line).chain(std::iter::once(line.len())) {
        if end == start {
            return None;
        }
        let range = start..end;
        if count < 3 {
            words[count] = range.clone();
        }
        count += 1;
        last = range;
        start = end + 1;
    }
    Some((count.min(4), last))
}

/// The version word of a compat-mode line that has at least three words, if it is valid.
pub(crate) fn compat_version(line: &[u8]) -> Option<&[u8]> {
    let mut words = [0..0, 0..0, 0..0];
    let (count, last) = split_compat(line, &mut words);
    if count < 3 {
        return None;
    }
    let token = &line[last];
    parse_version(token, ParseMode::Compat).ok().map(|_| token)
}

/// Python's `str.split()` on the latin-1 decoded line: runs of whitespace separate words.
fn split_compat(line: &[u8], words: &mut [Range<usize>; 3]) -> (usize, Range<usize>) {
    let mut count = 0;
    let mut last = 0..0;
    let mut i = 0;
    while i < line.len() {
        if is_python_space(line[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < line.len() && !is_python_space(line[i]) {
            i += 1;
        }
        if count < 3 {
            words[count] = start..i;
        }
        count += 1;
        last = start..i;
    }
    (count.min(4), last)
}

/// Whitespace as Python's `str.split()` sees latin-1 text.
fn is_python_space(b: u8) -> bool {
    matches!(
        b,
        b'\t' | b'\n' | 0x0b | 0x0c | b'\r' | 0x1c..=0x1f | b' ' | 0x85 | 0xa0
    )
}

/// `HTTP/<a>.<b>`. Strict: one digit each. Compat: one to ten ASCII digits each, as CPython
/// (gh-103204 closed `+`, `-`, `_` and huge numbers).
pub(crate) fn parse_version(token: &[u8], mode: ParseMode) -> Result<Version, RequestError> {
    let bad = || RequestError::BadVersion {
        token: Bytes::copy_from_slice(token),
    };
    let rest = token.strip_prefix(b"HTTP/").ok_or_else(bad)?;
    let mut parts = rest.split(|&b| b == b'.');
    let (Some(major), Some(minor), None) = (parts.next(), parts.next(), parts.next()) else {
        return Err(bad());
    };
    let max_digits = match mode {
        ParseMode::Strict => 1,
        ParseMode::Compat => 10,
    };
    let number = |digits: &[u8]| -> Option<u64> {
        if digits.is_empty() || digits.len() > max_digits || !digits.iter().all(u8::is_ascii_digit)
        {
            return None;
        }
        Some(digits.iter().fold(0, |n, d| n * 10 + u64::from(d - b'0')))
    };
    match (number(major), number(minor)) {
        (Some(major), Some(minor)) => Ok(Version::Http { major, minor }),
        _ => Err(bad()),
    }
}

/// RFC 9112: the method is a token; the target has no whitespace or control bytes and is in
/// one of the four request-target forms.
pub(crate) fn valid_strict(method: &[u8], target: &[u8]) -> bool {
    method.iter().copied().all(is_tchar)
        && !has_control(target, 0x21)
        && valid_target_form(method, target)
}

/// RFC 9112 section 3.2: origin-form (`/path?query`) for every method but `CONNECT`,
/// authority-form (`host:port`) for `CONNECT` only, asterisk-form (`*`) for `OPTIONS` only,
/// absolute-form (`scheme://authority/path`) for every method but `CONNECT`.
///
/// Anything else is refused rather than guessed at: taking `GET HTTP/1.1` (no target) as an
/// HTTP/0.9 request for the target `HTTP/1.1`, or `a.txt` as a path, is a reading another
/// parser on the way does not share. The common case costs one byte compare.
pub(crate) fn valid_target_form(method: &[u8], target: &[u8]) -> bool {
    let connect = method == b"CONNECT";
    match target.first() {
        Some(b'/') => !connect,
        _ if connect => authority::valid_authority_form(target),
        _ if target == b"*" => method == b"OPTIONS",
        _ => authority::valid_absolute_form(target),
    }
}

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// Whether some byte of the word is below `n` (`n <= 128`). Exact as a yes/no answer: a
/// borrow can only mark a byte above one that really is below `n`.
fn word_has_less_than(x: u64, n: u8) -> bool {
    x.wrapping_sub(ONES * u64::from(n)) & !x & HIGHS != 0
}

/// Whether `bytes` holds a byte below `below` (`<= 128`) or DEL, checked eight bytes at a
/// time: every request target and every response field value goes through here.
pub(crate) fn has_control(bytes: &[u8], below: u8) -> bool {
    let has = |word: &[u8]| {
        let x = u64::from_le_bytes(word.try_into().expect("eight bytes"));
        word_has_less_than(x, below) || word_has_less_than(x ^ (ONES * 0x7f), 1)
    };
    let Some(last) = bytes.len().checked_sub(8) else {
        return bytes.iter().any(|&b| b < below || b == 0x7f);
    };
    let mut words = bytes.chunks_exact(8);
    // The bytes after the last whole word are checked as the last eight bytes (a word
    // overlapping the one before) rather than one by one.
    words.any(has) || (!words.remainder().is_empty() && has(&bytes[last..]))
}

/// RFC 9110 `tchar`. A table lookup: every method and every response field name goes
/// through here byte by byte.
pub(crate) fn is_tchar(b: u8) -> bool {
    TCHAR[usize::from(b)]
}

/// Whether `s` is an RFC 9110 `token` (one or more `tchar`): what a method, a field name or a
/// parameter name must be.
///
/// ```
/// assert!(protocol::is_token(b"Content-Type"));
/// assert!(!protocol::is_token(b"Bad Name"));
/// assert!(!protocol::is_token(b""));
/// ```
pub fn is_token(s: &[u8]) -> bool {
    // Without an early exit, the lookups of successive bytes do not wait on each other's
    // branches: names are short, and almost always tokens.
    !s.is_empty() && s.iter().fold(true, |token, &b| token & is_tchar(b))
}

const TCHAR: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        table[b] = c.is_ascii_alphanumeric()
            || matches!(
                c,
                b'!' | b'#'
                    | b'$'
                    | b'%'
                    | b'&'
                    | b'\''
                    | b'*'
                    | b'+'
                    | b'-'
                    | b'.'
                    | b'^'
                    | b'_'
                    | b'`'
                    | b'|'
                    | b'~'
            );
        b += 1;
    }
    table
};

#[cfg(test)]
mod tests {
    use super::*;

    fn run(line: &str, mode: ParseMode) -> Result<LineOutcome, RequestError> {
        parse(line.as_bytes(), mode, true)
    }

    /// The parts of an accepted line: method, target, version token, version.
    fn ok(line: &str, mode: ParseMode) -> (&[u8], &[u8], &[u8], Version) {
        match run(line, mode) {
            Ok(LineOutcome::Request(r)) => {
                let line = line.as_bytes();
                (
                    &line[r.method],
                    &line[r.target],
                    &line[r.version_raw],
                    r.version,
                )
            }
            other => panic!("{line:?}: {other:?}"),
        }
    }

    fn err(line: &str, mode: ParseMode) -> RequestError {
        match run(line, mode) {
            Err(e) => e,
            other => panic!("{line:?}: {other:?}"),
        }
    }

    #[test]
    fn cpython_accepts_runs_of_whitespace_and_long_versions() {
        let (method, target, version_raw, version) =
            ok("GET  /a \t HTTP/01.00 ", ParseMode::Compat);
        assert_eq!(method, b"GET");
        assert_eq!(target, b"/a");
        assert_eq!(version, Version::HTTP_10);
        assert_eq!(version_raw, b"HTTP/01.00");
        let line = b"GET\xa0/a.txt\xa0HTTP/1.0";
        let Ok(LineOutcome::Request(r)) = parse(line, ParseMode::Compat, true) else {
            panic!()
        };
        assert_eq!(&line[r.target], b"/a.txt");
    }

    #[test]
    fn strict_wants_single_spaces() {
        assert!(matches!(
            err("GET  /a HTTP/1.0", ParseMode::Strict),
            RequestError::BadRequestSyntax { .. }
        ));
        assert_eq!(ok("GET /a HTTP/1.1", ParseMode::Strict).3, Version::HTTP_11);
        assert!(matches!(
            err("GET /a HTTP/01.0", ParseMode::Strict),
            RequestError::BadVersion { .. }
        ));
    }

    #[test]
    fn version_errors_name_the_token() {
        for mode in [ParseMode::Strict, ParseMode::Compat] {
            for v in [
                "HTTP/1.1.1",
                "FOO/1.0",
                "http/1.0",
                "HTTP/-9_9_9.+9_9_9",
                "HTTP/1.909876543210",
            ] {
                let line = format!("GET /a {v}");
                assert_eq!(
                    err(&line, mode),
                    RequestError::BadVersion {
                        token: Bytes::copy_from_slice(v.as_bytes())
                    },
                    "{mode:?} {v}"
                );
            }
        }
        // Version is checked before the word count, as in CPython.
        assert!(matches!(
            err("GET /a b FOO/1", ParseMode::Compat),
            RequestError::BadVersion { .. }
        ));
    }

    #[test]
    fn major_two_and_above_is_505() {
        assert!(matches!(
            err("GET / HTTP/2.0", ParseMode::Strict),
            RequestError::UnsupportedVersion { .. }
        ));
        assert_eq!(err("GET / HTTP/9.9", ParseMode::Compat).status_hint(), 505);
    }

    #[test]
    fn word_counts() {
        assert!(matches!(
            err("GET", ParseMode::Compat),
            RequestError::BadRequestSyntax { .. }
        ));
        assert!(matches!(
            err("GET /a b.txt HTTP/1.0", ParseMode::Compat),
            RequestError::BadRequestSyntax { .. }
        ));
        assert!(matches!(
            run("  \t", ParseMode::Compat),
            Ok(LineOutcome::Blank)
        ));
        assert!(matches!(
            err("", ParseMode::Strict),
            RequestError::BadRequestSyntax { .. }
        ));
    }

    #[test]
    fn http09() {
        for mode in [ParseMode::Strict, ParseMode::Compat] {
            let (_, target, version_raw, version) = ok("GET /a.txt", mode);
            assert_eq!(
                (target, version_raw, version),
                (&b"/a.txt"[..], &b""[..], Version::Http09)
            );
            assert_eq!(
                err("POST /a.txt", mode),
                RequestError::BadHttp09Method {
                    method: Bytes::from_static(b"POST")
                }
            );
        }
        let off = parse(b"GET /", ParseMode::Strict, false);
        assert!(matches!(off, Err(RequestError::BadHttp09Method { .. })));
    }

    #[test]
    fn has_control_agrees_with_the_byte_by_byte_rule() {
        // Every byte value at every position of a 19-byte run (two words and a remainder),
        // among bytes that are all allowed, for both thresholds in use.
        for below in [0x20, 0x21] {
            for len in [0, 7, 8, 9, 15, 16, 19] {
                for at in 0..len {
                    for b in 0..=255u8 {
                        let mut bytes = vec![b'a'; len];
                        bytes[at] = b;
                        let naive = bytes.iter().any(|&c| c < below || c == 0x7f);
                        assert_eq!(has_control(&bytes, below), naive, "{below} {len} {at} {b}");
                    }
                }
            }
            assert!(!has_control(
                &[0x80, 0xff, b'~', b' ', 0xa0, 0x7e, 0x21, 0x30, 0x90],
                0x20
            ));
        }
    }

    #[test]
    fn tchar_table_is_rfc_9110() {
        let listed: Vec<u8> = (0..=255u8).filter(|&b| is_tchar(b)).collect();
        let mut expected: Vec<u8> = b"!#$%&'*+-.^_`|~0123456789".to_vec();
        expected.extend(b'A'..=b'Z');
        expected.extend(b'a'..=b'z');
        expected.sort_unstable();
        assert_eq!(listed, expected);
    }

    #[test]
    fn strict_targets_take_one_of_the_four_forms() {
        for line in [
            "GET /a?b HTTP/1.1",
            "GET http://example.com/a.txt HTTP/1.1",
            "POST https://h:8443 HTTP/1.0",
            "OPTIONS * HTTP/1.1",
            "OPTIONS http://h/ HTTP/1.1",
            "CONNECT example.com:443 HTTP/1.1",
            "CONNECT [::1]:443 HTTP/1.1",
            "GET /x",
        ] {
            assert!(
                matches!(run(line, ParseMode::Strict), Ok(LineOutcome::Request(_))),
                "{line:?}"
            );
        }
        for line in [
            // No target: not an HTTP/0.9 request for `HTTP/1.1`.
            "GET HTTP/1.1",
            "GET HTTP/1.0",
            "HEAD HTTP/1.1",
            "GET a.txt HTTP/1.0",
            "GET a.txt",
            "GET * HTTP/1.1",
            "GET *",
            "OPTIONS *x HTTP/1.1",
            "GET example.com:80 HTTP/1.1",
            "CONNECT / HTTP/1.1",
            "CONNECT example.com HTTP/1.1",
            "CONNECT http://example.com:443/ HTTP/1.1",
            "connect example.com:443 HTTP/1.1",
            "GET http:/a HTTP/1.1",
            "GET http://u@h/a HTTP/1.1",
            "GET http:///a HTTP/1.1",
            "GET ?x HTTP/1.1",
            "GET #f HTTP/1.1",
        ] {
            assert!(
                matches!(
                    run(line, ParseMode::Strict),
                    Err(RequestError::BadRequestSyntax { .. })
                ),
                "{line:?}"
            );
        }
        // Compat mode keeps CPython's reading of the same lines.
        let (_, target, _, version) = ok("GET HTTP/1.1", ParseMode::Compat);
        assert_eq!((target, version), (&b"HTTP/1.1"[..], Version::Http09));
        assert_eq!(ok("GET a.txt HTTP/1.0", ParseMode::Compat).1, b"a.txt");
    }

    #[test]
    fn strict_rejects_non_token_methods_compat_keeps_them() {
        assert!(matches!(
            err("<script> / HTTP/1.0", ParseMode::Strict),
            RequestError::BadRequestSyntax { .. }
        ));
        assert_eq!(ok("<script> / HTTP/1.0", ParseMode::Compat).0, b"<script>");
    }
}
