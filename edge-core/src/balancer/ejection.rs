//! Passive health (outlier detection, after Envoy): consecutive failures of real traffic eject an
//! origin for a while; each new ejection lasts longer, up to a cap.

/// When failures eject and for how long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutlierPolicy {
    /// Consecutive failures (connect errors, timeouts, 502/503/504) that eject.
    pub consecutive_failures: u32,
    /// First ejection's length; the n-th lasts n times as long.
    pub base_ejection_ms: u64,
    /// Longest ejection.
    pub max_ejection_ms: u64,
}

/// One origin's passive health.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outlier {
    /// Failures since the last success.
    pub consecutive_failures: u32,
    /// Ejected until this time (ms since the epoch).
    pub ejected_until: Option<u64>,
    /// Ejections so far (lengthens the next one); forgotten after a success once a full maximum
    /// ejection time has passed without one.
    pub ejections: u32,
    last_ejection_end: u64,
}

impl Outlier {
    /// Whether the origin may take traffic at `now_ms`.
    pub fn available(&self, now_ms: u64) -> bool {
        self.ejected_until.is_none_or(|until| now_ms >= until)
    }

    /// A request succeeded.
    pub fn record_success(&mut self, now_ms: u64, policy: &OutlierPolicy) {
        self.consecutive_failures = 0;
        if self.ejections > 0
            && now_ms.saturating_sub(self.last_ejection_end) > policy.max_ejection_ms
        {
            self.ejections = 0;
        }
    }

    /// A request failed; returns true when this failure ejected the origin.
    pub fn record_failure(&mut self, now_ms: u64, policy: &OutlierPolicy) -> bool {
        self.consecutive_failures += 1;
        if self.consecutive_failures < policy.consecutive_failures || !self.available(now_ms) {
            return false;
        }
        self.ejections += 1;
        let length =
            (policy.base_ejection_ms * u64::from(self.ejections)).min(policy.max_ejection_ms);
        self.ejected_until = Some(now_ms + length);
        self.last_ejection_end = now_ms + length;
        self.consecutive_failures = 0;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: OutlierPolicy = OutlierPolicy {
        consecutive_failures: 3,
        base_ejection_ms: 10_000,
        max_ejection_ms: 300_000,
    };

    #[test]
    fn consecutive_failures_eject_with_growing_backoff() {
        let p = POLICY;
        let mut o = Outlier::default();
        assert!(!o.record_failure(0, &p));
        assert!(!o.record_failure(0, &p));
        assert!(o.record_failure(0, &p), "third consecutive failure ejects");
        assert!(!o.available(9_999));
        assert!(o.available(10_000));
        for _ in 0..3 {
            o.record_failure(10_000, &p);
        }
        assert!(!o.available(29_999), "second ejection lasts twice as long");
        assert!(o.available(30_000));
    }

    #[test]
    fn a_success_resets_the_count_and_long_health_forgets_ejections() {
        let p = POLICY;
        let mut o = Outlier::default();
        o.record_failure(0, &p);
        o.record_failure(0, &p);
        o.record_success(0, &p);
        assert!(!o.record_failure(0, &p), "count restarted");
        let mut o = Outlier::default();
        for _ in 0..3 {
            o.record_failure(0, &p);
        }
        o.record_success(10_000 + p.max_ejection_ms + 1, &p);
        assert_eq!(o.ejections, 0);
    }

    #[test]
    fn backoff_is_capped() {
        let p = OutlierPolicy {
            consecutive_failures: 1,
            base_ejection_ms: 100_000,
            max_ejection_ms: 250_000,
        };
        let mut o = Outlier::default();
        let mut now = 0;
        let mut lengths = Vec::new();
        for _ in 0..5 {
            assert!(o.record_failure(now, &p));
            lengths.push(o.ejected_until.unwrap() - now);
            now = o.ejected_until.unwrap();
        }
        assert_eq!(lengths, [100_000, 200_000, 250_000, 250_000, 250_000]);
    }
}
