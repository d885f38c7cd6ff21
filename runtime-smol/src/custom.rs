//! Running a user's [`Handler`](runtime_std::Handler) for one request.
//!
//! Handlers are blocking code (`rfile.read`, `wfile.write`), so one runs on smol's blocking
//! thread pool (`smol::unblock`) while the connection task keeps driving the socket. The two
//! talk through a pair of rendezvous channels: the handler's [`Transport`] sends a [`Call`]
//! and blocks until the task has performed it on the core and flushed the result to the
//! socket, which paces a handler writing a large body to the speed of the client.

use std::io;
use std::sync::Arc;

use bytes::Bytes;
use handler::exchange::{Transport, fill_from_chunk, serve_request};
use protocol::{RequestHead, ResponseBody, ResponseHead, UsageError};
use smol::channel::{self, Receiver, Sender};

use crate::connection::Connection;
use runtime_std::Service;

/// One transport operation, performed by the connection task.
#[derive(Debug)]
enum Call {
    ReadBody,
    Continue,
    Start(ResponseHead, ResponseBody),
    Write(Bytes),
    Finish,
}

/// A body chunk for [`Call::ReadBody`] (`None` at the end), nothing for the others.
type Reply = io::Result<Option<Bytes>>;

/// The handler's side: every operation is a round trip to the connection task.
struct ChannelTransport {
    calls: Sender<Call>,
    replies: Receiver<Reply>,
    /// Part of a body chunk a read could not take whole.
    leftover: Option<Bytes>,
}

impl ChannelTransport {
    fn call(&self, call: Call) -> Reply {
        let gone = || io::Error::from(io::ErrorKind::BrokenPipe);
        self.calls.send_blocking(call).map_err(|_| gone())?;
        self.replies.recv_blocking().map_err(|_| gone())?
    }
}

impl Transport for ChannelTransport {
    fn read_body(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let chunk = match self.leftover.take() {
            Some(chunk) => chunk,
            None => match self.call(Call::ReadBody)? {
                Some(chunk) => chunk,
                None => return Ok(0),
            },
        };
        Ok(fill_from_chunk(chunk, buf, &mut self.leftover))
    }

    fn send_continue(&mut self) -> io::Result<()> {
        self.call(Call::Continue).map(drop)
    }

    fn start_response(&mut self, head: &ResponseHead, body: ResponseBody) -> io::Result<()> {
        self.call(Call::Start(head.clone(), body)).map(drop)
    }

    fn write_body(&mut self, data: &[u8]) -> io::Result<()> {
        self.call(Call::Write(Bytes::copy_from_slice(data)))
            .map(drop)
    }

    fn finish_response(&mut self) -> io::Result<()> {
        self.call(Call::Finish).map(drop)
    }

    fn log(&mut self, line: &str) {
        runtime_std::write_log(line);
    }
}

/// Runs the server's handler for `head`, serving its transport calls until it returns.
pub(crate) async fn run(conn: &mut Connection, head: RequestHead) {
    let Service::Custom(handler) = &conn.shared.service else {
        conn.core.abort();
        return;
    };
    let handler = Arc::clone(handler);
    let shared = Arc::clone(&conn.shared);
    let peer = conn.peer;
    let (call_tx, call_rx) = channel::bounded(1);
    let (reply_tx, reply_rx) = channel::bounded(1);
    let transport = ChannelTransport {
        calls: call_tx,
        replies: reply_rx,
        leftover: None,
    };
    let job = smol::unblock(move || {
        let mut transport = transport;
        serve_request(
            handler.as_ref(),
            &shared.settings,
            &head,
            peer,
            &mut transport,
        )
    });
    // The transport is dropped when the handler returns, which ends this loop.
    while let Ok(call) = call_rx.recv().await {
        let reply = perform(conn, call).await;
        if reply_tx.send(reply).await.is_err() {
            break;
        }
    }
    if !job.await {
        // A handler that failed or said nothing: CPython closes without a reply.
        conn.core.abort();
    }
}

/// Performs one call on the core, flushing what it queued.
async fn perform(conn: &mut Connection, call: Call) -> Reply {
    let queued = match call {
        Call::ReadBody => return conn.next_body_chunk().await,
        Call::Continue => conn.core.send_continue(),
        Call::Start(head, body) => conn.core.send_response(&head, body),
        Call::Write(data) => conn.core.send_body(data),
        Call::Finish => conn.core.finish_response(),
    };
    queued.map_err(|e| usage(&e))?;
    conn.flush().await.map(|()| None)
}

fn usage(e: &UsageError) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, e.to_string())
}
