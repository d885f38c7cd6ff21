//! Server settings: the class attributes of CPython's handler classes, as one value.
//!
//! CPython configures a handler by subclassing and overriding class attributes
//! (`server_version`, `extensions_map`, `cgi_directories`, ...). Here they are the public fields
//! of [`Settings`], shared by every request of a server (wrap it in an `Arc`).

use std::path::PathBuf;

use crate::beneath::RootCache;

/// CPython's `DEFAULT_ERROR_MESSAGE` (3.14, with the dark-mode style block): a `%`-template with
/// the keys `code`, `message` and `explain`.
pub const DEFAULT_ERROR_MESSAGE: &str = "\
<!DOCTYPE HTML>
<html lang=\"en\">
    <head>
        <meta charset=\"utf-8\">
        <style type=\"text/css\">
            :root {
                color-scheme: light dark;
            }
        </style>
        <title>Error response</title>
    </head>
    <body>
        <h1>Error response</h1>
        <p>Error code: %(code)d</p>
        <p>Message: %(message)s.</p>
        <p>Error code explanation: %(code)s - %(explain)s.</p>
    </body>
</html>
";

/// CPython's `DEFAULT_ERROR_CONTENT_TYPE` (no space after the semicolon, unlike listings).
pub const DEFAULT_ERROR_CONTENT_TYPE: &str = "text/html;charset=utf-8";

/// `SimpleHTTPRequestHandler.server_version` in CPython 3.14.
pub const DEFAULT_SERVER_VERSION: &str = "SimpleHTTP/0.6";

/// The second half of `Server:`. CPython writes `Python/3.14.2`; this is not Python, so it names
/// this implementation and its version instead.
pub const DEFAULT_SYS_VERSION: &str = concat!("Rust/", env!("CARGO_PKG_VERSION"));

/// Everything that decides how requests are answered.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Settings {
    /// The served root (`directory=`; CPython defaults to the working directory).
    pub directory: PathBuf,
    /// First half of the `Server` header (`server_version`).
    pub server_version: String,
    /// Second half of the `Server` header (`sys_version`).
    pub sys_version: String,
    /// The version in status lines (`protocol_version`). The protocol core writes status lines;
    /// this copy is what CGI scripts see as `SERVER_PROTOCOL`, so keep the two equal.
    pub protocol_version: String,
    /// File names tried, in order, when a directory is requested (`index_pages`).
    pub index_pages: Vec<String>,
    /// Extension overrides consulted before the MIME table (`extensions_map`): exact match
    /// first, then lower-cased. Keys include the dot (`.gz`).
    pub extensions_map: Vec<(String, String)>,
    /// Content type when nothing matches (`default_content_type`, CLI `--content-type`).
    pub default_content_type: String,
    /// A charset added as `; charset=NAME` to the type of text files (CLI `--charset`): `text/*`,
    /// `application/javascript`, `application/xml` and `+xml` types (SVG, XHTML, Atom), unless
    /// the type names one already. `None` (the default, as CPython) sends types bare. JSON gets
    /// none: RFC 8259 defines no charset parameter (JSON is UTF-8).
    pub charset: Option<String>,
    /// Headers appended to 200 file and listing responses (3.15's `extra_response_headers`,
    /// CLI `-H`). A header whose name was already sent in that response is skipped.
    pub extra_headers: Vec<(String, String)>,
    /// The error page template (`error_message_format`): `%(code)d`, `%(code)s`,
    /// `%(message)s`, `%(explain)s` and `%%` are substituted.
    pub error_message_format: String,
    /// `Content-Type` of error pages (`error_content_type`).
    pub error_content_type: String,
    /// `CGIHTTPRequestHandler` behaviour.
    pub cgi: CgiSettings,
    /// CPython 3.14's exact bytes where the default mode improves on them (CLI `--compat`):
    /// a CGI script's output passed through after CPython's status line, for example.
    pub compat: bool,
    /// Serve paths whose symbolic links lead outside [`directory`](Self::directory), as
    /// CPython does (CLI `--follow-symlinks`). Off by default: such a path is a 404.
    pub follow_symlinks: bool,
    /// How directories are listed (CLI `--listing`): CPython's page, or the rich one.
    pub listing: ListingStyle,
    /// How access lines are written (CLI `--log-format`).
    pub log_format: LogFormat,
    /// No access lines (CLI `--quiet`); error lines (`code 404, message File not found`, CGI
    /// failures) are still written.
    pub quiet: bool,
    /// Serve `file.br` or `file.gz` beside `file` to clients that accept the coding (CLI
    /// `--precompressed`; not with [`compat`](Self::compat)). Every response for a file with
    /// such a sibling says `Vary: Accept-Encoding`.
    pub precompressed: bool,
    /// Compress files of text-like types on the fly with gzip or brotli (CLI `--compress`;
    /// not with [`compat`](Self::compat)), between 1 KiB and 4 MiB, never for a `Range`
    /// request. See the `encoding` module.
    pub compress: bool,
    /// Show an upload form (a multipart `POST` to the listed directory) in the rich listing:
    /// set when an upload handler runs beside the files (CLI `--upload`).
    pub upload_form: bool,
    /// The root's descriptor, opened on the first request (see the `beneath` module). Not a
    /// setting: it compares equal and is not cloned.
    pub(crate) root_cache: RootCache,
}

