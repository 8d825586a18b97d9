//! Schedules: five-field cron in UTC, and a fixed interval for development and tests.
//!
//! # Accepted syntax
//!
//! **Cron**: five fields separated by spaces or tabs, read in UTC (no time zones, no daylight
//! saving time: every day has 1,440 minutes), firing at second 0 of each matching minute:
//!
//! | field | values | names |
//! | --- | --- | --- |
//! | minute | 0–59 | |
//! | hour | 0–23 | |
//! | day of month | 1–31 | |
//! | month | 1–12 | `jan`–`dec`, any case |
//! | day of week | 0–7 (0 and 7 are Sunday) | `sun`–`sat`, any case |
//!
//! Each field is a comma-separated list of items; an item is `*` (every value), a value (`5`,
//! `mon`), a range `a-b` (`1-5`, `mon-fri`; `a` ≤ `b`, no wrap-around: write `fri-sun` as
//! `5-7` or `fri,sat,sun`), or `*` or a range followed by a step `/n` (`*/15`, `8-18/2`: every
//! n-th value from the start of the range; 1 ≤ n ≤ the field's size). `a/n` alone is refused
//! (cron implementations disagree on it): write `a-59/n`. The macros `@hourly`, `@daily` (=
//! `@midnight`), `@weekly`, `@monthly` and `@yearly` (= `@annually`) stand for their five-field
//! forms.
//!
//! Day of month and day of week combine as in Vixie cron and cronie: when both fields are
//! restricted — neither starts with `*` — a day matches if **either** matches (`0 0 1 * mon`
//! fires on the 1st and on every Monday); otherwise a day must match both (`0 0 */2 * mon`: odd
//! days that are Mondays).
//!
//! **Interval**: `every <N>s`, `every <N>m` or `every <N>h` (`every 5s`, `every 30s`, `every 2m`;
//! any case), N a positive integer, 1 s to 24 h in all. It fires at every multiple of the interval
//! since the Unix epoch, so its instants do not depend on when the coordinator started: the run
//! keys (`job@instant`) stay the same across restarts.

use std::fmt;

use cdn_manifest::civil::{civil_from_days, days_from_civil, weekday, DAYS_PER_ERA};

/// A parsed schedule: when a job is due.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Schedule {
    /// A five-field cron expression in UTC.
    Cron(Cron),
    /// Every `seconds` seconds, at multiples of `seconds` since the Unix epoch.
    Every {
        /// The interval, 1–86,400.
        seconds: u64,
    },
}

/// A parsed five-field cron expression (see the module documentation for the syntax).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cron {
    /// The expression as written (fields separated by one space, a macro in lower case).
    expr: String,
    /// Bit `m` set: minute `m` matches.
    minutes: u64,
    /// Bit `h` set: hour `h` matches.
    hours: u32,
    /// Bit `d` set (1–31): day of month `d` matches.
    days: u32,
    /// Bit `m` set (1–12): month `m` matches.
    months: u16,
    /// Bit `w` set (0–6, Sunday 0): day of week `w` matches.
    weekdays: u8,
    /// Whether both day fields are restricted (neither starts with `*`): then either may match.
    either_day: bool,
}

/// The longest interval of `every …` and `every_s`: a day.
pub const MAX_EVERY_S: u64 = 86_400;

const MONTHS: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];
const WEEKDAYS: [&str; 7] = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

/// One of the five fields: its name, its values and the names that stand for them.
struct Field {
    name: &'static str,
    lo: u32,
    hi: u32,
    names: &'static [&'static str],
    /// The value of `names[0]`.
    names_from: u32,
}

const FIELDS: [Field; 5] = [
    Field {
        name: "minute",
        lo: 0,
        hi: 59,
        names: &[],
        names_from: 0,
    },
    Field {
        name: "hour",
        lo: 0,
        hi: 23,
        names: &[],
        names_from: 0,
    },
    Field {
        name: "day-of-month",
        lo: 1,
        hi: 31,
        names: &[],
        names_from: 0,
    },
    Field {
        name: "month",
        lo: 1,
        hi: 12,
        names: &MONTHS,
        names_from: 1,
    },
    // 7 is Sunday too: folded into bit 0 after parsing.
    Field {
        name: "day-of-week",
        lo: 0,
        hi: 7,
        names: &WEEKDAYS,
        names_from: 0,
    },
];

