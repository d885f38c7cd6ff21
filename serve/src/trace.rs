//! `--trace`: what one connection receives and sends, the events the core produces from it,
//! and the core's state between them, written to the log sink as the connection runs.
//!
//! ```text
//! [127.0.0.1:53422] +0.000000s accepted
//! [127.0.0.1:53422] +0.000105s <- 35 bytes
//! [127.0.0.1:53422]     GET /a.txt HTTP/1.1\r\n
//! [127.0.0.1:53422]     Host: a\r\n
//! [127.0.0.1:53422]     \r\n
//! [127.0.0.1:53422] +0.000108s state read=done write=pending
//! [127.0.0.1:53422] +0.000110s event Request GET /a.txt HTTP/1.1 framing=none keep-alive=true
//! [127.0.0.1:53422] +0.000112s event EndOfRequest
//! ```
//!
//! Bytes are escaped so that every byte is visible: CR and LF as `\r` and `\n` (a line is
//! broken after each `\n`), a backslash as `\\`, other control bytes and bytes above 0x7e as
//! `\xHH`. At most 256 bytes of one read or write are shown, then
//! `... (N more bytes)`. A file span the runtime sends itself is one line:
//! `[sendfile N bytes of /a.txt at offset O]` (named by the request target it answers).
//!
//! The trace goes through [`ServerConfig::log`](crate::ServerConfig::log), like every other
//! line: the library never prints. With tracing off a connection holds no tracer, and each
//! hook costs one branch.

use std::fmt::{self, Write as _};
use std::io::IoSlice;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use protocol::{Event, RequestFraming, RequestHead, State};

use crate::log::LogSink;

/// How many bytes of one read or write are shown before the rest is cut.
pub(crate) const SHOWN: usize = 256;

/// The indent of the escaped bytes under their `<-` or `->` line.
const INDENT: &str = "     ";

/// The trace of one connection.
pub(crate) struct Tracer {
    log: Arc<dyn LogSink>,
    /// `[peer]`, at the start of every line.
    prefix: String,
    start: Instant,
    /// The last state traced: a state is written only when it changed.
    state: Option<State>,
    /// The target of the latest request, naming the file of a sendfile span.
    target: Option<Bytes>,
}

impl fmt::Debug for Tracer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tracer")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

impl Tracer {
    /// A trace of the connection from `peer`, accepted at `start`.
    pub(crate) fn new(log: Arc<dyn LogSink>, peer: SocketAddr, start: Instant) -> Self {
        let tracer = Self {
            log,
            prefix: format!("[{peer}]"),
            start,
            state: None,
            target: None,
        };
        tracer.line(start, "accepted");
        tracer
    }

    /// Bytes read from the socket.
    pub(crate) fn received(&self, at: Instant, bytes: &[u8]) {
        self.bytes(at, "<-", bytes, bytes.len());
    }

    /// The peer closed its side.
    pub(crate) fn eof(&self, at: Instant) {
        self.line(at, "<- end of stream (the peer closed its side)");
    }

