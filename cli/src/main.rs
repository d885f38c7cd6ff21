//! `http-server`: `python -m http.server`, re-made.
//!
//! ```text
//! http-server [PORT] [-b ADDR] [-d DIR] [-p VERSION] [--cgi] [--cgi-dir PATH]... [--runtime R]
//! ```
//!
//! Bad input is one line on stderr and exit status 2, as argparse does, never a panic.
#![forbid(unsafe_code)]

mod args;
mod runtimes;
mod tls;

use std::fmt::Write as _;
use std::io::Write;
use std::net::SocketAddr;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use sys::signals::StopSignal;

use args::{Args, Listing, LogFormat, Runtime, timeout};

fn main() -> ExitCode {
    let args = match Args::try_parse() {
        Ok(args) => args,
        Err(e) if e.use_stderr() => return fail(&first_line(&e.to_string())),
        Err(e) => {
            // --help and --version: print in full, succeed.
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
    };
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => fail(&message),
    }
}

fn run(args: &Args) -> Result<(), String> {
    if let Some(file) = &args.replay {
        return replay(args, file);
    }
    let tls = tls_config(args)?;
    let directory = serve_directory(args.directory.as_deref())?;
    let settings = settings(args, directory)?;
    let address = args.address()?;
    // One descriptor per connection: raise the soft limit first, then size the cap from it.
    let fd_limit = sys::limits::raise_fd_limit();
    let reuse_port = args.runtime == Runtime::Mio;
    let listener = sys::listener::bind(address, 1024, reuse_port)
        .or_else(|e| {
            // The default `::` on a machine without IPv6: all IPv4 interfaces instead, as
            // `python -m http.server` falls back to AF_INET.
            let v4 = SocketAddr::from((std::net::Ipv4Addr::UNSPECIFIED, address.port()));
            if args.bind.is_none() && address.is_ipv6() && sys::listener::is_ipv6_unavailable(&e) {
                sys::listener::bind(v4, 1024, reuse_port)
            } else {
                Err(e)
            }
        })
        .map_err(|e| format!("cannot bind {address}: {e}"))?;
    let local = listener
        .local_addr()
        .map_err(|e| format!("cannot bind {address}: {e}"))?;
    let log =
        Arc::new(sys::log::LogWriter::stderr().map_err(|e| format!("cannot start the log: {e}"))?);
    let mut config = serve::ServerConfig::new(settings, sys::facts::gather(local));
    config.protocol = Arc::new(protocol_config(args));
    config.cgi_timeout = args.cgi_timeout;
    config.send_timeout = timeout(args.send_timeout);
    config.min_rate =
        (args.min_rate > 0).then(|| serve::MinRate::new(args.min_rate, Duration::from_secs(5)));
    config.shutdown_timeout = timeout(args.shutdown_timeout).unwrap_or(Duration::MAX);
    // A std connection thread holds its socket and its epoll set.
    let per_connection = if args.runtime == Runtime::Std { 2 } else { 1 };
    config.max_connections = args
        .max_connections
        .unwrap_or_else(|| sys::limits::default_max_connections(fd_limit, per_connection));
    config.log = Arc::clone(&log) as Arc<dyn serve::LogSink>;
    config.trace = args.trace;
    if let Some(dir) = &args.record {
        if !dir.is_dir() {
            return Err(format!("--record {}: not a directory", dir.display()));
        }
        config.recorder = Some(Arc::new(sys::record::DirRecorder::new(dir)));
    }
    config.tls = tls;
    config.tls_handshake_timeout = args.tls_handshake_timeout;
    if args.echo {
        config.routes = Some(Arc::new(serve::Echo::default()));
    } else if args.upload {
        let uploads = handler::upload::UploadHandler::new(
            config.settings.clone(),
            args.upload_overwrite,
            args.upload_max,
        );
        config.routes = Some(Arc::new(uploads));
    }

    let running = runtimes::start(listener, Arc::new(config), args)
        .map_err(|e| format!("cannot start the server: {e}"))?;
    let stop = Arc::new(running.stop);
    let stop_first = Arc::clone(&stop);
    let log_again = Arc::clone(&log);
    sys::signals::on_stop_signals(
        move |signal| {
            if signal == StopSignal::Interrupt {
                // CPython's goodbye, on stdout.
                println!("\nKeyboard interrupt received, exiting.");
            }
            stop_first();
        },
        move |signal| {
            // A second signal: no more waiting for anyone.
            log_again.flush(Duration::from_millis(200));
            std::process::exit(match signal {
                StopSignal::Interrupt => 130,
                StopSignal::Terminate => 143,
            });
        },
    )
    .map_err(|e| format!("cannot install signal handlers: {e}"))?;
    print_banner(local, args.tls_cert.is_some());
    let served = (running.serve)();
    log.flush(Duration::from_secs(2));
    served.map_err(|e| format!("server failed: {e}"))
}

