//! A planned response (`handler::Plan`) put into the core, and its log lines.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::fs::File;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::SystemTime;

use handler::{CgiSpec, Part, Plan, PlanBody};
use protocol::{RequestHead, ResponseBody, ResponseHead, ServerConnection, UsageError};

use crate::config::ServerConfig;

/// What is left to do after a plan went into the core.
#[derive(Debug)]
#[expect(
    clippy::large_enum_variant,
    reason = "a value passed once from the planner to its caller, never stored"
)]
pub(crate) enum Queued {
    /// The response is complete in the core.
    Done,
    /// The response's body has external spans: send them from this file, each from its
    /// offset, in order.
    File(Arc<File>, VecDeque<u64>),
    /// Run this script; `response` is the head its output completes.
    Cgi {
        spec: CgiSpec,
        response: ResponseHead,
    },
}

/// The log text buffer a thread keeps between requests, at most.
const KEEP_TEXT: usize = 4 * 1024;

thread_local! {
    /// The text of the lines a request logs, kept per thread (see [`log_plan`]).
    static TEXT: RefCell<String> = const { RefCell::new(String::new()) };
}

/// Queues `plan` into `core`.
pub(crate) fn queue(core: &mut ServerConnection, plan: Plan) -> Result<Queued, UsageError> {
    match plan.body {
        PlanBody::Empty => core
            .send_response(&plan.head, ResponseBody::None)
            .and_then(|()| core.finish_response())
            .map(|()| Queued::Done),
        PlanBody::Bytes(bytes) => core.respond(&plan.head, bytes).map(|()| Queued::Done),
        PlanBody::File { file, offset, len } => core
            .send_response(&plan.head, ResponseBody::Length(len))
            .and_then(|()| core.send_body_external(len))
            .and_then(|()| core.finish_response())
            .map(|()| Queued::File(file, VecDeque::from([offset]))),
        PlanBody::Parts { file, parts } => {
            let total = parts.iter().map(Part::len).sum();
            core.send_response(&plan.head, ResponseBody::Length(total))?;
            let mut offsets = VecDeque::new();
            for part in parts {
                match part {
                    Part::Bytes(bytes) => core.send_body(bytes)?,
                    // The core queues no span for an empty part: neither is an offset kept.
                    Part::File { offset, len } if len > 0 => {
                        core.send_body_external(len)?;
                        offsets.push_back(offset);
                    }
                    Part::File { .. } => {}
                    // A part this layer does not know cannot be sent.
                    _ => return Err(UsageError::ResponseAlreadyStarted),
                }
            }
            core.finish_response()?;
            Ok(Queued::File(file, offsets))
        }
        PlanBody::Cgi(spec) => Ok(Queued::Cgi {
            spec,
            response: plan.head,
        }),
        // A body kind this layer does not know cannot be sent.
        _ => Err(UsageError::ResponseAlreadyStarted),
    }
}

/// The plan's own log messages, then the access line in the format the settings ask for (see
/// [`handler::access_log`]); one call to the sink, so lines of concurrent connections never
/// interleave. `head` is the request, when one was parsed. The text is written into a
/// buffer kept per thread: logging every request allocates nothing.
pub(crate) fn log_plan(
    config: &ServerConfig,
    peer: SocketAddr,
    wall: SystemTime,
    request_line: &[u8],
    head: Option<&RequestHead>,
    plan: &Plan,
) {
    let log = |text: &mut String| {
        let (settings, ip) = (&config.settings, peer.ip());
        handler::access_log(text, settings, ip, wall, request_line, head, plan);
        if !text.is_empty() {
            config.log.log(text);
        }
    };
    // A sink that logs through a server of its own on this thread finds the buffer taken.
    let kept = TEXT.try_with(|kept| {
        let Ok(mut text) = kept.try_borrow_mut() else {
            return false;
        };
        text.clear();
        log(&mut text);
        if text.capacity() > KEEP_TEXT {
            // A rare long line (a long request line, many messages) is not kept.
            *text = String::new();
        }
        true
    });
    if kept != Ok(true) {
        log(&mut String::new());
    }
}
