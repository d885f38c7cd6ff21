//! What every connection of one server shares: the protocol policy, the `http.server`
//! settings, the facts CGI scripts see, the user's routes, the deadlines the serve layer
//! enforces itself, and the log sink.

use std::ffi::OsString;
use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use handler::exchange::Handler;

use crate::log::{LogSink, NullSink};
use crate::record::Recorder;

/// A minimum transfer rate, as Kestrel's `MinRequestBodyDataRate`/`MinResponseDataRate`: after
/// `grace`, a request body or a response that moves slower than `bytes_per_second` on average
/// is cut. It stops a client that trickles a body one byte every 20 seconds, or reads a large
/// response just fast enough to dodge every per-write timeout.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct MinRate {
    /// The lowest average rate allowed once the grace period is over.
    pub bytes_per_second: u64,
    /// How long a transfer may run before the rate is checked.
    pub grace: Duration,
}

impl MinRate {
    /// `bytes_per_second` after `grace`.
    pub fn new(bytes_per_second: u64, grace: Duration) -> Self {
        Self {
            bytes_per_second,
            grace,
        }
    }
}

impl Default for MinRate {
    /// 240 bytes per second after a 5 s grace period, Kestrel's defaults.
    fn default() -> Self {
        Self::new(240, Duration::from_secs(5))
    }
}

/// What a server knows about itself that CGI scripts and log lines need. Gathered once at
/// startup by the runtime (the serve layer reads no environment).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Facts {
    /// The bound address: `SERVER_PORT`.
    pub local: SocketAddr,
    /// `SERVER_NAME` for CGI scripts.
    pub server_name: String,
    /// The server's environment; the allow-listed part reaches CGI scripts.
    pub environ: Vec<(OsString, OsString)>,
    /// Whether the process runs as root (CGI scripts then run as `nobody`).
    pub running_as_root: bool,
}

impl Facts {
    /// Facts for a server bound to `local`, with no environment, not root.
    pub fn new(local: SocketAddr, server_name: impl Into<String>) -> Self {
        Self {
            local,
            server_name: server_name.into(),
            environ: Vec::new(),
            running_as_root: false,
        }
    }

    /// The handler's view of one request from `peer` at wall-clock time `wall`.
    pub fn request_context(
        &self,
        peer: SocketAddr,
        wall: SystemTime,
    ) -> handler::RequestContext<'_> {
        handler::RequestContext::new(peer, wall)
            .with_server(&self.server_name, self.local.port())
            .with_environ(&self.environ)
            .with_root(self.running_as_root)
    }
}

