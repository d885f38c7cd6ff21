//! What every connection of a service reads and nobody changes: the protocol policy, the
//! `http.server` settings, the service, the server's facts. One `Arc` per server, shared by
//! all its reactor threads and handler workers.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use handler::session::{Mode, Session};
use runtime_std::{ServerFacts, ServerOptions, Service};

/// Read-only server state.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) protocol: Arc<protocol::Config>,
    pub(crate) settings: handler::Settings,
    pub(crate) service: Service,
    pub(crate) cgi_timeout: Duration,
    pub(crate) facts: ServerFacts,
}

impl Shared {
    pub(crate) fn new(options: ServerOptions, local: SocketAddr) -> Self {
        Self {
            protocol: Arc::new(options.protocol),
            settings: options.settings,
            service: options.service,
            cgi_timeout: options.cgi_timeout,
            facts: ServerFacts::gather(local),
        }
    }

    /// The event session: who answers requests.
    pub(crate) fn session(&self) -> Session<'_> {
        Session {
            settings: &self.settings,
            mode: match self.service {
                Service::Custom(_) => Mode::Custom,
                _ => Mode::Files,
            },
        }
    }
}

/// Writes one `log_message` line for `peer` to stderr, as CPython formats it.
pub(crate) fn log_message(peer: IpAddr, message: &str) {
    runtime_std::write_log(&handler::format_log_line(peer, SystemTime::now(), message));
}
