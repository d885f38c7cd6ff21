//! A `BaseHTTPRequestHandler`-style API for writing your own request handler.
//!
//! Python users subclass `BaseHTTPRequestHandler` and write `do_GET`; here you implement
//! [`Handler`] and write [`Handler::do_get`]. Inside, an [`Exchange`] offers the same verbs:
//! `send_response`, `send_header`, `end_headers`, `send_error`, `wfile`, `rfile`,
//! `log_message`, with the same buffering (the head goes out in one write at `end_headers`).
//!
//! ```no_run
//! use std::io::{self, Read, Write};
//! use handler::exchange::{Exchange, Handler};
//!
//! struct Hello;
//!
//! impl Handler for Hello {
//!     fn do_get(&self, ex: &mut Exchange<'_>) -> io::Result<()> {
//!         let body = format!("you asked for {}\n", ex.path());
//!         ex.send_response(200, None);
//!         ex.send_header("Content-Type", "text/plain");
//!         ex.send_header("Content-Length", &body.len().to_string());
//!         ex.end_headers()?;
//!         ex.wfile().write_all(body.as_bytes())
//!     }
//!
//!     fn do_post(&self, ex: &mut Exchange<'_>) -> io::Result<()> {
//!         let mut body = Vec::new();
//!         ex.rfile().read_to_end(&mut body)?;
//!         ex.send_response(200, None);
//!         ex.send_header("Content-Length", &body.len().to_string());
//!         ex.end_headers()?;
//!         ex.wfile().write_all(&body)
//!     }
//! }
//! ```
//!
//! The runtime decides how bytes move ([`Transport`]); the exchange only decides what to say.

use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::time::SystemTime;

use bytes::Bytes;
use protocol::{Headers, RequestHead, ResponseBody, ResponseHead};

/// How an [`Exchange`] reaches the connection. Each runtime implements it; a runtime that
/// cannot block on its event loop runs the handler on a worker thread and implements this
/// with channels.
pub trait Transport {
    /// Reads request body bytes; `Ok(0)` at the end of the body.
    fn read_body(&mut self, buf: &mut [u8]) -> io::Result<usize>;
    /// Sends `100 Continue`.
    fn send_continue(&mut self) -> io::Result<()>;
    /// Starts the response.
    fn start_response(&mut self, head: &ResponseHead, body: ResponseBody) -> io::Result<()>;
    /// Writes response body bytes (blocking until the connection accepted them).
    fn write_body(&mut self, data: &[u8]) -> io::Result<()>;
    /// Ends the response.
    fn finish_response(&mut self) -> io::Result<()>;
    /// Writes one line to the server log.
    fn log(&mut self, line: &str);
    /// Wall-clock time, for `Date` headers and log lines (the handler crate reads no clock).
    fn now(&self) -> SystemTime;
}

/// Copies what fits of a body `chunk` into `buf` and keeps the rest in `leftover` for the
/// next read: how a [`Transport::read_body`] turns the core's body chunks into `read` calls.
pub fn fill_from_chunk(mut chunk: Bytes, buf: &mut [u8], leftover: &mut Option<Bytes>) -> usize {
    let n = chunk.len().min(buf.len());
    buf[..n].copy_from_slice(&chunk[..n]);
    bytes::Buf::advance(&mut chunk, n);
    if !chunk.is_empty() {
        *leftover = Some(chunk);
    }
    n
}

/// Your request handler: the `do_*` methods of a `BaseHTTPRequestHandler` subclass.
///
/// Every method has a default that answers `501 Unsupported method ('X')`, as CPython does
/// for a method without a `do_X`. Override [`handle`](Self::handle) to dispatch yourself.
pub trait Handler: Send + Sync + 'static {
    /// Whether this handler answers `request`. Requests it declines get the built-in
    /// `http.server` behaviour (files, listings, CGI), as a Python subclass whose `do_GET`
    /// calls `super().do_GET()` for them; the default takes every request.
    fn accepts(&self, request: &RequestHead) -> bool {
        let _ = request;
        true
    }

    /// Dispatches on the method, as `handle_one_request` does (exact, case-sensitive names).
    fn handle(&self, ex: &mut Exchange<'_>) -> io::Result<()> {
        match ex.command() {
            "GET" => self.do_get(ex),
            "HEAD" => self.do_head(ex),
            "POST" => self.do_post(ex),
            "PUT" => self.do_put(ex),
            "DELETE" => self.do_delete(ex),
            "OPTIONS" => self.do_options(ex),
            "PATCH" => self.do_patch(ex),
            _ => ex.send_unsupported(),
        }
    }

    /// `Expect: 100-continue` was received: return `false` after sending a final response
    /// (417, say) to refuse the body. The default sends `100 Continue`.
    fn handle_expect_100(&self, ex: &mut Exchange<'_>) -> io::Result<bool> {
        ex.send_continue()?;
        Ok(true)
    }

    /// `do_GET`.
    fn do_get(&self, ex: &mut Exchange<'_>) -> io::Result<()> {
        ex.send_unsupported()
    }
    /// `do_HEAD`.
    fn do_head(&self, ex: &mut Exchange<'_>) -> io::Result<()> {
        ex.send_unsupported()
    }
    /// `do_POST`.
    fn do_post(&self, ex: &mut Exchange<'_>) -> io::Result<()> {
        ex.send_unsupported()
    }
    /// `do_PUT`.
    fn do_put(&self, ex: &mut Exchange<'_>) -> io::Result<()> {
        ex.send_unsupported()
    }
    /// `do_DELETE`.
    fn do_delete(&self, ex: &mut Exchange<'_>) -> io::Result<()> {
        ex.send_unsupported()
    }
    /// `do_OPTIONS`.
    fn do_options(&self, ex: &mut Exchange<'_>) -> io::Result<()> {
        ex.send_unsupported()
    }
    /// `do_PATCH`.
    fn do_patch(&self, ex: &mut Exchange<'_>) -> io::Result<()> {
        ex.send_unsupported()
    }
}

