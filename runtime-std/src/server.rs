//! `HTTPServer` and `ThreadingHTTPServer`: the listener, the accept loop, the connection
//! limit, and graceful stop.
//!
//! Stopping (SIGINT, SIGTERM or [`StopHandle::stop`]) shuts the listener, so new connections
//! are refused at once, and shuts the read side of every open connection: an idle keep-alive
//! connection wakes and closes, a connection in the middle of a response finishes it first.
//! `serve_forever` returns when the last connection is gone.

use std::io;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::Duration;

use crate::drive::Driver;
use crate::facts::ServerFacts;
use handler::exchange::Handler;

/// What answers the requests.
#[derive(Clone)]
#[non_exhaustive]
pub enum Service {
    /// `SimpleHTTPRequestHandler` (and `CGIHTTPRequestHandler` when the settings enable CGI).
    Files,
    /// Your own handler, `BaseHTTPRequestHandler`-style.
    Custom(Arc<dyn Handler>),
}

impl std::fmt::Debug for Service {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Files => f.write_str("Files"),
            Self::Custom(_) => f.write_str("Custom(..)"),
        }
    }
}

/// Everything a server needs besides its address.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ServerOptions {
    /// Connection policy (protocol version, parse mode, limits, timeouts).
    pub protocol: protocol::Config,
    /// `http.server` settings (directory, versions, CGI).
    pub settings: handler::Settings,
    /// What answers requests.
    pub service: Service,
    /// Most connections served at once by [`ThreadingHttpServer`]; more wait in the backlog.
    pub max_connections: usize,
    /// Listen backlog.
    pub backlog: u32,
    /// Set `SO_REUSEPORT`, so several listeners can share the port.
    pub reuse_port: bool,
    /// Kill a CGI script (and its process group) that runs longer than this.
    pub cgi_timeout: Duration,
}

impl ServerOptions {
    /// Options for a service with default settings.
    pub fn new(service: Service, settings: handler::Settings) -> Self {
        Self {
            protocol: protocol::Config::default(),
            settings,
            service,
            max_connections: 1024,
            backlog: 1024,
            reuse_port: false,
            cgi_timeout: Duration::from_secs(60),
        }
    }
}

/// State shared by the accept loop and every connection.
pub(crate) struct Shared {
    pub(crate) protocol: Arc<protocol::Config>,
    pub(crate) settings: handler::Settings,
    pub(crate) service: Service,
    pub(crate) cgi_timeout: Duration,
    facts: ServerFacts,
    stop: AtomicBool,
    /// Open connections, so a stop can wake their blocked reads.
    open: Mutex<Vec<(u64, TcpStream)>>,
    /// Signalled whenever a connection ends.
    closed: Condvar,
    next_id: AtomicU64,
    /// Another handle on the listener, to unblock `accept` on stop.
    listener: TcpListener,
}

impl Shared {
    pub(crate) fn stopping(&self) -> bool {
        self.stop.load(Ordering::Acquire)
    }

