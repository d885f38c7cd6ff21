//! The connection's state machine as data: every state, and every transition as one row of
//! [`ROWS`]. Nothing else changes a state: [`Machine`]'s fields are private to this module,
//! and [`Machine::step`] moves them only along a row (h11's rule: everything that changes
//! state lives in one place).
//!
//! A connection has three sides, each in one state at a time: the **read** side (which part
//! of a request is parsed), the **write** side (which part of a response is written) and the
//! **conn** side (whether our end of the socket is open, lingering after its shutdown, or
//! closed). An input moves every side that has rows for it; a side without a row for that
//! input stays where it is. A side that has rows for the input but none for its current
//! state is a bug in the caller: a debug build stops there, a release build aborts the
//! connection (the `abort` rows) rather than go on in a state the table does not know.
//!
//! What an input *is* (which bytes, call or deadline) is decided by
//! [`ServerConnection`](crate::ServerConnection) from facts that are not states (whether the
//! request asked for keep-alive, whether the peer already closed); what it *does* to the
//! states is only here. The `output` column lists what the connection emits along the way.
//!
//! # The table
//!
//! Generated from [`ROWS`]; a unit test fails when the two differ.
//!
//! | side | from | input | to | output |
//! |---|---|---|---|---|
//! | read | head | head, no body | done | `Request`, `EndOfRequest` |
//! | write | idle | head, no body | pending | a response is owed |
//! | read | head | head, body | body | `Request`; `Body` events follow |
//! | write | idle | head, body | pending | a response is owed |
//! | read | head | head, 100-continue | body | `Request`; the client waits for `100 Continue` |
//! | write | idle | head, 100-continue | pending | a response is owed; `send_continue` may come first |
//! | read | body | body end | done | `EndOfRequest`; pipelined bytes wait for the response |
//! | read | discard | body end | head | the next head is parsed |
//! | read | head | request error | closed | `RequestError`; nothing more is parsed |
//! | read | body | request error | closed | `RequestError`; nothing more is parsed |
//! | write | idle | request error | pending | the error is answered |
//! | write | pending | request error | pending | the answer owed now answers the error |
//! | write | body | request error | body | the response goes on, then the connection closes |
//! | write | finished | request error | finished | the response drains, then the connection closes |
//! | read | discard | discard fails | closed | none: the response already went out |
//! | write | idle | discard fails | closed | `Shutdown` queued |
//! | read | head | peer EOF | closed | `PeerClosed` |
//! | write | idle | peer EOF | closed | `Shutdown` queued |
//! | read | head | blank line | closed | none: CPython closes without a reply |
//! | write | idle | blank line | closed | `Shutdown` queued |
//! | read | head | idle timeout | closed | `Timeout` |
//! | write | idle | idle timeout | closed | `Shutdown` queued |
//! | read | head | `close_after_response` | closed | none |
//! | write | idle | `close_after_response` | closed | `Shutdown` queued |
//! | write | pending | `send_continue` | pending | `100 Continue` queued |
//! | write | pending | `send_response` | body | the head is queued (nothing for HTTP/0.9) |
//! | write | body | `finish_response` | finished | the end of the body is queued |
//! | write | finished | sent, keep-alive | idle | `ResponseComplete { keep_alive: true }` |
//! | read | body | sent, keep-alive | discard | the rest of the body is read and dropped |
//! | read | done | sent, keep-alive | head | pipelined bytes are parsed |
//! | write | finished | sent, close | closed | `ResponseComplete { keep_alive: false }`, `Shutdown` queued |
//! | read | body | sent, close | closed | the rest of the body is never read |
//! | read | done | sent, close | closed | pipelined bytes are dropped |
//! | read | closed | sent, close | closed | none |
//! | conn | open | shutdown sent | lingering | `Transmit::Shutdown`; the linger deadline is armed |
//! | conn | open | shutdown, EOF seen | closed | `Transmit::Shutdown`; nothing left to wait for |
//! | conn | lingering | EOF while lingering | closed | the runtime closes the socket |
//! | conn | lingering | linger timeout | closed | the runtime closes the socket |
//! | read | any | abort | closed | buffered input is dropped |
//! | write | any | abort | closed | queued output is dropped |
//! | conn | any | abort | closed | every deadline is cleared |
//!
//! # The inputs
//!
//! | input | when |
//! |---|---|
//! | head, no body | a request head without a body is parsed |
//! | head, body | a request head announcing a body is parsed |
//! | head, 100-continue | a request head announcing a body and `Expect: 100-continue` is parsed |
//! | body end | the last byte of a request body is decoded (or of an unread one, discarded) |
//! | request error | bad bytes, a truncated message, a header or body read timeout |
//! | discard fails | an unread body is too long, malformed, cut short or too slow to discard |
//! | peer EOF | the peer closes between requests |
//! | blank line | a whitespace-only request line (compat mode) |
//! | idle timeout | no request began in time (the idle or header read deadline) |
//! | `close_after_response` | the application closes a connection that sits between requests |
//! | `send_continue` | the application sends `100 Continue` |
//! | `send_response` | the application starts its response |
//! | `finish_response` | the application ends its response |
//! | sent, keep-alive | the last byte of a response is written, and another request may follow |
//! | sent, close | the last byte of a response is written, and the connection ends |
//! | shutdown sent | the runtime takes our shutdown from `poll_transmit` |
//! | shutdown, EOF seen | the runtime takes our shutdown after the peer already closed |
//! | EOF while lingering | the peer closes after our shutdown |
//! | linger timeout | the peer did not close within the linger deadline |
//! | abort | the application gives up on the connection (and the error path of a bug) |

