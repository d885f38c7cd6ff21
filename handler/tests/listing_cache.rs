//! The listing cache never serves a page the directory no longer matches: renames, new and
//! removed entries and a file replaced by a directory show at the very next request (in the
//! same second, with the same sizes); a recently changed directory, a directory with a
//! symbolic link, and the rich and JSON listings (which show sizes and times) are read afresh
//! every time.
#![expect(
    clippy::disallowed_methods,
    reason = "a test reads the clock to say when its requests happen"
)]

mod support;

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use handler::{ListingStyle, PlanBody, RequestContext, Settings, plan_request};
use support::parse_head;

/// The listing body `settings` plans for `target` at `now`.
fn listing(settings: &Settings, target: &str, now: SystemTime) -> Bytes {
    let raw = format!("GET {target} HTTP/1.0\r\n\r\n");
    let ctx = RequestContext::new("10.1.2.3:5555".parse().unwrap(), now);
    let plan = plan_request(settings, &parse_head(raw.as_bytes()), &ctx);
    assert_eq!(plan.head.status, 200);
    match plan.body {
        PlanBody::Bytes(b) => b,
        _ => panic!("a listing is planned as bytes"),
    }
}

fn text(b: &Bytes) -> &str {
    std::str::from_utf8(b).unwrap()
}

/// Whether two bodies are the same kept page (not two renderings of equal text).
fn same_page(a: &Bytes, b: &Bytes) -> bool {
    a.as_ptr() == b.as_ptr()
}

