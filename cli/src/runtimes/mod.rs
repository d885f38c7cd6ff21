//! One file per runtime: each starts its server on the bound listener with the shared
//! configuration, and hands back how to stop it and how to run it. Nothing else in the CLI
//! knows which runtime runs.

use std::io;
use std::net::TcpListener;
use std::sync::Arc;

use crate::args::{Args, Runtime};

mod mio_runtime;
mod smol_runtime;
mod std_runtime;

/// A server ready to run.
pub(crate) struct Running {
    /// Stops gracefully: accepting ends, in-flight responses finish (within the shutdown
    /// timeout), then `serve` returns. Callable from any thread, more than once.
    pub(crate) stop: Box<dyn Fn() + Send + Sync>,
    /// Serves until stopped.
    pub(crate) serve: Box<dyn FnOnce() -> io::Result<()>>,
}

/// Starts `args.runtime` on `listener`.
pub(crate) fn start(
    listener: TcpListener,
    config: Arc<serve::ServerConfig>,
    args: &Args,
) -> io::Result<Running> {
    match args.runtime {
        Runtime::Std => std_runtime::start(listener, config, args),
        Runtime::Smol => smol_runtime::start(listener, config, args),
        Runtime::Mio => mio_runtime::start(listener, config, args),
    }
}
