//! `guess_type`: the `Content-type` of a file, decided as CPython 3.14 decides it.
//!
//! Order: the settings' `extensions_map` (exact extension, then lower-cased), then what
//! `mimetypes.guess_file_type` would say (its `suffix_map` rewrites such as `.tgz` to
//! `.tar.gz`, its encoding suffixes `.gz`/`.Z`/`.bz2`/`.xz`/`.br` stripped, then the type table),
//! then `default_content_type`. The type table is `mime_guess`, corrected by the entries where
//! CPython's built-in table disagrees with it, so common types match CPython everywhere
//! (CPython itself also reads `/etc/mime.types`, which makes its answers vary by machine; we
//! deliberately do not).

use std::borrow::Cow;
use std::cell::RefCell;

use crate::Settings;
use crate::pystr::{fs_decode, lower_key};
use crate::recent::Recent;

/// `mimetypes.suffix_map`.
const SUFFIX_MAP: [(&str, &str); 6] = [
    (".svgz", ".svg.gz"),
    (".tgz", ".tar.gz"),
    (".taz", ".tar.gz"),
    (".tz", ".tar.gz"),
    (".tbz2", ".tar.bz2"),
    (".txz", ".tar.xz"),
];

/// `mimetypes.encodings_map` keys (matched case-sensitively, as CPython does).
const ENCODINGS: [&str; 5] = [".gz", ".Z", ".bz2", ".xz", ".br"];

/// CPython 3.14's built-in `mimetypes.types_map` entries on which `mime_guess` disagrees or
/// has nothing (extension without the dot), sorted by extension: searched by halves for
/// every file served.
const CPYTHON_TYPES: &[(&str, &str)] = &[
    ("3g2", "audio/3gpp2"),
    ("3gp", "audio/3gpp"),
    ("3gpp", "audio/3gpp"),
    ("3gpp2", "audio/3gpp2"),
    ("a", "application/octet-stream"),
    ("aif", "audio/x-aiff"),
    ("aifc", "audio/x-aiff"),
    ("aiff", "audio/x-aiff"),
    ("ass", "audio/aac"),
    ("avi", "video/vnd.avi"),
    ("bat", "text/plain"),
    ("cdf", "application/x-netcdf"),
    ("deb", "application/x-debian-package"),
    ("dll", "application/octet-stream"),
    ("emf", "image/emf"),
    ("fits", "image/fits"),
    ("h5", "application/x-hdf5"),
    ("ico", "image/vnd.microsoft.icon"),
    ("ksh", "text/plain"),
    ("loas", "audio/aac"),
    ("m3u", "application/vnd.apple.mpegurl"),
    ("m3u8", "application/vnd.apple.mpegurl"),
    ("m4a", "audio/mp4"),
    ("mif", "application/x-mif"),
    ("mjs", "text/javascript"),
    ("mk3d", "video/matroska-3d"),
    ("mka", "audio/matroska"),
    ("mkv", "video/matroska"),
    ("o", "application/octet-stream"),
    ("obj", "application/octet-stream"),
    ("opus", "audio/opus"),
    ("otf", "font/otf"),
    ("pl", "text/plain"),
    ("py", "text/x-python"),
    ("pyc", "application/x-python-code"),
    ("pyo", "application/x-python-code"),
    ("ram", "application/x-pn-realaudio"),
    ("rar", "application/vnd.rar"),
    ("rdf", "application/xml"),
    ("rpm", "application/x-rpm"),
    ("rst", "text/x-rst"),
    ("rtf", "text/rtf"),
    ("sgm", "text/x-sgml"),
    ("sgml", "text/x-sgml"),
    ("srt", "text/plain"),
    ("stl", "model/stl"),
    ("t38", "image/t38"),
    ("tfx", "image/tiff-fx"),
    ("wav", "audio/vnd.wave"),
    ("wmf", "image/wmf"),
    ("woff", "font/woff"),
    ("wsdl", "application/xml"),
    ("xlb", "application/vnd.ms-excel"),
    ("xpdl", "application/xml"),
    ("xsl", "application/xml"),
    ("yaml", "application/yaml"),
    ("yml", "application/yaml"),
];

