//! A connection driven by hand: no sockets, the handler task on a thread of the test.

use std::io::{self, IoSlice, Write};
use std::sync::Arc;
use std::sync::mpsc::channel;
use std::time::{Instant, SystemTime};

use handler::exchange::{Exchange, Handler};

use super::*;
use crate::config::Facts;
use crate::routes::Command;

struct Hello;

impl Handler for Hello {
    fn do_get(&self, ex: &mut Exchange<'_>) -> io::Result<()> {
        ex.send_response(200, None);
        ex.send_header("Content-Length", "2");
        ex.end_headers()?;
        ex.wfile().write_all(b"hi")
    }

    fn do_post(&self, ex: &mut Exchange<'_>) -> io::Result<()> {
        let mut body = Vec::new();
        io::Read::read_to_end(&mut ex.rfile(), &mut body)?;
        self.do_get(ex)
    }
}

#[expect(
    clippy::disallowed_methods,
    reason = "an arbitrary origin for the test's time"
)]
fn now() -> Now {
    Now::new(Instant::now(), SystemTime::now())
}

/// Everything the connection has to write, as if the socket took it all.
fn drain(conn: &mut Connection, wire: &mut Vec<u8>) {
    while let Some(Transmit::Write) = conn.poll_transmit() {
        let mut slices = [IoSlice::new(&[]); 8];
        let n = conn.io_slices(&mut slices);
        let len: usize = slices[..n].iter().map(|s| s.len()).sum();
        slices[..n].iter().for_each(|s| wire.extend_from_slice(s));
        conn.handle_sent(len, now());
    }
}

/// A request that arrives after the handler's response went out but before the handler said
/// `Done` is dispatched only then: its job must not be ended by the first one's last word.
#[test]
fn pipelined_handler_requests_each_get_their_own_run() {
    let facts = Facts::new("127.0.0.1:8000".parse().unwrap(), "localhost");
    let mut settings = handler::Settings::new(".");
    settings.protocol_version = "HTTP/1.1".into();
    let mut config = ServerConfig::new(settings, facts);
    let mut protocol = protocol::Config::default();
    protocol.protocol_version = "HTTP/1.1".into();
    config.protocol = Arc::new(protocol);
    config.routes = Some(Arc::new(Hello));
    let mut conn = Connection::new(Arc::new(config), "127.0.0.1:5000".parse().unwrap(), now());
    conn.handle_input(
        b"POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nok",
        now(),
    );
    let mut wire = Vec::new();
    for round in 0..2 {
        let Some(Io::RunHandler(task)) = conn.poll_io() else {
            panic!("no handler task");
        };
        let (commands, inbox) = channel();
        #[expect(
            clippy::disallowed_methods,
            reason = "the handler runs off the loop, as a runtime runs it"
        )]
        let worker = std::thread::spawn(move || {
            task.run(|command| commands.send(command).unwrap());
        });
        // Every command is applied before the next is taken, as a reactor does.
        while let Ok(command) = inbox.recv() {
            let finish = matches!(command, Command::Finish);
            conn.handle_command(command, now());
            drain(&mut conn, &mut wire);
            if finish && round == 0 {
                conn.handle_input(b"GET /a HTTP/1.1\r\nHost: x\r\n\r\n", now());
                // As a driver's next turn does.
                conn.handle_timeout(now());
                drain(&mut conn, &mut wire);
            }
        }
        worker.join().unwrap();
    }
    let text = String::from_utf8(wire).unwrap();
    assert_eq!(text.matches("HTTP/1.1 200 OK\r\n").count(), 2, "{text}");
    assert!(text.ends_with("\r\n\r\nhi"), "{text}");
    assert!(!conn.is_closed());
}

