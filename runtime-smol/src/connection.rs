//! One connection's task: turn its [`Driver`], then wait for whatever the turn names (the
//! socket, the CGI script's pipes, the deadline, the handler's next command) or for the
//! stop, and turn again. A task reads its requests, then plans and answers them only after
//! the other ready tasks read theirs (one yield), as the mio reactor reads a whole poll before
//! it plans; once it answered, it looks for the next request after another yield before it
//! asks the reactor to wait. Every policy is in `serve` and every system call in `sys`; this
//! module only owns the waiting.
//!
//! The pipes are registered with the reactor only for the duration of one wait
//! (`Async<BorrowedFd>`, borrowed from the driver): the driver keeps sole ownership, so
//! closing a script's stdin really closes it (a duplicated descriptor would keep the
//! script from ever seeing the end of its input), and a connection without a script pays
//! nothing. A wait comes only after the driver moved everything it could, so a stream
//! costs one registration per pipe buffer (64 KiB), not per read.

use std::borrow::Borrow;
use std::future::Future;
use std::net::{SocketAddr, TcpStream};
use std::os::fd::BorrowedFd;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use serve::{Command, Connection, Ticket};
use smol::channel::{Receiver, Sender};
use smol::stream::Stream;
use smol::{Async, Timer};
use sys::clock::now;
use sys::drive::{Driver, Turn};
use sys::script::Pipes;

use crate::server::{Handle, Shared};

/// How soon a pipe the reactor would not take is looked at again (registering a pipe fails
/// only when the kernel is out of memory; the script is then polled, not abandoned).
const PIPE_RETRY: Duration = Duration::from_millis(10);

/// The socket as the driver sees it: the same `Async` the roster holds to evict it.
#[derive(Debug)]
struct Socket(Handle);

impl Borrow<TcpStream> for Socket {
    fn borrow(&self) -> &TcpStream {
        self.0.get_ref()
    }
}

/// What ended a wait.
enum Woke {
    Readable,
    Writable,
    /// A pipe or the stop: the next turn sees what changed.
    Other,
    /// The timer went off (for the deadline it was armed for, or an earlier one).
    Timer,
    /// The handler's next command.
    Command(Command),
    /// The handler task is over: its channel closed.
    HandlerGone,
}

