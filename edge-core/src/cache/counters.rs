//! What the cache did in this isolate, for `/__edge/health`.

use serde::Serialize;

use super::status::CacheStatus;

/// Counts of cache outcomes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counters {
    /// Served fresh from the cache.
    pub hit: u64,
    /// Served stale (while revalidating, or because the origins failed or were down).
    pub stale: u64,
    /// Forwarded to the origin.
    pub miss: u64,
    /// Not eligible (session, method, disabled route).
    pub bypass: u64,
    /// Waited for another request's fetch instead of making one.
    pub collapsed: u64,
    /// Responses stored.
    pub stored: u64,
}

impl Counters {
    /// Counts one request with `outcome` (`hit`, `stale`, `miss`, `bypass`).
    pub fn record(&mut self, outcome: &str, collapsed: bool, stored: bool) {
        match outcome {
            "hit" => self.hit += 1,
            "stale" => self.stale += 1,
            "bypass" => self.bypass += 1,
            _ => self.miss += 1,
        }
        self.collapsed += u64::from(collapsed);
        self.stored += u64::from(stored);
    }

    /// Counts one request the cache handled as `status` says.
    pub fn count(&mut self, status: &CacheStatus) {
        self.record(status.outcome(), status.collapsed, status.stored);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts() {
        let mut c = Counters::default();
        c.record("hit", false, false);
        c.record("miss", true, true);
        c.record("stale", false, false);
        c.record("bypass", false, false);
        assert_eq!(
            c,
            Counters {
                hit: 1,
                stale: 1,
                miss: 1,
                bypass: 1,
                collapsed: 1,
                stored: 1
            }
        );
    }

    #[test]
    fn counts_statuses() {
        let mut c = Counters::default();
        c.count(&CacheStatus::hit(5));
        c.count(&CacheStatus::stale_hit(-1, "stale-while-revalidate"));
        c.count(&CacheStatus::bypass("session", Some(200)));
        let collapsed = CacheStatus {
            collapsed: true,
            stored: true,
            ..CacheStatus::forward("uri-miss")
        };
        c.count(&collapsed);
        assert_eq!(
            c,
            Counters {
                hit: 1,
                stale: 1,
                miss: 1,
                bypass: 1,
                collapsed: 1,
                stored: 1
            }
        );
    }
}
