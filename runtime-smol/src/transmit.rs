//! Moving bytes between a socket and the core, one non-blocking step at a time: a read into
//! the core's receive buffer, a vectored write of its queued segments, a `sendfile` for a
//! file span, a shutdown. The connection runs the steps inside `Async::read_with` /
//! `write_with`, which turn `WouldBlock` into waiting for the reactor.

use std::io::{self, IoSlice, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::time::Instant;

use protocol::{ServerConnection, Transmit};

use crate::connection::FileSpan;

/// Most segments handed to one `writev`.
const MAX_SLICES: usize = 16;

/// What one write step did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Step {
    /// Something went out (or the write side was shut); there may be more.
    Progress,
    /// Nothing is queued.
    Empty,
}

/// What `poll_transmit` asked for, without its borrow of the core.
enum Next {
    Bytes,
    External(u64),
    Shutdown,
}

/// Reads once from `socket` into the core's receive buffer. `Ok(0)` is the end of stream
/// (not yet reported to the core).
pub(crate) fn read_into(core: &mut ServerConnection, mut socket: &TcpStream) -> io::Result<usize> {
    let result = socket.read(core.recv_buf());
    // The room is returned on failure too, so the core never keeps a stale reservation.
    let n = *result.as_ref().unwrap_or(&0);
    core.commit_recv(n, Instant::now());
    result
}

/// Performs the next thing the core transmits, once. `WouldBlock` means the socket is full.
pub(crate) fn write_step(
    core: &mut ServerConnection,
    file: &mut Option<FileSpan>,
    mut socket: &TcpStream,
) -> io::Result<Step> {
    let next = match core.poll_transmit() {
        None => return Ok(Step::Empty),
        Some(Transmit::Bytes(_)) => Next::Bytes,
        Some(Transmit::External(len)) => Next::External(len),
        Some(Transmit::Shutdown | _) => Next::Shutdown,
    };
    match next {
        Next::Bytes => {
            let mut slices = [IoSlice::new(&[]); MAX_SLICES];
            let count = core.fill_io_slices(&mut slices);
            let n = match socket.write_vectored(&slices[..count]) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => return Ok(Step::Progress),
                Err(e) => return Err(e),
            };
            core.advance_transmit(n);
        }
        Next::External(len) => {
            let span = file
                .as_mut()
                .ok_or_else(|| io::Error::other("external span without a file"))?;
            let sent =
                runtime_std::sendfile::send_span(&mut socket, &span.file, &mut span.offset, len)?;
            if sent == 0 {
                // The file shrank after it was measured: the promised length cannot be kept.
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
            if sent as u64 >= len {
                // The span is out: an idle keep-alive connection keeps no descriptor open.
                *file = None;
            }
            core.advance_transmit(sent);
        }
        Next::Shutdown => {
            // Reading continues (and discards) until the peer closes or the linger ends.
            let _ = socket.shutdown(Shutdown::Write);
        }
    }
    Ok(Step::Progress)
}
