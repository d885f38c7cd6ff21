//! The recorded corpus in `tests/recorded/`: each `NAME.rec` (recorded with
//! `http-server --record`) is replayed twice with `-p HTTP/1.1 -d` a copy of
//! `tests/recorded/site`, and both traces must be byte for byte `NAME.trace`.
//!
//! `Date` comes from the recorded wall clock, so it is exact. The copy's files get a fixed
//! modification time (so `Last-Modified` is exact too); only the `ETag`, which names the
//! file's inode, is normalised. `UPDATE_RECORDED=1` rewrites the expected traces.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, SystemTime};

fn recorded() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/recorded")
}

/// `tests/recorded/site` copied into `to`, every file modified at one fixed time.
fn copy_site(from: &Path, to: &Path) {
    let mtime = SystemTime::UNIX_EPOCH + Duration::from_secs(1_767_225_600);
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            std::fs::create_dir(&target).unwrap();
            copy_site(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
            let file = std::fs::File::options().write(true).open(&target).unwrap();
            file.set_modified(mtime).unwrap();
        }
    }
}

fn replay(site: &Path, rec: &Path) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_http-server"))
        .args(["-p", "HTTP/1.1", "-d"])
        .arg(site)
        .arg("--replay")
        .arg(rec)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}: {}",
        rec.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The trace with each `ETag` value (it names the inode) replaced by `"<etag>"`.
fn normalise(trace: &str) -> String {
    trace
        .lines()
        .map(|line| match line.find("ETag: \"") {
            Some(i) => format!("{}ETag: \"<etag>\"\\r\\n", &line[..i]),
            None => line.to_owned(),
        })
        .map(|line| line + "\n")
        .collect()
}

#[test]
fn recorded_sessions_replay_exactly() {
    let dir = recorded();
    let site = tempfile::tempdir().unwrap();
    copy_site(&dir.join("site"), site.path());
    let mut recordings: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "rec"))
        .collect();
    recordings.sort();
    assert!(recordings.len() >= 4, "the corpus is missing");
    for rec in recordings {
        let first = replay(site.path(), &rec);
        let second = replay(site.path(), &rec);
        assert_eq!(first, second, "{}: two replays differ", rec.display());
        let trace = normalise(&first);
        let expected_path = rec.with_extension("trace");
        if std::env::var_os("UPDATE_RECORDED").is_some() {
            std::fs::write(&expected_path, &trace).unwrap();
        }
        let expected = std::fs::read_to_string(&expected_path).unwrap();
        assert_eq!(trace, expected, "{}: the trace changed", rec.display());
    }
}

#[test]
fn the_smuggling_attempt_gets_400() {
    let expected = std::fs::read_to_string(recorded().join("smuggling.trace")).unwrap();
    assert!(expected.contains("HTTP/1.1 400 Ambiguous request framing"));
    assert!(expected.contains("event RequestError 400 ambiguous request framing"));
    // Neither the request nor the one hidden in its body is handled.
    assert_eq!(expected.matches("event Request ").count(), 0);
}
