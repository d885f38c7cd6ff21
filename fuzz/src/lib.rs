//! What the fuzz targets share: the oracles and drivers of `protocol::testing`, and the
//! configurations and clock the targets run with.

use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use protocol::{Config, ParseMode};

pub use protocol::testing::{
    Checker, Verdict, Wire, auto_respond, check_head, push_merged, settle, small_limits, transmit,
    verdict,
};

/// A configuration chosen by two fuzz bits: parse mode and keep-alive (`-p HTTP/1.1`), plus
/// small limits when `small` so inputs of fuzzer size reach every limit.
pub fn config(compat: bool, http11: bool, small: bool) -> Arc<Config> {
    let mut config = Config::default();
    config.parse_mode = if compat {
        ParseMode::Compat
    } else {
        ParseMode::Strict
    };
    if http11 {
        config.protocol_version = Bytes::from_static(b"HTTP/1.1");
    }
    if small {
        config.limits = small_limits();
    }
    Arc::new(config)
}

/// A fixed origin for fuzz clocks; only differences matter.
pub fn t0() -> Instant {
    // `Instant` has no constant constructor; one reading per process is deterministic enough,
    // since every deadline the core computes is relative to instants derived from it.
    static T0: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    *T0.get_or_init(Instant::now)
}
