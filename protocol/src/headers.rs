//! An ordered, case-preserving header list with case-insensitive lookup.
//!
//! HTTP/1.x servers that want to reproduce another server byte for byte (or show a learner
//! exactly what arrived) cannot use a map: order and the original spelling of names are part of
//! what is on the wire. Header counts are small (tens), so a `Vec` with linear lookup is also the
//! fastest choice.

use bytes::Bytes;

/// One header field, as it was received or as it will be sent.
#[derive(Clone, PartialEq, Eq)]
pub struct HeaderField {
    name: Bytes,
    value: Bytes,
}

impl HeaderField {
    /// The field name, in its original case.
    pub fn name(&self) -> &[u8] {
        &self.name
    }

    /// The field value, without leading or trailing whitespace.
    pub fn value(&self) -> &[u8] {
        &self.value
    }

    /// The field name as a shared byte buffer.
    pub fn name_bytes(&self) -> &Bytes {
        &self.name
    }

    /// The field value as a shared byte buffer.
    pub fn value_bytes(&self) -> &Bytes {
        &self.value
    }
}

impl std::fmt::Debug for HeaderField {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: {}",
            String::from_utf8_lossy(&self.name),
            String::from_utf8_lossy(&self.value)
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
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Headers {
    fields: Vec<HeaderField>,
}

impl Headers {
    /// An empty list; does not allocate.
    pub const fn new() -> Self {
        Self { fields: Vec::new() }
    }

    /// An empty list with room for `n` fields.
    pub fn with_capacity(n: usize) -> Self {
        Self {
            fields: Vec::with_capacity(n),
        }
    }

    /// Appends a field after every existing one (duplicates are kept, as on the wire).
    pub fn append(&mut self, name: impl Into<Bytes>, value: impl Into<Bytes>) {
        self.fields.push(HeaderField {
            name: name.into(),
            value: value.into(),
        });
    }

    /// The value of the first field called `name` (ASCII case-insensitive).
    pub fn get(&self, name: impl AsRef<[u8]>) -> Option<&[u8]> {
        let name = name.as_ref();
        self.fields
            .iter()
            .find(|f| f.name.eq_ignore_ascii_case(name))
            .map(|f| &f.value[..])
    }

    /// The values of every field called `name`, in wire order.
    pub fn get_all<'a>(
        &'a self,
        name: &'a (impl AsRef<[u8]> + ?Sized),
    ) -> impl Iterator<Item = &'a [u8]> + 'a {
        let name = name.as_ref();
        self.fields
            .iter()
            .filter(move |f| f.name.eq_ignore_ascii_case(name))
            .map(|f| &f.value[..])
    }

    /// Whether a field called `name` is present.
    pub fn contains(&self, name: impl AsRef<[u8]>) -> bool {
        self.get(name).is_some()
    }

    /// Removes every field called `name`; returns how many were removed.
    pub fn remove(&mut self, name: impl AsRef<[u8]>) -> usize {
        let name = name.as_ref();
        let before = self.fields.len();
        self.fields.retain(|f| !f.name.eq_ignore_ascii_case(name));
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
    pub fn iter(&self) -> std::slice::Iter<'_, HeaderField> {
        self.fields.iter()
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
    }
}

impl std::fmt::Debug for Headers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(&self.fields).finish()
    }
}

impl<'a> IntoIterator for &'a Headers {
    type Item = &'a HeaderField;
    type IntoIter = std::slice::Iter<'a, HeaderField>;

    fn into_iter(self) -> Self::IntoIter {
        self.fields.iter()
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
