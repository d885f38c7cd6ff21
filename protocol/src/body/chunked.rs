//! The chunked transfer coding decoder (RFC 9112 section 7.1), as an explicit state machine.
//!
//! ```text
//!            hex digit                     CR          LF (size > 0)
//!  ┌──────┐ ───────────▶ ┌──────┐ ──────▶ ┌────────┐ ────────────▶ ┌──────┐  n bytes  ┌────────┐ CR  ┌────────┐
//!  │ Size │              │ Size │ ; / WS  │ SizeLf │               │ Data │ ────────▶ │ DataCr │ ──▶ │ DataLf │─┐
//!  └──────┘              └──────┘ ─▶ Ext ─▶└────────┘               └──────┘           └────────┘     └────────┘ │
//!     ▲                                       │ LF (size = 0)                                          LF       │
//!     │                                       ▼                                                               │
//!     │                                  ┌──────────┐  blank line  ┌──────┐                                     │
//!     │                                  │ Trailers │ ───────────▶ │ Done │                                     │
//!     │                                  └──────────┘              └──────┘                                     │
//!     └─────────────────────────────────────────────────────────────────────────────────────────────────────────┘
//! ```
//!
//! Line endings must be CRLF: accepting a bare LF here is one of the parser disagreements that
//! request smuggling feeds on. The size line (with extensions) and the trailer section are
//! bounded.

use bytes::{Bytes, BytesMut};

use crate::{Headers, RequestError};

/// Where the decoder is within the chunked body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Reading hex digits of a chunk size; `digits` counts them.
    Size { digits: u8 },
    /// Whitespace or extensions after the size, up to the CR.
    Extension,
    /// Expecting the LF that ends the size line.
    SizeLf,
    /// Inside chunk data.
    Data,
    /// Expecting the CR after chunk data.
    DataCr,
    /// Expecting the LF after chunk data.
    DataLf,
    /// Reading the trailer section up to its blank line.
    Trailers,
    /// The body is complete.
    Done,
}

/// What one decoding step produced.
#[derive(Debug, PartialEq, Eq)]
pub enum Decoded {
    /// Body bytes (a slice of the input buffer, not a copy).
    Data(Bytes),
    /// The body ended; trailer fields, if any.
    End(Headers),
    /// The input is exhausted; call again with more.
    NeedMore,
}

/// Decodes a chunked body incrementally from a receive buffer.
///
/// ```
/// use bytes::BytesMut;
/// use protocol::body::{ChunkedDecoder, Decoded};
///
/// let mut input = BytesMut::from(&b"5\r\nhello\r\n0\r\n\r\n"[..]);
/// let mut decoder = ChunkedDecoder::new(4096, 16384, 100);
/// assert_eq!(decoder.decode(&mut input).unwrap(), Decoded::Data("hello".into()));
/// assert!(matches!(decoder.decode(&mut input).unwrap(), Decoded::End(_)));
/// ```
#[derive(Clone, Debug)]
pub struct ChunkedDecoder {
    state: State,
    /// Size of the current chunk, then bytes of it still to come.
    remaining: u64,
    /// Bytes of the current size line, to bound extensions.
    line_len: usize,
    /// Bytes of the trailer section scanned so far.
    scanned: usize,
    max_line: usize,
    max_trailers: usize,
    max_fields: usize,
}

impl ChunkedDecoder {
    /// A decoder with these limits: size line including extensions, trailer section bytes,
    /// trailer field count.
    pub fn new(max_line: usize, max_trailers: usize, max_fields: usize) -> Self {
        Self {
            state: State::Size { digits: 0 },
            remaining: 0,
            line_len: 0,
            scanned: 0,
            max_line,
            max_trailers,
            max_fields,
        }
    }

