//! Running a CGI script on the blocking runtime.
//!
//! The process glue (spawn, kill the group, reap) is the `sys` crate's, the reading of the
//! script's output `handler::cgi::CgiOutput`'s; this module moves the bytes. The connection
//! thread multiplexes four streams with `poll(2)`: the socket (request body in), the script's
//! stdin (body out), its stdout (the response) and its stderr (the log). The request body is
//! never held whole: a chunk is read from the socket only once the previous one went into the
//! pipe. The script's body is read only while the core's send queue is below its high-water
//! mark. When the run ends the response is finished first, then the script gets
//! [`sys::cgi::EXIT_GRACE`] (within its time limit) to exit, then its whole process group is
//! killed and it is reaped: no process, zombie or descriptor is left behind.

use std::io::{self, Read, Write};
use std::process::{ChildStderr, ChildStdin, ChildStdout};
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use handler::cgi::{CgiOutput, LogLines};
use handler::session::{BodyPart, next_body_part};
use protocol::ResponseHead;
use rustix::event::{PollFd, PollFlags, poll};
use sys::cgi::{Exit, Script, exit_message};

use crate::drive::Driver;

/// How much script output is read per call.
const READ_CHUNK: usize = 64 * 1024;

/// How long reaping a killed script may take.
const REAP_LIMIT: Duration = Duration::from_secs(1);

/// Runs `spec`, answering with what it writes (see [`CgiOutput`]) and streaming the request
/// body to it.
pub(crate) fn run(driver: &mut Driver<'_>, spec: &handler::CgiSpec, response: &ResponseHead) {
    let Script {
        mut process,
        stdin,
        stdout,
        stderr,
        ..
    } = match sys::cgi::spawn(spec) {
        Ok(script) => script,
        Err(e) => {
            log(driver, &format!("CGI script failed to start: {e}"));
            driver.core_mut().abort();
            return;
        }
    };
    let settings = driver.settings();
    let mut output = CgiOutput::for_spec(spec, response.clone(), settings.compat);
    let deadline = Instant::now() + driver.cgi_timeout();
    let started = output
        .drive(driver.core_mut(), settings, SystemTime::now())
        .is_ok()
        && driver.flush().is_ok();
    let outcome = if started {
        Pump::new(stdin, stdout, stderr).run(driver, &mut output, deadline)
    } else {
        Outcome::ClientGone
    };
    // The client is answered before the script is waited for.
    if outcome != Outcome::ClientGone
        && (output
            .end(driver.core_mut(), settings, SystemTime::now())
            .is_err()
            || driver.flush().is_err())
    {
        driver.core_mut().abort();
    }
    let exit = if outcome == Outcome::Finished {
        process.wait_until(deadline.min(Instant::now() + sys::cgi::EXIT_GRACE))
    } else {
        process
            .kill_and_reap(Instant::now() + REAP_LIMIT)
            .map(Exit::Killed)
    };
    let timed_out = outcome == Outcome::TimedOut
        || (matches!(exit, Ok(Exit::Killed(_))) && Instant::now() >= deadline);
    if timed_out {
        log(driver, "CGI script timed out and was killed");
    }
    if let Ok(exit) = exit {
        log(driver, &exit_message(exit.status()));
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
    /// The script's output was refused (`502 Bad Gateway` is queued instead).
    Refused,
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
    /// Stderr, cut into log lines.
    err_lines: LogLines,
}

impl Pump {
    fn new(stdin: ChildStdin, stdout: ChildStdout, stderr: ChildStderr) -> Self {
        Self {
            stdin: Some(stdin),
            stdout: Some(stdout),
            stderr: Some(stderr),
            pending: None,
            // Until EndOfRequest arrives (at once for a request without a body).
            body_open: true,
            err_lines: LogLines::new(),
        }
    }

    fn run(
        mut self,
        driver: &mut Driver<'_>,
        output: &mut CgiOutput,
        deadline: Instant,
    ) -> Outcome {
        loop {
            if output.is_failed() {
                return Outcome::Refused;
            }
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
            let want_stdout = output.reads_freely() || driver.core_mut().wants_body_data();
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
            if want_stdout && self.read_stdout(driver, output).is_err() {
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

    fn read_stdout(&mut self, driver: &mut Driver<'_>, output: &mut CgiOutput) -> io::Result<()> {
        let Some(stdout) = &mut self.stdout else {
            return Ok(());
        };
        let mut buf = vec![0; READ_CHUNK];
        match stdout.read(&mut buf) {
            Ok(0) => self.stdout = None,
            Ok(n) => {
                output.push(&buf[..n]);
                let settings = driver.settings();
                output
                    .drive(driver.core_mut(), settings, SystemTime::now())
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
        let mut buf = [0; 16 * 1024];
        match stderr.read(&mut buf) {
            Ok(0) => {
                self.stderr = None;
                self.err_lines.finish(|line| log(driver, line));
            }
            Ok(n) => self.err_lines.push(&buf[..n], |line| log(driver, line)),
            Err(e)
                if e.kind() == io::ErrorKind::WouldBlock
                    || e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => self.stderr = None,
        }
    }
}
