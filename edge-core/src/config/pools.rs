//! `[vars.EDGE.pools.NAME]`: steering, origins and their weights, stickiness, health checks.

use std::collections::BTreeMap;

use super::key_path::{ConfigError, KeyPath, Validate};
use super::raw::{RawOrigin, RawPool};
use crate::balancer::{HashOn, Origin, Pool, Steering};
use crate::origin_url::OriginUrl;

const POLICIES: [&str; 3] = [
    "weighted_round_robin",
    "weighted_random",
    "least_outstanding",
];

pub(super) fn validate(
    raw: &BTreeMap<String, RawPool>,
    at: &KeyPath,
) -> Result<BTreeMap<String, Pool>, ConfigError> {
    let mut pools = BTreeMap::new();
    for (name, pool) in raw {
        let here = at.key(name);
        if name.is_empty()
            || !name
                .bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
        {
            return Err(here.error("a pool name may hold letters, digits, `-` and `_`"));
        }
        pools.insert(name.clone(), pool.validate(&here)?);
    }
    Ok(pools)
}

impl Validate for RawPool {
    type Output = Pool;

    fn validate(&self, at: &KeyPath) -> Result<Pool, ConfigError> {
        let steering = match (self.steering.as_str(), &self.hash_on) {
            ("weighted_round_robin", None) => Steering::WeightedRoundRobin,
            ("weighted_random", None) => Steering::WeightedRandom,
            ("least_outstanding", None) => Steering::LeastOutstanding,
            ("hash", Some(on)) => Steering::Hash(match on.split_once(':') {
                Some(("cookie", n)) if crate::token::is_token(n) => HashOn::Cookie(n.to_string()),
                Some(("header", n)) if crate::token::is_token(n) => {
                    HashOn::Header(n.to_ascii_lowercase())
                }
                None if on == "client_ip" => HashOn::ClientIp,
                _ => {
                    return Err(at.key("hash_on").error(format!(
                        "`{on}` must be cookie:NAME, header:NAME or client_ip"
                    )))
                }
            }),
            ("hash", None) => {
                return Err(at.key("hash_on").error(
                    "steering = \"hash\" needs hash_on (cookie:NAME, header:NAME or client_ip)",
                ))
            }
            (s, Some(_)) if POLICIES.contains(&s) => {
                return Err(at
                    .key("hash_on")
                    .error(format!("only used with steering = \"hash\", not `{s}`")))
            }
            (s, _) => {
                return Err(at.key("steering").error(format!(
                    "`{s}` is not one of weighted_round_robin, weighted_random, least_outstanding, hash"
                )))
            }
        };
        if self.origins.is_empty() {
            return Err(at.key("origins").error("a pool needs at least one origin"));
        }
        let origins = self
            .origins
            .iter()
            .enumerate()
            .map(|(i, o)| o.validate(&at.key("origins").index(i)))
            .collect::<Result<Vec<_>, _>>()?;
        for (i, o) in origins.iter().enumerate() {
            if origins[..i].iter().any(|p| p.url == o.url) {
                return Err(at
                    .key("origins")
                    .index(i)
                    .key("url")
                    .error(format!("`{}` is listed twice in this pool", o.url)));
            }
        }
        let health = match &self.health {
            None => None,
            Some(h) => Some(h.validate(&at.key("health"))?),
        };
        Ok(Pool {
            steering,
            origins,
            sticky: self.sticky,
            health,
        })
    }
}

impl Validate for RawOrigin {
    type Output = Origin;

    fn validate(&self, at: &KeyPath) -> Result<Origin, ConfigError> {
        let Some(url) = &self.url else {
            return Err(at
                .key("url")
                .error("missing: the origin's http(s) URL, like http://127.0.0.1:8001"));
        };
        let Some(parsed) = OriginUrl::parse(url) else {
            return Err(at.key("url").error(format!(
                "`{url}` must be an http(s) URL with a host and no path, like http://127.0.0.1:8001"
            )));
        };
        if !(1..=1000).contains(&self.weight) {
            return Err(at
                .key("weight")
                .error(format!("{} is out of range 1–1000", self.weight)));
        }
        Ok(Origin {
            url: parsed.to_string(),
            weight: self.weight as u32,
            enabled: self.enabled,
        })
    }
}
