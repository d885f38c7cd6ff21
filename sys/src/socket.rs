//! Moving a [`Connection`]'s bytes through a socket: its output with one vectored write or a
//! `sendfile(2)` span (under TLS, a `pread` of the span for the connection to encrypt), its
//! input straight into the core's buffer. Works on blocking and non-blocking sockets alike: a `WouldBlock` is reported, never retried here.
//!
//! `std::io::copy` from a `File` to a `TcpStream` does not use sendfile (measured: 8 KiB
//! read/sendto pairs), so a span is moved with rustix, which keeps this crate free of
//! `unsafe`.

use std::fs::File;
use std::io::{self, IoSlice, Write};
use std::net::{IpAddr, Shutdown, SocketAddr, TcpStream};
use std::os::unix::fs::FileExt;

use rustix::io::Errno;
use rustix::net::{RecvFlags, SendAncillaryBuffer, SendFlags, sendmsg};
use serve::Now;
use serve::{Connection, Transmit};

/// How many queued segments one vectored write takes.
const MAX_SLICES: usize = 64;

/// The largest single sendfile call; Linux caps one call at about 2 GiB anyway.
const MAX_SPAN: u64 = 1 << 30;

/// The send buffer a connection from this machine gets before its first file span (the
/// kernel doubles it for its own bookkeeping). See [`fix_loopback_send_buffer`].
pub const LOOPBACK_SEND_BUFFER: usize = 128 * 1024;

/// Whether `peer` is this machine: 127.0.0.0/8, `::1`, or 127.0.0.0/8 mapped into IPv6 (a
/// dual-stack listener's view of an IPv4 client).
pub fn is_loopback(peer: SocketAddr) -> bool {
    match peer.ip() {
        IpAddr::V4(ip) => ip.is_loopback(),
        IpAddr::V6(ip) => {
            ip.is_loopback() || ip.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
    }
}

/// Gives a connection from this machine a send buffer of [`LOOPBACK_SEND_BUFFER`] instead of
/// the kernel's autotuned one (up to 4 MiB); the driver does it before the connection's
/// first file span, so a connection that sends none pays no system call.
///
/// Measured on 1 MiB files, 32 connections on loopback: with autotuning a run settled either
/// at about 2,000 responses/s or at about 7,000 (the client then never sleeps), by chance;
/// with 64-256 KiB every one of 12 runs settled at 5,900-7,500, with 512 KiB every one at
/// about 2,000 (as nginx, which keeps the default). A fixed buffer caps a connection at
/// buffer / round trip: on loopback (a round trip of microseconds) gigabytes a second, but
/// across a network it would cap a long-distance download, so other peers keep the kernel's
/// autotuning.
pub fn fix_loopback_send_buffer(socket: &TcpStream) {
    let _ = rustix::net::sockopt::set_socket_send_buffer_size(socket, LOOPBACK_SEND_BUFFER);
}

/// How far [`flush`] got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(
    clippy::exhaustive_enums,
    reason = "output is either all out or waits for the socket"
)]
pub enum Flushed {
    /// Nothing is left to write (for now).
    Done,
    /// The socket is full: wait until it is writable.
    Blocked,
}

/// Writes what `conn` offers until it has nothing left or the socket would block. An error
/// aborts the connection and is returned. `at` is when the caller's turn began (one clock
/// read per turn, not per write).
pub fn flush(conn: &mut Connection, socket: &TcpStream, at: Now) -> io::Result<Flushed> {
    loop {
        let result = match conn.poll_transmit() {
            None => return Ok(Flushed::Done),
            Some(Transmit::Write) => write_queued(conn, socket),
            Some(Transmit::SendFile { file, offset, len }) => {
                match send_span(socket, file, offset, len) {
                    Ok(0) => Err(io::ErrorKind::UnexpectedEof.into()),
                    other => other,
                }
            }
            Some(Transmit::ReadFile { file, offset, len }) => {
                // TLS: the span's plaintext is read here and encrypted by the connection.
                match read_span(file, offset, len) {
                    Ok(bytes) if bytes.is_empty() => Err(io::ErrorKind::UnexpectedEof.into()),
                    Ok(bytes) => {
                        conn.handle_file_bytes(&bytes, at);
                        continue;
                    }
                    Err(e) => Err(e),
                }
            }
            Some(_) => {
                // Shutdown (or an output this version does not know): half-close, and let
                // the core drain the peer until it closes or the linger deadline passes.
                let _ = socket.shutdown(Shutdown::Write);
                continue;
            }
        };
        match result {
            Ok(n) => conn.handle_sent(n, at),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(Flushed::Blocked),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => {
                conn.abort();
                return Err(e);
            }
        }
    }
}

/// One vectored write of the queued bytes; with `MSG_MORE` when a file span follows, so the
/// kernel holds a short head back until the span's first bytes fill the segment. (rustix's
/// system calls, not libc's: those wrap each call as a thread cancellation point.)
fn write_queued(conn: &Connection, socket: &TcpStream) -> io::Result<usize> {
    let mut slices = [IoSlice::new(&[]); MAX_SLICES];
    let count = conn.io_slices(&mut slices);
    let n = if conn.file_follows() {
        let mut control = SendAncillaryBuffer::default();
        sendmsg(
            socket,
            &slices[..count],
            &mut control,
            SendFlags::MORE | SendFlags::NOSIGNAL,
        )?
    } else {
        rustix::io::writev(socket, &slices[..count])?
    };
    match n {
        0 => Err(io::ErrorKind::WriteZero.into()),
        n => Ok(n),
    }
}

