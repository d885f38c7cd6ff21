//! Conditional GET: `If-Modified-Since`, parsed exactly as `email.utils.parsedate_to_datetime`.
//!
//! CPython answers 304 when a file's modification time (UTC, whole seconds) is not after the
//! `If-Modified-Since` date, and ignores the header when `If-None-Match` is present, when the
//! date does not parse, or when it carries a non-UTC zone. Python's date parser is lenient
//! (RFC 850, asctime, missing weekday, two-digit years, `UT`/`UTC`/`Z`/`GMT`, numeric zones,
//! `.` as time separator); this is a transcription of its rules, because `httpdate` accepts only
//! the three HTTP forms and differs on exactly the inputs browsers never send but tests do.

use std::time::{SystemTime, UNIX_EPOCH};

use protocol::Headers;

use crate::pystr::split_latin1;
use crate::time::days_from_civil;

const MONTHS: [&[u8]; 24] = [
    b"jan",
    b"feb",
    b"mar",
    b"apr",
    b"may",
    b"jun",
    b"jul",
    b"aug",
    b"sep",
    b"oct",
    b"nov",
    b"dec",
    b"january",
    b"february",
    b"march",
    b"april",
    b"may",
    b"june",
    b"july",
    b"august",
    b"september",
    b"october",
    b"november",
    b"december",
];
const DAYS: [&[u8]; 7] = [b"mon", b"tue", b"wed", b"thu", b"fri", b"sat", b"sun"];

/// Whether a file with modification time `mtime` may be answered `304 Not Modified`, given the
/// request headers (the `If-Modified-Since` / `If-None-Match` rule of `send_head`).
pub fn is_not_modified(headers: &Headers, mtime: SystemTime) -> bool {
    if headers.contains("If-None-Match") {
        return false;
    }
    let Some(ims) = headers.get("If-Modified-Since") else {
        return false;
    };
    let Some(ims) = parse_if_modified_since(ims) else {
        return false;
    };
    last_modified_seconds(mtime) <= ims
}

/// `datetime.fromtimestamp(st_mtime, utc).replace(microsecond=0)` as seconds: rounded to
/// microseconds (half to even), then truncated to the second.
pub(crate) fn last_modified_seconds(mtime: SystemTime) -> i64 {
    let (secs, nanos) = match mtime.duration_since(UNIX_EPOCH) {
        Ok(d) => (
            i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
            d.subsec_nanos(),
        ),
        Err(e) => {
            let d = e.duration();
            let s = i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
            if d.subsec_nanos() == 0 {
                (s.saturating_neg(), 0)
            } else {
                (
                    s.saturating_neg().saturating_sub(1),
                    1_000_000_000 - d.subsec_nanos(),
                )
            }
        }
    };
    let micros = nanos / 1000;
    let rem = nanos % 1000;
    let micros = if rem > 500 || (rem == 500 && micros % 2 == 1) {
        micros + 1
    } else {
        micros
    };
    if micros >= 1_000_000 {
        secs.saturating_add(1)
    } else {
        secs
    }
}

