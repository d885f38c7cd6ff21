//! An ordered, case-preserving header list with case-insensitive lookup.
//!
//! HTTP/1.x servers that want to reproduce another server byte for byte (or show a learner
//! exactly what arrived) cannot use a map: order and the original spelling of names are part of
//! what is on the wire. Header counts are small (tens), so a `Vec` with linear lookup is also the
//! fastest choice.
//!
//! Fields of a received head are kept as offsets into the head's bytes rather than as a
//! `Bytes` slice each: a slice costs an atomic reference count update when it is made and
//! another when it is dropped, and a typical browser head has a dozen fields, parsed on every
//! request. Fields the application appends own their bytes and follow the received ones.
//!
//! # The field table: no allocation per request
//!
//! The offsets live in the same memory as the head: a received list's source is the head's
//! bytes followed by its *field table*, 16 bytes a field (name and value spans, little-endian
//! 32-bit offsets). The head reader appends the table to the head in the receive buffer and
//! cuts both off in one `Bytes`, so a parsed head costs no allocation (a `Vec` of offsets
//! cost one per request, and a pool of them handed back and forth between the connection
//! and the application would need a lock) and no reference count beyond the head's own:
//! dropping a head is still one atomic decrement. Reading an offset is one unaligned load.
//!
//! Bytes that arrived behind the head (a body, pipelined requests) are moved up to make room
//! for the table; behind more than a few KiB of them, or past 32 fields, the head costs one
//! allocation again (see `head::seal` and [`TableWriter`]). A list edited with
//! [`Headers::remove`] gets a copy of its own.

use bytes::{Bytes, BytesMut};

use crate::head::{CONNECTION, CONTENT_LENGTH, TRANSFER_ENCODING};
use crate::span::Span;

/// A received field: where its name and value sit in the list's source bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct FieldSpan {
    pub(crate) name: Span,
    pub(crate) value: Span,
}

/// Bytes per field in a field table: the two spans, eight bytes each.
const RECORD: usize = 16;

impl FieldSpan {
    /// The field's table record.
    #[inline]
    fn to_record(self) -> [u8; RECORD] {
        let mut record = [0; RECORD];
        let (name, value) = record.split_at_mut(8);
        name.copy_from_slice(&self.name.to_le_bytes());
        value.copy_from_slice(&self.value.to_le_bytes());
        record
    }

    /// The field a table record describes.
    #[inline]
    fn from_record(record: &[u8]) -> Self {
        let half = |at: usize| -> [u8; 8] { record[at..at + 8].try_into().expect("eight bytes") };
        Self {
            name: Span::from_le_bytes(half(0)),
            value: Span::from_le_bytes(half(8)),
        }
    }
}

/// Fields a head's table can hold before [`TableWriter`] spills to the heap: the number
/// httparse parses on the stack, more than a browser sends.
const INLINE_FIELDS: usize = 32;

/// The field table of a head being parsed, written as the fields are found (the head's
/// bytes are borrowed by the parser meanwhile), then appended to the head with
/// [`bytes`](Self::bytes). On the stack for up to [`INLINE_FIELDS`] fields.
pub(crate) struct TableWriter {
    inline: [u8; INLINE_FIELDS * RECORD],
    /// Bytes of `inline` written.
    len: usize,
    /// The whole table, once it outgrew `inline`.
    spill: Vec<u8>,
}

impl TableWriter {
    /// An empty table.
    #[inline]
    pub(crate) fn new() -> Self {
        Self {
            inline: [0; INLINE_FIELDS * RECORD],
            len: 0,
            spill: Vec::new(),
        }
    }

    /// Appends a field's record.
    #[inline]
    pub(crate) fn push(&mut self, span: FieldSpan) {
        match self.inline.get_mut(self.len..self.len + RECORD) {
            Some(slot) => {
                slot.copy_from_slice(&span.to_record());
                self.len += RECORD;
            }
            None => self.push_spilled(span),
        }
    }

