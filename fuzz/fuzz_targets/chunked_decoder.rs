//! `protocol::body::ChunkedDecoder` on arbitrary bytes at arbitrary split points.
//!
//! Input: one byte whose low nibble `k` counts the split sizes that follow (and whose bit 4
//! picks small limits), `k` split sizes, then the body bytes. Oracles: no panic; decoded data
//! never exceeds the bytes consumed; the outcome (data, trailers, end or error) is the same
//! whole and split; `is_done` exactly when the end was reported.

#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use protocol::body::{ChunkedDecoder, Decoded};
use protocol::{Headers, RequestError};

#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    End(Headers),
    Error(RequestError),
    NeedMore,
}

fn decode(wire: &[u8], sizes: &[u8], small: bool) -> (Vec<u8>, Outcome) {
    let mut decoder = if small {
        let limits = protocol::testing::small_limits();
        ChunkedDecoder::new(limits.max_chunk_line, limits.max_trailer_bytes, limits.max_headers)
    } else {
        ChunkedDecoder::new(4096, 16384, 100)
    };
    let mut input = BytesMut::new();
    let mut data = Vec::new();
    let mut fed = 0;
    let mut sizes = sizes
        .iter()
        .map(|&s| usize::from(s).max(1))
        .chain(std::iter::repeat(usize::MAX));
    loop {
        loop {
            let before = input.len();
            let step = decoder.decode(&mut input);
            let consumed = before - input.len();
            match step {
                Ok(Decoded::Data(d)) => {
                    assert!(!d.is_empty(), "empty data");
                    assert!(d.len() <= consumed, "data not taken from the input");
                    data.extend_from_slice(&d);
                }
                Ok(Decoded::End(trailers)) => {
                    assert!(decoder.is_done());
                    assert!(data.len() <= fed);
                    return (data, Outcome::End(trailers));
                }
                Ok(Decoded::NeedMore) => break,
                Err(e) => return (data, Outcome::Error(e)),
            }
            assert!(!decoder.is_done());
        }
        assert!(data.len() <= fed, "more data than input");
        if fed == wire.len() {
            return (data, Outcome::NeedMore);
        }
        let n = sizes.next().unwrap_or(usize::MAX).min(wire.len() - fed);
        input.extend_from_slice(&wire[fed..fed + n]);
        fed += n;
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&head, rest)) = data.split_first() else {
        return;
    };
    let k = usize::from(head & 0x0f).min(rest.len());
    let (sizes, wire) = rest.split_at(k);
    let small = head & 0x10 != 0;
    let whole = decode(wire, &[], small);
    let split = decode(wire, sizes, small);
    let bytewise = decode(wire, &[1; 64], small);
    assert_eq!(whole, split);
    assert_eq!(whole, bytewise);
});