/// The task serving one admitted connection until it is over; then it leaves the roster
/// and drops `done` (the accept loop knows every task is over once all of them are gone).
///
/// This future is most of what an idle connection costs, so it keeps little across an
/// await: the driver (built here, captured by the task and used in place: moved into the
/// body it would be stored twice), the receivers it listens to, and one [`Wait`]. It is
/// spawned as it is: a wrapping future would store it once more.
pub(crate) fn serve(
    socket: Handle,
    peer: SocketAddr,
    ticket: Ticket,
    shared: Arc<Shared>,
    done: Sender<()>,
) -> impl Future<Output = ()> + Send + 'static {
    let conn = Connection::new(Arc::clone(&shared.config), peer, now());
    let mut driver = Driver::new(conn, Socket(socket));
    async move {
        // Listened to until the stop was seen once.
        let mut stop = pin!(Some(shared.stop_signal()));
        let mut commands = pin!(None::<Receiver<Command>>);
        // The roster admitted it idle.
        let mut idle = true;
        // One timer for the task's life, armed for the earliest deadline a turn named since
        // it last went off. A deadline moving later (each request moves the idle deadline)
        // leaves it armed: it goes off early once, and the turn after it re-arms it. Arming
        // a timer tells the reactor thread (a wake-up), so arming one per wait cost more than
        // the rest of the wait.
        let mut timer = Timer::never();
        let mut armed: Option<Instant> = None;
        // The last step read requests ahead: this turn plans and writes them.
        let mut planning = false;
        // Whether the connection had a turn before: its first, just accepted, reads and
        // answers at once, as new connections come in bursts of their own (see
        // `Shared::try_hold`).
        let mut kept_alive = false;
        loop {
            if stop.is_some() && shared.stopping() {
                stop.set(None);
                driver.stop();
            }
            let at = now();
            // Read, then plan and answer after the other ready tasks of this thread read
            // theirs: their requests are then planned together, one look at a file serving
            // all of them (`handler::with_shared_looks`, on a one-thread executor), and the
            // responses leave in a burst, so a client waiting on several connections is
            // woken once per burst, not once per response.
            let answering = std::mem::take(&mut planning);
            if answering {
                shared.release_hold();
            } else if kept_alive && shared.try_hold() {
                if driver.read_ahead(at) {
                    planning = true;
                    // Told before the yield: an accept meanwhile must not close a
                    // connection with a request read, as an idle one.
                    note_idle(&driver, &mut idle, &shared, ticket, at.instant);
                    smol::future::yield_now().await;
                    continue;
                }
                shared.release_hold();
            }
            let turn = driver.turn(at);
            kept_alive = true;
            note_idle(&driver, &mut idle, &shared, ticket, at.instant);
            if let Some(task) = driver.take_task() {
                commands.set(Some(shared.handlers.run(task)));
            }
            if turn.done {
                break;
            }
            // Answered, and the connection waits to read (its next request, or more of a
            // body): by the time the other ready tasks had their turn, the client has most
            // likely sent it. Looking once, after a yield, spares the reactor a registration
            // and a wake-up per request (measured: 0.05 `epoll_ctl` per request instead of
            // 1.13); a look that finds nothing costs one `recv`, and the task then waits as
            // usual.
            let read_after_yield = answering && turn.read && !turn.write;
            if turn.more || read_after_yield {
                // Out of budget, or looking again soon: let the other tasks of this thread
                // run first.
                smol::future::yield_now().await;
                if read_after_yield {
                    driver.readable();
                }
                continue;
            }
            // The wait borrows only the socket and the pipes, the driver not being `Sync` (a
            // handler task's reply channel is in it).
            let wait = Wait::new(
                &driver.socket().0,
                driver.pipes(),
                turn,
                commands.as_mut().as_pin_mut(),
                stop.as_mut().as_pin_mut(),
            );
            if let Some(deadline) = wait.deadline
                && armed.is_none_or(|at| deadline < at)
            {
                timer.set_at(deadline);
                armed = Some(deadline);
            }
            let woke = wait.with_timer(armed.is_some().then_some(&mut timer)).await;
            match woke {
                Woke::Readable => driver.readable(),
                Woke::Writable => driver.writable(),
                Woke::Command(command) => driver.command(command),
                Woke::HandlerGone => commands.set(None),
                Woke::Timer => armed = None,
                Woke::Other => {}
            }
        }
        shared.roster().remove(ticket);
        drop(done);
    }
}

/// Tells the roster when the connection starts or stops sitting between requests (an idle
/// one is closed first when the server is full); `idle` is what it was told last.
fn note_idle(
    driver: &Driver<Socket>,
    idle: &mut bool,
    shared: &Shared,
    ticket: Ticket,
    at: Instant,
) {
    let is_idle = driver.conn().is_idle();
    if is_idle != *idle {
        *idle = is_idle;
        shared.roster().set_idle(ticket, is_idle, at);
    }
}

/// One wait of a connection: for the first of what a turn names, the handler's next command,
/// and the stop.
///
/// Everything in it is polled in place, with no future of its own to store: the socket and
/// the pipes with `poll_readable`/`poll_writable` (which keep the waker in the reactor's one
/// slot per source: only this task waits on them; a `readable()` future would also make the
/// reactor grow a list of wakers for every idle connection), the receivers as streams.
struct Wait<'a> {
    socket: &'a Handle,
    read: bool,
    write: bool,
    commands: Option<Pin<&'a mut Receiver<Command>>>,
    stop: Option<Pin<&'a mut Receiver<()>>>,
    /// The script's stdin, stdout and stderr, registered with the reactor for this wait
    /// (boxed: every idle connection would carry the room, and few run a script).
    pipes: Option<Box<[Option<Async<BorrowedFd<'a>>>; 3]>>,
    /// When the task must turn again at the latest.
    deadline: Option<Instant>,
    /// The task's timer, armed for `deadline` or earlier (none: nothing to wait for).
    timer: Option<&'a mut Timer>,
}

