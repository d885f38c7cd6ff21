//! The header block, in two modes.
//!
//! Strict mode hands the block to `httparse`, which implements RFC 9112's field syntax (no
//! whitespace before the colon, no obs-fold, no bare CR, no control bytes in values).
//! Compat mode reproduces CPython's `email` feed parser: the block silently ends at the first
//! line that is neither `name:` nor a continuation, and continuations are glued onto the
//! previous value with their line break kept.

use std::ops::Range;

use bytes::{Bytes, BytesMut};

use crate::{Headers, ParseMode, RequestError};

/// Parses a complete header block (every line, through the terminating blank line).
///
/// `capacity` bounds the number of fields (strict mode): more is
/// [`RequestError::TooManyHeaders`].
pub(crate) fn parse(
    block: &Bytes,
    mode: ParseMode,
    capacity: usize,
) -> Result<Headers, RequestError> {
    match mode {
        ParseMode::Strict => parse_strict(block, capacity),
        ParseMode::Compat => Ok(parse_compat(block)),
    }
}

/// How many fields fit on the stack before `parse_strict` falls back to the heap. Typical
/// heads have 5 to 20 fields; the array is initialised on every parse, so it stays small.
const STACK_FIELDS: usize = 32;

/// `capacity` is how many fields the block can hold at most (the reader counted its lines),
/// so httparse's field array is no larger than the head needs.
fn parse_strict(block: &Bytes, capacity: usize) -> Result<Headers, RequestError> {
    let mut on_stack = [httparse::EMPTY_HEADER; STACK_FIELDS];
    let mut on_heap;
    let storage: &mut [httparse::Header<'_>] = if capacity <= STACK_FIELDS {
        &mut on_stack[..capacity]
    } else {
        on_heap = vec![httparse::EMPTY_HEADER; capacity];
        &mut on_heap
    };
    match httparse::parse_headers(block, storage) {
        Ok(httparse::Status::Complete((_, fields))) => {
            let mut headers = Headers::over(block.clone(), fields.len());
            for field in fields {
                headers.push_span(
                    span_of(block, field.name.as_bytes()),
                    span_of(block, field.value),
                );
            }
            Ok(headers)
        }
        Err(httparse::Error::TooManyHeaders) => Err(RequestError::TooManyHeaders),
        Ok(httparse::Status::Partial) | Err(_) => Err(RequestError::InvalidHeader),
    }
}

/// Where `part`, a sub-slice of `block` that httparse handed back, sits in `block`.
pub(crate) fn span_of(block: &[u8], part: &[u8]) -> Range<usize> {
    let start = part.as_ptr().addr() - block.as_ptr().addr();
    debug_assert!(start + part.len() <= block.len());
    start..start + part.len()
}

/// The first character class of CPython's `email.feedparser.headerRE`:
/// `^(From |[\041-\071\073-\176]*:|[\t ])`.
fn is_name_byte(b: u8) -> bool {
    matches!(b, 0x21..=0x39 | 0x3b..=0x7e)
}

fn parse_compat(block: &Bytes) -> Headers {
    let mut headers = Headers::over(block.clone(), 0);
    // The field being built: its name, its value as received, and the value rebuilt (owned)
    // once a continuation line is glued on.
    let mut current: Option<(Range<usize>, Range<usize>, Option<BytesMut>)> = None;
    let flush = |headers: &mut Headers, current: &mut Option<_>| match current.take() {
        Some((name, _, Some(rebuilt))) => headers.push_span_owned(name, BytesMut::freeze(rebuilt)),
        Some((name, value, None)) => headers.push_span(name, value),
        None => {}
    };
    let mut previous_ending: &[u8] = b"";
    for (line, ending) in compat_lines(block) {
        let line_break = std::mem::replace(&mut previous_ending, ending);
        if line.is_empty() {
            break;
        }
        if line[0] == b' ' || line[0] == b'\t' {
            // A continuation: CPython keeps the line break and the indentation in the value.
            match current.as_mut() {
                Some((_, value, rebuilt)) => {
                    let rebuilt =
                        rebuilt.get_or_insert_with(|| BytesMut::from(&block[value.clone()]));
                    rebuilt.extend_from_slice(line_break);
                    rebuilt.extend_from_slice(line);
                }
                None => break,
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
        flush(&mut headers, &mut current);
        let line_span = span_of(block, line);
        let name = line_span.start..line_span.start + name_len;
        let value = &line[name_len + 1..];
        let skip = value
            .iter()
            .take_while(|&&b| b == b' ' || b == b'\t')
            .count();
        current = Some((
            name,
            line_span.start + name_len + 1 + skip..line_span.end,
            None,
        ));
    }
    flush(&mut headers, &mut current);
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

    fn names(h: &Headers) -> Vec<String> {
        h.iter()
            .map(|f| String::from_utf8_lossy(f.name()).into_owned())
            .collect()
    }

    #[test]
    fn strict_keeps_case_and_order() {
        let block = Bytes::from_static(b"Host: x\r\nX-A: 1\r\nx-a: 2\r\n\r\n");
        let h = parse(&block, ParseMode::Strict, 100).unwrap();
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
            let r = parse(&Bytes::from_static(bad), ParseMode::Strict, 100);
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
        let block = Bytes::from_static(b"A: 1\r\nConnection : keep-alive\r\nB: 2\r\n\r\n");
        let h = parse(&block, ParseMode::Compat, 100).unwrap();
        assert_eq!(names(&h), ["A"]);
    }

    #[test]
    fn compat_folds_keep_line_break_and_trailing_space() {
        let block = Bytes::from_static(b"Connection:\r\n keep-alive\r\nX:  v  \r\n\r\n");
        let h = parse(&block, ParseMode::Compat, 100).unwrap();
        assert_eq!(h.get("connection"), Some(&b"\r\n keep-alive"[..]));
        assert_eq!(h.get("x"), Some(&b"v  "[..]));
    }

    #[test]
    fn compat_bare_cr_starts_a_new_line() {
        let block = Bytes::from_static(b"A: 1\rB: 2\r\n\r\n");
        let h = parse(&block, ParseMode::Compat, 100).unwrap();
        assert_eq!(names(&h), ["A", "B"]);
    }
}
