//! [`MioServer`]: N reactor threads, each with its own `Poll`, its own [`HttpService`] and its
//! own `SO_REUSEPORT` listener on the same port, so the kernel spreads connections over the
//! cores and the threads share nothing but the configuration and the handler workers.
//!
//! Stopping ([`StopHandle::stop`]) sets a flag and wakes every reactor through its service's
//! `Waker`; each closes its listener (new connections are refused), stops its connections
//! (idle ones close, in-flight responses finish within the shutdown timeout), and returns
//! when its last connection is gone.

use std::io;
use std::net::{SocketAddr, TcpListener};
use std::num::NonZeroUsize;
use std::ops::Range;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use mio::{Events, Poll, Token, Waker};
use serve::ServerConfig;

use crate::pool::{HANDLER_THREADS, Pool};
use crate::service::HttpService;

/// Every token of a reactor's `Poll` belongs to its service.
const TOKENS: Range<Token> = Token(0)..Token(usize::MAX / 2);

/// Events taken per poll.
const EVENTS: usize = 1024;

/// Backlog of the listeners the other reactors bind.
const BACKLOG: u32 = 1024;

/// What a stop request reaches.
#[derive(Debug, Default)]
struct StopState {
    stopping: AtomicBool,
    /// The running reactors' wakers (none before `serve_forever`).
    wakers: Mutex<Vec<Arc<Waker>>>,
}

/// Stops a running [`MioServer`] from another thread (or a signal handler thread).
#[derive(Debug, Clone)]
pub struct StopHandle {
    state: Arc<StopState>,
}

impl StopHandle {
    /// Stops gracefully: accepting ends, idle connections close, in-flight responses finish
    /// (within the shutdown timeout), then `serve_forever` returns. Harmless to call again,
    /// or before `serve_forever`.
    pub fn stop(&self) {
        self.state.stopping.store(true, Ordering::Release);
        let wakers = self
            .state
            .wakers
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        for waker in wakers.iter() {
            let _ = waker.wake();
        }
    }
}

/// An HTTP server on mio reactors: `python -m http.server` semantics, one edge-triggered
/// event loop per worker thread.
#[derive(Debug)]
pub struct MioServer {
    listener: TcpListener,
    config: Arc<ServerConfig>,
    local: SocketAddr,
    workers: usize,
    handler_threads: usize,
    stop: Arc<StopState>,
}

impl MioServer {
    /// A server on `listener`, with one reactor per core and 8 handler threads.
    pub fn new(listener: TcpListener, config: Arc<ServerConfig>) -> io::Result<Self> {
        let local = listener.local_addr()?;
        Ok(Self {
            listener,
            config,
            local,
            workers: std::thread::available_parallelism().map_or(1, NonZeroUsize::get),
            handler_threads: HANDLER_THREADS,
            stop: Arc::default(),
        })
    }

    /// Runs `workers` reactors (at least one). Reactor 0 serves the given listener; each
    /// other one binds its own on the same address with `SO_REUSEPORT`, which works when the
    /// given listener has it too (`sys::listener::bind(addr, 1024, true)`); otherwise they
    /// share the given one. [`ServerConfig::max_connections`] is shared out evenly.
    #[must_use]
    pub fn with_workers(mut self, workers: usize) -> Self {
        self.workers = workers.max(1);
        self
    }

    /// Runs your handler ([`ServerConfig::routes`]) on `threads` worker threads shared by
    /// every reactor: at most that many handlers run at once. With 0, each handler runs on
    /// its reactor's loop, which serves nothing else until the handler returns: only for
    /// handlers that never wait long.
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
            state: Arc::clone(&self.stop),
        }
    }

    /// Serves on every reactor (the calling thread runs the first) until stopped, then
    /// returns once every connection is closed. A reactor that fails stops the others.
    pub fn serve_forever(self) -> io::Result<()> {
        let handlers = match self.config.routes {
            Some(_) if self.handler_threads > 0 => Some(Pool::new(self.handler_threads)?),
            _ => None,
        };
        let max = self.config.max_connections.div_ceil(self.workers);
        let mut listeners = Vec::with_capacity(self.workers);
        for _ in 1..self.workers {
            let own = sys::listener::bind(self.local, BACKLOG, true);
            listeners.push(own.or_else(|_| self.listener.try_clone())?);
        }
        listeners.insert(0, self.listener);
        let mut reactors = Vec::with_capacity(self.workers);
        for listener in listeners {
            let poll = Poll::new()?;
            let config = Arc::clone(&self.config);
            let service = HttpService::build(
                listener,
                config,
                poll.registry(),
                TOKENS,
                handlers.clone(),
                max,
            )?;
            reactors.push(Reactor { poll, service });
        }
        drop(handlers);
        self.stop
            .wakers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend(reactors.iter().map(|r| r.service.waker()));
        let stop = StopHandle { state: self.stop };
        let mut reactors = reactors.into_iter();
        let Some(first) = reactors.next() else {
            return Ok(());
        };
        let mut threads = Vec::new();
        for reactor in reactors {
            let shared = stop.clone();
            let thread = std::thread::Builder::new()
                .name("mio-reactor".into())
                .spawn(move || reactor.run_or_stop_all(&shared));
            match thread {
                Ok(thread) => threads.push(thread),
                Err(e) => {
                    stop.stop();
                    return Err(e);
                }
            }
        }
        let mut result = first.run_or_stop_all(&stop);
        for thread in threads {
            let outcome = thread
                .join()
                .unwrap_or_else(|_| Err(io::Error::other("a reactor thread panicked")));
            result = result.and(outcome);
        }
        result
    }
}

/// One reactor: a poll and the service registered in it.
#[derive(Debug)]
struct Reactor {
    poll: Poll,
    service: HttpService,
}

impl Reactor {
    /// Runs the reactor; if it fails, the whole server stops (gracefully) with it.
    fn run_or_stop_all(self, stop: &StopHandle) -> io::Result<()> {
        let result = self.run(&stop.state);
        if result.is_err() {
            stop.stop();
        }
        result
    }

    /// Polls and serves until a stop was requested and every connection is gone.
    fn run(mut self, stop: &StopState) -> io::Result<()> {
        let mut events = Events::with_capacity(EVENTS);
        loop {
            if stop.stopping.load(Ordering::Acquire) {
                self.service.shutdown(self.poll.registry());
            }
            if self.service.is_stopped() {
                return Ok(());
            }
            let timeout = self
                .service
                .poll_timeout()
                .map(|at| at.saturating_duration_since(Instant::now()));
            match self.poll.poll(&mut events, timeout) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
            // The registry is borrowed per round: a cloned one would cost a descriptor.
            let registry = self.poll.registry();
            for event in &events {
                self.service.handle_event(registry, event);
            }
            self.service.handle_timeout(registry, Instant::now());
        }
    }
}
