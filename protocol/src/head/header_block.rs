//! The header block, in two modes.
//!
//! Strict mode hands the block to `httparse`, which implements RFC 9112's field syntax (no
//! whitespace before the colon, no obs-fold, no bare CR, no control bytes in values).
//! Compat mode reproduces CPython's `email` feed parser: the block silently ends at the first
//! line that is neither `name:` nor a continuation, and continuations are glued onto the
//! previous value with their line break kept.

use std::ops::Range;

use bytes::{Bytes, BytesMut};

use crate::headers::{FieldSpan, TableWriter};
use crate::span::{Span, range_of};
use crate::{Headers, ParseMode, RequestError};

/// Parses the complete header block at `head[from..]` (every line, through the terminating
/// blank line). The fields are spans of `head`, written into `table`: the caller appends the
/// table to `head` and hands both to the list with [`Headers::set_received`] before reading
/// it. The list returned holds only fields that could not be spans of `head` (folded
/// compat-mode values, copied); it is usually empty.
///
/// `capacity` bounds the number of fields (strict mode): more is
/// [`RequestError::TooManyHeaders`].
pub(crate) fn parse(
    head: &[u8],
    from: usize,
    mode: ParseMode,
    capacity: usize,
    table: &mut TableWriter,
) -> Result<Headers, RequestError> {
    match mode {
        ParseMode::Strict => parse_strict(head, from, capacity, table).map(|()| Headers::new()),
        ParseMode::Compat => Ok(parse_compat(head, from, table)),
    }
}

/// How many fields fit on the stack before `parse_strict` falls back to the heap. Typical
/// heads have 5 to 20 fields; the array is initialised on every parse, so it stays small.
const STACK_FIELDS: usize = 32;

/// `capacity` is how many fields the block can hold at most (the reader counted the lines of
/// a head; for trailers it is the limit), so httparse's field array is no larger than needed.
/// A block with more fields than fit on the stack is parsed again with room for `capacity`
/// on the heap: the verdict is the one a single parse with that room gives.
fn parse_strict(
    head: &[u8],
    from: usize,
    capacity: usize,
    table: &mut TableWriter,
) -> Result<(), RequestError> {
    let mut on_stack = [httparse::EMPTY_HEADER; STACK_FIELDS];
    let on_stack = &mut on_stack[..capacity.min(STACK_FIELDS)];
    match httparse::parse_headers(&head[from..], on_stack) {
        Err(httparse::Error::TooManyHeaders) if capacity > STACK_FIELDS => {
            let mut on_heap = vec![httparse::EMPTY_HEADER; capacity];
            let parsed = httparse::parse_headers(&head[from..], &mut on_heap);
            take_fields(head, parsed, table)
        }
        parsed => take_fields(head, parsed, table),
    }
}

