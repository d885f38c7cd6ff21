//! What the serve layer does the same way on every runtime, over real sockets: the timeouts on
//! the command line, the graceful stop, a log that never blocks serving, and the connection
//! cap. Each test runs once per runtime (`std_runtime::*`, `smol_runtime::*`, `mio_runtime::*`).

#[macro_use]
#[path = "../common/mod.rs"]
mod common;

mod limits;
mod logging;
mod stop;
mod timeouts;
