//! What a reactor does when something happened to a connection (an edge on its socket or on
//! a pipe of its script, a deadline, a command from its handler): turn its [`Driver`], then
//! wait for what the turn names. Every policy lives in the driver and the serve layer; this
//! file only maps the turn onto mio registrations, the timer heap and the roster.
//!
//! A connection is taken out of the slab while it is driven, so registering the pipes of a
//! script it just started (which takes slab slots) never fights the borrow checker.
//!
//! [`Driver`]: sys::drive::Driver

use std::os::fd::AsRawFd;
use std::time::Instant;

use mio::unix::SourceFd;
use mio::{Interest, Registry};
use serve::Command;

use crate::conn::{Conn, PipeSlots};
use crate::pool::run_inline;
use crate::service::{HttpService, Slot};
use crate::timers::ConnId;

/// What an event reported about a slot.
#[derive(Clone, Copy)]
pub(crate) struct Ready {
    pub(crate) read: bool,
    pub(crate) write: bool,
    /// The peer's end of stream (or an error): read until it is read.
    pub(crate) read_closed: bool,
}

/// Whether a turn writes what it queues at once.
#[derive(Clone, Copy)]
enum Output {
    Write,
    Hold,
}

impl HttpService {
    /// A readiness event for slab slot `key`: a socket, or a pipe of a connection's script.
    ///
    /// A socket is read at once, and the requests read are planned by
    /// [`plan_polled`](Self::plan_polled) once every event of the poll was handled.
    pub(crate) fn on_ready(&mut self, registry: &Registry, key: usize, ready: Ready) {
        let at = self.now();
        let owner = match self.slots.get_mut(key) {
            Some(Slot::Conn(conn)) => {
                conn.ready(ready);
                conn.driver.read_ahead(at);
                // A connection with a request read is busy from now on: were the server full,
                // an accept before the planning must not close it as idle.
                conn.note_idle(&mut self.roster, at.instant);
                self.polled.push(conn.id);
                return;
            }
            // The script's pipes are pumped on every turn of their connection.
            Some(&mut Slot::Pipe { owner }) => owner,
            _ => return,
        };
        self.drive_with(registry, owner, Output::Hold);
    }

    /// Turns the connections this poll's events named: they plan the requests read ahead,
    /// each file looked at once for all of them (`handler::with_shared_looks`: every one of
    /// these requests arrived before the look), and queue the responses, which are written
    /// after (the `ready` list). Nothing in here writes, and no handler's command is applied,
    /// so no request is planned in the round that arrived after it began; files are written
    /// by handlers on the pool's threads, or inline, which ends the round.
    pub(crate) fn plan_polled(&mut self, registry: &Registry) {
        let mut polled = std::mem::take(&mut self.polled);
        handler::with_shared_looks(|| {
            for id in polled.drain(..) {
                if matches!(self.slots.get(id.key), Some(Slot::Conn(c)) if c.id == id) {
                    self.drive_with(registry, id.key, Output::Hold);
                }
            }
        });
        self.polled = polled;
    }

    /// A command from the handler task of connection `id`. Commands of a connection that is
    /// gone (its slot may hold a newer one by now) are dropped; the task learns from its
    /// closed reply channel.
    pub(crate) fn on_command(&mut self, registry: &Registry, id: ConnId, command: Command) {
        match self.slots.get_mut(id.key) {
            Some(Slot::Conn(conn)) if conn.id == id => conn.driver.command(command),
            _ => return,
        }
        self.drive(registry, id.key);
    }

    /// The timer entry `(at, id)` came due.
    pub(crate) fn on_deadline(&mut self, registry: &Registry, at: Instant, id: ConnId) {
        match self.slots.get_mut(id.key) {
            // Stale entries (the connection is gone, or has an earlier one) are skipped.
            Some(Slot::Conn(conn)) if conn.id == id && conn.armed == Some(at) => {
                conn.armed = None;
            }
            _ => return,
        }
        // The turn fires what is due and re-arms when this entry came early.
        self.drive(registry, id.key);
    }

    /// Turns the connection in slot `key`, then waits for what the turn names (or closes it).
    pub(crate) fn drive(&mut self, registry: &Registry, key: usize) {
        self.drive_with(registry, key, Output::Write);
    }

