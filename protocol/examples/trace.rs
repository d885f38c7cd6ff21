//! Watch the machine: raw request bytes in on stdin, every event and every response byte out.
//!
//! ```text
//! cargo run -p protocol --example trace -- [--crlf] [--compat] [--http11]
//! ```
//!
//! Type a request by hand (with `--crlf`, so that Enter sends `\r\n` as HTTP wants), or pipe
//! a file of raw requests in. Each read is fed to a [`ServerConnection`] as it arrives; the
//! events it produces are printed as they happen, each request is answered with a small
//! `200 text/plain` page naming its method and target, and the bytes the connection
//! transmits are printed with CR and LF made visible.
//!
//! - `--crlf`: turn a bare `\n` into `\r\n` (what a terminal sends is a bare LF). Without it
//!   the bytes are fed exactly as read, so a file can show what bare LFs do.
//! - `--compat`: CPython's lenient parsing ([`ParseMode::Compat`]) instead of RFC 9112.
//! - `--http11`: `protocol_version` HTTP/1.1, as `http-server -p HTTP/1.1`: keep-alive,
//!   pipelining, `100 Continue`.
//!
//! Try `printf 'GET / HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\n' | cargo run
//! -p protocol --example trace -- --http11` to see pipelining, or leave out the `Host` line.

use std::fmt::Write as _;
use std::io::{Read, Write as _};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use protocol::{Config, Event, ParseMode, ResponseHead, ServerConnection, Transmit};

struct Options {
    crlf: bool,
    compat: bool,
    http11: bool,
}

fn options() -> Result<Options, String> {
    let mut options = Options {
        crlf: false,
        compat: false,
        http11: false,
    };
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "--crlf" => options.crlf = true,
            "--compat" => options.compat = true,
            "--http11" => options.http11 = true,
            "-h" | "--help" => {
                return Err("usage: trace [--crlf] [--compat] [--http11] < requests".into());
            }
            other => return Err(format!("trace: unknown option {other:?} (try --help)")),
        }
    }
    Ok(options)
}

/// The runtime's clock: the core never reads one, the program driving it does.
#[allow(clippy::disallowed_methods)]
fn now() -> Instant {
    Instant::now()
}

/// Bytes as a quoted string with CR, LF, TAB, quotes and non-printable bytes escaped.
fn escape(bytes: &[u8]) -> String {
    let mut out = String::from("\"");
    for &b in bytes {
        match b {
            b'\r' => out.push_str("\\r"),
            b'\n' => out.push_str("\\n"),
            b'\t' => out.push_str("\\t"),
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            0x20..=0x7e => out.push(char::from(b)),
            _ => {
                let _ = write!(out, "\\x{b:02x}");
            }
        }
    }
    out.push('"');
    out
}

/// Prints `bytes` one line per wire line (each ending in its `\n`), after `label`.
fn print_lines(label: &str, bytes: &[u8]) {
    let mut prefix = label;
    for line in bytes.split_inclusive(|&b| b == b'\n') {
        println!("{prefix} {}", escape(line));
        prefix = "  ";
    }
}

/// Replaces every `\n` not preceded by `\r` with `\r\n`; `previous` is the last byte of the
/// previous read, so a `\r\n` split across reads is left alone.
fn to_crlf(bytes: &[u8], previous: &mut Option<u8>) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len() + 8);
    for &b in bytes {
        if b == b'\n' && *previous != Some(b'\r') {
            out.push(b'\r');
        }
        out.push(b);
        *previous = Some(b);
    }
    out
}

/// The tracer: one connection, the application's side of it, and what it has printed.
struct Trace {
    conn: ServerConnection,
    /// `METHOD TARGET` of the request being read, for the answer.
    current: Option<String>,
}

