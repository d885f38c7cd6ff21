//! Driving one connection after anything happened to it: the canonical loop of the protocol
//! core (drain events, pump the job, write, read), run until nothing moves, then re-arm the
//! interest and the deadline.
//!
//! A connection is taken out of the slab while it is driven, so starting a CGI script (which
//! needs slab slots for its pipes) or a handler never fights the borrow checker.

use std::sync::Arc;
use std::sync::mpsc::channel;
use std::time::Instant;

use handler::session::Action;
use mio::Registry;
use protocol::{RequestHead, ResponseHead};
use runtime_std::Service;

use crate::cgi::CgiRun;
use crate::conn::{Conn, Job};
use crate::custom::CustomRun;
use crate::pool::{Command, Task};
use crate::service::{HttpService, Slot};
use crate::shared::log_message;
use crate::timers::ConnId;

/// Rounds of the loop one connection gets per turn; one that still has work then waits for
/// the next turn (no readiness edge would come for it), so others are served meanwhile.
const TURN_BUDGET: usize = 64;

impl HttpService {
    /// A readiness event for slab slot `key`: a socket or a CGI pipe.
    pub(crate) fn on_ready(&mut self, registry: &Registry, key: usize, read: bool, write: bool) {
        let owner = match self.slots.get_mut(key) {
            Some(Slot::Conn(conn)) => {
                conn.on_ready(read, write);
                key
            }
            Some(&mut Slot::Pipe { owner }) => {
                if let Some(Slot::Conn(conn)) = self.slots.get_mut(owner)
                    && let Some(Job::Cgi(run)) = conn.job.as_deref_mut()
                {
                    run.on_ready(key);
                }
                owner
            }
            _ => return,
        };
        self.drive(registry, owner);
    }

    /// A command from the handler run `id` (the connection's slot, the run's own generation).
    pub(crate) fn on_command(&mut self, registry: &Registry, id: ConnId, command: Command) {
        let Some(Slot::Conn(conn)) = self.slots.get_mut(id.key) else {
            return;
        };
        // A run is told apart from the connection's next one (a pipelined or kept-alive
        // request can start before the previous handler's `Done` arrives) and from a later
        // connection in the same slot; stale senders learn from their closed reply channel.
        let Some(Job::Custom(run)) = conn.job.as_deref_mut() else {
            return;
        };
        if run.generation() != id.generation {
            return;
        }
        if let Some(ok) = run.command(&mut conn.core, command) {
            conn.job = None;
            if !ok {
                // A handler that failed or said nothing: CPython closes without a reply.
                conn.core.abort();
            }
        }
        self.drive(registry, id.key);
    }

    /// The timer entry `(at, id)` came due.
    pub(crate) fn on_deadline(
        &mut self,
        registry: &Registry,
        at: Instant,
        id: ConnId,
        now: Instant,
    ) {
        let Some(Slot::Conn(conn)) = self.slots.get_mut(id.key) else {
            return;
        };
        if conn.id != id || conn.armed != Some(at) {
            // Stale: the connection is gone or has an earlier entry.
            return;
        }
        conn.armed = None;
        conn.core.handle_timeout(now);
        if matches!(conn.job.as_deref(), Some(Job::Cgi(run)) if run.deadline() <= now)
            && let Some(job) = conn.job.take()
            && let Job::Cgi(mut run) = *job
        {
            let mut freed = Vec::new();
            run.close_pipes(registry, &mut freed);
            run.time_out(&mut conn.core, &self.shared.settings, &mut self.reaper);
            self.free(&freed);
        }
        // Re-arms with the real deadline when this entry fired early.
        self.drive(registry, id.key);
    }

    /// Runs the connection in slot `key` until nothing moves, then re-arms or closes it.
    pub(crate) fn drive(&mut self, registry: &Registry, key: usize) {
        let Some(slot) = self.slots.get_mut(key) else {
            return;
        };
        if !matches!(slot, Slot::Conn(_)) {
            return;
        }
        let Slot::Conn(mut conn) = std::mem::replace(slot, Slot::Taken) else {
            return;
        };
        let mut budget = TURN_BUDGET;
        loop {
            self.dispatch(registry, &mut conn);
            let mut progress = self.pump_job(registry, &mut conn);
            progress |= conn.flush();
            if conn.core.is_closed() {
                break;
            }
            if conn.can_read() {
                progress |= conn.read_once(&mut self.buf);
            }
            if !progress {
                break;
            }
            budget -= 1;
            if budget == 0 {
                self.ready.push(conn.id);
                break;
            }
        }
        if !conn.core.is_closed() {
            conn.update_interest(registry, self.token(key));
        }
        if conn.core.is_closed() {
            self.close(registry, conn);
            return;
        }
        conn.armed = self.timers.arm(conn.id, conn.armed, conn.deadline());
        self.slots[key] = Slot::Conn(conn);
    }

