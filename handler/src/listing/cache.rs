//! The pages of CPython's listing that were already rendered, each checked before use by one
//! `fstat` of the directory just opened.
//!
//! # Why a page cannot be stale
//!
//! Only CPython's page is kept ([`ListingStyle::Python`](crate::settings::ListingStyle) or
//! `--compat`, not JSON, not the rich table). That page is a function of the request path (its
//! title) and, for each entry, of its name and whether it is a directory, a link, or neither:
//! no size, no time. So it is a function of the directory's *entries* alone, and the kernel
//! stamps the directory with a new modification and change time whenever an entry is added,
//! removed or renamed (a name bound to another inode included). The type of an entry never
//! changes by itself: an inode's type is fixed at its creation. A file's size or times
//! changing does not touch the directory, and the page does not show them.
//!
//! The exception is a symbolic link: whether it leads to a directory (its `href` ends in `/`),
//! nowhere, or outside the root depends on other directories. A page with a link on it is
//! never kept.
//!
//! A page is stored under the directory's device and inode and the request path, with the
//! directory's `stat` (modification time, change time, both to the nanosecond, and size)
//! taken *before* it was read; it is used only while a fresh `fstat` still gives exactly that
//! `stat`. A change during the read then shows at the next request, since the stored `stat`
//! is older than the change.
//!
//! # The racy window
//!
//! Timestamps have a granularity: a jiffy for the kernel's coarse clock, a second on some file
//! systems, two on FAT. A directory changed twice within one tick keeps one timestamp, so a
//! page read between the two changes would carry the stamp of the second one. As git does for
//! its index, a page is therefore stored only when the directory's modification and change
//! times are both more than [`SETTLED`] before the request's time (`RequestContext::now`):
//! any change after the read is then stamped with a later time than the one stored. The
//! handler reads no clock; it trusts the time it is given, and a directory changed within
//! the last few seconds is simply read and rendered each time, as before.
//!
//! The change time cannot be set from user space (`touch -d` moves the modification time and
//! stamps the change time with now), so it is the one that guarantees the rule; a system clock
//! set back by more than [`SETTLED`] could in theory repeat a stamp to the nanosecond.
//!
//! # Bounds
//!
//! One cache per process, shared by every thread and every [`Settings`](crate::Settings) (the
//! page depends on none of them); at most [`MAX_PAGES`] pages and [`MAX_BYTES`] bytes, the
//! least recently used page leaving first, and no page over [`MAX_PAGE`]. A hit is a lookup
//! under a lock and a reference-count increment: the page's `Bytes` are shared, not copied.

use std::sync::{Mutex, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use rustix::fs::Stat;

/// How long a directory must have been left alone before its page is kept.
pub(crate) const SETTLED: std::time::Duration = std::time::Duration::from_secs(3);
/// How many pages are kept at most.
pub(crate) const MAX_PAGES: usize = 64;
/// How many bytes of pages are kept at most.
pub(crate) const MAX_BYTES: usize = 8 * 1024 * 1024;
/// The largest page kept (some 20,000 entries).
pub(crate) const MAX_PAGE: usize = 1024 * 1024;

/// What identifies a directory and its state: `fstat` of the open directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Stamp {
    dev: u64,
    ino: u64,
    /// Modification and change times, in nanoseconds since the epoch.
    mtime: i128,
    ctime: i128,
    size: i64,
}

impl Stamp {
    /// The stamp of a directory's `stat`.
    #[allow(
        clippy::useless_conversion,
        clippy::unnecessary_fallible_conversions,
        reason = "the stat fields are of different integer types on different targets"
    )]
    pub(crate) fn of(st: &Stat) -> Self {
        let ns = |secs: i128, nanos: i128| secs * 1_000_000_000 + nanos;
        Self {
            dev: u64::from(st.st_dev),
            ino: u64::from(st.st_ino),
            mtime: ns(i128::from(st.st_mtime), i128::from(st.st_mtime_nsec)),
            ctime: ns(i128::from(st.st_ctime), i128::from(st.st_ctime_nsec)),
            size: i64::try_from(st.st_size).unwrap_or(-1),
        }
    }

    /// Whether the directory was last changed more than [`SETTLED`] before `now`, so that any
    /// later change gets a later timestamp (see the module documentation).
    pub(crate) fn settled(&self, now: SystemTime) -> bool {
        let Ok(since_epoch) = now.duration_since(UNIX_EPOCH) else {
            return false;
        };
        let limit = i128::try_from(since_epoch.as_nanos()).unwrap_or(i128::MAX)
            - i128::try_from(SETTLED.as_nanos()).unwrap_or(i128::MAX);
        self.mtime < limit && self.ctime < limit
    }
}

/// One kept page.
#[derive(Debug)]
struct Page {
    stamp: Stamp,
    request_path: Box<[u8]>,
    body: Bytes,
    /// When it was last used, in lookups of this cache (for the eviction).
    used: u64,
}

/// Kept pages (see the module documentation).
#[derive(Debug)]
pub(crate) struct Cache {
    pages: Vec<Page>,
    bytes: usize,
    clock: u64,
}

impl Cache {
    /// An empty cache.
    pub(crate) const fn new() -> Self {
        Self {
            pages: Vec::new(),
            bytes: 0,
            clock: 0,
        }
    }

    /// The page for `request_path` in the directory stamped `stamp`, if it was kept with
    /// exactly that stamp. A page kept for an older state of the directory is dropped.
    pub(crate) fn get(&mut self, stamp: &Stamp, request_path: &[u8]) -> Option<Bytes> {
        let at = self.find(stamp, request_path)?;
        if self.pages[at].stamp != *stamp {
            self.remove(at);
            return None;
        }
        self.clock += 1;
        self.pages[at].used = self.clock;
        Some(self.pages[at].body.clone())
    }

