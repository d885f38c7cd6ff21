//! `send_head` of `SimpleHTTPRequestHandler`: a file, a redirect, an index page, a listing, a
//! 304, or a 404.
//!
//! The hot path costs one `open` and one `fstat`: the file is opened first (non-blocking, so a
//! FIFO cannot stall the server) beneath the root (the `beneath` module: `openat2` with
//! `RESOLVE_BENEATH`), and measured through the open descriptor, so what is measured is what
//! is sent. Only when the open fails does a `stat` ask whether a directory is there. A listed
//! directory is read through the descriptor that was opened, not by its name again.

use std::fs::File;
use std::os::fd::OwnedFd;
use std::path::Path;

use bytes::Bytes;
use protocol::RequestHead;
use rustix::fs::{FileType, OFlags};

use crate::beneath::{Lookup, may_be_directory, relative};
use crate::cgi::cgi_info;
use crate::conditional::is_not_modified;
use crate::error_page::send_error;
use crate::listing::list_directory_at;
use crate::mime::guess_type;
use crate::path::{has_trailing_slash, local_path, redirect_location, to_fs_path, translate_path};
use crate::plan::{Plan, PlanBody};
use crate::response::{append_extra_headers, response_head};
use crate::time::date_time_string;
use crate::{RequestContext, Settings};
use std::os::unix::ffi::OsStrExt;

/// What an open-and-look found at a path.
enum Found {
    File(File, std::fs::Metadata),
    /// A directory, with its open descriptor when it could be opened for reading.
    Dir(Option<OwnedFd>),
    /// Nothing servable: missing, unreadable, outside the root, or not a regular file.
    Nothing,
    /// The process (or the system) is out of file descriptors: nothing can be said about the
    /// path now.
    Exhausted,
}

/// Whether an open failed for want of descriptors (`EMFILE`, `ENFILE`), not because of the
/// path: a 503 the client may retry, never a 404 it would believe.
fn out_of_descriptors(e: &std::io::Error) -> bool {
    let code = e.raw_os_error();
    code == Some(rustix::io::Errno::MFILE.raw_os_error())
        || code == Some(rustix::io::Errno::NFILE.raw_os_error())
}

/// Opens `rel` (beneath the root, see [`Lookup`]) without blocking or inheriting it, and says
/// what it is.
///
/// With CGI on, a regular file that a link leads to inside a CGI directory is not served: its
/// URL did not name a script, so it would be served as text, source and all.
fn open_and_look(settings: &Settings, fs: &Lookup, rel: &Path) -> Found {
    let flags = OFlags::RDONLY | OFlags::NONBLOCK | OFlags::NOCTTY;
    let opened = if settings.cgi.enabled {
        fs.open_resolved(rel, flags)
    } else {
        fs.open(rel, flags).map(|fd| (fd, None))
    };
    match opened {
        Ok((fd, place)) => {
            let file = File::from(fd);
            match file.metadata() {
                Ok(m) if m.is_file() && place.is_some_and(|p| in_cgi_directory(settings, &p)) => {
                    Found::Nothing
                }
                Ok(m) if m.is_file() => Found::File(file, m),
                Ok(m) if m.is_dir() => Found::Dir(Some(file.into())),
                _ => Found::Nothing,
            }
        }
        Err(e) if out_of_descriptors(&e) => Found::Exhausted,
        // A directory we may not open can still be redirected to or reported on.
        Err(e) if may_be_directory(&e) && fs.is_dir(rel) => Found::Dir(None),
        Err(_) => Found::Nothing,
    }
}

/// Whether the file at `place` (components below the root) lies in a CGI directory.
fn in_cgi_directory(settings: &Settings, place: &[Vec<u8>]) -> bool {
    let mut url = Vec::new();
    for name in place {
        url.push(b'/');
        url.extend_from_slice(name);
    }
    cgi_info(&settings.cgi.directories, &url).is_some()
}

