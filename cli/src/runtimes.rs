//! Starting the chosen runtime on the bound listener with the shared configuration: each
//! hands back how to stop it and how to run it. Nothing else in the CLI knows which runtime
//! runs.

use std::io;
use std::net::TcpListener;
use std::sync::Arc;

use crate::args::{Args, Runtime};

/// A server ready to run.
pub(crate) struct Running {
    /// Stops gracefully: accepting ends, in-flight responses finish (within the shutdown
    /// timeout), then `serve` returns. Callable from any thread, more than once.
    pub(crate) stop: Box<dyn Fn() + Send + Sync>,
    /// Serves until stopped.
    pub(crate) serve: Box<dyn FnOnce() -> io::Result<()>>,
}

impl Running {
    fn new(
        stop: impl Fn() + Send + Sync + 'static,
        serve: impl FnOnce() -> io::Result<()> + 'static,
    ) -> Self {
        Self {
            stop: Box::new(stop),
            serve: Box::new(serve),
        }
    }
}

/// Starts `args.runtime` on `listener`: std, a thread per connection (Python's
/// `ThreadingHTTPServer`); smol, a task per connection; mio, edge-triggered reactors, one per
/// worker, each with its own `SO_REUSEPORT` listener (the first is the one bound here).
/// `--workers` sizes smol's executor and mio's reactors (by default one per core).
pub(crate) fn start(
    listener: TcpListener,
    config: Arc<serve::ServerConfig>,
    args: &Args,
) -> io::Result<Running> {
    Ok(match args.runtime {
        Runtime::Std => {
            let server = runtime_std::ThreadingHttpServer::new(listener, config)?;
            let handle = server.stop_handle();
            Running::new(move || handle.stop(), move || server.serve_forever())
        }
        Runtime::Smol => {
            let mut server = runtime_smol::SmolServer::new(listener, config)?;
            if let Some(workers) = args.workers {
                server = server.with_workers(workers);
            }
            let handle = server.stop_handle();
            Running::new(move || handle.stop(), move || server.serve_forever())
        }
        Runtime::Mio => {
            let mut server = runtime_mio::MioServer::new(listener, config)?;
            if let Some(workers) = args.workers {
                server = server.with_workers(workers);
            }
            let handle = server.stop_handle();
            Running::new(move || handle.stop(), move || server.serve_forever())
        }
    })
}
