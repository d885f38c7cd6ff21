//! The output queue: response bytes waiting for the socket, external spans the runtime sends
//! itself (sendfile), and markers for where a response ends and where the connection shuts.
//!
//! The runtime reports exactly how much reached the socket with `advance_transmit`, so the
//! core always knows what was sent; a response counts as complete only once its last byte has.

use std::collections::VecDeque;
use std::io::IoSlice;

use bytes::{Bytes, BytesMut};

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

/// Queued output, in order.
#[derive(Debug, Default)]
pub(crate) struct OutQueue {
    segments: VecDeque<Segment>,
    /// Bytes held in `Bytes` segments (external spans cost no memory).
    buffered: usize,
    /// Where heads and chunk-size lines are formatted before being queued.
    scratch: BytesMut,
}

impl OutQueue {
    /// Queues owned bytes.
    pub(crate) fn push(&mut self, bytes: Bytes) {
        if !bytes.is_empty() {
            self.buffered += bytes.len();
            self.segments.push_back(Segment::Bytes(bytes));
        }
    }

    /// Queues an external span.
    pub(crate) fn push_external(&mut self, len: u64) {
        if len > 0 {
            self.segments.push_back(Segment::External(len));
        }
    }

    /// Marks the end of a response.
    pub(crate) fn push_end_of_response(&mut self) {
        self.segments.push_back(Segment::EndOfResponse);
    }

    /// Queues the shutdown of the write side.
    pub(crate) fn push_shutdown(&mut self) {
        self.segments.push_back(Segment::Shutdown);
    }

    /// A buffer to format into; queue it with [`Self::commit_scratch`].
    pub(crate) fn scratch(&mut self) -> &mut BytesMut {
        &mut self.scratch
    }

    /// Queues what was formatted into the scratch buffer.
    pub(crate) fn commit_scratch(&mut self) {
        let bytes = self.scratch.split().freeze();
        self.push(bytes);
    }

    /// Bytes waiting in memory.
    pub(crate) fn buffered(&self) -> usize {
        self.buffered
    }

    /// Whether nothing at all is queued.
    pub(crate) fn is_empty(&self) -> bool {
        self.segments.is_empty()
    }

    /// Removes a marker at the head of the queue, if there is one.
    pub(crate) fn pop_marker(&mut self) -> Option<Marker> {
        match self.segments.front() {
            Some(Segment::EndOfResponse) => {
                self.segments.pop_front();
                Some(Marker::EndOfResponse)
            }
            _ => None,
        }
    }

    /// Removes a shutdown at the head of the queue; returns whether there was one.
    pub(crate) fn pop_shutdown(&mut self) -> bool {
        let found = matches!(self.segments.front(), Some(Segment::Shutdown));
        if found {
            self.segments.pop_front();
        }
        found
    }

    /// The next bytes or span to send. Markers and shutdowns must be popped first.
    pub(crate) fn peek(&self) -> Option<Transmit<'_>> {
        match self.segments.front()? {
            Segment::Bytes(b) => Some(Transmit::Bytes(b)),
            Segment::External(n) => Some(Transmit::External(*n)),
            Segment::Shutdown | Segment::EndOfResponse => None,
        }
    }

    /// Fills `out` with the run of byte segments at the head of the queue.
    pub(crate) fn fill_io_slices<'a>(&'a self, out: &mut [IoSlice<'a>]) -> usize {
        let mut n = 0;
        for segment in &self.segments {
            let Segment::Bytes(bytes) = segment else {
                break;
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
    pub(crate) fn advance(&mut self, mut n: usize) {
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

    /// Drops everything queued.
    pub(crate) fn clear(&mut self) {
        self.segments.clear();
        self.buffered = 0;
    }
}
