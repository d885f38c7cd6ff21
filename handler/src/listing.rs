//! `list_directory`: the HTML index of a directory, byte for byte as CPython 3.14 writes it.
//!
//! One deliberate difference from 3.14 (see DESIGN.md, "Which CPython"): the title shows the
//! whole request path, query included, percent-decoded, as CPython 3.11 to 3.13 do, because
//! CPython's own `test_undecodable_parameter` asserts it.

use std::ffi::OsStr;
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::time::SystemTime;

use bytes::Bytes;
use protocol::RequestHead;
use rustix::fs::{AtFlags, Dir, FileType, Mode, OFlags, Stat, statat};

mod json;
mod query;
mod rich;

use crate::Settings;
use crate::beneath::Lookup;
use crate::error_page::send_error;
use crate::path::local_path;
use crate::plan::{Plan, PlanBody};
use crate::pystr::{
    Unquote, fs_decode, fs_encode_lossy, lower_key, push_html_escaped, push_quoted, unquote,
};
use crate::response::{append_extra_headers, response_head};
use crate::settings::ListingStyle;
use crate::time::unix_seconds;
use query::{Format, ListingQuery, prefers_json};

/// One directory entry, as the listings need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Entry {
    /// The raw file name.
    pub(crate) raw: Vec<u8>,
    /// `os.fsdecode(name)`: the name as a Python string.
    pub(crate) text: Vec<u8>,
    /// A directory, or a link the listing may enter as one (its `href` ends in `/`).
    pub(crate) is_dir: bool,
    pub(crate) is_link: bool,
    /// Size and modification time (seconds since the epoch), read only for the rich and JSON
    /// listings: of the entry itself, or of what a link leads to when the lookup may follow it.
    pub(crate) meta: Option<Meta>,
}

/// What `stat` says about an entry, for the rich and JSON listings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Meta {
    pub(crate) size: u64,
    pub(crate) mtime: i64,
}

impl Meta {
    #[allow(
        clippy::useless_conversion,
        reason = "the stat fields are c_long on some targets, i64 on others"
    )]
    fn of(st: &Stat) -> Self {
        Self {
            size: u64::try_from(st.st_size).unwrap_or(0),
            mtime: i64::from(st.st_mtime),
        }
    }
}

/// What a link leads to, for [`read_entries`]: `None` when it leads nowhere the listing may
/// go (dangling, or outside the root).
#[derive(Debug, Clone, Copy)]
struct Target {
    is_dir: bool,
    meta: Meta,
}

/// `list_directory(path)`: reads `dir` and plans the listing page (200), or 404
/// `No permission to list directory` when it cannot be read. `request_path` is `self.path`
/// (what the title shows).
///
/// `dir` is opened as given and links in it are followed wherever they lead, as in CPython;
/// requests served by [`plan_request`](crate::plan_request) list through the descriptor their
/// lookup opened beneath the root instead.
pub fn list_directory(
    settings: &Settings,
    dir: &Path,
    request_path: &[u8],
    head_request: bool,
    now: SystemTime,
) -> Plan {
    let want = Want::of(settings, request_path, None);
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NONBLOCK | OFlags::CLOEXEC;
    let entries = rustix::fs::open(dir, flags, Mode::empty())
        .ok()
        .and_then(|fd| {
            read_entries(fd, want.stat, |name| {
                let m = std::fs::metadata(dir.join(OsStr::from_bytes(name))).ok()?;
                let mtime = m.modified().map_or(0, unix_seconds);
                Some(Target {
                    is_dir: m.is_dir(),
                    meta: Meta {
                        size: m.len(),
                        mtime,
                    },
                })
            })
        });
    plan_listing(settings, want, entries, request_path, head_request, now)
}

