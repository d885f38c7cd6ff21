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

/// How directories are listed (`--listing`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum Listing {
    /// CPython's page, byte for byte.
    Python,
    /// A table with sizes, dates, sort links, a breadcrumb path and a dark theme.
    Rich,
}

/// How access lines are written (`--log-format`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum LogFormat {
    /// CPython's line.
    Python,
    /// nginx's and Apache's combined format (with sizes, referer and user agent).
    Combined,
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
    #[arg(long = "cgi-dir", value_name = "PATH", requires = "cgi", value_parser = parse_cgi_dir)]
    pub(crate) cgi_dirs: Vec<String>,

    /// Pass this variable of the server's environment to CGI scripts (repeatable); scripts
    /// otherwise see only PATH, TZ, LANG and LC_*.
    #[arg(long = "cgi-pass-env", value_name = "NAME", requires = "cgi", value_parser = parse_env_name)]
    pub(crate) cgi_pass_env: Vec<String>,

    /// Kill a CGI script (and its process group) that runs longer than this many seconds.
    #[arg(long = "cgi-timeout", value_name = "SECONDS", default_value = "60", value_parser = parse_positive_seconds)]
    pub(crate) cgi_timeout: Duration,

    /// Close a connection whose request head takes longer than this (0: never).
    #[arg(long = "header-timeout", value_name = "SECONDS", default_value = "30", value_parser = parse_seconds)]
    pub(crate) header_timeout: Duration,

    /// Close a kept-alive connection idle for longer than this (0: never).
    #[arg(long = "idle-timeout", value_name = "SECONDS", default_value = "75", value_parser = parse_seconds)]
    pub(crate) idle_timeout: Duration,

    /// Close a connection whose request body makes no progress for this long (0: never).
    #[arg(long = "body-timeout", value_name = "SECONDS", default_value = "60", value_parser = parse_seconds)]
    pub(crate) body_timeout: Duration,

    /// Close a connection whose response makes no write progress for this long: the client
    /// stopped reading (0: never).
    #[arg(long = "send-timeout", value_name = "SECONDS", default_value = "60", value_parser = parse_seconds)]
    pub(crate) send_timeout: Duration,

    /// Cut request bodies and responses that move slower than this many bytes per second,
    /// after a 5 s grace period (0: no minimum).
    #[arg(long = "min-rate", value_name = "BYTES_PER_SEC", default_value_t = 240)]
    pub(crate) min_rate: u64,

    /// On SIGINT or SIGTERM, let in-flight responses finish for at most this long.
    #[arg(long = "shutdown-timeout", value_name = "SECONDS", default_value = "5", value_parser = parse_seconds)]
    pub(crate) shutdown_timeout: Duration,

    /// Add a header to every 200 file and listing response (repeatable).
    #[arg(short = 'H', long = "header", value_names = ["NAME", "VALUE"], num_args = 2, value_parser = parse_header_word)]
    pub(crate) headers: Vec<String>,

    /// Content type for files whose type cannot be guessed.
    #[arg(
        long = "content-type",
        value_name = "TYPE",
        default_value = "application/octet-stream",
        value_parser = parse_content_type
    )]
    pub(crate) content_type: String,

    /// Add `; charset=NAME` to the type of text files (`text/*`, JavaScript, XML, SVG), such
    /// as `--charset utf-8` (default: none, as CPython).
    #[arg(long, value_name = "NAME", value_parser = parse_charset)]
    pub(crate) charset: Option<String>,

    /// Serve files and directories whose symbolic links lead outside the served directory,
    /// as CPython does (by default they are 404).
    #[arg(long = "follow-symlinks")]
    pub(crate) follow_symlinks: bool,

    /// How directories are listed: `python` (CPython's page) or `rich` (sizes, dates, sort
    /// links, dark mode). Either gives JSON for ?format=json; `rich` also for
    /// `Accept: application/json`.
    #[arg(long, value_enum, value_name = "STYLE", default_value_t = Listing::Python, conflicts_with = "compat")]
    pub(crate) listing: Listing,

    /// Write no access lines (errors are still logged).
    #[arg(long)]
    pub(crate) quiet: bool,

    /// Format of access lines: `python` (CPython's) or `combined` (nginx's and Apache's).
    #[arg(long = "log-format", value_enum, value_name = "FORMAT", default_value_t = LogFormat::Python)]
    pub(crate) log_format: LogFormat,

    /// Serve `FILE.br` or `FILE.gz` beside FILE to clients that accept the coding.
    #[arg(long, conflicts_with = "compat")]
    pub(crate) precompressed: bool,

    /// Compress text files (HTML, CSS, JavaScript, JSON, XML, SVG, wasm) of 1 KiB to 4 MiB
    /// with brotli or gzip for clients that accept it (never for Range requests).
    #[arg(long, conflicts_with = "compat")]
    pub(crate) compress: bool,

    /// Accept uploads: `PUT /dir/name` (the body is the file) and multipart form `POST`s to a
    /// directory (fields named `file`). Anyone who can reach the server can then write files.
    #[arg(long, conflicts_with = "compat")]
    pub(crate) upload: bool,

    /// Let uploads replace existing files (default: 409 Conflict).
    #[arg(long = "upload-overwrite", requires = "upload")]
    pub(crate) upload_overwrite: bool,

    /// Largest upload body in bytes (413 past it).
    #[arg(long = "upload-max", value_name = "BYTES", requires = "upload", default_value_t = handler::upload::DEFAULT_MAX_BYTES)]
    pub(crate) upload_max: u64,

    /// The runtime that drives connections.
    #[arg(long, value_enum, default_value_t = Runtime::Mio)]
    pub(crate) runtime: Runtime,

    /// Threads for --runtime smol and --runtime mio (default: one per core).
    #[arg(long, value_name = "N", value_parser = parse_count)]
    pub(crate) workers: Option<usize>,

    /// Most connections open at once; at the cap the longest-idle keep-alive connection
    /// makes room (default: from the descriptor limit, which is raised to its maximum).
    #[arg(long = "max-connections", value_name = "N", value_parser = parse_count)]
    pub(crate) max_connections: Option<usize>,

    /// Parse requests as leniently as CPython does (for teaching and comparison; unsafe
    /// behind a proxy).
    #[arg(long)]
    pub(crate) compat: bool,

    /// Trace every connection on stderr: the bytes received and sent, the protocol events
    /// and the parser's state, with the peer and the time since the connection began.
    #[arg(long)]
    pub(crate) trace: bool,

    /// Serve HTTPS with this certificate chain (PEM; may hold the key too).
    #[arg(long = "tls-cert", value_name = "PATH")]
    pub(crate) tls_cert: Option<PathBuf>,

    /// The TLS key (PEM), when it is not in the --tls-cert file.
    #[arg(long = "tls-key", value_name = "PATH")]
    pub(crate) tls_key: Option<PathBuf>,

    /// A file holding the password of an encrypted TLS key.
    #[arg(long = "tls-password-file", value_name = "PATH")]
    pub(crate) tls_password_file: Option<PathBuf>,

    /// Drop a TLS connection whose handshake is not done within this many seconds.
    #[arg(long = "tls-handshake-timeout", value_name = "SECONDS", default_value = "10", value_parser = parse_positive_seconds, hide = true)]
    pub(crate) tls_handshake_timeout: Duration,

    /// Answer every request with a JSON description of how it was parsed (HTTP Garden's
    /// echo origin format: method, uri, version, headers and body, base64-encoded).
    #[arg(long, conflicts_with_all = ["upload", "cgi"])]
    pub(crate) echo: bool,

    /// Record each connection's input (bytes with their times, end of stream, timeouts) to a
    /// file of its own in DIR, for `--replay` (not with TLS: what arrives is ciphertext).
    #[arg(long, value_name = "DIR", conflicts_with_all = ["replay", "tls_cert"])]
    pub(crate) record: Option<PathBuf>,

    /// Replay a recorded connection through the server, with the other flags given (such as
    /// `-d DIR`), and print its trace on stdout; nothing is bound. Files, listings and error
    /// pages replay; CGI scripts and `--echo`/`--upload` handlers do not.
    #[arg(long, value_name = "FILE", conflicts_with = "tls_cert")]
    pub(crate) replay: Option<PathBuf>,
}

