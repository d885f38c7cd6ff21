//! The command line: `python -m http.server`'s flags, plus the runtime choice and the limits
//! CPython does not have. Parsing only; every value is checked here so `main` can trust it.

use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, ValueEnum};

/// The runtime that drives connections.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum Runtime {
    /// Blocking sockets, a thread per connection (Python's `ThreadingHTTPServer`).
    Std,
    /// An async task per connection on smol.
    Smol,
    /// Edge-triggered mio reactors, one per worker thread.
    Mio,
}

/// Serve a directory over HTTP, as `python -m http.server` does.
#[derive(Debug, Parser)]
#[command(name = "http-server", version, about, max_term_width = 100)]
pub(crate) struct Args {
    /// Bind to this port.
    #[arg(default_value_t = 8000, value_name = "port")]
    pub(crate) port: u16,

    /// Bind to this address (default: all interfaces, IPv4 and IPv6).
    #[arg(short, long, value_name = "ADDRESS")]
    pub(crate) bind: Option<String>,

    /// Serve this directory (default: the current directory).
    #[arg(short, long, value_name = "DIRECTORY")]
    pub(crate) directory: Option<PathBuf>,

    /// Conform to this HTTP version (HTTP/1.1 keeps connections alive).
    #[arg(short, long, value_name = "VERSION", default_value = "HTTP/1.0", value_parser = parse_protocol)]
    pub(crate) protocol: String,

    /// Run as a CGI server: scripts in the CGI directories are executed.
    #[arg(long)]
    pub(crate) cgi: bool,

    /// A CGI directory (repeatable); replaces the default /cgi-bin and /htbin.
    #[arg(long = "cgi-dir", value_name = "PATH")]
    pub(crate) cgi_dirs: Vec<String>,

    /// Kill a CGI script that runs longer than this many seconds.
    #[arg(long = "cgi-timeout", value_name = "SECONDS", default_value_t = 60.0, value_parser = parse_seconds)]
    pub(crate) cgi_timeout: f64,

    /// Add a header to every 200 file and listing response (repeatable).
    #[arg(short = 'H', long = "header", value_names = ["NAME", "VALUE"], num_args = 2)]
    pub(crate) headers: Vec<String>,

    /// Content type for files whose type cannot be guessed.
    #[arg(
        long = "content-type",
        value_name = "TYPE",
        default_value = "application/octet-stream"
    )]
    pub(crate) content_type: String,

    /// The runtime that drives connections.
    #[arg(long, value_enum, default_value_t = Runtime::Std)]
    pub(crate) runtime: Runtime,

    /// Threads for --runtime smol and --runtime mio (default: one per core).
    #[arg(long, value_name = "N")]
    pub(crate) workers: Option<usize>,

    /// Most connections served at once.
    #[arg(long = "max-connections", value_name = "N", default_value_t = 1024)]
    pub(crate) max_connections: usize,

    /// Parse requests as leniently as CPython does (for teaching and comparison; unsafe
    /// behind a proxy).
    #[arg(long)]
    pub(crate) compat: bool,
}

impl Args {
    /// The CGI time limit.
    pub(crate) fn cgi_timeout(&self) -> Duration {
        Duration::from_secs_f64(self.cgi_timeout)
    }

    /// `-H NAME VALUE` pairs.
    pub(crate) fn extra_headers(&self) -> Vec<(String, String)> {
        self.headers
            .chunks_exact(2)
            .map(|pair| (pair[0].clone(), pair[1].clone()))
            .collect()
    }

    /// The address to bind: `--bind` resolved (first result, as CPython's
    /// `_get_best_family`), or `::` (dual-stack) by default, `0.0.0.0` without IPv6.
    pub(crate) fn address(&self) -> Result<SocketAddr, String> {
        match &self.bind {
            Some(host) => (host.as_str(), self.port)
                .to_socket_addrs()
                .map_err(|e| format!("cannot resolve bind address {host:?}: {e}"))?
                .next()
                .ok_or_else(|| format!("cannot resolve bind address {host:?}")),
            None => Ok(SocketAddr::from((
                std::net::Ipv6Addr::UNSPECIFIED,
                self.port,
            ))),
        }
    }
}

/// `HTTP/<digit>.<digit>`: the version goes verbatim into every status line.
fn parse_protocol(value: &str) -> Result<String, String> {
    let digits = value.strip_prefix("HTTP/").map(str::as_bytes);
    match digits {
        Some([major, b'.', minor]) if major.is_ascii_digit() && minor.is_ascii_digit() => {
            Ok(value.to_owned())
        }
        _ => Err(format!(
            "{value:?} is not an HTTP version like HTTP/1.0 or HTTP/1.1"
        )),
    }
}

fn parse_seconds(value: &str) -> Result<f64, String> {
    match value.parse::<f64>() {
        Ok(s) if s.is_finite() && s > 0.0 && s < 1e9 => Ok(s),
        _ => Err(format!("{value:?} is not a positive number of seconds")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Args, clap::Error> {
        Args::try_parse_from(std::iter::once("http-server").chain(args.iter().copied()))
    }

    #[test]
    fn python_defaults() {
        let a = parse(&[]).unwrap();
        assert_eq!(a.port, 8000);
        assert_eq!(a.protocol, "HTTP/1.0");
        assert_eq!(a.address().unwrap().to_string(), "[::]:8000");
        assert!(!a.cgi);
    }

    #[test]
    fn python_flags() {
        let a = parse(&[
            "8080",
            "-b",
            "127.0.0.1",
            "-d",
            "/tmp",
            "-p",
            "HTTP/1.1",
            "--cgi",
        ])
        .unwrap();
        assert_eq!(a.address().unwrap().to_string(), "127.0.0.1:8080");
        assert_eq!(a.protocol, "HTTP/1.1");
        assert!(a.cgi);
        let a = parse(&[
            "-H",
            "X-A",
            "1",
            "--header",
            "X-B",
            "2",
            "--cgi-dir",
            "/a",
            "--cgi-dir",
            "/b",
        ])
        .unwrap();
        assert_eq!(
            a.extra_headers(),
            [("X-A".into(), "1".into()), ("X-B".into(), "2".into())]
        );
        assert_eq!(a.cgi_dirs, ["/a", "/b"]);
    }

    #[test]
    fn bad_input_is_an_error() {
        assert!(parse(&["--nope"]).is_err());
        assert!(parse(&["70000"]).is_err());
        assert!(parse(&["-p", "HTTP/2"]).is_err());
        assert!(parse(&["-p", "FOO"]).is_err());
        assert!(parse(&["--cgi-timeout", "-1"]).is_err());
        assert!(parse(&["-H", "only-name"]).is_err());
    }
}
