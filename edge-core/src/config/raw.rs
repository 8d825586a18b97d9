//! The `EDGE` object as written in wrangler.toml, before validation — and the one place where
//! every default value is defined (the `Default` impls below; the README's table mirrors them).
//!
//! Unknown keys are refused, so a typo cannot silently fall back to a default. Required keys are
//! `Option`s here so that the validator can say which is missing. [`RawEdge::read`] reads them
//! from the JSON form (`reader.rs`).

use std::collections::BTreeMap;

use serde_json::Value;

use super::key_path::{ConfigError, KeyPath};
use super::reader::Table;

/// `[vars.EDGE]`.
#[derive(Debug, Clone)]
pub(crate) struct RawEdge {
    pub public_path: String,
    pub manifest: String,
    pub cors_allow_origins: Vec<String>,
    pub not_found_page: Option<String>,
    pub memory_cache_bytes: u64,
    pub memory_cache_max_file: u64,
    pub asset_history: bool,
    pub forwarded_header: bool,
    pub log_requests: bool,
    pub log_batch: u64,
    pub log_flush_ms: u64,
    pub https_redirect: bool,
    pub hsts: Option<String>,
    pub origin_auth: bool,
    pub attempt_timeout_ms: u64,
    pub max_attempts: u64,
    pub deadline_ms: u64,
    pub eject_after_failures: u64,
    pub eject_base_ms: u64,
    pub eject_max_ms: u64,
    pub affinity_cookie: String,
    pub affinity_ttl_s: u64,
    pub ryw_cookie: String,
    pub deny_internal: bool,
    pub coordinator_poll_ms: u64,
    pub cache_memory_bytes: u64,
    pub hide_response_headers: Vec<String>,
    pub pass_server_header: bool,
    pub error_pages: BTreeMap<String, String>,
    pub routes: Vec<RawRoute>,
    pub pools: BTreeMap<String, RawPool>,
    pub jobs: Vec<RawJob>,
    pub health_interval_s: u64,
}

impl Default for RawEdge {
    fn default() -> Self {
        RawEdge {
            public_path: "/assets/".into(),
            manifest: format!("/{}", cdn_manifest::INDEX_FILE_NAME),
            cors_allow_origins: vec!["*".into()],
            not_found_page: None,
            memory_cache_bytes: 8 << 20,
            memory_cache_max_file: 128 << 10,
            asset_history: true,
            forwarded_header: false,
            log_requests: true,
            log_batch: 32,
            log_flush_ms: 1_000,
            https_redirect: false,
            hsts: None,
            origin_auth: true,
            attempt_timeout_ms: 5_000,
            max_attempts: 3,
            deadline_ms: 10_000,
            eject_after_failures: 3,
            eject_base_ms: 10_000,
            eject_max_ms: 300_000,
            affinity_cookie: "__edge_affinity".into(),
            affinity_ttl_s: 3_600,
            ryw_cookie: "__edge_ryw".into(),
            deny_internal: true,
            coordinator_poll_ms: 1_000,
            cache_memory_bytes: 8 << 20,
            hide_response_headers: Vec::new(),
            pass_server_header: false,
            error_pages: BTreeMap::new(),
            routes: Vec::new(),
            pools: BTreeMap::new(),
            jobs: Vec::new(),
            health_interval_s: 5,
        }
    }
}

/// `[[vars.EDGE.routes]]`.
#[derive(Debug, Clone)]
pub(crate) struct RawRoute {
    pub host: Option<String>,
    pub path_prefix: String,
    pub action: String,
    pub pools: Vec<String>,
    pub fallback_pool: Option<String>,
    pub write_pool: Option<String>,
    pub read_your_writes_s: Option<u64>,
    pub intercept_origin_errors: bool,
    pub cache: RawCache,
}

impl Default for RawRoute {
    fn default() -> Self {
        RawRoute {
            host: None,
            path_prefix: "/".into(),
            action: "proxy".into(),
            pools: Vec::new(),
            fallback_pool: None,
            write_pool: None,
            read_your_writes_s: None,
            intercept_origin_errors: false,
            cache: RawCache::default(),
        }
    }
}

