//! URL paths to file-system paths: `translate_path`, the `//` open-redirect fix, and the
//! trailing-slash redirect's `Location` (`urlsplit`/`urlunsplit`).
//!
//! Paths are Python strings in generalised UTF-8 (see the `pystr` module): the request target is
//! latin-1 decoded, as CPython decodes the request line.

use std::borrow::Cow;
use std::ffi::OsString;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};

use crate::pystr::{Unquote, fs_decode, fs_encode, latin1, unquote};

/// `self.path` as `parse_request` leaves it: the latin-1 decoded request target, with a leading
/// run of slashes reduced to one (the CVE-2021-28861 fix: `//evil.com/x` must never become a
/// scheme-relative `Location`).
pub fn request_path(target: &[u8]) -> Cow<'_, [u8]> {
    let path = latin1(target);
    if path.starts_with(b"//") {
        let rest = path
            .iter()
            .position(|&b| b != b'/')
            .map_or(&[][..], |i| &path[i..]);
        let mut out = Vec::with_capacity(rest.len() + 1);
        out.push(b'/');
        out.extend_from_slice(rest);
        return Cow::Owned(out);
    }
    path
}

/// The part of a path before the first `#`, then before the first `?` (3.14's order).
pub(crate) fn strip_query_and_fragment(path: &[u8]) -> &[u8] {
    let path = path.split(|&b| b == b'#').next().unwrap_or(path);
    path.split(|&b| b == b'?').next().unwrap_or(path)
}

/// `translate_path(path)` as a Python string (generalised UTF-8): the served directory joined
/// with the path's segments after dropping query and fragment, percent-decoding, and resolving
/// `.` and `..` without ever climbing above the root. A trailing `/` of the decoded path is kept.
///
/// The result is text, as in CPython (CGI puts it in `PATH_TRANSLATED`); [`to_fs_path`] turns it
/// into a path to open.
pub fn translate_path(directory: &Path, path: &[u8]) -> Vec<u8> {
    let path = strip_query_and_fragment(path);
    let path = unquote(path, Unquote::SurrogatePass);
    let trailing_slash = path.ends_with(b"/");
    let root = fs_decode(directory.as_os_str().as_bytes());
    let mut out = Vec::with_capacity(root.len() + path.len() + 1);
    out.extend_from_slice(&root);
    // posixpath.normpath followed by dropping empty, `.` and `..` segments comes down to a
    // stack where `..` pops and can never pop the root.
    let mut marks: Vec<usize> = Vec::new();
    for word in path.split(|&b| b == b'/') {
        match word {
            b"" | b"." => {}
            b".." => {
                if let Some(len) = marks.pop() {
                    out.truncate(len);
                }
            }
            _ => {
                marks.push(out.len());
                if !out.is_empty() && !out.ends_with(b"/") {
                    out.push(b'/');
                }
                out.extend_from_slice(word);
            }
        }
    }
    if trailing_slash {
        out.push(b'/');
    }
    out
}

/// The file-system path for a translated path, or `None` when it cannot name a file: a NUL
/// byte (CPython raises `ValueError`) or a surrogate that `surrogateescape` cannot encode
/// (CPython raises `UnicodeEncodeError`). CPython drops the connection in both cases; callers
/// answer 404.
pub fn to_fs_path(translated: Vec<u8>) -> Option<PathBuf> {
    if translated.contains(&0) {
        return None;
    }
    let bytes = match fs_encode(&translated)? {
        Cow::Borrowed(_) => translated,
        Cow::Owned(v) => v,
    };
    Some(PathBuf::from(OsString::from_vec(bytes)))
}

/// The components of `urllib.parse.urlsplit(url)`, as byte ranges of the cleaned URL.
#[derive(Debug)]
struct Split {
    url: Vec<u8>,
    scheme: Option<Vec<u8>>,
    netloc: Option<(usize, usize)>,
    path: (usize, usize),
    query: Option<(usize, usize)>,
    fragment: Option<(usize, usize)>,
}

const SCHEME_CHARS: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+-.";
const USES_NETLOC: &[&[u8]] = &[
    b"",
    b"ftp",
    b"http",
    b"gopher",
    b"nntp",
    b"telnet",
    b"imap",
    b"wais",
    b"file",
    b"mms",
    b"https",
    b"shttp",
    b"snews",
    b"prospero",
    b"rtsp",
    b"rtsps",
    b"rtspu",
    b"rsync",
    b"svn",
    b"svn+ssh",
    b"sftp",
    b"nfs",
    b"git",
    b"git+ssh",
    b"ws",
    b"wss",
    b"itms-services",
];

