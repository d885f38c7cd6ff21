//! A running CGI script's pipes, pumped into its [`Connection`]: the request body into stdin,
//! stdout into the response, stderr into the log. Non-blocking: every call moves what it can
//! and returns. The runtime decides when to call (readiness, a timer, a `poll(2)`).

use std::io::{self, Read, Write};
use std::os::fd::{AsFd, BorrowedFd};
use std::process::{ChildStderr, ChildStdin, ChildStdout, ExitStatus};
use std::time::{Duration, Instant};

use serve::{Connection, Io};

use crate::cgi::{Process, spawn};
use crate::clock::now;

/// How much is read from a pipe per call.
const READ_CHUNK: usize = 16 * 1024;

/// How often a finishing script is checked for its exit.
const REAP_POLL: Duration = Duration::from_millis(10);

/// How long a kill may wait for the script to be reaped (SIGKILL takes effect at once
/// unless the process sits in an uninterruptible sleep; a drop tries again).
const KILL_REAP: Duration = Duration::from_millis(100);

/// One script run: the process and the pipes still open.
#[derive(Debug)]
pub struct Script {
    process: Process,
    stdin: Option<ChildStdin>,
    stdout: Option<ChildStdout>,
    stderr: Option<ChildStderr>,
    /// After [`Io::FinishCgi`]: the last moment the script may exit on its own.
    reap_by: Option<Instant>,
    /// Reaped and reported: nothing is left.
    done: bool,
}

impl Script {
    /// Carries out [`Io::SpawnCgi`]: spawns the script and tells `conn`. `None` when it
    /// could not start (the connection knows why).
    pub fn spawn(spec: &handler::CgiSpec, conn: &mut Connection) -> Option<Self> {
        match spawn(spec) {
            Ok(script) => {
                conn.handle_cgi_started(now());
                Some(Self {
                    process: script.process,
                    stdin: Some(script.stdin),
                    stdout: Some(script.stdout),
                    stderr: Some(script.stderr),
                    reap_by: None,
                    done: false,
                })
            }
            Err(e) => {
                conn.handle_cgi_failed(&e, now());
                None
            }
        }
    }

    /// Carries out a CGI request of `conn` ([`Io::CloseCgiStdin`], [`Io::FinishCgi`],
    /// [`Io::KillCgi`]); other requests are not the script's and are ignored.
    pub fn apply(&mut self, io: &Io, conn: &mut Connection) {
        match io {
            Io::CloseCgiStdin => self.stdin = None,
            Io::FinishCgi { reap_by } => {
                self.stdin = None;
                self.stdout = None;
                self.reap_by = Some(*reap_by);
            }
            Io::KillCgi => self.kill(conn),
            _ => {}
        }
    }

    /// Moves what the pipes allow now. Returns whether anything moved.
    pub fn pump(&mut self, conn: &mut Connection) -> bool {
        let mut progress = self.feed_stdin(conn);
        progress |= self.read_stdout(conn);
        progress |= self.read_stderr(conn);
        progress
    }

    /// Whether the run is over (the script was reaped and its exit reported).
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// For a finishing script: reaps it if it exited, kills its group once `reap_by` has
    /// passed. Returns when to check again (`None` once done, or while not finishing).
    pub fn check_exit(&mut self, conn: &mut Connection, at: Instant) -> Option<Instant> {
        let reap_by = self.reap_by.filter(|_| !self.done)?;
        // Stderr is drained first: lines written just before the exit belong to the log.
        self.read_stderr(conn);
        if let Some(status) = self.process.try_reap() {
            self.report(conn, status);
            return None;
        }
        if at >= reap_by {
            self.kill(conn);
            return None;
        }
        Some((at + REAP_POLL).min(reap_by))
    }

