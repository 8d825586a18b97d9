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
//! https_redirect = false                # answer plain-HTTP requests with 308 to https://
//! hsts = ""                             # Strict-Transport-Security value for https responses
//! origin_auth = true                    # sign requests to origins (secret EDGE_ORIGIN_KEY)
//! attempt_timeout_ms = 5000             # one attempt at an origin
//! max_attempts = 3                      # attempts per request (idempotent methods only retry)
//! deadline_ms = 10000                   # all attempts together
//! eject_after_failures = 3              # passive health: consecutive failures that eject
//! eject_base_ms = 10000                 # first ejection; the n-th lasts n times as long
//! eject_max_ms = 300000                 # longest ejection
//!
//! affinity_cookie = "__edge_affinity"   # sticky-session cookie (signed with EDGE_COOKIE_KEY)
//! affinity_ttl_s = 3600
//! ryw_cookie = "__edge_ryw"             # read-your-writes cookie
//!
//! [[vars.EDGE.routes]]                  # first match wins; assets are routed before these
//! host = "*"                            # exact host, "*.example.com", or "*" (default)
//! path_prefix = "/"
//! pools = ["dc1", "dc2"]                # primary, then failover pools in order
//! fallback_pool = "maintenance"         # optional: last resort (e.g. a static "be right back")
//! write_pool = "primary"                # optional: writes go here, and so do the writer's
//! read_your_writes_s = 5                #   requests for this long afterwards
//!
//! [vars.EDGE.pools.dc1]
//! steering = "weighted_round_robin"     # | weighted_random | least_outstanding | hash
//! hash_on = "cookie:PHPSESSID"          # for hash: cookie:NAME, header:NAME or client_ip
//! sticky = false                        # pin each client to its origin with a signed cookie
//!
//! [vars.EDGE.pools.dc1.health]           # active checks from the cron trigger (KV EDGE_HEALTH)
//! path = "/health"
//! method = "GET"
//! headers = { "X-Probe" = "edge" }
//! timeout_ms = 2000
//! expected_codes = [200]
//! expected_body = "ok"
//! healthy_threshold = 2                 # consecutive successes to come back
//! unhealthy_threshold = 2               # consecutive failures to go down
//! ttl_s = 180                           # a verdict older than this is ignored
//! origins = [{ url = "http://127.0.0.1:8001", weight = 1 }, { url = "http://127.0.0.1:8002" }]
//! ```
//!
//! Every error names the key (`EDGE.cors_allow_origins[1]`) and says what is expected. An unknown
//! key is an error, so a typo cannot silently fall back to a default.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::balancer::ejection::OutlierPolicy;
use crate::balancer::health::HealthCheck;
use crate::balancer::retry::RetryPolicy;
use crate::origin_url::OriginUrl;

/// A configuration error, naming the key at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid configuration at `{key}`: {reason}")]
pub struct ConfigError {
    /// The key's path, e.g. `EDGE.public_path`.
    pub key: String,
    /// What is wrong and what is expected.
    pub reason: String,
}

/// Who may read assets cross-origin (fonts and module scripts on a CDN host need it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cors {
    /// No CORS headers.
    Off,
    /// `Access-Control-Allow-Origin: *`.
    Any,
    /// Echo the request's `Origin` when it is one of these (with `Vary: Origin`).
    Origins(Vec<String>),
}

/// The validated configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// URL path prefix of the assets, with leading and trailing `/`.
    pub public_path: String,
    /// Path of the builder's binary index inside the assets directory.
    pub manifest: String,
    /// Cross-origin policy for assets.
    pub cors: Cors,
    /// A manifest path served (with status 404) for unknown asset paths.
    pub not_found_page: Option<String>,
    /// Budget in bytes of the isolate's cache of hot small assets.
    pub memory_cache_bytes: usize,
    /// Largest representation kept in that cache.
    pub memory_cache_max_file: usize,
    /// Also send RFC 7239 `Forwarded` to origins.
    pub forwarded_header: bool,
    /// Log one JSON line per proxied request.
    pub log_requests: bool,
    /// Redirect plain-HTTP requests to HTTPS (308, method and body preserved).
    pub https_redirect: bool,
    /// `Strict-Transport-Security` value added to HTTPS responses (`None`: not sent).
    pub hsts: Option<String>,
    /// Sign requests to origins with the `EDGE_ORIGIN_KEY` secret.
    pub origin_auth: bool,
    /// Retry limits for requests to origins.
    pub retry: RetryPolicy,
    /// Timeout of one attempt at an origin.
    pub attempt_timeout_ms: u64,
    /// Passive health: when failures eject an origin.
    pub outlier: OutlierPolicy,
    /// Name of the sticky-session cookie.
    pub affinity_cookie: String,
    /// Lifetime of a sticky-session pin, in seconds.
    pub affinity_ttl_s: u64,
    /// Name of the read-your-writes cookie.
    pub ryw_cookie: String,
    /// How long an isolate reuses health verdicts read from KV.
    pub health_cache_ms: u64,
    /// Where non-asset requests go, first match wins.
    pub routes: Vec<Route>,
    /// Origin pools by name.
    pub pools: BTreeMap<String, Pool>,
}

