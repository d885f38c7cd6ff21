//! Validators and preconditions (RFC 9110 sections 8.8 and 13) for file responses, in the
//! default mode only (`--compat` keeps CPython's `If-Modified-Since` rule alone).
//!
//! The `ETag` is strong: `"<inode>-<size>-<mtime in nanoseconds>"`, in hex. Rewriting a file
//! with the same size within the same second still changes it (the nanosecond mtime, or the
//! inode when the file is replaced by a rename).

use std::time::SystemTime;

use protocol::Headers;

use crate::conditional::{last_modified_seconds, parse_if_modified_since};
use crate::file_cache::Version;

/// What identifies the version of a file being served.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Validators {
    /// The entity tag's opaque part, quotes included.
    pub(crate) etag: String,
    /// Whether the tag is weak (`W/` before it): the representation compressed on the fly.
    pub(crate) weak: bool,
    /// The modification time.
    pub(crate) mtime: SystemTime,
}

impl Validators {
    /// The validators of a version of a file.
    pub(crate) fn of(version: &Version) -> Self {
        Self {
            etag: format!(
                "\"{:x}-{:x}-{:x}\"",
                version.ino(),
                version.len(),
                version.mtime_ns()
            ),
            mtime: version.modified(),
            weak: false,
        }
    }

    /// The validators of the file's content compressed on the fly with `coding`: a weak tag
    /// of its own (the plain tag with the coding appended), the file's time.
    pub(crate) fn compressed(&self, coding: &str) -> Self {
        let opaque = self.etag.trim_end_matches('"');
        Self {
            etag: format!("{opaque}-{coding}\""),
            weak: true,
            mtime: self.mtime,
        }
    }

    /// The `ETag` field value.
    pub(crate) fn header(&self) -> String {
        if self.weak {
            format!("W/{}", self.etag)
        } else {
            self.etag.clone()
        }
    }
}

/// The outcome of the preconditions of a `GET` or `HEAD`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Precondition {
    /// Go on and serve the file (ranges may still apply).
    Proceed,
    /// `304 Not Modified`.
    NotModified,
    /// `412 Precondition Failed`.
    Failed,
}

/// RFC 9110 13.2.2, steps 1 to 4, for a `GET` or `HEAD` of an existing file.
pub(crate) fn evaluate(headers: &Headers, v: &Validators) -> Precondition {
    // Most requests carry no precondition: one pass over the names settles it, where the
    // four lookups below would make four.
    let conditional = headers.iter().any(|field| {
        field
            .name()
            .get(..3)
            .is_some_and(|start| start.eq_ignore_ascii_case(b"if-"))
    });
    if !conditional {
        return Precondition::Proceed;
    }
    if headers.contains("If-Match") {
        if !matches_any(headers, "If-Match", v, true) {
            return Precondition::Failed;
        }
    } else if let Some(date) = headers
        .get("If-Unmodified-Since")
        .and_then(parse_if_modified_since)
        && last_modified_seconds(v.mtime) > date
    {
        return Precondition::Failed;
    }
    if headers.contains("If-None-Match") {
        if matches_any(headers, "If-None-Match", v, false) {
            return Precondition::NotModified;
        }
    } else if let Some(date) = headers
        .get("If-Modified-Since")
        .and_then(parse_if_modified_since)
        && last_modified_seconds(v.mtime) <= date
    {
        return Precondition::NotModified;
    }
    Precondition::Proceed
}

/// RFC 9110 13.1.5: whether an `If-Range` value lets the ranges apply. An entity tag must
/// match strongly; a date must equal the `Last-Modified` second exactly. Anything else
/// (a weak tag, an unparsable value) means "send the whole file".
pub(crate) fn if_range_holds(value: &[u8], v: &Validators) -> bool {
    let value = value.trim_ascii();
    if value.starts_with(b"\"") || value.starts_with(b"W/") {
        let mut tags = EntityTags { rest: value };
        return match (tags.next(), tags.next()) {
            (Some(Some(tag)), None) => tag.matches(v, true),
            _ => false,
        };
    }
    parse_if_modified_since(value).is_some_and(|date| last_modified_seconds(v.mtime) == date)
}

