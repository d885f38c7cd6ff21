//! The smol runtime: the protocol core driven by one async task per connection, on
//! [async-io](https://docs.rs/async-io) sockets and timers and a multi-threaded
//! [`smol::Executor`].
//!
//! ```no_run
//! use runtime_smol::SmolServer;
//! use runtime_std::{ServerOptions, Service};
//!
//! let settings = handler::Settings::new(std::env::current_dir()?);
//! let server = SmolServer::bind("127.0.0.1:8000".parse().unwrap(), ServerOptions::new(Service::Files, settings))?;
//! server.stop_on_signals()?;
//! server.serve_forever()
//! # ; Ok::<(), std::io::Error>(())
//! ```
//!
//! # How a connection is driven
//!
//! Each accepted socket becomes an `Async<TcpStream>` (with `TCP_NODELAY`) and a task that
//! owns its [`ServerConnection`](protocol::ServerConnection): no mutex, no shared buffers.
//! The task loops over the core's canonical steps:
//!
//! 1. drain events through [`handler::session::Session`], which queues every answer it can
//!    give alone and names what only the runtime can do (a file span, a CGI script, a user
//!    handler);
//! 2. write what the core transmits: vectored writes of its byte segments, `sendfile` for
//!    file spans (through `Async::write_with`, so a full socket simply waits), `shutdown`;
//! 3. wait for the socket to become readable (only while the core
//!    [`wants_read`](protocol::ServerConnection::wants_read)), for the core's next deadline
//!    (one `async_io::Timer` per connection, re-armed only when the deadline moves), or for a
//!    graceful stop.
//!
//! An idle keep-alive connection holds the task, the core (which drops its receive buffer
//! between requests), the socket's reactor entry and a timer entry: the read buffer is
//! borrowed from the core only once the socket is readable.
//!
//! # CGI scripts
//!
//! A script is spawned by the `sys` crate (clean environment, its own process group, `nobody`
//! when the server runs as root) and its pipes are driven with `smol::Async`. The request body
//! streams into its stdin, its stdout goes out (as `handler::cgi::CgiOutput` reads it) only
//! while the core [`wants_body_data`](protocol::ServerConnection::wants_body_data), its stderr
//! is logged line by line. When the run ends (output closed, client gone, or past
//! [`ServerOptions::cgi_timeout`]) the whole process group is killed and the script reaped.
//!
//! # Your own handler
//!
//! A [`Handler`] is blocking code (`BaseHTTPRequestHandler`-style `read`/`write`), so it runs
//! on smol's blocking thread pool (`smol::unblock`), never on an executor thread. Its
//! [`Exchange`] talks to the connection task through a pair of channels: each body read,
//! write or `end_headers` is a request the task performs on the core and answers once it is
//! done, so a handler writing a large body is paced by the client (the task answers a write
//! only after the core's queue drained to the socket).
//!
//! ```no_run
//! use std::io::{self, Write};
//! use std::sync::Arc;
//! use runtime_smol::SmolServer;
//! use runtime_std::{Exchange, Handler, ServerOptions, Service};
//!
//! struct Hello;
//! impl Handler for Hello {
//!     fn do_get(&self, ex: &mut Exchange<'_>) -> io::Result<()> {
//!         ex.send_response(200, None);
//!         ex.send_header("Content-Length", "6");
//!         ex.end_headers()?;
//!         ex.wfile().write_all(b"hello\n")
//!     }
//! }
//!
//! let options = ServerOptions::new(Service::Custom(Arc::new(Hello)), handler::Settings::new("."));
//! let server = SmolServer::bind("127.0.0.1:8000".parse().unwrap(), options)?;
//! server.serve_forever()
//! # ; Ok::<(), io::Error>(())
//! ```
//!
//! # Stopping
//!
//! SIGINT, SIGTERM ([`SmolServer::stop_on_signals`]) or [`StopHandle::stop`] drop the
//! listener, so new connections are refused at once, and ask every connection to close after
//! its response: idle keep-alive connections close now, responses in flight (a long download,
//! a running script) finish. [`SmolServer::serve_forever`] returns when the last connection
//! task is done.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod cgi;
mod connection;
mod custom;
mod server;
mod transmit;

pub use runtime_std::{Exchange, Handler, ServerOptions, Service};
pub use server::{SmolServer, StopHandle};
