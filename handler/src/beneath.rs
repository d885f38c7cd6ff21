//! Opening request paths *beneath* the served root, so a symbolic link cannot lead outside it.
//!
//! CPython joins the root and the request path and calls `open`, so `ln -s /etc root/etc`
//! serves `/etc/passwd`. Checking a path first (`realpath`, then `open`) races with anyone who
//! can rename or relink files under the root, so the check and the open are one operation here:
//!
//! - **`openat2(root_fd, rel, RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS)`** (Linux 5.6+): the
//!   kernel resolves every component, links included, and fails with `EXDEV` the moment the
//!   walk would leave the directory `root_fd` refers to. One system call, no race.
//! - **the walk** ([`walk`]), where the kernel lacks `openat2` (`ENOSYS`, remembered for the
//!   life of the process) or a seccomp filter refuses it (`EPERM`): one `openat(O_NOFOLLOW)` per
//!   component, from the root's descriptor down. A link is read with `readlinkat` and its
//!   target expanded in place, relative to the directory holding it; `..` pops back to the
//!   directory the walk came from and never above the root. At most [`MAX_LINKS`] links are
//!   followed (`ELOOP` after that, as the kernel's own limit).
//!
//! `RESOLVE_BENEATH` also refuses an *absolute* link target, even one naming a file inside the
//! root (`/srv/www/a.txt` when serving `/srv/www`). Such links are common (`ln -s "$PWD/x" y`),
//! so on `EXDEV` the walk runs once more: an absolute target whose leading components are the
//! root's canonical path is taken as relative to the root's descriptor, so the result is still
//! opened beneath it. A relative target that climbs above the root (`../www/a.txt` from the
//! root itself) stays refused, even when it would come back in.
//!
//! With [`Settings::follow_symlinks`](crate::Settings::follow_symlinks) the same entry points
//! use a plain `openat` from the root's descriptor: CPython's behaviour.
//!
//! The root's own descriptor (`O_PATH`) is opened on the first request and kept in the
//! [`RootCache`] of the [`Settings`](crate::Settings): a per-request `open` of the root would
//! add a path walk of the root's own components to every request. The cost is that the root
//! is pinned: if the served directory is renamed or replaced while the server runs, the old
//! one is still served (CPython would follow the name).

use std::ffi::OsStr;
use std::fmt;
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, OnceLock};

use rustix::fs::{AtFlags, FileType, Mode, OFlags, ResolveFlags, Stat};
use rustix::io::Errno;

/// How many symbolic links one lookup may follow in the walk (Linux's own limit is 40).
pub(crate) const MAX_LINKS: u32 = 40;

/// Whether `openat2` works here: unknown until the first call.
static OPENAT2: AtomicU8 = AtomicU8::new(OPENAT2_UNKNOWN);
const OPENAT2_UNKNOWN: u8 = 0;
const OPENAT2_WORKS: u8 = 1;
const OPENAT2_MISSING: u8 = 2;

/// The served root, opened: an `O_PATH` descriptor plus the canonical path that absolute link
/// targets are compared with.
#[derive(Debug)]
pub(crate) struct Root {
    /// The directory as the settings name it (the cache key).
    path: PathBuf,
    fd: OwnedFd,
    /// `realpath(root)` as split components, or `None` if it could not be found (then no
    /// absolute link is followed).
    canonical: Option<Vec<Vec<u8>>>,
}

impl Root {
    /// Opens `path` as a root directory.
    pub(crate) fn open(path: &Path) -> io::Result<Self> {
        let fd = rustix::fs::open(
            path,
            OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )?;
        // Only absolute link targets use this, and only to re-read them relative to `fd`:
        // a stale answer can refuse a link, never let one out.
        let canonical = std::fs::canonicalize(path).ok().map(|p| {
            components(p.as_os_str().as_bytes())
                .map(<[u8]>::to_vec)
                .collect()
        });
        Ok(Self {
            path: path.to_path_buf(),
            fd,
            canonical,
        })
    }

