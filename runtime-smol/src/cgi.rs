//! Running a CGI script under `smol::process`: the request body into its stdin, its stdout
//! out through the core, its stderr to the log, a time limit on the whole process group.
//!
//! One loop waits on every source at once (socket readable, socket writable, stdin room,
//! stdout data, stderr data, the deadline) and handles one that is ready. Backpressure both
//! ways: the socket is read only once the previous body chunk went into the pipe, and stdout
//! is read only while the core [`wants_body_data`](protocol::ServerConnection::wants_body_data).

use std::io;
use std::pin::Pin;
use std::process::{ExitStatus, Stdio};
use std::task::Poll;
use std::time::{Instant, SystemTime};

use bytes::Bytes;
use handler::session::{BodyPart, next_body_part};
use protocol::{ResponseBody, ResponseHead};
use smol::io::{AsyncRead, AsyncWrite};
use smol::process::{Child, ChildStderr, ChildStdin, ChildStdout, Command};
use smol::{Timer, future};

use crate::connection::Connection;

/// How much script output is read per call.
const READ_CHUNK: usize = 16 * 1024;

/// How the pumping ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    /// The script closed its output.
    Finished,
    /// The time limit passed.
    TimedOut,
    /// The client went away or the socket failed.
    ClientGone,
}

/// Runs `spec`, answering with `response` (sent with a passthrough body once it runs).
pub(crate) async fn run(conn: &mut Connection, spec: handler::CgiSpec, response: ResponseHead) {
    let mut command = Command::from(runtime_std::cgi::command(&spec));
    // async-process resets unset stdio to `inherit` when spawning, whatever the std command
    // said: ask for the pipes again. Environment, directory, process group and user are
    // kept from the std command.
    command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = match command.spawn() {
        Ok(child) => child,
        Err(e) => {
            log(conn, &format!("CGI script failed to start: {e}"));
            conn.core.abort();
            return;
        }
    };
    let deadline = Instant::now() + conn.shared.cgi_timeout;
    let started = conn
        .core
        .send_response(&response, ResponseBody::Passthrough)
        .is_ok()
        && conn.flush().await.is_ok();
    let pump = match (child.stdout.take(), child.stderr.take()) {
        (Some(stdout), Some(stderr)) if started => {
            Some(Pump::new(child.stdin.take(), stdout, stderr))
        }
        _ => None,
    };
    let mut outcome = match pump {
        Some(pump) => pump.run(conn, deadline).await,
        None => Outcome::ClientGone,
    };
    let status = if outcome == Outcome::Finished {
        // Output is closed; the script may still linger, so the time limit still holds.
        let exited = future::or(async { Some(child.status().await) }, async {
            Timer::at(deadline).await;
            None
        });
        if let Some(status) = exited.await {
            status
        } else {
            outcome = Outcome::TimedOut;
            kill_and_reap(&mut child).await
        }
    } else {
        kill_and_reap(&mut child).await
    };
    if outcome == Outcome::TimedOut {
        log(conn, "CGI script timed out and was killed");
    }
    if let Ok(status) = status {
        log(conn, &runtime_std::cgi::exit_message(status));
    }
    if conn.core.finish_response().is_err() || conn.flush().await.is_err() {
        conn.core.abort();
    }
}

/// Kills the script's whole process group (grandchildren too) and reaps the script.
async fn kill_and_reap(child: &mut Child) -> io::Result<ExitStatus> {
    if let Some(pid) = rustix::process::Pid::from_raw(i32::try_from(child.id()).unwrap_or(0)) {
        let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
    }
    let _ = child.kill();
    child.status().await
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
    stdin: Option<ChildStdin>,
    stdout: Option<ChildStdout>,
    stderr: Option<ChildStderr>,
    /// A body chunk (or the rest of one) waiting for room in the stdin pipe.
    pending: Option<Bytes>,
    /// Whether request body is still to come.
    body_open: bool,
    out_buf: Vec<u8>,
    err_buf: Vec<u8>,
    /// Partial stderr line.
    err_line: Vec<u8>,
}

impl Pump {
    fn new(stdin: Option<ChildStdin>, stdout: ChildStdout, stderr: ChildStderr) -> Self {
        Self {
            stdin,
            stdout: Some(stdout),
            stderr: Some(stderr),
            pending: None,
            // Until EndOfRequest arrives (at once for a request without a body).
            body_open: true,
            out_buf: vec![0; READ_CHUNK],
            err_buf: vec![0; 4096],
            err_line: Vec::new(),
        }
    }

    async fn run(mut self, conn: &mut Connection, deadline: Instant) -> Outcome {
        let mut timer = Timer::at(deadline);
        loop {
            if self.stdout.is_none() && self.stderr.is_none() {
                return Outcome::Finished;
            }
            if Instant::now() >= deadline {
                return Outcome::TimedOut;
            }
            self.take_body_events(conn);
            let want_socket = self.pending.is_none() && self.body_open && conn.core.wants_read();
            let want_write = conn.core.has_pending_output();
            let want_stdout = conn.core.wants_body_data();
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
                    if self.read_stdout(conn, r).is_err() {
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

    fn read_stdout(&mut self, conn: &mut Connection, result: io::Result<usize>) -> io::Result<()> {
        match result {
            Ok(0) => self.stdout = None,
            Ok(n) => conn
                .core
                .send_body(Bytes::copy_from_slice(&self.out_buf[..n]))
                .map_err(|e| io::Error::other(e.to_string()))?,
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
                if !self.err_line.is_empty() {
                    log(conn, &String::from_utf8_lossy(&self.err_line));
                    self.err_line.clear();
                }
            }
            Ok(n) => {
                self.err_line.extend_from_slice(&self.err_buf[..n]);
                while let Some(end) = self.err_line.iter().position(|&b| b == b'\n') {
                    let line: Vec<u8> = self.err_line.drain(..=end).collect();
                    log(
                        conn,
                        String::from_utf8_lossy(&line).trim_end_matches(['\r', '\n']),
                    );
                }
            }
        }
    }
}
