//! What to do with a stored response for a request: serve it (fresh, or stale by grace), or go
//! to the origin (conditionally when it has a validator), keeping it for a stale-if-error
//! answer. Purged entries are stale (soft purge) and never served while-revalidate.

use super::entry::Entry;
use super::freshness::Facts;
use super::request::CacheRequest;
use super::settings::CacheSettings;

/// Why a stale response is served without asking the origin first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StaleWhy {
    /// Within `stale-while-revalidate`: revalidate in the background.
    WhileRevalidate,
    /// Every origin of the route is known down: within `stale-if-error` (or the default grace).
    OriginsDown,
    /// The request allows it (`max-stale`).
    MaxStale,
}

impl StaleWhy {
    /// The `Cache-Status` detail token.
    pub fn token(self) -> &'static str {
        match self {
            StaleWhy::WhileRevalidate => "stale-while-revalidate",
            StaleWhy::OriginsDown => "origins-down",
            StaleWhy::MaxStale => "max-stale",
        }
    }
}

/// The decision for a request that found a stored response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Use {
    /// Serve it: it is fresh.
    Fresh {
        /// Current age, seconds.
        age: u64,
        /// Freshness left, seconds.
        ttl: i64,
    },
    /// Serve it although stale.
    Stale {
        /// Current age, seconds.
        age: u64,
        /// Freshness left (negative), seconds.
        ttl: i64,
        /// Why that is allowed.
        why: StaleWhy,
    },
    /// Ask the origin: conditionally when the stored response has a validator.
    Forward {
        /// Send `If-None-Match`/`If-Modified-Since` from the stored response.
        revalidate: bool,
        /// If the origin fails, the stored response may still answer (stale-if-error, grace).
        stale_on_error: bool,
    },
}

/// The stale window for errors: `stale-if-error`, else the default grace (none when stale use is
/// forbidden).
fn error_window(facts: &Facts, settings: &CacheSettings) -> Option<u64> {
    if facts.no_stale {
        return None;
    }
    facts
        .stale_if_error
        .or((settings.default_grace_s > 0).then_some(settings.default_grace_s))
}

/// Decides for `req` about `entry` at `now_ms`; `purged` when a purge since it was stored made it
/// stale, `origins_down` when no origin of the route can be tried now.
pub fn decide(
    entry: &Entry,
    req: &CacheRequest,
    settings: &CacheSettings,
    now_ms: u64,
    purged: bool,
    origins_down: bool,
) -> Use {
    let facts = entry.facts();
    let age = facts.current_age(entry.timing, now_ms);
    let lifetime = if purged {
        0
    } else {
        entry.lifetime(&facts, settings)
    };
    let ttl = lifetime as i64 - age as i64;
    let staleness = age.saturating_sub(lifetime);
    let (max_age, min_fresh, max_stale) = req.limits();
    let revalidate = entry.has_validator();
    let on_error = error_window(&facts, settings).is_some_and(|w| staleness <= w);
    let forward = Use::Forward {
        revalidate,
        stale_on_error: on_error,
    };
    let client_refuses = req.cc.has("no-cache")
        || max_age.is_some_and(|m| age > m)
        || min_fresh.is_some_and(|m| ttl < m as i64);
    if client_refuses || facts.no_cache {
        return forward;
    }
    if ttl > 0 {
        return Use::Fresh { age, ttl };
    }
    let stale = |why| Use::Stale { age, ttl, why };
    if !facts.no_stale && !purged {
        if facts.stale_while_revalidate.is_some_and(|w| staleness <= w) {
            return stale(StaleWhy::WhileRevalidate);
        }
        if max_stale.is_some_and(|m| staleness <= m) {
            return stale(StaleWhy::MaxStale);
        }
    }
    if origins_down && on_error {
        return stale(StaleWhy::OriginsDown);
    }
    forward
}

/// Whether a stored response may answer after the origin failed, at `now_ms` (the failure may
/// have taken a while).
pub fn stale_on_error(
    entry: &Entry,
    settings: &CacheSettings,
    now_ms: u64,
    purged: bool,
) -> Option<(u64, i64)> {
    let facts = entry.facts();
    let age = facts.current_age(entry.timing, now_ms);
    let lifetime = if purged {
        0
    } else {
        entry.lifetime(&facts, settings)
    };
    let staleness = age.saturating_sub(lifetime);
    let w = error_window(&facts, settings)?;
    (staleness <= w).then_some((age, lifetime as i64 - age as i64))
}

#[cfg(test)]
mod tests;
