//! The serve layer driven by a loop none of the runtimes uses: a bare, single-threaded,
//! edge-triggered epoll loop over rustix. It serves files (sendfile), CGI scripts and a route
//! of its own (`/api/...`), with the real server's timeouts, cap and log lines: all of that
//! lives in `serve` and `sys`.
//!
//! ```text
//! cargo run -p sys --example epoll -- 8000 /srv/www
//! curl http://127.0.0.1:8000/api/hello
//! ```

use std::collections::HashMap;
use std::io::{self, Write};
use std::net::TcpListener;
use std::os::fd::OwnedFd;
use std::sync::{Arc, mpsc};
use std::time::Instant;

use handler::exchange::{Exchange, Handler};
use rustix::event::epoll::{self, CreateFlags, EventData, EventFlags};
use rustix::event::{EventfdFlags, Timespec, eventfd};
use serve::{Admission, Command, Connection, Roster, ServerConfig, Ticket};
use sys::drive::{Driver, Turn};

/// Our own route: everything under `/api/`; the rest is `http.server`'s.
struct Api;

impl Handler for Api {
    fn accepts(&self, request: &protocol::RequestHead) -> bool {
        request.target().starts_with(b"/api/")
    }

    fn do_get(&self, ex: &mut Exchange<'_>) -> io::Result<()> {
        let body = format!("{{\"path\": \"{}\"}}\n", ex.path());
        ex.send_response(200, None);
        ex.send_header("Content-Type", "application/json");
        ex.send_header("Content-Length", &body.len().to_string());
        ex.end_headers()?;
        ex.wfile().write_all(body.as_bytes())
    }
}

const LISTENER: u64 = 0;
const WAKE: u64 = 1;
const EDGES: EventFlags = EventFlags::IN.union(EventFlags::OUT).union(EventFlags::ET);

struct Loop {
    config: Arc<ServerConfig>,
    ep: OwnedFd,
    wake: Arc<OwnedFd>,
    commands: mpsc::Sender<(u64, Command)>,
    roster: Roster<u64>,
    slots: HashMap<u64, (Driver, Ticket, Turn, bool)>,
    next_key: u64,
}

fn main() -> io::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let port = args.get(1).map_or(Ok(8000), |p| p.parse()).expect("a port");
    let mut settings = handler::Settings::new(args.get(2).map_or(".", String::as_str));
    settings.cgi.enabled = true;
    let listener = sys::listener::bind(([127, 0, 0, 1], port).into(), 1024, false)?;
    listener.set_nonblocking(true)?;
    let mut config = ServerConfig::new(settings, sys::facts::gather(listener.local_addr()?));
    config.routes = Some(Arc::new(Api));
    config.log = Arc::new(|text: &str| eprint!("{text}"));
    println!("Serving HTTP on {}", listener.local_addr()?);
    let (commands, inbox) = mpsc::channel();
    let mut lp = Loop {
        roster: Roster::new(config.max_connections),
        config: Arc::new(config),
        ep: epoll::create(CreateFlags::CLOEXEC)?,
        wake: Arc::new(eventfd(0, EventfdFlags::CLOEXEC | EventfdFlags::NONBLOCK)?),
        commands,
        slots: HashMap::new(),
        next_key: 2,
    };
    epoll::add(
        &lp.ep,
        &listener,
        EventData::new_u64(LISTENER),
        EventFlags::IN,
    )?;
    epoll::add(&lp.ep, &*lp.wake, EventData::new_u64(WAKE), EventFlags::IN)?;
    let mut events = Vec::with_capacity(256);
    loop {
        let next = lp.slots.values().filter_map(|s| s.2.deadline).min();
        let timeout = next.and_then(|d| Timespec::try_from(d - Instant::now()).ok());
        events.clear();
        epoll::wait(
            &lp.ep,
            rustix::buffer::spare_capacity(&mut events),
            timeout.as_ref(),
        )?;
        let mut touched = Vec::new();
        for event in &events {
            match event.data.u64() {
                LISTENER => lp.accept(&listener, &mut touched),
                WAKE => {
                    let _ = rustix::io::read(&*lp.wake, &mut [0; 8]);
                    for (key, command) in inbox.try_iter() {
                        lp.slots.entry(key).and_modify(|s| s.0.command(command));
                        touched.push(key);
                    }
                }
                key => {
                    // Errors and hang-ups show up as failed reads and writes; an end of
                    // stream is reported once, edge-triggered, so it is read to the end.
                    let flags = event.flags;
                    let closed = flags.intersects(EventFlags::RDHUP | EventFlags::ERR);
                    lp.slots.entry(key).and_modify(|s| {
                        s.0.readable();
                        s.0.writable();
                        if closed {
                            s.0.read_closed();
                        }
                    });
                    touched.push(key);
                }
            }
        }
        let now = Instant::now();
        let due = lp
            .slots
            .iter()
            .filter(|(_, s)| s.2.more || s.2.deadline.is_some_and(|d| d <= now));
        touched.extend(due.map(|(key, _)| *key));
        // A connection touched twice turns twice: harmless.
        touched.into_iter().try_for_each(|key| lp.turn(key))?;
    }
}

impl Loop {
    /// Accepts every waiting client; at the cap the longest-idle connection makes room.
    fn accept(&mut self, listener: &TcpListener, touched: &mut Vec<u64>) {
        while let Ok((stream, peer)) = listener.accept() {
            let key = self.next_key;
            self.next_key += 1;
            let ticket = match self.roster.admit(key, Instant::now()) {
                Admission::Admitted(ticket) => ticket,
                Admission::Evict(ticket, victim) => {
                    self.slots.remove(&victim);
                    ticket
                }
                _ => continue,
            };
            sys::listener::configure(&stream);
            let data = EventData::new_u64(key);
            if stream.set_nonblocking(true).is_err()
                || epoll::add(&self.ep, &stream, data, EDGES | EventFlags::RDHUP).is_err()
            {
                self.roster.remove(ticket);
                continue;
            }
            let conn = Connection::new(Arc::clone(&self.config), peer, sys::clock::now());
            let driver = Driver::new(conn, stream);
            self.slots
                .insert(key, (driver, ticket, Turn::default(), false));
            touched.push(key);
        }
    }

    /// One turn of one connection, and what it asked for: a handler thread, pipes to watch.
    fn turn(&mut self, key: u64) -> io::Result<()> {
        let Some((driver, ticket, turn, watched)) = self.slots.get_mut(&key) else {
            return Ok(());
        };
        *turn = driver.turn(sys::clock::now());
        if let Some(task) = driver.take_task() {
            let (commands, wake) = (self.commands.clone(), Arc::clone(&self.wake));
            std::thread::spawn(move || {
                task.run(|command| {
                    let _ = commands.send((key, command));
                    let _ = rustix::io::write(&*wake, &1u64.to_ne_bytes());
                });
            });
        }
        if !*watched && driver.pipes().is_some() {
            for fd in driver.open_pipes().into_iter().flatten() {
                epoll::add(&self.ep, fd, EventData::new_u64(key), EDGES)?;
            }
        }
        *watched = driver.pipes().is_some();
        self.roster
            .set_idle(*ticket, driver.conn().is_idle(), Instant::now());
        if turn.done {
            self.roster.remove(*ticket);
            // Closing the socket and the pipes takes them out of the epoll set.
            self.slots.remove(&key);
        }
        Ok(())
    }
}
