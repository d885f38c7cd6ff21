//! [`Span`]: where a piece of a received head sits in the head's bytes.
//!
//! A parsed head keeps the bytes it arrived in (one shared [`Bytes`](bytes::Bytes)) and
//! addresses its method, target, version and every header name and value by offsets into them.
//! An offset pair is eight bytes and needs no reference count, where a `Bytes` slice per part
//! would cost 32 bytes and two atomic updates (made and dropped) on every request.

use std::ops::Range;

/// A byte range of a received head. Heads are held below 4 GiB (see
/// [`Limits::max_head`](crate::Limits::max_head)), so 32-bit offsets always fit.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Span {
    start: u32,
    end: u32,
}

/// The longest head a [`Span`] can address; the head reader refuses anything longer.
pub(crate) const MAX_HEAD_BYTES: usize = u32::MAX as usize;

impl Span {
    /// The span of `range`, which lies within a head of at most [`MAX_HEAD_BYTES`].
    #[inline]
    // The head reader refuses a head (and the chunked decoder a trailer section) past
    // `MAX_HEAD_BYTES` before any span of it is made, so the offsets fit; a checked
    // conversion here would put a branch on every field of every head (the workspace allows
    // `cast_possible_truncation` for such checked boundaries).
    pub(crate) fn new(range: Range<usize>) -> Self {
        debug_assert!(range.end <= MAX_HEAD_BYTES && range.start <= range.end);
        Self {
            start: range.start as u32,
            end: range.end as u32,
        }
    }

    /// The offset just past the span.
    pub(crate) fn end(self) -> usize {
        self.end as usize
    }

    /// The span as eight bytes (start, then end, little-endian), for tables kept as bytes.
    #[inline]
    pub(crate) fn to_le_bytes(self) -> [u8; 8] {
        (u64::from(self.start) | u64::from(self.end) << 32).to_le_bytes()
    }

    /// The span [`to_le_bytes`](Self::to_le_bytes) wrote.
    #[inline]
    pub(crate) fn from_le_bytes(bytes: [u8; 8]) -> Self {
        let both = u64::from_le_bytes(bytes);
        Self {
            start: both as u32,
            end: (both >> 32) as u32,
        }
    }

    /// The bytes of `source` this span covers.
    pub(crate) fn of(self, source: &[u8]) -> &[u8] {
        &source[self.start as usize..self.end as usize]
    }
}

/// Where `part`, a sub-slice of `whole` (as httparse hands them back), sits in `whole`.
#[inline]
pub(crate) fn range_of(whole: &[u8], part: &[u8]) -> Range<usize> {
    let start = part.as_ptr().addr() - whole.as_ptr().addr();
    debug_assert!(start + part.len() <= whole.len());
    start..start + part.len()
}
