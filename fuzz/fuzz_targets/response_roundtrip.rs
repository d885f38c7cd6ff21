//! Response heads serialised by the connection parse back, with httparse, to what was sent.
//!
//! Input: arbitrary bytes, read as a status code, an optional reason phrase, header fields
//! and a body kind. Heads the connection refuses (`UsageError`) are skipped; every head it
//! accepts must parse as a complete `httparse::Response` with the same status, the same
//! reason (httparse reports a reason with obs-text bytes as empty), the same names in the
//! same order and case, and the same values up to the whitespace httparse trims.

#![no_main]

use std::sync::Arc;

use libfuzzer_sys::arbitrary::{Result, Unstructured};
use libfuzzer_sys::fuzz_target;
use protocol::{Config, ResponseBody, ResponseHead, ServerConnection, Transmit};

fn head(u: &mut Unstructured<'_>) -> Result<(ResponseHead, ResponseBody)> {
    let mut head = ResponseHead::new(u.int_in_range(0..=1100)?);
    if u.arbitrary()? {
        let len = u.int_in_range(0..=40)?;
        head = head.with_reason(u.bytes(len)?.to_vec());
    }
    for _ in 0..u.int_in_range(0..=24)? {
        let name_len = u.int_in_range(0..=12)?;
        let name = u.bytes(name_len)?.to_vec();
        let value_len = u.int_in_range(0..=30)?;
        let value = u.bytes(value_len)?.to_vec();
        head = head.with_header(name, value);
    }
    let body = match u.int_in_range(0..=2)? {
        0 => ResponseBody::None,
        1 => ResponseBody::Length(u.int_in_range(0..=99_999)?),
        _ => ResponseBody::Chunked,
    };
    Ok((head, body))
}

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let Ok((head, body)) = head(&mut u) else {
        return;
    };
    let mut config = Config::default();
    config.protocol_version = "HTTP/1.1".into();
    let now = protocol_fuzz::t0();
    let mut conn = ServerConnection::new(Arc::new(config), now);
    conn.receive(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n", now);
    while conn.poll_event().is_some() {}
    if conn.send_response(&head, body).is_err() {
        return;
    }
    let Some(Transmit::Bytes(wire)) = conn.poll_transmit() else {
        panic!("no head transmitted");
    };
    let mut fields = [httparse::EMPTY_HEADER; 32];
    let mut parsed = httparse::Response::new(&mut fields);
    let status = parsed.parse(wire);
    assert!(
        matches!(status, Ok(httparse::Status::Complete(n)) if n == wire.len()),
        "{status:?} for {:?}",
        String::from_utf8_lossy(wire)
    );
    assert_eq!(parsed.code, Some(head.status));
    let reason = head.reason.as_deref().unwrap_or_else(|| {
        protocol::status::reason_phrase(head.status)
            .unwrap_or("")
            .as_bytes()
    });
    let expected_reason: &[u8] = if reason.is_ascii() { reason } else { b"" };
    assert_eq!(parsed.reason.map(str::as_bytes), Some(expected_reason));
    let mut sent: Vec<(Vec<u8>, Vec<u8>)> = head
        .headers
        .iter()
        .map(|f| (f.name().to_vec(), f.value().trim_ascii().to_vec()))
        .collect();
    // The one field the core adds: the framing the body kind implies, when absent.
    let bodiless = head.status < 200 || head.status == 204 || head.status == 304;
    match body {
        ResponseBody::Length(n) if !bodiless && !head.headers.contains("content-length") => {
            sent.push((b"Content-Length".to_vec(), n.to_string().into_bytes()));
        }
        ResponseBody::Chunked if !bodiless && !head.headers.contains("transfer-encoding") => {
            sent.push((b"Transfer-Encoding".to_vec(), b"chunked".to_vec()));
        }
        _ => {}
    }
    let received: Vec<(Vec<u8>, Vec<u8>)> = parsed
        .headers
        .iter()
        .map(|h| (h.name.as_bytes().to_vec(), h.value.to_vec()))
        .collect();
    assert_eq!(sent, received);
});
