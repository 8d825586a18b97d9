//! Deploy dates: RFC 3339 in UTC to the second (`2026-11-27T12:00:00Z`), and the default deploy
//! id made from one (`20261127T120000Z`). The calendar arithmetic is [`cdn_manifest::civil`]'s;
//! this module only writes and reads the text, for every year from 1970 to 9999.

use cdn_manifest::civil::DateTime;

/// Unix seconds → `YYYY-MM-DDTHH:MM:SSZ`.
pub fn format(unix: u64) -> String {
    let t = DateTime::from_unix(unix);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        t.year, t.month, t.day, t.hour, t.minute, t.second
    )
}

/// Unix seconds → `YYYYMMDDTHHMMSSZ` (the default deploy id).
pub fn compact(unix: u64) -> String {
    let t = DateTime::from_unix(unix);
    format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
        t.year, t.month, t.day, t.hour, t.minute, t.second
    )
}

/// `YYYY-MM-DDTHH:MM:SSZ` → Unix seconds; `None` for anything else (other offsets, fractions,
/// out-of-range fields, years before 1970).
pub fn parse(s: &str) -> Option<u64> {
    let b = s.as_bytes();
    if b.len() != 20
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b'T'
        || b[13] != b':'
        || b[16] != b':'
        || b[19] != b'Z'
    {
        return None;
    }
    // At most four digits: fits a u32.
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        let part = &b[r];
        part.iter()
            .all(u8::is_ascii_digit)
            .then(|| part.iter().fold(0u32, |n, c| n * 10 + u32::from(c - b'0')))
    };
    DateTime {
        year: u64::from(num(0..4)?),
        month: num(5..7)?,
        day: num(8..10)?,
        hour: num(11..13)?,
        minute: num(14..16)?,
        second: num(17..19)?,
    }
    .to_unix()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_dates() {
        for (unix, text) in [
            (0, "1970-01-01T00:00:00Z"),
            (951_782_400, "2000-02-29T00:00:00Z"),
            (1_764_244_800, "2025-11-27T12:00:00Z"),
            (4_107_542_399, "2100-02-28T23:59:59Z"),
        ] {
            assert_eq!(format(unix), text);
            assert_eq!(parse(text), Some(unix), "{text}");
        }
        assert_eq!(compact(1_764_244_800), "20251127T120000Z");
    }

    #[test]
    fn round_trips_over_a_range() {
        let mut t = 0u64;
        while t < 5_000_000_000 {
            assert_eq!(parse(&format(t)), Some(t));
            t += 7_777_777;
        }
    }

    #[test]
    fn refuses_anything_else() {
        for bad in [
            "",
            "2026-11-27 12:00:00Z",
            "2026-11-27T12:00:00+01:00",
            "2026-11-27T12:00:00.5Z",
            "2026-13-01T00:00:00Z",
            "2026-02-29T00:00:00Z",
            "2026-04-31T00:00:00Z",
            "2026-01-01T24:00:00Z",
            "1969-12-31T23:59:59Z",
            "2026-1a-01T00:00:00Z",
            "+026-01-01T00:00:00Z",
        ] {
            assert_eq!(parse(bad), None, "{bad}");
        }
    }
}