/// How a directory without an index page is listed.
///
/// Whatever the style, `?format=json` gives the entries as JSON (not in `--compat`), and
/// `--compat` always gets CPython's page.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum ListingStyle {
    /// CPython's page, byte for byte.
    #[default]
    Python,
    /// A table with sizes, modification times (UTC), sort links (`?sort=name|size|date`,
    /// `&order=asc|desc`), a parent link, a breadcrumb path and a dark theme, directories
    /// first, no JavaScript. `Accept: application/json` (preferred over `text/html`) gets the
    /// JSON listing, and every listing says `Vary: Accept`.
    Rich,
}

/// How access lines are written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum LogFormat {
    /// CPython's `log_request` line: `127.0.0.1 - - [06/Dec/2026 01:02:03] "GET / HTTP/1.1" 200 -`.
    #[default]
    Python,
    /// The Combined Log Format of nginx and Apache:
    /// `127.0.0.1 - - [06/Dec/2026:01:02:03 +0000] "GET / HTTP/1.1" 200 512 "referer" "agent"`,
    /// with the body size (`-` when not known in advance: CGI output) and, as nginx does,
    /// `"`, `\` and bytes outside printable ASCII written `\xHH`.
    Combined,
}

/// The CGI part of the settings (`CGIHTTPRequestHandler`, CLI `--cgi`).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct CgiSettings {
    /// Whether CGI scripts run at all (CPython: choosing `CGIHTTPRequestHandler`).
    pub enabled: bool,
    /// URL directories holding scripts (`cgi_directories`), each starting with `/` and without
    /// a trailing slash; nested ones such as `/sub/dir/cgi-bin` work.
    pub directories: Vec<String>,
    /// The interpreter that runs `.py`/`.pyw` scripts.
    pub python: PathBuf,
    /// Names of server environment variables passed to scripts beside the allow-list
    /// (`PATH`, `TZ`, `LANG`, `LC_*`); CLI `--cgi-pass-env NAME`.
    pub pass_env: Vec<String>,
}

impl Default for CgiSettings {
    fn default() -> Self {
        Self {
            enabled: false,
            directories: vec!["/cgi-bin".into(), "/htbin".into()],
            python: PathBuf::from("python3"),
            pass_env: Vec::new(),
        }
    }
}

impl Settings {
    /// CPython 3.14's defaults, serving `directory`.
    pub fn new(directory: impl Into<PathBuf>) -> Self {
        Self {
            directory: directory.into(),
            server_version: DEFAULT_SERVER_VERSION.into(),
            sys_version: DEFAULT_SYS_VERSION.into(),
            protocol_version: "HTTP/1.0".into(),
            index_pages: vec!["index.html".into(), "index.htm".into()],
            extensions_map: [
                (".gz", "application/gzip"),
                (".Z", "application/octet-stream"),
                (".bz2", "application/x-bzip2"),
                (".xz", "application/x-xz"),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect(),
            default_content_type: "application/octet-stream".into(),
            charset: None,
            extra_headers: Vec::new(),
            error_message_format: DEFAULT_ERROR_MESSAGE.into(),
            error_content_type: DEFAULT_ERROR_CONTENT_TYPE.into(),
            cgi: CgiSettings::default(),
            compat: false,
            follow_symlinks: false,
            listing: ListingStyle::Python,
            log_format: LogFormat::Python,
            quiet: false,
            precompressed: false,
            compress: false,
            upload_form: false,
            root_cache: RootCache::default(),
        }
    }

    /// `version_string()`: `server_version + " " + sys_version`, the `Server` header value.
    pub fn version_string(&self) -> String {
        let mut s = String::with_capacity(self.server_version.len() + self.sys_version.len() + 1);
        s.push_str(&self.server_version);
        s.push(' ');
        s.push_str(&self.sys_version);
        s
    }
}
