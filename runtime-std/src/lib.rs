//! The blocking runtime, as Python's `socketserver`: [`ThreadingHttpServer`] gives each
//! connection a thread of its own (`ThreadingHTTPServer`), [`HttpServer`] serves one
//! connection at a time on the calling thread (`HTTPServer`). Everything above the socket
//! (files, listings, CGI, your own [`Handler`], timeouts, graceful stop, the log) is the
//! `serve` layer's; each connection thread only waits (in an epoll set of its own, or with
//! `poll(2)` while a CGI script runs) for what [`sys::drive::Driver::turn`] names, and runs
//! your handler inline.
//!
//! ```no_run
//! use std::io::{self, Write};
//! use std::sync::Arc;
//! use runtime_std::{Exchange, Handler, ThreadingHttpServer};
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
//! let listener = sys::listener::bind("127.0.0.1:8000".parse().unwrap(), 1024, false)?;
//! let facts = sys::facts::gather(listener.local_addr()?);
//! let mut config = serve::ServerConfig::new(handler::Settings::new("."), facts);
//! config.routes = Some(Arc::new(Hello));
//! let server = ThreadingHttpServer::new(listener, Arc::new(config))?;
//! let stop = server.stop_handle(); // stop.stop() from any thread ends serve_forever
//! server.serve_forever()
//! # ; Ok::<(), io::Error>(())
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod connection;
mod server;
mod wait_set;

pub use handler::exchange::{Exchange, Handler};
pub use server::{HttpServer, StopHandle, ThreadingHttpServer};
