//! A streaming `multipart/form-data` reader (RFC 7578, RFC 2046 5.1): parts come out one at a
//! time, and a part's data in pieces, so a body of any size passes through a buffer of about
//! [`CHUNK`] bytes. The delimiter is searched for across chunk edges: bytes are handed out
//! only once no delimiter can start among them.

use std::io::{self, Read};

/// How much is read from the body at a time.
const CHUNK: usize = 64 * 1024;
/// Most bytes of one part's header block.
const MAX_PART_HEAD: usize = 16 * 1024;

/// The headers of a part that matter here.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct PartHead {
    /// `name` of `Content-Disposition: form-data`.
    pub(crate) name: Option<Vec<u8>>,
    /// `filename`, as sent (checked by the caller).
    pub(crate) filename: Option<Vec<u8>>,
}

#[derive(Debug, PartialEq, Eq)]
enum State {
    /// Before the first delimiter.
    Preamble,
    /// Inside a part's data.
    Data,
    /// At a delimiter (already consumed): the end of a part.
    Delimiter,
    /// After the close delimiter.
    Done,
}

/// The reader: call [`next_part`](Self::next_part), then [`read`](Self::read) until it gives
/// 0, and again.
#[derive(Debug)]
pub(crate) struct Multipart {
    /// `\r\n--boundary`.
    delimiter: Vec<u8>,
    buf: Vec<u8>,
    eof: bool,
    state: State,
}

/// A malformed body: the caller answers 400.
#[derive(Debug)]
pub(crate) struct Malformed(&'static str);

impl std::fmt::Display for Malformed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

impl std::error::Error for Malformed {}

pub(crate) fn bad(what: &'static str) -> io::Error {
    io::Error::other(Malformed(what))
}

impl Multipart {
    /// A reader for `boundary` (RFC 2046: 1 to 70 characters).
    pub(crate) fn new(boundary: &[u8]) -> Self {
        let mut delimiter = b"\r\n--".to_vec();
        delimiter.extend_from_slice(boundary);
        Self {
            delimiter,
            // The body may start with the delimiter itself: a virtual CRLF before it makes
            // every delimiter look the same.
            buf: b"\r\n".to_vec(),
            eof: false,
            state: State::Preamble,
        }
    }

    /// Reads more of the body into the buffer; `false` at its end.
    fn fill(&mut self, src: &mut impl Read) -> io::Result<bool> {
        if self.eof {
            return Ok(false);
        }
        let old = self.buf.len();
        self.buf.resize(old + CHUNK, 0);
        let n = loop {
            match src.read(&mut self.buf[old..]) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                other => break other,
            }
        };
        self.buf.truncate(old + *n.as_ref().unwrap_or(&0));
        let n = n?;
        if n == 0 {
            self.eof = true;
        }
        Ok(n > 0)
    }

    fn find_delimiter(&self) -> Option<usize> {
        memchr::memmem::find(&self.buf, &self.delimiter)
    }

    /// Up to `out.len()` bytes of the current part's data; 0 at its end.
    pub(crate) fn read(&mut self, src: &mut impl Read, out: &mut [u8]) -> io::Result<usize> {
        if self.state != State::Data {
            return Ok(0);
        }
        loop {
            let (avail, at_delimiter) = match self.find_delimiter() {
                Some(i) => (i, true),
                None => (
                    self.buf
                        .len()
                        .saturating_sub(self.delimiter.len().saturating_sub(1)),
                    false,
                ),
            };
            if avail > 0 {
                let n = avail.min(out.len());
                out[..n].copy_from_slice(&self.buf[..n]);
                self.buf.drain(..n);
                return Ok(n);
            }
            if at_delimiter {
                self.buf.drain(..self.delimiter.len());
                self.state = State::Delimiter;
                return Ok(0);
            }
            if !self.fill(src)? {
                return Err(bad("the body ended inside a part"));
            }
        }
    }

    /// Skips to the next part and reads its header block; `None` after the close delimiter.
    pub(crate) fn next_part(&mut self, src: &mut impl Read) -> io::Result<Option<PartHead>> {
        let mut sink = [0u8; 8192];
        match self.state {
            State::Done => return Ok(None),
            State::Data => while self.read(src, &mut sink)? > 0 {},
            State::Preamble => loop {
                if let Some(i) = self.find_delimiter() {
                    self.buf.drain(..i + self.delimiter.len());
                    break;
                }
                let keep = self.delimiter.len() - 1;
                if self.buf.len() > keep {
                    self.buf.drain(..self.buf.len() - keep);
                }
                if !self.fill(src)? {
                    return Err(bad("no multipart delimiter in the body"));
                }
            },
            State::Delimiter => {}
        }
        // After a delimiter: `--` (the close delimiter) or transport padding and CRLF.
        loop {
            if let Some(i) = memchr::memmem::find(&self.buf, b"\r\n") {
                let line = &self.buf[..i];
                if line.starts_with(b"--") {
                    self.state = State::Done;
                    return Ok(None);
                }
                if !line.iter().all(|&b| b == b' ' || b == b'\t') {
                    return Err(bad("junk after a multipart delimiter"));
                }
                self.buf.drain(..i + 2);
                break;
            }
            if self.buf.starts_with(b"--") && self.eof {
                self.state = State::Done;
                return Ok(None);
            }
            if self.buf.len() > 256 {
                return Err(bad("junk after a multipart delimiter"));
            }
            if !self.fill(src)? {
                if self.buf.starts_with(b"--") {
                    self.state = State::Done;
                    return Ok(None);
                }
                return Err(bad("the body ended after a delimiter"));
            }
        }
        // The part's header block, up to an empty line.
        let end = loop {
            if self.buf.starts_with(b"\r\n") {
                break 0;
            }
            if let Some(i) = memchr::memmem::find(&self.buf, b"\r\n\r\n") {
                break i + 2;
            }
            if self.buf.len() > MAX_PART_HEAD {
                return Err(bad("a part's header block is too large"));
            }
            if !self.fill(src)? {
                return Err(bad("the body ended inside a part's headers"));
            }
        };
        let head = parse_part_head(&self.buf[..end]);
        self.buf.drain(..end + 2);
        self.state = State::Data;
        Ok(Some(head))
    }
}

