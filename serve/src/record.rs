//! `--record` and `--replay`: the input of one connection, kept so that it can be fed through
//! a [`Connection`] again, deterministically.
//!
//! Recording sits where input enters a connection (`handle_recv`, `handle_input`,
//! `handle_eof`, `handle_timeout`): each is handed, as a [`Record`], to the [`RecordSink`]
//! that [`ServerConfig::recorder`](crate::ServerConfig::recorder) opened for the connection.
//! The serve layer writes nothing itself; the sink does the I/O (the CLI's writes one file per
//! connection).
//!
//! # The format
//!
//! Text lines, except that received bytes are length-prefixed and copied raw:
//!
//! ```text
//! http-server record 1
//! peer 127.0.0.1:53422
//! wall 1767225600.123456789
//! at 0.000105000 data 18
//! GET / HTTP/1.0\r\n\r\n          (the 18 bytes as received, then one "\n")
//! at 0.002000000 eof
//! at 30.000000000 timeout
//! ```
//!
//! The first line names the format and its version. `peer` is the client's address; `wall`
//! the wall clock when the connection was accepted, in seconds since the Unix epoch (nine
//! decimals). Each `at` line is one input, stamped with the time since the connection was
//! accepted (seconds, nine decimals): `data N` is followed by exactly `N` raw bytes and a
//! line feed, `eof` is the peer closing its side, `timeout` a call of `handle_timeout` (the
//! runtime woke for a deadline).
//!
//! # Replay
//!
//! [`replay`] feeds a [`Session`] through a new connection under a fake clock made from the
//! recorded times (the monotonic clock from an origin the caller gives; the wall clock from
//! `wall`), "sending" all output at once after each input. With
//! [`ServerConfig::trace`](crate::ServerConfig::trace) on, the trace it writes to the log is
//! the same on every run. Files, listings and error pages replay; CGI scripts and user
//! handlers run beside the connection and do not (a script is reported as failed to start, a
//! handler's request gets no answer).

use std::fmt;
use std::io::IoSlice;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use crate::config::ServerConfig;
use crate::connection::{Connection, Now};
use crate::io::{Io, Transmit};

/// The first line of every recording.
pub const MAGIC: &str = "http-server record 1";

/// One input of a connection, as it is recorded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Record<'a> {
    /// Bytes received.
    Data(&'a [u8]),
    /// The peer closed its side.
    Eof,
    /// A deadline was handled.
    Timeout,
}

/// Receives the inputs of one connection (see [`Recorder`]).
pub trait RecordSink: Send {
    /// `record` arrived `at` after the connection was accepted. Append
    /// [`encode`](Self::encode)`(at, record)` to keep the documented format.
    fn record(&mut self, at: Duration, record: Record<'_>);

    /// The record in the file format.
    fn encode(&self, at: Duration, record: Record<'_>) -> Vec<u8> {
        encode_record(at, record)
    }
}

/// Opens a [`RecordSink`] for each new connection (`None`: this one is not recorded).
pub trait Recorder: Send + Sync {
    /// A sink for the connection from `peer`, accepted at wall-clock time `wall`. Write
    /// [`encode_header`]`(peer, wall)` first.
    fn open(&self, peer: SocketAddr, wall: SystemTime) -> Option<Box<dyn RecordSink>>;
}

/// The header of a recording: the magic line, `peer` and `wall`.
pub fn encode_header(peer: SocketAddr, wall: SystemTime) -> Vec<u8> {
    let since = wall
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default();
    format!("{MAGIC}\npeer {peer}\nwall {}\n", seconds(since)).into_bytes()
}

/// One record in the file format.
pub fn encode_record(at: Duration, record: Record<'_>) -> Vec<u8> {
    let mut out = format!("at {} ", seconds(at)).into_bytes();
    match record {
        Record::Data(data) => {
            out.extend_from_slice(format!("data {}\n", data.len()).as_bytes());
            out.extend_from_slice(data);
            out.push(b'\n');
        }
        Record::Eof => out.extend_from_slice(b"eof\n"),
        Record::Timeout => out.extend_from_slice(b"timeout\n"),
    }
    out
}

fn seconds(d: Duration) -> String {
    format!("{}.{:09}", d.as_secs(), d.subsec_nanos())
}

fn parse_seconds(text: &str) -> Option<Duration> {
    let (secs, nanos) = text.split_once('.')?;
    if nanos.len() != 9 || !nanos.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(Duration::new(secs.parse().ok()?, nanos.parse().ok()?))
}

/// One recorded input, owned.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Input {
    /// Bytes received.
    Data(Vec<u8>),
    /// The peer closed its side.
    Eof,
    /// A deadline was handled.
    Timeout,
}

/// A parsed recording: who, when, and every input with its time.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Session {
    /// The client's address.
    pub peer: SocketAddr,
    /// The wall clock when the connection was accepted.
    pub wall: SystemTime,
    /// The inputs in order, each with its time since the connection was accepted.
    pub inputs: Vec<(Duration, Input)>,
}

/// A recording that does not follow the format.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FormatError {
    /// 1-based line number (lines of raw data count as one).
    pub line: usize,
    /// What was wrong.
    pub what: String,
}

