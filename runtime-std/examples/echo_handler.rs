//! A `BaseHTTPRequestHandler` subclass, in Rust: `do_GET` greets, `do_POST` echoes the body.
//!
//! ```sh
//! cargo run -p runtime-std --example echo_handler -- 8000
//! curl http://127.0.0.1:8000/hello
//! curl --data 'ping' http://127.0.0.1:8000/echo
//! ```

use std::io::{self, Read, Write};
use std::sync::Arc;

use runtime_std::{Exchange, Handler, ThreadingHttpServer};

struct Echo;

impl Handler for Echo {
    fn do_get(&self, ex: &mut Exchange<'_>) -> io::Result<()> {
        let body = format!(
            "Hello, {}! You asked for {}\n",
            ex.client_address().ip(),
            ex.path()
        );
        ex.send_response(200, None);
        ex.send_header("Content-Type", "text/plain; charset=utf-8");
        ex.send_header("Content-Length", &body.len().to_string());
        ex.end_headers()?;
        ex.wfile().write_all(body.as_bytes())
    }

    fn do_post(&self, ex: &mut Exchange<'_>) -> io::Result<()> {
        let mut body = Vec::new();
        ex.rfile().take(1 << 20).read_to_end(&mut body)?;
        let kind = ex.headers().get("content-type").map(<[u8]>::to_vec);
        ex.send_response(200, None);
        if let Some(kind) = kind {
            ex.send_header("Content-Type", &String::from_utf8_lossy(&kind));
        }
        ex.send_header("Content-Length", &body.len().to_string());
        ex.end_headers()?;
        ex.wfile().write_all(&body)
    }
}

fn main() -> io::Result<()> {
    let port: u16 = std::env::args()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(8000);
    let listener = sys::listener::bind(([127, 0, 0, 1], port).into(), 1024, false)?;
    let mut settings = handler::Settings::new(".");
    settings.server_version = "EchoHTTP/0.1".into();
    let mut config = serve::ServerConfig::new(settings, sys::facts::gather(listener.local_addr()?));
    let mut protocol = protocol::Config::default();
    protocol.protocol_version = "HTTP/1.1".into();
    config.protocol = Arc::new(protocol);
    config.routes = Some(Arc::new(Echo));
    config.log = Arc::new(sys::log::LogWriter::stderr()?);
    let server = ThreadingHttpServer::new(listener, Arc::new(config))?;
    let stop = server.stop_handle();
    sys::signals::on_stop_signals(move |_| stop.stop(), |_| std::process::exit(1))?;
    println!("Serving on http://{}/", server.local_addr());
    server.serve_forever()
}
