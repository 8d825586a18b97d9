//! The worker's configuration: the `EDGE` object in wrangler.toml `[vars]`, validated.
//!
//! ```toml
//! [vars.EDGE]
//! public_path = "/assets/"              # where the assets live; must match the build
//! manifest = "/cdn-manifest.bin"        # the builder's index, fetched from [assets] once
//! cors_allow_origins = ["*"]            # "*", exact origins, or [] to send no CORS headers
//! not_found_page = "/assets/404.html"   # optional: a manifest path served with status 404
//! memory_cache_bytes = 8388608          # isolate cache for hot small assets (0 disables)
//! memory_cache_max_file = 131072        # largest file kept in it
//! forwarded_header = false              # also send RFC 7239 Forwarded
//! log_requests = true                   # one JSON log line per proxied request
//! log_batch = 32                        # request log lines written together (1: each at once)
//! log_flush_ms = 1000                   # the longest a request log line is held
//! https_redirect = false                # answer plain-HTTP requests with 308 to https://
//! hsts = "max-age=63072000"             # optional Strict-Transport-Security for https responses
//! origin_auth = true                    # sign requests to origins (secret EDGE_ORIGIN_KEY)
//! attempt_timeout_ms = 5000             # one attempt: its response head, once the request is sent (≤ deadline_ms)
//! max_attempts = 3                      # attempts per request (only resendable ones retry)
//! deadline_ms = 10000                   # all attempts together, from the first
//! eject_after_failures = 3              # passive health: consecutive failures that eject
//! eject_base_ms = 10000                 # first ejection; the n-th lasts n times as long
//! eject_max_ms = 300000                 # longest ejection
//! deny_internal = true                  # 404 for /_profiler, /_wdt, /_fragment, dotfiles, *.php
//! coordinator_poll_ms = 1000            # how soon every isolate sees a purge or a verdict
//! cache_memory_bytes = 8388608          # hot cached pages kept in isolate memory too
//! hide_response_headers = ["X-Generator"] # more origin response headers the public never sees
//! pass_server_header = false            # let the origins' `Server` header through
//! error_pages = { 503 = "/assets/errors/503.html" }  # 404, 500, 502, 503, 504: pages for browsers
//! affinity_cookie = "__edge_affinity"   # sticky-session cookie (signed with EDGE_COOKIE_KEY)
//! affinity_ttl_s = 3600                 # its lifetime, renewed while in use
//! ryw_cookie = "__edge_ryw"             # read-your-writes cookie
//!
//! [[vars.EDGE.routes]]                  # first match wins; assets are routed before these
//! host = "*"                            # exact host, "*.example.com", or "*" (any case)
//! path_prefix = "/"                     # whole segments of the decoded path
//! action = "proxy"                      # or "deny" (404)
//! pools = ["dc1", "dc2"]                # primary, then failover pools in order
//! fallback_pool = "maintenance"         # optional: last resort (e.g. a static "be right back")
//! write_pool = "primary"                # optional: unsafe methods go here, and so do the
//! read_your_writes_s = 5                #   writer's requests for this long afterwards
//! intercept_origin_errors = false       # replace the origins' own 5xx with the error pages
//! cache = { enabled = true, ignore_query = ["utm_*", "fbclid"], private_cookies = ["PHPSESSID"],
//!           default_grace_s = 0, keep_s = 3600, tag_header = "X-Cache-Tags",
//!           purge_header = "X-Edge-Purge-Tags", max_object_bytes = 8388608,
//!           heuristics = true, heuristic_max_s = 86400 }   # the shared HTTP cache (RFC 9111)
//!
//! [vars.EDGE.pools.dc1]
//! steering = "weighted_round_robin"     # | weighted_random | least_outstanding | hash
//! hash_on = "cookie:PHPSESSID"          # for hash: cookie:NAME, header:NAME or client_ip
//! sticky = false                        # pin each client to its origin with a signed cookie
//! origins = [{ url = "http://127.0.0.1:8001", weight = 1 }, { url = "http://127.0.0.1:8002" }]
//!
//! [vars.EDGE.pools.dc1.health]           # active checks by the coordinator (Durable Object EDGE_COORDINATOR)
//! path = "/health"
//! method = "GET"
//! headers = { "X-Probe" = "edge" }
//! timeout_ms = 2000
//! expected_codes = [200]
//! expected_body = "ok"
//! healthy_threshold = 2                 # consecutive successes to come back
//! unhealthy_threshold = 2               # consecutive failures to go down
//! ttl_s = 180                           # a verdict older than this is ignored
//!
//! [[vars.EDGE.jobs]]                    # run by the coordinator on one healthy origin, once
//! name = "cleanup"                      # unique; the run's Idempotency-Key is name@instant
//! schedule = "*/15 * * * *"             # five-field cron in UTC (see jobs::cron) …
//! # every_s = 30                        # … or every N seconds (development and tests)
//! pool = "dc1"                          # whose healthy origins run it
//! path = "/_jobs/cleanup"               # requested on the origin (never routed from the public)
//! method = "POST"                       # GET, POST or PUT
//! timeout_ms = 30000                    # one origin's answer (at most max_run_s)
//! max_run_s = 300                       # until then the next due run is skipped, not overlapped
//! ```
//!
//! `health_interval_s = 5` (top level): how often the coordinator probes the origins.
//!
//! Every error names the key (`EDGE.cors_allow_origins[1]`) and says what is expected. An unknown
//! key is an error, so a typo cannot silently fall back to a default. Defaults are defined once,
//! in [`raw`]'s `Default` impls.

