//! Reading a request head out of the receive buffer, incrementally.
//!
//! The reader scans complete lines only once, however the bytes are split across reads, so a
//! client dripping one byte at a time costs linear work. It enforces the line-length and
//! header-count limits while scanning, before anything is parsed, so a hostile head is refused
//! as soon as it crosses a limit rather than after it has been buffered whole.

mod framing;
mod header_block;
mod request_line;

pub(crate) use framing::parse_decimal;
pub(crate) use request_line::is_tchar;

use bytes::{Bytes, BytesMut};

use crate::{Config, Headers, ParseMode, RequestError, RequestHead, Version};
use request_line::{LineOutcome, RequestLine};

/// What one call to [`HeadReader::advance`] achieved.
#[derive(Debug)]
pub(crate) enum Progress {
    /// More bytes are needed.
    NeedMore,
    /// A complete head was parsed and removed from the buffer.
    Head(RequestHead),
    /// A whitespace-only request line (compat mode): CPython closes without a reply.
    Blank,
}

/// Incremental head reader; one per connection, reset after every head.
#[derive(Debug, Default)]
pub(crate) struct HeadReader {
    /// The request line once parsed, with the raw line (ending stripped).
    line: Option<(RequestLine, Bytes)>,
    /// Bytes of the buffer already scanned without finding what we look for.
    scanned: usize,
    /// Header lines seen so far.
    lines: usize,
    /// The last request line seen (ending stripped), kept after a parse error so the
    /// application can log it as CPython does.
    last_line: Option<Bytes>,
}

impl HeadReader {
    /// The request line of the head being read (or that failed to parse), ending stripped.
    pub(crate) fn last_line(&self) -> Option<&Bytes> {
        self.last_line.as_ref()
    }

    /// Whether part of a head has arrived (the header-read deadline should run).
    pub(crate) fn started(&self, input: &[u8]) -> bool {
        self.line.is_some() || !input.is_empty()
    }

    /// Scans and, once complete, parses a head at the start of `input`.
    pub(crate) fn advance(
        &mut self,
        input: &mut BytesMut,
        config: &Config,
    ) -> Result<Progress, RequestError> {
        if self.line.is_none() {
            if config.parse_mode == ParseMode::Strict && skip_empty_lines(input) {
                self.scanned = 0;
            }
            let Some(lf) = find_lf(input, self.scanned) else {
                if input.len() >= config.limits.max_request_line {
                    return Err(RequestError::RequestLineTooLong);
                }
                self.scanned = input.len();
                return Ok(Progress::NeedMore);
            };
            if lf + 1 > config.limits.max_request_line {
                return Err(RequestError::RequestLineTooLong);
            }
            let raw = input.split_to(lf + 1).freeze();
            self.scanned = 0;
            if let Some(progress) = self.take_line(&raw, config)? {
                return Ok(progress);
            }
        }
        loop {
            let Some(lf) = find_lf(input, self.scanned) else {
                if input.len() - self.scanned >= config.limits.max_header_line {
                    return Err(RequestError::HeaderLineTooLong);
                }
                if input.len() > config.limits.max_head {
                    return Err(RequestError::HeadTooLarge);
                }
                return Ok(Progress::NeedMore);
            };
            let line = &input[self.scanned..=lf];
            if line == b"\n" || line == b"\r\n" {
                let block = input.split_to(lf + 1).freeze();
                return self.finish(&block, config).map(Progress::Head);
            }
            if line.len() > config.limits.max_header_line {
                return Err(RequestError::HeaderLineTooLong);
            }
            self.lines += 1;
            if self.lines > config.limits.max_headers {
                return Err(RequestError::TooManyHeaders);
            }
            self.scanned = lf + 1;
        }
    }

    /// The peer closed its side. CPython treats end-of-file as the end of the line and of the
    /// header block, so compat mode parses what arrived; strict mode calls it truncated.
    pub(crate) fn finish_at_eof(
        &mut self,
        input: &mut BytesMut,
        config: &Config,
    ) -> Result<Progress, RequestError> {
        if config.parse_mode == ParseMode::Strict {
            return Err(RequestError::UnexpectedEof);
        }
        if self.line.is_none() {
            let raw = input.split().freeze();
            if let Some(progress) = self.take_line(&raw, config)? {
                return Ok(progress);
            }
        }
        let block = input.split().freeze();
        self.finish(&block, config).map(Progress::Head)
    }

    /// Parses a raw request line. Returns a finished outcome for HTTP/0.9 and blank lines,
    /// `None` when a header block follows.
    fn take_line(
        &mut self,
        raw: &Bytes,
        config: &Config,
    ) -> Result<Option<Progress>, RequestError> {
        let line = strip_line_ending(raw, config.parse_mode);
        self.last_line = Some(line.clone());
        match request_line::parse(&line, config.parse_mode, config.allow_http09)? {
            LineOutcome::Blank => {
                *self = Self::default();
                Ok(Some(Progress::Blank))
            }
            LineOutcome::Request(parsed) => {
                let http09 = parsed.version == Version::Http09;
                self.line = Some((parsed, line));
                if http09 {
                    return self
                        .finish(&Bytes::new(), config)
                        .map(|h| Some(Progress::Head(h)));
                }
                Ok(None)
            }
        }
    }

    fn finish(&mut self, block: &Bytes, config: &Config) -> Result<RequestHead, RequestError> {
        let (line, request_line) = self
            .line
            .take()
            .expect("request line parsed before the block");
        *self = Self::default();
        let headers = if block.is_empty() {
            Headers::new()
        } else {
            header_block::parse(block, config.parse_mode, config.limits.max_headers)?
        };
        let semantics = framing::analyse(line.version, &headers, config)?;
        Ok(RequestHead {
            method: line.method,
            target: line.target,
            version: line.version,
            version_raw: line.version_raw,
            headers,
            framing: semantics.framing,
            expects_continue: semantics.expects_continue,
            keep_alive: semantics.keep_alive,
            request_line,
        })
    }
}

fn find_lf(input: &[u8], from: usize) -> Option<usize> {
    memchr::memchr(b'\n', input.get(from..)?).map(|i| from + i)
}

/// RFC 9112 section 2.2: a server SHOULD ignore empty lines before a request line.
/// Returns whether any were skipped.
fn skip_empty_lines(input: &mut BytesMut) -> bool {
    let mut skipped = false;
    loop {
        let n = if input.starts_with(b"\r\n") {
            2
        } else if input.starts_with(b"\n") {
            1
        } else {
            return skipped;
        };
        let _ = input.split_to(n);
        skipped = true;
    }
}

/// Strict: the line ends in LF or CRLF. Compat: CPython's `rstrip('\r\n')`.
fn strip_line_ending(raw: &Bytes, mode: ParseMode) -> Bytes {
    let mut end = raw.len();
    match mode {
        ParseMode::Strict => {
            if raw[..end].ends_with(b"\n") {
                end -= 1;
            }
            if raw[..end].ends_with(b"\r") {
                end -= 1;
            }
        }
        ParseMode::Compat => {
            while end > 0 && matches!(raw[end - 1], b'\r' | b'\n') {
                end -= 1;
            }
        }
    }
    raw.slice(..end)
}

/// Parses a chunked body's trailer section (through its blank line) with the strict rules.
pub(crate) fn parse_trailers(block: &Bytes, max_fields: usize) -> Result<Headers, RequestError> {
    header_block::parse(block, ParseMode::Strict, max_fields)
}
