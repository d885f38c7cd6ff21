//! The mio runtime: the protocol core driven by edge-triggered, non-blocking reactors.
//!
//! [`MioServer`] runs one event loop per worker thread, each with its own `SO_REUSEPORT`
//! listener on the same port, and serves exactly what the other runtimes serve (files and
//! listings with sendfile, CGI scripts, or your own [`Handler`](runtime_std::Handler)).
//!
//! ```no_run
//! use runtime_mio::MioServer;
//! use runtime_std::{ServerOptions, Service};
//!
//! let options = ServerOptions::new(Service::Files, handler::Settings::new("."));
//! let server = MioServer::bind("127.0.0.1:8000".parse().unwrap(), options, 4)?;
//! server.stop_on_signals()?; // SIGINT/SIGTERM: finish in-flight responses, then return
//! server.serve_forever()
//! # ; Ok::<(), std::io::Error>(())
//! ```
//!
//! # Inside your own event loop
//!
//! [`HttpService`] registers a listener and its connections into a `mio::Poll` you own,
//! under a token range you choose; your loop hands it the events and folds its deadlines
//! into the poll timeout (`examples/embed.rs` serves files and echoes UDP in one loop):
//!
//! ```no_run
//! # use std::time::Instant;
//! use mio::{Events, Poll, Token};
//! use runtime_mio::HttpService;
//! use runtime_std::{ServerOptions, Service};
//!
//! let mut poll = Poll::new()?;
//! let listener = std::net::TcpListener::bind("127.0.0.1:8000")?;
//! let options = ServerOptions::new(Service::Files, handler::Settings::new("."));
//! let mut http = HttpService::new(listener, options, poll.registry(), Token(1000)..Token(2000))?;
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
//! - **Edge-triggered.** A readable edge means "read until `WouldBlock`"; a connection also
//!   reads again on its own when the core's `wants_read()` turns true after a pipelined request
//!   or body backpressure paused it, because bytes already in the kernel raise no new edge.
//!   `WRITABLE` interest is registered only while a write is blocked.
//! - **Small idle connections.** Every connection reads through one buffer per reactor and the
//!   core drops its receive buffer between requests, so an idle keep-alive connection is its
//!   socket, its registration, and the core's state.
//! - **One timer heap** per reactor, fed by each core's `poll_timeout()`, with lazy
//!   invalidation; the poll timeout is the next deadline.
//! - **Files** go out with `sendfile(2)` on the non-blocking socket.
//! - **CGI scripts** are spawned with their stdin, stdout and stderr registered as mio pipes;
//!   the request body flows in one chunk at a time, stdout is read only while the send queue
//!   has room, and a script over its time limit is killed with its process group.
//! - **User handlers run on a worker pool.** A [`Handler`](runtime_std::Handler) is blocking
//!   code, so each custom request runs on one of a few worker threads (8, or two per reactor
//!   if more), talking to its connection through channels, and the reactor wakes through
//!   its `mio::Waker`. At most that many handlers run at once; further requests wait for a
//!   free worker. A slow handler delays only its own connection.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod accept;
mod cgi;
mod conn;
mod custom;
mod drive;
mod pool;
mod reap;
mod server;
mod service;
mod shared;
mod timers;

pub use server::{MioServer, StopHandle};
pub use service::HttpService;
