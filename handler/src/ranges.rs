//! Byte ranges (RFC 9110 section 14): parsing a `Range` header and deciding what to send.
//!
//! Pure functions: a header value and a file length in, a decision out. The wiring (status,
//! `Content-Range`, multipart bodies) is in `static_files`.
//!
//! Decisions, where the RFC leaves them to the server:
//! - A syntactically invalid `Range` (bad numbers, `last < first`, whitespace inside a range,
//!   `bytes=` with nothing) or one in a unit other than `bytes` is ignored: the whole file, 200
//!   (RFC 9110 14.2 allows ignoring an invalid ranges-specifier).
//! - Numbers too large for 64 bits saturate: `bytes=0-99999999999999999999` is the whole file,
//!   `bytes=99999999999999999999-` is unsatisfiable, as the RFC's arithmetic says.
//! - Overlapping and adjacent ranges are coalesced; the parts keep the order in which their
//!   earliest range was asked for (RFC 9110 14.6).
//! - More than [`MAX_RANGES`] ranges, or more than [`MAX_OVERLAPS`] ranges that overlap another
//!   one, are refused as a denial of service (RFC 9110 14.2): the whole file is served, 200,
//!   as nginx does past its `max_ranges`.
//! - A zero-length file satisfies no range (a 206 cannot describe an empty span): 416 with
//!   `Content-Range: bytes */0`.

/// The most ranges one request may ask for; beyond this the header is ignored (nginx's
/// `max_ranges` has no default; Apache's `MaxRanges` defaults to 200).
pub(crate) const MAX_RANGES: usize = 100;

/// The most ranges that may overlap (not merely touch) an earlier one before the header is
/// ignored: RFC 9110 14.2 names "more than two overlapping ranges" as an attack sign.
pub(crate) const MAX_OVERLAPS: usize = 2;

/// One range of a `Range` header, as written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Spec {
    /// `first-last` (`last` is `None` for `first-`).
    Int { first: u64, last: Option<u64> },
    /// `-suffix`: the last `suffix` bytes.
    Suffix(u64),
}

/// A span of the file: `first..=last`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Span {
    /// The first byte.
    pub(crate) first: u64,
    /// The last byte (inclusive).
    pub(crate) last: u64,
}

impl Span {
    /// How many bytes the span holds.
    pub(crate) fn len(self) -> u64 {
        self.last - self.first + 1
    }
}

/// What a `Range` header asks of a file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Ranges {
    /// Invalid, another unit, or refused as abusive: send the whole file (200).
    Ignore,
    /// Valid, but no range overlaps the file: 416.
    Unsatisfiable,
    /// These spans (coalesced, at least one), in the order to send them.
    Spans(Vec<Span>),
}

/// Parses `value` (a `Range` field value) against a file of `len` bytes.
pub(crate) fn evaluate(value: &[u8], len: u64) -> Ranges {
    let Some(specs) = parse(value) else {
        return Ranges::Ignore;
    };
    if specs.len() > MAX_RANGES {
        return Ranges::Ignore;
    }
    // Resolve against the length; drop what does not overlap the file.
    let mut spans: Vec<(usize, Span)> = Vec::with_capacity(specs.len());
    for (i, spec) in specs.into_iter().enumerate() {
        let span = match spec {
            Spec::Int { first, .. } if first >= len => continue,
            Spec::Int { first, last } => Span {
                first,
                last: last.map_or(len - 1, |l| l.min(len - 1)),
            },
            Spec::Suffix(0) => continue,
            Spec::Suffix(_) if len == 0 => continue,
            Spec::Suffix(n) => Span {
                first: len - n.min(len),
                last: len - 1,
            },
        };
        spans.push((i, span));
    }
    if spans.is_empty() {
        return Ranges::Unsatisfiable;
    }
    // Coalesce in file order; each merged span keeps its earliest position in the request.
    spans.sort_by_key(|&(i, s)| (s.first, i));
    let mut merged: Vec<(usize, Span)> = Vec::with_capacity(spans.len());
    let mut overlaps = 0;
    for (i, span) in spans {
        match merged.last_mut() {
            Some((at, m)) if span.first <= m.last.saturating_add(1) => {
                if span.first <= m.last {
                    overlaps += 1;
                }
                m.last = m.last.max(span.last);
                *at = (*at).min(i);
            }
            _ => merged.push((i, span)),
        }
    }
    if overlaps > MAX_OVERLAPS {
        return Ranges::Ignore;
    }
    merged.sort_by_key(|&(i, _)| i);
    Ranges::Spans(merged.into_iter().map(|(_, s)| s).collect())
}

