//! Stop signals. The first SIGINT or SIGTERM asks for a graceful stop (stop accepting, let
//! in-flight responses finish); a second one asks to exit at once.

use std::io;

use signal_hook::consts::{SIGINT, SIGTERM};

/// Which stop signal arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(clippy::exhaustive_enums, reason = "the stop signals")]
pub enum StopSignal {
    /// SIGINT (Ctrl-C).
    Interrupt,
    /// SIGTERM.
    Terminate,
}

/// Watches for stop signals on a thread of its own: `first` is called for the first one,
/// `again` for each later one.
pub fn on_stop_signals(
    first: impl FnOnce(StopSignal) + Send + 'static,
    mut again: impl FnMut(StopSignal) + Send + 'static,
) -> io::Result<()> {
    let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM])?;
    std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            let mut first = Some(first);
            for signal in signals.forever() {
                let which = if signal == SIGINT {
                    StopSignal::Interrupt
                } else {
                    StopSignal::Terminate
                };
                match first.take() {
                    Some(first) => first(which),
                    None => again(which),
                }
            }
        })?;
    Ok(())
}