    /// `n` bytes of the queued slices reached the socket.
    pub(crate) fn sent(&self, at: Instant, slices: &[IoSlice<'_>], n: usize) {
        let mut shown = Vec::with_capacity(n.min(SHOWN));
        for slice in slices {
            let room = n.min(SHOWN).saturating_sub(shown.len());
            if room == 0 {
                break;
            }
            shown.extend_from_slice(&slice[..slice.len().min(room)]);
        }
        self.bytes(at, "->", &shown, n);
    }

    /// `n` bytes of a file span went out from `offset`.
    pub(crate) fn sendfile(&self, at: Instant, n: usize, offset: Option<u64>) {
        let file = self
            .target
            .as_deref()
            .map_or_else(|| "<file?>".to_owned(), |t| escape(t, SHOWN));
        let at_offset = offset.map_or_else(String::new, |o| format!(" at offset {o}"));
        self.line(at, &format!("-> [sendfile {n} bytes of {file}{at_offset}]"));
    }

    /// Our write side was shut down.
    pub(crate) fn shutdown(&self, at: Instant) {
        self.line(at, "-> shutdown (our side is closed; lingering)");
    }

    /// Something the serve layer did to the connection.
    pub(crate) fn note(&self, at: Instant, what: &str) {
        self.line(at, what);
    }

    /// An event the core produced.
    pub(crate) fn event(&mut self, at: Instant, event: &Event) {
        if let Event::Request(head) = event {
            self.target = Some(Bytes::copy_from_slice(head.target()));
        }
        self.line(at, &format!("event {}", describe(event)));
    }

    /// The core's state, written when it changed since the last call.
    pub(crate) fn state(&mut self, at: Instant, state: State) {
        if self.state != Some(state) {
            self.state = Some(state);
            self.line(at, &format!("state {state}"));
        }
    }

    fn line(&self, at: Instant, what: &str) {
        let elapsed = at.saturating_duration_since(self.start);
        self.log.log(&format!(
            "{} +{}.{:06}s {what}\n",
            self.prefix,
            elapsed.as_secs(),
            elapsed.subsec_micros()
        ));
    }

    /// `arrow total bytes`, then the shown part of `bytes` a wire line at a time.
    fn bytes(&self, at: Instant, arrow: &str, bytes: &[u8], total: usize) {
        let elapsed = at.saturating_duration_since(self.start);
        let mut text = format!(
            "{} +{}.{:06}s {arrow} {total} bytes\n",
            self.prefix,
            elapsed.as_secs(),
            elapsed.subsec_micros()
        );
        for line in dump(bytes, total) {
            let _ = writeln!(text, "{}{INDENT}{line}", self.prefix);
        }
        self.log.log(&text);
    }
}

/// One event, as a trace line shows it.
pub(crate) fn describe(event: &Event) -> String {
    match event {
        Event::Request(head) => describe_request(head),
        Event::Body(data) => format!("Body ({} bytes)", data.len()),
        Event::EndOfRequest { trailers } if trailers.is_empty() => "EndOfRequest".to_owned(),
        Event::EndOfRequest { trailers } => {
            format!("EndOfRequest ({} trailer fields)", trailers.len())
        }
        Event::RequestError(error) => format!("RequestError {} {error}", error.status_hint()),
        Event::Timeout(kind) => format!("Timeout ({kind})"),
        Event::PeerClosed => "PeerClosed".to_owned(),
        Event::ResponseComplete { keep_alive } => {
            format!("ResponseComplete keep-alive={keep_alive}")
        }
        other => format!("{other:?}"),
    }
}

fn describe_request(head: &RequestHead) -> String {
    let version = if head.version_raw().is_empty() {
        "HTTP/0.9".to_owned()
    } else {
        escape(head.version_raw(), SHOWN)
    };
    let framing = match head.framing() {
        RequestFraming::None => "none".to_owned(),
        RequestFraming::Length(n) => format!("length {n}"),
        RequestFraming::Chunked => "chunked".to_owned(),
        other => format!("{other:?}"),
    };
    let mut text = format!(
        "Request {} {} {version} framing={framing} keep-alive={}",
        escape(head.method(), SHOWN),
        escape(head.target(), SHOWN),
        head.keep_alive()
    );
    if head.expects_continue() {
        text.push_str(" expect=100-continue");
    }
    text
}

/// The escaped lines of `bytes` (the first [`SHOWN`] of `total`), a line broken after each
/// `\n`, then `... (N more bytes)` for what was cut.
pub(crate) fn dump(bytes: &[u8], total: usize) -> Vec<String> {
    let shown = &bytes[..bytes.len().min(SHOWN)];
    let mut lines: Vec<String> = shown
        .split_inclusive(|&b| b == b'\n')
        .map(|line| escape(line, SHOWN))
        .collect();
    let more = total.saturating_sub(shown.len());
    if more > 0 {
        lines.push(format!("... ({more} more bytes)"));
    }
    lines
}

/// `bytes` with every byte visible: `\r`, `\n`, `\\`, `\xHH` for other control bytes and
/// bytes above 0x7e; at most `max` bytes, then `... (N more bytes)`.
pub(crate) fn escape(bytes: &[u8], max: usize) -> String {
    let shown = &bytes[..bytes.len().min(max)];
    let mut out = String::with_capacity(shown.len());
    for &b in shown {
        match b {
            b'\r' => out.push_str("\\r"),
            b'\n' => out.push_str("\\n"),
            b'\\' => out.push_str("\\\\"),
            0x20..=0x7e => out.push(char::from(b)),
            _ => {
                let _ = write!(out, "\\x{b:02x}");
            }
        }
    }
    if bytes.len() > shown.len() {
        let _ = write!(out, "... ({} more bytes)", bytes.len() - shown.len());
    }
    out
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::MemorySink;

    #[test]
    fn escape_shows_every_byte() {
        assert_eq!(escape(b"GET / HTTP/1.1\r\n", SHOWN), "GET / HTTP/1.1\\r\\n");
        assert_eq!(
            escape(b"a\tb\x00\x7f\xff\\", SHOWN),
            "a\\x09b\\x00\\x7f\\xff\\\\"
        );
        assert_eq!(escape(b"", SHOWN), "");
    }

    #[test]
    fn escape_cuts_long_input() {
        assert_eq!(escape(b"abcdef", 4), "abcd... (2 more bytes)");
        assert_eq!(escape(b"abcd", 4), "abcd");
    }

    #[test]
    fn dump_breaks_lines_and_cuts() {
        assert_eq!(dump(b"a\r\nb\r\n\r\n", 8), ["a\\r\\n", "b\\r\\n", "\\r\\n"]);
        assert_eq!(dump(b"no newline", 10), ["no newline"]);
        let body = vec![b'x'; 1000];
        let lines = dump(&body, body.len());
        assert_eq!(
            lines,
            ["x".repeat(SHOWN), "... (744 more bytes)".to_owned()]
        );
        // Only a prefix was kept by the caller; the total still counts the rest.
        assert_eq!(dump(b"ab", 10), ["ab", "... (8 more bytes)"]);
    }

    #[test]
    #[expect(
        clippy::disallowed_methods,
        reason = "an arbitrary origin for the test's time"
    )]
    fn tracer_lines_carry_peer_and_time() {
        let sink = Arc::new(MemorySink::new());
        let t0 = Instant::now();
        let mut tracer = Tracer::new(
            Arc::clone(&sink) as Arc<dyn LogSink>,
            "127.0.0.1:5000".parse().unwrap(),
            t0,
        );
        tracer.received(t0 + Duration::from_micros(123), b"GET / HTTP/1.0\r\n\r\n");
        let slices = [
            IoSlice::new(b"HTTP/1.0 200 OK\r\n"),
            IoSlice::new(b"\r\nhi"),
        ];
        tracer.sent(t0 + Duration::from_millis(2), &slices, 20);
        tracer.sendfile(t0 + Duration::from_secs(1), 5, Some(7));
        let state = protocol::ServerConnection::new(Arc::default(), t0).state();
        tracer.state(t0, state);
        tracer.state(t0, state);
        let text = sink.text();
        assert_eq!(
            text,
            "[127.0.0.1:5000] +0.000000s accepted\n\
             [127.0.0.1:5000] +0.000123s <- 18 bytes\n\
             [127.0.0.1:5000]     GET / HTTP/1.0\\r\\n\n\
             [127.0.0.1:5000]     \\r\\n\n\
             [127.0.0.1:5000] +0.002000s -> 20 bytes\n\
             [127.0.0.1:5000]     HTTP/1.0 200 OK\\r\\n\n\
             [127.0.0.1:5000]     \\r\\n\n\
             [127.0.0.1:5000]     h\n\
             [127.0.0.1:5000] +1.000000s -> [sendfile 5 bytes of <file?> at offset 7]\n\
             [127.0.0.1:5000] +0.000000s state read=head write=idle\n"
        );
    }
}
