//! `http-server`: `python -m http.server`, re-made.
//!
//! ```text
//! http-server [PORT] [-b ADDR] [-d DIR] [-p VERSION] [--cgi] [--cgi-dir PATH]... [--runtime R]
//! ```
//!
//! Bad input is one line on stderr and exit status 2, as argparse does, never a panic.
#![forbid(unsafe_code)]

mod args;

use std::io::Write;
use std::net::SocketAddr;
use std::path::Path;
use std::process::ExitCode;

use clap::Parser;

use args::{Args, Runtime};

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
    let directory = serve_directory(args.directory.as_deref())?;
    let settings = settings(args, directory)?;
    let address = args.address()?;
    let mut protocol = protocol::Config::default();
    protocol.protocol_version = args.protocol.clone().into();
    if args.compat {
        protocol.parse_mode = protocol::ParseMode::Compat;
    }
    let mut options = runtime_std::ServerOptions::new(runtime_std::Service::Files, settings);
    options.protocol = protocol;
    options.max_connections = args.max_connections;
    options.cgi_timeout = args.cgi_timeout();
    let bind_error = |e: std::io::Error| format!("cannot bind {address}: {e}");
    match args.runtime {
        Runtime::Std => {
            serve(runtime_std::ThreadingHttpServer::bind(address, options).map_err(bind_error)?)
        }
        Runtime::Smol => {
            let mut server =
                runtime_smol::SmolServer::bind(address, options).map_err(bind_error)?;
            if let Some(threads) = args.workers {
                server = server.with_threads(threads);
            }
            serve(server)
        }
        Runtime::Mio => {
            // One reactor per worker, by default one per core.
            let workers = args.workers.unwrap_or_else(|| {
                std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
            });
            serve(runtime_mio::MioServer::bind(address, options, workers).map_err(bind_error)?)
        }
    }
}

/// What the command line needs of a server, whatever its runtime.
trait Server {
    fn local_addr(&self) -> SocketAddr;
    fn stop_on_signals(&self) -> std::io::Result<()>;
    fn serve_forever(self) -> std::io::Result<()>;
}

macro_rules! impl_server {
    ($($server:ty),*) => {$(
        impl Server for $server {
            fn local_addr(&self) -> SocketAddr {
                <$server>::local_addr(self)
            }
            fn stop_on_signals(&self) -> std::io::Result<()> {
                <$server>::stop_on_signals(self)
            }
            fn serve_forever(self) -> std::io::Result<()> {
                <$server>::serve_forever(self)
            }
        }
    )*};
}

impl_server!(
    runtime_std::ThreadingHttpServer,
    runtime_smol::SmolServer,
    runtime_mio::MioServer
);

/// Every runtime the same way: signals, CPython's banner, serve until stopped.
fn serve(server: impl Server) -> Result<(), String> {
    server
        .stop_on_signals()
        .map_err(|e| format!("cannot install signal handlers: {e}"))?;
    print_banner(server.local_addr());
    server
        .serve_forever()
        .map_err(|e| format!("server failed: {e}"))
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
    settings.extra_headers = args.extra_headers()?;
    settings.compat = args.compat;
    settings.follow_symlinks = args.follow_symlinks;
    settings.cgi.pass_env.clone_from(&args.cgi_pass_env);
    if args.cgi {
        settings.cgi.enabled = true;
        if !args.cgi_dirs.is_empty() {
            settings.cgi.directories.clone_from(&args.cgi_dirs);
        }
    }
    Ok(settings)
}

/// CPython's startup line, flushed at once so scripts waiting for it see it.
fn print_banner(local: SocketAddr) {
    let host = local.ip().to_string();
    let url_host = if local.is_ipv6() {
        format!("[{host}]")
    } else {
        host.clone()
    };
    let port = local.port();
    let mut out = std::io::stdout().lock();
    let _ = writeln!(
        out,
        "Serving HTTP on {host} port {port} (http://{url_host}:{port}/) ..."
    );
    let _ = out.flush();
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
