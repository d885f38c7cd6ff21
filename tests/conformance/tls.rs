//! HTTPS (`--tls-cert`): a certificate made at test time, and real clients over real sockets:
//! Python's `ssl` + `http.client` and `curl --cacert` (when curl is installed) fetch a file, a
//! range and a listing; plain HTTP sent to the TLS port gets nginx's plaintext 400; a client
//! that connects and never handshakes is dropped at the handshake timeout; the flag errors
//! are CPython's (exit status 2).

use std::ffi::OsString;
use std::fmt::Write as _;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::common::fixture::{A_TXT, big_bytes};
use crate::common::{self, Conn};
use crate::support::Env;

/// A self-signed certificate for `localhost` and `127.0.0.1`, as PEM files.
struct Cert {
    dir: tempfile::TempDir,
}

impl Cert {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let cert = rcgen::generate_simple_self_signed(vec![
            "localhost".to_owned(),
            "127.0.0.1".to_owned(),
        ])
        .unwrap();
        std::fs::write(dir.path().join("cert.pem"), cert.cert.pem()).unwrap();
        std::fs::write(dir.path().join("key.pem"), cert.signing_key.serialize_pem()).unwrap();
        Self { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn arg(&self, name: &str) -> String {
        self.path(name).to_str().unwrap().to_owned()
    }

    /// The key encrypted with `password` (PKCS#8, with openssl), if openssl is installed.
    fn encrypted_key(&self, password: &str) -> Option<PathBuf> {
        let out = self.path("enc.pem");
        let status = Command::new("openssl")
            .args(["pkcs8", "-topk8", "-in"])
            .arg(self.path("key.pem"))
            .arg("-out")
            .arg(&out)
            .args(["-passout", &format!("pass:{password}")])
            .status()
            .ok()?;
        status.success().then_some(out)
    }
}

fn python_fetch(cert: &Path, port: u16) -> String {
    let script = r#"
import http.client, ssl, sys, json, hashlib
ctx = ssl.create_default_context(cafile=sys.argv[1])
ctx.set_alpn_protocols(["http/1.1"])
out = {}
for name, target, headers in [("file", "/a.txt", {}), ("range", "/big.bin", {"Range": "bytes=100-199"}), ("listing", "/sub/", {}), ("big", "/big.bin", {})]:
    c = http.client.HTTPSConnection("127.0.0.1", int(sys.argv[2]), context=ctx, timeout=10)
    c.request("GET", target, headers=headers)
    out["alpn"] = c.sock.selected_alpn_protocol()
    r = c.getresponse()
    body = r.read()
    out[name] = [r.status, body.hex() if len(body) < 1000 else hashlib.sha256(body).hexdigest(), len(body)]
    c.close()
print(json.dumps(out))
"#;
    let output = Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(cert)
        .arg(port.to_string())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "python: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::new(), |mut out, b| {
        let _ = write!(out, "{b:02x}");
        out
    })
}

fn sha256_hex(bytes: &[u8]) -> String {
    let output = Command::new("python3")
        .args([
            "-c",
            "import sys,hashlib;print(hashlib.sha256(sys.stdin.buffer.read()).hexdigest())",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            child.stdin.take().unwrap().write_all(bytes)?;
            child.wait_with_output()
        })
        .unwrap();
    String::from_utf8(output.stdout).unwrap().trim().to_owned()
}

fn fetch_over_tls(rt: &'static str) {
    let cert = Cert::new();
    let password_file = cert.path("password.txt");
    std::fs::write(&password_file, " secret \n").unwrap();
    // With openssl, the key goes in encrypted (--tls-password-file); else in the clear.
    let key = cert
        .encrypted_key("secret")
        .unwrap_or_else(|| cert.path("key.pem"));
    let (cert_arg, key_arg, pw_arg) = (
        cert.arg("cert.pem"),
        key.to_str().unwrap().to_owned(),
        password_file.to_str().unwrap().to_owned(),
    );
    let env = Env::new(
        rt,
        &[
            "--tls-cert",
            &cert_arg,
            "--tls-key",
            &key_arg,
            "--tls-password-file",
            &pw_arg,
        ],
    );
    let banner = env.server.banner.clone();
    assert!(
        banner.starts_with("Serving HTTPS on 127.0.0.1 port ")
            && banner.contains("(https://127.0.0.1:"),
        "{banner}"
    );
    let port = env.addr().port();
    let got: serde_json::Value =
        serde_json::from_str(&python_fetch(&cert.path("cert.pem"), port)).unwrap();
    let big = big_bytes();
    assert_eq!(got["alpn"], "http/1.1", "{got}");
    assert_eq!(got["file"][0], 200, "{got}");
    assert_eq!(got["file"][1], hex(A_TXT), "{got}");
    assert_eq!(got["range"][0], 206, "{got}");
    assert_eq!(got["range"][1], hex(&big[100..200]), "{got}");
    assert_eq!(got["listing"][0], 200, "{got}");
    assert_eq!(got["big"][0], 200, "{got}");
    assert_eq!(got["big"][2], big.len(), "{got}");
    assert_eq!(got["big"][1], sha256_hex(&big), "{got}");
    let listing = hex(b"b.txt");
    assert!(
        got["listing"][1].as_str().unwrap().contains(&listing),
        "{got}"
    );

    if Command::new("curl").arg("--version").output().is_ok() {
        let resolve = format!("localhost:{port}:127.0.0.1");
        let url = |path: &str| format!("https://localhost:{port}{path}");
        let curl = |extra: &[&str], path: &str| {
            let output = Command::new("curl")
                .args([
                    "-sS",
                    "--fail",
                    "--cacert",
                    &cert_arg,
                    "--resolve",
                    &resolve,
                ])
                .args(extra)
                .arg(url(path))
                .output()
                .unwrap();
            assert!(
                output.status.success(),
                "curl {path}: {}",
                String::from_utf8_lossy(&output.stderr)
            );
            output.stdout
        };
        assert_eq!(curl(&[], "/big.bin"), big);
        assert_eq!(curl(&["-r", "5-9"], "/big.bin"), &big[5..10]);
        assert!(common::contains(&curl(&[], "/sub/"), b"b.txt"));
        // Keep-alive over TLS: two files on one connection.
        let both = curl(&["--http1.1"], "/a.txt");
        assert_eq!(both, A_TXT);
    }
    let stderr = env.finish();
    assert!(stderr.contains("\"GET /a.txt HTTP/1.1\" 200"), "{stderr}");
}