/// Everything that decides how the connections of one server behave. Share it in an
/// [`Arc`]; every [`Connection`](crate::Connection) holds one.
///
/// ```
/// use std::sync::Arc;
/// use serve::{Facts, ServerConfig};
///
/// let facts = Facts::new("127.0.0.1:8000".parse().unwrap(), "localhost");
/// let mut config = ServerConfig::new(handler::Settings::new("/srv/www"), facts);
/// config.protocol = Arc::new(protocol::Config::default());
/// let config = Arc::new(config);
/// # let _ = config;
/// ```
#[derive(Clone)]
#[non_exhaustive]
pub struct ServerConfig {
    /// Connection policy of the core: protocol version, parse mode, limits, and the head,
    /// idle, body and linger timeouts.
    pub protocol: Arc<protocol::Config>,
    /// The `http.server` settings: directory, versions, CGI, listing and header options.
    pub settings: handler::Settings,
    /// What CGI scripts and log lines need to know about the server.
    pub facts: Facts,
    /// Your own request handler. Requests it [accepts](Handler::accepts) go to it; every
    /// other request gets the built-in `http.server` behaviour (files, listings, CGI), as a
    /// Python subclass calling `super().do_GET()` would.
    pub routes: Option<Arc<dyn Handler>>,
    /// Kill a CGI script (and its whole process group) that runs longer than this.
    pub cgi_timeout: Duration,
    /// Close a connection whose response made no write progress for this long (the client
    /// stopped reading). `None`: wait forever, as CPython does.
    pub send_timeout: Option<Duration>,
    /// The slowest transfer allowed for request bodies and responses. `None`: no minimum.
    pub min_rate: Option<MinRate>,
    /// After a stop is requested, how long in-flight responses may take before their
    /// connections are closed anyway.
    pub shutdown_timeout: Duration,
    /// Most connections open at once (see [`Roster`](crate::Roster): at the cap the
    /// longest-idle keep-alive connection makes room for a new one).
    pub max_connections: usize,
    /// Where access and error lines go. The serve layer never prints.
    pub log: Arc<dyn LogSink>,
    /// Trace every connection to [`log`](Self::log): the bytes received and sent (escaped,
    /// long ones cut), the events the core produced from them and its state between them,
    /// each line stamped with the peer and the time since the connection began (`--trace`;
    /// the format: [`trace`](crate::trace)). Off, a connection pays one branch per hook.
    pub trace: bool,
    /// Record every connection's input (`--record`): opens a sink per connection, handed
    /// each input as it arrives (the format: [`record`](crate::record)). `None`: nothing is
    /// recorded, and a connection pays one branch per input.
    pub recorder: Option<Arc<dyn Recorder>>,
    /// The wall clock your own handlers stamp `Date` headers and log lines with (they run
    /// off the loop, where no [`Now`](crate::Now) is passed in). The serve layer never calls
    /// a clock itself; replace this to run handlers under a fake clock.
    pub wall_clock: fn() -> SystemTime,
    /// HTTPS: every connection speaks TLS with this rustls configuration (certificate, key,
    /// ALPN, crypto provider: all yours). `None`: plain HTTP. See the crate docs, *HTTPS*.
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// Under TLS, drop a connection whose handshake is not done this long after it was
    /// accepted (a client that connects and says nothing, or speaks plain HTTP).
    pub tls_handshake_timeout: Duration,
}

impl fmt::Debug for ServerConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerConfig")
            .field("protocol", &self.protocol)
            .field("settings", &self.settings)
            .field("facts", &self.facts)
            .field("routes", &self.routes.as_ref().map(|_| ".."))
            .field("cgi_timeout", &self.cgi_timeout)
            .field("send_timeout", &self.send_timeout)
            .field("min_rate", &self.min_rate)
            .field("shutdown_timeout", &self.shutdown_timeout)
            .field("max_connections", &self.max_connections)
            .field("trace", &self.trace)
            .field("recorder", &self.recorder.as_ref().map(|_| ".."))
            .field("tls", &self.tls.is_some())
            .field("tls_handshake_timeout", &self.tls_handshake_timeout)
            .finish_non_exhaustive()
    }
}

impl ServerConfig {
    /// The defaults: files (and CGI, if `settings` enable it), the core's default policy,
    /// a 60 s CGI limit, a 60 s send timeout, [`MinRate::default`], a 5 s stop deadline,
    /// 1,024 connections, no log, no trace, no TLS (a 10 s handshake timeout when set).
    #[expect(
        clippy::disallowed_methods,
        reason = "the default wall clock is a function handed to handler threads, never called here"
    )]
    pub fn new(settings: handler::Settings, facts: Facts) -> Self {
        Self {
            protocol: Arc::new(protocol::Config::default()),
            settings,
            facts,
            routes: None,
            cgi_timeout: Duration::from_secs(60),
            send_timeout: Some(Duration::from_secs(60)),
            min_rate: Some(MinRate::default()),
            shutdown_timeout: Duration::from_secs(5),
            max_connections: 1024,
            log: Arc::new(NullSink),
            trace: false,
            recorder: None,
            wall_clock: SystemTime::now,
            tls: None,
            tls_handshake_timeout: Duration::from_secs(10),
        }
    }
}
