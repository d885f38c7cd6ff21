//! The TLS layer driven in memory: a rustls client against a `Connection`.

use std::io::{IoSlice, Read, Write};
use std::os::unix::fs::FileExt;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};

use crate::{Connection, Facts, MemorySink, Now, ServerConfig, Transmit};

struct Pair {
    conn: Connection,
    client: rustls::ClientConnection,
    now: Now,
    shut_down: bool,
    /// Plaintext the client received.
    got: Vec<u8>,
}

#[expect(
    clippy::disallowed_methods,
    reason = "an arbitrary origin for the test's time"
)]
fn origin() -> Now {
    Now::new(Instant::now(), SystemTime::now())
}

fn configs() -> (Arc<rustls::ServerConfig>, Arc<rustls::ClientConfig>) {
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let der = CertificateDer::from(cert.cert.der().to_vec());
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(cert.signing_key.serialize_der()));
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut server = rustls::ServerConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![der.clone()], key)
        .unwrap();
    server.alpn_protocols = vec![b"http/1.1".to_vec()];
    let mut roots = rustls::RootCertStore::empty();
    roots.add(der).unwrap();
    let mut client = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    client.alpn_protocols = vec![b"http/1.1".to_vec()];
    (Arc::new(server), Arc::new(client))
}

fn pair(root: &std::path::Path, log: Arc<MemorySink>) -> Pair {
    let (server, client) = configs();
    let facts = Facts::new("127.0.0.1:8443".parse().unwrap(), "localhost");
    let mut settings = handler::Settings::new(root);
    settings.quiet = false;
    let mut config = ServerConfig::new(settings, facts);
    config.tls = Some(server);
    config.tls_handshake_timeout = Duration::from_secs(3);
    config.log = log;
    let now = origin();
    let conn = Connection::new(Arc::new(config), "127.0.0.1:50000".parse().unwrap(), now);
    let name = ServerName::try_from("localhost").unwrap();
    let client = rustls::ClientConnection::new(client, name).unwrap();
    Pair {
        conn,
        client,
        now,
        shut_down: false,
        got: Vec::new(),
    }
}

impl Pair {
    /// Moves bytes both ways until nothing moves; returns the raw bytes the server wrote.
    fn run(&mut self) -> Vec<u8> {
        let mut wire = Vec::new();
        loop {
            let mut moved = false;
            // Client to server.
            let mut up = Vec::new();
            while self.client.wants_write() {
                self.client.write_tls(&mut up).unwrap();
            }
            if !up.is_empty() {
                moved = true;
                self.conn.handle_input(&up, self.now);
            }
            // Server to client.
            let mut down = Vec::new();
            while let Some(t) = self.conn.poll_transmit() {
                match t {
                    Transmit::Write => {
                        let mut slices = [IoSlice::new(&[]); 8];
                        let n = self.conn.io_slices(&mut slices);
                        let len: usize = slices[..n].iter().map(|s| s.len()).sum();
                        slices[..n].iter().for_each(|s| down.extend_from_slice(s));
                        self.conn.handle_sent(len, self.now);
                    }
                    Transmit::ReadFile { file, offset, len } => {
                        let mut buf = vec![0; len as usize];
                        let n = file.read_at(&mut buf, offset).unwrap();
                        self.conn.handle_file_bytes(&buf[..n], self.now);
                    }
                    Transmit::SendFile { .. } => panic!("sendfile under TLS"),
                    Transmit::Shutdown => {
                        self.shut_down = true;
                        break;
                    }
                }
            }
            if !down.is_empty() {
                moved = true;
                wire.extend_from_slice(&down);
                let mut reader = &down[..];
                while !reader.is_empty() {
                    self.client.read_tls(&mut reader).unwrap();
                    self.client.process_new_packets().unwrap();
                    self.drain();
                }
            }
            if !moved {
                return wire;
            }
        }
    }

    fn drain(&mut self) {
        let mut buf = [0; 4096];
        loop {
            match self.client.reader().read(&mut buf) {
                Ok(0) | Err(_) => return,
                Ok(n) => self.got.extend_from_slice(&buf[..n]),
            }
        }
    }

    fn plaintext(&mut self) -> Vec<u8> {
        self.drain();
        std::mem::take(&mut self.got)
    }
}