/// The `name` and `filename` of a part's `Content-Disposition: form-data` line.
fn parse_part_head(block: &[u8]) -> PartHead {
    let mut head = PartHead::default();
    for line in block.split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            continue;
        };
        if !line[..colon]
            .trim_ascii()
            .eq_ignore_ascii_case(b"content-disposition")
        {
            continue;
        }
        for (key, value) in params(&line[colon + 1..]) {
            if key.eq_ignore_ascii_case(b"name") {
                head.name = Some(value);
            } else if key.eq_ignore_ascii_case(b"filename") {
                head.filename = Some(value);
            }
        }
    }
    head
}

/// `; key=value` parameters (values a token or a quoted string with `\` escapes) after the
/// disposition type.
pub(crate) fn params(value: &[u8]) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut out = Vec::new();
    let mut rest = value;
    // Skip the disposition type (or media type).
    match rest.iter().position(|&b| b == b';') {
        Some(i) => rest = &rest[i + 1..],
        None => return out,
    }
    loop {
        rest = rest.trim_ascii_start();
        let Some(eq) = rest.iter().position(|&b| b == b'=' || b == b';') else {
            return out;
        };
        if rest[eq] == b';' {
            rest = &rest[eq + 1..];
            continue;
        }
        let key = rest[..eq].trim_ascii().to_vec();
        rest = rest[eq + 1..].trim_ascii_start();
        let mut val = Vec::new();
        if rest.first() == Some(&b'"') {
            let mut i = 1;
            while i < rest.len() && rest[i] != b'"' {
                if rest[i] == b'\\' && i + 1 < rest.len() {
                    i += 1;
                }
                val.push(rest[i]);
                i += 1;
            }
            rest = &rest[(i + 1).min(rest.len())..];
            match rest.iter().position(|&b| b == b';') {
                Some(j) => rest = &rest[j + 1..],
                None => rest = &[],
            }
        } else {
            let end = rest.iter().position(|&b| b == b';').unwrap_or(rest.len());
            val.extend_from_slice(rest[..end].trim_ascii());
            rest = &rest[(end + 1).min(rest.len())..];
        }
        out.push((key, val));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reads in pieces of `step` bytes, to cross every chunk edge.
    struct Trickle<'a> {
        data: &'a [u8],
        step: usize,
    }

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = self.step.min(buf.len()).min(self.data.len());
            buf[..n].copy_from_slice(&self.data[..n]);
            self.data = &self.data[n..];
            Ok(n)
        }
    }

    fn parse(body: &[u8], step: usize) -> io::Result<Vec<(PartHead, Vec<u8>)>> {
        let mut src = Trickle { data: body, step };
        let mut m = Multipart::new(b"XyZ");
        let mut parts = Vec::new();
        while let Some(head) = m.next_part(&mut src)? {
            let mut data = Vec::new();
            let mut buf = [0u8; 7];
            loop {
                let n = m.read(&mut src, &mut buf)?;
                if n == 0 {
                    break;
                }
                data.extend_from_slice(&buf[..n]);
            }
            parts.push((head, data));
        }
        Ok(parts)
    }

    #[test]
    fn parts_across_every_chunk_edge() {
        let body = b"preamble\r\n--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\nContent-Type: text/plain\r\n\r\nline one\r\n--XyQ is not here\r\n--Xy\r\n--XyZ\r\ncontent-disposition: form-data; name=note\r\n\r\n\r\n--XyZ--\r\nepilogue";
        for step in [1, 2, 3, 5, 16, 1000] {
            let parts = parse(body, step).unwrap();
            assert_eq!(parts.len(), 2, "step {step}");
            assert_eq!(parts[0].0.name.as_deref(), Some(&b"file"[..]));
            assert_eq!(parts[0].0.filename.as_deref(), Some(&b"a.txt"[..]));
            assert_eq!(parts[0].1, b"line one\r\n--XyQ is not here\r\n--Xy");
            assert_eq!(parts[1].0.name.as_deref(), Some(&b"note"[..]));
            assert_eq!(parts[1].1, b"");
        }
        let at_start = b"--XyZ\r\nContent-Disposition: form-data; name=\"f\"\r\n\r\nx\r\n--XyZ--";
        assert_eq!(parse(at_start, 1).unwrap()[0].1, b"x");
    }

    #[test]
    fn malformed() {
        assert!(parse(b"no delimiter at all", 4).is_err());
        assert!(parse(b"--XyZ\r\nContent-Disposition: form-data\r\n\r\ncut", 4).is_err());
        assert!(parse(b"--XyZjunk\r\n\r\n", 4).is_err());
    }

    #[test]
    fn quoted_params() {
        let p = params(br#" form-data; name="a\"b"; filename=x.txt ; z"#);
        assert_eq!(p[0], (b"name".to_vec(), b"a\"b".to_vec()));
        assert_eq!(p[1], (b"filename".to_vec(), b"x.txt".to_vec()));
    }
}
