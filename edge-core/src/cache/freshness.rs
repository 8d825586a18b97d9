//! How old a stored response is and how long it stays fresh (RFC 9111 §4.2), and how long it
//! may be served stale (RFC 5861, and the configured default grace).

use super::directives::{cdn_cache_control, CdnDirectives, Delta, Directives, DELTA_MAX};
use super::headers::Fields;
use crate::http_date;

/// Statuses whose responses may be stored with heuristic freshness (RFC 9110 §15.1).
pub const HEURISTICALLY_CACHEABLE: [u16; 12] =
    [200, 203, 204, 206, 300, 301, 308, 404, 405, 410, 414, 501];

/// When a response was obtained, for its age (RFC 9111 §4.2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Timing {
    /// When the request that got it was sent, ms since the epoch.
    pub request_ms: u64,
    /// When the response arrived, ms since the epoch.
    pub response_ms: u64,
}

/// The cache-relevant facts of a response, read once from its header fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Facts {
    /// `Cache-Control`.
    pub cc: Directives,
    /// `CDN-Cache-Control`, when present and valid (it then governs this cache).
    pub cdn: Option<CdnDirectives>,
    /// Explicit freshness lifetime in seconds, if any.
    pub explicit_lifetime: Option<u64>,
    /// Heuristic freshness lifetime (10 % of the time since `Last-Modified`), for heuristically
    /// cacheable statuses.
    pub heuristic_lifetime: Option<u64>,
    /// `stale-while-revalidate` seconds.
    pub stale_while_revalidate: Option<u64>,
    /// `stale-if-error` seconds.
    pub stale_if_error: Option<u64>,
    /// Must not be served stale (must-revalidate, proxy-revalidate, no-cache, or s-maxage
    /// without an explicit stale window).
    pub no_stale: bool,
    /// Must be revalidated before every use (no-cache).
    pub no_cache: bool,
    /// `Date`, seconds.
    pub date: Option<u64>,
    /// `Age` (first value of the first line), seconds; invalid values count as absent.
    pub age: u64,
}

impl Facts {
    /// Reads a response's header fields (`status` for the heuristics; `received_s`, when the
    /// response arrived, stands in for a missing or invalid `Date`).
    pub fn read(fields: &Fields, status: u16, received_s: u64) -> Self {
        let cc = Directives::parse(fields.all("cache-control"));
        let cdn = cdn_cache_control(fields.all("cdn-cache-control"));
        let date = fields.first("date").and_then(http_date::parse);
        let age = parse_age(fields.first("age"));
        let expires = match fields.all("expires").count() {
            0 => None,
            // An invalid or repeated Expires means "already expired" (RFC 9111 §5.3).
            1 => Some(
                fields
                    .first("expires")
                    .and_then(http_date::parse)
                    .unwrap_or(0),
            ),
            _ => Some(0),
        };
        let explicit_lifetime = match &cdn {
            Some(c) => c.s_maxage.or(c.max_age),
            None => cc
                .delta("s-maxage")
                .or_zero()
                .or(cc.delta("max-age").or_zero())
                .or_else(|| expires.map(|e| e.saturating_sub(date.unwrap_or(received_s)))),
        };
        let heuristic_lifetime = match (
            HEURISTICALLY_CACHEABLE.contains(&status),
            fields.first("last-modified").and_then(http_date::parse),
        ) {
            (true, Some(lm)) => Some(date.unwrap_or(received_s).saturating_sub(lm) / 10),
            _ => None,
        };
        let (swr, sie) = match &cdn {
            Some(c) => (c.stale_while_revalidate, c.stale_if_error),
            None => (
                secs(cc.delta("stale-while-revalidate")),
                secs(cc.delta("stale-if-error")),
            ),
        };
        let no_cache = match &cdn {
            Some(c) => c.no_cache,
            None => cc.has_unqualified("no-cache") || pragma_no_cache(fields, &cc),
        };
        let explicit_stale = swr.is_some() || sie.is_some();
        let no_stale = no_cache
            || match &cdn {
                Some(c) => c.must_revalidate,
                None => {
                    cc.has("must-revalidate")
                        || cc.has("proxy-revalidate")
                        || (cc.delta("s-maxage") != Delta::Absent && !explicit_stale)
                }
            };
        Facts {
            cc,
            cdn,
            explicit_lifetime,
            heuristic_lifetime,
            stale_while_revalidate: swr,
            stale_if_error: sie,
            no_stale,
            no_cache,
            date,
            age,
        }
    }

    /// The freshness lifetime: explicit, else heuristic when `heuristics` allows.
    pub fn lifetime(&self, heuristics: bool) -> u64 {
        self.explicit_lifetime
            .or(self.heuristic_lifetime.filter(|_| heuristics))
            .unwrap_or(0)
    }

    /// The response's current age in seconds at `now_ms` (RFC 9111 §4.2.3).
    pub fn current_age(&self, t: Timing, now_ms: u64) -> u64 {
        let response_s = t.response_ms / 1000;
        let apparent = self.date.map_or(0, |d| response_s.saturating_sub(d));
        let delay = t.response_ms.saturating_sub(t.request_ms) / 1000;
        let corrected_age_value = self.age.saturating_add(delay);
        let initial = apparent.max(corrected_age_value);
        let resident = now_ms.saturating_sub(t.response_ms) / 1000;
        initial.saturating_add(resident).min(DELTA_MAX)
    }
}

fn secs(d: Delta) -> Option<u64> {
    match d {
        Delta::Seconds(s) => Some(s),
        _ => None,
    }
}

