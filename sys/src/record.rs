//! `--record DIR`: each connection's input written to its own file in `DIR`, in the format
//! of [`serve::record`]. The file is named by the connection's start (Unix seconds, six
//! decimals) and peer: `1767225600.123456-127.0.0.1-53422.rec` (an IPv6 address with `_` for
//! its colons). Each input is one unbuffered write, so a recording survives a crash of the
//! server; a file that cannot be written stops that connection's recording, not the server.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use serve::record::{Record, RecordSink, Recorder, encode_header};

/// Opens one recording file per connection in a directory.
#[derive(Debug, Clone)]
pub struct DirRecorder {
    dir: PathBuf,
}

impl DirRecorder {
    /// Records into `dir` (which must exist).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// The file name for the connection from `peer` accepted at `wall`.
    pub fn file_name(peer: SocketAddr, wall: SystemTime) -> String {
        let since = wall
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default();
        let ip = peer.ip().to_string().replace(':', "_");
        format!(
            "{}.{:06}-{ip}-{}.rec",
            since.as_secs(),
            since.subsec_micros(),
            peer.port()
        )
    }
}

impl Recorder for DirRecorder {
    fn open(&self, peer: SocketAddr, wall: SystemTime) -> Option<Box<dyn RecordSink>> {
        let path = self.dir.join(Self::file_name(peer, wall));
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(path)
            .ok()?;
        file.write_all(&encode_header(peer, wall)).ok()?;
        Some(Box::new(FileSink { file: Some(file) }))
    }
}

/// One connection's recording file.
#[derive(Debug)]
struct FileSink {
    /// `None` after a failed write.
    file: Option<File>,
}

impl RecordSink for FileSink {
    fn record(&mut self, at: Duration, record: Record<'_>) {
        let bytes = self.encode(at, record);
        if let Some(file) = &mut self.file
            && file.write_all(&bytes).is_err()
        {
            self.file = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serve::record::{Input, Session};

    #[test]
    fn a_recording_file_parses_back() {
        let dir = tempfile::tempdir().unwrap();
        let recorder = DirRecorder::new(dir.path());
        let peer: SocketAddr = "[::1]:4000".parse().unwrap();
        let wall = SystemTime::UNIX_EPOCH + Duration::new(1_767_225_600, 5_000);
        let mut sink = recorder.open(peer, wall).unwrap();
        sink.record(
            Duration::from_millis(1),
            Record::Data(b"GET / HTTP/1.0\r\n\r\n"),
        );
        sink.record(Duration::from_millis(2), Record::Eof);
        drop(sink);
        let name = DirRecorder::file_name(peer, wall);
        assert_eq!(name, "1767225600.000005-__1-4000.rec");
        let session = Session::parse(&std::fs::read(dir.path().join(name)).unwrap()).unwrap();
        assert_eq!(session.peer, peer);
        assert_eq!(session.wall, wall);
        assert_eq!(
            session.inputs,
            [
                (
                    Duration::from_millis(1),
                    Input::Data(b"GET / HTTP/1.0\r\n\r\n".to_vec())
                ),
                (Duration::from_millis(2), Input::Eof),
            ]
        );
    }
}
