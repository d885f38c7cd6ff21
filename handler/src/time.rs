//! Dates as CPython writes them: `date_time_string` (RFC 1123, GMT) and
//! `log_date_time_string` (local time, `DD/Mon/YYYY HH:MM:SS`).
//!
//! The UTC calendar arithmetic is done here rather than with `httpdate`, because file times can
//! lie before 1970 (or far in the future) and `httpdate` panics on those; Python formats them.

use std::fmt::Write as _;
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;

const WEEKDAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// Whole seconds since the epoch, rounded down (as `time.gmtime` does), saturating.
pub(crate) fn unix_seconds(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(e) => {
            let d = e.duration();
            let s = i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
            if d.subsec_nanos() > 0 {
                s.saturating_neg().saturating_sub(1)
            } else {
                s.saturating_neg()
            }
        }
    }
}

/// A broken-down UTC time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Civil {
    pub(crate) year: i64,
    pub(crate) month: u32,
    pub(crate) day: u32,
    pub(crate) hour: u32,
    pub(crate) minute: u32,
    pub(crate) second: u32,
    /// 0 = Monday.
    pub(crate) weekday: u32,
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
pub(crate) fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The UTC calendar fields of `secs` since the epoch.
#[expect(
    clippy::cast_sign_loss,
    reason = "every cast is of a value already reduced to its small non-negative range"
)]
pub(crate) fn civil_from_unix(secs: i64) -> Civil {
    // Clamp to about +-292 billion years' worth of days so the arithmetic cannot overflow.
    let days = secs.div_euclid(86_400).clamp(-(1 << 40), 1 << 40);
    let rem = secs.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    Civil {
        year,
        month,
        day,
        hour: (rem / 3600) as u32,
        minute: (rem / 60 % 60) as u32,
        second: (rem % 60) as u32,
        // 1970-01-01 was a Thursday (3).
        weekday: (days + 3).rem_euclid(7) as u32,
    }
}

/// `date_time_string(timestamp)`: `Sun, 06 Nov 1994 08:49:37 GMT`, as
/// `email.utils.formatdate(usegmt=True)` writes it.
pub fn date_time_string(t: SystemTime) -> String {
    String::from_utf8_lossy(&date_header(t)).into_owned()
}

/// The `Date` field value for `now`: formatted once per second per thread, then shared.
pub(crate) fn date_header(now: SystemTime) -> Bytes {
    let secs = unix_seconds(now);
    LAST.with(|last| last.date.get_or(secs, || format_date_time(secs)))
}

/// An HTTP date for a time other than now (a file's `Last-Modified`): not kept, so it
/// never pushes the current second's `Date` out of its cache.
pub(crate) fn http_date(t: SystemTime) -> Bytes {
    Bytes::from(format_date_time(unix_seconds(t)))
}

thread_local! {
    /// The last `Date` and log time this thread formatted.
    static LAST: Last = const {
        Last {
            date: PerSecond::new(),
            log: PerSecond::new(),
        }
    };
}

struct Last {
    date: PerSecond,
    log: PerSecond,
}

/// The text for one second, kept per thread: a server writes the same `Date` and log time
/// for every request of a second, and formatting it (and, for local time, asking for the zone)
/// costs more than sharing it.
struct PerSecond {
    cell: std::cell::RefCell<Option<(i64, Bytes)>>,
}

impl PerSecond {
    const fn new() -> Self {
        Self {
            cell: std::cell::RefCell::new(None),
        }
    }

    fn get_or(&self, secs: i64, make: impl FnOnce() -> String) -> Bytes {
        let mut cell = self.cell.borrow_mut();
        match &*cell {
            Some((at, text)) if *at == secs => text.clone(),
            _ => {
                let text = Bytes::from(make());
                *cell = Some((secs, text.clone()));
                text
            }
        }
    }
}

fn format_date_time(secs: i64) -> String {
    let c = civil_from_unix(secs);
    let mut s = String::with_capacity(29);
    let _ = write!(
        s,
        "{}, {:02} {} {:04} {:02}:{:02}:{:02} GMT",
        WEEKDAYS[c.weekday as usize % 7],
        c.day,
        MONTHS[(c.month as usize + 11) % 12],
        c.year,
        c.hour,
        c.minute,
        c.second
    );
    s
}

/// `log_date_time_string()`: the **local** time of `t` as `DD/Mon/YYYY HH:MM:SS` (no zone), as
/// CPython's access log writes it. The zone comes from `TZ` or the system's zone database; if
/// it cannot be determined, UTC is used.
pub fn log_date_time_string(t: SystemTime) -> String {
    let mut s = String::with_capacity(20);
    push_log_date_time(&mut s, t);
    s
}

/// Appends [`log_date_time_string`] of `t` (formatted once per second per thread).
pub(crate) fn push_log_date_time(out: &mut String, t: SystemTime) {
    let secs = unix_seconds(t);
    let text = LAST.with(|last| last.log.get_or(secs, || format_log_date_time(secs)));
    // Made from a `String`: always UTF-8.
    out.push_str(std::str::from_utf8(&text).unwrap_or_default());
}

