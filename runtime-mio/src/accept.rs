//! Accepting connections: drain the listener to `WouldBlock` (edge-triggered), within the
//! connection limit and the token range.
//!
//! At the limit, accepting stops and connections wait in the kernel backlog, as with the
//! std runtime. Since no new edge is raised for connections already queued, a closing
//! connection schedules another accept round. Running out of descriptors retries after a
//! short pause instead of spinning.

use std::io;
use std::time::{Duration, Instant};

use mio::{Interest, Registry};

use crate::conn::Conn;
use crate::service::{HttpService, Slot};
use crate::timers::ConnId;

/// Connections accepted per turn, so a flood of connects does not starve served ones.
const ACCEPT_BUDGET: usize = 256;

/// Pause before accepting again after `EMFILE`/`ENFILE`.
const FD_RETRY: Duration = Duration::from_millis(100);

impl HttpService {
    /// Accepts waiting connections and serves what they already sent.
    pub(crate) fn accept(&mut self, registry: &Registry) {
        for _ in 0..ACCEPT_BUDGET {
            if self.connections >= self.max_connections || self.slots.len() >= self.capacity {
                // Resumed when a connection closes.
                self.accept_paused = true;
                return;
            }
            let Some(listener) = &self.listener else {
                return;
            };
            let (mut stream, peer) = match listener.accept() {
                Ok(pair) => pair,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                // A peer that vanished before accept.
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::ConnectionAborted
                            | io::ErrorKind::ConnectionReset
                            | io::ErrorKind::Interrupted
                    ) =>
                {
                    continue;
                }
                // Out of descriptors (or worse): the listener stays readable without a new
                // edge, so come back later.
                Err(_) => {
                    self.accept_retry = Some(Instant::now() + FD_RETRY);
                    return;
                }
            };
            // The key the next insert will use.
            let key = self.slots.vacant_key();
            let token = self.token(key);
            if registry
                .register(&mut stream, token, Interest::READABLE)
                .is_err()
            {
                continue;
            }
            self.next_generation += 1;
            let id = ConnId {
                key,
                generation: self.next_generation,
            };
            let conn = Conn::new(stream, peer, id, &self.shared.protocol);
            self.slots.insert(Slot::Conn(Box::new(conn)));
            self.connections += 1;
            self.drive(registry, key);
        }
        self.accept_pending = true;
    }
}