mod assets;
mod cache;
mod environment;
mod errors;
mod health;
mod jobs;
pub(crate) mod key_path;
mod pools;
mod proxy;
mod raw;
mod reader;
mod routes;

use std::collections::BTreeMap;

use crate::answer::ErrorPages;
use crate::balancer::affinity::CookieSettings;
use crate::balancer::ejection::OutlierPolicy;
use crate::balancer::retry::RetryPolicy;
use crate::balancer::Pool;
use crate::jobs::Job;
use crate::proxy::response::ResponsePolicy;
use crate::routes::Route;
pub use assets::AssetSettings;
pub use environment::{
    not_in_manifest, Environment, Secrets, Warning, COOKIE_KEY, COORDINATOR, HEALTH_TOKEN,
    ORIGIN_KEY,
};
use key_path::Validate;
pub use key_path::{ConfigError, KeyPath};
pub use proxy::ForwardSettings;
use raw::RawEdge;

/// The validated configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Where the assets are and how they are served.
    pub assets: AssetSettings,
    /// What origins are told, and what clients are told about transport security.
    pub forwarding: ForwardSettings,
    /// Limits on attempts at origins.
    pub retry: RetryPolicy,
    /// Passive health: when failures eject an origin.
    pub outlier: OutlierPolicy,
    /// The edge's own cookies.
    pub cookies: CookieSettings,
    /// Deny Symfony's internal paths and dotfiles unless a route names them.
    pub deny_internal: bool,
    /// How often an isolate copies the coordinator's snapshot (purge log, health verdicts): the
    /// bound on how long a purge or a verdict takes to reach every isolate.
    pub coordinator_poll_ms: u64,
    /// Budget in bytes of the isolate's memory copy of hot cached pages (in front of the Cache
    /// API; 0 disables).
    pub cache_memory_bytes: usize,
    /// Log one JSON line per proxied request.
    pub log_requests: bool,
    /// Request log lines written together (one `console.log`), 1 = each at once.
    pub log_batch: u32,
    /// The longest a request log line is held before it is written, ms.
    pub log_flush_ms: u64,
    /// Pages the edge answers with (404, 5xx) instead of a line of text, for browsers.
    pub error_pages: ErrorPages,
    /// What the client never sees of an origin's response.
    pub response: ResponsePolicy,
    /// Where non-asset requests go, first match wins.
    pub routes: Vec<Route>,
    /// Origin pools by name.
    pub pools: BTreeMap<String, Pool>,
    /// Scheduled jobs the coordinator runs, in configuration order.
    pub jobs: Vec<Job>,
    /// How often the coordinator probes the origins of pools with health checks, in seconds.
    pub health_interval_s: u64,
}

impl Config {
    /// Parses the `EDGE` object from its JSON form (what wrangler passes a TOML table as).
    pub fn from_json(json: &str) -> Result<Self, ConfigError> {
        let value: serde_json::Value = serde_json::from_str(json)
            .map_err(|e| KeyPath::root().error(format!("not valid JSON: {e}")))?;
        Self::from_value(value)
    }

