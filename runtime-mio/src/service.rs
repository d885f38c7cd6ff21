//! The embedding API: [`HttpService`] serves HTTP from a `mio::Poll` that you own.
//!
//! The service registers its listener, its connections, the pipes of running CGI scripts and
//! one `Waker` under a token range you choose, and leaves every other token to you. Your loop
//! folds the service's next deadline into its poll timeout and hands it the events:
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

use std::cell::Cell;
use std::io;
use std::net::SocketAddr;
use std::ops::Range;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, channel};
use std::time::Instant;

use mio::net::TcpListener;
use mio::{Interest, Registry, Token, Waker};
use serve::{Now, Roster, ServerConfig};
use slab::Slab;

use crate::conn::Conn;
use crate::drive::Ready;
use crate::pool::{HANDLER_THREADS, Outbox, Pool};
use crate::timers::{ConnId, Timers};

/// Tokens at the start of the range that are not slab slots: the listener and the waker.
const FIXED_TOKENS: usize = 2;

/// What a slab slot holds.
#[derive(Debug)]
pub(crate) enum Slot {
    /// A connection (boxed: a slab slot is as large as its largest variant).
    Conn(Box<Conn>),
    /// A pipe of the script run by the connection in slot `owner`.
    Pipe { owner: usize },
    /// Reserved: the connection is being driven or admitted.
    Taken,
}

/// An HTTP server living inside a `mio::Poll` you own.
///
/// It serves what `config` says with the same behaviour as every other runtime: files and
/// listings (with `sendfile`), CGI scripts, and the requests your own handler
/// ([`ServerConfig::routes`]) [accepts](handler::exchange::Handler::accepts), which run on 8
/// worker threads so your loop never blocks. Tokens in the range given to
/// [`HttpService::new`] belong to it; [`handle_event`](Self::handle_event) tells you whether
/// an event was its own.
///
/// The service registers one [`Waker`] (mio allows one per `Poll`) with token
/// `range.start + 1`; share it through [`waker`](Self::waker) if your loop needs waking from
/// other threads too.
#[derive(Debug)]
pub struct HttpService {
    pub(crate) config: Arc<ServerConfig>,
    pub(crate) listener: Option<TcpListener>,
    local: SocketAddr,
    pub(crate) slots: Slab<Slot>,
    base: usize,
    /// Slab slots the token range allows.
    pub(crate) capacity: usize,
    pub(crate) roster: Roster<ConnId>,
    pub(crate) timers: Timers,
    pub(crate) next_generation: u64,
    waker: Arc<Waker>,
    commands: Receiver<(ConnId, serve::Command)>,
    pub(crate) outbox: Outbox,
    /// The handler workers; `None` runs handlers on the loop.
    pub(crate) pool: Option<Pool>,
    /// Connections that ran out of turn budget with work left (no edge will come for it),
    /// or that planned responses to write.
    pub(crate) ready: Vec<ConnId>,
    /// Connections this poll's events named (read ahead if readable), to be turned by
    /// `handle_timeout`, which plans their requests.
    pub(crate) polled: Vec<ConnId>,
    /// Accepting should be tried again (an accept budget ran out).
    pub(crate) accept_pending: bool,
    /// Accepting failed for lack of descriptors: retry then.
    pub(crate) accept_retry: Option<Instant>,
    stopping: bool,
    /// The time of this round of events, read once at its first turn and forgotten when the
    /// round ends (`handle_timeout`, `shutdown`, and `poll_timeout` before the next poll):
    /// every connection of one poll is turned with the same reading, as a reactor passes its
    /// poll's time (two clock reads per turn were 2% of serving a small file).
    round: Cell<Option<Now>>,
}

impl HttpService {
    /// Serves `config` on `listener`, registering it with `registry` under `tokens.start`,
    /// the service's waker under `tokens.start + 1`, and connections and CGI pipes under the
    /// rest of the range (which bounds how many are open at once, with
    /// [`ServerConfig::max_connections`]).
    pub fn new(
        listener: std::net::TcpListener,
        config: Arc<ServerConfig>,
        registry: &Registry,
        tokens: Range<Token>,
    ) -> io::Result<Self> {
        let pool = match config.routes {
            Some(_) => Some(Pool::new(HANDLER_THREADS)?),
            None => None,
        };
        let max = config.max_connections;
        Self::build(listener, config, registry, tokens, pool, max)
    }

