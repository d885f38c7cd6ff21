//! The listening socket: `SO_REUSEADDR` (as Python's `HTTPServer`), dual-stack for `::` (as
//! `python -m http.server`), optionally `SO_REUSEPORT` so each worker of a runtime can have
//! its own accept queue.

use std::io;
use std::net::{SocketAddr, TcpListener};

/// Binds and listens on `addr`.
pub fn bind(addr: SocketAddr, backlog: u32, reuse_port: bool) -> io::Result<TcpListener> {
    use rustix::net::{AddressFamily, SocketType, bind, listen, socket, sockopt};
    let family = if addr.is_ipv6() {
        AddressFamily::INET6
    } else {
        AddressFamily::INET
    };
    let fd = socket(family, SocketType::STREAM, None)?;
    sockopt::set_socket_reuseaddr(&fd, true)?;
    if reuse_port {
        sockopt::set_socket_reuseport(&fd, true)?;
    }
    if addr.is_ipv6() {
        sockopt::set_ipv6_v6only(&fd, false)?;
    }
    bind(&fd, &addr)?;
    listen(&fd, i32::try_from(backlog).unwrap_or(i32::MAX))?;
    Ok(TcpListener::from(fd))
}

/// Whether an `accept` error is about one connection or a passing shortage (the listener
/// stays good): a client that gave up, an interrupted call, or no descriptors left for now.
pub fn is_transient_accept_error(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::Interrupted
            | io::ErrorKind::WouldBlock
    ) || is_out_of_descriptors(e)
}

/// Whether a `bind` failed because the machine has no IPv6 (`EAFNOSUPPORT`, or
/// `EADDRNOTAVAIL` for `::` with IPv6 disabled): the caller may fall back to IPv4.
pub fn is_ipv6_unavailable(e: &io::Error) -> bool {
    use rustix::io::Errno;
    e.raw_os_error().is_some_and(|code| {
        code == Errno::AFNOSUPPORT.raw_os_error() || code == Errno::ADDRNOTAVAIL.raw_os_error()
    })
}

/// Whether `e` is `EMFILE` or `ENFILE`.
pub fn is_out_of_descriptors(e: &io::Error) -> bool {
    use rustix::io::Errno;
    e.raw_os_error().is_some_and(|code| {
        code == Errno::MFILE.raw_os_error() || code == Errno::NFILE.raw_os_error()
    })
}

/// The send buffer of a connection from this machine (the kernel doubles it for its own
/// bookkeeping). See [`configure`].
pub const LOOPBACK_SEND_BUFFER: usize = 128 * 1024;

/// Sets up an accepted connection from `peer`:
///
/// - `TCP_NODELAY`: responses are written whole, and Nagle would only delay their last
///   segment.
/// - From this machine (a loopback address), a send buffer of [`LOOPBACK_SEND_BUFFER`]
///   instead of the kernel's autotuned one (up to 4 MiB). Measured on 1 MiB files, 32
///   connections on loopback: with autotuning a run settled either at about 2,000 responses/s
///   or at about 7,000 (the client then never sleeps), by chance; with 64-256 KiB every one
///   of 12 runs settled at 5,900-7,500, with 512 KiB every one at about 2,000 (as nginx, which
///   keeps the default). A fixed buffer caps a connection at buffer / round trip, which on
///   loopback (a round trip of microseconds) is gigabytes a second; across a network it would
///   cap a long-distance download, so other peers keep the kernel's autotuning.
pub fn configure(stream: &std::net::TcpStream, peer: SocketAddr) {
    let _ = stream.set_nodelay(true);
    if is_loopback(peer) {
        let _ = rustix::net::sockopt::set_socket_send_buffer_size(stream, LOOPBACK_SEND_BUFFER);
    }
}

/// Whether `peer` is this machine: 127.0.0.0/8, `::1`, or 127.0.0.0/8 mapped into IPv6 (a
/// dual-stack listener's view of an IPv4 client).
fn is_loopback(peer: SocketAddr) -> bool {
    match peer.ip() {
        std::net::IpAddr::V4(ip) => ip.is_loopback(),
        std::net::IpAddr::V6(ip) => {
            ip.is_loopback() || ip.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn out_of_descriptors_is_transient() {
        let emfile = io::Error::from_raw_os_error(rustix::io::Errno::MFILE.raw_os_error());
        assert!(is_transient_accept_error(&emfile));
        assert!(is_out_of_descriptors(&emfile));
        assert!(is_transient_accept_error(
            &io::ErrorKind::ConnectionAborted.into()
        ));
        assert!(!is_transient_accept_error(
            &io::ErrorKind::InvalidInput.into()
        ));
    }

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

    /// A connection from this machine gets the fixed send buffer (Linux reports it doubled).
    #[test]
    fn a_loopback_connection_gets_the_fixed_send_buffer() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let _client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (stream, peer) = listener.accept().unwrap();
        let autotuned = rustix::net::sockopt::socket_send_buffer_size(&stream).unwrap();
        configure(&stream, peer);
        let fixed = rustix::net::sockopt::socket_send_buffer_size(&stream).unwrap();
        assert_eq!(fixed, 2 * LOOPBACK_SEND_BUFFER, "autotuned was {autotuned}");
        assert!(stream.nodelay().unwrap());
    }

    #[test]
    fn binds_dual_stack() {
        let listener = bind("[::]:0".parse().unwrap(), 16, false).unwrap();
        let port = listener.local_addr().unwrap().port();
        std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    }
}