    /// The root's descriptor.
    pub(crate) fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

/// The served root's descriptor, opened on first use and shared by every request.
///
/// A cache, not a setting: two caches always compare equal, and a clone starts empty (the
/// clone may be given another [`directory`](crate::Settings::directory)). If the directory of
/// a [`Settings`](crate::Settings) is changed after a request was served, the cached root no
/// longer matches and the root is opened afresh for each request.
#[derive(Default)]
pub(crate) struct RootCache {
    cell: OnceLock<Arc<Root>>,
}

impl RootCache {
    /// The opened root for `directory`.
    pub(crate) fn get(&self, directory: &Path) -> io::Result<Arc<Root>> {
        if let Some(root) = self.cell.get()
            && root.path == directory
        {
            return Ok(Arc::clone(root));
        }
        let root = Arc::new(Root::open(directory)?);
        // A failed open is not cached (the directory may appear later); a lost race to fill
        // the cell just drops this copy.
        if self.cell.get().is_none() {
            let _ = self.cell.set(Arc::clone(&root));
        }
        Ok(root)
    }
}

impl Clone for RootCache {
    fn clone(&self) -> Self {
        Self::default()
    }
}

impl PartialEq for RootCache {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Eq for RootCache {}

impl fmt::Debug for RootCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RootCache")
            .field("open", &self.cell.get().map(|r| &r.path))
            .finish()
    }
}

/// One request's view of the file system: paths relative to the root, opened beneath it
/// (or, with `follow_symlinks`, from it as CPython would).
#[derive(Debug)]
pub(crate) struct Lookup {
    root: Arc<Root>,
    follow_symlinks: bool,
}

impl Lookup {
    /// The lookup for `settings`, or the error opening the root.
    pub(crate) fn new(settings: &crate::Settings) -> io::Result<Self> {
        Ok(Self {
            root: settings.root_cache.get(&settings.directory)?,
            follow_symlinks: settings.follow_symlinks,
        })
    }

    /// The opened root.
    pub(crate) fn root(&self) -> &Arc<Root> {
        &self.root
    }

    /// Opens `rel` (relative to the root; `.` is the root) with `flags` (`O_CLOEXEC` added).
    pub(crate) fn open(&self, rel: &Path, flags: OFlags) -> io::Result<OwnedFd> {
        let flags = flags | OFlags::CLOEXEC;
        if self.follow_symlinks {
            Ok(rustix::fs::openat(
                self.root.fd(),
                rel,
                flags,
                Mode::empty(),
            )?)
        } else {
            open_beneath(&self.root, rel.as_os_str().as_bytes(), flags)
        }
    }

    /// [`open`](Self::open), also saying where a link led: `None` when no link was followed
    /// (the place is `rel` itself), else the place's components below the root.
    ///
    /// With CGI on, a link into a CGI directory must not serve a script's source; the caller
    /// compares the place with the CGI directories. `openat2` with `RESOLVE_NO_SYMLINKS`
    /// keeps the usual case one system call; a path with a link in it is walked.
    /// With `follow_symlinks` the place is never reported (CPython's behaviour).
    pub(crate) fn open_resolved(
        &self,
        rel: &Path,
        flags: OFlags,
    ) -> io::Result<(OwnedFd, Option<Vec<Vec<u8>>>)> {
        if self.follow_symlinks {
            return Ok((self.open(rel, flags)?, None));
        }
        let flags = flags | OFlags::CLOEXEC;
        let rel = rel.as_os_str().as_bytes();
        if OPENAT2.load(Ordering::Relaxed) != OPENAT2_MISSING {
            let resolve =
                ResolveFlags::BENEATH | ResolveFlags::NO_MAGICLINKS | ResolveFlags::NO_SYMLINKS;
            for _ in 0..3 {
                match rustix::fs::openat2(
                    self.root.fd(),
                    OsStr::from_bytes(rel),
                    flags,
                    Mode::empty(),
                    resolve,
                ) {
                    Ok(fd) => {
                        OPENAT2.store(OPENAT2_WORKS, Ordering::Relaxed);
                        return Ok((fd, None));
                    }
                    Err(Errno::AGAIN) => {}
                    Err(Errno::NOSYS) => {
                        OPENAT2.store(OPENAT2_MISSING, Ordering::Relaxed);
                        break;
                    }
                    // `ELOOP`: a link on the way (or too many), which the walk follows.
                    Err(Errno::LOOP | Errno::XDEV | Errno::PERM) => break,
                    Err(e) => return Err(e.into()),
                }
            }
        }
        walk(&self.root, rel, flags).map(|(fd, names)| (fd, Some(names)))
    }

