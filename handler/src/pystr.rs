//! Python `str` semantics on bytes: what `http.server` does to text, reproduced exactly.
//!
//! CPython decodes the request line as latin-1, percent-decodes paths into `str` (with
//! `errors='surrogatepass'` or `'replace'`), and re-encodes them for the file system with
//! `surrogateescape`. A Python `str` can hold lone surrogates, which Rust's `String` cannot, so
//! this module represents a Python string as *generalised UTF-8* bytes: ordinary UTF-8, plus
//! each lone surrogate written as its three-byte form (`ED A0..BF 80..BF`). That encoding keeps
//! code point order (so sorting by bytes sorts like Python), and every ASCII byte stands for
//! itself (so splitting on `/`, `?` or `#` works on bytes).
//!
//! Functions here never panic, whatever the input.

use std::borrow::Cow;
use std::fmt::Write as _;

use percent_encoding::percent_decode;

/// How `unquote` turns percent-decoded bytes into text (Python's `errors=` argument).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Unquote {
    /// `unquote(s, errors='surrogatepass')`, falling back to plain `unquote(s)` when that raises:
    /// what `translate_path` and `list_directory` do.
    SurrogatePass,
    /// Plain `unquote(s)` (`errors='replace'`): what the CGI path code does.
    Replace,
}

/// Latin-1 decoding of raw bytes (`str(raw, 'iso-8859-1')`), as generalised UTF-8.
/// Borrows when the input is ASCII, which it nearly always is.
pub(crate) fn latin1(raw: &[u8]) -> Cow<'_, [u8]> {
    if raw.is_ascii() {
        return Cow::Borrowed(raw);
    }
    let mut out = Vec::with_capacity(raw.len() + 8);
    push_latin1(&mut out, raw);
    Cow::Owned(out)
}

/// Appends the latin-1 decoding of `raw` (each byte is the code point of the same value).
pub(crate) fn push_latin1(out: &mut Vec<u8>, raw: &[u8]) {
    for &b in raw {
        if b < 0x80 {
            out.push(b);
        } else {
            out.push(0xC0 | (b >> 6));
            out.push(0x80 | (b & 0x3F));
        }
    }
}

/// `urllib.parse.unquote(s, errors=...)` on a generalised-UTF-8 string.
///
/// Python percent-decodes only the ASCII runs of the string, each run on its own, and keeps
/// non-ASCII characters as they are (a raw `é` in the request line stays `é`).
pub(crate) fn unquote(s: &[u8], mode: Unquote) -> Cow<'_, [u8]> {
    if !s.contains(&b'%') {
        return Cow::Borrowed(s);
    }
    if mode == Unquote::SurrogatePass
        && let Some(out) = unquote_with(s, true)
    {
        return Cow::Owned(out);
    }
    // `replace` never fails.
    Cow::Owned(unquote_with(s, false).unwrap_or_default())
}

fn unquote_with(s: &[u8], surrogatepass: bool) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len());
    let mut rest = s;
    while !rest.is_empty() {
        let ascii_len = rest
            .iter()
            .position(|b| !b.is_ascii())
            .unwrap_or(rest.len());
        let (ascii, tail) = rest.split_at(ascii_len);
        if !ascii.is_empty() {
            let bytes: Cow<'_, [u8]> = percent_decode(ascii).into();
            if surrogatepass {
                if !is_generalised_utf8(&bytes) {
                    return None;
                }
                out.extend_from_slice(&bytes);
            } else {
                out.extend_from_slice(String::from_utf8_lossy(&bytes).as_bytes());
            }
        }
        let other_len = tail.iter().position(u8::is_ascii).unwrap_or(tail.len());
        out.extend_from_slice(&tail[..other_len]);
        rest = &tail[other_len..];
    }
    Some(out)
}

