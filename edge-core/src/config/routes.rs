//! `[[vars.EDGE.routes]]`: host and path → deny, or a chain of pools.

use std::collections::BTreeMap;

use super::key_path::{ConfigError, KeyPath, Validate};
use super::raw::{RawRoute, DEFAULT_READ_YOUR_WRITES_S};
use crate::balancer::Pool;
use crate::routes::{Action, HostPattern, PathPrefix, Route, Upstream};

pub(super) fn validate(
    raw: &[RawRoute],
    pools: &BTreeMap<String, Pool>,
    at: &KeyPath,
) -> Result<Vec<Route>, ConfigError> {
    raw.iter()
        .enumerate()
        .map(|(i, r)| (r, pools).validate(&at.index(i)))
        .collect()
}

impl Validate for (&RawRoute, &BTreeMap<String, Pool>) {
    type Output = Route;

    fn validate(&self, at: &KeyPath) -> Result<Route, ConfigError> {
        let (r, pools) = *self;
        let host = match &r.host {
            None => HostPattern::Any,
            Some(h) => HostPattern::parse(h).ok_or_else(|| {
                at.key("host")
                    .error(format!("`{h}` must be a host name, `*.domain` or `*`"))
            })?,
        };
        let path_prefix = PathPrefix::parse(&r.path_prefix).ok_or_else(|| {
            at.key("path_prefix").error(format!(
                "`{}` must start with `/` (and hold no `?` or `#`)",
                r.path_prefix
            ))
        })?;
        let known = |key: KeyPath, name: &str| -> Result<String, ConfigError> {
            if pools.contains_key(name) {
                Ok(name.to_string())
            } else {
                Err(key.error(format!(
                    "unknown pool `{name}` (defined: {})",
                    pools.keys().cloned().collect::<Vec<_>>().join(", ")
                )))
            }
        };
        let action = match r.action.as_str() {
            "deny" => {
                for (key, set) in [
                    ("pools", !r.pools.is_empty()),
                    ("fallback_pool", r.fallback_pool.is_some()),
                    ("write_pool", r.write_pool.is_some()),
                    ("read_your_writes_s", r.read_your_writes_s.is_some()),
                    ("intercept_origin_errors", r.intercept_origin_errors),
                ] {
                    if set {
                        return Err(at
                            .key(key)
                            .error("a route with action = \"deny\" sends nothing to pools"));
                    }
                }
                Action::Deny
            }
            "proxy" => {
                if r.pools.is_empty() {
                    return Err(at.key("pools").error("a route needs at least one pool"));
                }
                let mut chain = Vec::new();
                for (j, p) in r.pools.iter().enumerate() {
                    let name = known(at.key("pools").index(j), p)?;
                    if chain.contains(&name) {
                        return Err(at
                            .key("pools")
                            .index(j)
                            .error(format!("`{name}` is listed twice")));
                    }
                    chain.push(name);
                }
                if let Some(f) = &r.fallback_pool {
                    let name = known(at.key("fallback_pool"), f)?;
                    if chain.contains(&name) {
                        return Err(at
                            .key("fallback_pool")
                            .error(format!("`{f}` is already in the route's pools")));
                    }
                    chain.push(name);
                }
                let write_pool = match &r.write_pool {
                    Some(w) => Some(known(at.key("write_pool"), w)?),
                    None => None,
                };
                let read_your_writes_s = match (&write_pool, r.read_your_writes_s) {
                    (None, Some(_)) => {
                        return Err(at.key("read_your_writes_s").error("needs write_pool"))
                    }
                    (None, None) => 0,
                    (Some(_), None) => DEFAULT_READ_YOUR_WRITES_S,
                    (Some(_), Some(s)) => at.key("read_your_writes_s").in_range(s, 0, 3600)?,
                };
                Action::Proxy(Upstream {
                    pools: chain,
                    write_pool,
                    read_your_writes_s,
                    intercept_origin_errors: r.intercept_origin_errors,
                    cache: r.cache.validate(&at.key("cache"))?,
                })
            }
            other => {
                return Err(at
                    .key("action")
                    .error(format!("`{other}` must be \"proxy\" or \"deny\"")))
            }
        };
        Ok(Route {
            host,
            path_prefix,
            action,
        })
    }
}
