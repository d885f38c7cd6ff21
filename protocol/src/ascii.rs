//! [`Folded`]: case-insensitive matching of received bytes against the names and tokens the
//! core looks for (`connection`, `keep-alive`, `content-length`, ...).
//!
//! Every field of every head is checked against a few of these, so the comparison is done a
//! whole word at a time: setting the case bit (`0x20`) of a received byte wherever the
//! expected byte is a letter folds `A`-`Z` onto `a`-`z` and touches nothing else, which is
//! exactly `eq_ignore_ascii_case` against lower-case text, without a branch per byte.

/// Lower-case ASCII text and the case bits to set before comparing with it.
#[derive(Debug)]
pub(crate) struct Folded<const N: usize> {
    lower: [u8; N],
    case_bits: [u8; N],
}

impl<const N: usize> Folded<N> {
    /// `text` must be lower-case ASCII (checked at compile time where used in a `const`).
    pub(crate) const fn new(text: &[u8; N]) -> Self {
        let mut case_bits = [0; N];
        let mut i = 0;
        while i < N {
            assert!(text[i].is_ascii() && !text[i].is_ascii_uppercase());
            if text[i].is_ascii_lowercase() {
                case_bits[i] = 0x20;
            }
            i += 1;
        }
        Self {
            lower: *text,
            case_bits,
        }
    }

    /// Whether `bytes` is this text, ASCII case-insensitively.
    #[inline]
    pub(crate) fn matches(&self, bytes: &[u8]) -> bool {
        if bytes.len() != N {
            return false;
        }
        if N < 8 {
            return u64::from_le_bytes(pad(bytes)) | u64::from_le_bytes(pad(&self.case_bits))
                == u64::from_le_bytes(pad(&self.lower));
        }
        // Whole words, then the last eight bytes (overlapping the previous word).
        let mut at = 0;
        let mut differs = 0;
        while at + 8 <= N {
            differs |= fold(bytes, &self.case_bits, at) ^ word(&self.lower, at);
            at += 8;
        }
        if at < N {
            differs |= fold(bytes, &self.case_bits, N - 8) ^ word(&self.lower, N - 8);
        }
        differs == 0
    }
}

/// The eight bytes at `at`, as one word.
#[inline]
fn word(bytes: &[u8], at: usize) -> u64 {
    let eight: [u8; 8] = bytes[at..at + 8].try_into().expect("eight bytes");
    u64::from_le_bytes(eight)
}

/// The eight bytes of `bytes` at `at` with the case bits of `bits` set.
#[inline]
fn fold(bytes: &[u8], bits: &[u8], at: usize) -> u64 {
    word(bytes, at) | word(bits, at)
}

/// Up to eight bytes, zero-padded to eight.
#[inline]
fn pad(bytes: &[u8]) -> [u8; 8] {
    let mut padded = [0; 8];
    padded[..bytes.len()].copy_from_slice(bytes);
    padded
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agrees_with_eq_ignore_ascii_case_on_every_byte() {
        fn check<const N: usize>(text: &[u8; N]) {
            let folded = Folded::new(text);
            for at in 0..N {
                for b in 0..=255u8 {
                    let mut bytes = *text;
                    bytes[at] = b;
                    let expected = bytes.eq_ignore_ascii_case(text);
                    assert_eq!(folded.matches(&bytes), expected, "{bytes:?}");
                }
            }
            assert!(folded.matches(&text.to_ascii_uppercase()));
            assert!(!folded.matches(&text[..N - 1]));
            assert!(!folded.matches(&[&text[..], b"x"].concat()));
        }
        // Shorter than a word, one word, a word and a tail.
        check(b"a-z9");
        check(b"keep-ali");
        check(b"transfer-encoding");
    }
}
