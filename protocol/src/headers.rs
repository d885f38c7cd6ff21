//! An ordered, case-preserving header list with case-insensitive lookup.
//!
//! HTTP/1.x servers that want to reproduce another server byte for byte (or show a learner
//! exactly what arrived) cannot use a map: order and the original spelling of names are part of
//! what is on the wire. Header counts are small (tens), so a `Vec` with linear lookup is also the
//! fastest choice.
//!
//! Fields of a received head are kept as offsets into one shared copy of the header block
//! rather than as a `Bytes` slice each: a slice costs an atomic reference count update when it
//! is made and another when it is dropped, and a typical browser head has a dozen fields,
//! parsed on every request. Fields the application appends own their bytes.

use std::ops::Range;

use bytes::Bytes;

/// Where a name or value is stored.
#[derive(Clone)]
enum Text {
    /// A range of the list's shared source bytes (a received header block).
    Span(Range<usize>),
    /// Bytes of its own.
    Owned(Bytes),
}

impl Text {
    fn resolve<'a>(&'a self, source: &'a [u8]) -> &'a [u8] {
        match self {
            Self::Span(range) => &source[range.clone()],
            Self::Owned(bytes) => bytes,
        }
    }
}

#[derive(Clone)]
struct Field {
    name: Text,
    value: Text,
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
    /// The bytes `Text::Span`s point into.
    source: Bytes,
    fields: Vec<Field>,
}

impl Headers {
    /// An empty list; does not allocate.
    pub const fn new() -> Self {
        Self {
            source: Bytes::new(),
            fields: Vec::new(),
        }
    }

    /// An empty list with room for `n` fields.
    pub fn with_capacity(n: usize) -> Self {
        Self {
            source: Bytes::new(),
            fields: Vec::with_capacity(n),
        }
    }

    /// An empty list whose fields will be ranges of `source` (a received header block).
    pub(crate) fn over(source: Bytes, capacity: usize) -> Self {
        Self {
            source,
            fields: Vec::with_capacity(capacity),
        }
    }

    /// Appends a field whose name and value are ranges of the source bytes.
    pub(crate) fn push_span(&mut self, name: Range<usize>, value: Range<usize>) {
        debug_assert!(name.end <= self.source.len() && value.end <= self.source.len());
        self.fields.push(Field {
            name: Text::Span(name),
            value: Text::Span(value),
        });
    }

    /// Appends a field of ranges into source bytes given later with [`Self::set_source`].
    pub(crate) fn push_range(&mut self, name: Range<usize>, value: Range<usize>) {
        self.fields.push(Field {
            name: Text::Span(name),
            value: Text::Span(value),
        });
    }

    /// Sets the bytes the ranges pushed with [`Self::push_range`] point into.
    pub(crate) fn set_source(&mut self, source: Bytes) {
        debug_assert!(self.fields.iter().all(|f| match (&f.name, &f.value) {
            (Text::Span(n), Text::Span(v)) => n.end <= source.len() && v.end <= source.len(),
            _ => true,
        }));
        self.source = source;
    }

    /// Appends a field whose name is a range of the source bytes and whose value is owned
    /// (a value rebuilt from several lines).
    pub(crate) fn push_span_owned(&mut self, name: Range<usize>, value: Bytes) {
        debug_assert!(name.end <= self.source.len());
        self.fields.push(Field {
            name: Text::Span(name),
            value: Text::Owned(value),
        });
    }

    /// Appends a field after every existing one (duplicates are kept, as on the wire).
    pub fn append(&mut self, name: impl Into<Bytes>, value: impl Into<Bytes>) {
        self.fields.push(Field {
            name: Text::Owned(name.into()),
            value: Text::Owned(value.into()),
        });
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
        let before = self.fields.len();
        let source = &self.source;
        self.fields
            .retain(|f| !f.name.resolve(source).eq_ignore_ascii_case(name));
        before - self.fields.len()
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
            fields: self.fields.iter(),
        }
    }

    /// Number of fields (duplicates counted).
    pub fn len(&self) -> usize {
        self.fields.len()
    }

    /// Whether there are no fields.
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// Removes every field, keeping the allocation.
    pub fn clear(&mut self) {
        self.fields.clear();
        self.source = Bytes::new();
    }
}

/// The fields of a [`Headers`], in wire order.
#[derive(Clone, Debug)]
pub struct HeadersIter<'a> {
    source: &'a [u8],
    fields: std::slice::Iter<'a, Field>,
}

impl<'a> HeadersIter<'a> {
    fn view(&self, field: &'a Field) -> HeaderField<'a> {
        HeaderField {
            name: field.name.resolve(self.source),
            value: field.value.resolve(self.source),
        }
    }
}

impl<'a> Iterator for HeadersIter<'a> {
    type Item = HeaderField<'a>;

    fn next(&mut self) -> Option<Self::Item> {
        let field = self.fields.next()?;
        Some(self.view(field))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.fields.size_hint()
    }
}

impl DoubleEndedIterator for HeadersIter<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        let field = self.fields.next_back()?;
        Some(self.view(field))
    }
}

impl ExactSizeIterator for HeadersIter<'_> {}

impl std::fmt::Debug for Field {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (&self.name, &self.value) {
            (Text::Span(n), Text::Span(v)) => write!(f, "{n:?}: {v:?}"),
            (Text::Span(n), Text::Owned(v)) => write!(f, "{n:?}: {v:?}"),
            (Text::Owned(n), Text::Span(v)) => write!(f, "{n:?}: {v:?}"),
            (Text::Owned(n), Text::Owned(v)) => write!(f, "{n:?}: {v:?}"),
        }
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

    #[test]
    fn spans_and_owned_fields_read_and_compare_alike() {
        let block = Bytes::from_static(b"Host: a\r\nX-Tag: 1\r\n\r\n");
        let mut received = Headers::over(block, 2);
        received.push_span(0..4, 6..7);
        received.push_span(9..14, 16..17);
        let built: Headers = [("Host", "a"), ("X-Tag", "1")].into_iter().collect();
        assert_eq!(received, built);
        assert_eq!(received.get("x-tag"), Some(&b"1"[..]));
        let names: Vec<&[u8]> = received.iter().rev().map(|f| f.name()).collect();
        assert_eq!(names, [&b"X-Tag"[..], b"Host"]);
        assert_eq!(format!("{received:?}"), "[Host: a, X-Tag: 1]");
        let mut other = built.clone();
        other.append("X-Tag", "2");
        assert_ne!(received, other);
        assert_eq!(other.remove("x-tag"), 2);
        assert_eq!(other.len(), 1);
    }
}