impl Args {
    /// `-H NAME VALUE` pairs. Each word was checked to be header-safe; here the name must
    /// also be a token.
    pub(crate) fn extra_headers(&self) -> Result<Vec<(String, String)>, String> {
        self.headers
            .chunks_exact(2)
            .map(|pair| {
                let (name, value) = (&pair[0], &pair[1]);
                if !protocol::is_token(name.as_bytes()) {
                    return Err(format!(
                        "argument -H/--header: {name:?} is not a valid header name"
                    ));
                }
                Ok((name.clone(), value.clone()))
            })
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

/// `HTTP/1.0` or `HTTP/1.1`: the version goes verbatim into every status line, and the core
/// speaks no other.
fn parse_protocol(value: &str) -> Result<String, String> {
    match value {
        "HTTP/1.0" | "HTTP/1.1" => Ok(value.to_owned()),
        _ => Err(format!("{value:?} is not HTTP/1.0 or HTTP/1.1")),
    }
}

/// Whether `value` can go into a header line as it is: no CR, LF, NUL or other control byte
/// (HTAB excepted), which would end the line early or break the head.
fn header_safe(value: &str) -> bool {
    value
        .bytes()
        .all(|b| b == b'\t' || (b >= 0x20 && b != 0x7F))
}

/// A word of `-H NAME VALUE`; the name's token check is in [`Args::extra_headers`].
fn parse_header_word(value: &str) -> Result<String, String> {
    if header_safe(value) {
        Ok(value.to_owned())
    } else {
        Err(format!(
            "{value:?} contains a control character (CR, LF, NUL, ...)"
        ))
    }
}

fn parse_content_type(value: &str) -> Result<String, String> {
    if value.trim().is_empty() {
        return Err("the content type is empty".to_owned());
    }
    parse_header_word(value)
}

/// A charset name: an RFC 9110 token, so it goes into `; charset=NAME` as it is.
fn parse_charset(value: &str) -> Result<String, String> {
    if !protocol::is_token(value.as_bytes()) {
        return Err(format!(
            "{value:?} is not a charset name (a token such as utf-8)"
        ));
    }
    Ok(value.to_owned())
}

/// A URL directory such as `/cgi-bin` or `/sub/dir/cgi-bin` (a trailing slash is dropped).
fn parse_cgi_dir(value: &str) -> Result<String, String> {
    let dir = value.trim_end_matches('/');
    if !value.starts_with('/') {
        return Err(format!("{value:?} must start with /"));
    }
    if dir.is_empty() {
        return Err(format!(
            "{value:?} would make every file under the directory a script"
        ));
    }
    if dir
        .split('/')
        .skip(1)
        .any(|seg| seg.is_empty() || seg == "." || seg == "..")
        || !header_safe(dir)
        || dir.contains(['?', '#', '%'])
    {
        return Err(format!("{value:?} is not a plain URL path like /cgi-bin"));
    }
    Ok(dir.to_owned())
}

/// An environment variable name: not empty, no `=`, no NUL.
fn parse_env_name(value: &str) -> Result<String, String> {
    if value.is_empty() || value.contains(['=', '\0']) {
        Err(format!("{value:?} is not an environment variable name"))
    } else {
        Ok(value.to_owned())
    }
}

/// A count of one or more.
fn parse_count(value: &str) -> Result<usize, String> {
    match value.parse::<usize>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(format!("{value:?} is not a number of at least 1")),
    }
}

/// Seconds, fractions allowed; any size works (a value past what a `Duration` holds is
/// "forever").
fn parse_seconds(value: &str) -> Result<Duration, String> {
    match value.parse::<f64>() {
        Ok(s) if s >= 0.0 && !s.is_nan() => {
            Ok(Duration::try_from_secs_f64(s).unwrap_or(Duration::MAX))
        }
        _ => Err(format!("{value:?} is not a number of seconds")),
    }
}

fn parse_positive_seconds(value: &str) -> Result<Duration, String> {
    match parse_seconds(value)? {
        Duration::ZERO => Err(format!("{value:?} is not a positive number of seconds")),
        d => Ok(d),
    }
}

/// A timeout from the command line, where `0` means none.
pub(crate) fn timeout(d: Duration) -> Option<Duration> {
    Some(d).filter(|d| !d.is_zero())
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
        assert_eq!(a.listing, Listing::Python);
        assert_eq!(a.log_format, LogFormat::Python);
        assert!(!a.quiet);
        assert!(!a.trace && !a.echo);
    }

