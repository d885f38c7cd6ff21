//! Open files kept between requests, per thread, and never served stale.
//!
//! Serving a small file costs `openat2`, `statx`, `close` on top of the write; a server
//! answering the same few files over and over (a page's assets, a benchmark) can keep them
//! open, as h2o and nginx do. What neither may do is serve a file as it was: nginx trusts its
//! cache for `open_file_cache_valid` seconds, h2o for one turn of its loop. Here every use is
//! checked first with one `statx` of the request's path, and the entry is used only if the
//! path still leads to the same inode with the same size, modification time and change time
//! (nanoseconds). So:
//!
//! - a file rewritten in place changes its times (`ctime` moves on any write or `chmod`);
//! - a file replaced by a rename is another inode;
//! - a path that now leads through a link elsewhere, even outside the root, gives another
//!   inode and the request goes through the full lookup beneath the root, which refuses it.
//!   (The same inode reached another way is the file that was opened beneath the root.)
//!
//! The content of a small file is kept too, so the response leaves in one vectored write with
//! its head, but only once the file has not changed for [`SETTLED`]: timestamps have a
//! granularity (a clock tick), so a write in the same tick as the read could leave the times
//! as they were ("racy git", which git solves the same way). Until then the file is read
//! for each response.
//!
//! The cache is per thread (no lock on the hot path) and small: [`CAPACITY`] files, the least
//! recently used one closed first, and an entry not used for [`IDLE`] is closed on the next
//! lookup, so a deleted file's space is given back.
//!
//! A reactor may plan a round of requests under [`with_shared_looks`]: there one `statx` of a
//! path answers the requests for it that follow, as long as no byte has reached a connection
//! of this thread since ([`protocol::arrivals`]). Each of those requests was then complete
//! before the look, so the look saw the file as it was after the request was sent: a change
//! made before the client asked is always seen. (h2o trusts one look for a whole turn of its
//! loop, including requests read after it.)

use std::cell::{Cell, RefCell};
use std::fs::File;
use std::num::NonZeroU64;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use rustix::fs::{AtFlags, FileType, Statx, StatxFlags};

use crate::beneath::{Lookup, Root};
use crate::time::http_date;
use crate::validators::Validators;

/// Files kept open per thread.
pub(crate) const CAPACITY: usize = 64;

/// Files up to this size are kept in memory once settled.
pub(crate) const SMALL: u64 = 16 * 1024;

/// How long a file must be unchanged before its content is kept (see the module docs).
pub(crate) const SETTLED: Duration = Duration::from_secs(2);

/// An entry unused this long is closed.
pub(crate) const IDLE: Duration = Duration::from_secs(30);

/// What identifies one version of one file: if any of it changed, the entry is not used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Version {
    dev: (u32, u32),
    ino: u64,
    mode: u16,
    size: u64,
    mtime: (i64, u32),
    ctime: (i64, u32),
}

impl Version {
    /// Measures an open file (`statx` of its descriptor); `None` if it cannot be.
    pub(crate) fn of_file(file: &File) -> Option<Self> {
        rustix::fs::statx(file, "", AtFlags::EMPTY_PATH, StatxFlags::BASIC_STATS)
            .ok()
            .map(|st| Self::of(&st))
    }

    fn of(st: &Statx) -> Self {
        Self {
            dev: (st.stx_dev_major, st.stx_dev_minor),
            ino: st.stx_ino,
            mode: st.stx_mode,
            size: st.stx_size,
            mtime: (st.stx_mtime.tv_sec, st.stx_mtime.tv_nsec),
            ctime: (st.stx_ctime.tv_sec, st.stx_ctime.tv_nsec),
        }
    }

    /// Whether the file is a regular file.
    pub(crate) fn is_file(&self) -> bool {
        FileType::from_raw_mode(self.mode.into()) == FileType::RegularFile
    }

    /// Whether the file is a directory.
    pub(crate) fn is_dir(&self) -> bool {
        FileType::from_raw_mode(self.mode.into()) == FileType::Directory
    }

    /// The file's size in bytes.
    pub(crate) fn len(&self) -> u64 {
        self.size
    }

    /// The inode number.
    pub(crate) fn ino(&self) -> u64 {
        self.ino
    }

    /// The modification time, to the nanosecond.
    pub(crate) fn mtime_ns(&self) -> i128 {
        i128::from(self.mtime.0) * 1_000_000_000 + i128::from(self.mtime.1)
    }

    /// The modification time.
    pub(crate) fn modified(&self) -> SystemTime {
        at(self.mtime)
    }

    /// Whether the file last changed at least [`SETTLED`] before `now`.
    fn settled(&self, now: SystemTime) -> bool {
        at(self.ctime)
            .checked_add(SETTLED)
            .is_some_and(|t| t <= now)
    }
}

