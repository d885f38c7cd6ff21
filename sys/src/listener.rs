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

/// Sets `TCP_NODELAY` on an accepted connection: responses are written whole, and Nagle
/// would only delay their last segment.
pub fn configure(stream: &std::net::TcpStream) {
    let _ = stream.set_nodelay(true);
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
    fn binds_dual_stack() {
        let listener = bind("[::]:0".parse().unwrap(), 16, false).unwrap();
        let port = listener.local_addr().unwrap().port();
        std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    }
}
