//! `--runtime mio`: edge-triggered reactors, one per worker, each with its own
//! `SO_REUSEPORT` listener.

use std::io;
use std::net::TcpListener;
use std::sync::Arc;

use super::{Running, legacy_options};
use crate::args::Args;

#[expect(
    clippy::needless_pass_by_value,
    reason = "the legacy runtime copies what it needs"
)]
pub(crate) fn start(
    listener: TcpListener,
    config: Arc<serve::ServerConfig>,
    args: &Args,
) -> io::Result<Running> {
    let address = listener.local_addr()?;
    drop(listener);
    // One reactor per worker, by default one per core.
    let workers = args.workers.unwrap_or_else(|| {
        std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
    });
    let server = runtime_mio::MioServer::bind(address, legacy_options(&config), workers)?;
    let handle = server.stop_handle();
    Ok(Running {
        stop: Box::new(move || handle.stop()),
        serve: Box::new(move || server.serve_forever()),
    })
}
