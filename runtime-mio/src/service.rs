//! The embedding API: [`HttpService`] serves HTTP from a `mio::Poll` that you own.
//!
//! The service registers its listener, its connections, CGI pipes and one `Waker` under a
//! token range you choose, and leaves every other token to you. Your loop folds the
//! service's next deadline into its poll timeout and hands it the events:
//!
//! ```text
//! loop {
//!     poll.poll(&mut events, min(your_timeout, service.poll_timeout() - now))?;
//!     for event in &events {
//!         if !service.handle_event(poll.registry(), event) { /* yours */ }
//!     }
//!     service.handle_timeout(poll.registry(), Instant::now());
//! }
//! ```

use std::io;
use std::net::SocketAddr;
use std::ops::Range;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, channel};
use std::time::Instant;

use mio::net::TcpListener;
use mio::{Interest, Registry, Token, Waker};
use runtime_std::{ServerOptions, Service};
use slab::Slab;

use crate::conn::Conn;
use crate::pool::{Command, HANDLER_THREADS, Outbox, Pool};
use crate::reap::Reaper;
use crate::shared::Shared;
use crate::timers::{ConnId, Timers};

/// Size of the one read buffer every connection of a service reads through.
const READ_BUF: usize = 64 * 1024;

/// Tokens at the start of the range that are not slab slots: the listener and the waker.
const FIXED_TOKENS: usize = 2;

/// What a slab slot holds.
#[derive(Debug)]
pub(crate) enum Slot {
    /// A connection (boxed: a slab slot is as large as its largest variant).
    Conn(Box<Conn>),
    /// A CGI pipe of the connection in slot `owner`.
    Pipe { owner: usize },
    /// The connection is being driven (taken out of the slab meanwhile).
    Taken,
}

/// An HTTP server living inside a `mio::Poll` you own.
///
/// It serves [`ServerOptions::service`] on `listener` with the same behaviour as every other
/// runtime (files, listings, CGI, or your [`Handler`](runtime_std::Handler), which runs on a
/// small worker pool so your loop never blocks). Tokens in the range given to
/// [`HttpService::new`] belong to it; [`handle_event`](Self::handle_event) tells you whether
/// an event was its own.
///
/// The service registers one [`Waker`] (mio allows one per `Poll`) with token `range.start + 1`;
/// share it through [`waker`](Self::waker) if your loop needs waking from other threads too.
#[derive(Debug)]
pub struct HttpService {
    pub(crate) shared: Arc<Shared>,
    pub(crate) listener: Option<TcpListener>,
    local: SocketAddr,
    pub(crate) slots: Slab<Slot>,
    base: usize,
    /// Slab slots the token range allows.
    pub(crate) capacity: usize,
    pub(crate) max_connections: usize,
    pub(crate) connections: usize,
    pub(crate) timers: Timers,
    pub(crate) next_generation: u64,
    /// The reactor-wide read buffer (idle connections hold none of their own).
    pub(crate) buf: Box<[u8]>,
    waker: Arc<Waker>,
    commands: Receiver<(ConnId, Command)>,
    pub(crate) outbox: Outbox,
    pub(crate) pool: Option<Pool>,
    pub(crate) reaper: Reaper,
    /// Connections that used up their turn with work left (no edge will come for it).
    pub(crate) ready: Vec<ConnId>,
    /// Accepting should be tried again (a slot freed up, or a budget ran out).
    pub(crate) accept_pending: bool,
    /// Accepting failed for lack of descriptors: retry then.
    pub(crate) accept_retry: Option<Instant>,
    /// Accepting stopped at the connection limit; a closing connection resumes it.
    pub(crate) accept_paused: bool,
    stopping: bool,
}

impl HttpService {
    /// Serves `options` on `listener`, registering it with `registry` under `tokens.start`,
    /// the service's waker under `tokens.start + 1`, and connections and CGI pipes under the
    /// rest of the range (which bounds how many are open at once, with
    /// [`ServerOptions::max_connections`]).
    pub fn new(
        listener: std::net::TcpListener,
        options: ServerOptions,
        registry: &Registry,
        tokens: Range<Token>,
    ) -> io::Result<Self> {
        let pool = match options.service {
            Service::Custom(_) => Some(Pool::new(HANDLER_THREADS)?),
            _ => None,
        };
        Self::with_pool(listener, options, registry, tokens, pool)
    }