    /// Drains the core's events: request body to the job, everything else to the session,
    /// then performs the action the session hands back.
    fn dispatch(&mut self, registry: &Registry, conn: &mut Conn) {
        let shared = Arc::clone(&self.shared);
        let session = shared.session();
        let mut log = String::new();
        loop {
            let event = match conn.job.as_deref_mut() {
                Some(job) => match job.route(&mut conn.core) {
                    Some(event) => event,
                    None => break,
                },
                None => match conn.core.poll_event() {
                    Some(event) => event,
                    None => break,
                },
            };
            let ctx = shared.facts.request_context(conn.peer);
            let action = session.handle_event(&mut conn.core, event, &ctx, &mut log);
            if !log.is_empty() {
                runtime_std::write_log(&log);
                log.clear();
            }
            match action {
                Action::None => {}
                Action::SendFile { file, offset } => conn.set_file(file, offset),
                Action::Cgi { spec, response } => self.start_cgi(registry, conn, &spec, &response),
                Action::Custom(head) => self.start_custom(conn, head),
            }
        }
    }

    /// Spawns a CGI script for the connection, its pipes in three new slab slots.
    fn start_cgi(
        &mut self,
        registry: &Registry,
        conn: &mut Conn,
        spec: &handler::CgiSpec,
        response: &ResponseHead,
    ) {
        let peer = conn.peer.ip();
        if self.slots.len() + 3 > self.capacity {
            log_message(peer, "CGI script failed to start: no free tokens");
            conn.core.abort();
            return;
        }
        let owner = conn.id.key;
        let keys = [(); 3].map(|()| self.slots.insert(Slot::Pipe { owner }));
        let tokens = keys.map(|key| self.token(key));
        let deadline = Instant::now() + self.shared.cgi_timeout;
        let settings = &self.shared.settings;
        match CgiRun::start(
            spec,
            response.clone(),
            settings.compat,
            registry,
            keys,
            tokens,
            deadline,
            peer,
        ) {
            Ok(mut run) => {
                if run.begin(&mut conn.core, settings).is_ok() {
                    conn.job = Some(Box::new(Job::Cgi(run)));
                } else {
                    let mut freed = Vec::new();
                    run.close_pipes(registry, &mut freed);
                    self.free(&freed);
                    conn.core.abort();
                }
            }
            Err(e) => {
                log_message(peer, &format!("CGI script failed to start: {e}"));
                self.free(&keys);
                conn.core.abort();
            }
        }
    }

    /// Hands the request to the worker pool.
    fn start_custom(&mut self, conn: &mut Conn, head: RequestHead) {
        let (Service::Custom(handler), Some(pool)) = (&self.shared.service, &self.pool) else {
            conn.core.abort();
            return;
        };
        let (replies, replies_rx) = channel();
        self.next_generation += 1;
        let run_id = ConnId {
            key: conn.id.key,
            generation: self.next_generation,
        };
        let task = Task {
            handler: Arc::clone(handler),
            shared: Arc::clone(&self.shared),
            head,
            peer: conn.peer,
            id: run_id,
            outbox: self.outbox.clone(),
            replies: replies_rx,
        };
        if pool.submit(task) {
            conn.job = Some(Box::new(Job::Custom(CustomRun::new(
                replies,
                run_id.generation,
            ))));
        } else {
            conn.core.abort();
        }
    }

    /// Lets the job move what it can. Returns whether anything moved.
    fn pump_job(&mut self, registry: &Registry, conn: &mut Conn) -> bool {
        match conn.job.as_deref_mut() {
            None => false,
            Some(Job::Custom(run)) => run.pump(&conn.core),
            Some(Job::Cgi(run)) => {
                let mut freed = Vec::new();
                let progress = run.pump(
                    &mut conn.core,
                    &self.shared.settings,
                    &mut self.buf,
                    registry,
                    &mut freed,
                );
                self.free(&freed);
                if run.output_done()
                    && let Some(job) = conn.job.take()
                    && let Job::Cgi(run) = *job
                {
                    run.finish(&mut self.reaper);
                }
                progress
            }
        }
    }

    /// Removes a closed connection: socket, job (a script is killed and reaped), slot.
    fn close(&mut self, registry: &Registry, mut conn: Box<Conn>) {
        let _ = registry.deregister(&mut conn.stream);
        if let Some(job) = conn.job.take()
            && let Job::Cgi(mut run) = *job
        {
            let mut freed = Vec::new();
            run.close_pipes(registry, &mut freed);
            self.free(&freed);
        }
        self.slots.try_remove(conn.id.key);
        self.connections -= 1;
        if self.accept_paused {
            self.accept_paused = false;
            self.accept_pending = true;
        }
    }

    /// Frees the slab slots of closed pipes.
    fn free(&mut self, keys: &[usize]) {
        for &key in keys {
            self.slots.try_remove(key);
        }
    }
}
