//! The edge's operations endpoints (`/__edge/…`): who may see them, and what they show.

use std::collections::BTreeMap;

use serde_json::json;

use crate::balancer::affinity;
use crate::balancer::health::PoolVerdicts;
use crate::balancer::PoolStates;
use crate::config::Config;
use crate::origin_auth::constant_time_eq;

/// Whether a request may see an operations endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// No `EDGE_HEALTH_TOKEN` is set: the endpoints do not exist (404).
    Hidden,
    /// The token is set but the request does not carry it (401).
    Denied,
    /// `Authorization: Bearer <token>`.
    Granted,
}

/// Checks `Authorization` against the `EDGE_HEALTH_TOKEN` secret (constant time).
pub fn access(token: Option<&str>, authorization: Option<&str>) -> Access {
    let Some(token) = token else {
        return Access::Hidden;
    };
    let given = authorization.unwrap_or("");
    let expected = format!("Bearer {token}");
    if constant_time_eq(given.as_bytes(), expected.as_bytes()) {
        Access::Granted
    } else {
        Access::Denied
    }
}

/// A purge request to `POST /__edge/purge`: tags, and URLs (absolute, as clients ask for them).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PurgeRequest {
    /// Tags to purge.
    pub tags: Vec<String>,
    /// URLs to purge (each with all its variants).
    pub urls: Vec<String>,
}

impl PurgeRequest {
    /// Parses the JSON body; the error says what is wrong.
    pub fn parse(body: &str) -> Result<Self, String> {
        let r: PurgeRequest = serde_json::from_str(body)
            .map_err(|e| format!("the body must be JSON like {{\"tags\": [\"product-1\"], \"urls\": [\"https://shop.example.com/\"]}}: {e}"))?;
        if r.tags.is_empty() && r.urls.is_empty() {
            return Err("nothing to purge: give tags or urls".into());
        }
        if let Some(u) = r
            .urls
            .iter()
            .find(|u| !(u.starts_with("http://") || u.starts_with("https://")))
        {
            return Err(format!("`{u}` is not an absolute http(s) URL"));
        }
        Ok(r)
    }

    /// The tags to record: the given ones and each URL's implicit tag (under every route's
    /// key rules, since a URL's key depends on the route's ignored query parameters).
    pub fn all_tags(&self, cfg: &Config) -> Vec<String> {
        let mut out = self.tags.clone();
        for url in &self.urls {
            for route in &cfg.routes {
                if let crate::routes::Action::Proxy(u) = &route.action {
                    out.push(crate::cache::entry::url_tag(&crate::cache::key::primary(
                        url,
                        &u.cache.ignore_query,
                    )));
                }
            }
            out.push(crate::cache::entry::url_tag(&crate::cache::key::primary(
                url,
                &[],
            )));
        }
        out.sort();
        out.dedup();
        out
    }
}

/// `/__edge/health`: every pool and origin as this isolate sees it (weights, drain, passive
/// and active health, requests in flight), as pretty JSON.
pub fn health_report(
    cfg: &Config,
    states: &PoolStates,
    verdicts: &BTreeMap<String, PoolVerdicts>,
    cache: &crate::cache::counters::Counters,
    now_ms: u64,
) -> String {
    let mut pools = serde_json::Map::new();
    for (name, pool) in &cfg.pools {
        let Some(state) = states.get(name) else {
            continue;
        };
        let active = verdicts.get(name);
        let available = state.available(pool, now_ms, &[], active);
        let origins: Vec<_> = pool
            .origins
            .iter()
            .enumerate()
            .map(|(i, o)| {
                let outlier = state.outliers.get(i).cloned().unwrap_or_default();
                json!({
                    "url": o.url, "weight": o.weight, "enabled": o.enabled,
                    "available": available.get(i).copied().unwrap_or(false),
                    "active": active.and_then(|v| v.origins.get(&affinity::origin_id(&o.url))),
                    "in_flight": state.in_flight.count(i, now_ms),
                    "consecutive_failures": outlier.consecutive_failures,
                    "ejected_until": outlier.ejected_until.filter(|&u| u > now_ms),
                    "ejections": outlier.ejections,
                })
            })
            .collect();
        pools.insert(
            name.clone(),
            json!({ "steering": pool.steering.name(), "origins": origins }),
        );
    }
    serde_json::to_string_pretty(&json!({ "now": now_ms, "pools": pools, "cache": cache }))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::balancer::pool_states;

    #[test]
    fn access_needs_the_exact_bearer_token() {
        assert_eq!(access(None, Some("Bearer x")), Access::Hidden);
        assert_eq!(access(Some("x"), None), Access::Denied);
        assert_eq!(access(Some("x"), Some("Bearer y")), Access::Denied);
        assert_eq!(access(Some("x"), Some("bearer x")), Access::Denied);
        assert_eq!(access(Some("x"), Some("Bearer x")), Access::Granted);
    }

    #[test]
    fn purge_requests() {
        let cfg = Config::from_json(
            r#"{"routes":[{"pools":["p"]}],"pools":{"p":{"origins":[{"url":"http://a"}]}}}"#,
        )
        .unwrap();
        let r =
            PurgeRequest::parse(r#"{"tags":["t1"],"urls":["https://s/p?utm_source=x"]}"#).unwrap();
        let tags = r.all_tags(&cfg);
        assert!(tags.contains(&"t1".to_string()));
        assert!(
            tags.contains(&crate::cache::entry::url_tag("https://s/p")),
            "under the route's key rules"
        );
        for bad in [
            "",
            "{}",
            "{\"tags\":[]}",
            "{\"urls\":[\"/relative\"]}",
            "{\"tag\":[\"x\"]}",
            "[1]",
        ] {
            assert!(PurgeRequest::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_report_shows_every_origin() {
        let cfg = Config::from_json(
            r#"{"eject_after_failures":1,"pools":{"p":{"origins":[{"url":"http://a"},{"url":"http://b","enabled":false}]}}}"#,
        )
        .unwrap();
        let mut states = pool_states(&cfg.pools);
        states
            .get_mut("p")
            .unwrap()
            .record(0, true, 1000, &cfg.outlier);
        let v: serde_json::Value = serde_json::from_str(&health_report(
            &cfg,
            &states,
            &BTreeMap::new(),
            &Default::default(),
            2000,
        ))
        .unwrap();
        let origins = &v["pools"]["p"]["origins"];
        assert_eq!(v["pools"]["p"]["steering"], "weighted_round_robin");
        assert_eq!(origins[0]["available"], false, "ejected");
        assert_eq!(origins[0]["ejections"], 1);
        assert_eq!(origins[1]["available"], false, "drained");
        assert_eq!(origins[1]["enabled"], false);
        assert_eq!(origins[0]["in_flight"], 0);
        assert_eq!(v["cache"]["hit"], 0);
    }
}