    /// [`new`](Self::new) with a worker pool shared between services.
    pub(crate) fn with_pool(
        listener: std::net::TcpListener,
        options: ServerOptions,
        registry: &Registry,
        tokens: Range<Token>,
        pool: Option<Pool>,
    ) -> io::Result<Self> {
        let base = tokens.start.0;
        let capacity = tokens.end.0.saturating_sub(base + FIXED_TOKENS);
        if capacity == 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "the token range needs at least three tokens",
            ));
        }
        listener.set_nonblocking(true)?;
        let local = listener.local_addr()?;
        let mut listener = TcpListener::from_std(listener);
        registry.register(&mut listener, Token(base), Interest::READABLE)?;
        let waker = Arc::new(Waker::new(registry, Token(base + 1))?);
        let (commands_tx, commands) = channel();
        let max_connections = options.max_connections.max(1);
        Ok(Self {
            shared: Arc::new(Shared::new(options, local)),
            listener: Some(listener),
            local,
            slots: Slab::new(),
            base,
            capacity,
            max_connections,
            connections: 0,
            timers: Timers::default(),
            next_generation: 0,
            buf: vec![0; READ_BUF].into_boxed_slice(),
            waker: Arc::clone(&waker),
            commands,
            outbox: Outbox {
                commands: commands_tx,
                waker,
            },
            pool,
            reaper: Reaper::default(),
            ready: Vec::new(),
            // Connections may already wait in the backlog.
            accept_pending: true,
            accept_retry: None,
            accept_paused: false,
            stopping: false,
        })
    }

    /// The address the listener is bound to.
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// The waker registered under `tokens.start + 1`. Waking it makes the poll return; the
    /// service treats its event as "check for handler commands", which is harmless when
    /// there are none.
    pub fn waker(&self) -> Arc<Waker> {
        Arc::clone(&self.waker)
    }

    /// Open connections.
    pub fn connections(&self) -> usize {
        self.connections
    }

    /// Handles one event. Returns `false` when the token is not the service's (the event is
    /// yours).
    pub fn handle_event(&mut self, registry: &Registry, event: &mio::event::Event) -> bool {
        let token = event.token().0;
        let Some(offset) = token
            .checked_sub(self.base)
            .filter(|o| *o < self.capacity + FIXED_TOKENS)
        else {
            return false;
        };
        match offset {
            0 => self.accept(registry),
            1 => self.run_commands(registry),
            _ => {
                let key = offset - FIXED_TOKENS;
                // Errors and hang-ups show up as failed or empty reads and writes.
                let readable = event.is_readable() || event.is_read_closed() || event.is_error();
                let writable = event.is_writable() || event.is_write_closed() || event.is_error();
                self.on_ready(registry, key, readable, writable);
            }
        }
        true
    }

    /// The earliest instant at which [`handle_timeout`](Self::handle_timeout) has work: a
    /// connection deadline, a CGI time limit, or `now` when work is left over from the last
    /// turn. Use it as (part of) your poll timeout.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.accept_pending || !self.ready.is_empty() {
            return Some(Instant::now());
        }
        [
            self.timers.next(),
            self.reaper.next_check(),
            self.accept_retry,
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Fires the deadlines due at `now` and finishes left-over work. Calling it early (or
    /// after every poll) is harmless.
    pub fn handle_timeout(&mut self, registry: &Registry, now: Instant) {
        while let Some((at, id)) = self.timers.pop_due(now) {
            self.on_deadline(registry, at, id, now);
        }
        if self.accept_retry.is_some_and(|at| at <= now) {
            self.accept_retry = None;
            self.accept_pending = true;
        }
        self.reaper.check(now);
        self.run_pending(registry);
        let slots = &self.slots;
        self.timers.compact(self.connections, |at, id| {
            matches!(slots.get(id.key), Some(Slot::Conn(c)) if c.id == id && c.armed == Some(at))
        });
    }

    /// Starts a graceful stop: the listener is closed (new connections are refused), idle
    /// connections close, in-flight responses finish. Keep polling until
    /// [`is_stopped`](Self::is_stopped).
    pub fn shutdown(&mut self, registry: &Registry) {
        if self.stopping {
            return;
        }
        self.stopping = true;
        self.accept_pending = false;
        if let Some(mut listener) = self.listener.take() {
            let _ = registry.deregister(&mut listener);
        }
        let keys: Vec<usize> = self
            .slots
            .iter()
            .filter(|(_, slot)| matches!(slot, Slot::Conn(_)))
            .map(|(key, _)| key)
            .collect();
        for key in keys {
            if let Some(Slot::Conn(conn)) = self.slots.get_mut(key) {
                conn.core.close_after_response();
            }
            self.drive(registry, key);
        }
    }

    /// Whether a stop was requested and every connection is gone.
    pub fn is_stopped(&self) -> bool {
        self.stopping && self.connections == 0
    }

    /// The token of slab slot `key`.
    pub(crate) fn token(&self, key: usize) -> Token {
        Token(self.base + FIXED_TOKENS + key)
    }

    /// Applies the commands handler workers sent.
    fn run_commands(&mut self, registry: &Registry) {
        while let Ok((id, command)) = self.commands.try_recv() {
            self.on_command(registry, id, command);
        }
    }

    /// Work left from earlier turns: accepting, connections that used up their budget.
    fn run_pending(&mut self, registry: &Registry) {
        if self.accept_pending {
            self.accept_pending = false;
            self.accept(registry);
        }
        for id in std::mem::take(&mut self.ready) {
            if matches!(self.slots.get(id.key), Some(Slot::Conn(c)) if c.id == id) {
                self.drive(registry, id.key);
            }
        }
    }
}
