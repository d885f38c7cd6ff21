//! The listener's side: the accept loop, the roster of connections against the cap, the
//! stop, and waiting for the last connection thread.
//!
//! A stop has to reach threads blocked in `poll(2)` (the accept loop, every connection). It
//! writes one byte to a pipe whose read end every poll includes until it has seen the stop:
//! the pipe stays readable, so no thread can miss it, and no thread polls on a timer.

use std::io;
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::os::fd::{AsFd, OwnedFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use rustix::event::{PollFd, PollFlags, Timespec, poll};
use serve::{Admission, Roster, ServerConfig, Ticket};
use sys::clock::now;
use sys::listener::{configure, is_out_of_descriptors, is_transient_accept_error};

use crate::connection;

/// How long the accept loop rests when the process is out of descriptors: the pending
/// connection keeps the listener readable, so retrying at once would spin.
const DESCRIPTOR_BACKOFF: Duration = Duration::from_millis(100);

/// What the accept loop and every connection thread share.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) config: Arc<ServerConfig>,
    stopping: AtomicBool,
    /// Readable once a stop was asked (see the module docs).
    stop_rx: OwnedFd,
    stop_tx: OwnedFd,
    state: Mutex<State>,
    /// Signalled when a connection thread ends.
    ended: Condvar,
}

#[derive(Debug)]
struct State {
    /// Open connections; the handle is the socket, shut down to evict an idle connection.
    roster: Roster<Arc<TcpStream>>,
    /// Connection threads still running (an evicted connection leaves the roster at once,
    /// its thread a moment later).
    threads: usize,
}

impl Shared {
    fn new(config: Arc<ServerConfig>) -> io::Result<Self> {
        let (stop_rx, stop_tx) = rustix::pipe::pipe()?;
        let roster = Roster::new(config.max_connections);
        Ok(Self {
            config,
            stopping: AtomicBool::new(false),
            stop_rx,
            stop_tx,
            state: Mutex::new(State { roster, threads: 0 }),
            ended: Condvar::new(),
        })
    }

    pub(crate) fn stopping(&self) -> bool {
        self.stopping.load(Ordering::Acquire)
    }

