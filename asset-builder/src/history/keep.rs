//! Which previous deploys a build keeps.
//!
//! A page rendered by a deploy can be rendered until the next deploy goes live, and then lives on
//! in open tabs, HTML caches and origins still on the old release; so a deploy's age is counted
//! from the moment it was *superseded* (the date of the next deploy), not from its own date.
//! A previous deploy is kept while it is one of the `--keep-deploys` most recent (the current one
//! counted) and, with `--keep-days D`, superseded less than `D` days ago. A previous deploy with
//! the current deploy's id is the same deploy built again: the new build replaces it.

use super::format::Deploy;

/// How many deploys, and how old, OUT keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeepPolicy {
    /// Deploys in OUT, the current one included (at least 1).
    pub deploys: usize,
    /// Drop a deploy superseded more than this many days ago.
    pub days: Option<u64>,
}

/// Why a previous deploy is not kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Dropped {
    /// The current deploy has its id: this build replaces it.
    Replaced,
    /// Beyond `--keep-deploys`.
    TooMany,
    /// Superseded more than `--keep-days` ago.
    TooOld,
}

/// The previous deploys (newest first, as the history lists them) split into the indices kept and
/// the ones dropped with why, for a current deploy `current_id` built at `now` (Unix seconds).
pub fn select(
    previous: &[Deploy],
    current_id: &str,
    now: u64,
    policy: KeepPolicy,
) -> (Vec<usize>, Vec<(usize, Dropped)>) {
    let mut kept = Vec::new();
    let mut dropped = Vec::new();
    let mut superseded_at = now;
    for (i, d) in previous.iter().enumerate() {
        let date = super::dates::parse(&d.date).unwrap_or(0);
        let too_old = policy
            .days
            .is_some_and(|days| now.saturating_sub(superseded_at) > days.saturating_mul(86_400));
        if d.id == current_id {
            dropped.push((i, Dropped::Replaced));
        } else if kept.len() + 1 >= policy.deploys.max(1) {
            dropped.push((i, Dropped::TooMany));
        } else if too_old {
            dropped.push((i, Dropped::TooOld));
        } else {
            kept.push(i);
        }
        superseded_at = date;
    }
    (kept, dropped)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: u64 = 86_400;

    fn deploys(days_ago: &[(&str, u64)], now: u64) -> Vec<Deploy> {
        days_ago
            .iter()
            .map(|(id, ago)| Deploy {
                id: id.to_string(),
                date: super::super::dates::format(now - ago * DAY),
                files: 0,
                bytes: 0,
                entries: Vec::new(),
            })
            .collect()
    }

    #[test]
    fn table() {
        let now = 100 * DAY;
        use Dropped::*;
        let history = [("d4", 1), ("d3", 5), ("d2", 10), ("d1", 30)];
        type Case<'a> = (
            &'a str,
            usize,
            Option<u64>,
            &'a [usize],
            &'a [(usize, Dropped)],
        );
        let cases: &[Case<'_>] = &[
            ("keep all", 5, None, &[0, 1, 2, 3], &[]),
            (
                "N counts the current deploy",
                3,
                None,
                &[0, 1],
                &[(2, TooMany), (3, TooMany)],
            ),
            (
                "N = 1: only the current",
                1,
                None,
                &[],
                &[(0, TooMany), (1, TooMany), (2, TooMany), (3, TooMany)],
            ),
            (
                "N = 0 is read as 1",
                0,
                None,
                &[],
                &[(0, TooMany), (1, TooMany), (2, TooMany), (3, TooMany)],
            ),
            // d4 was superseded now, d3 1 day ago (by d4), d2 5 days ago, d1 10 days ago.
            (
                "age from being superseded",
                10,
                Some(4),
                &[0, 1],
                &[(2, TooOld), (3, TooOld)],
            ),
            (
                "exactly D days is kept",
                10,
                Some(5),
                &[0, 1, 2],
                &[(3, TooOld)],
            ),
            (
                "D = 0 keeps the deploy superseded just now",
                10,
                Some(0),
                &[0],
                &[(1, TooOld), (2, TooOld), (3, TooOld)],
            ),
        ];
        for (name, n, days, kept, dropped) in cases {
            let got = select(
                &deploys(&history, now),
                "d5",
                now,
                KeepPolicy {
                    deploys: *n,
                    days: *days,
                },
            );
            assert_eq!(
                (got.0.as_slice(), got.1.as_slice()),
                (*kept, *dropped),
                "{name}"
            );
        }
    }

    #[test]
    fn the_same_id_is_replaced_not_kept_twice() {
        let now = 10 * DAY;
        let got = select(
            &deploys(&[("d2", 0), ("d1", 1)], now),
            "d2",
            now,
            KeepPolicy {
                deploys: 2,
                days: None,
            },
        );
        assert_eq!(got, (vec![1], vec![(0, Dropped::Replaced)]));
    }
}
