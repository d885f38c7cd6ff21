//! `list_directory`: the HTML index of a directory, byte for byte as CPython 3.14 writes it.
//!
//! One deliberate difference from 3.14 (see DESIGN.md, "Which CPython"): the title shows the
//! whole request path, query included, percent-decoded, as CPython 3.11 to 3.13 do, because
//! CPython's own `test_undecodable_parameter` asserts it.
//!
//! The directory is read by the `scan` module into buffers each thread reuses (no allocation
//! per entry, no `stat` where `getdents` gives the type), and CPython's page, which shows only
//! names and types, is kept by the `cache` module until the directory changes (its
//! documentation argues why a kept page is never stale). The rich and JSON listings, which
//! show sizes and times, are read afresh every time.

use std::ffi::OsStr;
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::time::SystemTime;

use bytes::Bytes;
use protocol::RequestHead;
use rustix::fs::{FileType, Mode, OFlags, Stat};

mod cache;
mod json;
mod query;
mod rich;
mod scan;

use crate::Settings;
use crate::beneath::Lookup;
use crate::error_page::send_error;
use crate::path::local_path;
use crate::plan::{Plan, PlanBody};
use crate::pystr::{Unquote, fs_encode_lossy, push_html_escaped, push_quoted, unquote};
use crate::response::{append_extra_headers, response_head};
use crate::settings::ListingStyle;
use crate::time::unix_seconds;
use cache::{Stamp, with_cache};
use query::{Format, ListingQuery, prefers_json};
use scan::{Scan, with_scratch};

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

/// What a link leads to, for [`Scan::read`]: `None` when it leads nowhere the listing may
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
    let fd = rustix::fs::open(dir, flags, Mode::empty()).ok();
    let follow = |name: &[u8]| {
        let m = std::fs::metadata(dir.join(OsStr::from_bytes(name))).ok()?;
        let mtime = m.modified().map_or(0, unix_seconds);
        Some(Target {
            is_dir: m.is_dir(),
            meta: Meta {
                size: m.len(),
                mtime,
            },
        })
    };
    plan_listing(settings, want, fd, follow, request_path, head_request, now)
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
    let follow = |name: &[u8]| {
        let st = fs.stat(&rel.join(OsStr::from_bytes(name))).ok()?;
        Some(Target {
            is_dir: FileType::from_raw_mode(st.st_mode) == FileType::Directory,
            meta: Meta::of(&st),
        })
    };
    plan_listing(
        settings,
        want,
        dir,
        follow,
        request_path,
        head.is_head(),
        now,
    )
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

/// The listing `want` asks for of the open directory `dir` (`None`: it could not be opened),
/// or 404 `No permission to list directory` when it cannot be read; `follow` says where a
/// link in it leads.
fn plan_listing(
    settings: &Settings,
    want: Want,
    dir: Option<OwnedFd>,
    follow: impl Fn(&[u8]) -> Option<Target>,
    request_path: &[u8],
    head_request: bool,
    now: SystemTime,
) -> Plan {
    let page = dir.and_then(|dir| match want.page {
        Page::Python => python_page(&dir, follow, request_path, now)
            .map(|body| (body, "text/html; charset=utf-8")),
        Page::Rich | Page::Json => {
            let mut entries = with_scratch(|s| {
                if !s.scan.read(&dir, &mut s.dirents, want.stat, follow) {
                    return None;
                }
                s.scan.sort_by_name();
                Some(s.scan.to_entries())
            })?;
            query::sort(&mut entries, want.query);
            Some(if want.page == Page::Json {
                (Bytes::from(json::render(&entries)), "application/json")
            } else {
                let path = unquote(
                    crate::path::strip_query_and_fragment(local_path(settings, request_path)),
                    Unquote::SurrogatePass,
                );
                let body = rich::render(&path, &entries, want.query, settings.upload_form);
                (Bytes::from(body), "text/html; charset=utf-8")
            })
        }
    });
    let Some((body, content_type)) = page else {
        return send_error(
            settings,
            404,
            Some("No permission to list directory"),
            None,
            head_request,
            now,
        );
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
            PlanBody::Bytes(body)
        },
        log_messages: Vec::new(),
    }
}

/// CPython's page for the open directory `dir`, or `None` when it cannot be read: from the
/// cache when the directory has not changed since its page was kept (see [`cache`]), else
/// read, sorted and rendered in this thread's reused buffers and copied out once.
fn python_page(
    dir: &OwnedFd,
    follow: impl Fn(&[u8]) -> Option<Target>,
    request_path: &[u8],
    now: SystemTime,
) -> Option<Bytes> {
    // Taken before the read: a change during it leaves the page kept under an older stamp.
    let stamp = rustix::fs::fstat(dir).ok().map(|st| Stamp::of(&st));
    if let Some(stamp) = &stamp
        && let Some(body) = with_cache(|c| c.get(stamp, request_path))
    {
        return Some(body);
    }
    let (body, keep) = with_scratch(|s| {
        if !s.scan.read(dir, &mut s.dirents, false, follow) {
            return None;
        }
        s.scan.sort_by_name();
        render_listing(&mut s.page, request_path, &s.scan);
        Some((Bytes::copy_from_slice(&s.page), !s.scan.has_link()))
    })?;
    if keep && let Some(stamp) = stamp {
        with_cache(|c| c.put(stamp, request_path, &body, now));
    }
    Some(body)
}

/// Renders CPython's page for the sorted `scan` into `r` (emptied first).
fn render_listing(r: &mut Vec<u8>, request_path: &[u8], scan: &Scan) {
    let display = unquote(request_path, Unquote::SurrogatePass);
    let mut title = b"Directory listing for ".to_vec();
    push_html_escaped(&mut title, &display);
    let title = fs_encode_lossy(&title);

    r.clear();
    r.extend_from_slice(
        b"<!DOCTYPE HTML>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
<style type=\"text/css\">\n:root {\ncolor-scheme: light dark;\n}\n</style>\n<title>",
    );
    r.extend_from_slice(&title);
    r.extend_from_slice(b"</title>\n</head>\n<body>\n<h1>");
    r.extend_from_slice(&title);
    r.extend_from_slice(b"</h1>\n<hr>\n<ul>\n");
    for e in scan.names() {
        r.extend_from_slice(b"<li><a href=\"");
        push_quoted(r, e.text);
        if e.is_dir {
            r.push(b'/');
        }
        r.extend_from_slice(b"\">");
        // html.escape(displayname) encoded with surrogateescape gives back the raw name bytes.
        push_html_escaped(r, e.raw);
        // A link shows `@` even when it points to a directory (whose href still ends in `/`).
        if e.is_link {
            r.push(b'@');
        } else if e.is_dir {
            r.push(b'/');
        }
        r.extend_from_slice(b"</a></li>\n");
    }
    r.extend_from_slice(b"</ul>\n<hr>\n</body>\n</html>\n");
}
