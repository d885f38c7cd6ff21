//! The response plan: what to send, decided without touching the network.
//!
//! A runtime executes a plan: it writes `head` through the protocol core, then the body: bytes
//! from memory, a span of an open file (with sendfile where it can), or a CGI process whose
//! output it streams. No runtime decides *what* to answer; they only decide *how* to move it.

use std::ffi::OsString;
use std::fs::File;
use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;
use protocol::ResponseHead;

/// A response, ready to be executed by a runtime.
#[derive(Debug)]
#[non_exhaustive]
pub struct Plan {
    /// Status line and headers, in CPython's order and spelling.
    pub head: ResponseHead,
    /// What follows the head.
    pub body: PlanBody,
    /// Lines to log before the access-log line (CPython's `code 404, message File not found`).
    pub log_messages: Vec<String>,
}

/// The body of a planned response.
#[derive(Debug)]
#[non_exhaustive]
pub enum PlanBody {
    /// No body; the head is sent exactly as planned (replies to HEAD, 301, 304, errors to HEAD).
    /// A `Content-Length` in the head describes what a GET would have received.
    Empty,
    /// An in-memory body (listings, error pages); `Content-Length` is in the head.
    Bytes(Bytes),
    /// `len` bytes of an open file from `offset`; `Content-Length` is in the head.
    File {
        /// The file, opened while planning, so what was measured is what is sent (shared:
        /// the planner may keep it open for the next requests).
        file: Arc<File>,
        /// Where to start.
        offset: u64,
        /// How many bytes.
        len: u64,
    },
    /// Bytes from memory and spans of one open file, in order (a `multipart/byteranges`
    /// body); `Content-Length` in the head is the sum of the parts' lengths.
    Parts {
        /// The file the spans are taken from.
        file: Arc<File>,
        /// The pieces of the body, in order.
        parts: Vec<Part>,
    },
    /// Run a CGI script; its output completes the head (passthrough) and the body.
    Cgi(CgiSpec),
}

/// One piece of a [`PlanBody::Parts`] body.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Part {
    /// Bytes from memory.
    Bytes(Bytes),
    /// `len` bytes of the plan's file from `offset` (sent with sendfile where it can be).
    File {
        /// Where to start.
        offset: u64,
        /// How many bytes (never 0).
        len: u64,
    },
}

impl Part {
    /// How many body bytes the part is.
    pub fn len(&self) -> u64 {
        match self {
            Self::Bytes(b) => b.len() as u64,
            Self::File { len, .. } => *len,
        }
    }

    /// Whether the part is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// How to run one CGI script: everything a runtime needs to spawn it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CgiSpec {
    /// The program to execute (the script itself, or the Python interpreter for `.py`).
    pub program: PathBuf,
    /// Arguments after the program (the script path for `.py`, then argv from the query).
    pub args: Vec<OsString>,
    /// The complete environment of the child (the server's own environment is not inherited
    /// except where CPython copies it).
    pub env: Vec<(OsString, OsString)>,
    /// The working directory of the child: the script's directory (CPython's child keeps the
    /// server's; RFC 3875 asks for the script's, which is also what makes relative paths in
    /// scripts work whatever directory the server was started from).
    pub cwd: PathBuf,
    /// The script path, for log messages.
    pub script: PathBuf,
    /// Run as this user id (set when the server runs as root: CPython's `nobody_uid()`).
    /// Drop the group first, then the user.
    pub uid: Option<u32>,
    /// Run with this group id (the `nobody` entry's group; set together with `uid`).
    pub gid: Option<u32>,
}
