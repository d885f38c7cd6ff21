//! Reaping CGI scripts without blocking the reactor.
//!
//! Nearly every script exits as it closes its output, and is reaped on the spot. The few that
//! linger (a daemonising script, a slow `exit`) are kept here and checked with `try_wait`
//! every few milliseconds, only while there are any, until they exit or pass their time limit
//! (then their process group is killed). Dropping the reaper kills and reaps what is left, so
//! a stopping server leaves no zombie behind.

use std::net::IpAddr;
use std::process::Child;
use std::time::{Duration, Instant};

use runtime_std::cgi::{exit_message, kill_and_reap};

use crate::shared::log_message;

/// How often lingering scripts are checked for exit.
const REAP_INTERVAL: Duration = Duration::from_millis(20);

/// Scripts that closed their output but had not exited yet: checked every few milliseconds
/// (never with a blocking wait) until they exit or pass their time limit.
#[derive(Debug, Default)]
pub(crate) struct Reaper {
    children: Vec<(Child, IpAddr, Instant)>,
    next_check: Option<Instant>,
}

impl Reaper {
    /// Keeps a script that closed its output until it exits (or `deadline` passes).
    pub(crate) fn push(&mut self, child: Child, peer: IpAddr, deadline: Instant) {
        self.children.push((child, peer, deadline));
        self.next_check
            .get_or_insert_with(|| Instant::now() + REAP_INTERVAL);
    }

    /// When to call [`Reaper::check`] next.
    pub(crate) fn next_check(&self) -> Option<Instant> {
        self.next_check
    }

    /// Reaps scripts that exited; kills those past their deadline.
    pub(crate) fn check(&mut self, now: Instant) {
        if self.next_check.is_none_or(|at| at > now) {
            return;
        }
        self.children.retain_mut(|(child, peer, deadline)| {
            let status = match child.try_wait() {
                Ok(Some(status)) => status,
                Ok(None) if now < *deadline => return true,
                Ok(None) => {
                    log_message(*peer, "CGI script timed out and was killed");
                    match kill_and_reap(child) {
                        Ok(status) => status,
                        Err(_) => return false,
                    }
                }
                Err(_) => return false,
            };
            log_message(*peer, &exit_message(status));
            false
        });
        self.next_check = (!self.children.is_empty()).then(|| now + REAP_INTERVAL);
    }
}

impl Drop for Reaper {
    fn drop(&mut self) {
        for (child, _, _) in &mut self.children {
            let _ = kill_and_reap(child);
        }
    }
}
