//! Reaping CGI scripts without blocking the reactor.
//!
//! Nearly every script exits as it closes its output, and is reaped on the spot. The few that
//! linger (a daemonising script, a slow `exit`) and those just killed are kept here and
//! checked every few milliseconds, only while there are any, never with a blocking wait.
//! One that has not exited by its `give_up` instant is killed with its whole process group
//! (the `sys` crate's [`Process`]); one that exited has what it left in its group killed as it
//! is reaped. Dropping the reaper kills and reaps what is left, so a stopping server leaves no
//! process and no zombie behind.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use sys::cgi::{Process, exit_message};

use crate::shared::log_message;

/// How often lingering scripts are checked for exit.
const REAP_INTERVAL: Duration = Duration::from_millis(20);

/// One script waiting to be reaped.
#[derive(Debug)]
struct Lingering {
    process: Process,
    peer: IpAddr,
    /// When to stop waiting for it to exit and kill its group.
    give_up: Instant,
    /// Its time limit (a kill past it is logged as a time-out).
    deadline: Instant,
    killed: bool,
}

/// Scripts that closed their output but had not exited yet, or were just killed.
#[derive(Debug, Default)]
pub(crate) struct Reaper {
    children: Vec<Lingering>,
    next_check: Option<Instant>,
}

impl Reaper {
    /// Keeps a script until it exits; at `give_up` its group is killed (logged as a time-out
    /// when that is past `deadline`).
    pub(crate) fn push(
        &mut self,
        process: Process,
        peer: IpAddr,
        give_up: Instant,
        deadline: Instant,
    ) {
        self.children.push(Lingering {
            process,
            peer,
            give_up,
            deadline,
            killed: false,
        });
        // The first check comes soon: a script just killed is reaped within a millisecond.
        let soon = Instant::now() + Duration::from_millis(1);
        self.next_check = Some(self.next_check.map_or(soon, |at| at.min(soon)));
    }

    /// When to call [`Reaper::check`] next.
    pub(crate) fn next_check(&self) -> Option<Instant> {
        self.next_check
    }

    /// Reaps scripts that exited; kills those past their `give_up` instant.
    pub(crate) fn check(&mut self, now: Instant) {
        if self.next_check.is_none_or(|at| at > now) {
            return;
        }
        self.children.retain_mut(|child| {
            if let Some(status) = child.process.try_reap() {
                log_message(child.peer, &exit_message(status));
                return false;
            }
            if !child.killed && now >= child.give_up {
                if now >= child.deadline {
                    log_message(child.peer, "CGI script timed out and was killed");
                }
                child.process.kill_group();
                child.killed = true;
            }
            true
        });
        self.next_check = (!self.children.is_empty()).then(|| now + REAP_INTERVAL);
    }
}