/// `routes[].cache`.
#[derive(Debug, Clone)]
pub(crate) struct RawCache {
    pub enabled: bool,
    pub ignore_query: Vec<String>,
    pub private_cookies: Vec<String>,
    pub default_grace_s: u64,
    pub keep_s: u64,
    pub tag_header: String,
    pub purge_header: String,
    pub max_object_bytes: u64,
    pub heuristics: bool,
    pub heuristic_max_s: u64,
}

impl Default for RawCache {
    fn default() -> Self {
        RawCache {
            enabled: true,
            ignore_query: ["utm_*", "fbclid", "gclid", "msclkid", "mc_cid", "mc_eid"]
                .map(String::from)
                .to_vec(),
            private_cookies: vec!["PHPSESSID".into()],
            default_grace_s: 0,
            keep_s: 3_600,
            tag_header: "X-Cache-Tags".into(),
            purge_header: "X-Edge-Purge-Tags".into(),
            max_object_bytes: 8 << 20,
            heuristics: true,
            heuristic_max_s: 86_400,
        }
    }
}

/// Seconds a writer keeps reading from the write pool when a route does not say.
pub(crate) const DEFAULT_READ_YOUR_WRITES_S: u64 = 5;

/// `[vars.EDGE.pools.NAME]`.
#[derive(Debug, Clone)]
pub(crate) struct RawPool {
    pub steering: String,
    pub hash_on: Option<String>,
    pub origins: Vec<RawOrigin>,
    pub sticky: bool,
    pub health: Option<RawHealth>,
}

impl Default for RawPool {
    fn default() -> Self {
        RawPool {
            steering: "weighted_round_robin".into(),
            hash_on: None,
            origins: Vec::new(),
            sticky: false,
            health: None,
        }
    }
}

/// One element of `origins = [...]`.
#[derive(Debug, Clone)]
pub(crate) struct RawOrigin {
    pub url: Option<String>,
    pub weight: i64,
    pub enabled: bool,
}

impl Default for RawOrigin {
    fn default() -> Self {
        RawOrigin {
            url: None,
            weight: 1,
            enabled: true,
        }
    }
}

/// `[vars.EDGE.pools.NAME.health]`.
#[derive(Debug, Clone)]
pub(crate) struct RawHealth {
    pub path: Option<String>,
    pub method: String,
    pub headers: BTreeMap<String, String>,
    pub timeout_ms: u64,
    pub expected_codes: Vec<u16>,
    pub expected_body: Option<String>,
    pub healthy_threshold: u64,
    pub unhealthy_threshold: u64,
    pub ttl_s: u64,
}

impl Default for RawHealth {
    fn default() -> Self {
        RawHealth {
            path: None,
            method: "GET".into(),
            headers: BTreeMap::new(),
            timeout_ms: 2_000,
            expected_codes: vec![200],
            expected_body: None,
            healthy_threshold: 2,
            unhealthy_threshold: 2,
            ttl_s: 180,
        }
    }
}

/// `[[vars.EDGE.jobs]]`.
#[derive(Debug, Clone)]
pub(crate) struct RawJob {
    pub name: Option<String>,
    pub schedule: Option<String>,
    pub every_s: Option<u64>,
    pub pool: Option<String>,
    pub path: Option<String>,
    pub method: String,
    pub timeout_ms: u64,
    pub max_run_s: u64,
}

impl Default for RawJob {
    fn default() -> Self {
        RawJob {
            name: None,
            schedule: None,
            every_s: None,
            pool: None,
            path: None,
            method: "POST".into(),
            timeout_ms: 30_000,
            max_run_s: 300,
        }
    }
}

