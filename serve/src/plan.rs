//! A planned response (`handler::Plan`) put into the core, and its log lines.

use std::collections::VecDeque;
use std::fs::File;
use std::net::SocketAddr;
use std::time::SystemTime;

use handler::{CgiSpec, Part, Plan, PlanBody};
use protocol::{ResponseBody, ResponseHead, ServerConnection, UsageError};

use crate::log::LogSink;

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
    File(File, VecDeque<u64>),
    /// Run this script; `response` is the head its output completes.
    Cgi {
        spec: CgiSpec,
        response: ResponseHead,
    },
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

/// The plan's own log messages, then the access line, as CPython logs them; one call to the
/// sink, so lines of concurrent connections never interleave.
pub(crate) fn log_plan(
    sink: &dyn LogSink,
    peer: SocketAddr,
    wall: SystemTime,
    request_line: &[u8],
    plan: &Plan,
) {
    let mut text = String::new();
    for message in &plan.log_messages {
        text.push_str(&handler::format_log_line(peer.ip(), wall, message));
    }
    let access = handler::request_log_message(request_line, plan.head.status);
    text.push_str(&handler::format_log_line(peer.ip(), wall, &access));
    sink.log(&text);
}
