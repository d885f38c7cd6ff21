//! A sans-IO HTTP/1.x server connection.
//!
//! This crate turns the bytes a client sends into request events, and the responses an
//! application gives it into the bytes to send back. It does no I/O at all: no sockets, no
//! files, no threads, no clock. A runtime (blocking threads, an async executor, a mio reactor,
//! a fuzzer, a unit test) moves the bytes and passes the time in; the same
//! [`ServerConnection`] works under all of them.
//!
//! # The states of a connection
//!
//! A connection is three small state machines side by side, each in one state at a time
//! ([`ServerConnection::state`] shows them): the **read** side parses a request, the
//! **write** side writes its response, and the **conn** side is our end of the socket
//! ([`State::lingering`], [`State::closed`]). An input (bytes, a call, a deadline) moves one
//! side or several; each arrow is labelled with the inputs that take it. Every transition,
//! with the events it emits, is a row of the table in `src/machine.rs`, and a test checks
//! this picture against that table.
//!
//! ```text
//! read side: which part of a request is parsed
//!
//!            head, body
//!   ┌──────┐ head, 100-continue    ┌──────┐  body end   ┌──────┐
//! ─▶│ head │ ────────────────────▶ │ body │ ──────────▶ │ done │
//!   │      │ head, no body         └───┬──┘             │      │
//!   │      │ ──────────────────────────┼──────────────▶ │      │
//!   │      │ sent, keep-alive          │                │      │
//!   │      │ ◀─────────────────────────┼─────────────── │      │
//!   └──────┘                           │                └──────┘
//!      ▲                               │ sent, keep-alive
//!      │        body end          ┌────▼────┐
//!      └──────────────────────────│ discard │
//!                                 └─────────┘
//!   to ┌────────┐ request error (from head, body); discard fails (from discard); peer EOF,
//!      │ closed │ blank line, idle timeout, close_after_response (from head); sent, close
//!      └────────┘ (from body, done, closed); abort (from any)
//!
//! write side: which part of a response is written
//!
//!            head, no body
//!            head, body
//!            head, 100-continue
//!   ┌──────┐ request error       ┌─────────┐ send_response ┌──────┐ finish_response ┌──────────┐
//! ─▶│ idle │ ──────────────────▶ │ pending │ ────────────▶ │ body │ ──────────────▶ │ finished │
//!   │      │                     └─────────┘               └──────┘                 │          │
//!   │      │ ◀───────────────────────── sent, keep-alive ────────────────────────── │          │
//!   └──────┘                                                                        └──────────┘
//!   pending stays on send_continue; pending, body and finished stay on request error
//!   to ┌────────┐ discard fails, peer EOF, blank line, idle timeout, close_after_response
//!      │ closed │ (from idle); sent, close (from finished); abort (from any)
//!      └────────┘
//!
//! conn side: our end of the connection
//!
//!   ┌──────┐ shutdown sent   ┌───────────┐ EOF while lingering  ┌────────┐
//! ─▶│ open │ ──────────────▶ │ lingering │ ───────────────────▶ │ closed │
//!   │      │                 └───────────┘ linger timeout       │        │
//!   │      │ shutdown, EOF seen                                 │        │
//!   │      │ ─────────────────────────────────────────────────▶ │        │
//!   └──────┘                                  abort (from any)  └────────┘
//! ```
//!
//! The read and write sides move together where exchanges meet. A head moves read on from
//! `head` and write from `idle` to `pending`. The last byte of a response moves write back
//! to `idle`, and read from `done` to `head` (pipelined bytes are parsed then, not before)
//! or from `body` to `discard`: a body the application did not read is read and dropped,
//! never parsed as a request. A client that sent `Expect: 100-continue` waits in `body` for
//! [`send_continue`](ServerConnection::send_continue); a response started without it while
//! the body is unread ends the connection, since the client may or may not send the body
//! and the next request cannot be found. Once write is `closed`, our shutdown is queued;
//! after the runtime takes it, the connection lingers, draining what the peer still sends
//! so that the response is not destroyed by a reset, until the peer's EOF or the linger
//! deadline. [`abort`](ServerConnection::abort) ends all three sides at once.
//!
//! # Driving it
//!
//! After every input (`receive`, `receive_eof`, `handle_timeout`) and every command
//! (`send_*`, `finish_response`), drain [`poll_event`](ServerConnection::poll_event) and
//! [`poll_transmit`](ServerConnection::poll_transmit) until both are empty, then wait for the
//! socket (reading only while [`wants_read`](ServerConnection::wants_read)) or for
//! [`poll_timeout`](ServerConnection::poll_timeout), whichever comes first.
//!
//! This walks one request through every state:
//!
//! ```
//! use std::sync::Arc;
//! use std::time::{Duration, Instant};
//!
//! use protocol::{Config, Event, ResponseBody, ResponseHead, ServerConnection, Transmit};
//!
//! let mut config = Config::default();
//! config.protocol_version = "HTTP/1.1".into();
//! let t0 = Instant::now();
//! let mut conn = ServerConnection::new(Arc::new(config), t0);
//!
//! // Read head, then read body: the bytes may arrive in any pieces.
//! conn.receive(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Le", t0);
//! assert_eq!(conn.poll_event(), None);
//! conn.receive(b"ngth: 5\r\n\r\nhel", t0);
//! let Some(Event::Request(head)) = conn.poll_event() else { panic!() };
//! assert_eq!(head.target(), b"/echo");
//! assert_eq!(conn.poll_event(), Some(Event::Body("hel".into())));
//! conn.receive(b"lo", t0 + Duration::from_millis(5));
//! assert_eq!(conn.poll_event(), Some(Event::Body("lo".into())));
//!
//! // Request done.
//! assert!(matches!(conn.poll_event(), Some(Event::EndOfRequest { .. })));
//!
//! // Responding: the head and body are queued, then written by the runtime.
//! let response = ResponseHead::new(200).with_header("Content-Type", "text/plain");
//! conn.send_response(&response, ResponseBody::Length(5)).unwrap();
//! conn.send_body("hello".into()).unwrap();
//! conn.finish_response().unwrap();
//! let mut wire = Vec::new();
//! while let Some(Transmit::Bytes(bytes)) = conn.poll_transmit() {
//!     wire.extend_from_slice(bytes);
//!     let n = bytes.len();
//!     conn.advance_transmit(n);
//! }
//! assert_eq!(
//!     wire,
//!     b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello"
//! );
//!
//! // Every byte is out: the response is complete and the connection waits for the next
//! // request, with the idle deadline armed.
//! assert_eq!(conn.poll_event(), Some(Event::ResponseComplete { keep_alive: true }));
//! assert!(conn.poll_timeout().is_some());
//!
//! // The client goes away: the connection shuts down.
//! conn.receive_eof(t0 + Duration::from_secs(1));
//! assert_eq!(conn.poll_event(), Some(Event::PeerClosed));
//! assert_eq!(conn.poll_transmit(), Some(Transmit::Shutdown));
//! assert!(conn.is_closed());
//! ```
//!
//! # Watch the machine
//!
//! `examples/trace.rs` feeds raw bytes from stdin into a connection and prints every event
//! and every transmitted byte (CR and LF made visible) as it happens, answering each request
//! with a small `200 text/plain` page:
//!
//! ```text
//! cargo run -p protocol --example trace -- --crlf --http11     # then type a request
//! printf 'GET / HTTP/1.1\r\nHost: a\r\n\r\n' | cargo run -p protocol --example trace
//! ```
//!
//! `--crlf` turns the bare `\n` a terminal sends into `\r\n` (without it, bytes go in as
//! they are); `--compat` switches to CPython's lenient parsing; `--http11` turns on
//! keep-alive as `-p HTTP/1.1` does, so pipelined requests can be watched one by one.
//!
//! # Strict on the wire
//!
//! By default ([`ParseMode::Strict`]) the parser follows RFC 9112 wherever leniency could let
//! two parsers disagree, and request bodies are always framed by `Content-Length` or chunked
//! coding: a body is read or discarded, never parsed as the next request.
//! [`ParseMode::Compat`] accepts exactly what CPython's `http.server` accepts, for teaching
//! and differential testing.
//!
//! # Fuzzing
//!
//! The core is a plain value driven by plain calls, so a fuzzer drives it exactly as a runtime
//! does: `receive` the input (whole, or cut at points the input chooses), `receive_eof`,
//! `handle_timeout` at instants it derives from the input, and between them drain
//! [`poll_event`](ServerConnection::poll_event) and [`poll_transmit`](ServerConnection::poll_transmit).
//! Nothing reads a clock or does I/O, so a run is a pure function of its input and every
//! finding reproduces.
//!
//! The `testing` feature (not part of the stable API) holds what the harnesses share, so
//! that the proptests in `tests/properties` and the cargo-fuzz targets in `fuzz/` check the
//! same promises:
//!
//! - `testing::Checker`: the event oracle; it panics at the first broken promise (a request
//!   after a close-forcing error, a body longer than declared, an event after close).
//! - `testing::settle`, `testing::transmit`, `testing::auto_respond`: drive a connection to
//!   quiescence as a small application would, answering a request with `200` and a request
//!   error with the status it suggests.
//! - `testing::verdict`: what the core decided about a byte string (method, target, version,
//!   fields and framing, or the error and its status) as a `testing::Verdict` that compares
//!   with `==`: the thing to compare in a differential fuzzer against another parser.
//! - `testing::small_limits`: the one set of small limits the harnesses use, so inputs of
//!   fuzzer size reach every limit.
//!
//! From outside the workspace, depend on the crate with the feature on:
//!
//! ```toml
//! [dependencies]
//! protocol = { path = "../http-server/protocol", features = ["testing"] }
//! ```
//!
//! and write a target (here for `cargo fuzz`):
//!
//! ```ignore
//! #![no_main]
//! use protocol::{Config, testing::{Verdict, small_limits, verdict}};
//!
//! libfuzzer_sys::fuzz_target!(|data: &[u8]| {
//!     let mut config = Config::default();
//!     config.limits = small_limits();
//!     if let Verdict::Request { method, .. } = verdict(&config, data) {
//!         assert!(!method.is_empty());
//!     }
//! });
//! ```
//!
//! The workspace's own targets are in `fuzz/` (its own cargo workspace; run one with
//! `RUSTC_BOOTSTRAP=1 cargo fuzz run request_head` from `fuzz/`), with seed corpora in
//! `fuzz/corpus/` and a dictionary of HTTP tokens in `fuzz/http.dict`.
//!
//! # Learning HTTP/1.x
//!
//! [`guide`] teaches the protocol from bytes: framing, keep-alive, pipelining, chunked
//! coding, lingering close and request smuggling, each point a doctest.
//!
//! # What the core does not do
//!
//! It adds no header the application did not ask for (no `Date`, `Server` or `Connection`),
//! so a server built on it can answer byte for byte as CPython does. It never reads a file:
//! a file body is an *external span* ([`ServerConnection::send_body_external`]) that the
//! runtime sends itself, with sendfile where it can.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod arrivals;
mod ascii;
pub mod body;
mod config;
mod connection;
mod error;
mod event;
pub mod guide;
mod head;
mod headers;
mod machine;
mod message;
mod span;
mod spare;
mod state;
pub mod status;
#[cfg(feature = "testing")]
pub mod testing;
mod timer;
mod transmit;

pub use arrivals::arrivals;
pub use config::{Config, Limits, ParseMode, Timeouts};
pub use connection::ServerConnection;
pub use error::{RequestError, UsageError};
pub use event::{Event, TimeoutKind};
pub use head::is_token;
pub use headers::{HeaderField, Headers, HeadersIter};
pub use message::{RequestFraming, RequestHead, ResponseBody, ResponseHead, Version};
pub use state::{ReadState, State, WriteState};
pub use transmit::Transmit;
