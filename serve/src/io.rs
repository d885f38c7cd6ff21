//! What a [`Connection`](crate::Connection) asks its runtime to do: the next thing to write to
//! the socket ([`Transmit`]), and the work beside the socket ([`Io`]): start, feed and end a
//! CGI script, run a user handler.

use std::fs::File;
use std::time::Instant;

use handler::CgiSpec;

use crate::routes::HandlerTask;

/// The next socket write, from [`Connection::poll_transmit`](crate::Connection::poll_transmit).
/// Report what reached the socket with
/// [`Connection::handle_sent`](crate::Connection::handle_sent).
#[derive(Debug)]
#[non_exhaustive]
pub enum Transmit<'a> {
    /// Write queued bytes: fill slices with
    /// [`Connection::io_slices`](crate::Connection::io_slices) and write them with one
    /// vectored write.
    Write,
    /// Send `len` bytes of `file` from `offset` (with `sendfile`). Sending 0 bytes means the
    /// file shrank: [`abort`](crate::Connection::abort).
    SendFile {
        /// The open file.
        file: &'a File,
        /// Where the span continues.
        offset: u64,
        /// What is left of the span.
        len: u64,
    },
    /// Under TLS, where a file span cannot go out with `sendfile`: read up to `len` bytes of
    /// `file` from `offset` (one `pread`) and hand them to
    /// [`Connection::handle_file_bytes`](crate::Connection::handle_file_bytes), which
    /// encrypts them; the ciphertext then comes out as [`Transmit::Write`]. Reading 0 bytes
    /// means the file shrank: [`abort`](crate::Connection::abort).
    ReadFile {
        /// The open file.
        file: &'a File,
        /// Where the span continues.
        offset: u64,
        /// The most to read now.
        len: u64,
    },
    /// Everything is written: shut down the write side and keep reading (the core drains and
    /// discards) until [`is_closed`](crate::Connection::is_closed).
    Shutdown,
}

/// Work beside the socket, from [`Connection::poll_io`](crate::Connection::poll_io).
#[derive(Debug)]
#[non_exhaustive]
pub enum Io {
    /// Start this CGI script (`sys::cgi::spawn`: its own process group, non-blocking pipes),
    /// then report [`handle_cgi_started`](crate::Connection::handle_cgi_started) or
    /// [`handle_cgi_failed`](crate::Connection::handle_cgi_failed). While it runs, write
    /// [`cgi_stdin`](crate::Connection::cgi_stdin), read stdout while
    /// [`wants_cgi_stdout`](crate::Connection::wants_cgi_stdout), and read stderr always.
    SpawnCgi(CgiSpec),
    /// The request body is all in: close the script's stdin.
    CloseCgiStdin,
    /// The script's output is over: stop reading stdout, read stderr to its end, and reap the
    /// script. If it has not exited by `reap_by`, kill its process group. Either way kill
    /// whatever of the group is left, then log how it ended
    /// ([`handle_cgi_exit`](crate::Connection::handle_cgi_exit)).
    FinishCgi {
        /// The last moment to wait for the script on its own.
        reap_by: Instant,
    },
    /// Kill the script's process group now and reap it (the run timed out or the client went
    /// away), then report [`handle_cgi_exit`](crate::Connection::handle_cgi_exit).
    KillCgi,
    /// Run your handler for this request, off the event loop (see [`HandlerTask::run`]).
    RunHandler(HandlerTask),
}