/// Sends up to `len` bytes of `file` from `offset` (one system call's worth). `Ok(0)` means
/// the file ended early: it shrank after it was measured.
fn send_span(socket: &TcpStream, file: &File, offset: u64, len: u64) -> io::Result<usize> {
    let count = len.min(MAX_SPAN) as usize;
    let mut off = offset;
    match rustix::fs::sendfile(socket, file, Some(&mut off), count) {
        Ok(n) => Ok(n),
        Err(Errno::INVAL | Errno::NOSYS | Errno::OPNOTSUPP) => {
            copy_span(socket, file, offset, count)
        }
        Err(e) => Err(e.into()),
    }
}

/// The fallback for files sendfile cannot take: read a piece and write it once. A partial
/// write is fine (the caller asks again for the rest); `write_all` is not, because on a
/// non-blocking socket it would fail after sending part of the piece.
fn copy_span(mut socket: &TcpStream, file: &File, offset: u64, count: usize) -> io::Result<usize> {
    let mut buf = vec![0; count.min(64 * 1024)];
    let n = file.read_at(&mut buf, offset)?;
    if n == 0 {
        return Ok(0);
    }
    socket.write(&buf[..n])
}

/// One `pread` of up to `len` bytes of `file` from `offset` (empty: the file ended early).
fn read_span(file: &File, offset: u64, len: u64) -> io::Result<Vec<u8>> {
    let mut buf = vec![0; usize::try_from(len).unwrap_or(usize::MAX).min(64 * 1024)];
    loop {
        match file.read_at(&mut buf, offset) {
            Ok(n) => {
                buf.truncate(n);
                return Ok(buf);
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

/// How far [`receive`] got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(
    clippy::exhaustive_enums,
    reason = "a read moves bytes, blocks, or ends"
)]
pub enum Received {
    /// Bytes went in; read again while the connection wants it.
    Bytes,
    /// Bytes went in, fewer than there was room for: the socket had nothing more. Wait until
    /// it is readable before reading again; that saves the read that would only say
    /// `WouldBlock`, and it lets a loop serve its other connections while this client
    /// answers (readiness is reported for any byte that arrives after this read, by a
    /// level-triggered poll and by an edge-triggered one alike).
    Drained,
    /// The socket has nothing now: wait until it is readable.
    Blocked,
    /// The peer closed its side, or the socket failed (the connection knows which).
    Ended,
}

/// One read from `socket` straight into the connection's buffer (no copy). Call it only
/// while [`Connection::wants_read`]. `at` is when the caller's turn began.
pub fn receive(conn: &mut Connection, socket: &TcpStream, at: Now) -> Received {
    read_once(conn, socket, at, Connection::handle_recv)
}

/// [`receive`], leaving the requests the bytes complete for
/// [`Connection::plan_received`] (see [`Connection::handle_recv_unplanned`]).
pub fn receive_unplanned(conn: &mut Connection, socket: &TcpStream, at: Now) -> Received {
    read_once(conn, socket, at, Connection::handle_recv_unplanned)
}

/// One read, the bytes (or the room, after an error) handed back with `take`.
fn read_once(
    conn: &mut Connection,
    socket: &TcpStream,
    at: Now,
    take: fn(&mut Connection, usize, Now),
) -> Received {
    loop {
        let buf = conn.recv_buf();
        let room = buf.len();
        let result = rustix::net::recv(socket, buf, RecvFlags::empty())
            .map(|(n, _)| n)
            .map_err(io::Error::from);
        match result {
            Ok(0) => {
                conn.handle_eof(at);
                return Received::Ended;
            }
            Ok(n) => {
                take(conn, n, at);
                return if n < room {
                    Received::Drained
                } else {
                    Received::Bytes
                };
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => {
                // The room taken for the read goes back before anything else happens.
                take(conn, 0, at);
                if e.kind() == io::ErrorKind::WouldBlock {
                    return Received::Blocked;
                }
                conn.abort();
                return Received::Ended;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::net::TcpListener;

    use super::*;

    #[test]
    fn loopback_peers() {
        for (peer, local) in [
            ("127.0.0.1:1", true),
            ("127.8.9.10:1", true),
            ("[::1]:1", true),
            ("[::ffff:127.0.0.1]:1", true),
            ("10.0.0.1:1", false),
            ("[::ffff:10.0.0.1]:1", false),
            ("[2001:db8::1]:1", false),
            ("0.0.0.0:1", false),
        ] {
            assert_eq!(is_loopback(peer.parse().unwrap()), local, "{peer}");
        }
    }

    /// Linux reports the buffer doubled, and caps what is asked at `net.core.wmem_max`.
    #[test]
    fn the_loopback_send_buffer_is_fixed() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let _client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (stream, _) = listener.accept().unwrap();
        let autotuned = rustix::net::sockopt::socket_send_buffer_size(&stream).unwrap();
        fix_loopback_send_buffer(&stream);
        let fixed = rustix::net::sockopt::socket_send_buffer_size(&stream).unwrap();
        let cap = std::fs::read_to_string("/proc/sys/net/core/wmem_max")
            .ok()
            .and_then(|v| v.trim().parse::<usize>().ok())
            .unwrap_or(usize::MAX);
        let expected = 2 * LOOPBACK_SEND_BUFFER.min(cap);
        assert_eq!(fixed, expected, "autotuned was {autotuned}");
    }
}
