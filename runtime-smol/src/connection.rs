//! One connection's task: the protocol core's driving loop on an `Async<TcpStream>`.
//!
//! Drain events (answering each request), write what the core transmits, then wait for
//! whichever comes first: the socket turning readable (only while the core wants input), the
//! core's next deadline, or a graceful stop.

use std::fs::File;
use std::io;
use std::net::{SocketAddr, TcpStream};
use std::pin::Pin;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use handler::session::{Action, Mode, Session};
use protocol::{Event, ServerConnection};
use smol::{Async, Timer, future};

use crate::server::Shared;
use crate::transmit;
use runtime_std::Service;

/// Write steps a connection takes before letting other tasks run.
const WRITE_BUDGET: u32 = 64;

/// The file behind the external span being sent.
#[derive(Debug)]
pub(crate) struct FileSpan {
    pub(crate) file: File,
    pub(crate) offset: u64,
}

/// A connection: its socket, its core, its timer.
pub(crate) struct Connection {
    pub(crate) stream: Async<TcpStream>,
    pub(crate) core: ServerConnection,
    pub(crate) peer: SocketAddr,
    pub(crate) shared: Arc<Shared>,
    /// Fires at `armed`; re-armed only when the core's deadline moves.
    timer: Timer,
    armed: Option<Instant>,
    /// The open file of a response being sent with sendfile; dropped once its span is out.
    pub(crate) file: Option<FileSpan>,
    /// A stop was seen and the core was told to close after its response.
    stopping: bool,
    /// The socket failed; the connection is being dropped.
    pub(crate) broken: bool,
}

/// Work a CGI script or a user handler does on the connection before its next event.
type Work<'a> = Pin<Box<dyn Future<Output = ()> + Send + 'a>>;

/// Why [`Connection::wait`] returned.
enum Wake {
    Read(io::Result<usize>),
    Deadline,
    Stop,
}

/// Serves one accepted connection until it closes.
pub(crate) async fn serve(stream: Async<TcpStream>, peer: SocketAddr, shared: Arc<Shared>) {
    // Responses are written whole; Nagle would only delay their last segment.
    let _ = stream.get_ref().set_nodelay(true);
    let core = ServerConnection::new(Arc::clone(&shared.protocol), Instant::now());
    let mut connection = Connection {
        stream,
        core,
        peer,
        shared,
        timer: Timer::never(),
        armed: None,
        file: None,
        stopping: false,
        broken: false,
    };
    connection.run().await;
}

impl Connection {
    async fn run(&mut self) {
        // Whether the answers so far were written out and no event came of writing them.
        let mut settled = false;
        loop {
            if self.shared.stopping() {
                self.on_stop();
            }
            if let Some(work) = self.answer_events(&mut settled) {
                work.await;
                continue;
            }
            if !settled {
                // Writing a response out can complete it and so release a pipelined request
                // the core had buffered: look for events again before waiting.
                if self.flush().await.is_err() {
                    return;
                }
                settled = true;
                continue;
            }
            if self.core.is_closed() || self.broken {
                return;
            }
            self.wait().await;
            settled = false;
        }
    }

