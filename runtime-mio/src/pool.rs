//! The worker pool that runs user handlers, and the channel [`Transport`] they talk through.
//!
//! A `Handler` is blocking code (`rfile.read`, `wfile.write`), and the reactor must never
//! block, so each custom request runs on one of a few worker threads. The handler's calls turn
//! into [`Command`]s sent to the reactor, which wakes through its `mio::Waker`, applies them
//! to the connection's core, and answers with a [`Reply`]: a body chunk for a read, an
//! acknowledgement for a write. A write is acknowledged only once the core's send queue is
//! below its high-water mark, so a handler producing a large body is paced by the socket.

use std::io;
use std::net::SocketAddr;
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex, PoisonError};

use bytes::Bytes;
use handler::exchange::{Handler, Transport, fill_from_chunk, serve_request};
use mio::Waker;
use protocol::{RequestHead, ResponseBody, ResponseHead};

use crate::shared::Shared;
use crate::timers::ConnId;

/// Worker threads per pool. Each runs one handler at a time, so this many requests are
/// answered at once; more wait in the queue.
pub(crate) const HANDLER_THREADS: usize = 8;

/// What a handler asks of its connection.
#[derive(Debug)]
pub(crate) enum Command {
    /// The next request body chunk.
    ReadBody,
    /// `100 Continue`.
    Continue,
    /// The response head.
    Start(ResponseHead, ResponseBody),
    /// Response body bytes.
    Body(Bytes),
    /// The end of the response.
    Finish,
    /// The handler returned; `ok` is false when it failed or sent nothing (the connection is
    /// then dropped without a reply, as CPython does).
    Done { ok: bool },
}

/// The reactor's answer to a blocking command.
#[derive(Debug)]
pub(crate) enum Reply {
    /// A body chunk, or `None` at the end of the body.
    Body(Option<Bytes>),
    /// The command was applied (or why it failed).
    Ack(Result<(), String>),
}

/// Where a worker sends commands: the reactor's queue and the waker that makes it look.
#[derive(Debug, Clone)]
pub(crate) struct Outbox {
    pub(crate) commands: Sender<(ConnId, Command)>,
    pub(crate) waker: Arc<Waker>,
}

/// One request for a worker.
pub(crate) struct Task {
    pub(crate) handler: Arc<dyn Handler>,
    pub(crate) shared: Arc<Shared>,
    pub(crate) head: RequestHead,
    pub(crate) peer: SocketAddr,
    /// The run: its connection's slot and its own generation.
    pub(crate) id: ConnId,
    pub(crate) outbox: Outbox,
    pub(crate) replies: Receiver<Reply>,
}

/// A handle on the worker threads; cloning shares them. The threads end when the last
/// handle is dropped and the queue is empty.
#[derive(Debug, Clone)]
pub(crate) struct Pool {
    queue: Sender<Task>,
}

impl Pool {
    /// Starts `threads` workers.
    pub(crate) fn new(threads: usize) -> io::Result<Self> {
        let (queue, tasks) = channel::<Task>();
        let tasks = Arc::new(Mutex::new(tasks));
        for _ in 0..threads.max(1) {
            let tasks = Arc::clone(&tasks);
            std::thread::Builder::new()
                .name("mio-handler".into())
                .spawn(move || {
                    loop {
                        // Hold the lock only to take a task, never while running one.
                        let task = tasks.lock().unwrap_or_else(PoisonError::into_inner).recv();
                        match task {
                            Ok(task) => run(task),
                            Err(_) => return,
                        }
                    }
                })?;
        }
        Ok(Self { queue })
    }

    /// Queues a task; `false` if the workers are gone.
    pub(crate) fn submit(&self, task: Task) -> bool {
        self.queue.send(task).is_ok()
    }
}

/// Runs one handler to completion and reports how it ended.
fn run(task: Task) {
    let Task {
        handler,
        shared,
        head,
        peer,
        id,
        outbox,
        replies,
    } = task;
    let mut transport = ChannelTransport {
        id,
        outbox,
        replies,
        leftover: None,
    };
    // CPython's handle_one_request (100-continue, dispatch, end), a panic contained.
    let ok = serve_request(&*handler, &shared.settings, &head, peer, &mut transport);
    transport.send(Command::Done { ok });
}

/// The worker's side of one connection.
struct ChannelTransport {
    id: ConnId,
    outbox: Outbox,
    replies: Receiver<Reply>,
    /// Part of a body chunk a read could not take whole.
    leftover: Option<Bytes>,
}

impl ChannelTransport {
    fn send(&self, command: Command) -> bool {
        self.outbox.commands.send((self.id, command)).is_ok() && self.outbox.waker.wake().is_ok()
    }

    /// Sends a command and waits for its reply. The reply channel closes when the
    /// connection goes away.
    fn call(&self, command: Command) -> io::Result<Reply> {
        if !self.send(command) {
            return Err(gone());
        }
        self.replies.recv().map_err(|_| gone())
    }

    fn acked(&self, command: Command) -> io::Result<()> {
        match self.call(command)? {
            Reply::Ack(Ok(())) => Ok(()),
            Reply::Ack(Err(message)) => Err(io::Error::new(io::ErrorKind::InvalidInput, message)),
            Reply::Body(_) => Err(io::Error::other("unexpected reply")),
        }
    }
}

impl Transport for ChannelTransport {
    fn read_body(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let chunk = match self.leftover.take() {
            Some(chunk) => chunk,
            None => match self.call(Command::ReadBody)? {
                Reply::Body(Some(chunk)) => chunk,
                Reply::Body(None) => return Ok(0),
                Reply::Ack(Err(message)) => {
                    return Err(io::Error::new(io::ErrorKind::InvalidData, message));
                }
                Reply::Ack(Ok(())) => return Err(io::Error::other("unexpected reply")),
            },
        };
        Ok(fill_from_chunk(chunk, buf, &mut self.leftover))
    }

    fn send_continue(&mut self) -> io::Result<()> {
        self.acked(Command::Continue)
    }

    fn start_response(&mut self, head: &ResponseHead, body: ResponseBody) -> io::Result<()> {
        self.acked(Command::Start(head.clone(), body))
    }

    fn write_body(&mut self, data: &[u8]) -> io::Result<()> {
        self.acked(Command::Body(Bytes::copy_from_slice(data)))
    }

    fn finish_response(&mut self) -> io::Result<()> {
        self.acked(Command::Finish)
    }

    /// Log lines go straight to stderr: `write_log` writes each batch in one call, so lines
    /// never interleave, and the reactor is spared the round trip.
    fn log(&mut self, line: &str) {
        runtime_std::write_log(line);
    }
}

fn gone() -> io::Error {
    io::Error::new(io::ErrorKind::ConnectionAborted, "connection closed")
}