/// Parses an `If-Modified-Since` value (raw header bytes, latin-1) to seconds since the epoch
/// in UTC; `None` where CPython ignores the header (unparsable, invalid date, non-UTC zone).
pub fn parse_if_modified_since(value: &[u8]) -> Option<i64> {
    let (y, mo, d, h, mi, s, tz) = parsedate_tz(value)?;
    // datetime(...) validation.
    if !(1..=9999).contains(&y)
        || !(1..=12).contains(&mo)
        || !(0..=23).contains(&h)
        || !(0..=59).contains(&mi)
        || !(0..=59).contains(&s)
    {
        return None;
    }
    let (y, mo) = (i64::try_from(y).ok()?, u32::try_from(mo).ok()?);
    let dim = days_in_month(y, mo);
    if !(1..=i128::from(dim)).contains(&d) {
        return None;
    }
    // A zone that is neither absent (naive: treated as UTC) nor zero is ignored. A nonzero zone
    // that is out of range would make CPython raise, which is also "ignored".
    if tz.is_some_and(|off| off != 0) {
        return None;
    }
    let days = days_from_civil(y, mo, u32::try_from(d).ok()?);
    Some(days * 86_400 + i64::try_from(h * 3600 + mi * 60 + s).ok()?)
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

type Parsed = (i128, i128, i128, i128, i128, i128, Option<i128>);

/// `email._parseaddr._parsedate_tz`, token for token. The zone is returned as Python's
/// `tzoffset` before scaling (`None` for "no zone" and for `-0000`).
fn parsedate_tz(value: &[u8]) -> Option<Parsed> {
    let mut data: Vec<Vec<u8>> = split_latin1(value).map(<[u8]>::to_vec).collect();
    if data.is_empty() {
        return None;
    }
    if data[0].ends_with(b",") || DAYS.contains(&data[0].to_ascii_lowercase().as_slice()) {
        data.remove(0);
    } else if let Some(i) = data[0].iter().rposition(|&b| b == b',') {
        data[0].drain(..=i);
    }
    if data.len() == 3 {
        let stuff: Vec<Vec<u8>> = data[0].split(|&b| b == b'-').map(<[u8]>::to_vec).collect();
        if stuff.len() == 3 {
            let rest = data.split_off(1);
            data = stuff;
            data.extend(rest);
        }
    }
    if data.len() == 4 {
        let s = data[3].clone();
        let i = s
            .iter()
            .position(|&b| b == b'+')
            .or_else(|| s.iter().position(|&b| b == b'-'));
        match i {
            Some(i) if i > 0 => {
                data[3] = s[..i].to_vec();
                data.push(s[i..].to_vec());
            }
            _ => data.push(Vec::new()),
        }
    }
    if data.len() < 5 {
        return None;
    }
    data.truncate(5);
    let mut it = data.into_iter();
    let (mut dd, mut mm, mut yy, mut tm, mut tz) =
        (it.next()?, it.next()?, it.next()?, it.next()?, it.next()?);
    if dd.is_empty() || mm.is_empty() || yy.is_empty() {
        return None;
    }
    mm.make_ascii_lowercase();
    let month_index = |m: &[u8]| MONTHS.iter().position(|&n| n == m);
    let mut idx = month_index(&mm);
    if idx.is_none() {
        std::mem::swap(&mut dd, &mut mm);
        mm.make_ascii_lowercase();
        idx = month_index(&mm);
    }
    let mut month = idx? + 1;
    if month > 12 {
        month -= 12;
    }
    if dd.last() == Some(&b',') {
        dd.pop();
    }
    if yy.iter().position(|&b| b == b':').is_some_and(|i| i > 0) {
        std::mem::swap(&mut yy, &mut tm);
    }
    if yy.last() == Some(&b',') {
        yy.pop();
        if yy.is_empty() {
            return None;
        }
    }
    if !yy.first().is_some_and(|&b| is_py_digit_latin1(b)) {
        std::mem::swap(&mut yy, &mut tz);
    }
    if tm.last() == Some(&b',') {
        tm.pop();
    }
    let (thh, tmm, tss) = split_time(&tm)?;
    let mut yy = py_int(&yy)?;
    let dd = py_int(&dd)?;
    let (thh, tmm, tss) = (py_int(thh)?, py_int(tmm)?, py_int(tss)?);
    if yy < 100 {
        yy += if yy > 68 { 1900 } else { 2000 };
    }
    let tzoffset = zone_offset(&mut tz);
    Some((yy, i128::try_from(month).ok()?, dd, thh, tmm, tss, tzoffset))
}

/// The hour, minute and second tokens of a time (`hh:mm[:ss]`, or with `.` separators).
fn split_time(tm: &[u8]) -> Option<(&[u8], &[u8], &[u8])> {
    let parts: Vec<&[u8]> = tm.split(|&b| b == b':').collect();
    match parts.as_slice() {
        [h, m] => Some((h, m, b"0")),
        [h, m, s] => Some((h, m, s)),
        [one] if one.contains(&b'.') => {
            let dot: Vec<&[u8]> = one.split(|&b| b == b'.').collect();
            match dot.as_slice() {
                [h, m] => Some((h, m, b"0")),
                [h, m, s] => Some((h, m, s)),
                _ => None,
            }
        }
        _ => None,
    }
}

/// `_timezones` (RFC 822 names; military zones other than `Z` are not recognised).
const ZONES: [(&[u8], i128); 14] = [
    (b"UT", 0),
    (b"UTC", 0),
    (b"GMT", 0),
    (b"Z", 0),
    (b"AST", -400),
    (b"ADT", -300),
    (b"EST", -500),
    (b"EDT", -400),
    (b"CST", -600),
    (b"CDT", -500),
    (b"MST", -700),
    (b"MDT", -600),
    (b"PST", -800),
    (b"PDT", -700),
];

/// Python's `tzoffset` before scaling: a named zone, else `int(tz)`, with `-0000` (and an
/// unparsable zone) meaning "no zone".
fn zone_offset(tz: &mut [u8]) -> Option<i128> {
    tz.make_ascii_uppercase();
    if let Some((_, off)) = ZONES.iter().find(|(name, _)| *name == &*tz) {
        return Some(*off);
    }
    match py_int(tz) {
        Some(0) if tz.first() == Some(&b'-') => None,
        other => other,
    }
}

/// `str.isdigit()` for a latin-1 character: ASCII digits and the superscripts ¹ ² ³.
fn is_py_digit_latin1(b: u8) -> bool {
    b.is_ascii_digit() || matches!(b, 0xB2 | 0xB3 | 0xB9)
}

/// Python's `int(s)` for a token without surrounding whitespace: optional sign, ASCII digits
/// with single underscores between them. Huge values saturate (only their sign and whether they
/// are zero matter to the callers, and out-of-range dates are rejected later).
fn py_int(s: &[u8]) -> Option<i128> {
    let (neg, digits) = match s.first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if digits.is_empty() || digits.starts_with(b"_") || digits.ends_with(b"_") {
        return None;
    }
    let mut v: i128 = 0;
    let mut prev_underscore = false;
    for &b in digits {
        if b == b'_' {
            if prev_underscore {
                return None;
            }
            prev_underscore = true;
            continue;
        }
        prev_underscore = false;
        if !b.is_ascii_digit() {
            return None;
        }
        v = v.saturating_mul(10).saturating_add(i128::from(b - b'0'));
    }
    Some(if neg { -v } else { v })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn p(s: &str) -> Option<i64> {
        parse_if_modified_since(s.as_bytes())
    }

    const T: i64 = 784_111_777; // Sun, 06 Nov 1994 08:49:37 GMT

    #[test]
    fn the_three_http_forms() {
        assert_eq!(p("Sun, 06 Nov 1994 08:49:37 GMT"), Some(T));
        assert_eq!(p("Sunday, 06-Nov-94 08:49:37 GMT"), Some(T));
        assert_eq!(p("Sun Nov  6 08:49:37 1994"), Some(T));
    }

    #[test]
    fn lenient_forms_python_accepts() {
        assert_eq!(p("06 Nov 1994 08:49:37 GMT"), Some(T));
        assert_eq!(p("Sun, 06 Nov 1994 08:49:37"), Some(T));
        for zone in [
            "UT", "UTC", "Z", "gmt", "+0000", "-0000", "+0", "0_0", "XYZ", "+00:00",
        ] {
            assert_eq!(
                p(&format!("Sun, 06 Nov 1994 08:49:37 {zone}")),
                Some(T),
                "{zone}"
            );
        }
        assert_eq!(p("Sun,06 Nov 1994 08:49:37 GMT"), Some(T));
        assert_eq!(p("Sun, 06 November 1994 08:49:37 GMT"), Some(T));
        assert_eq!(p("Sun, Nov 06 1994 08:49:37 GMT"), Some(T));
        assert_eq!(p("Sun, 06 Nov 1994 08.49.37 GMT"), Some(T));
        assert_eq!(p("Sun, 06 Nov 1994 08:49 GMT"), Some(T - 37));
        assert_eq!(p("Sun, 06 Nov 1994 08:49:37+0000"), Some(T));
    }

    #[test]
    fn ignored_values() {
        for v in [
            "",
            "   ",
            "garbage",
            "Sun, 06 Nov 1994 08:49:37 +0100",
            "Sun, 06 Nov 1994 08:49:37 EST",
            "Sun, 06 Nov 1994 08:49:60 GMT",
            "Sun, 31 Feb 1994 08:49:37 GMT",
            "Sun, 06 Foo 1994 08:49:37 GMT",
            "Sun, 06 Nov 1994 08-49-37 GMT",
            "Sun, 06 Nov 99999999999999999999999999999999999999999 08:49:37 GMT",
            "Sun, 06 Nov ²994 08:49:37 GMT",
        ] {
            assert_eq!(p(v), None, "{v:?}");
        }
    }

    #[test]
    fn two_digit_years() {
        assert_eq!(
            p("06 Nov 69 00:00:00 GMT"),
            Some(days_from_civil(1969, 11, 6) * 86_400)
        );
        assert_eq!(
            p("06 Nov 68 00:00:00 GMT"),
            Some(days_from_civil(2068, 11, 6) * 86_400)
        );
    }

    #[test]
    fn compare_with_mtime() {
        let mtime = UNIX_EPOCH + Duration::new(T as u64, 999_000_000);
        let mut h = Headers::new();
        h.append("If-Modified-Since", "Sun, 06 Nov 1994 08:49:37 GMT");
        assert!(is_not_modified(&h, mtime));
        let mut later = Headers::new();
        later.append("if-modified-since", "Sun, 06 Nov 1994 08:49:36 GMT");
        assert!(!is_not_modified(&later, mtime));
        h.append("If-None-Match", "*");
        assert!(!is_not_modified(&h, mtime));
        // Rounding to microseconds first, as datetime.fromtimestamp does.
        let edge = UNIX_EPOCH + Duration::new(T as u64 - 1, 999_999_600);
        let mut h = Headers::new();
        h.append("If-Modified-Since", "Sun, 06 Nov 1994 08:49:36 GMT");
        assert!(!is_not_modified(&h, edge));
    }
}