impl fmt::Display for FormatError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.what)
    }
}

impl std::error::Error for FormatError {}

impl Session {
    /// A session of the connection from `peer` accepted at `wall`, with no input yet.
    pub fn new(peer: SocketAddr, wall: SystemTime) -> Self {
        Self {
            peer,
            wall,
            inputs: Vec::new(),
        }
    }

    /// The session in the file format.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = encode_header(self.peer, self.wall);
        for (at, input) in &self.inputs {
            let record = match input {
                Input::Data(data) => Record::Data(data),
                Input::Eof => Record::Eof,
                Input::Timeout => Record::Timeout,
            };
            out.extend_from_slice(&encode_record(*at, record));
        }
        out
    }

    /// Parses a recording.
    pub fn parse(bytes: &[u8]) -> Result<Self, FormatError> {
        let mut reader = Reader {
            rest: bytes,
            line: 0,
        };
        if reader.line()? != MAGIC {
            return Err(reader.error("not an http-server recording (version 1)"));
        }
        let peer = reader
            .field("peer")?
            .parse()
            .map_err(|_| reader.error("bad peer address"))?;
        let wall = parse_seconds(reader.field("wall")?)
            .map(|d| SystemTime::UNIX_EPOCH + d)
            .ok_or_else(|| reader.error("bad wall clock"))?;
        let mut session = Self::new(peer, wall);
        while !reader.rest.is_empty() {
            let line = reader.line()?;
            let mut words = line.split(' ');
            let (Some("at"), Some(at), Some(what)) = (words.next(), words.next(), words.next())
            else {
                return Err(reader.error("expected `at TIME eof|timeout|data N`"));
            };
            let at = parse_seconds(at).ok_or_else(|| reader.error("bad time"))?;
            let input = match (what, words.next(), words.next()) {
                ("eof", None, _) => Input::Eof,
                ("timeout", None, _) => Input::Timeout,
                ("data", Some(n), None) => {
                    let n: usize = n.parse().map_err(|_| reader.error("bad length"))?;
                    Input::Data(reader.raw(n)?)
                }
                _ => return Err(reader.error("expected eof, timeout or data N")),
            };
            session.inputs.push((at, input));
        }
        Ok(session)
    }
}

struct Reader<'a> {
    rest: &'a [u8],
    line: usize,
}

impl<'a> Reader<'a> {
    fn error(&self, what: &str) -> FormatError {
        FormatError {
            line: self.line,
            what: what.to_owned(),
        }
    }

    fn line(&mut self) -> Result<&'a str, FormatError> {
        self.line += 1;
        let end = memchr(self.rest).ok_or_else(|| self.error("line without its line feed"))?;
        let (line, rest) = self.rest.split_at(end);
        self.rest = &rest[1..];
        std::str::from_utf8(line).map_err(|_| self.error("not UTF-8"))
    }

    fn field(&mut self, name: &str) -> Result<&'a str, FormatError> {
        let line = self.line()?;
        line.strip_prefix(name)
            .and_then(|v| v.strip_prefix(' '))
            .ok_or_else(|| self.error(&format!("expected `{name} ...`")))
    }

    fn raw(&mut self, n: usize) -> Result<Vec<u8>, FormatError> {
        self.line += 1;
        if self.rest.len() <= n || self.rest[n] != b'\n' {
            return Err(self.error("data shorter than its length, or no line feed after it"));
        }
        let data = self.rest[..n].to_vec();
        self.rest = &self.rest[n + 1..];
        Ok(data)
    }
}

fn memchr(bytes: &[u8]) -> Option<usize> {
    bytes.iter().position(|&b| b == b'\n')
}

/// The recording of one connection, held by it while [`ServerConfig::recorder`] is set.
pub(crate) struct Recording {
    sink: Box<dyn RecordSink>,
    start: Instant,
}

impl fmt::Debug for Recording {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Recording").finish_non_exhaustive()
    }
}

impl Recording {
    /// The recording of a connection from `peer` accepted at `now`, if the config asks.
    pub(crate) fn open(config: &ServerConfig, peer: SocketAddr, now: Now) -> Option<Box<Self>> {
        let sink = config.recorder.as_ref()?.open(peer, now.wall)?;
        Some(Box::new(Self {
            sink,
            start: now.instant,
        }))
    }

    pub(crate) fn record(&mut self, at: Instant, record: Record<'_>) {
        self.sink
            .record(at.saturating_duration_since(self.start), record);
    }
}

/// Feeds `session` through a new connection under `config`, the monotonic clock starting at
/// `origin` (any instant: only differences show) and the wall clock at the recorded `wall`.
/// After each input every transmit is taken at once, as a socket that never blocks would.
/// The trace (with [`ServerConfig::trace`]) and the access log go to `config.log`.
pub fn replay(config: &Arc<ServerConfig>, session: &Session, origin: Instant) {
    let now = |at: Duration| Now::new(origin + at, session.wall + at);
    let mut conn = Connection::new(Arc::clone(config), session.peer, now(Duration::ZERO));
    drain(&mut conn, now(Duration::ZERO));
    for (at, input) in &session.inputs {
        match input {
            Input::Data(data) => conn.handle_input(data, now(*at)),
            Input::Eof => conn.handle_eof(now(*at)),
            Input::Timeout => conn.handle_timeout(now(*at)),
        }
        drain(&mut conn, now(*at));
    }
    if !conn.is_closed() {
        conn.abort();
    }
}