    /// Kills the whole group now, reaps the script and reports its exit.
    pub fn kill(&mut self, conn: &mut Connection) {
        if self.done {
            return;
        }
        self.stdin = None;
        self.stdout = None;
        match self.process.kill_and_reap(Instant::now() + KILL_REAP) {
            Ok(status) => self.report(conn, status),
            // Not reaped yet: the drop of `process` kills and reaps again.
            Err(_) => self.done = true,
        }
        self.stderr = None;
    }

    fn report(&mut self, conn: &mut Connection, status: ExitStatus) {
        if self.stderr.is_some() {
            self.read_stderr(conn);
            self.stderr = None;
            conn.handle_cgi_stderr_end(now());
        }
        self.done = true;
        conn.handle_cgi_exit(status, now());
    }

    /// The pipes a readiness-based runtime should watch, with what to wait for.
    pub fn pipes(&self, conn: &Connection) -> Pipes<'_> {
        Pipes {
            stdin: self
                .stdin
                .as_ref()
                .filter(|_| conn.cgi_stdin().is_some())
                .map(AsFd::as_fd),
            stdout: self
                .stdout
                .as_ref()
                .filter(|_| conn.wants_cgi_stdout())
                .map(AsFd::as_fd),
            stderr: self.stderr.as_ref().map(AsFd::as_fd),
        }
    }

    /// Every pipe still open, whatever the connection wants now (for registration).
    pub fn open_pipes(&self) -> [Option<BorrowedFd<'_>>; 3] {
        [
            self.stdin.as_ref().map(AsFd::as_fd),
            self.stdout.as_ref().map(AsFd::as_fd),
            self.stderr.as_ref().map(AsFd::as_fd),
        ]
    }

    fn feed_stdin(&mut self, conn: &mut Connection) -> bool {
        let Some(stdin) = &mut self.stdin else {
            return false;
        };
        let Some(data) = conn.cgi_stdin() else {
            return false;
        };
        match stdin.write(data) {
            Ok(n) => {
                conn.handle_cgi_stdin_written(n, now());
                true
            }
            Err(e) if is_transient(&e) => false,
            // The script stopped reading: the rest of the body is dropped.
            Err(_) => {
                self.stdin = None;
                conn.handle_cgi_stdin_closed(now());
                true
            }
        }
    }

    fn read_stdout(&mut self, conn: &mut Connection) -> bool {
        let mut progress = false;
        let mut buf = [0; READ_CHUNK];
        while conn.wants_cgi_stdout() {
            let Some(stdout) = &mut self.stdout else {
                break;
            };
            match stdout.read(&mut buf) {
                Ok(0) => {
                    self.stdout = None;
                    conn.handle_cgi_stdout_end(now());
                    return true;
                }
                Ok(n) => {
                    conn.handle_cgi_stdout(&buf[..n], now());
                    progress = true;
                }
                Err(e) if is_transient(&e) => break,
                Err(_) => {
                    self.stdout = None;
                    conn.handle_cgi_stdout_end(now());
                    return true;
                }
            }
        }
        progress
    }

    fn read_stderr(&mut self, conn: &mut Connection) -> bool {
        let mut progress = false;
        let mut buf = [0; READ_CHUNK];
        while let Some(stderr) = &mut self.stderr {
            match stderr.read(&mut buf) {
                Ok(n) if n > 0 => {
                    conn.handle_cgi_stderr(&buf[..n], now());
                    progress = true;
                }
                Err(e) if is_transient(&e) => break,
                // End of stream, or a failed pipe: either way stderr is over.
                _ => {
                    self.stderr = None;
                    conn.handle_cgi_stderr_end(now());
                    return true;
                }
            }
        }
        progress
    }
}

/// The pipes worth waiting for now; `None` where nothing is wanted.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct Pipes<'a> {
    /// Wait until writable: body bytes wait for it.
    pub stdin: Option<BorrowedFd<'a>>,
    /// Wait until readable: the response has room.
    pub stdout: Option<BorrowedFd<'a>>,
    /// Wait until readable: always, while open.
    pub stderr: Option<BorrowedFd<'a>>,
}

fn is_transient(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted
    )
}
