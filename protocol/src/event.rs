//! What the connection tells the application, drained with
//! [`ServerConnection::poll_event`](crate::ServerConnection::poll_event).

use bytes::Bytes;

use crate::{Headers, RequestError, RequestHead};

/// Which deadline expired.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TimeoutKind {
    /// The head of a request did not arrive completely in time (slowloris).
    HeaderRead,
    /// A kept-alive connection sent nothing for too long.
    Idle,
    /// The request body stalled.
    BodyRead,
    /// The peer did not close after our shutdown (lingering close ended).
    Linger,
}

impl std::fmt::Display for TimeoutKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::HeaderRead => "header read",
            Self::Idle => "idle keep-alive",
            Self::BodyRead => "body read",
            Self::Linger => "lingering close",
        })
    }
}

/// Something that happened on the connection.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// A complete request head. Exactly one response must follow.
    Request(RequestHead),
    /// A piece of the decoded request body (a slice of the receive buffer, not a copy).
    Body(Bytes),
    /// The request body is complete; trailers of a chunked body, if any.
    EndOfRequest {
        /// Trailer fields (empty unless the body was chunked and carried some).
        trailers: Headers,
    },
    /// The peer sent something unacceptable. Nothing more is read; the application may still
    /// answer (with [`RequestError::status_hint`]) before the connection closes.
    RequestError(RequestError),
    /// The connection was idle too long between requests and is closing without a response.
    Timeout(TimeoutKind),
    /// The peer closed its side between requests.
    PeerClosed,
    /// A response was written out completely (every byte accounted for by `advance_transmit`).
    ResponseComplete {
        /// Whether the connection will carry another request.
        keep_alive: bool,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_moves_without_a_call_to_memcpy() {
        // Events are moved through the queue several times per request; up to 128 bytes a
        // move is a few vector loads and stores (see the layout of `RequestHead`).
        assert!(size_of::<Event>() <= 128, "{}", size_of::<Event>());
    }
}