/// In compat mode our head goes out as the script starts: stdout is read only once the
/// response takes body bytes, so a head left queued would stall the reply for good.
#[test]
fn compat_cgi_head_goes_out_when_the_script_starts() {
    let root = tempfile::tempdir().unwrap();
    let bin = root.path().join("cgi-bin");
    std::fs::create_dir(&bin).unwrap();
    std::fs::write(bin.join("x.sh"), "#!/bin/sh\n").unwrap();
    std::fs::set_permissions(
        bin.join("x.sh"),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let mut settings = handler::Settings::new(root.path());
    settings.cgi.enabled = true;
    settings.compat = true;
    let facts = Facts::new("127.0.0.1:8000".parse().unwrap(), "localhost");
    let config = Arc::new(ServerConfig::new(settings, facts));
    let mut conn = Connection::new(config, "127.0.0.1:5000".parse().unwrap(), now());
    conn.handle_input(b"GET /cgi-bin/x.sh HTTP/1.0\r\n\r\n", now());
    assert!(matches!(conn.poll_io(), Some(Io::SpawnCgi(_))));
    assert!(!conn.wants_cgi_stdout());
    conn.handle_cgi_started(now());
    let mut wire = Vec::new();
    drain(&mut conn, &mut wire);
    let text = String::from_utf8(wire).unwrap();
    assert!(
        text.starts_with("HTTP/1.0 200 Script output follows\r\n"),
        "{text}"
    );
    assert!(conn.wants_cgi_stdout());
}

// ----- multipart responses: several spans of one file -----

use std::os::unix::fs::FileExt;

/// Drives `conn` to the end of its output, sending at most `step` bytes per write or
/// sendfile (partial writes everywhere), and returns what reached the "socket".
fn drain_in_steps(conn: &mut Connection, now: Now, step: usize) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let n = match conn.poll_transmit() {
            Some(Transmit::Write) => {
                let mut slices = [IoSlice::new(&[]); 16];
                let count = conn.io_slices(&mut slices);
                let mut n = 0;
                for s in &slices[..count] {
                    let take = s.len().min(step - n);
                    out.extend_from_slice(&s[..take]);
                    n += take;
                    if n == step {
                        break;
                    }
                }
                n
            }
            Some(Transmit::SendFile { file, offset, len }) => {
                let take = usize::try_from(len).unwrap().min(step);
                let mut buf = vec![0; take];
                file.read_exact_at(&mut buf, offset).unwrap();
                out.extend_from_slice(&buf);
                take
            }
            _ => return out,
        };
        conn.handle_sent(n, now);
    }
}

#[test]
fn multipart_spans_are_sent_from_their_offsets() {
    let dir = tempfile::tempdir().unwrap();
    let data: Vec<u8> = (0..=255u8).cycle().take(10_000).collect();
    std::fs::write(dir.path().join("f.bin"), &data).unwrap();
    let local: SocketAddr = "127.0.0.1:8000".parse().unwrap();
    let config = Arc::new(ServerConfig::new(
        handler::Settings::new(dir.path()),
        Facts::new(local, "localhost"),
    ));
    #[expect(
        clippy::disallowed_methods,
        reason = "a test stands in for the runtime, which reads the clock"
    )]
    let now = Now::new(Instant::now(), SystemTime::now());
    for step in [1, 7, 4096, 1 << 20] {
        let mut conn = Connection::new(Arc::clone(&config), local, now);
        conn.handle_input(
            b"GET /f.bin HTTP/1.0\r\nRange: bytes=9990-,0-2,100-104\r\n\r\n",
            now,
        );
        let out = drain_in_steps(&mut conn, now, step);
        let text = String::from_utf8_lossy(&out);
        assert!(
            text.starts_with("HTTP/1.0 206 Partial Content\r\n"),
            "{text}"
        );
        let body_at = out.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
        let length: usize = text
            .lines()
            .find_map(|l| l.strip_prefix("Content-Length: "))
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(out.len() - body_at, length);
        let body = &out[body_at..];
        for (first, last) in [(9990, 9999), (0, 2), (100, 104)] {
            let header = format!("Content-Range: bytes {first}-{last}/10000\r\n\r\n");
            let at = body
                .windows(header.len())
                .position(|w| w == header.as_bytes())
                .unwrap()
                + header.len();
            assert_eq!(&body[at..=at + last - first], &data[first..=last]);
        }
        assert!(conn.file.is_none());
    }
}

