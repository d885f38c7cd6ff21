//! Reading a request head out of the receive buffer, incrementally.
//!
//! The reader scans complete lines only once, however the bytes are split across reads, so a
//! client dripping one byte at a time costs linear work. It enforces the line-length and
//! header-count limits while scanning, before anything is parsed, so a hostile head is refused
//! as soon as it crosses a limit rather than after it has been buffered whole.

mod authority;
mod framing;
mod header_block;
mod request_line;

pub(crate) use framing::{
    CLOSE, CONNECTION, CONTENT_LENGTH, KEEP_ALIVE, Semantics, TRANSFER_ENCODING, parse_decimal,
};

use framing::FieldFacts;
pub use request_line::is_token;
pub(crate) use request_line::{has_control, is_tchar};

use std::mem::MaybeUninit;

use bytes::{Buf, Bytes, BytesMut};

use crate::headers::TableWriter;
use crate::message::LineSpans;
use crate::span::{MAX_HEAD_BYTES, Span, range_of};
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

/// A request line that was parsed while the rest of its head is still arriving. The line
/// stays at the start of the receive buffer: the whole head is taken out in one piece.
#[derive(Debug)]
struct PendingLine {
    parts: RequestLine,
    /// Where the line ends, without its line ending.
    end: usize,
    /// Where the header block begins (after the line ending).
    block: usize,
}

/// Incremental head reader; one per connection, reset after every head.
#[derive(Debug, Default)]
pub(crate) struct HeadReader {
    /// The request line once parsed.
    line: Option<PendingLine>,
    /// Offset in the buffer up to which lines were scanned without finding what we look for.
    scanned: usize,
    /// Header lines seen so far.
    lines: usize,
    /// Whether the one-pass attempt on a complete head was made for this head (it is made at
    /// most once, so a head trickling in is never re-parsed from its start).
    tried_whole: bool,
    /// The request line (ending stripped) of a head that failed after it left the buffer,
    /// kept so the application can log it as CPython does.
    last_line: Option<Bytes>,
}

impl HeadReader {
    /// The request line of the head that failed to parse, ending stripped; `input` is the
    /// receive buffer, where a head still being read sits.
    pub(crate) fn last_line(&self, input: &[u8]) -> Option<Bytes> {
        self.last_line.clone().or_else(|| {
            let line = self.line.as_ref()?;
            Some(Bytes::copy_from_slice(&input[..line.end]))
        })
    }