/// A route: requests matching host and path prefix go to a chain of pools.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// `None` = any host; `Some("shop.test")` exact; `Some("*.shop.test")` any subdomain.
    pub host: Option<String>,
    /// Path prefix, starting with `/`.
    pub path_prefix: String,
    /// Pool names: the primary first, then failover pools in order, the fallback pool last.
    pub pools: Vec<String>,
    /// Where non-idempotent requests go (then the chain, if it is down), and the writer's
    /// requests for [`Route::read_your_writes_s`] afterwards.
    pub write_pool: Option<String>,
    /// Seconds after a write during which the writer reads from the write pool.
    pub read_your_writes_s: u64,
}

impl Route {
    /// Whether a request for `host` and `path` takes this route.
    pub fn matches(&self, host: &str, path: &str) -> bool {
        let host_ok = match &self.host {
            None => true,
            Some(h) => match h.strip_prefix("*.") {
                Some(suffix) => {
                    host.len() > suffix.len() + 1
                        && host.ends_with(suffix)
                        && host.as_bytes()[host.len() - suffix.len() - 1] == b'.'
                }
                None => host.eq_ignore_ascii_case(h),
            },
        };
        host_ok && path.starts_with(&self.path_prefix)
    }
}

/// A set of interchangeable origins.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pool {
    /// How an origin is picked.
    pub steering: Steering,
    /// The origins, in configuration order.
    pub origins: Vec<Origin>,
    /// Pin each client to the origin that served it first (signed cookie).
    pub sticky: bool,
    /// Active health checks, if configured.
    pub health: Option<HealthCheck>,
}

/// One origin server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// `scheme://host[:port]`, no trailing slash.
    pub url: String,
    /// Relative share of traffic, 1–1000.
    pub weight: u32,
    /// A disabled (drained) origin gets no new traffic.
    pub enabled: bool,
}

/// Steering policy of a pool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Steering {
    /// Smooth weighted round-robin (per isolate).
    WeightedRoundRobin,
    /// Weighted random.
    WeightedRandom,
    /// Fewest requests in flight from this isolate, relative to weight.
    LeastOutstanding,
    /// Consistent hashing (Ketama) on a request attribute.
    Hash(HashOn),
}