/// `Pragma: no-cache` counts only when there is no `Cache-Control` (RFC 9111 §5.4).
fn pragma_no_cache(fields: &Fields, cc: &Directives) -> bool {
    cc == &Directives::default()
        && fields.all("pragma").any(|p| {
            p.split(',')
                .any(|d| d.trim().eq_ignore_ascii_case("no-cache"))
        })
}

/// `Age`: the first value of the first line, non-negative integer; anything else is ignored.
fn parse_age(v: Option<&str>) -> u64 {
    let Some(v) = v else { return 0 };
    let first = v.split(',').next().unwrap_or("").trim();
    if first.is_empty() || !first.bytes().all(|c| c.is_ascii_digit()) {
        return 0;
    }
    let t = first.trim_start_matches('0');
    if t.len() > 10 {
        return DELTA_MAX;
    }
    t.parse::<u64>().unwrap_or(0).min(DELTA_MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(pairs: &[(&str, &str)]) -> Facts {
        Facts::read(&Fields::new(pairs.iter().copied()), 200, NOW)
    }

    const NOW: u64 = 1_700_000_000; // seconds
    fn date(offset: i64) -> String {
        http_date::format((NOW as i64 + offset) as u64)
    }
    fn at(ms_offset: u64) -> u64 {
        NOW * 1000 + ms_offset
    }
    const T: Timing = Timing {
        request_ms: NOW * 1000,
        response_ms: NOW * 1000,
    };

    #[test]
    fn lifetimes_in_order_of_precedence() {
        let d = date(0);
        assert_eq!(
            facts(&[("cache-control", "max-age=60, s-maxage=10")]).lifetime(false),
            10
        );
        assert_eq!(
            facts(&[("cache-control", "s-maxage=10, max-age=60")]).lifetime(false),
            10
        );
        assert_eq!(
            facts(&[
                ("cache-control", "max-age=60"),
                ("expires", &date(-100)),
                ("date", &d)
            ])
            .lifetime(false),
            60
        );
        assert_eq!(
            facts(&[("expires", &date(100)), ("date", &d)]).lifetime(false),
            100
        );
        assert_eq!(
            facts(&[("expires", "0"), ("date", &d)]).lifetime(false),
            0,
            "invalid Expires is expired"
        );
        assert_eq!(
            facts(&[("expires", &date(100)), ("date", "never")]).lifetime(false),
            100,
            "an invalid Date: the time of arrival"
        );
        assert_eq!(
            facts(&[
                ("expires", &date(100)),
                ("expires", &date(200)),
                ("date", &d)
            ])
            .lifetime(false),
            0
        );
        assert_eq!(facts(&[("cache-control", "max-age=-1")]).lifetime(false), 0);
        assert_eq!(
            facts(&[
                ("cache-control", "max-age=60"),
                ("cdn-cache-control", "max-age=5")
            ])
            .lifetime(false),
            5,
            "CDN-Cache-Control governs"
        );
        assert_eq!(
            facts(&[
                ("cache-control", "max-age=60"),
                ("cdn-cache-control", "max-age=\"5\"")
            ])
            .lifetime(false),
            60,
            "an invalid one is ignored"
        );
        let lm = facts(&[("date", &d), ("last-modified", &date(-1000))]);
        assert_eq!(
            (lm.lifetime(false), lm.lifetime(true)),
            (0, 100),
            "heuristics: 10 % of the age of Last-Modified"
        );
    }

    #[test]
    fn current_age_from_date_age_and_residence() {
        let f = facts(&[("date", &date(-10)), ("age", "5")]);
        assert_eq!(
            f.current_age(T, at(0)),
            10,
            "apparent age from Date wins over a smaller Age"
        );
        assert_eq!(f.current_age(T, at(7_000)), 17, "plus the time spent here");
        let f = facts(&[("date", &date(0)), ("age", "3600")]);
        assert_eq!(f.current_age(T, at(0)), 3600);
        for (age, want) in [
            ("abc", 0),
            ("-7200", 0),
            ("7200.0", 0),
            ("2147483648", DELTA_MAX),
            ("99999999999", DELTA_MAX),
            ("10, 0", 10),
            ("0, 10", 0),
        ] {
            assert_eq!(facts(&[("age", age)]).current_age(T, at(0)), want, "{age}");
        }
        let slow = Timing {
            request_ms: at(0),
            response_ms: at(4_000),
        };
        assert_eq!(
            facts(&[("age", "1")]).current_age(slow, at(4_000)),
            5,
            "response delay counts"
        );
    }

    #[test]
    fn stale_windows_and_prohibitions() {
        let f = facts(&[(
            "cache-control",
            "public, s-maxage=60, stale-while-revalidate=30, stale-if-error=86400",
        )]);
        assert_eq!(
            (f.stale_while_revalidate, f.stale_if_error, f.no_stale),
            (Some(30), Some(86400), false),
            "an explicit window overrides s-maxage's implied proxy-revalidate"
        );
        assert!(facts(&[("cache-control", "s-maxage=2")]).no_stale);
        assert!(
            facts(&[(
                "cache-control",
                "max-age=2, must-revalidate, stale-if-error=60"
            )])
            .no_stale
        );
        assert!(facts(&[("cache-control", "max-age=2, proxy-revalidate")]).no_stale);
        let nc = facts(&[("cache-control", "no-cache, max-age=60")]);
        assert!(nc.no_cache && nc.no_stale);
        assert!(
            facts(&[("pragma", "no-cache")]).no_cache,
            "Pragma without Cache-Control"
        );
        assert!(!facts(&[("pragma", "no-cache"), ("cache-control", "max-age=5")]).no_cache);
        assert!(
            !facts(&[("cache-control", "no-cache=\"set-cookie\", max-age=60")]).no_cache,
            "qualified no-cache concerns a field"
        );
        assert!(!facts(&[("cache-control", "max-age=60")]).no_stale);
    }
}
