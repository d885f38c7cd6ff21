//! Running a CGI script on the blocking runtime, and the process glue every runtime shares
//! ([`command`], [`kill_and_reap`], [`exit_message`]).
//!
//! The connection thread multiplexes four streams with `poll(2)`: the socket (request body in),
//! the script's stdin (body out), its stdout (response out, verbatim after our status line) and
//! its stderr (the log). The request body is never held whole: a chunk is read from the socket
//! only once the previous one went into the pipe. The script's output is read only while the
//! core's send queue is below its high-water mark. A script past its time limit is killed with
//! its whole process group and reaped; no zombie, no leaked descriptor.

use std::io::{self, Read, Write};
use std::os::fd::AsFd;
use std::process::{Child, ChildStderr, ChildStdin, ChildStdout, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant, SystemTime};

use bytes::{Bytes, BytesMut};
use handler::session::{BodyPart, next_body_part};
use protocol::{ResponseBody, ResponseHead};
use rustix::event::{PollFd, PollFlags, poll};

use crate::drive::Driver;

/// How much script output is read per call.
const READ_CHUNK: usize = 64 * 1024;

/// Builds the command for a CGI spec: a clean environment, its own process group (so a time
/// limit kills grandchildren too), and `nobody` when the spec asks for it.
pub fn command(spec: &handler::CgiSpec) -> Command {
    use std::os::unix::process::CommandExt;
    let mut command = Command::new(&spec.program);
    command
        .args(&spec.args)
        .env_clear()
        .envs(spec.env.iter().map(|(k, v)| (k, v)))
        .current_dir(&spec.cwd)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    if let Some(gid) = spec.gid {
        command.gid(gid);
    }
    if let Some(uid) = spec.uid {
        command.uid(uid);
    }
    command
}

/// Kills the script's process group and reaps the script.
pub fn kill_and_reap(child: &mut Child) -> io::Result<ExitStatus> {
    if let Some(pid) = rustix::process::Pid::from_raw(i32::try_from(child.id()).unwrap_or(0)) {
        let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
    }
    let _ = child.kill();
    child.wait()
}

/// CPython's log line for a finished script.
pub fn exit_message(status: ExitStatus) -> String {
    match status.code() {
        Some(0) => "CGI script exited OK".to_owned(),
        Some(code) => format!("CGI script exit code {code}"),
        None => {
            use std::os::unix::process::ExitStatusExt;
            format!("CGI script exit status {:#x}", status.into_raw())
        }
    }
}

/// Runs `spec` for the request `head`, streaming its body in and the output out.
pub(crate) fn run(driver: &mut Driver<'_>, spec: &handler::CgiSpec, response: &ResponseHead) {
    let mut child = match command(spec).spawn() {
        Ok(child) => child,
        Err(e) => {
            log(driver, &format!("CGI script failed to start: {e}"));
            driver.core_mut().abort();
            return;
        }
    };
    let stdin = child.stdin.take();
    let (Some(stdout), Some(stderr)) = (child.stdout.take(), child.stderr.take()) else {
        let _ = kill_and_reap(&mut child);
        driver.core_mut().abort();
        return;
    };
    let started = driver
        .core_mut()
        .send_response(response, ResponseBody::Passthrough)
        .is_ok()
        && driver.flush().is_ok();
    let deadline = Instant::now() + driver.cgi_timeout();
    let outcome = if started {
        Pump::new(stdin, stdout, stderr).run(driver, deadline)
    } else {
        Outcome::ClientGone
    };
    let status = match outcome {
        Outcome::Finished => child.wait(),
        Outcome::TimedOut | Outcome::ClientGone => kill_and_reap(&mut child),
    };
    if outcome == Outcome::TimedOut {
        log(driver, "CGI script timed out and was killed");
    }
    if let Ok(status) = status {
        log(driver, &exit_message(status));
    }
    if driver.core_mut().finish_response().is_err() || driver.flush().is_err() {
        driver.core_mut().abort();
    }
}

fn log(driver: &Driver<'_>, message: &str) {
    crate::write_log(&handler::format_log_line(
        driver.peer().ip(),
        SystemTime::now(),
        message,
    ));
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    /// The script closed its output.
    Finished,
    /// The time limit passed.
    TimedOut,
    /// The client went away or the socket failed.
    ClientGone,
}

/// The four streams of one script run.
struct Pump {
    stdin: Option<ChildStdin>,
    stdout: Option<ChildStdout>,
    stderr: Option<ChildStderr>,
    /// A body chunk (or the rest of one) waiting for room in the stdin pipe.
    pending: Option<Bytes>,
    /// Whether request body is still to come from the socket.
    body_open: bool,
    /// Partial stderr line.
    err_line: BytesMut,
}

impl Pump {
    fn new(stdin: Option<ChildStdin>, stdout: ChildStdout, stderr: ChildStderr) -> Self {
        for fd in [stdout.as_fd(), stderr.as_fd()] {
            let _ = rustix::io::ioctl_fionbio(fd, true);
        }
        if let Some(stdin) = &stdin {
            let _ = rustix::io::ioctl_fionbio(stdin, true);
        }
        Self {
            stdin,
            stdout: Some(stdout),
            stderr: Some(stderr),
            pending: None,
            // Until EndOfRequest arrives (at once for a request without a body).
            body_open: true,
            err_line: BytesMut::new(),
        }
    }

