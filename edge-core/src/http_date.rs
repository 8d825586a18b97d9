//! HTTP dates (RFC 9110 §5.6.7): parsing the three formats a recipient must accept —
//! IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`), obsolete RFC 850
//! (`Sunday, 06-Nov-94 08:49:37 GMT`) and asctime (`Sun Nov  6 08:49:37 1994`) — strictly
//! (anything else is invalid), and formatting IMF-fixdate. Seconds since the Unix epoch; the
//! calendar arithmetic is [`cdn_manifest::civil`]'s.

use cdn_manifest::civil::{weekday, DateTime, SECONDS_PER_DAY};

/// Day names, Sunday first (as [`weekday`] counts).
const DAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const LONG_DAYS: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];
const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// Parses an HTTP date; `None` when it is not exactly one of the three formats. Names of days,
/// months and `GMT` match in any case (senders get the case wrong; the value is unambiguous).
pub fn parse(s: &str) -> Option<u64> {
    let s = s.trim_matches(|c| c == ' ' || c == '\t');
    imf_fixdate(s).or_else(|| rfc850(s)).or_else(|| asctime(s))
}

fn day_index(name: &str, names: &[&str]) -> Option<usize> {
    names.iter().position(|d| d.eq_ignore_ascii_case(name))
}

/// Exactly `n` (at most 4) ASCII digits.
fn digits(s: &str, n: usize) -> Option<u32> {
    (s.len() == n && s.bytes().all(|c| c.is_ascii_digit())).then(|| s.parse().ok())?
}

/// `HH:MM:SS` → (hour, minute, second); a leap second (`:60`) is read as `:59`.
fn time_of_day(s: &str) -> Option<(u32, u32, u32)> {
    let mut parts = s.split(':');
    let (h, m, sec) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let (h, m, sec) = (digits(h, 2)?, digits(m, 2)?, digits(sec, 2)?);
    (h < 24 && m < 60 && sec < 61).then_some((h, m, sec.min(59)))
}

fn month(s: &str) -> Option<u32> {
    // Below 12, so it fits.
    day_index(s, &MONTHS).map(|m| m as u32 + 1)
}

/// `Sun, 06 Nov 1994 08:49:37 GMT`
fn imf_fixdate(s: &str) -> Option<u64> {
    let (day, rest) = s.split_once(", ")?;
    day_index(day, &DAYS)?;
    let parts: Vec<&str> = rest.split(' ').collect();
    let [d, mon, y, t, gmt] = parts.as_slice() else {
        return None;
    };
    if !gmt.eq_ignore_ascii_case("GMT") {
        return None;
    }
    epoch(digits(y, 4)?, month(mon)?, digits(d, 2)?, time_of_day(t)?)
}

/// `Sunday, 06-Nov-94 08:49:37 GMT` (two-digit years: RFC 9110 §5.6.7's 50-year rule, taken as
/// 1970–2069).
fn rfc850(s: &str) -> Option<u64> {
    let (day, rest) = s.split_once(", ")?;
    day_index(day, &LONG_DAYS)?;
    let parts: Vec<&str> = rest.split(' ').collect();
    let [date, t, gmt] = parts.as_slice() else {
        return None;
    };
    if !gmt.eq_ignore_ascii_case("GMT") {
        return None;
    }
    let dp: Vec<&str> = date.split('-').collect();
    let [d, mon, y] = dp.as_slice() else {
        return None;
    };
    let y = digits(y, 2)?;
    let year = if y >= 70 { 1900 + y } else { 2000 + y };
    epoch(year, month(mon)?, digits(d, 2)?, time_of_day(t)?)
}

