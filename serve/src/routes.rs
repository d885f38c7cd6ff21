//! Your own handler, answering the requests it [accepts](Handler::accepts) beside the
//! built-in file service: the job a connection keeps while a handler runs, and the task a
//! runtime runs for it.
//!
//! A [`Handler`] is blocking code (`rfile.read`, `wfile.write`), and an event loop must never
//! block, so a handler runs elsewhere (a worker thread, or the connection's own thread on the
//! blocking runtime) and talks to its connection in [`Command`]s. The connection applies each
//! command to the protocol core and answers with a [`Reply`]: a body chunk for a read, an
//! acknowledgement for a write. A write is acknowledged only once the core's send queue is
//! below its high-water mark, so a handler producing a large body is paced by the socket.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, Sender, channel};

use bytes::Bytes;
use handler::exchange::{Handler, Transport, fill_from_chunk, serve_request};
use protocol::{RequestHead, ResponseBody, ResponseHead, ServerConnection};

use crate::config::ServerConfig;

/// What a handler asks of its connection.
#[derive(Debug)]
#[non_exhaustive]
pub enum Command {
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
    Done {
        /// Whether a response was completed.
        ok: bool,
    },
}

impl Command {
    /// Whether the handler waits for a [`Reply`] to this command.
    pub fn wants_reply(&self) -> bool {
        !matches!(self, Self::Done { .. })
    }
}

/// The connection's answer to a command that waits.
#[derive(Debug)]
#[non_exhaustive]
pub enum Reply {
    /// A body chunk, or `None` at the end of the body.
    Body(Option<Bytes>),
    /// The command was applied (or why it failed).
    Ack(Result<(), String>),
}

/// One request for your handler, to run off the event loop: hand it to a worker thread and
/// call [`run`](Self::run) there.
pub struct HandlerTask {
    handler: Arc<dyn Handler>,
    config: Arc<ServerConfig>,
    head: RequestHead,
    peer: SocketAddr,
    replies: Receiver<Reply>,
}

impl std::fmt::Debug for HandlerTask {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HandlerTask")
            .field("peer", &self.peer)
            .finish_non_exhaustive()
    }
}

impl HandlerTask {
    /// Runs the handler to completion as CPython's `handle_one_request` does (100-continue,
    /// dispatch, end of response; a panic is contained). Every command goes to `deliver`,
    /// which must hand it to the connection ([`Connection::handle_command`]) and return; for
    /// commands that [want a reply](Command::wants_reply) the task then blocks until the
    /// connection answered. The last command is always [`Command::Done`].
    ///
    /// [`Connection::handle_command`]: crate::Connection::handle_command
    pub fn run(self, mut deliver: impl FnMut(Command)) {
        let Self {
            handler,
            config,
            head,
            peer,
            replies,
        } = self;
        let mut transport = ChannelTransport {
            deliver: &mut deliver,
            replies,
            leftover: None,
            config: &config,
        };
        let ok = serve_request(&*handler, &config.settings, &head, peer, &mut transport);
        deliver(Command::Done { ok });
    }
}

/// The handler's side of one connection.
struct ChannelTransport<'a> {
    deliver: &'a mut dyn FnMut(Command),
    replies: Receiver<Reply>,
    /// Part of a body chunk a read could not take whole.
    leftover: Option<Bytes>,
    config: &'a ServerConfig,
}

impl ChannelTransport<'_> {
    /// Sends a command and waits for its reply. The reply channel closes when the
    /// connection goes away.
    fn call(&mut self, command: Command) -> io::Result<Reply> {
        (self.deliver)(command);
        self.replies.recv().map_err(|_| gone())
    }

    fn acked(&mut self, command: Command) -> io::Result<()> {
        match self.call(command)? {
            Reply::Ack(Ok(())) => Ok(()),
            Reply::Ack(Err(message)) => Err(io::Error::new(io::ErrorKind::InvalidInput, message)),
            Reply::Body(_) => Err(io::Error::other("unexpected reply")),
        }
    }
}