/// `urlsplit`: leading C0 controls and spaces stripped, tab/CR/LF removed, then scheme,
/// `//netloc`, `#fragment`, `?query`. (CPython's `ValueError` for unbalanced IPv6 brackets and
/// non-ASCII netloc checks are not reproduced; such targets are split the same way.)
fn urlsplit(url: &[u8]) -> Split {
    let start = url.iter().position(|&b| b > b' ').unwrap_or(url.len());
    let url: Vec<u8> = url[start..]
        .iter()
        .copied()
        .filter(|b| !matches!(b, b'\t' | b'\r' | b'\n'))
        .collect();
    let mut pos = 0;
    let mut scheme = None;
    if let Some(i) = url.iter().position(|&b| b == b':')
        && i > 0
        && url[0].is_ascii_alphabetic()
        && url[..i].iter().all(|b| SCHEME_CHARS.contains(b))
    {
        scheme = Some(url[..i].to_ascii_lowercase());
        pos = i + 1;
    }
    let mut netloc = None;
    if url[pos..].starts_with(b"//") {
        let from = pos + 2;
        let end = url[from..]
            .iter()
            .position(|b| matches!(b, b'/' | b'?' | b'#'))
            .map_or(url.len(), |i| from + i);
        netloc = Some((from, end));
        pos = end;
    }
    let mut end = url.len();
    let mut fragment = None;
    if let Some(i) = url[pos..].iter().position(|&b| b == b'#') {
        fragment = Some((pos + i + 1, end));
        end = pos + i;
    }
    let mut query = None;
    if let Some(i) = url[pos..end].iter().position(|&b| b == b'?') {
        query = Some((pos + i + 1, end));
        end = pos + i;
    }
    Split {
        scheme,
        netloc,
        path: (pos, end),
        query,
        fragment,
        url,
    }
}

/// Whether the URL path component ends with `/`, `%2f` or `%2F` (3.14 counts an encoded slash).
pub(crate) fn has_trailing_slash(path: &[u8]) -> bool {
    let s = urlsplit(path);
    let p = &s.url[s.path.0..s.path.1];
    p.ends_with(b"/") || p.ends_with(b"%2f") || p.ends_with(b"%2F")
}