/// Whether `b` decodes as UTF-8 with Python's `surrogatepass` handler: valid UTF-8 in which
/// encoded surrogates (`ED A0..BF 80..BF`) are also allowed.
pub(crate) fn is_generalised_utf8(mut b: &[u8]) -> bool {
    loop {
        match std::str::from_utf8(b) {
            Ok(_) => return true,
            Err(e) => {
                let at = e.valid_up_to();
                if is_surrogate_at(b, at) {
                    b = &b[at + 3..];
                } else {
                    return false;
                }
            }
        }
    }
}

fn is_surrogate_at(b: &[u8], at: usize) -> bool {
    matches!(b.get(at..at + 3), Some([0xED, 0xA0..=0xBF, 0x80..=0xBF]))
}

/// The code point of the lone surrogate at `at`, if there is one.
fn surrogate_at(b: &[u8], at: usize) -> Option<u32> {
    if is_surrogate_at(b, at) {
        Some(0xD000 | (u32::from(b[at + 1] & 0x3F) << 6) | u32::from(b[at + 2] & 0x3F))
    } else {
        None
    }
}

/// A piece of a generalised-UTF-8 string.
enum Seg<'a> {
    /// A run of valid UTF-8.
    Valid(&'a str),
    /// One lone surrogate (three bytes).
    Surrogate(u32),
    /// A byte that is not part of anything valid (only in input that is not generalised UTF-8).
    Invalid(u8),
}

/// Calls `f` for each piece of `s`, in order. (`str::utf8_chunks` cannot be used: it reports
/// an encoded surrogate as three separate invalid bytes.)
fn for_each_seg<'a>(mut s: &'a [u8], mut f: impl FnMut(Seg<'a>)) {
    while !s.is_empty() {
        match std::str::from_utf8(s) {
            Ok(valid) => {
                f(Seg::Valid(valid));
                return;
            }
            Err(e) => {
                let at = e.valid_up_to();
                let (valid, rest) = s.split_at(at);
                if !valid.is_empty() {
                    f(Seg::Valid(std::str::from_utf8(valid).unwrap_or_default()));
                }
                if let Some(cp) = surrogate_at(rest, 0) {
                    f(Seg::Surrogate(cp));
                    s = &rest[3..];
                } else {
                    f(Seg::Invalid(rest[0]));
                    s = &rest[1..];
                }
            }
        }
    }
}

/// Calls `f` for each code point of a generalised-UTF-8 string (bytes that are not even that
/// come out as U+FFFD, so arbitrary input is safe).
pub(crate) fn for_each_char(s: &[u8], mut f: impl FnMut(u32)) {
    for_each_seg(s, |seg| match seg {
        Seg::Valid(v) => v.chars().for_each(|c| f(u32::from(c))),
        Seg::Surrogate(cp) => f(cp),
        Seg::Invalid(_) => f(0xFFFD),
    });
}

/// `os.fsencode(s)` on Linux: UTF-8 with `surrogateescape`. Surrogates U+DC80..U+DCFF become
/// the single bytes 0x80..0xFF; any other surrogate cannot be encoded (`None`), which is where
/// CPython raises `UnicodeEncodeError`.
pub(crate) fn fs_encode(s: &[u8]) -> Option<Cow<'_, [u8]>> {
    if std::str::from_utf8(s).is_ok() {
        return Some(Cow::Borrowed(s));
    }
    let mut out = Vec::with_capacity(s.len());
    let mut ok = true;
    for_each_seg(s, |seg| match seg {
        Seg::Valid(v) => out.extend_from_slice(v.as_bytes()),
        Seg::Surrogate(cp @ 0xDC80..=0xDCFF) => out.push((cp - 0xDC00) as u8),
        Seg::Surrogate(_) | Seg::Invalid(_) => ok = false,
    });
    ok.then_some(Cow::Owned(out))
}

/// `os.fsdecode(b)` on Linux: invalid UTF-8 bytes become surrogates U+DC80..U+DCFF.
pub(crate) fn fs_decode(b: &[u8]) -> Cow<'_, [u8]> {
    if std::str::from_utf8(b).is_ok() {
        return Cow::Borrowed(b);
    }
    let mut out = Vec::with_capacity(b.len() + 8);
    for chunk in b.utf8_chunks() {
        out.extend_from_slice(chunk.valid().as_bytes());
        for &x in chunk.invalid() {
            push_char(&mut out, 0xDC00 | u32::from(x));
        }
    }
    Cow::Owned(out)
}

