//! The pieces of the old runtime-std that runtime-smol and runtime-mio still import
//! (their options, file transmission, facts, log writer, listener and stop signal). This
//! runtime no longer uses any of it: `serve::ServerConfig`, `sys::socket`, `sys::facts`,
//! `sys::log`, `sys::listener` and `sys::signals` replaced them. Delete this module once
//! those two runtimes are ported onto `serve` and `sys`.

pub(crate) mod facts;
pub mod sendfile;

use std::io;
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::time::Duration;

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

/// Everything a legacy server needs besides its address.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ServerOptions {
    /// Connection policy (protocol version, parse mode, limits, timeouts).
    pub protocol: protocol::Config,
    /// `http.server` settings (directory, versions, CGI).
    pub settings: handler::Settings,
    /// What answers requests.
    pub service: Service,
    /// Most connections served at once; more wait in the backlog.
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

/// Binds a listening socket (see `sys::listener::bind`).
pub fn bind_listener(addr: SocketAddr, backlog: u32, reuse_port: bool) -> io::Result<TcpListener> {
    sys::listener::bind(addr, backlog, reuse_port)
}

/// Calls `stop` (once, on a thread of its own) when SIGINT or SIGTERM arrives.
pub fn on_stop_signal(stop: impl FnOnce() + Send + 'static) -> io::Result<()> {
    sys::signals::on_stop_signals(|_| stop(), |_| {})
}

/// Whether an `accept` error leaves the listener usable (see `sys::listener`).
pub fn is_transient_accept_error(e: &io::Error) -> bool {
    sys::listener::is_transient_accept_error(e)
}