    /// `stat(rel)`, following links as [`open`](Self::open) would.
    pub(crate) fn stat(&self, rel: &Path) -> io::Result<Stat> {
        if self.follow_symlinks {
            return Ok(rustix::fs::statat(self.root.fd(), rel, AtFlags::empty())?);
        }
        let fd = self.open(rel, OFlags::PATH)?;
        Ok(rustix::fs::fstat(&fd)?)
    }

    /// Whether `rel` is a directory that [`open`](Self::open) would reach.
    pub(crate) fn is_dir(&self, rel: &Path) -> bool {
        self.stat(rel)
            .is_ok_and(|st| FileType::from_raw_mode(st.st_mode) == FileType::Directory)
    }
}

/// Opens `rel` beneath `root`: `openat2` where the kernel has it, else [`walk`].
pub(crate) fn open_beneath(root: &Root, rel: &[u8], flags: OFlags) -> io::Result<OwnedFd> {
    if OPENAT2.load(Ordering::Relaxed) != OPENAT2_MISSING {
        let resolve = ResolveFlags::BENEATH | ResolveFlags::NO_MAGICLINKS;
        let path = OsStr::from_bytes(rel);
        // `EAGAIN` is the kernel's "a rename or mount raced with the lookup, try again".
        for _ in 0..3 {
            match rustix::fs::openat2(root.fd(), path, flags, Mode::empty(), resolve) {
                Ok(fd) => {
                    OPENAT2.store(OPENAT2_WORKS, Ordering::Relaxed);
                    return Ok(fd);
                }
                Err(Errno::AGAIN) => {}
                Err(Errno::NOSYS) => {
                    OPENAT2.store(OPENAT2_MISSING, Ordering::Relaxed);
                    break;
                }
                // `EXDEV`: the path left the root, or met an absolute link, which the walk
                // accepts when it names a place inside the root. `EPERM`: a seccomp filter
                // (older container runtimes) refuses the call; not remembered, since `EPERM`
                // may also be a real answer.
                Err(Errno::XDEV | Errno::PERM) => break,
                Err(e) => return Err(e.into()),
            }
        }
    }
    walk(root, rel, flags).map(|(fd, _)| fd)
}

