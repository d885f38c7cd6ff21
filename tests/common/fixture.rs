//! The directory tree the suites serve. Built fresh in a temp dir for every server, so tests
//! never share state. Names cover what CPython's tests and bug reports exercise: spaces,
//! non-ASCII, `%`, `&`, `<`, quotes, `#`, `?`, symlinks to files and directories, a dangling
//! symlink, empty directories, index.html / index.htm, a *directory* named index.html,
//! 0-byte and 1 MiB files, undecodable byte names, and a file just outside the root.

use std::ffi::OsStr;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

pub const A_TXT: &[u8] = b"alpha\n";
pub const B_TXT: &[u8] = b"bravo\n";
pub const TEST: &[u8] = b"We are the knights who say Ni!";
pub const INDEX_HTML: &[u8] = b"<p>index.html</p>\n";
pub const INDEX_HTM: &[u8] = b"<p>index.htm</p>\n";
pub const SECRET: &[u8] = b"outside the root\n";
pub const BIG_LEN: usize = 1 << 20;
pub const SPARSE_LEN: u64 = 100 << 20;
/// Non-zero bytes written into the sparse file (offset, bytes), so its checksum means something.
pub const SPARSE_MARKS: &[(u64, &[u8])] = &[
    (0, b"sparse-start"),
    (50 << 20, b"middle"),
    ((100 << 20) - 4, b"end!"),
];

/// Every regular file gets this mtime: `Sun, 09 Sep 2001 01:46:40 GMT`.
pub const MTIME_UNIX: u64 = 1_000_000_000;
pub const MTIME_HTTP: &str = "Sun, 09 Sep 2001 01:46:40 GMT";

/// Names (raw bytes) of the undecodable entries.
pub const BAD_FILE: &[u8] = b"bad\xffname.txt";
pub const BAD_DIR: &[u8] = b"bad\xfedir";

/// Extensions served by the `mime/` directory (file `x.<ext>`), plus `noext` and `X.TXT`.
pub const MIME_EXTS: &[&str] = &[
    "html",
    "htm",
    "HTML",
    "css",
    "js",
    "mjs",
    "json",
    "txt",
    "png",
    "jpg",
    "jpeg",
    "gif",
    "svg",
    "ico",
    "webp",
    "wasm",
    "pdf",
    "xml",
    "csv",
    "zip",
    "tar",
    "gz",
    "tar.gz",
    "tgz",
    "bz2",
    "xz",
    "Z",
    "md",
    "py",
    "c",
    "h",
    "mp4",
    "mp3",
    "woff",
    "woff2",
    "wav",
    "yaml",
    "toml",
    "ts",
    "map",
    "html.br",
    "svgz",
    "unknownext",
];

/// A served root inside a temp dir, with a sibling file outside it.
pub struct Fixture {
    _tmp: tempfile::TempDir,
    pub root: PathBuf,
    pub outside: PathBuf,
}

impl Fixture {
    /// The full tree ([`build`]).
    pub fn new() -> Self {
        let fixture = Self::empty();
        build(&fixture.root);
        fixture
    }

    /// The full tree plus the 100 MiB sparse file `sparse.bin`.
    pub fn with_sparse() -> Self {
        let fixture = Self::new();
        make_sparse(&fixture.root.join("sparse.bin"));
        fixture
    }

    /// An empty root.
    pub fn empty() -> Self {
        let tmp = tempfile::Builder::new()
            .prefix("http-server-test-")
            .tempdir()
            .unwrap();
        let root = tmp.path().join("root");
        fs::create_dir(&root).unwrap();
        let outside = tmp.path().join("secret.txt");
        fs::write(&outside, SECRET).unwrap();
        Self {
            _tmp: tmp,
            root,
            outside,
        }
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }
}

/// The 1 MiB file's bytes: a pattern with period 251 (prime), so shifted ranges differ.
pub fn big_bytes() -> Vec<u8> {
    (0..BIG_LEN).map(|i| (i % 251) as u8).collect()
}

