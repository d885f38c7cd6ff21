//! What a listing request asks for beside the directory: the sort order and format in its
//! query string (`?sort=size&order=desc`, `?format=json`), and whether its `Accept` header
//! prefers JSON to HTML.
//!
//! Parsing is strict and forgiving at once: only the exact values below mean anything, and
//! anything else (unknown keys, unknown values, percent-encoded spellings) is ignored.

use super::Entry;

/// The column a listing is sorted by.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) enum SortKey {
    /// By name, case-insensitively, as CPython sorts.
    #[default]
    Name,
    Size,
    /// By modification time.
    Date,
}

impl SortKey {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Name => "name",
            Self::Size => "size",
            Self::Date => "date",
        }
    }
}

/// Ascending or descending.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) enum Order {
    #[default]
    Asc,
    Desc,
}

impl Order {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Asc => "asc",
            Self::Desc => "desc",
        }
    }

    pub(crate) fn flip(self) -> Self {
        match self {
            Self::Asc => Self::Desc,
            Self::Desc => Self::Asc,
        }
    }
}

/// `?format=`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    Html,
    Json,
}

/// The listing parameters of a query string.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct ListingQuery {
    pub(crate) sort: SortKey,
    pub(crate) order: Order,
    pub(crate) format: Option<Format>,
}

impl ListingQuery {
    /// The parameters in the query of `path` (`self.path`: `/dir/?sort=size&order=desc`).
    /// For each key the first recognised value counts.
    pub(crate) fn parse(path: &[u8]) -> Self {
        let mut q = Self::default();
        let path = path
            .iter()
            .position(|&b| b == b'#')
            .map_or(path, |end| &path[..end]);
        let Some(start) = path.iter().position(|&b| b == b'?') else {
            return q;
        };
        let query = &path[start + 1..];
        let (mut sort, mut order) = (None, None);
        for pair in query.split(|&b| b == b'&') {
            let Some(eq) = pair.iter().position(|&b| b == b'=') else {
                continue;
            };
            let (key, value) = (&pair[..eq], &pair[eq + 1..]);
            match (key, value) {
                (b"sort", b"name") => sort = sort.or(Some(SortKey::Name)),
                (b"sort", b"size") => sort = sort.or(Some(SortKey::Size)),
                (b"sort", b"date") => sort = sort.or(Some(SortKey::Date)),
                (b"order", b"asc") => order = order.or(Some(Order::Asc)),
                (b"order", b"desc") => order = order.or(Some(Order::Desc)),
                (b"format", b"json") => q.format = q.format.or(Some(Format::Json)),
                (b"format", b"html") => q.format = q.format.or(Some(Format::Html)),
                _ => {}
            }
        }
        q.sort = sort.unwrap_or_default();
        q.order = order.unwrap_or_default();
        q
    }
}

/// Sorts entries that are already in CPython's order (by lower-cased name): directories
/// first, then by the query's column, ties by name; `desc` reverses both.
pub(crate) fn sort(entries: &mut Vec<Entry>, q: ListingQuery) {
    let mut keyed: Vec<((bool, i128, i64), Entry)> = entries
        .drain(..)
        .enumerate()
        .map(|(i, e)| {
            let primary = match (q.sort, e.meta) {
                (SortKey::Size, Some(m)) if !e.is_dir => i128::from(m.size),
                (SortKey::Date, Some(m)) => i128::from(m.mtime),
                _ => -1,
            };
            let name = i64::try_from(i).unwrap_or(i64::MAX);
            let key = match q.order {
                Order::Asc => (!e.is_dir, primary, name),
                Order::Desc => (!e.is_dir, -primary, -name),
            };
            (key, e)
        })
        .collect();
    keyed.sort_by_key(|(key, _)| *key);
    entries.extend(keyed.into_iter().map(|(_, e)| e));
}

/// Whether `Accept` ranks `application/json` above `text/html` (RFC 9110 12.5.1: each type
/// takes the `q` of the most specific range that matches it; `*/*` alone ties, and a tie is
/// HTML). A range with a malformed `q` is ignored.
pub(crate) fn prefers_json(accept: &[u8]) -> bool {
    let json = quality(accept, b"application", b"json");
    json > 0 && json > quality(accept, b"text", b"html")
}

