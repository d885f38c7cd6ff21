//! What a server knows about itself, gathered once at start for [`serve::Facts`].

use std::net::SocketAddr;

/// The facts for a server bound to `local`: its name, its environment, whether it is root.
pub fn gather(local: SocketAddr) -> serve::Facts {
    let mut facts = serve::Facts::new(local, server_name(local));
    facts.environ = std::env::vars_os().collect();
    facts.running_as_root = rustix::process::geteuid().is_root();
    facts
}

/// The name CGI scripts see as `SERVER_NAME`. CPython calls `getfqdn`, a blocking reverse
/// lookup that can stall startup for seconds; the bound address is what a client used anyway.
fn server_name(local: SocketAddr) -> String {
    if local.ip().is_unspecified() {
        rustix::system::uname()
            .nodename()
            .to_string_lossy()
            .into_owned()
    } else {
        local.ip().to_string()
    }
}
