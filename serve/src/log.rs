//! Where log lines go. Library crates never print: the serve layer formats CPython's lines
//! (`127.0.0.1 - - [06/Dec/2026 01:02:03] "GET / HTTP/1.1" 200 -`) and hands them to the
//! [`LogSink`] the embedder chose. The CLI's sink writes them to stderr through a bounded queue
//! (`sys`), so a stderr nobody reads never stops the server.

use std::fmt;
use std::sync::{Mutex, PoisonError};

/// Receives finished log text: one or more complete lines, each ending in `\n`.
///
/// Called on the thread that drives the connection, so it must not block: queue the text
/// and return. Dropping lines under pressure is better than stalling every connection.
pub trait LogSink: Send + Sync {
    /// Takes `text` (complete lines).
    fn log(&self, text: &str);
}

/// Discards everything.
#[derive(Debug, Default, Clone, Copy)]
pub struct NullSink;

impl LogSink for NullSink {
    fn log(&self, _text: &str) {}
}

/// Keeps every line in memory: for tests, and for looking at a session afterwards.
#[derive(Default)]
pub struct MemorySink {
    text: Mutex<String>,
}

impl MemorySink {
    /// An empty sink.
    pub fn new() -> Self {
        Self::default()
    }

    /// Everything logged so far.
    pub fn text(&self) -> String {
        self.text
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl fmt::Debug for MemorySink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemorySink").finish_non_exhaustive()
    }
}

impl LogSink for MemorySink {
    fn log(&self, text: &str) {
        self.text
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push_str(text);
    }
}

impl<F: Fn(&str) + Send + Sync> LogSink for F {
    fn log(&self, text: &str) {
        self(text);
    }
}
