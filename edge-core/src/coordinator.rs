//! What the coordinator (one Durable Object every isolate shares) keeps and hands out: the
//! active-health verdicts it probes for, and the cache's purge log. Isolates copy a snapshot at
//! most once per poll interval, in the background: never a coordinator call per request.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::balancer::health::PoolVerdicts;
use crate::cache::purge::PurgeLog;

/// What an isolate copies from the coordinator.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    /// The coordinator's clock when it answered, ms since the epoch.
    pub now_ms: u64,
    /// Verdicts of the active health checks, by pool.
    pub verdicts: BTreeMap<String, PoolVerdicts>,
    /// When each cache tag was last purged.
    pub purges: PurgeLog,
}

/// When the coordinator's alarm should next fire: the next probe round or the next job event
/// (a run due, a running one's deadline), whichever is first; never in the past.
pub fn next_alarm(
    now_ms: u64,
    next_probe_ms: Option<u64>,
    next_job_ms: Option<u64>,
) -> Option<u64> {
    let first = match (next_probe_ms, next_job_ms) {
        (Some(p), Some(j)) => Some(p.min(j)),
        (p, j) => p.or(j),
    };
    first.map(|t| t.max(now_ms))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alarms() {
        assert_eq!(next_alarm(1000, Some(3000), None), Some(3000));
        assert_eq!(next_alarm(1000, Some(3000), Some(1500)), Some(1500));
        assert_eq!(
            next_alarm(1000, None, Some(500)),
            Some(1000),
            "an overdue job: at once"
        );
        assert_eq!(next_alarm(1000, None, None), None);
        let s = Snapshot::default();
        let back: Snapshot = serde_json::from_str(&serde_json::to_string(&s).unwrap()).unwrap();
        assert_eq!(back, s);
    }
}