/// Appends one code point (surrogates included) in generalised UTF-8.
pub(crate) fn push_char(out: &mut Vec<u8>, cp: u32) {
    if let Some(c) = char::from_u32(cp) {
        let mut buf = [0; 4];
        out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
    } else if (0xD800..=0xDFFF).contains(&cp) {
        out.extend_from_slice(&[
            0xE0 | (cp >> 12) as u8,
            0x80 | ((cp >> 6) & 0x3F) as u8,
            0x80 | (cp & 0x3F) as u8,
        ]);
    } else {
        out.extend_from_slice("\u{FFFD}".as_bytes());
    }
}

/// `s.encode(fs_encoding, 'surrogateescape')` for a listing page. CPython raises (and sends
/// nothing) on surrogates outside U+DC80..U+DCFF; this writes U+FFFD for them instead.
pub(crate) fn fs_encode_lossy(s: &[u8]) -> Cow<'_, [u8]> {
    if let Some(b) = fs_encode(s) {
        return b;
    }
    let mut out = Vec::with_capacity(s.len());
    for_each_char(s, |cp| match cp {
        0xDC80..=0xDCFF => out.push((cp - 0xDC00) as u8),
        _ => push_char(&mut out, char::from_u32(cp).map_or(0xFFFD, u32::from)),
    });
    Cow::Owned(out)
}

/// Encodes text for a status line, as CPython's `.encode('latin-1', 'strict')`. CPython raises
/// on characters above U+00FF (and the client gets nothing); this writes `?` for them.
pub(crate) fn latin1_encode_lossy(s: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len());
    for_each_char(s, |cp| out.push(u8::try_from(cp).unwrap_or(b'?')));
    out
}

/// `html.escape(s, quote=False)`: `&`, `<` and `>` only, on bytes (file names need not be
/// UTF-8, so this cannot be a `&str` function). Runs without those characters are copied
/// whole.
pub(crate) fn push_html_escaped(out: &mut Vec<u8>, s: &[u8]) {
    let mut start = 0;
    for (i, &b) in s.iter().enumerate() {
        // `&`, `<` and `>` are the only bytes in 0x26..=0x3E that need it; one compare skips
        // letters and most punctuation.
        if !(b'&'..=b'>').contains(&b) {
            continue;
        }
        let rep: &[u8] = match b {
            b'&' => b"&amp;",
            b'<' => b"&lt;",
            b'>' => b"&gt;",
            _ => continue,
        };
        out.extend_from_slice(&s[start..i]);
        out.extend_from_slice(rep);
        start = i + 1;
    }
    out.extend_from_slice(&s[start..]);
}

/// Bytes `urllib.parse.quote` leaves alone: ASCII letters and digits, `_.-~`, and the
/// default `safe='/'`. A table, so quoting a name is one load per byte.
static QUOTE_SAFE: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        t[b] = c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-' | b'~' | b'/');
        b += 1;
    }
    t
};

/// `urllib.parse.quote(s, errors='surrogatepass')`: the generalised UTF-8 bytes *are* the
/// surrogatepass encoding, so they are percent-encoded as they are (upper-case hex digits,
/// as Python writes them). Runs of safe bytes are copied whole.
pub(crate) fn push_quoted(out: &mut Vec<u8>, s: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    out.reserve(s.len());
    let mut start = 0;
    for (i, &b) in s.iter().enumerate() {
        if QUOTE_SAFE[usize::from(b)] {
            continue;
        }
        out.extend_from_slice(&s[start..i]);
        out.extend_from_slice(&[b'%', HEX[usize::from(b >> 4)], HEX[usize::from(b & 0xF)]]);
        start = i + 1;
    }
    out.extend_from_slice(&s[start..]);
}

