//! Python's `http.server` semantics as plain functions: a request head in, a response plan out.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod plan;

pub use plan::{CgiSpec, Plan, PlanBody};
