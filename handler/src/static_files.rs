//! `send_head` of `SimpleHTTPRequestHandler`: a file, a redirect, an index page, a listing, a
//! 304, or a 404.
//!
//! The hot path costs one `open` and one `fstat`: the file is opened first (non-blocking, so a
//! FIFO cannot stall the server) beneath the root (the `beneath` module: `openat2` with
//! `RESOLVE_BENEATH`), and measured through the open descriptor, so what is measured is what
//! is sent. Only when the open fails does a `stat` ask whether a directory is there. A listed
//! directory is read through the descriptor that was opened, not by its name again.

use std::cell::RefCell;
use std::fmt::Write as _;
use std::fs::File;
use std::os::fd::OwnedFd;
use std::path::Path;
use std::sync::Arc;
use std::time::SystemTime;

use bytes::Bytes;
use protocol::RequestHead;
use rustix::fs::{FileType, OFlags};

use crate::beneath::{Lookup, may_be_directory};
use crate::cgi::cgi_info;
use crate::conditional::is_not_modified;
use crate::encoding::{self, CODINGS, COMPRESS_MAX, COMPRESS_MIN, Coding};
use crate::error_page::send_error;
use crate::file_cache::{self, OpenFile, Version};
use crate::listing::list_directory_at;
use crate::mime::{guess_type, with_charset};
use crate::path::{RelPath, has_trailing_slash, local_path, redirect_location};
use crate::plan::{Part, Plan, PlanBody};
use crate::ranges::{self, Ranges, Span};
use crate::recent::Recent;
use crate::response::{append_extra_headers, response_head};
use crate::time::http_date;
use crate::validators::{self, Precondition, Validators, if_range_holds};
use crate::{RequestContext, Settings};
use std::os::unix::ffi::OsStrExt;