/// `Sun Nov  6 08:49:37 1994`
fn asctime(s: &str) -> Option<u64> {
    let day = s.get(..3)?;
    day_index(day, &DAYS)?;
    let rest = s.get(3..)?.strip_prefix(' ')?;
    let mon = rest.get(..3)?;
    let rest = rest.get(3..)?.strip_prefix(' ')?;
    let d_field = rest.get(..2)?;
    let d = match d_field.as_bytes() {
        [b' ', c] if c.is_ascii_digit() => u32::from(c - b'0'),
        _ => digits(d_field, 2)?,
    };
    let rest = rest.get(2..)?.strip_prefix(' ')?;
    let (t, y) = rest.split_once(' ')?;
    epoch(digits(y, 4)?, month(mon)?, d, time_of_day(t)?)
}

/// Seconds since the epoch of a UTC date and time of day; `None` before 1970 or for a day the
/// month lacks.
fn epoch(year: u32, month: u32, day: u32, (hour, minute, second): (u32, u32, u32)) -> Option<u64> {
    DateTime {
        year: u64::from(year),
        month,
        day,
        hour,
        minute,
        second,
    }
    .to_unix()
}

/// Formats seconds since the epoch as IMF-fixdate.
pub fn format(t: u64) -> String {
    let at = DateTime::from_unix(t);
    // weekday() is below 7 and the month 1–12: both indexes are in range.
    format!(
        "{}, {:02} {} {} {:02}:{:02}:{:02} GMT",
        DAYS[weekday(t / SECONDS_PER_DAY) as usize],
        at.day,
        MONTHS[(at.month - 1) as usize],
        at.year,
        at.hour,
        at.minute,
        at.second
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: u64 = 784_111_777; // Sun, 06 Nov 1994 08:49:37 GMT (RFC 9110's example)

    #[test]
    fn the_rfc_examples_in_all_three_formats() {
        assert_eq!(parse("Sun, 06 Nov 1994 08:49:37 GMT"), Some(T));
        assert_eq!(parse("Sunday, 06-Nov-94 08:49:37 GMT"), Some(T));
        assert_eq!(parse("Sun Nov  6 08:49:37 1994"), Some(T));
        assert_eq!(format(T), "Sun, 06 Nov 1994 08:49:37 GMT");
        assert_eq!(parse(&format(0)), Some(0));
        assert_eq!(format(0), "Thu, 01 Jan 1970 00:00:00 GMT");
    }

    #[test]
    fn wrong_case_is_read_invalid_forms_are_not() {
        assert_eq!(parse("sun, 06 nov 1994 08:49:37 gmt"), Some(T));
        assert_eq!(parse("SUN, 06 NOV 1994 08:49:37 GMT"), Some(T));
        for bad in [
            "0",
            "",
            "Sun, 06 Nov 1994 08:49:37 UTC",
            "Sun, 06 Nov 1994 08:49:37 AEST",
            "Sun, 06 Nov 94 08:49:37 GMT",
            "Sun 06 Nov 1994 08:49:37 GMT",
            "Sun, 06  Nov 1994 08:49:37 GMT",
            "Sun, 06-Nov-1994 08:49:37 GMT",
            "Sun, 06 Nov 1994 08.49.37 GMT",
            "Sun, 06 Nov 1994 8:49:37 GMT",
            "Sun, 31 Feb 1994 08:49:37 GMT",
            "Sun, 06 Nov 1969 08:49:37 GMT",
            "Sun, 06 Nov 1994 24:00:00 GMT",
        ] {
            assert_eq!(parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn leap_years_and_far_futures() {
        assert_eq!(
            format(parse("Thu, 29 Feb 2024 12:00:00 GMT").unwrap()),
            "Thu, 29 Feb 2024 12:00:00 GMT"
        );
        assert_eq!(
            parse("Tue, 29 Feb 2100 00:00:00 GMT"),
            None,
            "2100 is not a leap year"
        );
        let t = parse("Tue, 19 Jan 2038 03:14:08 GMT").unwrap();
        assert_eq!(t, 1 << 31, "past 32 bits");
        assert_eq!(
            format(parse("Fri, 31 Dec 9999 23:59:59 GMT").unwrap()),
            "Fri, 31 Dec 9999 23:59:59 GMT"
        );
    }
}
