//! Uploads into the served tree (CLI `--upload`): `PUT /dir/name` with the file as the body,
//! and a `multipart/form-data` `POST` to a directory (`/dir/`) with any number of fields
//! named `file`. An [`UploadHandler`] is a [`Handler`]: the serve layer runs it off the event
//! loop, and it reads the body in chunks, so memory stays bounded whatever the size.
//!
//! The rules:
//!
//! - The target directory is opened beneath the root like every file (the `beneath` module):
//!   a path whose links lead outside the root, a missing directory, or one in a CGI
//!   directory (with CGI on, an uploaded `.py` would run) is `403`. `.` and `..` segments,
//!   `\` and NUL anywhere in the path are refused (`403`), not resolved.
//! - A file name is one plain component: not empty, at most 255 bytes, no `/`, `\`, NUL or
//!   other control characters, and no leading `.` (no `..`, no hidden files such as
//!   `.htaccess`, and no name of our own temporary files). A bad name in the URL is `403`; a
//!   bad `filename` in a multipart part is `400`.
//! - The body goes to a temporary file in the target directory (`O_CREAT | O_EXCL`, an
//!   unpredictable `.upload-<128 random bits>.part` name, mode 0644 whatever the umask), then
//!   is renamed into place. Without overwrite the rename is `RENAME_NOREPLACE` (or a `link`
//!   where the file system lacks it), so of two uploads racing for one name one wins (`201`)
//!   and the other gets `409`. With overwrite the rename replaces the file (`204`); a
//!   directory in the way is `409`.
//! - The body may be at most `max_bytes`: a larger `Content-Length` is `413` before any of it
//!   is read (and before `100 Continue`), and a body that grows past it (chunked) is cut at
//!   the limit with `413`. Whatever goes wrong (too large, malformed, the client gone), the
//!   temporary file is removed; the connection is closed after an error.
//! - A multipart body's files are saved in order; the first failure stops the upload (files
//!   saved before it stay).

mod multipart;

use std::fmt::Write as _;
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;

use percent_encoding::percent_decode;
use protocol::RequestHead;
use rustix::fs::{AtFlags, Mode, OFlags, RenameFlags};
use rustix::io::Errno;

use crate::Settings;
use crate::beneath::Lookup;
use crate::exchange::{Exchange, Handler};
use crate::path::{RelPath, local_path, request_path, strip_query_and_fragment};
use multipart::{Multipart, params};

/// The default `--upload-max`: 1 GiB.
pub const DEFAULT_MAX_BYTES: u64 = 1 << 30;

/// The built-in upload handler. Compose it with a handler of your own by delegating: your
/// `accepts` asks this one first, and your `handle` calls its `handle` for the requests it
/// accepts (`ServerConfig::routes` holds one handler).
#[derive(Debug)]
pub struct UploadHandler {
    settings: Settings,
    overwrite: bool,
    max_bytes: u64,
}

impl UploadHandler {
    /// Uploads into `settings.directory`, at most `max_bytes` a request, replacing existing
    /// files only when `overwrite` is set.
    pub fn new(settings: Settings, overwrite: bool, max_bytes: u64) -> Self {
        Self {
            settings,
            overwrite,
            max_bytes,
        }
    }
}

/// Why an upload did not happen: the status and message of the error reply.
#[derive(Debug)]
struct Refusal(u16, &'static str);

/// What an upload did.
enum Outcome {
    /// The files saved (their URL paths), and whether the last replaced one.
    Saved(Vec<String>, bool),
    Refused(Refusal),
}

const FORBIDDEN: Refusal = Refusal(403, "Upload not allowed here");
const TOO_LARGE: Refusal = Refusal(413, "Upload too large");
/// The body broke (the client went away, or sent a bad chunk): no reply can be trusted to
/// arrive, and the connection is dropped.
const BROKEN: Refusal = Refusal(0, "");

fn is_multipart(head: &RequestHead) -> Option<Vec<u8>> {
    let ctype = head.headers().get("Content-Type")?;
    let essence = ctype.split(|&b| b == b';').next()?.trim_ascii();
    if !essence.eq_ignore_ascii_case(b"multipart/form-data") {
        return None;
    }
    params(ctype)
        .into_iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(b"boundary"))
        .map(|(_, v)| v)
        .filter(|b| !b.is_empty() && b.len() <= 70)
}

