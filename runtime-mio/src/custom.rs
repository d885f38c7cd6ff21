//! The reactor's side of a user handler running on the worker pool: applies the handler's
//! commands to the connection's core and answers them without ever blocking.
//!
//! A read that finds no body chunk yet, or a write that leaves the send queue above its
//! high-water mark, is answered later, from [`CustomRun::pump`], once the socket has moved
//! bytes. Like a CGI script, a handler takes the request body one chunk at a time: while a
//! chunk waits for the handler, the socket is not read.

use std::sync::mpsc::Sender;

use bytes::Bytes;
use protocol::ServerConnection;

use crate::pool::{Command, Reply};

/// A handler in progress, owned by its connection.
#[derive(Debug)]
pub(crate) struct CustomRun {
    replies: Sender<Reply>,
    /// Tells this run's commands apart from those of the connection's earlier runs.
    generation: u64,
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

impl CustomRun {
    pub(crate) fn new(replies: Sender<Reply>, generation: u64) -> Self {
        Self {
            replies,
            generation,
            body_open: true,
            body_error: None,
            slot: None,
            read_waiting: false,
            ack_waiting: false,
        }
    }

    /// The generation the run's commands carry.
    pub(crate) fn generation(&self) -> u64 {
        self.generation
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
