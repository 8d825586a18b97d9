//! Cron parsing and next-run computation: every field form, month ends, leap years, year wrap,
//! errors, and a brute-force minute walk over random expressions.

use super::*;

/// Unix seconds of a UTC date-time.
fn at(y: u64, mo: u32, d: u32, h: u64, mi: u64) -> u64 {
    days_from_civil(y, mo, d).expect("a valid date") * 86_400 + h * 3_600 + mi * 60
}

fn next(expr: &str, t: u64) -> Option<u64> {
    Schedule::parse(expr)
        .unwrap_or_else(|e| panic!("{expr}: {e}"))
        .next_after(t)
}

#[test]
fn calendar_helpers_match_known_dates() {
    for (days_s, (y, m, d), wd) in [
        (0, (1970, 1, 1), 4),
        (951_868_800, (2000, 3, 1), 3),
        (1_709_164_800, (2024, 2, 29), 4),
        (4_107_542_400, (2100, 3, 1), 1),
        (4_233_686_400, (2104, 2, 29), 5),
        (1_795_132_800, (2026, 11, 20), 5),
    ] {
        let days = days_s / 86_400;
        assert_eq!(civil_from_days(days), (y, m, d), "{days_s}");
        assert_eq!(days_from_civil(y, m, d), Some(days), "{y}-{m}-{d}");
        assert_eq!(weekday(days), wd, "{y}-{m}-{d}");
    }
    for days in (0..200_000).step_by(7) {
        let (y, m, d) = civil_from_days(days);
        assert_eq!(days_from_civil(y, m, d), Some(days));
    }
}