/// The request's path, percent-decoded once, without query: `None` when it holds NUL, `\`
/// or a `.`/`..` segment.
fn decoded_path(settings: &Settings, head: &RequestHead) -> Option<Vec<u8>> {
    let path = request_path(head.target());
    let path = strip_query_and_fragment(local_path(settings, &path));
    let decoded: Vec<u8> = percent_decode(path).collect();
    let clean = decoded.starts_with(b"/")
        && !decoded.contains(&0)
        && !decoded.contains(&b'\\')
        && decoded
            .split(|&b| b == b'/')
            .all(|seg| seg != b"." && seg != b"..");
    clean.then_some(decoded)
}

/// Whether `name` may be created: one plain, visible component.
fn valid_name(name: &[u8]) -> bool {
    !name.is_empty()
        && name.len() <= 255
        && name[0] != b'.'
        && !name
            .iter()
            .any(|&b| b == b'/' || b == b'\\' || b < 0x20 || b == 0x7F)
}

impl UploadHandler {
    fn declared_too_large(&self, head: &RequestHead) -> bool {
        head.headers()
            .get("Content-Length")
            .and_then(|v| std::str::from_utf8(v).ok()?.trim().parse::<u64>().ok())
            .is_some_and(|n| n > self.max_bytes)
    }

    /// Opens the directory at URL path `dir` (ending in `/`) beneath the root.
    fn open_dir(&self, dir: &[u8]) -> Result<OwnedFd, Refusal> {
        // With CGI on, a file written into a CGI directory would be run (a `.py` needs no
        // executable bit): the directory of a would-be script there is refused.
        let mut probe = dir.to_vec();
        probe.push(b'x');
        if self.settings.cgi.enabled
            && crate::cgi::cgi_info(&self.settings.cgi.directories, &probe).is_some()
        {
            return Err(FORBIDDEN);
        }
        let rel = RelPath::of_decoded(dir).ok_or(FORBIDDEN)?;
        let fs = Lookup::new(&self.settings).map_err(|_| FORBIDDEN)?;
        fs.open(&rel, OFlags::RDONLY | OFlags::DIRECTORY)
            .map_err(|_| FORBIDDEN)
    }

    fn put(&self, ex: &mut Exchange<'_>) -> Outcome {
        let Some(path) = decoded_path(&self.settings, ex.request()) else {
            return Outcome::Refused(FORBIDDEN);
        };
        let cut = path.iter().rposition(|&b| b == b'/').unwrap_or(0) + 1;
        let (dir, name) = path.split_at(cut);
        if !valid_name(name) {
            return Outcome::Refused(FORBIDDEN);
        }
        let dir_fd = match self.open_dir(dir) {
            Ok(fd) => fd,
            Err(r) => return Outcome::Refused(r),
        };
        let mut body = Limited {
            inner: ex.rfile(),
            left: self.max_bytes,
        };
        match save(&dir_fd, name, self.overwrite, |out| copy(&mut body, out)) {
            Ok(replaced) => {
                Outcome::Saved(vec![String::from_utf8_lossy(&path).into_owned()], replaced)
            }
            Err(r) => Outcome::Refused(r),
        }
    }

    fn post(&self, ex: &mut Exchange<'_>, boundary: &[u8]) -> Outcome {
        let Some(dir) = decoded_path(&self.settings, ex.request()) else {
            return Outcome::Refused(FORBIDDEN);
        };
        let dir_fd = match self.open_dir(&dir) {
            Ok(fd) => fd,
            Err(r) => return Outcome::Refused(r),
        };
        let mut body = Limited {
            inner: ex.rfile(),
            left: self.max_bytes,
        };
        let mut parts = Multipart::new(boundary);
        let mut saved = Vec::new();
        let mut replaced = false;
        loop {
            let head = match parts.next_part(&mut body) {
                Ok(Some(head)) => head,
                Ok(None) => break,
                Err(e) => return Outcome::Refused(refusal(&e)),
            };
            let (Some(b"file"), Some(filename)) = (head.name.as_deref(), head.filename) else {
                continue;
            };
            // A form submitted without choosing a file sends an empty filename.
            if filename.is_empty() {
                continue;
            }
            if !valid_name(&filename) {
                return Outcome::Refused(Refusal(400, "Bad file name"));
            }
            let copied = save(&dir_fd, &filename, self.overwrite, |out| {
                let mut buf = vec![0u8; 64 * 1024];
                loop {
                    let n = parts.read(&mut body, &mut buf)?;
                    if n == 0 {
                        return Ok(());
                    }
                    write_out(out, &buf[..n])?;
                }
            });
            match copied {
                Ok(r) => {
                    replaced = r;
                    let mut url = dir.clone();
                    url.extend_from_slice(&filename);
                    saved.push(String::from_utf8_lossy(&url).into_owned());
                }
                Err(r) => return Outcome::Refused(r),
            }
        }
        if saved.is_empty() {
            return Outcome::Refused(Refusal(400, "No file field in the form"));
        }
        Outcome::Saved(saved, replaced)
    }

