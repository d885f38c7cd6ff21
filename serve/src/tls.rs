//! HTTPS: a TLS session between the socket and the protocol core, as sans-IO as the rest.
//! Ciphertext from the socket goes in through [`Tls::receive`], which hands back plaintext
//! for the core; plaintext from the core (queued bytes, or a file span the runtime read with
//! [`Transmit::ReadFile`](crate::Transmit::ReadFile)) goes in through [`Tls::encrypt`], and
//! the ciphertext waits in an output buffer the runtime writes like any queued bytes.
//!
//! Before the first TLS record, a first byte that is not a handshake record (`0x16`) is plain
//! HTTP sent to the HTTPS port: it is answered with a plaintext `400`, as nginx does, and the
//! connection closes.

use std::io::{IoSlice, Read, Write};
use std::sync::Arc;
use std::time::Instant;

/// The content type of a TLS handshake record: the first byte a TLS client sends.
const HANDSHAKE_RECORD: u8 = 0x16;

/// Room offered to one socket read: a TLS record and a bit.
const RECV_ROOM: usize = 18 * 1024;

/// The most plaintext encrypted at once; the runtime writes it out before more is taken.
pub(crate) const ENCRYPT_CHUNK: usize = 64 * 1024;

/// nginx's answer to plain HTTP on an HTTPS port.
const PLAIN_HTTP_REPLY: &[u8] = b"HTTP/1.1 400 Bad Request\r\n\
Content-Type: text/plain\r\n\
Content-Length: 48\r\n\
Connection: close\r\n\
\r\n\
The plain HTTP request was sent to HTTPS port.\r\n";

/// Where the session is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    /// Nothing received yet, or the handshake is under way.
    Handshaking,
    /// The handshake is done: application data flows.
    Open,
    /// The client spoke plain HTTP: a plaintext 400 goes out, then the connection closes.
    Rejected,
    /// The session failed (a bad record, an alert): its alert goes out, then it closes.
    Failed,
}

/// What [`Tls::receive`] found wrong.
#[derive(Debug)]
pub(crate) enum Refused {
    /// Plain HTTP on the TLS port.
    PlainHttp,
    /// The TLS layer failed.
    Tls(rustls::Error),
}

/// One TLS session of a connection, with its ciphertext output.
pub(crate) struct Tls {
    session: rustls::ServerConnection,
    /// Ciphertext (or the plaintext 400) waiting for the socket, from `sent` on.
    out: Vec<u8>,
    sent: usize,
    /// Room for socket reads.
    room: Box<[u8]>,
    /// Whether the first byte was seen.
    seen_first: bool,
    phase: Phase,
    /// Drop the connection if the handshake is not done by then.
    deadline: Option<Instant>,
    /// The core's output ended: a `close_notify` was queued, and the shutdown follows it.
    closing: bool,
    /// The shutdown was handed to the runtime.
    shut_down: bool,
}

impl std::fmt::Debug for Tls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tls")
            .field("phase", &self.phase)
            .field("pending", &(self.out.len() - self.sent))
            .field("deadline", &self.deadline)
            .field("closing", &self.closing)
            .finish_non_exhaustive()
    }
}

impl Tls {
    /// A session for a connection accepted at `now`, to be done with its handshake by
    /// `deadline`.
    pub(crate) fn new(
        config: &Arc<rustls::ServerConfig>,
        deadline: Option<Instant>,
    ) -> Result<Self, rustls::Error> {
        let mut session = rustls::ServerConnection::new(Arc::clone(config))?;
        // Backpressure is kept here: plaintext is taken only when the output is written out.
        session.set_buffer_limit(None);
        Ok(Self {
            session,
            out: Vec::new(),
            sent: 0,
            room: vec![0; RECV_ROOM].into_boxed_slice(),
            seen_first: false,
            phase: Phase::Handshaking,
            deadline,
            closing: false,
            shut_down: false,
        })
    }

    pub(crate) fn phase(&self) -> Phase {
        self.phase
    }

    /// The handshake deadline, while the handshake is under way.
    pub(crate) fn deadline(&self) -> Option<Instant> {
        match self.phase {
            Phase::Handshaking | Phase::Rejected | Phase::Failed => self.deadline,
            Phase::Open => None,
        }
    }

    /// Room for one socket read.
    pub(crate) fn recv_buf(&mut self) -> &mut [u8] {
        &mut self.room
    }

    /// The first `n` bytes of [`recv_buf`](Self::recv_buf) came in: decrypts them, appending
    /// plaintext to `plain`.
    pub(crate) fn receive_room(&mut self, n: usize, plain: &mut Vec<u8>) -> Result<(), Refused> {
        let data = std::mem::take(&mut self.room);
        let result = self.receive(&data[..n.min(data.len())], plain);
        self.room = data;
        result
    }

