//! CPython 3.14's `CGIHTTPRequestHandler`, minus the process: which URLs are scripts, which
//! script and `PATH_INFO` a URL names, the checks before running it, and the exact program,
//! arguments and environment. The runtime spawns the process from the [`CgiSpec`].
//!
//! CPython sends `200 Script output follows` with `Server` and `Date` before the script runs;
//! the script's output completes the head (its own header lines, the blank line) and the body,
//! passed through until it exits.

mod env;
mod nobody;
mod output;
mod path;

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;
use std::path::{Path, PathBuf};

use bytes::Bytes;
use protocol::RequestHead;
use rustix::fs::Access;

pub use nobody::{RunAs, nobody, nobody_from_passwd};
pub use output::{CgiOutput, LogLines, MAX_HEADER_BLOCK, MAX_LOG_LINE, Output};
pub(crate) use path::cgi_info;
pub use path::{is_cgi, url_collapse_path};

use crate::error_page::send_error;
use crate::path::{to_fs_path, translate_decoded, translate_path};
use crate::plan::{CgiSpec, Plan, PlanBody};
use crate::pystr::{Unquote, fs_encode_lossy, latin1, repr, unquote};
use crate::response::response_head;
use crate::{RequestContext, Settings};

/// `is_python(path)`: the extension is `.py` or `.pyw`, in any case.
pub fn is_python(script_name: &[u8]) -> bool {
    let (_, ext) = crate::mime::splitext(script_name);
    ext.eq_ignore_ascii_case(b".py") || ext.eq_ignore_ascii_case(b".pyw")
}

/// `run_cgi()` up to the fork: `cgi_info` is `(dir, rest)` from [`is_cgi`]. Plans a 404/403
/// error, or the `200 Script output follows` head with a [`PlanBody::Cgi`].
pub fn run_cgi(
    settings: &Settings,
    head: &RequestHead,
    ctx: &RequestContext<'_>,
    cgi_info: (Vec<u8>, Vec<u8>),
) -> Plan {
    let root = &settings.directory;
    let head_request = head.is_head();
    let (mut dir, mut rest) = cgi_info;

    // Walk down while the next component is a directory on disk.
    let mut full = dir.clone();
    full.push(b'/');
    full.extend_from_slice(&rest);
    let mut i = find_from(&full, b'/', dir.len() + 1);
    while let Some(at) = i {
        let next_dir = &full[..at];
        if is_dir(root, next_dir) {
            dir = next_dir.to_vec();
            rest = full[at + 1..].to_vec();
            i = find_from(&full, b'/', dir.len() + 1);
        } else {
            break;
        }
    }

    // The query is what follows the first `?` of the rest; the script is its first component.
    let (rest, query) = match rest.iter().position(|&b| b == b'?') {
        Some(q) => (rest[..q].to_vec(), rest[q + 1..].to_vec()),
        None => (rest, Vec::new()),
    };
    let (script, path_info) = match rest.iter().position(|&b| b == b'/') {
        Some(s) => (&rest[..s], &rest[s..]),
        None => (&rest[..], &b""[..]),
    };
    let mut script_name = dir.clone();
    script_name.push(b'/');
    script_name.extend_from_slice(script);

    // `script_name` is decoded already (by `url_collapse_path`): translating it must not
    // decode it again.
    let script_file = to_fs_path(translate_decoded(root, &script_name));
    let meta = script_file
        .as_deref()
        .and_then(|p| std::fs::metadata(p).ok());
    let (Some(script_file), Some(meta)) = (script_file, meta) else {
        let msg = format!("No such CGI script ({})", repr(&script_name));
        return send_error(settings, 404, Some(&msg), None, head_request, ctx.now);
    };
    // What runs is what the links lead to: it must lie inside a CGI directory.
    let Some(script_file) = confine(settings, &script_file) else {
        let msg = format!("No such CGI script ({})", repr(&script_name));
        return send_error(settings, 404, Some(&msg), None, head_request, ctx.now);
    };
    if !meta.is_file() {
        let msg = format!("CGI script is not a plain file ({})", repr(&script_name));
        return send_error(settings, 403, Some(&msg), None, head_request, ctx.now);
    }
    // CPython on a system with fork requires the execute bit even for Python scripts.
    if rustix::fs::access(&script_file, Access::EXEC_OK).is_err() {
        let msg = format!("CGI script is not executable ({})", repr(&script_name));
        return send_error(settings, 403, Some(&msg), None, head_request, ctx.now);
    }

    let env = build_env(settings, head, ctx, &script_name, path_info, &query);

    // argv: the query, `+` turned into spaces (not percent-decoded), unless it contains `=`.
    let decoded_query: Vec<u8> = query
        .iter()
        .map(|&b| if b == b'+' { b' ' } else { b })
        .collect();
    let mut args: Vec<OsString> = Vec::new();
    let program = if is_python(&script_name) {
        args.push(script_file.clone().into_os_string());
        settings.cgi.python.clone()
    } else {
        script_file.clone()
    };
    if !decoded_query.contains(&b'=') {
        args.push(OsString::from_vec(
            fs_encode_lossy(&decoded_query).into_owned(),
        ));
    }
    let cwd = script_file
        .parent()
        .map_or_else(|| root.clone(), Path::to_path_buf);
    let run_as = if ctx.running_as_root { nobody() } else { None };
    let spec = CgiSpec {
        program,
        args,
        env,
        cwd,
        script: script_file,
        uid: run_as.map(|r| r.uid),
        gid: run_as.map(|r| r.gid),
    };
    Plan {
        head: response_head(
            settings,
            200,
            Some(Bytes::from_static(b"Script output follows")),
            ctx.now,
        ),
        body: PlanBody::Cgi(spec),
        log_messages: Vec::new(),
    }
}

