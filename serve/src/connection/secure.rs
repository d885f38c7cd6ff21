//! The TLS half of a [`Connection`] (when [`ServerConfig::tls`](crate::ServerConfig::tls) is
//! set): file bytes read by the runtime and encrypted here, and the ciphertext side of the
//! socket.

use std::io::IoSlice;

use super::{Connection, Now};
use crate::io::Transmit;

impl Connection {
    /// Under TLS, bytes of the file span of [`Transmit::ReadFile`], read at its offset: they
    /// are encrypted and leave as [`Transmit::Write`]. An empty `data` means the file shrank:
    /// call [`abort`](Self::abort) instead.
    pub fn handle_file_bytes(&mut self, data: &[u8], now: Now) {
        self.tick(now);
        let Some(tls) = &mut self.tls else {
            return;
        };
        tls.encrypt(&[IoSlice::new(data)]);
        if let Some(trace) = &self.trace {
            let offset = self.file.as_ref().and_then(|f| f.offsets.front().copied());
            trace.sendfile(now.instant, data.len(), offset);
        }
        self.advance_span(data.len());
        self.process();
    }

    /// Ciphertext came in (`data`, or the first `n` bytes of the TLS read room): plaintext
    /// goes on to the core.
    pub(super) fn tls_receive(&mut self, data: Option<&[u8]>, n: usize) {
        let Some(tls) = &mut self.tls else {
            return;
        };
        let mut plain = Vec::new();
        let result = match data {
            Some(data) => tls.receive(data, &mut plain),
            None => tls.receive_room(n, &mut plain),
        };
        self.pace.received(n, self.now.instant);
        if let Err(refused) = result {
            self.log(&crate::tls::describe(&refused));
        }
        if !plain.is_empty() {
            if let Some(trace) = &self.trace {
                trace.received(self.now.instant, &plain);
            }
            self.core.receive(&plain, self.now.instant);
        }
        self.process();
    }

    /// [`poll_transmit`](Self::poll_transmit) under TLS: ciphertext first; then the core's
    /// bytes are encrypted, and a file span is asked for as [`Transmit::ReadFile`].
    pub(super) fn tls_poll_transmit(&mut self) -> Option<Transmit<'_>> {
        loop {
            let tls = self.tls.as_mut()?;
            if tls.has_output() {
                return Some(Transmit::Write);
            }
            if tls.take_shutdown() {
                return Some(Transmit::Shutdown);
            }
            if !tls.has_room() || tls.is_closing() {
                return None;
            }
            let len = match self.core.poll_transmit()? {
                protocol::Transmit::Bytes(_) => {
                    let mut slices = [IoSlice::new(&[]); 64];
                    let count = self.core.fill_io_slices(&mut slices);
                    let mut n = 0;
                    let mut end = 0;
                    while end < count && n < crate::tls::ENCRYPT_CHUNK {
                        n += slices[end].len();
                        end += 1;
                    }
                    tls.encrypt(&slices[..end]);
                    if let Some(trace) = &self.trace {
                        trace.sent(self.now.instant, &slices[..end], n);
                    }
                    if let Some(span) = &mut self.file {
                        span.sending = None;
                    }
                    self.core.advance_transmit(n);
                    continue;
                }
                protocol::Transmit::External(len) => len,
                // Anything else (today only Shutdown) ends the output: close_notify first.
                _ => {
                    tls.close();
                    self.file = None;
                    if let Some(trace) = &mut self.trace {
                        trace.shutdown(self.now.instant);
                        trace.state(self.now.instant, self.core.state());
                    }
                    continue;
                }
            };
            let Some(offset) = self.file.as_ref().and_then(|f| f.offsets.front().copied()) else {
                self.abort();
                return None;
            };
            let span = self.file.as_mut()?;
            span.sending = Some(len);
            return Some(Transmit::ReadFile {
                file: &span.file,
                offset,
                len: len.min(crate::tls::ENCRYPT_CHUNK as u64),
            });
        }
    }
}