#[test]
fn next_runs() {
    let noon = at(2026, 11, 20, 12, 0); // a Friday
    let cases: &[(&str, u64, Option<u64>)] = &[
        // Strictly after: a firing instant itself is not the answer.
        ("* * * * *", noon, Some(noon + 60)),
        ("* * * * *", noon + 59, Some(noon + 60)),
        ("*/15 * * * *", noon + 7 * 60 + 30, Some(noon + 15 * 60)),
        (
            "*/15 * * * *",
            noon + 45 * 60,
            Some(at(2026, 11, 20, 13, 0)),
        ),
        ("5 * * * *", noon + 5 * 60, Some(at(2026, 11, 20, 13, 5))),
        ("0 0 * * *", noon, Some(at(2026, 11, 21, 0, 0))),
        ("30 8-18/2 * * *", noon, Some(at(2026, 11, 20, 12, 30))),
        (
            "30 8-18/2 * * *",
            at(2026, 11, 20, 18, 30),
            Some(at(2026, 11, 21, 8, 30)),
        ),
        ("0,30 9,17 * * *", noon, Some(at(2026, 11, 20, 17, 0))),
        // Weekdays, names, 0 and 7 both Sunday.
        ("0 9 * * mon-fri", noon, Some(at(2026, 11, 23, 9, 0))),
        ("0 9 * * MON-Fri", noon, Some(at(2026, 11, 23, 9, 0))),
        ("0 0 * * 0", noon, Some(at(2026, 11, 22, 0, 0))),
        ("0 0 * * 7", noon, Some(at(2026, 11, 22, 0, 0))),
        ("0 0 * * sun", noon, Some(at(2026, 11, 22, 0, 0))),
        ("0 0 * * 5-7", noon, Some(at(2026, 11, 21, 0, 0))),
        ("0 0 * * */2", noon, Some(at(2026, 11, 21, 0, 0))),
        // Months by number and name; year wrap.
        ("0 0 1 jan *", noon, Some(at(2027, 1, 1, 0, 0))),
        (
            "0 0 1 1 *",
            at(2026, 12, 31, 23, 59) + 30,
            Some(at(2027, 1, 1, 0, 0)),
        ),
        (
            "59 23 31 12 *",
            at(2026, 12, 31, 23, 59),
            Some(at(2027, 12, 31, 23, 59)),
        ),
        ("0 0 1 dec,jan,feb *", noon, Some(at(2026, 12, 1, 0, 0))),
        (
            "0 0 1 DEC,jan,Feb *",
            at(2026, 12, 1, 0, 0),
            Some(at(2027, 1, 1, 0, 0)),
        ),
        ("0 0 1 */4 *", noon, Some(at(2027, 1, 1, 0, 0))),
        // Month ends: a day the month lacks is skipped, not moved.
        (
            "0 0 31 * *",
            at(2026, 4, 15, 0, 0),
            Some(at(2026, 5, 31, 0, 0)),
        ),
        (
            "0 0 30 * *",
            at(2026, 2, 1, 0, 0),
            Some(at(2026, 3, 30, 0, 0)),
        ),
        (
            "0 0 29-31 * *",
            at(2026, 2, 1, 0, 0),
            Some(at(2026, 3, 29, 0, 0)),
        ),
        (
            "0 0 28-31 * *",
            at(2026, 2, 1, 0, 0),
            Some(at(2026, 2, 28, 0, 0)),
        ),
        // Leap years: Feb 29 in 2024 and 2028, and not in 2100 (2104 is next after 2096).
        (
            "0 12 29 2 *",
            at(2023, 3, 1, 0, 0),
            Some(at(2024, 2, 29, 12, 0)),
        ),
        (
            "0 12 29 2 *",
            at(2024, 2, 29, 12, 0),
            Some(at(2028, 2, 29, 12, 0)),
        ),
        (
            "0 12 29 2 *",
            at(2096, 3, 1, 0, 0),
            Some(at(2104, 2, 29, 12, 0)),
        ),
        (
            "0 0 * 2 *",
            at(2100, 2, 28, 0, 0),
            Some(at(2101, 2, 1, 0, 0)),
        ),
        (
            "0 0 * 2 *",
            at(2096, 2, 28, 0, 0),
            Some(at(2096, 2, 29, 0, 0)),
        ),
        // Day of month OR day of week when both are restricted; AND when one starts with `*`.
        ("0 0 13 * fri", noon, Some(at(2026, 11, 27, 0, 0))),
        (
            "0 0 13 * fri",
            at(2026, 11, 30, 0, 0),
            Some(at(2026, 12, 4, 0, 0)),
        ),
        (
            "0 0 1 * mon",
            at(2026, 11, 24, 0, 0),
            Some(at(2026, 11, 30, 0, 0)),
        ),
        (
            "0 0 1 * mon",
            at(2026, 11, 30, 0, 0),
            Some(at(2026, 12, 1, 0, 0)),
        ),
        ("0 0 13 * *", noon, Some(at(2026, 12, 13, 0, 0))),
        ("0 0 * * fri", noon, Some(at(2026, 11, 27, 0, 0))),
        // `*/13` is days 1, 14 and 27, and starts with `*`: Fridays among them.
        ("0 0 */13 * fri", noon, Some(at(2026, 11, 27, 0, 0))),
        (
            "0 0 */13 * fri",
            at(2026, 11, 27, 0, 0),
            Some(at(2027, 1, 1, 0, 0)),
        ),
        // Never.
        ("0 0 31 2 *", 0, None),
        ("0 0 30,31 2 *", 0, None),
        ("0 0 31 4,6,9,11 *", 0, None),
        ("0 0 31 2 mon", noon, Some(at(2027, 2, 1, 0, 0))),
        // Macros.
        ("@hourly", noon, Some(noon + 3_600)),
        ("@daily", noon, Some(at(2026, 11, 21, 0, 0))),
        ("@MIDNIGHT", noon, Some(at(2026, 11, 21, 0, 0))),
        ("@weekly", noon, Some(at(2026, 11, 22, 0, 0))),
        ("@monthly", noon, Some(at(2026, 12, 1, 0, 0))),
        ("@yearly", noon, Some(at(2027, 1, 1, 0, 0))),
        ("@annually", noon, Some(at(2027, 1, 1, 0, 0))),
        // Whitespace.
        ("  0\t0  * *   *  ", noon, Some(at(2026, 11, 21, 0, 0))),
        // Intervals are multiples of the interval since the epoch.
        ("every 5s", 12, Some(15)),
        ("every 5s", 15, Some(20)),
        ("every 30s", noon + 1, Some(noon + 30)),
        ("every 2m", 0, Some(120)),
        ("EVERY 1H", noon, Some(noon + 3_600)),
        ("every 86400s", noon, Some(at(2026, 11, 21, 0, 0))),
    ];
    for (expr, t, want) in cases {
        assert_eq!(next(expr, *t), *want, "{expr} after {t}");
    }
}

