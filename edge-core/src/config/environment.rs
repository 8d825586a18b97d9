//! What a configuration needs from the deployment around it — secrets, bindings, the build —
//! checked in one place, so the worker (at load) and `edge-config check` (before a deploy)
//! report the same thing. Also the warnings that are not errors.

use super::key_path::{ConfigError, KeyPath};
use super::Config;
use crate::origin_url::OriginUrl;
use crate::routes::{Action, HostPattern};

/// The secret that signs requests to origins.
pub const ORIGIN_KEY: &str = "EDGE_ORIGIN_KEY";
/// The secret that signs the edge's cookies.
pub const COOKIE_KEY: &str = "EDGE_COOKIE_KEY";
/// The secret that opens the operations endpoints.
pub const HEALTH_TOKEN: &str = "EDGE_HEALTH_TOKEN";
/// The Durable Object binding of the coordinator (purges; health and jobs).
pub const COORDINATOR: &str = "EDGE_COORDINATOR";

/// What the deployment provides beside the configuration.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Environment {
    /// Names of the secrets that are set (non-empty). `None` when unknown (a config check
    /// without the secrets at hand): then they are not checked.
    pub secrets: Option<Vec<String>>,
    /// Binding names of the Durable Object namespaces.
    pub durable_objects: Vec<String>,
    /// The build's public path (from its manifest), when the build is at hand.
    pub manifest_public_path: Option<String>,
}

impl Environment {
    /// What the worker finds around it when it loads: the secrets set, whether the coordinator
    /// is bound, and the public path of the manifest it loaded.
    pub fn at_load(secrets: &Secrets, coordinator_bound: bool, manifest_public_path: &str) -> Self {
        Environment {
            secrets: Some(secrets.present.clone()),
            durable_objects: coordinator_bound
                .then(|| COORDINATOR.to_string())
                .into_iter()
                .collect(),
            manifest_public_path: Some(manifest_public_path.to_string()),
        }
    }
}

/// The error for a required page (see [`Config::required_assets`]) that the loaded manifest
/// does not have.
pub fn not_in_manifest(key: &KeyPath, page: &str) -> ConfigError {
    key.error(format!("`{page}` is not in the manifest"))
}

/// The secrets as the worker uses them, read once from the deployment's bindings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Secrets {
    /// `EDGE_ORIGIN_KEY`, when set and origin authentication is on.
    pub origin_key: Option<Vec<u8>>,
    /// `EDGE_COOKIE_KEY` (empty when unset: cookies are then unsigned and ignored).
    pub cookie_key: Vec<u8>,
    /// `EDGE_HEALTH_TOKEN`, which opens `/__edge/…`.
    pub health_token: Option<String>,
    /// Names of the secrets that are set (for [`Config::check_environment`]).
    pub present: Vec<String>,
}

impl Secrets {
    /// Reads the secrets through `get` (a binding's text; empty counts as unset).
    pub fn read(config: &Config, get: impl Fn(&str) -> Option<String>) -> Self {
        let get = |name: &str| get(name).filter(|s| !s.is_empty());
        Secrets {
            origin_key: get(ORIGIN_KEY)
                .filter(|_| config.forwarding.origin_auth)
                .map(String::into_bytes),
            cookie_key: get(COOKIE_KEY).map(String::into_bytes).unwrap_or_default(),
            health_token: get(HEALTH_TOKEN),
            present: [ORIGIN_KEY, COOKIE_KEY, HEALTH_TOKEN]
                .iter()
                .filter(|n| get(n).is_some())
                .map(|n| n.to_string())
                .collect(),
        }
    }
}

/// Something worth fixing that does not stop the worker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    /// The key it is about.
    pub key: String,
    /// What and why.
    pub message: String,
}

impl std::fmt::Display for Warning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "warning at `{}`: {}", self.key, self.message)
    }
}

impl Config {
    /// The secrets this configuration needs, with the key that needs each.
    pub fn required_secrets(&self) -> Vec<(&'static str, KeyPath)> {
        let mut out = Vec::new();
        if self.forwarding.origin_auth && !self.pools.is_empty() {
            out.push((ORIGIN_KEY, KeyPath::root().key("origin_auth")));
        }
        if self.needs_cookie_key() {
            out.push((COOKIE_KEY, KeyPath::root().key("pools")));
        }
        out
    }

    /// Manifest paths that must exist in the build, with the key that names each.
    pub fn required_assets(&self) -> Vec<(KeyPath, &str)> {
        let mut out = Vec::new();
        if let Some(page) = &self.assets.not_found_page {
            out.push((KeyPath::root().key("not_found_page"), page.as_str()));
        }
        for (status, page) in self.error_pages.iter() {
            out.push((
                KeyPath::root().key("error_pages").key(&status.to_string()),
                page,
            ));
        }
        out
    }

