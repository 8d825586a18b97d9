//! A size-bounded, least-recently-used cache of small asset bodies, kept in the isolate.
//!
//! Serving a hot asset from isolate memory skips the hop to the assets service, the largest
//! per-request cost measured for a Rust worker in front of Workers Static Assets. The cache is
//! generic over the stored value so that the policy is unit-tested natively; the worker stores
//! JavaScript `Uint8Array`s, which never cross into Wasm memory.

use std::collections::HashMap;

/// The cache. Not thread-safe: an isolate runs one request at a time on one thread.
#[derive(Debug)]
pub struct MemoryCache<V> {
    budget: usize,
    max_item: usize,
    used: usize,
    tick: u64,
    items: HashMap<String, (V, usize, u64)>,
}

impl<V> MemoryCache<V> {
    /// A cache holding at most `budget` bytes, each item at most `max_item` bytes.
    pub fn new(budget: usize, max_item: usize) -> Self {
        MemoryCache {
            budget,
            max_item: max_item.min(budget),
            used: 0,
            tick: 0,
            items: HashMap::new(),
        }
    }

    /// Whether an item of `size` bytes would be cached at all.
    pub fn admits(&self, size: usize) -> bool {
        size <= self.max_item
    }

    /// The item under `key`, marking it recently used.
    pub fn get(&mut self, key: &str) -> Option<&V> {
        self.tick += 1;
        let tick = self.tick;
        self.items.get_mut(key).map(|(v, _, used)| {
            *used = tick;
            &*v
        })
    }

    /// Stores `value` of `size` bytes, evicting the least recently used items to make room.
    /// Returns false (and stores nothing) when the item is too large to admit.
    pub fn insert(&mut self, key: String, value: V, size: usize) -> bool {
        if !self.admits(size) {
            return false;
        }
        if let Some((_, old, _)) = self.items.remove(&key) {
            self.used -= old;
        }
        while self.used + size > self.budget {
            let Some(oldest) = self
                .items
                .iter()
                .min_by_key(|(_, (_, _, t))| *t)
                .map(|(k, _)| k.clone())
            else {
                break;
            };
            if let Some((_, s, _)) = self.items.remove(&oldest) {
                self.used -= s;
            }
        }
        self.tick += 1;
        self.used += size;
        self.items.insert(key, (value, size, self.tick));
        true
    }

    /// Forgets `key`.
    pub fn remove(&mut self, key: &str) {
        if let Some((_, size, _)) = self.items.remove(key) {
            self.used -= size;
        }
    }

    /// Bytes currently held.
    pub fn used(&self) -> usize {
        self.used
    }

    /// Items currently held.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// True when nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stays_within_budget_evicting_least_recently_used() {
        let mut c = MemoryCache::new(100, 60);
        assert!(c.insert("a".into(), 1, 40));
        assert!(c.insert("b".into(), 2, 40));
        assert_eq!(c.get("a"), Some(&1)); // a is now more recent than b
        assert!(c.insert("c".into(), 3, 40));
        assert_eq!(c.used(), 80);
        assert_eq!(c.get("b"), None, "least recently used was evicted");
        assert_eq!(c.get("a"), Some(&1));
        assert_eq!(c.get("c"), Some(&3));
    }

    #[test]
    fn refuses_items_over_the_limit_and_replaces_in_place() {
        let mut c = MemoryCache::new(100, 60);
        assert!(!c.insert("big".into(), 0, 61));
        assert!(c.is_empty());
        assert!(c.insert("a".into(), 1, 50));
        assert!(c.insert("a".into(), 2, 30));
        assert_eq!((c.used(), c.len()), (30, 1));
        let mut off = MemoryCache::new(0, 10);
        assert!(
            !off.insert("x".into(), 1, 1),
            "a zero budget disables caching"
        );
    }
}
