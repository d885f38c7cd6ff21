//! A CGI script's three pipes on the reactor.
//!
//! The script is spawned with `runtime_std::cgi::command` (own process group, clean
//! environment, `nobody` as root). Its stdin, stdout and stderr become mio pipes, each under
//! its own token that the service maps to the owning connection. The request body flows in one
//! chunk at a time: while a chunk waits for room in the stdin pipe, the connection stops
//! reading the socket. Stdout is read only while the core's send queue is below its high-water
//! mark, and goes out verbatim after the `Script output follows` head. Stderr lines go to the
//! log. A script that closed its output but has not exited yet is handed to the
//! [`Reaper`]; past the time limit, scripts are killed with their process group. Dropping a
//! run kills and reaps its script, so no path leaves a zombie.

use std::io::{self, Read, Write};
use std::net::IpAddr;
use std::process::Child;
use std::time::Instant;

use bytes::{Bytes, BytesMut};
use mio::unix::pipe::{Receiver, Sender};
use mio::{Interest, Registry, Token};
use protocol::ServerConnection;
use runtime_std::cgi::{exit_message, kill_and_reap};

use crate::reap::Reaper;
use crate::shared::log_message;

/// One registered pipe end.
#[derive(Debug)]
struct Pipe<T> {
    io: T,
    /// Its slab key (the service frees it when the pipe closes).
    key: usize,
    /// No `WouldBlock` since the last readiness edge.
    ready: bool,
}

/// A running script, owned by its connection.
#[derive(Debug)]
pub(crate) struct CgiRun {
    /// `None` once reaped or handed to the reaper.
    child: Option<Child>,
    stdin: Option<Pipe<Sender>>,
    stdout: Option<Pipe<Receiver>>,
    stderr: Option<Pipe<Receiver>>,
    /// A body chunk (or the rest of one) waiting for room in the stdin pipe.
    pending: Option<Bytes>,
    /// Request body is still to come.
    body_open: bool,
    /// A partial stderr line.
    err_line: BytesMut,
    deadline: Instant,
    peer: IpAddr,
}

impl CgiRun {
    /// Spawns the script and registers its pipes under `tokens` (stdin, stdout, stderr), whose
    /// slab keys are `keys`.
    pub(crate) fn start(
        spec: &handler::CgiSpec,
        registry: &Registry,
        keys: [usize; 3],
        tokens: [Token; 3],
        deadline: Instant,
        peer: IpAddr,
    ) -> io::Result<Self> {
        let mut child = runtime_std::cgi::command(spec).spawn()?;
        let mut run = Self {
            stdin: child.stdin.take().map(|s| Pipe {
                io: Sender::from(s),
                key: keys[0],
                ready: true,
            }),
            stdout: child.stdout.take().map(|s| Pipe {
                io: Receiver::from(s),
                key: keys[1],
                ready: true,
            }),
            stderr: child.stderr.take().map(|s| Pipe {
                io: Receiver::from(s),
                key: keys[2],
                ready: true,
            }),
            child: Some(child),
            pending: None,
            body_open: true,
            err_line: BytesMut::new(),
            deadline,
            peer,
        };
        // Dropping `run` on error kills and reaps the script.
        if let Some(p) = &mut run.stdin {
            p.io.set_nonblocking(true)?;
            registry.register(&mut p.io, tokens[0], Interest::WRITABLE)?;
        }
        for (pipe, token) in [(&mut run.stdout, tokens[1]), (&mut run.stderr, tokens[2])] {
            if let Some(p) = pipe {
                p.io.set_nonblocking(true)?;
                registry.register(&mut p.io, token, Interest::READABLE)?;
            }
        }
        Ok(run)
    }

    /// A readiness edge on the pipe with slab key `key`.
    pub(crate) fn on_ready(&mut self, key: usize) {
        if let Some(p) = self.stdin.as_mut().filter(|p| p.key == key) {
            p.ready = true;
        }
        for p in [&mut self.stdout, &mut self.stderr].into_iter().flatten() {
            if p.key == key {
                p.ready = true;
            }
        }
    }

    /// When the script must be done.
    pub(crate) fn deadline(&self) -> Instant {
        self.deadline
    }

    /// Whether request body events should come here.
    pub(crate) fn wants_body(&self) -> bool {
        self.body_open
    }

    /// Whether the one-chunk slot is free (else the socket is not read).
    pub(crate) fn accepts_body(&self) -> bool {
        self.pending.is_none()
    }

    /// A request body chunk for the script's stdin.
    pub(crate) fn push_body(&mut self, data: Bytes) {
        if self.stdin.is_some() {
            self.pending = Some(data);
        }
    }

    /// The request body ended (or broke): stdin closes once the last chunk is in.
    pub(crate) fn end_body(&mut self) {
        self.body_open = false;
    }