fn format_log_date_time(secs: i64) -> String {
    let local = jiff::Timestamp::from_second(secs).ok().map(|ts| {
        let tz = jiff::tz::TimeZone::try_system().unwrap_or(jiff::tz::TimeZone::UTC);
        let offset = tz.to_offset(ts);
        secs.saturating_add(i64::from(offset.seconds()))
    });
    let c = civil_from_unix(local.unwrap_or(secs));
    let mut s = String::with_capacity(20);
    let _ = write!(
        s,
        "{:02}/{}/{:04} {:02}:{:02}:{:02}",
        c.day,
        MONTHS[(c.month as usize + 11) % 12],
        c.year,
        c.hour,
        c.minute,
        c.second
    );
    s
}

/// The local time of `t` as the Common and Combined Log Formats write it (nginx's
/// `$time_local`): `10/Oct/2000:13:55:36 -0700`. The zone is found as for
/// [`log_date_time_string`].
pub fn common_log_time(t: SystemTime) -> String {
    let secs = unix_seconds(t);
    let offset = jiff::Timestamp::from_second(secs).ok().map_or(0, |ts| {
        let tz = jiff::tz::TimeZone::try_system().unwrap_or(jiff::tz::TimeZone::UTC);
        tz.to_offset(ts).seconds()
    });
    let c = civil_from_unix(secs.saturating_add(i64::from(offset)));
    let sign = if offset < 0 { '-' } else { '+' };
    let minutes = offset.unsigned_abs() / 60;
    let mut s = String::with_capacity(26);
    let _ = write!(
        s,
        "{:02}/{}/{:04}:{:02}:{:02}:{:02} {sign}{:02}{:02}",
        c.day,
        MONTHS[(c.month as usize + 11) % 12],
        c.year,
        c.hour,
        c.minute,
        c.second,
        minutes / 60,
        minutes % 60
    );
    s
}

#[cfg(test)]
mod tests {

    #[test]
    fn the_per_second_cache_never_answers_for_another_second() {
        use std::time::{Duration, UNIX_EPOCH};
        let a = UNIX_EPOCH + Duration::from_secs(1_000_000_000);
        let b = a + Duration::from_secs(1);
        for _ in 0..3 {
            assert_eq!(date_time_string(a), "Sun, 09 Sep 2001 01:46:40 GMT");
            assert_eq!(date_time_string(b), "Sun, 09 Sep 2001 01:46:41 GMT");
            assert_eq!(
                date_time_string(a + Duration::from_millis(999)),
                "Sun, 09 Sep 2001 01:46:40 GMT"
            );
        }
        assert_ne!(log_date_time_string(a), log_date_time_string(b));
    }
    use super::*;
    use std::time::Duration;

    fn at(secs: i64) -> SystemTime {
        if secs >= 0 {
            UNIX_EPOCH + Duration::from_secs(secs.unsigned_abs())
        } else {
            UNIX_EPOCH - Duration::from_secs(secs.unsigned_abs())
        }
    }

    #[test]
    fn rfc1123_like_formatdate() {
        assert_eq!(
            date_time_string(at(784_111_777)),
            "Sun, 06 Nov 1994 08:49:37 GMT"
        );
        assert_eq!(date_time_string(at(0)), "Thu, 01 Jan 1970 00:00:00 GMT");
        assert_eq!(date_time_string(at(-1)), "Wed, 31 Dec 1969 23:59:59 GMT");
        assert_eq!(
            date_time_string(at(951_782_400)),
            "Tue, 29 Feb 2000 00:00:00 GMT"
        );
        // Before the epoch, a fractional second rounds down like time.gmtime.
        assert_eq!(
            date_time_string(UNIX_EPOCH - Duration::from_millis(500)),
            "Wed, 31 Dec 1969 23:59:59 GMT"
        );
    }

    #[test]
    fn civil_round_trip() {
        for secs in [-86_400 * 800_000, -1, 0, 1, 1_700_000_000, 253_402_300_799] {
            let c = civil_from_unix(secs);
            let back = days_from_civil(c.year, c.month, c.day) * 86_400
                + i64::from(c.hour * 3600 + c.minute * 60 + c.second);
            assert_eq!(back, secs);
        }
        // Extreme inputs do not panic.
        if let Some(far) = UNIX_EPOCH.checked_add(Duration::from_secs(1 << 60)) {
            let _ = date_time_string(far);
            let _ = log_date_time_string(far);
        }
    }

    #[test]
    fn log_date_shape() {
        let s = log_date_time_string(at(784_111_777));
        assert_eq!(s.len(), 20);
        assert_eq!(&s[2..3], "/");
        assert_eq!(&s[6..12], "/1994 ");
    }
}