/// One request being answered: what `self` is inside a `do_GET`.
pub struct Exchange<'a> {
    head: &'a RequestHead,
    command: String,
    path: String,
    client: SocketAddr,
    settings: &'a crate::Settings,
    transport: &'a mut dyn Transport,
    /// The buffered head (`send_response` / `send_header`), written at `end_headers`.
    pending: Option<ResponseHead>,
    /// Whether a response head went out.
    started: bool,
    body_finished: bool,
}

impl std::fmt::Debug for Exchange<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Exchange")
            .field("command", &self.command)
            .field("path", &self.path)
            .field("client", &self.client)
            .finish_non_exhaustive()
    }
}

impl<'a> Exchange<'a> {
    /// An exchange for `head`, talking through `transport`. Runtimes call this.
    pub fn new(
        head: &'a RequestHead,
        client: SocketAddr,
        settings: &'a crate::Settings,
        transport: &'a mut dyn Transport,
    ) -> Self {
        Self {
            head,
            command: latin1(head.method()),
            path: String::from_utf8_lossy(&crate::request_path(head.target())).into_owned(),
            client,
            settings,
            transport,
            pending: None,
            started: false,
            body_finished: false,
        }
    }

    /// `self.command`: the method, as sent.
    pub fn command(&self) -> &str {
        &self.command
    }

    /// `self.path`: the request-target with a leading `//` collapsed (CVE-2021-28861).
    pub fn path(&self) -> &str {
        &self.path
    }

    /// `self.request_version`: the version token as sent (`HTTP/1.1`), `HTTP/0.9` for a
    /// two-word request line.
    pub fn request_version(&self) -> String {
        if self.head.version_raw().is_empty() {
            "HTTP/0.9".to_owned()
        } else {
            latin1(self.head.version_raw())
        }
    }

    /// `self.requestline`.
    pub fn requestline(&self) -> String {
        latin1(self.head.request_line())
    }

    /// `self.headers`, in wire order.
    pub fn headers(&self) -> &Headers {
        self.head.headers()
    }

    /// The whole request head.
    pub fn request(&self) -> &RequestHead {
        self.head
    }

    /// `self.client_address`.
    pub fn client_address(&self) -> SocketAddr {
        self.client
    }

