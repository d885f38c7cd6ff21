//! The OS glue every runtime shares, and nothing else: no I/O policy, no logging, no clock
//! beyond the deadlines callers pass in.
//!
//! Today that is the life of a CGI process ([`cgi`]): spawning it from a
//! [`CgiSpec`](handler::CgiSpec) (clean environment, its own process group, `nobody` when
//! asked, non-blocking pipes), killing its whole group, reaping it with a deadline, and
//! CPython's log line for how it ended. The runtimes own the pipes and decide when a run ends;
//! this crate makes sure that, once it does, nothing of the script is left: no process of its
//! group, no zombie.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod cgi;