/// What consistent hashing keys on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HashOn {
    /// A cookie's value (e.g. the Symfony session cookie).
    Cookie(String),
    /// A request header's value.
    Header(String),
    /// The client's IP address.
    ClientIp,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    #[serde(default = "default_public_path")]
    public_path: String,
    #[serde(default = "default_manifest")]
    manifest: String,
    #[serde(default = "default_cors")]
    cors_allow_origins: Vec<String>,
    #[serde(default)]
    not_found_page: Option<String>,
    #[serde(default = "default_cache_bytes")]
    memory_cache_bytes: usize,
    #[serde(default = "default_cache_file")]
    memory_cache_max_file: usize,
    #[serde(default)]
    forwarded_header: bool,
    #[serde(default = "default_true")]
    log_requests: bool,
    #[serde(default)]
    https_redirect: bool,
    #[serde(default)]
    hsts: String,
    #[serde(default = "default_true")]
    origin_auth: bool,
    #[serde(default = "default_timeout")]
    attempt_timeout_ms: u64,
    #[serde(default = "default_attempts")]
    max_attempts: u32,
    #[serde(default = "default_deadline")]
    deadline_ms: u64,
    #[serde(default = "default_eject_after")]
    eject_after_failures: u32,
    #[serde(default = "default_eject_base")]
    eject_base_ms: u64,
    #[serde(default = "default_eject_max")]
    eject_max_ms: u64,
    #[serde(default = "default_affinity_cookie")]
    affinity_cookie: String,
    #[serde(default = "default_affinity_ttl")]
    affinity_ttl_s: u64,
    #[serde(default = "default_ryw_cookie")]
    ryw_cookie: String,
    #[serde(default = "default_health_cache")]
    health_cache_ms: u64,
    #[serde(default)]
    routes: Vec<RawRoute>,
    #[serde(default)]
    pools: BTreeMap<String, RawPool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRoute {
    #[serde(default)]
    host: Option<String>,
    #[serde(default = "default_prefix")]
    path_prefix: String,
    pools: Vec<String>,
    #[serde(default)]
    fallback_pool: Option<String>,
    #[serde(default)]
    write_pool: Option<String>,
    #[serde(default)]
    read_your_writes_s: Option<u64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPool {
    #[serde(default = "default_steering")]
    steering: String,
    #[serde(default)]
    hash_on: Option<String>,
    origins: Vec<RawOrigin>,
    #[serde(default)]
    sticky: bool,
    #[serde(default)]
    health: Option<RawHealth>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHealth {
    path: String,
    #[serde(default = "default_probe_method")]
    method: String,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    #[serde(default = "default_probe_timeout")]
    timeout_ms: u64,
    #[serde(default = "default_codes")]
    expected_codes: Vec<u16>,
    #[serde(default)]
    expected_body: Option<String>,
    #[serde(default = "default_threshold")]
    healthy_threshold: u32,
    #[serde(default = "default_threshold")]
    unhealthy_threshold: u32,
    #[serde(default = "default_health_ttl")]
    ttl_s: u64,
}

fn default_probe_method() -> String {
    "GET".into()
}
fn default_probe_timeout() -> u64 {
    2_000
}
fn default_codes() -> Vec<u16> {
    vec![200]
}
fn default_threshold() -> u32 {
    2
}
fn default_health_ttl() -> u64 {
    180
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOrigin {
    url: String,
    #[serde(default = "default_weight")]
    weight: i64,
    #[serde(default = "default_true")]
    enabled: bool,
}

fn default_timeout() -> u64 {
    5_000
}
fn default_attempts() -> u32 {
    3
}
fn default_deadline() -> u64 {
    10_000
}
fn default_eject_after() -> u32 {
    OutlierPolicy::default().consecutive_failures
}
fn default_eject_base() -> u64 {
    OutlierPolicy::default().base_ejection_ms
}
fn default_eject_max() -> u64 {
    OutlierPolicy::default().max_ejection_ms
}
fn default_affinity_cookie() -> String {
    "__edge_affinity".into()
}
fn default_affinity_ttl() -> u64 {
    3600
}
fn default_ryw_cookie() -> String {
    "__edge_ryw".into()
}
fn default_health_cache() -> u64 {
    5_000
}
fn default_true() -> bool {
    true
}
fn default_prefix() -> String {
    "/".into()
}
fn default_steering() -> String {
    "weighted_round_robin".into()
}
fn default_weight() -> i64 {
    1
}

fn default_public_path() -> String {
    "/assets/".into()
}
fn default_manifest() -> String {
    format!("/{}", cdn_manifest::INDEX_FILE_NAME)
}
fn default_cors() -> Vec<String> {
    vec!["*".into()]
}
fn default_cache_bytes() -> usize {
    8 << 20
}
fn default_cache_file() -> usize {
    128 << 10
}

impl Default for Config {
    fn default() -> Self {
        Config::from_json("{}").expect("the defaults are valid")
    }
}

impl Config {
    /// Parses the `EDGE` object from its JSON form (what wrangler passes a TOML table as).
    pub fn from_json(json: &str) -> Result<Self, ConfigError> {
        let de = &mut serde_json::Deserializer::from_str(json);
        let raw: Raw = serde_path_to_error::deserialize(de).map_err(path_error)?;
        Self::validate(raw)
    }

    /// Whether any pool has active health checks (they need the `EDGE_HEALTH` KV namespace).
    pub fn has_health_checks(&self) -> bool {
        self.pools.values().any(|p| p.health.is_some())
    }

    /// Whether any pool or route needs the `EDGE_COOKIE_KEY` secret.
    pub fn needs_cookie_key(&self) -> bool {
        self.pools.values().any(|p| p.sticky) || self.routes.iter().any(|r| r.write_pool.is_some())
    }

    /// The route a request for `host` and `path` takes, if any.
    pub fn route_for(&self, host: &str, path: &str) -> Option<&Route> {
        self.routes.iter().find(|r| r.matches(host, path))
    }

    /// Parses the `EDGE` object from an already-parsed JSON value.
    pub fn from_value(value: serde_json::Value) -> Result<Self, ConfigError> {
        let raw: Raw = serde_path_to_error::deserialize(value).map_err(path_error)?;
        Self::validate(raw)
    }

    fn validate(raw: Raw) -> Result<Self, ConfigError> {
        let bad = |key: &str, reason: String| ConfigError {
            key: format!("EDGE.{key}"),
            reason,
        };
        let p = &raw.public_path;
        if !p.starts_with('/')
            || !p.ends_with('/')
            || p.contains("//")
            || p.contains("/../")
            || p.contains("/./")
        {
            return Err(bad(
                "public_path",
                format!("`{p}` must be a path starting and ending with `/`, like /assets/"),
            ));
        }
        if !raw.manifest.starts_with('/') || raw.manifest.contains("..") {
            return Err(bad(
                "manifest",
                format!(
                    "`{}` must be an absolute path inside the assets directory",
                    raw.manifest
                ),
            ));
        }
        let cors = match raw.cors_allow_origins.as_slice() {
            [] => Cors::Off,
            [one] if one == "*" => Cors::Any,
            list => {
                for (i, origin) in list.iter().enumerate() {
                    let ok = OriginUrl::parse(origin).is_some_and(|o| o.to_string() == *origin);
                    if !ok {
                        return Err(bad(
                            &format!("cors_allow_origins[{i}]"),
                            format!("`{origin}` must be \"*\" alone, or an origin exactly as browsers send it, like https://shop.example.com (lower-case scheme and host, no default port, no path or slash)"),
                        ));
                    }
                }
                Cors::Origins(list.to_vec())
            }
        };
        if let Some(page) = &raw.not_found_page {
            if !page.starts_with(p.as_str()) || page.len() == p.len() {
                return Err(bad("not_found_page", format!("`{page}` must be a published path under public_path `{p}` (publish it with --no-fingerprint)")));
            }
        }
        if raw.memory_cache_max_file > raw.memory_cache_bytes && raw.memory_cache_bytes > 0 {
            return Err(bad(
                "memory_cache_max_file",
                format!(
                    "{} is larger than memory_cache_bytes ({})",
                    raw.memory_cache_max_file, raw.memory_cache_bytes
                ),
            ));
        }
        if raw.memory_cache_bytes > 64 << 20 {
            return Err(bad(
                "memory_cache_bytes",
                format!(
                    "{} exceeds 64 MiB; an isolate has 128 MB in all",
                    raw.memory_cache_bytes
                ),
            ));
        }
        let ranges: [(&str, u64, u64, u64); 6] = [
            ("attempt_timeout_ms", raw.attempt_timeout_ms, 100, 120_000),
            ("max_attempts", u64::from(raw.max_attempts), 1, 10),
            ("deadline_ms", raw.deadline_ms, 100, 300_000),
            (
                "eject_after_failures",
                u64::from(raw.eject_after_failures),
                1,
                1000,
            ),
            ("eject_base_ms", raw.eject_base_ms, 100, 3_600_000),
            ("eject_max_ms", raw.eject_max_ms, 100, 86_400_000),
        ];
        for (key, value, lo, hi) in ranges {
            if !(lo..=hi).contains(&value) {
                return Err(bad(key, format!("{value} is out of range {lo}–{hi}")));
            }
        }
        if raw.eject_max_ms < raw.eject_base_ms {
            return Err(bad(
                "eject_max_ms",
                format!(
                    "{} is less than eject_base_ms ({})",
                    raw.eject_max_ms, raw.eject_base_ms
                ),
            ));
        }
        if !raw.hsts.is_empty() {
            let max_age = raw
                .hsts
                .split(';')
                .map(str::trim)
                .find_map(|d| d.strip_prefix("max-age="));
            if !max_age.is_some_and(|v| !v.is_empty() && v.bytes().all(|c| c.is_ascii_digit()))
                || raw.hsts.contains(['\r', '\n'])
            {
                return Err(bad("hsts", format!("`{}` must start like max-age=63072000 (optionally ; includeSubDomains; preload)", raw.hsts)));
            }
        }
        for (key, name) in [
            ("affinity_cookie", &raw.affinity_cookie),
            ("ryw_cookie", &raw.ryw_cookie),
        ] {
            if name.is_empty()
                || !name
                    .bytes()
                    .all(|c| c.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&c))
            {
                return Err(bad(key, format!("`{name}` is not a valid cookie name")));
            }
        }
        if !(60..=30 * 86_400).contains(&raw.affinity_ttl_s) {
            return Err(bad(
                "affinity_ttl_s",
                format!("{} is out of range 60–2592000", raw.affinity_ttl_s),
            ));
        }
        let mut pools = BTreeMap::new();
        for (name, pool) in &raw.pools {
            let key = |k: &str| format!("pools.{name}.{k}");
            if name.is_empty()
                || !name
                    .bytes()
                    .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
            {
                return Err(bad(
                    &format!("pools.{name}"),
                    "a pool name may hold letters, digits, `-` and `_`".into(),
                ));
            }
            let steering = match (pool.steering.as_str(), &pool.hash_on) {
                ("weighted_round_robin", None) => Steering::WeightedRoundRobin,
                ("weighted_random", None) => Steering::WeightedRandom,
                ("least_outstanding", None) => Steering::LeastOutstanding,
                ("hash", Some(on)) => Steering::Hash(match on.split_once(':') {
                    Some(("cookie", n)) if !n.is_empty() => HashOn::Cookie(n.to_string()),
                    Some(("header", n)) if !n.is_empty() => HashOn::Header(n.to_ascii_lowercase()),
                    None if on == "client_ip" => HashOn::ClientIp,
                    _ => return Err(bad(&key("hash_on"), format!("`{on}` must be cookie:NAME, header:NAME or client_ip"))),
                }),
                ("hash", None) => return Err(bad(&key("hash_on"), "steering = \"hash\" needs hash_on (cookie:NAME, header:NAME or client_ip)".into())),
                (s, Some(_)) if ["weighted_round_robin", "weighted_random", "least_outstanding"].contains(&s) => {
                    return Err(bad(&key("hash_on"), format!("only used with steering = \"hash\", not `{s}`")))
                }
                (s, _) => return Err(bad(&key("steering"), format!("`{s}` is not one of weighted_round_robin, weighted_random, least_outstanding, hash"))),
            };
            if pool.origins.is_empty() {
                return Err(bad(
                    &key("origins"),
                    "a pool needs at least one origin".into(),
                ));
            }
            let mut origins = Vec::new();
            for (i, o) in pool.origins.iter().enumerate() {
                let okey = |k: &str| format!("pools.{name}.origins[{i}].{k}");
                let Some(parsed) = OriginUrl::parse(&o.url) else {
                    return Err(bad(&okey("url"), format!("`{}` must be an http(s) URL with a host and no path, like http://127.0.0.1:8001", o.url)));
                };
                if !(1..=1000).contains(&o.weight) {
                    return Err(bad(
                        &okey("weight"),
                        format!("{} is out of range 1–1000", o.weight),
                    ));
                }
                origins.push(Origin {
                    url: parsed.to_string(),
                    weight: o.weight as u32,
                    enabled: o.enabled,
                });
            }
            let health = match &pool.health {
                None => None,
                Some(h) => Some(health_check(name, h)?),
            };
            pools.insert(
                name.clone(),
                Pool {
                    steering,
                    origins,
                    sticky: pool.sticky,
                    health,
                },
            );
        }
        let mut routes = Vec::new();
        for (i, r) in raw.routes.iter().enumerate() {
            let rkey = |k: &str| format!("routes[{i}].{k}");
            if let Some(h) = &r.host {
                let plain = h.strip_prefix("*.").unwrap_or(h);
                if h != "*"
                    && (plain.is_empty()
                        || !plain
                            .bytes()
                            .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'.'))
                {
                    return Err(bad(
                        &rkey("host"),
                        format!("`{h}` must be a host name, `*.domain` or `*`"),
                    ));
                }
            }
            if !r.path_prefix.starts_with('/') {
                return Err(bad(
                    &rkey("path_prefix"),
                    format!("`{}` must start with `/`", r.path_prefix),
                ));
            }
            if r.pools.is_empty() {
                return Err(bad(
                    &rkey("pools"),
                    "a route needs at least one pool".into(),
                ));
            }
            for (j, p) in r.pools.iter().enumerate() {
                if !pools.contains_key(p) {
                    return Err(bad(
                        &format!("routes[{i}].pools[{j}]"),
                        format!(
                            "unknown pool `{p}` (defined: {})",
                            pools.keys().cloned().collect::<Vec<_>>().join(", ")
                        ),
                    ));
                }
            }
            let mut chain = r.pools.clone();
            if let Some(f) = &r.fallback_pool {
                if !pools.contains_key(f) {
                    return Err(bad(&rkey("fallback_pool"), format!("unknown pool `{f}`")));
                }
                if chain.contains(f) {
                    return Err(bad(
                        &rkey("fallback_pool"),
                        format!("`{f}` is already in the route's pools"),
                    ));
                }
                chain.push(f.clone());
            }
            if let Some(w) = &r.write_pool {
                if !pools.contains_key(w) {
                    return Err(bad(&rkey("write_pool"), format!("unknown pool `{w}`")));
                }
            }
            let ryw = match (&r.write_pool, r.read_your_writes_s) {
                (None, Some(_)) => {
                    return Err(bad(&rkey("read_your_writes_s"), "needs write_pool".into()))
                }
                (None, None) => 0,
                (Some(_), None) => 5,
                (Some(_), Some(s)) if s <= 3600 => s,
                (Some(_), Some(s)) => {
                    return Err(bad(
                        &rkey("read_your_writes_s"),
                        format!("{s} is out of range 0–3600"),
                    ))
                }
            };
            routes.push(Route {
                host: r.host.clone().filter(|h| h != "*"),
                path_prefix: r.path_prefix.clone(),
                pools: chain,
                write_pool: r.write_pool.clone(),
                read_your_writes_s: ryw,
            });
        }
        Ok(Config {
            public_path: raw.public_path,
            manifest: raw.manifest,
            cors,
            not_found_page: raw.not_found_page,
            memory_cache_bytes: raw.memory_cache_bytes,
            memory_cache_max_file: raw.memory_cache_max_file,
            forwarded_header: raw.forwarded_header,
            log_requests: raw.log_requests,
            https_redirect: raw.https_redirect,
            hsts: (!raw.hsts.is_empty()).then_some(raw.hsts),
            retry: RetryPolicy {
                max_attempts: raw.max_attempts,
                deadline_ms: raw.deadline_ms,
            },
            attempt_timeout_ms: raw.attempt_timeout_ms,
            outlier: OutlierPolicy {
                consecutive_failures: raw.eject_after_failures,
                base_ejection_ms: raw.eject_base_ms,
                max_ejection_ms: raw.eject_max_ms,
            },
            origin_auth: raw.origin_auth,
            affinity_cookie: raw.affinity_cookie,
            affinity_ttl_s: raw.affinity_ttl_s,
            ryw_cookie: raw.ryw_cookie,
            health_cache_ms: raw.health_cache_ms,
            routes,
            pools,
        })
    }
}

/// Validates a pool's `health` table.
fn health_check(pool: &str, h: &RawHealth) -> Result<HealthCheck, ConfigError> {
    let bad = |k: &str, reason: String| ConfigError {
        key: format!("EDGE.pools.{pool}.health.{k}"),
        reason,
    };
    if !h.path.starts_with('/') {
        return Err(bad("path", format!("`{}` must start with `/`", h.path)));
    }
    if !matches!(h.method.as_str(), "GET" | "HEAD") {
        return Err(bad("method", format!("`{}` must be GET or HEAD", h.method)));
    }
    if !(100..=60_000).contains(&h.timeout_ms) {
        return Err(bad(
            "timeout_ms",
            format!("{} is out of range 100–60000", h.timeout_ms),
        ));
    }
    if h.expected_codes.is_empty() || h.expected_codes.iter().any(|c| !(100..=599).contains(c)) {
        return Err(bad(
            "expected_codes",
            format!(
                "{:?} must be a non-empty list of HTTP statuses",
                h.expected_codes
            ),
        ));
    }
    for (k, t) in [
        ("healthy_threshold", h.healthy_threshold),
        ("unhealthy_threshold", h.unhealthy_threshold),
    ] {
        if !(1..=100).contains(&t) {
            return Err(bad(k, format!("{t} is out of range 1–100")));
        }
    }
    if !(1..=86_400).contains(&h.ttl_s) {
        return Err(bad("ttl_s", format!("{} is out of range 1–86400", h.ttl_s)));
    }
    Ok(HealthCheck {
        method: h.method.clone(),
        path: h.path.clone(),
        headers: h
            .headers
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        timeout_ms: h.timeout_ms,
        expected_codes: h.expected_codes.clone(),
        expected_body: h.expected_body.clone(),
        healthy_threshold: h.healthy_threshold,
        unhealthy_threshold: h.unhealthy_threshold,
        ttl_s: h.ttl_s,
    })
}

/// A deserialisation error as a [`ConfigError`] naming the key where it happened.
fn path_error<E: std::fmt::Display>(e: serde_path_to_error::Error<E>) -> ConfigError {
    ConfigError {
        key: key_of(&e.path().to_string()),
        reason: e.inner().to_string(),
    }
}

fn key_of(path: &str) -> String {
    if path.is_empty() || path == "." {
        "EDGE".into()
    } else {
        format!("EDGE.{path}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults() {
        let c = Config::default();
        assert_eq!(c.public_path, "/assets/");
        assert_eq!(c.manifest, "/cdn-manifest.bin");
        assert_eq!(c.cors, Cors::Any);
        assert!(c.routes.is_empty() && c.pools.is_empty());
        assert!(c.origin_auth);
    }

    #[test]
    fn full_config() {
        let c = Config::from_json(r#"{"public_path":"/static/","cors_allow_origins":["https://shop.test","http://localhost:8000"],"not_found_page":"/static/404.html",
            "routes":[{"host":"*.shop.test","path_prefix":"/api/","pools":["dc2"]},{"pools":["dc1","dc2"]}],
            "pools":{"dc1":{"origins":[{"url":"http://127.0.0.1:8001/","weight":2},{"url":"http://127.0.0.1:8002","enabled":false}]},
                     "dc2":{"steering":"hash","hash_on":"cookie:PHPSESSID","origins":[{"url":"https://dc2.example:8443"}]}}}"#).unwrap();
        assert_eq!(
            c.cors,
            Cors::Origins(vec![
                "https://shop.test".into(),
                "http://localhost:8000".into()
            ])
        );
        let dc1 = &c.pools["dc1"];
        assert_eq!(dc1.steering, Steering::WeightedRoundRobin);
        assert_eq!(
            dc1.origins[0],
            Origin {
                url: "http://127.0.0.1:8001".into(),
                weight: 2,
                enabled: true
            }
        );
        assert!(!dc1.origins[1].enabled);
        assert_eq!(
            c.pools["dc2"].steering,
            Steering::Hash(HashOn::Cookie("PHPSESSID".into()))
        );
        assert_eq!(
            c.route_for("eu.shop.test", "/api/x").unwrap().pools,
            ["dc2"]
        );
        assert_eq!(
            c.route_for("shop.test", "/api/x").unwrap().pools,
            ["dc1", "dc2"],
            "*.shop.test needs a subdomain"
        );
        assert_eq!(c.route_for("other", "/").unwrap().pools, ["dc1", "dc2"]);
        let f = Config::from_json(r#"{"routes":[{"pools":["a"],"fallback_pool":"b"}],"pools":{"a":{"origins":[{"url":"http://x"}]},"b":{"origins":[{"url":"http://y"}]}}}"#).unwrap();
        assert_eq!(
            f.routes[0].pools,
            ["a", "b"],
            "the fallback pool comes last"
        );
        assert_eq!(
            Config::from_json(r#"{"cors_allow_origins":[]}"#)
                .unwrap()
                .cors,
            Cors::Off
        );
    }

    #[test]
    fn errors_name_the_key() {
        let cases = [
            (
                r#"{"public_pth":"/a/"}"#,
                "EDGE.public_pth",
                "unknown field",
            ),
            (r#"{"public_path":"assets"}"#, "EDGE.public_path", "must be"),
            (r#"{"public_path":7}"#, "EDGE.public_path", "invalid type"),
            (
                r#"{"cors_allow_origins":["https://a.test","https://b.test/path"]}"#,
                "EDGE.cors_allow_origins[1]",
                "origin",
            ),
            (
                r#"{"cors_allow_origins":["*","https://a.test"]}"#,
                "EDGE.cors_allow_origins[0]",
                "alone",
            ),
            (
                r#"{"not_found_page":"/elsewhere/404.html"}"#,
                "EDGE.not_found_page",
                "public_path",
            ),
            (
                r#"{"pools":{"a":{"origins":[{"url":"ftp://x"}]}}}"#,
                "EDGE.pools.a.origins[0].url",
                "http(s)",
            ),
            (
                r#"{"pools":{"a":{"origins":[{"url":"http://x/app"}]}}}"#,
                "EDGE.pools.a.origins[0].url",
                "no path",
            ),
            (
                r#"{"pools":{"a":{"origins":[{"url":"http://x","weight":0}]}}}"#,
                "EDGE.pools.a.origins[0].weight",
                "out of range",
            ),
            (
                r#"{"pools":{"a":{"origins":[{"url":"http://x","weight":5000}]}}}"#,
                "EDGE.pools.a.origins[0].weight",
                "out of range",
            ),
            (
                r#"{"pools":{"a":{"origins":[{"url":"http://x","wieght":5}]}}}"#,
                "EDGE.pools.a.origins[0].wieght",
                "unknown field",
            ),
            (
                r#"{"pools":{"a":{"origins":[]}}}"#,
                "EDGE.pools.a.origins",
                "at least one",
            ),
            (
                r#"{"pools":{"a":{"steering":"fastest","origins":[{"url":"http://x"}]}}}"#,
                "EDGE.pools.a.steering",
                "not one of",
            ),
            (
                r#"{"pools":{"a":{"steering":"hash","origins":[{"url":"http://x"}]}}}"#,
                "EDGE.pools.a.hash_on",
                "needs hash_on",
            ),
            (
                r#"{"pools":{"a":{"steering":"hash","hash_on":"body","origins":[{"url":"http://x"}]}}}"#,
                "EDGE.pools.a.hash_on",
                "cookie:NAME",
            ),
            (
                r#"{"routes":[{"pools":["nope"]}],"pools":{"a":{"origins":[{"url":"http://x"}]}}}"#,
                "EDGE.routes[0].pools[0]",
                "unknown pool `nope`",
            ),
            (
                r#"{"routes":[{"path_prefix":"api","pools":["a"]}],"pools":{"a":{"origins":[{"url":"http://x"}]}}}"#,
                "EDGE.routes[0].path_prefix",
                "start with",
            ),
            (
                r#"{"routes":[{"pools":[]}]}"#,
                "EDGE.routes[0].pools",
                "at least one",
            ),
            (r#"{"max_attempts":0}"#, "EDGE.max_attempts", "out of range"),
            (
                r#"{"routes":[{"pools":["a"],"fallback_pool":"zz"}],"pools":{"a":{"origins":[{"url":"http://x"}]}}}"#,
                "EDGE.routes[0].fallback_pool",
                "unknown pool `zz`",
            ),
            (
                r#"{"routes":[{"pools":["a"],"fallback_pool":"a"}],"pools":{"a":{"origins":[{"url":"http://x"}]}}}"#,
                "EDGE.routes[0].fallback_pool",
                "already",
            ),
            (r#"{"hsts":"forever"}"#, "EDGE.hsts", "max-age="),
            (
                r#"{"pools":{"a":{"origins":[{"url":"http://x"}],"health":{"path":"health"}}}}"#,
                "EDGE.pools.a.health.path",
                "start with",
            ),
            (
                r#"{"pools":{"a":{"origins":[{"url":"http://x"}],"health":{"path":"/h","method":"POST"}}}}"#,
                "EDGE.pools.a.health.method",
                "GET or HEAD",
            ),
            (
                r#"{"pools":{"a":{"origins":[{"url":"http://x"}],"health":{"path":"/h","expected_codes":[999]}}}}"#,
                "EDGE.pools.a.health.expected_codes",
                "HTTP statuses",
            ),
            (
                r#"{"pools":{"a":{"origins":[{"url":"http://x"}],"health":{"path":"/h","unhealthy_threshold":0}}}}"#,
                "EDGE.pools.a.health.unhealthy_threshold",
                "out of range",
            ),
            (
                r#"{"pools":{"a":{"origins":[{"url":"http://x"}],"health":{"pth":"/h"}}}}"#,
                "EDGE.pools.a.health.pth",
                "unknown field",
            ),
            (
                r#"{"routes":[{"pools":["a"],"write_pool":"w"}],"pools":{"a":{"origins":[{"url":"http://x"}]}}}"#,
                "EDGE.routes[0].write_pool",
                "unknown pool `w`",
            ),
            (
                r#"{"routes":[{"pools":["a"],"read_your_writes_s":5}],"pools":{"a":{"origins":[{"url":"http://x"}]}}}"#,
                "EDGE.routes[0].read_your_writes_s",
                "needs write_pool",
            ),
            (
                r#"{"affinity_cookie":"bad name"}"#,
                "EDGE.affinity_cookie",
                "not a valid cookie name",
            ),
            (
                r#"{"attempt_timeout_ms":5}"#,
                "EDGE.attempt_timeout_ms",
                "out of range",
            ),
            (
                r#"{"eject_base_ms":20000,"eject_max_ms":10000}"#,
                "EDGE.eject_max_ms",
                "less than",
            ),
            (
                r#"{"memory_cache_bytes":1000,"memory_cache_max_file":2000}"#,
                "EDGE.memory_cache_max_file",
                "larger",
            ),
            (
                r#"{"memory_cache_bytes":-1}"#,
                "EDGE.memory_cache_bytes",
                "invalid",
            ),
        ];
        for (json, key, reason) in cases {
            let e = Config::from_json(json).unwrap_err();
            assert_eq!(e.key, key, "{json}: {e}");
            assert!(e.reason.contains(reason), "{json}: {e}");
        }
    }
}
