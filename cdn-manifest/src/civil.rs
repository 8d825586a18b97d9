//! Civil-date arithmetic in UTC: the proleptic Gregorian calendar counted in days and seconds
//! since the Unix epoch (1970-01-01T00:00:00Z), with no time zones and no leap seconds.
//!
//! Shared by the builder (deploy dates), the edge (HTTP dates, cron schedules, the status page)
//! so that the calendar is written once. Only the arithmetic lives here: each caller keeps its
//! own text format. Conversions follow Howard Hinnant's `days_from_civil` / `civil_from_days`
//! ("chrono-Compatible Low-Level Date Algorithms"), in unsigned arithmetic since no date before
//! the epoch can be expressed.
//!
//! Range: every date from 1970-01-01 on. [`civil_from_days`] and [`DateTime::from_unix`] are
//! total (any `u64`, years far past 9999); [`days_from_civil`] and [`DateTime::to_unix`] refuse
//! invalid dates, dates before 1970 and results that would not fit in a `u64`. Callers that
//! print four-digit years stop at [`LAST_FOUR_DIGIT_SECOND`] (9999-12-31T23:59:59Z).

/// Seconds in a day (Unix time has no leap seconds).
pub const SECONDS_PER_DAY: u64 = 86_400;

/// 9999-12-31T23:59:59Z in Unix seconds: the last instant a four-digit year can show.
pub const LAST_FOUR_DIGIT_SECOND: u64 = 253_402_300_799;

/// Days in 400 Gregorian years: the calendar (weekdays included) repeats with this period.
pub const DAYS_PER_ERA: u64 = 146_097;

/// Days from 0000-03-01 (the start of Hinnant's era 0) to 1970-01-01.
const EPOCH_SHIFT: u64 = 719_468;

/// Whether `year` has a 29th of February: divisible by 4, except centuries not divisible by 400.
pub fn is_leap_year(year: u64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

/// The number of days of `month` (1–12) in `year`; `None` for a month outside 1–12.
pub fn days_in_month(year: u64, month: u32) -> Option<u32> {
    match month {
        2 if is_leap_year(year) => Some(29),
        2 => Some(28),
        4 | 6 | 9 | 11 => Some(30),
        1 | 3 | 5 | 7 | 8 | 10 | 12 => Some(31),
        _ => None,
    }
}

/// Days from 1970-01-01 to `year`-`month`-`day`; `None` when that is not a date (month outside
/// 1–12, day 0 or past the month's end), is before 1970, or is too far for a `u64`.
pub fn days_from_civil(year: u64, month: u32, day: u32) -> Option<u64> {
    if year < 1970 || day == 0 || day > days_in_month(year, month)? {
        return None;
    }
    // Years start on 1 March, so that the leap day is the last day of its year.
    let y = if month <= 2 { year - 1 } else { year };
    let era = y / 400;
    let yoe = y % 400;
    let mp = u64::from((month + 9) % 12);
    let doy = (153 * mp + 2) / 5 + u64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era.checked_mul(DAYS_PER_ERA)?
        .checked_add(doe)?
        .checked_sub(EPOCH_SHIFT)
}

/// The date (year, month 1–12, day 1–31) of a day counted from 1970-01-01; the inverse of
/// [`days_from_civil`]. Total: every `u64` is a day of some year.
pub fn civil_from_days(days: u64) -> (u64, u32, u32) {
    // `days + EPOCH_SHIFT`, split into whole eras and a day of the era without overflowing.
    let shifted = days % DAYS_PER_ERA + EPOCH_SHIFT;
    let era = days / DAYS_PER_ERA + shifted / DAYS_PER_ERA;
    let doe = shifted % DAYS_PER_ERA;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    // Both fit in u32: day 1–31, month 1–12.
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (era * 400 + yoe + u64::from(month <= 2), month, day)
}

/// The day of the week of a day counted from 1970-01-01 (a Thursday): 0 is Sunday, 6 Saturday.
pub fn weekday(days: u64) -> u32 {
    // Below 7, so it fits.
    ((days % 7 + 4) % 7) as u32
}

/// A UTC date and time of day to the second: the fields of a Unix time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DateTime {
    /// The year, 1970 or later.
    pub year: u64,
    /// The month, 1–12.
    pub month: u32,
    /// The day of the month, 1–31.
    pub day: u32,
    /// The hour, 0–23.
    pub hour: u32,
    /// The minute, 0–59.
    pub minute: u32,
    /// The second, 0–59 (no leap seconds).
    pub second: u32,
}

impl DateTime {
    /// The date and time of `unix` seconds since the epoch. Total.
    pub fn from_unix(unix: u64) -> Self {
        let (year, month, day) = civil_from_days(unix / SECONDS_PER_DAY);
        // Below 86,400, so every part fits.
        let secs = (unix % SECONDS_PER_DAY) as u32;
        DateTime {
            year,
            month,
            day,
            hour: secs / 3_600,
            minute: secs % 3_600 / 60,
            second: secs % 60,
        }
    }