/// `ranges-specifier` for the `bytes` unit: `None` if invalid or in another unit.
fn parse(value: &[u8]) -> Option<Vec<Spec>> {
    let value = value.trim_ascii();
    let eq = value.iter().position(|&b| b == b'=')?;
    let (unit, set) = (&value[..eq], &value[eq + 1..]);
    if !unit.eq_ignore_ascii_case(b"bytes") {
        return None;
    }
    let mut specs = Vec::new();
    // `1#range-spec`: empty elements and whitespace around commas are allowed. Stop counting
    // (and give up) well past the limit, so a huge header costs no more than that.
    for element in set.split(|&b| b == b',') {
        let element = element.trim_ascii();
        if element.is_empty() {
            continue;
        }
        if specs.len() > MAX_RANGES {
            return Some(specs);
        }
        specs.push(parse_spec(element)?);
    }
    (!specs.is_empty()).then_some(specs)
}

/// One `range-spec` of the `bytes` unit.
fn parse_spec(s: &[u8]) -> Option<Spec> {
    let dash = s.iter().position(|&b| b == b'-')?;
    let (first, last) = (&s[..dash], &s[dash + 1..]);
    if first.is_empty() {
        return Some(Spec::Suffix(digits(last)?));
    }
    let first = digits(first)?;
    let last = if last.is_empty() {
        None
    } else {
        Some(digits(last)?)
    };
    if last.is_some_and(|l| l < first) {
        return None;
    }
    Some(Spec::Int { first, last })
}

