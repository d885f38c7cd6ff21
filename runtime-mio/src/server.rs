//! [`MioServer`]: N reactor threads, each with its own `Poll`, its own [`HttpService`] and its
//! own `SO_REUSEPORT` listener on the same port, so the kernel spreads connections over the
//! cores and the threads share nothing but read-only state and the handler pool.
//!
//! Stopping (SIGINT, SIGTERM or [`StopHandle::stop`]) sets a flag and wakes every reactor
//! through its service's `Waker`; each closes its listener (new connections are refused),
//! closes idle connections, lets in-flight responses finish, and returns when its last
//! connection is gone.

use std::io;
use std::net::SocketAddr;
use std::ops::Range;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use mio::{Events, Poll, Token, Waker};
use runtime_std::{ServerOptions, Service, bind_listener};

use crate::pool::{HANDLER_THREADS, Pool};
use crate::service::HttpService;

/// Every token of a reactor's `Poll` belongs to its service.
const TOKENS: Range<Token> = Token(0)..Token(usize::MAX / 2);

/// Events taken per poll.
const EVENTS: usize = 1024;

/// What a stop request reaches.
#[derive(Debug)]
struct StopState {
    stopping: AtomicBool,
    wakers: Vec<Arc<Waker>>,
}

/// Stops a running [`MioServer`] from another thread (or a signal handler thread).
#[derive(Debug, Clone)]
pub struct StopHandle {
    state: Arc<StopState>,
}

impl StopHandle {
    /// Refuses new connections, lets in-flight responses finish, then `serve_forever` returns.
    pub fn stop(&self) {
        self.state.stopping.store(true, Ordering::Release);
        for waker in &self.state.wakers {
            let _ = waker.wake();
        }
    }
}

/// One reactor: a poll and the service registered in it.
#[derive(Debug)]
struct Reactor {
    poll: Poll,
    service: HttpService,
}

impl Reactor {
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
            // The registry is borrowed per turn: a cloned one would cost a descriptor.
            let registry = self.poll.registry();
            for event in &events {
                self.service.handle_event(registry, event);
            }
            self.service.handle_timeout(registry, Instant::now());
        }
    }
}

/// An HTTP server on mio reactors: `python -m http.server` semantics, one edge-triggered
/// event loop per worker thread.
#[derive(Debug)]
pub struct MioServer {
    reactors: Vec<Reactor>,
    local: SocketAddr,
    stop: Arc<StopState>,
}

impl MioServer {
    /// Binds `workers` listeners (at least one) to `addr` with `SO_REUSEPORT`, each with its
    /// own reactor. [`ServerOptions::max_connections`] is shared out evenly between them.
    pub fn bind(addr: SocketAddr, options: ServerOptions, workers: usize) -> io::Result<Self> {
        let workers = workers.max(1);
        let first = bind_listener(addr, options.backlog, true)?;
        // With port 0, the other listeners join the port the first one got.
        let local = first.local_addr()?;
        let handler_pool = match options.service {
            Service::Custom(_) => Some(Pool::new(HANDLER_THREADS.max(2 * workers))?),
            _ => None,
        };
        let backlog = options.backlog;
        let mut per_reactor = options;
        per_reactor.max_connections = per_reactor.max_connections.div_ceil(workers);
        let mut reactors = Vec::with_capacity(workers);
        let mut listener = Some(first);
        for _ in 0..workers {
            let listener = match listener.take() {
                Some(first) => first,
                None => bind_listener(local, backlog, true)?,
            };
            let poll = Poll::new()?;
            let service = HttpService::with_pool(
                listener,
                per_reactor.clone(),
                poll.registry(),
                TOKENS,
                handler_pool.clone(),
            )?;
            reactors.push(Reactor { poll, service });
        }
        let wakers = reactors.iter().map(|r| r.service.waker()).collect();
        Ok(Self {
            reactors,
            local,
            stop: Arc::new(StopState {
                stopping: AtomicBool::new(false),
                wakers,
            }),
        })
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

    /// Stops gracefully on SIGINT or SIGTERM.
    pub fn stop_on_signals(&self) -> io::Result<()> {
        let handle = self.stop_handle();
        runtime_std::on_stop_signal(move || handle.stop())
    }

    /// Serves on every reactor (the calling thread runs the first) until stopped, then
    /// returns once every connection is closed. A reactor that fails stops the others.
    pub fn serve_forever(self) -> io::Result<()> {
        let Self { reactors, stop, .. } = self;
        let mut reactors = reactors.into_iter();
        let Some(first) = reactors.next() else {
            return Ok(());
        };
        let mut threads = Vec::new();
        for reactor in reactors {
            let shared_stop = Arc::clone(&stop);
            let thread = std::thread::Builder::new()
                .name("mio-reactor".into())
                .spawn(move || run_or_stop_all(reactor, &shared_stop));
            match thread {
                Ok(thread) => threads.push(thread),
                Err(e) => {
                    StopHandle { state: stop }.stop();
                    return Err(e);
                }
            }
        }
        let mut result = run_or_stop_all(first, &stop);
        for thread in threads {
            let outcome = thread
                .join()
                .unwrap_or_else(|_| Err(io::Error::other("a reactor thread panicked")));
            result = result.and(outcome);
        }
        result
    }
}

/// Runs a reactor; if it fails, the whole server stops (gracefully) with it.
fn run_or_stop_all(reactor: Reactor, stop: &Arc<StopState>) -> io::Result<()> {
    let result = reactor.run(stop);
    if result.is_err() {
        StopHandle {
            state: Arc::clone(stop),
        }
        .stop();
    }
    result
}
