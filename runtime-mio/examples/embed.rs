//! HTTP inside your own mio loop: this program serves a directory over HTTP *and* echoes UDP
//! datagrams, both from one `Poll` on one thread.
//!
//! ```sh
//! cargo run -p runtime-mio --example embed -- 8000 9000 /srv/www
//! curl http://127.0.0.1:8000/
//! echo hello | nc -u -w1 127.0.0.1 9000
//! ```
//!
//! The HTTP service gets tokens 1000..2000; token 1 is our UDP socket. Ctrl-C stops both.

use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use mio::net::UdpSocket;
use mio::{Events, Interest, Poll, Token};
use runtime_mio::HttpService;
use runtime_std::{ServerOptions, Service};

const UDP: Token = Token(1);

fn main() -> io::Result<()> {
    let mut args = std::env::args().skip(1);
    let http_port: u16 = args.next().and_then(|p| p.parse().ok()).unwrap_or(8000);
    let udp_port: u16 = args.next().and_then(|p| p.parse().ok()).unwrap_or(9000);
    let root = args.next().unwrap_or_else(|| ".".into());

    let mut poll = Poll::new()?;
    let mut events = Events::with_capacity(256);

    // Our own socket, our own token.
    let mut udp = UdpSocket::bind(([127, 0, 0, 1], udp_port).into())?;
    poll.registry()
        .register(&mut udp, UDP, Interest::READABLE)?;

    // The HTTP service, in the token range we give it.
    let listener = std::net::TcpListener::bind(("127.0.0.1", http_port))?;
    let mut settings = handler::Settings::new(root);
    settings.protocol_version = "HTTP/1.1".into();
    let mut options = ServerOptions::new(Service::Files, settings);
    options.protocol.protocol_version = "HTTP/1.1".into();
    let mut http = HttpService::new(listener, options, poll.registry(), Token(1000)..Token(2000))?;

    // Ctrl-C or SIGTERM: a flag, and the service's waker (mio allows one waker per Poll) to
    // interrupt poll.
    let stop = Arc::new(AtomicBool::new(false));
    let (flag, waker) = (Arc::clone(&stop), http.waker());
    runtime_std::on_stop_signal(move || {
        flag.store(true, Ordering::Release);
        let _ = waker.wake();
    })?;

    println!(
        "HTTP on http://{}/ and UDP echo on 127.0.0.1:{udp_port}",
        http.local_addr()
    );
    let mut datagram = vec![0u8; 65_536];
    loop {
        if stop.load(Ordering::Acquire) {
            http.shutdown(poll.registry());
            if http.is_stopped() {
                return Ok(());
            }
        }
        // Our timeout would go here too; the service's deadlines are folded in.
        let timeout = http
            .poll_timeout()
            .map(|at| at.saturating_duration_since(Instant::now()));
        match poll.poll(&mut events, timeout) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            other => other?,
        }
        for event in &events {
            if http.handle_event(poll.registry(), event) {
                continue;
            }
            if event.token() == UDP {
                // Edge-triggered: drain until WouldBlock.
                loop {
                    match udp.recv_from(&mut datagram) {
                        Ok((n, from)) => {
                            let _ = udp.send_to(&datagram[..n], from);
                        }
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                        Err(e) => return Err(e),
                    }
                }
            }
        }
        http.handle_timeout(poll.registry(), Instant::now());
    }
}