/// Writes `bytes` to `dir/name` and gives it the fixed mtime.
pub fn file(dir: &Path, name: impl AsRef<OsStr>, bytes: &[u8]) {
    let path = dir.join(name.as_ref());
    fs::write(&path, bytes).unwrap();
    set_mtime(&path);
}

pub fn set_mtime(path: &Path) {
    let f = fs::OpenOptions::new().write(true).open(path).unwrap();
    f.set_modified(SystemTime::UNIX_EPOCH + Duration::from_secs(MTIME_UNIX))
        .unwrap();
}

fn dir(root: &Path, name: impl AsRef<OsStr>) -> PathBuf {
    let path = root.join(name.as_ref());
    fs::create_dir_all(&path).unwrap();
    path
}

/// Builds the standard tree under `root` (see the module docs).
pub fn build(root: &Path) {
    file(root, "a.txt", A_TXT);
    file(root, "test", TEST);
    file(root, "empty.txt", b"");
    file(root, "big.bin", &big_bytes());

    let sub = dir(root, "sub");
    file(&sub, "b.txt", B_TXT);
    file(&dir(&sub, "inner"), "c.txt", b"charlie\n");
    dir(root, "emptydir");

    file(&dir(root, "idx"), "index.html", INDEX_HTML);
    file(&dir(root, "idxm"), "index.htm", INDEX_HTM);
    let both = dir(root, "both");
    file(&both, "index.html", INDEX_HTML);
    file(&both, "index.htm", INDEX_HTM);
    let dirindex = dir(root, "dirindex");
    dir(&dirindex, "index.html");
    file(&dirindex, "other.txt", b"other\n");

    for name in [
        "with space.txt",
        "\u{fc}n\u{ef}c\u{f6}d\u{e9}.txt",
        "pct%41.txt",
        "a&b.txt",
        "lt<gt>.txt",
        "quote\"dq'sq.txt",
        "hash#name.txt",
        "q?mark.txt",
        "semi;colon.txt",
        "plus+sign.txt",
        "tilde~.txt",
    ] {
        file(root, name, format!("file {name}\n").as_bytes());
    }
    file(&dir(root, "spaced dir"), "f.txt", b"in spaced dir\n");
    file(
        &dir(root, "\u{fc}n\u{ef} dir"),
        "g.txt",
        b"in unicode dir\n",
    );
    dir(root, "&<dir>\"'");

    symlink("a.txt", root.join("link-a.txt")).unwrap();
    symlink("sub", root.join("link-sub")).unwrap();
    symlink("does-not-exist", root.join("dangling")).unwrap();

    file(root, OsStr::from_bytes(BAD_FILE), b"undecodable name\n");
    file(
        &dir(root, OsStr::from_bytes(BAD_DIR)),
        "h.txt",
        b"in undecodable dir\n",
    );

    build_listing(&dir(root, "listing"));

    let mime = dir(root, "mime");
    for ext in MIME_EXTS {
        file(&mime, format!("x.{ext}"), ext.as_bytes());
    }
    file(&mime, "noext", b"noext");
    file(&mime, "X.TXT", b"upper");
}

/// `listing/`: the entries whose page [`LISTING_PAGE`] spells out.
fn build_listing(listing: &Path) {
    dir(listing, "a dir");
    file(listing, "Apple.txt", b"");
    file(listing, "amp&<x>.txt", b"");
    file(listing, "b.TXT", b"");
    file(listing, "B2", b"");
    file(listing, "pct%.txt", b"");
    file(listing, "q\"uote'.txt", b"");
    file(listing, "\u{fc}.txt", b"");
    symlink("../a.txt", listing.join("link-file")).unwrap();
    symlink("../sub", listing.join("link-dir")).unwrap();
}

