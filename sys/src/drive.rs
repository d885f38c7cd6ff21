//! The canonical driving loop of a [`Connection`], written once: write what it offers, carry
//! out its requests (start, feed and end a CGI script; hand a user handler to the runtime),
//! pump the script's pipes, read the socket, and say what to wait for. Nothing here blocks:
//! a runtime calls [`Driver::turn`] whenever something may have changed (readiness, a
//! deadline, a handler's command) and waits for what the returned [`Turn`] names, in its own
//! I/O model.

use std::net::TcpStream;
use std::os::fd::BorrowedFd;
use std::time::Instant;

use serve::{Command, Connection, HandlerTask, Io, Now};

use crate::clock::now;
use crate::script::{Pipes, Script};
use crate::socket::{
    Flushed, Received, fix_loopback_send_buffer, flush, is_loopback, receive, receive_unplanned,
};

/// Rounds of work one turn may take before it yields, so one busy connection cannot starve
/// the others of a shared loop.
const TURN_BUDGET: usize = 64;

/// What a connection waits for after a turn (the default: nothing yet, turn it first).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Turn {
    /// Wait until the socket is readable.
    pub read: bool,
    /// Wait until the socket is writable.
    pub write: bool,
    /// Turn again at this instant at the latest.
    pub deadline: Option<Instant>,
    /// The turn ran out of budget with work left: turn again soon, without waiting.
    pub more: bool,
    /// The connection is over and nothing of it runs: drop the driver (which closes the
    /// socket).
    pub done: bool,
    /// After [`Driver::turn_holding_output`]: output is queued and was not written. Turn the
    /// connection again once the other ready connections had their turn.
    pub flush: bool,
}

/// A script running for a connection, and when a finishing one is checked for its exit
/// again.
#[derive(Debug)]
struct Running {
    script: Script,
    check: Option<Instant>,
}

/// A connection, its socket, and the CGI script running for it.
#[derive(Debug)]
pub struct Driver<S = TcpStream> {
    conn: Connection,
    socket: S,
    /// Boxed, as the task: a connection spends most of its life without either, and an idle
    /// connection should cost little memory.
    script: Option<Box<Running>>,
    /// A handler task the runtime must start (see [`Driver::take_task`]).
    task: Option<Box<HandlerTask>>,
    /// No read returned `WouldBlock` since the last readable signal.
    can_read: bool,
    /// The last write returned `WouldBlock`.
    write_blocked: bool,
    /// This turn leaves output queued (see [`Driver::turn_holding_output`]).
    hold_output: bool,
    /// The peer's end of stream was reported (see [`Driver::read_closed`]).
    read_closed: bool,
    /// [`Driver::read_ahead`] took bytes in that the next turn plans.
    unplanned: bool,
    /// A connection from this machine whose send buffer is still the kernel's: it is fixed
    /// before the first file span (see [`fix_loopback_send_buffer`]).
    loopback_autotuned: bool,
    /// Scripts started so far (see [`Driver::scripts_started`]).
    scripts: u64,
    /// The instant the connection's deadlines were last checked at: a reactor turns a
    /// connection twice per round with one reading (plan, then write), and the second check
    /// would find nothing new, as every deadline a turn arms lies after its instant (one
    /// armed at it exactly fires at the next turn, through the reactor's timer).
    checked_at: Option<Instant>,
}

impl<S: std::borrow::Borrow<TcpStream>> Driver<S> {
    /// Drives `conn` over `socket` (blocking or not; non-blocking for an event loop).
    pub fn new(conn: Connection, socket: S) -> Self {
        Self {
            loopback_autotuned: is_loopback(conn.peer()),
            conn,
            socket,
            script: None,
            task: None,
            // The request often arrives with the handshake.
            can_read: true,
            write_blocked: false,
            hold_output: false,
            read_closed: false,
            unplanned: false,
            scripts: 0,
            checked_at: None,
        }
    }

    /// The connection.
    pub fn conn(&self) -> &Connection {
        &self.conn
    }

    /// The connection, to stop it or hand it a handler's command.
    pub fn conn_mut(&mut self) -> &mut Connection {
        &mut self.conn
    }

    /// The socket.
    pub fn socket(&self) -> &S {
        &self.socket
    }

    /// The socket became readable (or reported an error or hang-up).
    pub fn readable(&mut self) {
        self.can_read = true;
    }

    /// The poll reported the peer's end of stream (`EPOLLRDHUP`) or an error. An
    /// edge-triggered poll reports it once, possibly with the last bytes: from now on a read
    /// that leaves room is not taken to mean the socket is drained, and reading goes on until
    /// the end of stream is read.
    pub fn read_closed(&mut self) {
        self.read_closed = true;
        self.can_read = true;
    }

    /// The socket became writable (or reported an error or hang-up).
    pub fn writable(&mut self) {
        self.write_blocked = false;
    }

    /// A command from this connection's handler task.
    pub fn command(&mut self, command: Command) {
        self.conn.handle_command(command, now());
    }

    /// A handler task to start, if the last turn produced one: run it off the loop with
    /// [`HandlerTask::run`], delivering its commands back through [`command`](Self::command).
    pub fn take_task(&mut self) -> Option<HandlerTask> {
        self.task.take().map(|task| *task)
    }