    /// Seconds since the epoch; `None` when a field is out of range (see [`days_from_civil`] for
    /// the date; hour past 23, minute or second past 59) or the result does not fit a `u64`.
    pub fn to_unix(&self) -> Option<u64> {
        if self.hour > 23 || self.minute > 59 || self.second > 59 {
            return None;
        }
        let secs = u64::from(self.hour * 3_600 + self.minute * 60 + self.second);
        days_from_civil(self.year, self.month, self.day)?
            .checked_mul(SECONDS_PER_DAY)?
            .checked_add(secs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dt(year: u64, month: u32, day: u32, hour: u32, minute: u32, second: u32) -> DateTime {
        DateTime {
            year,
            month,
            day,
            hour,
            minute,
            second,
        }
    }

    #[test]
    fn known_dates_both_ways() {
        // (days since the epoch, date, weekday with Sunday 0)
        for (days, date, wd) in [
            (0, (1970, 1, 1), 4),
            (59, (1970, 3, 1), 0),
            (11_016, (2000, 2, 29), 2),
            (11_017, (2000, 3, 1), 3),
            (19_782, (2024, 2, 29), 4),
            (47_540, (2100, 2, 28), 0),
            (47_541, (2100, 3, 1), 1),
            (49_001, (2104, 2, 29), 5),
            (2_932_896, (9999, 12, 31), 5),
            (2_932_897, (10_000, 1, 1), 6),
        ] {
            assert_eq!(civil_from_days(days), date, "day {days}");
            assert_eq!(
                days_from_civil(date.0, date.1, date.2),
                Some(days),
                "{date:?}"
            );
            assert_eq!(weekday(days), wd, "{date:?}");
        }
    }

    #[test]
    fn leap_years() {
        for (year, leap) in [
            (1970, false),
            (1972, true),
            (2000, true),
            (2024, true),
            (2026, false),
            (2100, false),
            (2400, true),
        ] {
            assert_eq!(is_leap_year(year), leap, "{year}");
            assert_eq!(days_in_month(year, 2), Some(if leap { 29 } else { 28 }));
        }
        let lengths: Vec<_> = (1..=12).filter_map(|m| days_in_month(2026, m)).collect();
        assert_eq!(lengths, [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]);
    }

    #[test]
    fn date_times_both_ways() {
        for (unix, fields) in [
            (0, dt(1970, 1, 1, 0, 0, 0)),
            (784_111_777, dt(1994, 11, 6, 8, 49, 37)),
            (951_782_400, dt(2000, 2, 29, 0, 0, 0)),
            (1 << 31, dt(2038, 1, 19, 3, 14, 8)),
            (4_107_542_399, dt(2100, 2, 28, 23, 59, 59)),
            (LAST_FOUR_DIGIT_SECOND, dt(9999, 12, 31, 23, 59, 59)),
            (LAST_FOUR_DIGIT_SECOND + 1, dt(10_000, 1, 1, 0, 0, 0)),
        ] {
            assert_eq!(DateTime::from_unix(unix), fields, "{unix}");
            assert_eq!(fields.to_unix(), Some(unix), "{fields:?}");
        }
    }

    #[test]
    fn round_trips_over_a_range_of_days() {
        for days in (0..3_000_000).step_by(7).chain(0..1_000) {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), Some(days), "{y}-{m}-{d}");
        }
        let mut t = 0u64;
        while t < 300_000_000_000 {
            assert_eq!(DateTime::from_unix(t).to_unix(), Some(t));
            t += 77_777_777;
        }
    }

    #[test]
    fn consecutive_days_are_consecutive_dates() {
        let mut prev = civil_from_days(0);
        for days in 1..200_000 {
            let (y, m, d) = civil_from_days(days);
            let next_of_prev = match days_in_month(prev.0, prev.1) {
                Some(len) if prev.2 < len => (prev.0, prev.1, prev.2 + 1),
                _ if prev.1 < 12 => (prev.0, prev.1 + 1, 1),
                _ => (prev.0 + 1, 1, 1),
            };
            assert_eq!((y, m, d), next_of_prev, "day {days}");
            prev = (y, m, d);
        }
    }

    #[test]
    fn the_extremes_do_not_overflow() {
        let (y, m, d) = civil_from_days(u64::MAX);
        assert!(y > 5_000_000_000_000_000 && (1..=12).contains(&m) && (1..=31).contains(&d));
        let t = DateTime::from_unix(u64::MAX);
        assert_eq!(t.to_unix(), Some(u64::MAX));
        assert_eq!(days_from_civil(u64::MAX, 12, 31), None, "past u64 days");
        assert_eq!(dt(u64::MAX / 400, 1, 1, 0, 0, 0).to_unix(), None);
    }

    #[test]
    fn invalid_dates_are_refused() {
        for (y, m, d) in [
            (1969, 12, 31),
            (0, 1, 1),
            (2026, 0, 1),
            (2026, 13, 1),
            (2026, 1, 0),
            (2026, 1, 32),
            (2026, 2, 29),
            (2100, 2, 29),
            (2026, 4, 31),
            (2026, 6, 31),
            (2026, 9, 31),
            (2026, 11, 31),
        ] {
            assert_eq!(days_from_civil(y, m, d), None, "{y}-{m}-{d}");
            assert_eq!(dt(y, m, d, 0, 0, 0).to_unix(), None, "{y}-{m}-{d}");
        }
        assert_eq!(days_in_month(2026, 0), None);
        assert_eq!(days_in_month(2026, 13), None);
        for bad in [
            dt(2026, 1, 1, 24, 0, 0),
            dt(2026, 1, 1, 0, 60, 0),
            dt(2026, 1, 1, 0, 0, 60),
        ] {
            assert_eq!(bad.to_unix(), None, "{bad:?}");
        }
    }
}
