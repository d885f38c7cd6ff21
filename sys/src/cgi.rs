//! A CGI script as an OS process: [`spawn`] it, then end it with [`Process`].
//!
//! The script leads its own process group, so whatever it starts (`(sleep 999) &`) can be
//! killed with it. The group is killed while the script is still unreaped: a zombie keeps its
//! pid, and so its group id, from being reused, so the signal cannot reach a stranger.
//! Every way out of a [`Process`] (reaped on exit, killed, dropped) kills the group first.

use std::io;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Child, ChildStderr, ChildStdin, ChildStdout, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use rustix::process::{Pid, Signal, WaitId, WaitIdOptions};

/// How long a script that closed its output gets to exit on its own before its group is
/// killed. Scripts close their output as they exit, so this is only ever waited out by one
/// that keeps running; the runtimes answer the client before they wait.
pub const EXIT_GRACE: Duration = Duration::from_secs(1);

/// How long a drop waits for a killed script to be reaped (`SIGKILL` takes effect at once
/// unless the process sits in an uninterruptible sleep).
const DROP_REAP: Duration = Duration::from_secs(1);

/// The command for a CGI spec: a clean environment, the spec's directory, its own process
/// group, `nobody` when the spec asks for it, three pipes.
pub fn command(spec: &handler::CgiSpec) -> Command {
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

/// A running script and our ends of its pipes, all non-blocking.
#[derive(Debug)]
#[non_exhaustive]
pub struct Script {
    /// The process (and its group).
    pub process: Process,
    /// Its stdin: the request body goes here.
    pub stdin: ChildStdin,
    /// Its stdout: the response.
    pub stdout: ChildStdout,
    /// Its stderr: log lines.
    pub stderr: ChildStderr,
}

/// Spawns the script `spec` describes (see [`command`]), with non-blocking pipes.
pub fn spawn(spec: &handler::CgiSpec) -> io::Result<Script> {
    spawn_command(&mut command(spec))
}

fn spawn_command(command: &mut Command) -> io::Result<Script> {
    let mut child = command.spawn()?;
    let pipes = (child.stdin.take(), child.stdout.take(), child.stderr.take());
    // From here on a failure drops `process`, which kills and reaps the script.
    let process = Process::new(child);
    let (Some(stdin), Some(stdout), Some(stderr)) = pipes else {
        return Err(io::Error::other("the script's pipes were not created"));
    };
    rustix::io::ioctl_fionbio(&stdin, true)?;
    rustix::io::ioctl_fionbio(&stdout, true)?;
    rustix::io::ioctl_fionbio(&stderr, true)?;
    Ok(Script {
        process,
        stdin,
        stdout,
        stderr,
    })
}

/// How a script ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(
    clippy::exhaustive_enums,
    reason = "a script exits or is killed; nothing else"
)]
pub enum Exit {
    /// It exited on its own (what it left running in its group was killed).
    Exited(ExitStatus),
    /// It was still running at the deadline and was killed with its group.
    Killed(ExitStatus),
}

impl Exit {
    /// The wait status.
    pub fn status(self) -> ExitStatus {
        match self {
            Self::Exited(status) | Self::Killed(status) => status,
        }
    }
}

/// A script process, the leader of its own process group. Dropping it kills the group and
/// reaps the script.
#[derive(Debug)]
pub struct Process {
    child: Child,
    /// Set once reaped: the group id may be reused from then on, so no more signals.
    status: Option<ExitStatus>,
}

impl Process {
    /// Takes charge of a child spawned with its own process group (see [`command`]).
    pub fn new(child: Child) -> Self {
        Self {
            child,
            status: None,
        }
    }

    /// The script's pid, which is also its process group id.
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    fn pid(&self) -> Option<Pid> {
        Pid::from_raw(i32::try_from(self.child.id()).ok()?)
    }

    /// Whether the script has exited (its group may live on). Does not block and does not
    /// reap, so the group can still be killed safely.
    pub fn has_exited(&self) -> bool {
        if self.status.is_some() {
            return true;
        }
        let Some(pid) = self.pid() else {
            return true;
        };
        let options = WaitIdOptions::EXITED | WaitIdOptions::NOHANG | WaitIdOptions::NOWAIT;
        match rustix::process::waitid(WaitId::Pid(pid), options) {
            Ok(status) => status.is_some(),
            Err(rustix::io::Errno::INTR) => false,
            // ECHILD: nothing left to wait for.
            Err(_) => true,
        }
    }

    /// Sends `SIGKILL` to the script's whole process group, and to the script itself in case
    /// it moved to another group. Nothing once the script is reaped.
    pub fn kill_group(&mut self) {
        if self.status.is_some() {
            return;
        }
        if let Some(pid) = self.pid() {
            let _ = rustix::process::kill_process_group(pid, Signal::KILL);
        }
        let _ = self.child.kill();
    }

