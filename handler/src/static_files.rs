//! `send_head` of `SimpleHTTPRequestHandler`: a file, a redirect, an index page, a listing, a
//! 304, or a 404.
//!
//! The hot path costs one `open` and one `fstat`: the file is opened first (non-blocking, so a
//! FIFO cannot stall the server) and measured through the open descriptor, so what is measured
//! is what is sent. Only when the open fails does a `stat` ask whether a directory is there.

use std::fs::File;
use std::path::Path;

use bytes::Bytes;
use protocol::RequestHead;
use rustix::fs::{Mode, OFlags};

use crate::conditional::is_not_modified;
use crate::error_page::send_error;
use crate::listing::list_directory;
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
    Dir,
    /// Nothing servable: missing, unreadable, or not a regular file.
    Nothing,
}

/// Opens `path` without blocking or inheriting it, and says what it is.
fn open_and_look(path: &Path) -> Found {
    let flags = OFlags::RDONLY | OFlags::NONBLOCK | OFlags::CLOEXEC | OFlags::NOCTTY;
    match rustix::fs::open(path, flags, Mode::empty()) {
        Ok(fd) => {
            let file = File::from(fd);
            match file.metadata() {
                Ok(m) if m.is_file() => Found::File(file, m),
                Ok(m) if m.is_dir() => Found::Dir,
                _ => Found::Nothing,
            }
        }
        // A directory we may not open can still be redirected to or reported on.
        Err(_) if std::fs::metadata(path).is_ok_and(|m| m.is_dir()) => Found::Dir,
        Err(_) => Found::Nothing,
    }
}

/// `send_head()` for `GET` and `HEAD`, given `self.path` (see [`request_path`](crate::request_path)).
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
    let Some(fs_path) = to_fs_path(translate_path(
        &settings.directory,
        local_path(settings, path),
    )) else {
        return not_found();
    };
    match open_and_look(&fs_path) {
        Found::File(file, meta) => serve_file(settings, head, ctx, &fs_path, file, &meta),
        Found::Nothing => not_found(),
        Found::Dir => {
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
                let index_path = fs_path.join(index);
                match open_and_look(&index_path) {
                    Found::File(file, meta) => {
                        return serve_file(settings, head, ctx, &index_path, file, &meta);
                    }
                    // `os.path.isfile` said yes but `open` failed: CPython answers 404.
                    Found::Nothing if std::fs::metadata(&index_path).is_ok_and(|m| m.is_file()) => {
                        return not_found();
                    }
                    _ => {}
                }
            }
            list_directory(settings, &fs_path, path, head_request, ctx.now)
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
