//! `handle_one_request` after parsing: pick `do_GET`, `do_HEAD` or (with CGI) `do_POST`, or
//! answer 501 as CPython does for a method the handler has no `do_<METHOD>` for.

use protocol::RequestHead;

use crate::cgi::{self, CgiRoute};
use crate::error_page::send_error;
use crate::path::{local_path, request_path};
use crate::plan::Plan;
use crate::pystr::{latin1, repr};
use crate::static_files::send_head;
use crate::{RequestContext, Settings};

/// Decides the response to one parsed request, as `SimpleHTTPRequestHandler` (or, with
/// `settings.cgi.enabled`, `CGIHTTPRequestHandler`) would.
///
/// `GET` and `HEAD` serve files, redirects, index pages, listings and (with CGI) scripts;
/// `POST` runs scripts when CGI is enabled (`501 Can only POST to CGI scripts` elsewhere); any
/// other method, including lower-case `get`, is `501 Unsupported method ('<METHOD>')`.
/// The file system is consulted (`stat`, `open`, `read_dir`); nothing else is touched.
pub fn plan_request(settings: &Settings, head: &RequestHead, ctx: &RequestContext<'_>) -> Plan {
    let head_request = head.is_head();
    match head.method() {
        b"GET" | b"HEAD" => {
            let path = request_path(head.target());
            if settings.cgi.enabled {
                match cgi::route(settings, local_path(settings, &path)) {
                    CgiRoute::Script(info) => return cgi::run_cgi(settings, head, ctx, info),
                    CgiRoute::Refused => {
                        return send_error(
                            settings,
                            404,
                            Some("File not found"),
                            None,
                            head_request,
                            ctx.now,
                        );
                    }
                    CgiRoute::NotCgi => {}
                }
            }
            send_head(settings, head, ctx, &path)
        }
        b"POST" if settings.cgi.enabled => {
            let path = request_path(head.target());
            match cgi::route(settings, local_path(settings, &path)) {
                CgiRoute::Script(info) => cgi::run_cgi(settings, head, ctx, info),
                CgiRoute::Refused => {
                    send_error(settings, 404, Some("File not found"), None, false, ctx.now)
                }
                CgiRoute::NotCgi => send_error(
                    settings,
                    501,
                    Some("Can only POST to CGI scripts"),
                    None,
                    false,
                    ctx.now,
                ),
            }
        }
        method => {
            let message = unsupported_method_message(method);
            send_error(settings, 501, Some(&message), None, head_request, ctx.now)
        }
    }
}

/// `Unsupported method ('<METHOD>')`: the message CPython sends for a method without a
/// `do_<METHOD>`, the method repr-quoted as Python would.
pub fn unsupported_method_message(method: &[u8]) -> String {
    format!("Unsupported method ({})", repr(&latin1(method)))
}
