//! The planner keeps files open between requests (and small settled files in memory): a file
//! changed between two requests must still be served as it is now, whatever the change.
#![expect(
    clippy::disallowed_methods,
    reason = "the cache keeps content only for files unchanged for two seconds of real time"
)]

mod support;

use std::fs;
use std::path::Path;
use std::time::{Duration, SystemTime};

use handler::{PlanBody, RequestContext, Settings, plan_request};
use protocol::RequestHead;
use support::{parse_head, wire};

/// A request for `target`, as it arrives.
fn arrive(target: &str) -> RequestHead {
    let raw = format!("GET {target} HTTP/1.1\r\nHost: x\r\n\r\n");
    parse_head(raw.as_bytes())
}

/// Status, body, and whether the body came from memory.
fn fetch(settings: &Settings, target: &str) -> (u16, Vec<u8>, bool) {
    answer(settings, &arrive(target))
}

/// [`fetch`] for a request that arrived earlier.
fn answer(settings: &Settings, head: &RequestHead) -> (u16, Vec<u8>, bool) {
    let ctx = RequestContext::new("10.1.2.3:5555".parse().unwrap(), SystemTime::now());
    let plan = plan_request(settings, head, &ctx);
    let status = plan.head.status;
    let from_memory = matches!(plan.body, PlanBody::Bytes(_));
    let wire = wire(plan);
    let split = wire.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    (status, wire[split..].to_vec(), from_memory)
}

fn served(dir: &Path) -> Settings {
    Settings::new(dir)
}

#[test]
fn a_file_rewritten_in_place_with_the_same_size_is_served_as_it_is_now() {
    let dir = tempfile::tempdir().unwrap();
    let settings = served(dir.path());
    let path = dir.path().join("page.txt");
    fs::write(&path, b"first version").unwrap();
    assert_eq!(fetch(&settings, "/page.txt").1, b"first version");
    // Same size, same second: in place, at once.
    fs::write(&path, b"other version").unwrap();
    assert_eq!(fetch(&settings, "/page.txt").1, b"other version");
}

#[test]
fn a_file_replaced_by_a_rename_is_served_as_it_is_now() {
    let dir = tempfile::tempdir().unwrap();
    let settings = served(dir.path());
    let path = dir.path().join("page.txt");
    fs::write(&path, b"first version").unwrap();
    assert_eq!(fetch(&settings, "/page.txt").1, b"first version");
    let tmp = dir.path().join("page.tmp");
    fs::write(&tmp, b"other version").unwrap();
    fs::rename(&tmp, &path).unwrap();
    assert_eq!(fetch(&settings, "/page.txt").1, b"other version");
}

#[test]
fn a_file_that_grew_or_vanished_is_served_as_it_is_now() {
    let dir = tempfile::tempdir().unwrap();
    let settings = served(dir.path());
    let path = dir.path().join("log.txt");
    fs::write(&path, b"one").unwrap();
    assert_eq!(fetch(&settings, "/log.txt").1, b"one");
    fs::write(&path, b"one two").unwrap();
    assert_eq!(fetch(&settings, "/log.txt").1, b"one two");
    fs::remove_file(&path).unwrap();
    assert_eq!(fetch(&settings, "/log.txt").0, 404);
}

#[test]
fn a_cached_path_turned_into_a_link_out_of_the_root_is_refused() {
    let outside = tempfile::tempdir().unwrap();
    let secret = outside.path().join("secret.txt");
    fs::write(&secret, b"do not serve").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let settings = served(dir.path());
    let path = dir.path().join("page.txt");
    fs::write(&path, b"public").unwrap();
    assert_eq!(fetch(&settings, "/page.txt").1, b"public");
    fs::remove_file(&path).unwrap();
    std::os::unix::fs::symlink(&secret, &path).unwrap();
    let (status, body, _) = fetch(&settings, "/page.txt");
    assert_eq!(status, 404);
    assert!(!body.windows(12).any(|w| w == b"do not serve"));
}

#[test]
fn a_settled_small_file_is_kept_in_memory_and_still_never_stale() {
    let dir = tempfile::tempdir().unwrap();
    let settings = served(dir.path());
    let path = dir.path().join("style.css");
    fs::write(&path, b"body { color: red }").unwrap();
    // Just written: read from the file each time, not kept.
    let (_, body, from_memory) = fetch(&settings, "/style.css");
    assert_eq!(
        (body.as_slice(), from_memory),
        (&b"body { color: red }"[..], false)
    );
    // Unchanged for longer than a timestamp could hide a write: kept.
    std::thread::sleep(Duration::from_millis(2100));
    assert!(fetch(&settings, "/style.css").2);
    let (_, body, from_memory) = fetch(&settings, "/style.css");
    assert_eq!(
        (body.as_slice(), from_memory),
        (&b"body { color: red }"[..], true)
    );
    // Rewritten in place, same size: the kept copy is not used.
    fs::write(&path, b"body { color: tan }").unwrap();
    let (_, body, from_memory) = fetch(&settings, "/style.css");
    assert_eq!(
        (body.as_slice(), from_memory),
        (&b"body { color: tan }"[..], false)
    );
    // Replaced by a rename with the same size.
    let tmp = dir.path().join("style.tmp");
    fs::write(&tmp, b"body { color: sky }").unwrap();
    fs::rename(&tmp, &path).unwrap();
    assert_eq!(fetch(&settings, "/style.css").1, b"body { color: sky }");
}

#[test]
fn two_served_directories_do_not_share_entries() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    fs::write(a.path().join("f.txt"), b"from a").unwrap();
    fs::write(b.path().join("f.txt"), b"from b").unwrap();
    let (sa, sb) = (served(a.path()), served(b.path()));
    for _ in 0..2 {
        assert_eq!(fetch(&sa, "/f.txt").1, b"from a");
        assert_eq!(fetch(&sb, "/f.txt").1, b"from b");
    }
}

#[test]
fn in_a_round_of_shared_looks_a_look_answers_until_a_byte_arrives() {
    let dir = tempfile::tempdir().unwrap();
    let settings = served(dir.path());
    let path = dir.path().join("page.txt");
    let replace = |content: &[u8]| {
        let tmp = dir.path().join("page.tmp");
        fs::write(&tmp, content).unwrap();
        fs::rename(&tmp, &path).unwrap();
    };
    fs::write(&path, b"version one").unwrap();
    // Two requests arrive, then a reactor plans them.
    let (first, second) = (arrive("/page.txt"), arrive("/page.txt"));
    handler::with_shared_looks(|| {
        assert_eq!(answer(&settings, &first).1, b"version one");
        // Nothing arrived since the look: the second request was sent before it, and the
        // look answers it (the file it saw is open still).
        replace(b"version two");
        assert_eq!(answer(&settings, &second).1, b"version one");
        // A request that arrives now may have been sent after the change.
        assert_eq!(fetch(&settings, "/page.txt").1, b"version two");
    });
    // Outside a round every request takes its own look.
    replace(b"version 3!!");
    assert_eq!(fetch(&settings, "/page.txt").1, b"version 3!!");
    handler::with_shared_looks(|| {
        // A new round does not trust the last one's look.
        replace(b"version 4!!");
        assert_eq!(fetch(&settings, "/page.txt").1, b"version 4!!");
    });
}
