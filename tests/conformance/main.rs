//! Raw-socket conformance suite: a real `http-server` process per test, bytes in, bytes out,
//! checked against CPython 3.14's http.server behaviour (and DESIGN.md where we are stricter).
//!
//! Every test runs once per runtime (`std_runtime::*`, `smol_runtime::*`, `mio_runtime::*`);
//! runtimes not yet enabled print a skip notice. See `common::DEFAULT_RUNTIMES` and the
//! `HTTP_SERVER_RUNTIMES` environment variable.
//!
//! One module per topic, each with its own runtime modules (`files::std_runtime::get_file`, ...);
//! the helpers they share are in [`support`].

#[macro_use]
#[path = "../common/mod.rs"]
mod common;

mod support;

mod cli;
mod compression;
mod connections;
mod directories;
mod errors;
mod feedback;
mod files;
mod kit;
mod lifecycle;
mod logging;
mod paths;
mod ranges;
mod tls;
mod uploads;
