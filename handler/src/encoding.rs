//! Content codings for files (default mode only): which coding a client's `Accept-Encoding`
//! prefers (RFC 9110 12.5.3), which types are worth compressing, and compressing a file in
//! memory for [`Settings::compress`](crate::Settings::compress).
//!
//! Two features use it:
//!
//! - **precompressed siblings** ([`Settings::precompressed`](crate::Settings::precompressed)):
//!   `a.js.br` or `a.js.gz` beside `a.js` is sent for `a.js` to a client that accepts the
//!   coding, with `Content-Encoding`, `a.js`'s type, and the sibling's own length, `ETag` and
//!   `Last-Modified`. The sibling is a stored representation like any file, so its strong
//!   `ETag` (its own inode, size and time) differs from the plain file's, and ranges apply to
//!   its bytes (RFC 9110 14.1.1: ranges are over the selected representation).
//! - **on-the-fly compression** ([`Settings::compress`](crate::Settings::compress)): a file of
//!   a compressible type between [`COMPRESS_MIN`] and [`COMPRESS_MAX`] bytes is read and
//!   compressed in memory (gzip level 6 or brotli quality 5: a few milliseconds per hundred
//!   KiB) and sent as a `PlanBody::Bytes`. Nothing is cached: every request compresses again.
//!   The tag is weak (`W/"<plain tag>-br"`): compressor output is not promised byte for byte
//!   across versions, and a weak tag keeps `If-Range` (strong comparison) from ever matching
//!   it. A request with `Range` is never compressed; it gets ranges of the plain file.

use std::io::Write as _;

use protocol::Headers;

/// Smallest file compressed on the fly: below this the coding's overhead eats the gain.
pub const COMPRESS_MIN: u64 = 1024;
/// Largest file compressed on the fly (compressed in memory while planning, so this bounds
/// the time and memory one request costs); larger files are sent as they are.
pub const COMPRESS_MAX: u64 = 4 * 1024 * 1024;

/// A content coding this server sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Coding {
    Br,
    Gzip,
}

impl Coding {
    /// The token in `Content-Encoding`.
    pub(crate) fn token(self) -> &'static str {
        match self {
            Self::Br => "br",
            Self::Gzip => "gzip",
        }
    }

    /// The file name suffix of a precompressed sibling.
    pub(crate) fn suffix(self) -> &'static str {
        match self {
            Self::Br => ".br",
            Self::Gzip => ".gz",
        }
    }
}

/// Both codings, in the order preferred when the client weighs them equally.
pub(crate) const CODINGS: [Coding; 2] = [Coding::Br, Coding::Gzip];

/// The client's weight (0 to 1000) of each of `br`, `gzip` and `identity`, from every
/// `Accept-Encoding` field. A coding not named takes `*`'s weight, or 0; `identity` not named
/// is acceptable (1000) unless `*;q=0` says otherwise.
fn weights(headers: &Headers) -> Option<[u16; 3]> {
    let mut named: [Option<u16>; 3] = [None; 3];
    let mut star = None;
    let mut any = false;
    for value in headers.get_all("Accept-Encoding") {
        any = true;
        for item in value.split(|&b| b == b',') {
            let mut params = item.split(|&b| b == b';');
            let coding = params.next().unwrap_or_default().trim_ascii();
            if coding.is_empty() {
                continue;
            }
            let mut q = 1000;
            for p in params {
                let p = p.trim_ascii();
                if let Some(v) = p.strip_prefix(b"q=").or_else(|| p.strip_prefix(b"Q=")) {
                    q = parse_q(v).unwrap_or(0);
                }
            }
            let slot = if coding.eq_ignore_ascii_case(b"br") {
                Some(0)
            } else if coding.eq_ignore_ascii_case(b"gzip") || coding.eq_ignore_ascii_case(b"x-gzip")
            {
                Some(1)
            } else if coding.eq_ignore_ascii_case(b"identity") {
                Some(2)
            } else if coding == b"*" {
                star = Some(q);
                None
            } else {
                None
            };
            if let Some(i) = slot {
                named[i] = Some(named[i].map_or(q, |old: u16| old.max(q)));
            }
        }
    }
    if !any {
        return None;
    }
    let br = named[0].or(star).unwrap_or(0);
    let gzip = named[1].or(star).unwrap_or(0);
    let identity = named[2].or(star).unwrap_or(1000);
    Some([br, gzip, identity])
}

/// `qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] )`, in thousandths.
fn parse_q(v: &[u8]) -> Option<u16> {
    let v = v.trim_ascii();
    let (int, frac) = match v.iter().position(|&b| b == b'.') {
        Some(i) => (&v[..i], &v[i + 1..]),
        None => (v, &b""[..]),
    };
    if frac.len() > 3 || !frac.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let mut thousandths: u16 = 0;
    for (i, d) in frac.iter().enumerate() {
        thousandths += u16::from(d - b'0') * [100, 10, 1][i];
    }
    match int {
        b"0" => Some(thousandths),
        b"1" if thousandths == 0 => Some(1000),
        _ => None,
    }
}