    /// Whether the terminating chunk and trailers have been read.
    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// Consumes bytes from the front of `input` and reports the next piece of the body.
    pub fn decode(&mut self, input: &mut BytesMut) -> Result<Decoded, RequestError> {
        loop {
            if self.state == State::Data {
                if input.is_empty() {
                    return Ok(Decoded::NeedMore);
                }
                let n = usize::try_from(self.remaining)
                    .unwrap_or(usize::MAX)
                    .min(input.len());
                self.remaining -= n as u64;
                if self.remaining == 0 {
                    self.state = State::DataCr;
                }
                return Ok(Decoded::Data(input.split_to(n).freeze()));
            }
            if self.state == State::Trailers {
                return self.trailers(input);
            }
            if self.state == State::Done {
                return Ok(Decoded::End(Headers::new()));
            }
            let Some(&byte) = input.first() else {
                return Ok(Decoded::NeedMore);
            };
            let _ = input.split_to(1);
            self.step(byte)?;
        }
    }

    /// One byte of framing (size line, data CRLF).
    fn step(&mut self, byte: u8) -> Result<(), RequestError> {
        if matches!(
            self.state,
            State::Size { .. } | State::Extension | State::SizeLf
        ) {
            self.line_len += 1;
            if self.line_len > self.max_line {
                return Err(RequestError::ChunkTooLarge);
            }
        }
        self.state = match (self.state, byte) {
            (State::Size { digits }, b) if b.is_ascii_hexdigit() => {
                // 16 hex digits fill a u64; more would overflow.
                if digits == 16 {
                    return Err(RequestError::ChunkTooLarge);
                }
                self.remaining = self.remaining << 4 | u64::from(hex_value(b));
                State::Size { digits: digits + 1 }
            }
            (State::Size { digits: 1.. }, b';' | b' ' | b'\t') => State::Extension,
            (State::Size { digits: 1.. } | State::Extension, b'\r') => State::SizeLf,
            (State::Extension, b) if b == b'\t' || (b >= 0x20 && b != 0x7f) => State::Extension,
            (State::SizeLf, b'\n') => {
                self.line_len = 0;
                if self.remaining == 0 {
                    State::Trailers
                } else {
                    State::Data
                }
            }
            (State::DataCr, b'\r') => State::DataLf,
            (State::DataLf, b'\n') => State::Size { digits: 0 },
            _ => return Err(RequestError::BadChunk),
        };
        Ok(())
    }

    /// The trailer section: header lines up to a blank line, parsed as strict fields.
    fn trailers(&mut self, input: &mut BytesMut) -> Result<Decoded, RequestError> {
        if input.starts_with(b"\r\n") {
            let _ = input.split_to(2);
            self.state = State::Done;
            return Ok(Decoded::End(Headers::new()));
        }
        let end = memchr::memmem::find(&input[self.scanned.saturating_sub(3)..], b"\r\n\r\n")
            .map(|i| self.scanned.saturating_sub(3) + i + 4);
        let Some(end) = end else {
            if input.len() > self.max_trailers {
                return Err(RequestError::ChunkTooLarge);
            }
            self.scanned = input.len();
            return Ok(Decoded::NeedMore);
        };
        if end > self.max_trailers {
            return Err(RequestError::ChunkTooLarge);
        }
        let block = input.split_to(end).freeze();
        let fields = crate::head::parse_trailers(block, self.max_fields)?;
        self.state = State::Done;
        Ok(Decoded::End(fields))
    }
}

fn hex_value(b: u8) -> u8 {
    match b {
        b'0'..=b'9' => b - b'0',
        b'a'..=b'f' => b - b'a' + 10,
        _ => b - b'A' + 10,
    }
}