impl Schedule {
    /// Parses a cron expression, a cron macro or an `every …` interval. The error says which
    /// field or item is wrong and what is expected.
    pub fn parse(text: &str) -> Result<Schedule, String> {
        let text = text.trim();
        let words: Vec<&str> = text.split_ascii_whitespace().collect();
        match words.as_slice() {
            [] => Err("empty schedule: expected five cron fields (minute hour day-of-month month day-of-week) or `every <N>s`".into()),
            [first, ..] if first.eq_ignore_ascii_case("every") => parse_every(&words),
            [one] if one.starts_with('@') => {
                let expr = match one.to_ascii_lowercase().as_str() {
                    "@yearly" | "@annually" => "0 0 1 1 *",
                    "@monthly" => "0 0 1 * *",
                    "@weekly" => "0 0 * * 0",
                    "@daily" | "@midnight" => "0 0 * * *",
                    "@hourly" => "0 * * * *",
                    _ => {
                        return Err(format!(
                            "unknown macro `{one}`: expected @hourly, @daily, @midnight, @weekly, @monthly, @yearly or @annually"
                        ))
                    }
                };
                let mut cron = Cron::parse_fields(&expr.split(' ').collect::<Vec<_>>())?;
                cron.expr = one.to_ascii_lowercase();
                Ok(Schedule::Cron(cron))
            }
            fields => Cron::parse_fields(fields).map(Schedule::Cron),
        }
    }

    /// The first instant this schedule fires strictly after `t_s` (Unix seconds, UTC), or `None`
    /// when it never fires again (`0 0 31 2 *`) or the instant would not fit in a `u64`.
    pub fn next_after(&self, t_s: u64) -> Option<u64> {
        match self {
            Schedule::Every { seconds: 0 } => None,
            Schedule::Every { seconds } => (t_s / seconds).checked_add(1)?.checked_mul(*seconds),
            Schedule::Cron(c) => c.next_after(t_s),
        }
    }
}

impl fmt::Display for Schedule {
    /// The schedule as it can be parsed again: the cron expression, or `every <N>s`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Schedule::Cron(c) => f.write_str(&c.expr),
            Schedule::Every { seconds } => write!(f, "every {seconds}s"),
        }
    }
}

fn parse_every(words: &[&str]) -> Result<Schedule, String> {
    let usage = "expected `every <N>s`, `every <N>m` or `every <N>h`, like `every 30s`";
    let [_, amount] = words else {
        return Err(format!("`{}`: {usage}", words.join(" ")));
    };
    let split = amount
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(amount.len());
    let (digits, unit) = amount.split_at(split);
    let unit_s = match unit.to_ascii_lowercase().as_str() {
        "s" => 1,
        "m" => 60,
        "h" => 3_600,
        _ => return Err(format!("`every {amount}`: {usage}")),
    };
    // More than 9 digits is out of range anyway (and could overflow).
    let n: u64 = match digits.parse() {
        Ok(n) if digits.len() <= 9 => n,
        _ => return Err(format!("`every {amount}`: {usage}")),
    };
    let seconds = n * unit_s;
    if !(1..=MAX_EVERY_S).contains(&seconds) {
        return Err(format!(
            "`every {amount}` is out of range: 1 second to 24 hours"
        ));
    }
    Ok(Schedule::Every { seconds })
}

impl Cron {
    fn parse_fields(fields: &[&str]) -> Result<Cron, String> {
        if fields.len() != 5 {
            return Err(format!(
                "expected five fields (minute hour day-of-month month day-of-week), found {}: `{}`",
                fields.len(),
                fields.join(" ")
            ));
        }
        let mut sets = [0u64; 5];
        for ((set, text), field) in sets.iter_mut().zip(fields).zip(&FIELDS) {
            *set = parse_field(text, field)?;
        }
        let [minutes, hours, days, months, weekdays] = sets;
        // Day of week 7 is Sunday (bit 0).
        let weekdays = (weekdays | (weekdays >> 7)) & 0x7f;
        let restricted = |i: usize| fields.get(i).is_some_and(|f| !f.starts_with('*'));
        Ok(Cron {
            expr: fields.join(" "),
            minutes,
            hours: hours as u32,
            days: days as u32,
            months: months as u16,
            weekdays: weekdays as u8,
            either_day: restricted(2) && restricted(4),
        })
    }

