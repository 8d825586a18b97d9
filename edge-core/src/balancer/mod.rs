//! Choosing an origin: the pool model, steering policies, passive health (ejection), active
//! health verdicts, in-flight accounting, affinity tokens and the retry rules. Everything here
//! is plain state and arithmetic; time and randomness are passed in.

pub mod affinity;
pub mod ejection;
pub mod health;
pub mod in_flight;
pub mod ketama;
pub mod pool;
pub mod retry;
pub mod selection;

use std::collections::BTreeMap;

use ejection::{Outlier, OutlierPolicy};
use health::PoolVerdicts;
use in_flight::InFlight;
use ketama::Ring;
pub use pool::{HashOn, Origin, Pool, Steering};

/// What one isolate knows about one pool between requests.
#[derive(Debug, Clone)]
pub struct PoolState {
    /// Smooth weighted round-robin's running weights.
    pub current: Vec<i64>,
    /// Requests in flight to each origin from this isolate.
    pub in_flight: InFlight,
    /// Passive health of each origin.
    pub outliers: Vec<Outlier>,
    /// The hash ring, for `Steering::Hash` pools.
    pub ring: Option<Ring>,
}

/// Every pool's state, by pool name.
pub type PoolStates = BTreeMap<String, PoolState>;

/// Fresh state for every pool of a configuration.
pub fn pool_states(pools: &BTreeMap<String, Pool>) -> PoolStates {
    pools
        .iter()
        .map(|(name, pool)| (name.clone(), PoolState::new(pool)))
        .collect()
}

impl PoolState {
    /// Fresh state for `pool`.
    pub fn new(pool: &Pool) -> Self {
        let n = pool.origins.len();
        PoolState {
            current: vec![0; n],
            in_flight: InFlight::new(n),
            outliers: vec![Outlier::default(); n],
            ring: matches!(pool.steering, Steering::Hash(_)).then(|| {
                Ring::new(
                    &pool
                        .origins
                        .iter()
                        .map(|o| (o.url.as_str(), o.weight))
                        .collect::<Vec<_>>(),
                )
            }),
        }
    }

    /// Which origins may take a new request now: enabled, not ejected, not marked down by the
    /// active checks (`verdicts`, when the pool has them), not already tried.
    pub fn available(
        &self,
        pool: &Pool,
        now_ms: u64,
        tried: &[usize],
        verdicts: Option<&PoolVerdicts>,
    ) -> Vec<bool> {
        pool.origins
            .iter()
            .enumerate()
            .map(|(i, o)| {
                let actively_up = match (verdicts, &pool.health) {
                    (Some(v), Some(check)) => v.is_up(&affinity::origin_id(&o.url), now_ms, check),
                    _ => true,
                };
                o.enabled
                    && actively_up
                    && self.outliers.get(i).is_none_or(|x| x.available(now_ms))
                    && !tried.contains(&i)
            })
            .collect()
    }

    /// Picks an origin among `available` by the pool's policy. `key` is the hash key (cookie,
    /// header or client IP) for hash pools; `random` a fresh random number.
    pub fn pick(
        &mut self,
        pool: &Pool,
        available: &[bool],
        key: Option<&[u8]>,
        now_ms: u64,
        random: u64,
    ) -> Option<usize> {
        let weights: Vec<u32> = pool.origins.iter().map(|o| o.weight).collect();
        match &pool.steering {
            Steering::WeightedRoundRobin => {
                selection::smooth_weighted_round_robin(&mut self.current, &weights, available)
            }
            Steering::WeightedRandom => selection::weighted_random(&weights, available, random),
            Steering::LeastOutstanding => selection::least_outstanding(
                &self.in_flight.counts(now_ms),
                &weights,
                available,
                random,
            ),
            Steering::Hash(_) => match (key, &self.ring) {
                (Some(k), Some(ring)) => ring.pick(ketama::hash(k), available),
                // No key (no cookie yet): spread like round-robin.
                _ => selection::smooth_weighted_round_robin(&mut self.current, &weights, available),
            },
        }
    }

    /// Records the outcome of a request to origin `i`; true when it got the origin ejected.
    pub fn record(&mut self, i: usize, failed: bool, now_ms: u64, policy: &OutlierPolicy) -> bool {
        let Some(o) = self.outliers.get_mut(i) else {
            return false;
        };
        if failed {
            o.record_failure(now_ms, policy)
        } else {
            o.record_success(now_ms, policy);
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pool(steering: Steering, weights: &[u32]) -> Pool {
        Pool {
            steering,
            sticky: false,
            health: None,
            origins: weights
                .iter()
                .enumerate()
                .map(|(i, &w)| Origin {
                    url: format!("http://127.0.0.1:{}", 8001 + i),
                    weight: w,
                    enabled: true,
                })
                .collect(),
        }
    }

    const POLICY: OutlierPolicy = OutlierPolicy {
        consecutive_failures: 3,
        base_ejection_ms: 10_000,
        max_ejection_ms: 300_000,
    };

    #[test]
    fn drained_ejected_and_tried_origins_are_not_available() {
        let mut p = pool(Steering::WeightedRoundRobin, &[1, 1, 1]);
        p.origins[0].enabled = false;
        let mut s = PoolState::new(&p);
        for _ in 0..POLICY.consecutive_failures {
            s.record(1, true, 0, &POLICY);
        }
        assert_eq!(s.available(&p, 1, &[], None), [false, false, true]);
        assert_eq!(s.available(&p, 1, &[2], None), [false, false, false]);
        assert_eq!(s.pick(&p, &[false, false, false], None, 0, 0), None);
        assert!(
            !s.record(9, true, 0, &POLICY),
            "an unknown origin is ignored"
        );
    }

    #[test]
    fn hash_pools_keep_a_key_on_one_origin() {
        let p = pool(
            Steering::Hash(HashOn::Cookie("PHPSESSID".into())),
            &[1, 1, 1],
        );
        let mut s = PoolState::new(&p);
        let all = [true, true, true];
        let first = s.pick(&p, &all, Some(b"session-42"), 0, 1).unwrap();
        for r in 0..20 {
            assert_eq!(s.pick(&p, &all, Some(b"session-42"), 0, r), Some(first));
        }
    }

    #[test]
    fn least_outstanding_counts_tickets_until_they_end_or_expire() {
        let p = pool(Steering::LeastOutstanding, &[1, 1]);
        let mut s = PoolState::new(&p);
        let all = [true, true];
        let t = s.in_flight.begin(0, 0, 5_000);
        assert_eq!(s.pick(&p, &all, None, 0, 0), Some(1));
        assert!(s.pick(&p, &all, None, 5_000, 0).is_some());
        s.in_flight.end(t);
        let t1 = s.in_flight.begin(1, 0, 5_000);
        assert_eq!(s.pick(&p, &all, None, 1, 0), Some(0));
        // A cancelled request that never ended its ticket stops counting at its deadline.
        assert_eq!(s.in_flight.count(1, 5_000), 0);
        s.in_flight.end(t1);
    }
}
