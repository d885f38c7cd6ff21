//! [`SmolServer`]: the listener, the executor threads, the accept loop, the connection limit
//! and graceful stop.
//!
//! Stop is a closed channel: every waiter on it (the accept loop, each waiting connection)
//! wakes at once, and a connection that starts waiting later sees it closed. Completion is
//! the opposite: each connection task holds a clone of a sender, so the accept loop knows
//! every task is gone when its receiver reports the channel closed.

use std::io;
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::time::Duration;

use runtime_std::{ServerFacts, ServerOptions, Service};
use smol::channel::{Receiver, Sender};
use smol::lock::Semaphore;
use smol::{Async, Executor, Timer, future};

/// State shared by the accept loop and every connection task.
pub(crate) struct Shared {
    pub(crate) protocol: Arc<protocol::Config>,
    pub(crate) settings: handler::Settings,
    pub(crate) service: Service,
    pub(crate) cgi_timeout: Duration,
    pub(crate) facts: ServerFacts,
    /// Never carries a message: closing it is the stop signal.
    stop_tx: Sender<()>,
    stop_rx: Receiver<()>,
}

impl Shared {
    /// Whether a stop was asked for.
    pub(crate) fn stopping(&self) -> bool {
        self.stop_rx.is_closed()
    }

    /// Completes once a stop is asked for.
    pub(crate) async fn stopped(&self) {
        let _ = self.stop_rx.recv().await;
    }

    fn stop(&self) {
        self.stop_tx.close();
    }
}

/// Stops a running [`SmolServer`] from another thread.
#[derive(Clone)]
pub struct StopHandle {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for StopHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StopHandle").finish_non_exhaustive()
    }
}

impl StopHandle {
    /// Refuses new connections, lets in-flight responses finish, then `serve_forever` returns.
    pub fn stop(&self) {
        self.shared.stop();
    }
}

/// An HTTP server on smol: one task per connection, executor threads sized to the machine.
pub struct SmolServer {
    listener: TcpListener,
    shared: Arc<Shared>,
    max_connections: usize,
    threads: usize,
}

impl std::fmt::Debug for SmolServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmolServer")
            .field("local", &self.shared.facts.local)
            .field("threads", &self.threads)
            .finish_non_exhaustive()
    }
}

impl SmolServer {
    /// Binds `addr` (with [`runtime_std::bind_listener`]: `SO_REUSEADDR`, dual-stack `::`) and
    /// prepares to serve; nothing is accepted before [`serve_forever`](Self::serve_forever).
    pub fn bind(addr: SocketAddr, options: ServerOptions) -> io::Result<Self> {
        let listener = runtime_std::bind_listener(addr, options.backlog, options.reuse_port)?;
        Self::from_listener(listener, options)
    }

    /// Serves on a listener you bound yourself.
    pub fn from_listener(listener: TcpListener, options: ServerOptions) -> io::Result<Self> {
        let local = listener.local_addr()?;
        let (stop_tx, stop_rx) = smol::channel::bounded(1);
        let shared = Arc::new(Shared {
            protocol: Arc::new(options.protocol),
            settings: options.settings,
            service: options.service,
            cgi_timeout: options.cgi_timeout,
            facts: ServerFacts::gather(local),
            stop_tx,
            stop_rx,
        });
        let threads = std::thread::available_parallelism().map_or(1, usize::from);
        Ok(Self {
            listener,
            shared,
            max_connections: options.max_connections.max(1),
            threads,
        })
    }

    /// Runs the executor on `threads` threads (default: one per core).
    #[must_use]
    pub fn with_threads(mut self, threads: usize) -> Self {
        self.threads = threads.max(1);
        self
    }

    /// The bound address (with the real port when 0 was asked for).
    pub fn local_addr(&self) -> SocketAddr {
        self.shared.facts.local
    }

    /// A handle that stops the server from elsewhere.
    pub fn stop_handle(&self) -> StopHandle {
        StopHandle {
            shared: Arc::clone(&self.shared),
        }
    }

    /// Stops gracefully on SIGINT or SIGTERM.
    pub fn stop_on_signals(&self) -> io::Result<()> {
        let handle = self.stop_handle();
        runtime_std::on_stop_signal(move || handle.stop())
    }

    /// Accepts and serves connections until stopped, then waits for every connection to
    /// finish. The calling thread is one of the executor threads.
    pub fn serve_forever(self) -> io::Result<()> {
        let executor = Arc::new(Executor::new());
        // Closed when the accept loop is over, to release the other executor threads.
        let (quit_tx, quit_rx) = smol::channel::bounded::<()>(1);
        let mut workers = Vec::with_capacity(self.threads - 1);
        for i in 1..self.threads {
            let executor = Arc::clone(&executor);
            let quit = quit_rx.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("smol-{i}"))
                .spawn(move || smol::block_on(executor.run(quit.recv())));
            match spawned {
                Ok(worker) => workers.push(worker),
                // Fewer threads still serve.
                Err(_) => break,
            }
        }
        let listener = self.listener;
        let accept = accept_loop(listener, &self.shared, &executor, self.max_connections);
        let result = smol::block_on(executor.run(accept));
        quit_tx.close();
        for worker in workers {
            let _ = worker.join();
        }
        result
    }
}

/// Accepts until stopped, then waits until every connection task is done.
async fn accept_loop(
    listener: TcpListener,
    shared: &Arc<Shared>,
    executor: &Executor<'static>,
    max_connections: usize,
) -> io::Result<()> {
    let listener = Async::new(listener)?;
    let limit = Arc::new(Semaphore::new(max_connections));
    // Every task holds a clone of `done_tx`; `done_rx` closes when the last one is dropped.
    let (done_tx, done_rx) = smol::channel::bounded::<()>(1);
    let mut result = Ok(());
    loop {
        // Past the limit, connections wait in the listen backlog, as with runtime-std.
        let permit = future::or(async { Some(limit.acquire_arc().await) }, async {
            shared.stopped().await;
            None
        });
        let Some(permit) = permit.await else { break };
        let accepted = future::or(async { Some(listener.accept().await) }, async {
            shared.stopped().await;
            None
        });
        let (stream, peer) = match accepted.await {
            None => break,
            Some(Ok(pair)) => pair,
            // Out of descriptors, a peer gone before accept: keep serving.
            Some(Err(e)) if runtime_std::is_transient_accept_error(&e) => {
                Timer::after(Duration::from_millis(10)).await;
                continue;
            }
            Some(Err(e)) => {
                result = Err(e);
                shared.stop();
                break;
            }
        };
        let shared = Arc::clone(shared);
        let done = done_tx.clone();
        executor
            .spawn(async move {
                crate::connection::serve(stream, peer, shared).await;
                drop((permit, done));
            })
            .detach();
    }
    // Closing the listening socket refuses new connections while the others finish.
    drop(listener);
    drop(done_tx);
    let _ = done_rx.recv().await;
    result
}

#[cfg(test)]
impl Shared {
    /// Shared state for a server on `local`, serving files from the current directory.
    pub(crate) fn for_tests(local: SocketAddr) -> Arc<Self> {
        let settings = handler::Settings::new(".");
        let options = ServerOptions::new(Service::Files, settings);
        let (stop_tx, stop_rx) = smol::channel::bounded(1);
        Arc::new(Self {
            protocol: Arc::new(options.protocol),
            settings: options.settings,
            service: options.service,
            cgi_timeout: options.cgi_timeout,
            facts: ServerFacts::gather(local),
            stop_tx,
            stop_rx,
        })
    }
}
