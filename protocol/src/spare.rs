//! Buffers that parked connections gave back, kept per thread for the next request.
//!
//! A keep-alive connection waiting for its next request holds no queues (see
//! [`ServerConnection::shrink_idle`](crate::ServerConnection::shrink_idle)), yet under load
//! every connection parks between two requests. Allocating the queues anew for each request
//! would cost more than the rest of a small exchange's bookkeeping (measured: about 5% of
//! the server's time per request), so what a parking connection gives back waits here for
//! the next one served on the same thread, as nginx and h2o recycle their buffers. A thread
//! keeps at most [`KEEP`] of each kind, and only small ones, so the stash stays a few tens
//! of KiB however many connections are idle. It is memory reuse only: nothing a connection
//! does depends on whether its buffers came from here.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::thread::LocalKey;

use crate::Event;
use crate::body::ChunkedDecoder;
use crate::transmit::Queue;

/// How many buffers of each kind a thread keeps: about as many as connections it serves
/// at once under load.
const KEEP: usize = 64;

/// An event queue longer than this (a pipelined burst) is freed, not kept.
const KEEP_EVENTS: usize = 8;

thread_local! {
    #[allow(clippy::vec_box, reason = "queues are kept in the box a connection holds")]
    static QUEUES: RefCell<Vec<Box<Queue>>> = const { RefCell::new(Vec::new()) };
    static EVENTS: RefCell<Vec<VecDeque<Event>>> = const { RefCell::new(Vec::new()) };
    #[allow(clippy::vec_box, reason = "decoders are kept in the box a connection holds")]
    static CHUNKED: RefCell<Vec<Box<ChunkedDecoder>>> = const { RefCell::new(Vec::new()) };
}

/// A chunked decoder's box, if one was given back on this thread.
pub(crate) fn take_chunked() -> Option<Box<ChunkedDecoder>> {
    take(&CHUNKED)
}

/// Keeps a chunked decoder's box for the next chunked request (or frees it, when enough are
/// kept). Its old state is overwritten on reuse; what it holds meanwhile is bounded by the
/// limits it was made with.
pub(crate) fn give_chunked(decoder: Box<ChunkedDecoder>) {
    give(&CHUNKED, decoder);
}

/// An empty output queue with room, if one was given back on this thread.
pub(crate) fn take_queue() -> Option<Box<Queue>> {
    take(&QUEUES)
}

/// Keeps an empty output queue for reuse (or frees it: too large, or enough are kept).
pub(crate) fn give_queue(queue: Box<Queue>) {
    if queue.is_small() {
        give(&QUEUES, queue);
    }
}

/// An empty event queue with room, if one was given back on this thread.
pub(crate) fn take_events() -> Option<VecDeque<Event>> {
    take(&EVENTS)
}

/// Keeps an empty event queue for reuse (or frees it).
pub(crate) fn give_events(events: VecDeque<Event>) {
    if events.is_empty() && events.capacity() > 0 && events.capacity() <= KEEP_EVENTS {
        give(&EVENTS, events);
    }
}

fn take<T: 'static>(stash: &'static LocalKey<RefCell<Vec<T>>>) -> Option<T> {
    // While the thread ends, its stash may be gone already: then nothing is reused.
    stash
        .try_with(|kept| kept.borrow_mut().pop())
        .ok()
        .flatten()
}

fn give<T: 'static>(stash: &'static LocalKey<RefCell<Vec<T>>>, item: T) {
    let _ = stash.try_with(|kept| {
        let mut kept = kept.borrow_mut();
        if kept.len() < KEEP {
            kept.push(item);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_thread_keeps_a_bounded_number_of_small_buffers() {
        for _ in 0..KEEP + 10 {
            give_events(VecDeque::with_capacity(4));
        }
        // Too large, or never allocated: not kept.
        give_events(VecDeque::with_capacity(KEEP_EVENTS + 1));
        give_events(VecDeque::new());
        let mut taken = 0;
        while let Some(events) = take_events() {
            assert!(events.capacity() >= 4 && events.capacity() <= KEEP_EVENTS);
            taken += 1;
        }
        assert_eq!(taken, KEEP);
    }
}