fn plain_http_to_the_tls_port(rt: &'static str) {
    let cert = Cert::new();
    let (c, k) = (cert.arg("cert.pem"), cert.arg("key.pem"));
    let env = Env::new(rt, &["--tls-cert", &c, "--tls-key", &k]);
    let raw = common::exchange(env.addr(), b"GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n");
    let text = String::from_utf8_lossy(&raw).into_owned();
    assert!(text.starts_with("HTTP/1.1 400 Bad Request\r\n"), "{text:?}");
    assert!(
        text.ends_with("\r\n\r\nThe plain HTTP request was sent to HTTPS port.\r\n"),
        "{text:?}"
    );
    let stderr = env.finish();
    assert!(stderr.contains("plain HTTP request"), "{stderr}");
}

fn silent_client_is_dropped(rt: &'static str) {
    let cert = Cert::new();
    let (c, k) = (cert.arg("cert.pem"), cert.arg("key.pem"));
    let env = Env::new(
        rt,
        &[
            "--tls-cert",
            &c,
            "--tls-key",
            &k,
            "--tls-handshake-timeout",
            "1",
        ],
    );
    let start = Instant::now();
    let mut conn = Conn::open(env.addr());
    assert!(conn.closed_within(Duration::from_secs(6)));
    let waited = start.elapsed();
    assert!(
        waited >= Duration::from_millis(900),
        "closed after {waited:?}"
    );
    // A client that handshakes in time is served meanwhile.
    let mut other = std::net::TcpStream::connect(env.addr()).unwrap();
    other.write_all(&[0x16, 0x03, 0x01]).unwrap();
    let mut buf = [0; 16];
    other
        .set_read_timeout(Some(Duration::from_secs(6)))
        .unwrap();
    // An incomplete ClientHello is dropped at the timeout too.
    assert!(matches!(other.read(&mut buf), Ok(0) | Err(_)));
    let stderr = env.finish();
    assert!(stderr.contains("TLS handshake timed out"), "{stderr}");
}

fn tls_flag_errors(rt: &'static str) {
    let cert = Cert::new();
    let os = |v: &[&str]| -> Vec<OsString> {
        let mut a: Vec<OsString> = v.iter().map(OsString::from).collect();
        a.extend(["--runtime".into(), rt.into(), "0".into()]);
        a
    };
    let (c, k) = (cert.arg("cert.pem"), cert.arg("key.pem"));
    let missing = cert.arg("missing.txt");
    for (args, message) in [
        (
            os(&["--tls-key", &k]),
            "error: --tls-key requires --tls-cert to be set".to_owned(),
        ),
        (
            os(&["--tls-password-file", &k]),
            "error: --tls-password-file requires --tls-cert to be set".to_owned(),
        ),
        (
            os(&["--tls-cert", &c, "--tls-password-file", &missing]),
            format!(
                "error: Failed to read TLS password file: [Errno 2] No such file or directory: '{missing}'"
            ),
        ),
        (
            os(&["--tls-cert", &k]),
            "not a PEM certificate chain".to_owned(),
        ),
        (os(&["--tls-cert", &c]), "no private key found".to_owned()),
        (
            os(&["--tls-cert", &missing]),
            "No such file or directory".to_owned(),
        ),
    ] {
        let (code, stdout, stderr) = common::run_cli(&args);
        assert_eq!(code, Some(2), "{args:?}: {stdout:?} {stderr:?}");
        assert!(stderr.contains(&message), "{args:?}: {stderr:?}");
        assert_eq!(stderr.lines().count(), 1, "{stderr:?}");
    }
}

runtime_suite!([
    fetch_over_tls,
    plain_http_to_the_tls_port,
    silent_client_is_dropped,
    tls_flag_errors
]);
