//! Which URLs are CGI scripts: `_url_collapse_path` and `is_cgi`.
//!
//! The URL is percent-decoded *before* it is collapsed and compared with the CGI directories,
//! so `/cgi-bin%2fscript` and `/x/../cgi-bin/script` are scripts too (CVE-2014-4650,
//! bpo-19435): a script must never be served as a file just because its URL was spelled oddly.

use crate::pystr::{Unquote, unquote};

/// `_url_collapse_path(path)`: split off `?query`, percent-decode the rest (`errors='replace'`),
/// resolve `.` and `..`, drop empty segments, and rebuild as `/<head>/<tail>[?query]`.
///
/// Returns `None` where CPython raises `IndexError`: a `..` that climbs above the root.
pub fn url_collapse_path(path: &[u8]) -> Option<Vec<u8>> {
    let (path, query) = match path.iter().position(|&b| b == b'?') {
        Some(i) => (&path[..i], Some(&path[i + 1..])),
        None => (path, None),
    };
    let path = unquote(path, Unquote::Replace);
    let parts: Vec<&[u8]> = path.split(|&b| b == b'/').collect();
    let (last, init) = parts.split_last()?;
    let mut head: Vec<&[u8]> = Vec::new();
    for &part in init {
        match part {
            b".." => {
                head.pop()?;
            }
            b"" | b"." => {}
            _ => head.push(part),
        }
    }
    let mut tail: &[u8] = last;
    if tail == b".." {
        head.pop()?;
        tail = b"";
    } else if tail == b"." {
        tail = b"";
    }
    let mut out = Vec::with_capacity(path.len() + 2);
    out.push(b'/');
    for (i, part) in head.iter().enumerate() {
        if i > 0 {
            out.push(b'/');
        }
        out.extend_from_slice(part);
    }
    out.push(b'/');
    out.extend_from_slice(tail);
    // CPython re-attaches the query only when it is non-empty.
    if let Some(q) = query.filter(|q| !q.is_empty()) {
        out.push(b'?');
        out.extend_from_slice(q);
    }
    Some(out)
}

/// `is_cgi()`: whether the collapsed path lies in one of `directories` (the shortest matching
/// prefix that ends at a `/`), and if so `(dir, rest)`, CPython's `cgi_info`.
///
/// `None` also for paths that climb above the root, which CPython cannot answer at all.
pub fn is_cgi(directories: &[String], path: &[u8]) -> Option<(Vec<u8>, Vec<u8>)> {
    cgi_info(directories, &url_collapse_path(path)?)
}

/// The `(dir, rest)` split of an already collapsed path, if it lies in a CGI directory.
pub(crate) fn cgi_info(directories: &[String], collapsed: &[u8]) -> Option<(Vec<u8>, Vec<u8>)> {
    let mut from = 1;
    while let Some(off) = collapsed.get(from..)?.iter().position(|&b| b == b'/') {
        let sep = from + off;
        let head = &collapsed[..sep];
        if directories.iter().any(|d| d.as_bytes() == head) {
            return Some((head.to_vec(), collapsed[sep + 1..].to_vec()));
        }
        from = sep + 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_url_collapse_path_table() {
        // CPython's CGIHTTPServerTestCase.test_url_collapse_path, entry for entry.
        let table: &[(&str, Option<&str>)] = &[
            ("", Some("//")),
            ("..", None),
            ("/.//..", None),
            ("/", Some("//")),
            ("//", Some("//")),
            ("/\\", Some("//\\")),
            ("/.//", Some("//")),
            ("cgi-bin/file1.py", Some("/cgi-bin/file1.py")),
            ("/cgi-bin/file1.py", Some("/cgi-bin/file1.py")),
            ("a", Some("//a")),
            ("/a", Some("//a")),
            ("//a", Some("//a")),
            ("./a", Some("//a")),
            ("./C:/", Some("/C:/")),
            ("/a/b", Some("/a/b")),
            ("/a/b/", Some("/a/b/")),
            ("/a/b/.", Some("/a/b/")),
            ("/a/b/c/..", Some("/a/b/")),
            ("/a/b/c/../d", Some("/a/b/d")),
            ("/a/b/c/../d/e/../f", Some("/a/b/d/f")),
            ("/a/b/c/../d/e/../../f", Some("/a/b/f")),
            ("/a/b/c/../d/e/.././././..//f", Some("/a/b/f")),
            ("../a/b/c/../d/e/.././././..//f", None),
            ("/a/b/c/../d/e/../../../f", Some("/a/f")),
            ("/a/b/c/../d/e/../../../../f", Some("//f")),
            ("/a/b/c/../d/e/../../../../../f", None),
            ("/a/b/c/../d/e/../../../../f/..", Some("//")),
            ("/a/b/c/../d/e/../../../../f/../.", Some("//")),
        ];
        for (input, expected) in table {
            let got = url_collapse_path(input.as_bytes());
            assert_eq!(
                got.as_deref(),
                expected.map(str::as_bytes),
                "input {input:?}"
            );
        }
    }

    #[test]
    fn query_and_decoding() {
        assert_eq!(
            url_collapse_path(b"/cgi-bin%2ffile1.py").unwrap(),
            b"/cgi-bin/file1.py"
        );
        assert_eq!(
            url_collapse_path(b"/a/b?x=%2F/../y").unwrap(),
            b"/a/b?x=%2F/../y"
        );
        assert_eq!(url_collapse_path(b"/a/b?").unwrap(), b"/a/b");
        assert_eq!(
            url_collapse_path(b"/a/%ff").unwrap(),
            "/a/\u{FFFD}".as_bytes()
        );
    }

    #[test]
    fn is_cgi_rules() {
        let dirs = vec![
            "/cgi-bin".to_owned(),
            "/htbin".to_owned(),
            "/sub/dir/cgi-bin".to_owned(),
        ];
        let cgi = |p: &str| {
            is_cgi(&dirs, p.as_bytes())
                .map(|(d, r)| (String::from_utf8(d).unwrap(), String::from_utf8(r).unwrap()))
        };
        assert_eq!(
            cgi("/cgi-bin/file1.py"),
            Some(("/cgi-bin".into(), "file1.py".into()))
        );
        assert_eq!(cgi("/cgi-bin/"), Some(("/cgi-bin".into(), String::new())));
        assert_eq!(cgi("/cgi-bin"), None);
        assert_eq!(
            cgi("/cgi-bin%2ffile1.py"),
            Some(("/cgi-bin".into(), "file1.py".into()))
        );
        assert_eq!(
            cgi("/nocgi.py/../cgi-bin/nothere.sh"),
            Some(("/cgi-bin".into(), "nothere.sh".into()))
        );
        assert_eq!(
            cgi("/sub/dir/cgi-bin/file.py?a=b"),
            Some(("/sub/dir/cgi-bin".into(), "file.py?a=b".into()))
        );
        assert_eq!(
            cgi("/cgi-bin/child-dir/file3.py"),
            Some(("/cgi-bin".into(), "child-dir/file3.py".into()))
        );
        assert_eq!(cgi("/htbinx/a"), None);
        assert_eq!(cgi("/../cgi-bin/a"), None);
        assert_eq!(
            cgi("cgi-bin/file1.py"),
            Some(("/cgi-bin".into(), "file1.py".into()))
        );
    }
}