    /// [`new`](Self::new) with the handler workers (`None`: on the loop) and the connection
    /// cap given.
    pub(crate) fn build(
        listener: std::net::TcpListener,
        config: Arc<ServerConfig>,
        registry: &Registry,
        tokens: Range<Token>,
        pool: Option<Pool>,
        max_connections: usize,
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
        Ok(Self {
            config,
            listener: Some(listener),
            local,
            slots: Slab::new(),
            base,
            capacity,
            roster: Roster::new(max_connections),
            timers: Timers::default(),
            next_generation: 0,
            waker: Arc::clone(&waker),
            commands,
            outbox: Outbox {
                commands: commands_tx,
                waker,
            },
            pool,
            ready: Vec::new(),
            polled: Vec::new(),
            // Connections may already wait in the backlog.
            accept_pending: true,
            accept_retry: None,
            stopping: false,
            round: Cell::new(None),
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
        self.roster.len()
    }

    /// Handles one event. Returns `false` when the token is not the service's (the event is
    /// yours).
    ///
    /// The events of one poll are handled with one reading of the clock, taken at the first
    /// of them. A socket is read here; the requests read are planned, and the responses
    /// written, by the next [`handle_timeout`](Self::handle_timeout): call it after each
    /// poll's events.
    pub fn handle_event(&mut self, registry: &Registry, event: &mio::event::Event) -> bool {
        let Some(offset) = event
            .token()
            .0
            .checked_sub(self.base)
            .filter(|o| *o < self.capacity + FIXED_TOKENS)
        else {
            return false;
        };
        match offset {
            0 => self.accept(registry),
            1 => self.run_commands(registry),
            _ => {
                // Errors and hang-ups show up as failed or empty reads and writes.
                let failed = event.is_error();
                let read_closed = event.is_read_closed() || failed;
                let ready = Ready {
                    read: event.is_readable() || read_closed,
                    write: event.is_writable() || event.is_write_closed() || failed,
                    read_closed,
                };
                self.on_ready(registry, offset - FIXED_TOKENS, ready);
            }
        }
        true
    }

    /// The earliest instant at which [`handle_timeout`](Self::handle_timeout) has work: a
    /// connection deadline, or now when events were handled since (their requests wait to be
    /// planned) or work is left over from the last turn. Use it as (part of) your poll
    /// timeout.
    ///
    /// It also ends the round of events: whatever is handled after the poll it is for reads
    /// the clock again, even if [`handle_timeout`](Self::handle_timeout) was not called.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.round.set(None);
        if self.accept_pending || !self.ready.is_empty() || !self.polled.is_empty() {
            return Some(Instant::now());
        }
        [self.timers.next(), self.accept_retry]
            .into_iter()
            .flatten()
            .min()
    }

    /// Fires the deadlines due at `now`, plans the requests this poll's events read and
    /// writes the responses, and finishes left-over work; the next events get a new clock
    /// reading. Call it after every poll (calling it early is harmless).
    pub fn handle_timeout(&mut self, registry: &Registry, now: Instant) {
        // The deadlines due at `now` must be due for the turns they cause too: a round's
        // reading taken before `now` would find them early, re-arm them, and find them due
        // again, forever. (Only then is the clock read again: the turns that write what this
        // round planned keep its reading, so they need not check deadlines a second time.)
        let at = self.now();
        if at.instant < now && self.timers.next().is_some_and(|due| due <= now) {
            // An embedder's `now` ahead of the clock is taken as the round's instant, so its
            // due deadlines fire; the next round, read from the clock, may then be earlier
            // (the core keeps the latest time it was given).
            let fresh = sys::clock::now();
            self.round
                .set(Some(Now::new(now.max(fresh.instant), fresh.wall)));
        }
        self.handle_deadlines(registry, now);
        // The round is over: the next poll's events are turned with a new reading.
        self.round.set(None);
    }

    /// The deadlines due at `now`, accepting, and the connections left with work.
    fn handle_deadlines(&mut self, registry: &Registry, now: Instant) {
        while let Some((at, id)) = self.timers.pop_due(now) {
            self.on_deadline(registry, at, id);
        }
        if self.accept_retry.is_some_and(|at| at <= now) {
            self.accept_retry = None;
            self.accept_pending = true;
        }
        // Before accepting: the connections read from are busy, not idle ones to evict.
        self.plan_polled(registry);
        if self.accept_pending {
            self.accept_pending = false;
            self.accept(registry);
        }
        for id in std::mem::take(&mut self.ready) {
            if matches!(self.slots.get(id.key), Some(Slot::Conn(c)) if c.id == id) {
                self.drive(registry, id.key);
            }
        }
        let slots = &self.slots;
        self.timers.compact(self.roster.len(), |at, id| {
            matches!(slots.get(id.key), Some(Slot::Conn(c)) if c.id == id && c.armed == Some(at))
        });
    }

    /// Starts a graceful stop: the listener is closed (new connections are refused), idle
    /// connections close, in-flight responses finish (within
    /// [`ServerConfig::shutdown_timeout`]). Keep polling until
    /// [`is_stopped`](Self::is_stopped).
    pub fn shutdown(&mut self, registry: &Registry) {
        self.stop_all(registry);
        self.round.set(None);
    }

    /// Stops accepting and asks every connection to stop (once).
    fn stop_all(&mut self, registry: &Registry) {
        if self.stopping {
            return;
        }
        self.stopping = true;
        self.accept_pending = false;
        self.accept_retry = None;
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
                conn.driver.stop();
            }
            self.drive(registry, key);
        }
    }

    /// Whether a stop was requested and every connection is gone.
    pub fn is_stopped(&self) -> bool {
        self.stopping && self.roster.is_empty()
    }

    /// The time of this round (see `round`).
    pub(crate) fn now(&mut self) -> Now {
        let now = self.round.get().unwrap_or_else(sys::clock::now);
        self.round.set(Some(now));
        now
    }

    /// Ends the round early: the next turn reads the clock (after a handler ran on the loop).
    pub(crate) fn forget_now(&self) {
        self.round.set(None);
    }

    /// The token of slab slot `key`.
    pub(crate) fn token(&self, key: usize) -> Token {
        Token(self.base + FIXED_TOKENS + key)
    }

    /// Applies the commands handler tasks sent.
    fn run_commands(&mut self, registry: &Registry) {
        while let Ok((id, command)) = self.commands.try_recv() {
            self.on_command(registry, id, command);
        }
    }
}
