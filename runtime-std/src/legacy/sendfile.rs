//! Moving the core's output to a socket: queued bytes with one vectored write, and a span of a
//! file with `sendfile(2)` where the kernel can, `pread` + `write` where it cannot (special
//! files, filesystems without splice support). Blocking and non-blocking sockets alike.
//!
//! `std::io::copy` from a `File` to a `TcpStream` does not use sendfile (measured: 8 KiB
//! read/sendto pairs), so the span is moved with rustix, which keeps this crate free of
//! `unsafe`.

use std::fs::File;
use std::io::{self, Write};
use std::os::unix::fs::FileExt;

use rustix::io::Errno;

/// The file behind the external span being sent, and how far into it the span has got.
#[derive(Debug)]
pub struct FileSpan {
    /// The open file (opened while planning, so what was measured is what is sent).
    pub file: File,
    /// The next byte to send.
    pub offset: u64,
}

/// What the core wants done with the socket next, detached from the core's borrow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// Write queued bytes ([`write_queued`]).
    Bytes,
    /// Send this many bytes of the current [`FileSpan`] ([`send_span`]).
    External(u64),
    /// Shut down the write side.
    Shutdown,
}

/// The core's next transmit, if any.
pub fn next_transmit(core: &mut protocol::ServerConnection) -> Option<Next> {
    Some(match core.poll_transmit()? {
        protocol::Transmit::Bytes(_) => Next::Bytes,
        protocol::Transmit::External(n) => Next::External(n),
        // A transmit this runtime does not know is safest treated as the end of output.
        protocol::Transmit::Shutdown | _ => Next::Shutdown,
    })
}

/// How many queued segments one vectored write takes.
const MAX_SLICES: usize = 64;

/// Writes the run of queued bytes at the head of `core`'s output with one vectored write and
/// reports what went out. A `WouldBlock` from a non-blocking socket is returned as is.
pub fn write_queued<S: Write>(
    core: &mut protocol::ServerConnection,
    mut socket: S,
) -> io::Result<()> {
    let mut slices = [io::IoSlice::new(&[]); MAX_SLICES];
    let count = core.fill_io_slices(&mut slices);
    let n = loop {
        match socket.write_vectored(&slices[..count]) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => break n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    };
    core.advance_transmit(n);
    Ok(())
}

/// The largest single sendfile call; Linux caps one call at about 2 GiB anyway.
const MAX_CHUNK: u64 = 1 << 30;

/// Sends up to `len` bytes of `file` from `*offset` to `socket` (one system call's worth) and
/// advances `*offset`. Returns how many bytes were sent; `Ok(0)` means the file ended early
/// (it shrank since it was measured).
pub fn send_span<S: Write + std::os::fd::AsFd>(
    socket: &mut S,
    file: &File,
    offset: &mut u64,
    len: u64,
) -> io::Result<usize> {
    let count = len.min(MAX_CHUNK) as usize;
    loop {
        let mut off = *offset;
        match rustix::fs::sendfile(&*socket, file, Some(&mut off), count) {
            Ok(n) => {
                *offset = off;
                return Ok(n);
            }
            Err(Errno::INTR) => {}
            Err(Errno::INVAL | Errno::NOSYS | Errno::OPNOTSUPP) => {
                return copy_span(socket, file, offset, count);
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// The fallback: read a piece at `offset` and write it once. A partial write is fine (the
/// caller asks again for the rest); `write_all` is not, because on a non-blocking socket it
/// would fail after sending part of the piece and the caller would send that part twice.
fn copy_span<S: Write>(
    socket: &mut S,
    file: &File,
    offset: &mut u64,
    count: usize,
) -> io::Result<usize> {
    let mut buf = vec![0; count.min(64 * 1024)];
    let n = file.read_at(&mut buf, *offset)?;
    if n == 0 {
        return Ok(0);
    }
    let written = socket.write(&buf[..n])?;
    *offset += written as u64;
    Ok(written)
}
