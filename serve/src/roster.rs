//! The server's open connections, counted against the cap. At the cap, a new client does not
//! wait behind idle keep-alive connections: the one idle the longest is closed to make room,
//! as nginx reuses its least recently used keep-alive connection. Only when every connection
//! is busy is the new one refused (or left in the backlog).

use std::time::Instant;

/// A connection's place in the [`Roster`]. A ticket is never valid twice: one that was
/// evicted or removed does nothing afterwards, even when its slot holds a newer connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Ticket {
    index: usize,
    generation: u64,
}

/// What to do with a new connection.
#[derive(Debug)]
#[non_exhaustive]
pub enum Admission<H> {
    /// Serve it.
    Admitted(Ticket),
    /// Serve it, and close this idle connection (its handle) to stay within the cap.
    Evict(Ticket, H),
    /// Every connection is busy: refuse it (or leave it in the backlog).
    Full,
}

#[derive(Debug)]
struct Entry<H> {
    handle: H,
    generation: u64,
    /// Since when the connection sits between requests; `None` while it is busy.
    idle_since: Option<Instant>,
}

/// Open connections and their handles (whatever the runtime needs to close one from outside:
/// a shared socket, a token).
#[derive(Debug)]
pub struct Roster<H> {
    max: usize,
    entries: Vec<Option<Entry<H>>>,
    free: Vec<usize>,
    len: usize,
    generation: u64,
}

impl<H: Clone> Roster<H> {
    /// A roster for at most `max` connections (at least one).
    pub fn new(max: usize) -> Self {
        Self {
            max: max.max(1),
            entries: Vec::new(),
            free: Vec::new(),
            len: 0,
            generation: 0,
        }
    }

    /// Open connections.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether no connection is open.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The cap.
    pub fn max(&self) -> usize {
        self.max
    }

    /// A new connection with `handle`, accepted at `now`. It starts idle (no request yet),
    /// but it is never the one evicted for itself.
    pub fn admit(&mut self, handle: H, now: Instant) -> Admission<H> {
        let victim = if self.len >= self.max {
            match self.oldest_idle() {
                Some(index) => {
                    let entry = self.take(index);
                    Some(entry.handle)
                }
                None => return Admission::Full,
            }
        } else {
            None
        };
        self.generation += 1;
        let generation = self.generation;
        let entry = Entry {
            handle,
            generation,
            idle_since: Some(now),
        };
        let index = if let Some(index) = self.free.pop() {
            self.entries[index] = Some(entry);
            index
        } else {
            self.entries.push(Some(entry));
            self.entries.len() - 1
        };
        self.len += 1;
        let ticket = Ticket { index, generation };
        match victim {
            Some(handle) => Admission::Evict(ticket, handle),
            None => Admission::Admitted(ticket),
        }
    }

    /// The connection is idle (between requests) or busy, as of `now`.
    pub fn set_idle(&mut self, ticket: Ticket, idle: bool, now: Instant) {
        if let Some(entry) = self.entry_mut(ticket) {
            match (idle, entry.idle_since) {
                (true, None) => entry.idle_since = Some(now),
                (false, Some(_)) => entry.idle_since = None,
                _ => {}
            }
        }
    }

    /// The connection closed (removing an evicted one again is harmless).
    pub fn remove(&mut self, ticket: Ticket) {
        if self.entry_mut(ticket).is_some() {
            self.take(ticket.index);
        }
    }

    fn entry_mut(&mut self, ticket: Ticket) -> Option<&mut Entry<H>> {
        self.entries
            .get_mut(ticket.index)?
            .as_mut()
            .filter(|e| e.generation == ticket.generation)
    }

    /// Every open connection's handle (to stop them all).
    pub fn handles(&self) -> impl Iterator<Item = &H> {
        self.entries.iter().flatten().map(|e| &e.handle)
    }

    fn take(&mut self, index: usize) -> Entry<H> {
        let entry = self.entries[index].take().expect("a live entry");
        self.free.push(index);
        self.len -= 1;
        entry
    }

    fn oldest_idle(&self) -> Option<usize> {
        self.entries
            .iter()
            .enumerate()
            .filter_map(|(i, e)| Some((i, e.as_ref()?.idle_since?)))
            .min_by_key(|&(_, since)| since)
            .map(|(i, _)| i)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[expect(
        clippy::disallowed_methods,
        reason = "an arbitrary origin for a fake clock"
    )]
    fn t0() -> Instant {
        Instant::now()
    }

    #[test]
    fn at_the_cap_the_longest_idle_goes() {
        let t = t0();
        let mut roster = Roster::new(2);
        let Admission::Admitted(a) = roster.admit("a", t) else {
            panic!()
        };
        let Admission::Admitted(b) = roster.admit("b", t + Duration::from_secs(1)) else {
            panic!()
        };
        roster.set_idle(a, false, t + Duration::from_secs(2));
        // `a` is busy, `b` idle: `b` makes room.
        let Admission::Evict(c, victim) = roster.admit("c", t + Duration::from_secs(3)) else {
            panic!()
        };
        assert_eq!(victim, "b");
        assert_eq!(roster.len(), 2);
        roster.remove(b); // already gone: harmless
        assert_eq!(roster.len(), 2);
        roster.set_idle(c, false, t + Duration::from_secs(4));
        assert!(matches!(
            roster.admit("d", t + Duration::from_secs(5)),
            Admission::Full
        ));
        roster.remove(a);
        assert!(matches!(
            roster.admit("d", t + Duration::from_secs(6)),
            Admission::Admitted(_)
        ));
        assert_eq!(roster.handles().count(), 2);
    }

    #[test]
    fn busy_then_idle_again_counts_from_the_new_idle_time() {
        let t = t0();
        let mut roster = Roster::new(2);
        let Admission::Admitted(a) = roster.admit("a", t) else {
            panic!()
        };
        let Admission::Admitted(_) = roster.admit("b", t + Duration::from_secs(1)) else {
            panic!()
        };
        roster.set_idle(a, false, t + Duration::from_secs(2));
        roster.set_idle(a, true, t + Duration::from_secs(3));
        let Admission::Evict(_, victim) = roster.admit("c", t + Duration::from_secs(4)) else {
            panic!()
        };
        assert_eq!(victim, "b");
    }
}
