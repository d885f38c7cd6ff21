//! The connection's deadlines: a fixed table indexed by [`TimeoutKind`], as quinn-proto keeps
//! its timers. The core never reads a clock; deadlines are computed from the `now` passed in.

use std::time::Instant;

use crate::TimeoutKind;

const KINDS: [TimeoutKind; 4] = [
    TimeoutKind::HeaderRead,
    TimeoutKind::Idle,
    TimeoutKind::BodyRead,
    TimeoutKind::Linger,
];

fn index(kind: TimeoutKind) -> usize {
    match kind {
        TimeoutKind::HeaderRead => 0,
        TimeoutKind::Idle => 1,
        TimeoutKind::BodyRead => 2,
        TimeoutKind::Linger => 3,
    }
}

/// One optional deadline per kind.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct TimerTable {
    deadlines: [Option<Instant>; 4],
}

impl TimerTable {
    pub(crate) fn set(&mut self, kind: TimeoutKind, deadline: Option<Instant>) {
        self.deadlines[index(kind)] = deadline;
    }

    pub(crate) fn get(&self, kind: TimeoutKind) -> Option<Instant> {
        self.deadlines[index(kind)]
    }

    /// The earliest deadline.
    pub(crate) fn next(&self) -> Option<Instant> {
        self.deadlines.iter().flatten().min().copied()
    }

    /// Removes and returns the earliest deadline that is due at `now`.
    pub(crate) fn take_expired(&mut self, now: Instant) -> Option<TimeoutKind> {
        let kind = KINDS
            .into_iter()
            .filter(|&k| self.get(k).is_some_and(|d| d <= now))
            .min_by_key(|&k| self.get(k))?;
        self.set(kind, None);
        Some(kind)
    }
}
