//! How many times bytes from a peer (or its end of stream) reached a connection on this
//! thread.
//!
//! A layer above the core can take the count at some moment and compare it later: if it has
//! not moved, every request the thread has seen by then was complete before that moment,
//! since no byte arrived in between. The file cache of `handler` uses it so a `statx` taken
//! while planning one request can answer the others of the same reactor round: each of them
//! was received before the look, so the look tells how the file was after it was asked for.

use std::cell::Cell;

thread_local! {
    static ARRIVALS: Cell<u64> = const { Cell::new(0) };
}

/// How many times bytes from a peer reached a [`ServerConnection`](crate::ServerConnection)
/// on this thread ([`receive`](crate::ServerConnection::receive) or
/// [`commit_recv`](crate::ServerConnection::commit_recv) with at least one byte), or its end
/// did ([`receive_eof`](crate::ServerConnection::receive_eof)). Only its changes mean
/// anything.
///
/// ```
/// use std::sync::Arc;
/// use std::time::Instant;
/// use protocol::{Config, ServerConnection, arrivals};
///
/// let now = Instant::now();
/// let mut conn = ServerConnection::new(Arc::new(Config::default()), now);
/// let before = arrivals();
/// conn.receive(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n", now);
/// assert_ne!(arrivals(), before);
/// ```
pub fn arrivals() -> u64 {
    ARRIVALS.with(Cell::get)
}

/// Bytes, or the end of stream, reached a connection on this thread.
pub(crate) fn arrived() {
    ARRIVALS.with(|count| count.set(count.get().wrapping_add(1)));
}