#[test]
fn the_end_of_time_neither_overflows_nor_panics() {
    assert_eq!(next("every 7s", u64::MAX - 1), None);
    assert_eq!(next("every 7s", u64::MAX - 5), Some(u64::MAX - 1));
    assert_eq!(next("every 7s", u64::MAX - 9), Some(u64::MAX - 8));
    assert_eq!(next("* * * * *", u64::MAX), None);
    assert_eq!(next("* * * * *", u64::MAX - 120), Some(u64::MAX - 15 - 60));
    for expr in ["0 0 29 2 *", "@yearly", "0 0 31 2 mon", "59 23 31 12 *"] {
        for t in [
            u64::MAX,
            u64::MAX - 86_400,
            u64::MAX / 2,
            u64::MAX / 60 * 60,
        ] {
            assert!(next(expr, t).is_none_or(|n| n > t), "{expr} after {t}");
        }
    }
}

#[test]
fn every_field_form_parses_to_its_values() {
    let cron = |e: &str| match Schedule::parse(e) {
        Ok(Schedule::Cron(c)) => c,
        other => panic!("{e}: {other:?}"),
    };
    let bits = |vs: &[u32]| vs.iter().fold(0u64, |s, v| s | 1 << v);
    assert_eq!(cron("* * * * *").minutes, u64::MAX >> 4);
    assert_eq!(cron("7 * * * *").minutes, bits(&[7]));
    assert_eq!(cron("1-4 * * * *").minutes, bits(&[1, 2, 3, 4]));
    assert_eq!(cron("1,5,7 * * * *").minutes, bits(&[1, 5, 7]));
    assert_eq!(cron("*/20 * * * *").minutes, bits(&[0, 20, 40]));
    assert_eq!(cron("10-30/10 * * * *").minutes, bits(&[10, 20, 30]));
    assert_eq!(
        cron("1-3,50-59/5,0 * * * *").minutes,
        bits(&[0, 1, 2, 3, 50, 55])
    );
    assert_eq!(cron("*/60 * * * *").minutes, bits(&[0]));
    assert_eq!(u64::from(cron("0 */6 * * *").hours), bits(&[0, 6, 12, 18]));
    assert_eq!(u64::from(cron("0 0 */10 * *").days), bits(&[1, 11, 21, 31]));
    assert_eq!(
        u64::from(cron("0 0 1 jan,Mar,DEC *").months),
        bits(&[1, 3, 12])
    );
    assert_eq!(u64::from(cron("0 0 1 2-4 *").months), bits(&[2, 3, 4]));
    assert_eq!(u64::from(cron("0 0 * * 7").weekdays), bits(&[0]));
    assert_eq!(
        u64::from(cron("0 0 * * 0-7").weekdays),
        bits(&[0, 1, 2, 3, 4, 5, 6])
    );
    assert_eq!(u64::from(cron("0 0 * * sat-7").weekdays), bits(&[0, 6]));
    assert_eq!(
        u64::from(cron("0 0 * * tue-thu").weekdays),
        bits(&[2, 3, 4])
    );
    assert!(cron("0 0 1 * mon").either_day);
    assert!(!cron("0 0 */2 * mon").either_day);
    assert!(!cron("0 0 1 * *").either_day);
    assert!(!cron("0 0 * * 1").either_day);
}

#[test]
fn display_parses_back() {
    for (text, shown) in [
        ("*/5  *\t* * *", "*/5 * * * *"),
        ("0 9 * * MON-FRI", "0 9 * * MON-FRI"),
        ("@Daily", "@daily"),
        ("every 5s", "every 5s"),
        ("every 2m", "every 120s"),
    ] {
        let s = Schedule::parse(text).unwrap();
        assert_eq!(s.to_string(), shown);
        assert_eq!(
            Schedule::parse(&s.to_string()).unwrap().next_after(0),
            s.next_after(0)
        );
    }
}