#[test]
fn file_range_and_listing_over_tls() {
    let root = tempfile::tempdir().unwrap();
    let body: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(root.path().join("big.bin"), &body).unwrap();
    let mut p = pair(root.path(), Arc::new(MemorySink::new()));
    p.run();
    assert!(!p.client.is_handshaking());
    assert_eq!(p.client.alpn_protocol(), Some(&b"http/1.1"[..]));

    p.client
        .writer()
        .write_all(b"GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    p.run();
    let text = p.plaintext();
    let split = text.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    assert!(
        text.starts_with(b"HTTP/1.0 200 OK\r\n"),
        "{:?}",
        &text[..split]
    );
    assert_eq!(&text[split..], &body[..]);

    // HTTP/1.0 closes: a fresh pair for the range and the listing.
    assert!(p.shut_down);
    let mut p = pair(root.path(), Arc::new(MemorySink::new()));
    p.client
        .writer()
        .write_all(b"GET /big.bin HTTP/1.1\r\nHost: x\r\nRange: bytes=10-19\r\n\r\n")
        .unwrap();
    p.run();
    let text = p.plaintext();
    assert!(
        text.starts_with(b"HTTP/1.0 206 Partial Content\r\n"),
        "{}",
        String::from_utf8_lossy(&text)
    );
    assert!(text.ends_with(&body[10..20]));

    let mut p = pair(root.path(), Arc::new(MemorySink::new()));
    p.client
        .writer()
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    p.run();
    let text = String::from_utf8(p.plaintext()).unwrap();
    assert!(text.starts_with("HTTP/1.0 200 OK\r\n"));
    assert!(text.contains("big.bin"));
    assert!(p.shut_down);
}

#[test]
fn plain_http_gets_a_plaintext_400() {
    let root = tempfile::tempdir().unwrap();
    let log = Arc::new(MemorySink::new());
    let mut p = pair(root.path(), Arc::clone(&log));
    p.conn.handle_input(b"GET / HTTP/1.1\r\n\r\n", p.now);
    let mut wire = Vec::new();
    while let Some(t) = p.conn.poll_transmit() {
        match t {
            Transmit::Write => {
                let mut slices = [IoSlice::new(&[]); 8];
                let n = p.conn.io_slices(&mut slices);
                let len: usize = slices[..n].iter().map(|s| s.len()).sum();
                slices[..n].iter().for_each(|s| wire.extend_from_slice(s));
                p.conn.handle_sent(len, p.now);
            }
            Transmit::Shutdown => {
                p.shut_down = true;
                break;
            }
            other => panic!("{other:?}"),
        }
    }
    let text = String::from_utf8(wire).unwrap();
    assert!(text.starts_with("HTTP/1.1 400 Bad Request\r\n"), "{text}");
    assert!(text.ends_with("The plain HTTP request was sent to HTTPS port.\r\n"));
    assert!(p.shut_down);
    assert!(log.text().contains("plain HTTP"), "{}", log.text());
    // More input is discarded; the peer's close ends it.
    p.conn.handle_input(b"more", p.now);
    assert!(p.conn.poll_transmit().is_none());
    p.conn.handle_eof(p.now);
    assert!(p.conn.is_closed());
}

#[test]
fn a_silent_client_is_dropped_at_the_handshake_timeout() {
    let root = tempfile::tempdir().unwrap();
    let log = Arc::new(MemorySink::new());
    let mut p = pair(root.path(), Arc::clone(&log));
    let deadline = p.conn.poll_timeout().unwrap();
    assert!(deadline <= p.now.instant + Duration::from_secs(3));
    let later = Now::new(p.now.instant + Duration::from_secs(3), p.now.wall);
    p.conn.handle_timeout(later);
    assert!(p.conn.is_closed());
    assert!(log.text().contains("TLS handshake timed out"));
}

#[test]
fn keep_alive_over_tls_ends_with_close_notify() {
    let root = tempfile::tempdir().unwrap();
    std::fs::write(root.path().join("a.txt"), "hello\n").unwrap();
    let (server, client) = configs();
    let facts = Facts::new("127.0.0.1:8443".parse().unwrap(), "localhost");
    let mut settings = handler::Settings::new(root.path());
    settings.protocol_version = "HTTP/1.1".to_owned();
    let mut config = ServerConfig::new(settings, facts);
    let mut protocol = protocol::Config::default();
    protocol.protocol_version = bytes::Bytes::from_static(b"HTTP/1.1");
    config.protocol = Arc::new(protocol);
    config.tls = Some(server);
    let now = origin();
    let conn = Connection::new(Arc::new(config), "127.0.0.1:50000".parse().unwrap(), now);
    let name = ServerName::try_from("localhost").unwrap();
    let client = rustls::ClientConnection::new(client, name).unwrap();
    let mut p = Pair {
        conn,
        client,
        now,
        shut_down: false,
        got: Vec::new(),
    };
    for _ in 0..3 {
        p.client
            .writer()
            .write_all(b"GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n")
            .unwrap();
        p.run();
        let text = String::from_utf8(p.plaintext()).unwrap();
        assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{text}");
        assert!(text.ends_with("\r\n\r\nhello\n"));
        assert!(!p.shut_down);
    }
    p.client
        .writer()
        .write_all(b"GET /a.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    p.run();
    assert!(p.shut_down);
    let text = String::from_utf8(p.plaintext()).unwrap();
    assert!(text.ends_with("hello\n"), "{text:?}");
    // The client saw the close_notify.
    let mut buf = [0; 1];
    assert_eq!(p.client.reader().read(&mut buf).unwrap(), 0);
}
