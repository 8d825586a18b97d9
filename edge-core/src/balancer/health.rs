//! Active health: what a probe must see, and the verdict state machine with consecutive
//! up/down thresholds. Verdicts carry their time, so a stale one (no probe for `ttl_s`) is
//! ignored rather than pinning traffic forever.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// How a pool's origins are probed (from the cron trigger).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthCheck {
    /// Request method (GET or HEAD).
    pub method: String,
    /// Path (and query) probed on every origin.
    pub path: String,
    /// Extra request headers.
    pub headers: Vec<(String, String)>,
    /// Time allowed for an answer.
    pub timeout_ms: u64,
    /// Statuses that count as up.
    pub expected_codes: Vec<u16>,
    /// A substring the body must contain, if set.
    pub expected_body: Option<String>,
    /// Consecutive successes that make a down origin up.
    pub healthy_threshold: u32,
    /// Consecutive failures that make an up origin down.
    pub unhealthy_threshold: u32,
    /// How long a verdict stands without a new probe.
    pub ttl_s: u64,
}

/// One origin's active-health verdict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verdict {
    /// Whether the origin takes traffic.
    pub healthy: bool,
    /// Consecutive successful probes.
    pub ok_streak: u32,
    /// Consecutive failed probes.
    pub fail_streak: u32,
    /// When `healthy` last changed (ms since the epoch).
    pub since_ms: u64,
    /// When the last probe ran.
    pub checked_ms: u64,
    /// What the last probe saw (`ok`, `status 503`, `timeout`, …).
    pub reason: String,
    /// How long the last probe took, ms.
    #[serde(default)]
    pub latency_ms: Option<u64>,
}

/// The verdicts of one pool, as stored in KV (one key per pool), by origin id.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PoolVerdicts {
    /// Origin id ([`crate::balancer::affinity::origin_id`]) → verdict.
    pub origins: BTreeMap<String, Verdict>,
}

impl Verdict {
    /// A new origin is presumed up until probes say otherwise.
    pub fn new(now_ms: u64) -> Self {
        Verdict {
            healthy: true,
            ok_streak: 0,
            fail_streak: 0,
            since_ms: now_ms,
            checked_ms: now_ms,
            reason: "not probed yet".into(),
            latency_ms: None,
        }
    }

    /// Applies one probe result. Returns true when the verdict flipped.
    pub fn observe(
        &mut self,
        result: Result<(), String>,
        now_ms: u64,
        check: &HealthCheck,
    ) -> bool {
        self.checked_ms = now_ms;
        let before = self.healthy;
        match result {
            Ok(()) => {
                self.ok_streak += 1;
                self.fail_streak = 0;
                self.reason = "ok".into();
                if !self.healthy && self.ok_streak >= check.healthy_threshold {
                    self.healthy = true;
                }
            }
            Err(why) => {
                self.fail_streak += 1;
                self.ok_streak = 0;
                self.reason = why;
                if self.healthy && self.fail_streak >= check.unhealthy_threshold {
                    self.healthy = false;
                }
            }
        }
        if self.healthy != before {
            self.since_ms = now_ms;
        }
        self.healthy != before
    }

    /// Whether this verdict still stands at `now_ms`.
    pub fn is_fresh(&self, now_ms: u64, check: &HealthCheck) -> bool {
        now_ms.saturating_sub(self.checked_ms) <= check.ttl_s * 1000
    }
}

impl PoolVerdicts {
    /// Whether origin `id` may take traffic: up, or no fresh verdict at all (unknown is up: a
    /// probe that stopped running must not take a pool down).
    pub fn is_up(&self, id: &str, now_ms: u64, check: &HealthCheck) -> bool {
        self.origins
            .get(id)
            .is_none_or(|v| v.healthy || !v.is_fresh(now_ms, check))
    }
}

/// What one probe of one origin gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Probe {
    /// Up (`Ok`) or why not.
    pub result: Result<(), String>,
    /// How long it took, ms.
    pub latency_ms: u64,
}

/// An origin whose verdict changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flip {
    /// The origin's URL.
    pub origin: String,
    /// The new verdict.
    pub healthy: bool,
    /// What the probe that flipped it saw.
    pub reason: String,
}

impl Flip {
    /// The log line for this flip in `pool`.
    pub fn line(&self, pool: &str) -> String {
        serde_json::json!({"event": "health", "pool": pool, "origin": self.origin, "healthy": self.healthy, "reason": self.reason}).to_string()
    }
}

impl PoolVerdicts {
    /// Applies one round of probes at `now_ms`: `results[i]` is what probing `origins[i]` gave.
    /// Origins no longer configured are forgotten. Returns the verdicts that flipped.
    pub fn record_round(
        &mut self,
        origins: &[super::Origin],
        probes: Vec<Probe>,
        now_ms: u64,
        check: &HealthCheck,
    ) -> Vec<Flip> {
        let mut flips = Vec::new();
        for (o, probe) in origins.iter().zip(probes) {
            let v = self
                .origins
                .entry(super::affinity::origin_id(&o.url))
                .or_insert_with(|| Verdict::new(now_ms));
            v.latency_ms = Some(probe.latency_ms);
            if v.observe(probe.result, now_ms, check) {
                flips.push(Flip {
                    origin: o.url.clone(),
                    healthy: v.healthy,
                    reason: v.reason.clone(),
                });
            }
        }
        let ids: Vec<String> = origins
            .iter()
            .map(|o| super::affinity::origin_id(&o.url))
            .collect();
        self.origins.retain(|id, _| ids.contains(id));
        flips
    }
}