impl RawEdge {
    /// Reads the `EDGE` object.
    pub(crate) fn read(v: &Value) -> Result<Self, ConfigError> {
        let t = Table::new(
            v,
            KeyPath::root(),
            &[
                "public_path",
                "manifest",
                "cors_allow_origins",
                "not_found_page",
                "memory_cache_bytes",
                "memory_cache_max_file",
                "asset_history",
                "forwarded_header",
                "log_requests",
                "log_batch",
                "log_flush_ms",
                "https_redirect",
                "hsts",
                "origin_auth",
                "attempt_timeout_ms",
                "max_attempts",
                "deadline_ms",
                "eject_after_failures",
                "eject_base_ms",
                "eject_max_ms",
                "affinity_cookie",
                "affinity_ttl_s",
                "ryw_cookie",
                "deny_internal",
                "coordinator_poll_ms",
                "cache_memory_bytes",
                "hide_response_headers",
                "pass_server_header",
                "error_pages",
                "routes",
                "pools",
                "jobs",
                "health_interval_s",
            ],
        )?;
        let d = RawEdge::default();
        let routes = t
            .items("routes")?
            .into_iter()
            .map(|(at, v)| RawRoute::read(v, at))
            .collect::<Result<_, _>>()?;
        let pools = t
            .entries("pools")?
            .into_iter()
            .map(|(name, at, v)| Ok((name, RawPool::read(v, at)?)))
            .collect::<Result<_, ConfigError>>()?;
        Ok(RawEdge {
            public_path: t.string("public_path", &d.public_path)?,
            manifest: t.string("manifest", &d.manifest)?,
            cors_allow_origins: t.strings("cors_allow_origins", &d.cors_allow_origins)?,
            not_found_page: t.opt_string("not_found_page")?,
            memory_cache_bytes: t.u64("memory_cache_bytes", d.memory_cache_bytes)?,
            memory_cache_max_file: t.u64("memory_cache_max_file", d.memory_cache_max_file)?,
            asset_history: t.bool("asset_history", d.asset_history)?,
            forwarded_header: t.bool("forwarded_header", d.forwarded_header)?,
            log_requests: t.bool("log_requests", d.log_requests)?,
            log_batch: t.u64("log_batch", d.log_batch)?,
            log_flush_ms: t.u64("log_flush_ms", d.log_flush_ms)?,
            https_redirect: t.bool("https_redirect", d.https_redirect)?,
            hsts: t.opt_string("hsts")?,
            origin_auth: t.bool("origin_auth", d.origin_auth)?,
            attempt_timeout_ms: t.u64("attempt_timeout_ms", d.attempt_timeout_ms)?,
            max_attempts: t.u64("max_attempts", d.max_attempts)?,
            deadline_ms: t.u64("deadline_ms", d.deadline_ms)?,
            eject_after_failures: t.u64("eject_after_failures", d.eject_after_failures)?,
            eject_base_ms: t.u64("eject_base_ms", d.eject_base_ms)?,
            eject_max_ms: t.u64("eject_max_ms", d.eject_max_ms)?,
            affinity_cookie: t.string("affinity_cookie", &d.affinity_cookie)?,
            affinity_ttl_s: t.u64("affinity_ttl_s", d.affinity_ttl_s)?,
            ryw_cookie: t.string("ryw_cookie", &d.ryw_cookie)?,
            deny_internal: t.bool("deny_internal", d.deny_internal)?,
            coordinator_poll_ms: t.u64("coordinator_poll_ms", d.coordinator_poll_ms)?,
            cache_memory_bytes: t.u64("cache_memory_bytes", d.cache_memory_bytes)?,
            hide_response_headers: t.strings("hide_response_headers", &d.hide_response_headers)?,
            pass_server_header: t.bool("pass_server_header", d.pass_server_header)?,
            error_pages: t.string_map("error_pages")?,
            routes,
            pools,
            jobs: t
                .items("jobs")?
                .into_iter()
                .map(|(at, v)| RawJob::read(v, at))
                .collect::<Result<_, _>>()?,
            health_interval_s: t.u64("health_interval_s", d.health_interval_s)?,
        })
    }
}

impl RawRoute {
    fn read(v: &Value, at: KeyPath) -> Result<Self, ConfigError> {
        let t = Table::new(
            v,
            at,
            &[
                "host",
                "path_prefix",
                "action",
                "pools",
                "fallback_pool",
                "write_pool",
                "read_your_writes_s",
                "intercept_origin_errors",
                "cache",
            ],
        )?;
        let d = RawRoute::default();
        let cache = match t.table("cache", RawCache::KEYS)? {
            Some(c) => RawCache::read(&c)?,
            None => d.cache.clone(),
        };
        Ok(RawRoute {
            host: t.opt_string("host")?,
            path_prefix: t.string("path_prefix", &d.path_prefix)?,
            action: t.string("action", &d.action)?,
            pools: t.strings("pools", &d.pools)?,
            fallback_pool: t.opt_string("fallback_pool")?,
            write_pool: t.opt_string("write_pool")?,
            read_your_writes_s: t.opt_u64("read_your_writes_s")?,
            intercept_origin_errors: t
                .bool("intercept_origin_errors", d.intercept_origin_errors)?,
            cache,
        })
    }
}

