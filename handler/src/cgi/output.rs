//! What a script writes, turned into what the client gets: the script's stdout as a response
//! ([`CgiOutput`]) and its stderr as log lines ([`LogLines`]). Pure: bytes go in, decisions
//! come out; the runtimes read the pipes and the clock.
//!
//! The default mode parses the script's header block as RFC 3875 6.3 says: the status line
//! comes from its `Status:` field (or 302 for a `Location:` alone, else our
//! `200 Script output follows`), its other fields follow our `Server` and `Date`, and the body
//! runs until the script closes its output. A malformed header block, one over
//! [`MAX_HEADER_BLOCK`], or output that ends before the blank line gets `502 Bad Gateway`.
//!
//! `--compat` keeps CPython's bytes: our head (without its blank line) goes out first and the
//! script's output follows verbatim.
//!
//! In both modes the reply to `HEAD` carries no body (RFC 3875 4.3): a script's body bytes
//! after its blank line would otherwise reach the client as the start of another response.

use std::collections::VecDeque;
use std::time::SystemTime;

use bytes::Bytes;
use protocol::{ResponseBody, ResponseHead, ServerConnection, UsageError};

use crate::{CgiSpec, Settings};

/// The most a script's header block may take, blank line included.
pub const MAX_HEADER_BLOCK: usize = 64 * 1024;

/// The longest stderr line logged whole; a longer one is cut (see [`LogLines`]).
pub const MAX_LOG_LINE: usize = 8 * 1024;

/// What the runtime does next with the response, in order.
#[derive(Debug, PartialEq, Eq)]
#[allow(
    clippy::exhaustive_enums,
    reason = "a runtime must handle every decision"
)]
pub enum Output {
    /// Start the response with this head and body kind.
    Head {
        /// The head to send.
        head: ResponseHead,
        /// [`ResponseBody::UntilClose`] (the default mode) or [`ResponseBody::Passthrough`]
        /// (`--compat`, where the script's bytes complete the head).
        body: ResponseBody,
    },
    /// Send these response body bytes.
    Body(Bytes),
    /// The script's output is not a valid response and nothing was sent yet: answer
    /// `502 Bad Gateway` instead, and end the run.
    BadGateway,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Collecting the script's header block (default mode).
    Header,
    /// Passing bytes on while watching for the blank line (`--compat` reply to `HEAD`).
    HeaderPassthrough,
    /// Passing every byte on.
    Body,
    /// Dropping every byte (the body of a `HEAD` reply, or after the cap in compat mode).
    Discard,
    /// The output was refused ([`Output::BadGateway`] was queued).
    Failed,
}

/// The script's stdout, as a sans-IO machine: [`push`](Self::push) what the pipe gives,
/// [`finish`](Self::finish) at its end, and take decisions with [`poll_output`](Self::poll_output).
///
/// The result is the same however the bytes are split across pushes.
#[derive(Debug)]
pub struct CgiOutput {
    state: State,
    head_request: bool,
    /// Our head (`200 Script output follows`, `Server`, `Date`) until it goes out.
    base: Option<ResponseHead>,
    /// The header block so far (default mode); complete lines are parsed as they arrive.
    block: Vec<u8>,
    /// Where the line being collected starts in `block`.
    line_start: usize,
    /// The fields parsed so far.
    status: Option<(u16, Option<Bytes>)>,
    location: bool,
    fields: Vec<(Bytes, Bytes)>,
    /// Compat `HEAD`: where the current line stands (see [`LineStart`]), bytes passed on.
    line: LineStart,
    passed: usize,
    out: VecDeque<Output>,
}

/// Where a line stands, to spot the blank line without keeping the bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LineStart {
    /// Nothing of the line yet.
    Empty,
    /// Only a CR so far.
    Cr,
    /// Something else was seen: not a blank line.
    Text,
}

