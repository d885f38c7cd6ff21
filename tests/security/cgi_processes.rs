//! A CGI script's processes, and its stderr.
//!
//! The holes: a script that closed its output and kept running was waited for with no
//! deadline (std: the thread and the client hung); what a script left running (`(sleep) &`)
//! survived the request on every runtime; and stderr without a newline was buffered whole and
//! rescanned on every read. Now every run ends with the script's whole process group killed
//! and the script reaped, and a logged stderr line is cut at 8 KiB.

use std::fs;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use super::cgi_output::{cgi_tree, script};
use crate::common::{Server, contains, exchange_timeout, get, show};

/// A `sleep` argument no other process on the machine has: a fractional number of seconds
/// made of this test process's pid and a counter, found again in `/proc/*/cmdline`.
fn marker() -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("3{n:03}.{:07}", std::process::id())
}

/// Whether a process runs `sleep MARKER`.
fn sleeper_alive(marker: &str) -> bool {
    let wanted = format!("sleep\0{marker}\0");
    fs::read_dir("/proc").unwrap().flatten().any(|entry| {
        fs::read(entry.path().join("cmdline")).is_ok_and(|c| c == wanted.as_bytes())
            && !fs::read_to_string(entry.path().join("stat")).is_ok_and(|s| {
                s.rsplit_once(')')
                    .is_some_and(|(_, r)| r.trim_start().starts_with('Z'))
            })
    })
}

/// Waits until `cond` holds (up to `limit`).
fn eventually(limit: Duration, cond: impl Fn() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    cond()
}

/// Zombie children of `pid`.
fn zombies(pid: i32) -> usize {
    fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter(|entry| {
            fs::read_to_string(entry.path().join("stat")).is_ok_and(|stat| {
                let Some((_, rest)) = stat.rsplit_once(')') else {
                    return false;
                };
                let mut fields = rest.split_whitespace();
                fields.next() == Some("Z") && fields.next() == Some(&pid.to_string())
            })
        })
        .count()
}

/// `GET target`, reading until close or `limit` of silence; panics (with the bytes so far)
/// if the reply is not complete within `limit`.
fn timed_get(server: &Server, target: &str, limit: Duration) -> (Vec<u8>, Duration) {
    let started = Instant::now();
    let (raw, closed) = exchange_timeout(
        server.addr,
        format!("GET {target} HTTP/1.0\r\n\r\n").as_bytes(),
        limit,
    );
    let took = started.elapsed();
    assert!(
        closed && took < limit,
        "no complete reply to {target} within {limit:?}: {}",
        show(&raw)
    );
    (raw, took)
}

fn script_that_closes_its_output_answers_promptly(runtime: &'static str) {
    let fx = cgi_tree();
    let mark = marker();
    script(
        &fx.root.join("cgi-bin"),
        "detach.sh",
        &format!("printf 'Content-Type: text/plain\\n\\nbye\\n'\nexec >&- 2>&-\nexec sleep {mark}"),
    );
    // The time limit is far away: only the end of the output may end the run.
    let server = Server::start(runtime, &fx.root, &["--cgi"]);
    let (raw, took) = timed_get(&server, "/cgi-bin/detach.sh", Duration::from_secs(8));
    assert!(contains(&raw, b"\r\n\r\nbye\n"), "{}", show(&raw));
    assert!(took < Duration::from_secs(5), "answered after {took:?}");
    assert!(
        eventually(Duration::from_secs(5), || !sleeper_alive(&mark)),
        "the script outlived its output"
    );
    assert!(
        eventually(Duration::from_secs(5), || zombies(server.pid()) == 0),
        "zombie left"
    );
    let hello = get(server.addr, "/cgi-bin/detach.sh");
    assert_eq!(hello.code, 200, "{}", hello.describe());
    server.stop_clean();
}

