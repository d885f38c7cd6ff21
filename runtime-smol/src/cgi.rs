//! Running a CGI script on smol: the request body into its stdin, its stdout out through the
//! core (as `handler::cgi::CgiOutput` reads it), its stderr to the log, a time limit on the
//! whole process group. The process itself (spawn, kill the group, reap) is the `sys` crate's.
//!
//! One loop waits on every source at once (socket readable, socket writable, stdin room,
//! stdout data, stderr data, the deadline) and handles one that is ready. Backpressure both
//! ways: the socket is read only once the previous body chunk went into the pipe, and the
//! script's body is read only while the core
//! [`wants_body_data`](protocol::ServerConnection::wants_body_data). When the run ends the
//! response is finished first; then the script gets [`sys::cgi::EXIT_GRACE`] (within its time
//! limit) to exit, and its whole group is killed and reaped, waiting on timers, not blocking.

use std::io;
use std::pin::Pin;
use std::process::{ChildStderr, ChildStdin, ChildStdout};
use std::sync::Arc;
use std::task::Poll;
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use handler::cgi::{CgiOutput, LogLines};
use handler::session::{BodyPart, next_body_part};
use protocol::ResponseHead;
use smol::io::{AsyncRead, AsyncWrite};
use smol::{Async, Timer, future};
use sys::cgi::{Exit, Process, Script, exit_message};

use crate::connection::Connection;

/// How much script output is read per call.
const READ_CHUNK: usize = 16 * 1024;

/// How long reaping a killed script may take.
const REAP_LIMIT: Duration = Duration::from_secs(1);

/// How the pumping ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    /// The script closed its output.
    Finished,
    /// The time limit passed.
    TimedOut,
    /// The client went away or the socket failed.
    ClientGone,
    /// The script's output was refused (`502 Bad Gateway` is queued instead).
    Refused,
}

/// Runs `spec`, answering with what it writes (see [`CgiOutput`]).
pub(crate) async fn run(conn: &mut Connection, spec: handler::CgiSpec, response: ResponseHead) {
    let Script {
        mut process,
        stdin,
        stdout,
        stderr,
        ..
    } = match sys::cgi::spawn(&spec) {
        Ok(script) => script,
        Err(e) => {
            log(conn, &format!("CGI script failed to start: {e}"));
            conn.core.abort();
            return;
        }
    };
    let shared = Arc::clone(&conn.shared);
    let settings = &shared.settings;
    let mut output = CgiOutput::for_spec(&spec, response, settings.compat);
    let deadline = Instant::now() + shared.cgi_timeout;
    let started = output
        .drive(&mut conn.core, settings, SystemTime::now())
        .is_ok()
        && conn.flush().await.is_ok();
    let pump = match (Async::new(stdin), Async::new(stdout), Async::new(stderr)) {
        (Ok(stdin), Ok(stdout), Ok(stderr)) if started => Some(Pump::new(stdin, stdout, stderr)),
        _ => None,
    };
    let outcome = match pump {
        Some(pump) => pump.run(conn, &mut output, deadline).await,
        None => Outcome::ClientGone,
    };
    // The client is answered before the script is waited for.
    if outcome != Outcome::ClientGone
        && (output
            .end(&mut conn.core, settings, SystemTime::now())
            .is_err()
            || conn.flush().await.is_err())
    {
        conn.core.abort();
    }
    let give_up = if outcome == Outcome::Finished {
        deadline.min(Instant::now() + sys::cgi::EXIT_GRACE)
    } else {
        Instant::now()
    };
    let exit = reap(&mut process, give_up).await;
    let timed_out = outcome == Outcome::TimedOut
        || (matches!(exit, Some(Exit::Killed(_))) && Instant::now() >= deadline);
    if timed_out {
        log(conn, "CGI script timed out and was killed");
    }
    if let Some(exit) = exit {
        log(conn, &exit_message(exit.status()));
    }
}

/// Waits on timers (never blocking the executor) for the script to exit until `give_up`,
/// then kills its group; either way reaps it. `None` if it could not be reaped in time (the
/// drop of `process` tries once more).
async fn reap(process: &mut Process, give_up: Instant) -> Option<Exit> {
    let mut pause = Duration::from_millis(1);
    let mut killed = false;
    let mut limit = give_up;
    loop {
        if let Some(status) = process.try_reap() {
            return Some(if killed {
                Exit::Killed(status)
            } else {
                Exit::Exited(status)
            });
        }
        let now = Instant::now();
        if now >= limit {
            if killed {
                return None;
            }
            process.kill_group();
            killed = true;
            limit = now + REAP_LIMIT;
            pause = Duration::from_millis(1);
            continue;
        }
        Timer::after(pause.min(limit - now)).await;
        pause = (pause * 2).min(Duration::from_millis(20));
    }
}

fn log(conn: &Connection, message: &str) {
    runtime_std::write_log(&handler::format_log_line(
        conn.peer.ip(),
        SystemTime::now(),
        message,
    ));
}

/// What became ready.
enum Ready {
    Socket,
    Writable,
    Stdin(io::Result<usize>),
    Stdout(io::Result<usize>),
    Stderr(io::Result<usize>),
    Deadline,
}

