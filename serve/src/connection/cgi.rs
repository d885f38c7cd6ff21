//! The CGI half of a [`Connection`]: what the runtime reports about the script it runs for the
//! current request (started, stdin written, stdout and stderr bytes, exit), and the pipes it
//! should feed or read now.

use std::process::ExitStatus;

use super::{CGI_EXIT_GRACE, Connection, Job, Now};
use crate::cgi::exit_message;
use crate::io::Io;

impl Connection {
    /// The script of [`Io::SpawnCgi`] runs.
    pub fn handle_cgi_started(&mut self, now: Now) {
        self.tick(now);
        if let Some(Job::Cgi(cgi)) = self.job.as_mut() {
            cgi.started(&mut self.core, &self.config, now.wall);
        }
        self.process();
    }

    /// The script of [`Io::SpawnCgi`] could not start: the connection is closed without a
    /// reply, as CPython's forked child would leave it.
    pub fn handle_cgi_failed(&mut self, error: &std::io::Error, now: Now) {
        self.tick(now);
        self.log(&format!("CGI script failed to start: {error}"));
        self.job = None;
        self.core.abort();
    }

    /// Bytes waiting for the script's stdin; report with
    /// [`handle_cgi_stdin_written`](Self::handle_cgi_stdin_written).
    pub fn cgi_stdin(&self) -> Option<&[u8]> {
        match self.job.as_ref() {
            Some(Job::Cgi(cgi)) => cgi.stdin(),
            _ => None,
        }
    }

    /// `n` bytes of [`cgi_stdin`](Self::cgi_stdin) went into the pipe.
    pub fn handle_cgi_stdin_written(&mut self, n: usize, now: Now) {
        self.tick(now);
        if let Some(Job::Cgi(cgi)) = self.job.as_mut() {
            cgi.stdin_written(n);
        }
        self.process();
    }

    /// The script's stdin is closed (it stopped reading): the rest of the body is dropped.
    pub fn handle_cgi_stdin_closed(&mut self, now: Now) {
        self.tick(now);
        if let Some(Job::Cgi(cgi)) = self.job.as_mut() {
            cgi.stdin_closed();
        }
        self.process();
    }

    /// Whether to read the script's stdout now (the response has room).
    pub fn wants_cgi_stdout(&self) -> bool {
        matches!(self.job.as_ref(), Some(Job::Cgi(cgi)) if cgi.wants_stdout(&self.core))
    }

    /// Bytes the script wrote on stdout.
    pub fn handle_cgi_stdout(&mut self, data: &[u8], now: Now) {
        self.tick(now);
        if let Some(Job::Cgi(cgi)) = self.job.as_mut() {
            cgi.stdout(data, &mut self.core, &self.config, now.wall);
            if cgi.is_finishing() {
                self.io.push_back(Io::FinishCgi {
                    reap_by: now.instant + CGI_EXIT_GRACE,
                });
            }
        }
        self.process();
    }

    /// The script closed its stdout: the response ends.
    pub fn handle_cgi_stdout_end(&mut self, now: Now) {
        self.tick(now);
        if let Some(Job::Cgi(cgi)) = self.job.as_mut()
            && !cgi.is_finishing()
        {
            cgi.finish(&mut self.core, &self.config, now.wall);
            self.io.push_back(Io::FinishCgi {
                reap_by: now.instant + CGI_EXIT_GRACE,
            });
        }
        self.process();
    }

    /// Bytes the script wrote on stderr: logged a line at a time (long lines cut).
    pub fn handle_cgi_stderr(&mut self, data: &[u8], now: Now) {
        self.tick(now);
        if let Some(Job::Cgi(cgi)) = self.job.as_mut() {
            cgi.stderr(data, &self.config, self.peer, now.wall);
        }
    }

    /// The script closed its stderr.
    pub fn handle_cgi_stderr_end(&mut self, now: Now) {
        self.tick(now);
        if let Some(Job::Cgi(cgi)) = self.job.as_mut() {
            cgi.stderr_end(&self.config, self.peer, now.wall);
        }
    }

    /// The script was reaped: its exit is logged and the run is over.
    pub fn handle_cgi_exit(&mut self, status: ExitStatus, now: Now) {
        self.tick(now);
        self.log(&exit_message(status));
        if matches!(self.job.as_ref(), Some(Job::Cgi(_))) {
            self.job = None;
        }
        self.process();
    }
}
