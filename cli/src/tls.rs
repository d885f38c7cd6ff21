//! `--tls-cert`, `--tls-key`, `--tls-password-file`: the rustls configuration the serve layer
//! takes. Every failure is a message for `main` (one line, exit status 2).

use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::pem::{self, SectionKind};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// The PEM label of a PKCS#8 key encrypted with a password.
const ENCRYPTED_LABEL: &str = "ENCRYPTED PRIVATE KEY";

/// The crypto provider: aws-lc-rs (see `README.md`, *HTTPS*, for the choice over ring).
pub(crate) fn provider() -> rustls::crypto::CryptoProvider {
    rustls::crypto::aws_lc_rs::default_provider()
}

/// The server configuration for a certificate chain (`cert`, which may hold the key too),
/// an optional separate key file, and the password of an encrypted key.
pub(crate) fn server_config(
    cert: &Path,
    key: Option<&Path>,
    password: Option<&str>,
) -> Result<Arc<rustls::ServerConfig>, String> {
    let cert_pem =
        std::fs::read(cert).map_err(|e| format!("cannot read {}: {}", cert.display(), os(&e)))?;
    let chain = certificates(&cert_pem)
        .map_err(|e| format!("{}: not a PEM certificate chain ({e})", cert.display()))?;
    let (key_path, key_pem) = match key {
        Some(path) => (
            path,
            std::fs::read(path)
                .map_err(|e| format!("cannot read {}: {}", path.display(), os(&e)))?,
        ),
        None => (cert, cert_pem),
    };
    let key =
        private_key(&key_pem, password).map_err(|e| format!("{}: {e}", key_path.display()))?;
    let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS: {e}"))?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| format!("the TLS key does not fit the certificate: {e}"))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// `--tls-password-file`: read as UTF-8 and stripped, as CPython does.
pub(crate) fn read_password(path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path)
        .map(|text| text.trim().to_owned())
        .map_err(|e| {
            format!(
                "Failed to read TLS password file: {}: '{}'",
                os(&e),
                path.display()
            )
        })
}

/// An OS error as Python prints one: `[Errno 2] No such file or directory`.
fn os(error: &std::io::Error) -> String {
    let text = error.to_string();
    match error.raw_os_error() {
        Some(code) => {
            let text = text
                .strip_suffix(&format!(" (os error {code})"))
                .unwrap_or(&text);
            format!("[Errno {code}] {text}")
        }
        None => text,
    }
}

fn certificates(pem_bytes: &[u8]) -> Result<Vec<CertificateDer<'static>>, String> {
    let mut chain = Vec::new();
    let mut rest = pem_bytes;
    loop {
        match pem::from_buf(&mut rest) {
            Ok(Some((SectionKind::Certificate, der))) => chain.push(CertificateDer::from(der)),
            Ok(Some(_)) => {}
            Ok(None) => break,
            Err(e) => return Err(e.to_string()),
        }
    }
    if chain.is_empty() {
        return Err("no certificate found".to_owned());
    }
    Ok(chain)
}

fn private_key(pem_bytes: &[u8], password: Option<&str>) -> Result<PrivateKeyDer<'static>, String> {
    let mut rest = pem_bytes;
    loop {
        match pem::from_buf(&mut rest) {
            Ok(Some((SectionKind::PrivateKey, der))) => {
                return Ok(PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(der)));
            }
            Ok(Some((SectionKind::RsaPrivateKey, der))) => {
                return Ok(PrivateKeyDer::Pkcs1(der.into()));
            }
            Ok(Some((SectionKind::EcPrivateKey, der))) => {
                return Ok(PrivateKeyDer::Sec1(der.into()));
            }
            Ok(Some(_)) => {}
            Ok(None) => break,
            Err(e) => return Err(format!("not a PEM key ({e})")),
        }
    }
    let text = std::str::from_utf8(pem_bytes).map_err(|_| "no private key found".to_owned())?;
    let Some(start) = text.find(&format!("-----BEGIN {ENCRYPTED_LABEL}-----")) else {
        return Err("no private key found".to_owned());
    };
    let Some(password) = password else {
        return Err("the key is encrypted: give its password with --tls-password-file".to_owned());
    };
    let end_marker = format!("-----END {ENCRYPTED_LABEL}-----");
    let end = text[start..]
        .find(&end_marker)
        .map_or(text.len(), |at| start + at + end_marker.len());
    let (label, der) = pkcs8::der::pem::decode_vec(&pem_bytes[start..end])
        .map_err(|e| format!("not a PEM key ({e})"))?;
    if label != ENCRYPTED_LABEL {
        return Err("no private key found".to_owned());
    }
    let info = pkcs8::EncryptedPrivateKeyInfo::try_from(der.as_slice())
        .map_err(|e| format!("not an encrypted PKCS#8 key ({e})"))?;
    let plain = info
        .decrypt(password)
        .map_err(|_| "cannot decrypt the key: wrong password?".to_owned())?;
    Ok(PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
        plain.as_bytes().to_vec(),
    )))
}
