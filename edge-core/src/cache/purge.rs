//! Soft purges by tag (and by URL, through each entry's implicit URL tag) in O(1): a purge
//! records when it happened for its tag; an entry stored before the latest purge of any of its
//! tags is stale (it may still answer while the origins fail). The log is kept by the
//! coordinator and copied into every isolate; entries older than the longest a copy is kept
//! are forgotten. The log is bounded ([`MAX_TAGS`]): past it, the oldest records are folded into
//! one time before which every entry counts as purged — more copies refetched, never a purge
//! lost (every successful public POST records its URL's tag, so a client could otherwise grow
//! it until the coordinator can no longer store it).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The most tags the log records; past it, it keeps the newest [`KEPT_TAGS`].
pub const MAX_TAGS: usize = 4_000;
/// The tags a full log keeps (the rest folded into [`PurgeLog::floor`]).
pub const KEPT_TAGS: usize = 3_000;

/// When each tag was last purged (ms since the epoch).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PurgeLog {
    /// Tag → time of its last purge.
    pub tags: BTreeMap<String, u64>,
    /// Every entry stored at or before this time counts as purged: the latest of the records
    /// folded away when the log was full (0: none).
    #[serde(default)]
    pub floor: u64,
}

impl PurgeLog {
    /// Records a purge of `tags` at `now_ms`.
    pub fn purge<'a>(&mut self, tags: impl IntoIterator<Item = &'a str>, now_ms: u64) {
        for t in tags {
            let at = self.tags.entry(t.to_string()).or_insert(0);
            *at = (*at).max(now_ms);
        }
        self.bound();
    }

    /// Whether an entry with `tags` stored at `stored_ms` was purged since.
    pub fn purged(&self, tags: &[String], stored_ms: u64) -> bool {
        (self.floor > 0 && stored_ms <= self.floor)
            || tags
                .iter()
                .any(|t| self.tags.get(t).is_some_and(|&at| at >= stored_ms))
    }

    /// Forgets purges older than `horizon_ms` before `now_ms` (no stored copy is that old).
    pub fn forget_before(&mut self, now_ms: u64, horizon_ms: u64) {
        let cut = now_ms.saturating_sub(horizon_ms);
        self.tags.retain(|_, at| *at >= cut);
    }

    /// Merges another copy (the newest time of each tag wins).
    pub fn merge(&mut self, other: &PurgeLog) {
        for (t, &at) in &other.tags {
            let e = self.tags.entry(t.clone()).or_insert(0);
            *e = (*e).max(at);
        }
        self.floor = self.floor.max(other.floor);
        self.bound();
    }

    /// Past [`MAX_TAGS`], folds the oldest records into [`PurgeLog::floor`] until
    /// [`KEPT_TAGS`] remain (conservative: what they purged stays purged).
    fn bound(&mut self) {
        if self.tags.len() <= MAX_TAGS {
            return;
        }
        // The earliest time at or before which `folded` records lie (a bisection over times:
        // a sort here cost the worker's Wasm 2 KB gzip).
        let folded = self.tags.len() - KEPT_TAGS;
        let at_or_before = |t: u64| self.tags.values().filter(|&&at| at <= t).count();
        let (mut lo, mut hi) = (0u64, self.tags.values().copied().max().unwrap_or(0));
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if at_or_before(mid) >= folded {
                hi = mid;
            } else {
                lo = mid + 1;
            }
        }
        let cut = lo;
        self.floor = self.floor.max(cut);
        self.tags.retain(|_, at| *at > cut);
    }
}

/// Splits a tag header (`X-Cache-Tags: a, b c`) into tags.
pub fn split_tags(value: &str) -> impl Iterator<Item = &str> {
    value
        .split([',', ' '])
        .map(str::trim)
        .filter(|t| !t.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn purges_are_by_time_per_tag() {
        let mut log = PurgeLog::default();
        let tags = vec!["product-1".to_string(), "url:abc".to_string()];
        assert!(!log.purged(&tags, 1000));
        log.purge(["product-1"], 2000);
        assert!(log.purged(&tags, 1000), "stored before the purge");
        assert!(!log.purged(&tags, 2001), "stored after");
        assert!(!log.purged(&["other".to_string()], 0));
        log.purge(["product-1"], 1500);
        assert_eq!(log.tags["product-1"], 2000, "never goes back");
        let mut other = PurgeLog::default();
        other.purge(["url:abc"], 3000);
        log.merge(&other);
        assert!(log.purged(&tags, 2500));
        log.forget_before(10_000, 7_500);
        assert_eq!(log.tags.len(), 1);
        assert_eq!(split_tags(" a, b  c,").collect::<Vec<_>>(), ["a", "b", "c"]);
    }

    #[test]
    fn a_full_log_folds_its_oldest_records_and_loses_no_purge() {
        let mut log = PurgeLog::default();
        let names: Vec<String> = (0..=MAX_TAGS).map(|i| format!("t{i}")).collect();
        for (i, t) in names.iter().enumerate() {
            log.purge([t.as_str()], 1000 + i as u64);
        }
        assert!(log.tags.len() <= KEPT_TAGS, "{}", log.tags.len());
        assert!(log.floor > 1000);
        for (i, t) in names.iter().enumerate() {
            let stored = 1000 + i as u64; // stored just as its tag was purged
            assert!(
                log.purged(std::slice::from_ref(t), stored),
                "{t}: still purged"
            );
        }
        assert!(
            !log.purged(&["t1".to_string()], log.floor + 1),
            "stored after the floor"
        );
        let mut other = PurgeLog::default();
        other.merge(&log);
        assert_eq!(other.floor, log.floor, "the floor travels with the log");
        let old: PurgeLog = serde_json::from_str(r#"{"tags":{"a":5}}"#).unwrap();
        assert_eq!(old.floor, 0, "a log stored before the floor existed");
    }
}
