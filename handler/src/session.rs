//! What every runtime does with an event, in one place: answer a request from a plan, answer
//! a request error, and tell the runtime what is left that only it can do (send a file span,
//! spawn a script, run a user handler).
//!
//! The session queues responses into the protocol core and formats log lines; it never touches
//! a socket, so the std, smol and mio adapters share it unchanged.

use std::fs::File;
use std::net::SocketAddr;
use std::time::SystemTime;

use crate::{CgiSpec, Plan, PlanBody, RequestContext, Settings};
use bytes::Bytes;
use protocol::{
    Event, RequestError, RequestHead, ResponseBody, ResponseHead, ServerConnection, UsageError,
};

/// Work the runtime must do after [`Session::handle_event`].
///
/// Deliberately exhaustive: a runtime that does not know how to do an action must not compile.
#[derive(Debug)]
#[allow(
    clippy::exhaustive_enums,
    reason = "every runtime must handle every action"
)]
pub enum Action {
    /// Nothing beyond draining the core.
    None,
    /// The queued response has an external span: send it from this file, starting at
    /// `offset`, when [`Transmit::External`](protocol::Transmit::External) comes up.
    SendFile {
        /// The open file.
        file: File,
        /// Where the span starts.
        offset: u64,
    },
    /// Spawn this CGI script; once it runs, send `response` with
    /// [`ResponseBody::Passthrough`] and stream the request body to its stdin.
    Cgi {
        /// How to run the script.
        spec: CgiSpec,
        /// The `200 Script output follows` head.
        response: ResponseHead,
    },
    /// Run the user's handler for this request.
    Custom(RequestHead),
}

/// Which requests the runtime answers itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Mode {
    /// `SimpleHTTPRequestHandler` / `CGIHTTPRequestHandler` plans.
    Files,
    /// A user handler answers requests; the session still answers request errors.
    Custom,
}

/// The per-server part of answering events.
#[derive(Debug, Clone, Copy)]
pub struct Session<'a> {
    /// The `http.server` settings.
    pub settings: &'a Settings,
    /// Who answers requests.
    pub mode: Mode,
}

impl Session<'_> {
    /// Handles one event from `core`: queues the response when the session can answer it
    /// alone, appends log lines to `log`, and returns what the runtime still has to do.
    pub fn handle_event(
        &self,
        core: &mut ServerConnection,
        event: Event,
        ctx: &RequestContext<'_>,
        log: &mut String,
    ) -> Action {
        match event {
            Event::Request(head) => {
                if self.mode == Mode::Custom {
                    return Action::Custom(head);
                }
                let plan = crate::plan_request(self.settings, &head, ctx);
                log_plan(self.settings, log, ctx.client, Some(&head), &plan);
                match plan.body {
                    PlanBody::Cgi(spec) => Action::Cgi {
                        spec,
                        response: plan.head,
                    },
                    _ => queue_or_abort(core, plan),
                }
            }
            Event::RequestError(error) => {
                let line = core.failed_request_line().map_or(&[][..], |line| &line[..]);
                let plan = crate::plan_request_error(self.settings, &error, ctx.now);
                log.push_str(&crate::access_log(
                    self.settings,
                    ctx.client.ip(),
                    SystemTime::now(),
                    line,
                    None,
                    &plan,
                ));
                queue_or_abort(core, plan)
            }
            // Unread bodies are discarded by the core; the rest needs no answer.
            _ => Action::None,
        }
    }
}

/// Queues a plan; a plan the core refuses (it never should) aborts the connection.
fn queue_or_abort(core: &mut ServerConnection, plan: Plan) -> Action {
    queue_plan(core, plan).unwrap_or_else(|_| {
        core.abort();
        Action::None
    })
}

/// Queues a planned response (head, body, end) into the core. A file body becomes an
/// external span; the returned action carries the file.
pub fn queue_plan(core: &mut ServerConnection, plan: Plan) -> Result<Action, UsageError> {
    let action = match plan.body {
        PlanBody::Empty => {
            core.send_response(&plan.head, ResponseBody::None)?;
            Action::None
        }
        PlanBody::Bytes(bytes) => {
            core.send_response(&plan.head, ResponseBody::Length(bytes.len() as u64))?;
            core.send_body(bytes)?;
            Action::None
        }
        PlanBody::File { file, offset, len } => {
            core.send_response(&plan.head, ResponseBody::Length(len))?;
            core.send_body_external(len)?;
            Action::SendFile { file, offset }
        }
        PlanBody::Cgi(spec) => {
            return Ok(Action::Cgi {
                spec,
                response: plan.head,
            });
        }
    };
    core.finish_response()?;
    Ok(action)
}

/// The plan's own log messages, then the access line of `head` (see [`access_log`](crate::access_log)).
pub fn log_plan(
    settings: &Settings,
    log: &mut String,
    client: SocketAddr,
    head: Option<&RequestHead>,
    plan: &Plan,
) {
    let line = head.map_or(&[][..], RequestHead::request_line);
    log.push_str(&crate::access_log(
        settings,
        client.ip(),
        SystemTime::now(),
        line,
        head,
        plan,
    ));
}

/// A piece of the request body, as a body consumer (a CGI script's stdin, a handler's
/// `rfile`) sees it.
#[derive(Debug)]
#[allow(
    clippy::exhaustive_enums,
    reason = "a body has data, an end, or a failure; nothing else"
)]
pub enum BodyPart {
    /// Decoded body bytes.
    Data(Bytes),
    /// The body is complete.
    End,
    /// The body could not be read (bad framing, a timeout, the peer went away).
    Failed(RequestError),
}

impl BodyPart {
    /// As a `read` sees it: bytes, `None` at the end, or an error.
    pub fn into_chunk(self) -> std::io::Result<Option<Bytes>> {
        match self {
            Self::Data(data) => Ok(Some(data)),
            Self::End => Ok(None),
            Self::Failed(error) => Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                error.to_string(),
            )),
        }
    }
}

/// The next body event waiting in `core`, skipping events that are not about the body;
/// `None` when nothing is waiting (read more from the socket, then ask again).
pub fn next_body_part(core: &mut ServerConnection) -> Option<BodyPart> {
    loop {
        match core.poll_event()? {
            Event::Body(data) => return Some(BodyPart::Data(data)),
            Event::EndOfRequest { .. } => return Some(BodyPart::End),
            Event::RequestError(error) => return Some(BodyPart::Failed(error)),
            _ => {}
        }
    }
}