/// The fallback: resolves `rel` one component at a time beneath `root` and opens it with
/// `flags`. Returns the descriptor and the components of the place reached, relative to the
/// root, with every link resolved (`["sub", "b.txt"]`).
///
/// Errors: `EXDEV` when a link or `..` would leave the root, `ELOOP` after [`MAX_LINKS`]
/// links, and whatever `openat` says about the components (`ENOENT`, `ENOTDIR`, `EACCES`).
pub(crate) fn walk(root: &Root, rel: &[u8], flags: OFlags) -> io::Result<(OwnedFd, Vec<Vec<u8>>)> {
    let flags = flags | OFlags::CLOEXEC;
    // What is left to resolve, next component last.
    let mut pending: Vec<Vec<u8>> = Vec::new();
    push_path(&mut pending, rel);
    // The directories walked into below the root, with their names; `..` pops.
    let mut stack: Vec<(OwnedFd, Vec<u8>)> = Vec::new();
    let mut links = 0;
    while let Some(name) = pending.pop() {
        let last = pending.is_empty();
        let dir = stack.last().map_or(root.fd(), |(fd, _)| fd.as_fd());
        match name.as_slice() {
            b"." if last => {
                let fd = rustix::fs::openat(dir, ".", flags, Mode::empty())?;
                return Ok((fd, stack.into_iter().map(|(_, n)| n).collect()));
            }
            b"." => continue,
            b".." => {
                if stack.pop().is_none() {
                    return Err(Errno::XDEV.into());
                }
                if last {
                    pending.push(b".".to_vec());
                }
                continue;
            }
            _ => {}
        }
        let how = if last {
            flags | OFlags::NOFOLLOW
        } else {
            OFlags::PATH | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC
        };
        let name_os = OsStr::from_bytes(&name);
        let failure = match rustix::fs::openat(dir, name_os, how, Mode::empty()) {
            // `O_PATH | O_NOFOLLOW` opens a link itself instead of failing: look.
            Ok(fd)
                if last
                    && flags.contains(OFlags::PATH)
                    && FileType::from_raw_mode(rustix::fs::fstat(&fd)?.st_mode)
                        == FileType::Symlink =>
            {
                Errno::LOOP
            }
            Ok(fd) if last => {
                let mut names: Vec<Vec<u8>> = stack.into_iter().map(|(_, n)| n).collect();
                names.push(name);
                return Ok((fd, names));
            }
            Ok(fd) => {
                stack.push((fd, name));
                continue;
            }
            Err(e) => e,
        };
        // `O_NOFOLLOW` meeting a link fails with `ELOOP` (last component) or `ENOTDIR`
        // (with `O_DIRECTORY`); anything else, or a name that is not a link, is the answer.
        if failure != Errno::LOOP && failure != Errno::NOTDIR {
            return Err(failure.into());
        }
        let Ok(target) = rustix::fs::readlinkat(dir, name_os, Vec::new()) else {
            return Err(failure.into());
        };
        links += 1;
        if links > MAX_LINKS {
            return Err(Errno::LOOP.into());
        }
        let target = target.into_bytes();
        if target.is_empty() {
            return Err(Errno::NOENT.into());
        }
        if target.starts_with(b"/") {
            let inside = root
                .canonical
                .as_deref()
                .and_then(|root| strip_root(root, &target))
                .ok_or(Errno::XDEV)?;
            stack.clear();
            push_path(&mut pending, inside);
        } else {
            push_path(&mut pending, &target);
        }
    }
    // `push_path` always leaves at least one component, and every arm above returns or
    // pushes one before the stack empties.
    Err(Errno::NOENT.into())
}

/// The non-empty components of a path.
fn components(path: &[u8]) -> impl Iterator<Item = &[u8]> {
    path.split(|&b| b == b'/').filter(|c| !c.is_empty())
}

/// Queues `path`'s components in front of what is pending. A trailing `/` (or an empty path)
/// becomes a final `.`, so the place reached must be a directory, as the kernel requires.
fn push_path(pending: &mut Vec<Vec<u8>>, path: &[u8]) {
    if path.is_empty() || path.ends_with(b"/") {
        pending.push(b".".to_vec());
    }
    let start = pending.len();
    pending.extend(components(path).map(<[u8]>::to_vec));
    pending[start..].reverse();
}

/// The part of the absolute `target` below `root` (canonical components), or `None` when the
/// target does not start with the root's path. `.` components are skipped; a `..` before the
/// root's path is complete means the target is not lexically inside, and is refused.
fn strip_root<'t>(root: &[Vec<u8>], target: &'t [u8]) -> Option<&'t [u8]> {
    let mut rest = target;
    for want in root {
        loop {
            rest = trim_slashes(rest);
            let end = rest.iter().position(|&b| b == b'/').unwrap_or(rest.len());
            let (word, tail) = rest.split_at(end);
            rest = tail;
            if word == b"." {
                continue;
            }
            if word != want.as_slice() {
                return None;
            }
            break;
        }
    }
    Some(trim_slashes(rest))
}

/// `path` without its leading slashes.
fn trim_slashes(path: &[u8]) -> &[u8] {
    let n = path.iter().take_while(|&&b| b == b'/').count();
    &path[n..]
}

/// The relative form of a translated path, made in place (no copy of the path per request):
/// leading slashes dropped; `/` and the empty path are the root (`.`).
pub(crate) fn into_relative(mut translated_rel: Vec<u8>) -> Vec<u8> {
    let slashes = translated_rel.len() - trim_slashes(&translated_rel).len();
    translated_rel.drain(..slashes);
    if translated_rel.is_empty() {
        translated_rel.push(b'.');
    }
    translated_rel
}