/// The coding to send, among `available`, for the client's `Accept-Encoding`: the heaviest
/// acceptable one (br first on a tie), unless the client weighs `identity` higher. No
/// `Accept-Encoding` at all means no coding (RFC 9110 allows any; plain is the safe choice).
pub(crate) fn choose(headers: &Headers, available: &[Coding]) -> Option<Coding> {
    let [br, gzip, identity] = weights(headers)?;
    let mut best: Option<(Coding, u16)> = None;
    for &c in &CODINGS {
        if !available.contains(&c) {
            continue;
        }
        let q = match c {
            Coding::Br => br,
            Coding::Gzip => gzip,
        };
        if q > 0 && best.is_none_or(|(_, b)| q > b) {
            best = Some((c, q));
        }
    }
    best.filter(|&(_, q)| q >= identity).map(|(c, _)| c)
}

/// Whether a type (parameters allowed) is text-like enough to compress: `text/*`, JSON,
/// JavaScript, XML and their `+json`/`+xml` kin (SVG), WebAssembly.
pub(crate) fn compressible(ctype: &str) -> bool {
    let essence = ctype
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    essence.starts_with("text/")
        || essence.ends_with("+xml")
        || essence.ends_with("+json")
        || matches!(
            essence.as_str(),
            "application/json"
                | "application/javascript"
                | "application/x-javascript"
                | "application/ecmascript"
                | "application/xml"
                | "application/wasm"
                | "application/manifest+json"
        )
}

/// `data` compressed with `coding` at a fast level.
pub(crate) fn compress(coding: Coding, data: &[u8]) -> std::io::Result<Vec<u8>> {
    match coding {
        Coding::Gzip => {
            let mut enc = flate2::write::GzEncoder::new(
                Vec::with_capacity(data.len() / 3),
                flate2::Compression::new(6),
            );
            enc.write_all(data)?;
            enc.finish()
        }
        Coding::Br => {
            let mut out = Vec::with_capacity(data.len() / 3);
            let params = brotli::enc::BrotliEncoderParams {
                quality: 5,
                lgwin: 22,
                ..Default::default()
            };
            brotli::BrotliCompress(&mut &data[..], &mut out, &params)?;
            Ok(out)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(values: &[&str]) -> Headers {
        let mut h = Headers::new();
        for v in values {
            h.append("Accept-Encoding", v.to_string());
        }
        h
    }

    #[test]
    fn choosing() {
        let both = &CODINGS[..];
        assert_eq!(choose(&h(&[]), both), None);
        assert_eq!(choose(&h(&["gzip, deflate, br"]), both), Some(Coding::Br));
        assert_eq!(choose(&h(&["gzip"]), both), Some(Coding::Gzip));
        assert_eq!(choose(&h(&["br;q=0.5, gzip"]), both), Some(Coding::Gzip));
        assert_eq!(choose(&h(&["br;q=0, gzip;q=0"]), both), None);
        assert_eq!(choose(&h(&["*"]), both), Some(Coding::Br));
        assert_eq!(choose(&h(&["*;q=0.3, br;q=0"]), both), Some(Coding::Gzip));
        assert_eq!(choose(&h(&["br"]), &[Coding::Gzip]), None);
        assert_eq!(choose(&h(&["identity"]), both), None);
        assert_eq!(choose(&h(&["gzip;q=0.5, identity"]), both), None);
        assert_eq!(choose(&h(&["gzip;q=2"]), both), None);
        assert_eq!(choose(&h(&["GZIP;Q=1.000"]), both), Some(Coding::Gzip));
        assert_eq!(choose(&h(&["deflate", "br"]), both), Some(Coding::Br));
    }

    #[test]
    fn types() {
        for t in [
            "text/plain",
            "text/html; charset=utf-8",
            "application/json",
            "image/svg+xml",
            "application/wasm",
            "text/javascript",
        ] {
            assert!(compressible(t), "{t}");
        }
        for t in [
            "image/png",
            "application/gzip",
            "video/webm",
            "application/zip",
        ] {
            assert!(!compressible(t), "{t}");
        }
    }

    #[test]
    fn round_trip() {
        use std::io::Read as _;
        let data = "hello hello hello hello\n".repeat(200);
        let gz = compress(Coding::Gzip, data.as_bytes()).unwrap();
        let mut back = String::new();
        flate2::read::GzDecoder::new(&gz[..])
            .read_to_string(&mut back)
            .unwrap();
        assert_eq!(back, data);
        let br = compress(Coding::Br, data.as_bytes()).unwrap();
        let mut back = Vec::new();
        brotli::BrotliDecompress(&mut &br[..], &mut back).unwrap();
        assert_eq!(back, data.as_bytes());
        assert!(br.len() < data.len() / 10);
    }
}