/// The listing of the directory open as `dir` (`None`: it could not be opened for reading),
/// found at `rel` beneath the root. A link in it counts as a directory (`href` ending in `/`)
/// only if `fs` would enter it: a link to a directory outside the root is listed by name, as
/// CPython lists it, but as a plain entry, and following it gives 404.
///
/// With [`ListingStyle::Rich`], or a JSON listing asked for (see [`Want`]), sizes and times
/// are read too (links: of their target, through the same lookup).
pub(crate) fn list_directory_at(
    settings: &Settings,
    fs: &Lookup,
    dir: Option<OwnedFd>,
    rel: &Path,
    request_path: &[u8],
    head: &RequestHead,
    now: SystemTime,
) -> Plan {
    let want = Want::of(settings, request_path, head.headers().get("Accept"));
    let entries = dir.and_then(|fd| {
        read_entries(fd, want.stat, |name| {
            let st = fs.stat(&rel.join(OsStr::from_bytes(name))).ok()?;
            Some(Target {
                is_dir: FileType::from_raw_mode(st.st_mode) == FileType::Directory,
                meta: Meta::of(&st),
            })
        })
    });
    plan_listing(settings, want, entries, request_path, head.is_head(), now)
}

/// Which listing a request gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Page {
    /// CPython's HTML, byte for byte.
    Python,
    /// [`ListingStyle::Rich`]'s HTML.
    Rich,
    /// The entries as JSON.
    Json,
}

/// What the listing of one request needs: which page, in which order, and whether entries
/// must be `stat`ed.
#[derive(Debug, Clone, Copy)]
struct Want {
    page: Page,
    query: ListingQuery,
    stat: bool,
    /// Whether the answer depends on `Accept` (`Vary: Accept`): in the rich mode, where
    /// `Accept: application/json` is negotiated.
    vary: bool,
}

impl Want {
    /// `--compat` always gets CPython's page. Otherwise `?format=json` asks for JSON in
    /// either mode; the rich mode also negotiates JSON from `Accept` (and says so with
    /// `Vary: Accept`), which the default mode does not, so its HTML responses keep CPython's
    /// exact headers.
    fn of(settings: &Settings, request_path: &[u8], accept: Option<&[u8]>) -> Self {
        let rich = settings.listing == ListingStyle::Rich && !settings.compat;
        let query = if settings.compat {
            ListingQuery::default()
        } else {
            ListingQuery::parse(local_path(settings, request_path))
        };
        let json = !settings.compat
            && (query.format == Some(Format::Json)
                || (rich && query.format.is_none() && accept.is_some_and(prefers_json)));
        let page = if json {
            Page::Json
        } else if rich {
            Page::Rich
        } else {
            Page::Python
        };
        Self {
            page,
            query,
            stat: page != Page::Python,
            vary: rich,
        }
    }
}

fn plan_listing(
    settings: &Settings,
    want: Want,
    entries: Option<Vec<Entry>>,
    request_path: &[u8],
    head_request: bool,
    now: SystemTime,
) -> Plan {
    let Some(mut entries) = entries else {
        return send_error(
            settings,
            404,
            Some("No permission to list directory"),
            None,
            head_request,
            now,
        );
    };
    // `list.sort(key=lambda a: a.lower())`: stable, by code point of the lowered name.
    entries.sort_by_cached_key(|e| lower_key(&e.text).into_owned());
    let (body, content_type) = match want.page {
        Page::Python => (
            render_listing(request_path, &entries),
            "text/html; charset=utf-8",
        ),
        Page::Rich => {
            query::sort(&mut entries, want.query);
            let path = unquote(
                crate::path::strip_query_and_fragment(local_path(settings, request_path)),
                Unquote::SurrogatePass,
            );
            (
                rich::render(&path, &entries, want.query, settings.upload_form),
                "text/html; charset=utf-8",
            )
        }
        Page::Json => {
            query::sort(&mut entries, want.query);
            (json::render(&entries), "application/json")
        }
    };
    let mut head = response_head(settings, 200, None, now);
    head.headers.append("Content-type", content_type);
    head.headers
        .append("Content-Length", body.len().to_string());
    if want.vary {
        head.headers.append("Vary", "Accept");
    }
    append_extra_headers(settings, &mut head);
    Plan {
        head,
        body: if head_request {
            PlanBody::Empty
        } else {
            PlanBody::Bytes(Bytes::from(body))
        },
        log_messages: Vec::new(),
    }
}

