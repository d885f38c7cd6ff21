//! Where your handler runs. A [`Handler`](handler::exchange::Handler) is blocking code and a
//! reactor must never block, so each request it accepts runs as a [`HandlerTask`] on one of a
//! few worker threads, shared by every reactor of a server. Its commands come back through a
//! channel, and the reactor wakes through its `mio::Waker` to apply them
//! ([`Driver::command`]) and turn the connection. At most that many handlers run at once;
//! further requests wait for a free worker, and a slow handler delays only its own
//! connection.
//!
//! With no worker threads, a task runs on the reactor itself ([`run_inline`]): the loop then
//! serves nothing else until the handler returns.

use std::io;
use std::sync::mpsc::{Sender, channel};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use mio::Waker;
use rustix::event::{PollFd, PollFlags, Timespec, poll};
use serve::{Command, HandlerTask};
use sys::drive::{Driver, Turn};

use crate::timers::ConnId;

/// Worker threads by default.
pub(crate) const HANDLER_THREADS: usize = 8;

/// Where a task sends its commands: its reactor's queue, and the waker that makes it look.
#[derive(Debug, Clone)]
pub(crate) struct Outbox {
    pub(crate) commands: Sender<(ConnId, Command)>,
    pub(crate) waker: Arc<Waker>,
}

type Job = Box<dyn FnOnce() + Send>;

/// The worker threads; cloning shares them. They end when the last handle is dropped and the
/// queue is empty.
#[derive(Clone)]
pub(crate) struct Pool {
    queue: Sender<Job>,
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool").finish_non_exhaustive()
    }
}

impl Pool {
    /// Starts `threads` workers (at least one).
    pub(crate) fn new(threads: usize) -> io::Result<Self> {
        let (queue, jobs) = channel::<Job>();
        let jobs = Arc::new(Mutex::new(jobs));
        for _ in 0..threads.max(1) {
            let jobs = Arc::clone(&jobs);
            std::thread::Builder::new()
                .name("mio-handler".into())
                .spawn(move || {
                    loop {
                        // The lock is held to take a job, never while running one.
                        let job = jobs.lock().unwrap_or_else(PoisonError::into_inner).recv();
                        match job {
                            Ok(job) => job(),
                            Err(_) => return,
                        }
                    }
                })?;
        }
        Ok(Self { queue })
    }

    /// Queues the task of connection `id`; `false` if the workers are gone.
    pub(crate) fn submit(&self, task: HandlerTask, id: ConnId, outbox: Outbox) -> bool {
        let job = move || {
            task.run(|command| {
                // A reactor that is gone drops the connection, and with it the replies.
                if outbox.commands.send((id, command)).is_ok() {
                    let _ = outbox.waker.wake();
                }
            });
        };
        self.queue.send(Box::new(job)).is_ok()
    }
}

/// Runs `task` on the calling thread: each command goes straight to the connection, and while
/// the handler waits for socket progress (a body chunk, room in the send queue) this one
/// connection is driven with a blocking `poll(2)` on its socket.
pub(crate) fn run_inline(driver: &mut Driver, task: HandlerTask) {
    task.run(|command| {
        driver.command(command);
        while driver.conn().handler_waiting() {
            let turn = driver.turn(sys::clock::now());
            if !driver.conn().handler_waiting() || turn.more {
                continue;
            }
            if !wait(driver, turn) {
                // Nothing can answer the handler: it learns the connection is gone.
                driver.conn_mut().abort();
            }
        }
    });
}

/// Waits for what `turn` names on the driver's socket; `false` if it names nothing.
fn wait(driver: &mut Driver, turn: Turn) -> bool {
    let mut flags = PollFlags::empty();
    if turn.read {
        flags |= PollFlags::IN;
    }
    if turn.write {
        flags |= PollFlags::OUT;
    }
    if flags.is_empty() && turn.deadline.is_none() {
        return false;
    }
    let timeout = turn.deadline.map(|at| {
        let left = at.saturating_duration_since(Instant::now());
        Timespec::try_from(left).unwrap_or(Timespec {
            tv_sec: i64::MAX,
            tv_nsec: 0,
        })
    });
    let mut fds = [PollFd::new(driver.socket(), flags)];
    let revents = match poll(&mut fds, timeout.as_ref()) {
        Ok(_) => fds[0].revents(),
        Err(_) => PollFlags::empty(),
    };
    let failed = revents.intersects(PollFlags::ERR | PollFlags::HUP);
    if failed || revents.contains(PollFlags::IN) {
        driver.readable();
    }
    if failed || revents.contains(PollFlags::OUT) {
        driver.writable();
    }
    true
}