use ConnState as C;
use Input as I;
use ReadState as R;
use WriteState as W;

use crate::state::{ReadState, WriteState};
use lookup::{CONN_NEXT, MOVES, READ_NEXT, WRITE_NEXT};

/// Whether our end of the connection is open, lingering after its shutdown, or closed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ConnState {
    /// Our shutdown has not been handed to the runtime.
    Open,
    /// Our shutdown went out; what the peer still sends is drained until it closes too.
    Lingering,
    /// The connection is over.
    Closed,
}

/// One of the three sides of a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Side {
    Read,
    Write,
    Conn,
}

/// A state of one side, as a row names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Phase {
    Read(ReadState),
    Write(WriteState),
    Conn(ConnState),
}

/// What happens to a connection. Labels and causes are in the module's inputs table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Input {
    Head,
    HeadWithBody,
    HeadExpectingContinue,
    BodyEnd,
    BadRequest,
    DiscardFailed,
    PeerEof,
    BlankLine,
    IdleTimeout,
    CloseIdle,
    Continue,
    ResponseHead,
    ResponseEnd,
    Sent,
    SentClose,
    ShutdownSent,
    ShutdownAfterEof,
    LingerEof,
    LingerTimeout,
    Abort,
}

/// One transition: `input` moves `to`'s side from `from` (any state when `None`) to `to`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Row {
    pub(crate) from: Option<Phase>,
    pub(crate) input: Input,
    pub(crate) to: Phase,
    /// What the connection emits along the way (markdown, for the docs table).
    #[cfg_attr(
        not(test),
        expect(dead_code, reason = "read by the test that renders the docs table")
    )]
    pub(crate) output: &'static str,
}

/// Where a connection stands: one state per side. It changes only through [`Self::step`].
#[derive(Debug)]
pub(crate) struct Machine {
    read: ReadState,
    write: WriteState,
    conn: ConnState,
    /// Every step taken (the states before it, and its input), for the tests that walk the
    /// table.
    #[cfg(test)]
    trail: Vec<([Phase; 3], Input)>,
}

const fn row(from: Phase, input: Input, to: Phase, output: &'static str) -> Row {
    Row {
        from: Some(from),
        input,
        to,
        output,
    }
}