    #[cold]
    fn push_spilled(&mut self, span: FieldSpan) {
        if self.spill.is_empty() {
            self.spill.extend_from_slice(&self.inline);
        }
        self.spill.extend_from_slice(&span.to_record());
    }

    /// The table written so far.
    #[inline]
    pub(crate) fn bytes(&self) -> &[u8] {
        if self.spill.is_empty() {
            &self.inline[..self.len]
        } else {
            &self.spill
        }
    }
}

/// What sending a list as part of a response head needs to know about its fields, kept up
/// to date as fields are appended and removed, so that a head built once and sent many
/// times is checked once, when it is built, rather than on every send.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Summary {
    /// Some field is not `token ":" field-text` (see [`is_field_line`]).
    pub(crate) malformed: bool,
    /// Some field is named `Connection`.
    pub(crate) connection: bool,
    /// Some field is named `Content-Length`.
    pub(crate) content_length: bool,
    /// Some field is named `Transfer-Encoding`.
    pub(crate) transfer_encoding: bool,
    /// Bytes the fields take as `name: value CRLF` lines (saturating: a size hint).
    pub(crate) wire_len: u32,
}

impl Summary {
    /// No field.
    const EMPTY: Self = Self {
        malformed: false,
        connection: false,
        content_length: false,
        transfer_encoding: false,
        wire_len: 0,
    };

    /// What to assume of fields that were not looked at: anything.
    const UNKNOWN: Self = Self {
        malformed: true,
        connection: true,
        content_length: true,
        transfer_encoding: true,
        wire_len: 0,
    };

    fn note(&mut self, name: &[u8], value: &[u8]) {
        self.malformed |= !is_field_line(name, value);
        match name.len() {
            10 => self.connection |= CONNECTION.matches(name),
            14 => self.content_length |= CONTENT_LENGTH.matches(name),
            17 => self.transfer_encoding |= TRANSFER_ENCODING.matches(name),
            _ => {}
        }
        let line = (name.len() + value.len() + 4)
            .try_into()
            .unwrap_or(u32::MAX);
        self.wire_len = self.wire_len.saturating_add(line);
    }
}

/// Whether `name: value` can be sent as it is: the name is an RFC 9110 token and the value is
/// `field-text` (HTAB, SP, VCHAR, obs-text). CR and LF would split the response; the other
/// control bytes make clients (httparse, browsers) reject the whole head.
pub(crate) fn is_field_line(name: &[u8], value: &[u8]) -> bool {
    crate::head::is_token(name) && is_field_text(value)
}

/// RFC 9112 `reason-phrase` and RFC 9110 `field-value` bytes: HTAB, SP, VCHAR, obs-text.
/// The word-at-a-time scan settles the common case (no control byte at all); only text with
/// one (a tab) is looked at byte by byte.
pub(crate) fn is_field_text(bytes: &[u8]) -> bool {
    !crate::head::has_control(bytes, 0x20)
        || bytes
            .iter()
            .all(|&b| b == b'\t' || (b >= 0x20 && b != 0x7f))
}

/// One header field, as it was received or as it will be sent, borrowed from its [`Headers`].
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct HeaderField<'a> {
    name: &'a [u8],
    value: &'a [u8],
}

impl<'a> HeaderField<'a> {
    /// The field name, in its original case.
    pub fn name(&self) -> &'a [u8] {
        self.name
    }

    /// The field value, without leading or trailing whitespace.
    pub fn value(&self) -> &'a [u8] {
        self.value
    }
}

impl std::fmt::Debug for HeaderField<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: {}",
            String::from_utf8_lossy(self.name),
            String::from_utf8_lossy(self.value)
        )
    }
}

