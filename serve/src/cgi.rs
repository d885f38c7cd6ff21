//! A CGI script running for a connection, as a sans-IO job: the request body waiting for the
//! script's stdin, the script's stdout turned into the response ([`CgiOutput`]), its stderr
//! turned into log lines ([`LogLines`]), and the time limit. The runtime owns the process
//! and its pipes; it moves bytes and reports what happened.

use std::net::SocketAddr;
use std::process::ExitStatus;
use std::time::{Instant, SystemTime};

use bytes::Bytes;
use handler::cgi::{CgiOutput, LogLines};
use protocol::{ResponseHead, ServerConnection};

use crate::config::ServerConfig;

/// Where a run stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// [`Io::SpawnCgi`](crate::Io::SpawnCgi) is out; the process may not exist yet.
    Starting,
    /// The script runs: its pipes are being pumped.
    Running,
    /// Its output is over (ended, refused, or timed out): the runtime reaps it.
    Finishing,
}

/// One script run.
#[derive(Debug)]
pub(crate) struct CgiJob {
    phase: Phase,
    /// When the script is killed if it still runs.
    pub(crate) deadline: Instant,
    output: CgiOutput,
    stderr: LogLines,
    /// A request body chunk (or what is left of one) waiting for room in the stdin pipe.
    stdin: Option<Bytes>,
    /// Body events are still to come from the core.
    body_open: bool,
    /// The stdin pipe is open (the runtime was not told to close it yet).
    stdin_open: bool,
    stdout_open: bool,
}

impl CgiJob {
    pub(crate) fn new(
        response: ResponseHead,
        head_request: bool,
        compat: bool,
        deadline: Instant,
    ) -> Self {
        Self {
            phase: Phase::Starting,
            deadline,
            output: CgiOutput::new(response, head_request, compat),
            stderr: LogLines::new(),
            stdin: None,
            body_open: true,
            stdin_open: true,
            stdout_open: true,
        }
    }

    /// The script runs. In compat mode our head goes out now, before any of the script's
    /// output (CPython sends it before the script runs, and stdout is read only once the
    /// response takes body bytes).
    pub(crate) fn started(
        &mut self,
        core: &mut ServerConnection,
        config: &ServerConfig,
        wall: SystemTime,
    ) {
        if self.phase == Phase::Starting {
            self.phase = Phase::Running;
            if self.output.drive(core, &config.settings, wall).is_err() {
                core.abort();
            }
        }
    }

    pub(crate) fn is_finishing(&self) -> bool {
        self.phase == Phase::Finishing
    }

    /// Whether request body events should come here.
    pub(crate) fn wants_body(&self) -> bool {
        self.body_open
    }

    /// Whether the one-chunk stdin slot is free (else the socket is not read).
    pub(crate) fn accepts_body(&self) -> bool {
        self.stdin.is_none()
    }

    pub(crate) fn push_body(&mut self, data: Bytes) {
        if self.stdin_open && !data.is_empty() {
            self.stdin = Some(data);
        }
    }

    pub(crate) fn end_body(&mut self) {
        self.body_open = false;
    }

    /// Bytes for the script's stdin, if any wait.
    pub(crate) fn stdin(&self) -> Option<&[u8]> {
        match self.phase {
            Phase::Running => self.stdin.as_deref(),
            _ => None,
        }
    }

    pub(crate) fn stdin_written(&mut self, n: usize) {
        if let Some(chunk) = &mut self.stdin {
            if n >= chunk.len() {
                self.stdin = None;
            } else {
                let _ = chunk.split_to(n);
            }
        }
    }

    /// The script stopped reading: the rest of the body is dropped, as a closed pipe would.
    pub(crate) fn stdin_closed(&mut self) {
        self.stdin_open = false;
        self.stdin = None;
    }

    /// Whether the runtime should close stdin now (the body is all in). Returns true once.
    pub(crate) fn take_stdin_close(&mut self) -> bool {
        let done = self.phase == Phase::Running
            && self.stdin_open
            && !self.body_open
            && self.stdin.is_none();
        if done {
            self.stdin_open = false;
        }
        done
    }

    /// Whether the runtime should read the script's stdout now.
    pub(crate) fn wants_stdout(&self, core: &ServerConnection) -> bool {
        self.phase == Phase::Running
            && self.stdout_open
            && !self.output.is_failed()
            && (self.output.reads_freely() || core.wants_body_data())
    }

    /// Bytes from stdout, moved into the core. A refusal of the core (it never should) ends
    /// the run.
    pub(crate) fn stdout(
        &mut self,
        data: &[u8],
        core: &mut ServerConnection,
        config: &ServerConfig,
        wall: SystemTime,
    ) {
        self.output.push(data);
        if self.output.drive(core, &config.settings, wall).is_err() {
            core.abort();
        }
        if self.output.is_failed() {
            self.finish(core, config, wall);
        }
    }

    /// The script's output is over (stdout ended, or the run timed out): the response ends.
    pub(crate) fn finish(
        &mut self,
        core: &mut ServerConnection,
        config: &ServerConfig,
        wall: SystemTime,
    ) {
        if self.phase == Phase::Finishing {
            return;
        }
        self.phase = Phase::Finishing;
        self.stdout_open = false;
        self.stdin = None;
        if self.output.end(core, &config.settings, wall).is_err() {
            core.abort();
        }
    }

    /// Stderr bytes, logged a line at a time.
    pub(crate) fn stderr(
        &mut self,
        data: &[u8],
        config: &ServerConfig,
        peer: SocketAddr,
        wall: SystemTime,
    ) {
        self.stderr
            .push(data, |line| log_line(config, peer, wall, line));
    }

    pub(crate) fn stderr_end(&mut self, config: &ServerConfig, peer: SocketAddr, wall: SystemTime) {
        self.stderr
            .finish(|line| log_line(config, peer, wall, line));
    }
}

fn log_line(config: &ServerConfig, peer: SocketAddr, wall: SystemTime, message: &str) {
    config
        .log
        .log(&handler::format_log_line(peer.ip(), wall, message));
}

/// CPython's log line for how a script ended: `CGI script exited OK`, `CGI script exit code
/// 3`, or the raw wait status of a script killed by a signal.
pub fn exit_message(status: ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match status.code() {
        Some(0) => "CGI script exited OK".to_owned(),
        Some(code) => format!("CGI script exit code {code}"),
        None => format!("CGI script exit status {:#x}", status.into_raw()),
    }
}