/// The `Location` of the directory redirect: `urlunsplit` of `self.path` with `/` appended to
/// its path component. Query and fragment are kept; empty ones are dropped (`/sub?` gives
/// `/sub/`), as `urlunsplit` does. Control bytes that could survive (only NUL and the like, in
/// the lenient parse mode) are percent-encoded so the header stays valid.
pub(crate) fn redirect_location(path: &[u8]) -> Vec<u8> {
    let s = urlsplit(path);
    let part = |r: (usize, usize)| &s.url[r.0..r.1];
    let mut url = part(s.path).to_vec();
    url.push(b'/');
    let scheme = s.scheme.as_deref().filter(|x| !x.is_empty());
    let netloc = match s.netloc.map(part).filter(|n| !n.is_empty()) {
        Some(n) => Some(n),
        None if scheme.is_some_and(|sc| USES_NETLOC.contains(&sc)) && url.starts_with(b"/") => {
            Some(&b""[..])
        }
        None => None,
    };
    let mut out = Vec::with_capacity(path.len() + 2);
    if let Some(sc) = scheme {
        out.extend_from_slice(sc);
        out.push(b':');
    }
    if let Some(n) = netloc {
        out.extend_from_slice(b"//");
        out.extend_from_slice(n);
        if !url.starts_with(b"/") {
            out.push(b'/');
        }
    } else if url.starts_with(b"//") {
        out.extend_from_slice(b"//");
    }
    out.extend_from_slice(&url);
    if let Some(q) = s.query.map(part).filter(|q| !q.is_empty()) {
        out.push(b'?');
        out.extend_from_slice(q);
    }
    if let Some(f) = s.fragment.map(part).filter(|f| !f.is_empty()) {
        out.push(b'#');
        out.extend_from_slice(f);
    }
    let mut safe = Vec::with_capacity(out.len());
    for b in out {
        if b < 0x20 || b == 0x7F {
            safe.extend_from_slice(format!("%{b:02X}").as_bytes());
        } else {
            safe.push(b);
        }
    }
    // The header value is latin-1 text, as `send_header` encodes it.
    crate::pystr::latin1_encode_lossy(&safe)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tp(dir: &str, p: &str) -> String {
        String::from_utf8(translate_path(Path::new(dir), p.as_bytes())).unwrap()
    }

    #[test]
    fn translate_path_like_test_httpservers() {
        // test_query_arguments
        assert_eq!(tp("/srv", "/filename"), "/srv/filename");
        assert_eq!(tp("/srv", "/filename?foo=bar"), "/srv/filename");
        assert_eq!(tp("/srv", "/filename#foo"), "/srv/filename");
        assert_eq!(tp("/srv", "/filename?a=b#c?d"), "/srv/filename");
        assert_eq!(tp("/srv", "/filename#c?d"), "/srv/filename");
        assert_eq!(tp("foo", "/filename"), "foo/filename");
        // test_start_with_double_slash
        assert_eq!(
            tp(
                "/srv",
                std::str::from_utf8(&request_path(b"//filename")).unwrap()
            ),
            "/srv/filename"
        );
        assert_eq!(tp("/srv", "//filename?foo=bar"), "/srv/filename");
        assert_eq!(tp("/srv", "/sub/"), "/srv/sub/");
        assert_eq!(tp("/srv", "/"), "/srv/");
        assert_eq!(tp("/srv/", "/a"), "/srv/a");
    }

    #[test]
    fn never_climbs_above_root() {
        for p in [
            "/../a.txt",
            "/%2e%2e/a.txt",
            "/sub/..%2fa.txt",
            "/sub/dir/../../a.txt",
            "a.txt",
            "/./a.txt",
            "/../../../../a.txt",
            "..%2f..%2fa.txt",
        ] {
            assert_eq!(tp("/srv", p), "/srv/a.txt", "{p}");
        }
        assert_eq!(tp("/srv", "/test%2f"), "/srv/test/");
        assert_eq!(tp("/srv", "/a/b/../c/./d/"), "/srv/a/c/d/");
        assert_eq!(tp("/srv", "/.."), "/srv");
        assert_eq!(
            tp("/srv", "http://example.com/a.txt"),
            "/srv/http:/example.com/a.txt"
        );
    }

    #[test]
    fn fs_path_refuses_nul_and_unencodable() {
        assert!(to_fs_path(translate_path(Path::new("/srv"), b"/a%00b")).is_none());
        assert!(to_fs_path(translate_path(Path::new("/srv"), b"/%ed%a0%80")).is_none());
        let p = to_fs_path(translate_path(Path::new("/srv"), b"/%ed%b3%bf")).unwrap();
        assert_eq!(p.as_os_str().as_bytes(), b"/srv/\xff");
        // Undecodable bytes fall back to U+FFFD.
        let p = to_fs_path(translate_path(Path::new("/srv"), b"/%ff.dir/")).unwrap();
        assert_eq!(p.as_os_str().as_bytes(), "/srv/\u{FFFD}.dir/".as_bytes());
    }

    #[test]
    fn double_slash_collapse() {
        assert_eq!(
            request_path(b"//evil.com/..%2f..%2fsub").as_ref(),
            b"/evil.com/..%2f..%2fsub"
        );
        assert_eq!(request_path(b"///x").as_ref(), b"/x");
        assert_eq!(request_path(b"//").as_ref(), b"/");
        assert_eq!(request_path(b"/a//b").as_ref(), b"/a//b");
        assert_eq!(request_path(b"/\xe9").as_ref(), "/é".as_bytes());
    }

    #[test]
    fn redirects() {
        let loc = |p: &str| String::from_utf8(redirect_location(p.as_bytes())).unwrap();
        assert_eq!(loc("/sub"), "/sub/");
        assert_eq!(loc("/sub?x=1#f"), "/sub/?x=1#f");
        assert_eq!(loc("/sub?"), "/sub/");
        assert_eq!(loc("/sub#"), "/sub/");
        assert_eq!(loc("sub"), "sub/");
        assert_eq!(loc("/evil.com/..%2f..%2fsub"), "/evil.com/..%2f..%2fsub/");
        assert_eq!(loc("https://pypi.org/x"), "https://pypi.org/x/");
        assert_eq!(loc("http:/x"), "http:///x/");
        assert_eq!(loc("/a%0a%0d/b"), "/a%0a%0d/b/");
        assert_eq!(loc("/a\x00b"), "/a%00b/");
        assert!(has_trailing_slash(b"/sub/"));
        assert!(has_trailing_slash(b"/sub%2f?x"));
        assert!(has_trailing_slash(b"/sub%2F"));
        assert!(!has_trailing_slash(b"/sub?x=/"));
        assert!(!has_trailing_slash(b"/sub"));
    }
}
