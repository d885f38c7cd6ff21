//! The OS glue every runtime shares, and nothing else: the runtimes decide *when* to do I/O
//! (a thread blocking, a task awaiting, a reactor's readiness), this crate *does* it, and the
//! [`serve`] layer decides *what* is done.
//!
//! - [`drive`]: the driving loop of one connection, written once ([`drive::Driver::turn`]);
//!   a runtime only waits for what a turn names.
//! - [`socket`]: a connection's output (one vectored write, a `sendfile` span) and input
//!   (straight into the core's buffer), on blocking and non-blocking sockets alike.
//! - [`cgi`] and [`script`]: a CGI process (spawned in its own process group, killed with it,
//!   reaped with a deadline) and its pipes pumped into its connection.
//! - [`listener`], [`limits`], [`signals`], [`facts`], [`clock`]: the listening socket, the
//!   descriptor limit, stop signals, what the server knows about itself, the time.
//! - [`log`]: the log writer, a bounded queue that drops (and counts) rather than blocks.
//! - [`record`]: `--record`, one file of input per connection.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod cgi;
pub mod clock;
pub mod drive;
pub mod facts;
pub mod interfaces;
pub mod limits;
pub mod listener;
pub mod log;
pub mod record;
pub mod script;
pub mod signals;
pub mod socket;