/// `ServerConfig::trace`: the bytes in and out, the core's events and its states, through the
/// log sink, driven by hand.
#[test]
fn trace_goes_to_the_log_sink() {
    let root = tempfile::tempdir().unwrap();
    std::fs::write(root.path().join("a.txt"), "hello\n").unwrap();
    let facts = Facts::new("127.0.0.1:8000".parse().unwrap(), "localhost");
    let mut config = ServerConfig::new(handler::Settings::new(root.path()), facts);
    let sink = Arc::new(crate::MemorySink::new());
    config.log = Arc::clone(&sink) as Arc<dyn crate::LogSink>;
    config.trace = true;
    let mut conn = Connection::new(Arc::new(config), "127.0.0.1:5000".parse().unwrap(), now());
    conn.handle_input(
        b"POST /a.txt HTTP/1.0\r\nContent-Length: 2\r\n\r\nhi",
        now(),
    );
    let mut wire = Vec::new();
    drain(&mut conn, &mut wire);
    let text = sink.text();
    for needle in [
        "[127.0.0.1:5000] +0.",
        "s accepted\n",
        "s <- 45 bytes\n",
        "[127.0.0.1:5000]     POST /a.txt HTTP/1.0\\r\\n\n",
        "[127.0.0.1:5000]     hi\n",
        "s event Request POST /a.txt HTTP/1.0 framing=length 2 keep-alive=false\n",
        "s event Body (2 bytes)\n",
        "s event EndOfRequest\n",
        "s state read=done write=finished\n",
        "s -> ",
        "[127.0.0.1:5000]     HTTP/1.0 501 Unsupported method ('POST')\\r\\n\n",
        "s -> shutdown",
    ] {
        assert!(text.contains(needle), "{needle:?} not in:\n{text}");
    }
}

/// Off, nothing is traced.
#[test]
fn no_trace_when_off() {
    let facts = Facts::new("127.0.0.1:8000".parse().unwrap(), "localhost");
    let mut config = ServerConfig::new(handler::Settings::new("."), facts);
    let sink = Arc::new(crate::MemorySink::new());
    config.log = Arc::clone(&sink) as Arc<dyn crate::LogSink>;
    config.settings.quiet = true;
    let mut conn = Connection::new(Arc::new(config), "127.0.0.1:5000".parse().unwrap(), now());
    conn.handle_input(b"GET /nope HTTP/1.0\r\n\r\n", now());
    let mut wire = Vec::new();
    drain(&mut conn, &mut wire);
    assert!(!sink.text().contains("[127.0.0.1:5000]"), "{}", sink.text());
}

/// A keep-alive connection that answered a file request and found nothing more to read
/// holds no buffer: the runtime's last read before it waits gives everything back.
#[test]
fn a_parked_keep_alive_connection_holds_no_buffer() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("f.txt"), b"hello").unwrap();
    let local: SocketAddr = "127.0.0.1:8000".parse().unwrap();
    let mut settings = handler::Settings::new(dir.path());
    settings.protocol_version = "HTTP/1.1".into();
    let mut config = ServerConfig::new(settings, Facts::new(local, "localhost"));
    let mut protocol = protocol::Config::default();
    protocol.protocol_version = "HTTP/1.1".into();
    config.protocol = Arc::new(protocol);
    let now = now();
    let mut conn = Connection::new(Arc::new(config), local, now);
    let request = b"GET /f.txt HTTP/1.1\r\nHost: x\r\n\r\n";
    for _ in 0..2 {
        conn.recv_buf()[..request.len()].copy_from_slice(request);
        conn.handle_recv(request.len(), now);
        let out = drain_in_steps(&mut conn, now, 1 << 20);
        assert!(out.starts_with(b"HTTP/1.1 200 OK\r\n"));
        assert!(out.ends_with(b"\r\n\r\nhello"));
        assert!(conn.is_idle());
        // The read that finds nothing: the runtime is about to wait.
        let _ = conn.recv_buf();
        conn.handle_recv(0, now);
        assert_eq!(conn.retained_bytes(), 0);
        assert!(conn.file.is_none());
    }
}