    fn respond(ex: &mut Exchange<'_>, outcome: Outcome) -> io::Result<()> {
        match outcome {
            Outcome::Refused(Refusal(0, _)) => Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the request body broke",
            )),
            Outcome::Refused(Refusal(code, message)) => ex.send_error(code, Some(message), None),
            Outcome::Saved(paths, true) if paths.len() == 1 => {
                ex.send_response(204, None);
                ex.end_headers()
            }
            Outcome::Saved(paths, _) => {
                let mut page = String::from(
                    "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>Uploaded</title>\n</head>\n<body>\n<h1>Uploaded</h1>\n<ul>\n",
                );
                for p in &paths {
                    let href =
                        String::from_utf8_lossy(&percent_encode_path(p.as_bytes())).into_owned();
                    let _ = writeln!(page, "<li><a href=\"{}\">{}</a></li>", html(&href), html(p));
                }
                page.push_str(
                    "</ul>\n<p><a href=\"./\">Back to the directory</a></p>\n</body>\n</html>\n",
                );
                ex.send_response(201, None);
                let location = percent_encode_path(paths[0].as_bytes());
                ex.send_header("Location", &String::from_utf8_lossy(&location));
                ex.send_header("Content-Type", "text/html; charset=utf-8");
                ex.send_header("Content-Length", &page.len().to_string());
                ex.end_headers()?;
                if ex.request().is_head() {
                    return Ok(());
                }
                ex.wfile().write_all(page.as_bytes())
            }
        }
    }
}

impl Handler for UploadHandler {
    fn accepts(&self, request: &RequestHead) -> bool {
        match request.method() {
            b"PUT" => true,
            b"POST" => is_multipart(request).is_some(),
            _ => false,
        }
    }

    fn handle_expect_100(&self, ex: &mut Exchange<'_>) -> io::Result<bool> {
        if self.declared_too_large(ex.request()) {
            ex.send_error(TOO_LARGE.0, Some(TOO_LARGE.1), None)?;
            return Ok(false);
        }
        ex.send_continue()?;
        Ok(true)
    }

    fn do_put(&self, ex: &mut Exchange<'_>) -> io::Result<()> {
        let outcome = if self.declared_too_large(ex.request()) {
            Outcome::Refused(TOO_LARGE)
        } else {
            self.put(ex)
        };
        Self::respond(ex, outcome)
    }

    fn do_post(&self, ex: &mut Exchange<'_>) -> io::Result<()> {
        let outcome = if self.declared_too_large(ex.request()) {
            Outcome::Refused(TOO_LARGE)
        } else if let Some(boundary) = is_multipart(ex.request()) {
            self.post(ex, &boundary)
        } else {
            Outcome::Refused(Refusal(400, "Bad multipart body"))
        };
        Self::respond(ex, outcome)
    }
}

/// The refusal for an error met while reading the body: too large, malformed, or the body
/// broke.
fn refusal(e: &io::Error) -> Refusal {
    if e.kind() == io::ErrorKind::FileTooLarge {
        TOO_LARGE
    } else if e
        .get_ref()
        .is_some_and(<dyn std::error::Error + Send + Sync>::is::<multipart::Malformed>)
    {
        Refusal(400, "Bad multipart body")
    } else {
        BROKEN
    }
}

/// A body reader that fails with `FileTooLarge` past `left` bytes.
struct Limited<R> {
    inner: R,
    left: u64,
}

impl<R: Read> Read for Limited<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.left = self
            .left
            .checked_sub(n as u64)
            .ok_or_else(|| io::Error::new(io::ErrorKind::FileTooLarge, "upload too large"))?;
        Ok(n)
    }
}

fn copy(src: &mut impl Read, out: &mut File) -> io::Result<()> {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match src.read(&mut buf) {
            Ok(0) => return Ok(()),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        write_out(out, &buf[..n])?;
    }
}

/// Marks an error of writing the temporary file (not of reading the body).
#[derive(Debug)]
struct WriteFailed;

impl std::fmt::Display for WriteFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("cannot write the uploaded file")
    }
}

impl std::error::Error for WriteFailed {}

fn write_out(out: &mut File, data: &[u8]) -> io::Result<()> {
    out.write_all(data)
        .map_err(|_| io::Error::other(WriteFailed))
}

