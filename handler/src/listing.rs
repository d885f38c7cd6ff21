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
use rustix::fs::{AtFlags, Dir, FileType, Mode, OFlags, statat};

use crate::Settings;
use crate::beneath::Lookup;
use crate::error_page::send_error;
use crate::plan::{Plan, PlanBody};
use crate::pystr::{
    Unquote, fs_decode, fs_encode_lossy, lower_key, push_html_escaped, push_quoted, unquote,
};
use crate::response::{append_extra_headers, response_head};

/// One directory entry, as the listing needs it.
struct Entry {
    /// The raw file name.
    raw: Vec<u8>,
    /// `os.fsdecode(name)`: the name as a Python string.
    text: Vec<u8>,
    is_dir: bool,
    is_link: bool,
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
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NONBLOCK | OFlags::CLOEXEC;
    let entries = rustix::fs::open(dir, flags, Mode::empty())
        .ok()
        .and_then(|fd| {
            read_entries(fd, |name| {
                std::fs::metadata(dir.join(OsStr::from_bytes(name))).is_ok_and(|m| m.is_dir())
            })
        });
    plan_listing(settings, entries, request_path, head_request, now)
}

/// The listing of the directory open as `dir` (`None`: it could not be opened for reading),
/// found at `rel` beneath the root. A link in it counts as a directory (`href` ending in `/`)
/// only if `fs` would enter it: a link to a directory outside the root is listed by name, as
/// CPython lists it, but as a plain entry, and following it gives 404.
pub(crate) fn list_directory_at(
    settings: &Settings,
    fs: &Lookup,
    dir: Option<OwnedFd>,
    rel: &Path,
    request_path: &[u8],
    head_request: bool,
    now: SystemTime,
) -> Plan {
    let entries =
        dir.and_then(|fd| read_entries(fd, |name| fs.is_dir(&rel.join(OsStr::from_bytes(name)))));
    plan_listing(settings, entries, request_path, head_request, now)
}

fn plan_listing(
    settings: &Settings,
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
    let body = render_listing(request_path, &entries);
    let mut head = response_head(settings, 200, None, now);
    head.headers
        .append("Content-type", "text/html; charset=utf-8");
    head.headers
        .append("Content-Length", body.len().to_string());
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
/// each entry; `link_is_dir(name)` answers `isdir` for a symbolic link.
fn read_entries(fd: OwnedFd, link_is_dir: impl Fn(&[u8]) -> bool) -> Option<Vec<Entry>> {
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
        if file_type == FileType::Unknown {
            file_type = dir
                .fd()
                .ok()
                .and_then(|d| statat(d, OsStr::from_bytes(&raw), AtFlags::SYMLINK_NOFOLLOW).ok())
                .map_or(FileType::Unknown, |st| FileType::from_raw_mode(st.st_mode));
        }
        let is_link = file_type == FileType::Symlink;
        let is_dir = if is_link {
            link_is_dir(&raw)
        } else {
            file_type == FileType::Directory
        };
        entries.push(Entry {
            raw,
            text,
            is_dir,
            is_link,
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