/// Waits until the kernel stamps a change with a later time than `dir`'s last change, so that
/// the change the test makes next is one the directory's timestamps can show. A real request
/// at the time the test claims (`later`) would come after this anyway: the test only shortens
/// the wait for [`SETTLED`](handler) by handing the handler a time in the future.
fn after_a_tick(dir: &Path, scratch: &Path) {
    let stamp = |m: &fs::Metadata| (m.ctime(), m.ctime_nsec());
    let last = stamp(&fs::metadata(dir).unwrap());
    let probe = scratch.join("probe");
    for _ in 0..10_000 {
        fs::write(&probe, b"").unwrap();
        if stamp(&fs::metadata(&probe).unwrap()) > last {
            return;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    panic!("the file system's clock did not move");
}

/// A root with `dir/` holding three files of the same size, and a scratch directory beside it.
fn fixture() -> (tempfile::TempDir, tempfile::TempDir) {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("dir");
    fs::create_dir(&dir).unwrap();
    for name in ["a.txt", "b.txt", "c.txt"] {
        fs::write(dir.join(name), b"same size").unwrap();
    }
    (root, tempfile::tempdir().unwrap())
}

/// A time well after any change the test makes (see [`after_a_tick`]).
fn later() -> SystemTime {
    SystemTime::now() + Duration::from_secs(10)
}

#[test]
fn renames_additions_removals_and_new_types_show_at_once() {
    let (root, scratch) = fixture();
    let dir = root.path().join("dir");
    let settings = Settings::new(root.path());
    let now = later();

    let first = listing(&settings, "/dir/", now);
    let second = listing(&settings, "/dir/", now);
    assert!(
        same_page(&first, &second),
        "a settled directory's page is kept"
    );
    assert!(text(&first).contains("href=\"b.txt\">b.txt</a>"));

    // A rename within the same second, to a name of the same length, sizes unchanged.
    after_a_tick(&dir, scratch.path());
    fs::rename(dir.join("b.txt"), dir.join("d.txt")).unwrap();
    let renamed = listing(&settings, "/dir/", now);
    assert!(!text(&renamed).contains("b.txt"));
    assert!(text(&renamed).contains("href=\"d.txt\">d.txt</a>"));
    assert_eq!(text(&renamed).len(), text(&first).len());

    after_a_tick(&dir, scratch.path());
    fs::write(dir.join("e.txt"), b"same size").unwrap();
    assert!(text(&listing(&settings, "/dir/", now)).contains("href=\"e.txt\">e.txt</a>"));

    after_a_tick(&dir, scratch.path());
    fs::remove_file(dir.join("a.txt")).unwrap();
    assert!(!text(&listing(&settings, "/dir/", now)).contains("a.txt"));

    // The same name, now a directory.
    after_a_tick(&dir, scratch.path());
    fs::remove_file(dir.join("c.txt")).unwrap();
    fs::create_dir(dir.join("c.txt")).unwrap();
    let retyped = listing(&settings, "/dir/", now);
    assert!(text(&retyped).contains("href=\"c.txt/\">c.txt/</a>"));

    // A file swapped for another by a rename over it: the directory changes too.
    after_a_tick(&dir, scratch.path());
    fs::write(dir.join("f.tmp"), b"new").unwrap();
    fs::rename(dir.join("f.tmp"), dir.join("e.txt")).unwrap();
    let swapped = listing(&settings, "/dir/", now);
    assert!(!text(&swapped).contains("f.tmp"));

    // Unchanged since: kept again, and what it says is what a fresh read says.
    let again = listing(&settings, "/dir/", now);
    assert!(same_page(&swapped, &again));
    let fresh = listing(&settings, "/dir/?fresh", now);
    assert_eq!(
        text(&again),
        text(&fresh).replace("/dir/?fresh", "/dir/"),
        "the kept page is the page of the directory as it is"
    );
}

#[test]
fn a_file_growing_does_not_change_the_default_page() {
    let (root, _scratch) = fixture();
    let settings = Settings::new(root.path());
    let now = later();
    let first = listing(&settings, "/dir/", now);
    // The page shows no size: the kept page is still right.
    fs::write(root.path().join("dir/a.txt"), vec![b'x'; 100_000]).unwrap();
    let second = listing(&settings, "/dir/", now);
    assert_eq!(first, second);
}

#[test]
fn a_recently_changed_directory_is_read_every_time() {
    let (root, _scratch) = fixture();
    let settings = Settings::new(root.path());
    // Changed a moment ago: a change within the same timestamp tick could still follow.
    let now = SystemTime::now();
    let first = listing(&settings, "/dir/", now);
    let second = listing(&settings, "/dir/", now);
    assert_eq!(first, second);
    assert!(!same_page(&first, &second));
}

#[test]
fn a_directory_with_a_link_is_read_every_time() {
    let (root, _scratch) = fixture();
    let dir = root.path().join("dir");
    // The link's target is in another directory: changing it leaves `dir` as it is.
    let other = root.path().join("other");
    fs::create_dir(&other).unwrap();
    fs::write(other.join("target"), b"").unwrap();
    std::os::unix::fs::symlink("../other/target", dir.join("link")).unwrap();
    let settings = Settings::new(root.path());
    let now = later();
    let first = listing(&settings, "/dir/", now);
    assert!(text(&first).contains("href=\"link\">link@</a>"));
    let dir_stamp = fs::metadata(&dir).unwrap().ctime_nsec();
    fs::remove_file(other.join("target")).unwrap();
    fs::create_dir(other.join("target")).unwrap();
    assert_eq!(fs::metadata(&dir).unwrap().ctime_nsec(), dir_stamp);
    let second = listing(&settings, "/dir/", now);
    assert!(!same_page(&first, &second));
    assert!(text(&second).contains("href=\"link/\">link@</a>"));
}

#[test]
fn rich_and_json_listings_are_read_every_time() {
    let (root, _scratch) = fixture();
    let mut settings = Settings::new(root.path());
    settings.listing = ListingStyle::Rich;
    let now = later();
    let json = listing(&settings, "/dir/?format=json", now);
    assert!(text(&json).contains("\"size\":9,"));
    let rich = listing(&settings, "/dir/", now);
    fs::write(root.path().join("dir/a.txt"), vec![b'x'; 12_345]).unwrap();
    assert!(text(&listing(&settings, "/dir/?format=json", now)).contains("\"size\":12345,"));
    assert_ne!(listing(&settings, "/dir/", now), rich);
}