fn at((secs, nanos): (i64, u32)) -> SystemTime {
    let since = Duration::new(secs.unsigned_abs(), nanos);
    if secs >= 0 {
        UNIX_EPOCH + since
    } else {
        UNIX_EPOCH - since
    }
}

/// An open regular file and the version it was measured at.
#[derive(Clone, Debug)]
pub(crate) struct OpenFile {
    /// The file, shared with the cache and with responses still sending it.
    pub(crate) file: Arc<File>,
    /// What was measured.
    pub(crate) version: Version,
    /// The whole content, when the file is small and settled.
    pub(crate) content: Option<Bytes>,
    /// The version's header values, formatted once.
    pub(crate) described: Arc<Described>,
}

/// What the headers of a response say about one version of a file, formatted when the file
/// is opened and shared by every response of that version.
#[derive(Debug)]
pub(crate) struct Described {
    /// Its validators (the default mode's `ETag` and the modification time).
    pub(crate) validators: Validators,
    /// The `ETag` field value.
    pub(crate) etag: Bytes,
    /// The `Last-Modified` field value.
    pub(crate) last_modified: Bytes,
    /// The size, in decimal: a whole file's `Content-Length`.
    pub(crate) length: Bytes,
}

impl OpenFile {
    /// `file`, measured at `version`.
    pub(crate) fn new(file: File, version: Version) -> Self {
        let validators = Validators::of(&version);
        let described = Described {
            etag: Bytes::from(validators.header()),
            last_modified: http_date(version.modified()),
            length: Bytes::from(version.len().to_string()),
            validators,
        };
        Self {
            file: Arc::new(file),
            version,
            content: None,
            described: Arc::new(described),
        }
    }

    /// Reads and keeps the content of a small file once it has settled.
    fn keep_content(&mut self, now: SystemTime) {
        if self.content.is_none() && self.version.len() <= SMALL && self.version.settled(now) {
            self.content = self.read_whole();
        }
    }

    /// The whole content: kept, or read now with positioned reads (the descriptor is shared,
    /// so its offset is never used). `None` when the file no longer has its measured size.
    pub(crate) fn read_whole(&self) -> Option<Bytes> {
        if let Some(content) = &self.content {
            return Some(content.clone());
        }
        let len = usize::try_from(self.version.len()).ok()?;
        let mut buf = vec![0; len];
        let mut done = 0;
        while done < len {
            match self.file.read_at(&mut buf[done..], done as u64) {
                Ok(0) => return None,
                Ok(n) => done += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => return None,
            }
        }
        // A file that grew since it was measured is not this version.
        match self.file.read_at(&mut [0], len as u64) {
            Ok(0) => Some(Bytes::from(buf)),
            _ => None,
        }
    }
}

struct Entry {
    root: Arc<Root>,
    rel: Box<[u8]>,
    open: OpenFile,
    used: SystemTime,
    tick: u64,
    /// When the path was last seen to lead to `open` unchanged.
    looked: Option<Look>,
}

/// A moment of a round of shared looks (see [`with_shared_looks`]): a look taken at one is
/// good for every request planned at the same one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Look {
    round: NonZeroU64,
    arrivals: u64,
}

thread_local! {
    /// The round of shared looks this thread is in, if any.
    static ROUND: Cell<Option<NonZeroU64>> = const { Cell::new(None) };
    /// The last round number given out on this thread.
    static ROUNDS: Cell<u64> = const { Cell::new(0) };
}

/// Runs `f` (a reactor planning the requests it has just read) with file looks shared: a
/// `statx` taken for one request answers the next requests for the same path planned in `f`
/// on this thread, until a byte reaches a connection of this thread or a file is written here
/// ([`forget_looks`]). Outside of it (and on threads that plan requests other threads
/// received, which must not call it) every request takes its own look.
pub fn with_shared_looks<R>(f: impl FnOnce() -> R) -> R {
    /// Ends the round, even if `f` unwinds; a round `f` was called in goes on as a new one
    /// (a file written in `f` must end that one's looks too).
    struct Restore(Option<NonZeroU64>);
    impl Drop for Restore {
        fn drop(&mut self) {
            ROUND.set(self.0.map(|_| next_round()));
        }
    }
    let _restore = Restore(ROUND.replace(Some(next_round())));
    f()
}

/// Ends this thread's round of shared looks: the next request takes a look of its own. Called
/// when a file was written here (an upload), and by `serve` before it applies a handler's
/// command: the handler runs on another thread, and an upload there may have replaced a file
/// that a pipelined request, already read, asks for next (the arrival count cannot see that).
/// Outside a round it does nothing.
pub fn forget_looks() {
    if ROUND.get().is_some() {
        ROUND.set(Some(next_round()));
    }
}

fn next_round() -> NonZeroU64 {
    let n = ROUNDS.get().wrapping_add(1).max(1);
    ROUNDS.set(n);
    NonZeroU64::new(n).unwrap_or(NonZeroU64::MIN)
}

