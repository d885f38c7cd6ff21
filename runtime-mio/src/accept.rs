//! Accepting connections: drain the listener to `WouldBlock` (edge-triggered), and admit each
//! connection through the [`Roster`](serve::Roster): at the cap the connection idle the
//! longest is closed to make room, and when every connection is busy the new one is closed at
//! once.
//!
//! A turn accepts a bounded number of connections, so a flood of connects does not starve the
//! served ones; the rest wait for the next round (no new edge is raised for connections
//! already queued). Running out of descriptors retries after a short pause instead of
//! spinning; other failures concern one connection and never stop the server.

use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use serve::{Admission, Connection};
use sys::drive::Driver;
use sys::listener::{is_out_of_descriptors, is_transient_accept_error};

use crate::conn::{Conn, register};
use crate::service::{HttpService, Slot};
use crate::timers::ConnId;

/// Connections accepted per round.
const ACCEPT_BUDGET: usize = 256;

/// Pause before accepting again after `EMFILE`/`ENFILE` (or a failing listener).
const RETRY: Duration = Duration::from_millis(100);

impl HttpService {
    /// Accepts waiting connections and serves what they already sent.
    pub(crate) fn accept(&mut self, registry: &mio::Registry) {
        for _ in 0..ACCEPT_BUDGET {
            let Some(listener) = &self.listener else {
                return;
            };
            match listener.accept() {
                Ok((stream, peer)) => self.admit(registry, stream.into(), peer),
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return,
                // The listener stays readable without a new edge: come back later.
                Err(e) if is_out_of_descriptors(&e) => {
                    self.accept_retry = Some(sys::clock::now().instant + RETRY);
                    return;
                }
                // A peer that gave up before it was accepted.
                Err(e) if is_transient_accept_error(&e) => {}
                Err(e) => {
                    let now = sys::clock::now();
                    self.config.log.log(&format!(
                        "[{}] accept failed: {e}\n",
                        handler::log_date_time_string(now.wall)
                    ));
                    self.accept_retry = Some(now.instant + RETRY);
                    return;
                }
            }
        }
        self.accept_pending = true;
    }

    /// Serves a new connection if the roster (and the token range) has room for it;
    /// otherwise dropping it closes it.
    fn admit(&mut self, registry: &mio::Registry, stream: TcpStream, peer: SocketAddr) {
        if self.slots.len() >= self.capacity {
            return;
        }
        sys::listener::configure(&stream);
        let now = sys::clock::now();
        // The slot is reserved first: the roster keeps the connection's name.
        let key = self.slots.insert(Slot::Taken);
        self.next_generation += 1;
        let id = ConnId {
            key,
            generation: self.next_generation,
        };
        let ticket = match self.roster.admit(id, now.instant) {
            Admission::Admitted(ticket) => ticket,
            Admission::Evict(ticket, victim) => {
                self.evict(registry, victim);
                ticket
            }
            _ => {
                self.slots.remove(key);
                return;
            }
        };
        if register(registry, &stream, self.token(key)).is_err() {
            self.roster.remove(ticket);
            self.slots.remove(key);
            return;
        }
        let conn = Connection::new(std::sync::Arc::clone(&self.config), peer, now);
        let conn = Conn::new(Driver::new(conn, stream), id, ticket);
        self.slots[key] = Slot::Conn(Box::new(conn));
        self.drive(registry, key);
    }
}