    /// [`drive`](Self::drive); with [`Output::Hold`] (a readiness event of this poll) the
    /// responses it plans are written after every ready connection had its turn (see
    /// `sys::drive::Driver::turn_holding_output`): the connection goes on the `ready` list,
    /// which `handle_timeout` turns after the events.
    fn drive_with(&mut self, registry: &Registry, key: usize, output: Output) {
        let Some(slot) = self.slots.get_mut(key) else {
            return;
        };
        if !matches!(slot, Slot::Conn(_)) {
            return;
        }
        let Slot::Conn(mut conn) = std::mem::replace(slot, Slot::Taken) else {
            return;
        };
        let mut at = self.now();
        let turn = loop {
            let turn = match output {
                Output::Hold => conn.driver.turn_holding_output(at),
                Output::Write => conn.driver.turn(at),
            };
            let Some(task) = conn.driver.take_task() else {
                break turn;
            };
            if let Some(pool) = &self.pool {
                if pool.submit(task, conn.id, self.outbox.clone()) {
                    break turn;
                }
                // The workers are gone: nothing will answer this request.
                conn.driver.conn_mut().abort();
            } else {
                // No handler threads: the handler runs here, blocking the loop; what follows
                // reads the clock again.
                run_inline(&mut conn.driver, task);
                self.forget_now();
                at = self.now();
            }
        };
        if turn.done {
            self.close(registry, conn);
            return;
        }
        let mut again = turn.more || turn.flush;
        if !self.sync_pipes(registry, &mut conn)
            || conn
                .want_write(registry, self.token(key), turn.write)
                .is_err()
        {
            // The next turn finds the connection aborted and ends it (killing its script).
            conn.driver.conn_mut().abort();
            again = true;
        }
        if again {
            // No edge comes for work left over: the connection gets another turn soon.
            self.ready.push(conn.id);
        }
        conn.armed = self.timers.arm(conn.id, conn.armed, turn.deadline);
        conn.note_idle(&mut self.roster, at.instant);
        self.slots[key] = Slot::Conn(conn);
    }

    /// Keeps the connection's pipe registrations in step with its script: the pipes of a
    /// new script are registered under new slab slots pointing to their owner, and the slots
    /// of closed pipes are freed (a closed descriptor has left the poll by itself, and its
    /// number may already belong to someone else, so it is not deregistered). Returns `false`
    /// when a pipe could not be registered.
    fn sync_pipes(&mut self, registry: &Registry, conn: &mut Conn) -> bool {
        let open = conn.driver.open_pipes();
        if conn.pipes.is_none() && open.iter().all(Option::is_none) {
            return true;
        }
        let started = conn.driver.scripts_started();
        let pipes = conn.pipes.get_or_insert_with(|| {
            Box::new(PipeSlots {
                keys: [None; 3],
                script: started,
            })
        });
        let fresh = started != pipes.script;
        pipes.script = started;
        for (index, (fd, slot)) in open.iter().zip(&mut pipes.keys).enumerate() {
            if (fresh || fd.is_none())
                && let Some(key) = slot.take()
            {
                self.slots.try_remove(key);
            }
            let (Some(fd), None) = (fd, &slot) else {
                continue;
            };
            if self.slots.len() >= self.capacity {
                return false;
            }
            let key = self.slots.insert(Slot::Pipe { owner: conn.id.key });
            // stdin is written to; stdout and stderr are read.
            let interest = if index == 0 {
                Interest::WRITABLE
            } else {
                Interest::READABLE
            };
            let raw = fd.as_raw_fd();
            if registry
                .register(&mut SourceFd(&raw), self.token(key), interest)
                .is_err()
            {
                self.slots.remove(key);
                return false;
            }
            *slot = Some(key);
        }
        if pipes.keys.iter().all(Option::is_none) {
            conn.pipes = None;
        }
        true
    }

    /// Removes a connection: its registration, its pipes' slots, its slot and its roster
    /// entry. Dropping it closes the socket (and kills a script still running).
    pub(crate) fn close(&mut self, registry: &Registry, conn: Box<Conn>) {
        conn.deregister(registry);
        for key in conn.pipes.iter().flat_map(|pipes| pipes.keys).flatten() {
            self.slots.try_remove(key);
        }
        self.slots.try_remove(conn.id.key);
        self.roster.remove(conn.ticket);
        drop(conn);
    }

    /// Closes connection `id` to make room for a new one (the roster chose it: idle the
    /// longest).
    pub(crate) fn evict(&mut self, registry: &Registry, id: ConnId) {
        if !matches!(self.slots.get(id.key), Some(Slot::Conn(conn)) if conn.id == id) {
            return;
        }
        if let Slot::Conn(conn) = self.slots.remove(id.key) {
            // Its slot is free again; `close` removing it once more is harmless.
            self.close(registry, conn);
        }
    }
}
