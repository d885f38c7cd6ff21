//! An echo origin on hyper's HTTP/1 server, for the differential run (`diff/run.py`).
//!
//! It answers every request hyper accepts with the JSON of `http-server --echo` (HTTP
//! Garden's echo origin format, every byte string base64): `method`, `uri`, `version`,
//! `headers` and the decoded `body`. What hyper rejects gets hyper's own answer (a 4xx and a
//! close), and hyper's error goes to stderr as `error CLIENT-PORT DEBUG` for the harness to
//! name the disagreement; a body that fails to decode (a bad chunk) gets `400`, hyper's error
//! as its text, and a close, as an application on hyper would answer; a body over 1 MiB gets
//! `413`, as ours.
//!
//! hyper keeps no request as sent, so some fields are hyper's view of it: header names are
//! lowercase and grouped by name (`http::HeaderMap` keeps the values of one name together,
//! in order), the target is `http::Uri`'s display (the scheme lowercased, `/` for an empty
//! absolute-form path) and the version is `HTTP/1.0` or `HTTP/1.1`. The harness normalises
//! all three origins the same way before it compares.
//!
//! Usage: `hyper-origin PORT` (binds 127.0.0.1).
#![forbid(unsafe_code)]

use std::convert::Infallible;
use std::net::{Ipv4Addr, SocketAddr};

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::header::{CONNECTION, CONTENT_TYPE};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode, Version};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;

/// The largest body echoed, as `http-server --echo`.
const MAX_BODY: usize = 1024 * 1024;

fn main() {
    let Some(Ok(port)) = std::env::args().nth(1).map(|p| p.parse::<u16>()) else {
        eprintln!("usage: hyper-origin PORT");
        std::process::exit(2);
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    runtime.block_on(serve(port));
}

async fn serve(port: u16) {
    let listener = match TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, port))).await {
        Ok(listener) => listener,
        Err(e) => {
            eprintln!("hyper-origin: cannot bind 127.0.0.1:{port}: {e}");
            std::process::exit(2);
        }
    };
    loop {
        let Ok((stream, peer)) = listener.accept().await else {
            continue;
        };
        tokio::spawn(async move {
            // hyper's defaults; only a timer is given, which its header-read deadline needs.
            let served = http1::Builder::new()
                .timer(TokioTimer::new())
                .serve_connection(TokioIo::new(stream), service_fn(echo))
                .await;
            // hyper answers what it cannot parse itself (a bare 400, 431, ...): why goes to
            // stderr, by the client's port, for the harness to name the disagreement.
            if let Err(e) = served {
                eprintln!("error {} {e:?}", peer.port());
            }
        });
    }
}

async fn echo(request: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let (parts, body) = request.into_parts();
    let body = match Limited::new(body, MAX_BODY).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(e) => {
            let status = if e.is::<http_body_util::LengthLimitError>() {
                StatusCode::PAYLOAD_TOO_LARGE
            } else {
                StatusCode::BAD_REQUEST
            };
            return Ok(Response::builder()
                .status(status)
                .header(CONNECTION, "close")
                .body(Full::new(Bytes::from(format!("body: {e:?}"))))
                .expect("a valid response"));
        }
    };
    let version = match parts.version {
        Version::HTTP_09 => "HTTP/0.9",
        Version::HTTP_10 => "HTTP/1.0",
        Version::HTTP_11 => "HTTP/1.1",
        _ => "?",
    };
    let mut json = String::from("{\"method\":\"");
    base64(parts.method.as_str().as_bytes(), &mut json);
    json.push_str("\",\"uri\":\"");
    base64(parts.uri.to_string().as_bytes(), &mut json);
    json.push_str("\",\"version\":\"");
    base64(version.as_bytes(), &mut json);
    json.push_str("\",\"headers\":[");
    for (i, (name, value)) in parts.headers.iter().enumerate() {
        if i > 0 {
            json.push(',');
        }
        json.push_str("[\"");
        base64(name.as_str().as_bytes(), &mut json);
        json.push_str("\",\"");
        base64(value.as_bytes(), &mut json);
        json.push_str("\"]");
    }
    json.push_str("],\"body\":\"");
    base64(&body, &mut json);
    json.push_str("\"}");
    Ok(Response::builder()
        .header(CONTENT_TYPE, "application/json")
        .body(Full::new(Bytes::from(json)))
        .expect("a valid response"))
}

/// Appends `bytes` in base64 (RFC 4648, standard alphabet, with padding).
fn base64(bytes: &[u8], out: &mut String) {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = u32::from(b[0]) << 16 | u32::from(b[1]) << 8 | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * i) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
}