    /// Moves bytes between the pipes and the core as far as they go without blocking.
    /// Pipes that closed are deregistered and their slab keys pushed to `freed`. Returns
    /// whether anything moved.
    pub(crate) fn pump(
        &mut self,
        core: &mut ServerConnection,
        buf: &mut [u8],
        registry: &Registry,
        freed: &mut Vec<usize>,
    ) -> bool {
        let stdin = self.feed_stdin();
        let stdout = self.read_stdout(core, buf);
        let stderr = self.read_stderr(buf);
        // Stdin closes once the body is complete and in the pipe (the script sees EOF).
        let stdin_done = stdin == Flow::Closed || (self.pending.is_none() && !self.body_open);
        if stdin_done && let Some(pipe) = self.stdin.take() {
            close(pipe, registry, freed);
        }
        if stdout == Flow::Closed
            && let Some(pipe) = self.stdout.take()
        {
            close(pipe, registry, freed);
            // The script's output is complete: so is the response.
            if core.finish_response().is_err() {
                core.abort();
            }
        }
        if stderr == Flow::Closed
            && let Some(pipe) = self.stderr.take()
        {
            close(pipe, registry, freed);
            if !self.err_line.is_empty() {
                let line = self.err_line.split();
                log_message(self.peer, &String::from_utf8_lossy(&line));
            }
        }
        [stdin, stdout, stderr].iter().any(|f| *f != Flow::Idle)
    }

    /// Closes every pipe still open (the run is being abandoned or timed out).
    pub(crate) fn close_pipes(&mut self, registry: &Registry, freed: &mut Vec<usize>) {
        if let Some(pipe) = self.stdin.take() {
            close(pipe, registry, freed);
        }
        for pipe in [self.stdout.take(), self.stderr.take()]
            .into_iter()
            .flatten()
        {
            close(pipe, registry, freed);
        }
    }

    /// Whether the script closed its output (the run is over but for reaping).
    pub(crate) fn output_done(&self) -> bool {
        self.stdout.is_none() && self.stderr.is_none()
    }

    /// Reaps the script if it has exited, else hands it to `reaper`.
    pub(crate) fn finish(mut self, reaper: &mut Reaper) {
        if let Some(mut child) = self.child.take() {
            match child.try_wait() {
                Ok(Some(status)) => log_message(self.peer, &exit_message(status)),
                Ok(None) => reaper.push(child, self.peer, self.deadline),
                Err(_) => {}
            }
        }
    }

    /// The time limit passed: kills the script and ends the response where it stands.
    pub(crate) fn time_out(mut self, core: &mut ServerConnection) {
        if let Some(mut child) = self.child.take() {
            let status = kill_and_reap(&mut child);
            log_message(self.peer, "CGI script timed out and was killed");
            if let Ok(status) = status {
                log_message(self.peer, &exit_message(status));
            }
        }
        if core.finish_response().is_err() {
            core.abort();
        }
    }

    fn feed_stdin(&mut self) -> Flow {
        let (Some(stdin), Some(chunk)) = (&mut self.stdin, &mut self.pending) else {
            return Flow::Idle;
        };
        if !stdin.ready {
            return Flow::Idle;
        }
        match (&stdin.io).write(chunk) {
            Ok(n) if n == chunk.len() => self.pending = None,
            Ok(n) => {
                let _ = chunk.split_to(n);
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                stdin.ready = false;
                return Flow::Idle;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            // The script stopped reading: drop the rest of the body, as a closed pipe would.
            Err(_) => {
                self.pending = None;
                return Flow::Closed;
            }
        }
        Flow::Moved
    }

    fn read_stdout(&mut self, core: &mut ServerConnection, buf: &mut [u8]) -> Flow {
        let Some(stdout) = &mut self.stdout else {
            return Flow::Idle;
        };
        if !stdout.ready || !core.wants_body_data() {
            return Flow::Idle;
        }
        match read_pipe(stdout, buf) {
            Ok(n) => {
                if core.send_body(Bytes::copy_from_slice(&buf[..n])).is_err() {
                    core.abort();
                }
                Flow::Moved
            }
            Err(flow) => flow,
        }
    }

    fn read_stderr(&mut self, buf: &mut [u8]) -> Flow {
        let Some(stderr) = &mut self.stderr else {
            return Flow::Idle;
        };
        if !stderr.ready {
            return Flow::Idle;
        }
        match read_pipe(stderr, buf) {
            Ok(n) => {
                self.err_line.extend_from_slice(&buf[..n]);
                while let Some(end) = self.err_line.iter().position(|&b| b == b'\n') {
                    let line = self.err_line.split_to(end + 1);
                    let text = String::from_utf8_lossy(&line);
                    log_message(self.peer, text.trim_end_matches(['\r', '\n']));
                }
                Flow::Moved
            }
            Err(flow) => flow,
        }
    }
}

impl Drop for CgiRun {
    /// A run dropped with its script still attached (the client went away, the server
    /// stopped): kill the whole process group and reap, so nothing is left behind.
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = kill_and_reap(&mut child);
        }
    }
}

/// What one pipe operation did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flow {
    /// Nothing (not ready, or `WouldBlock`).
    Idle,
    /// Bytes moved.
    Moved,
    /// The pipe reached its end or failed.
    Closed,
}

/// One read from a pipe: `Ok(n)` with `n > 0`, or what happened instead.
fn read_pipe(pipe: &mut Pipe<Receiver>, buf: &mut [u8]) -> Result<usize, Flow> {
    loop {
        match (&pipe.io).read(buf) {
            Ok(0) => return Err(Flow::Closed),
            Ok(n) => return Ok(n),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                pipe.ready = false;
                return Err(Flow::Idle);
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return Err(Flow::Closed),
        }
    }
}

fn close<T: mio::event::Source>(mut pipe: Pipe<T>, registry: &Registry, freed: &mut Vec<usize>) {
    let _ = registry.deregister(&mut pipe.io);
    freed.push(pipe.key);
}