/// `os.listdir` of the open directory `fd`, with `os.path.islink` and `os.path.isdir` for
/// each entry; `follow(name)` says what a symbolic link leads to. With `stat`, each entry's
/// size and time are read as well (`lstat` beside the directory; `follow` for links).
fn read_entries(
    fd: OwnedFd,
    stat: bool,
    follow: impl Fn(&[u8]) -> Option<Target>,
) -> Option<Vec<Entry>> {
    let mut entries = Vec::new();
    let mut dir = Dir::new(fd).ok()?;
    // Not a `for` loop: the directory's descriptor is borrowed between reads.
    while let Some(item) = dir.read() {
        // CPython's os.listdir fails as a whole on a read error: so does this.
        let item = item.ok()?;
        let raw = item.file_name().to_bytes();
        if raw == b"." || raw == b".." {
            continue;
        }
        let raw = raw.to_vec();
        let text = fs_decode(&raw).into_owned();
        // The entry type from readdir answers `islink` and, for anything but a link, `isdir`
        // without a system call; some file systems leave it unknown, and then `lstat` does.
        let mut file_type = item.file_type();
        let mut meta = None;
        if file_type == FileType::Unknown || stat {
            let st = dir
                .fd()
                .ok()
                .and_then(|d| statat(d, OsStr::from_bytes(&raw), AtFlags::SYMLINK_NOFOLLOW).ok());
            if let Some(st) = st {
                file_type = FileType::from_raw_mode(st.st_mode);
                meta = Some(Meta::of(&st));
            }
        }
        let is_link = file_type == FileType::Symlink;
        let is_dir = if is_link {
            let target = follow(&raw);
            meta = target.map(|t| t.meta).filter(|_| stat);
            target.is_some_and(|t| t.is_dir)
        } else {
            file_type == FileType::Directory
        };
        entries.push(Entry {
            raw,
            text,
            is_dir,
            is_link,
            meta: meta.filter(|_| stat),
        });
    }
    Some(entries)
}

fn render_listing(request_path: &[u8], entries: &[Entry]) -> Vec<u8> {
    let display = unquote(request_path, Unquote::SurrogatePass);
    let mut title = b"Directory listing for ".to_vec();
    push_html_escaped(&mut title, &display);
    let title = fs_encode_lossy(&title).into_owned();

    let mut r = Vec::with_capacity(400 + entries.len() * 80);
    r.extend_from_slice(
        b"<!DOCTYPE HTML>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
<style type=\"text/css\">\n:root {\ncolor-scheme: light dark;\n}\n</style>\n<title>",
    );
    r.extend_from_slice(&title);
    r.extend_from_slice(b"</title>\n</head>\n<body>\n<h1>");
    r.extend_from_slice(&title);
    r.extend_from_slice(b"</h1>\n<hr>\n<ul>\n");
    for e in entries {
        r.extend_from_slice(b"<li><a href=\"");
        push_quoted(&mut r, &e.text);
        if e.is_dir {
            r.push(b'/');
        }
        r.extend_from_slice(b"\">");
        // html.escape(displayname) encoded with surrogateescape gives back the raw name bytes.
        push_html_escaped(&mut r, &e.raw);
        // A link shows `@` even when it points to a directory (whose href still ends in `/`).
        if e.is_link {
            r.push(b'@');
        } else if e.is_dir {
            r.push(b'/');
        }
        r.extend_from_slice(b"</a></li>\n");
    }
    r.extend_from_slice(b"</ul>\n<hr>\n</body>\n</html>\n");
    r
}
