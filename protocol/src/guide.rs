//! HTTP/1.x taught from bytes.
//!
//! A guide for people learning the protocol. Every point is a doctest: it feeds the bytes a
//! client would send to a [`ServerConnection`](crate::ServerConnection) and asserts what comes out (the events, the
//! bytes written back, the errors and their status). If a claim here were wrong, `cargo test`
//! would fail.
//!
//! Byte strings are shown as they travel: `\r\n` is the two bytes CR LF that end every line
//! of a head.
//!
//! # Contents
//!
//! 1. [Framing: where a message ends](#1-framing-where-a-message-ends)
//! 2. [Keep-alive in HTTP/1.0 and 1.1](#2-keep-alive-in-http10-and-11)
//! 3. [Pipelining](#3-pipelining)
//! 4. [Responses without a body: HEAD, 204, 304](#4-responses-without-a-body-head-204-304)
//! 5. [`Expect: 100-continue`](#5-expect-100-continue)
//! 6. [Chunked coding and trailers](#6-chunked-coding-and-trailers)
//! 7. [Why a server lingers before closing](#7-why-a-server-lingers-before-closing)
//! 8. [Request smuggling, and the strict parsing that stops it](#8-request-smuggling-and-the-strict-parsing-that-stops-it)
//! 9. [The driving loop over a real socket](#9-the-driving-loop-over-a-real-socket)
//!
//! The examples share one helper, `flush`, that plays the socket: it takes every byte the
//! connection wants written, marks it written, and says whether a shutdown followed. It is
//! shown once here and hidden afterwards.
//!
//! ```
//! use std::sync::Arc;
//! use std::time::Instant;
//!
//! use protocol::{Config, Event, ResponseHead, ServerConnection, Transmit};
//!
//! /// Everything queued for the wire, and whether our side shut down after it.
//! fn flush(conn: &mut ServerConnection) -> (Vec<u8>, bool) {
//!     let mut wire = Vec::new();
//!     loop {
//!         match conn.poll_transmit() {
//!             Some(Transmit::Bytes(bytes)) => {
//!                 wire.extend_from_slice(bytes);
//!                 let n = bytes.len();
//!                 conn.advance_transmit(n);
//!             }
//!             Some(Transmit::Shutdown) => return (wire, true),
//!             _ => return (wire, false),
//!         }
//!     }
//! }
//!
//! let now = Instant::now();
//! let mut conn = ServerConnection::new(Arc::new(Config::default()), now);
//! conn.receive(b"GET / HTTP/1.0\r\n\r\n", now);
//! assert!(matches!(conn.poll_event(), Some(Event::Request(_))));
//! assert!(matches!(conn.poll_event(), Some(Event::EndOfRequest { .. })));
//! conn.respond(&ResponseHead::new(200), "hi".into()).unwrap();
//! assert_eq!(
//!     flush(&mut conn),
//!     (b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nhi".to_vec(), true)
//! );
//! ```
//!
//! # 1. Framing: where a message ends
//!
//! TCP delivers a stream of bytes, not messages. The head ends at the first empty line
//! (`\r\n\r\n`); where the *body* ends is decided by the head, in this order (RFC 9112
//! section 6.3):
//!
//! 1. `Transfer-Encoding: chunked`: the body is a series of chunks ending with a zero-size
//!    one (section 6 below).
//! 2. Otherwise `Content-Length: n`: exactly `n` bytes.
//! 3. Otherwise a request has no body at all. (Only a *response* may run until the
//!    connection closes; a request cannot, or the server could never answer it.)
//!
//! ```
//! # use std::sync::Arc;
//! # use std::time::Instant;
//! use protocol::{Config, Event, RequestFraming, ServerConnection};
//! # let now = Instant::now();
//! # let config = Arc::new(Config::default());
//!
//! let mut conn = ServerConnection::new(config.clone(), now);
//! conn.receive(b"POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabcGET", now);
//! let Some(Event::Request(head)) = conn.poll_event() else { panic!() };
//! assert_eq!(head.framing(), RequestFraming::Length(3));
//! // Exactly three bytes are body; `GET` is already the start of whatever comes next.
//! assert_eq!(conn.poll_event(), Some(Event::Body("abc".into())));
//! assert!(matches!(conn.poll_event(), Some(Event::EndOfRequest { .. })));
//!
//! // No Content-Length, no Transfer-Encoding: no body, whatever follows.
//! let mut conn = ServerConnection::new(config.clone(), now);
//! conn.receive(b"POST /b HTTP/1.1\r\nHost: x\r\n\r\n", now);
//! let Some(Event::Request(head)) = conn.poll_event() else { panic!() };
//! assert_eq!(head.framing(), RequestFraming::None);
//! assert!(matches!(conn.poll_event(), Some(Event::EndOfRequest { .. })));
//! ```
//!
//! When a message carries *both* fields, RFC 9112 says `Transfer-Encoding` overrides
//! `Content-Length`, and that such a message "ought to be handled as an error". This server
//! refuses it: two parsers that disagree on
//! which field wins see two different requests in the same bytes (section 8 shows the
//! attack), and a client that sends both is either broken or attacking. `Transfer-Encoding`
//! in HTTP/1.0, which has no transfer codings, is refused the same way, and so are codings
//! other than a single final `chunked`.
//!
//! ```
//! # use std::sync::Arc;
//! # use std::time::Instant;
//! use protocol::{Config, Event, RequestError, ServerConnection};
//! # let now = Instant::now();
//!
//! fn verdict(request: &[u8]) -> RequestError {
//!     let mut conn = ServerConnection::new(Arc::new(Config::default()), Instant::now());
//!     conn.receive(request, Instant::now());
//!     match conn.poll_event() {
//!         Some(Event::RequestError(e)) => e,
//!         other => panic!("{other:?}"),
//!     }
//! }
//!
//! let both = b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\
//!              Transfer-Encoding: chunked\r\n\r\n";
//! assert_eq!(verdict(both), RequestError::ConflictingFraming);
//! assert_eq!(verdict(both).status_hint(), 400);
//!
//! let te_in_10 = b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n";
//! assert_eq!(verdict(te_in_10), RequestError::ConflictingFraming);
//!
//! // A coding this server does not implement: 501 Not Implemented.
//! let gzip = b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n";
//! assert_eq!(verdict(gzip).status_hint(), 501);
//!
//! // Two lengths that disagree: which one is the body?
//! let two = b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n";
//! assert_eq!(verdict(two), RequestError::InvalidContentLength);
//! ```
//!
//! A request error ends the receive side: nothing after it on the wire can be trusted. The
//! application may still send one error page, and the connection then closes.
//!
//! # 2. Keep-alive in HTTP/1.0 and 1.1
//!
//! HTTP/1.0 closes the connection after every response, unless the client sends
//! `Connection: keep-alive`. HTTP/1.1 keeps it open unless either side sends
//! `Connection: close`. As in CPython's `http.server`, the server only offers keep-alive when
//! its [`Config::protocol_version`](crate::Config::protocol_version) is `HTTP/1.1`; the
//! default, `HTTP/1.0`, closes after every response.
//!
//! ```
//! # use std::sync::Arc;
//! # use std::time::Instant;
//! # use protocol::{Config, Event, ResponseHead, ServerConnection, Transmit};
//! # fn flush(conn: &mut ServerConnection) -> (Vec<u8>, bool) {
//! #     let mut wire = Vec::new();
//! #     loop {
//! #         match conn.poll_transmit() {
//! #             Some(Transmit::Bytes(b)) => { wire.extend_from_slice(b); let n = b.len(); conn.advance_transmit(n); }
//! #             Some(Transmit::Shutdown) => return (wire, true),
//! #             _ => return (wire, false),
//! #         }
//! #     }
//! # }
//! # let now = Instant::now();
//! /// Answers one request; returns whether the connection stayed open.
//! fn exchange(protocol_version: &'static str, request: &[u8]) -> bool {
//!     let mut config = Config::default();
//!     config.protocol_version = protocol_version.into();
//!     let now = Instant::now();
//!     let mut conn = ServerConnection::new(Arc::new(config), now);
//!     conn.receive(request, now);
//!     while let Some(event) = conn.poll_event() {
//!         if let Event::Request(_) = event {
//!             conn.respond(&ResponseHead::new(200), "ok".into()).unwrap();
//!         }
//!     }
//!     let (_, shutdown) = flush(&mut conn);
//!     let Some(Event::ResponseComplete { keep_alive }) = conn.poll_event() else { panic!() };
//!     assert_eq!(shutdown, !keep_alive);
//!     keep_alive
//! }
//!
//! let http11 = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n";
//! let http10 = b"GET / HTTP/1.0\r\n\r\n";
//! let http10_keep = b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n";
//! let http11_close = b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
//!
//! // The default server speaks HTTP/1.0: one request per connection, whatever the client.
//! assert!(!exchange("HTTP/1.0", http11));
//! assert!(!exchange("HTTP/1.0", http10_keep));
//!
//! // An HTTP/1.1 server: 1.1 clients persist by default, 1.0 clients only when they ask.
//! assert!(exchange("HTTP/1.1", http11));
//! assert!(!exchange("HTTP/1.1", http10));
//! assert!(exchange("HTTP/1.1", http10_keep));
//! assert!(!exchange("HTTP/1.1", http11_close));
//! ```
//!
//! The response can end persistence too: a `Connection: close` field in the head the
//! application sends closes the connection after it.
//!
//! ```
//! # use std::sync::Arc;
//! # use std::time::Instant;
//! # use protocol::{Config, Event, ResponseHead, ServerConnection, Transmit};
//! # let now = Instant::now();
//! let mut config = Config::default();
//! config.protocol_version = "HTTP/1.1".into();
//! let mut conn = ServerConnection::new(Arc::new(config), now);
//! conn.receive(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", now);
//! let Some(Event::Request(head)) = conn.poll_event() else { panic!() };
//! assert!(head.keep_alive()); // the request would allow it...
//! let bye = ResponseHead::new(200).with_header("Connection", "close");
//! conn.respond(&bye, "bye".into()).unwrap();
//! while let Some(Transmit::Bytes(b)) = conn.poll_transmit() {
//!     let n = b.len();
//!     conn.advance_transmit(n);
//! }
//! // ...the response does not.
//! assert!(matches!(conn.poll_event(), Some(Event::EndOfRequest { .. })));
//! assert_eq!(conn.poll_event(), Some(Event::ResponseComplete { keep_alive: false }));
//! ```
//!
//! # 3. Pipelining
//!
//! An HTTP/1.1 client may send its next request before the first answer arrives. Responses
//! carry no request id, so they must go out in request order: the server reads the first
//! request, and leaves the second in its buffer until the first response is written.
//!
//! ```
//! # use std::sync::Arc;
//! # use std::time::Instant;
//! # use protocol::{Config, Event, ReadState, ResponseHead, ServerConnection, Transmit};
//! # fn flush(conn: &mut ServerConnection) -> (Vec<u8>, bool) {
//! #     let mut wire = Vec::new();
//! #     loop {
//! #         match conn.poll_transmit() {
//! #             Some(Transmit::Bytes(b)) => { wire.extend_from_slice(b); let n = b.len(); conn.advance_transmit(n); }
//! #             Some(Transmit::Shutdown) => return (wire, true),
//! #             _ => return (wire, false),
//! #         }
//! #     }
//! # }
//! # let now = Instant::now();
//! let mut config = Config::default();
//! config.protocol_version = "HTTP/1.1".into();
//! let mut conn = ServerConnection::new(Arc::new(config), now);
//!
//! // Two requests in one read.
//! conn.receive(b"GET /1 HTTP/1.1\r\nHost: x\r\n\r\nGET /2 HTTP/1.1\r\nHost: x\r\n\r\n", now);
//! let Some(Event::Request(first)) = conn.poll_event() else { panic!() };
//! assert_eq!(first.target(), b"/1");
//! assert!(matches!(conn.poll_event(), Some(Event::EndOfRequest { .. })));
//!
//! // The second request waits, and the socket is not read meanwhile.
//! assert_eq!(conn.poll_event(), None);
//! assert_eq!(conn.state().read, ReadState::Done);
//! assert!(!conn.wants_read());
//!
//! conn.respond(&ResponseHead::new(200), "one".into()).unwrap();
//! assert_eq!(flush(&mut conn).0, b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\none");
//!
//! // The first response is out: now the second request is parsed.
//! assert_eq!(conn.poll_event(), Some(Event::ResponseComplete { keep_alive: true }));
//! let Some(Event::Request(second)) = conn.poll_event() else { panic!() };
//! assert_eq!(second.target(), b"/2");
//! ```
//!
//! # 4. Responses without a body: HEAD, 204, 304
//!
//! A reply to `HEAD` carries the head a `GET` would have, `Content-Length` included, but
//! never the body. `204 No Content` and `304 Not Modified` (and every `1xx`) never have a
//! body either. The client knows this without a length, so a byte sent after such a head
//! would be read as the start of the next response.
//!
//! ```
//! # use std::sync::Arc;
//! # use std::time::Instant;
//! # use protocol::{Config, Event, ResponseBody, ResponseHead, ServerConnection, Transmit};
//! # fn flush(conn: &mut ServerConnection) -> (Vec<u8>, bool) {
//! #     let mut wire = Vec::new();
//! #     loop {
//! #         match conn.poll_transmit() {
//! #             Some(Transmit::Bytes(b)) => { wire.extend_from_slice(b); let n = b.len(); conn.advance_transmit(n); }
//! #             Some(Transmit::Shutdown) => return (wire, true),
//! #             _ => return (wire, false),
//! #         }
//! #     }
//! # }
//! # let now = Instant::now();
//! # let config = Arc::new(Config::default());
//! let mut conn = ServerConnection::new(config.clone(), now);
//! conn.receive(b"HEAD /page HTTP/1.0\r\n\r\n", now);
//! let Some(Event::Request(head)) = conn.poll_event() else { panic!() };
//! assert!(head.is_head());
//! // The application answers as it would a GET; the body is dropped on the way out.
//! conn.respond(&ResponseHead::new(200), "hello".into()).unwrap();
//! assert_eq!(flush(&mut conn).0, b"HTTP/1.0 200 OK\r\nContent-Length: 5\r\n\r\n");
//!
//! let mut conn = ServerConnection::new(config.clone(), now);
//! conn.receive(b"DELETE /page HTTP/1.0\r\n\r\n", now);
//! conn.send_response(&ResponseHead::new(204), ResponseBody::None).unwrap();
//! conn.finish_response().unwrap();
//! assert_eq!(flush(&mut conn).0, b"HTTP/1.0 204 No Content\r\n\r\n");
//!
//! let mut conn = ServerConnection::new(config, now);
//! conn.receive(b"GET /page HTTP/1.0\r\nIf-None-Match: \"v1\"\r\n\r\n", now);
//! conn.send_response(&ResponseHead::new(304), ResponseBody::None).unwrap();
//! // Whatever the application tries, no body byte follows a 304.
//! assert!(conn.send_body("oops".into()).is_err());
//! conn.finish_response().unwrap();
//! assert_eq!(flush(&mut conn).0, b"HTTP/1.0 304 Not Modified\r\n\r\n");
//! ```
//!
//! # 5. `Expect: 100-continue`
//!
//! A client about to upload a large body can ask first: it sends the head with
//! `Expect: 100-continue` and waits. The server either says `100 Continue` (an interim
//! response: a status line and an empty line, nothing else) and reads the body, or answers
//! at once (with `413`, `401`, ...) and the body is never sent.
//!
//! ```
//! # use std::sync::Arc;
//! # use std::time::Instant;
//! # use protocol::{Config, Event, ServerConnection, Transmit};
//! # fn flush(conn: &mut ServerConnection) -> (Vec<u8>, bool) {
//! #     let mut wire = Vec::new();
//! #     loop {
//! #         match conn.poll_transmit() {
//! #             Some(Transmit::Bytes(b)) => { wire.extend_from_slice(b); let n = b.len(); conn.advance_transmit(n); }
//! #             Some(Transmit::Shutdown) => return (wire, true),
//! #             _ => return (wire, false),
//! #         }
//! #     }
//! # }
//! # let now = Instant::now();
//! let mut config = Config::default();
//! config.protocol_version = "HTTP/1.1".into();
//! let mut conn = ServerConnection::new(Arc::new(config), now);
//! conn.receive(
//!     b"PUT /f HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n",
//!     now,
//! );
//! let Some(Event::Request(head)) = conn.poll_event() else { panic!() };
//! assert!(head.expects_continue());
//! assert_eq!(conn.poll_event(), None); // the client waits, and so does the body
//!
//! conn.send_continue().unwrap();
//! assert_eq!(flush(&mut conn).0, b"HTTP/1.1 100 Continue\r\n\r\n");
//!
//! conn.receive(b"data", now);
//! assert_eq!(conn.poll_event(), Some(Event::Body("data".into())));
//! assert!(matches!(conn.poll_event(), Some(Event::EndOfRequest { .. })));
//! ```
//!
//! If the server answers without `100 Continue`, it cannot know whether the client will
//! send the body anyway, so it cannot tell where the next request starts: it closes the
//! connection after that response.
//!
//! ```
//! # use std::sync::Arc;
//! # use std::time::Instant;
//! # use protocol::{Config, Event, ResponseHead, ServerConnection, Transmit};
//! # let now = Instant::now();
//! let mut config = Config::default();
//! config.protocol_version = "HTTP/1.1".into();
//! let mut conn = ServerConnection::new(Arc::new(config), now);
//! conn.receive(
//!     b"PUT /f HTTP/1.1\r\nHost: x\r\nContent-Length: 999999\r\nExpect: 100-continue\r\n\r\n",
//!     now,
//! );
//! let Some(Event::Request(head)) = conn.poll_event() else { panic!() };
//! assert!(head.keep_alive() && head.expects_continue());
//! conn.respond(&ResponseHead::new(413), "too large".into()).unwrap();
//! let mut wire = Vec::new();
//! while let Some(Transmit::Bytes(b)) = conn.poll_transmit() {
//!     wire.extend_from_slice(b);
//!     let n = b.len();
//!     conn.advance_transmit(n);
//! }
//! assert!(wire.starts_with(b"HTTP/1.1 413 Content Too Large\r\n"));
//! assert_eq!(conn.poll_event(), Some(Event::ResponseComplete { keep_alive: false }));
//! ```
//!
//! # 6. Chunked coding and trailers
//!
//! When the length is not known up front, the body is sent in chunks. Each chunk is its
//! size in hexadecimal, CRLF, the bytes, CRLF. A chunk of size `0` ends the body; optional
//! trailer fields follow it, then an empty line:
//!
//! ```text
//! 5\r\n
//! hello\r\n
//! 0\r\n
//! Checksum: 42\r\n
//! \r\n
//! ```
//!
//! ```
//! # use std::sync::Arc;
//! # use std::time::Instant;
//! # use protocol::{Config, Event, RequestFraming, ResponseBody, ResponseHead, ServerConnection, Transmit};
//! # fn flush(conn: &mut ServerConnection) -> (Vec<u8>, bool) {
//! #     let mut wire = Vec::new();
//! #     loop {
//! #         match conn.poll_transmit() {
//! #             Some(Transmit::Bytes(b)) => { wire.extend_from_slice(b); let n = b.len(); conn.advance_transmit(n); }
//! #             Some(Transmit::Shutdown) => return (wire, true),
//! #             _ => return (wire, false),
//! #         }
//! #     }
//! # }
//! # let now = Instant::now();
//! let mut config = Config::default();
//! config.protocol_version = "HTTP/1.1".into();
//! let mut conn = ServerConnection::new(Arc::new(config), now);
//! conn.receive(b"POST /up HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n", now);
//! let Some(Event::Request(head)) = conn.poll_event() else { panic!() };
//! assert_eq!(head.framing(), RequestFraming::Chunked);
//!
//! conn.receive(b"5\r\nhello\r\n", now);
//! assert_eq!(conn.poll_event(), Some(Event::Body("hello".into())));
//! // Sizes are hexadecimal: `b` is eleven bytes.
//! conn.receive(b"b\r\n, in chunks\r\n", now);
//! assert_eq!(conn.poll_event(), Some(Event::Body(", in chunks".into())));
//! // Chunk data is counted, never parsed: these seven bytes only look like an end.
//! conn.receive(b"7\r\n0\r\n\r\nhi\r\n", now);
//! assert_eq!(conn.poll_event(), Some(Event::Body("0\r\n\r\nhi".into())));
//! conn.receive(b"0\r\nChecksum: 42\r\n\r\n", now);
//! let Some(Event::EndOfRequest { trailers }) = conn.poll_event() else { panic!() };
//! assert_eq!(trailers.get("checksum"), Some(&b"42"[..]));
//!
//! // A chunked response: each send_body is one chunk, finish_response the last one.
//! conn.send_response(&ResponseHead::new(200), ResponseBody::Chunked).unwrap();
//! conn.send_body("hello".into()).unwrap();
//! conn.send_body(" world, in chunks".into()).unwrap();
//! conn.finish_response().unwrap();
//! assert_eq!(
//!     flush(&mut conn).0,
//!     b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\
//!       5\r\nhello\r\n\
//!       11\r\n world, in chunks\r\n\
//!       0\r\n\r\n"
//! );
//! ```
//!
//! HTTP/1.0 has no chunked coding, so a chunked response to an HTTP/1.0 client is a
//! usage error ([`UsageError::ChunkedNotSupported`](crate::UsageError::ChunkedNotSupported)).
//!
//! # 7. Why a server lingers before closing
//!
//! Closing a TCP socket that still has unread input makes the kernel send a reset (RST)
//! instead of a clean close (FIN). A reset can reach the client *before* it has read the
//! response still in flight, and the client's kernel then throws that response away: the
//! client sees "connection reset" instead of the `400` that explained the problem. This
//! happens exactly when the server stops reading early: after a request error, or with a
//! pipelined request it will not answer.
//!
//! So the server closes in two steps: it shuts down its *write* side
//! ([`Transmit::Shutdown`](crate::Transmit::Shutdown), a FIN after the last byte), then keeps
//! reading and discarding until the client closes too, or a short linger timeout passes.
//!
//! ```
//! # use std::sync::Arc;
//! # use std::time::Instant;
//! # use protocol::{Config, Event, ResponseHead, ServerConnection, Transmit};
//! # fn flush(conn: &mut ServerConnection) -> (Vec<u8>, bool) {
//! #     let mut wire = Vec::new();
//! #     loop {
//! #         match conn.poll_transmit() {
//! #             Some(Transmit::Bytes(b)) => { wire.extend_from_slice(b); let n = b.len(); conn.advance_transmit(n); }
//! #             Some(Transmit::Shutdown) => return (wire, true),
//! #             _ => return (wire, false),
//! #         }
//! #     }
//! # }
//! # let now = Instant::now();
//! let config = Arc::new(Config::default());
//! let mut conn = ServerConnection::new(config.clone(), now);
//! // A broken request, and more bytes behind it that will never be read as a request.
//! conn.receive(b"GET / HTTP/1.1\r\nBad Header: x\r\n\r\nmore bytes...", now);
//! let Some(Event::RequestError(e)) = conn.poll_event() else { panic!() };
//! let page = format!("{e}");
//! conn.respond(&ResponseHead::new(e.status_hint()), page.into()).unwrap();
//! let (wire, shutdown) = flush(&mut conn);
//! assert!(wire.starts_with(b"HTTP/1.0 400 Bad Request\r\n"));
//! assert!(shutdown); // our FIN follows the response...
//! assert_eq!(conn.poll_event(), Some(Event::ResponseComplete { keep_alive: false }));
//!
//! // ...but the socket stays open, reading and discarding, so no reset is sent.
//! assert!(conn.state().lingering);
//! assert!(!conn.is_closed());
//! assert!(conn.wants_read());
//! conn.receive(b"still more", now);
//! assert_eq!(conn.poll_event(), None);
//!
//! // It ends when the client closes, or when the linger deadline passes.
//! let deadline = conn.poll_timeout().unwrap();
//! assert_eq!(deadline, now + config.timeouts.linger);
//! conn.handle_timeout(deadline);
//! assert!(conn.is_closed());
//! ```
//!
//! # 8. Request smuggling, and the strict parsing that stops it
//!
//! A request usually crosses two parsers: a proxy (load balancer, CDN) and the server
//! behind it, which reuse one connection for many clients' requests. If the two disagree on
//! where a request ends, the bytes one of them thinks are body, the other reads as the
//! *next* request: an attacker's request is smuggled in, and may be answered with another
//! client's response, or skip the proxy's checks.
//!
//! **CL.TE**: the proxy frames by `Content-Length`, the server by `Transfer-Encoding`.
//!
//! ```text
//! POST / HTTP/1.1\r\n
//! Host: x\r\n
//! Content-Length: 6\r\n
//! Transfer-Encoding: chunked\r\n
//! \r\n
//! 0\r\n          <- the proxy forwards these 6 bytes as the body;
//! \r\n              the server sees the chunked body end here,
//! G              <- and this `G` starts the next request: `GPOST / ...`
//! ```
//!
//! **TE.CL** is the mirror image: the proxy follows the chunks, the server stops after
//! `Content-Length` bytes, and the rest of the chunk data is read as a request. Both need
//! a message carrying both fields, so refusing that shape stops both (section 1).
//!
//! The other shapes exploit leniency: one parser accepts a malformed line that the other
//! reads differently.
//!
//! - A **bare LF** (`\n` without `\r`) ending a chunk line: one parser takes it as a line
//!   end, another as part of the line.
//! - **obs-fold**: a header line starting with a space continues the previous one in old
//!   HTTP; a parser that does not know this sees a separate, odd field (or none).
//! - A **chunk-size with junk** (`5x`, `0x5`, a size with spaces): one parser stops at the
//!   first non-hex byte, another refuses or reads something else.
//! - **Whitespace before the colon** (`Transfer-Encoding : chunked`): one parser ignores the
//!   field, another trims and honours it.
//!
//! In [`ParseMode::Strict`](crate::ParseMode::Strict), the default, each of these is a
//! request error that closes the connection: there is no second reading of the bytes.
//!
//! ```
//! # use std::sync::Arc;
//! # use std::time::Instant;
//! use protocol::{Config, Event, RequestError, ServerConnection};
//!
//! /// Feeds the bytes; returns the error, after any events before it.
//! fn refused(request: &[u8]) -> RequestError {
//!     let mut conn = ServerConnection::new(Arc::new(Config::default()), Instant::now());
//!     conn.receive(request, Instant::now());
//!     loop {
//!         match conn.poll_event() {
//!             Some(Event::RequestError(e)) => {
//!                 assert!(e.closes_connection());
//!                 return e;
//!             }
//!             Some(_) => {}
//!             None => panic!("accepted"),
//!         }
//!     }
//! }
//!
//! // CL.TE and TE.CL: both framing fields at once.
//! let cl_te = b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\n\
//!               Transfer-Encoding: chunked\r\n\r\n0\r\n\r\nG";
//! assert_eq!(refused(cl_te), RequestError::ConflictingFraming);
//! let te_cl = b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\
//!               Content-Length: 3\r\n\r\n8\r\nSMUGGLED\r\n0\r\n\r\n";
//! assert_eq!(refused(te_cl), RequestError::ConflictingFraming);
//! assert_eq!(refused(te_cl).status_hint(), 400);
//!
//! // A bare LF ending a chunk-size line.
//! let bare_lf = b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\nhello\r\n0\r\n\r\n";
//! assert_eq!(refused(bare_lf), RequestError::BadChunk);
//!
//! // obs-fold: a continuation line.
//! let folded = b"GET / HTTP/1.1\r\nHost: x\r\nX-Note: a\r\n  folded\r\n\r\n";
//! assert_eq!(refused(folded), RequestError::InvalidHeader);
//! assert_eq!(refused(folded).status_hint(), 400);
//!
//! // A chunk-size with junk after the digits.
//! let junk = b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5x\r\nhello\r\n0\r\n\r\n";
//! assert_eq!(refused(junk), RequestError::BadChunk);
//! assert_eq!(refused(junk).status_hint(), 400);
//!
//! // Whitespace between a field name and its colon.
//! let spaced = b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding : chunked\r\n\r\n";
//! assert_eq!(refused(spaced), RequestError::InvalidHeader);
//! ```
//!
//! [`ParseMode::Compat`](crate::ParseMode::Compat) accepts what CPython's `http.server`
//! accepts, for teaching and comparison; body framing stays strict in both modes.
//!
//! # 9. The driving loop over a real socket
//!
//! The connection does no I/O, so a runtime moves the bytes. The loop is always the same:
//! after every input, drain [`poll_event`](crate::ServerConnection::poll_event) (answering
//! requests) and [`poll_transmit`](crate::ServerConnection::poll_transmit) (writing bytes,
//! shutting down the write side on `Shutdown`); then read, while
//! [`wants_read`](crate::ServerConnection::wants_read), until
//! [`is_closed`](crate::ServerConnection::is_closed). A blocking loop over
//! `std::net`, with a client on a loopback socket, runs here as it is:
//!
//! ```
//! use std::io::{Read, Write};
//! use std::net::{Shutdown, TcpListener, TcpStream};
//! use std::sync::Arc;
//! use std::time::Instant;
//!
//! use protocol::{Config, Event, ResponseHead, ServerConnection, Transmit};
//!
//! let listener = TcpListener::bind("127.0.0.1:0")?;
//! let addr = listener.local_addr()?;
//! let client = std::thread::spawn(move || -> std::io::Result<Vec<u8>> {
//!     let mut stream = TcpStream::connect(addr)?;
//!     stream.write_all(b"GET /hello HTTP/1.0\r\n\r\n")?;
//!     let mut response = Vec::new();
//!     stream.read_to_end(&mut response)?; // until the server's FIN
//!     Ok(response)
//! });
//!
//! let (mut socket, _) = listener.accept()?;
//! let mut conn = ServerConnection::new(Arc::new(Config::default()), Instant::now());
//! let mut buf = [0u8; 4096];
//! while !conn.is_closed() {
//!     while let Some(event) = conn.poll_event() {
//!         if let Event::Request(head) = event {
//!             let body = format!("you asked for {}\n", String::from_utf8_lossy(head.target()));
//!             conn.respond(&ResponseHead::new(200), body.into()).unwrap();
//!         } else if let Event::RequestError(e) = event {
//!             let _ = conn.respond(&ResponseHead::new(e.status_hint()), e.to_string().into());
//!         }
//!     }
//!     while let Some(transmit) = conn.poll_transmit() {
//!         match transmit {
//!             Transmit::Bytes(bytes) => {
//!                 let n = socket.write(bytes)?;
//!                 conn.advance_transmit(n);
//!             }
//!             Transmit::Shutdown => socket.shutdown(Shutdown::Write)?,
//!             _ => unreachable!("no file bodies here"),
//!         }
//!     }
//!     if conn.is_closed() {
//!         break;
//!     }
//!     // A real server also waits at most until conn.poll_timeout() (set_read_timeout,
//!     // or a poller) and then calls conn.handle_timeout(Instant::now()).
//!     if conn.wants_read() {
//!         match socket.read(&mut buf)? {
//!             0 => conn.receive_eof(Instant::now()),
//!             n => conn.receive(&buf[..n], Instant::now()),
//!         }
//!     }
//! }
//!
//! let response = client.join().unwrap()?;
//! assert_eq!(
//!     response,
//!     b"HTTP/1.0 200 OK\r\nContent-Length: 21\r\n\r\nyou asked for /hello\n"
//! );
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! The lingering close of section 7 is the `read` after `Shutdown`: the server keeps
//! reading until the client, having read the whole response, closes its side (`0` from
//! `read`).