    /// If the script has exited: kills what is left of its group, reaps it, and returns its
    /// status. `None` while it runs. Never blocks.
    pub fn try_reap(&mut self) -> Option<ExitStatus> {
        if let Some(status) = self.status {
            return Some(status);
        }
        if !self.has_exited() {
            return None;
        }
        self.kill_group();
        self.reap_now()
    }

    /// Kills the group now and reaps the script, waiting for it until `deadline` at most
    /// (`TimedOut` past it; the drop tries again).
    pub fn kill_and_reap(&mut self, deadline: Instant) -> io::Result<ExitStatus> {
        self.kill_group();
        self.poll_until(deadline, Self::reap_now)
            .ok_or_else(|| io::ErrorKind::TimedOut.into())
    }

    /// Blocks until the script exits or `deadline` passes; either way its group is killed and
    /// it is reaped before this returns.
    pub fn wait_until(&mut self, deadline: Instant) -> io::Result<Exit> {
        if let Some(status) = self.poll_until(deadline, Self::try_reap) {
            return Ok(Exit::Exited(status));
        }
        let far = Instant::now() + DROP_REAP;
        self.kill_and_reap(deadline.max(far)).map(Exit::Killed)
    }

    /// Calls `step` with growing pauses (1 ms to 20 ms) until it gives a status or
    /// `deadline` passes.
    fn poll_until(
        &mut self,
        deadline: Instant,
        mut step: impl FnMut(&mut Self) -> Option<ExitStatus>,
    ) -> Option<ExitStatus> {
        let mut pause = Duration::from_millis(1);
        loop {
            if let Some(status) = step(self) {
                return Some(status);
            }
            let now = Instant::now();
            if now >= deadline {
                return None;
            }
            std::thread::sleep(pause.min(deadline - now));
            pause = (pause * 2).min(Duration::from_millis(20));
        }
    }

    /// Reaps the script if it has exited.
    fn reap_now(&mut self) -> Option<ExitStatus> {
        if self.status.is_none() {
            match self.child.try_wait() {
                Ok(status) => self.status = status,
                // Someone else reaped it: nothing is left to wait for.
                Err(_) => self.status = Some(ExitStatus::from_raw(0)),
            }
        }
        self.status
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        if self.status.is_none() {
            let _ = self.kill_and_reap(Instant::now() + DROP_REAP);
        }
    }
}

/// CPython's log line for how a script ended.
pub fn exit_message(status: ExitStatus) -> String {
    match status.code() {
        Some(0) => "CGI script exited OK".to_owned(),
        Some(code) => format!("CGI script exit code {code}"),
        None => format!("CGI script exit status {:#x}", status.into_raw()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What [`command`] builds, for a shell line (a `CgiSpec` is the handler's to make).
    fn sh(script: &str) -> Script {
        let mut command = Command::new("/bin/sh");
        command
            .args(["-c", script])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0);
        spawn_command(&mut command).unwrap()
    }

    fn alive(pid: u32) -> bool {
        // A zombie still answers kill(0); look at its state instead.
        std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .ok()
            .and_then(|s| {
                s.rsplit_once(')')
                    .map(|(_, r)| r.trim_start().starts_with('Z'))
            })
            .is_some_and(|zombie| !zombie)
    }

    #[test]
    fn exit_is_seen_without_reaping_then_group_is_killed() {
        let mut script = sh("sleep 30 >/dev/null 2>&1 & echo $!");
        rustix::io::ioctl_fionbio(&script.stdout, false).unwrap();
        let mut line = String::new();
        io::Read::read_to_string(&mut script.stdout, &mut line).unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);
        let exit = script.process.wait_until(deadline).unwrap();
        assert_eq!(exit, Exit::Exited(ExitStatus::from_raw(0)));
        let sleeper: u32 = line.trim().parse().unwrap();
        std::thread::sleep(Duration::from_millis(100));
        assert!(!alive(sleeper), "the script's background child survived");
    }

    #[test]
    fn a_script_past_its_deadline_is_killed() {
        let mut script = sh("exec sleep 30");
        let started = Instant::now();
        let exit = script
            .process
            .wait_until(Instant::now() + Duration::from_millis(100))
            .unwrap();
        assert!(matches!(exit, Exit::Killed(_)));
        assert!(started.elapsed() < Duration::from_secs(5));
        assert_eq!(exit_message(exit.status()), "CGI script exit status 0x9");
    }

    #[test]
    fn drop_kills_and_reaps() {
        let script = sh("exec sleep 30");
        let pid = script.process.id();
        drop(script);
        assert!(!alive(pid));
        assert!(!std::path::Path::new(&format!("/proc/{pid}")).exists());
    }

    #[test]
    fn exit_messages() {
        assert_eq!(
            exit_message(ExitStatus::from_raw(0)),
            "CGI script exited OK"
        );
        assert_eq!(
            exit_message(ExitStatus::from_raw(3 << 8)),
            "CGI script exit code 3"
        );
    }
}