/// Carries out everything the connection asks for at `now`.
fn drain(conn: &mut Connection, now: Now) {
    loop {
        let mut moved = false;
        while let Some(transmit) = conn.poll_transmit() {
            moved = true;
            match transmit {
                Transmit::Write => {
                    let mut slices = [IoSlice::new(&[]); 64];
                    let count = conn.io_slices(&mut slices);
                    let n = slices[..count].iter().map(|s| s.len()).sum();
                    conn.handle_sent(n, now);
                }
                Transmit::SendFile { len, .. } => {
                    conn.handle_sent(usize::try_from(len).unwrap_or(usize::MAX), now);
                }
                Transmit::Shutdown => break,
                // TLS sessions are not replayed: what was received is ciphertext, and the
                // keys of a session are never the same twice.
                Transmit::ReadFile { .. } => {
                    conn.abort();
                    return;
                }
            }
        }
        while let Some(io) = conn.poll_io() {
            moved = true;
            if let Io::SpawnCgi(_) = io {
                let error = std::io::Error::other("CGI scripts do not replay");
                conn.handle_cgi_failed(&error, now);
            }
        }
        if !moved || conn.is_closed() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Session {
        let mut session = Session::new(
            "[::1]:50000".parse().unwrap(),
            SystemTime::UNIX_EPOCH + Duration::new(1_767_225_600, 123_456_789),
        );
        session.inputs = vec![
            (
                Duration::from_micros(105),
                Input::Data(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n".to_vec()),
            ),
            (
                Duration::from_millis(2),
                Input::Data(b"\n\0\xff at 1 eof\n".to_vec()),
            ),
            (Duration::from_millis(3), Input::Data(Vec::new())),
            (Duration::new(30, 1), Input::Timeout),
            (Duration::new(31, 0), Input::Eof),
        ];
        session
    }

    #[test]
    #[expect(
        clippy::disallowed_methods,
        reason = "two arbitrary origins: the trace must not depend on them"
    )]
    fn replay_is_deterministic() {
        use crate::{Facts, MemorySink};
        let root = tempfile::tempdir().unwrap();
        std::fs::write(root.path().join("a.txt"), "hi\n").unwrap();
        let mut session = sample();
        session.inputs[0].1 = Input::Data(b"GET /a.txt HTTP/1.0\r\n\r\n".to_vec());
        let run = |origin: Instant| {
            let facts = Facts::new("127.0.0.1:8000".parse().unwrap(), "localhost");
            let mut config = ServerConfig::new(handler::Settings::new(root.path()), facts);
            let sink = Arc::new(MemorySink::new());
            config.log = Arc::clone(&sink) as Arc<dyn crate::LogSink>;
            config.trace = true;
            replay(&Arc::new(config), &session, origin);
            sink.text()
        };
        let first = run(Instant::now());
        let second = run(Instant::now() + Duration::from_secs(5));
        assert_eq!(first, second);
        assert!(first.contains("+0.000105s <- 23 bytes"), "{first}");
        assert!(
            first.contains("Date: Thu, 01 Jan 2026 00:00:00 GMT"),
            "{first}"
        );
        assert!(
            first.contains("[sendfile 3 bytes of /a.txt at offset 0]"),
            "{first}"
        );
    }

    #[test]
    fn round_trip() {
        let session = sample();
        let bytes = session.encode();
        assert_eq!(Session::parse(&bytes).unwrap(), session);
    }

    #[test]
    fn the_format_is_as_documented() {
        let mut session = sample();
        session.inputs.truncate(1);
        session.inputs.push((Duration::new(30, 1), Input::Timeout));
        assert_eq!(
            String::from_utf8(session.encode()).unwrap(),
            "http-server record 1\n\
             peer [::1]:50000\n\
             wall 1767225600.123456789\n\
             at 0.000105000 data 27\n\
             GET / HTTP/1.1\r\nHost: a\r\n\r\n\n\
             at 30.000000001 timeout\n"
        );
    }

    #[test]
    fn bad_recordings_are_refused() {
        let good = sample().encode();
        assert!(Session::parse(b"").is_err());
        assert!(Session::parse(b"http-server record 2\n").is_err());
        // Cut anywhere inside, the recording is refused or a shorter session, never a panic.
        for cut in 0..good.len() {
            if let Ok(session) = Session::parse(&good[..cut]) {
                assert!(session.inputs.len() < sample().inputs.len());
            }
        }
        let mut long = good.clone();
        long.extend_from_slice(b"at 32.000000000 data 5\nabc\n");
        assert_eq!(Session::parse(&long).unwrap_err().line, 13);
        let mut odd = good;
        odd.extend_from_slice(b"at 1.5 eof\n");
        assert!(Session::parse(&odd).is_err());
    }
}
