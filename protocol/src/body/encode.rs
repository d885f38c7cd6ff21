//! Response framing: the status line and headers, then the body as the chosen
//! [`ResponseBody`](crate::ResponseBody) delimits it.

use bytes::{BufMut, Bytes};

use crate::headers::{is_field_line, is_field_text};
use crate::transmit::OutQueue;
use crate::{Headers, ResponseHead, UsageError, status};

/// How body bytes of the response in progress are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum BodyEncoder {
    /// Exactly `declared` bytes; `sent` so far.
    Length { declared: u64, sent: u64 },
    /// Chunked coding.
    Chunked,
    /// Raw bytes until the connection closes (until-close and passthrough bodies).
    Raw,
    /// The response has a declared body that is not transmitted (a reply to HEAD):
    /// bytes are counted against the declared length and dropped.
    Discard { declared: Option<u64>, sent: u64 },
    /// No body may be sent.
    Refuse,
}

impl BodyEncoder {
    /// Queues body bytes.
    pub(crate) fn data(&mut self, out: &mut OutQueue, data: Bytes) -> Result<(), UsageError> {
        self.count(data.len() as u64)?;
        match self {
            Self::Length { .. } | Self::Raw => out.push(data),
            Self::Chunked if !data.is_empty() => {
                chunk_size_line(out, data.len() as u64);
                out.push(data);
                out.push(Bytes::from_static(b"\r\n"));
            }
            Self::Chunked | Self::Discard { .. } | Self::Refuse => {}
        }
        Ok(())
    }

    /// Queues an external span of `len` bytes.
    pub(crate) fn external(&mut self, out: &mut OutQueue, len: u64) -> Result<(), UsageError> {
        self.count(len)?;
        match self {
            Self::Length { .. } | Self::Raw => out.push_external(len),
            Self::Chunked if len > 0 => {
                chunk_size_line(out, len);
                out.push_external(len);
                out.push(Bytes::from_static(b"\r\n"));
            }
            Self::Chunked | Self::Discard { .. } | Self::Refuse => {}
        }
        Ok(())
    }

    /// Queues whatever ends the body.
    pub(crate) fn finish(&self, out: &mut OutQueue) -> Result<(), UsageError> {
        match *self {
            Self::Length { declared, sent } if sent < declared => {
                Err(UsageError::BodyShorterThanDeclared { declared, sent })
            }
            Self::Chunked => {
                out.push(Bytes::from_static(b"0\r\n\r\n"));
                Ok(())
            }
            _ => Ok(()),
        }
    }

    fn count(&mut self, n: u64) -> Result<(), UsageError> {
        match self {
            Self::Length { declared, sent }
            | Self::Discard {
                declared: Some(declared),
                sent,
            } => {
                if *sent + n > *declared {
                    return Err(UsageError::BodyLongerThanDeclared {
                        declared: *declared,
                    });
                }
                *sent += n;
            }
            Self::Refuse if n > 0 => return Err(UsageError::BodyNotAllowed),
            _ => {}
        }
        Ok(())
    }
}

fn chunk_size_line(out: &mut OutQueue, len: u64) {
    let buf = out.scratch();
    put_digits::<16>(buf, len);
    buf.put_slice(b"\r\n");
    out.commit_scratch();
}

/// Writes `n` in base 10 or 16 (lower case). Written by hand rather than with `write!`:
/// `core::fmt` costs more than the rest of a response head, and numbers go into every head.
/// The base is a constant so the divisions compile to multiplications.
fn put_digits<const BASE: u64>(buf: &mut Vec<u8>, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut start = digits.len();
    loop {
        start -= 1;
        digits[start] = b"0123456789abcdef"[(n % BASE) as usize];
        n /= BASE;
        if n == 0 {
            break;
        }
    }
    buf.put_slice(&digits[start..]);
}

/// Checks that the head can be parsed by a client as it was meant: a three-digit status, no
/// field that can split the response (CR, LF) or that RFC 9112 forbids (other control
/// bytes), names that are tokens.
pub(crate) fn validate(head: &ResponseHead) -> Result<(), UsageError> {
    // `status-code = 3DIGIT`: `HTTP/1.1 42` or `HTTP/1.1 1000` is not a status line at all.
    if !(100..=999).contains(&head.status) {
        return Err(UsageError::InvalidStatus);
    }
    if let Some(reason) = &head.reason
        && !is_field_text(reason)
    {
        return Err(UsageError::InvalidReason);
    }
    // The fields were checked as they were appended (see `headers::Summary`): a head built
    // once and sent many times is not checked again. Only a bad one is looked at here, to
    // name the field.
    if head.headers.summary().malformed
        && let Some(index) = head
            .headers
            .iter()
            .position(|field| !is_field_line(field.name(), field.value()))
    {
        return Err(UsageError::InvalidHeader { index });
    }
    Ok(())
}

