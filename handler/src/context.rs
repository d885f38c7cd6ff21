//! Per-request facts a runtime knows and the handler does not look up itself.
//!
//! The handler never reads a clock or asks the socket: wall-clock time, the peer address and
//! the server's name come in here, which keeps planning deterministic and testable.

use std::ffi::OsString;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::SystemTime;

/// What the runtime knows about one request besides its head.
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub struct RequestContext<'a> {
    /// The client's address (`client_address`); its IP is `REMOTE_ADDR` and starts log lines.
    pub client: SocketAddr,
    /// The server's name (`server.server_name`, CPython's `getfqdn` result): `SERVER_NAME`.
    pub server_name: &'a str,
    /// The port the server listens on (`server.server_port`): `SERVER_PORT`.
    pub server_port: u16,
    /// Now, as wall-clock time: the `Date` header.
    pub now: SystemTime,
    /// Whether the server process runs as root: CGI scripts then run as `nobody`, as CPython's
    /// forked child does (`os.setuid(nobody_uid())`).
    pub running_as_root: bool,
    /// The server's own environment (`os.environ`), which CPython copies into every CGI
    /// script's environment before adding the CGI variables.
    pub environ: &'a [(OsString, OsString)],
}

impl<'a> RequestContext<'a> {
    /// A context for a request from `client` at `now`; no server name, port 0, not root, empty
    /// environment. Set the other fields as needed.
    pub fn new(client: SocketAddr, now: SystemTime) -> Self {
        Self {
            client,
            server_name: "",
            server_port: 0,
            now,
            running_as_root: false,
            environ: &[],
        }
    }

    /// Sets the server name and port that CGI scripts see.
    #[must_use]
    pub fn with_server(mut self, name: &'a str, port: u16) -> Self {
        self.server_name = name;
        self.server_port = port;
        self
    }

    /// Sets the environment CGI scripts start from.
    #[must_use]
    pub fn with_environ(mut self, environ: &'a [(OsString, OsString)]) -> Self {
        self.environ = environ;
        self
    }

    /// Marks the server as running as root (CGI scripts then run as `nobody`).
    #[must_use]
    pub fn with_root(mut self, running_as_root: bool) -> Self {
        self.running_as_root = running_as_root;
        self
    }
}

impl Default for RequestContext<'_> {
    fn default() -> Self {
        Self::new(
            SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0),
            SystemTime::UNIX_EPOCH,
        )
    }
}
