//! Property tests of the protocol core, through its public API only.
//!
//! - `chunking`: the events (adjacent bodies merged) and the output bytes are the same
//!   whether the input arrives whole, one byte at a time, or cut anywhere, through either
//!   receive path, in every parse mode, for valid, damaged and random input.
//! - `framing`: declared body lengths are conserved, chunked bodies decode from any
//!   chunking, chunked responses decode back to what was sent, and arbitrary bytes never
//!   panic or produce a request after a close-forcing error.
//! - `roundtrip`: response heads the connection accepts parse back with httparse unchanged.

mod chunking;
mod framing;
mod harness;
mod roundtrip;
mod strategies;
