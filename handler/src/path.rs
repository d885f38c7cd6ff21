//! URL paths to file-system paths: `translate_path`, the `//` open-redirect fix, and the
//! trailing-slash redirect's `Location` (`urlsplit`/`urlunsplit`).
//!
//! Paths are Python strings in generalised UTF-8 (see the `pystr` module): the request target is
//! latin-1 decoded, as CPython decodes the request line.

use std::borrow::Cow;
use std::cell::Cell;
use std::ffi::OsString;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};

use crate::beneath::into_relative;
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

/// The origin-form part of an absolute-form request target (RFC 9112 3.2.2): for
/// `http://host:8000/a.txt?q` the path and query, `/a.txt?q`; `/` when the URL has no path.
/// Any other target is returned as it is.
///
/// A server MUST accept absolute-form targets. This server has no virtual hosts and is not a
/// proxy, so the authority is not compared with its own name: the path is served whatever host
/// the URL names (as nginx does for a single server block). CPython does not do this (it looks
/// for a directory named `http:` under the root); `--compat` keeps that.
pub fn origin_form(target: &[u8]) -> &[u8] {
    let Some(scheme_len) = target.iter().position(|&b| b == b':') else {
        return target;
    };
    let scheme = &target[..scheme_len];
    let rest = &target[scheme_len..];
    if !(scheme.eq_ignore_ascii_case(b"http") || scheme.eq_ignore_ascii_case(b"https"))
        || !rest.starts_with(b"://")
    {
        return target;
    }
    let authority = &rest[3..];
    match authority
        .iter()
        .position(|&b| matches!(b, b'/' | b'?' | b'#'))
    {
        Some(i) if authority[i] == b'/' => &authority[i..],
        // `http://host?q` names the root; the query alone cannot start a path.
        _ => b"/",
    }
}

/// The path a request names on this server: [`origin_form`] of `self.path`, or `self.path`
/// itself in `--compat` mode (CPython 3.14 does not map absolute-form targets).
pub(crate) fn local_path<'a>(settings: &crate::Settings, path: &'a [u8]) -> &'a [u8] {
    if settings.compat {
        path
    } else {
        origin_form(path)
    }
}

/// `translate_path(path)` as a Python string (generalised UTF-8): the served directory joined
/// with the path's segments after dropping query and fragment, percent-decoding, and resolving
/// `.` and `..` without ever climbing above the root. A trailing `/` of the decoded path is kept.
///
/// The result is text, as in CPython (CGI puts it in `PATH_TRANSLATED`); [`to_fs_path`] turns it
/// into a path to open.
pub fn translate_path(directory: &Path, path: &[u8]) -> Vec<u8> {
    let path = strip_query_and_fragment(path);
    translate_decoded(directory, &unquote(path, Unquote::SurrogatePass))
}

/// [`translate_path`] for a path that is already percent-decoded, with no query or fragment to
/// drop: `?`, `#` and `%` are plain characters here. Decoding a path twice is how
/// `%252e%252e%252f` turns into `../` after the checks ran on `%2e%2e%2f`, so a decoded path
/// must only ever come through here.
pub(crate) fn translate_decoded(directory: &Path, path: &[u8]) -> Vec<u8> {
    translate_decoded_into(Vec::new(), directory, path)
}

