//! Framing: bodies come out exactly as declared, in both directions.

use std::collections::VecDeque;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::Index;
use protocol::body::{ChunkedDecoder, Decoded};
use protocol::{
    Config, Event, ParseMode, RequestError, RequestFraming, ResponseBody, ResponseHead,
    ServerConnection, Transmit,
};

use crate::harness::{Path, Setup, cuts_from, has_error, run, t0};
use crate::strategies::{Body, Request, body, input, setup};

fn keep_alive(mode: ParseMode) -> Setup {
    Setup {
        mode,
        http11: true,
        small: false,
        chunked_replies: false,
    }
}

fn mode() -> impl Strategy<Value = ParseMode> {
    prop_oneof![Just(ParseMode::Strict), Just(ParseMode::Compat)]
}

/// Trailer fields as (name, value) pairs.
type Fields = Vec<(Vec<u8>, Vec<u8>)>;

/// Per request: its framing, its body (all pieces joined) and its trailers.
fn bodies(events: &[Event]) -> Vec<(RequestFraming, Vec<u8>, Fields)> {
    let mut out = Vec::new();
    for event in events {
        match event {
            Event::Request(head) => out.push((head.framing(), Vec::new(), Vec::new())),
            Event::Body(data) => out.last_mut().unwrap().1.extend_from_slice(data),
            Event::EndOfRequest { trailers } => {
                out.last_mut().unwrap().2 = trailers
                    .iter()
                    .map(|f| (f.name().to_vec(), f.value().to_vec()))
                    .collect();
            }
            _ => {}
        }
    }
    out
}

/// Something the application sends as a chunked response body.
#[derive(Clone, Debug)]
enum Piece {
    Bytes(Vec<u8>),
    /// A span the runtime sends itself; its content is `len` copies of a marker byte.
    External(u64),
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Sum of body events == Content-Length, for every request of a keep-alive pipeline.
    #[test]
    fn declared_lengths_are_conserved(
        mode in mode(),
        sent in vec(vec(any::<u8>(), 0..300), 1..5),
        picks in vec(any::<Index>(), 0..16),
    ) {
        let wire: Vec<u8> = sent
            .iter()
            .enumerate()
            .flat_map(|(i, data)| {
                let head = format!(
                    "POST /{i} HTTP/1.1\r\nHost: a\r\nContent-Length: {}\r\n\r\n",
                    data.len()
                );
                [head.as_bytes(), data].concat()
            })
            .collect();
        let result = run(keep_alive(mode), &wire, &cuts_from(&picks, wire.len()), Path::Copy);
        let got = bodies(&result.events);
        prop_assert_eq!(got.len(), sent.len());
        for ((framing, body, _), data) in got.iter().zip(&sent) {
            prop_assert_eq!(*framing, RequestFraming::Length(data.len() as u64));
            prop_assert_eq!(body, data);
        }
    }

    /// Any chunking of any body (extensions, upper-case hex, trailers) decodes to the body.
    #[test]
    fn chunked_bodies_decode_from_any_chunking(
        mode in mode(),
        body in body().prop_filter("chunked", |b| matches!(b, Body::Chunked { .. })),
        picks in vec(any::<Index>(), 0..16),
    ) {
        let request = Request {
            method: "POST",
            target: "/upload".into(),
            http11: true,
            headers: vec![("Host".into(), "a".into())],
            body: body.clone(),
        };
        let wire = request.to_wire();
        let result = run(keep_alive(mode), &wire, &cuts_from(&picks, wire.len()), Path::Copy);
        let got = bodies(&result.events);
        prop_assert_eq!(got.len(), 1, "{:?}", result.events);
        prop_assert_eq!(got[0].0, RequestFraming::Chunked);
        prop_assert_eq!(&got[0].1, &body.data());
        let Body::Chunked { trailers, .. } = &body else { unreachable!() };
        let expected: Fields = trailers
            .iter()
            .map(|(n, v)| (n.clone().into_bytes(), v.clone().into_bytes()))
            .collect();
        prop_assert_eq!(&got[0].2, &expected);
    }