/// `1*DIGIT`, saturating at `u64::MAX`.
fn digits(s: &[u8]) -> Option<u64> {
    if s.is_empty() || !s.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(s.iter().fold(0u64, |n, &d| {
        n.saturating_mul(10).saturating_add(u64::from(d - b'0'))
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spans(value: &str, len: u64) -> Vec<(u64, u64)> {
        match evaluate(value.as_bytes(), len) {
            Ranges::Spans(s) => s.into_iter().map(|s| (s.first, s.last)).collect(),
            other => panic!("{value}: {other:?}"),
        }
    }

    #[test]
    fn rfc_9110_examples() {
        // 14.1.2, a representation of 10000 bytes.
        assert_eq!(spans("bytes=0-499", 10_000), [(0, 499)]);
        assert_eq!(spans("bytes=500-999", 10_000), [(500, 999)]);
        assert_eq!(spans("bytes=-500", 10_000), [(9500, 9999)]);
        assert_eq!(spans("bytes=9500-", 10_000), [(9500, 9999)]);
        assert_eq!(spans("bytes=0-0,-1", 10_000), [(0, 0), (9999, 9999)]);
        assert_eq!(
            spans("bytes= 0-999, 4500-5499, -1000", 10_000),
            [(0, 999), (4500, 5499), (9000, 9999)]
        );
        assert_eq!(spans("bytes=500-600,601-999", 10_000), [(500, 999)]);
        assert_eq!(spans("bytes=500-700,601-999", 10_000), [(500, 999)]);
        // 14.1.1: last-pos past the end means the end; a suffix longer than the file is all.
        assert_eq!(spans("bytes=0-20000", 10_000), [(0, 9999)]);
        assert_eq!(spans("bytes=-20000", 10_000), [(0, 9999)]);
    }

    #[test]
    fn overflow_saturates() {
        assert_eq!(spans("bytes=0-99999999999999999999", 100), [(0, 99)]);
        assert_eq!(spans("bytes=-99999999999999999999", 100), [(0, 99)]);
        assert_eq!(
            evaluate(b"bytes=99999999999999999999-", 100),
            Ranges::Unsatisfiable
        );
    }

    #[test]
    fn whitespace_and_empty_elements() {
        assert_eq!(spans("  bytes=1-2  ", 10), [(1, 2)]);
        assert_eq!(spans("bytes=1-2 ,, ,4-5", 10), [(1, 2), (4, 5)]);
        assert_eq!(spans("BYTES=1-2", 10), [(1, 2)]);
        for bad in ["bytes=1 - 2", "bytes = 1-2", "bytes=1-\t2"] {
            assert_eq!(evaluate(bad.as_bytes(), 10), Ranges::Ignore, "{bad}");
        }
    }

    #[test]
    fn invalid_is_ignored() {
        for bad in [
            "bytes=",
            "bytes=,",
            "bytes",
            "",
            "=0-1",
            "bytes=-",
            "bytes=a-b",
            "bytes=5-4",
            "bytes=0-1,5-4",
            "bytes=+1-2",
            "bytes=0x1-2",
            "bytes=1-2-3",
            "bytes=--1",
            "items=0-1",
            "bytes0-1",
            "none",
        ] {
            assert_eq!(evaluate(bad.as_bytes(), 10), Ranges::Ignore, "{bad:?}");
        }
    }

    #[test]
    fn unsatisfiable() {
        assert_eq!(evaluate(b"bytes=10-", 10), Ranges::Unsatisfiable);
        assert_eq!(evaluate(b"bytes=10-20,30-", 10), Ranges::Unsatisfiable);
        assert_eq!(evaluate(b"bytes=-0", 10), Ranges::Unsatisfiable);
        // Unsatisfiable ranges among satisfiable ones are dropped.
        assert_eq!(spans("bytes=-0,20-30,2-3", 10), [(2, 3)]);
        assert_eq!(spans("bytes=9-", 10), [(9, 9)]);
    }

    #[test]
    fn zero_length_file() {
        for r in ["bytes=0-", "bytes=0-0", "bytes=-1", "bytes=-0"] {
            assert_eq!(evaluate(r.as_bytes(), 0), Ranges::Unsatisfiable, "{r}");
        }
        assert_eq!(evaluate(b"bytes=x", 0), Ranges::Ignore);
    }

    #[test]
    fn coalescing_keeps_request_order() {
        assert_eq!(spans("bytes=50-59,0-9,10-19", 100), [(50, 59), (0, 19)]);
        assert_eq!(spans("bytes=-10,0-9", 100), [(90, 99), (0, 9)]);
        assert_eq!(spans("bytes=0-,0-", 100), [(0, 99)]);
        assert_eq!(spans("bytes=0-1,1-2,2-3", 100), [(0, 3)]);
    }

    #[test]
    fn abuse_is_ignored() {
        let many = (0..=MAX_RANGES).map(|i| format!("{}-{}", i * 2, i * 2));
        let many = format!("bytes={}", many.collect::<Vec<_>>().join(","));
        assert_eq!(evaluate(many.as_bytes(), 1_000_000), Ranges::Ignore);
        let limit = (0..MAX_RANGES).map(|i| format!("{}-{}", i * 2, i * 2));
        let limit = format!("bytes={}", limit.collect::<Vec<_>>().join(","));
        let Ranges::Spans(s) = evaluate(limit.as_bytes(), 1_000_000) else {
            panic!()
        };
        assert_eq!(s.len(), MAX_RANGES);
        // Many tiny overlapping ranges.
        assert_eq!(evaluate(b"bytes=0-9,1-9,2-9,3-9", 100), Ranges::Ignore);
        assert_eq!(spans("bytes=0-9,1-9,2-9", 100), [(0, 9)]);
        // Touching is not overlapping.
        assert_eq!(spans("bytes=0-0,1-1,2-2,3-3,4-4", 100), [(0, 4)]);
    }
}