/// The quality (in thousandths) `accept` gives `kind/sub`; 0 when no range matches.
fn quality(accept: &[u8], kind: &[u8], sub: &[u8]) -> u16 {
    let mut best: Option<(u8, u16)> = None;
    for range in accept.split(|&b| b == b',') {
        let mut parts = range.split(|&b| b == b';');
        let media = trim(parts.next().unwrap_or_default());
        let Some(slash) = media.iter().position(|&b| b == b'/') else {
            continue;
        };
        let (k, s) = (&media[..slash], &media[slash + 1..]);
        let specificity = if k == b"*" && s == b"*" {
            0
        } else if k.eq_ignore_ascii_case(kind) && s == b"*" {
            1
        } else if k.eq_ignore_ascii_case(kind) && s.eq_ignore_ascii_case(sub) {
            2
        } else {
            continue;
        };
        let mut q = Some(1000);
        for param in parts {
            let param = trim(param);
            if param.len() >= 2 && param[..2].eq_ignore_ascii_case(b"q=") {
                q = parse_q(&param[2..]);
            }
        }
        let Some(q) = q else { continue };
        if best.is_none_or(|(s, _)| specificity > s) {
            best = Some((specificity, q));
        }
    }
    best.map_or(0, |(_, q)| q)
}

/// `qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] )`, in thousandths.
fn parse_q(v: &[u8]) -> Option<u16> {
    let (int, frac) = match v.iter().position(|&b| b == b'.') {
        Some(dot) => (&v[..dot], &v[dot + 1..]),
        None => (v, &b""[..]),
    };
    if frac.len() > 3 || !frac.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let mut thousandths = 0u16;
    for (i, &d) in frac.iter().enumerate() {
        thousandths += u16::from(d - b'0') * [100, 10, 1][i];
    }
    match int {
        b"0" => Some(thousandths),
        b"1" if thousandths == 0 => Some(1000),
        _ => None,
    }
}

fn trim(mut s: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = s {
        s = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = s {
        s = rest;
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::listing::Meta;

    #[test]
    fn query_is_strict() {
        let q = ListingQuery::parse(b"/d/?sort=size&order=desc");
        assert_eq!(
            (q.sort, q.order, q.format),
            (SortKey::Size, Order::Desc, None)
        );
        let q = ListingQuery::parse(b"/d/?sort=SIZE&order=down&x=1&format=json#frag");
        assert_eq!(
            (q.sort, q.order, q.format),
            (SortKey::Name, Order::Asc, Some(Format::Json))
        );
        assert_eq!(
            ListingQuery::parse(b"/d/?sort=%73ize&sort&=&sort=date&sort=size").sort,
            SortKey::Date
        );
        assert_eq!(
            ListingQuery::parse(b"/d/#?sort=size"),
            ListingQuery::default()
        );
        assert_eq!(ListingQuery::parse(b"/d/"), ListingQuery::default());
    }

    #[test]
    fn accept_negotiation() {
        assert!(prefers_json(b"application/json"));
        assert!(prefers_json(b"text/html;q=0.5, application/json"));
        assert!(prefers_json(b"application/*"));
        assert!(!prefers_json(b"*/*"));
        assert!(!prefers_json(b"text/html, application/json"));
        assert!(!prefers_json(
            b"text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
        ));
        assert!(!prefers_json(b"application/json;q=0"));
        assert!(!prefers_json(b"application/json;q=2"));
        assert!(prefers_json(b"text/*;q=0.2, APPLICATION/JSON ; q=0.3"));
        assert!(!prefers_json(b""));
    }

    fn entry(name: &str, is_dir: bool, size: u64, mtime: i64) -> Entry {
        Entry {
            raw: name.into(),
            text: name.into(),
            is_dir,
            is_link: false,
            meta: Some(Meta { size, mtime }),
        }
    }

    fn names(entries: &[Entry]) -> Vec<&str> {
        entries
            .iter()
            .map(|e| std::str::from_utf8(&e.raw).unwrap())
            .collect()
    }

    #[test]
    fn directories_first_then_the_column() {
        // Already in CPython's order.
        let all = vec![
            entry("a", false, 30, 3),
            entry("B", true, 4096, 1),
            entry("c", false, 10, 2),
            entry("d", true, 4096, 2),
            entry("e", false, 20, 1),
        ];
        let sorted = |sort, order| {
            let mut v = all.clone();
            sort_entries(&mut v, sort, order);
            names(&v).join(",")
        };
        assert_eq!(sorted(SortKey::Name, Order::Asc), "B,d,a,c,e");
        assert_eq!(sorted(SortKey::Name, Order::Desc), "d,B,e,c,a");
        assert_eq!(sorted(SortKey::Size, Order::Asc), "B,d,c,e,a");
        assert_eq!(sorted(SortKey::Size, Order::Desc), "d,B,a,e,c");
        assert_eq!(sorted(SortKey::Date, Order::Asc), "B,d,e,c,a");
        assert_eq!(sorted(SortKey::Date, Order::Desc), "d,B,a,c,e");
    }

    fn sort_entries(v: &mut Vec<Entry>, sort_key: SortKey, order: Order) {
        sort(
            v,
            ListingQuery {
                sort: sort_key,
                order,
                format: None,
            },
        );
    }
}