#[test]
fn invalid_expressions_say_what_is_wrong() {
    let cases = [
        ("", "empty schedule"),
        ("   ", "empty schedule"),
        ("* * * *", "expected five fields"),
        ("* * * * * *", "found 6"),
        ("60 * * * *", "minute field: `60`: 60 is out of range 0–59"),
        ("* 24 * * *", "hour field: `24`: 24 is out of range 0–23"),
        (
            "* * 0 * *",
            "day-of-month field: `0`: 0 is out of range 1–31",
        ),
        ("* * 32 * *", "day-of-month field"),
        ("* * * 13 *", "month field: `13`: 13 is out of range 1–12"),
        ("* * * * 8", "day-of-week field: `8`: 8 is out of range 0–7"),
        ("99999999999999999999 * * * *", "out of range 0–59"),
        (
            "* * * foo *",
            "`foo` is neither a number 1–12 nor one of jan, feb",
        ),
        ("* * * * funday", "nor one of sun, mon"),
        ("* * * * monday", "nor one of sun, mon"),
        ("mon * * * *", "minute field: `mon`: expected a number 0–59"),
        ("5-1 * * * *", "from low to high"),
        ("* * * * fri-mon", "from low to high"),
        (
            "*/0 * * * *",
            "the step must be a whole number from 1 to 60",
        ),
        ("*/61 * * * *", "from 1 to 60"),
        ("*/x * * * *", "the step must be"),
        ("*/-1 * * * *", "the step must be"),
        ("*/+1 * * * *", "the step must be"),
        (
            "5/15 * * * *",
            "a step needs `*` or a range before it, like `*/15` or `5-59/15`",
        ),
        ("1,,2 * * * *", "minute field `1,,2`: empty list item"),
        ("1, * * * *", "empty list item"),
        ("- * * * *", "expected a number"),
        ("1-2-3 * * * *", "expected a number"),
        ("** * * * *", "expected a number"),
        ("-1 * * * *", "expected a number"),
        ("+1 * * * *", "expected a number"),
        ("１ * * * *", "expected a number"),
        ("@reboot", "unknown macro `@reboot`"),
        ("@daily *", "expected five fields"),
        ("every", "expected `every <N>s`"),
        ("every 5", "expected `every <N>s`"),
        ("every 5d", "expected `every <N>s`"),
        ("every s", "expected `every <N>s`"),
        ("every five s", "expected `every <N>s`"),
        ("every 5 s", "expected `every <N>s`"),
        ("every -5s", "expected `every <N>s`"),
        ("every 0s", "out of range: 1 second to 24 hours"),
        ("every 86401s", "out of range"),
        ("every 25h", "out of range"),
        ("every 99999999999999999999s", "expected `every <N>s`"),
    ];
    for (expr, want) in cases {
        match Schedule::parse(expr) {
            Ok(s) => panic!("{expr:?} parsed as {s:?}"),
            Err(e) => assert!(e.contains(want), "{expr:?}: {e}"),
        }
    }
}

/// A small deterministic generator (xorshift64*), so a failure is reproducible.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn range(&mut self, lo: u32, hi: u32) -> u32 {
        lo + self.below(u64::from(hi - lo + 1)) as u32
    }
}

/// A random field as text and the values it means — built independently of the parser.
fn random_field(
    rng: &mut Rng,
    lo: u32,
    hi: u32,
    names: &[&str],
    names_from: u32,
) -> (String, Vec<bool>) {
    let mut values = vec![false; hi as usize + 1];
    let name = |rng: &mut Rng, v: u32| -> String {
        let i = v.wrapping_sub(names_from) as usize;
        match names.get(i) {
            Some(n) if rng.below(2) == 0 => n.to_uppercase(),
            _ => v.to_string(),
        }
    };
    // Mostly `*` or one item, sometimes a list.
    let items = match rng.below(10) {
        0..=3 => return ("*".into(), vec![true; hi as usize + 1]),
        4..=7 => 1,
        _ => 2 + rng.below(2),
    };
    let mut parts = Vec::new();
    for _ in 0..items {
        let (a, b) = {
            let a = rng.range(lo, hi);
            let b = rng.range(lo, hi);
            (a.min(b), a.max(b))
        };
        let step = rng.range(1, (hi - lo + 1).min(12));
        let (text, from, to, by) = match rng.below(5) {
            0 => (format!("*/{step}"), lo, hi, step),
            1 => (name(rng, a), a, a, 1),
            2 => (format!("{}-{}", name(rng, a), name(rng, b)), a, b, 1),
            3 => (
                format!("{}-{}/{step}", name(rng, a), name(rng, b)),
                a,
                b,
                step,
            ),
            _ => ("*".into(), lo, hi, 1),
        };
        for v in (from..=to).step_by(by as usize) {
            values[v as usize] = true;
        }
        parts.push(text);
    }
    (parts.join(","), values)
}

