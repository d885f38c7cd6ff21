//! Python's `http.server` semantics as plain functions: a request head in, a response plan out.
//!
//! This crate decides *what* to answer, exactly as CPython 3.14's `SimpleHTTPRequestHandler`
//! and `CGIHTTPRequestHandler` would: status line, reason phrase, header names, casing and
//! order, HTML bytes, log lines. It reads the file system (`stat`, `open`, `read_dir`) but never
//! touches a socket, a thread, a clock or a process: wall-clock time and the peer address come
//! in through a [`RequestContext`], and a [`Plan`] goes out for a runtime to execute.
//!
//! # Driving it from a runtime
//!
//! ```no_run
//! use std::time::SystemTime;
//! use handler::{Plan, PlanBody, RequestContext, Settings, plan_request, plan_request_error};
//! # fn on_request(head: protocol::RequestHead, peer: std::net::SocketAddr) {
//! let settings = Settings::new("/srv/www");
//! let ctx = RequestContext::new(peer, SystemTime::now());
//! let plan: Plan = plan_request(&settings, &head, &ctx);
//! for message in &plan.log_messages {
//!     eprint!("{}", handler::format_log_line(peer.ip(), ctx.now, message));
//! }
//! let access = handler::request_log_message(head.request_line(), plan.head.status);
//! eprint!("{}", handler::format_log_line(peer.ip(), ctx.now, &access));
//! match plan.body {
//!     PlanBody::Empty => { /* send plan.head with ResponseBody::None */ }
//!     PlanBody::Bytes(bytes) => { /* Length(bytes.len()), then the bytes */ }
//!     PlanBody::File { file, offset, len } => { /* Length(len), then sendfile */ }
//!     PlanBody::Parts { file, parts } => { /* Length(sum), then bytes and spans in order */ }
//!     PlanBody::Cgi(spec) => { /* Passthrough head, spawn spec.program, pipe its stdout */ }
//!     _ => {}
//! }
//! # }
//! ```
//!
//! A [`RequestError`](protocol::RequestError) from the protocol core is answered with
//! [`plan_request_error`]. The access-log line uses an empty request line after a 414, as
//! CPython does.
//!
//! # Where CPython's names live
//!
//! | CPython (`http.server`) | Here |
//! |---|---|
//! | `BaseHTTPRequestHandler.handle_one_request` dispatch (`do_GET`, `do_HEAD`, `do_POST`, 501) | [`plan_request`]; for user handlers [`exchange::Handler`] (run by the `serve` crate) |
//! | a `BaseHTTPRequestHandler` subclass (`do_GET`, `command`, `path`, `headers`, `rfile`, `wfile`, `client_address`) | [`exchange::Handler`] and [`exchange::Exchange`] |
//! | `parse_request` error replies (400, 414, 431, 505) | [`plan_request_error`] |
//! | `parse_request`'s `//` collapse of `self.path` | [`request_path`] |
//! | `send_response(code, message)` | [`response_head`] for plans; [`exchange::Exchange::send_response`] for user handlers |
//! | `send_response_only`, `send_header`, `end_headers`, `flush_headers` | [`exchange::Exchange`] methods (the user handler API every runtime shares); in a plan, its [`ResponseHead`](protocol::ResponseHead) is the buffered head |
//! | `send_error(code, message, explain)` | [`send_error`] (and [`exchange::Exchange::send_error`]) |
//! | `log_message`, `log_error` | [`format_log_line`] (the runtime writes it to stderr); [`exchange::Exchange::log_message`] |
//! | `log_request(code)` | [`request_log_message`]; [`exchange::Exchange::log_request`] |
//! | `_control_char_table` (log escaping) | [`push_log_escaped`] |
//! | `date_time_string(timestamp)` | [`date_time_string`] |
//! | `log_date_time_string()` | [`log_date_time_string`] |
//! | `version_string()` | [`Settings::version_string`] |
//! | `address_string()` | the runtime: `client.ip()` of [`RequestContext`] |
//! | `server_version`, `sys_version`, `protocol_version` | [`Settings`] fields |
//! | `error_message_format`, `error_content_type` | [`Settings`] fields ([`DEFAULT_ERROR_MESSAGE`], [`DEFAULT_ERROR_CONTENT_TYPE`]) |
//! | `responses` | `protocol::status::{reason_phrase, description}` |
//! | `default_request_version`, HTTP/0.9 head suppression, keep-alive, `handle_expect_100` | the `protocol` crate |
//! | `SimpleHTTPRequestHandler.send_head`, `do_GET`, `do_HEAD`, `copyfile` | [`plan_request`]; the runtime copies [`PlanBody::File`] |
//! | `translate_path(path)` | [`translate_path`] + [`to_fs_path`] |
//! | `list_directory(path)` | [`list_directory`] |
//! | `guess_type(path)` | [`guess_type`] |
//! | `extensions_map`, `index_pages`, `default_content_type`, `directory` | [`Settings`] fields |
//! | `extra_response_headers` (3.15, `-H`) | [`Settings::extra_headers`] |
//! | If-Modified-Since handling in `send_head` | [`is_not_modified`], [`parse_if_modified_since`] |
//! | `CGIHTTPRequestHandler.cgi_directories` | [`CgiSettings::directories`] |
//! | `is_cgi()` | [`cgi::is_cgi`] |
//! | `_url_collapse_path(path)` | [`cgi::url_collapse_path`] |
//! | `run_cgi()` (checks, environment, argv) | [`cgi::run_cgi`] → [`CgiSpec`]; the runtime spawns it |
//! | `is_python(path)` | [`cgi::is_python`] |
//! | `is_executable(path)`, `executable(path)` | inside [`cgi::run_cgi`] (`access(X_OK)`) |
//! | `nobody_uid()` | [`cgi::nobody`] ([`CgiSpec::uid`], [`CgiSpec::gid`]) |
//! | `have_fork`, `rbufsize` | not needed: the runtime always spawns and pipes |
//! | `HTTPServer`, `ThreadingHTTPServer`, `server_name`, `server_port` | `runtime-std` (name and port reach CGI through [`RequestContext`]) |
//!
//! # Deliberate differences from CPython 3.14
//!
//! - A listing's title keeps the query string (3.11 to 3.13 behaviour; DESIGN.md, "Which CPython").
//! - Where CPython raises and drops the connection without a reply, this answers: a path with
//!   `%00` or an unencodable surrogate (`%ed%a0%80`) is 404 `File not found`; with CGI enabled,
//!   a path whose `..` climbs above the root is 404 too; non-latin-1 characters in a reason
//!   phrase become `?` in the status line (the page keeps them).
//! - Only regular files are served (a FIFO or device under the root is 404), and files are
//!   opened non-blocking, so a FIFO cannot hang the server.
//! - Symbolic links may not lead outside the served root: files, directories, index pages and
//!   listings are opened beneath the root's descriptor (`openat2` with `RESOLVE_BENEATH`, or a
//!   component-by-component walk on older kernels), so such a path is 404 `File not found`.
//!   A listing still names such a link (`etc@`) but not as a directory (no `/` in its `href`).
//!   Links inside the root work, absolute ones included. With CGI on, a link into a CGI
//!   directory does not serve a script as a file. [`Settings::follow_symlinks`] restores
//!   CPython's behaviour.
//! - MIME types come from `mime_guess` corrected to CPython's built-in table, without reading
//!   `/etc/mime.types` (which makes CPython's answers machine-dependent).
//! - Files get validators and ranges (not with [`Settings::compat`]): a strong `ETag` and
//!   `Accept-Ranges: bytes`; RFC 9110's preconditions in its order (`If-Match` and
//!   `If-Unmodified-Since` give 412; `If-None-Match`, which CPython ignores, gives 304 and
//!   outranks `If-Modified-Since`); `Range` and `If-Range` give 206 (one span as a
//!   [`PlanBody::File`], several as `multipart/byteranges` in a [`PlanBody::Parts`]) or 416.
//!   A 304 carries `ETag` and `Last-Modified`. [`Settings::charset`] adds a charset to text
//!   types (off by default).
//! - CGI: request-dependent variables are not inherited from the server's environment; the
//!   script runs in its own directory; `.py` scripts run through [`CgiSettings::python`]; as
//!   root, both the group and the user of `nobody` are taken.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod beneath;
pub mod cgi;
mod conditional;
mod context;
mod dispatch;
mod encoding;
mod error_page;
pub mod exchange;
mod file_cache;
mod listing;
mod log;
mod mime;
mod path;
pub mod plan;
mod pystr;
mod ranges;
mod recent;
mod request_error;
mod response;
mod settings;
mod static_files;
mod time;
pub mod upload;
mod validators;

pub use conditional::{is_not_modified, parse_if_modified_since};
pub use context::RequestContext;
pub use dispatch::{plan_request, unsupported_method_message};
pub use encoding::{COMPRESS_MAX, COMPRESS_MIN};
pub use error_page::send_error;
pub use file_cache::{forget_looks, with_shared_looks};
pub use listing::list_directory;
pub use log::{
    access_log, combined_log_line, format_log_line, push_log_escaped, request_log_message,
};
pub use mime::guess_type;
pub use path::{origin_form, request_path, to_fs_path, translate_path};
pub use plan::{CgiSpec, Part, Plan, PlanBody};
pub use request_error::plan_request_error;
pub use response::response_head;
pub use settings::{
    CgiSettings, DEFAULT_ERROR_CONTENT_TYPE, DEFAULT_ERROR_MESSAGE, DEFAULT_SERVER_VERSION,
    DEFAULT_SYS_VERSION, ListingStyle, LogFormat, Settings,
};
pub use time::{common_log_time, date_time_string, log_date_time_string};