impl CgiOutput {
    /// A machine for the reply to a request (`head_request` when it is `HEAD`); `response`
    /// is the planned `200 Script output follows` head; `compat` is `Settings::compat`.
    pub fn new(response: ResponseHead, head_request: bool, compat: bool) -> Self {
        let mut this = Self {
            state: State::Header,
            head_request,
            base: Some(response),
            block: Vec::new(),
            line_start: 0,
            status: None,
            location: false,
            fields: Vec::new(),
            line: LineStart::Empty,
            passed: 0,
            out: VecDeque::new(),
        };
        if compat {
            // CPython sends its head before the script runs; the script's bytes complete it.
            if let Some(head) = this.base.take() {
                this.out.push_back(Output::Head {
                    head,
                    body: ResponseBody::Passthrough,
                });
            }
            this.state = if head_request {
                State::HeaderPassthrough
            } else {
                State::Body
            };
        }
        this
    }

    /// [`CgiOutput::new`] for the script `spec` runs: whether the request is `HEAD` is read
    /// from the `REQUEST_METHOD` the handler put in its environment.
    pub fn for_spec(spec: &CgiSpec, response: ResponseHead, compat: bool) -> Self {
        let head_request = spec
            .env
            .iter()
            .any(|(k, v)| k == "REQUEST_METHOD" && v == "HEAD");
        Self::new(response, head_request, compat)
    }

    /// Bytes the script wrote on stdout.
    pub fn push(&mut self, data: &[u8]) {
        match self.state {
            State::Header => self.push_header(data),
            State::HeaderPassthrough => self.push_compat_head(data),
            State::Body => {
                if !data.is_empty() {
                    self.out
                        .push_back(Output::Body(Bytes::copy_from_slice(data)));
                }
            }
            State::Discard | State::Failed => {}
        }
    }

    /// The script's stdout ended (or the run is over): a header block still incomplete is a
    /// [`Output::BadGateway`].
    pub fn finish(&mut self) {
        if self.state == State::Header {
            self.fail();
        }
    }

    /// The next decision, in order; `None` until more bytes come.
    pub fn poll_output(&mut self) -> Option<Output> {
        self.out.pop_front()
    }

    /// Whether stdout should be read even though the core wants no body data: the head is not
    /// out yet (there is no response to hold back), or the bytes are dropped anyway.
    pub fn reads_freely(&self) -> bool {
        matches!(self.state, State::Header | State::Discard)
    }

    /// Whether the output was refused: nothing more is read from the script.
    pub fn is_failed(&self) -> bool {
        self.state == State::Failed
    }

    /// Whether our head went out (or is queued as [`Output::Head`]).
    pub fn head_sent(&self) -> bool {
        self.base.is_none()
    }

    fn fail(&mut self) {
        self.state = State::Failed;
        self.base = None;
        self.block = Vec::new();
        self.out.push_back(Output::BadGateway);
    }

    fn push_header(&mut self, data: &[u8]) {
        let mut rest = data;
        while let Some(nl) = rest.iter().position(|&b| b == b'\n') {
            let (line, after) = rest.split_at(nl + 1);
            rest = after;
            if self.block.len() + line.len() > MAX_HEADER_BLOCK {
                return self.fail();
            }
            self.block.extend_from_slice(line);
            let start = std::mem::replace(&mut self.line_start, self.block.len());
            let full = &self.block[start..self.block.len() - 1];
            let full = full.strip_suffix(b"\r").unwrap_or(full);
            if full.is_empty() {
                return self.end_header(rest);
            }
            let Some((name, value)) = parse_field(full) else {
                return self.fail();
            };
            if !self.take_field(name, value) {
                return self.fail();
            }
        }
        if self.block.len() + rest.len() > MAX_HEADER_BLOCK {
            return self.fail();
        }
        self.block.extend_from_slice(rest);
    }

    /// One parsed field; false if it makes the block malformed.
    fn take_field(&mut self, name: Bytes, value: Bytes) -> bool {
        if name.eq_ignore_ascii_case(b"status") {
            if self.status.is_some() {
                return false;
            }
            match parse_status(&value) {
                Some(status) => self.status = Some(status),
                None => return false,
            }
        } else if name.eq_ignore_ascii_case(b"server") || name.eq_ignore_ascii_case(b"date") {
            // Ours are already in the head.
        } else {
            if name.eq_ignore_ascii_case(b"location") {
                self.location = true;
            }
            self.fields.push((name, value));
        }
        true
    }

