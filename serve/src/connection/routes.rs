//! The user-handler half of a [`Connection`]: the commands your handler's task sends back, and
//! whether it waits for the socket.

use super::{Connection, Job, Now};
use crate::routes::Command;

impl Connection {
    /// A command from the handler run of [`Io::RunHandler`].
    pub fn handle_command(&mut self, command: Command, now: Now) {
        self.tick(now);
        // The handler runs on another thread: a file it wrote (an upload) is no arrival on
        // this one, so a look shared here could miss it for a pipelined request planned next.
        handler::forget_looks();
        let Some(Job::Handler(run)) = self.job.as_mut() else {
            return;
        };
        if let Some(ok) = run.command(&mut self.core, command) {
            self.job = None;
            if !ok {
                // A handler that failed or said nothing: CPython closes without a reply.
                self.core.abort();
            }
        }
        self.process();
    }

    /// Whether the handler waits for an answer that needs socket progress first (a body
    /// chunk not read yet, room in the send queue): the blocking runtime drives the socket
    /// until this turns false.
    pub fn handler_waiting(&self) -> bool {
        matches!(self.job.as_ref(), Some(Job::Handler(run)) if run.is_waiting())
    }
}