/// Header fields in wire order, names in their original case.
///
/// ```
/// use protocol::Headers;
///
/// let mut headers = Headers::new();
/// headers.append("Content-type", "text/plain");
/// headers.append("X-Tag", "a");
/// headers.append("x-tag", "b");
/// assert_eq!(headers.get("content-TYPE"), Some(&b"text/plain"[..]));
/// assert_eq!(headers.get_all("X-TAG").count(), 2);
/// assert_eq!(headers.iter().next().unwrap().name(), b"Content-type");
/// ```
#[derive(Clone)]
pub struct Headers {
    /// A received head's bytes, then the table of its received fields (see the
    /// [module documentation](self)); empty for a list that was only appended to.
    source: Bytes,
    /// Where the table begins in `source`: the length of the head. The received fields come
    /// before every appended field, in wire order.
    table: u32,
    /// Fields added with [`Headers::append`], in order.
    appended: Vec<(Bytes, Bytes)>,
    /// The summary of `appended`.
    summary: Summary,
}

impl Headers {
    /// An empty list; does not allocate.
    pub const fn new() -> Self {
        Self {
            source: Bytes::new(),
            table: 0,
            appended: Vec::new(),
            summary: Summary::EMPTY,
        }
    }

    /// An empty list with room for `n` appended fields. The room may be a list given back
    /// when an earlier [`Headers`] was dropped on this thread: a server planning a response
    /// per request then allocates no list per response.
    pub fn with_capacity(n: usize) -> Self {
        let mut appended = crate::spare::take_fields().unwrap_or_default();
        appended.reserve(n);
        Self {
            source: Bytes::new(),
            table: 0,
            appended,
            summary: Summary::EMPTY,
        }
    }

    /// Gives the list its received fields: `source` is a head (its first `head` bytes)
    /// followed by the field table of its received fields, which come before any field
    /// already appended.
    pub(crate) fn set_received(&mut self, source: Bytes, head: usize) {
        debug_assert!((source.len() - head).is_multiple_of(RECORD));
        self.source = source;
        // Heads are held below 4 GiB (`span::MAX_HEAD_BYTES`).
        self.table = u32::try_from(head).expect("a head below 4 GiB");
        debug_assert!(
            self.received()
                .all(|f| { f.name.end() <= head && f.value.end() <= head })
        );
    }

    /// A received list: `head` followed by the records of `spans` (one allocation and a
    /// copy, for heads that were not cut from a receive buffer with their table).
    pub(crate) fn copied(head: &[u8], spans: impl IntoIterator<Item = FieldSpan>) -> Self {
        let mut source = BytesMut::with_capacity(head.len() + 8 * RECORD);
        source.extend_from_slice(head);
        for span in spans {
            source.extend_from_slice(&span.to_record());
        }
        let mut headers = Self::new();
        headers.set_received(source.freeze(), head.len());
        headers
    }

    /// The bytes of the head the received fields point into.
    pub(crate) fn head(&self) -> &[u8] {
        &self.source[..self.table as usize]
    }

    /// The head's bytes and its field table, as one shared buffer.
    pub(crate) fn source(&self) -> &Bytes {
        &self.source
    }