/// What an open-and-look found at a path.
enum Found {
    File(OpenFile),
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
/// what it is. A regular file comes from, and goes into, this thread's [`file_cache`].
///
/// With CGI on, a regular file that a link leads to inside a CGI directory is not served: its
/// URL did not name a script, so it would be served as text, source and all. Where a link led
/// is known only to a full lookup, so with CGI on nothing is cached.
fn open_and_look(settings: &Settings, fs: &Lookup, rel: &Path, now: SystemTime) -> Found {
    let cached = !settings.cgi.enabled;
    if cached && let Some(open) = file_cache::get(fs, rel, now) {
        return Found::File(open);
    }
    let flags = OFlags::RDONLY | OFlags::NONBLOCK | OFlags::NOCTTY;
    let opened = if settings.cgi.enabled {
        fs.open_resolved(rel, flags)
    } else {
        fs.open(rel, flags).map(|fd| (fd, None))
    };
    match opened {
        Ok((fd, place)) => {
            let file = File::from(fd);
            match Version::of_file(&file) {
                Some(v) if v.is_file() && place.is_some_and(|p| in_cgi_directory(settings, &p)) => {
                    Found::Nothing
                }
                Some(v) if v.is_file() && cached => {
                    Found::File(file_cache::put(fs, rel, OpenFile::new(file, v), now))
                }
                Some(v) if v.is_file() => Found::File(OpenFile::new(file, v)),
                Some(v) if v.is_dir() => Found::Dir(Some(file.into())),
                _ => Found::Nothing,
            }
        }
        // The cache's descriptors are given back first; then this is the answer.
        Err(e) if out_of_descriptors(&e) && file_cache::clear() > 0 => {
            open_and_look(settings, fs, rel, now)
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
    let Some(rel) = RelPath::of_url_path(local_path(settings, path)) else {
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
    match open_and_look(settings, &fs, &rel, ctx.now) {
        Found::File(open) => serve_file(settings, head, ctx, &fs, &rel, open),
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
                match open_and_look(settings, &fs, &index_path, ctx.now) {
                    Found::File(open) => {
                        return serve_file(settings, head, ctx, &fs, &index_path, open);
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

/// What a file response adds for content codings: the coding sent, and whether the response
/// varies with `Accept-Encoding` (a precompressed sibling exists, or the file would be
/// compressed on the fly for another client).
#[derive(Clone, Copy, Default)]
struct Coded {
    encoding: Option<Coding>,
    vary: bool,
}

impl Coded {
    fn append_to(self, head: &mut protocol::ResponseHead) {
        if let Some(c) = self.encoding {
            head.headers.append("Content-Encoding", c.token());
        }
        if self.vary {
            head.headers.append("Vary", "Accept-Encoding");
        }
    }
}

/// The `Content-type` value for `ctype`, shared per thread for the last few types served:
/// a response would otherwise copy the same dozen bytes into a new allocation.
fn type_value(ctype: &str) -> Bytes {
    thread_local! {
        static LAST: RefCell<Recent<Box<str>, Bytes>> = const { RefCell::new(Recent::new()) };
    }
    LAST.with(|last| {
        last.borrow_mut().get_or(
            |known| **known == *ctype,
            || (ctype.into(), Bytes::copy_from_slice(ctype.as_bytes())),
        )
    })
}

/// One stored representation of a file being answered: the file (or its precompressed
/// sibling), its type, whether its validators are sent (not in `--compat`), and its coding
/// headers.
struct Representation<'a> {
    ctype: &'a str,
    open: OpenFile,
    validated: bool,
    coded: Coded,
}

impl Representation<'_> {
    fn len(&self) -> u64 {
        self.open.version.len()
    }

    /// `Last-Modified`, then (default mode) `Accept-Ranges` and `ETag`, then the coding
    /// headers and the extra headers: what every 200 and 206 of the file ends with.
    fn append_validators(&self, settings: &Settings, head: &mut protocol::ResponseHead) {
        let described = &self.open.described;
        head.headers
            .append("Last-Modified", described.last_modified.clone());
        if self.validated {
            head.headers.append("Accept-Ranges", "bytes");
            head.headers.append("ETag", described.etag.clone());
        }
        self.coded.append_to(head);
        append_extra_headers(settings, head);
    }
}

/// The 200 (or 304) for an open regular file; in the default mode also 206, 412 and 416
/// (validators and ranges: the `validators` and `ranges` modules), a precompressed sibling
/// or a compressed copy (the `encoding` module).
fn serve_file(
    settings: &Settings,
    head: &RequestHead,
    ctx: &RequestContext<'_>,
    fs: &Lookup,
    fs_path: &Path,
    open: OpenFile,
) -> Plan {
    let guessed = guess_type(settings, fs_path.as_os_str().as_bytes());
    let ctype = with_charset(settings, guessed);
    if settings.compat {
        if is_not_modified(head.headers(), open.version.modified()) {
            return bare(response_head(settings, 304, None, ctx.now));
        }
        let rep = Representation {
            ctype: &ctype,
            open,
            validated: false,
            coded: Coded::default(),
        };
        return whole_file(settings, head, ctx, rep);
    }
    let mut open = open;
    let mut coded = Coded::default();
    if settings.precompressed {
        let mut siblings = Vec::new();
        for c in CODINGS {
            let mut name = fs_path.as_os_str().to_owned();
            name.push(c.suffix());
            if let Found::File(sibling) = open_and_look(settings, fs, Path::new(&name), ctx.now) {
                siblings.push((c, sibling));
            }
        }
        coded.vary = !siblings.is_empty();
        let available: Vec<Coding> = siblings.iter().map(|s| s.0).collect();
        if let Some(chosen) = encoding::choose(head.headers(), &available)
            && let Some((c, sibling)) = siblings.into_iter().find(|s| s.0 == chosen)
        {
            (open, coded.encoding) = (sibling, Some(c));
        }
    }
    let described = Arc::clone(&open.described);
    let v = &described.validators;
    if settings.compress
        && coded.encoding.is_none()
        && encoding::compressible(guessed)
        && (COMPRESS_MIN..=COMPRESS_MAX).contains(&open.version.len())
    {
        coded.vary = true;
        if !head.headers().contains("Range")
            && let Some(c) = encoding::choose(head.headers(), &CODINGS)
            && let Some(plan) = compressed(settings, head, ctx, &ctype, &open, v, c)
        {
            return plan;
        }
    }
    let rep = Representation {
        ctype: &ctype,
        open,
        validated: true,
        coded,
    };
    serve_representation(settings, head, ctx, rep)
}

/// The file's content compressed with `coding`, in memory: 200 (or 304, 412) with a weak tag
/// of its own. `None` when the file cannot be read whole (it is then sent as it is).
fn compressed(
    settings: &Settings,
    head: &RequestHead,
    ctx: &RequestContext<'_>,
    ctype: &str,
    open: &OpenFile,
    plain: &Validators,
    coding: Coding,
) -> Option<Plan> {
    let v = plain.compressed(coding.token());
    let coded = Coded {
        encoding: Some(coding),
        vary: true,
    };
    match validators::evaluate(head.headers(), &v) {
        Precondition::Failed => {
            return Some(send_error(
                settings,
                412,
                None,
                None,
                head.is_head(),
                ctx.now,
            ));
        }
        Precondition::NotModified => return Some(not_modified(settings, ctx, &v, coded)),
        Precondition::Proceed => {}
    }
    // A short read is a file that changed under us, which is sent plain instead.
    let data = open.read_whole()?;
    let body = encoding::compress(coding, &data).ok()?;
    let mut plan_head = response_head(settings, 200, None, ctx.now);
    plan_head
        .headers
        .append("Content-type", Bytes::copy_from_slice(ctype.as_bytes()));
    plan_head
        .headers
        .append("Content-Length", body.len().to_string());
    plan_head
        .headers
        .append("Last-Modified", http_date(v.mtime));
    plan_head.headers.append("ETag", v.header());
    coded.append_to(&mut plan_head);
    append_extra_headers(settings, &mut plan_head);
    Some(Plan {
        head: plan_head,
        body: if head.is_head() {
            PlanBody::Empty
        } else {
            PlanBody::Bytes(Bytes::from(body))
        },
        log_messages: Vec::new(),
    })
}

/// The 304 for validators `v`: `ETag`, `Last-Modified`, and the coding headers.
fn not_modified(
    settings: &Settings,
    ctx: &RequestContext<'_>,
    v: &Validators,
    coded: Coded,
) -> Plan {
    let mut plan_head = response_head(settings, 304, None, ctx.now);
    plan_head.headers.append("ETag", v.header());
    plan_head
        .headers
        .append("Last-Modified", http_date(v.mtime));
    coded.append_to(&mut plan_head);
    bare(plan_head)
}

/// A stored representation (the file, or its precompressed sibling) in the default mode:
/// preconditions, then 200, 206 or 416.
fn serve_representation(
    settings: &Settings,
    head: &RequestHead,
    ctx: &RequestContext<'_>,
    rep: Representation<'_>,
) -> Plan {
    let described = Arc::clone(&rep.open.described);
    let v = &described.validators;
    match validators::evaluate(head.headers(), v) {
        Precondition::Failed => {
            return send_error(settings, 412, None, None, head.is_head(), ctx.now);
        }
        Precondition::NotModified => return not_modified(settings, ctx, v, rep.coded),
        Precondition::Proceed => {}
    }
    let headers = head.headers();
    let mut range_fields = headers.get_all("Range");
    let range = match (range_fields.next(), range_fields.next()) {
        // Ranges apply unless an If-Range says the client's copy is another version.
        (Some(r), None)
            if headers
                .get("If-Range")
                .is_none_or(|value| if_range_holds(value, v)) =>
        {
            ranges::evaluate(r, rep.len())
        }
        // No Range, or several fields (not a valid single ranges-specifier): ignored.
        _ => Ranges::Ignore,
    };
    match range {
        Ranges::Ignore => whole_file(settings, head, ctx, rep),
        Ranges::Unsatisfiable => {
            let mut plan = send_error(settings, 416, None, None, head.is_head(), ctx.now);
            plan.head
                .headers
                .append("Content-Range", format!("bytes */{}", rep.len()));
            plan
        }
        Ranges::Spans(spans) => partial(settings, head, ctx, &rep, &spans),
    }
}

/// A plan of a head alone.
fn bare(head: protocol::ResponseHead) -> Plan {
    Plan {
        head,
        body: PlanBody::Empty,
        log_messages: Vec::new(),
    }
}

/// The 200 with the whole file: from memory when the cache holds its content (the head and
/// the body then leave in one write), else a span of the open file.
fn whole_file(
    settings: &Settings,
    head: &RequestHead,
    ctx: &RequestContext<'_>,
    rep: Representation<'_>,
) -> Plan {
    let len = rep.len();
    let mut plan_head = response_head(settings, 200, None, ctx.now);
    plan_head
        .headers
        .append("Content-type", type_value(rep.ctype));
    plan_head
        .headers
        .append("Content-Length", rep.open.described.length.clone());
    rep.append_validators(settings, &mut plan_head);
    let body = if head.is_head() {
        PlanBody::Empty
    } else if let Some(content) = rep.open.content {
        PlanBody::Bytes(content)
    } else {
        PlanBody::File {
            file: rep.open.file,
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

/// The 206 for satisfiable `spans`: one span is the file's bytes with `Content-Range`;
/// several are a `multipart/byteranges` body.
fn partial(
    settings: &Settings,
    head: &RequestHead,
    ctx: &RequestContext<'_>,
    rep: &Representation<'_>,
    spans: &[Span],
) -> Plan {
    let len = rep.len();
    let mut plan_head = response_head(settings, 206, None, ctx.now);
    let body = if let [span] = spans {
        plan_head
            .headers
            .append("Content-type", type_value(rep.ctype));
        plan_head.headers.append(
            "Content-Range",
            format!("bytes {}-{}/{len}", span.first, span.last),
        );
        plan_head
            .headers
            .append("Content-Length", span.len().to_string());
        PlanBody::File {
            file: Arc::clone(&rep.open.file),
            offset: span.first,
            len: span.len(),
        }
    } else {
        let boundary = boundary(&rep.open.described.validators, spans);
        let parts = multipart(rep.ctype, len, &boundary, spans);
        plan_head.headers.append(
            "Content-type",
            format!("multipart/byteranges; boundary={boundary}"),
        );
        let total: u64 = parts.iter().map(Part::len).sum();
        plan_head
            .headers
            .append("Content-Length", total.to_string());
        PlanBody::Parts {
            file: Arc::clone(&rep.open.file),
            parts,
        }
    };
    rep.append_validators(settings, &mut plan_head);
    Plan {
        head: plan_head,
        body: if head.is_head() {
            PlanBody::Empty
        } else {
            body
        },
        log_messages: Vec::new(),
    }
}

/// A boundary for a multipart body: a hash of the file's version and the spans, so the same
/// request for the same file gets the same bytes (there is no randomness in the handler), and
/// a file's content cannot be made to contain it short of a 64-bit collision.
fn boundary(v: &Validators, spans: &[Span]) -> String {
    use std::hash::{Hash, Hasher};
    let mut h = std::hash::DefaultHasher::new();
    v.etag.hash(&mut h);
    for s in spans {
        (s.first, s.last).hash(&mut h);
    }
    format!(
        "{:016x}{:016x}",
        h.finish(),
        h.finish().rotate_left(32) ^ 0x5bd1_e995
    )
}

/// The parts of a `multipart/byteranges` body (RFC 9110 14.6): each span after a delimiter
/// and its own `Content-Type` and `Content-Range`, then the close delimiter.
fn multipart(ctype: &str, len: u64, boundary: &str, spans: &[Span]) -> Vec<Part> {
    let mut parts = Vec::with_capacity(spans.len() * 2 + 1);
    let mut text = String::new();
    for (i, span) in spans.iter().enumerate() {
        if i > 0 {
            text.push_str("\r\n");
        }
        let _ = write!(
            text,
            "--{boundary}\r\nContent-Type: {ctype}\r\nContent-Range: bytes {}-{}/{len}\r\n\r\n",
            span.first, span.last
        );
        parts.push(Part::Bytes(Bytes::from(std::mem::take(&mut text))));
        parts.push(Part::File {
            offset: span.first,
            len: span.len(),
        });
    }
    parts.push(Part::Bytes(Bytes::from(format!("\r\n--{boundary}--\r\n"))));
    parts
}