    /// What the connection writes as a chunked response decodes, with the crate's own
    /// decoder, to exactly the bytes and external spans the application sent, however the
    /// socket accepted the writes.
    #[test]
    fn chunked_responses_decode_to_what_was_sent(
        pieces in vec(
            prop_oneof![
                vec(any::<u8>(), 0..100).prop_map(Piece::Bytes),
                (0u64..300).prop_map(Piece::External),
            ],
            0..8,
        ),
        budget in 1usize..64,
    ) {
        let mut config = Config::default();
        config.protocol_version = "HTTP/1.1".into();
        let now = t0();
        let mut conn = ServerConnection::new(Arc::new(config), now);
        conn.receive(b"GET /f HTTP/1.1\r\nHost: a\r\n\r\n", now);
        while conn.poll_event().is_some() {}
        conn.send_response(&ResponseHead::new(200), ResponseBody::Chunked).unwrap();
        let mut expected = Vec::new();
        // The content of each external span, in order, as the runtime's "file" would give it.
        let mut spans: VecDeque<Vec<u8>> = VecDeque::new();
        for (i, piece) in pieces.iter().enumerate() {
            match piece {
                Piece::Bytes(data) => {
                    conn.send_body(Bytes::copy_from_slice(data)).unwrap();
                    expected.extend_from_slice(data);
                }
                Piece::External(len) => {
                    conn.send_body_external(*len).unwrap();
                    let content = vec![b'A' + (i as u8 % 26); usize::try_from(*len).unwrap()];
                    expected.extend_from_slice(&content);
                    if *len > 0 {
                        spans.push_back(content);
                    }
                }
            }
        }
        conn.finish_response().unwrap();
        // A socket that takes at most `budget` bytes per write.
        let mut wire = Vec::new();
        while let Some(transmit) = conn.poll_transmit() {
            let n = match transmit {
                Transmit::Bytes(b) => {
                    let n = b.len().min(budget);
                    wire.extend_from_slice(&b[..n]);
                    n
                }
                Transmit::External(len) => {
                    let span = spans.front_mut().expect("an external span was declared");
                    prop_assert_eq!(len, span.len() as u64);
                    let n = span.len().min(budget);
                    wire.extend(span.drain(..n));
                    if span.is_empty() {
                        spans.pop_front();
                    }
                    n
                }
                other => panic!("a kept-alive response transmitted {other:?}"),
            };
            conn.advance_transmit(n);
        }
        prop_assert!(spans.is_empty());
        prop_assert_eq!(conn.poll_event(), Some(Event::ResponseComplete { keep_alive: true }));
        let head_end = wire.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
        prop_assert!(wire[..head_end].ends_with(b"Transfer-Encoding: chunked\r\n\r\n"));
        let mut input = BytesMut::from(&wire[head_end..]);
        let mut decoder = ChunkedDecoder::new(4096, 16384, 100);
        let mut decoded = Vec::new();
        loop {
            match decoder.decode(&mut input).unwrap() {
                Decoded::Data(data) => decoded.extend_from_slice(&data),
                Decoded::End(trailers) => {
                    prop_assert!(trailers.is_empty());
                    break;
                }
                Decoded::NeedMore => panic!("the chunked body is truncated"),
            }
        }
        prop_assert!(input.is_empty(), "bytes after the last chunk");
        prop_assert_eq!(decoded, expected);
    }

    /// Arbitrary bytes: no panic (the harness checks every event sequence, so no request
    /// follows a close-forcing error), and every run ends with the connection shut and
    /// closed, having answered each error.
    #[test]
    fn arbitrary_bytes_end_in_a_clean_close(
        setup in setup(),
        wire in input(),
        picks in vec(any::<Index>(), 0..8),
    ) {
        let result = run(setup, &wire, &cuts_from(&picks, wire.len()), Path::Copy);
        prop_assert!(result.shutdown && result.closed, "{:?}", result);
        if has_error(&result, RequestError::closes_connection) {
            let last = result.events.last();
            prop_assert_eq!(last, Some(&Event::ResponseComplete { keep_alive: false }));
        }
    }
}