    /// The received fields' spans.
    fn received(&self) -> impl Iterator<Item = FieldSpan> + '_ {
        self.source[self.table as usize..]
            .chunks_exact(RECORD)
            .map(FieldSpan::from_record)
    }

    /// Appends a field after every existing one (duplicates are kept, as on the wire).
    pub fn append(&mut self, name: impl Into<Bytes>, value: impl Into<Bytes>) {
        let (name, value) = (name.into(), value.into());
        self.summary.note(&name, &value);
        self.appended.push((name, value));
    }

    /// What a response head needs to know about the fields (see [`Summary`]): kept for the
    /// appended ones; the received ones (a request's fields copied into a response) could be
    /// anything.
    pub(crate) fn summary(&self) -> Summary {
        if self.source.len() == self.table as usize {
            self.summary
        } else {
            Summary::UNKNOWN
        }
    }

    /// The value of the first field called `name` (ASCII case-insensitive).
    pub fn get(&self, name: impl AsRef<[u8]>) -> Option<&[u8]> {
        let name = name.as_ref();
        self.iter()
            .find(|f| f.name.eq_ignore_ascii_case(name))
            .map(|f| f.value)
    }

    /// The values of every field called `name`, in wire order.
    pub fn get_all<'a>(
        &'a self,
        name: &'a (impl AsRef<[u8]> + ?Sized),
    ) -> impl Iterator<Item = &'a [u8]> + 'a {
        let name = name.as_ref();
        self.iter()
            .filter(move |f| f.name.eq_ignore_ascii_case(name))
            .map(|f| f.value)
    }

    /// Whether a field called `name` is present.
    pub fn contains(&self, name: impl AsRef<[u8]>) -> bool {
        self.get(name).is_some()
    }

    /// Removes every field called `name`; returns how many were removed.
    pub fn remove(&mut self, name: impl AsRef<[u8]>) -> usize {
        let name = name.as_ref();
        let before = self.len();
        let head = self.head();
        let named = |f: &FieldSpan| f.name.of(head).eq_ignore_ascii_case(name);
        if self.received().any(|f| named(&f)) {
            // Rare (received heads are read, not edited): the table is shared with the
            // head, so the head and the table of the fields kept are copied.
            // Taken, not moved out: `Headers` has a `Drop` (it gives its list back).
            let mut kept = Self::copied(head, self.received().filter(|f| !named(f)));
            self.source = std::mem::take(&mut kept.source);
        }
        let appended = self.appended.len();
        self.appended.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        if self.appended.len() < appended {
            self.summary = Summary::EMPTY;
            for (name, value) in &self.appended {
                self.summary.note(name, value);
            }
        }
        before - self.len()
    }

    /// Whether any field called `name` lists `token` (comma-separated, ASCII case-insensitive),
    /// as `Connection: keep-alive, Upgrade` lists `upgrade`.
    pub fn has_token(&self, name: impl AsRef<[u8]>, token: &str) -> bool {
        self.get_all(name.as_ref())
            .flat_map(|v| v.split(|&b| b == b','))
            .any(|t| t.trim_ascii().eq_ignore_ascii_case(token.as_bytes()))
    }

    /// Fields in wire order.
    pub fn iter(&self) -> HeadersIter<'_> {
        HeadersIter {
            source: self.head(),
            received: self.source[self.table as usize..].chunks_exact(RECORD),
            appended: self.appended.iter(),
        }
    }

    /// Number of fields (duplicates counted).
    pub fn len(&self) -> usize {
        (self.source.len() - self.table as usize) / RECORD + self.appended.len()
    }

    /// Whether there are no fields.
    pub fn is_empty(&self) -> bool {
        self.source.len() == self.table as usize && self.appended.is_empty()
    }

    /// Removes every field, keeping the allocations.
    pub fn clear(&mut self) {
        self.appended.clear();
        self.summary = Summary::EMPTY;
        self.source = Bytes::new();
        self.table = 0;
    }
}

impl Drop for Headers {
    fn drop(&mut self) {
        // A small appended list goes back to this thread's stash for the next response.
        if self.appended.capacity() > 0 {
            crate::spare::give_fields(std::mem::take(&mut self.appended));
        }
    }
}

/// The fields of a [`Headers`], in wire order.
#[derive(Clone, Debug)]
pub struct HeadersIter<'a> {
    /// The head the received fields point into.
    source: &'a [u8],
    /// The records of the received fields' table.
    received: std::slice::ChunksExact<'a, u8>,
    appended: std::slice::Iter<'a, (Bytes, Bytes)>,
}

impl<'a> HeadersIter<'a> {
    #[inline]
    fn received(&self, record: &[u8]) -> HeaderField<'a> {
        let field = FieldSpan::from_record(record);
        HeaderField {
            name: field.name.of(self.source),
            value: field.value.of(self.source),
        }
    }

    fn appended((name, value): &'a (Bytes, Bytes)) -> HeaderField<'a> {
        HeaderField { name, value }
    }
}

impl<'a> Iterator for HeadersIter<'a> {
    type Item = HeaderField<'a>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        match self.received.next() {
            Some(record) => Some(self.received(record)),
            None => self.appended.next().map(Self::appended),
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.received.len() + self.appended.len();
        (n, Some(n))
    }
}

