//! The blocking runtime: the protocol core driven over `std::net` sockets.
//!
//! [`HttpServer`] serves one connection at a time, like Python's `HTTPServer`;
//! [`ThreadingHttpServer`] gives each connection a thread, like `ThreadingHTTPServer`, up to a
//! connection limit. Both serve files as `SimpleHTTPRequestHandler` does (with sendfile), run
//! CGI scripts when enabled, or call your own [`Handler`].
//!
//! ```no_run
//! use std::io::{self, Write};
//! use std::sync::Arc;
//! use runtime_std::{Exchange, Handler, ServerOptions, Service, ThreadingHttpServer};
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
//! let server = ThreadingHttpServer::bind("127.0.0.1:8000".parse().unwrap(), options)?;
//! server.stop_on_signals()?;
//! server.serve_forever()
//! # ; Ok::<(), io::Error>(())
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod cgi;
mod drive;
mod facts;
pub mod sendfile;
mod server;

pub use facts::{ServerFacts, write_log};
pub use handler::exchange::{Exchange, Handler, Transport};
pub use server::{
    HttpServer, ServerOptions, Service, StopHandle, ThreadingHttpServer, bind_listener,
    is_transient_accept_error, on_stop_signal,
};