/// Whether any value of the `name` fields (`*` or a list of entity tags) matches `etag`,
/// strongly or weakly. A malformed list matches as far as it parses.
fn matches_any(headers: &Headers, name: &str, v: &Validators, strong: bool) -> bool {
    headers.get_all(name).any(|value| {
        if value.trim_ascii() == b"*" {
            return true;
        }
        EntityTags { rest: value }
            .map_while(|t| t)
            .any(|t| t.matches(v, strong))
    })
}

/// One `entity-tag`: `[W/] "opaque"`.
struct EntityTag<'a> {
    weak: bool,
    /// The opaque tag, quotes included.
    opaque: &'a [u8],
}

impl EntityTag<'_> {
    /// Strong comparison: neither weak, same opaque tag; weak: same opaque tag.
    fn matches(&self, v: &Validators, strong: bool) -> bool {
        (!strong || !(self.weak || v.weak)) && self.opaque == v.etag.as_bytes()
    }
}

/// The entity tags of a `#entity-tag` list; `Some(None)` at the first malformed element.
struct EntityTags<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for EntityTags<'a> {
    type Item = Option<EntityTag<'a>>;

    fn next(&mut self) -> Option<Self::Item> {
        let start = self
            .rest
            .iter()
            .position(|&b| !matches!(b, b' ' | b'\t' | b','))?;
        let s = &self.rest[start..];
        let (weak, s) = match s.strip_prefix(b"W/") {
            Some(s) => (true, s),
            None => (false, s),
        };
        let Some(body) = s.strip_prefix(b"\"") else {
            self.rest = &[];
            return Some(None);
        };
        // etagc: %x21 / %x23-7E / obs-text.
        let Some(close) = body.iter().position(|&b| b == b'"') else {
            self.rest = &[];
            return Some(None);
        };
        if body[..close].iter().any(|&b| b < 0x21 || b == 0x7f) {
            self.rest = &[];
            return Some(None);
        }
        let opaque = &s[..close + 2];
        self.rest = &body[close + 1..];
        // Only whitespace may come before the next comma.
        let next = self.rest.iter().position(|&b| !matches!(b, b' ' | b'\t'));
        if next.is_some_and(|i| self.rest[i] != b',') {
            self.rest = &[];
            return Some(None);
        }
        Some(Some(EntityTag { weak, opaque }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    const T: u64 = 784_111_777; // Sun, 06 Nov 1994 08:49:37 GMT
    const DATE: &str = "Sun, 06 Nov 1994 08:49:37 GMT";
    const BEFORE: &str = "Sun, 06 Nov 1994 08:49:36 GMT";

    fn v() -> Validators {
        Validators {
            etag: "\"a-b-c\"".into(),
            mtime: UNIX_EPOCH + Duration::new(T, 5),
            weak: false,
        }
    }

    fn eval(fields: &[(&str, &str)]) -> Precondition {
        let mut h = Headers::new();
        for (n, val) in fields {
            h.append(n.to_string(), val.to_string());
        }
        evaluate(&h, &v())
    }

    #[test]
    fn etag_is_strong_and_changes_with_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        std::fs::write(&p, b"one").unwrap();
        let of = |p: &std::path::Path| {
            Validators::of(&Version::of_file(&std::fs::File::open(p).unwrap()).unwrap())
        };
        let a = of(&p);
        assert!(a.etag.starts_with('"') && a.etag.ends_with('"'));
        assert_eq!(a, of(&p));
        let f = std::fs::File::options().write(true).open(&p).unwrap();
        f.set_modified(a.mtime + Duration::from_nanos(1)).unwrap();
        let b = of(&p);
        assert_ne!(a.etag, b.etag);
    }

    #[test]
    fn if_none_match() {
        use Precondition::*;
        assert_eq!(eval(&[("If-None-Match", "*")]), NotModified);
        assert_eq!(eval(&[("If-None-Match", "\"a-b-c\"")]), NotModified);
        assert_eq!(eval(&[("If-None-Match", "W/\"a-b-c\"")]), NotModified);
        assert_eq!(
            eval(&[("If-None-Match", "\"x\", W/\"a-b-c\"")]),
            NotModified
        );
        assert_eq!(
            eval(&[("If-None-Match", "\"x\""), ("If-None-Match", "\"a-b-c\"")]),
            NotModified
        );
        assert_eq!(eval(&[("If-None-Match", "\"x\"")]), Proceed);
        assert_eq!(eval(&[("If-None-Match", "a-b-c")]), Proceed);
        // It wins over If-Modified-Since.
        assert_eq!(
            eval(&[("If-None-Match", "\"x\""), ("If-Modified-Since", DATE)]),
            Proceed
        );
        assert_eq!(eval(&[("If-Modified-Since", DATE)]), NotModified);
        assert_eq!(eval(&[("If-Modified-Since", BEFORE)]), Proceed);
    }

    #[test]
    fn if_match_and_if_unmodified_since() {
        use Precondition::*;
        assert_eq!(eval(&[("If-Match", "*")]), Proceed);
        assert_eq!(eval(&[("If-Match", "\"a-b-c\"")]), Proceed);
        assert_eq!(eval(&[("If-Match", "\"q\" , \"a-b-c\"")]), Proceed);
        assert_eq!(eval(&[("If-Match", "W/\"a-b-c\"")]), Failed);
        assert_eq!(eval(&[("If-Match", "\"x\"")]), Failed);
        assert_eq!(eval(&[("If-Match", "\"x")]), Failed);
        assert_eq!(eval(&[("If-Unmodified-Since", DATE)]), Proceed);
        assert_eq!(eval(&[("If-Unmodified-Since", BEFORE)]), Failed);
        assert_eq!(eval(&[("If-Unmodified-Since", "garbage")]), Proceed);
        // If-Match decides alone; it is checked before If-None-Match.
        assert_eq!(
            eval(&[("If-Match", "*"), ("If-Unmodified-Since", BEFORE)]),
            Proceed
        );
        assert_eq!(
            eval(&[("If-Match", "\"x\""), ("If-None-Match", "*")]),
            Failed
        );
        assert_eq!(
            eval(&[("If-Match", "*"), ("If-None-Match", "*")]),
            NotModified
        );
    }

    #[test]
    fn if_range() {
        assert!(if_range_holds(b"\"a-b-c\"", &v()));
        assert!(!if_range_holds(b"W/\"a-b-c\"", &v()));
        assert!(!if_range_holds(b"\"x\"", &v()));
        assert!(!if_range_holds(b"\"a-b-c\", \"x\"", &v()));
        assert!(if_range_holds(DATE.as_bytes(), &v()));
        assert!(!if_range_holds(BEFORE.as_bytes(), &v()));
        assert!(!if_range_holds(b"Sun, 06 Nov 1994 08:49:38 GMT", &v()));
        assert!(!if_range_holds(b"yesterday", &v()));
    }

    #[test]
    fn entity_tag_lists() {
        let tags = |s: &str| {
            EntityTags { rest: s.as_bytes() }
                .map(|t| t.map(|t| (t.weak, String::from_utf8(t.opaque.to_vec()).unwrap())))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            tags(" \"a\",W/\"b,c\" ,, \"\""),
            [
                Some((false, "\"a\"".into())),
                Some((true, "\"b,c\"".into())),
                Some((false, "\"\"".into()))
            ]
        );
        assert_eq!(tags("\"a\" x"), [None]);
        assert_eq!(tags("\"a b\""), [None]);
        assert_eq!(tags(""), []);
    }
}
