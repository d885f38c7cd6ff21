//! `--echo`: a handler that answers every request with how the core parsed it, as JSON in
//! the format of [HTTP Garden](https://github.com/narfindustries/http-garden)'s echo origins,
//! so that this server can stand as one origin among others in a differential fuzzer:
//!
//! ```text
//! {"method":"R0VU","uri":"L2E/Yj1j","version":"SFRUUC8xLjE=",
//!  "headers":[["SG9zdA==","eA=="],["WC1B","MQ=="]],"body":""}
//! ```
//!
//! Every byte string is base64 (standard alphabet, padded), since requests need not be
//! UTF-8: `method`, `uri` (the request-target as sent), `version` (the version token as
//! sent, `HTTP/1.1`; empty for a two-word HTTP/0.9 line), `headers` (`[name, value]` pairs in
//! wire order, names as sent, values without the surrounding whitespace) and `body` (the
//! decoded body: chunked coding removed, trailers left out). The answer is `200` with
//! `Content-Type: application/json` and `Content-Length`; a body over the cap gets `413`,
//! a request the core rejects gets the usual error page (a non-200, as a Garden origin
//! that rejects), and so does a body the core refuses once it is being read (a malformed
//! chunk: `400 Bad request body: ...`).

use std::io::{self, Read, Write};

use handler::exchange::{Exchange, Handler};
use protocol::RequestHead;

/// The echo handler. See the [module docs](self) for the format.
#[derive(Debug, Clone, Copy)]
pub struct Echo {
    /// The largest body echoed; a longer one is answered `413`.
    pub max_body: u64,
}

impl Default for Echo {
    /// Bodies of up to 1 MiB.
    fn default() -> Self {
        Self {
            max_body: 1024 * 1024,
        }
    }
}

impl Handler for Echo {
    fn accepts(&self, _request: &RequestHead) -> bool {
        true
    }

    /// Every method gets the same answer.
    fn handle(&self, ex: &mut Exchange<'_>) -> io::Result<()> {
        let mut body = Vec::new();
        let read = ex
            .rfile()
            .take(self.max_body.saturating_add(1))
            .read_to_end(&mut body);
        if let Err(e) = read {
            // The core refused the body (a malformed chunk, bad trailers): say so with a 400,
            // as a Garden origin that rejects, rather than a bare close. If the connection
            // cannot carry it any more, the read's error stands.
            return ex
                .send_error(400, Some(&format!("Bad request body: {e}")), None)
                .map_err(|_| e);
        }
        if body.len() as u64 > self.max_body {
            return ex.send_error(413, None, None);
        }
        let json = describe(ex.request(), &body);
        ex.send_response(200, None);
        ex.send_header("Content-Type", "application/json");
        ex.send_header("Content-Length", &json.len().to_string());
        ex.end_headers()?;
        if !ex.request().is_head() {
            ex.wfile().write_all(json.as_bytes())?;
        }
        Ok(())
    }
}

/// The JSON description of `head` with its decoded `body`.
pub(crate) fn describe(head: &RequestHead, body: &[u8]) -> String {
    let mut json = String::from("{\"method\":\"");
    base64(head.method(), &mut json);
    json.push_str("\",\"uri\":\"");
    base64(head.target(), &mut json);
    json.push_str("\",\"version\":\"");
    base64(head.version_raw(), &mut json);
    json.push_str("\",\"headers\":[");
    for (i, field) in head.headers().iter().enumerate() {
        if i > 0 {
            json.push(',');
        }
        json.push_str("[\"");
        base64(field.name(), &mut json);
        json.push_str("\",\"");
        base64(field.value(), &mut json);
        json.push_str("\"]");
    }
    json.push_str("],\"body\":\"");
    base64(body, &mut json);
    json.push_str("\"}");
    json
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

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(bytes: &[u8]) -> String {
        let mut out = String::new();
        base64(bytes, &mut out);
        out
    }

    #[test]
    fn base64_matches_rfc_4648() {
        // RFC 4648, section 10.
        let cases = [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ];
        for (plain, encoded) in cases {
            assert_eq!(b64(plain.as_bytes()), encoded, "{plain:?}");
        }
        assert_eq!(b64(&[0xff, 0xfe, 0x00]), "//4A");
    }

    #[test]
    fn describes_the_parsed_request() {
        #[expect(
            clippy::disallowed_methods,
            reason = "an arbitrary origin for the test's time"
        )]
        let now = std::time::Instant::now();
        let mut conn = protocol::ServerConnection::new(std::sync::Arc::default(), now);
        conn.receive(b"GET /a?b=c HTTP/1.1\r\nHost: x\r\nX-A:  1 \r\n\r\n", now);
        let Some(protocol::Event::Request(head)) = conn.poll_event() else {
            panic!("no request");
        };
        assert_eq!(
            describe(&head, b"hi"),
            "{\"method\":\"R0VU\",\"uri\":\"L2E/Yj1j\",\"version\":\"SFRUUC8xLjE=\",\
             \"headers\":[[\"SG9zdA==\",\"eA==\"],[\"WC1B\",\"MQ==\"]],\"body\":\"aGk=\"}"
        );
    }
}