    /// The pipe that turns readable on a stop, for a thread's poll.
    pub(crate) fn stop_fd(&self) -> impl AsFd + '_ {
        &self.stop_rx
    }

    fn stop(&self) {
        if !self.stopping.swap(true, Ordering::AcqRel) {
            // One byte, never read: the pipe stays readable for every later poll.
            let _ = rustix::io::write(&self.stop_tx, &[1]);
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A connection went idle or busy (what eviction at the cap goes by).
    pub(crate) fn set_idle(&self, ticket: Ticket, idle: bool, at: Instant) {
        self.lock().roster.set_idle(ticket, idle, at);
    }

    /// Waits until `listener` (if any) is readable, for at most `timeout`. Returns false
    /// once a stop was asked.
    fn wait(&self, listener: Option<&TcpListener>, timeout: Option<Duration>) -> bool {
        let mut fds = vec![PollFd::new(&self.stop_rx, PollFlags::IN)];
        if let Some(listener) = listener {
            fds.push(PollFd::new(listener, PollFlags::IN));
        }
        let timeout = timeout.and_then(|t| Timespec::try_from(t).ok());
        // An interrupted or failed poll only means the accept is tried (or the rest ends)
        // early.
        let _ = poll(&mut fds, timeout.as_ref());
        !self.stopping()
    }

    fn wait_for_threads(&self) {
        let mut state = self.lock();
        while state.threads > 0 {
            state = self
                .ended
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }
}

/// A connection's place, given up when its thread ends (or never starts).
struct Seat {
    shared: Arc<Shared>,
    ticket: Ticket,
}

impl Drop for Seat {
    fn drop(&mut self) {
        let mut state = self.shared.lock();
        state.roster.remove(self.ticket);
        state.threads -= 1;
        drop(state);
        self.shared.ended.notify_all();
    }
}

/// Stops a running server from any thread: no new connections, every connection stops
/// gracefully (idle ones close at once, busy ones finish their response within
/// [`ServerConfig::shutdown_timeout`]), then `serve_forever` returns.
#[derive(Debug, Clone)]
pub struct StopHandle {
    shared: Arc<Shared>,
}

impl StopHandle {
    /// Asks for the stop (again: harmless).
    pub fn stop(&self) {
        self.shared.stop();
    }
}

/// Python's `HTTPServer`: one connection at a time, served on the thread that calls
/// [`serve_forever`](Self::serve_forever); the next client waits in the listen backlog.
#[derive(Debug)]
pub struct HttpServer {
    listener: TcpListener,
    local: SocketAddr,
    shared: Arc<Shared>,
    /// A thread per connection (`ThreadingHTTPServer`), or the caller's thread.
    threads: bool,
}

impl HttpServer {
    /// Serves on `listener` (bound with `sys::listener::bind`, or by you) with `config`.
    pub fn new(listener: TcpListener, config: Arc<ServerConfig>) -> io::Result<Self> {
        // Non-blocking: a client that gives up between poll and accept must not block
        // the loop.
        listener.set_nonblocking(true)?;
        Ok(Self {
            local: listener.local_addr()?,
            listener,
            shared: Arc::new(Shared::new(config)?),
            threads: false,
        })
    }

    /// The bound address (with the real port when 0 was asked for).
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// A handle that stops the server from elsewhere.
    pub fn stop_handle(&self) -> StopHandle {
        StopHandle {
            shared: Arc::clone(&self.shared),
        }
    }

    /// Accepts and serves connections until stopped; returns once every connection is
    /// gone. An accept error other than a passing one stops the server and is returned.
    pub fn serve_forever(self) -> io::Result<()> {
        let result = self.accept_loop();
        if result.is_err() {
            self.shared.stop();
        }
        // Closing the listener refuses new clients at once instead of leaving them queued.
        drop(self.listener);
        self.shared.wait_for_threads();
        result
    }

    fn accept_loop(&self) -> io::Result<()> {
        while self.shared.wait(Some(&self.listener), None) {
            match self.listener.accept() {
                Ok((stream, peer)) => self.admit(stream, peer),
                Err(e) if is_out_of_descriptors(&e) => {
                    self.log(&format!("accept failed: {e}; retrying"));
                    if !self.shared.wait(None, Some(DESCRIPTOR_BACKOFF)) {
                        break;
                    }
                }
                // A client that gave up, an interrupted call: the listener is fine.
                Err(e) if is_transient_accept_error(&e) => {}
                Err(e) => {
                    self.log(&format!("accept failed: {e}; stopping"));
                    return Err(e);
                }
            }
        }
        Ok(())
    }

    /// Takes a new connection into the roster and serves it.
    fn admit(&self, stream: TcpStream, peer: SocketAddr) {
        configure(&stream);
        // Non-blocking: its thread waits in poll, for the socket and the CGI pipes at once.
        if stream.set_nonblocking(true).is_err() {
            return;
        }
        let stream = Arc::new(stream);
        let ticket = {
            let mut state = self.shared.lock();
            let ticket = match state.roster.admit(Arc::clone(&stream), now().instant) {
                Admission::Admitted(ticket) => ticket,
                Admission::Evict(ticket, idle) => {
                    // Wakes the idle connection's thread, which reads the end and closes.
                    let _ = idle.shutdown(Shutdown::Both);
                    ticket
                }
                // Every connection is busy: closing the new one is the answer.
                _ => return,
            };
            state.threads += 1;
            ticket
        };
        let seat = Seat {
            shared: Arc::clone(&self.shared),
            ticket,
        };
        let run = move || connection::serve(&seat.shared, stream, peer, seat.ticket);
        if self.threads {
            // If no thread can be spawned, dropping `run` gives the seat up and closes the
            // socket.
            let _ = std::thread::Builder::new()
                .name("connection".into())
                .spawn(run);
        } else {
            run();
        }
    }

    fn log(&self, message: &str) {
        let line = handler::format_log_line(self.local.ip(), now().wall, message);
        self.shared.config.log.log(&line);
    }
}

/// Python's `ThreadingHTTPServer`: a thread per connection, at most
/// [`ServerConfig::max_connections`] open at once (at the cap, the longest-idle keep-alive
/// connection makes room; a client finding every connection busy is closed at once).
#[derive(Debug)]
pub struct ThreadingHttpServer(HttpServer);

impl ThreadingHttpServer {
    /// Serves on `listener` with `config`.
    pub fn new(listener: TcpListener, config: Arc<ServerConfig>) -> io::Result<Self> {
        let mut server = HttpServer::new(listener, config)?;
        server.threads = true;
        Ok(Self(server))
    }

    /// The bound address (with the real port when 0 was asked for).
    pub fn local_addr(&self) -> SocketAddr {
        self.0.local_addr()
    }

    /// A handle that stops the server from elsewhere.
    pub fn stop_handle(&self) -> StopHandle {
        self.0.stop_handle()
    }

    /// Accepts connections, each served on a thread of its own, until stopped; returns once
    /// every connection thread has ended.
    pub fn serve_forever(self) -> io::Result<()> {
        self.0.serve_forever()
    }
}