impl DoubleEndedIterator for HeadersIter<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        if let Some(field) = self.appended.next_back() {
            return Some(Self::appended(field));
        }
        let record = self.received.next_back()?;
        Some(self.received(record))
    }
}

impl ExactSizeIterator for HeadersIter<'_> {}

impl Default for Headers {
    fn default() -> Self {
        Self::new()
    }
}

/// Two lists are equal when they hold the same fields in the same order, however stored.
impl PartialEq for Headers {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl Eq for Headers {}

impl std::fmt::Debug for Headers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl<'a> IntoIterator for &'a Headers {
    type Item = HeaderField<'a>;
    type IntoIter = HeadersIter<'a>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl<N: Into<Bytes>, V: Into<Bytes>> FromIterator<(N, V)> for Headers {
    fn from_iter<I: IntoIterator<Item = (N, V)>>(iter: I) -> Self {
        let mut headers = Self::new();
        for (n, v) in iter {
            headers.append(n, v);
        }
        headers
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(range: std::ops::Range<usize>) -> Span {
        Span::new(range)
    }

    #[test]
    fn the_summary_follows_appends_removals_and_received_fields() {
        let mut headers = Headers::new();
        assert_eq!(headers.summary(), Summary::EMPTY);
        headers.append("Content-Length", "5");
        headers.append("X", "a\tb");
        let summary = headers.summary();
        assert!(summary.content_length && !summary.malformed && !summary.connection);
        assert_eq!(
            summary.wire_len as usize,
            b"Content-Length: 5\r\nX: a\tb\r\n".len()
        );
        headers.append("Bad Name", "v");
        headers.append("connection", "close");
        headers.append("transfer-encoding", "x\ry");
        let summary = headers.summary();
        assert!(summary.malformed && summary.connection && summary.transfer_encoding);
        headers.remove("bad name");
        assert!(headers.summary().malformed, "the CR is still there");
        headers.remove("TRANSFER-ENCODING");
        let summary = headers.summary();
        assert!(!summary.malformed && !summary.transfer_encoding && summary.connection);
        headers.clear();
        assert_eq!(headers.summary(), Summary::EMPTY);
        // Received fields were never looked at: anything goes.
        let received = Headers::copied(
            b"A: b",
            [FieldSpan {
                name: span(0..1),
                value: span(3..4),
            }],
        );
        assert_eq!(received.summary(), Summary::UNKNOWN);
    }

    #[test]
    fn received_and_appended_fields_read_and_compare_alike() {
        let block = b"Host: a\r\nX-Tag: 1\r\n\r\n";
        let fields = [
            FieldSpan {
                name: span(0..4),
                value: span(6..7),
            },
            FieldSpan {
                name: span(9..14),
                value: span(16..17),
            },
        ];
        let mut received = Headers::copied(block, fields);
        let built: Headers = [("Host", "a"), ("X-Tag", "1")].into_iter().collect();
        assert_eq!(received, built);
        assert_eq!(received.get("x-tag"), Some(&b"1"[..]));
        let names: Vec<&[u8]> = received.iter().rev().map(|f| f.name()).collect();
        assert_eq!(names, [&b"X-Tag"[..], b"Host"]);
        assert_eq!(format!("{received:?}"), "[Host: a, X-Tag: 1]");

        // Appended fields follow the received ones, forwards and backwards.
        received.append("x-tag", "2");
        let values: Vec<&[u8]> = received.get_all("X-TAG").collect();
        assert_eq!(values, [&b"1"[..], b"2"]);
        let last = received.iter().next_back().unwrap();
        assert_eq!((last.name(), last.value()), (&b"x-tag"[..], &b"2"[..]));
        assert_eq!(received.iter().len(), 3);
        assert_ne!(received, built);

        // Removal reaches both kinds.
        assert_eq!(received.remove("X-tag"), 2);
        assert_eq!(received.len(), 1);
        assert_eq!(received.get("host"), Some(&b"a"[..]));
        received.clear();
        assert!(received.is_empty());
    }
}