impl Trace {
    /// Drains events and transmits until the connection has nothing more to say.
    fn drain(&mut self) {
        loop {
            let mut moved = false;
            while let Some(event) = self.conn.poll_event() {
                moved = true;
                self.on_event(event);
            }
            while let Some(transmit) = self.conn.poll_transmit() {
                moved = true;
                match transmit {
                    Transmit::Bytes(bytes) => {
                        print_lines(">>", bytes);
                        let n = bytes.len();
                        self.conn.advance_transmit(n);
                        // What the write completed (a response) shows up right after it.
                        while let Some(event) = self.conn.poll_event() {
                            self.on_event(event);
                        }
                    }
                    Transmit::External(n) => {
                        println!(">> ({n} bytes the runtime would send itself)");
                        self.conn
                            .advance_transmit(usize::try_from(n).unwrap_or(usize::MAX));
                    }
                    Transmit::Shutdown => {
                        println!(
                            "-- shutdown: our side is closed; lingering until the peer closes"
                        );
                    }
                    other => println!("-- {other:?}"),
                }
            }
            if !moved {
                return;
            }
        }
    }

    fn on_event(&mut self, event: Event) {
        match event {
            Event::Request(head) => {
                let version = if head.version_raw().is_empty() {
                    "HTTP/0.9 (two words: no headers, no status line in the answer)".to_owned()
                } else {
                    String::from_utf8_lossy(head.version_raw()).into_owned()
                };
                println!(
                    "== Request: method {} target {} version {version}",
                    escape(head.method()),
                    escape(head.target())
                );
                for field in head.headers() {
                    println!(
                        "     header {}: {}",
                        escape(field.name()),
                        escape(field.value())
                    );
                }
                println!(
                    "     body framing {:?}, keep-alive {}, expects 100-continue {}",
                    head.framing(),
                    head.keep_alive(),
                    head.expects_continue()
                );
                if head.expects_continue() {
                    println!("   app: sends 100 Continue");
                    let _ = self.conn.send_continue();
                }
                self.current = Some(format!(
                    "{} {}",
                    String::from_utf8_lossy(head.method()),
                    String::from_utf8_lossy(head.target())
                ));
            }
            Event::Body(data) => print_lines("== Body:", &data),
            Event::EndOfRequest { trailers } => {
                println!("== EndOfRequest ({} trailer fields)", trailers.len());
                let text = format!("{}\n", self.current.take().unwrap_or_default());
                self.answer(200, text);
            }
            Event::RequestError(error) => {
                println!(
                    "== RequestError: {error} (suggested status {}; the connection will close)",
                    error.status_hint()
                );
                self.answer(error.status_hint(), format!("error: {error}\n"));
            }
            Event::ResponseComplete { keep_alive } => {
                println!("== ResponseComplete: keep-alive {keep_alive}");
            }
            other => println!("== {other:?}"),
        }
    }

    fn answer(&mut self, status: u16, text: String) {
        println!(
            "   app: answers {status} text/plain {}",
            escape(text.as_bytes())
        );
        let head = ResponseHead::new(status).with_header("Content-Type", "text/plain");
        if let Err(e) = self.conn.respond(&head, Bytes::from(text)) {
            println!("   app: cannot answer: {e}");
        }
    }
}

fn main() -> ExitCode {
    let options = match options() {
        Ok(options) => options,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    let mut config = Config::default();
    if options.compat {
        config.parse_mode = ParseMode::Compat;
    }
    if options.http11 {
        config.protocol_version = Bytes::from_static(b"HTTP/1.1");
    }
    let mut trace = Trace {
        conn: ServerConnection::new(Arc::new(config), now()),
        current: None,
    };
    let mut stdin = std::io::stdin().lock();
    let mut buf = [0u8; 8192];
    let mut previous = None;
    loop {
        let n = match stdin.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => {
                eprintln!("trace: reading stdin: {e}");
                return ExitCode::FAILURE;
            }
        };
        let bytes = if options.crlf {
            to_crlf(&buf[..n], &mut previous)
        } else {
            buf[..n].to_vec()
        };
        print_lines(&format!("<< {} bytes:", bytes.len()), &bytes);
        trace.conn.receive(&bytes, now());
        trace.drain();
        if trace.conn.is_closed() {
            break;
        }
        let _ = std::io::stdout().flush();
    }
    println!("<< end of input");
    trace.conn.receive_eof(now());
    trace.drain();
    println!(
        "-- connection {}",
        if trace.conn.is_closed() {
            "closed"
        } else {
            "still open"
        }
    );
    ExitCode::SUCCESS
}