    /// Parses the `EDGE` binding as the worker receives it: `None` when it is not set (the
    /// defaults), else its JSON text (`Some("null")` or a non-object is refused).
    pub fn from_binding(json: Option<&str>) -> Result<Self, ConfigError> {
        match json {
            None => Self::from_json("{}"),
            Some(text) if text.trim_start().starts_with('{') => Self::from_json(text),
            Some(_) => Err(KeyPath::root().error("must be a table ([vars.EDGE] in wrangler.toml)")),
        }
    }

    /// Parses the `EDGE` object from an already-parsed JSON value.
    pub fn from_value(value: serde_json::Value) -> Result<Self, ConfigError> {
        RawEdge::read(&value)?.validate(&KeyPath::root())
    }

    /// Whether any pool has active health checks (the coordinator probes them).
    pub fn has_health_checks(&self) -> bool {
        self.pools.values().any(|p| p.health.is_some())
    }

    /// Whether any pool or route signs cookies (they need the `EDGE_COOKIE_KEY` secret).
    pub fn needs_cookie_key(&self) -> bool {
        self.pools.values().any(|p| p.sticky)
            || self.routes.iter().any(|r| match &r.action {
                crate::routes::Action::Proxy(u) => u.write_pool.is_some(),
                crate::routes::Action::Deny => false,
            })
    }

    /// Every configured origin URL (normalised), for recognising the origins' own addresses.
    pub fn origin_urls(&self) -> Vec<String> {
        self.pools
            .values()
            .flat_map(|p| p.origins.iter().map(|o| o.url.clone()))
            .collect()
    }

    /// The cache's own response fields of every route (tag and purge headers), sorted, once
    /// each: origins send them to the edge, never to clients.
    pub fn cache_fields(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .routes
            .iter()
            .filter_map(|r| match &r.action {
                crate::routes::Action::Proxy(u) => {
                    Some([u.cache.tag_header.clone(), u.cache.purge_header.clone()])
                }
                crate::routes::Action::Deny => None,
            })
            .flatten()
            .collect();
        out.sort();
        out.dedup();
        out
    }

    /// The paths (without query) the jobs request on origins: the public must never reach them
    /// through the edge, only the coordinator does.
    pub fn job_paths(&self) -> Vec<&str> {
        self.jobs.iter().map(Job::path_only).collect()
    }

    /// The names of request headers consistent hashing reads (the glue passes their values).
    pub fn hash_headers(&self) -> Vec<&str> {
        self.pools
            .values()
            .filter_map(|p| match &p.steering {
                crate::balancer::Steering::Hash(crate::balancer::HashOn::Header(h)) => {
                    Some(h.as_str())
                }
                _ => None,
            })
            .collect()
    }
}

impl Validate for RawEdge {
    type Output = Config;

    fn validate(&self, at: &KeyPath) -> Result<Config, ConfigError> {
        let assets = assets::validate(self, at)?;
        let (forwarding, retry, outlier, cookies) = proxy::validate(self, at)?;
        let (error_pages, response) = errors::validate(self, &assets.public_path, at)?;
        let pools = pools::validate(&self.pools, &at.key("pools"))?;
        let routes = routes::validate(&self.routes, &pools, &at.key("routes"))?;
        let jobs = jobs::validate(&self.jobs, &pools, &at.key("jobs"))?;
        Ok(Config {
            assets,
            forwarding,
            retry,
            outlier,
            cookies,
            deny_internal: self.deny_internal,
            coordinator_poll_ms: at.key("coordinator_poll_ms").in_range(
                self.coordinator_poll_ms,
                100,
                60_000,
            )?,
            cache_memory_bytes: at.key("cache_memory_bytes").in_range(
                self.cache_memory_bytes,
                0,
                64 << 20,
            )? as usize,
            log_requests: self.log_requests,
            log_batch: at.key("log_batch").in_range(self.log_batch, 1, 1_000)? as u32,
            log_flush_ms: at
                .key("log_flush_ms")
                .in_range(self.log_flush_ms, 10, 10_000)?,
            error_pages,
            response,
            routes,
            pools,
            jobs,
            health_interval_s: at.key("health_interval_s").in_range(
                self.health_interval_s,
                1,
                300,
            )?,
        })
    }
}

#[cfg(test)]
mod tests;
