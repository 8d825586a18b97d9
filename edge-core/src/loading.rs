//! Loads that must happen at most once per isolate (the configuration and manifest root, each
//! manifest shard) while concurrent requests wait for them.
//!
//! Each waiting request polls on its own timer rather than awaiting the loader's future: workerd
//! cancels a request whose continuation would run from another request's context. A load whose
//! request was cancelled is presumed abandoned after [`ABANDONED_LOAD_MS`] and claimed anew.

use std::collections::HashMap;
use std::hash::Hash;

/// A load older than this is presumed abandoned (its request was cancelled) and is redone.
pub const ABANDONED_LOAD_MS: u64 = 10_000;

/// Loads in progress, by what they load, with when they started.
#[derive(Debug, Default)]
pub struct LoadGate<K> {
    started: HashMap<K, u64>,
}

impl<K: Hash + Eq> LoadGate<K> {
    /// An empty gate.
    pub fn new() -> Self {
        LoadGate {
            started: HashMap::new(),
        }
    }

    /// Claims the load `what` at `now_ms`: true when this request must do it (then
    /// [`LoadGate::release`] it), false while another request holds it.
    pub fn claim(&mut self, what: K, now_ms: u64) -> bool {
        match self.started.get(&what) {
            Some(&at) if now_ms.saturating_sub(at) < ABANDONED_LOAD_MS => false,
            _ => {
                self.started.insert(what, now_ms);
                true
            }
        }
    }

    /// The load `what` is over (done or failed).
    pub fn release(&mut self, what: &K) {
        self.started.remove(what);
    }
}

/// The log line of a loaded manifest index: its root file and how many shards it has.
pub fn manifest_line(root: &str, shards: usize) -> String {
    serde_json::json!({"event": "manifest", "root": root, "shards": shards}).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_manifest_line_names_the_root_and_its_shards() {
        assert_eq!(
            manifest_line("/assets/cdn-manifest.bin", 3),
            r#"{"event":"manifest","root":"/assets/cdn-manifest.bin","shards":3}"#
        );
    }

    #[test]
    fn one_loader_at_a_time_until_released_or_abandoned() {
        let mut g = LoadGate::new();
        assert!(g.claim(Some(1), 0));
        assert!(!g.claim(Some(1), 5), "held by the first request");
        assert!(g.claim(None, 5), "another load is independent");
        g.release(&Some(1));
        assert!(g.claim(Some(1), 6));
        assert!(
            g.claim(Some(1), 6 + ABANDONED_LOAD_MS),
            "abandoned: claimed anew"
        );
    }
}
