//! Response heads: serialised by the connection, parsed back by httparse, unchanged.

use std::sync::Arc;

use proptest::collection::vec;
use proptest::prelude::*;
use protocol::{Config, ResponseBody, ResponseHead, ServerConnection, Transmit};

use crate::harness::t0;

/// Bytes RFC 9110 allows in a field value or reason phrase: HTAB, SP, VCHAR, obs-text.
fn field_text() -> impl Strategy<Value = u8> {
    prop_oneof![8 => 0x20u8..=0x7e, 1 => Just(b'\t'), 1 => 0x80u8..=0xff]
}

fn reason() -> impl Strategy<Value = Option<Vec<u8>>> {
    prop_oneof![
        Just(None),
        "[ !-~\t]{0,30}".prop_map(|s| Some(s.into_bytes())),
        vec(field_text(), 0..30).prop_map(Some),
    ]
}

fn field() -> impl Strategy<Value = (String, Vec<u8>)> {
    ("[!#$%&'*+.^_`|~0-9A-Za-z-]{1,20}", vec(field_text(), 0..40))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    #[test]
    fn response_heads_parse_back_unchanged(
        status in 100u16..=999,
        reason in reason(),
        fields in vec(field(), 0..20),
        length in proptest::option::of(0u64..1_000_000),
    ) {
        prop_assume!(!fields.iter().any(|(n, _)| n.eq_ignore_ascii_case("content-length")));
        let mut head = ResponseHead::new(status);
        if let Some(reason) = &reason {
            head = head.with_reason(reason.clone());
        }
        for (name, value) in &fields {
            head = head.with_header(name.clone(), value.clone());
        }
        let mut config = Config::default();
        config.protocol_version = "HTTP/1.1".into();
        let now = t0();
        let mut conn = ServerConnection::new(Arc::new(config), now);
        conn.receive(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n", now);
        while conn.poll_event().is_some() {}
        let body = length.map_or(ResponseBody::None, ResponseBody::Length);
        conn.send_response(&head, body).unwrap();
        let Some(Transmit::Bytes(wire)) = conn.poll_transmit() else {
            panic!("no head")
        };

        let mut storage = [httparse::EMPTY_HEADER; 32];
        let mut parsed = httparse::Response::new(&mut storage);
        let status_of_parse = parsed.parse(wire);
        prop_assert_eq!(status_of_parse, Ok(httparse::Status::Complete(wire.len())));
        prop_assert_eq!(parsed.version, Some(1));
        prop_assert_eq!(parsed.code, Some(status));
        let sent_reason: &[u8] = match &reason {
            Some(r) => r,
            None => protocol::status::reason_phrase(status).unwrap_or("").as_bytes(),
        };
        // httparse hands back an empty reason when it holds obs-text (it is not UTF-8 safe).
        let expected_reason: &[u8] = if sent_reason.is_ascii() { sent_reason } else { b"" };
        prop_assert_eq!(parsed.reason.map(str::as_bytes), Some(expected_reason));

        let mut expected: Vec<(Vec<u8>, Vec<u8>)> = fields
            .iter()
            .map(|(n, v)| (n.clone().into_bytes(), v.trim_ascii().to_vec()))
            .collect();
        // 1xx, 204 and 304 never get the framing field added.
        let bodiless = status < 200 || status == 204 || status == 304;
        if let (Some(n), false) = (length, bodiless) {
            expected.push((b"Content-Length".to_vec(), n.to_string().into_bytes()));
        }
        let received: Vec<(Vec<u8>, Vec<u8>)> = parsed
            .headers
            .iter()
            .map(|h| (h.name.as_bytes().to_vec(), h.value.trim_ascii().to_vec()))
            .collect();
        prop_assert_eq!(received, expected);
    }
}
