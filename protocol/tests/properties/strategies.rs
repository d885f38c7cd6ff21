//! Generators: realistic requests (valid heads, bodies framed by length or chunked coding,
//! pipelines, keep-alive), the same requests mutated, and plain garbage.

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::Index;
use protocol::ParseMode;

use crate::harness::Setup;

pub(crate) fn setup() -> impl Strategy<Value = Setup> {
    (
        prop_oneof![Just(ParseMode::Strict), Just(ParseMode::Compat)],
        any::<bool>(),
        prop::bool::weighted(0.25),
        any::<bool>(),
    )
        .prop_map(|(mode, http11, small, chunked_replies)| Setup {
            mode,
            http11,
            small,
            chunked_replies,
        })
}

/// A request body and how it is framed.
#[derive(Clone, Debug)]
pub(crate) enum Body {
    None,
    Length(Vec<u8>),
    /// The data, cut into these chunks, with an extension on each size line if set, then
    /// trailer fields.
    Chunked {
        chunks: Vec<Vec<u8>>,
        extension: bool,
        upper_hex: bool,
        trailers: Vec<(String, String)>,
    },
}

impl Body {
    pub(crate) fn data(&self) -> Vec<u8> {
        match self {
            Self::None => Vec::new(),
            Self::Length(data) => data.clone(),
            Self::Chunked { chunks, .. } => chunks.concat(),
        }
    }
}

/// One generated request, and what it should produce.
#[derive(Clone, Debug)]
pub(crate) struct Request {
    pub(crate) method: &'static str,
    pub(crate) target: String,
    pub http11: bool,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Body,
}

impl Request {
    pub(crate) fn to_wire(&self) -> Vec<u8> {
        let version = if self.http11 { "HTTP/1.1" } else { "HTTP/1.0" };
        let mut out = format!("{} {} {version}\r\n", self.method, self.target).into_bytes();
        for (name, value) in &self.headers {
            out.extend_from_slice(format!("{name}: {value}\r\n").as_bytes());
        }
        match &self.body {
            Body::None => out.extend_from_slice(b"\r\n"),
            Body::Length(data) => {
                out.extend_from_slice(format!("Content-Length: {}\r\n\r\n", data.len()).as_bytes());
                out.extend_from_slice(data);
            }
            Body::Chunked {
                chunks,
                extension,
                upper_hex,
                trailers,
            } => {
                out.extend_from_slice(b"Transfer-Encoding: chunked\r\n\r\n");
                for chunk in chunks.iter().filter(|c| !c.is_empty()) {
                    let size = if *upper_hex {
                        format!("{:X}", chunk.len())
                    } else {
                        format!("{:x}", chunk.len())
                    };
                    out.extend_from_slice(size.as_bytes());
                    if *extension {
                        out.extend_from_slice(b";x=\"y\"");
                    }
                    out.extend_from_slice(b"\r\n");
                    out.extend_from_slice(chunk);
                    out.extend_from_slice(b"\r\n");
                }
                out.extend_from_slice(b"0\r\n");
                for (name, value) in trailers {
                    out.extend_from_slice(format!("{name}: {value}\r\n").as_bytes());
                }
                out.extend_from_slice(b"\r\n");
            }
        }
        out
    }
}

fn field_value() -> impl Strategy<Value = String> {
    // Visible ASCII and inner spaces: what real clients send.
    "[!-~]([ !-~]{0,14}[!-~])?"
}

fn extra_header() -> impl Strategy<Value = (String, String)> {
    (
        prop::sample::select(vec![
            "User-Agent",
            "Accept",
            "accept-language",
            "Cookie",
            "X-Request-Id",
            "If-Modified-Since",
        ]),
        field_value(),
    )
        .prop_map(|(n, v)| (n.to_owned(), v))
}

pub(crate) fn body() -> impl Strategy<Value = Body> {
    prop_oneof![
        2 => Just(Body::None),
        2 => vec(any::<u8>(), 0..200).prop_map(Body::Length),
        2 => (
            vec(vec(any::<u8>(), 0..40), 0..5),
            any::<bool>(),
            any::<bool>(),
            vec(("X-T[a-z]{0,4}", field_value()), 0..2),
        )
            .prop_map(|(chunks, extension, upper_hex, trailers)| Body::Chunked {
                chunks,
                extension,
                upper_hex,
                trailers,
            }),
    ]
}

/// A valid request. HTTP/1.1 requests carry `Host`; `connection` picks a `Connection` field.
pub(crate) fn request() -> impl Strategy<Value = Request> {
    (
        prop::sample::select(vec!["GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS"]),
        "/[a-zA-Z0-9._~%/-]{0,16}(\\?[a-z=&]{0,8})?",
        prop::bool::weighted(0.8),
        vec(extra_header(), 0..4),
        prop::sample::select(vec![None, Some("keep-alive"), Some("close")]),
        prop::bool::weighted(0.1),
        body(),
    )
        .prop_map(
            |(method, target, http11, extra, connection, expect, body)| {
                let mut headers = vec![("Host".to_owned(), "localhost:8000".to_owned())];
                headers.extend(extra);
                if let Some(c) = connection {
                    headers.push(("Connection".to_owned(), c.to_owned()));
                }
                if expect {
                    headers.push(("Expect".to_owned(), "100-continue".to_owned()));
                }
                Request {
                    method,
                    target,
                    http11,
                    headers,
                    body,
                }
            },
        )
}

/// One to four requests back to back.
pub(crate) fn pipeline() -> impl Strategy<Value = Vec<u8>> {
    vec(request(), 1..4).prop_map(|rs| rs.iter().flat_map(Request::to_wire).collect())
}

/// Bytes that make parsers disagree.
const INTERESTING: &[u8] = b"\r\n :\t\0\x7f\x80;0aZ,";

/// A pipeline with a few bytes flipped, inserted, deleted, or the tail cut off.
pub(crate) fn mutated() -> impl Strategy<Value = Vec<u8>> {
    (
        pipeline(),
        vec((any::<Index>(), 0..4u8, any::<Index>()), 1..4),
    )
        .prop_map(|(mut wire, edits)| {
            for (at, op, pick) in edits {
                if wire.is_empty() {
                    break;
                }
                let i = at.index(wire.len());
                let byte = *pick.get(INTERESTING);
                match op {
                    0 => wire[i] = byte,
                    1 => wire.insert(i, byte),
                    2 => {
                        wire.remove(i);
                    }
                    _ => wire.truncate(i),
                }
            }
            wire
        })
}

/// Anything: realistic, damaged, or noise (sometimes starting like a request).
pub(crate) fn input() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        3 => pipeline(),
        4 => mutated(),
        1 => vec(any::<u8>(), 0..300),
        1 => vec(any::<u8>(), 0..200).prop_map(|tail| [&b"GET / HTTP/1.1\r\n"[..], &tail].concat()),
    ]
}