const fn any(input: Input, to: Phase, output: &'static str) -> Row {
    Row {
        from: None,
        input,
        to,
        output,
    }
}

const fn r(state: ReadState) -> Phase {
    Phase::Read(state)
}

const fn w(state: WriteState) -> Phase {
    Phase::Write(state)
}

const fn c(state: ConnState) -> Phase {
    Phase::Conn(state)
}

const OWED: &str = "a response is owed";
const SHUTDOWN: &str = "`Shutdown` queued";
const PARSED_NO_MORE: &str = "`RequestError`; nothing more is parsed";
const GONE: &str = "the runtime closes the socket";

/// Every transition of a connection, in the order of an exchange.
#[rustfmt::skip] // One row per line, as in the docs table.
pub(crate) const ROWS: &[Row] = &[
    // A request head arrives.
    row(r(R::Head),      I::Head,                  r(R::Done),      "`Request`, `EndOfRequest`"),
    row(w(W::Idle),      I::Head,                  w(W::Pending),   OWED),
    row(r(R::Head),      I::HeadWithBody,          r(R::Body),      "`Request`; `Body` events follow"),
    row(w(W::Idle),      I::HeadWithBody,          w(W::Pending),   OWED),
    row(r(R::Head),      I::HeadExpectingContinue, r(R::Body),      "`Request`; the client waits for `100 Continue`"),
    row(w(W::Idle),      I::HeadExpectingContinue, w(W::Pending),   "a response is owed; `send_continue` may come first"),
    // Its body ends: read, or discarded after the response.
    row(r(R::Body),      I::BodyEnd,               r(R::Done),      "`EndOfRequest`; pipelined bytes wait for the response"),
    row(r(R::Discard),   I::BodyEnd,               r(R::Head),      "the next head is parsed"),
    // The peer breaks the protocol: the application may still answer.
    row(r(R::Head),      I::BadRequest,            r(R::Closed),    PARSED_NO_MORE),
    row(r(R::Body),      I::BadRequest,            r(R::Closed),    PARSED_NO_MORE),
    row(w(W::Idle),      I::BadRequest,            w(W::Pending),   "the error is answered"),
    row(w(W::Pending),   I::BadRequest,            w(W::Pending),   "the answer owed now answers the error"),
    row(w(W::Body),      I::BadRequest,            w(W::Body),      "the response goes on, then the connection closes"),
    row(w(W::Finished),  I::BadRequest,            w(W::Finished),  "the response drains, then the connection closes"),
    // Closing between requests, without a response.
    row(r(R::Discard),   I::DiscardFailed,         r(R::Closed),    "none: the response already went out"),
    row(w(W::Idle),      I::DiscardFailed,         w(W::Closed),    SHUTDOWN),
    row(r(R::Head),      I::PeerEof,               r(R::Closed),    "`PeerClosed`"),
    row(w(W::Idle),      I::PeerEof,               w(W::Closed),    SHUTDOWN),
    row(r(R::Head),      I::BlankLine,             r(R::Closed),    "none: CPython closes without a reply"),
    row(w(W::Idle),      I::BlankLine,             w(W::Closed),    SHUTDOWN),
    row(r(R::Head),      I::IdleTimeout,           r(R::Closed),    "`Timeout`"),
    row(w(W::Idle),      I::IdleTimeout,           w(W::Closed),    SHUTDOWN),
    row(r(R::Head),      I::CloseIdle,             r(R::Closed),    "none"),
    row(w(W::Idle),      I::CloseIdle,             w(W::Closed),    SHUTDOWN),
    // The application answers.
    row(w(W::Pending),   I::Continue,              w(W::Pending),   "`100 Continue` queued"),
    row(w(W::Pending),   I::ResponseHead,          w(W::Body),      "the head is queued (nothing for HTTP/0.9)"),
    row(w(W::Body),      I::ResponseEnd,           w(W::Finished),  "the end of the body is queued"),
    // The response's last byte is written.
    row(w(W::Finished),  I::Sent,                  w(W::Idle),      "`ResponseComplete { keep_alive: true }`"),
    row(r(R::Body),      I::Sent,                  r(R::Discard),   "the rest of the body is read and dropped"),
    row(r(R::Done),      I::Sent,                  r(R::Head),      "pipelined bytes are parsed"),
    row(w(W::Finished),  I::SentClose,             w(W::Closed),    "`ResponseComplete { keep_alive: false }`, `Shutdown` queued"),
    row(r(R::Body),      I::SentClose,             r(R::Closed),    "the rest of the body is never read"),
    row(r(R::Done),      I::SentClose,             r(R::Closed),    "pipelined bytes are dropped"),
    row(r(R::Closed),    I::SentClose,             r(R::Closed),    "none"),
    // Our shutdown goes out, then the connection ends.
    row(c(C::Open),      I::ShutdownSent,          c(C::Lingering), "`Transmit::Shutdown`; the linger deadline is armed"),
    row(c(C::Open),      I::ShutdownAfterEof,      c(C::Closed),    "`Transmit::Shutdown`; nothing left to wait for"),
    row(c(C::Lingering), I::LingerEof,             c(C::Closed),    GONE),
    row(c(C::Lingering), I::LingerTimeout,         c(C::Closed),    GONE),
    // At any time.
    any(I::Abort,                                  r(R::Closed),    "buffered input is dropped"),
    any(I::Abort,                                  w(W::Closed),    "queued output is dropped"),
    any(I::Abort,                                  c(C::Closed),    "every deadline is cleared"),
];