    /// Whether CPython 3.14 answers `error` without a status line or headers: its
    /// `request_version` is still the default `HTTP/0.9` when the request line failed before a
    /// valid version was stored, or when the line itself said `HTTP/0.9`. (3.15 fixed this;
    /// strict mode always sends a full head.)
    pub(crate) fn cpython_headless_error(&self, error: &RequestError, input: &[u8]) -> bool {
        match error {
            RequestError::BadVersion { .. }
            | RequestError::UnsupportedVersion { .. }
            | RequestError::BadHttp09Method { .. } => true,
            RequestError::BadRequestSyntax { line } => {
                request_line::compat_version(line).is_none_or(|v| v == b"HTTP/0.9")
            }
            _ => self
                .line
                .as_ref()
                .is_some_and(|line| &input[line.parts.version_raw.clone()] == b"HTTP/0.9"),
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
        if self.line.is_none()
            && let Some(progress) = self.read_request_line(input, config)?
        {
            return Ok(progress);
        }
        let block = self.line.as_ref().expect("request line read").block;
        let limits = &config.limits;
        loop {
            let Some(lf) = find_lf(input, self.scanned) else {
                if input.len() > self.scanned {
                    let content = input.len() - self.scanned;
                    let last = input.len() - 1 - block;
                    if let Some(e) = crossed_limit(self.scanned - block, content, last, limits) {
                        return Err(e);
                    }
                }
                return Ok(Progress::NeedMore);
            };
            let start = self.scanned - block;
            if let Some(e) = crossed_limit(start, lf - self.scanned, lf - block, limits) {
                return Err(e);
            }
            let line = &input[self.scanned..=lf];
            if line == b"\n" || line == b"\r\n" {
                return self.finish(input, lf + 1, config).map(Progress::Head);
            }
            self.lines += 1;
            // CPython up to 3.14 counts the blank line that ends the block as well, so in
            // compat mode the last allowed field line is refused, exactly as there.
            let counted = self.lines + usize::from(config.parse_mode == ParseMode::Compat);
            if counted > limits.max_headers {
                return Err(RequestError::TooManyHeaders);
            }
            self.scanned = lf + 1;
        }
    }

    /// Reads the request line (or the whole head, when it is all there). `None` when the line
    /// was parsed and its header block follows.
    fn read_request_line(
        &mut self,
        input: &mut BytesMut,
        config: &Config,
    ) -> Result<Option<Progress>, RequestError> {
        if config.parse_mode == ParseMode::Strict {
            if skip_empty_lines(input) {
                self.scanned = 0;
            }
            // Empty lines alone are not an attempt: the head usually follows in the next read.
            if !self.tried_whole && !input.is_empty() {
                self.tried_whole = true;
                if let Some(head) = self.try_whole(input, config) {
                    return head.map(|head| Some(Progress::Head(head)));
                }
            }
        }
        let Some(lf) = find_lf(input, self.scanned) else {
            // A lone CR may be the start of an empty line that strict mode skips.
            let maybe_empty_line = config.parse_mode == ParseMode::Strict && input[..] == *b"\r";
            if input.len() >= config.limits.max_request_line && !maybe_empty_line {
                return Err(RequestError::RequestLineTooLong);
            }
            self.scanned = input.len();
            return Ok(Some(Progress::NeedMore));
        };
        if lf + 1 > config.limits.max_request_line {
            return Err(RequestError::RequestLineTooLong);
        }
        self.scanned = lf + 1;
        self.take_line(input, lf + 1, config)
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
        if self.line.is_none()
            && let Some(progress) = self.take_line(input, input.len(), config)?
        {
            return Ok(progress);
        }
        self.finish(input, input.len(), config).map(Progress::Head)
    }

    /// Parses the request line that takes the first `len` bytes of `input` (its line ending
    /// included). Returns a finished outcome for HTTP/0.9 and blank lines, `None` when a
    /// header block follows.
    fn take_line(
        &mut self,
        input: &mut BytesMut,
        len: usize,
        config: &Config,
    ) -> Result<Option<Progress>, RequestError> {
        let end = line_end(&input[..len], config.parse_mode);
        let outcome = request_line::parse(&input[..end], config.parse_mode, config.allow_http09)
            .inspect_err(|_| self.last_line = Some(Bytes::copy_from_slice(&input[..end])))?;
        match outcome {
            LineOutcome::Blank => {
                input.advance(len);
                *self = Self::default();
                Ok(Some(Progress::Blank))
            }
            LineOutcome::Request(parts) => {
                let http09 = parts.version == Version::Http09;
                self.line = Some(PendingLine {
                    parts,
                    end,
                    block: len,
                });
                if http09 {
                    return self
                        .finish(input, len, config)
                        .map(|h| Some(Progress::Head(h)));
                }
                Ok(None)
            }
        }
    }

    /// The common case, a head that arrived whole, in one pass: httparse parses the request
    /// line and every field, then the strict rules and the limits are checked on what it
    /// found, in order, exactly as the line-by-line scan checks them. Anything else (an
    /// incomplete head, a line httparse or a limit refuses, more fields than fit on the
    /// stack, HTTP/0.9) returns `None` and takes the scan, which has the final word on
    /// errors, so the verdict never depends on how the bytes were split.
    fn try_whole(
        &mut self,
        input: &mut BytesMut,
        config: &Config,
    ) -> Option<Result<RequestHead, RequestError>> {
        const MAX_FIELDS: usize = 32;
        let limits = &config.limits;
        let mut storage = [const { MaybeUninit::<httparse::Header<'_>>::uninit() }; MAX_FIELDS];
        let storage = &mut storage[..limits.max_headers.min(MAX_FIELDS)];
        let mut request = httparse::Request::new(&mut []);
        let Ok(httparse::Status::Complete(len)) = request.parse_with_uninit_headers(input, storage)
        else {
            return None;
        };
        let (Some(method), Some(target), Some(minor)) =
            (request.method, request.path, request.version)
        else {
            return None;
        };
        let method = range_of(input, method.as_bytes());
        let target = range_of(input, target.as_bytes());
        // `method SP target SP HTTP/1.x (CR)LF`, as httparse requires by default; checked
        // rather than assumed, so a lenient httparse could never widen what is accepted.
        let version = target.end + 1..target.end + 9;
        let end_of_line = match input.get(version.end..version.end + 2)? {
            [b'\r', b'\n'] => version.end + 2,
            [b'\n', _] => version.end + 1,
            _ => return None,
        };
        if method.start != 0
            || input[target.end] != b' '
            || &input[version.start..version.end - 1] != b"HTTP/1."
            || end_of_line > limits.max_request_line
            // httparse took the method as a token and the target free of whitespace and
            // control bytes, exactly the strict rules (pinned by a test below), so only the
            // target's form is left to check here.
            || !request_line::valid_target_form(&input[method.clone()], &input[target.clone()])
            || len > MAX_HEAD_BYTES
        {
            return None;
        }
        let fields = &*request.headers;
        // Each field line ends at the LF before the next name; the last one before the blank
        // line that ends the block. That line is `\r\n` exactly when the head ends so: the
        // byte before it is the LF of the line before (httparse allows no bare CR).
        let blank = if input[..len].ends_with(b"\r\n") {
            len - 2
        } else {
            len - 1
        };
        // Limits count from the start of the header block, as the scan counts them.
        let block = end_of_line;
        // No line of a block shorter than both limits can cross either: the per-line checks
        // are for large heads only.
        let check_lines = len - block > limits.max_header_line.min(limits.max_head);
        let mut table = TableWriter::new();
        let mut facts = FieldFacts::default();
        let mut start = block;
        for (i, field) in fields.iter().enumerate() {
            table.push(header_block::field_span(input, field));
            facts.note(field.name.as_bytes(), field.value);
            if check_lines {
                let lf = match fields.get(i + 1) {
                    Some(next) => range_of(input, next.name.as_bytes()).start - 1,
                    None => blank - 1,
                };
                if crossed_limit(start - block, lf - start, lf - block, limits).is_some() {
                    return None;
                }
                start = lf + 1;
            }
        }
        // The blank line that ends the block counts toward the block's size.
        let lf = len - 1;
        if check_lines && crossed_limit(start - block, lf - start, lf - block, limits).is_some() {
            return None;
        }
        let line = PendingLine {
            parts: RequestLine {
                method,
                target,
                version: Version::Http {
                    major: 1,
                    minor: u64::from(minor),
                },
                version_raw: version.clone(),
            },
            end: version.end,
            block,
        };
        let mut headers = Headers::new();
        headers.set_received(seal(input, len, table.bytes()), len);
        Some(self.assemble(&line, headers, &facts, config))
    }

    /// Takes the head, the first `len` bytes of `input`, out of the buffer in one piece and
    /// parses its header block.
    fn finish(
        &mut self,
        input: &mut BytesMut,
        len: usize,
        config: &Config,
    ) -> Result<RequestHead, RequestError> {
        let line = self
            .line
            .take()
            .expect("request line parsed before the block");
        // Every field takes at least one line, so the lines counted bound the fields.
        let capacity = self.lines.min(config.limits.max_headers);
        *self = Self::default();
        if len > MAX_HEAD_BYTES {
            self.last_line = Some(Bytes::copy_from_slice(&input[..line.end]));
            return Err(RequestError::HeadTooLarge);
        }
        let mut table = TableWriter::new();
        let headers = if line.block == len {
            Ok(Headers::new())
        } else {
            header_block::parse(
                &input[..len],
                line.block,
                config.parse_mode,
                capacity,
                &mut table,
            )
        };
        match headers {
            Ok(mut headers) => {
                headers.set_received(seal(input, len, table.bytes()), len);
                let facts = FieldFacts::of(&headers);
                self.assemble(&line, headers, &facts, config)
            }
            Err(e) => {
                let head = input.split_to(len).freeze();
                self.last_line = Some(head.slice(..line.end));
                Err(e)
            }
        }
    }

    /// Builds the request head from its line and fields (whose source is the whole head)
    /// and the facts noted from the fields,
    /// or keeps the line for logging if the fields' framing is refused.
    fn assemble(
        &mut self,
        line: &PendingLine,
        headers: Headers,
        facts: &FieldFacts,
        config: &Config,
    ) -> Result<RequestHead, RequestError> {
        *self = Self::default();
        let version = line.parts.version;
        match framing::analyse_facts(version, &headers, facts, config) {
            Ok(semantics) => {
                let spans = LineSpans {
                    method: Span::new(line.parts.method.clone()),
                    target: Span::new(line.parts.target.clone()),
                    version: Span::new(line.parts.version_raw.clone()),
                    // Within the head, which is held below 4 GiB.
                    line_end: line.end as u32,
                };
                Ok(RequestHead::new(headers, spans, version, semantics))
            }
            Err(e) => {
                // The application logs the line of a head that failed, as CPython does.
                self.last_line = Some(headers.source().slice(..line.end));
                Err(e)
            }
        }
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

/// Pipelined bytes behind a head that [`seal`] moves to make room for the head's field table;
/// behind more, the head is copied out instead. Moving costs a copy of what follows the head
/// for every head, so without a bound a read full of small pipelined requests would be
/// copied over and over (quadratic work); with it, a head costs at most this much copying.
const MOVE_LIMIT: usize = 4 * 1024;

/// Cuts the head, the first `len` bytes of `input`, out of the buffer with its field table
/// `table` right behind it, in one `Bytes` (see `headers`, the field table).
///
/// The head usually ends the buffer (a client sends its next request after the response),
/// and the table is then appended in place, in room the buffer usually has: no allocation.
/// Bytes that arrived behind the head (a body, pipelined requests) are moved up by the
/// table's size, up to [`MOVE_LIMIT`] of them; behind more, the head and its table are
/// copied into a buffer of their own.
fn seal(input: &mut BytesMut, len: usize, table: &[u8]) -> Bytes {
    let rest = input.len() - len;
    if rest > 0 && !table.is_empty() {
        if rest > MOVE_LIMIT {
            let mut own = BytesMut::with_capacity(len + table.len());
            own.extend_from_slice(&input[..len]);
            own.extend_from_slice(table);
            input.advance(len);
            return own.freeze();
        }
        // Grow by the table's size, move what follows the head to the end, and write the
        // table where it was.
        input.extend_from_slice(table);
        input.copy_within(len..len + rest, len + table.len());
    }
    if rest == 0 {
        input.extend_from_slice(table);
    } else {
        input[len..len + table.len()].copy_from_slice(table);
    }
    input.split_to(len + table.len()).freeze()
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
        input.advance(n);
        skipped = true;
    }
}

/// Where a raw request line ends once its line ending is removed. Strict: the line ends in
/// LF or CRLF. Compat: CPython's `rstrip('\r\n')`.
fn line_end(raw: &[u8], mode: ParseMode) -> usize {
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
    end
}

/// Parses a chunked body's trailer section (through its blank line), the first `len` bytes
/// of `input`, with the strict rules, and takes it out of the buffer with its field table,
/// as a head is.
pub(crate) fn parse_trailers(
    input: &mut BytesMut,
    len: usize,
    max_fields: usize,
) -> Result<Headers, RequestError> {
    let parsed = if len > MAX_HEAD_BYTES {
        // Fields are addressed with 32-bit spans, whatever `max_trailer_bytes` allows.
        Err(RequestError::ChunkTooLarge)
    } else {
        let mut table = TableWriter::new();
        header_block::parse(&input[..len], 0, ParseMode::Strict, max_fields, &mut table)
            .map(|_| table)
    };
    match parsed {
        Ok(table) => {
            let mut headers = Headers::new();
            headers.set_received(seal(input, len, table.bytes()), len);
            Ok(headers)
        }
        Err(e) => {
            input.advance(len);
            Err(e)
        }
    }
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
    fn whole_and_trickled_heads_are_the_same_head() {
        // The one-pass parse (whole) and the line scan (byte by byte) must agree on every
        // part, line endings of every kind included.
        let config = Config::default();
        for wire in [
            &b"GET /a?b=c HTTP/1.1\r\nHost: x\r\nX-Empty:\r\nX-Pad: \t v \r\n\r\n"[..],
            b"GET / HTTP/1.1\nHost: x\n\n",
            b"GET / HTTP/1.1\r\nHost: x\n\r\n",
            b"GET / HTTP/1.1\nHost: x\r\n\n",
            b"GET / HTTP/1.0\r\n\r\n",
            b"GET / HTTP/1.0\n\r\n",
            b"\r\n\r\nOPTIONS * HTTP/1.0\r\n\r\n",
        ] {
            let whole = read(wire, wire.len(), &config).unwrap();
            let trickled = read(wire, 1, &config).unwrap();
            assert_eq!(whole, trickled, "{:?}", String::from_utf8_lossy(wire));
            assert!(wire.ends_with(whole.raw()));
            assert!(whole.raw().starts_with(whole.request_line()));
        }
        let head = read(
            b"GET /a?b=c HTTP/1.1\r\nHost: x\r\nX-Pad: \t v \r\n\r\n",
            64,
            &config,
        )
        .unwrap();
        assert_eq!(
            (head.method(), head.target(), head.version_raw()),
            (&b"GET"[..], &b"/a?b=c"[..], &b"HTTP/1.1"[..])
        );
        assert_eq!(head.headers().get("x-pad"), Some(&b"v"[..]));
    }

    #[test]
    fn bad_targets_and_hosts_are_refused_whole_or_trickled() {
        // The one-pass parse and the line scan must give the same verdict on every target
        // form and every Host value.
        let config = Config::default();
        let syntax = |line: &str| RequestError::BadRequestSyntax {
            line: Bytes::copy_from_slice(line.as_bytes()),
        };
        for (wire, want) in [
            ("GET HTTP/1.1\r\n", syntax("GET HTTP/1.1")),
            (
                "GET a.txt HTTP/1.1\r\nHost: a\r\n\r\n",
                syntax("GET a.txt HTTP/1.1"),
            ),
            (
                "GET * HTTP/1.1\r\nHost: a\r\n\r\n",
                syntax("GET * HTTP/1.1"),
            ),
            (
                "CONNECT / HTTP/1.1\r\nHost: a\r\n\r\n",
                syntax("CONNECT / HTTP/1.1"),
            ),
            (
                "GET / HTTP/1.1\r\nHost: a b\r\n\r\n",
                RequestError::InvalidHost,
            ),
            (
                "GET / HTTP/1.1\r\nHost: u@h\r\n\r\n",
                RequestError::InvalidHost,
            ),
            (
                "GET / HTTP/1.0\r\nHost: [::1\r\n\r\n",
                RequestError::InvalidHost,
            ),
            (
                "GET / HTTP/1.0\r\nHost: a\r\nHost: a\r\n\r\n",
                RequestError::BadHost,
            ),
        ] {
            for step in [1, 5, wire.len()] {
                assert_eq!(
                    read(wire.as_bytes(), step, &config).unwrap_err(),
                    want,
                    "{wire:?} step {step}"
                );
            }
        }
        for wire in [
            "GET http://h:80/a HTTP/1.1\r\nHost: h:80\r\n\r\n",
            "OPTIONS * HTTP/1.1\r\nHost: \r\n\r\n",
            "CONNECT h:443 HTTP/1.1\r\nHost: h:443\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: [::1]:8000 \r\n\r\n",
        ] {
            for step in [1, wire.len()] {
                assert!(read(wire.as_bytes(), step, &config).is_ok(), "{wire:?}");
            }
        }
    }

    #[test]
    fn httparse_holds_method_and_target_to_the_strict_rules() {
        // The one-pass parse leaves the method's token rule and the target's ban on
        // whitespace and control bytes to httparse: whatever it accepts must pass them.
        for b in 0..=255u8 {
            let wire = [&b"G"[..], &[b], b"T /a HTTP/1.1\r\n\r\n"].concat();
            let mut fields = [httparse::EMPTY_HEADER; 4];
            let mut request = httparse::Request::new(&mut fields);
            if let Ok(httparse::Status::Complete(_)) = request.parse(&wire) {
                let method = request.method.unwrap().as_bytes();
                assert!(method.iter().all(|&c| is_tchar(c)), "method byte {b:#x}");
            }
            let wire = [&b"GET /a"[..], &[b], b"b HTTP/1.1\r\n\r\n"].concat();
            let mut fields = [httparse::EMPTY_HEADER; 4];
            let mut request = httparse::Request::new(&mut fields);
            if let Ok(httparse::Status::Complete(_)) = request.parse(&wire) {
                let target = request.path.unwrap().as_bytes();
                assert!(!has_control(target, 0x21), "target byte {b:#x}");
            }
        }
    }

    #[test]
    fn an_empty_line_split_after_its_cr_is_still_skipped() {
        // Regression (review): a lone CR was held to the request-line limit before the LF
        // that makes it a skippable empty line arrived.
        let mut config = Config::default();
        config.limits.max_request_line = 1;
        for step in [1, 2] {
            let mut reader = HeadReader::default();
            let mut input = BytesMut::new();
            for piece in b"\r\n".chunks(step) {
                input.extend_from_slice(piece);
                assert!(
                    matches!(reader.advance(&mut input, &config), Ok(Progress::NeedMore)),
                    "step {step}"
                );
            }
            assert!(input.is_empty());
        }
    }

    #[test]
    fn a_whole_head_leaves_pipelined_bytes_in_the_buffer() {
        // Nothing, a few bytes (moved up for the field table) and more than `MOVE_LIMIT`
        // (the head copied out instead) behind the head; whole and trickled.
        let long = vec![b'x'; MOVE_LIMIT + 1];
        for rest in [&b""[..], b"GET /2 HT", &long] {
            for step in [1, 7, usize::MAX] {
                let wire = [&b"GET /1 HTTP/1.1\r\nHost: x\r\nA: b\r\n\r\n"[..], rest].concat();
                let mut reader = HeadReader::default();
                let mut input = BytesMut::new();
                let mut pieces = wire.chunks(step.min(wire.len()));
                let head = loop {
                    input.extend_from_slice(pieces.next().expect("a head"));
                    if let Progress::Head(head) =
                        reader.advance(&mut input, &Config::default()).unwrap()
                    {
                        break head;
                    }
                };
                for piece in pieces {
                    input.extend_from_slice(piece);
                }
                assert_eq!(head.target(), b"/1");
                assert_eq!(head.raw(), &wire[..wire.len() - rest.len()]);
                let fields: Vec<_> = head
                    .headers()
                    .iter()
                    .map(|f| (f.name(), f.value()))
                    .collect();
                assert_eq!(fields, [(&b"Host"[..], &b"x"[..]), (b"A", b"b")]);
                assert_eq!(&input[..], rest, "{} behind, step {step}", rest.len());
                assert_eq!(head.share(head.target()), "/1");
            }
        }
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
