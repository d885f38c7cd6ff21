//! The reactor's one deadline structure: a min-heap of `(deadline, slot, generation)` with
//! lazy invalidation.
//!
//! Every connection keeps the single deadline it has in the heap (`armed`). A deadline that
//! moves *later* (the idle timer after each request) is not pushed again: the old entry fires
//! early, the connection sees nothing is due and re-arms. Only a deadline that moves *earlier*
//! pushes a new entry, and entries of closed connections stay until they surface. So the heap
//! holds about one entry per connection however many requests pass, and it is compacted when
//! stale entries start to dominate.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::Instant;

/// Which connection an entry belongs to: its slab key and the generation that tells a
/// connection apart from a later one reusing the key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct ConnId {
    pub(crate) key: usize,
    pub(crate) generation: u64,
}

/// Deadlines of many connections.
#[derive(Debug, Default)]
pub(crate) struct Timers {
    heap: BinaryHeap<Reverse<(Instant, ConnId)>>,
}

impl Timers {
    /// Makes sure an entry at or before `deadline` exists for `id`, given the deadline it
    /// already has in the heap (`armed`). Returns the deadline now armed.
    pub(crate) fn arm(
        &mut self,
        id: ConnId,
        armed: Option<Instant>,
        deadline: Option<Instant>,
    ) -> Option<Instant> {
        match (armed, deadline) {
            (_, None) => armed,
            (Some(old), Some(new)) if old <= new => armed,
            (_, Some(new)) => {
                self.heap.push(Reverse((new, id)));
                Some(new)
            }
        }
    }

    /// The earliest entry (possibly stale: waking for it is harmless).
    pub(crate) fn next(&self) -> Option<Instant> {
        self.heap.peek().map(|Reverse((at, _))| *at)
    }

    /// Removes and returns one entry due at `now`.
    pub(crate) fn pop_due(&mut self, now: Instant) -> Option<(Instant, ConnId)> {
        match self.heap.peek() {
            Some(Reverse((at, _))) if *at <= now => self.heap.pop().map(|Reverse(e)| e),
            _ => None,
        }
    }

    /// Drops stale entries once they outnumber live connections by far: keeps only entries
    /// `live` confirms (the connection exists and this is its armed deadline).
    pub(crate) fn compact(&mut self, live_count: usize, live: impl Fn(Instant, ConnId) -> bool) {
        if self.heap.len() <= 2 * live_count + 64 {
            return;
        }
        let entries = std::mem::take(&mut self.heap).into_vec();
        self.heap = entries
            .into_iter()
            .filter(|Reverse((at, id))| live(*at, *id))
            .collect();
    }

    /// Entries held, stale ones included.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.heap.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn id(key: usize) -> ConnId {
        ConnId { key, generation: 1 }
    }

    #[test]
    fn later_deadlines_do_not_grow_the_heap() {
        let t0 = Instant::now();
        let mut timers = Timers::default();
        let mut armed = None;
        for i in 0..1000 {
            armed = timers.arm(id(1), armed, Some(t0 + Duration::from_secs(75 + i)));
        }
        assert_eq!(timers.len(), 1);
        assert_eq!(armed, Some(t0 + Duration::from_secs(75)));
    }

    #[test]
    fn earlier_deadline_pushes_and_fires_in_order() {
        let t0 = Instant::now();
        let mut timers = Timers::default();
        let a = timers.arm(id(1), None, Some(t0 + Duration::from_secs(10)));
        let a = timers.arm(id(1), a, Some(t0 + Duration::from_secs(2)));
        timers.arm(id(2), None, Some(t0 + Duration::from_secs(5)));
        assert_eq!(a, Some(t0 + Duration::from_secs(2)));
        assert_eq!(timers.next(), Some(t0 + Duration::from_secs(2)));
        assert!(timers.pop_due(t0 + Duration::from_secs(1)).is_none());
        let due: Vec<_> = std::iter::from_fn(|| timers.pop_due(t0 + Duration::from_secs(6)))
            .map(|(_, id)| id.key)
            .collect();
        assert_eq!(due, [1, 2]);
        assert_eq!(timers.len(), 1);
    }

    #[test]
    fn compaction_keeps_live_entries_only() {
        let t0 = Instant::now();
        let mut timers = Timers::default();
        for key in 0..500 {
            timers.arm(id(key), None, Some(t0 + Duration::from_secs(1)));
        }
        timers.compact(10, |_, id| id.key < 10);
        assert_eq!(timers.len(), 10);
        // Small heaps are left alone.
        timers.compact(0, |_, _| false);
        assert_eq!(timers.len(), 10);
    }
}