/// An isolate's copy of the pools' verdicts, each reused for a while after it was read.
#[derive(Debug, Clone, Default)]
pub struct VerdictCache {
    entries: BTreeMap<String, (PoolVerdicts, u64)>,
}

impl VerdictCache {
    /// The verdicts of `pool` if read less than `max_age_ms` before `now_ms`.
    pub fn fresh(&self, pool: &str, now_ms: u64, max_age_ms: u64) -> Option<&PoolVerdicts> {
        self.entries
            .get(pool)
            .filter(|(_, at)| now_ms.saturating_sub(*at) < max_age_ms)
            .map(|(v, _)| v)
    }

    /// Stores the verdicts of `pool` as read at `now_ms`.
    pub fn store(&mut self, pool: &str, verdicts: PoolVerdicts, now_ms: u64) {
        self.entries.insert(pool.to_string(), (verdicts, now_ms));
    }
}

/// Judges a probe's answer against the check.
pub fn judge(status: u16, body: &str, check: &HealthCheck) -> Result<(), String> {
    if !check.expected_codes.contains(&status) {
        return Err(format!(
            "status {status}, expected {:?}",
            check.expected_codes
        ));
    }
    if let Some(needle) = &check.expected_body {
        if !body.contains(needle.as_str()) {
            return Err(format!("body lacks `{needle}`"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check() -> HealthCheck {
        HealthCheck {
            method: "GET".into(),
            path: "/health".into(),
            headers: vec![],
            timeout_ms: 2000,
            expected_codes: vec![200],
            expected_body: Some("ok".into()),
            healthy_threshold: 2,
            unhealthy_threshold: 3,
            ttl_s: 60,
        }
    }

    #[test]
    fn thresholds_debounce_both_ways() {
        let c = check();
        let mut v = Verdict::new(0);
        assert!(!v.observe(Err("status 503".into()), 1, &c));
        assert!(!v.observe(Err("status 503".into()), 2, &c));
        assert!(
            v.observe(Err("timeout".into()), 3, &c),
            "third failure flips down"
        );
        assert!(!v.healthy);
        assert_eq!((v.since_ms, v.reason.as_str()), (3, "timeout"));
        assert!(!v.observe(Ok(()), 4, &c));
        assert!(
            !v.observe(Err("x".into()), 5, &c),
            "a failure restarts the count"
        );
        assert!(!v.observe(Ok(()), 6, &c));
        assert!(
            v.observe(Ok(()), 7, &c),
            "second consecutive success flips up"
        );
        assert!(v.healthy);
    }

    #[test]
    fn stale_and_unknown_verdicts_do_not_hold_traffic_back() {
        let c = check();
        let mut pv = PoolVerdicts::default();
        let mut down = Verdict::new(0);
        for t in 0..3 {
            down.observe(Err("status 500".into()), t, &c);
        }
        pv.origins.insert("a".into(), down);
        assert!(!pv.is_up("a", 10_000, &c));
        assert!(pv.is_up("a", 2 + 60_001, &c), "stale after ttl");
        assert!(pv.is_up("unknown", 0, &c));
    }

    #[test]
    fn rounds_record_flips_and_forget_removed_origins() {
        let c = check();
        let origins = [
            super::super::Origin {
                url: "http://a".into(),
                weight: 1,
                enabled: true,
            },
            super::super::Origin {
                url: "http://b".into(),
                weight: 1,
                enabled: true,
            },
        ];
        let mut pv = PoolVerdicts::default();
        pv.origins.insert("gone".into(), Verdict::new(0));
        let round = || {
            vec![
                Probe {
                    result: Ok(()),
                    latency_ms: 3,
                },
                Probe {
                    result: Err("timeout".into()),
                    latency_ms: 2000,
                },
            ]
        };
        for t in 0..2 {
            assert!(pv.record_round(&origins, round(), t, &c).is_empty());
        }
        let flips = pv.record_round(&origins, round(), 2, &c);
        assert_eq!(
            flips,
            [Flip {
                origin: "http://b".into(),
                healthy: false,
                reason: "timeout".into()
            }]
        );
        assert!(flips[0].line("p").contains("\"healthy\":false"));
        assert_eq!(pv.origins.len(), 2, "the removed origin is forgotten");
        let b = crate::balancer::affinity::origin_id("http://b");
        assert_eq!(pv.origins[&b].latency_ms, Some(2000));
        assert_eq!(
            pv.origins[&crate::balancer::affinity::origin_id("http://b")].latency_ms,
            Some(2000)
        );
        let mut cache = VerdictCache::default();
        cache.store("p", pv.clone(), 1000);
        assert_eq!(cache.fresh("p", 5999, 5000), Some(&pv));
        assert_eq!(cache.fresh("p", 6000, 5000), None);
        assert_eq!(cache.fresh("q", 1000, 5000), None);
    }

    #[test]
    fn judging_answers() {
        let c = check();
        assert_eq!(judge(200, "ok\n", &c), Ok(()));
        assert!(judge(503, "ok", &c).unwrap_err().contains("status 503"));
        assert!(judge(200, "maintenance", &c)
            .unwrap_err()
            .contains("lacks `ok`"));
    }

    #[test]
    fn verdicts_round_trip_through_json() {
        let mut pv = PoolVerdicts::default();
        pv.origins.insert("a".into(), Verdict::new(5));
        let json = serde_json::to_string(&pv).unwrap();
        assert_eq!(serde_json::from_str::<PoolVerdicts>(&json).unwrap(), pv);
    }
}