impl Input {
    /// Every input, in the order of the enum (checked at compile time).
    pub(crate) const ALL: [Self; 20] = [
        Self::Head,
        Self::HeadWithBody,
        Self::HeadExpectingContinue,
        Self::BodyEnd,
        Self::BadRequest,
        Self::DiscardFailed,
        Self::PeerEof,
        Self::BlankLine,
        Self::IdleTimeout,
        Self::CloseIdle,
        Self::Continue,
        Self::ResponseHead,
        Self::ResponseEnd,
        Self::Sent,
        Self::SentClose,
        Self::ShutdownSent,
        Self::ShutdownAfterEof,
        Self::LingerEof,
        Self::LingerTimeout,
        Self::Abort,
    ];

    /// Its name in the tables and the crate's state diagram.
    #[cfg(test)]
    pub(crate) fn label(self) -> &'static str {
        self.describe().0
    }

    /// What makes it happen.
    #[cfg(test)]
    pub(crate) fn cause(self) -> &'static str {
        self.describe().1
    }

    #[cfg(test)]
    fn describe(self) -> (&'static str, &'static str) {
        match self {
            Self::Head => ("head, no body", "a request head without a body is parsed"),
            Self::HeadWithBody => ("head, body", "a request head announcing a body is parsed"),
            Self::HeadExpectingContinue => (
                "head, 100-continue",
                "a request head announcing a body and `Expect: 100-continue` is parsed",
            ),
            Self::BodyEnd => (
                "body end",
                "the last byte of a request body is decoded (or of an unread one, discarded)",
            ),
            Self::BadRequest => (
                "request error",
                "bad bytes, a truncated message, a header or body read timeout",
            ),
            Self::DiscardFailed => (
                "discard fails",
                "an unread body is too long, malformed, cut short or too slow to discard",
            ),
            Self::PeerEof => ("peer EOF", "the peer closes between requests"),
            Self::BlankLine => ("blank line", "a whitespace-only request line (compat mode)"),
            Self::IdleTimeout => (
                "idle timeout",
                "no request began in time (the idle or header read deadline)",
            ),
            Self::CloseIdle => (
                "close_after_response",
                "the application closes a connection that sits between requests",
            ),
            Self::Continue => ("send_continue", "the application sends `100 Continue`"),
            Self::ResponseHead => ("send_response", "the application starts its response"),
            Self::ResponseEnd => ("finish_response", "the application ends its response"),
            Self::Sent => (
                "sent, keep-alive",
                "the last byte of a response is written, and another request may follow",
            ),
            Self::SentClose => (
                "sent, close",
                "the last byte of a response is written, and the connection ends",
            ),
            Self::ShutdownSent => (
                "shutdown sent",
                "the runtime takes our shutdown from `poll_transmit`",
            ),
            Self::ShutdownAfterEof => (
                "shutdown, EOF seen",
                "the runtime takes our shutdown after the peer already closed",
            ),
            Self::LingerEof => ("EOF while lingering", "the peer closes after our shutdown"),
            Self::LingerTimeout => (
                "linger timeout",
                "the peer did not close within the linger deadline",
            ),
            Self::Abort => (
                "abort",
                "the application gives up on the connection (and the error path of a bug)",
            ),
        }
    }
}

