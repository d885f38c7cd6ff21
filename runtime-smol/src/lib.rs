//! The smol runtime: each connection of [`serve`] is one async task on a multi-threaded
//! [`smol::Executor`], waiting on [async-io](https://docs.rs/async-io) readiness and timers.
//!
//! ```no_run
//! use std::sync::Arc;
//! use runtime_smol::SmolServer;
//! use serve::{Facts, ServerConfig};
//!
//! let listener = std::net::TcpListener::bind("127.0.0.1:8000")?;
//! let facts = Facts::new(listener.local_addr()?, "localhost");
//! let config = ServerConfig::new(handler::Settings::new("."), facts);
//! let server = SmolServer::new(listener, Arc::new(config))?;
//! let stop = server.stop_handle(); // stop.stop() from any thread ends serve_forever
//! server.serve_forever()
//! # ; Ok::<(), std::io::Error>(())
//! ```
//!
//! # What this crate does, and what it leaves to others
//!
//! A connection is a `sys::drive::Driver`: the serve layer decides what happens (responses,
//! CGI, your handler, timeouts, the stop), the driver does the system calls (writes,
//! `sendfile`, reads, the script's pipes). This crate only waits: after each
//! `Driver::turn` the task awaits what the turn names (the socket readable or writable, the
//! script's pipes, the deadline), the next command of your handler, and the stop, then turns
//! again.
//!
//! - [`server`](SmolServer): the executor threads, the accept loop, the connection cap with
//!   longest-idle eviction ([`serve::Roster`]), the graceful stop.
//! - `connection`: one connection's task, the turn-and-wait loop.
//! - `handlers`: where your handler ([`serve::ServerConfig::routes`]) runs: never on an
//!   executor thread (it blocks), but on threads of its own
//!   ([`SmolServer::with_handler_threads`]) or smol's blocking pool.
//!
//! An idle keep-alive connection costs its task (the driver and the loop's state), the
//! socket's reactor entry, and while it waits a boxed wait (a timer entry, readiness and
//! stop listeners).
//!
//! # Stopping
//!
//! [`StopHandle::stop`] closes the listener, so new connections are refused, and asks every
//! connection to stop: idle ones close at once, a response in flight finishes within
//! [`serve::ServerConfig::shutdown_timeout`]. [`SmolServer::serve_forever`] returns when the
//! last connection task is done.
#![deny(missing_docs)]

mod connection;
mod handlers;
mod server;

pub use server::{SmolServer, StopHandle};
