//! The deadlines above the core: a response that stops moving (`--send-timeout`), and
//! transfers slower than the minimum rate (`--min-rate`), for responses and for request
//! bodies a script or handler reads.
//!
//! The core already cuts a head that takes too long, an idle keep-alive connection, and a
//! body that makes no progress at all. What it cannot see is a client that reads our output
//! a byte at a time, or not at all (it holds a slot and the kernel's send buffer forever), or
//! trickles a body just fast enough to reset every no-progress timer.

use std::time::{Duration, Instant};

use crate::config::{MinRate, ServerConfig};

/// Bytes moved since a transfer started.
#[derive(Debug, Clone, Copy)]
struct Transfer {
    since: Instant,
    bytes: u64,
}

impl Transfer {
    fn new(since: Instant) -> Self {
        Self { since, bytes: 0 }
    }

    /// The first instant at which the transfer would fall below `rate`, as things stand.
    fn deadline(self, rate: MinRate) -> Option<Instant> {
        if rate.bytes_per_second == 0 {
            return None;
        }
        let r = rate.bytes_per_second;
        let nanos = u128::from(self.bytes % r) * 1_000_000_000 / u128::from(r);
        let earned = Duration::new(self.bytes / r, nanos as u32);
        self.since.checked_add(rate.grace.max(earned))
    }

    fn too_slow(self, rate: MinRate, now: Instant) -> bool {
        self.deadline(rate).is_some_and(|at| now > at)
    }
}

/// Progress of the current response and request body.
#[derive(Debug)]
pub(crate) struct Pace {
    /// When output last moved (or became pending).
    send_progress: Instant,
    /// The response bytes while output is pending.
    sending: Option<Transfer>,
    /// The request body bytes while a script or handler reads it.
    receiving: Option<Transfer>,
}

impl Pace {
    pub(crate) fn new(now: Instant) -> Self {
        Self {
            send_progress: now,
            sending: None,
            receiving: None,
        }
    }

    /// Brings the transfers in line with what the connection is doing now (after every
    /// input; the deadline is asked for once per turn, by `poll_timeout`).
    pub(crate) fn sync(&mut self, pending: bool, receiving: bool, now: Instant) {
        match (pending, self.sending.is_some()) {
            (true, false) => {
                self.sending = Some(Transfer::new(now));
                self.send_progress = now;
            }
            (false, _) => {
                self.sending = None;
                self.send_progress = now;
            }
            (true, true) => {}
        }
        match (receiving, self.receiving.is_some()) {
            (true, false) => self.receiving = Some(Transfer::new(now)),
            (false, true) => self.receiving = None,
            _ => {}
        }
    }

    /// `n` bytes went out.
    pub(crate) fn sent(&mut self, n: usize, now: Instant) {
        if n > 0 {
            self.send_progress = now;
        }
        if let Some(t) = &mut self.sending {
            t.bytes += n as u64;
        }
    }

    /// `n` bytes came in.
    pub(crate) fn received(&mut self, n: usize, _now: Instant) {
        if let Some(t) = &mut self.receiving {
            t.bytes += n as u64;
        }
    }

    /// The earliest instant at which a transfer could be cut.
    pub(crate) fn deadline(&self, config: &ServerConfig) -> Option<Instant> {
        let stalled = config
            .send_timeout
            .filter(|_| self.sending.is_some())
            .and_then(|t| self.send_progress.checked_add(t));
        let rate = |t: Option<Transfer>| config.min_rate.and_then(|r| t?.deadline(r));
        [stalled, rate(self.sending), rate(self.receiving)]
            .into_iter()
            .flatten()
            .min()
    }

    /// Why the connection must be cut at `now`, if it must.
    pub(crate) fn expired(&self, config: &ServerConfig, now: Instant) -> Option<&'static str> {
        if self.sending.is_some()
            && let Some(t) = config.send_timeout
            && self
                .send_progress
                .checked_add(t)
                .is_some_and(|at| now >= at)
        {
            return Some("Response not read by the client: send timeout");
        }
        let rate = config.min_rate?;
        if self.sending.is_some_and(|t| t.too_slow(rate, now)) {
            return Some("Response read below the minimum rate");
        }
        if self.receiving.is_some_and(|t| t.too_slow(rate, now)) {
            return Some("Request body sent below the minimum rate");
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Facts;

    impl Pace {
        /// [`Pace::sync`], then [`Pace::deadline`]: what a connection does after an input
        /// and at its next turn.
        fn update(
            &mut self,
            config: &ServerConfig,
            pending: bool,
            receiving: bool,
            now: Instant,
        ) -> Option<Instant> {
            self.sync(pending, receiving, now);
            self.deadline(config)
        }
    }

    /// One reading of the real clock, as an arbitrary origin for a fake one.
    #[expect(
        clippy::disallowed_methods,
        reason = "an arbitrary origin for a fake clock"
    )]
    fn t0() -> Instant {
        Instant::now()
    }

    fn config() -> ServerConfig {
        let facts = Facts::new("127.0.0.1:1".parse().unwrap(), "h");
        ServerConfig::new(handler::Settings::new("/nonexistent"), facts)
    }

    #[test]
    fn a_stalled_response_is_cut_at_the_send_timeout() {
        let config = config();
        let t0 = t0();
        let mut pace = Pace::new(t0);
        assert_eq!(pace.update(&config, false, false, t0), None);
        pace.update(&config, true, false, t0);
        pace.sent(10_000, t0 + Duration::from_secs(1));
        let at = pace
            .update(&config, true, false, t0 + Duration::from_secs(1))
            .unwrap();
        // 10,000 bytes at 240 B/s buy 41.6 s; the send timeout (60 s from the last write)
        // comes later.
        assert!(at > t0 + Duration::from_secs(41), "{at:?}");
        assert!(
            pace.expired(&config, t0 + Duration::from_secs(40))
                .is_none()
        );
        assert!(
            pace.expired(&config, t0 + Duration::from_secs(43))
                .is_some()
        );
    }

    #[test]
    fn a_trickled_body_is_cut_after_the_grace_period() {
        let config = config();
        let t0 = t0();
        let mut pace = Pace::new(t0);
        pace.update(&config, false, true, t0);
        for s in 1..5 {
            pace.received(1, t0 + Duration::from_secs(s));
        }
        assert!(pace.expired(&config, t0 + Duration::from_secs(5)).is_none());
        assert_eq!(
            pace.expired(&config, t0 + Duration::from_secs(6)),
            Some("Request body sent below the minimum rate")
        );
    }

    #[test]
    fn huge_limits_never_overflow() {
        let mut config = config();
        config.send_timeout = Some(Duration::MAX);
        config.min_rate = Some(MinRate::new(1, Duration::MAX));
        let t0 = t0();
        let mut pace = Pace::new(t0);
        assert_eq!(pace.update(&config, true, true, t0), None);
        assert!(
            pace.expired(&config, t0 + Duration::from_secs(1 << 40))
                .is_none()
        );
    }

    #[test]
    fn nothing_pending_nothing_due() {
        let config = config();
        let t0 = t0();
        let mut pace = Pace::new(t0);
        pace.update(&config, true, false, t0);
        assert!(
            pace.update(&config, false, false, t0 + Duration::from_secs(1000))
                .is_none()
        );
        assert!(
            pace.expired(&config, t0 + Duration::from_secs(2000))
                .is_none()
        );
    }
}