    /// Checks what the configuration needs from its deployment.
    pub fn check_environment(&self, env: &Environment) -> Result<(), ConfigError> {
        if let Some(secrets) = &env.secrets {
            for (name, key) in self.required_secrets() {
                if !secrets.iter().any(|s| s == name) {
                    let why = if name == ORIGIN_KEY {
                        "; set origin_auth = false to send requests to origins unsigned"
                    } else {
                        " (sticky pools and write_pool routes sign cookies with it)"
                    };
                    return Err(key.error(format!(
                        "the secret {name} is not set (`wrangler secret put {name}`, or .dev.vars locally){why}"
                    )));
                }
            }
        }
        if !env.durable_objects.iter().any(|d| d == COORDINATOR) {
            let why = if self.has_health_checks() {
                Some((
                    "pools",
                    "pools with `health` checks are probed by the coordinator",
                ))
            } else if !self.jobs.is_empty() {
                Some(("jobs", "scheduled jobs are run by the coordinator"))
            } else if self.needs_coordinator() {
                Some(("routes", "routes that cache need the coordinator, which keeps their purges (or set cache = { enabled = false } on every route)"))
            } else {
                None
            };
            if let Some((key, why)) = why {
                return Err(KeyPath::root().key(key).error(format!(
                    "{why}: the Durable Object binding {COORDINATOR} is missing ([[durable_objects.bindings]] name = \"{COORDINATOR}\", class_name = \"EdgeCoordinator\" in wrangler.toml, with its migration)"
                )));
            }
        }
        if let Some(built) = &env.manifest_public_path {
            if *built != self.assets.public_path {
                return Err(KeyPath::root().key("public_path").error(format!(
                    "`{}` differs from the manifest's public_path `{built}`",
                    self.assets.public_path
                )));
            }
        }
        Ok(())
    }

    /// Whether the configuration needs the coordinator (some route caches).
    pub fn needs_coordinator(&self) -> bool {
        self.routes.iter().any(|r| match &r.action {
            crate::routes::Action::Proxy(u) => u.cache.enabled,
            crate::routes::Action::Deny => false,
        })
    }

    /// Warnings: configurations that work here but not in production.
    pub fn warnings(&self) -> Vec<Warning> {
        let mut out = Vec::new();
        for (name, pool) in &self.pools {
            for (i, o) in pool.origins.iter().enumerate() {
                let ip_literal = OriginUrl::parse(&o.url).is_some_and(|u| {
                    u.host.starts_with('[') || u.host.parse::<std::net::Ipv4Addr>().is_ok()
                });
                if ip_literal {
                    out.push(Warning {
                        key: KeyPath::root()
                            .key("pools")
                            .key(name)
                            .key("origins")
                            .index(i)
                            .key("url")
                            .to_string(),
                        message: format!(
                            "`{}` is an IP address: the Workers runtime refuses fetches to bare IPs in production (fine for local development); use a host name",
                            o.url
                        ),
                    });
                }
            }
        }
        out.extend(self.route_warnings());
        out
    }

    /// Routes that can never take a request (an earlier route takes all of theirs, or they lie
    /// under the public path, which is served as assets), and an affinity cookie that is also a
    /// route's session cookie (the edge's pin would replace the session).
    fn route_warnings(&self) -> Vec<Warning> {
        let mut out = Vec::new();
        let mut warn = |i: usize, key: &str, message: String| {
            let key = KeyPath::root().key("routes").index(i).key(key).to_string();
            out.push(Warning { key, message });
        };
        let public = &self.assets.public_path;
        for (i, r) in self.routes.iter().enumerate() {
            let prefix = r.path_prefix.as_str();
            let shadow = self.routes[..i].iter().position(|e| {
                (e.host == HostPattern::Any || e.host.label().eq_ignore_ascii_case(&r.host.label()))
                    && e.path_prefix.matches(prefix.as_bytes())
            });
            if let Some(j) = shadow {
                let message =
                    format!("routes[{j}] takes every request this route would: it is never used");
                warn(i, "path_prefix", message);
            } else if prefix.starts_with(public.as_str()) {
                let message = format!("`{prefix}` is under public_path `{public}`, served as assets: this route is never used");
                warn(i, "path_prefix", message);
            }
            let cookie = &self.cookies.affinity_cookie;
            if let Action::Proxy(u) = &r.action {
                if u.cache.private_cookies.contains(cookie) {
                    let message = format!("`{cookie}` is also affinity_cookie: the edge's pin would replace the session cookie");
                    warn(i, "cache.private_cookies", message);
                }
            }
        }
        out
    }
}
