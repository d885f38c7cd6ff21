//! A read-only summary of where a connection stands ([`ServerConnection::state`]), for
//! tracing, teaching and tests. It changes nothing and costs nothing until asked for.
//! Every transition between these states is a row of the table in `machine.rs`, pictured in
//! the crate docs.
//!
//! [`ServerConnection::state`]: crate::ServerConnection::state

use std::fmt;

/// The receive side of a [`State`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ReadState {
    /// Waiting for, or in the middle of, a request head.
    Head,
    /// Decoding a request body.
    Body,
    /// The response went out before the request body was read: the rest of the body is
    /// read and dropped, so that the next request can be found after it.
    Discard,
    /// The request was read completely; pipelined bytes wait for its response.
    Done,
    /// Nothing more is parsed (after an error, or while closing).
    Closed,
}

/// The send side of a [`State`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum WriteState {
    /// No request to answer.
    Idle,
    /// A request (or a request error) waits for a response head.
    Pending,
    /// The head was queued; the body is being written.
    Body,
    /// The response is queued completely and drains to the socket.
    Finished,
    /// No more output.
    Closed,
}

/// Where a connection stands: its two sides, and whether it is lingering (our side shut
/// down, draining the peer) or closed. `Display` gives `read=head write=idle`,
/// `read=closed write=closed lingering`, `closed`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct State {
    /// The receive side.
    pub read: ReadState,
    /// The send side.
    pub write: WriteState,
    /// Our shutdown went out; input is only drained now.
    pub lingering: bool,
    /// The connection is over.
    pub closed: bool,
}

impl ReadState {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Head => "head",
            Self::Body => "body",
            Self::Discard => "discard",
            Self::Done => "done",
            Self::Closed => "closed",
        }
    }
}

impl WriteState {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Idle => "idle",
            Self::Pending => "pending",
            Self::Body => "body",
            Self::Finished => "finished",
            Self::Closed => "closed",
        }
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.closed {
            return f.write_str("closed");
        }
        write!(f, "read={} write={}", self.read.name(), self.write.name())?;
        if self.lingering {
            f.write_str(" lingering")?;
        }
        Ok(())
    }
}
