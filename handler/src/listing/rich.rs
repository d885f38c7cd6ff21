//! The rich listing (`--listing rich`): a table of names, sizes and modification times with
//! sort links, a parent link and a breadcrumb path; directories first; light and dark themes
//! from `prefers-color-scheme`; long names wrap; no JavaScript.
//!
//! Names are escaped and quoted exactly as CPython's listing does (`html.escape` of the raw
//! bytes, `urllib.parse.quote` of the decoded name), and only ever appear in text and in
//! percent-encoded `href`s, never in another attribute.

use std::fmt::Write as _;

use super::Entry;
use super::json::rfc3339;
use super::query::{ListingQuery, Order, SortKey};
use crate::pystr::{fs_encode_lossy, push_html_escaped, push_quoted};
use crate::time::civil_from_unix;

const STYLE: &str = "\
:root{color-scheme:light dark;--bg:#fff;--fg:#1f2328;--muted:#656d76;--line:#d8dee4;\
--link:#0969da;--hover:#f6f8fa}
@media (prefers-color-scheme:dark){:root{--bg:#0d1117;--fg:#e6edf3;--muted:#8d96a0;\
--line:#30363d;--link:#4493f8;--hover:#161b22}}
*{box-sizing:border-box}
body{margin:0 auto;max-width:64rem;padding:1.5rem 1rem;background:var(--bg);color:var(--fg);\
font:15px/1.45 system-ui,-apple-system,\"Segoe UI\",Roboto,sans-serif}
a{color:var(--link);text-decoration:none}
a:hover{text-decoration:underline}
h1{font-size:1.3rem;font-weight:600;margin:0 0 1rem;overflow-wrap:anywhere}
table{width:100%;border-collapse:collapse;table-layout:fixed}
th,td{padding:.3rem .6rem;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}
th{font-size:.85rem;font-weight:600}
th a{color:var(--muted)}
.size{width:7.5rem;text-align:right}
.date{width:11rem}
td.name{overflow-wrap:anywhere}
td.size,td.date{color:var(--muted);white-space:nowrap;font-variant-numeric:tabular-nums}
tbody tr:hover{background:var(--hover)}
tr.dir td.name a{font-weight:600}
.note{color:var(--muted);font-size:.8rem;margin-left:.4rem}
footer{color:var(--muted);font-size:.85rem;margin-top:.8rem}
form.upload{margin-top:.8rem}
@media (max-width:36rem){.date{display:none}.size{width:5.5rem}}
";

/// The page for the directory at `path` (the request's path, percent-decoded, without its
/// query) holding `entries`, already sorted as `query` says; with `upload_form`, a form that
/// uploads files into it (a multipart `POST` to the directory itself).
pub(crate) fn render(
    path: &[u8],
    entries: &[Entry],
    query: ListingQuery,
    upload_form: bool,
) -> Vec<u8> {
    let mut r = Vec::with_capacity(2500 + entries.len() * 260);
    r.extend_from_slice(
        b"<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
<meta name=\"color-scheme\" content=\"light dark\">\n<title>Index of ",
    );
    push_text(&mut r, path);
    r.extend_from_slice(b"</title>\n<style>\n");
    r.extend_from_slice(STYLE.as_bytes());
    r.extend_from_slice(b"</style>\n</head>\n<body>\n<h1>Index of ");
    push_breadcrumb(&mut r, path);
    r.extend_from_slice(b"</h1>\n<table>\n<thead><tr>");
    for (key, label, class) in [
        (SortKey::Name, "Name", "name"),
        (SortKey::Size, "Size", "size"),
        (SortKey::Date, "Modified (UTC)", "date"),
    ] {
        push_header(&mut r, query, key, label, class);
    }
    r.extend_from_slice(b"</tr></thead>\n<tbody>\n");
    if path != b"/" {
        r.extend_from_slice(
            b"<tr class=\"dir\"><td class=\"name\"><a href=\"../\">../</a> \
<span class=\"note\">parent directory</span></td><td class=\"size\"></td>\
<td class=\"date\"></td></tr>\n",
        );
    }
    for e in entries {
        push_row(&mut r, e);
    }
    let dirs = entries.iter().filter(|e| e.is_dir).count();
    r.extend_from_slice(b"</tbody>\n</table>\n");
    if upload_form {
        r.extend_from_slice(
            b"<form class=\"upload\" method=\"post\" action=\"./\" \
enctype=\"multipart/form-data\"><input type=\"file\" name=\"file\" multiple required> \
<button type=\"submit\">Upload</button></form>\n",
        );
    }
    let _ = write_bytes(
        &mut r,
        format_args!(
            "<footer>{} {}, {} {}</footer>\n</body>\n</html>\n",
            dirs,
            if dirs == 1 {
                "directory"
            } else {
                "directories"
            },
            entries.len() - dirs,
            if entries.len() - dirs == 1 {
                "file"
            } else {
                "files"
            },
        ),
    );
    r
}

/// A column heading linking to its sort: the current column flips its order; another starts
/// ascending by name, descending (largest, newest first) by size and date.
fn push_header(r: &mut Vec<u8>, query: ListingQuery, key: SortKey, label: &str, class: &str) {
    let active = query.sort == key;
    let order = if active {
        query.order.flip()
    } else if key == SortKey::Name {
        Order::Asc
    } else {
        Order::Desc
    };
    let _ = write_bytes(r, format_args!("<th class=\"{class}\""));
    if active {
        let aria = match query.order {
            Order::Asc => "ascending",
            Order::Desc => "descending",
        };
        let _ = write_bytes(r, format_args!(" aria-sort=\"{aria}\""));
    }
    let _ = write_bytes(
        r,
        format_args!(
            "><a href=\"?sort={}&amp;order={}\">{label}",
            key.as_str(),
            order.as_str()
        ),
    );
    if active {
        r.extend_from_slice(match query.order {
            Order::Asc => " \u{25b2}".as_bytes(),
            Order::Desc => " \u{25bc}".as_bytes(),
        });
    }
    r.extend_from_slice(b"</a></th>");
}

fn push_row(r: &mut Vec<u8>, e: &Entry) {
    r.extend_from_slice(if e.is_dir {
        b"<tr class=\"dir\"><td class=\"name\"><a href=\""
    } else {
        b"<tr class=\"file\"><td class=\"name\"><a href=\""
    });
    push_quoted(r, &e.text);
    if e.is_dir {
        r.push(b'/');
    }
    r.extend_from_slice(b"\">");
    // html.escape(displayname) encoded with surrogateescape gives back the raw name bytes.
    push_html_escaped(r, &e.raw);
    if e.is_dir {
        r.push(b'/');
    }
    r.extend_from_slice(b"</a>");
    if e.is_link {
        r.extend_from_slice(b"<span class=\"note\">symlink</span>");
    }
    r.extend_from_slice(b"</td>");
    match e.meta {
        Some(m) if !e.is_dir => {
            let _ = write_bytes(
                r,
                format_args!(
                    "<td class=\"size\" title=\"{} bytes\">{}</td>",
                    m.size,
                    human_size(m.size)
                ),
            );
        }
        _ => r.extend_from_slice("<td class=\"size\">\u{2014}</td>".as_bytes()),
    }
    match e.meta {
        Some(m) => {
            let c = civil_from_unix(m.mtime);
            let _ = write_bytes(
                r,
                format_args!(
                    "<td class=\"date\"><time datetime=\"{}\">{:04}-{:02}-{:02} {:02}:{:02}</time></td>",
                    rfc3339(m.mtime),
                    c.year,
                    c.month,
                    c.day,
                    c.hour,
                    c.minute
                ),
            );
        }
        None => r.extend_from_slice(b"<td class=\"date\"></td>"),
    }
    r.extend_from_slice(b"</tr>\n");
}

/// `Index of` followed by the path, each directory a link: `/` `sub/` `inner/`.
fn push_breadcrumb(r: &mut Vec<u8>, path: &[u8]) {
    r.extend_from_slice(b"<a href=\"/\">/</a>");
    let mut href = b"/".to_vec();
    let segments: Vec<&[u8]> = path
        .split(|&b| b == b'/')
        .filter(|s| !s.is_empty())
        .collect();
    for (i, seg) in segments.iter().enumerate() {
        push_quoted(&mut href, seg);
        let last = i + 1 == segments.len();
        // The last segment is a directory only when the path ends in `/`, which a listed
        // path always does; it is kept generic all the same.
        if !last || path.ends_with(b"/") {
            href.push(b'/');
        }
        r.extend_from_slice(b"<a href=\"");
        r.extend_from_slice(&href);
        r.extend_from_slice(b"\">");
        push_text(r, seg);
        r.extend_from_slice(b"</a>");
        if !last || path.ends_with(b"/") {
            r.push(b'/');
        }
    }
}

/// Text of a Python string (generalised UTF-8), HTML-escaped and encoded as CPython's
/// listing encodes its title.
fn push_text(r: &mut Vec<u8>, s: &[u8]) {
    let mut escaped = Vec::with_capacity(s.len());
    push_html_escaped(&mut escaped, s);
    r.extend_from_slice(&fs_encode_lossy(&escaped));
}

fn write_bytes(r: &mut Vec<u8>, args: std::fmt::Arguments<'_>) -> std::fmt::Result {
    let mut s = String::new();
    s.write_fmt(args)?;
    r.extend_from_slice(s.as_bytes());
    Ok(())
}

/// A size in binary units: `512 B`, `1.5 KiB`, `12 KiB`, `3.0 GiB`.
pub(crate) fn human_size(n: u64) -> String {
    const UNITS: [&str; 6] = ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let n = u128::from(n);
    let mut unit = 0;
    let mut div: u128 = 1024;
    while unit + 1 < UNITS.len() && n >= div * 1024 {
        div *= 1024;
        unit += 1;
    }
    let tenths = (n * 10 + div / 2) / div;
    if tenths < 100 {
        format!("{}.{} {}", tenths / 10, tenths % 10, UNITS[unit])
    } else {
        format!("{} {}", (n + div / 2) / div, UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::listing::Meta;

    #[test]
    fn sizes_in_binary_units() {
        assert_eq!(human_size(0), "0 B");
        assert_eq!(human_size(1023), "1023 B");
        assert_eq!(human_size(1024), "1.0 KiB");
        assert_eq!(human_size(1536), "1.5 KiB");
        assert_eq!(human_size(12 * 1024 + 100), "12 KiB");
        assert_eq!(human_size(1 << 20), "1.0 MiB");
        assert_eq!(human_size(100 << 20), "100 MiB");
        assert_eq!(human_size(3 << 30), "3.0 GiB");
        assert_eq!(human_size(u64::MAX), "16 EiB");
    }

    fn page(path: &[u8], entries: &[Entry], query: ListingQuery) -> String {
        String::from_utf8(render(path, entries, query, false)).unwrap()
    }

    #[test]
    fn rows_breadcrumb_and_sort_links() {
        let entries = [
            Entry {
                raw: b"&<d>\"'".to_vec(),
                text: b"&<d>\"'".to_vec(),
                is_dir: true,
                is_link: false,
                meta: Some(Meta {
                    size: 4096,
                    mtime: 0,
                }),
            },
            Entry {
                raw: b"big.bin".to_vec(),
                text: b"big.bin".to_vec(),
                is_dir: false,
                is_link: true,
                meta: Some(Meta {
                    size: 1 << 20,
                    mtime: 1_000_000_000,
                }),
            },
        ];
        let html = page(b"/a b/<c>/", &entries, ListingQuery::default());
        assert!(html.contains("<title>Index of /a b/&lt;c&gt;/</title>"));
        assert!(html.contains(
            "<h1>Index of <a href=\"/\">/</a><a href=\"/a%20b/\">a b</a>/\
<a href=\"/a%20b/%3Cc%3E/\">&lt;c&gt;</a>/</h1>"
        ));
        assert!(html.contains("<a href=\"../\">../</a>"));
        assert!(html.contains(
            "<tr class=\"dir\"><td class=\"name\"><a href=\"%26%3Cd%3E%22%27/\">&amp;&lt;d&gt;\"'/</a></td>\
<td class=\"size\">\u{2014}</td><td class=\"date\"><time datetime=\"1970-01-01T00:00:00Z\">1970-01-01 00:00</time></td></tr>"
        ));
        assert!(html.contains(
            "<a href=\"big.bin\">big.bin</a><span class=\"note\">symlink</span></td>\
<td class=\"size\" title=\"1048576 bytes\">1.0 MiB</td>\
<td class=\"date\"><time datetime=\"2001-09-09T01:46:40Z\">2001-09-09 01:46</time></td>"
        ));
        assert!(html.contains(
            "<th class=\"name\" aria-sort=\"ascending\"><a href=\"?sort=name&amp;order=desc\">Name \u{25b2}</a></th>"
        ));
        assert!(html.contains("<a href=\"?sort=size&amp;order=desc\">Size</a>"));
        assert!(html.contains("<footer>1 directory, 1 file</footer>"));
        assert!(!html.contains("<script"));

        let root = page(
            b"/",
            &[],
            ListingQuery {
                sort: SortKey::Size,
                order: Order::Desc,
                format: None,
            },
        );
        assert!(!root.contains("href=\"../\""));
        assert!(root.contains("<h1>Index of <a href=\"/\">/</a></h1>"));
        assert!(root.contains(
            "<th class=\"size\" aria-sort=\"descending\"><a href=\"?sort=size&amp;order=asc\">Size \u{25bc}</a></th>"
        ));
        assert!(root.contains("<a href=\"?sort=name&amp;order=asc\">Name</a>"));
    }
}
