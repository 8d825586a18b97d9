//! What a response says about the cache's part in it: `Cache-Status` (RFC 9211) and
//! `Server-Timing` (the edge's and the origin's share of the time).

use crate::decimal::push_u64;

/// The cache's name in `Cache-Status`.
pub const NAME: &str = "edge";

/// How the cache handled a request.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CacheStatus {
    /// Served from the cache without going to the origin.
    pub hit: bool,
    /// Why it went to the origin: `uri-miss`, `vary-miss`, `stale`, `bypass`, `request`.
    pub fwd: Option<&'static str>,
    /// The origin's status, when it went forward.
    pub fwd_status: Option<u16>,
    /// Freshness left (negative: stale), when a stored response was involved.
    pub ttl: Option<i64>,
    /// The response was stored.
    pub stored: bool,
    /// It waited for another request's identical fetch instead of making its own.
    pub collapsed: bool,
    /// A word on why (`stale-while-revalidate`, `stale-if-error`, `origins-down`, `session`, …).
    pub detail: Option<String>,
}

impl CacheStatus {
    /// Served from the cache, fresh for `ttl` more seconds.
    pub fn hit(ttl: i64) -> Self {
        CacheStatus {
            hit: true,
            ttl: Some(ttl),
            ..Default::default()
        }
    }

    /// Served from the cache although stale (`ttl` negative), for the reason `detail`.
    pub fn stale_hit(ttl: i64, detail: &str) -> Self {
        CacheStatus {
            detail: Some(detail.into()),
            ..CacheStatus::hit(ttl)
        }
    }

    /// Went to the origin for the reason `fwd` (`uri-miss`, `stale`); the rest is filled in as
    /// it goes.
    pub fn forward(fwd: &'static str) -> Self {
        CacheStatus {
            fwd: Some(fwd),
            ..Default::default()
        }
    }

    /// Did not use the cache, for the reason `why`; the origin answered `fwd_status`.
    pub fn bypass(why: &str, fwd_status: Option<u16>) -> Self {
        CacheStatus {
            fwd_status,
            detail: Some(why.into()),
            ..CacheStatus::forward("bypass")
        }
    }

    /// The origin failed with `fwd_status` and the stored response (`ttl` left) answered.
    pub fn stale_if_error(ttl: i64, fwd_status: Option<u16>) -> Self {
        CacheStatus {
            fwd_status,
            ttl: Some(ttl),
            detail: Some("stale-if-error".into()),
            ..CacheStatus::forward("stale")
        }
    }

    /// The origin confirmed the stale stored response with a `304`.
    pub fn refreshed() -> Self {
        CacheStatus {
            fwd_status: Some(304),
            ..CacheStatus::forward("stale")
        }
    }

    /// The `Cache-Status` field value.
    pub fn header(&self) -> String {
        let mut out = String::from(NAME);
        if self.hit {
            out.push_str("; hit");
        }
        if let Some(f) = self.fwd {
            out.push_str("; fwd=");
            out.push_str(f);
        }
        if let Some(s) = self.fwd_status {
            out.push_str(&format!("; fwd-status={s}"));
        }
        if let Some(t) = self.ttl {
            out.push_str(&format!("; ttl={t}"));
        }
        if self.stored {
            out.push_str("; stored");
        }
        if self.collapsed {
            out.push_str("; collapsed");
        }
        if let Some(d) = &self.detail {
            out.push_str("; detail=");
            out.push_str(d);
        }
        out
    }

    /// The outcome word for logs and counters: `hit`, `stale`, `miss`, `bypass`.
    pub fn outcome(&self) -> &'static str {
        match (self.hit, self.fwd) {
            (true, _) if self.ttl.is_some_and(|t| t <= 0) => "stale",
            (true, _) => "hit",
            (false, Some("bypass")) => "bypass",
            (false, Some("stale")) if self.detail.as_deref() == Some("stale-if-error") => "stale",
            _ => "miss",
        }
    }
}

