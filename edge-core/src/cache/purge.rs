//! Soft purges by tag (and by URL, through each entry's implicit URL tag) in O(1): a purge
//! records when it happened for its tag; an entry stored before the latest purge of any of its
//! tags is stale (it may still answer while the origins fail). The log is kept by the
//! coordinator and copied into every isolate; entries older than the longest a copy is kept
//! are forgotten.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// When each tag was last purged (ms since the epoch).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PurgeLog {
    /// Tag → time of its last purge.
    pub tags: BTreeMap<String, u64>,
}

impl PurgeLog {
    /// Records a purge of `tags` at `now_ms`.
    pub fn purge<'a>(&mut self, tags: impl IntoIterator<Item = &'a str>, now_ms: u64) {
        for t in tags {
            let at = self.tags.entry(t.to_string()).or_insert(0);
            *at = (*at).max(now_ms);
        }
    }

    /// Whether an entry with `tags` stored at `stored_ms` was purged since.
    pub fn purged(&self, tags: &[String], stored_ms: u64) -> bool {
        tags.iter()
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
}
