//! Request body decoding and response body encoding.
//!
//! Request bodies are framed only by what RFC 9112 allows (a length or chunked coding, see
//! [`RequestFraming`]), so a body is always consumed as a body and never
//! parsed as the next request.

mod chunked;
pub(crate) mod encode;

pub use chunked::{ChunkedDecoder, Decoded};

use bytes::BytesMut;

use crate::{Limits, RequestError, RequestFraming, spare};

/// Decodes one request body out of the receive buffer.
#[derive(Clone, Debug)]
pub(crate) enum BodyDecoder {
    /// `Content-Length`: this many bytes still to come.
    Length(u64),
    /// Chunked coding. Boxed: its line and trailer state would make every connection's
    /// receive side several times larger, idle or not, for the rarer kind of body. The box
    /// comes from, and goes back to, the thread's stash ([`spare`]), so a chunked request
    /// allocates nothing.
    Chunked(Recycled),
}

/// A boxed chunked decoder that goes back to the thread's stash when dropped.
#[derive(Debug)]
pub(crate) struct Recycled(Option<Box<ChunkedDecoder>>);

impl Recycled {
    fn new(decoder: ChunkedDecoder) -> Self {
        Self(Some(match spare::take_chunked() {
            Some(mut kept) => {
                *kept = decoder;
                kept
            }
            None => Box::new(decoder),
        }))
    }

    fn get(&mut self) -> &mut ChunkedDecoder {
        // Only `drop` empties it.
        self.0.as_deref_mut().unwrap_or_else(|| unreachable!())
    }
}

impl Clone for Recycled {
    fn clone(&self) -> Self {
        Self(self.0.clone())
    }
}

impl Drop for Recycled {
    fn drop(&mut self) {
        if let Some(decoder) = self.0.take() {
            spare::give_chunked(decoder);
        }
    }
}

impl BodyDecoder {
    /// The decoder for a framing, or `None` when there is no body.
    pub(crate) fn for_framing(framing: RequestFraming, limits: &Limits) -> Option<Self> {
        match framing {
            RequestFraming::None | RequestFraming::Length(0) => None,
            RequestFraming::Length(n) => Some(Self::Length(n)),
            RequestFraming::Chunked => Some(Self::Chunked(Recycled::new(ChunkedDecoder::new(
                limits.max_chunk_line,
                limits.max_trailer_bytes,
                limits.max_headers,
            )))),
        }
    }

    /// Bytes of body known to be still on the way (`None` when chunked: unknown).
    pub(crate) fn known_remaining(&self) -> Option<u64> {
        match self {
            Self::Length(n) => Some(*n),
            Self::Chunked(_) => None,
        }
    }

    /// The next piece of the body.
    pub(crate) fn decode(&mut self, input: &mut BytesMut) -> Result<Decoded, RequestError> {
        match self {
            Self::Length(0) => Ok(Decoded::End(crate::Headers::new())),
            Self::Length(remaining) => {
                if input.is_empty() {
                    return Ok(Decoded::NeedMore);
                }
                let n = usize::try_from(*remaining)
                    .unwrap_or(usize::MAX)
                    .min(input.len());
                *remaining -= n as u64;
                Ok(Decoded::Data(input.split_to(n).freeze()))
            }
            Self::Chunked(decoder) => decoder.get().decode(input),
        }
    }
}
