//! The CGI/1.1 environment CPython's `run_cgi` builds.
//!
//! CPython starts from a copy of the server's whole environment. That hands every script the
//! server's secrets (tokens, `HOME`, a server-side `HTTP_PROXY` a script's HTTP library would
//! then use), so here only an allow-list is copied, as Apache's `mod_cgi` does: `PATH`, `TZ`,
//! `LANG`, `LC_*`, and the names the operator passes with `--cgi-pass-env NAME`
//! ([`CgiSettings::pass_env`](crate::CgiSettings::pass_env)). A request's `Proxy:` header is
//! never exported (httpoxy): only the headers listed below become variables. Then it sets,
//! in this order: `SERVER_SOFTWARE`, `SERVER_NAME`, `GATEWAY_INTERFACE`, `SERVER_PROTOCOL`,
//! `SERVER_PORT`, `REQUEST_METHOD`, `PATH_INFO`, `PATH_TRANSLATED`, `SCRIPT_NAME`,
//! `QUERY_STRING`, `REMOTE_ADDR`, `AUTH_TYPE`/`REMOTE_USER` (Basic auth), `CONTENT_TYPE`,
//! `CONTENT_LENGTH`, `HTTP_REFERER`, `HTTP_ACCEPT`, `HTTP_USER_AGENT`, `HTTP_COOKIE`, then
//! empty defaults. Values are what Python's `os.execve` would pass: strings encoded with
//! `surrogateescape`, header bytes decoded as latin-1 first.
//!
//! One difference from CPython: a request-dependent variable the request does not set is
//! *emptied* (or, for `AUTH_TYPE`/`REMOTE_USER`, removed) rather than left as the server's own
//! environment had it, so a server started with `REMOTE_USER=admin` cannot lend that identity
//! to every request.

use std::ffi::OsString;
use std::os::unix::ffi::{OsStrExt, OsStringExt};

use protocol::Headers;

use crate::pystr::{fs_encode_lossy, push_latin1, split_latin1};

/// An environment under construction, keeping Python's dict order: an existing key keeps its
/// place when it is set again, a new key goes last.
#[derive(Debug, Default)]
pub(crate) struct Env {
    vars: Vec<(OsString, OsString)>,
}

/// Whether the server's variable `name` may reach a script: the allow-list, or one of the
/// names in `pass`.
pub(crate) fn passes(name: &[u8], pass: &[String]) -> bool {
    matches!(name, b"PATH" | b"TZ" | b"LANG")
        || name.starts_with(b"LC_")
        || pass.iter().any(|p| p.as_bytes() == name)
}

impl Env {
    /// The part of the server's environment `base` a script may see (see the module docs).
    pub(crate) fn from_server(base: &[(OsString, OsString)], pass: &[String]) -> Self {
        Self {
            vars: base
                .iter()
                .filter(|(k, _)| passes(k.as_bytes(), pass))
                .cloned()
                .collect(),
        }
    }

    /// `env[key] = value` with `value` already in its final bytes.
    pub(crate) fn set_bytes(&mut self, key: &str, value: Vec<u8>) {
        let value = OsString::from_vec(value);
        if let Some(slot) = self.vars.iter_mut().find(|(k, _)| k == key) {
            slot.1 = value;
        } else {
            self.vars.push((key.into(), value));
        }
    }

    /// `env[key] = value` for a Python string (generalised UTF-8).
    pub(crate) fn set_str(&mut self, key: &str, value: &[u8]) {
        self.set_bytes(key, fs_encode_lossy(value).into_owned());
    }

    /// `env[key] = value` for raw header bytes (latin-1 text).
    pub(crate) fn set_latin1(&mut self, key: &str, raw: &[u8]) {
        let mut v = Vec::with_capacity(raw.len());
        push_latin1(&mut v, raw);
        self.set_bytes(key, v);
    }

    pub(crate) fn remove(&mut self, key: &str) {
        self.vars.retain(|(k, _)| k != key);
    }

    pub(crate) fn into_vars(self) -> Vec<(OsString, OsString)> {
        self.vars
    }
}

/// Adds the variables derived from request headers, from `AUTH_TYPE` to `HTTP_COOKIE`.
pub(crate) fn add_header_vars(env: &mut Env, headers: &Headers) {
    env.remove("AUTH_TYPE");
    env.remove("REMOTE_USER");
    if let Some(auth) = headers.get("authorization").filter(|a| !a.is_empty()) {
        let words: Vec<&[u8]> = split_latin1(auth).collect();
        if let [scheme, credentials] = words.as_slice() {
            env.set_latin1("AUTH_TYPE", scheme);
            if scheme.eq_ignore_ascii_case(b"basic")
                && let Some(user) = basic_user(credentials)
            {
                env.set_bytes("REMOTE_USER", user);
            }
        }
    }
    match headers.get("content-type") {
        Some(ct) => env.set_latin1("CONTENT_TYPE", ct),
        // email.message.Message.get_content_type() of a message without the header.
        None => env.set_bytes("CONTENT_TYPE", b"text/plain".to_vec()),
    }
    set_if_nonempty(env, "CONTENT_LENGTH", headers.get("content-length"));
    set_if_nonempty(env, "HTTP_REFERER", headers.get("referer"));
    let accept = join(headers.get_all("accept"), b",", false);
    env.set_latin1("HTTP_ACCEPT", &accept);
    set_if_nonempty(env, "HTTP_USER_AGENT", headers.get("user-agent"));
    let cookie = join(headers.get_all("cookie"), b", ", true);
    set_if_nonempty(env, "HTTP_COOKIE", Some(&cookie));
    // CPython's closing `setdefault(key, "")` list; QUERY_STRING is always set by then. The
    // server's own values are not allowed to leak through (see the module docs).
    for key in [
        "REMOTE_HOST",
        "CONTENT_LENGTH",
        "HTTP_USER_AGENT",
        "HTTP_COOKIE",
        "HTTP_REFERER",
    ] {
        if !request_sets(key, headers) {
            env.set_bytes(key, Vec::new());
        }
    }
}

