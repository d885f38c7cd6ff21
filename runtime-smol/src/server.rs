//! [`SmolServer`]: the executor threads, the accept loop, the connection cap (a
//! [`Roster`]) and the graceful stop. Each accepted socket becomes a task of
//! [`connection`](crate::connection).
//!
//! Stop is a closed channel: every waiter on it (the accept loop, each waiting connection)
//! wakes at once, and a task that starts waiting later sees it closed. Completion is the
//! opposite: each connection task holds a clone of a sender, so the accept loop knows every
//! task is gone when its receiver reports the channel closed.

use std::io;
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use serve::{Admission, Roster, ServerConfig};
use smol::channel::{Receiver, Sender};
use smol::{Async, Executor, Timer, future};
use sys::listener::{configure, is_out_of_descriptors, is_transient_accept_error};

use crate::handlers::Handlers;

/// How long accepting pauses when the process is out of descriptors: retrying at once would
/// spin, and a closing connection frees one soon.
const OUT_OF_DESCRIPTORS_PAUSE: Duration = Duration::from_millis(100);

/// What closes a connection from outside: its socket, shared with its task. Shutting it down
/// wakes the task, whose next read sees the end.
pub(crate) type Handle = Arc<Async<TcpStream>>;

/// What the accept loop and every connection task share.
pub(crate) struct Shared {
    pub(crate) config: Arc<ServerConfig>,
    pub(crate) roster: Mutex<Roster<Handle>>,
    pub(crate) handlers: Handlers,
    /// Never carries a message: closed, it is the stop signal.
    stop: Receiver<()>,
    /// Tasks holding requests they read ahead until the other ready tasks read theirs (see
    /// [`Shared::try_hold`]).
    held: AtomicUsize,
}

/// How many tasks may hold requests read ahead at once, across the server's threads; the
/// others plan and answer as they read. Holding costs memory for as long as the burst lasts
/// (each holds its connection's buffers out of the per-thread stash), and what a burst of
/// many new connections leaves in the allocator's heap stays there: with every task of a
/// 500-connection burst holding, the server kept 120 more bytes per idle connection;
/// with none on a connection's first turn and 64 at most, none. (16 at most, when held
/// responses were written in bursts, left half of 32 busy connections out of the read
/// ahead: each of those plans between two reads, and the reads end the looks shared.)
const MAX_HELD: usize = 64;

impl Shared {
    /// What the tasks of a server share: `config`, handlers on `handler_threads` threads of
    /// their own (see [`SmolServer::with_handler_threads`]), and the stop signal.
    pub(crate) fn new(
        config: Arc<ServerConfig>,
        handler_threads: usize,
        stop: Receiver<()>,
    ) -> io::Result<Self> {
        Ok(Self {
            roster: Mutex::new(Roster::new(config.max_connections)),
            handlers: Handlers::start(handler_threads)?,
            config,
            stop,
            held: AtomicUsize::new(0),
        })
    }

    /// Whether a task may read requests ahead (then it calls
    /// [`release_hold`](Self::release_hold) once it answered them, or found none).
    pub(crate) fn try_hold(&self) -> bool {
        if self.held.fetch_add(1, Ordering::Relaxed) < MAX_HELD {
            return true;
        }
        self.held.fetch_sub(1, Ordering::Relaxed);
        false
    }

    /// A task that read ahead answered what it read (or found nothing to read).
    pub(crate) fn release_hold(&self) {
        self.held.fetch_sub(1, Ordering::Relaxed);
    }

    /// Whether a stop was asked for.
    pub(crate) fn stopping(&self) -> bool {
        self.stop.is_closed()
    }

    /// A receiver of the stop signal of its own, to poll as a stream: it ends once a stop
    /// is asked for.
    pub(crate) fn stop_signal(&self) -> Receiver<()> {
        self.stop.clone()
    }

    /// Completes once a stop is asked for.
    pub(crate) async fn stopped(&self) {
        let _ = self.stop.recv().await;
    }

    /// The roster, even if a task panicked while holding it (its entries stay consistent:
    /// every roster method completes or does nothing).
    pub(crate) fn roster(&self) -> std::sync::MutexGuard<'_, Roster<Handle>> {
        self.roster.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn log(&self, message: &str) {
        let line = handler::format_log_line(
            self.config.facts.local.ip(),
            sys::clock::now().wall,
            message,
        );
        self.config.log.log(&line);
    }
}

/// Stops a running [`SmolServer`] from any thread (see [`stop`](Self::stop)).
#[derive(Clone, Debug)]
pub struct StopHandle {
    stop: Sender<()>,
}

impl StopHandle {
    /// Stops gracefully: accepting ends (the listener is closed), idle connections close at
    /// once, responses in flight finish within the configured shutdown timeout, then
    /// [`SmolServer::serve_forever`] returns. Harmless to call again.
    pub fn stop(&self) {
        self.stop.close();
    }
}

