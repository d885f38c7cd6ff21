//! The machine's own addresses, for the startup banner's "reachable at" URLs.
//!
//! Read from `/proc/net/fib_trie` (IPv4: the `/32 host LOCAL` routes, one per address the
//! kernel answers for) and `/proc/net/if_inet6` (IPv6), so no `getifaddrs` binding and no
//! new dependency are needed; where `/proc` is missing the list is just shorter. IPv6
//! link-local addresses are left out: a URL needs their zone (`%eth0`), which browsers do
//! not accept.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The local addresses, IPv4 then IPv6, each list sorted with loopback first, without
/// duplicates.
pub fn local_addresses() -> Vec<IpAddr> {
    let read = |path| std::fs::read_to_string(path).unwrap_or_default();
    let mut v4 = parse_fib_trie(&read("/proc/net/fib_trie"));
    let mut v6 = parse_if_inet6(&read("/proc/net/if_inet6"));
    v4.sort_by_key(|a| (!a.is_loopback(), *a));
    v6.sort_by_key(|a| (!a.is_loopback(), *a));
    v4.into_iter()
        .map(IpAddr::V4)
        .chain(v6.into_iter().map(IpAddr::V6))
        .collect()
}

/// The addresses of `/32 host LOCAL` entries: each follows its `|-- a.b.c.d` line.
pub fn parse_fib_trie(text: &str) -> Vec<Ipv4Addr> {
    let mut found = Vec::new();
    let mut last = None;
    for line in text.lines() {
        let line = line.trim();
        if let Some(addr) = line.strip_prefix("|-- ") {
            last = addr.trim().parse::<Ipv4Addr>().ok();
        } else if line.starts_with("/32 host LOCAL")
            && let Some(addr) = last.take()
            && !found.contains(&addr)
        {
            found.push(addr);
        }
    }
    found
}

/// The addresses in `/proc/net/if_inet6` (`<32 hex digits> <index> <prefix> <scope> <flags>
/// <name>`), link-local ones (scope `20`) left out.
pub fn parse_if_inet6(text: &str) -> Vec<Ipv6Addr> {
    let mut found = Vec::new();
    for line in text.lines() {
        let mut fields = line.split_whitespace();
        let (Some(hex), Some(_), Some(_), Some(scope)) =
            (fields.next(), fields.next(), fields.next(), fields.next())
        else {
            continue;
        };
        if scope == "20" || hex.len() != 32 {
            continue;
        }
        let Ok(bits) = u128::from_str_radix(hex, 16) else {
            continue;
        };
        let addr = Ipv6Addr::from(bits);
        if !found.contains(&addr) {
            found.push(addr);
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fib_trie_local_routes() {
        let text = "Main:
  +-- 0.0.0.0/0 3 0 5
     |-- 0.0.0.0
        /0 universe UNICAST
     +-- 127.0.0.0/8 2 0 2
        +-- 127.0.0.0/31 1 0 0
           |-- 127.0.0.0
              /8 host LOCAL
           |-- 127.0.0.1
              /32 host LOCAL
        |-- 127.255.255.255
           /32 link BROADCAST
     +-- 192.0.2.0/24 2 0 2
           |-- 192.0.2.0
              /24 link UNICAST
           |-- 192.0.2.2
              /32 host LOCAL
Local:
           |-- 127.0.0.1
              /32 host LOCAL
";
        assert_eq!(
            parse_fib_trie(text),
            [Ipv4Addr::LOCALHOST, Ipv4Addr::new(192, 0, 2, 2)]
        );
    }

    #[test]
    fn if_inet6_without_link_local() {
        let text = "fd000000000000000000000000000002 04 40 00 82     eth0
00000000000000000000000000000001 01 80 10 80       lo
fe8000000000000000fc00fffe000001 04 40 20 80     eth0
";
        assert_eq!(
            parse_if_inet6(text),
            ["fd00::2".parse::<Ipv6Addr>().unwrap(), Ipv6Addr::LOCALHOST]
        );
    }
}
