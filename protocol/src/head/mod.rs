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
pub(crate) use request_line::{has_control, is_tchar};

use bytes::{Bytes, BytesMut};

use crate::{Config, Headers, ParseMode, RequestError, RequestHead, Version};
use request_line::{LineOutcome, RequestLine};

/// What one call to [`HeadReader::advance`] achieved.
// A return value that is matched at once and never stored: boxing the head to even out the
// variants would add an allocation to every request.
#[allow(clippy::large_enum_variant)]
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
    /// Whether the one-pass attempt on a complete block was made for this head (it is made
    /// at most once, so a block trickling in is never re-parsed from its start).
    tried_whole: bool,
    /// The last request line seen (ending stripped), kept after a parse error so the
    /// application can log it as CPython does.
    last_line: Option<Bytes>,
}

impl HeadReader {
    /// The request line of the head being read (or that failed to parse), ending stripped.
    pub(crate) fn last_line(&self) -> Option<&Bytes> {
        self.last_line
            .as_ref()
            .or(self.line.as_ref().map(|(_, line)| line))
    }

    /// Whether CPython 3.14 answers `error` without a status line or headers: its
    /// `request_version` is still the default `HTTP/0.9` when the request line failed before a
    /// valid version was stored, or when the line itself said `HTTP/0.9`. (3.15 fixed this;
    /// strict mode always sends a full head.)
    pub(crate) fn cpython_headless_error(&self, error: &RequestError) -> bool {
        match error {
            RequestError::BadVersion { .. }
            | RequestError::UnsupportedVersion { .. }
            | RequestError::BadHttp09Method { .. } => true,
            RequestError::BadRequestSyntax { line } => {
                request_line::compat_version(line).is_none_or(|v| &v[..] == b"HTTP/0.9")
            }
            _ => self
                .line
                .as_ref()
                .is_some_and(|(line, _)| &line.version_raw[..] == b"HTTP/0.9"),
        }
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
            let raw = input.split_to(lf + 1);
            self.scanned = 0;
            if let Some(progress) = self.take_line(raw, config)? {
                return Ok(progress);
            }
        }
        if !self.tried_whole && self.scanned == 0 && config.parse_mode == ParseMode::Strict {
            self.tried_whole = true;
            if let Some(head) = self.try_whole_block(input, config) {
                return head.map(Progress::Head);
            }
        }
        loop {
            let Some(lf) = find_lf(input, self.scanned) else {
                if input.len() > self.scanned {
                    let content = input.len() - self.scanned;
                    if let Some(e) =
                        crossed_limit(self.scanned, content, input.len() - 1, &config.limits)
                    {
                        return Err(e);
                    }
                }
                return Ok(Progress::NeedMore);
            };
            if let Some(e) = crossed_limit(self.scanned, lf - self.scanned, lf, &config.limits) {
                return Err(e);
            }
            let line = &input[self.scanned..=lf];
            if line == b"\n" || line == b"\r\n" {
                let block = input.split_to(lf + 1).freeze();
                return self.finish(&block, config).map(Progress::Head);
            }
            self.lines += 1;
            // CPython up to 3.14 counts the blank line that ends the block as well, so in
            // compat mode the last allowed field line is refused, exactly as there.
            let counted = self.lines + usize::from(config.parse_mode == ParseMode::Compat);
            if counted > config.limits.max_headers {
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
            let raw = input.split();
            if let Some(progress) = self.take_line(raw, config)? {
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
        raw: BytesMut,
        config: &Config,
    ) -> Result<Option<Progress>, RequestError> {
        let line = strip_line_ending(raw, config.parse_mode);
        // Kept for the error path only (a clone costs two atomic updates per request).
        let outcome = match request_line::parse(&line, config.parse_mode, config.allow_http09) {
            Ok(outcome) => outcome,
            Err(e) => {
                self.last_line = Some(line);
                return Err(e);
            }
        };
        match outcome {
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

    /// The common case, a block that arrived whole, in one pass: httparse finds and parses
    /// its lines, then the limits are checked on the lines it found, in order, exactly as the
    /// line-by-line scan checks them, so the verdict is the same. Anything else (an
    /// incomplete block, a line httparse refuses, more fields than fit on the stack) returns
    /// `None` and takes the scan, which has the final word on errors.
    fn try_whole_block(
        &mut self,
        input: &mut BytesMut,
        config: &Config,
    ) -> Option<Result<RequestHead, RequestError>> {
        const MAX_FIELDS: usize = 32;
        let limits = &config.limits;
        let mut storage = [httparse::EMPTY_HEADER; MAX_FIELDS];
        let storage = &mut storage[..limits.max_headers.min(MAX_FIELDS)];
        let Ok(httparse::Status::Complete((len, fields))) = httparse::parse_headers(input, storage)
        else {
            return None;
        };
        let mut headers = Headers::with_capacity(fields.len());
        let mut start = 0;
        for (i, field) in fields.iter().enumerate() {
            let name = header_block::span_of(input, field.name.as_bytes());
            let value = header_block::span_of(input, field.value);
            debug_assert_eq!(name.start, start);
            // The line ends at the LF after the value (after any whitespace and CR).
            let lf = match fields.get(i + 1) {
                Some(next) => header_block::span_of(input, next.name.as_bytes()).start - 1,
                None => find_lf(input, value.end)?,
            };
            if let Some(e) = crossed_limit(start, lf - start, lf, limits) {
                return Some(Err(e));
            }
            if i + 1 > limits.max_headers {
                return Some(Err(RequestError::TooManyHeaders));
            }
            headers.push_range(name, value);
            start = lf + 1;
        }
        // The blank line that ends the block counts toward the block's size.
        if let Some(e) = crossed_limit(start, len - 1 - start, len - 1, limits) {
            return Some(Err(e));
        }
        self.lines = fields.len();
        headers.set_source(input.split_to(len).freeze());
        Some(self.complete(Ok(headers), config))
    }

    fn finish(&mut self, block: &Bytes, config: &Config) -> Result<RequestHead, RequestError> {
        // Every field takes at least one line, so the lines counted bound the fields.
        let capacity = self.lines.min(config.limits.max_headers);
        let headers = if block.is_empty() {
            Ok(Headers::new())
        } else {
            header_block::parse(block, config.parse_mode, capacity)
        };
        self.complete(headers, config)
    }

    /// Turns the parsed block into the request head, or the error into the reader's final
    /// state, and resets the reader for the next head.
    fn complete(
        &mut self,
        headers: Result<Headers, RequestError>,
        config: &Config,
    ) -> Result<RequestHead, RequestError> {
        let (line, request_line) = self
            .line
            .take()
            .expect("request line parsed before the block");
        *self = Self::default();
        let parsed = headers.and_then(|headers| {
            framing::analyse(line.version, &headers, config).map(|s| (headers, s))
        });
        let (headers, semantics) = match parsed {
            Ok(parsed) => parsed,
            Err(e) => {
                // The application logs the line of a head that failed, as CPython does.
                self.last_line = Some(request_line);
                return Err(e);
            }
        };
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

/// The first header-block limit the line starting at `start` crosses, if any.
///
/// `content` counts the line's bytes before its LF (all of them while the LF has not
/// arrived); `last` is the index of the line's last byte seen so far (its LF, once there).
/// Each limit is judged by the byte at which it is crossed, not by the order of the checks,
/// so the verdict is the same however the head was split across reads: a head that arrives
/// whole is held to the block limit exactly as one that trickles in.
fn crossed_limit(
    start: usize,
    content: usize,
    last: usize,
    limits: &crate::Limits,
) -> Option<RequestError> {
    // A line of `max_header_line` bytes without its LF is already too long.
    let line = (content >= limits.max_header_line)
        .then(|| start + limits.max_header_line.saturating_sub(1));
    // The block (terminating blank line included) may hold `max_head` bytes.
    let head = (last >= limits.max_head).then_some(limits.max_head);
    match (line, head) {
        (Some(l), Some(h)) if h < l => Some(RequestError::HeadTooLarge),
        (Some(_), _) => Some(RequestError::HeaderLineTooLong),
        (None, Some(_)) => Some(RequestError::HeadTooLarge),
        (None, None) => None,
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

/// Strict: the line ends in LF or CRLF. Compat: CPython's `rstrip('\r\n')`. Trimmed
/// before it is frozen, so the line costs one reference to the receive buffer, not two.
fn strip_line_ending(mut raw: BytesMut, mode: ParseMode) -> Bytes {
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
    raw.truncate(end);
    raw.freeze()
}

/// Parses a chunked body's trailer section (through its blank line) with the strict rules.
pub(crate) fn parse_trailers(block: &Bytes, max_fields: usize) -> Result<Headers, RequestError> {
    header_block::parse(block, ParseMode::Strict, max_fields)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs the reader over `wire` delivered in pieces of `step` bytes; returns the outcome
    /// at the first head or error.
    fn read(wire: &[u8], step: usize, config: &Config) -> Result<RequestHead, RequestError> {
        let mut reader = HeadReader::default();
        let mut input = BytesMut::new();
        for piece in wire.chunks(step) {
            input.extend_from_slice(piece);
            match reader.advance(&mut input, config)? {
                Progress::Head(head) => return Ok(head),
                Progress::NeedMore => {}
                Progress::Blank => panic!("blank line"),
            }
        }
        panic!("head incomplete")
    }

    fn small(max_head: usize, max_header_line: usize) -> Config {
        let mut config = Config::default();
        config.limits.max_head = max_head;
        config.limits.max_header_line = max_header_line;
        config
    }

    #[test]
    fn head_size_limit_holds_whole_or_trickled() {
        // Regression (fuzz `request_head`): the block limit was only checked while waiting
        // for a line end, so a head arriving in one read slipped past it.
        let wire = b"GET / HTTP/1.0\r\nA: 12345678\r\nB: 12345678\r\nC: 12345678\r\n\r\n";
        let config = small(30, 100);
        for step in [1, 7, wire.len()] {
            assert_eq!(
                read(wire, step, &config).unwrap_err(),
                RequestError::HeadTooLarge,
                "step {step}"
            );
        }
        // 39 bytes of header lines plus the blank line: 41 fits 41, not 40.
        assert!(read(wire, wire.len(), &small(41, 100)).is_ok());
        assert!(read(wire, 1, &small(41, 100)).is_ok());
        for step in [1, wire.len()] {
            assert_eq!(
                read(wire, step, &small(40, 100)).unwrap_err(),
                RequestError::HeadTooLarge
            );
        }
    }

    #[test]
    fn first_limit_crossed_wins_however_split() {
        // The block limit is crossed at byte 20, inside a line that only becomes too long at
        // byte 10 + 30: the block limit is the verdict, whole or in pieces.
        let wire = format!("GET / HTTP/1.0\r\nA: 1234\r\nB: {}\r\n\r\n", "x".repeat(40));
        let config = small(20, 30);
        for step in [1, 3, 16, wire.len()] {
            assert_eq!(
                read(wire.as_bytes(), step, &config).unwrap_err(),
                RequestError::HeadTooLarge,
                "step {step}"
            );
        }
        // With room in the block, the long line is what fails.
        let config = small(1000, 30);
        for step in [1, wire.len()] {
            assert_eq!(
                read(wire.as_bytes(), step, &config).unwrap_err(),
                RequestError::HeaderLineTooLong
            );
        }
    }
}