fn find_from(s: &[u8], needle: u8, from: usize) -> Option<usize> {
    s.get(from..)?
        .iter()
        .position(|&b| b == needle)
        .map(|i| from + i)
}

/// Whether a decoded URL path names a directory (CPython's `os.path.isdir` walk).
fn is_dir(root: &Path, url_path: &[u8]) -> bool {
    to_fs_path(translate_decoded(root, url_path)).is_some_and(|p| p.is_dir())
}

/// The script's real path, if it lies inside one of the CGI directories (after resolving
/// every symbolic link), and those directories lie inside the served root unless
/// `follow_symlinks` allows them elsewhere. Anything else must not run: a link in
/// `/cgi-bin` to `/usr/bin/python3`, or a spelling of the URL that climbed out of the CGI
/// directory, would otherwise run any program on the machine with the query as its argument.
fn confine(settings: &Settings, script: &Path) -> Option<PathBuf> {
    let real = std::fs::canonicalize(script).ok()?;
    let root = std::fs::canonicalize(&settings.directory).ok()?;
    let inside = settings.cgi.directories.iter().any(|dir| {
        let Some(dir) = to_fs_path(translate_decoded(&settings.directory, dir.as_bytes())) else {
            return false;
        };
        let Ok(dir) = std::fs::canonicalize(dir) else {
            return false;
        };
        (settings.follow_symlinks || dir.starts_with(&root)) && real.starts_with(&dir)
    });
    inside.then_some(real)
}

/// The environment of the script (see the `env` module for the list and its order).
fn build_env(
    settings: &Settings,
    head: &RequestHead,
    ctx: &RequestContext<'_>,
    script_name: &[u8],
    path_info: &[u8],
    query: &[u8],
) -> Vec<(OsString, OsString)> {
    let mut env = env::Env::from_server(ctx.environ, &settings.cgi.pass_env);
    env.set_bytes("SERVER_SOFTWARE", settings.version_string().into_bytes());
    env.set_bytes("SERVER_NAME", ctx.server_name.as_bytes().to_vec());
    env.set_bytes("GATEWAY_INTERFACE", b"CGI/1.1".to_vec());
    env.set_bytes(
        "SERVER_PROTOCOL",
        settings.protocol_version.as_bytes().to_vec(),
    );
    env.set_bytes("SERVER_PORT", ctx.server_port.to_string().into_bytes());
    env.set_str("REQUEST_METHOD", &latin1(head.method()));
    // `path_info` is decoded already. CPython decodes it once more (so `%2541` reaches the
    // script as `A`); only `--compat` keeps that.
    let (path_info, translated) = if settings.compat {
        let twice = unquote(path_info, Unquote::Replace);
        let translated = translate_path(&settings.directory, &twice);
        (twice, translated)
    } else {
        let translated = translate_decoded(&settings.directory, path_info);
        (path_info.into(), translated)
    };
    env.set_str("PATH_INFO", &path_info);
    env.set_str("PATH_TRANSLATED", &translated);
    env.set_str("SCRIPT_NAME", script_name);
    env.set_str("QUERY_STRING", query);
    env.set_bytes("REMOTE_ADDR", ctx.client.ip().to_string().into_bytes());
    env::add_header_vars(&mut env, head.headers());
    env.into_vars()
}

/// Where a request goes when CGI is enabled.
pub(crate) enum CgiRoute {
    /// A script: CPython's `cgi_info`.
    Script((Vec<u8>, Vec<u8>)),
    /// Not in a CGI directory: ordinary file serving.
    NotCgi,
    /// The path climbs above the root, where CPython raises `IndexError` and drops the
    /// connection. Serving it as a file could disclose a script's source, so it is a 404.
    Refused,
}

pub(crate) fn route(settings: &Settings, path: &[u8]) -> CgiRoute {
    match url_collapse_path(path) {
        None => CgiRoute::Refused,
        Some(collapsed) => match cgi_info(&settings.cgi.directories, &collapsed) {
            Some(info) => CgiRoute::Script(info),
            None => CgiRoute::NotCgi,
        },
    }
}