/// `send_head()` for `GET` and `HEAD`, given `self.path` (see [`request_path`](crate::request_path)).
///
/// Every file-system access goes through a [`Lookup`]: unless
/// [`follow_symlinks`](Settings::follow_symlinks) is set, a path whose links lead outside the
/// root is a 404, as if it did not exist.
pub(crate) fn send_head(
    settings: &Settings,
    head: &RequestHead,
    ctx: &RequestContext<'_>,
    path: &[u8],
) -> Plan {
    let head_request = head.is_head();
    let not_found = || {
        send_error(
            settings,
            404,
            Some("File not found"),
            None,
            head_request,
            ctx.now,
        )
    };
    // `translate_path` against an empty root gives the path below the root.
    let translated = translate_path(Path::new(""), local_path(settings, path));
    let Some(rel) = to_fs_path(relative(&translated).to_vec()) else {
        return not_found();
    };
    let exhausted = || {
        let mut plan = send_error(settings, 503, None, None, head_request, ctx.now);
        plan.head.headers.append("Retry-After", "1");
        plan
    };
    let fs = match Lookup::new(settings) {
        Ok(fs) => fs,
        Err(e) if out_of_descriptors(&e) => return exhausted(),
        Err(_) => return not_found(),
    };
    match open_and_look(settings, &fs, &rel) {
        Found::File(file, meta) => serve_file(settings, head, ctx, &rel, file, &meta),
        Found::Nothing => not_found(),
        Found::Exhausted => exhausted(),
        Found::Dir(dir) => {
            if !has_trailing_slash(path) {
                let mut plan_head = response_head(settings, 301, None, ctx.now);
                plan_head
                    .headers
                    .append("Location", redirect_location(path));
                plan_head.headers.append("Content-Length", "0");
                return Plan {
                    head: plan_head,
                    body: PlanBody::Empty,
                    log_messages: Vec::new(),
                };
            }
            for index in &settings.index_pages {
                let index_path = rel.join(index);
                match open_and_look(settings, &fs, &index_path) {
                    Found::File(file, meta) => {
                        return serve_file(settings, head, ctx, &index_path, file, &meta);
                    }
                    Found::Exhausted => return exhausted(),
                    // `os.path.isfile` said yes but `open` failed: CPython answers 404.
                    Found::Nothing
                        if fs.stat(&index_path).is_ok_and(|st| {
                            FileType::from_raw_mode(st.st_mode) == FileType::RegularFile
                        }) =>
                    {
                        return not_found();
                    }
                    _ => {}
                }
            }
            list_directory_at(settings, &fs, dir, &rel, path, head, ctx.now)
        }
    }
}

/// The 200 (or 304) for an open regular file.
fn serve_file(
    settings: &Settings,
    head: &RequestHead,
    ctx: &RequestContext<'_>,
    fs_path: &Path,
    file: File,
    meta: &std::fs::Metadata,
) -> Plan {
    let mtime = meta.modified().unwrap_or(std::time::UNIX_EPOCH);
    if is_not_modified(head.headers(), mtime) {
        return Plan {
            head: response_head(settings, 304, None, ctx.now),
            body: PlanBody::Empty,
            log_messages: Vec::new(),
        };
    }
    let len = meta.len();
    let ctype = guess_type(settings, fs_path.as_os_str().as_bytes());
    let mut plan_head = response_head(settings, 200, None, ctx.now);
    plan_head
        .headers
        .append("Content-type", Bytes::copy_from_slice(ctype.as_bytes()));
    plan_head.headers.append("Content-Length", len.to_string());
    plan_head
        .headers
        .append("Last-Modified", date_time_string(mtime));
    append_extra_headers(settings, &mut plan_head);
    let body = if head.is_head() {
        PlanBody::Empty
    } else {
        PlanBody::File {
            file,
            offset: 0,
            len,
        }
    };
    Plan {
        head: plan_head,
        body,
        log_messages: Vec::new(),
    }
}
