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
//! request. The offsets are plain data, so dropping a received list is one deallocation.
//! Fields the application appends own their bytes and follow the received ones.

use bytes::Bytes;

use crate::span::Span;

/// A received field: where its name and value sit in the list's source bytes.
#[derive(Clone, Copy, Debug)]
pub(crate) struct FieldSpan {
    pub(crate) name: Span,
    pub(crate) value: Span,
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
#[derive(Clone, Default)]
pub struct Headers {
    /// The bytes the received fields point into (a received head).
    source: Bytes,
    /// Received fields, in wire order; they come before every appended field.
    received: Vec<FieldSpan>,
    /// Fields added with [`Headers::append`], in order.
    appended: Vec<(Bytes, Bytes)>,
}

impl Headers {
    /// An empty list; does not allocate.
    pub const fn new() -> Self {
        Self {
            source: Bytes::new(),
            received: Vec::new(),
            appended: Vec::new(),
        }
    }

    /// An empty list with room for `n` appended fields.
    pub fn with_capacity(n: usize) -> Self {
        Self {
            source: Bytes::new(),
            received: Vec::new(),
            appended: Vec::with_capacity(n),
        }
    }

    /// Received fields, as spans of source bytes given with [`Self::set_source`]; the list
    /// cannot be read before its source is set.
    pub(crate) fn from_spans(fields: Vec<FieldSpan>) -> Self {
        Self {
            source: Bytes::new(),
            received: fields,
            appended: Vec::new(),
        }
    }

    /// Sets the bytes the received fields point into: the head they were parsed from.
    pub(crate) fn set_source(&mut self, source: Bytes) {
        debug_assert!(
            self.received
                .iter()
                .all(|f| f.name.end() <= source.len() && f.value.end() <= source.len())
        );
        self.source = source;
    }

    /// The bytes received fields point into: the whole head as it arrived.
    pub(crate) fn source(&self) -> &Bytes {
        &self.source
    }

    /// Appends a field after every existing one (duplicates are kept, as on the wire).
    pub fn append(&mut self, name: impl Into<Bytes>, value: impl Into<Bytes>) {
        self.appended.push((name.into(), value.into()));
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
        let source = &self.source;
        self.received
            .retain(|f| !f.name.of(source).eq_ignore_ascii_case(name));
        self.appended.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
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
            source: &self.source,
            received: self.received.iter(),
            appended: self.appended.iter(),
        }
    }

    /// Number of fields (duplicates counted).
    pub fn len(&self) -> usize {
        self.received.len() + self.appended.len()
    }

    /// Whether there are no fields.
    pub fn is_empty(&self) -> bool {
        self.received.is_empty() && self.appended.is_empty()
    }

    /// Removes every field, keeping the allocations.
    pub fn clear(&mut self) {
        self.received.clear();
        self.appended.clear();
        self.source = Bytes::new();
    }
}

/// The fields of a [`Headers`], in wire order.
#[derive(Clone, Debug)]
pub struct HeadersIter<'a> {
    source: &'a [u8],
    received: std::slice::Iter<'a, FieldSpan>,
    appended: std::slice::Iter<'a, (Bytes, Bytes)>,
}

impl<'a> HeadersIter<'a> {
    fn received(&self, field: &FieldSpan) -> HeaderField<'a> {
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

    fn next(&mut self) -> Option<Self::Item> {
        match self.received.next() {
            Some(field) => Some(self.received(field)),
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
        let field = self.received.next_back()?;
        Some(self.received(field))
    }
}

impl ExactSizeIterator for HeadersIter<'_> {}

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
    fn received_and_appended_fields_read_and_compare_alike() {
        let block = Bytes::from_static(b"Host: a\r\nX-Tag: 1\r\n\r\n");
        let fields = vec![
            FieldSpan {
                name: span(0..4),
                value: span(6..7),
            },
            FieldSpan {
                name: span(9..14),
                value: span(16..17),
            },
        ];
        let mut received = Headers::from_spans(fields);
        received.set_source(block);
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
