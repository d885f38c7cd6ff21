//! The output queue: response bytes waiting for the socket, external spans the runtime sends
//! itself (sendfile), and markers for where a response ends and where the connection shuts.
//!
//! The runtime reports exactly how much reached the socket with `advance_transmit`, so the
//! core always knows what was sent; a response counts as complete only once its last byte has.

use std::collections::VecDeque;
use std::io::IoSlice;

use bytes::Bytes;

use crate::spare;

/// The next thing the runtime must do with the socket.
#[derive(Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Transmit<'a> {
    /// Write these bytes, then report how many were written with `advance_transmit`.
    Bytes(&'a [u8]),
    /// Send this many bytes from the runtime's own source (a file, with sendfile), then report
    /// progress with `advance_transmit`.
    External(u64),
    /// Everything before was written: shut down the write side, keep reading (and discarding)
    /// until the peer closes or [`is_closed`](crate::ServerConnection::is_closed) turns true.
    /// Returned once.
    Shutdown,
}

/// One queued item.
#[derive(Debug)]
enum Segment {
    Bytes(Bytes),
    /// This many bytes of the staging buffer (response heads, chunk-size lines), which the
    /// queue owns and reuses.
    Staged(usize),
    External(u64),
    /// The last byte of a response was queued before this point.
    EndOfResponse,
    Shutdown,
}

/// A marker that became the head of the queue.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Marker {
    EndOfResponse,
}

/// Queued output, in order. Empty, it is one pointer: the queue proper is allocated when
/// something is queued and released when an idle connection parks (see [`Self::release`]),
/// so an idle keep-alive connection carries no room for output.
#[derive(Debug, Default)]
pub(crate) struct OutQueue {
    queue: Option<Box<Queue>>,
}

impl OutQueue {
    fn queue(&mut self) -> &mut Queue {
        self.queue
            .get_or_insert_with(|| spare::take_queue().unwrap_or_default())
    }

    /// Queues owned bytes.
    pub(crate) fn push(&mut self, bytes: Bytes) {
        if !bytes.is_empty() {
            self.queue().push(bytes);
        }
    }

    /// Queues an external span.
    pub(crate) fn push_external(&mut self, len: u64) {
        if len > 0 {
            self.queue().segments.push_back(Segment::External(len));
        }
    }

    /// Marks the end of a response.
    pub(crate) fn push_end_of_response(&mut self) {
        self.queue().segments.push_back(Segment::EndOfResponse);
    }

    /// Queues the shutdown of the write side.
    pub(crate) fn push_shutdown(&mut self) {
        self.queue().segments.push_back(Segment::Shutdown);
    }

    /// A buffer to format into (append only); queue what was appended with
    /// [`Self::commit_scratch`].
    pub(crate) fn scratch(&mut self) -> &mut Vec<u8> {
        &mut self.queue().staging
    }

    /// Queues what was formatted into the scratch buffer.
    pub(crate) fn commit_scratch(&mut self) {
        if let Some(queue) = &mut self.queue {
            queue.commit_scratch();
        }
    }

    /// Bytes waiting in memory.
    pub(crate) fn buffered(&self) -> usize {
        self.queue.as_ref().map_or(0, |queue| queue.buffered)
    }

    /// Whether nothing at all is queued.
    pub(crate) fn is_empty(&self) -> bool {
        self.queue
            .as_ref()
            .is_none_or(|queue| queue.segments.is_empty())
    }

    /// Removes a marker at the head of the queue, if there is one.
    pub(crate) fn pop_marker(&mut self) -> Option<Marker> {
        self.queue.as_mut()?.pop_marker()
    }

    /// Removes a shutdown at the head of the queue; returns whether there was one.
    pub(crate) fn pop_shutdown(&mut self) -> bool {
        self.queue
            .as_mut()
            .is_some_and(|queue| queue.pop_shutdown())
    }

