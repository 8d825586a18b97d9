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

/// Purges older than this are forgotten: no stored copy is kept longer (see `keep_for_s`).
pub const PURGE_HORIZON_MS: u64 = 366 * 86_400 * 1000;

/// Alarms this close to a probe round's time run it (the runtime fires them a little early).
const EARLY_MS: u64 = 20;

/// What an isolate (or the cron trigger) asks of the coordinator, over `fetch`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ask {
    /// `GET /snapshot`: verdicts and purges.
    Snapshot,
    /// `GET /book`: the jobs' run book.
    Book,
    /// `POST /purge` with a JSON array of tags; answered with the snapshot after it.
    Purge(Vec<String>),
    /// `POST /arm`: keep the alarm armed; answered with the snapshot.
    Arm,
}

impl Ask {
    /// Reads a request to the coordinator; an error is the status and why.
    pub fn parse(method: &str, path: &str, body: &str) -> Result<Ask, (u16, String)> {
        match (method, path) {
            ("GET", "/snapshot") => Ok(Ask::Snapshot),
            ("GET", "/book") => Ok(Ask::Book),
            ("POST", "/arm") => Ok(Ask::Arm),
            ("POST", "/purge") => serde_json::from_str(body)
                .map(Ask::Purge)
                .map_err(|e| (400, format!("a purge is a JSON array of tags: {e}"))),
            _ => Err((404, format!("no {method} {path} here"))),
        }
    }
}

impl Snapshot {
    /// Records a purge of `tags` at `now_ms`, forgetting purges past the horizon.
    pub fn record_purge(&mut self, tags: &[String], now_ms: u64) {
        self.purges.purge(tags.iter().map(String::as_str), now_ms);
        self.purges.forget_before(now_ms, PURGE_HORIZON_MS);
    }

    /// The snapshot as an isolate gets it: JSON, stamped with the coordinator's clock.
    pub fn answer(&self, now_ms: u64) -> String {
        let mut snap = self.clone();
        snap.now_ms = now_ms;
        serde_json::to_string(&snap).unwrap_or_default()
    }
}

/// Whether an alarm at `now_ms` runs a probe round due at `next_probe_ms`.
pub fn probe_due(now_ms: u64, next_probe_ms: u64) -> bool {
    now_ms + EARLY_MS >= next_probe_ms
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
        assert!(probe_due(1000, 1015) && probe_due(1000, 900) && !probe_due(1000, 1100));
    }

    #[test]
    fn asks() {
        assert_eq!(Ask::parse("GET", "/snapshot", ""), Ok(Ask::Snapshot));
        assert_eq!(Ask::parse("GET", "/book", ""), Ok(Ask::Book));
        assert_eq!(Ask::parse("POST", "/arm", ""), Ok(Ask::Arm));
        assert_eq!(
            Ask::parse("POST", "/purge", r#"["a","b"]"#),
            Ok(Ask::Purge(vec!["a".into(), "b".into()]))
        );
        assert_eq!(Ask::parse("POST", "/purge", "{").unwrap_err().0, 400);
        assert_eq!(Ask::parse("GET", "/purge", "").unwrap_err().0, 404);
        assert_eq!(Ask::parse("DELETE", "/snapshot", "").unwrap_err().0, 404);
    }

    #[test]
    fn purges_are_recorded_and_the_old_forgotten() {
        let mut s = Snapshot::default();
        s.record_purge(&["old".into()], 1000);
        s.record_purge(&["new".into()], 1000 + PURGE_HORIZON_MS + 1);
        assert!(s.purges.purged(&["new".into()], 0));
        assert!(!s.purges.purged(&["old".into()], 0), "past the horizon");
        let v: serde_json::Value = serde_json::from_str(&s.answer(42)).unwrap();
        assert_eq!(v["now_ms"], 42);
    }
}