/// The moment now, inside a round of shared looks.
fn look_now() -> Option<Look> {
    Some(Look {
        round: ROUND.get()?,
        arrivals: protocol::arrivals(),
    })
}

#[derive(Default)]
struct Cache {
    entries: Vec<Entry>,
    tick: u64,
}

thread_local! {
    static CACHE: RefCell<Cache> = RefCell::default();
}

/// The cached file at `rel` if the path still leads to it unchanged (one `statx`). A changed
/// or vanished file's entry is dropped; `None` sends the caller to the full lookup.
pub(crate) fn get(fs: &Lookup, rel: &Path, now: SystemTime) -> Option<OpenFile> {
    let rel = rel.as_os_str().as_bytes();
    CACHE.with(|cache| {
        let mut cache = cache.borrow_mut();
        if cache.tick % 64 == 0 {
            cache.expire(now);
        }
        let i = cache.position(fs.root(), rel)?;
        let look = look_now();
        let entry = &cache.entries[i];
        let seen = look.is_some() && entry.looked == look;
        if !seen && stat_path(fs, rel) != Some(entry.open.version) {
            cache.entries.swap_remove(i);
            return None;
        }
        cache.tick += 1;
        let tick = cache.tick;
        let entry = &mut cache.entries[i];
        entry.looked = look;
        entry.used = now;
        entry.tick = tick;
        entry.open.keep_content(now);
        Some(entry.open.clone())
    })
}

/// Keeps `open` (just opened at `rel` beneath the root) for the next requests, and returns
/// it with its content when the file is small and settled.
pub(crate) fn put(fs: &Lookup, rel: &Path, mut open: OpenFile, now: SystemTime) -> OpenFile {
    open.keep_content(now);
    CACHE.with(|cache| {
        let mut cache = cache.borrow_mut();
        cache.tick += 1;
        let entry = Entry {
            root: Arc::clone(fs.root()),
            rel: rel.as_os_str().as_bytes().into(),
            open: open.clone(),
            used: now,
            tick: cache.tick,
            // Opened and measured just now.
            looked: look_now(),
        };
        if let Some(i) = cache.position(&entry.root, &entry.rel) {
            cache.entries[i] = entry;
        } else if cache.entries.len() < CAPACITY {
            cache.entries.push(entry);
        } else if let Some(lru) = (0..cache.entries.len()).min_by_key(|&i| cache.entries[i].tick) {
            cache.entries[lru] = entry;
        }
    });
    open
}

/// Closes every cached file of this thread (the process is out of descriptors); returns
/// how many there were.
pub(crate) fn clear() -> usize {
    CACHE.with(|cache| {
        let mut cache = cache.borrow_mut();
        let n = cache.entries.len();
        cache.entries.clear();
        n
    })
}

impl Cache {
    /// Where the entry for `rel` beneath `root` is.
    fn position(&self, root: &Arc<Root>, rel: &[u8]) -> Option<usize> {
        self.entries
            .iter()
            .position(|e| Arc::ptr_eq(&e.root, root) && *e.rel == *rel)
    }

    fn expire(&mut self, now: SystemTime) {
        self.entries
            .retain(|e| now.duration_since(e.used).map_or(true, |idle| idle < IDLE));
    }
}

/// The version the path leads to now, following links as the kernel does (see the module
/// docs for why that is safe).
fn stat_path(fs: &Lookup, rel: &[u8]) -> Option<Version> {
    let path = if rel.is_empty() { b"." as &[u8] } else { rel };
    rustix::fs::statx(
        fs.root().fd(),
        std::ffi::OsStr::from_bytes(path),
        AtFlags::STATX_DONT_SYNC,
        StatxFlags::BASIC_STATS,
    )
    .ok()
    .map(|st| Version::of(&st))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[expect(
        clippy::disallowed_methods,
        reason = "a connection takes bytes in at an instant"
    )]
    fn a_round_ends_with_its_closure_a_write_or_an_arrival() {
        assert_eq!(look_now(), None);
        with_shared_looks(|| {
            let first = look_now();
            assert!(first.is_some());
            assert_eq!(look_now(), first);
            forget_looks();
            let second = look_now();
            assert!(second.is_some() && second != first);
            let now = std::time::Instant::now();
            protocol::ServerConnection::new(Arc::default(), now).receive(b"G", now);
            assert_ne!(look_now(), second);
        });
        assert_eq!(look_now(), None);
    }

    #[test]
    fn a_round_around_another_goes_on_as_a_new_one() {
        with_shared_looks(|| {
            let outer = look_now();
            with_shared_looks(|| assert_ne!(look_now(), outer));
            assert!(look_now().is_some() && look_now() != outer);
        });
        assert_eq!(look_now(), None);
    }

    #[test]
    fn a_round_that_unwinds_is_over() {
        let unwound = std::panic::catch_unwind(|| with_shared_looks(|| panic!("planning failed")));
        assert!(unwound.is_err());
        assert_eq!(look_now(), None);
    }
}