    /// Ciphertext from the socket: decrypts it, appending plaintext to `plain`.
    pub(crate) fn receive(&mut self, mut data: &[u8], plain: &mut Vec<u8>) -> Result<(), Refused> {
        if matches!(self.phase, Phase::Rejected | Phase::Failed) || data.is_empty() {
            // Drained and discarded until the peer closes or the deadline passes.
            return Ok(());
        }
        if !self.seen_first {
            self.seen_first = true;
            if data[0] != HANDSHAKE_RECORD {
                self.phase = Phase::Rejected;
                self.out.clear();
                self.sent = 0;
                self.out.extend_from_slice(PLAIN_HTTP_REPLY);
                self.closing = true;
                return Err(Refused::PlainHttp);
            }
        }
        while !data.is_empty() {
            // Reading from a slice cannot fail; a full session buffer takes 0 bytes, and
            // processing the packets makes room.
            let taken = self.session.read_tls(&mut data).unwrap_or(0);
            let processed = self.session.process_new_packets();
            self.collect();
            if let Err(error) = processed {
                self.phase = Phase::Failed;
                self.closing = true;
                return Err(Refused::Tls(error));
            }
            self.take_plaintext(plain);
            if taken == 0 && !data.is_empty() {
                // No progress: the record layer will not take more (cannot happen with
                // processing in between, but never loop forever).
                self.phase = Phase::Failed;
                self.closing = true;
                return Err(Refused::Tls(rustls::Error::General(
                    "TLS input not accepted".to_owned(),
                )));
            }
        }
        if self.phase == Phase::Handshaking && !self.session.is_handshaking() {
            self.phase = Phase::Open;
        }
        Ok(())
    }

    fn take_plaintext(&mut self, plain: &mut Vec<u8>) {
        let mut chunk = [0u8; 16 * 1024];
        loop {
            match self.session.reader().read(&mut chunk) {
                Ok(0) | Err(_) => return,
                Ok(n) => plain.extend_from_slice(&chunk[..n]),
            }
        }
    }

    /// Moves what the session has to send into the output buffer.
    fn collect(&mut self) {
        while self.session.wants_write() {
            match self.session.write_tls(&mut self.out) {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
        }
    }

    /// Whether ciphertext waits for the socket.
    pub(crate) fn has_output(&self) -> bool {
        self.sent < self.out.len()
    }

    /// Whether more plaintext may be encrypted now (the output was written out).
    pub(crate) fn has_room(&self) -> bool {
        !self.has_output() && self.phase == Phase::Open
    }

    /// Encrypts plaintext from the core; all of it is taken.
    pub(crate) fn encrypt(&mut self, slices: &[IoSlice<'_>]) {
        for slice in slices {
            // With no buffer limit, the writer takes everything.
            let _ = self.session.writer().write_all(slice);
        }
        self.collect();
    }

    /// The core's output ended: queue a `close_notify` (once).
    pub(crate) fn close(&mut self) {
        if !self.closing {
            self.closing = true;
            if self.phase == Phase::Open {
                self.session.send_close_notify();
                self.collect();
            }
        }
    }

    /// Whether the core's output ended (see [`close`](Self::close)).
    pub(crate) fn is_closing(&self) -> bool {
        self.closing
    }

    /// Whether to hand the shutdown to the runtime now: once, after the output is out.
    pub(crate) fn take_shutdown(&mut self) -> bool {
        let due = self.closing && !self.shut_down && !self.has_output();
        self.shut_down |= due;
        due
    }

    /// The output waiting, as one slice.
    pub(crate) fn io_slices<'a>(&'a self, out: &mut [IoSlice<'a>]) -> usize {
        if !self.has_output() || out.is_empty() {
            return 0;
        }
        out[0] = IoSlice::new(&self.out[self.sent..]);
        1
    }

    /// `n` bytes of the output reached the socket.
    pub(crate) fn sent(&mut self, n: usize) {
        self.sent = (self.sent + n).min(self.out.len());
        if self.sent == self.out.len() {
            self.out.clear();
            self.sent = 0;
        }
    }
}

/// What the log says about a refused session.
pub(crate) fn describe(refused: &Refused) -> String {
    match refused {
        Refused::PlainHttp => "The plain HTTP request was sent to HTTPS port".to_owned(),
        Refused::Tls(error) => format!("TLS error: {error}"),
    }
}

#[cfg(test)]
#[path = "tls_tests.rs"]
mod tests;