/// Writes `data` as chunked coding with one chunk per slice, then the last chunk.
/// Used by tests and the encoder's round-trip checks.
#[cfg(test)]
pub(crate) fn encode_all(chunks: &[&[u8]], trailers: &[(&str, &str)]) -> Vec<u8> {
    let mut out = Vec::new();
    for chunk in chunks.iter().filter(|c| !c.is_empty()) {
        out.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        out.extend_from_slice(chunk);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"0\r\n");
    for (n, v) in trailers {
        out.extend_from_slice(format!("{n}: {v}\r\n").as_bytes());
    }
    out.extend_from_slice(b"\r\n");
    out
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// Feeds `wire` in pieces of the given sizes and collects the body and trailers.
    fn decode_split(wire: &[u8], splits: &[usize]) -> Result<(Vec<u8>, Headers), RequestError> {
        let mut decoder = ChunkedDecoder::new(4096, 16384, 100);
        let mut input = BytesMut::new();
        let mut body = Vec::new();
        let mut rest = wire;
        let mut sizes = splits.iter().copied().chain(std::iter::repeat(usize::MAX));
        loop {
            loop {
                match decoder.decode(&mut input)? {
                    Decoded::Data(d) => body.extend_from_slice(&d),
                    Decoded::End(t) => return Ok((body, t)),
                    Decoded::NeedMore => break,
                }
            }
            if rest.is_empty() {
                return Err(RequestError::UnexpectedEof);
            }
            let n = sizes.next().unwrap().clamp(1, rest.len());
            input.extend_from_slice(&rest[..n]);
            rest = &rest[n..];
        }
    }

    #[test]
    fn extensions_and_trailers() {
        let wire = b"4;name=value\r\nWiki\r\n5 ; x\r\npedia\r\n0\r\nX-Sum: 1\r\n\r\n";
        let (body, trailers) = decode_split(wire, &[]).unwrap();
        assert_eq!(body, b"Wikipedia");
        assert_eq!(trailers.get("x-sum"), Some(&b"1"[..]));
    }

    #[test]
    fn malformed_chunks_are_errors() {
        for bad in [
            &b"x\r\n"[..],
            b"\r\n",
            b"5\nhello\r\n0\r\n\r\n",
            b"5\r\nhelloX\r\n",
            b"5\r\nhello\n0\r\n\r\n",
            b"5\r\x00",
        ] {
            assert!(
                decode_split(bad, &[]).is_err(),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
        assert_eq!(
            decode_split(b"11111111111111111\r\n", &[]),
            Err(RequestError::ChunkTooLarge)
        );
        let long_ext = format!("1;{}\r\n", "a".repeat(5000));
        assert_eq!(
            decode_split(long_ext.as_bytes(), &[]),
            Err(RequestError::ChunkTooLarge)
        );
    }

    #[test]
    fn huge_declared_size_allocates_nothing() {
        let mut decoder = ChunkedDecoder::new(4096, 16384, 100);
        let mut input = BytesMut::from(&b"ffffffffffffffff\r\nabc"[..]);
        assert_eq!(
            decoder.decode(&mut input).unwrap(),
            Decoded::Data("abc".into())
        );
        assert_eq!(decoder.decode(&mut input).unwrap(), Decoded::NeedMore);
    }

    proptest! {
        #[test]
        fn encode_then_decode_is_identity(
            chunks in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..300), 0..8),
            splits in proptest::collection::vec(1usize..40, 0..64),
            trailer in proptest::option::of("[a-zA-Z][a-zA-Z0-9-]{0,10}"),
        ) {
            let slices: Vec<&[u8]> = chunks.iter().map(Vec::as_slice).collect();
            let trailer_fields: Vec<(&str, &str)> = trailer.iter().map(|n| (n.as_str(), "v")).collect();
            let wire = encode_all(&slices, &trailer_fields);
            let (body, trailers) = decode_split(&wire, &splits).unwrap();
            prop_assert_eq!(body, chunks.concat());
            prop_assert_eq!(trailers.len(), trailer_fields.len());
        }

        #[test]
        fn arbitrary_bytes_never_panic(wire in proptest::collection::vec(any::<u8>(), 0..200),
                                       splits in proptest::collection::vec(1usize..10, 0..32)) {
            let _ = decode_split(&wire, &splits);
        }
    }
}
