//! The attack corpus: every hole an outside attack found (docs/SECURITY.md), replayed over raw
//! sockets against a real `http-server` process on every runtime, so none can come back.
//!
//! One module per class of attack. Each test runs once per runtime (`std_runtime::*`,
//! `smol_runtime::*`, `mio_runtime::*`), as in the conformance suite.

#[macro_use]
#[path = "../common/mod.rs"]
mod common;

mod cgi_env;
mod cgi_output;
mod cgi_paths;
mod cgi_processes;
mod cli;
mod redirects;
mod requests;
mod symlinks;
mod targets;