/// Writes a temporary file in `dir` with `fill`, then renames it to `name`. Returns whether
/// an existing file was replaced.
fn save(
    dir: &OwnedFd,
    name: &[u8],
    overwrite: bool,
    write_body: impl FnOnce(&mut File) -> io::Result<()>,
) -> Result<bool, Refusal> {
    let mut temp = Temp::create(dir).map_err(|_| Refusal(500, "Cannot create the file"))?;
    let mut file = temp
        .file
        .take()
        .ok_or(Refusal(500, "Cannot create the file"))?;
    if let Err(e) = write_body(&mut file) {
        // A write that failed (a full disk) is the server's error; a read, the body's.
        return Err(match e.get_ref() {
            Some(inner) if inner.is::<WriteFailed>() => Refusal(500, "Cannot write the file"),
            _ => refusal(&e),
        });
    }
    drop(file);
    temp.commit(name, overwrite)
}

/// A temporary file, removed on drop unless committed.
struct Temp<'d> {
    dir: &'d OwnedFd,
    name: String,
    file: Option<File>,
    armed: bool,
}

impl<'d> Temp<'d> {
    fn create(dir: &'d OwnedFd) -> io::Result<Self> {
        let mut random = [0u8; 16];
        File::open("/dev/urandom")?.read_exact(&mut random)?;
        let mut name = String::from(".upload-");
        for b in random {
            let _ = write!(name, "{b:02x}");
        }
        name.push_str(".part");
        let fd = rustix::fs::openat(
            dir,
            name.as_str(),
            OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::CLOEXEC | OFlags::NOFOLLOW,
            Mode::from_raw_mode(0o644),
        )?;
        // Mode 0644 whatever the umask.
        rustix::fs::fchmod(&fd, Mode::from_raw_mode(0o644))?;
        Ok(Self {
            dir,
            name,
            file: Some(File::from(fd)),
            armed: true,
        })
    }

    /// Moves the file to `name`: `Ok(true)` when it replaced one.
    fn commit(mut self, name: &[u8], overwrite: bool) -> Result<bool, Refusal> {
        // Whatever the outcome, a look taken before it is not trusted after it.
        crate::file_cache::forget_looks();
        let target = std::ffi::OsStr::from_bytes(name);
        let conflict = Refusal(409, "File exists");
        let result = match rustix::fs::renameat_with(
            self.dir,
            self.name.as_str(),
            self.dir,
            target,
            RenameFlags::NOREPLACE,
        ) {
            Ok(()) => Ok(false),
            // No RENAME_NOREPLACE on this file system: a hard link fails as atomically.
            Err(Errno::INVAL | Errno::NOSYS) => {
                match rustix::fs::linkat(
                    self.dir,
                    self.name.as_str(),
                    self.dir,
                    target,
                    AtFlags::empty(),
                ) {
                    Ok(()) => Ok(false),
                    Err(Errno::EXIST) => Err(Errno::EXIST),
                    Err(_) => return Err(Refusal(500, "Cannot create the file")),
                }
            }
            Err(e) => Err(e),
        };
        match result {
            Ok(replaced) => {
                // After a link the temporary name is still there; after a rename it is
                // gone (and this unlink fails harmlessly).
                let _ =
                    rustix::fs::unlinkat(self.dir.as_fd(), self.name.as_str(), AtFlags::empty());
                self.armed = false;
                Ok(replaced)
            }
            Err(Errno::EXIST) if overwrite => {
                rustix::fs::renameat(self.dir, self.name.as_str(), self.dir, target)
                    .map_err(|_| conflict)?;
                self.armed = false;
                Ok(true)
            }
            Err(Errno::EXIST) => Err(conflict),
            Err(_) => Err(Refusal(500, "Cannot create the file")),
        }
    }
}

impl Drop for Temp<'_> {
    fn drop(&mut self) {
        if self.armed {
            let _ = rustix::fs::unlinkat(self.dir.as_fd(), self.name.as_str(), AtFlags::empty());
        }
    }
}

/// A URL path with everything but unreserved characters and `/` percent-encoded.
fn percent_encode_path(path: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(path.len());
    for &b in path {
        if b.is_ascii_alphanumeric() || b"/-._~".contains(&b) {
            out.push(b);
        } else {
            out.extend_from_slice(format!("%{b:02X}").as_bytes());
        }
    }
    out
}

fn html(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        for ok in ["a.txt", "report 2024.pdf", "\u{e9}t\u{e9}.txt", "a..b"] {
            assert!(valid_name(ok.as_bytes()), "{ok}");
        }
        for bad in [
            "",
            ".",
            "..",
            ".htaccess",
            "a/b",
            "a\\b",
            "a\0b",
            "a\nb",
            &"x".repeat(256),
        ] {
            assert!(!valid_name(bad.as_bytes()), "{bad:?}");
        }
    }
}