impl<'a> Wait<'a> {
    fn new(
        socket: &'a Handle,
        pipes: Option<Pipes<'a>>,
        // By value: a borrow would keep the turn in the task's state across the wait.
        turn: Turn,
        commands: Option<Pin<&'a mut Receiver<Command>>>,
        stop: Option<Pin<&'a mut Receiver<()>>>,
    ) -> Self {
        let mut unregistered = false;
        let pipes = pipes.map(|p| {
            Box::new([
                register(p.stdin, &mut unregistered),
                register(p.stdout, &mut unregistered),
                register(p.stderr, &mut unregistered),
            ])
        });
        let deadline = if unregistered {
            let retry = now().instant + PIPE_RETRY;
            Some(turn.deadline.map_or(retry, |d| d.min(retry)))
        } else {
            turn.deadline
        };
        Self {
            socket,
            read: turn.read,
            write: turn.write,
            commands,
            stop,
            pipes,
            deadline,
            timer: None,
        }
    }

    /// Also ends when `timer` goes off.
    fn with_timer(mut self, timer: Option<&'a mut Timer>) -> Self {
        self.timer = timer;
        self
    }
}

impl Future for Wait<'_> {
    type Output = Woke;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Woke> {
        let this = self.get_mut();
        // A readiness error is for the next turn to find out, as a failed read or write.
        if this.read && this.socket.poll_readable(cx).is_ready() {
            return Poll::Ready(Woke::Readable);
        }
        if this.write && this.socket.poll_writable(cx).is_ready() {
            return Poll::Ready(Woke::Writable);
        }
        if let Some(commands) = &mut this.commands
            && let Poll::Ready(command) = commands.as_mut().poll_next(cx)
        {
            return Poll::Ready(command.map_or(Woke::HandlerGone, Woke::Command));
        }
        let [stdin, stdout, stderr] = this.pipes.as_deref().unwrap_or(&[None, None, None]);
        let others = [
            stdin
                .as_ref()
                .is_some_and(|p| p.poll_writable(cx).is_ready()),
            stdout
                .as_ref()
                .is_some_and(|p| p.poll_readable(cx).is_ready()),
            stderr
                .as_ref()
                .is_some_and(|p| p.poll_readable(cx).is_ready()),
            // The stop channel never carries a message: ready means closed.
            this.stop
                .as_mut()
                .is_some_and(|stop| stop.as_mut().poll_next(cx).is_ready()),
        ];
        if others.contains(&true) {
            return Poll::Ready(Woke::Other);
        }
        let timer_went_off = this
            .timer
            .as_mut()
            .is_some_and(|timer| Pin::new(&mut **timer).poll(cx).is_ready());
        if timer_went_off {
            Poll::Ready(Woke::Timer)
        } else {
            Poll::Pending
        }
    }
}

/// Registers a pipe with the reactor for one wait (the driver made it non-blocking);
/// `failed` is set if the reactor would not take it.
fn register<'a>(fd: Option<BorrowedFd<'a>>, failed: &mut bool) -> Option<Async<BorrowedFd<'a>>> {
    let source = Async::new_nonblocking(fd?);
    *failed |= source.is_err();
    source.ok()
}

#[cfg(test)]
mod tests {
    use std::net::TcpListener;

    use serve::{Admission, Facts, ServerConfig};

    use super::*;

    /// The task is most of what an idle connection costs (issue #17: at most 1.5 KiB in
    /// all on smol, with the reactor's source, the timer and the roster entry): the driver
    /// and a few words, not the driver twice or a wait the size of the driver.
    #[test]
    fn the_connection_task_is_the_driver_and_little_more() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let _client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (stream, peer) = listener.accept().unwrap();
        let socket: Handle = Arc::new(Async::new(stream).unwrap());
        let facts = Facts::new(peer, "localhost");
        let config = ServerConfig::new(handler::Settings::new("."), facts);
        let (_stop, stopped) = smol::channel::bounded(1);
        let shared = Arc::new(Shared::new(Arc::new(config), 0, stopped).unwrap());
        let Admission::Admitted(ticket) = shared.roster().admit(Arc::clone(&socket), now().instant)
        else {
            panic!("not admitted");
        };
        let (done, _all_done) = smol::channel::bounded(1);
        let task = serve(socket, peer, ticket, shared, done);
        let driver = size_of::<Driver<Socket>>();
        let size = size_of_val(&task);
        assert!(size <= driver + 256, "task {size}, driver {driver}");
    }
}
