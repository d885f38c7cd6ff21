//! The machine of a [`Connection`]: after every input, the core's events are drained (request
//! body to the job, requests planned and queued, errors answered) and the job pumped until
//! nothing moves; then the deadlines above the core are brought up to date.

use std::io::IoSlice;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use protocol::{Event, RequestError, RequestHead};

use super::{Connection, FileSpan, Job, Now};
use crate::cgi::CgiJob;
use crate::io::Io;
use crate::plan::{Queued, log_plan, queue};
use crate::routes::HandlerJob;
use crate::trace::Tracer;

impl Connection {
    /// What `handle_sent` reports, traced before the core lets go of it.
    pub(super) fn trace_sent(&self, trace: &Tracer, n: usize, at: Instant) {
        match &self.file {
            Some(span) if span.sending.is_some() => {
                trace.sendfile(at, n, span.offsets.front().copied());
            }
            _ => {
                let mut slices = [IoSlice::new(&[]); 64];
                let count = self.core.fill_io_slices(&mut slices);
                trace.sent(at, &slices[..count], n);
            }
        }
    }

    /// The core's state, traced when it changed.
    pub(super) fn trace_state(&mut self) {
        if let Some(trace) = &mut self.trace {
            trace.state(self.now.instant, self.core.state());
        }
    }

    pub(super) fn tick(&mut self, now: Now) {
        if now.instant > self.now.instant {
            self.now = now;
        }
    }

    /// Whether a request body is being read (for the minimum rate).
    pub(super) fn receiving(&self) -> bool {
        self.job.as_ref().is_some_and(|job| match job {
            Job::Cgi(cgi) => cgi.wants_body(),
            Job::Handler(run) => run.wants_body(),
        })
    }

    /// Drains the core's events and pumps the job until nothing moves.
    pub(super) fn process(&mut self) {
        self.trace_state();
        loop {
            let mut progress = self.dispatch();
            progress |= self.pump_job();
            if !progress {
                break;
            }
        }
        if self.core.is_closed() {
            self.end_job();
        }
        self.trace_state();
        let pending = self.has_output();
        let receiving = self.receiving();
        self.pace.sync(pending, receiving, self.now.instant);
    }

    /// Routes the core's events: request body to the job, the rest answered here. Returns
    /// whether any event was handled.
    pub(super) fn dispatch(&mut self) -> bool {
        let mut progress = false;
        while let Some(event) = self.next_event() {
            progress = true;
            match event {
                Event::Request(head) => self.on_request(head),
                Event::RequestError(error) => self.on_request_error(&error),
                // Unread bodies are discarded by the core; the rest needs no answer.
                _ => {}
            }
            self.trace_state();
        }
        progress
    }

    /// The next event that is not request body for the job (which takes those in).
    pub(super) fn next_event(&mut self) -> Option<Event> {
        loop {
            let Some(job) = self.job.as_mut() else {
                let event = self.core.poll_event()?;
                if let Some(trace) = &mut self.trace {
                    trace.event(self.now.instant, &event);
                }
                return Some(event);
            };
            let (wants, accepts) = match job {
                Job::Cgi(cgi) => (cgi.wants_body(), cgi.accepts_body()),
                Job::Handler(run) => (run.wants_body(), run.accepts_body()),
            };
            if !wants {
                // The job's request is read whole. The next request waits until the job is
                // over (its handler said `Done`, its script was reaped): dispatched now, its
                // job would take the place of one that still runs, and the old one's last
                // word (`Done`, the exit) would end the new one.
                return None;
            }
            if !accepts {
                return None;
            }
            let event = self.core.poll_event()?;
            if let Some(trace) = &mut self.trace {
                trace.event(self.now.instant, &event);
            }
            match (job, event) {
                (Job::Cgi(cgi), Event::Body(data)) => cgi.push_body(data),
                (Job::Handler(run), Event::Body(data)) => run.push_body(data),
                (Job::Cgi(cgi), Event::EndOfRequest { .. } | Event::RequestError(_)) => {
                    cgi.end_body();
                }
                (Job::Handler(run), Event::EndOfRequest { .. }) => run.end_body(None),
                (Job::Handler(run), Event::RequestError(e)) => run.end_body(Some(e.to_string())),
                (_, other) => return Some(other),
            }
        }
    }