impl Transport for ChannelTransport<'_> {
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

    fn now(&self) -> std::time::SystemTime {
        (self.config.wall_clock)()
    }

    fn log(&mut self, line: &str) {
        // The sink is shared and never blocks: no round trip through the loop is needed.
        self.config.log.log(line);
    }
}

fn gone() -> io::Error {
    io::Error::new(io::ErrorKind::ConnectionAborted, "connection closed")
}

/// A handler in progress, owned by its connection: applies commands to the core and answers
/// them without ever blocking.
#[derive(Debug)]
pub(crate) struct HandlerJob {
    replies: Sender<Reply>,
    /// Request body is still to come from the core.
    body_open: bool,
    /// Why the body broke, if it did.
    body_error: Option<String>,
    /// The next body chunk, waiting for the handler to ask.
    slot: Option<Bytes>,
    /// The handler waits for a body chunk.
    read_waiting: bool,
    /// The handler waits for room in the send queue.
    ack_waiting: bool,
}

impl HandlerJob {
    /// A job for `head` and the task that runs the handler for it.
    pub(crate) fn start(
        handler: Arc<dyn Handler>,
        config: Arc<ServerConfig>,
        head: RequestHead,
        peer: SocketAddr,
    ) -> (Self, HandlerTask) {
        let (replies, replies_rx) = channel();
        let job = Self {
            replies,
            body_open: true,
            body_error: None,
            slot: None,
            read_waiting: false,
            ack_waiting: false,
        };
        let task = HandlerTask {
            handler,
            config,
            head,
            peer,
            replies: replies_rx,
        };
        (job, task)
    }

    /// Whether request body events should come here.
    pub(crate) fn wants_body(&self) -> bool {
        self.body_open
    }

    /// Whether the one-chunk slot is free (else the socket is not read).
    pub(crate) fn accepts_body(&self) -> bool {
        self.slot.is_none()
    }

    /// A request body chunk.
    pub(crate) fn push_body(&mut self, data: Bytes) {
        self.slot = Some(data);
    }

    /// The request body ended; `error` says why if it broke.
    pub(crate) fn end_body(&mut self, error: Option<String>) {
        self.body_open = false;
        self.body_error = error;
    }

    /// Whether the handler waits for an answer the connection cannot give yet.
    pub(crate) fn is_waiting(&self) -> bool {
        self.read_waiting || self.ack_waiting
    }

    /// Applies one command. Returns `Some(ok)` when the handler is done.
    pub(crate) fn command(
        &mut self,
        core: &mut ServerConnection,
        command: Command,
    ) -> Option<bool> {
        let result = match command {
            Command::ReadBody => {
                self.read_waiting = true;
                self.pump(core);
                return None;
            }
            Command::Continue => core.send_continue(),
            Command::Start(head, body) => core.send_response(&head, body),
            Command::Body(data) => match core.send_body(data) {
                Ok(()) if !core.wants_body_data() => {
                    // Answered by `pump` once the socket drained the queue.
                    self.ack_waiting = true;
                    return None;
                }
                other => other,
            },
            Command::Finish => core.finish_response(),
            Command::Done { ok } => return Some(ok),
        };
        let _ = self
            .replies
            .send(Reply::Ack(result.map_err(|e| e.to_string())));
        None
    }

    /// Answers the handler's waiting read or write if it can be answered now.
    pub(crate) fn pump(&mut self, core: &ServerConnection) -> bool {
        let mut progress = false;
        if self.read_waiting {
            let reply = match self.slot.take() {
                Some(chunk) => Some(Reply::Body(Some(chunk))),
                None if self.body_open => None,
                None => Some(match &self.body_error {
                    Some(message) => Reply::Ack(Err(message.clone())),
                    None => Reply::Body(None),
                }),
            };
            if let Some(reply) = reply {
                self.read_waiting = false;
                let _ = self.replies.send(reply);
                progress = true;
            }
        }
        if self.ack_waiting && (core.wants_body_data() || core.is_closed()) {
            self.ack_waiting = false;
            let result = if core.is_closed() {
                Err("connection closed".to_owned())
            } else {
                Ok(())
            };
            let _ = self.replies.send(Reply::Ack(result));
            progress = true;
        }
        progress
    }
}