/// `posixpath.splitext`: the extension starts at the last dot of the last component, unless
/// everything before that dot in the component is dots (`.bashrc` has no extension).
pub(crate) fn splitext(path: &[u8]) -> (&[u8], &[u8]) {
    let start = path.iter().rposition(|&b| b == b'/').map_or(0, |i| i + 1);
    if let Some(dot) = path.iter().rposition(|&b| b == b'.')
        && dot > start
        && path[start..dot].iter().any(|&b| b != b'.')
    {
        return path.split_at(dot);
    }
    (path, &[])
}

/// `guess_type(path)` for a file-system path (raw bytes, as the OS gives them).
pub fn guess_type<'a>(settings: &'a Settings, path: &[u8]) -> &'a str {
    let path = fs_decode(path);
    let (_, ext) = splitext(&path);
    if let Some(t) = lookup_override(settings, ext) {
        return t;
    }
    let lower = lower_key(ext);
    if let Some(t) = lookup_override(settings, &lower) {
        return t;
    }
    mimetypes_guess(&path).unwrap_or(&settings.default_content_type)
}

/// `ctype` with `; charset=NAME` added when [`Settings::charset`] is set and the type is text
/// (see there which types are).
pub(crate) fn with_charset<'a>(settings: &Settings, ctype: &'a str) -> Cow<'a, str> {
    let Some(charset) = settings.charset.as_deref() else {
        return Cow::Borrowed(ctype);
    };
    let mut params = ctype.split(';');
    let essence = params.next().unwrap_or("").trim().to_ascii_lowercase();
    let has_charset = params.any(|p| {
        p.trim()
            .get(..8)
            .is_some_and(|k| k.eq_ignore_ascii_case("charset="))
    });
    let text = essence.starts_with("text/")
        || essence == "application/javascript"
        || essence == "application/xml"
        || essence.ends_with("+xml");
    if !text || has_charset {
        return Cow::Borrowed(ctype);
    }
    Cow::Owned(format!("{ctype}; charset={charset}"))
}

fn lookup_override<'a>(settings: &'a Settings, ext: &[u8]) -> Option<&'a str> {
    settings
        .extensions_map
        .iter()
        .find(|(k, _)| k.as_bytes() == ext)
        .map(|(_, v)| v.as_str())
}

/// `mimetypes.guess_file_type(path, strict=True)[0]`, remembered per thread for the last few
/// file names: it depends on the last component alone, and a server answers the same few
/// files over and over.
fn mimetypes_guess(path: &[u8]) -> Option<&'static str> {
    thread_local! {
        static LAST: RefCell<Recent<Box<[u8]>, Option<&'static str>>> =
            const { RefCell::new(Recent::new()) };
    }
    let name = path.rsplit(|&b| b == b'/').next().unwrap_or(path);
    LAST.with(|last| {
        last.borrow_mut()
            .get_or(|known| **known == *name, || (name.into(), guess_name(name)))
    })
}

/// [`mimetypes_guess`] of a file name.
fn guess_name(path: &[u8]) -> Option<&'static str> {
    let mut owned: Cow<'_, [u8]> = Cow::Borrowed(path);
    // The suffix map cannot loop: its replacements end in encoding suffixes it does not map.
    loop {
        let (base, ext) = splitext(&owned);
        let lower = lower_key(ext);
        let Some((_, to)) = SUFFIX_MAP
            .iter()
            .find(|(from, _)| from.as_bytes() == &*lower)
        else {
            break;
        };
        let mut next = base.to_vec();
        next.extend_from_slice(to.as_bytes());
        owned = Cow::Owned(next);
    }
    let (base, mut ext) = splitext(&owned);
    if ENCODINGS.iter().any(|e| e.as_bytes() == ext) {
        ext = splitext(base).1;
    }
    let ext = std::str::from_utf8(ext.strip_prefix(b".")?).ok()?;
    if ext.is_empty() {
        return None;
    }
    let ext: Cow<'_, str> = if ext
        .bytes()
        .any(|b| !b.is_ascii_lowercase() && !b.is_ascii_digit())
    {
        Cow::Owned(ext.to_lowercase())
    } else {
        Cow::Borrowed(ext)
    };
    if let Ok(i) = CPYTHON_TYPES.binary_search_by(|(e, _)| (*e).cmp(&ext)) {
        return Some(CPYTHON_TYPES[i].1);
    }
    known_type(&ext)
}

