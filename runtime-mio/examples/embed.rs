//! HTTP inside your own mio loop: your handler answers `/api/...`, and everything else is
//! served from a directory (files go out with sendfile, listings, CGI if enabled), by one
//! service in one `Poll` on one thread. It is Python's `super().do_GET()` pattern:
//! `accepts` picks your routes, the built-in `http.server` takes the rest.
//!
//! ```sh
//! cargo run -p runtime-mio --example embed -- /srv/www
//! curl http://127.0.0.1:8000/api/hello    # your handler
//! curl http://127.0.0.1:8000/             # a directory listing
//! ```
//!
//! The HTTP service gets tokens 1000..2000 of the `Poll`; the others are yours.

use std::io::{self, Write};
use std::sync::Arc;
use std::time::Instant;

use handler::exchange::{Exchange, Handler};
use mio::{Events, Poll, Token};
use protocol::RequestHead;
use runtime_mio::HttpService;

struct Api;

impl Handler for Api {
    fn accepts(&self, request: &RequestHead) -> bool {
        request.target().starts_with(b"/api/")
    }

    fn do_get(&self, ex: &mut Exchange<'_>) -> io::Result<()> {
        let body = format!("hello from {}\n", ex.path());
        ex.send_response(200, None);
        ex.send_header("Content-Length", &body.len().to_string());
        ex.end_headers()?;
        ex.wfile().write_all(body.as_bytes())
    }
}

fn main() -> io::Result<()> {
    let root = std::env::args().nth(1).unwrap_or_else(|| ".".into());
    let listener = std::net::TcpListener::bind("127.0.0.1:8000")?;
    let facts = sys::facts::gather(listener.local_addr()?);
    let mut config = serve::ServerConfig::new(handler::Settings::new(root), facts);
    config.routes = Some(Arc::new(Api));
    config.log = Arc::new(|line: &str| eprint!("{line}"));

    let mut poll = Poll::new()?;
    let tokens = Token(1000)..Token(2000);
    let mut http = HttpService::new(listener, Arc::new(config), poll.registry(), tokens)?;
    let mut events = Events::with_capacity(256);
    loop {
        // Your own deadlines would be folded in here too.
        let timeout = http
            .poll_timeout()
            .map(|at| at.saturating_duration_since(Instant::now()));
        poll.poll(&mut events, timeout)?;
        for event in &events {
            if !http.handle_event(poll.registry(), event) {
                // An event for one of your own tokens.
            }
        }
        http.handle_timeout(poll.registry(), Instant::now());
    }
}