    /// Facts about this request's connection, for the handler.
    pub(crate) fn request_context(&self, peer: SocketAddr) -> handler::RequestContext<'_> {
        self.facts.request_context(peer)
    }

    fn stop(&self) {
        if self.stop.swap(true, Ordering::AcqRel) {
            return;
        }
        // Wakes a blocked accept (Linux returns EINVAL to it) and refuses new connections.
        let _ = rustix::net::shutdown(&self.listener, rustix::net::Shutdown::Read);
        for (_, stream) in self
            .open
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
        {
            let _ = stream.shutdown(std::net::Shutdown::Read);
        }
    }

    fn register(&self, stream: &TcpStream) -> Option<u64> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let clone = stream.try_clone().ok()?;
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        if self.stopping() {
            let _ = clone.shutdown(std::net::Shutdown::Read);
        }
        open.push((id, clone));
        Some(id)
    }

    fn unregister(&self, id: u64) {
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        open.retain(|(i, _)| *i != id);
        self.closed.notify_all();
    }

    fn open_count(&self) -> usize {
        self.open
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// Blocks while `limit` connections are open.
    fn wait_below(&self, limit: usize) {
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        while open.len() >= limit && !self.stopping() {
            open = self
                .closed
                .wait(open)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }

    fn wait_all_closed(&self) {
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        while !open.is_empty() {
            open = self
                .closed
                .wait(open)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }

    fn serve(&self, stream: TcpStream, peer: SocketAddr) {
        let Some(id) = self.register(&stream) else {
            return;
        };
        Driver::new(stream, peer, self).run();
        self.unregister(id);
    }
}

/// Stops a running server from another thread (or a signal handler thread).
#[derive(Clone)]
pub struct StopHandle {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for StopHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StopHandle").finish_non_exhaustive()
    }
}

impl StopHandle {
    /// Refuses new connections, lets in-flight responses finish, then `serve_forever` returns.
    pub fn stop(&self) {
        self.shared.stop();
    }
}

/// Binds a listening socket: `SO_REUSEADDR` (as Python's `HTTPServer`), dual-stack for `::`
/// (as `python -m http.server`), optionally `SO_REUSEPORT`.
pub fn bind_listener(addr: SocketAddr, backlog: u32, reuse_port: bool) -> io::Result<TcpListener> {
    use rustix::net::{AddressFamily, SocketType, bind, listen, socket, sockopt};
    let family = if addr.is_ipv6() {
        AddressFamily::INET6
    } else {
        AddressFamily::INET
    };
    let fd = socket(family, SocketType::STREAM, None)?;
    sockopt::set_socket_reuseaddr(&fd, true)?;
    if reuse_port {
        sockopt::set_socket_reuseport(&fd, true)?;
    }
    if addr.is_ipv6() {
        sockopt::set_ipv6_v6only(&fd, false)?;
    }
    bind(&fd, &addr)?;
    listen(&fd, i32::try_from(backlog).unwrap_or(i32::MAX))?;
    Ok(TcpListener::from(fd))
}

/// Calls `stop` (once, on a thread of its own) when SIGINT or SIGTERM arrives: every runtime's
/// graceful stop starts here.
pub fn on_stop_signal(stop: impl FnOnce() + Send + 'static) -> io::Result<()> {
    use signal_hook::consts::{SIGINT, SIGTERM};
    let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM])?;
    std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            if signals.forever().next().is_some() {
                stop();
            }
        })?;
    Ok(())
}

/// Python's `HTTPServer`: one connection at a time, on the calling thread.
pub struct HttpServer {
    listener: TcpListener,
    shared: Arc<Shared>,
    /// Connections served at once: 1 for `HTTPServer`.
    limit: usize,
}

impl std::fmt::Debug for HttpServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpServer")
            .field("local", &self.shared.facts.local)
            .field("limit", &self.limit)
            .finish_non_exhaustive()
    }
}

impl HttpServer {
    /// Binds `addr` and prepares to serve (nothing is accepted before `serve_forever`).
    pub fn bind(addr: SocketAddr, options: ServerOptions) -> io::Result<Self> {
        let listener = bind_listener(addr, options.backlog, options.reuse_port)?;
        Self::from_listener(listener, options)
    }

    /// Serves on a listener you bound yourself.
    pub fn from_listener(listener: TcpListener, options: ServerOptions) -> io::Result<Self> {
        Self::with_limit(listener, options, 1)
    }

    fn with_limit(listener: TcpListener, options: ServerOptions, limit: usize) -> io::Result<Self> {
        let local = listener.local_addr()?;
        let shared = Arc::new(Shared {
            protocol: Arc::new(options.protocol),
            settings: options.settings,
            service: options.service,
            cgi_timeout: options.cgi_timeout,
            facts: ServerFacts::gather(local),
            stop: AtomicBool::new(false),
            open: Mutex::new(Vec::new()),
            closed: Condvar::new(),
            next_id: AtomicU64::new(0),
            listener: listener.try_clone()?,
        });
        Ok(Self {
            listener,
            shared,
            limit: limit.max(1),
        })
    }