    /// The blank line: the head goes out, and `rest` starts the body.
    fn end_header(&mut self, rest: &[u8]) {
        // RFC 3875 6.2: a response has at least one CGI field.
        if self.status.is_none() && self.fields.is_empty() {
            return self.fail();
        }
        let Some(mut head) = self.base.take() else {
            return self.fail();
        };
        match self.status.take() {
            Some((status, reason)) => {
                head.status = status;
                head.reason = reason;
            }
            None if self.location => {
                head.status = 302;
                head.reason = None;
            }
            None => {}
        }
        for (name, value) in self.fields.drain(..) {
            head.headers.append(name, value);
        }
        self.block = Vec::new();
        self.out.push_back(Output::Head {
            head,
            body: ResponseBody::UntilClose,
        });
        self.state = if self.head_request {
            State::Discard
        } else {
            State::Body
        };
        self.push(rest);
    }

    /// `--compat` reply to `HEAD`: bytes pass up to the blank line, then nothing does.
    fn push_compat_head(&mut self, data: &[u8]) {
        let room = MAX_HEADER_BLOCK - self.passed;
        let mut end = None;
        for (i, &b) in data.iter().enumerate().take(room) {
            self.line = match (b, self.line) {
                (b'\n', LineStart::Empty | LineStart::Cr) => {
                    end = Some(i + 1);
                    break;
                }
                (b'\n', LineStart::Text) => LineStart::Empty,
                (b'\r', LineStart::Empty) => LineStart::Cr,
                _ => LineStart::Text,
            };
        }
        let take = end.unwrap_or(data.len().min(room));
        if take > 0 {
            self.out
                .push_back(Output::Body(Bytes::copy_from_slice(&data[..take])));
        }
        self.passed += take;
        if end.is_some() || self.passed >= MAX_HEADER_BLOCK {
            self.state = State::Discard;
        }
    }

    /// Moves every queued decision into `core`. The 502 page is [`crate::send_error`]'s,
    /// planned with `settings` at `now`, and ends the response.
    pub fn drive(
        &mut self,
        core: &mut ServerConnection,
        settings: &Settings,
        now: SystemTime,
    ) -> Result<(), UsageError> {
        while let Some(output) = self.poll_output() {
            match output {
                Output::Head { head, body } => core.send_response(&head, body)?,
                Output::Body(data) => core.send_body(data)?,
                Output::BadGateway => {
                    let plan = crate::send_error(settings, 502, None, None, self.head_request, now);
                    queue_error_page(core, plan)?;
                }
            }
        }
        Ok(())
    }

    /// The run is over: [`finish`](Self::finish), [`drive`](Self::drive), and end the
    /// response (unless the 502 page already did).
    pub fn end(
        &mut self,
        core: &mut ServerConnection,
        settings: &Settings,
        now: SystemTime,
    ) -> Result<(), UsageError> {
        self.finish();
        self.drive(core, settings, now)?;
        if self.is_failed() {
            Ok(())
        } else {
            core.finish_response()
        }
    }
}

/// Queues an error page (its body is bytes, or nothing for `HEAD`) as a whole response.
fn queue_error_page(core: &mut ServerConnection, plan: crate::Plan) -> Result<(), UsageError> {
    if let crate::PlanBody::Bytes(page) = plan.body {
        core.respond(&plan.head, page)
    } else {
        core.send_response(&plan.head, ResponseBody::None)?;
        core.finish_response()
    }
}

/// `name: value` with a token name (no space before the colon) and field-text value.
fn parse_field(line: &[u8]) -> Option<(Bytes, Bytes)> {
    let colon = line.iter().position(|&b| b == b':')?;
    let (name, value) = (&line[..colon], &line[colon + 1..]);
    if !protocol::is_token(name) {
        return None;
    }
    let value = value.trim_ascii();
    if !value
        .iter()
        .all(|&b| b == b'\t' || (b >= 0x20 && b != 0x7f))
    {
        return None;
    }
    Some((Bytes::copy_from_slice(name), Bytes::copy_from_slice(value)))
}