/// Whether an `open` failure may still hide a directory that `stat` would find (so the
/// caller should ask): not when the name is missing or the lookup was refused.
pub(crate) fn may_be_directory(err: &io::Error) -> bool {
    !matches!(
        err.raw_os_error().map(Errno::from_raw_os_error),
        Some(Errno::NOENT | Errno::NOTDIR | Errno::XDEV | Errno::LOOP | Errno::NAMETOOLONG)
    )
}

/// Whether the running kernel has `openat2` (after at least one lookup).
#[cfg(test)]
fn openat2_works() -> bool {
    OPENAT2.load(Ordering::Relaxed) == OPENAT2_WORKS
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::io::Read;
    use std::os::unix::fs::symlink;

    /// `tmp/root` (served) and `tmp/outside` (a secret beside it).
    struct Tree {
        _tmp: tempfile::TempDir,
        root: PathBuf,
        outside: PathBuf,
    }

    fn tree() -> Tree {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("root");
        let outside = tmp.path().join("outside");
        fs::create_dir_all(root.join("sub/inner")).unwrap();
        fs::create_dir_all(&outside).unwrap();
        fs::write(root.join("a.txt"), b"alpha").unwrap();
        fs::write(root.join("sub/b.txt"), b"bravo").unwrap();
        fs::write(root.join("sub/inner/c.txt"), b"charlie").unwrap();
        fs::write(outside.join("secret.txt"), b"secret").unwrap();
        let canon = fs::canonicalize(&root).unwrap();
        let link = |target: &str, at: &str| symlink(target, root.join(at)).unwrap();
        link("a.txt", "link-a");
        link("sub", "link-sub");
        link("sub/", "link-sub-slash");
        link("link-a", "chain1");
        link("chain1", "chain2");
        link("loop1", "loop2");
        link("loop2", "loop1");
        link("does-not-exist", "dangling");
        link("/etc", "etc");
        link("../outside", "up");
        link("../../../../../../../etc/passwd", "deep-up");
        link("../a.txt", "sub/parent-a");
        link("inner/../b.txt", "sub/dotdot-inside");
        link("../../outside/secret.txt", "sub/climb-out");
        link(canon.join("a.txt").to_str().unwrap(), "abs-inside");
        link(
            &format!("{}/../outside/secret.txt", canon.display()),
            "abs-dotdot-out",
        );
        link("../root/a.txt", "out-and-back");
        link("link-sub/inner", "via-link");
        Tree {
            _tmp: tmp,
            root,
            outside,
        }
    }

    const READ: OFlags = OFlags::RDONLY.union(OFlags::NONBLOCK);

    fn read(fd: OwnedFd) -> Vec<u8> {
        let mut out = Vec::new();
        fs::File::from(fd).read_to_end(&mut out).unwrap();
        out
    }

    fn errno(r: io::Result<impl Sized>) -> Errno {
        match r {
            Ok(_) => panic!("expected an error"),
            Err(e) => Errno::from_io_error(&e).unwrap(),
        }
    }

    /// Both strategies: the public entry point (openat2 where it exists) and the walk alone.
    fn both(root: &Root, rel: &str, flags: OFlags) -> [io::Result<OwnedFd>; 2] {
        [
            open_beneath(root, rel.as_bytes(), flags),
            walk(root, rel.as_bytes(), flags).map(|(fd, _)| fd),
        ]
    }

    #[test]
    fn links_inside_the_root_work() {
        let t = tree();
        let root = Root::open(&t.root).unwrap();
        for (rel, want) in [
            ("a.txt", &b"alpha"[..]),
            ("link-a", b"alpha"),
            ("chain2", b"alpha"),
            ("link-sub/b.txt", b"bravo"),
            ("sub/parent-a", b"alpha"),
            ("sub/dotdot-inside", b"bravo"),
            ("via-link/c.txt", b"charlie"),
            ("link-sub-slash/b.txt", b"bravo"),
            // Absolute, naming a file inside the root: openat2 says EXDEV, the walk accepts.
            ("abs-inside", b"alpha"),
        ] {
            for r in both(&root, rel, READ) {
                assert_eq!(read(r.unwrap()), want, "{rel}");
            }
        }
        for rel in [
            ".",
            "sub",
            "sub/",
            "link-sub",
            "link-sub/",
            "link-sub-slash",
        ] {
            for r in both(&root, rel, READ) {
                let st = rustix::fs::fstat(r.unwrap()).unwrap();
                assert_eq!(FileType::from_raw_mode(st.st_mode), FileType::Directory);
            }
        }
    }

    #[test]
    fn links_outside_the_root_are_refused() {
        let t = tree();
        assert!(t.outside.join("secret.txt").exists());
        let root = Root::open(&t.root).unwrap();
        for rel in [
            "etc/passwd",
            "etc",
            "etc/",
            "up/secret.txt",
            "up",
            "up/",
            "deep-up",
            "sub/climb-out",
            "abs-dotdot-out",
            // Leaves the root before coming back: refused, as RESOLVE_BENEATH does.
            "out-and-back",
        ] {
            for r in both(&root, rel, READ) {
                assert_eq!(errno(r), Errno::XDEV, "{rel}");
            }
            for r in both(&root, rel, OFlags::PATH) {
                assert_eq!(errno(r), Errno::XDEV, "{rel} (O_PATH)");
            }
        }
    }

    #[test]
    fn loops_dangling_links_and_missing_names() {
        let t = tree();
        let root = Root::open(&t.root).unwrap();
        for r in both(&root, "loop1", READ) {
            assert_eq!(errno(r), Errno::LOOP);
        }
        for r in both(&root, "dangling", READ) {
            assert_eq!(errno(r), Errno::NOENT);
        }
        for r in both(&root, "a.txt/", READ) {
            assert_eq!(errno(r), Errno::NOTDIR);
        }
        for r in both(&root, "link-a/", READ) {
            assert_eq!(errno(r), Errno::NOTDIR);
        }
        for r in both(&root, "nothing/here", READ) {
            assert_eq!(errno(r), Errno::NOENT);
        }
    }

    #[test]
    fn a_long_chain_is_cut_at_the_limit() {
        let t = tree();
        let mut prev = "a.txt".to_owned();
        for i in 0..=MAX_LINKS {
            let name = format!("c{i}");
            symlink(&prev, t.root.join(&name)).unwrap();
            prev = name;
        }
        let root = Root::open(&t.root).unwrap();
        // MAX_LINKS + 1 links: one too many for the walk (and for the kernel's own limit).
        assert_eq!(errno(walk(&root, prev.as_bytes(), READ)), Errno::LOOP);
        assert_eq!(
            errno(open_beneath(&root, prev.as_bytes(), READ)),
            Errno::LOOP
        );
        let ok = format!("c{}", MAX_LINKS - 1);
        assert_eq!(read(walk(&root, ok.as_bytes(), READ).unwrap().0), b"alpha");
    }

    #[test]
    fn the_walk_reports_where_it_arrived() {
        let t = tree();
        let root = Root::open(&t.root).unwrap();
        let names = |rel: &str| {
            walk(&root, rel.as_bytes(), READ)
                .unwrap()
                .1
                .into_iter()
                .map(|n| String::from_utf8(n).unwrap())
                .collect::<Vec<_>>()
                .join("/")
        };
        assert_eq!(names("link-sub/b.txt"), "sub/b.txt");
        assert_eq!(names("via-link/c.txt"), "sub/inner/c.txt");
        assert_eq!(names("sub/parent-a"), "a.txt");
        assert_eq!(names("abs-inside"), "a.txt");
        assert_eq!(names("link-sub/"), "sub");
        assert_eq!(names("."), "");
    }

    #[test]
    fn a_fifo_opens_without_blocking() {
        let t = tree();
        rustix::fs::mknodat(
            rustix::fs::CWD,
            t.root.join("fifo"),
            FileType::Fifo,
            Mode::from_raw_mode(0o644),
            0,
        )
        .unwrap();
        symlink("fifo", t.root.join("link-fifo")).unwrap();
        let root = Root::open(&t.root).unwrap();
        for rel in ["fifo", "link-fifo"] {
            for r in both(&root, rel, READ) {
                let st = rustix::fs::fstat(r.unwrap()).unwrap();
                assert_eq!(FileType::from_raw_mode(st.st_mode), FileType::Fifo);
            }
        }
    }

    #[test]
    fn the_root_may_itself_be_a_link() {
        let t = tree();
        let alias = t.root.parent().unwrap().join("alias");
        symlink(&t.root, &alias).unwrap();
        let root = Root::open(&alias).unwrap();
        for r in both(&root, "abs-inside", READ) {
            assert_eq!(read(r.unwrap()), b"alpha");
        }
        for r in both(&root, "up/secret.txt", READ) {
            assert_eq!(errno(r), Errno::XDEV);
        }
    }

    #[test]
    fn lookup_follows_everything_when_asked() {
        let t = tree();
        let mut settings = crate::Settings::new(&t.root);
        settings.follow_symlinks = true;
        let lookup = Lookup::new(&settings).unwrap();
        let fd = lookup.open(Path::new("up/secret.txt"), READ).unwrap();
        assert_eq!(read(fd), b"secret");
        assert!(lookup.is_dir(Path::new("etc")));
        settings.follow_symlinks = false;
        let lookup = Lookup::new(&settings).unwrap();
        assert!(lookup.open(Path::new("up/secret.txt"), READ).is_err());
        assert!(!lookup.is_dir(Path::new("etc")));
        assert!(lookup.is_dir(Path::new("link-sub")));
        assert!(!lookup.is_dir(Path::new("link-a")));
    }

    #[test]
    fn open_resolved_reports_the_place_only_after_a_link() {
        let t = tree();
        let settings = crate::Settings::new(&t.root);
        let lookup = Lookup::new(&settings).unwrap();
        let (fd, place) = lookup.open_resolved(Path::new("sub/b.txt"), READ).unwrap();
        assert_eq!(read(fd), b"bravo");
        if openat2_works() {
            assert_eq!(place, None);
        }
        let (fd, place) = lookup
            .open_resolved(Path::new("link-sub/b.txt"), READ)
            .unwrap();
        assert_eq!(read(fd), b"bravo");
        assert_eq!(place, Some(vec![b"sub".to_vec(), b"b.txt".to_vec()]));
        assert_eq!(
            errno(lookup.open_resolved(Path::new("up/secret.txt"), READ)),
            Errno::XDEV
        );
    }

    #[test]
    fn the_root_is_opened_once() {
        let t = tree();
        let settings = crate::Settings::new(&t.root);
        let a = settings.root_cache.get(&settings.directory).unwrap();
        let b = settings.root_cache.get(&settings.directory).unwrap();
        assert!(Arc::ptr_eq(&a, &b));
        // Another directory is opened afresh, not served from the cache.
        let c = settings.root_cache.get(&t.root.join("sub")).unwrap();
        assert!(!Arc::ptr_eq(&a, &c));
        assert_eq!(settings.clone(), settings);
    }

    #[test]
    fn strip_root_is_lexical_and_strict() {
        let root: Vec<Vec<u8>> = vec![b"srv".to_vec(), b"www".to_vec()];
        assert_eq!(strip_root(&root, b"/srv/www/a"), Some(&b"a"[..]));
        assert_eq!(strip_root(&root, b"//srv/./www//a/b"), Some(&b"a/b"[..]));
        assert_eq!(strip_root(&root, b"/srv/www"), Some(&b""[..]));
        assert_eq!(strip_root(&root, b"/srv/www/../x"), Some(&b"../x"[..]));
        assert_eq!(strip_root(&root, b"/srv/wwwx/a"), None);
        assert_eq!(strip_root(&root, b"/srv/../srv/www/a"), None);
        assert_eq!(strip_root(&root, b"/etc/passwd"), None);
        assert_eq!(strip_root(&[], b"/etc/passwd"), Some(&b"etc/passwd"[..]));
    }

    #[test]
    fn openat2_is_used_where_the_kernel_has_it() {
        let t = tree();
        let root = Root::open(&t.root).unwrap();
        open_beneath(&root, b"a.txt", READ).unwrap();
        // Informative only: CI kernels without openat2 run the walk for everything.
        eprintln!("openat2 available: {}", openat2_works());
    }
}