    /// The script's pipes worth waiting for now.
    pub fn pipes(&self) -> Option<Pipes<'_>> {
        Some(self.script.as_ref()?.script.pipes(&self.conn))
    }

    /// Every open pipe of the script (to register them with a reactor once).
    pub fn open_pipes(&self) -> [Option<BorrowedFd<'_>>; 3] {
        self.script
            .as_ref()
            .map_or([None, None, None], |running| running.script.open_pipes())
    }

    /// How many scripts this connection has started. A reactor that registered the pipes of
    /// one script tells a later script's pipes by this count: the old pipes may close and new
    /// ones open within one turn, and a new pipe can get the descriptor number of an old one.
    pub fn scripts_started(&self) -> u64 {
        self.scripts
    }

    /// Stops gracefully (see [`Connection::stop`]).
    pub fn stop(&mut self) {
        // Look at the socket once more: a lingering connection whose peer has closed ends
        // now rather than at its next readiness edge.
        self.can_read = true;
        self.conn.stop(now());
    }

    /// One read if the socket is readable, the requests it completes left for the next turn
    /// to plan: a reactor reads every ready connection of a poll, then turns them, so that
    /// planning them can share the looks at the files they ask for
    /// (`handler::with_shared_looks`). Later bytes are read by the turns, as usual. Says
    /// whether bytes wait to be planned.
    pub fn read_ahead(&mut self, at: Now) -> bool {
        self.unplanned |= self.read_with(at, receive_unplanned);
        self.unplanned
    }

    /// [`turn`](Self::turn), except that what the turn queues is not written yet
    /// ([`Turn::flush`] says so): a reactor reads and plans every ready connection of one poll
    /// first, then writes their responses in a burst. A client waiting on several connections
    /// is then woken once for the burst rather than once per response, which on loopback (and
    /// in a VM, where each wake-up of another core is an interrupt) costs more than the write.
    pub fn turn_holding_output(&mut self, at: Now) -> Turn {
        self.hold_output = true;
        let mut turn = self.turn(at);
        self.hold_output = false;
        turn.flush = !turn.done && !self.write_blocked && self.conn.has_output();
        turn
    }

    /// Does everything that can be done now, and says what to wait for. `at` is the time
    /// (`sys::clock::now()`): a reactor reads the clock once per poll and turns every ready
    /// connection with it. (A handler's command and a stop, rare, read the clock
    /// themselves.)
    pub fn turn(&mut self, at: Now) -> Turn {
        if self.checked_at != Some(at.instant) {
            self.checked_at = Some(at.instant);
            self.conn.handle_timeout(at);
        }
        if std::mem::take(&mut self.unplanned) {
            self.conn.plan_received();
        }
        let mut budget = TURN_BUDGET;
        loop {
            let mut progress = self.write(at);
            progress |= self.carry_out();
            if let Some(running) = &mut self.script {
                progress |= running.script.pump(&mut self.conn);
                running.check = running.script.check_exit(&mut self.conn, at.instant);
                if running.script.is_done() {
                    self.script = None;
                }
            }
            if self.conn.is_closed() {
                break;
            }
            progress |= self.read(at);
            if !progress {
                break;
            }
            budget -= 1;
            if budget == 0 {
                return self.outcome(true);
            }
        }
        self.outcome(false)
    }

    fn outcome(&mut self, more: bool) -> Turn {
        let closed = self.conn.is_closed();
        if !closed && !more && !self.can_read {
            // About to wait for the socket: an idle connection gives back its buffers.
            self.conn.park();
        }
        let check = self.script.as_ref().and_then(|running| running.check);
        let deadline = [self.conn.poll_timeout(), check]
            .into_iter()
            .flatten()
            .min();
        Turn {
            read: !closed && self.conn.wants_read() && !self.can_read,
            write: !closed && self.write_blocked,
            deadline,
            more,
            done: closed && self.script.is_none() && self.task.is_none(),
            flush: false,
        }
    }

    fn write(&mut self, at: Now) -> bool {
        if self.hold_output || self.write_blocked || self.conn.is_closed() {
            return false;
        }
        if self.loopback_autotuned && self.conn.file_follows() {
            self.loopback_autotuned = false;
            fix_loopback_send_buffer(self.socket.borrow());
        }
        match flush(&mut self.conn, self.socket.borrow(), at) {
            Ok(Flushed::Done) => false,
            Ok(Flushed::Blocked) => {
                self.write_blocked = true;
                false
            }
            // The connection was aborted: that is progress (it is now closed).
            Err(_) => true,
        }
    }

    /// Carries out the connection's requests beside the socket.
    fn carry_out(&mut self) -> bool {
        let mut progress = false;
        while let Some(io) = self.conn.poll_io() {
            progress = true;
            match io {
                Io::SpawnCgi(spec) => {
                    self.scripts += 1;
                    self.script = Script::spawn(&spec, &mut self.conn).map(|script| {
                        Box::new(Running {
                            script,
                            check: None,
                        })
                    });
                }
                Io::RunHandler(task) => self.task = Some(Box::new(task)),
                other => {
                    if let Some(running) = &mut self.script {
                        running.script.apply(&other, &mut self.conn);
                    }
                }
            }
        }
        progress
    }

    fn read(&mut self, at: Now) -> bool {
        self.read_with(at, receive)
    }

    /// One read with `receive` (which plans the requests the bytes complete, or leaves them
    /// for the next turn); whether it made progress.
    fn read_with(
        &mut self,
        at: Now,
        receive: fn(&mut Connection, &TcpStream, Now) -> Received,
    ) -> bool {
        if !self.can_read || !self.conn.wants_read() {
            return false;
        }
        match receive(&mut self.conn, self.socket.borrow(), at) {
            Received::Bytes => true,
            // Bytes went in (or the stream ended): that is progress, and nothing more is
            // there to read until readiness says so.
            // The end of stream was reported with the last bytes: read on until it is read.
            Received::Drained if self.read_closed => true,
            Received::Drained | Received::Ended => {
                self.can_read = false;
                true
            }
            Received::Blocked => {
                self.can_read = false;
                false
            }
        }
    }
}