    fn run(mut self, driver: &mut Driver<'_>, deadline: Instant) -> Outcome {
        loop {
            if self.stdout.is_none() && self.stderr.is_none() {
                return Outcome::Finished;
            }
            let now = Instant::now();
            if now >= deadline {
                return Outcome::TimedOut;
            }
            // Body chunks already decoded by the core go first.
            if self.pending.is_none() && self.body_open {
                self.take_body_event(driver);
            }
            let want_socket =
                self.pending.is_none() && self.body_open && driver.core_mut().wants_read();
            let want_stdout = driver.core_mut().wants_body_data();
            let mut fds = Vec::with_capacity(4);
            let socket = driver.socket_fd();
            if want_socket {
                fds.push(PollFd::new(&socket, PollFlags::IN));
            }
            if let (Some(stdin), Some(_)) = (&self.stdin, &self.pending) {
                fds.push(PollFd::new(stdin, PollFlags::OUT));
            }
            if let (Some(stdout), true) = (&self.stdout, want_stdout) {
                fds.push(PollFd::new(stdout, PollFlags::IN));
            }
            if let Some(stderr) = &self.stderr {
                fds.push(PollFd::new(stderr, PollFlags::IN));
            }
            let wait = deadline
                .saturating_duration_since(now)
                .min(Duration::from_secs(1));
            let timeout = rustix::event::Timespec::try_from(wait).ok();
            if let Err(e) = poll(&mut fds, timeout.as_ref())
                && e != rustix::io::Errno::INTR
            {
                return Outcome::ClientGone;
            }
            // The socket is blocking: read it only when poll said it would not block.
            let socket_ready = want_socket && !fds[0].revents().is_empty();
            drop(fds);
            if socket_ready && driver.read_ready().is_err() {
                return Outcome::ClientGone;
            }
            self.feed_stdin();
            if want_stdout && self.read_stdout(driver).is_err() {
                return Outcome::ClientGone;
            }
            self.read_stderr(driver);
            if driver.is_broken() || driver.flush().is_err() {
                return Outcome::ClientGone;
            }
        }
    }

    /// Moves the next body event into `pending`; at the end of the body, closes stdin.
    fn take_body_event(&mut self, driver: &mut Driver<'_>) {
        match next_body_part(driver.core_mut()) {
            Some(BodyPart::Data(data)) => self.pending = Some(data),
            Some(BodyPart::End | BodyPart::Failed(_)) => {
                self.body_open = false;
                self.stdin = None;
            }
            None => {}
        }
    }

    fn feed_stdin(&mut self) {
        let (Some(stdin), Some(chunk)) = (&mut self.stdin, &mut self.pending) else {
            return;
        };
        match stdin.write(chunk) {
            Ok(n) if n == chunk.len() => self.pending = None,
            Ok(n) => {
                let _ = chunk.split_to(n);
            }
            Err(e)
                if e.kind() == io::ErrorKind::WouldBlock
                    || e.kind() == io::ErrorKind::Interrupted => {}
            // The script stopped reading: drop the rest of the body, as a closed pipe would.
            Err(_) => {
                self.stdin = None;
                self.pending = None;
            }
        }
        if self.stdin.is_some() && self.pending.is_none() && !self.body_open {
            self.stdin = None;
        }
    }

    fn read_stdout(&mut self, driver: &mut Driver<'_>) -> io::Result<()> {
        let Some(stdout) = &mut self.stdout else {
            return Ok(());
        };
        let mut buf = vec![0; READ_CHUNK];
        match stdout.read(&mut buf) {
            Ok(0) => self.stdout = None,
            Ok(n) => {
                buf.truncate(n);
                driver
                    .core_mut()
                    .send_body(Bytes::from(buf))
                    .map_err(|e| io::Error::other(e.to_string()))?;
            }
            Err(e)
                if e.kind() == io::ErrorKind::WouldBlock
                    || e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => self.stdout = None,
        }
        Ok(())
    }

    fn read_stderr(&mut self, driver: &Driver<'_>) {
        let Some(stderr) = &mut self.stderr else {
            return;
        };
        let mut buf = [0; 4096];
        match stderr.read(&mut buf) {
            Ok(0) => {
                self.stderr = None;
                if !self.err_line.is_empty() {
                    let line = self.err_line.split();
                    log(driver, &String::from_utf8_lossy(&line));
                }
            }
            Ok(n) => {
                self.err_line.extend_from_slice(&buf[..n]);
                while let Some(end) = self.err_line.iter().position(|&b| b == b'\n') {
                    let line = self.err_line.split_to(end + 1);
                    log(
                        driver,
                        String::from_utf8_lossy(&line).trim_end_matches(['\r', '\n']),
                    );
                }
            }
            Err(e)
                if e.kind() == io::ErrorKind::WouldBlock
                    || e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => self.stderr = None,
        }
    }
}
