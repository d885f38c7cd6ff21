//! Where your handler runs: a [`HandlerTask`] blocks (it reads and writes like
//! `BaseHTTPRequestHandler`), so it never runs on an executor thread. It runs on threads of
//! its own, or on smol's blocking pool, and sends each [`Command`] to its connection's task
//! through a channel that the task waits on beside the socket.

use std::io;

use serve::{Command, HandlerTask};
use smol::channel::{Receiver, Sender, unbounded};

/// A task to run, and where its commands go.
type Job = (HandlerTask, Sender<Command>);

/// The threads (or the pool) that run handler tasks.
#[derive(Debug)]
pub(crate) struct Handlers {
    /// The queue of the server's own handler threads; `None`: smol's blocking pool.
    queue: Option<Sender<Job>>,
}

impl Handlers {
    /// `threads` threads of their own, or none (`0`: the blocking pool). The threads end
    /// once the server is dropped and the queue is empty; they are not joined, so a handler
    /// that never returns cannot hold up the end of `serve_forever`.
    pub(crate) fn start(threads: usize) -> io::Result<Self> {
        if threads == 0 {
            return Ok(Self { queue: None });
        }
        let (queue, jobs) = unbounded::<Job>();
        for i in 0..threads {
            let jobs = jobs.clone();
            std::thread::Builder::new()
                .name(format!("handler-{i}"))
                .spawn(move || work(&jobs))?;
        }
        Ok(Self { queue: Some(queue) })
    }

    /// Runs `task` off the executor; its commands arrive on the returned channel, which
    /// closes after the last one ([`Command::Done`]).
    pub(crate) fn run(&self, task: HandlerTask) -> Receiver<Command> {
        let (commands, received) = unbounded();
        match &self.queue {
            Some(queue) => {
                // Unbounded and open while the server runs: this never blocks or fails.
                let _ = queue.try_send((task, commands));
            }
            None => smol::unblock(move || execute(task, &commands)).detach(),
        }
        received
    }
}

impl Drop for Handlers {
    fn drop(&mut self) {
        if let Some(queue) = &self.queue {
            queue.close();
        }
    }
}

fn work(jobs: &Receiver<Job>) {
    while let Ok((task, commands)) = jobs.recv_blocking() {
        execute(task, &commands);
    }
}

fn execute(task: HandlerTask, commands: &Sender<Command>) {
    // A task whose connection is gone finds out from its replies channel: dropped
    // commands need no answer here.
    task.run(|command| {
        let _ = commands.try_send(command);
    });
}