/// `--replay FILE`: the recorded connection fed through a connection configured as the
/// command line says, its trace (and access log) printed on stdout.
fn replay(args: &Args, file: &Path) -> Result<(), String> {
    let bytes = std::fs::read(file).map_err(|e| format!("{}: {e}", file.display()))?;
    let session =
        serve::record::Session::parse(&bytes).map_err(|e| format!("{}: {e}", file.display()))?;
    let directory = serve_directory(args.directory.as_deref())?;
    let settings = settings(args, directory)?;
    let facts = serve::Facts::new(args.address()?, "localhost");
    let mut config = serve::ServerConfig::new(settings, facts);
    config.protocol = Arc::new(protocol_config(args));
    config.send_timeout = timeout(args.send_timeout);
    config.min_rate =
        (args.min_rate > 0).then(|| serve::MinRate::new(args.min_rate, Duration::from_secs(5)));
    let sink = Arc::new(serve::MemorySink::new());
    config.log = Arc::clone(&sink) as Arc<dyn serve::LogSink>;
    config.trace = true;
    serve::record::replay(&Arc::new(config), &session, sys::clock::now().instant);
    let mut out = std::io::stdout().lock();
    out.write_all(sink.text().as_bytes())
        .and_then(|()| out.flush())
        .map_err(|e| format!("cannot write the trace: {e}"))
}

/// The protocol core's policy from the command line.
fn protocol_config(args: &Args) -> protocol::Config {
    let mut protocol = protocol::Config::default();
    protocol.protocol_version = args.protocol.clone().into();
    if args.compat {
        protocol.parse_mode = protocol::ParseMode::Compat;
    }
    protocol.timeouts.header_read = timeout(args.header_timeout);
    protocol.timeouts.idle = timeout(args.idle_timeout);
    protocol.timeouts.body_read = timeout(args.body_timeout);
    protocol
}

/// `-d` must name a directory we can serve; the default is the current directory.
fn serve_directory(dir: Option<&Path>) -> Result<std::path::PathBuf, String> {
    let dir = match dir {
        Some(dir) => dir.to_path_buf(),
        None => std::env::current_dir()
            .map_err(|e| format!("cannot read the current directory: {e}"))?,
    };
    match std::fs::metadata(&dir) {
        Ok(meta) if meta.is_dir() => {
            std::fs::canonicalize(&dir).map_err(|e| format!("{}: {e}", dir.display()))
        }
        Ok(_) => Err(format!("{}: not a directory", dir.display())),
        Err(e) => Err(format!("{}: {e}", dir.display())),
    }
}

fn settings(args: &Args, directory: std::path::PathBuf) -> Result<handler::Settings, String> {
    let mut settings = handler::Settings::new(directory);
    settings.protocol_version.clone_from(&args.protocol);
    settings.default_content_type.clone_from(&args.content_type);
    settings.charset.clone_from(&args.charset);
    settings.extra_headers = args.extra_headers()?;
    settings.compat = args.compat;
    settings.follow_symlinks = args.follow_symlinks;
    settings.listing = match args.listing {
        Listing::Python => handler::ListingStyle::Python,
        Listing::Rich => handler::ListingStyle::Rich,
    };
    settings.quiet = args.quiet;
    settings.precompressed = args.precompressed;
    settings.compress = args.compress;
    settings.upload_form = args.upload;
    settings.log_format = match args.log_format {
        LogFormat::Python => handler::LogFormat::Python,
        LogFormat::Combined => handler::LogFormat::Combined,
    };
    settings.cgi.pass_env.clone_from(&args.cgi_pass_env);
    if args.cgi {
        settings.cgi.enabled = true;
        if !args.cgi_dirs.is_empty() {
            settings.cgi.directories.clone_from(&args.cgi_dirs);
        }
    }
    Ok(settings)
}

/// `--tls-*`: CPython's checks, in its order, then the certificate and key.
fn tls_config(args: &Args) -> Result<Option<Arc<rustls::ServerConfig>>, String> {
    if args.tls_cert.is_none() && args.tls_key.is_some() {
        return Err("--tls-key requires --tls-cert to be set".to_owned());
    }
    let password = match &args.tls_password_file {
        None => None,
        Some(_) if args.tls_cert.is_none() => {
            return Err("--tls-password-file requires --tls-cert to be set".to_owned());
        }
        Some(path) => Some(tls::read_password(path)?),
    };
    let Some(cert) = &args.tls_cert else {
        return Ok(None);
    };
    tls::server_config(cert, args.tls_key.as_deref(), password.as_deref()).map(Some)
}

/// CPython's startup line, then (bound to every interface) each URL the server is reachable
/// at, as miniserve prints them; flushed at once so scripts waiting for it see it.
fn print_banner(local: SocketAddr, https: bool) {
    let host = local.ip().to_string();
    let port = local.port();
    let (name, scheme) = if https {
        ("HTTPS", "https")
    } else {
        ("HTTP", "http")
    };
    let mut text = format!(
        "Serving {name} on {host} port {port} ({scheme}://{}:{port}/) ...\n",
        url_host(local.ip())
    );
    if local.ip().is_unspecified() {
        text.push_str("Available at:\n");
        let _ = writeln!(text, "  {scheme}://localhost:{port}/");
        for ip in sys::interfaces::local_addresses() {
            // A socket bound to `::` is dual-stack; one bound to 0.0.0.0 answers IPv4 only.
            if local.is_ipv4() && ip.is_ipv6() {
                continue;
            }
            let _ = writeln!(text, "  {scheme}://{}:{port}/", url_host(ip));
        }
    }
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes());
    let _ = out.flush();
}

/// An address as the host of a URL: IPv6 in brackets.
fn url_host(ip: std::net::IpAddr) -> String {
    if ip.is_ipv6() {
        format!("[{ip}]")
    } else {
        ip.to_string()
    }
}

fn first_line(text: &str) -> String {
    text.lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("invalid arguments")
        .to_owned()
}

fn fail(message: &str) -> ExitCode {
    let message = message.strip_prefix("error: ").unwrap_or(message);
    eprintln!("http-server: error: {message}");
    ExitCode::from(2)
}