/// Python's `str.isspace` for latin-1 characters: what `str.split()` splits on.
pub(crate) fn is_py_space_latin1(b: u8) -> bool {
    matches!(b, b'\t'..=b'\r' | 0x1C..=0x20 | 0x85 | 0xA0)
}

/// `str.split()` (no argument) on latin-1 text given as raw bytes.
pub(crate) fn split_latin1(raw: &[u8]) -> impl Iterator<Item = &[u8]> {
    raw.split(|&b| is_py_space_latin1(b))
        .filter(|w| !w.is_empty())
}

/// `repr(s)` for a generalised-UTF-8 string: quote choice and escapes as Python does.
pub(crate) fn repr(s: &[u8]) -> String {
    let has_single = s.contains(&b'\'');
    let quote = if has_single && !s.contains(&b'"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for_each_char(s, |cp| match cp {
        0x5C => out.push_str("\\\\"),
        0x09 => out.push_str("\\t"),
        0x0A => out.push_str("\\n"),
        0x0D => out.push_str("\\r"),
        _ if cp == u32::from(quote) => {
            out.push('\\');
            out.push(quote);
        }
        _ => match char::from_u32(cp) {
            Some(c) if is_printable(c) => out.push(c),
            _ if cp < 0x100 => {
                let _ = write!(out, "\\x{cp:02x}");
            }
            _ if cp < 0x1_0000 => {
                let _ = write!(out, "\\u{cp:04x}");
            }
            _ => {
                let _ = write!(out, "\\U{cp:08x}");
            }
        },
    });
    out.push(quote);
    out
}

/// An approximation of Python's `str.isprintable` for one character: exact for latin-1 and for
/// the control, separator, surrogate, private-use and common format characters; unassigned
/// code points (which need the Unicode database) count as printable.
fn is_printable(c: char) -> bool {
    let cp = u32::from(c);
    if cp == 0x20 {
        return true;
    }
    if c.is_control() || c.is_whitespace() {
        return false;
    }
    !matches!(
        cp,
        0xAD | 0x600..=0x605
            | 0x61C
            | 0x6DD
            | 0x70F
            | 0x890..=0x891
            | 0x8E2
            | 0x180E
            | 0x200B..=0x200F
            | 0x202A..=0x202E
            | 0x2060..=0x2064
            | 0x2066..=0x206F
            | 0xE000..=0xF8FF
            | 0xFEFF
            | 0xFFF9..=0xFFFB
            | 0xFFFE..=0xFFFF
            | 0x1_10BD
            | 0x1_10CD
            | 0x1_3430..=0x1_343F
            | 0x1_BCA0..=0x1_BCA3
            | 0x1_D173..=0x1_D17A
            | 0xE_0001
            | 0xE_0020..=0xE_007F
            | 0xF_0000..=0x0010_FFFF
    )
}