    pub(super) fn on_request(&mut self, head: RequestHead) {
        if let Some(routes) = &self.config.routes
            && routes.accepts(&head)
        {
            let (job, task) = HandlerJob::start(
                Arc::clone(routes),
                Arc::clone(&self.config),
                head,
                self.peer,
            );
            self.job = Some(Job::Handler(Box::new(job)));
            self.io.push_back(Io::RunHandler(task));
            return;
        }
        let wall = self.now.wall;
        let ctx = self.config.facts.request_context(self.peer, wall);
        let plan = handler::plan_request(&self.config.settings, &head, &ctx);
        log_plan(
            &self.config,
            self.peer,
            wall,
            head.request_line(),
            Some(&head),
            &plan,
        );
        match queue(&mut self.core, plan) {
            Err(_) => self.core.abort(),
            Ok(Queued::Done) => {}
            Ok(Queued::File(file, offsets)) => {
                self.file = Some(Box::new(FileSpan {
                    file,
                    offsets,
                    sending: None,
                }));
            }
            Ok(Queued::Cgi { spec, response }) => {
                let deadline = self
                    .now
                    .instant
                    .checked_add(self.config.cgi_timeout)
                    .unwrap_or(self.now.instant + Duration::from_secs(86_400 * 365));
                let job = CgiJob::new(
                    response,
                    head.is_head(),
                    self.config.settings.compat,
                    deadline,
                );
                self.job = Some(Job::Cgi(Box::new(job)));
                self.io.push_back(Io::SpawnCgi(spec));
            }
        }
    }

    pub(super) fn on_request_error(&mut self, error: &RequestError) {
        let wall = self.now.wall;
        let line = self
            .core
            .failed_request_line()
            .map_or_else(Bytes::new, Bytes::clone);
        let plan = handler::plan_request_error(&self.config.settings, error, wall);
        log_plan(&self.config, self.peer, wall, &line, None, &plan);
        match queue(&mut self.core, plan) {
            Ok(Queued::Done) => {}
            // The error came in the body of a request whose response is already on its way:
            // that response is finished, then the connection closes (the core knows it must).
            Err(_) => self.core.close_after_response(),
            // An error page is bytes; anything else is a planner bug.
            Ok(_) => self.core.abort(),
        }
    }

    /// Lets the job move what it can. Returns whether anything moved.
    pub(super) fn pump_job(&mut self) -> bool {
        match self.job.as_mut() {
            None => false,
            Some(Job::Handler(run)) => run.pump(&self.core),
            Some(Job::Cgi(cgi)) => {
                let close = cgi.take_stdin_close();
                if close {
                    self.io.push_back(Io::CloseCgiStdin);
                }
                close
            }
        }
    }

    /// The connection is over: a running script is killed, a waiting handler learns it.
    pub(super) fn end_job(&mut self) {
        match self.job.as_mut() {
            Some(Job::Cgi(cgi)) if !cgi.is_finishing() => {
                cgi.finish(&mut self.core, &self.config, self.now.wall);
                self.io.push_back(Io::KillCgi);
            }
            Some(Job::Handler(run)) => {
                // Answers a waiting read or write with "connection closed".
                run.end_body(Some("connection closed".to_owned()));
                run.pump(&self.core);
            }
            _ => {}
        }
    }

    pub(super) fn log(&self, message: &str) {
        self.config.log.log(&handler::format_log_line(
            self.peer.ip(),
            self.now.wall,
            message,
        ));
    }
}
