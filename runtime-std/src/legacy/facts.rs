//! What a server knows about itself that CGI scripts and log lines need: its address and
//! name, its environment, whether it runs as root. Gathered once at startup, shared by every
//! runtime.

use std::ffi::OsString;
use std::net::SocketAddr;
use std::time::SystemTime;

/// Facts about the running server, computed once.
#[derive(Debug, Clone)]
pub struct ServerFacts {
    /// The bound address.
    pub local: SocketAddr,
    /// `SERVER_NAME` for CGI scripts.
    pub server_name: String,
    /// The server's environment, copied into every CGI script's (as CPython does).
    pub environ: Vec<(OsString, OsString)>,
    /// Whether the process runs as root (CGI scripts then run as `nobody`).
    pub running_as_root: bool,
}

impl ServerFacts {
    /// Gathers the facts for a server bound to `local`.
    pub fn gather(local: SocketAddr) -> Self {
        Self {
            local,
            server_name: server_name(local),
            environ: std::env::vars_os().collect(),
            running_as_root: rustix::process::geteuid().is_root(),
        }
    }

    /// The handler's view of one request from `peer`, now.
    pub fn request_context(&self, peer: SocketAddr) -> handler::RequestContext<'_> {
        handler::RequestContext::new(peer, SystemTime::now())
            .with_server(&self.server_name, self.local.port())
            .with_environ(&self.environ)
            .with_root(self.running_as_root)
    }
}

/// The name CGI scripts see as `SERVER_NAME`. CPython calls `getfqdn`, a blocking reverse
/// lookup that can stall startup for seconds; the bound address is what a client used anyway.
fn server_name(local: SocketAddr) -> String {
    if local.ip().is_unspecified() {
        rustix::system::uname()
            .nodename()
            .to_string_lossy()
            .into_owned()
    } else {
        local.ip().to_string()
    }
}

/// Writes log text to stderr in one piece (one `write` per batch, so lines of concurrent
/// connections never interleave mid-line).
pub fn write_log(text: &str) {
    use std::io::Write;
    let _ = std::io::stderr().lock().write_all(text.as_bytes());
}