/// `Status: 404 Not Found` -> `(404, Some("Not Found"))`; a bare code keeps the standard
/// phrase. Interim (1xx) codes are refused: the client would wait for another head.
fn parse_status(value: &[u8]) -> Option<(u16, Option<Bytes>)> {
    let (code, reason) = match value.iter().position(|&b| b == b' ') {
        Some(sp) => (&value[..sp], Some(value[sp + 1..].trim_ascii())),
        None => (value, None),
    };
    if code.len() != 3 || !code.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let code = code.iter().fold(0u16, |n, &d| n * 10 + u16::from(d - b'0'));
    if code < 200 {
        return None;
    }
    let reason = reason.filter(|r| !r.is_empty()).map(Bytes::copy_from_slice);
    Some((code, reason))
}

/// Splits the script's stderr into log lines, with bounded memory and each byte looked at
/// once: a line longer than [`MAX_LOG_LINE`] is logged cut, once, with `... (line cut)`, and
/// the rest of it is dropped up to the next newline.
#[derive(Debug, Default)]
pub struct LogLines {
    line: Vec<u8>,
    /// Dropping the rest of a line that was cut.
    cutting: bool,
}

impl LogLines {
    /// A splitter with nothing buffered.
    pub fn new() -> Self {
        Self::default()
    }

    /// Bytes from stderr; `emit` gets each complete line (without its line end).
    pub fn push(&mut self, mut data: &[u8], mut emit: impl FnMut(&str)) {
        while !data.is_empty() {
            let nl = data.iter().position(|&b| b == b'\n');
            let piece = &data[..nl.unwrap_or(data.len())];
            data = nl.map_or(&[][..], |i| &data[i + 1..]);
            if !self.cutting {
                let room = MAX_LOG_LINE - self.line.len();
                if piece.len() > room {
                    self.line.extend_from_slice(&piece[..room]);
                    let mut text = String::from_utf8_lossy(&self.line).into_owned();
                    text.push_str("... (line cut)");
                    emit(&text);
                    self.line.clear();
                    self.cutting = true;
                } else {
                    self.line.extend_from_slice(piece);
                }
            }
            if nl.is_some() {
                if !self.cutting {
                    let text = String::from_utf8_lossy(&self.line);
                    emit(text.trim_end_matches('\r'));
                }
                self.line.clear();
                self.cutting = false;
            }
        }
    }