    /// The bound address (with the real port when 0 was asked for).
    pub fn local_addr(&self) -> SocketAddr {
        self.shared.facts.local
    }

    /// A handle that stops the server from elsewhere.
    pub fn stop_handle(&self) -> StopHandle {
        StopHandle {
            shared: Arc::clone(&self.shared),
        }
    }

    /// Stops gracefully on SIGINT or SIGTERM.
    pub fn stop_on_signals(&self) -> io::Result<()> {
        let handle = self.stop_handle();
        on_stop_signal(move || handle.stop())
    }

    /// Accepts and serves connections until stopped.
    pub fn serve_forever(self) -> io::Result<()> {
        let threads = self.limit > 1;
        loop {
            self.shared.wait_below(self.limit);
            if self.shared.stopping() {
                break;
            }
            let (stream, peer) = match self.listener.accept() {
                Ok(pair) => pair,
                Err(_) if self.shared.stopping() => break,
                // Out of descriptors, a peer that vanished before accept: keep serving.
                Err(e) if is_transient_accept_error(&e) => {
                    std::thread::sleep(Duration::from_millis(10));
                    continue;
                }
                Err(e) => return Err(e),
            };
            if threads {
                let shared = Arc::clone(&self.shared);
                // If no thread can be spawned, the stream is dropped, which closes it.
                let _ = std::thread::Builder::new()
                    .name("connection".into())
                    .spawn(move || shared.serve(stream, peer));
            } else {
                self.shared.serve(stream, peer);
            }
        }
        drop(self.listener);
        self.shared.wait_all_closed();
        Ok(())
    }

    /// Connections open right now.
    pub fn open_connections(&self) -> usize {
        self.shared.open_count()
    }
}

/// Python's `ThreadingHTTPServer`: a thread per connection, at most
/// [`ServerOptions::max_connections`] at once.
#[derive(Debug)]
pub struct ThreadingHttpServer(HttpServer);

impl ThreadingHttpServer {
    /// Binds `addr` and prepares to serve.
    pub fn bind(addr: SocketAddr, options: ServerOptions) -> io::Result<Self> {
        let listener = bind_listener(addr, options.backlog, options.reuse_port)?;
        Self::from_listener(listener, options)
    }

    /// Serves on a listener you bound yourself.
    pub fn from_listener(listener: TcpListener, options: ServerOptions) -> io::Result<Self> {
        let limit = options.max_connections;
        HttpServer::with_limit(listener, options, limit.max(2)).map(Self)
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.0.local_addr()
    }

    /// A handle that stops the server from elsewhere.
    pub fn stop_handle(&self) -> StopHandle {
        self.0.stop_handle()
    }

    /// Stops gracefully on SIGINT or SIGTERM.
    pub fn stop_on_signals(&self) -> io::Result<()> {
        self.0.stop_on_signals()
    }

    /// Accepts and serves connections, each on its own thread, until stopped.
    pub fn serve_forever(self) -> io::Result<()> {
        self.0.serve_forever()
    }

    /// Connections open right now.
    pub fn open_connections(&self) -> usize {
        self.0.open_connections()
    }
}

/// Whether an `accept` error leaves the listener usable: the peer vanished before it was
/// accepted, a signal interrupted the call, or the process ran out of descriptors for a moment.
/// Every runtime's accept loop keeps serving (after a short pause) on these.
pub fn is_transient_accept_error(e: &io::Error) -> bool {
    use rustix::io::Errno;
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::Interrupted
    ) || e.raw_os_error().is_some_and(|code| {
        code == Errno::MFILE.raw_os_error() || code == Errno::NFILE.raw_os_error()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn out_of_descriptors_is_transient() {
        let emfile = io::Error::from_raw_os_error(rustix::io::Errno::MFILE.raw_os_error());
        assert!(is_transient_accept_error(&emfile));
        assert!(is_transient_accept_error(
            &io::ErrorKind::ConnectionAborted.into()
        ));
        assert!(!is_transient_accept_error(
            &io::ErrorKind::InvalidInput.into()
        ));
    }
}
