//! The authority syntax of RFC 3986 section 3.2.2, as the strict parser needs it: the `Host`
//! field (RFC 9110 section 7.2), the authority-form target of `CONNECT` and the authority of
//! an absolute-form target (RFC 9112 sections 3.2.2 and 3.2.3).
//!
//! A server that routes on a host another component reads differently (a proxy, a cache, a
//! virtual host) is open to cache poisoning and routing confusion, so strict mode refuses any
//! host that is not exactly `uri-host [ ":" port ]`. Only the one value in question is
//! checked, byte by byte against a table; no field of a head pays for it.

use std::net::Ipv6Addr;

/// `uri-host [ ":" port ]`, split and checked: the host and, when a colon is present, the
/// port (digits only, possibly empty, as `port = *DIGIT`). `None` when the value is not one.
///
/// `uri-host = IP-literal / IPv4address / reg-name`: an IPv4 address is also a reg-name, so
/// only the bracketed literal needs its own rule. No userinfo (`user@`): RFC 9110 section
/// 4.2.4 calls it an error in `http` URIs, and `Host` never had it.
pub(crate) fn split_host_port(value: &[u8]) -> Option<(&[u8], Option<&[u8]>)> {
    let (host, rest) = if value.first() == Some(&b'[') {
        let close = memchr::memchr(b']', value)?;
        if !valid_ip_literal(&value[1..close]) {
            return None;
        }
        value.split_at(close + 1)
    } else {
        let end = value
            .iter()
            .position(|&b| !REG_NAME[usize::from(b)])
            .unwrap_or(value.len());
        let host = &value[..end];
        if !valid_percent_escapes(host) {
            return None;
        }
        value.split_at(end)
    };
    match rest.split_first() {
        None => Some((host, None)),
        Some((b':', port)) if port.iter().all(u8::is_ascii_digit) => Some((host, Some(port))),
        Some(_) => None,
    }
}

/// A `Host` field value: `uri-host [ ":" port ]`, the empty value included (RFC 9110 section
/// 7.2: a URI without an authority is sent with an empty `Host`).
pub(crate) fn valid_host(value: &[u8]) -> bool {
    // Every head has a `Host`, almost always a plain name and maybe a port: that case is
    // settled in one pass; escapes, IP literals and anything invalid take the full rule.
    let plain = value
        .iter()
        .position(|&b| !PLAIN_REG_NAME[usize::from(b)])
        .unwrap_or(value.len());
    match value.split_at(plain) {
        (_, []) => true,
        (_, [b':', port @ ..]) if port.iter().all(u8::is_ascii_digit) => true,
        _ => split_host_port(value).is_some(),
    }
}

/// The authority-form of a `CONNECT` target: `uri-host ":" port`, with a host.
pub(crate) fn valid_authority_form(target: &[u8]) -> bool {
    matches!(split_host_port(target), Some((host, Some(_))) if !host.is_empty())
}

/// The absolute-form of a target: `scheme "://" authority` and then a path, query or
/// fragment (`/`, `?`, `#`), with a host in the authority. Targets reach here free of
/// whitespace and control bytes; what follows the authority is the handler's to map.
///
/// Only the hierarchical `scheme://` shape is taken: it is what HTTP URIs look like, and
/// `absolute-URI` without `//` (`a:b`) would make nearly any word a valid target.
pub(crate) fn valid_absolute_form(target: &[u8]) -> bool {
    let Some(colon) = memchr::memchr(b':', target) else {
        return false;
    };
    let (scheme, rest) = (&target[..colon], &target[colon + 1..]);
    let Some((first, others)) = scheme.split_first() else {
        return false;
    };
    let scheme_ok = first.is_ascii_alphabetic()
        && others
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'));
    let Some(rest) = rest.strip_prefix(b"//") else {
        return false;
    };
    let end = memchr::memchr3(b'/', b'?', b'#', rest).unwrap_or(rest.len());
    scheme_ok && matches!(split_host_port(&rest[..end]), Some((host, _)) if !host.is_empty())
}

/// `IPv6address / IPvFuture`, the inside of `[...]`.
fn valid_ip_literal(inside: &[u8]) -> bool {
    match inside.split_first() {
        // IPvFuture = "v" 1*HEXDIG "." 1*( unreserved / sub-delims / ":" )
        Some((b'v' | b'V', rest)) => {
            let digits = rest.iter().take_while(|b| b.is_ascii_hexdigit()).count();
            let Some((b'.', tail)) = rest[digits..].split_first() else {
                return false;
            };
            digits > 0
                && !tail.is_empty()
                && tail
                    .iter()
                    .all(|&b| b == b':' || (b != b'%' && REG_NAME[usize::from(b)]))
        }
        // The standard library's parser takes exactly RFC 4291's text forms (`::`, embedded
        // IPv4 without leading zeros, at most four digits a group) and no zone identifier,
        // which is RFC 3986's `IPv6address`. It is pure parsing, no lookup.
        Some(_) => std::str::from_utf8(inside).is_ok_and(|s| s.parse::<Ipv6Addr>().is_ok()),
        None => false,
    }
}