    /// Stderr ended: `emit` gets the last line if it had no newline.
    pub fn finish(&mut self, mut emit: impl FnMut(&str)) {
        if !self.line.is_empty() {
            emit(&String::from_utf8_lossy(&self.line));
        }
        self.line.clear();
        self.cutting = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> ResponseHead {
        ResponseHead::new(200)
            .with_reason("Script output follows")
            .with_header("Server", "S")
            .with_header("Date", "D")
    }

    /// What the client-facing side sees: the head (if any), the body, whether it failed.
    #[derive(Debug, PartialEq, Eq)]
    struct Seen {
        head: Option<(ResponseHead, ResponseBody)>,
        body: Vec<u8>,
        bad_gateway: bool,
    }

    fn run(chunks: &[&[u8]], head_request: bool, compat: bool) -> Seen {
        let mut machine = CgiOutput::new(base(), head_request, compat);
        let mut seen = Seen {
            head: None,
            body: Vec::new(),
            bad_gateway: false,
        };
        let take = |m: &mut CgiOutput, seen: &mut Seen| {
            while let Some(out) = m.poll_output() {
                match out {
                    Output::Head { head, body } => {
                        assert!(seen.head.is_none() && !seen.bad_gateway);
                        seen.head = Some((head, body));
                    }
                    Output::Body(b) => {
                        assert!(seen.head.is_some());
                        seen.body.extend_from_slice(&b);
                    }
                    Output::BadGateway => {
                        assert!(seen.head.is_none() && !seen.bad_gateway);
                        seen.bad_gateway = true;
                    }
                }
            }
        };
        for chunk in chunks {
            machine.push(chunk);
            take(&mut machine, &mut seen);
        }
        machine.finish();
        take(&mut machine, &mut seen);
        seen
    }

    /// The same result whole, byte by byte, and split at every offset.
    fn check(output: &[u8], head_request: bool, compat: bool) -> Seen {
        let whole = run(&[output], head_request, compat);
        let bytes: Vec<&[u8]> = output.chunks(1).collect();
        assert_eq!(run(&bytes, head_request, compat), whole, "byte by byte");
        for at in 0..=output.len() {
            let (a, b) = output.split_at(at);
            assert_eq!(run(&[a, b], head_request, compat), whole, "split at {at}");
        }
        whole
    }

    fn head_of(seen: &Seen) -> &ResponseHead {
        &seen.head.as_ref().expect("a head").0
    }

    #[test]
    fn plain_script_keeps_our_status_line() {
        let seen = check(b"Content-Type: text/html\n\nHello\n", false, false);
        let head = head_of(&seen);
        assert_eq!(head.status, 200);
        assert_eq!(head.reason.as_deref(), Some(&b"Script output follows"[..]));
        assert_eq!(head.headers.get("content-type"), Some(&b"text/html"[..]));
        assert_eq!(head.headers.get("server"), Some(&b"S"[..]));
        assert_eq!(seen.head.as_ref().unwrap().1, ResponseBody::UntilClose);
        assert_eq!(seen.body, b"Hello\n");
    }

    #[test]
    fn status_field_gives_the_status_line() {
        let seen = check(
            b"Status: 404 Not Found\r\nContent-Type: text/plain\r\n\r\nnope",
            false,
            false,
        );
        let head = head_of(&seen);
        assert_eq!(head.status, 404);
        assert_eq!(head.reason.as_deref(), Some(&b"Not Found"[..]));
        assert!(!head.headers.contains("status"));
        assert_eq!(seen.body, b"nope");
        let bare = check(b"Status: 201\n\n", false, false);
        assert_eq!(head_of(&bare).status, 201);
        assert_eq!(head_of(&bare).reason, None);
    }

    #[test]
    fn location_alone_is_a_302() {
        let seen = check(b"Location: /elsewhere\n\n", false, false);
        let head = head_of(&seen);
        assert_eq!((head.status, head.reason.clone()), (302, None));
        assert_eq!(head.headers.get("location"), Some(&b"/elsewhere"[..]));
        let with_status = check(b"Status: 301 Moved\nLocation: /x\n\n", false, false);
        assert_eq!(head_of(&with_status).status, 301);
    }

    #[test]
    fn script_server_and_date_give_way_to_ours() {
        let seen = check(b"Server: evil\nDate: then\nX-A: 1\n\n", false, false);
        let head = head_of(&seen);
        assert_eq!(head.headers.get_all("server").count(), 1);
        assert_eq!(head.headers.get("date"), Some(&b"D"[..]));
        assert_eq!(head.headers.get("x-a"), Some(&b"1"[..]));
    }

    #[test]
    fn head_request_gets_no_body() {
        let output = b"Content-Type: text/plain\n\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
        let seen = check(output, true, false);
        assert_eq!(head_of(&seen).status, 200);
        assert!(seen.body.is_empty());
    }

    #[test]
    fn malformed_blocks_are_bad_gateway() {
        for output in [
            &b"no colon here\n\nbody"[..],
            b"Bad Name: x\n\n",
            b" folded: x\n\n",
            b"X: a\rb\n\n",
            b"X: \x00\n\n",
            b"Status: abc\n\n",
            b"Status: 1000 Big\n\n",
            b"Status: 100 Continue\n\n",
            b"Status: 200\nStatus: 404\n\n",
            b"\nbody without fields",
            b"Content-Type: text/plain\n",
            b"Content-Type: text/plain",
            b"",
        ] {
            let seen = check(output, false, false);
            assert!(seen.bad_gateway, "{output:?}: {seen:?}");
            assert!(seen.head.is_none());
        }
    }

    #[test]
    fn header_block_is_capped() {
        let mut big = b"X: ".to_vec();
        big.resize(MAX_HEADER_BLOCK + 10, b'a');
        assert!(run(&[&big], false, false).bad_gateway);
        let mut lines = Vec::new();
        while lines.len() <= MAX_HEADER_BLOCK {
            lines.extend_from_slice(b"X: 1\r\n");
        }
        assert!(run(&[&lines], false, false).bad_gateway);
        // Exactly at the cap is fine.
        let mut exact = b"X: ".to_vec();
        exact.resize(MAX_HEADER_BLOCK - 3, b'a');
        exact.extend_from_slice(b"\n\nok");
        assert_eq!(run(&[&exact], false, false).body, b"ok");
    }

    #[test]
    fn compat_passes_bytes_through() {
        let output = b"Content-Type: text/html\n\nHello\n";
        let seen = check(output, false, true);
        assert_eq!(seen.head, Some((base(), ResponseBody::Passthrough)));
        assert_eq!(seen.body, output);
        // Even malformed output: CPython's bytes.
        let odd = check(b"whatever\n\n", false, true);
        assert_eq!(odd.body, b"whatever\n\n");
        assert!(!odd.bad_gateway);
    }

    #[test]
    fn compat_head_stops_at_the_blank_line() {
        for (output, expect) in [
            (&b"A: 1\n\nbody"[..], &b"A: 1\n\n"[..]),
            (b"A: 1\r\n\r\nbody", b"A: 1\r\n\r\n"),
            (b"A: 1\r\n\nbody", b"A: 1\r\n\n"),
            (b"\nbody", b"\n"),
            (b"A: \r1\n\nx", b"A: \r1\n\n"),
        ] {
            let seen = check(output, true, true);
            assert_eq!(seen.head, Some((base(), ResponseBody::Passthrough)));
            assert_eq!(seen.body, expect, "{output:?}");
        }
        let mut endless = Vec::new();
        while endless.len() < 2 * MAX_HEADER_BLOCK {
            endless.extend_from_slice(b"X: 1\n");
        }
        assert_eq!(run(&[&endless], true, true).body.len(), MAX_HEADER_BLOCK);
    }

    #[test]
    fn for_spec_reads_the_method() {
        let spec = |method: &str| CgiSpec {
            program: "p".into(),
            args: Vec::new(),
            env: vec![("REQUEST_METHOD".into(), method.into())],
            cwd: "/".into(),
            script: "p".into(),
            uid: None,
            gid: None,
        };
        assert!(CgiOutput::for_spec(&spec("HEAD"), base(), false).head_request);
        assert!(!CgiOutput::for_spec(&spec("GET"), base(), false).head_request);
    }

    fn log_lines(chunks: &[&[u8]]) -> Vec<String> {
        let mut lines = LogLines::new();
        let mut out = Vec::new();
        for chunk in chunks {
            lines.push(chunk, |l| out.push(l.to_owned()));
        }
        lines.finish(|l| out.push(l.to_owned()));
        out
    }

    #[test]
    fn log_lines_split_and_trim() {
        let input = b"one\r\ntwo\n\nlast";
        let whole = log_lines(&[input]);
        assert_eq!(whole, ["one", "two", "", "last"]);
        for at in 0..=input.len() {
            let (a, b) = input.split_at(at);
            assert_eq!(log_lines(&[a, b]), whole);
        }
    }

    #[test]
    fn long_log_lines_are_cut_once() {
        let mut input = vec![b'x'; 3 * MAX_LOG_LINE];
        input.extend_from_slice(b"\nnext\n");
        let pieces: Vec<&[u8]> = input.chunks(1000).collect();
        let lines = log_lines(&pieces);
        assert_eq!(
            lines.len(),
            2,
            "{:?}",
            lines.iter().map(String::len).collect::<Vec<_>>()
        );
        assert!(lines[0].ends_with("... (line cut)"));
        assert_eq!(lines[0].len(), MAX_LOG_LINE + "... (line cut)".len());
        assert_eq!(lines[1], "next");
        // Exactly the cap is whole.
        let mut exact = vec![b'y'; MAX_LOG_LINE];
        exact.push(b'\n');
        assert_eq!(
            log_lines(&[&exact]),
            [String::from_utf8(exact[..MAX_LOG_LINE].to_vec()).unwrap()]
        );
    }
}