/// CPython 3.14's listing of `/listing/`: sorted by lower-cased name, `/` after directories,
/// `@` after symlinks (a link to a directory links with `/`), hrefs percent-encoded, text
/// HTML-escaped (`&`, `<`, `>` only).
pub const LISTING_PAGE: &str = "<!DOCTYPE HTML>
<html lang=\"en\">
<head>
<meta charset=\"utf-8\">
<style type=\"text/css\">
:root {
color-scheme: light dark;
}
</style>
<title>Directory listing for /listing/</title>
</head>
<body>
<h1>Directory listing for /listing/</h1>
<hr>
<ul>
<li><a href=\"a%20dir/\">a dir/</a></li>
<li><a href=\"amp%26%3Cx%3E.txt\">amp&amp;&lt;x&gt;.txt</a></li>
<li><a href=\"Apple.txt\">Apple.txt</a></li>
<li><a href=\"b.TXT\">b.TXT</a></li>
<li><a href=\"B2\">B2</a></li>
<li><a href=\"link-dir/\">link-dir@</a></li>
<li><a href=\"link-file\">link-file@</a></li>
<li><a href=\"pct%25.txt\">pct%.txt</a></li>
<li><a href=\"q%22uote%27.txt\">q\"uote'.txt</a></li>
<li><a href=\"%C3%BC.txt\">\u{fc}.txt</a></li>
</ul>
<hr>
</body>
</html>
";

/// The listing page of an empty directory, for `display` (already escaped).
pub fn empty_listing(display: &str) -> String {
    format!(
        "<!DOCTYPE HTML>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<style type=\"text/css\">\n:root {{\ncolor-scheme: light dark;\n}}\n</style>\n<title>Directory listing for {display}</title>\n</head>\n<body>\n<h1>Directory listing for {display}</h1>\n<hr>\n<ul>\n</ul>\n<hr>\n</body>\n</html>\n"
    )
}

/// CPython 3.14's error page for `code`, `message`, `explain` (both already HTML-escaped).
pub fn error_page(code: u16, message: &str, explain: &str) -> String {
    format!(
        "<!DOCTYPE HTML>
<html lang=\"en\">
    <head>
        <meta charset=\"utf-8\">
        <style type=\"text/css\">
            :root {{
                color-scheme: light dark;
            }}
        </style>
        <title>Error response</title>
    </head>
    <body>
        <h1>Error response</h1>
        <p>Error code: {code}</p>
        <p>Message: {message}.</p>
        <p>Error code explanation: {code} - {explain}.</p>
    </body>
</html>
"
    )
}

/// A 100 MiB sparse file with a few marker bytes.
pub fn make_sparse(path: &Path) {
    use std::io::{Seek, SeekFrom, Write};
    let mut f = fs::File::create(path).unwrap();
    f.set_len(SPARSE_LEN).unwrap();
    for (offset, bytes) in SPARSE_MARKS {
        f.seek(SeekFrom::Start(*offset)).unwrap();
        f.write_all(bytes).unwrap();
    }
    drop(f);
    set_mtime(path);
}

/// (length, FNV-1a) of the sparse file's content, computed without reading it.
pub fn sparse_checksum() -> (u64, u64) {
    let mut hash = super::FNV_OFFSET;
    let zeros = vec![0u8; 1 << 20];
    let mut pos = 0u64;
    let mut marks = SPARSE_MARKS.iter().peekable();
    while pos < SPARSE_LEN {
        if let Some((offset, bytes)) = marks.peek().copied().copied() {
            if pos == offset {
                hash = super::fnv1a(bytes, hash);
                pos += bytes.len() as u64;
                marks.next();
                continue;
            }
            let n = (offset - pos).min(zeros.len() as u64) as usize;
            hash = super::fnv1a(&zeros[..n], hash);
            pos += n as u64;
        } else {
            let n = (SPARSE_LEN - pos).min(zeros.len() as u64) as usize;
            hash = super::fnv1a(&zeros[..n], hash);
            pos += n as u64;
        }
    }
    (SPARSE_LEN, hash)
}