/// Whether the request itself provides `key` (so the server's own value was replaced).
fn request_sets(key: &str, headers: &Headers) -> bool {
    let header = match key {
        "CONTENT_LENGTH" => "content-length",
        "HTTP_USER_AGENT" => "user-agent",
        "HTTP_REFERER" => "referer",
        "HTTP_COOKIE" => return headers.get_all("cookie").any(|c| !c.is_empty()),
        _ => return false,
    };
    headers.get(header).is_some_and(|v| !v.is_empty())
}

fn set_if_nonempty(env: &mut Env, key: &str, value: Option<&[u8]>) {
    if let Some(v) = value.filter(|v| !v.is_empty()) {
        env.set_latin1(key, v);
    }
}

fn join<'a>(values: impl Iterator<Item = &'a [u8]>, sep: &[u8], skip_empty: bool) -> Vec<u8> {
    let mut out = Vec::new();
    let mut first = true;
    for v in values {
        if skip_empty && v.is_empty() {
            continue;
        }
        if !first {
            out.extend_from_slice(sep);
        }
        first = false;
        out.extend_from_slice(v);
    }
    out
}

/// The user of `Basic` credentials, decoded as CPython does: ASCII only,
/// `base64.decodebytes` (non-alphabet characters skipped), ASCII result, exactly one `:`.
fn basic_user(credentials: &[u8]) -> Option<Vec<u8>> {
    if !credentials.is_ascii() {
        return None;
    }
    let decoded = a2b_base64_lenient(credentials)?;
    if !decoded.is_ascii() {
        return None;
    }
    let parts: Vec<&[u8]> = decoded.split(|&b| b == b':').collect();
    match parts.as_slice() {
        [user, _password] => Some(user.to_vec()),
        _ => None,
    }
}

/// `binascii.a2b_base64(data, strict_mode=False)`: characters outside the alphabet are skipped,
/// a complete pad sequence ends the input, and a final partial quantum is an error.
fn a2b_base64_lenient(data: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(data.len() * 3 / 4);
    let mut quad_pos = 0u8;
    let mut left: u32 = 0;
    let mut pads = 0u8;
    for &c in data {
        if c == b'=' {
            pads += 1;
            if quad_pos >= 2 && quad_pos + pads >= 4 {
                return Some(out);
            }
            continue;
        }
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => continue,
        };
        pads = 0;
        left = (left << 6) | u32::from(v);
        quad_pos += 1;
        match quad_pos {
            2 => out.push((left >> 4) as u8),
            3 => out.push((left >> 2) as u8),
            4 => {
                out.push(left as u8);
                quad_pos = 0;
                left = 0;
            }
            _ => {}
        }
    }
    (quad_pos == 0).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_allow_list_passes() {
        let base: Vec<(OsString, OsString)> = [
            ("PATH", "/bin"),
            ("HOME", "/root"),
            ("AWS_SECRET_ACCESS_KEY", "x"),
            ("HTTP_PROXY", "http://proxy"),
            ("http_proxy", "http://proxy"),
            ("LC_ALL", "C"),
            ("LANG", "C.UTF-8"),
            ("TZ", "UTC"),
            ("LCX", "no"),
            ("SITE_DB", "db"),
        ]
        .into_iter()
        .map(|(k, v)| (k.into(), v.into()))
        .collect();
        let names = |env: Env| -> Vec<String> {
            env.into_vars()
                .into_iter()
                .map(|(k, _)| k.into_string().unwrap())
                .collect()
        };
        assert_eq!(
            names(Env::from_server(&base, &[])),
            ["PATH", "LC_ALL", "LANG", "TZ"]
        );
        assert_eq!(
            names(Env::from_server(&base, &["SITE_DB".into()])),
            ["PATH", "LC_ALL", "LANG", "TZ", "SITE_DB"]
        );
    }

    #[test]
    fn base64_like_binascii() {
        assert_eq!(a2b_base64_lenient(b"dXNlcjpwYXNz").unwrap(), b"user:pass");
        assert_eq!(
            a2b_base64_lenient(b"dXNl cjpw\nYXNz!").unwrap(),
            b"user:pass"
        );
        assert_eq!(a2b_base64_lenient(b"dQ==").unwrap(), b"u");
        assert_eq!(a2b_base64_lenient(b"dQ==garbage").unwrap(), b"u");
        assert_eq!(a2b_base64_lenient(b"dXM=").unwrap(), b"us");
        assert!(a2b_base64_lenient(b"dQ").is_none());
        assert!(a2b_base64_lenient(b"d").is_none());
        assert_eq!(basic_user(b"dXNlcjpwYXNz").unwrap(), b"user");
        assert!(basic_user(b"dXNlcjpwOmE=").is_none()); // "user:p:a": three parts
    }
}