#[cfg(test)]
impl ConnState {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Lingering => "lingering",
            Self::Closed => "closed",
        }
    }
}

#[cfg(test)]
impl Side {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Read => "read",
            Self::Write => "write",
            Self::Conn => "conn",
        }
    }
}

impl Phase {
    /// Every state of every side, side by side, each side's in the order of its enum.
    pub(crate) const ALL: [Self; 13] = [
        r(R::Head),
        r(R::Body),
        r(R::Discard),
        r(R::Done),
        r(R::Closed),
        w(W::Idle),
        w(W::Pending),
        w(W::Body),
        w(W::Finished),
        w(W::Closed),
        c(C::Open),
        c(C::Lingering),
        c(C::Closed),
    ];

    pub(crate) const fn side(self) -> Side {
        match self {
            Self::Read(_) => Side::Read,
            Self::Write(_) => Side::Write,
            Self::Conn(_) => Side::Conn,
        }
    }

    #[cfg(test)]
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Read(state) => state.name(),
            Self::Write(state) => state.name(),
            Self::Conn(state) => state.name(),
        }
    }
}

impl Machine {
    /// A connection just accepted: waiting for a head, nothing to answer, open.
    pub(crate) fn new() -> Self {
        Self {
            read: R::Head,
            write: W::Idle,
            conn: C::Open,
            #[cfg(test)]
            trail: Vec::new(),
        }
    }

    pub(crate) fn read(&self) -> ReadState {
        self.read
    }

    pub(crate) fn write(&self) -> WriteState {
        self.write
    }

    pub(crate) fn conn(&self) -> ConnState {
        self.conn
    }

    /// Moves every side along its row for `input`. Returns `false`, changing nothing, when a
    /// side has rows for `input` but none for its state: a bug in the caller, which debug
    /// builds stop at.
    #[inline]
    pub(crate) fn step(&mut self, input: Input) -> bool {
        let i = input as usize;
        let [moves_read, moves_write, moves_conn] = MOVES[i];
        // The tables hold the same for a side without rows; skipping them is only cheaper.
        let next = (
            if moves_read {
                READ_NEXT[self.read as usize][i]
            } else {
                Some(self.read)
            },
            if moves_write {
                WRITE_NEXT[self.write as usize][i]
            } else {
                Some(self.write)
            },
            if moves_conn {
                CONN_NEXT[self.conn as usize][i]
            } else {
                Some(self.conn)
            },
        );
        let (Some(read), Some(write), Some(conn)) = next else {
            debug_assert!(false, "no row for {input:?} in {self:?}");
            return false;
        };
        #[cfg(test)]
        self.trail
            .push(([r(self.read), w(self.write), c(self.conn)], input));
        self.read = read;
        self.write = write;
        self.conn = conn;
        true
    }

    /// The steps taken since the last call, oldest first.
    #[cfg(test)]
    pub(crate) fn take_trail(&mut self) -> Vec<([Phase; 3], Input)> {
        std::mem::take(&mut self.trail)
    }
}

mod lookup;
#[cfg(test)]
mod tests;
