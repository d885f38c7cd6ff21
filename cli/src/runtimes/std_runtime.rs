//! `--runtime std`: a thread per connection, as Python's `ThreadingHTTPServer`.

use std::io;
use std::net::TcpListener;
use std::sync::Arc;

use super::Running;
use crate::args::Args;

pub(crate) fn start(
    listener: TcpListener,
    config: Arc<serve::ServerConfig>,
    _args: &Args,
) -> io::Result<Running> {
    let server = runtime_std::ThreadingHttpServer::new(listener, config)?;
    let handle = server.stop_handle();
    Ok(Running {
        stop: Box::new(move || handle.stop()),
        serve: Box::new(move || server.serve_forever()),
    })
}