    /// Answers queued events (clearing `settled` if there were any) until one needs work
    /// only the runtime can do, and returns that work. Synchronous, so no event or action is
    /// ever stored in the task's future.
    fn answer_events(&mut self, settled: &mut bool) -> Option<Work<'_>> {
        while let Some(event) = self.core.poll_event() {
            *settled = false;
            match self.answer(event) {
                Action::None => {}
                Action::SendFile { file, offset } => self.file = Some(FileSpan { file, offset }),
                // Boxed: a script or a handler needs far more state than an idle connection,
                // and an unboxed future would size every connection's task for it.
                Action::Cgi { spec, response } => {
                    return Some(Box::pin(crate::cgi::run(self, spec, response)));
                }
                Action::Custom(head) => return Some(Box::pin(crate::custom::run(self, head))),
            }
        }
        None
    }

    /// Lets the shared session answer one event; logs what it logged.
    fn answer(&mut self, event: Event) -> Action {
        let shared = &*self.shared;
        let session = Session {
            settings: &shared.settings,
            mode: match shared.service {
                Service::Custom(_) => Mode::Custom,
                _ => Mode::Files,
            },
        };
        let ctx = shared.facts.request_context(self.peer);
        let mut log = String::new();
        let action = session.handle_event(&mut self.core, event, &ctx, &mut log);
        if !log.is_empty() {
            runtime_std::write_log(&log);
        }
        action
    }

    /// Graceful stop: idle connections close now, a response in flight finishes first.
    fn on_stop(&mut self) {
        if !self.stopping {
            self.stopping = true;
            self.core.close_after_response();
        }
    }

    /// Writes everything the core has queued, waiting for the socket as needed. An error
    /// means the peer is gone; the core is aborted.
    pub(crate) async fn flush(&mut self) -> io::Result<()> {
        let mut budget = WRITE_BUDGET;
        loop {
            let (core, file) = (&mut self.core, &mut self.file);
            let step = self
                .stream
                .write_with(|socket| transmit::write_step(core, file, socket))
                .await;
            match step {
                Ok(transmit::Step::Progress) => {}
                Ok(transmit::Step::Empty) => return Ok(()),
                Err(e) => return Err(self.fail(e)),
            }
            // A reader as fast as the disk never makes the socket block: let the other
            // connections on this executor thread run now and then.
            budget -= 1;
            if budget == 0 {
                budget = WRITE_BUDGET;
                future::yield_now().await;
            }
        }
    }

    /// Writes what the socket takes now, without waiting (for loops that wait on several
    /// sources at once).
    pub(crate) fn flush_ready(&mut self) -> io::Result<()> {
        loop {
            match transmit::write_step(&mut self.core, &mut self.file, self.stream.get_ref()) {
                Ok(transmit::Step::Progress) => {}
                Ok(transmit::Step::Empty) => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) => return Err(self.fail(e)),
            }
        }
    }

    fn fail(&mut self, e: io::Error) -> io::Error {
        self.core.abort();
        self.broken = true;
        e
    }

    /// Waits for input, the next deadline or a stop, and feeds what happened to the core.
    pub(crate) async fn wait(&mut self) {
        let deadline = self.core.poll_timeout();
        // A timer polled after its instant may stay pending: check the clock first.
        if deadline.is_some_and(|d| Instant::now() >= d) {
            self.core.handle_timeout(Instant::now());
            return;
        }
        if deadline != self.armed {
            match deadline {
                Some(d) => self.timer.set_at(d),
                None => self.timer.clear(),
            }
            self.armed = deadline;
        }
        let wants_read = self.core.wants_read();
        if !wants_read && deadline.is_none() {
            // Nothing can happen any more: nothing to read, nothing to wait for.
            self.core.abort();
            return;
        }
        let (stream, core, timer) = (&self.stream, &mut self.core, &mut self.timer);
        let shared = &*self.shared;
        let stopping = self.stopping;
        let read = async move {
            if !wants_read {
                return future::pending().await;
            }
            // Readiness first, the buffer second: an idle connection waits without holding
            // a receive buffer, and the core hands one out only when bytes are there.
            if let Err(e) = stream.readable().await {
                return Wake::Read(Err(e));
            }
            Wake::Read(
                stream
                    .read_with(|socket| transmit::read_into(core, socket))
                    .await,
            )
        };
        let deadline = async move {
            timer.await;
            Wake::Deadline
        };
        let stop = async move {
            if stopping {
                return future::pending().await;
            }
            shared.stopped().await;
            Wake::Stop
        };
        match future::or(read, future::or(deadline, stop)).await {
            Wake::Read(Ok(0)) => self.core.receive_eof(Instant::now()),
            Wake::Read(Ok(_)) => {}
            Wake::Read(Err(e)) if e.kind() == io::ErrorKind::Interrupted => {}
            Wake::Read(Err(e)) => {
                let _ = self.fail(e);
            }
            Wake::Deadline => self.core.handle_timeout(Instant::now()),
            Wake::Stop => self.on_stop(),
        }
    }

    /// One read when the socket is known to be readable (for loops that wait on several
    /// sources at once).
    pub(crate) fn read_ready(&mut self) {
        match transmit::read_into(&mut self.core, self.stream.get_ref()) {
            Ok(0) => self.core.receive_eof(Instant::now()),
            Ok(_) => {}
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted
                ) => {}
            Err(e) => {
                let _ = self.fail(e);
            }
        }
    }

    /// The next piece of the request body for a handler: `None` at its end.
    pub(crate) async fn next_body_chunk(&mut self) -> io::Result<Option<Bytes>> {
        loop {
            if let Some(part) = handler::session::next_body_part(&mut self.core) {
                return part.into_chunk();
            }
            self.flush().await?;
            if self.core.is_closed() || self.broken {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
            self.wait().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An idle connection costs its task's future plus the core's and the reactor's heap
    /// blocks; the future itself must stay small (CGI and handler futures are boxed).
    #[test]
    fn a_connection_task_is_small() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let stream = Async::new(TcpStream::connect(addr).unwrap()).unwrap();
        let task = serve(stream, addr, Shared::for_tests(addr));
        let size = size_of_val(&task);
        eprintln!(
            "connection future: {size} bytes (core {} bytes)",
            size_of::<ServerConnection>()
        );
        assert!(size <= 1536, "connection future grew to {size} bytes");
    }
}