/// The civil date of a day since 1970, by walking years and months (independent of Hinnant).
fn slow_civil(mut days: u64) -> (u64, u32, u32) {
    let leap = |y: u64| y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
    let mut y = 1970;
    while days >= if leap(y) { 366 } else { 365 } {
        days -= if leap(y) { 366 } else { 365 };
        y += 1;
    }
    let lengths = [
        31,
        if leap(y) { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    let mut m = 0;
    while days >= lengths[m] {
        days -= lengths[m];
        m += 1;
    }
    (y, m as u32 + 1, days as u32 + 1)
}

#[test]
fn next_after_matches_a_brute_force_minute_walk() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut found = 0;
    for case in 0..400 {
        let fields: Vec<(String, Vec<bool>)> = vec![
            random_field(&mut rng, 0, 59, &[], 0),
            random_field(&mut rng, 0, 23, &[], 0),
            random_field(&mut rng, 1, 31, &[], 0),
            random_field(&mut rng, 1, 12, &MONTHS, 1),
            random_field(&mut rng, 0, 7, &WEEKDAYS, 0),
        ];
        let expr = fields
            .iter()
            .map(|(t, _)| t.as_str())
            .collect::<Vec<_>>()
            .join(" ");
        let schedule = Schedule::parse(&expr).unwrap_or_else(|e| panic!("{expr}: {e}"));
        let either = !fields[2].0.starts_with('*') && !fields[4].0.starts_with('*');
        let day_matches = |day: u64| {
            let (_, m, d) = slow_civil(day);
            let wd = ((day + 4) % 7) as usize;
            let dom = fields[2].1[d as usize];
            let dow = fields[4].1[wd] || (wd == 0 && fields[4].1[7]);
            fields[3].1[m as usize] && if either { dom || dow } else { dom && dow }
        };
        let time_matches = |minute: u64| {
            fields[0].1[(minute % 60) as usize] && fields[1].1[(minute / 60 % 24) as usize]
        };
        // Start anywhere from 1970 to 2200, often just before a month's or year's end.
        let t = match case % 3 {
            0 => rng.below(at(2200, 1, 1, 0, 0)),
            1 => {
                let (y, m) = (1970 + rng.below(230), rng.range(1, 12));
                let last = if m == 12 {
                    at(y + 1, 1, 1, 0, 0)
                } else {
                    at(y, m + 1, 1, 0, 0)
                };
                last - rng.below(3 * 86_400)
            }
            _ => at(2096 + rng.below(8), 2, 28, 23, 59) + rng.below(60),
        };
        let got = schedule.next_after(t);
        // Walk up to 100 days minute by minute.
        const WINDOW: u64 = 100 * 1_440;
        let first = t / 60 + 1;
        let mut brute = None;
        let mut minute = first;
        while minute < first + WINDOW && brute.is_none() {
            let day = minute / 1_440;
            if day_matches(day) {
                brute = (minute..(day + 1) * 1_440).find(|&m| time_matches(m));
            }
            minute = (day + 1) * 1_440;
        }
        match brute.filter(|&m| m < first + WINDOW) {
            Some(m) => {
                found += 1;
                assert_eq!(got, Some(m * 60), "{expr} after {t}");
            }
            None => assert!(
                got.is_none_or(|g| g >= (first + WINDOW) * 60),
                "{expr} after {t}: {got:?} but nothing within the window"
            ),
        }
        // Monotonic, strictly after, and stable at its own result.
        if let Some(g) = got {
            assert!(g > t && g % 60 == 0);
            let later = t + rng.below(3 * 86_400);
            let g2 = schedule.next_after(later);
            assert!(
                g2.is_some_and(|g2| g2 >= g),
                "{expr}: {t}→{g}, {later}→{g2:?}"
            );
            assert_eq!(schedule.next_after(g - 1), Some(g), "{expr}");
            assert!(schedule.next_after(g).is_some_and(|n| n > g), "{expr}");
        }
    }
    assert!(
        found > 300,
        "the sample should mostly fire within the window: {found}"
    );
}
