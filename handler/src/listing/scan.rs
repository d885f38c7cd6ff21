//! Reading a directory for a listing: `os.listdir` with `os.path.islink` and `os.path.isdir`
//! for each entry, and CPython's sort, without an allocation per entry.
//!
//! A [`Scan`] keeps every name in one byte arena (the raw name, then its decoded text and its
//! sort key only where they differ from it) and the entries as spans into that arena. The scan,
//! the `getdents` buffer and the page being rendered live in one [`Scratch`] per thread, reused
//! from request to request, so a listing allocates nothing but its answer once the thread has
//! listed a directory of that size.

use std::cell::RefCell;
use std::ffi::CStr;
use std::ops::Range;
use std::os::fd::AsFd;

use rustix::fs::{AtFlags, FileType, RawDir, statat};

use super::{Entry, Meta, Target};
use crate::pystr::{fs_decode, lower_key};

/// How many bytes of `linux_dirent64` records one `getdents64` call may return: a directory of
/// some 700 short names in one call, and never too small for one record (at most 280 bytes).
const DIRENT_BUFFER: usize = 32 * 1024;

/// Above this many bytes, a buffer is dropped after use rather than kept for the next request:
/// one huge directory must not pin its memory in every thread that once listed it (the std
/// runtime runs a thread per connection). A page of some 5,000 names fits.
const KEEP_AT_MOST: usize = 256 * 1024;

/// One entry of a [`Scan`]: where its strings are in the arena, and what it is.
#[derive(Debug, Clone)]
struct Item {
    /// The raw file name.
    raw: Range<usize>,
    /// `os.fsdecode(name)` as generalised UTF-8 (see `pystr`): the same bytes as `raw` unless
    /// the name is not UTF-8.
    text: Range<usize>,
    /// `text.lower()`, CPython's sort key.
    key: Range<usize>,
    is_dir: bool,
    is_link: bool,
    meta: Option<Meta>,
}

/// The entries of one directory, read by [`Scan::read`].
#[derive(Debug, Default)]
pub(crate) struct Scan {
    arena: Vec<u8>,
    /// The entries in directory order (a [`SortKey`]'s `seq` indexes it).
    items: Vec<Item>,
    /// The entries in directory order, then in name order once
    /// [`sort_by_name`](Self::sort_by_name) ran.
    order: Vec<SortKey>,
    has_link: bool,
}

/// An entry's place in the name order.
#[derive(Debug, Clone, Copy)]
struct SortKey {
    /// The first eight bytes of its sort key, big-endian, zero-padded.
    head: u64,
    /// Its index in `items`: its position in `os.listdir`'s order, which ties keep, as
    /// Python's stable `list.sort` does.
    seq: usize,
}

/// One entry of a [`Scan`], borrowed.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Name<'a> {
    /// The raw file name.
    pub(crate) raw: &'a [u8],
    /// `os.fsdecode(name)` (generalised UTF-8).
    pub(crate) text: &'a [u8],
    /// A directory, or a link the listing may enter as one.
    pub(crate) is_dir: bool,
    pub(crate) is_link: bool,
}