impl RawCache {
    const KEYS: &'static [&'static str] = &[
        "enabled",
        "ignore_query",
        "private_cookies",
        "default_grace_s",
        "keep_s",
        "tag_header",
        "purge_header",
        "max_object_bytes",
        "heuristics",
        "heuristic_max_s",
    ];

    fn read(t: &Table<'_>) -> Result<Self, ConfigError> {
        let d = RawCache::default();
        Ok(RawCache {
            enabled: t.bool("enabled", d.enabled)?,
            ignore_query: t.strings("ignore_query", &d.ignore_query)?,
            private_cookies: t.strings("private_cookies", &d.private_cookies)?,
            default_grace_s: t.u64("default_grace_s", d.default_grace_s)?,
            keep_s: t.u64("keep_s", d.keep_s)?,
            tag_header: t.string("tag_header", &d.tag_header)?,
            purge_header: t.string("purge_header", &d.purge_header)?,
            max_object_bytes: t.u64("max_object_bytes", d.max_object_bytes)?,
            heuristics: t.bool("heuristics", d.heuristics)?,
            heuristic_max_s: t.u64("heuristic_max_s", d.heuristic_max_s)?,
        })
    }
}

impl RawPool {
    fn read(v: &Value, at: KeyPath) -> Result<Self, ConfigError> {
        let t = Table::new(
            v,
            at,
            &["steering", "hash_on", "origins", "sticky", "health"],
        )?;
        let d = RawPool::default();
        let origins = t
            .items("origins")?
            .into_iter()
            .map(|(at, v)| RawOrigin::read(v, at))
            .collect::<Result<_, _>>()?;
        let health = match t.table("health", RawHealth::KEYS)? {
            Some(h) => Some(RawHealth::read(&h)?),
            None => None,
        };
        Ok(RawPool {
            steering: t.string("steering", &d.steering)?,
            hash_on: t.opt_string("hash_on")?,
            origins,
            sticky: t.bool("sticky", d.sticky)?,
            health,
        })
    }
}

impl RawOrigin {
    fn read(v: &Value, at: KeyPath) -> Result<Self, ConfigError> {
        let t = Table::new(v, at, &["url", "weight", "enabled"])?;
        let d = RawOrigin::default();
        Ok(RawOrigin {
            url: t.opt_string("url")?,
            weight: t.i64("weight", d.weight)?,
            enabled: t.bool("enabled", d.enabled)?,
        })
    }
}

impl RawHealth {
    const KEYS: &'static [&'static str] = &[
        "path",
        "method",
        "headers",
        "timeout_ms",
        "expected_codes",
        "expected_body",
        "healthy_threshold",
        "unhealthy_threshold",
        "ttl_s",
    ];

    fn read(t: &Table<'_>) -> Result<Self, ConfigError> {
        let d = RawHealth::default();
        Ok(RawHealth {
            path: t.opt_string("path")?,
            method: t.string("method", &d.method)?,
            headers: t.string_map("headers")?,
            timeout_ms: t.u64("timeout_ms", d.timeout_ms)?,
            expected_codes: t.u16s("expected_codes", &d.expected_codes)?,
            expected_body: t.opt_string("expected_body")?,
            healthy_threshold: t.u64("healthy_threshold", d.healthy_threshold)?,
            unhealthy_threshold: t.u64("unhealthy_threshold", d.unhealthy_threshold)?,
            ttl_s: t.u64("ttl_s", d.ttl_s)?,
        })
    }
}

impl RawJob {
    fn read(v: &Value, at: KeyPath) -> Result<Self, ConfigError> {
        let t = Table::new(
            v,
            at,
            &[
                "name",
                "schedule",
                "every_s",
                "pool",
                "path",
                "method",
                "timeout_ms",
                "max_run_s",
            ],
        )?;
        let d = RawJob::default();
        Ok(RawJob {
            name: t.opt_string("name")?,
            schedule: t.opt_string("schedule")?,
            every_s: t.opt_u64("every_s")?,
            pool: t.opt_string("pool")?,
            path: t.opt_string("path")?,
            method: t.string("method", &d.method)?,
            timeout_ms: t.u64("timeout_ms", d.timeout_ms)?,
            max_run_s: t.u64("max_run_s", d.max_run_s)?,
        })
    }
}
