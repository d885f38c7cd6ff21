//! The mio runtime: `python -m http.server` on edge-triggered, non-blocking reactors.
//!
//! Everything a connection does is written once, in the [`serve`] layer and in
//! [`sys::drive::Driver`]; this crate only waits for readiness and time in mio's model and
//! turns the driver. [`MioServer`] runs one reactor per core, each with its own
//! `SO_REUSEPORT` listener on the same port:
//!
//! ```no_run
//! use std::sync::Arc;
//! use runtime_mio::MioServer;
//! use serve::{Facts, ServerConfig};
//!
//! let listener = sys::listener::bind("127.0.0.1:8000".parse().unwrap(), 1024, true)?;
//! let facts = Facts::new(listener.local_addr()?, "localhost");
//! let config = ServerConfig::new(handler::Settings::new("."), facts);
//! let server = MioServer::new(listener, Arc::new(config))?.with_workers(2);
//! let stop = server.stop_handle(); // stop.stop() from anywhere: a graceful stop
//! server.serve_forever() // until stopped
//! # ; Ok::<(), std::io::Error>(())
//! ```
//!
//! # Inside your own event loop
//!
//! [`HttpService`] registers a listener and its connections into a `mio::Poll` you own,
//! under a token range you choose; your loop hands it the events and folds its deadlines
//! into the poll timeout. One service serves files, CGI and your own
//! [`Handler`](handler::exchange::Handler)'s routes together (`examples/embed.rs`):
//!
//! ```no_run
//! # use std::sync::Arc;
//! # use std::time::Instant;
//! use mio::{Events, Poll, Token};
//! use runtime_mio::HttpService;
//!
//! # let config = Arc::new(serve::ServerConfig::new(
//! #     handler::Settings::new("."),
//! #     serve::Facts::new("127.0.0.1:8000".parse().unwrap(), "localhost"),
//! # ));
//! let mut poll = Poll::new()?;
//! let listener = std::net::TcpListener::bind("127.0.0.1:8000")?;
//! let mut http = HttpService::new(listener, config, poll.registry(), Token(1000)..Token(2000))?;
//! let mut events = Events::with_capacity(256);
//! loop {
//!     let timeout = http.poll_timeout().map(|at| at.saturating_duration_since(Instant::now()));
//!     poll.poll(&mut events, timeout)?;
//!     for event in &events {
//!         if !http.handle_event(poll.registry(), event) {
//!             // One of your own tokens.
//!         }
//!     }
//!     http.handle_timeout(poll.registry(), Instant::now());
//! }
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! # How it works
//!
//! - **Edge-triggered.** An edge tells the connection's driver that its socket may read or
//!   write again; the driver reads and writes until `WouldBlock` and remembers it. A turn that
//!   runs out of budget with work left is queued for another turn (no edge would come).
//!   `WRITABLE` interest is registered only while a write is blocked.
//! - **One slab per reactor** names connections and the pipes of their CGI scripts (a pipe's
//!   slot points to its connection), and **one timer heap** holds each connection's next
//!   deadline, with lazy invalidation.
//! - **The connection cap** is a [`serve::Roster`] per reactor: at the cap the connection idle
//!   the longest makes room for a new one.
//! - **Your handler runs on worker threads** (8 by default, shared by the reactors), talking to
//!   its connection in commands; the reactor wakes through its `mio::Waker` to apply them.
#![deny(missing_docs)]

mod accept;
mod conn;
mod drive;
mod pool;
mod server;
mod service;
mod timers;

pub use server::{MioServer, StopHandle};
pub use service::HttpService;
