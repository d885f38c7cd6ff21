//! The `http.server` above the sans-IO core, itself sans-IO: one [`Connection`] of the server
//! is the protocol core, the request being answered (a file, a listing, a CGI script, your own
//! handler), and every policy above the core (send timeout, minimum rate, graceful stop, the
//! log). It does no I/O and reads no clock: the runtime feeds it what happened and carries out
//! what it asks for. The std, smol and mio runtimes are thin loops around it, and so is any
//! loop you write yourself.
//!
//! # The driving loop
//!
//! Every runtime does the same five things, in its own I/O model:
//!
//! ```text
//! let mut conn = Connection::new(config, peer, now());
//! loop {
//!     // 1. Socket output: write what the connection offers until it would block.
//!     while let Some(t) = conn.poll_transmit() {
//!         match t {
//!             Transmit::Write => { n = writev(socket, conn.io_slices(&mut slices)); conn.handle_sent(n, now()) }
//!             Transmit::SendFile { file, offset, len } => { n = sendfile(socket, file, offset, len); conn.handle_sent(n, now()) }
//!             Transmit::Shutdown => shutdown(socket, Write),
//!         }
//!     }
//!     // 2. Work beside the socket: CGI processes, your handler.
//!     while let Some(io) = conn.poll_io() { /* spawn, close stdin, finish, kill, run */ }
//!     // 3. Pipes: feed conn.cgi_stdin(), read stdout while conn.wants_cgi_stdout(), read stderr.
//!     if conn.is_closed() { break }
//!     // 4. Socket input, while conn.wants_read():
//!     //    n = read(socket, conn.recv_buf()); conn.handle_recv(n, now())  (0: handle_eof)
//!     // 5. Time: wake up at conn.poll_timeout() and call conn.handle_timeout(now()).
//! }
//! ```
//!
//! A [`ServerConfig`] holds what every connection shares. Library code never prints: log
//! lines go to [`ServerConfig::log`].
//!
//! ```
//! use std::sync::Arc;
//! use std::time::{Instant, SystemTime};
//! use serve::{Connection, Facts, Now, ServerConfig, Transmit};
//!
//! let root = tempfile::tempdir().unwrap();
//! std::fs::write(root.path().join("hello.txt"), "hello\n").unwrap();
//! let facts = Facts::new("127.0.0.1:8000".parse().unwrap(), "localhost");
//! let config = Arc::new(ServerConfig::new(handler::Settings::new(root.path()), facts));
//! let now = Now::new(Instant::now(), SystemTime::now());
//!
//! let mut conn = Connection::new(config, "127.0.0.1:50000".parse().unwrap(), now);
//! conn.handle_input(b"GET /hello.txt HTTP/1.0\r\n\r\n", now);
//!
//! // The head is queued bytes; the body is a span of the open file (sendfile).
//! let mut wire = Vec::new();
//! let mut shut_down = false;
//! while let Some(transmit) = conn.poll_transmit() {
//!     match transmit {
//!         Transmit::Write => {
//!             let mut slices = [std::io::IoSlice::new(&[]); 8];
//!             let n = conn.io_slices(&mut slices);
//!             let len: usize = slices[..n].iter().map(|s| s.len()).sum();
//!             slices[..n].iter().for_each(|s| wire.extend_from_slice(s));
//!             conn.handle_sent(len, now);
//!         }
//!         Transmit::SendFile { file, offset, len } => {
//!             use std::os::unix::fs::FileExt;
//!             let mut body = vec![0; len as usize];
//!             file.read_exact_at(&mut body, offset).unwrap();
//!             wire.extend_from_slice(&body);
//!             conn.handle_sent(body.len(), now);
//!         }
//!         // HTTP/1.0: the response ends the connection.
//!         Transmit::Shutdown => {
//!             shut_down = true;
//!             break;
//!         }
//!         _ => unreachable!(),
//!     }
//! }
//! assert!(shut_down);
//! let text = String::from_utf8(wire).unwrap();
//! assert!(text.starts_with("HTTP/1.0 200 OK\r\n"));
//! assert!(text.ends_with("\r\n\r\nhello\n"));
//! ```

//!
//! # HTTPS
//!
//! Set [`ServerConfig::tls`] to a `rustls::ServerConfig` (your certificate, key, ALPN and
//! crypto provider) and every connection speaks TLS, on every runtime: the runtime keeps
//! moving bytes (now ciphertext), and the connection decrypts what it receives and encrypts
//! what it sends. A file span cannot go out with `sendfile` under TLS, so the connection
//! asks for [`Transmit::ReadFile`] instead: read the span and hand the bytes to
//! [`Connection::handle_file_bytes`] (`sys::socket::flush` does). A connection whose
//! handshake is not done within [`ServerConfig::tls_handshake_timeout`] is dropped; plain
//! HTTP gets a plaintext `400` and a close.
//!
//! ```
//! use std::sync::Arc;
//! use serve::{Facts, ServerConfig};
//!
//! // A certificate and its key: from your files in real life.
//! let made = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
//! let chain = vec![made.cert.der().clone()];
//! let key = rustls::pki_types::PrivateKeyDer::try_from(made.signing_key.serialize_der()).unwrap();
//! let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
//! let mut tls = rustls::ServerConfig::builder_with_provider(provider)
//!     .with_safe_default_protocol_versions()
//!     .unwrap()
//!     .with_no_client_auth()
//!     .with_single_cert(chain, key)
//!     .unwrap();
//! tls.alpn_protocols = vec![b"http/1.1".to_vec()];
//!
//! let facts = Facts::new("127.0.0.1:8443".parse().unwrap(), "localhost");
//! let mut config = ServerConfig::new(handler::Settings::new("/srv/www"), facts);
//! config.tls = Some(Arc::new(tls));
//! // Then, as for plain HTTP: runtime_mio::MioServer, runtime_smol::SmolServer,
//! // runtime_std::ThreadingHttpServer or your own loop around sys::drive::Driver.
//! let config = Arc::new(config);
//! # let _ = config;
//! ```

#![deny(missing_docs)]

mod cgi;
mod config;
mod connection;
pub mod echo;
mod io;
mod log;
mod pace;
mod plan;
pub mod record;
mod roster;
mod routes;
mod tls;
pub mod trace;

pub use cgi::exit_message;
pub use config::{Facts, MinRate, ServerConfig};
pub use connection::{Connection, Now};
pub use echo::Echo;
/// How access lines are written ([`handler::Settings::log_format`], with
/// [`handler::Settings::quiet`] beside it).
pub use handler::LogFormat;
pub use io::{Io, Transmit};
pub use log::{LogSink, MemorySink, NullSink};
pub use roster::{Admission, Roster, Ticket};
pub use routes::{Command, HandlerTask, Reply};