/// The streams of one script run.
struct Pump {
    stdin: Option<Async<ChildStdin>>,
    stdout: Option<Async<ChildStdout>>,
    stderr: Option<Async<ChildStderr>>,
    /// A body chunk (or the rest of one) waiting for room in the stdin pipe.
    pending: Option<Bytes>,
    /// Whether request body is still to come.
    body_open: bool,
    out_buf: Vec<u8>,
    err_buf: Vec<u8>,
    /// Stderr, cut into log lines.
    err_lines: LogLines,
}

impl Pump {
    fn new(
        stdin: Async<ChildStdin>,
        stdout: Async<ChildStdout>,
        stderr: Async<ChildStderr>,
    ) -> Self {
        Self {
            stdin: Some(stdin),
            stdout: Some(stdout),
            stderr: Some(stderr),
            pending: None,
            // Until EndOfRequest arrives (at once for a request without a body).
            body_open: true,
            out_buf: vec![0; READ_CHUNK],
            err_buf: vec![0; READ_CHUNK],
            err_lines: LogLines::new(),
        }
    }

    async fn run(
        mut self,
        conn: &mut Connection,
        output: &mut CgiOutput,
        deadline: Instant,
    ) -> Outcome {
        let mut timer = Timer::at(deadline);
        loop {
            if output.is_failed() {
                return Outcome::Refused;
            }
            if self.stdout.is_none() && self.stderr.is_none() {
                return Outcome::Finished;
            }
            if Instant::now() >= deadline {
                return Outcome::TimedOut;
            }
            self.take_body_events(conn);
            let want_socket = self.pending.is_none() && self.body_open && conn.core.wants_read();
            let want_write = conn.core.has_pending_output();
            let want_stdout = output.reads_freely() || conn.core.wants_body_data();
            let ready = future::poll_fn(|cx| {
                if want_socket && conn.stream.poll_readable(cx).is_ready() {
                    return Poll::Ready(Ready::Socket);
                }
                if want_write && conn.stream.poll_writable(cx).is_ready() {
                    return Poll::Ready(Ready::Writable);
                }
                if let (Some(stdin), Some(chunk)) = (&mut self.stdin, &self.pending)
                    && let Poll::Ready(r) = Pin::new(stdin).poll_write(cx, chunk)
                {
                    return Poll::Ready(Ready::Stdin(r));
                }
                if let Some(stdout) = self.stdout.as_mut().filter(|_| want_stdout)
                    && let Poll::Ready(r) = Pin::new(stdout).poll_read(cx, &mut self.out_buf)
                {
                    return Poll::Ready(Ready::Stdout(r));
                }
                if let Some(stderr) = &mut self.stderr
                    && let Poll::Ready(r) = Pin::new(stderr).poll_read(cx, &mut self.err_buf)
                {
                    return Poll::Ready(Ready::Stderr(r));
                }
                Pin::new(&mut timer).poll(cx).map(|_| Ready::Deadline)
            });
            match ready.await {
                Ready::Socket => conn.read_ready(),
                Ready::Writable => {}
                Ready::Stdin(r) => self.wrote_stdin(r),
                Ready::Stdout(r) => {
                    if self.read_stdout(conn, output, r).is_err() {
                        return Outcome::ClientGone;
                    }
                }
                Ready::Stderr(r) => self.read_stderr(conn, r),
                Ready::Deadline => return Outcome::TimedOut,
            }
            if conn.broken || conn.flush_ready().is_err() || conn.core.is_closed() {
                return Outcome::ClientGone;
            }
        }
    }

    /// Moves decoded body into `pending`; at the end of the body, closes stdin.
    fn take_body_events(&mut self, conn: &mut Connection) {
        while self.pending.is_none() && self.body_open {
            match next_body_part(&mut conn.core) {
                // A script that closed its stdin gets no more; the body is still read.
                Some(BodyPart::Data(data)) if self.stdin.is_some() => self.pending = Some(data),
                Some(BodyPart::Data(_)) => {}
                Some(BodyPart::End | BodyPart::Failed(_)) => {
                    self.body_open = false;
                    self.stdin = None;
                }
                None => return,
            }
        }
    }

    fn wrote_stdin(&mut self, result: io::Result<usize>) {
        match (result, &mut self.pending) {
            (Ok(n), Some(chunk)) if n < chunk.len() => {
                let _ = chunk.split_to(n);
            }
            (Ok(_), _) => self.pending = None,
            (Err(e), _) if e.kind() == io::ErrorKind::Interrupted => {}
            // The script stopped reading: drop the rest of the body, as a closed pipe would.
            (Err(_), _) => {
                self.stdin = None;
                self.pending = None;
            }
        }
    }

    fn read_stdout(
        &mut self,
        conn: &mut Connection,
        output: &mut CgiOutput,
        result: io::Result<usize>,
    ) -> io::Result<()> {
        match result {
            Ok(0) => self.stdout = None,
            Ok(n) => {
                output.push(&self.out_buf[..n]);
                output
                    .drive(&mut conn.core, &conn.shared.settings, SystemTime::now())
                    .map_err(|e| io::Error::other(e.to_string()))?;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => self.stdout = None,
        }
        Ok(())
    }

    fn read_stderr(&mut self, conn: &Connection, result: io::Result<usize>) {
        match result {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Ok(0) | Err(_) => {
                self.stderr = None;
                self.err_lines.finish(|line| log(conn, line));
            }
            Ok(n) => self
                .err_lines
                .push(&self.err_buf[..n], |line| log(conn, line)),
        }
    }
}
