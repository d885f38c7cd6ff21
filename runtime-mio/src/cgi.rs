//! A CGI script's three pipes on the reactor.
//!
//! The script is spawned by the `sys` crate (own process group, clean environment, `nobody`
//! as root). Its stdin, stdout and stderr become mio pipes, each under its own token that the
//! service maps to the owning connection. The request body flows in one chunk at a time: while
//! a chunk waits for room in the stdin pipe, the connection stops reading the socket. Stdout
//! goes through `handler::cgi::CgiOutput` (the head, then the body, read only while the core's
//! send queue is below its high-water mark). Stderr lines go to the log. When the output
//! closes the response ends, and a script that has not exited yet is handed to the
//! [`Reaper`], which kills its group after [`sys::cgi::EXIT_GRACE`] (or at the time limit).
//! Dropping a run kills and reaps its script, so no path leaves a process or a zombie.

use std::io::{self, Read, Write};
use std::net::IpAddr;
use std::time::{Instant, SystemTime};

use bytes::Bytes;
use handler::Settings;
use handler::cgi::{CgiOutput, LogLines};
use mio::unix::pipe::{Receiver, Sender};
use mio::{Interest, Registry, Token};
use protocol::{ResponseHead, ServerConnection, UsageError};
use sys::cgi::{Process, Script, exit_message};

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
    /// `None` once handed to the reaper (dropping it kills and reaps the script).
    process: Option<Process>,
    stdin: Option<Pipe<Sender>>,
    stdout: Option<Pipe<Receiver>>,
    stderr: Option<Pipe<Receiver>>,
    /// A body chunk (or the rest of one) waiting for room in the stdin pipe.
    pending: Option<Bytes>,
    /// Request body is still to come.
    body_open: bool,
    /// The script's stdout, read as a response (boxed: it holds the head being built).
    output: Box<CgiOutput>,
    /// Its stderr, cut into log lines.
    err_lines: LogLines,
    deadline: Instant,
    peer: IpAddr,
}

impl CgiRun {
    /// Spawns the script and registers its pipes under `tokens` (stdin, stdout, stderr), whose
    /// slab keys are `keys`. `response` is the planned head ([`CgiOutput`] decides when and how
    /// it goes out; see [`CgiRun::begin`]).
    #[allow(
        clippy::too_many_arguments,
        reason = "one call site; the pieces come from different owners"
    )]
    pub(crate) fn start(
        spec: &handler::CgiSpec,
        response: ResponseHead,
        compat: bool,
        registry: &Registry,
        keys: [usize; 3],
        tokens: [Token; 3],
        deadline: Instant,
        peer: IpAddr,
    ) -> io::Result<Self> {
        let Script {
            process,
            stdin,
            stdout,
            stderr,
            ..
        } = sys::cgi::spawn(spec)?;
        let mut run = Self {
            stdin: Some(Pipe {
                io: Sender::from(stdin),
                key: keys[0],
                ready: true,
            }),
            stdout: Some(Pipe {
                io: Receiver::from(stdout),
                key: keys[1],
                ready: true,
            }),
            stderr: Some(Pipe {
                io: Receiver::from(stderr),
                key: keys[2],
                ready: true,
            }),
            process: Some(process),
            pending: None,
            body_open: true,
            output: Box::new(CgiOutput::for_spec(spec, response, compat)),
            err_lines: LogLines::new(),
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

    /// Queues what goes out before the script writes anything (`--compat` sends its head).
    pub(crate) fn begin(
        &mut self,
        core: &mut ServerConnection,
        settings: &Settings,
    ) -> Result<(), UsageError> {
        self.output.drive(core, settings, SystemTime::now())
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
        settings: &Settings,
        buf: &mut [u8],
        registry: &Registry,
        freed: &mut Vec<usize>,
    ) -> bool {
        let stdin = self.feed_stdin();
        let stdout = self.read_stdout(core, settings, buf);
        if self.output.is_failed() {
            // The output was refused (the 502 page is queued): the run is over.
            self.close_pipes(registry, freed);
            return true;
        }
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
            if self.output.end(core, settings, SystemTime::now()).is_err() {
                core.abort();
            }
        }
        if stderr == Flow::Closed
            && let Some(pipe) = self.stderr.take()
        {
            close(pipe, registry, freed);
            let peer = self.peer;
            self.err_lines.finish(|line| log_message(peer, line));
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

    /// The output is done: reaps the script (and kills what it left in its group) if it has
    /// exited, else hands it to `reaper`, which gives it [`sys::cgi::EXIT_GRACE`] (within its
    /// time limit), or none if its output was refused.
    pub(crate) fn finish(mut self, reaper: &mut Reaper) {
        if let Some(mut process) = self.process.take() {
            if let Some(status) = process.try_reap() {
                log_message(self.peer, &exit_message(status));
                return;
            }
            let now = Instant::now();
            let give_up = if self.output.is_failed() {
                now
            } else {
                self.deadline.min(now + sys::cgi::EXIT_GRACE)
            };
            reaper.push(process, self.peer, give_up, self.deadline);
        }
    }

    /// The time limit passed: ends the response where it stands (a 502 page if nothing was
    /// sent yet), kills the script's group and hands it to `reaper` to be reaped.
    pub(crate) fn time_out(
        mut self,
        core: &mut ServerConnection,
        settings: &Settings,
        reaper: &mut Reaper,
    ) {
        if let Some(mut process) = self.process.take() {
            process.kill_group();
            log_message(self.peer, "CGI script timed out and was killed");
            reaper.push(process, self.peer, Instant::now(), self.deadline);
        }
        if self.output.end(core, settings, SystemTime::now()).is_err() {
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

    fn read_stdout(
        &mut self,
        core: &mut ServerConnection,
        settings: &Settings,
        buf: &mut [u8],
    ) -> Flow {
        let Some(stdout) = &mut self.stdout else {
            return Flow::Idle;
        };
        if !stdout.ready || !(self.output.reads_freely() || core.wants_body_data()) {
            return Flow::Idle;
        }
        match read_pipe(stdout, buf) {
            Ok(n) => {
                self.output.push(&buf[..n]);
                if self
                    .output
                    .drive(core, settings, SystemTime::now())
                    .is_err()
                {
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
                let peer = self.peer;
                self.err_lines
                    .push(&buf[..n], |line| log_message(peer, line));
                Flow::Moved
            }
            Err(flow) => flow,
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