    /// `self.rfile`: the request body (decoded from chunked coding if needed; empty when there
    /// is none). Unread body is discarded by the server after the response.
    pub fn rfile(&mut self) -> impl Read + '_ {
        BodyReader { ex: self }
    }

    /// `self.wfile`: the response body. Write after [`end_headers`](Self::end_headers).
    pub fn wfile(&mut self) -> impl Write + '_ {
        BodyWriter { ex: self }
    }

    /// `send_response(code, message)`: logs the request, buffers the status line, `Server`
    /// and `Date`.
    pub fn send_response(&mut self, code: u16, message: Option<&str>) {
        self.log_request(code);
        self.send_response_only(code, message);
        let server = format!(
            "{} {}",
            self.settings.server_version, self.settings.sys_version
        );
        self.send_header("Server", &server);
        let now = self.transport.now();
        self.send_header("Date", &crate::date_time_string(now));
    }

    /// `send_response_only(code, message)`: buffers the status line alone.
    pub fn send_response_only(&mut self, code: u16, message: Option<&str>) {
        let mut head = ResponseHead::new(code);
        if let Some(message) = message {
            head.reason = Some(Bytes::from(latin1_bytes(message)));
        }
        self.pending = Some(head);
    }

    /// `send_header(keyword, value)`: buffers a header line (latin-1, as CPython encodes it).
    pub fn send_header(&mut self, keyword: &str, value: &str) {
        let head = self.pending.get_or_insert_with(|| ResponseHead::new(200));
        head.headers.append(
            Bytes::from(latin1_bytes(keyword)),
            Bytes::from(latin1_bytes(value)),
        );
    }

    /// `end_headers()`: writes the buffered head in one piece.
    ///
    /// The body is framed by the `Content-Length` you sent; without one it runs until the
    /// connection closes, as with CPython.
    pub fn end_headers(&mut self) -> io::Result<()> {
        let head = self
            .pending
            .take()
            .ok_or_else(|| usage("end_headers before send_response"))?;
        let length = head
            .headers
            .get("content-length")
            .and_then(|v| std::str::from_utf8(v).ok()?.trim().parse::<u64>().ok());
        let bodiless =
            head.status < 200 || head.status == 204 || head.status == 304 || self.head.is_head();
        let body = match length {
            Some(n) => ResponseBody::Length(n),
            None if bodiless => ResponseBody::None,
            None => ResponseBody::UntilClose,
        };
        self.started = true;
        self.transport.start_response(&head, body)
    }

    /// `send_error(code, message, explain)`: CPython's error page, `Connection: close`.
    pub fn send_error(
        &mut self,
        code: u16,
        message: Option<&str>,
        explain: Option<&str>,
    ) -> io::Result<()> {
        let plan = crate::send_error(
            self.settings,
            code,
            message,
            explain,
            self.head.is_head(),
            self.transport.now(),
        );
        for line in &plan.log_messages {
            self.log_message(line);
        }
        self.log_request(code);
        let body = match plan.body {
            crate::PlanBody::Bytes(b) => b,
            _ => Bytes::new(),
        };
        let kind = if body.is_empty() {
            ResponseBody::None
        } else {
            ResponseBody::Length(body.len() as u64)
        };
        self.started = true;
        self.transport.start_response(&plan.head, kind)?;
        if !body.is_empty() {
            self.transport.write_body(&body)?;
        }
        self.finish()
    }

    /// Sends `100 Continue` (what `handle_expect_100` does by default).
    pub fn send_continue(&mut self) -> io::Result<()> {
        self.transport.send_continue()
    }

    /// `log_message(format % args)`: one line on the server log, control characters escaped.
    pub fn log_message(&mut self, message: &str) {
        let line = crate::format_log_line(self.client.ip(), self.transport.now(), message);
        self.transport.log(&line);
    }

    /// `log_request(code)`: `"<requestline>" <code> -`.
    pub fn log_request(&mut self, code: u16) {
        let message = crate::request_log_message(self.head.request_line(), code);
        self.log_message(&message);
    }

    /// The 501 CPython sends for a method without a `do_` method.
    pub fn send_unsupported(&mut self) -> io::Result<()> {
        let message = crate::unsupported_method_message(self.head.method());
        self.send_error(501, Some(&message), None)
    }

    /// Whether a response was started.
    pub fn response_started(&self) -> bool {
        self.started
    }

    /// Ends the response (runtimes call this after the handler returns).
    pub fn finish(&mut self) -> io::Result<()> {
        if self.started && !self.body_finished {
            self.body_finished = true;
            self.transport.finish_response()?;
        }
        Ok(())
    }
}

struct BodyReader<'e, 'a> {
    ex: &'e mut Exchange<'a>,
}

impl Read for BodyReader<'_, '_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.ex.transport.read_body(buf)
    }
}

struct BodyWriter<'e, 'a> {
    ex: &'e mut Exchange<'a>,
}

impl Write for BodyWriter<'_, '_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if !self.ex.started {
            return Err(usage("wfile written before end_headers"));
        }
        self.ex.transport.write_body(buf)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn usage(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, what.to_owned())
}

/// Bytes as latin-1 text, as CPython decodes request lines.
fn latin1(bytes: &[u8]) -> String {
    bytes.iter().map(|&b| char::from(b)).collect()
}

/// Text as latin-1 bytes; characters beyond U+00FF become `?` (CPython would raise).
fn latin1_bytes(text: &str) -> Vec<u8> {
    text.chars()
        .map(|c| u8::try_from(u32::from(c)).unwrap_or(b'?'))
        .collect()
}

/// Runs `handler` for one request as CPython's `handle_one_request` does: `100 Continue` first
/// when the client asked for it (unless [`Handler::handle_expect_100`] refuses), then the
/// dispatch, then the end of the response.
///
/// Returns whether a response was completed. `false` (the handler failed, panicked or said
/// nothing) means the runtime should close the connection without a reply, as CPython does.
/// A panic is contained here so that it costs one connection, never a runtime thread.
pub fn serve_request(
    handler: &dyn Handler,
    settings: &crate::Settings,
    head: &RequestHead,
    client: SocketAddr,
    transport: &mut dyn Transport,
) -> bool {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let mut exchange = Exchange::new(head, client, settings, transport);
        let mut outcome = if head.expects_continue() {
            handler.handle_expect_100(&mut exchange)
        } else {
            Ok(true)
        };
        if let Ok(true) = outcome {
            outcome = handler.handle(&mut exchange).map(|()| true);
        }
        let started = exchange.response_started();
        outcome.and_then(|_| exchange.finish()).is_ok() && started
    }))
    .unwrap_or(false)
}