    /// The next bytes or span to send. Markers and shutdowns must be popped first.
    pub(crate) fn peek(&self) -> Option<Transmit<'_>> {
        self.queue.as_ref()?.peek()
    }

    /// Fills `out` with the run of byte segments at the head of the queue.
    pub(crate) fn fill_io_slices<'a>(&'a self, out: &mut [IoSlice<'a>]) -> usize {
        self.queue
            .as_ref()
            .map_or(0, |queue| queue.fill_io_slices(out))
    }

    /// Records that `n` bytes of the head of the queue were sent.
    ///
    /// # Panics
    /// If `n` is more than the run of byte segments (or the external span) at the head holds:
    /// that is a runtime bug that would desynchronise what the core believes was sent.
    pub(crate) fn advance(&mut self, n: usize) {
        match &mut self.queue {
            Some(queue) => queue.advance(n),
            None => assert!(n == 0, "advance_transmit by more than was transmitted"),
        }
    }

    /// Gives back everything an empty queue holds.
    pub(crate) fn release(&mut self) {
        // Staged bytes are gone once their segments are (the buffer starts over when all
        // of it was sent), so an empty queue has nothing in `staging` worth keeping.
        if let Some(queue) = self
            .queue
            .take_if(|queue| queue.segments.is_empty() && queue.staging.is_empty())
        {
            spare::give_queue(queue);
        }
    }

    /// Heap bytes held by the queue's own buffers (not the `Bytes` it was handed).
    pub(crate) fn retained_bytes(&self) -> usize {
        self.queue.as_ref().map_or(0, |queue| {
            size_of::<Queue>()
                + queue.segments.capacity() * size_of::<Segment>()
                + queue.staging.capacity()
        })
    }

    /// Drops everything queued.
    pub(crate) fn clear(&mut self) {
        self.queue = None;
    }
}

/// The queue proper.
#[derive(Debug, Default)]
pub(crate) struct Queue {
    segments: VecDeque<Segment>,
    /// Bytes held in `Bytes` segments (external spans cost no memory).
    buffered: usize,
    /// Where heads and chunk-size lines are formatted and kept until sent: bytes
    /// `staged_read..` are queued (as `Staged` segments, in order), bytes from
    /// `staged_committed` on are being formatted. Reused from one response to the next
    /// while the connection is busy, so formatting a head touches no reference count.
    staging: Vec<u8>,
    staged_read: usize,
    staged_committed: usize,
}

impl Queue {
    /// Whether an empty queue is small enough to keep for reuse (see [`spare`]): one that
    /// grew for a large head or a long run of chunks is freed instead.
    pub(crate) fn is_small(&self) -> bool {
        self.segments.capacity() <= 16 && self.staging.capacity() <= 2048
    }

    fn push(&mut self, bytes: Bytes) {
        self.buffered += bytes.len();
        self.segments.push_back(Segment::Bytes(bytes));
    }

    /// Queues what was formatted into the scratch buffer.
    fn commit_scratch(&mut self) {
        let len = self.staging.len() - self.staged_committed;
        if len > 0 {
            self.staged_committed = self.staging.len();
            self.buffered += len;
            self.segments.push_back(Segment::Staged(len));
        }
    }

    /// Removes a marker at the head of the queue, if there is one.
    fn pop_marker(&mut self) -> Option<Marker> {
        match self.segments.front() {
            Some(Segment::EndOfResponse) => {
                self.segments.pop_front();
                Some(Marker::EndOfResponse)
            }
            _ => None,
        }
    }

    /// Removes a shutdown at the head of the queue; returns whether there was one.
    fn pop_shutdown(&mut self) -> bool {
        let found = matches!(self.segments.front(), Some(Segment::Shutdown));
        if found {
            self.segments.pop_front();
        }
        found
    }