/// `mime_guess`'s type for a lower-case extension, remembered per thread for the last few
/// extensions: its table is searched with case-insensitive comparisons, which costs more
/// than the rest of planning a file response.
fn known_type(ext: &str) -> Option<&'static str> {
    thread_local! {
        static LAST: RefCell<Recent<Box<str>, Option<&'static str>>> =
            const { RefCell::new(Recent::new()) };
    }
    LAST.with(|last| {
        last.borrow_mut().get_or(
            |known| **known == *ext,
            || (ext.into(), mime_guess::from_ext(ext).first_raw()),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn g(p: &str) -> String {
        guess_type(&Settings::new("/"), p.as_bytes()).to_owned()
    }

    #[test]
    fn the_cpython_table_is_sorted_for_its_search() {
        assert!(CPYTHON_TYPES.windows(2).all(|w| w[0].0 < w[1].0));
    }

    #[test]
    fn like_cpython() {
        assert_eq!(g("/srv/a.txt"), "text/plain");
        assert_eq!(g("/srv/a.TXT"), "text/plain");
        assert_eq!(g("/srv/a.html"), "text/html");
        assert_eq!(g("/srv/a.js"), "text/javascript");
        assert_eq!(g("/srv/a.mjs"), "text/javascript");
        assert_eq!(g("/srv/a.json"), "application/json");
        assert_eq!(g("/srv/a.py"), "text/x-python");
        assert_eq!(g("/srv/a.png"), "image/png");
        assert_eq!(g("/srv/a.wasm"), "application/wasm");
        assert_eq!(g("/srv/x.tar.gz"), "application/gzip");
        assert_eq!(g("/srv/x.GZ"), "application/gzip");
        assert_eq!(g("/srv/x.Z"), "application/octet-stream");
        assert_eq!(g("/srv/x.tgz"), "application/x-tar");
        assert_eq!(g("/srv/x.svgz"), "image/svg+xml");
        assert_eq!(g("/srv/x.html.br"), "text/html");
        assert_eq!(g("/srv/test"), "application/octet-stream");
        assert_eq!(g("/srv/.bashrc"), "application/octet-stream");
        assert_eq!(g("/srv/a.d/noext"), "application/octet-stream");
        assert_eq!(g("/srv/x."), "application/octet-stream");
    }

    #[test]
    fn overrides_and_default() {
        let mut s = Settings::new("/");
        s.default_content_type = "text/plain".into();
        s.extensions_map
            .push((".txt".into(), "text/plain; charset=utf-8".into()));
        assert_eq!(guess_type(&s, b"a.txt"), "text/plain; charset=utf-8");
        assert_eq!(guess_type(&s, b"a.unknownext"), "text/plain");
        assert_eq!(guess_type(&s, b"a\xff.txt"), "text/plain; charset=utf-8");
    }

    #[test]
    fn charset_only_for_text() {
        let mut s = Settings::new("/");
        assert_eq!(with_charset(&s, "text/plain"), "text/plain");
        s.charset = Some("utf-8".into());
        for (t, want) in [
            ("text/plain", "text/plain; charset=utf-8"),
            ("text/html", "text/html; charset=utf-8"),
            ("text/javascript", "text/javascript; charset=utf-8"),
            (
                "application/javascript",
                "application/javascript; charset=utf-8",
            ),
            ("application/xml", "application/xml; charset=utf-8"),
            ("image/svg+xml", "image/svg+xml; charset=utf-8"),
            ("application/json", "application/json"),
            ("image/png", "image/png"),
            ("application/octet-stream", "application/octet-stream"),
            ("text/plain; charset=latin-1", "text/plain; charset=latin-1"),
            ("text/plain;CHARSET=x", "text/plain;CHARSET=x"),
        ] {
            assert_eq!(with_charset(&s, t), want);
        }
    }

    #[test]
    fn splitext_rules() {
        assert_eq!(splitext(b"a/b.c"), (&b"a/b"[..], &b".c"[..]));
        assert_eq!(splitext(b"a.b/c"), (&b"a.b/c"[..], &b""[..]));
        assert_eq!(splitext(b"..x"), (&b"..x"[..], &b""[..]));
        assert_eq!(splitext(b"..x.y"), (&b"..x"[..], &b".y"[..]));
    }
}