    /// Whether any day can ever match: a day-of-month list that only names days a month lacks
    /// (`31 2`, `30,31 2`, `31 4,6`) never fires unless the day of week may match instead.
    fn can_fire(&self) -> bool {
        if self.either_day {
            return true;
        }
        // February has a 29th in leap years.
        const LONGEST: [u32; 13] = [0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
        (1..=12u32).any(|m| {
            self.months & (1 << m) != 0
                && (1..=LONGEST[m as usize]).any(|d| self.days & (1 << d) != 0)
        })
    }

    fn day_matches(&self, day: u32, weekday: u32) -> bool {
        let dom = self.days & (1 << day) != 0;
        let dow = self.weekdays & (1 << weekday) != 0;
        if self.either_day {
            dom || dow
        } else {
            dom && dow
        }
    }

    /// The first matching minute of the day at or after `from` (minutes since midnight).
    fn first_time(&self, from: u64) -> Option<u64> {
        let (h0, m0) = (from / 60, from % 60);
        (h0..24).find_map(|h| {
            if self.hours & (1 << h) == 0 {
                return None;
            }
            let start = if h == h0 { m0 } else { 0 };
            let left = self.minutes & (u64::MAX << start);
            (left != 0).then(|| h * 60 + u64::from(left.trailing_zeros()))
        })
    }

    fn next_after(&self, t_s: u64) -> Option<u64> {
        if !self.can_fire() {
            return None;
        }
        // The next whole minute strictly after t_s.
        let start = (t_s / 60).checked_add(1)?;
        let mut day = start / 1_440;
        let mut from = start % 1_440;
        // The Gregorian calendar repeats every 400 years (146,097 days, a whole number of
        // weeks): a schedule that can fire does so within that span.
        let last_day = day.checked_add(DAYS_PER_ERA)?;
        while day <= last_day {
            let (y, m, d) = civil_from_days(day);
            if self.months & (1 << m) == 0 {
                // Straight to the 1st of the next month.
                let (ny, nm) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
                day = days_from_civil(ny, nm, 1)?;
                from = 0;
                continue;
            }
            if self.day_matches(d, weekday(day)) {
                if let Some(minute) = self.first_time(from) {
                    return day.checked_mul(1_440)?.checked_add(minute)?.checked_mul(60);
                }
            }
            day += 1;
            from = 0;
        }
        None
    }
}

/// Parses one field into a bit set of its values.
fn parse_field(text: &str, field: &Field) -> Result<u64, String> {
    let mut set = 0u64;
    for item in text.split(',') {
        set |= parse_item(item, field).map_err(|why| {
            if text.contains(',') {
                format!("{} field `{text}`: {why}", field.name)
            } else {
                format!("{} field: {why}", field.name)
            }
        })?;
    }
    Ok(set)
}

fn parse_item(item: &str, field: &Field) -> Result<u64, String> {
    if item.is_empty() {
        return Err("empty list item".into());
    }
    let (base, step) = match item.split_once('/') {
        None => (item, None),
        Some((base, step)) => {
            let size = field.hi - field.lo + 1;
            let n = match step.parse::<u32>() {
                Ok(n) if step.bytes().all(|b| b.is_ascii_digit()) && (1..=size).contains(&n) => n,
                _ => {
                    return Err(format!(
                        "`{item}`: the step must be a whole number from 1 to {size}"
                    ))
                }
            };
            (base, Some(n))
        }
    };
    let (lo, hi) = if base == "*" {
        (field.lo, field.hi)
    } else if let Some((a, b)) = base.split_once('-') {
        let (a, b) = (value(a, item, field)?, value(b, item, field)?);
        if a > b {
            return Err(format!(
                "`{item}`: a range must go from low to high (no wrap-around; list both parts instead)"
            ));
        }
        (a, b)
    } else {
        let v = value(base, item, field)?;
        if let Some(s) = step {
            return Err(format!(
                "`{item}`: a step needs `*` or a range before it, like `*/{s}` or `{v}-{}/{s}`",
                field.hi
            ));
        }
        (v, v)
    };
    let step = step.unwrap_or(1);
    Ok((lo..=hi)
        .step_by(step as usize)
        .fold(0u64, |s, v| s | 1u64 << v))
}

/// One value: a number in the field's range, or a name.
fn value(text: &str, item: &str, field: &Field) -> Result<u32, String> {
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        return match text.parse::<u32>() {
            Ok(v) if text.len() <= 3 && (field.lo..=field.hi).contains(&v) => Ok(v),
            _ => Err(format!(
                "`{item}`: {text} is out of range {}–{}",
                field.lo, field.hi
            )),
        };
    }
    let lower = text.to_ascii_lowercase();
    if let Some(i) = field.names.iter().position(|n| *n == lower) {
        return Ok(i as u32 + field.names_from);
    }
    Err(if field.names.is_empty() {
        format!(
            "`{item}`: expected a number {}–{}, `*`, a range `a-b`, a step `*/n` or a list",
            field.lo, field.hi
        )
    } else {
        format!(
            "`{item}`: `{text}` is neither a number {}–{} nor one of {}",
            field.lo,
            field.hi,
            field.names.join(", ")
        )
    })
}

#[cfg(test)]
mod tests;
