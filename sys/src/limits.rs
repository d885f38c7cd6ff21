//! The descriptor limit. A server with a thousand idle keep-alive clients needs a thousand
//! descriptors, and the usual soft limit is 1,024: raise it to the hard limit at start (as
//! Go's runtime does), and size the default connection cap from what is then available.

use rustix::process::{Resource, getrlimit, setrlimit};

/// Descriptors kept back from connections: the listener, the log, CGI pipes (three per
/// script), files being sent, the runtime's own.
const RESERVED: u64 = 256;

/// Raises the soft `RLIMIT_NOFILE` to the hard limit and returns the soft limit now in force.
pub fn raise_fd_limit() -> u64 {
    let mut limit = getrlimit(Resource::Nofile);
    if let Some(hard) = limit.maximum
        && limit.current != Some(hard)
    {
        limit.current = Some(hard);
        let _ = setrlimit(Resource::Nofile, limit);
    }
    getrlimit(Resource::Nofile).current.unwrap_or(u64::MAX)
}

/// The default `--max-connections` for a descriptor limit of `fd_limit`, when each connection
/// holds `per_connection` descriptors (the std runtime's threads also hold an epoll set:
/// 2; otherwise 1), after the reserve; never below 16.
pub fn default_max_connections(fd_limit: u64, per_connection: u64) -> usize {
    let available = (fd_limit.saturating_sub(RESERVED) / per_connection.max(1)).max(16);
    usize::try_from(available)
        .unwrap_or(usize::MAX)
        .min(1 << 20)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cap_follows_the_limit() {
        assert_eq!(default_max_connections(1024, 1), 768);
        assert_eq!(default_max_connections(1024, 2), 384);
        assert_eq!(default_max_connections(65_536, 1), 65_280);
        assert_eq!(default_max_connections(10, 1), 16);
        assert_eq!(default_max_connections(u64::MAX, 1), 1 << 20);
    }

    #[test]
    fn raising_never_lowers() {
        let before = getrlimit(Resource::Nofile).current.unwrap_or(u64::MAX);
        assert!(raise_fd_limit() >= before);
    }
}
