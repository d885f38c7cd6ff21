//! `nobody_uid()`: the account CGI scripts run as when the server runs as root.
//!
//! CPython looks up `nobody` with the `pwd` module and falls back to one more than the largest
//! uid. The handler does no system calls for this; it reads `/etc/passwd` once. It also takes
//! the group from the same entry, because dropping only the uid (as CPython does) would leave
//! scripts in group root.

use std::sync::OnceLock;

/// The user and group a CGI script runs as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RunAs {
    /// The user id (`setuid`).
    pub uid: u32,
    /// The group id (`setgid`, before `setuid`).
    pub gid: u32,
}

/// `nobody_uid()`, from `/etc/passwd` (read once and cached). `None` when no passwd file is
/// readable: CPython's `-1`, i.e. do not switch.
pub fn nobody() -> Option<RunAs> {
    static NOBODY: OnceLock<Option<RunAs>> = OnceLock::new();
    *NOBODY.get_or_init(|| {
        std::fs::read("/etc/passwd")
            .ok()
            .and_then(|p| nobody_from_passwd(&p))
    })
}

/// The `nobody` entry of a passwd file, or uid `1 + max(uid)` (gid the same number) when there
/// is none, as CPython does.
pub fn nobody_from_passwd(passwd: &[u8]) -> Option<RunAs> {
    let mut max_uid: Option<u32> = None;
    for line in passwd.split(|&b| b == b'\n') {
        let mut fields = line.split(|&b| b == b':');
        let (Some(name), Some(_pw), Some(uid), Some(gid)) =
            (fields.next(), fields.next(), fields.next(), fields.next())
        else {
            continue;
        };
        let parse = |f: &[u8]| std::str::from_utf8(f).ok()?.parse::<u32>().ok();
        let (Some(uid), Some(gid)) = (parse(uid), parse(gid)) else {
            continue;
        };
        if name == b"nobody" {
            return Some(RunAs { uid, gid });
        }
        max_uid = Some(max_uid.map_or(uid, |m| m.max(uid)));
    }
    let uid = max_uid?.checked_add(1)?;
    Some(RunAs { uid, gid: uid })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_nobody_or_falls_back() {
        let passwd = b"root:x:0:0:root:/root:/bin/bash\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n";
        assert_eq!(
            nobody_from_passwd(passwd),
            Some(RunAs {
                uid: 65534,
                gid: 65534
            })
        );
        let passwd = b"root:x:0:0::/:/bin/sh\nbob:x:1000:100::/:/bin/sh\n# junk\n";
        assert_eq!(
            nobody_from_passwd(passwd),
            Some(RunAs {
                uid: 1001,
                gid: 1001
            })
        );
        assert_eq!(nobody_from_passwd(b""), None);
    }
}