/// `s.lower()` as a sort key, on generalised UTF-8 (valid runs use Rust's full Unicode
/// lowering, which handles final sigma as Python does; surrogates stay as they are).
pub(crate) fn lower_key(s: &[u8]) -> Cow<'_, [u8]> {
    if s.is_ascii() {
        if s.iter().any(u8::is_ascii_uppercase) {
            return Cow::Owned(s.to_ascii_lowercase());
        }
        return Cow::Borrowed(s);
    }
    let mut out = Vec::with_capacity(s.len());
    for_each_seg(s, |seg| match seg {
        Seg::Valid(v) => out.extend_from_slice(v.to_lowercase().as_bytes()),
        Seg::Surrogate(cp) => push_char(&mut out, cp),
        Seg::Invalid(b) => out.push(b),
    });
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uq(s: &str, mode: Unquote) -> Vec<u8> {
        unquote(s.as_bytes(), mode).into_owned()
    }

    #[test]
    fn unquote_like_python() {
        assert_eq!(uq("/a%20b", Unquote::SurrogatePass), b"/a b");
        assert_eq!(uq("%zz%4", Unquote::SurrogatePass), b"%zz%4");
        // An encoded lone surrogate survives surrogatepass...
        assert_eq!(uq("%ED%B3%BF", Unquote::SurrogatePass), b"\xED\xB3\xBF");
        // ...but not replace (three replacement characters, as CPython).
        assert_eq!(
            uq("%ED%B3%BF", Unquote::Replace),
            "\u{FFFD}\u{FFFD}\u{FFFD}".as_bytes()
        );
        // Invalid UTF-8 makes surrogatepass fail and fall back to replace for the whole string.
        assert_eq!(
            uq("%ED%B3%BF%bb", Unquote::SurrogatePass),
            "\u{FFFD}\u{FFFD}\u{FFFD}\u{FFFD}".as_bytes()
        );
        // Non-ASCII characters split runs and are kept.
        assert_eq!(
            unquote("%41é%42".as_bytes(), Unquote::Replace).as_ref(),
            "AéB".as_bytes()
        );
    }

    #[test]
    fn fs_round_trip() {
        let raw = b"a\xffb";
        let s = fs_decode(raw);
        assert_eq!(s.as_ref(), b"a\xED\xB3\xBFb");
        assert_eq!(fs_encode(&s).unwrap().as_ref(), raw);
        assert!(fs_encode(b"\xED\xA0\x80").is_none());
        assert_eq!(
            fs_encode_lossy(b"\xED\xA0\x80").as_ref(),
            "\u{FFFD}".as_bytes()
        );
    }

    #[test]
    fn repr_quotes_and_escapes() {
        assert_eq!(repr(b"POST"), "'POST'");
        assert_eq!(repr(b"it's"), "\"it's\"");
        assert_eq!(repr(b"'\""), "'\\'\"'");
        assert_eq!(repr(b"a\\b\t\n\r\x1b\x7f"), "'a\\\\b\\t\\n\\r\\x1b\\x7f'");
        assert_eq!(repr(&latin1(b"\x85\xa0\xad\xe9")), "'\\x85\\xa0\\xadé'");
        assert_eq!(repr(b"\xED\xB3\xBF"), "'\\udcff'");
        assert_eq!(repr("€".as_bytes()), "'€'");
        assert_eq!(repr("\u{200b}".as_bytes()), "'\\u200b'");
    }

    #[test]
    fn quote_and_escape() {
        let mut out = Vec::new();
        push_quoted(&mut out, b"a b&<>/~_.-%\xED\xB3\xBF");
        assert_eq!(out, b"a%20b%26%3C%3E/~_.-%25%ED%B3%BF");
        let mut out = Vec::new();
        push_html_escaped(&mut out, b"<i>&\"'");
        assert_eq!(out, b"&lt;i&gt;&amp;\"'");
    }

    #[test]
    fn quote_table_is_pythons_safe_set() {
        // `urllib.parse.quote`'s always-safe characters plus `/`, as the percent-encoding
        // crate spells them.
        const SAFE: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
            .remove(b'_')
            .remove(b'.')
            .remove(b'-')
            .remove(b'~')
            .remove(b'/');
        let all: Vec<u8> = (0..=255).collect();
        let mut ours = Vec::new();
        push_quoted(&mut ours, &all);
        let theirs = percent_encoding::percent_encode(&all, SAFE).to_string();
        assert_eq!(ours, theirs.as_bytes());
        let mut escaped = Vec::new();
        push_html_escaped(&mut escaped, &all);
        assert_eq!(escaped.len(), 256 + 4 + 3 + 3);
    }

    #[test]
    fn lower_key_orders_like_python() {
        assert_eq!(lower_key(b"B2").as_ref(), b"b2");
        assert_eq!(lower_key("ÉΣ".as_bytes()).as_ref(), "éς".as_bytes());
        assert!(lower_key(b"b.TXT") < lower_key(b"B2"));
    }

    #[test]
    fn split_is_python_whitespace() {
        let words: Vec<_> = split_latin1(b" a\xa0b\x1cc  ").collect();
        assert_eq!(words, [&b"a"[..], b"b", b"c"]);
    }
}