/// Every `%` starts `pct-encoded`: `"%" HEXDIG HEXDIG`.
fn valid_percent_escapes(host: &[u8]) -> bool {
    let mut rest = host;
    while let Some(i) = memchr::memchr(b'%', rest) {
        match rest.get(i + 1..i + 3) {
            Some([a, b]) if a.is_ascii_hexdigit() && b.is_ascii_hexdigit() => rest = &rest[i + 3..],
            _ => return false,
        }
    }
    true
}

/// [`REG_NAME`] without `%`: a run of these bytes is a `reg-name` as it stands.
const PLAIN_REG_NAME: [bool; 256] = {
    let mut table = REG_NAME;
    table[b'%' as usize] = false;
    table
};

/// The bytes of a `reg-name`: `unreserved / pct-encoded / sub-delims` (the `%` of
/// `pct-encoded` included; its two hex digits are checked apart).
const REG_NAME: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        table[b] = c.is_ascii_alphanumeric()
            || matches!(
                c,
                // unreserved
                b'-' | b'.' | b'_' | b'~'
                // sub-delims
                | b'!' | b'$' | b'&' | b'\'' | b'(' | b')' | b'*' | b'+' | b',' | b';' | b'='
                // pct-encoded
                | b'%'
            );
        b += 1;
    }
    table
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_host_fast_path_agrees_with_the_full_rule() {
        // Every string of up to four bytes over an alphabet of the bytes that matter.
        let alphabet = b"a%:1[].@ fv";
        let mut strings = vec![Vec::new()];
        for _ in 0..4 {
            let longer: Vec<Vec<u8>> = strings
                .iter()
                .filter(|s| s.len() == strings.last().map_or(0, Vec::len))
                .flat_map(|s| alphabet.iter().map(move |&b| [&s[..], &[b]].concat()))
                .collect();
            strings.extend(longer);
        }
        assert_eq!(strings.len(), 1 + 11 + 121 + 1331 + 14641);
        for value in &strings {
            assert_eq!(
                valid_host(value),
                split_host_port(value).is_some(),
                "{:?}",
                String::from_utf8_lossy(value)
            );
        }
    }

    #[test]
    fn valid_hosts() {
        for host in [
            "",
            "h",
            "h:8000",
            "h:",
            ":80",
            "example.com",
            "EXAMPLE.com.",
            "127.0.0.1",
            "127.0.0.1:8000",
            "999.1.1.1",
            "[::1]",
            "[::1]:80",
            "[2001:db8::ff00:42:8329]",
            "[::ffff:192.0.2.1]:443",
            "[1:2:3:4:5:6:7:8]",
            "[v1.x]",
            "[V1f.a:b!]",
            "a%20b",
            "%C3%BC.example",
            "a!$&'()*+,;=b",
            "x-y_z~",
        ] {
            assert!(valid_host(host.as_bytes()), "{host:?} should be valid");
        }
    }

    #[test]
    fn invalid_hosts() {
        for host in [
            "a b",
            " a",
            "a\t",
            "user@host",
            "@host",
            "a, b",
            "host/path",
            "host?x",
            "host#f",
            "host\\x",
            "[::1",
            "::1",
            "[::1]x",
            "[::1]:x",
            "[::g]",
            "[1:2]",
            "[12345::]",
            "[::1%25eth0]",
            "[]",
            "[v1]",
            "[v.x]",
            "[v1.]",
            "[v1.%41]",
            "h:port",
            "h:80a",
            "h:80:80",
            "h:-1",
            "h: 80",
            "a%",
            "a%4",
            "a%zz",
            "a\x00b",
            "a\x7fb",
            "a\rb",
            "\u{fc}.example",
            "a\"b",
            "a<b>",
        ] {
            assert!(!valid_host(host.as_bytes()), "{host:?} should be invalid");
        }
    }

    #[test]
    fn authority_form_needs_a_host_and_a_port() {
        for ok in ["h:443", "[::1]:443", "127.0.0.1:80", "h:"] {
            assert!(valid_authority_form(ok.as_bytes()), "{ok:?}");
        }
        for bad in ["h", ":443", "", "u@h:443", "h:443/x", "[::1]"] {
            assert!(!valid_authority_form(bad.as_bytes()), "{bad:?}");
        }
    }

    #[test]
    fn absolute_form_is_scheme_and_authority() {
        for ok in [
            "http://example.com/a.txt",
            "http://example.com",
            "HTTPS://h:8443/?q",
            "http://[::1]:80/x",
            "http://h?x",
            "http://h#f",
            "coap+tcp://h/",
        ] {
            assert!(valid_absolute_form(ok.as_bytes()), "{ok:?}");
        }
        for bad in [
            "HTTP/1.1",
            "a.txt",
            "http:/x",
            "http:x",
            "urn:isbn:1",
            "http:///x",
            "http://:80/x",
            "http://u@h/x",
            "http://a b/",
            "http://h:x/",
            "1http://h/",
            "ht_tp://h/",
            "://h/",
            "http://[::1/x",
        ] {
            assert!(!valid_absolute_form(bad.as_bytes()), "{bad:?}");
        }
    }
}
