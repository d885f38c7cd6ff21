//! The listing as JSON (`?format=json`, or `Accept: application/json` in the rich mode): an
//! array of entries in the listing's order.
//!
//! ```json
//! [{"name":"a.txt","type":"file","size":6,"mtime":1000000000,
//!   "modified":"2001-09-09T01:46:40Z","url":"a.txt"}]
//! ```
//!
//! `type` is `dir`, `file` or `symlink`; `size` is `null` for directories, `size` and the
//! times are `null` when unknown (a dangling link, or one leading outside the root). `name`
//! is the file name as UTF-8 (bytes that are not become U+FFFD); `url` is the `href` the HTML
//! listing links to, percent-encoded from the exact bytes, so it always names the file.

use std::fmt::Write as _;

use super::Entry;
use crate::pystr::push_quoted;
use crate::time::civil_from_unix;

/// The JSON text of `entries`, one entry a line.
pub(crate) fn render(entries: &[Entry]) -> Vec<u8> {
    let mut out = String::with_capacity(2 + entries.len() * 120);
    out.push('[');
    for (i, e) in entries.iter().enumerate() {
        out.push_str(if i == 0 { "\n" } else { ",\n" });
        out.push_str("{\"name\":");
        push_string(&mut out, &String::from_utf8_lossy(&e.raw));
        let kind = if e.is_link {
            "symlink"
        } else if e.is_dir {
            "dir"
        } else {
            "file"
        };
        let _ = write!(out, ",\"type\":\"{kind}\",\"size\":");
        match e.meta {
            Some(m) if !e.is_dir => {
                let _ = write!(out, "{}", m.size);
            }
            _ => out.push_str("null"),
        }
        match e.meta {
            Some(m) => {
                let _ = write!(
                    out,
                    ",\"mtime\":{},\"modified\":\"{}\"",
                    m.mtime,
                    rfc3339(m.mtime)
                );
            }
            None => out.push_str(",\"mtime\":null,\"modified\":null"),
        }
        out.push_str(",\"url\":");
        let mut url = Vec::new();
        push_quoted(&mut url, &e.text);
        if e.is_dir {
            url.push(b'/');
        }
        // Percent-encoding leaves ASCII only.
        push_string(&mut out, &String::from_utf8_lossy(&url));
        out.push('}');
    }
    out.push_str(if entries.is_empty() { "]\n" } else { "\n]\n" });
    out.into_bytes()
}

/// `secs` since the epoch as RFC 3339 in UTC: `2001-09-09T01:46:40Z`.
pub(crate) fn rfc3339(secs: i64) -> String {
    let c = civil_from_unix(secs);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        c.year, c.month, c.day, c.hour, c.minute, c.second
    )
}

/// A JSON string literal: `"` and `\` escaped, control characters as `\u00XX`.
fn push_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::listing::Meta;

    #[test]
    fn entries_as_json() {
        let entries = [
            Entry {
                raw: b"d ir".to_vec(),
                text: b"d ir".to_vec(),
                is_dir: true,
                is_link: false,
                meta: Some(Meta {
                    size: 4096,
                    mtime: 0,
                }),
            },
            Entry {
                raw: b"q\"\\\x01\xff.txt".to_vec(),
                text: b"q\"\\\x01\xed\xb3\xbf.txt".to_vec(),
                is_dir: false,
                is_link: false,
                meta: Some(Meta {
                    size: 6,
                    mtime: 1_000_000_000,
                }),
            },
            Entry {
                raw: b"gone".to_vec(),
                text: b"gone".to_vec(),
                is_dir: false,
                is_link: true,
                meta: None,
            },
        ];
        let text = String::from_utf8(render(&entries)).unwrap();
        assert_eq!(
            text,
            "[\n\
{\"name\":\"d ir\",\"type\":\"dir\",\"size\":null,\"mtime\":0,\"modified\":\"1970-01-01T00:00:00Z\",\"url\":\"d%20ir/\"},\n\
{\"name\":\"q\\\"\\\\\\u0001\u{fffd}.txt\",\"type\":\"file\",\"size\":6,\"mtime\":1000000000,\"modified\":\"2001-09-09T01:46:40Z\",\"url\":\"q%22%5C%01%ED%B3%BF.txt\"},\n\
{\"name\":\"gone\",\"type\":\"symlink\",\"size\":null,\"mtime\":null,\"modified\":null,\"url\":\"gone\"}\n]\n"
        );
        assert_eq!(render(&[]), b"[]\n");
    }
}
