//! The `EDGE` object as written in wrangler.toml, before validation — and the one place where
//! every default value is defined (the `Default` impls below; the README's table mirrors them).
//!
//! Unknown keys are refused (`deny_unknown_fields`), so a typo cannot silently fall back to a
//! default. Required keys are `Option`s here so that the validator can say which is missing.

use std::collections::BTreeMap;

use serde::Deserialize;

/// `[vars.EDGE]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
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
    pub health_cache_ms: u64,
    pub deny_internal: bool,
    pub hide_response_headers: Vec<String>,
    pub pass_server_header: bool,
    pub error_pages: BTreeMap<String, String>,
    pub routes: Vec<RawRoute>,
    pub pools: BTreeMap<String, RawPool>,
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
            health_cache_ms: 5_000,
            deny_internal: true,
            hide_response_headers: Vec::new(),
            pass_server_header: false,
            error_pages: BTreeMap::new(),
            routes: Vec::new(),
            pools: BTreeMap::new(),
        }
    }
}

/// `[[vars.EDGE.routes]]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct RawRoute {
    pub host: Option<String>,
    pub path_prefix: String,
    pub action: String,
    pub pools: Vec<String>,
    pub fallback_pool: Option<String>,
    pub write_pool: Option<String>,
    pub read_your_writes_s: Option<u64>,
    pub intercept_origin_errors: bool,
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
        }
    }
}

/// Seconds a writer keeps reading from the write pool when a route does not say.
pub(crate) const DEFAULT_READ_YOUR_WRITES_S: u64 = 5;

/// `[vars.EDGE.pools.NAME]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
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
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
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
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
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
