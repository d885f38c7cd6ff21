//! Shared by the integration tests: parse raw request bytes with the protocol core, and turn a
//! plan back into the bytes a runtime would send.

#![allow(dead_code, unreachable_pub)]

use std::sync::Arc;
use std::time::Instant;

use handler::{Plan, PlanBody};
use protocol::{Config, Event, ParseMode, RequestHead, ServerConnection};

/// The head the protocol core (lenient mode, like CPython) parses from `raw`.
#[expect(
    clippy::disallowed_methods,
    reason = "the core needs an instant; any will do in a test"
)]
pub fn parse_head(raw: &[u8]) -> RequestHead {
    let mut config = Config::default();
    config.parse_mode = ParseMode::Compat;
    let now = Instant::now();
    let mut conn = ServerConnection::new(Arc::new(config), now);
    conn.receive(raw, now);
    while let Some(event) = conn.poll_event() {
        if let Event::Request(head) = event {
            return head;
        }
    }
    panic!("no request parsed from {:?}", String::from_utf8_lossy(raw));
}

/// The wire bytes of a plan under `HTTP/1.0`, body included (files are read).
pub fn wire(plan: Plan) -> Vec<u8> {
    let mut out = format!("HTTP/1.0 {} ", plan.head.status).into_bytes();
    match &plan.head.reason {
        Some(r) => out.extend_from_slice(r),
        None => out.extend_from_slice(
            protocol::status::reason_phrase(plan.head.status)
                .unwrap_or("")
                .as_bytes(),
        ),
    }
    out.extend_from_slice(b"\r\n");
    for field in &plan.head.headers {
        out.extend_from_slice(field.name());
        out.extend_from_slice(b": ");
        out.extend_from_slice(field.value());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
    match plan.body {
        PlanBody::Empty => {}
        PlanBody::Bytes(b) => out.extend_from_slice(&b),
        PlanBody::File { file, offset, len } => {
            // Positioned: the descriptor may be shared with the planner's cache.
            use std::os::unix::fs::FileExt;
            let mut buf = vec![0; usize::try_from(len).unwrap()];
            file.read_exact_at(&mut buf, offset).unwrap();
            out.extend_from_slice(&buf);
        }
        PlanBody::Parts { file, parts } => {
            use std::os::unix::fs::FileExt;
            for part in parts {
                match part {
                    handler::Part::Bytes(b) => out.extend_from_slice(&b),
                    handler::Part::File { offset, len } => {
                        let mut buf = vec![0; usize::try_from(len).unwrap()];
                        file.read_exact_at(&mut buf, offset).unwrap();
                        out.extend_from_slice(&buf);
                    }
                    _ => unreachable!(),
                }
            }
        }
        PlanBody::Cgi(_) => out.extend_from_slice(b"<cgi>"),
        _ => unreachable!(),
    }
    out
}

/// Replaces the values of headers that depend on the machine or the moment.
pub fn normalise(wire: &[u8]) -> Vec<u8> {
    let Some(split) = wire.windows(4).position(|w| w == b"\r\n\r\n") else {
        return wire.to_vec();
    };
    let (head, body) = wire.split_at(split);
    let mut out = Vec::new();
    for (i, line) in head.split(|&b| b == b'\n').enumerate() {
        if i > 0 {
            out.push(b'\n');
        }
        let mut replaced = false;
        for name in [&b"Server: "[..], b"Date: ", b"Last-Modified: "] {
            if line.starts_with(name) {
                out.extend_from_slice(name);
                out.extend_from_slice(b"*\r");
                replaced = true;
            }
        }
        if !replaced {
            out.extend_from_slice(line);
        }
    }
    out.extend_from_slice(body);
    out
}