impl Scan {
    /// Reads the directory open as `dir` (its position at the start), replacing what the scan
    /// held; `dirents` is the buffer `getdents64` fills. `follow(name)` says what a symbolic
    /// link leads to. With `stat`, each entry's size and time are read as well (`lstat` beside
    /// the directory; `follow` for links). `false` when the directory could not be read: like
    /// CPython's `os.listdir`, one read error fails the whole listing.
    pub(crate) fn read(
        &mut self,
        dir: impl AsFd,
        dirents: &mut Vec<u8>,
        stat: bool,
        follow: impl Fn(&[u8]) -> Option<Target>,
    ) -> bool {
        self.arena.clear();
        self.items.clear();
        self.order.clear();
        self.has_link = false;
        let dir = dir.as_fd();
        dirents.clear();
        dirents.reserve(DIRENT_BUFFER);
        let mut reader = RawDir::new(dir, dirents.spare_capacity_mut());
        while let Some(entry) = reader.next() {
            let Ok(entry) = entry else {
                return false;
            };
            let name = entry.file_name();
            let raw = name.to_bytes();
            if raw == b"." || raw == b".." {
                continue;
            }
            // The entry type from getdents answers `islink` and, for anything but a link,
            // `isdir` without a system call (an inode's type never changes, and a name bound to
            // another inode is a change of the directory); some file systems leave it unknown,
            // and then `lstat` does.
            let mut file_type = entry.file_type();
            let mut meta = None;
            if (file_type == FileType::Unknown || stat)
                && let Ok(st) = statat(dir, name, AtFlags::SYMLINK_NOFOLLOW)
            {
                file_type = FileType::from_raw_mode(st.st_mode);
                meta = Some(Meta::of(&st));
            }
            let is_link = file_type == FileType::Symlink;
            let is_dir = if is_link {
                let target = follow(raw);
                meta = target.map(|t| t.meta);
                target.is_some_and(|t| t.is_dir)
            } else {
                file_type == FileType::Directory
            };
            self.has_link |= is_link;
            self.push(name, is_dir, is_link, meta.filter(|_| stat));
        }
        true
    }

    /// Adds one entry: its raw name, and its text and sort key where they differ from it.
    fn push(&mut self, name: &CStr, is_dir: bool, is_link: bool, meta: Option<Meta>) {
        let raw_bytes = name.to_bytes();
        let raw = self.append(raw_bytes);
        let (text, key);
        if raw_bytes.is_ascii() {
            // Nearly every name: its own text, and its own key unless it has capitals.
            text = raw.clone();
            key = if raw_bytes.iter().any(u8::is_ascii_uppercase) {
                let start = self.arena.len();
                self.arena
                    .extend(raw_bytes.iter().map(u8::to_ascii_lowercase));
                start..self.arena.len()
            } else {
                raw.clone()
            };
        } else {
            let decoded = fs_decode(raw_bytes);
            let lowered = lower_key(&decoded);
            key = self.append(&lowered);
            text = match decoded {
                std::borrow::Cow::Borrowed(_) => raw.clone(),
                std::borrow::Cow::Owned(owned) => self.append(&owned),
            };
        }
        let seq = self.items.len();
        let mut head = [0; 8];
        let key_bytes = &self.arena[key.clone()];
        let n = key_bytes.len().min(8);
        head[..n].copy_from_slice(&key_bytes[..n]);
        self.order.push(SortKey {
            head: u64::from_be_bytes(head),
            seq,
        });
        self.items.push(Item {
            raw,
            text,
            key,
            is_dir,
            is_link,
            meta,
        });
    }

    fn append(&mut self, bytes: &[u8]) -> Range<usize> {
        let start = self.arena.len();
        self.arena.extend_from_slice(bytes);
        start..self.arena.len()
    }

    /// `list.sort(key=lambda a: a.lower())`: by code point of the lowered name (generalised
    /// UTF-8 orders as code points do), ties in directory order.
    ///
    /// What is sorted is a list of small keys, not the entries: the first eight bytes of the
    /// lowered name as one integer (names hold no NUL byte, so zero padding orders a shorter
    /// name first, as a byte-wise comparison does) settle nearly every comparison without
    /// touching the arena. An unstable sort with the directory position as the last key gives
    /// the stable order without a merge buffer.
    pub(crate) fn sort_by_name(&mut self) {
        let (arena, items) = (&self.arena, &self.items);
        self.order.sort_unstable_by(|a, b| {
            a.head.cmp(&b.head).then_with(|| {
                let (x, y) = (&items[a.seq], &items[b.seq]);
                arena[x.key.clone()]
                    .cmp(&arena[y.key.clone()])
                    .then(a.seq.cmp(&b.seq))
            })
        });
    }

    /// Whether an entry is a symbolic link: what a link leads to (and so its `/`) can change
    /// without any change to this directory.
    pub(crate) fn has_link(&self) -> bool {
        self.has_link
    }

