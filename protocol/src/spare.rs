//! Buffers that parked connections gave back, kept per thread for the next request.
//!
//! A keep-alive connection waiting for its next request holds no queues (see
//! [`ServerConnection::shrink_idle`](crate::ServerConnection::shrink_idle)), yet under load
//! every connection parks between two requests. Allocating the queues anew for each request
//! would cost more than the rest of a small exchange's bookkeeping (measured: about 5% of
//! the server's time per request), so what a parking connection gives back waits here for
//! the next one served on the same thread, as nginx and h2o recycle their buffers; so do
//! receive buffers and response field lists. A thread keeps at most [`KEEP`] of each kind,
//! and only small ones, however many connections are idle: at most about 640 KiB on a
//! reactor thread that serves many connections (64 receive buffers of 4-8 KiB, 64 field lists
//! of up to 2 KiB, the queues), and one of each on a thread that serves one connection. It is
//! memory reuse only: nothing a connection does depends on whether its buffers came from
//! here.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::thread::LocalKey;

use bytes::{Bytes, BytesMut};

use crate::Event;
use crate::body::ChunkedDecoder;
use crate::transmit::Queue;

/// How many buffers of each kind a thread keeps: about as many as connections it serves
/// at once under load.
const KEEP: usize = 64;

/// An event queue longer than this (a pipelined burst) is freed, not kept.
const KEEP_EVENTS: usize = 8;

/// The receive buffer kept: room for a first read. One with less room, or more than twice
/// this (one that took a body), is freed, not kept.
const KEEP_INPUT: usize = crate::connection::RECV_FIRST;

/// A response's field list with room for more than this many fields is freed, not kept.
const KEEP_FIELDS: usize = 32;

thread_local! {
    #[allow(clippy::vec_box, reason = "queues are kept in the box a connection holds")]
    static QUEUES: RefCell<Vec<Box<Queue>>> = const { RefCell::new(Vec::new()) };
    static EVENTS: RefCell<Vec<VecDeque<Event>>> = const { RefCell::new(Vec::new()) };
    #[allow(clippy::vec_box, reason = "decoders are kept in the box a connection holds")]
    static CHUNKED: RefCell<Vec<Box<ChunkedDecoder>>> = const { RefCell::new(Vec::new()) };
    static INPUTS: RefCell<Vec<BytesMut>> = const { RefCell::new(Vec::new()) };
    static FIELDS: RefCell<Vec<Vec<(Bytes, Bytes)>>> = const { RefCell::new(Vec::new()) };
}

/// An empty receive buffer with room, if one was given back on this thread.
pub(crate) fn take_input() -> Option<BytesMut> {
    take(&INPUTS)
}

/// Keeps a receive buffer for the next connection that reads on this thread, if it has room
/// for a first read (or can take it back: when nothing else shares its allocation) and is
/// small. A request head cut from it earlier may still share the allocation; their bytes
/// never overlap, and the room is zeroed before each read. Reusing one also spares the
/// allocation `bytes` makes the first time a buffer is split (its shared header).
pub(crate) fn give_input(mut input: BytesMut) {
    input.clear();
    // Taking back the whole allocation succeeds only when nothing else shares it.
    if input.capacity() > 0 && input.try_reclaim(KEEP_INPUT) && input.capacity() <= 2 * KEEP_INPUT {
        give(&INPUTS, input);
    }
}

/// An empty field list with room, if one was given back on this thread.
pub(crate) fn take_fields() -> Option<Vec<(Bytes, Bytes)>> {
    take(&FIELDS)
}

/// Keeps a response's field list (emptied) for the next response planned on this thread.
pub(crate) fn give_fields(mut fields: Vec<(Bytes, Bytes)>) {
    if fields.capacity() > 0 && fields.capacity() <= KEEP_FIELDS {
        fields.clear();
        give(&FIELDS, fields);
    }
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

    #[test]
    fn a_receive_buffer_is_kept_only_when_nothing_else_shares_it() {
        while take_input().is_some() {}
        let split = || {
            let mut input = BytesMut::with_capacity(KEEP_INPUT);
            input.extend_from_slice(b"GET / HTTP/1.1\r\n\r\n");
            let head = input.split_to(8);
            (head, input)
        };
        // The head still points into it: reusing it would mean a new allocation anyway.
        let (head, input) = split();
        give_input(input);
        assert!(take_input().is_none());
        drop(head);
        let (head, input) = split();
        drop(head);
        give_input(input);
        let kept = take_input().expect("kept");
        assert!(kept.is_empty() && kept.capacity() >= KEEP_INPUT);
        // A large one is not kept.
        give_input(BytesMut::with_capacity(KEEP_INPUT * 4));
        give_input(BytesMut::with_capacity(KEEP_INPUT / 4));
        assert!(take_input().is_none());
    }

    #[test]
    fn field_lists_come_back_empty() {
        while take_fields().is_some() {}
        let mut fields = Vec::with_capacity(4);
        fields.push((Bytes::from_static(b"a"), Bytes::from_static(b"b")));
        give_fields(fields);
        let kept = take_fields().expect("kept");
        assert!(kept.is_empty() && kept.capacity() >= 4);
        give_fields(Vec::with_capacity(KEEP_FIELDS + 1));
        assert!(take_fields().is_none());
    }
}