/// `Server-Timing`: the edge's own time and the origin's (when it was asked), in milliseconds.
pub fn server_timing(total_ms: u64, origin_ms: Option<u64>) -> String {
    let mut out = String::with_capacity(40);
    out.push_str("edge;dur=");
    push_u64(&mut out, total_ms.saturating_sub(origin_ms.unwrap_or(0)));
    if let Some(o) = origin_ms {
        out.push_str(", origin;dur=");
        push_u64(&mut out, o);
    }
    out
}

/// What the edge adds to a response it is about to send: `Cache-Status` (set, when the route
/// caches) and `Server-Timing` (appended) for a request that arrived at `started_ms`.
pub fn annotations(
    cache: Option<&CacheStatus>,
    started_ms: u64,
    origin_ms: Option<u64>,
    now_ms: u64,
) -> crate::header_edits::HeaderEdits {
    let total_ms = now_ms.saturating_sub(started_ms);
    crate::header_edits::HeaderEdits {
        remove: Vec::new(),
        set: cache
            .map(|c| ("cache-status", c.header()))
            .into_iter()
            .collect(),
        append: vec![("server-timing", server_timing(total_ms, origin_ms))],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constructors_name_each_outcome() {
        let cases = [
            (CacheStatus::hit(42), "edge; hit; ttl=42", "hit"),
            (
                CacheStatus::stale_hit(-5, "origins-down"),
                "edge; hit; ttl=-5; detail=origins-down",
                "stale",
            ),
            (
                CacheStatus::forward("uri-miss"),
                "edge; fwd=uri-miss",
                "miss",
            ),
            (
                CacheStatus::bypass("session", Some(200)),
                "edge; fwd=bypass; fwd-status=200; detail=session",
                "bypass",
            ),
            (
                CacheStatus::stale_if_error(-9, Some(503)),
                "edge; fwd=stale; fwd-status=503; ttl=-9; detail=stale-if-error",
                "stale",
            ),
            (
                CacheStatus::refreshed(),
                "edge; fwd=stale; fwd-status=304",
                "miss",
            ),
        ];
        for (status, header, outcome) in cases {
            assert_eq!(status.header(), header);
            assert_eq!(status.outcome(), outcome, "{header}");
        }
    }

    #[test]
    fn headers_follow_rfc_9211() {
        let hit = CacheStatus {
            hit: true,
            ttl: Some(42),
            ..Default::default()
        };
        assert_eq!(hit.header(), "edge; hit; ttl=42");
        assert_eq!(hit.outcome(), "hit");
        let miss = CacheStatus {
            fwd: Some("uri-miss"),
            fwd_status: Some(200),
            stored: true,
            collapsed: true,
            ..Default::default()
        };
        assert_eq!(
            miss.header(),
            "edge; fwd=uri-miss; fwd-status=200; stored; collapsed"
        );
        let swr = CacheStatus {
            hit: true,
            ttl: Some(-5),
            detail: Some("stale-while-revalidate".into()),
            ..Default::default()
        };
        assert_eq!(
            swr.header(),
            "edge; hit; ttl=-5; detail=stale-while-revalidate"
        );
        assert_eq!(swr.outcome(), "stale");
        let sie = CacheStatus {
            fwd: Some("stale"),
            fwd_status: Some(503),
            ttl: Some(-9),
            detail: Some("stale-if-error".into()),
            ..Default::default()
        };
        assert_eq!(sie.outcome(), "stale");
        assert_eq!(
            CacheStatus {
                fwd: Some("bypass"),
                ..Default::default()
            }
            .outcome(),
            "bypass"
        );
        assert_eq!(server_timing(12, Some(9)), "edge;dur=3, origin;dur=9");
        assert_eq!(server_timing(2, None), "edge;dur=2");
        let hit = CacheStatus::hit(42);
        let edits = annotations(Some(&hit), 100, Some(9), 112);
        assert_eq!(
            edits.set,
            [("cache-status", "edge; hit; ttl=42".to_string())]
        );
        let timing = ("server-timing", "edge;dur=3, origin;dur=9".to_string());
        assert_eq!(edits.append, [timing]);
        assert!(annotations(None, 100, None, 90).set.is_empty());
        assert_eq!(annotations(None, 100, None, 90).append[0].1, "edge;dur=0");
    }
}