/// [`translate_decoded`], written into `out` (emptied first) to reuse its allocation.
fn translate_decoded_into(mut out: Vec<u8>, directory: &Path, path: &[u8]) -> Vec<u8> {
    let trailing_slash = path.ends_with(b"/");
    let root = fs_decode(directory.as_os_str().as_bytes());
    out.clear();
    out.reserve(root.len() + path.len() + 1);
    out.extend_from_slice(&root);
    // posixpath.normpath followed by dropping empty, `.` and `..` segments comes down to a
    // stack where `..` pops and can never pop the root. The stack is `out` itself: a word
    // holds no `/`, so the last `/` after the root is where the last word began (or, with
    // none, the word began right at the end of the root).
    let base = out.len();
    for word in path.split(|&b| b == b'/') {
        match word {
            b"" | b"." => {}
            b".." => {
                let start = out[base..]
                    .iter()
                    .rposition(|&b| b == b'/')
                    .map_or(base, |i| base + i);
                out.truncate(start);
            }
            _ => {
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

/// A request's path below the root (`translate_path` against an empty root, leading slashes
/// dropped, `.` for the root itself), in a buffer this thread reuses: planning a file
/// response allocates no path. It dereferences to the path; dropping it gives the buffer
/// back.
pub(crate) struct RelPath(PathBuf);

/// A path buffer larger than this is not kept.
const KEEP_PATH: usize = 1024;

thread_local! {
    static SPARE_PATH: Cell<Vec<u8>> = const { Cell::new(Vec::new()) };
}

impl RelPath {
    /// The path below the root for a request's path, as [`translate_path`] finds it.
    pub(crate) fn of_url_path(path: &[u8]) -> Option<Self> {
        Self::of_decoded(&unquote(
            strip_query_and_fragment(path),
            Unquote::SurrogatePass,
        ))
    }

    /// The path below the root for a decoded request path (see [`translate_decoded`]), or
    /// `None` when it cannot name a file (see [`to_fs_path`]).
    pub(crate) fn of_decoded(path: &[u8]) -> Option<Self> {
        let spare = SPARE_PATH.try_with(Cell::take).unwrap_or_default();
        let translated = translate_decoded_into(spare, Path::new(""), path);
        to_fs_path(into_relative(translated)).map(Self)
    }
}

impl std::ops::Deref for RelPath {
    type Target = Path;

    fn deref(&self) -> &Path {
        &self.0
    }
}

impl Drop for RelPath {
    fn drop(&mut self) {
        let buffer = std::mem::take(&mut self.0).into_os_string().into_vec();
        if buffer.capacity() <= KEEP_PATH {
            let _ = SPARE_PATH.try_with(|spare| spare.set(buffer));
        }
    }
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
/// `/sub/`), as `urlunsplit` does.
///
/// Unlike CPython, the result can never send a browser to another host, in any mode:
/// - a scheme and host are kept only when the client itself sent an `http` or `https` URL
///   naming a host (absolute-form: the client already chose that host);
/// - otherwise the result is a path, and a path never starts with `//` (a scheme-relative
///   URL): leading slashes collapse to one. CPython 3.14 sends `//evil.com/../../` for
///   `GET \x01//evil.com/../..`, because `urlsplit` strips the control byte first;
/// - `\` is percent-encoded, since browsers read `/\evil.com` as `//evil.com`;
/// - control bytes (only possible in the lenient parse mode) are percent-encoded so the
///   header stays valid.
pub(crate) fn redirect_location(path: &[u8]) -> Vec<u8> {
    let s = urlsplit(path);
    let part = |r: (usize, usize)| &s.url[r.0..r.1];
    let origin = match (s.scheme.as_deref(), s.netloc.map(part)) {
        (Some(scheme @ (b"http" | b"https")), Some(netloc)) if !netloc.is_empty() => {
            Some((scheme, netloc))
        }
        _ => None,
    };
    let mut url = Vec::with_capacity(path.len() + 8);
    if origin.is_none()
        && let Some(netloc) = s.netloc.map(part)
    {
        // A host nobody may redirect to stays a path segment, as the server resolved it.
        url.extend_from_slice(b"//");
        url.extend_from_slice(netloc);
    }
    url.extend_from_slice(part(s.path));
    url.push(b'/');
    let mut out = Vec::with_capacity(url.len() + 8);
    if let Some((scheme, netloc)) = origin {
        out.extend_from_slice(scheme);
        out.extend_from_slice(b"://");
        out.extend_from_slice(netloc);
        if !url.starts_with(b"/") {
            out.push(b'/');
        }
        out.extend_from_slice(&url);
    } else {
        let extra_slashes = url
            .iter()
            .take_while(|&&b| b == b'/')
            .count()
            .saturating_sub(1);
        out.extend_from_slice(&url[extra_slashes..]);
    }
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
        if b < 0x20 || b == 0x7F || b == b'\\' {
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
    fn redirects_never_leave_the_host() {
        let loc = |p: &[u8]| String::from_utf8(redirect_location(p)).unwrap();
        for attack in [
            &b"/\\evil.com/.."[..],
            b"\\evil.com/..",
            b"\x01//evil.com/../..",
            b" //evil.com/x",
            b"\t//evil.com/x",
            b"//evil.com/x",
            b"///evil.com/x",
            b"/\\/evil.com",
            b"\\\\evil.com",
            b"http:\\\\evil.com/x",
            b"http:/\\evil.com/x",
            b"https:evil.com/x",
            b"javascript://evil.com/%0aalert(1)",
        ] {
            let got = loc(attack);
            let first_segment = got.split('/').next().unwrap_or_default();
            assert!(
                !got.starts_with("//") && !first_segment.contains(':'),
                "{attack:?} -> {got:?}"
            );
            assert!(!got.contains('\\'), "{attack:?} -> {got:?}");
        }
        assert_eq!(loc(b"/\\evil.com/.."), "/%5Cevil.com/../");
        assert_eq!(loc(b"\x01//evil.com/../.."), "/evil.com/../../");
    }

    #[test]
    fn absolute_form_targets() {
        assert_eq!(origin_form(b"http://localhost/a.txt"), b"/a.txt");
        assert_eq!(origin_form(b"HTTPS://h:8000/a/b?x=1"), b"/a/b?x=1");
        assert_eq!(origin_form(b"http://h"), b"/");
        assert_eq!(origin_form(b"http://h?x=/y"), b"/");
        assert_eq!(origin_form(b"http://h#f"), b"/");
        assert_eq!(origin_form(b"http://u@h/x"), b"/x");
        assert_eq!(origin_form(b"/a.txt"), b"/a.txt");
        assert_eq!(origin_form(b"ftp://h/a"), b"ftp://h/a");
        assert_eq!(origin_form(b"http:/a"), b"http:/a");
        assert_eq!(origin_form(b"/x:y"), b"/x:y");
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
        // A scheme without a host is not kept: `http:///x/` is `http://x/` to a browser.
        assert_eq!(loc("http:/x"), "/x/");
        assert_eq!(loc("ftp://evil.com/x"), "/evil.com/x/");
        assert_eq!(loc("/a%0a%0d/b"), "/a%0a%0d/b/");
        assert_eq!(loc("/a\x00b"), "/a%00b/");
        assert_eq!(loc("https://pypi.org/a/b"), "https://pypi.org/a/b/");
        assert_eq!(loc("HTTP://h"), "http://h/");
        assert!(has_trailing_slash(b"/sub/"));
        assert!(has_trailing_slash(b"/sub%2f?x"));
        assert!(has_trailing_slash(b"/sub%2F"));
        assert!(!has_trailing_slash(b"/sub?x=/"));
        assert!(!has_trailing_slash(b"/sub"));
    }
}
