//! `--runtime std`: a thread per connection, as Python's `ThreadingHTTPServer`.

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
    _args: &Args,
) -> io::Result<Running> {
    let address = listener.local_addr()?;
    drop(listener);
    let server = runtime_std::ThreadingHttpServer::bind(address, legacy_options(&config))?;
    let handle = server.stop_handle();
    Ok(Running {
        stop: Box::new(move || handle.stop()),
        serve: Box::new(move || server.serve_forever()),
    })
}
