//! Response framing: the status line and headers, then the body as the chosen
//! [`ResponseBody`](crate::ResponseBody) delimits it.

use std::fmt::Write as _;

use bytes::{BufMut, Bytes};

use crate::transmit::OutQueue;
use crate::{ResponseHead, UsageError, status};

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
    let _ = write!(Fmt(out.scratch()), "{len:x}\r\n");
    out.commit_scratch();
}

/// `fmt::Write` into a `BytesMut` without an intermediate `String`.
struct Fmt<'a>(&'a mut bytes::BytesMut);

impl std::fmt::Write for Fmt<'_> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.0.put_slice(s.as_bytes());
        Ok(())
    }
}

/// Checks that no field can split the response (CR, LF, NUL) and that names are tokens.
pub(crate) fn validate(head: &ResponseHead) -> Result<(), UsageError> {
    if let Some(reason) = &head.reason
        && reason.iter().any(|&b| matches!(b, b'\r' | b'\n' | 0))
    {
        return Err(UsageError::InvalidReason);
    }
    for (index, field) in head.headers.iter().enumerate() {
        let name_ok =
            !field.name().is_empty() && field.name().iter().copied().all(crate::head::is_tchar);
        let value_ok = !field
            .value()
            .iter()
            .any(|&b| matches!(b, b'\r' | b'\n' | 0));
        if !name_ok || !value_ok {
            return Err(UsageError::InvalidHeader { index });
        }
    }
    Ok(())
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
    buf.put_slice(version);
    let _ = write!(Fmt(buf), " {} ", head.status);
    match &head.reason {
        Some(reason) => buf.put_slice(reason),
        None => buf.put_slice(status::reason_phrase(head.status).unwrap_or("").as_bytes()),
    }
    buf.put_slice(b"\r\n");
    for field in &head.headers {
        buf.put_slice(field.name());
        buf.put_slice(b": ");
        buf.put_slice(field.value());
        buf.put_slice(b"\r\n");
    }
    match added {
        AddedField::ContentLength(n) => {
            let _ = write!(Fmt(buf), "Content-Length: {n}\r\n");
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