    /// The entries in directory order, or in name order once sorted.
    fn in_order(&self) -> impl Iterator<Item = &Item> {
        self.order.iter().map(|k| &self.items[k.seq])
    }

    /// The entries, borrowed (see [`in_order`](Self::in_order)).
    pub(crate) fn names(&self) -> impl Iterator<Item = Name<'_>> {
        self.in_order().map(|it| Name {
            raw: &self.arena[it.raw.clone()],
            text: &self.arena[it.text.clone()],
            is_dir: it.is_dir,
            is_link: it.is_link,
        })
    }

    /// The entries as owned [`Entry`] values, for the rich and JSON listings.
    pub(crate) fn to_entries(&self) -> Vec<Entry> {
        self.in_order()
            .map(|it| Entry {
                raw: self.arena[it.raw.clone()].to_vec(),
                text: self.arena[it.text.clone()].to_vec(),
                is_dir: it.is_dir,
                is_link: it.is_link,
                meta: it.meta,
            })
            .collect()
    }
}

/// What a thread reuses from one listing to the next.
#[derive(Debug, Default)]
pub(crate) struct Scratch {
    /// The `getdents64` buffer.
    pub(crate) dirents: Vec<u8>,
    /// The last directory read.
    pub(crate) scan: Scan,
    /// The page being rendered (copied out into the response once complete).
    pub(crate) page: Vec<u8>,
}

impl Scratch {
    /// Drops any buffer that grew beyond [`KEEP_AT_MOST`], keeping its contents empty.
    fn trim(&mut self) {
        for buf in [&mut self.dirents, &mut self.scan.arena, &mut self.page] {
            if buf.capacity() > KEEP_AT_MOST {
                *buf = Vec::new();
            }
        }
        if self.scan.items.capacity() * size_of::<Item>() > KEEP_AT_MOST {
            self.scan.items = Vec::new();
            self.scan.order = Vec::new();
        }
    }
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::default();
}

/// Runs `f` with this thread's [`Scratch`] (a fresh one should `f` somehow run inside itself).
pub(crate) fn with_scratch<R>(f: impl FnOnce(&mut Scratch) -> R) -> R {
    SCRATCH.with(|cell| match cell.try_borrow_mut() {
        Ok(mut scratch) => {
            let out = f(&mut scratch);
            scratch.trim();
            out
        }
        Err(_) => f(&mut Scratch::default()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(scan: &Scan) -> Vec<Vec<u8>> {
        scan.names().map(|n| n.raw.to_vec()).collect()
    }

    #[test]
    fn sorts_like_python_and_keeps_ties_in_directory_order() {
        let mut scan = Scan::default();
        for name in [
            c"b",
            c"B",
            c"a.TXT",
            c"A.txt",
            c"\xc3\x89t\xc3\xa9",
            c"\xff",
            c"Z",
        ] {
            scan.push(name, false, false, None);
        }
        scan.sort_by_name();
        // Python: sorted(['b', 'B', 'a.TXT', 'A.txt', 'Été', os.fsdecode(b'\xff'), 'Z'],
        //                key=str.lower)
        assert_eq!(
            names(&scan),
            [
                &b"a.TXT"[..],
                b"A.txt",
                b"b",
                b"B",
                b"Z",
                "Été".as_bytes(),
                b"\xff"
            ]
        );
        let texts: Vec<_> = scan.names().map(|n| n.text.to_vec()).collect();
        assert_eq!(texts[6], b"\xED\xB3\xBF");
        // Names sharing their first eight bytes, and equal keys, in directory order.
        let mut scan = Scan::default();
        for name in [
            c"file-001.TXT",
            c"file-001.txt",
            c"file-001",
            c"file-00",
            c"file-001.a",
        ] {
            scan.push(name, false, false, None);
        }
        scan.sort_by_name();
        assert_eq!(
            names(&scan),
            [
                &b"file-00"[..],
                b"file-001",
                b"file-001.a",
                b"file-001.TXT",
                b"file-001.txt"
            ]
        );
    }
}
