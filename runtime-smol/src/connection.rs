//! One connection's task: turn its [`Driver`], then wait for whatever the turn names (the
//! socket, the CGI script's pipes, the deadline, the handler's next command) or for the
//! stop, and turn again. Every policy is in `serve` and every system call in `sys`; this
//! module only owns the waiting.
//!
//! The pipes are registered with the reactor only for the duration of one wait
//! (`Async<BorrowedFd>`, borrowed from the driver): the driver keeps sole ownership, so
//! closing a script's stdin really closes it (a duplicated descriptor would keep the
//! script from ever seeing the end of its input), and a connection without a script pays
//! nothing. A wait comes only after the driver moved everything it could, so a stream
//! costs one registration per pipe buffer (64 KiB), not per read.

use std::borrow::Borrow;
use std::future::{Future, poll_fn};
use std::net::{SocketAddr, TcpStream};
use std::os::fd::BorrowedFd;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use serve::{Command, Connection, Ticket};
use smol::channel::Receiver;
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
    /// A pipe, the deadline, or the stop: the next turn sees what changed.
    Other,
    /// The handler's next command.
    Command(Command),
    /// The handler task is over: its channel closed.
    HandlerGone,
}

/// Serves one admitted connection until it is over, then leaves the roster.
pub(crate) async fn serve(socket: Handle, peer: SocketAddr, ticket: Ticket, shared: Arc<Shared>) {
    let conn = Connection::new(Arc::clone(&shared.config), peer, now());
    let mut driver = Driver::new(conn, Socket(socket));
    let mut commands: Option<Receiver<Command>> = None;
    let mut stopped = false;
    // The roster admitted it idle.
    let mut idle = true;
    loop {
        if !stopped && shared.stopping() {
            stopped = true;
            driver.stop();
        }
        let turn = driver.turn();
        if let Some(task) = driver.take_task() {
            commands = Some(shared.handlers.run(task));
        }
        let is_idle = driver.conn().is_idle();
        if is_idle != idle {
            idle = is_idle;
            shared.roster().set_idle(ticket, idle, now().instant);
        }
        if turn.done {
            break;
        }
        if turn.more {
            // Out of budget: let the other tasks of this thread run first.
            smol::future::yield_now().await;
            continue;
        }
        // The wait is boxed: laid out inside this task's state it would make every task,
        // idle or not, larger than the driver and the wait together (measured: 2.5 KiB
        // inline, 1.3 KiB plus 0.6 KiB boxed). It borrows only the socket and the pipes,
        // the driver not being `Sync` (a handler task's reply channel is in it).
        let socket = &driver.socket().0;
        let pipes = driver.pipes();
        let waiting = wait(socket, pipes, &turn, commands.as_ref(), &shared, stopped);
        let woke = Box::pin(waiting).await;
        match woke {
            Woke::Readable => driver.readable(),
            Woke::Writable => driver.writable(),
            Woke::Command(command) => driver.command(command),
            Woke::HandlerGone => commands = None,
            Woke::Other => {}
        }
    }
    shared.roster().remove(ticket);
}

/// Waits for the first of what `turn` names, the handler's next command, and (until it was
/// seen once) the stop.
async fn wait(
    socket: &Handle,
    pipes: Option<Pipes<'_>>,
    turn: &Turn,
    commands: Option<&Receiver<Command>>,
    shared: &Shared,
    stopped: bool,
) -> Woke {
    let mut readable = pin!(turn.read.then(|| socket.readable()));
    let mut writable = pin!(turn.write.then(|| socket.writable()));
    let mut command = pin!(commands.map(Receiver::recv));
    let mut stop = pin!((!stopped).then(|| shared.stopped()));

    let mut unregistered = false;
    let stdin = register(pipes.and_then(|p| p.stdin), &mut unregistered);
    let stdout = register(pipes.and_then(|p| p.stdout), &mut unregistered);
    let stderr = register(pipes.and_then(|p| p.stderr), &mut unregistered);
    let mut stdin_ready = pin!(stdin.as_ref().map(Async::writable));
    let mut stdout_ready = pin!(stdout.as_ref().map(Async::readable));
    let mut stderr_ready = pin!(stderr.as_ref().map(Async::readable));

    let deadline = if unregistered {
        let retry = now().instant + PIPE_RETRY;
        Some(turn.deadline.map_or(retry, |d| d.min(retry)))
    } else {
        turn.deadline
    };
    let mut timer = pin!(deadline.map(Timer::at));

    poll_fn(|cx| {
        if ready(readable.as_mut(), cx) {
            return Poll::Ready(Woke::Readable);
        }
        if ready(writable.as_mut(), cx) {
            return Poll::Ready(Woke::Writable);
        }
        if let Some(recv) = command.as_mut().as_pin_mut()
            && let Poll::Ready(result) = recv.poll(cx)
        {
            return Poll::Ready(result.map_or(Woke::HandlerGone, Woke::Command));
        }
        let others = [
            ready(stdin_ready.as_mut(), cx),
            ready(stdout_ready.as_mut(), cx),
            ready(stderr_ready.as_mut(), cx),
            ready(timer.as_mut(), cx),
            ready(stop.as_mut(), cx),
        ];
        if others.contains(&true) {
            Poll::Ready(Woke::Other)
        } else {
            Poll::Pending
        }
    })
    .await
}

/// Registers a pipe with the reactor for one wait (the driver made it non-blocking);
/// `failed` is set if the reactor would not take it.
fn register<'a>(fd: Option<BorrowedFd<'a>>, failed: &mut bool) -> Option<Async<BorrowedFd<'a>>> {
    let source = Async::new_nonblocking(fd?);
    *failed |= source.is_err();
    source.ok()
}

/// Polls an optional future; whether it completed (its output, a readiness error included,
/// is for the next turn to find out).
fn ready<F: Future>(future: Pin<&mut Option<F>>, cx: &mut Context<'_>) -> bool {
    future.as_pin_mut().is_some_and(|f| f.poll(cx).is_ready())
}