/// An HTTP server on smol: one task per connection on a multi-threaded executor.
#[derive(Debug)]
pub struct SmolServer {
    listener: TcpListener,
    local: SocketAddr,
    config: Arc<ServerConfig>,
    workers: usize,
    handler_threads: usize,
    stop: Sender<()>,
    stopped: Receiver<()>,
}

impl SmolServer {
    /// Serves `config` on `listener` (bound and listening; see `sys::listener::bind`).
    /// Nothing is accepted before [`serve_forever`](Self::serve_forever).
    pub fn new(listener: TcpListener, config: Arc<ServerConfig>) -> io::Result<Self> {
        let local = listener.local_addr()?;
        let (stop, stopped) = smol::channel::bounded(1);
        Ok(Self {
            listener,
            local,
            config,
            workers: std::thread::available_parallelism().map_or(1, usize::from),
            handler_threads: 8,
            stop,
            stopped,
        })
    }

    /// Runs the executor on `workers` threads (at least one; default: one per core). The
    /// thread calling [`serve_forever`](Self::serve_forever) is one of them.
    #[must_use]
    pub fn with_workers(mut self, workers: usize) -> Self {
        self.workers = workers.max(1);
        self
    }

    /// Runs your handler ([`ServerConfig::routes`]) on `threads` threads of its own (default
    /// 8): at most that many requests are in your handler at once, the rest wait their turn.
    /// `0` starts no thread of its own: each request runs on smol's blocking pool
    /// (`smol::unblock`, which grows on demand up to `BLOCKING_MAX_THREADS`, 500 by default).
    /// A handler never runs on an executor thread: it blocks, and would stall every
    /// connection of that thread. Without routes no thread is started either way.
    #[must_use]
    pub fn with_handler_threads(mut self, threads: usize) -> Self {
        self.handler_threads = threads;
        self
    }

    /// The bound address (with the real port when 0 was asked for).
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// A handle that stops the server from elsewhere.
    pub fn stop_handle(&self) -> StopHandle {
        StopHandle {
            stop: self.stop.clone(),
        }
    }

    /// Accepts and serves connections until stopped, then waits for every connection to
    /// end. The calling thread is one of the executor threads.
    pub fn serve_forever(self) -> io::Result<()> {
        let threads = if self.config.routes.is_some() {
            self.handler_threads
        } else {
            0
        };
        let shared = Arc::new(Shared::new(self.config, threads, self.stopped)?);
        let executor = Arc::new(Executor::new());
        // Closed when the accept loop is over, to release the other executor threads.
        let (quit_tx, quit_rx) = smol::channel::bounded::<()>(1);
        let mut workers = Vec::with_capacity(self.workers - 1);
        for i in 1..self.workers {
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
        let serve = || smol::block_on(executor.run(accept_loop(self.listener, &shared, &executor)));
        // One executor thread reads and plans every request: its looks at files can be
        // shared (see `handler::with_shared_looks`: a look answers only requests this thread
        // had read before it). With more threads a task may be read on one and planned on
        // another, which that rule cannot see, so each request looks for itself.
        let result = if workers.is_empty() {
            handler::with_shared_looks(serve)
        } else {
            serve()
        };
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
) -> io::Result<()> {
    let listener = Async::new(listener)?;
    // Every task holds a clone of `done_tx`; `done_rx` closes when the last one is dropped.
    let (done_tx, done_rx) = smol::channel::bounded::<()>(1);
    let mut result = Ok(());
    loop {
        let accepted = future::or(async { Some(listener.accept().await) }, async {
            shared.stopped().await;
            None
        });
        let (stream, peer) = match accepted.await {
            None => break,
            Some(Ok(pair)) => pair,
            Some(Err(e)) if is_out_of_descriptors(&e) => {
                shared.log(&format!("accept failed, pausing: {e}"));
                Timer::after(OUT_OF_DESCRIPTORS_PAUSE).await;
                continue;
            }
            // A client gone before it was accepted: nothing to do.
            Some(Err(e)) if is_transient_accept_error(&e) => continue,
            Some(Err(e)) => {
                shared.log(&format!("accept failed, stopping: {e}"));
                result = Err(e);
                // The open connections end as on a stop.
                shared.stop.close();
                break;
            }
        };
        configure(stream.get_ref());
        let socket: Handle = Arc::new(stream);
        let admission = shared
            .roster()
            .admit(Arc::clone(&socket), sys::clock::now().instant);
        let ticket = match admission {
            Admission::Admitted(ticket) => ticket,
            Admission::Evict(ticket, victim) => {
                // Its task wakes up readable, reads the end and closes.
                let _ = victim.get_ref().shutdown(Shutdown::Both);
                ticket
            }
            // Every connection is busy: this one is closed at once.
            _ => continue,
        };
        let task =
            crate::connection::serve(socket, peer, ticket, Arc::clone(shared), done_tx.clone());
        executor.spawn(task).detach();
    }
    // Closing the listening socket refuses new connections while the others finish.
    drop(listener);
    drop(done_tx);
    let _ = done_rx.recv().await;
    result
}
