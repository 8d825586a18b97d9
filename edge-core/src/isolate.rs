//! What an isolate keeps between requests, and its initial values: built once from the
//! validated configuration, the secrets and the manifest index's root (after checking that they
//! fit together). The glue adds only the runtime's handles (the ASSETS fetcher, the coordinator
//! namespace). `F` is a cached file's bytes and `H` a hot cached page, as the runtime holds them.

use std::borrow::Cow;
use std::cell::RefCell;
use std::rc::Rc;

use cdn_manifest::{Index, Root};

use crate::balancer::{pool_states, PoolStates};
use crate::cache::coalesce::Coalescer;
use crate::cache::counters::Counters;
use crate::config::{Config, ConfigError, Environment, Secrets};
use crate::coordinator::Snapshot;
use crate::header_edits::{only_present, HeaderEdits};
use crate::memory_cache::MemoryCache;
use crate::origin_auth::OriginKey;
use crate::proxy::log_batch::LogBatch;

/// Largest hot cached page kept in isolate memory, bytes.
pub const HOT_MAX_ITEM: usize = 1 << 20;

/// Everything an isolate loads once.
#[derive(Debug)]
pub struct Isolate<F, H> {
    /// The validated configuration (`EDGE`).
    pub config: Config,
    /// The index's root: which shard holds a path. Shards load on first use, each once.
    pub root: Root,
    /// The shards loaded so far, by number.
    pub shards: RefCell<Vec<Option<Rc<Index>>>>,
    /// Small asset files in isolate memory.
    pub cache: RefCell<MemoryCache<F>>,
    /// Per-pool steering and passive-health state, by pool name.
    pub pools: RefCell<PoolStates>,
    /// The `EDGE_ORIGIN_KEY` secret that signs requests to origins, keyed.
    pub origin_key: Option<OriginKey>,
    /// The `EDGE_HEALTH_TOKEN` secret that opens `/__edge/…`.
    pub health_token: Option<String>,
    /// The `EDGE_COOKIE_KEY` secret that signs affinity and read-your-writes cookies.
    pub cookie_key: Vec<u8>,
    /// Every configured origin URL (their own addresses are never shown to clients).
    pub origin_urls: Vec<String>,
    /// This isolate's copy of the coordinator's snapshot (verdicts, purge log), and when it was
    /// last refreshed.
    pub coord: RefCell<(Snapshot, u64)>,
    /// Hot cached pages (and Vary markers) in isolate memory, in front of the Cache API.
    pub hot: RefCell<MemoryCache<H>>,
    /// Cache misses being fetched in this isolate.
    pub coalescer: RefCell<Coalescer>,
    /// What the cache did in this isolate.
    pub counters: RefCell<Counters>,
    /// The cache's own response fields (tags, purges): never sent to clients.
    pub cache_fields: Vec<String>,
    /// Request log lines not yet written.
    pub log: RefCell<LogBatch>,
}

impl<F, H> Isolate<F, H> {
    /// The isolate's state from what it loaded; an error names what the configuration needs
    /// and the environment lacks (a secret, the coordinator binding, the manifest's path).
    pub fn new(
        config: Config,
        secrets: Secrets,
        root: Root,
        coordinator_bound: bool,
    ) -> Result<Self, ConfigError> {
        let environment = Environment::at_load(&secrets, coordinator_bound, root.public_path());
        config.check_environment(&environment)?;
        let assets = &config.assets;
        Ok(Isolate {
            pools: RefCell::new(pool_states(&config.pools)),
            origin_urls: config.origin_urls(),
            origin_key: secrets.origin_key.as_deref().map(OriginKey::new),
            health_token: secrets.health_token,
            cookie_key: secrets.cookie_key,
            coord: RefCell::new((Snapshot::default(), 0)),
            coalescer: RefCell::new(Coalescer::default()),
            hot: RefCell::new(MemoryCache::new(config.cache_memory_bytes, HOT_MAX_ITEM)),
            counters: RefCell::new(Counters::default()),
            cache_fields: config.cache_fields(),
            log: RefCell::new(LogBatch::new(config.log_batch, config.log_flush_ms)),
            shards: RefCell::new(vec![None; root.shard_count()]),
            root,
            cache: RefCell::new(MemoryCache::new(
                assets.memory_cache_bytes,
                assets.memory_cache_max_file,
            )),
            config,
        })
    }

    /// Purges `tags` in this isolate's copy of the purge log at once, at `now_ms` (the
    /// coordinator spreads the purge to the other isolates).
    pub fn purge_here(&self, tags: &[String], now_ms: u64) {
        let mut coord = self.coord.borrow_mut();
        coord
            .0
            .purges
            .purge(tags.iter().map(String::as_str), now_ms);
    }

    /// Adds a request's log `line` to the isolate's batch; the text to write now. A line for a
    /// 5xx or for an answer the edge gave itself (`edge_error`) goes at once, with what is held.
    pub fn log_request(&self, line: &str, status: u16, edge_error: bool) -> Option<String> {
        let urgent = edge_error || status >= 500;
        self.log.borrow_mut().push(line, urgent)
    }

    /// Takes a snapshot from the coordinator (see [`Snapshot::adopt`]).
    pub fn adopt(&self, snap: Snapshot) {
        self.coord.borrow_mut().0.adopt(snap);
    }

    /// What the client may see of an origin's response whose headers `get` reads: less what
    /// would reveal the origin and the cache's own fields, a redirect to an origin's address
    /// pointed at `public_origin`, plus the plan's `set_cookies`.
    pub fn client_edits(
        &self,
        get: impl Fn(&str) -> Option<String>,
        public_origin: &str,
        set_cookies: &[String],
    ) -> HeaderEdits {
        let response = &self.config.response;
        let mut edits = response.edits(&get, &self.origin_urls, public_origin);
        let cache_fields = self.cache_fields.iter().map(|f| Cow::Owned(f.clone()));
        edits
            .remove
            .extend(only_present(cache_fields.collect(), &get));
        let cookies = set_cookies.iter().map(|c| ("set-cookie", c.clone()));
        edits.append.extend(cookies);
        edits
    }
}

#[cfg(test)]
mod tests;
