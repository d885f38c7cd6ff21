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
//! The size line is held to its grammar exactly, byte by byte:
//!
//! ```text
//! chunk-size [ chunk-ext ] CRLF
//! chunk-size = 1*HEXDIG
//! chunk-ext  = *( BWS ";" BWS name [ BWS "=" BWS ( token / quoted-string ) ] )
//! ```
//!
//! so `1 zz`, `0x5`, `+5`, ` 5`, `5 ` or `5;a b` is an error, never a size of 5 with
//! something ignored after it: whatever one parser skips and the next one reads as data is
//! how a request is smuggled through a chain of them. For the same reason every line ending
//! in the body, the trailer section's included, must be CRLF. The size line (with
//! extensions) and the trailer section are bounded.

use bytes::{Buf, Bytes, BytesMut};

use crate::head::is_tchar;
use crate::{Headers, RequestError};

/// Where the decoder is within the chunked body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Reading the hex digits of a chunk size; `any` once there is one.
    Size { any: bool },
    /// Whitespace after the size or an extension: only `;` may follow (`BWS ";"`).
    SpaceBeforeSemicolon,
    /// After `;` and its whitespace: an extension name comes.
    ExtNameStart,
    /// Inside an extension name.
    ExtName,
    /// Whitespace after an extension name: `=` or `;` may follow.
    SpaceAfterName,
    /// After `=` and its whitespace: a token or a quoted string comes.
    ExtValueStart,
    /// Inside a token value.
    ExtToken,
    /// Inside a quoted-string value.
    ExtQuoted,
    /// After a backslash inside a quoted string.
    ExtQuotedPair,
    /// Right after the closing quote: `;`, whitespace or the CR.
    AfterQuoted,
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

impl State {
    /// Whether the state is on the size line (its bytes count toward `max_line`).
    fn on_size_line(self) -> bool {
        !matches!(
            self,
            Self::Data | Self::DataCr | Self::DataLf | Self::Trailers | Self::Done
        )
    }
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
    /// Where the trailer line being scanned starts.
    line_start: usize,
    max_line: usize,
    max_trailers: usize,
    max_fields: usize,
}