/// Writes the fields of a complete block into `table`, or maps httparse's error.
fn take_fields(
    head: &[u8],
    parsed: httparse::Result<(usize, &[httparse::Header<'_>])>,
    table: &mut TableWriter,
) -> Result<(), RequestError> {
    match parsed {
        Ok(httparse::Status::Complete((_, fields))) => {
            for field in fields {
                table.push(field_span(head, field));
            }
            Ok(())
        }
        Err(httparse::Error::TooManyHeaders) => Err(RequestError::TooManyHeaders),
        Ok(httparse::Status::Partial) | Err(_) => Err(RequestError::InvalidHeader),
    }
}

/// Where the name and value httparse found sit in `head`.
// Inlined so the spans stay in registers: built in a callee and read back from the stack as
// one 16-byte load, they stalled store forwarding on every field (measured: a tenth of the
// whole cycle in `protocol/benches/cycle.rs`).
#[inline]
pub(crate) fn field_span(head: &[u8], field: &httparse::Header<'_>) -> FieldSpan {
    FieldSpan {
        name: Span::new(range_of(head, field.name.as_bytes())),
        value: Span::new(range_of(head, field.value)),
    }
}

/// The first character class of CPython's `email.feedparser.headerRE`:
/// `^(From |[\041-\071\073-\176]*:|[\t ])`.
fn is_name_byte(b: u8) -> bool {
    matches!(b, 0x21..=0x39 | 0x3b..=0x7e)
}

/// A compat-mode field value: as received, or rebuilt once a continuation line is glued on.
enum Value {
    Received(Range<usize>),
    Rebuilt(BytesMut),
}

fn parse_compat(head: &[u8], from: usize, table: &mut TableWriter) -> Headers {
    let mut fields: Vec<(Range<usize>, Value)> = Vec::new();
    let mut previous_ending: &[u8] = b"";
    for (line, ending) in compat_lines(&head[from..]) {
        let line_break = std::mem::replace(&mut previous_ending, ending);
        if line.is_empty() {
            break;
        }
        if line[0] == b' ' || line[0] == b'\t' {
            // A continuation: CPython keeps the line break and the indentation in the value.
            let Some((_, value)) = fields.last_mut() else {
                break;
            };
            if let Value::Received(range) = value {
                *value = Value::Rebuilt(BytesMut::from(&head[range.clone()]));
            }
            if let Value::Rebuilt(rebuilt) = value {
                rebuilt.extend_from_slice(line_break);
                rebuilt.extend_from_slice(line);
            }
            continue;
        }
        if line.starts_with(b"From ") {
            continue;
        }
        let name_len = line.iter().take_while(|&&b| is_name_byte(b)).count();
        if line.get(name_len) != Some(&b':') {
            break;
        }
        let line_span = range_of(head, line);
        let skip = line[name_len + 1..]
            .iter()
            .take_while(|&&b| b == b' ' || b == b'\t')
            .count();
        fields.push((
            line_span.start..line_span.start + name_len,
            Value::Received(line_span.start + name_len + 1 + skip..line_span.end),
        ));
    }
    if fields
        .iter()
        .all(|(_, value)| matches!(value, Value::Received(_)))
    {
        for (name, value) in &fields {
            if let Value::Received(value) = value {
                table.push(FieldSpan {
                    name: Span::new(name.clone()),
                    value: Span::new(value.clone()),
                });
            }
        }
        return Headers::new();
    }
    // Folded values are rare (compat mode only): the whole list is then kept as copies,
    // which keeps the received fields ahead of any the application appends.
    let mut headers = Headers::new();
    for (name, value) in fields {
        let value = match value {
            Value::Received(range) => Bytes::copy_from_slice(&head[range]),
            Value::Rebuilt(rebuilt) => rebuilt.freeze(),
        };
        headers.append(Bytes::copy_from_slice(&head[name]), value);
    }
    headers
}

/// Splits on `\r\n`, `\n` or a lone `\r`, as the email parser does. Yields `(line, ending)`.
fn compat_lines(block: &[u8]) -> impl Iterator<Item = (&[u8], &[u8])> {
    let mut rest = block;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let end = rest
            .iter()
            .position(|&b| b == b'\r' || b == b'\n')
            .unwrap_or(rest.len());
        let line = &rest[..end];
        let ending_len = match &rest[end..] {
            [b'\r', b'\n', ..] => 2,
            [] => 0,
            _ => 1,
        };
        let ending = &rest[end..end + ending_len];
        rest = &rest[end + ending_len..];
        Some((line, ending))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Parses a whole block and hands it its bytes, as the head reader does.
    fn parse(
        block: &'static [u8],
        mode: ParseMode,
        capacity: usize,
    ) -> Result<Headers, RequestError> {
        let mut table = TableWriter::new();
        let copied = super::parse(block, 0, mode, capacity, &mut table)?;
        if !copied.is_empty() {
            return Ok(copied);
        }
        let mut source = BytesMut::from(block);
        source.extend_from_slice(table.bytes());
        let mut headers = Headers::new();
        headers.set_received(source.freeze(), block.len());
        Ok(headers)
    }

    fn names(h: &Headers) -> Vec<String> {
        h.iter()
            .map(|f| String::from_utf8_lossy(f.name()).into_owned())
            .collect()
    }

    #[test]
    fn strict_keeps_case_and_order() {
        let block = b"Host: x\r\nX-A: 1\r\nx-a: 2\r\n\r\n";
        let h = parse(block, ParseMode::Strict, 100).unwrap();
        assert_eq!(names(&h), ["Host", "X-A", "x-a"]);
        assert_eq!(h.get_all("X-a").collect::<Vec<_>>(), [&b"1"[..], b"2"]);
    }

    #[test]
    fn strict_rejects_what_rfc_9112_forbids() {
        for bad in [
            &b"Host : x\r\n\r\n"[..],
            b"Host: x\r\n folded\r\n\r\n",
            b"Host: x\rY: z\r\n\r\n",
            b"no colon\r\n\r\n",
            b"Host: a\x00b\r\n\r\n",
        ] {
            let r = parse(bad, ParseMode::Strict, 100);
            assert_eq!(
                r,
                Err(RequestError::InvalidHeader),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn compat_block_ends_silently_at_a_bad_line() {
        let block = b"A: 1\r\nConnection : keep-alive\r\nB: 2\r\n\r\n";
        let h = parse(block, ParseMode::Compat, 100).unwrap();
        assert_eq!(names(&h), ["A"]);
    }

    #[test]
    fn compat_folds_keep_line_break_and_trailing_space() {
        let block = b"Connection:\r\n keep-alive\r\nX:  v  \r\n\r\n";
        let h = parse(block, ParseMode::Compat, 100).unwrap();
        assert_eq!(h.get("connection"), Some(&b"\r\n keep-alive"[..]));
        assert_eq!(h.get("x"), Some(&b"v  "[..]));
    }

    #[test]
    fn compat_bare_cr_starts_a_new_line() {
        let block = b"A: 1\rB: 2\r\n\r\n";
        let h = parse(block, ParseMode::Compat, 100).unwrap();
        assert_eq!(names(&h), ["A", "B"]);
    }
}