/// The value of the head's `Content-Length` field, if it has one.
pub(crate) fn content_length(headers: &Headers) -> Option<&[u8]> {
    if headers.summary().content_length {
        headers.get("content-length")
    } else {
        None
    }
}

/// Whether the head has a `Transfer-Encoding` field.
pub(crate) fn has_transfer_encoding(headers: &Headers) -> bool {
    headers.summary().transfer_encoding && headers.contains("transfer-encoding")
}

/// A framing field the core adds because the application chose a body kind without writing it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum AddedField {
    None,
    ContentLength(u64),
    Chunked,
}

/// Formats `version SP status SP reason CRLF`, the fields, and (unless `open_ended`) the blank
/// line, into the queue as one segment, so the head goes out in one write as CPython's does.
pub(crate) fn head(
    out: &mut OutQueue,
    version: &[u8],
    head: &ResponseHead,
    added: AddedField,
    open_ended: bool,
) {
    let buf = out.scratch();
    // Room for all of it at once: the pieces below are then plain copies.
    let reason_len = head.reason.as_ref().map_or(32, Bytes::len);
    buf.reserve(version.len() + 7 + reason_len + head.headers.summary().wire_len as usize + 64);
    buf.put_slice(version);
    // Three digits: `validate` holds the status to 100..=999.
    let status = head.status;
    match &head.reason {
        Some(reason) => {
            buf.put_slice(&[
                b' ',
                b'0' + (status / 100 % 10) as u8,
                b'0' + (status / 10 % 10) as u8,
                b'0' + (status % 10) as u8,
                b' ',
            ]);
            buf.put_slice(reason);
            buf.put_slice(b"\r\n");
        }
        None => buf.put_slice(status::status_line_tail(status)),
    }
    for field in &head.headers {
        buf.put_slice(field.name());
        buf.put_slice(b": ");
        buf.put_slice(field.value());
        buf.put_slice(b"\r\n");
    }
    match added {
        AddedField::ContentLength(n) => {
            buf.put_slice(b"Content-Length: ");
            put_digits::<10>(buf, n);
            buf.put_slice(b"\r\n");
        }
        AddedField::Chunked => buf.put_slice(b"Transfer-Encoding: chunked\r\n"),
        AddedField::None => {}
    }
    if !open_ended {
        buf.put_slice(b"\r\n");
    }
    out.commit_scratch();
}

/// Formats `version 100 Continue CRLF CRLF`.
pub(crate) fn continue_head(out: &mut OutQueue, version: &[u8]) {
    let buf = out.scratch();
    buf.put_slice(version);
    buf.put_slice(b" 100 Continue\r\n\r\n");
    out.commit_scratch();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digits_in_both_bases() {
        for (n, base, text) in [
            (0, 10, "0"),
            (7, 10, "7"),
            (1024, 10, "1024"),
            (u64::MAX, 10, "18446744073709551615"),
            (0, 16, "0"),
            (300, 16, "12c"),
            (u64::MAX, 16, "ffffffffffffffff"),
        ] {
            let mut buf = Vec::new();
            match base {
                10 => put_digits::<10>(&mut buf, n),
                _ => put_digits::<16>(&mut buf, n),
            }
            assert_eq!(&buf[..], text.as_bytes());
        }
    }

    #[test]
    fn status_must_be_three_digits() {
        // Regression (fuzz `response_roundtrip`): status 0 was written as `HTTP/1.1 0 `.
        for status in [0, 42, 99, 1000, u16::MAX] {
            assert_eq!(
                validate(&ResponseHead::new(status)),
                Err(UsageError::InvalidStatus),
                "{status}"
            );
        }
        for status in [100, 200, 999] {
            assert_eq!(validate(&ResponseHead::new(status)), Ok(()));
        }
    }

    #[test]
    fn control_bytes_are_refused_htab_and_obs_text_kept() {
        let reason = |r: &'static [u8]| validate(&ResponseHead::new(200).with_reason(r));
        let value = |v: &'static [u8]| validate(&ResponseHead::new(200).with_header("X", v));
        for bad in [
            &b"a\rb"[..],
            b"a\nb",
            b"a\x00b",
            b"a\x01b",
            b"a\x7fb",
            b"\x1b[31m",
        ] {
            assert_eq!(reason(bad), Err(UsageError::InvalidReason), "{bad:?}");
            assert_eq!(
                value(bad),
                Err(UsageError::InvalidHeader { index: 0 }),
                "{bad:?}"
            );
        }
        for good in [&b"File not found"[..], b"a\tb", b"caf\xc3\xa9", b""] {
            assert_eq!(reason(good), Ok(()));
            assert_eq!(value(good), Ok(()));
        }
        let bad_name = ResponseHead::new(200)
            .with_header("Ok", "1")
            .with_header("Bad Name", "1");
        assert_eq!(
            validate(&bad_name),
            Err(UsageError::InvalidHeader { index: 1 })
        );
    }
}
