//! The one place a runtime reads the clock: monotonic and wall-clock time together, as the
//! serve layer takes them.

use std::time::{Instant, SystemTime};

/// Now, as [`serve::Now`].
pub fn now() -> serve::Now {
    serve::Now::new(Instant::now(), SystemTime::now())
}