    #[test]
    fn kit_flags() {
        let a = parse(&["--trace", "--echo"]).unwrap();
        assert!(a.trace && a.echo);
    }

    #[test]
    fn feedback_flags() {
        let a = parse(&["--listing", "rich", "--quiet", "--log-format", "combined"]).unwrap();
        assert_eq!(a.listing, Listing::Rich);
        assert_eq!(a.log_format, LogFormat::Combined);
        assert!(a.quiet);
        assert!(parse(&["--listing", "fancy"]).is_err());
        assert!(parse(&["--log-format", "json"]).is_err());
        assert!(parse(&["--listing", "rich", "--compat"]).is_err());
        assert!(parse(&["--listing", "python", "--compat"]).is_err());
        assert!(parse(&["--compat"]).is_ok());
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
            "--cgi",
            "--cgi-dir",
            "/a",
            "--cgi-dir",
            "/b",
        ])
        .unwrap();
        assert_eq!(
            a.extra_headers().unwrap(),
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
        assert!(parse(&["--cgi-timeout", "0"]).is_err());
        assert!(parse(&["--idle-timeout", "x"]).is_err());
        assert!(parse(&["--min-rate", "-5"]).is_err());
        assert!(parse(&["-H", "only-name"]).is_err());
    }

    #[test]
    fn serving_flags() {
        let a = parse(&[]).unwrap();
        assert!(!a.precompressed && !a.compress && !a.upload && !a.upload_overwrite);
        assert_eq!(a.upload_max, 1 << 30);
        let a = parse(&[
            "--precompressed",
            "--compress",
            "--upload",
            "--upload-overwrite",
            "--upload-max",
            "1000",
        ])
        .unwrap();
        assert!(a.precompressed && a.compress && a.upload && a.upload_overwrite);
        assert_eq!(a.upload_max, 1000);
        assert!(parse(&["--upload-overwrite"]).is_err());
        assert!(parse(&["--upload-max", "5"]).is_err());
        assert!(parse(&["--upload", "--upload-max", "-1"]).is_err());
        for flag in ["--upload", "--compress", "--precompressed"] {
            assert!(parse(&[flag, "--compat"]).is_err(), "{flag}");
        }
    }

    #[test]
    fn timeouts_of_any_size() {
        let a = parse(&[
            "--idle-timeout",
            "0",
            "--header-timeout",
            "1e300",
            "--send-timeout",
            "0.5",
        ])
        .unwrap();
        assert_eq!(timeout(a.idle_timeout), None);
        assert_eq!(timeout(a.header_timeout), Some(Duration::MAX));
        assert_eq!(timeout(a.send_timeout), Some(Duration::from_millis(500)));
        assert_eq!(timeout(a.shutdown_timeout), Some(Duration::from_secs(5)));
        assert_eq!(parse(&[]).unwrap().cgi_timeout, Duration::from_secs(60));
    }

    #[test]
    fn values_that_would_break_responses() {
        for bad in [
            &["-H", "X-A", "a\r\nSet-Cookie: x"][..],
            &["-H", "X-A", "a\nb"],
            &["-H", "X-A", "a\0b"],
            &["-H", "X-A\r\n", "v"],
            &["--content-type", "text/plain\r\nX: y"],
            &["--content-type", ""],
            &["--charset", ""],
            &["--charset", "utf 8"],
            &["--charset", "utf-8;x=y"],
            &["--charset", "\"utf-8\""],
            &["--cgi-dir", "/cgi-bin"],
            &["--cgi", "--cgi-dir", "cgi-bin"],
            &["--cgi", "--cgi-dir", "/"],
            &["--cgi", "--cgi-dir", "/a/../b"],
            &["--cgi", "--cgi-pass-env", "A=B"],
            &["--cgi-pass-env", "A"],
            &["--workers", "0"],
            &["--max-connections", "0"],
            &["-p", "HTTP/1.2"],
            &["-p", "HTTP/2.0"],
            &["-p", "HTTP/0.9"],
        ] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
        for bad_name in ["Bad Name", "", "X:Y", "X\u{e9}"] {
            let a = parse(&["-H", bad_name, "v"]).unwrap();
            assert!(a.extra_headers().is_err(), "{bad_name:?}");
        }
        let a = parse(&["--cgi", "--cgi-dir", "/x/cgi/", "--cgi-pass-env", "DB"]).unwrap();
        assert_eq!(a.cgi_dirs, ["/x/cgi"]);
        assert_eq!(a.cgi_pass_env, ["DB"]);
        assert!(parse(&["-H", "X-A", "tab\there"]).is_ok());
    }
}