    /// Keeps `body` as the page for `request_path` in the directory stamped `stamp` (read
    /// after the stamp was taken), if the directory has settled at `now` and the page is not
    /// too large.
    pub(crate) fn put(
        &mut self,
        stamp: Stamp,
        request_path: &[u8],
        body: &Bytes,
        now: SystemTime,
    ) -> bool {
        if body.len() > MAX_PAGE || !stamp.settled(now) {
            return false;
        }
        if let Some(at) = self.find(&stamp, request_path) {
            self.remove(at);
        }
        while self.pages.len() >= MAX_PAGES || self.bytes + body.len() > MAX_BYTES {
            let Some(oldest) = (0..self.pages.len()).min_by_key(|&i| self.pages[i].used) else {
                break;
            };
            self.remove(oldest);
        }
        self.clock += 1;
        self.bytes += body.len();
        self.pages.push(Page {
            stamp,
            request_path: request_path.into(),
            body: body.clone(),
            used: self.clock,
        });
        true
    }

    /// How many pages are kept.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.pages.len()
    }

    /// The page of the same directory (device and inode) and request path, whatever its stamp.
    fn find(&self, stamp: &Stamp, request_path: &[u8]) -> Option<usize> {
        self.pages.iter().position(|p| {
            p.stamp.ino == stamp.ino && p.stamp.dev == stamp.dev && *p.request_path == *request_path
        })
    }

    fn remove(&mut self, at: usize) {
        let page = self.pages.swap_remove(at);
        self.bytes -= page.body.len();
    }
}

/// The process's cache.
static CACHE: Mutex<Cache> = Mutex::new(Cache::new());

/// Runs `f` on the process's cache. A panic while it was held cannot leave it inconsistent
/// in a way that matters (every page is still checked against its stamp), so poisoning is
/// ignored.
pub(crate) fn with_cache<R>(f: impl FnOnce(&mut Cache) -> R) -> R {
    f(&mut CACHE.lock().unwrap_or_else(PoisonError::into_inner))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn stamp(ino: u64, ctime_s: i128) -> Stamp {
        Stamp {
            dev: 1,
            ino,
            mtime: ctime_s * 1_000_000_000,
            ctime: ctime_s * 1_000_000_000,
            size: 4096,
        }
    }

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn only_a_settled_directory_is_kept() {
        let mut cache = Cache::new();
        let body = Bytes::from_static(b"page");
        // Changed 2.999 s before now: a change in the same tick could still follow.
        assert!(!stamp(1, 1000).settled(at(1002) + Duration::from_millis(999)));
        assert!(stamp(1, 1000).settled(at(1003) + Duration::from_nanos(1)));
        assert!(!cache.put(stamp(1, 1000), b"/", &body, at(1002)));
        assert!(!cache.put(stamp(1, 1000), b"/", &body, at(1003)));
        // A directory stamped in the future (clock set back, or `touch -d`) is not either.
        assert!(!cache.put(stamp(1, 1000), b"/", &body, at(900)));
        assert!(!cache.put(
            stamp(1, 1000),
            b"/",
            &body,
            UNIX_EPOCH - Duration::from_secs(1)
        ));
        assert_eq!(cache.len(), 0);
        assert!(cache.put(stamp(1, 1000), b"/", &body, at(1004)));
        assert_eq!(
            cache.get(&stamp(1, 1000), b"/").as_deref(),
            Some(&b"page"[..])
        );
        // A recent modification time alone keeps the page out too.
        let mut touched = stamp(2, 1000);
        touched.mtime = 1003 * 1_000_000_000;
        assert!(!cache.put(touched, b"/", &body, at(1004)));
    }

    #[test]
    fn a_page_is_used_only_with_the_stamp_it_was_kept_with() {
        let mut cache = Cache::new();
        let body = Bytes::from_static(b"page");
        assert!(cache.put(stamp(1, 1000), b"/d/", &body, at(2000)));
        assert!(cache.get(&stamp(1, 1000), b"/d/?x").is_none());
        assert!(cache.get(&stamp(2, 1000), b"/d/").is_none());
        let mut later = stamp(1, 1000);
        later.ctime += 1;
        assert!(cache.get(&later, b"/d/").is_none());
        // ...and the outdated page is gone.
        assert_eq!(cache.len(), 0);
        assert!(cache.get(&stamp(1, 1000), b"/d/").is_none());
    }

    #[test]
    fn bounded_least_recently_used_first() {
        let mut cache = Cache::new();
        let body = Bytes::from_static(b"page");
        for ino in 0..MAX_PAGES as u64 {
            assert!(cache.put(stamp(ino, 1000), b"/", &body, at(2000)));
        }
        assert!(cache.get(&stamp(0, 1000), b"/").is_some());
        assert!(cache.put(stamp(999, 1000), b"/", &body, at(2000)));
        assert_eq!(cache.len(), MAX_PAGES);
        assert!(cache.get(&stamp(0, 1000), b"/").is_some());
        assert!(cache.get(&stamp(1, 1000), b"/").is_none());
        let big = Bytes::from(vec![b'x'; MAX_PAGE + 1]);
        assert!(!cache.put(stamp(1000, 1000), b"/", &big, at(2000)));
        let large = Bytes::from(vec![b'x'; MAX_PAGE]);
        for ino in 2000..=2000 + (MAX_BYTES / MAX_PAGE) as u64 {
            assert!(cache.put(stamp(ino, 1000), b"/", &large, at(2000)));
        }
        assert!(cache.bytes <= MAX_BYTES);
    }
}