fn background_child_does_not_outlive_the_request(runtime: &'static str) {
    let fx = cgi_tree();
    let mark = marker();
    script(
        &fx.root.join("cgi-bin"),
        "spawn.sh",
        &format!(
            "(exec sleep {mark}) >/dev/null 2>&1 </dev/null &\nprintf 'Content-Type: text/plain\\n\\nstarted\\n'"
        ),
    );
    let server = Server::start(runtime, &fx.root, &["--cgi"]);
    let (raw, _) = timed_get(&server, "/cgi-bin/spawn.sh", Duration::from_secs(8));
    assert!(contains(&raw, b"started"), "{}", show(&raw));
    assert!(
        eventually(Duration::from_secs(5), || !sleeper_alive(&mark)),
        "the script's background child survived the request"
    );
    assert!(
        eventually(Duration::from_secs(5), || zombies(server.pid()) == 0),
        "zombie left"
    );
    server.stop_clean();
}

fn timed_out_script_loses_its_whole_group(runtime: &'static str) {
    let fx = cgi_tree();
    let (child_mark, main_mark) = (marker(), marker());
    script(
        &fx.root.join("cgi-bin"),
        "stuck.sh",
        &format!(
            "(exec sleep {child_mark}) >/dev/null 2>&1 </dev/null &\nprintf 'Content-Type: text/plain\\n\\nworking\\n'\nexec sleep {main_mark}"
        ),
    );
    let server = Server::start(runtime, &fx.root, &["--cgi", "--cgi-timeout", "1"]);
    let (raw, _) = timed_get(&server, "/cgi-bin/stuck.sh", Duration::from_secs(10));
    assert!(contains(&raw, b"working"), "{}", show(&raw));
    assert!(
        eventually(Duration::from_secs(5), || !sleeper_alive(&child_mark)
            && !sleeper_alive(&main_mark)),
        "part of the timed-out script's group survived"
    );
    assert!(
        server.wait_stderr(b"timed out and was killed"),
        "{}",
        server.stderr()
    );
    assert!(
        eventually(Duration::from_secs(5), || zombies(server.pid()) == 0),
        "zombie left"
    );
    server.stop_clean();
}

fn endless_stderr_line_is_capped(runtime: &'static str) {
    let fx = cgi_tree();
    let bin = fx.root.join("cgi-bin");
    script(
        &bin,
        "noisy.sh",
        "head -c 16777216 /dev/zero | tr '\\0' x >&2\nprintf 'Content-Type: text/plain\\n\\nquiet-%s\\n' $((40+2))",
    );
    script(
        &bin,
        "hello.sh",
        "printf 'Content-Type: text/plain\\n\\nhello\\n'",
    );
    let server = Server::start(runtime, &fx.root, &["--cgi"]);
    let addr = server.addr;
    let noisy = std::thread::spawn(move || {
        let started = Instant::now();
        let reply = exchange_timeout(
            addr,
            b"GET /cgi-bin/noisy.sh HTTP/1.0\r\n\r\n",
            Duration::from_secs(15),
        );
        (reply, started.elapsed())
    });
    // Meanwhile the server answers others.
    let started = Instant::now();
    let hello = get(server.addr, "/cgi-bin/hello.sh");
    assert_eq!(hello.body, b"hello\n", "{}", hello.describe());
    assert!(started.elapsed() < Duration::from_secs(5), "server stalled");
    let ((raw, closed), took) = noisy.join().unwrap();
    assert!(closed && contains(&raw, b"quiet-42"), "{}", show(&raw));
    assert!(
        took < Duration::from_secs(10),
        "16 MiB of stderr took {took:?}"
    );
    assert!(server.wait_stderr(b"... (line cut)"), "no cut line logged");
    let log = server.stop_clean();
    let longest = log.lines().map(str::len).max().unwrap_or(0);
    assert!(longest < 9 * 1024, "a log line of {longest} bytes");
    assert_eq!(log.matches("(line cut)").count(), 1, "cut once");
}

runtime_suite!([
    script_that_closes_its_output_answers_promptly,
    background_child_does_not_outlive_the_request,
    timed_out_script_loses_its_whole_group,
    endless_stderr_line_is_capped,
]);
