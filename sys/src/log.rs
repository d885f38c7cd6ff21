//! The log writer: lines from every connection are appended to one bounded text that one
//! thread swaps out and writes. Serving never waits for the log: a stderr pipe nobody reads fills the
//! queue, and then lines are dropped and counted (`N log lines dropped`) instead of stopping
//! every connection, as a blocking `write` to a full pipe would.

use std::io::{self, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

/// Bytes of text the queue holds before lines are dropped (about 4,000 access lines).
pub const DEFAULT_CAPACITY: usize = 512 * 1024;

/// What the writer thread is told: lines are waiting, or everything so far must be out.
enum Message {
    Wake,
    Flush(SyncSender<()>),
}

/// The lines waiting for the writer: one growing text that connections append to and the
/// writer swaps out whole, so a line costs a copy into a kept buffer (no allocation, no
/// message) and a batch costs one wake-up.
#[derive(Debug, Default)]
struct Pending {
    text: String,
}

/// A [`serve::LogSink`] that never blocks.
#[derive(Debug)]
pub struct LogWriter {
    pending: Arc<Mutex<Pending>>,
    capacity: usize,
    wake: SyncSender<Message>,
    dropped: Arc<AtomicU64>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl std::fmt::Debug for Message {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Message")
    }
}

impl LogWriter {
    /// Writes to stderr.
    pub fn stderr() -> io::Result<Self> {
        Self::new(io::stderr(), DEFAULT_CAPACITY)
    }

    /// Writes to `out`, holding at most `capacity` bytes of lines that wait to be written
    /// (bounded in bytes, so queueing a line never has to count its line breaks).
    pub fn new(out: impl Write + Send + 'static, capacity: usize) -> io::Result<Self> {
        let (wake, messages) = sync_channel(64);
        let pending = Arc::new(Mutex::new(Pending::default()));
        let dropped = Arc::new(AtomicU64::new(0));
        let (taken, counter) = (Arc::clone(&pending), Arc::clone(&dropped));
        let thread = std::thread::Builder::new()
            .name("log".into())
            .spawn(move || write_out(out, &messages, &taken, &counter))?;
        Ok(Self {
            pending,
            capacity: capacity.max(1),
            wake,
            dropped,
            thread: Mutex::new(Some(thread)),
        })
    }

    /// How many lines were dropped and not yet reported in the log itself.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Waits (at most `timeout`) until everything queued so far is written; for the exit.
    /// Returns whether it was.
    pub fn flush(&self, timeout: Duration) -> bool {
        let deadline = std::time::Instant::now() + timeout;
        let (done, wait) = sync_channel(1);
        let mut marker = Message::Flush(done);
        // The queue may be full of wake-ups a stuck writer never takes: never block on it.
        loop {
            match self.wake.try_send(marker) {
                Ok(()) => break,
                Err(TrySendError::Disconnected(_)) => return false,
                Err(TrySendError::Full(back)) => {
                    if std::time::Instant::now() >= deadline {
                        return false;
                    }
                    marker = back;
                    std::thread::sleep(Duration::from_millis(5));
                }
            }
        }
        wait.recv_timeout(deadline.saturating_duration_since(std::time::Instant::now()))
            .is_ok()
    }
}

impl serve::LogSink for LogWriter {
    fn log(&self, text: &str) {
        let first = {
            let mut pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
            if pending.text.len() + text.len() > self.capacity {
                drop(pending);
                let lines = text.bytes().filter(|&b| b == b'\n').count().max(1);
                self.dropped.fetch_add(lines as u64, Ordering::Relaxed);
                return;
            }
            let first = pending.text.is_empty();
            pending.text.push_str(text);
            first
        };
        // Only the line that finds the text empty wakes the writer; it gathers the rest.
        if first {
            let _ = self.wake.try_send(Message::Wake);
        }
    }
}

impl Drop for LogWriter {
    fn drop(&mut self) {
        self.flush(Duration::from_secs(1));
        // The thread ends when the queue's last sender is gone; it is not waited for, so a
        // stuck stderr cannot hold up the exit.
        drop(
            self.thread
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .take(),
        );
    }
}

/// How long the writer lets lines gather once one arrived. While it sleeps, logging a line
/// wakes nobody, so a busy server pays one wake-up and one `write` per batch instead of per
/// line (a wake-up per request cost the mio runtime a third of its throughput).
const GATHER: Duration = Duration::from_millis(5);

fn write_out(
    mut out: impl Write,
    messages: &Receiver<Message>,
    pending: &Mutex<Pending>,
    dropped: &AtomicU64,
) {
    let mut text = String::new();
    let mut flushes = Vec::new();
    while let Ok(first) = messages.recv() {
        if matches!(first, Message::Wake) {
            std::thread::sleep(GATHER);
        }
        for message in std::iter::once(first).chain(messages.try_iter()) {
            if let Message::Flush(done) = message {
                flushes.push(done);
            }
        }
        {
            let mut waiting = pending.lock().unwrap_or_else(PoisonError::into_inner);
            // The two buffers trade places: each keeps its capacity for the next batch.
            std::mem::swap(&mut text, &mut waiting.text);
        }
        let _ = out.write_all(text.as_bytes());
        text.clear();
        let lost = dropped.swap(0, Ordering::Relaxed);
        if lost > 0 {
            let _ = writeln!(
                out,
                "http-server: {lost} log lines dropped (the log could not keep up)"
            );
        }
        if !flushes.is_empty() {
            let _ = out.flush();
            for done in flushes.drain(..) {
                let _ = done.send(());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serve::LogSink;
    use std::sync::Mutex;

    #[derive(Clone, Default)]
    struct Shared(Arc<Mutex<Vec<u8>>>);

    impl Write for Shared {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn lines_arrive_in_order() {
        let out = Shared::default();
        let log = LogWriter::new(out.clone(), 1024).unwrap();
        for i in 0..10 {
            log.log(&format!("line {i}\n"));
        }
        assert!(log.flush(Duration::from_secs(5)));
        let text = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
        let mut expected = String::new();
        for i in 0..10 {
            expected += "line ";
            expected += &i.to_string();
            expected += "\n";
        }
        assert_eq!(text, expected);
    }

    /// A writer that never returns: the log must drop, not block.
    struct Stuck;

    impl Write for Stuck {
        fn write(&mut self, _: &[u8]) -> io::Result<usize> {
            std::thread::sleep(Duration::from_secs(3600));
            Ok(0)
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_stuck_writer_never_blocks_logging() {
        // Room for two lines.
        let log = LogWriter::new(Stuck, 4).unwrap();
        let start = std::time::Instant::now();
        for _ in 0..10_000 {
            log.log("x\n");
        }
        assert!(start.elapsed() < Duration::from_secs(2));
        assert!(log.dropped() >= 10_000 - 5, "{}", log.dropped());
        assert!(!log.flush(Duration::from_millis(50)));
        std::mem::forget(log);
    }
}
