//! `--runtime mio`: edge-triggered reactors, one per worker (`--workers`, by default one per
//! core), each with its own `SO_REUSEPORT` listener (the first is the one bound here).

use std::io;
use std::net::TcpListener;
use std::sync::Arc;

use super::Running;
use crate::args::Args;

pub(crate) fn start(
    listener: TcpListener,
    config: Arc<serve::ServerConfig>,
    args: &Args,
) -> io::Result<Running> {
    let mut server = runtime_mio::MioServer::new(listener, config)?;
    if let Some(workers) = args.workers {
        server = server.with_workers(workers);
    }
    let handle = server.stop_handle();
    Ok(Running {
        stop: Box::new(move || handle.stop()),
        serve: Box::new(move || server.serve_forever()),
    })
}