    /// The next bytes or span to send. Markers and shutdowns must be popped first.
    fn peek(&self) -> Option<Transmit<'_>> {
        match self.segments.front()? {
            Segment::Bytes(b) => Some(Transmit::Bytes(b)),
            Segment::Staged(len) => Some(Transmit::Bytes(
                &self.staging[self.staged_read..self.staged_read + len],
            )),
            Segment::External(n) => Some(Transmit::External(*n)),
            Segment::Shutdown | Segment::EndOfResponse => None,
        }
    }

    /// Fills `out` with the run of byte segments at the head of the queue.
    fn fill_io_slices<'a>(&'a self, out: &mut [IoSlice<'a>]) -> usize {
        let mut n = 0;
        let mut staged = self.staged_read;
        for segment in &self.segments {
            let bytes: &[u8] = match segment {
                Segment::Bytes(bytes) => bytes,
                Segment::Staged(len) => {
                    staged += len;
                    &self.staging[staged - len..staged]
                }
                _ => break,
            };
            let Some(slot) = out.get_mut(n) else { break };
            *slot = IoSlice::new(bytes);
            n += 1;
        }
        n
    }

    /// Records that `n` bytes of the head of the queue were sent.
    ///
    /// # Panics
    /// If `n` is more than the run of byte segments (or the external span) at the head holds:
    /// that is a runtime bug that would desynchronise what the core believes was sent.
    fn advance(&mut self, mut n: usize) {
        while n > 0 {
            match self.segments.front_mut() {
                Some(Segment::Bytes(bytes)) => {
                    let take = n.min(bytes.len());
                    let _ = bytes.split_to(take);
                    self.buffered -= take;
                    n -= take;
                    if bytes.is_empty() {
                        self.segments.pop_front();
                    }
                }
                Some(Segment::Staged(len)) => {
                    let take = n.min(*len);
                    *len -= take;
                    self.staged_read += take;
                    self.buffered -= take;
                    n -= take;
                    if *len == 0 {
                        self.segments.pop_front();
                    }
                    if self.staged_read == self.staged_committed {
                        // Everything staged was sent: start over at the front.
                        self.staging.drain(..self.staged_read);
                        self.staged_committed -= self.staged_read;
                        self.staged_read = 0;
                    }
                }
                Some(Segment::External(len)) => {
                    let take = (n as u64).min(*len);
                    *len -= take;
                    n -= take as usize;
                    if *len == 0 {
                        self.segments.pop_front();
                    }
                    // A span is reported on its own: never spill into what follows it.
                    assert!(n == 0, "advance_transmit past the end of an external span");
                }
                _ => panic!("advance_transmit by more than was transmitted"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stage(queue: &mut OutQueue, text: &[u8]) {
        queue.scratch().extend_from_slice(text);
        queue.commit_scratch();
    }

    /// Drains with writes of at most `step` bytes; returns what was written.
    fn drain(queue: &mut OutQueue, step: usize) -> Vec<u8> {
        let mut out = Vec::new();
        while let Some(Transmit::Bytes(bytes)) = queue.peek() {
            let n = bytes.len().min(step);
            out.extend_from_slice(&bytes[..n]);
            queue.advance(n);
        }
        out
    }

    #[test]
    fn staged_and_owned_bytes_keep_their_order_under_partial_writes() {
        for step in [1, 2, 3, 5, 100] {
            let mut queue = OutQueue::default();
            stage(&mut queue, b"head\r\n");
            queue.push(Bytes::from_static(b"body"));
            stage(&mut queue, b"3\r\n");
            stage(&mut queue, b"");
            queue.push(Bytes::from_static(b"abc"));
            assert_eq!(queue.buffered(), 16);
            let mut slices = [IoSlice::new(&[]); 8];
            let n = queue.fill_io_slices(&mut slices);
            let joined: Vec<u8> = slices[..n].iter().flat_map(|s| s.to_vec()).collect();
            assert_eq!(joined, b"head\r\nbody3\r\nabc");
            assert_eq!(
                drain(&mut queue, step),
                b"head\r\nbody3\r\nabc",
                "step {step}"
            );
            assert_eq!(queue.buffered(), 0);
            assert!(queue.is_empty());
            // The staging buffer starts over once everything in it was sent.
            stage(&mut queue, b"next");
            assert_eq!(queue.peek(), Some(Transmit::Bytes(b"next")));
        }
    }

    #[test]
    fn io_slices_follow_a_partly_sent_staged_segment() {
        let mut queue = OutQueue::default();
        stage(&mut queue, b"abcdef");
        stage(&mut queue, b"gh");
        queue.advance(4);
        let mut slices = [IoSlice::new(&[]); 4];
        let n = queue.fill_io_slices(&mut slices);
        assert_eq!(n, 2);
        assert_eq!(&*slices[0], b"ef");
        assert_eq!(&*slices[1], b"gh");
    }
}