impl ChunkedDecoder {
    /// A decoder with these limits: size line including extensions, trailer section bytes,
    /// trailer field count.
    pub fn new(max_line: usize, max_trailers: usize, max_fields: usize) -> Self {
        Self {
            state: State::Size { any: false },
            remaining: 0,
            line_len: 0,
            scanned: 0,
            line_start: 0,
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
        if self.state.on_size_line() {
            self.line_len += 1;
            if self.line_len > self.max_line {
                return Err(RequestError::ChunkTooLarge);
            }
        }
        let space = matches!(byte, b' ' | b'\t');
        self.state = match (self.state, byte) {
            (State::Size { .. }, b) if b.is_ascii_hexdigit() => {
                // Leading zeros are digits too; only a value past 64 bits overflows.
                if self.remaining >> 60 != 0 {
                    return Err(RequestError::ChunkTooLarge);
                }
                self.remaining = self.remaining << 4 | u64::from(hex_value(b));
                State::Size { any: true }
            }
            // The end of the size, of a name, of a value: `;`, whitespace before one, or CR.
            (
                State::Size { any: true } | State::ExtName | State::ExtToken | State::AfterQuoted,
                b'\r',
            ) => State::SizeLf,
            (
                State::Size { any: true }
                | State::SpaceBeforeSemicolon
                | State::ExtName
                | State::SpaceAfterName
                | State::ExtToken
                | State::AfterQuoted,
                b';',
            ) => State::ExtNameStart,
            (State::Size { any: true } | State::ExtToken | State::AfterQuoted, _) if space => {
                State::SpaceBeforeSemicolon
            }
            (State::SpaceBeforeSemicolon | State::ExtNameStart | State::ExtValueStart, _)
                if space =>
            {
                self.state
            }
            (State::ExtName | State::SpaceAfterName, _) if space => State::SpaceAfterName,
            (State::ExtNameStart | State::ExtName, b) if is_tchar(b) => State::ExtName,
            (State::ExtName | State::SpaceAfterName, b'=') => State::ExtValueStart,
            (State::ExtValueStart | State::ExtToken, b) if is_tchar(b) => State::ExtToken,
            (State::ExtValueStart, b'"') => State::ExtQuoted,
            (State::ExtQuoted, b'"') => State::AfterQuoted,
            (State::ExtQuoted, b'\\') => State::ExtQuotedPair,
            // qdtext: HTAB, SP, VCHAR but `"` and `\`, obs-text.
            (State::ExtQuoted, b) if b == b'\t' || (b >= 0x20 && b != 0x7f) => State::ExtQuoted,
            // quoted-pair: `\` then HTAB, SP, VCHAR or obs-text.
            (State::ExtQuotedPair, b) if b == b'\t' || (b >= 0x20 && b != 0x7f) => State::ExtQuoted,
            (State::SizeLf, b'\n') => {
                self.line_len = 0;
                if self.remaining == 0 {
                    State::Trailers
                } else {
                    State::Data
                }
            }
            (State::DataCr, b'\r') => State::DataLf,
            (State::DataLf, b'\n') => State::Size { any: false },
            _ => return Err(RequestError::BadChunk),
        };
        Ok(())
    }

    /// The trailer section: header lines up to a blank line, each ending in CRLF, parsed as
    /// strict fields. A bare LF is refused at once: a parser that takes it for a line end
    /// (and `0\r\n\n` for the end of the body) would disagree about where the next request
    /// starts.
    fn trailers(&mut self, input: &mut BytesMut) -> Result<Decoded, RequestError> {
        loop {
            let Some(lf) = memchr::memchr(b'\n', &input[self.scanned..]).map(|i| self.scanned + i)
            else {
                if input.len() > self.max_trailers {
                    return Err(RequestError::ChunkTooLarge);
                }
                self.scanned = input.len();
                return Ok(Decoded::NeedMore);
            };
            // The size limit first: without the line end in sight, a split input can only be
            // judged by its size, and the verdict must not depend on where the input was split.
            if lf + 1 > self.max_trailers {
                return Err(RequestError::ChunkTooLarge);
            }
            if lf == self.line_start || input[lf - 1] != b'\r' {
                return Err(RequestError::BadChunk);
            }
            if lf - self.line_start == 1 {
                self.state = State::Done;
                if self.line_start == 0 {
                    input.advance(lf + 1);
                    return Ok(Decoded::End(Headers::new()));
                }
                let fields = crate::head::parse_trailers(input, lf + 1, self.max_fields)?;
                return Ok(Decoded::End(fields));
            }
            self.line_start = lf + 1;
            self.scanned = lf + 1;
        }
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

    /// A trailer line past the limit whose line end is not CRLF: too large, whole or split
    /// (found by the `chunked_decoder` fuzz target: the whole input said bad chunk).
    #[test]
    fn oversized_trailer_line_is_too_large_however_split() {
        let mut wire = b"0\r\nX: ".to_vec();
        wire.resize(wire.len() + 20_000, b'a');
        wire.extend_from_slice(b"\n\r\n");
        assert_eq!(decode_split(&wire, &[]), Err(RequestError::ChunkTooLarge));
        assert_eq!(
            decode_split(&wire, &[4, 100]),
            Err(RequestError::ChunkTooLarge)
        );
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

    /// Decodes `size_line` (CRLF added) as the first chunk of `x`s, then the last chunk.
    fn size_line(line: &str) -> Result<(Vec<u8>, Headers), RequestError> {
        let wire = format!("{line}\r\nx\r\n0\r\n\r\n");
        let whole = decode_split(wire.as_bytes(), &[]);
        let bytewise = decode_split(wire.as_bytes(), &[1; 256]);
        assert_eq!(whole, bytewise, "{line:?}");
        whole
    }

    #[test]
    fn size_lines_follow_the_grammar() {
        for ok in [
            "1",
            "01",
            "0000000000000000000000000001",
            "1;a",
            "1;a=b",
            "1;a=\"\"",
            "1;a=\"b c;d=e\"",
            "1;a=\"q\\\"\\\\\"",
            "1;a=\"\t\u{7e}\"",
            "1 ;a",
            "1\t;\ta\t=\tb",
            "1 ; a = b ; c ; d=\"e\" ;f",
            "1;a;b;c",
            "1;!#$%&'*+-.^_`|~=!#$%&'*+-.^_`|~",
        ] {
            assert_eq!(
                size_line(ok).map(|(body, _)| body),
                Ok(b"x".to_vec()),
                "{ok:?}"
            );
        }
        for bad in [
            // Junk after the size: the reported hole (`1 zz junk` read as size 1).
            "1 zz junk",
            "1zz",
            "1 z",
            "1 ",
            "1\t",
            "1 1",
            // Not 1*HEXDIG.
            "",
            " 1",
            "\t1",
            "0x1",
            "+1",
            "-1",
            "1.0",
            "1_0",
            // Extensions that are not `name [= value]`.
            "1;",
            "1; ",
            "1;;a",
            "1;=b",
            "1;a=",
            "1;a= ",
            "1;a =",
            "1;a ",
            "1;a=b ",
            "1;a=b c",
            "1;a b",
            "1;a=b=c",
            "1;a=\"b",
            "1;a=\"b\"c",
            "1;a=\"b\" c",
            "1;a=\"b\"\"c\"",
            "1;a,b",
            "1;a=b,c",
            "1;a@b",
            "1;a=(b)",
            "1;a=\"b\\",
            // Control bytes, in a name, a token, a quoted string, after a backslash.
            "1;a\x00",
            "1;a=b\x01",
            "1;a=\"\x00\"",
            "1;a=\"\x7f\"",
            "1;a=\"\\\x00\"",
            "1;a=\"\r\"",
            "1;\x7f",
            "1;a\rb",
        ] {
            assert!(
                matches!(size_line(bad), Err(RequestError::BadChunk)),
                "{bad:?}: {:?}",
                size_line(bad)
            );
        }
        // obs-text is allowed in a quoted string, nowhere else.
        let obs = b"1;a=\"\x80\xff\"\r\nx\r\n0\r\n\r\n";
        assert_eq!(decode_split(obs, &[]).unwrap().0, b"x");
        let obs = b"1;a=\x80\r\nx\r\n0\r\n\r\n";
        assert_eq!(decode_split(obs, &[]), Err(RequestError::BadChunk));
    }

    #[test]
    fn sizes_past_64_bits_are_refused_leading_zeros_are_not() {
        assert_eq!(
            decode_split(b"10000000000000000\r\n", &[]),
            Err(RequestError::ChunkTooLarge)
        );
        assert_eq!(
            decode_split(b"fffffffffffffffff\r\n", &[]),
            Err(RequestError::ChunkTooLarge)
        );
        let mut decoder = ChunkedDecoder::new(4096, 16384, 100);
        let mut input = BytesMut::from(&b"0000ffffffffffffffff\r\nab"[..]);
        assert_eq!(
            decoder.decode(&mut input).unwrap(),
            Decoded::Data("ab".into())
        );
    }

    #[test]
    fn every_line_ending_is_crlf() {
        for bad in [
            &b"1\nx\r\n0\r\n\r\n"[..],
            b"1\rx\r\n0\r\n\r\n",
            b"1;a\nx\r\n0\r\n\r\n",
            b"1\r\nx\n0\r\n\r\n",
            b"1\r\nx\r0\r\n\r\n",
            b"0\n\r\n",
            // The trailer section: a bare LF ends neither a field nor the section.
            b"0\r\n\n",
            b"0\r\nX: 1\n\r\n",
            b"0\r\nX: 1\r\n\n",
            b"0\r\nX: 1\nY: 2\r\n\r\n",
            b"0\r\n\nGET / HTTP/1.1\r\n\r\n",
        ] {
            for splits in [&[][..], &[1; 64]] {
                assert_eq!(
                    decode_split(bad, splits),
                    Err(RequestError::BadChunk),
                    "{:?}",
                    String::from_utf8_lossy(bad)
                );
            }
        }
    }

    #[test]
    fn trailers_are_strict_fields_within_their_limit() {
        for bad in [
            &b"0\r\nX : 1\r\n\r\n"[..],
            b"0\r\nX: 1\r\n folded\r\n\r\n",
            b"0\r\nno colon\r\n\r\n",
            b"0\r\nX: a\rb\r\n\r\n",
            b"0\r\nX: a\x00b\r\n\r\n",
        ] {
            assert!(
                decode_split(bad, &[]).is_err(),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
        let (_, trailers) = decode_split(b"0\r\nA: 1\r\nB: 2\r\n\r\n", &[3, 1, 1, 2]).unwrap();
        assert_eq!(trailers.len(), 2);
        let mut decoder = ChunkedDecoder::new(4096, 16, 100);
        let mut input = BytesMut::from(&b"0\r\nX-Long: 0123456789\r\n\r\n"[..]);
        assert_eq!(decoder.decode(&mut input), Err(RequestError::ChunkTooLarge));
        let mut decoder = ChunkedDecoder::new(4096, 16, 100);
        let mut input = BytesMut::from(&b"0\r\nX-Long: 0123456789"[..]);
        assert_eq!(decoder.decode(&mut input), Err(RequestError::ChunkTooLarge));
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
