//! The edge's operations endpoints (`/__edge/…`): who may see them, and what they show.

use std::collections::BTreeMap;

use serde_json::json;

use crate::balancer::affinity;
use crate::balancer::health::PoolVerdicts;
use crate::balancer::PoolStates;
use crate::cache::counters::Counters;
use crate::config::Config;
use crate::jobs::Book;
use crate::origin_auth::constant_time_eq;
use crate::status_page::{job_statuses, OriginStatus, PoolStatus, StatusSnapshot};

/// Whether a request may see an operations endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// No `EDGE_HEALTH_TOKEN` is set: the endpoints do not exist (404).
    Hidden,
    /// The token is set but the request does not carry it (401).
    Denied,
    /// `Authorization: Bearer <token>`, or HTTP Basic with the token as the password.
    Granted,
}

/// Checks `Authorization` against the `EDGE_HEALTH_TOKEN` secret (constant time): either
/// `Bearer <token>` (scripts) or `Basic` with any user name and the token as the password (a
/// browser's login dialog, for the status page).
pub fn access(token: Option<&str>, authorization: Option<&str>) -> Access {
    let Some(token) = token else {
        return Access::Hidden;
    };
    let given = authorization.unwrap_or("").trim();
    let granted = match given.split_once(' ') {
        Some((scheme, cred)) if scheme.eq_ignore_ascii_case("basic") => {
            basic_password(cred.trim()).is_some_and(|p| constant_time_eq(&p, token.as_bytes()))
        }
        _ => constant_time_eq(given.as_bytes(), format!("Bearer {token}").as_bytes()),
    };
    if granted {
        Access::Granted
    } else {
        Access::Denied
    }
}

/// The password of HTTP Basic credentials (`base64(user:password)`), if well formed.
fn basic_password(cred: &str) -> Option<Vec<u8>> {
    use base64::Engine;
    let raw = base64::engine::general_purpose::STANDARD
        .decode(cred)
        .ok()?;
    let colon = raw.iter().position(|&b| b == b':')?;
    Some(raw[colon + 1..].to_vec())
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

/// What the operations pages show: this isolate's pool state (passive health, in-flight) with
/// the coordinator's verdicts and job book.
pub struct View<'a> {
    /// The configuration.
    pub cfg: &'a Config,
    /// This isolate's pool state.
    pub states: &'a PoolStates,
    /// The active-health verdicts, by pool.
    pub verdicts: &'a BTreeMap<String, PoolVerdicts>,
    /// The jobs' run book, when the coordinator gave it.
    pub book: Option<&'a Book>,
    /// This isolate's cache counters.
    pub cache: &'a Counters,
    /// Now, ms since the epoch.
    pub now_ms: u64,
}

/// `/__edge/health`: every pool and origin (weights, drain, passive and active health, requests
/// in flight), every job (schedule, next run, totals, last run), the cache counters; pretty JSON.
pub fn health_report(v: &View) -> String {
    let mut pools = serde_json::Map::new();
    for (name, pool) in &v.cfg.pools {
        let Some(state) = v.states.get(name) else {
            continue;
        };
        let active = v.verdicts.get(name);
        let available = state.available(pool, v.now_ms, &[], active);
        let origins: Vec<_> = pool
            .origins
            .iter()
            .enumerate()
            .map(|(i, o)| {
                let outlier = state.outliers.get(i).cloned().unwrap_or_default();
                json!({
                    "url": o.url, "weight": o.weight, "enabled": o.enabled,
                    "available": available.get(i).copied().unwrap_or(false),
                    "active": active.and_then(|a| a.origins.get(&affinity::origin_id(&o.url))),
                    "in_flight": state.in_flight.count(i, v.now_ms),
                    "consecutive_failures": outlier.consecutive_failures,
                    "ejected_until": outlier.ejected_until.filter(|&u| u > v.now_ms),
                    "ejections": outlier.ejections,
                })
            })
            .collect();
        pools.insert(
            name.clone(),
            json!({ "steering": pool.steering.name(), "origins": origins }),
        );
    }
    let empty = Book::default();
    let jobs: Vec<_> = job_statuses(&v.cfg.jobs, v.book.unwrap_or(&empty), v.now_ms)
        .into_iter()
        .map(|j| {
            json!({
                "name": j.name, "schedule": j.schedule, "pool": j.pool,
                "next_due_s": j.next_due_s, "counts": j.counts, "last_run": j.runs.last(),
            })
        })
        .collect();
    serde_json::to_string_pretty(&json!({
        "now": v.now_ms, "pools": pools, "jobs": jobs,
        "jobs_known": v.book.is_some() || v.cfg.jobs.is_empty(), "cache": v.cache,
    }))
    .unwrap_or_default()
}

/// `/__edge/status`: what the status page shows, reloading every `refresh_s` seconds.
pub fn status_snapshot(v: &View, refresh_s: u64) -> StatusSnapshot {
    let pools = v
        .cfg
        .pools
        .iter()
        .map(|(name, pool)| {
            let state = v.states.get(name);
            let active = v.verdicts.get(name);
            PoolStatus {
                name: name.clone(),
                steering: pool.steering.name().to_string(),
                origins: pool
                    .origins
                    .iter()
                    .enumerate()
                    .map(|(i, o)| {
                        let verdict = pool
                            .health
                            .as_ref()
                            .and(active)
                            .and_then(|a| a.origins.get(&affinity::origin_id(&o.url)));
                        let outlier = state.and_then(|s| s.outliers.get(i));
                        OriginStatus {
                            url: o.url.clone(),
                            weight: o.weight,
                            enabled: o.enabled,
                            healthy: verdict.map(|x| x.healthy),
                            reason: verdict.map(|x| x.reason.clone()),
                            since_ms: verdict.map(|x| x.since_ms),
                            checked_ms: verdict.map(|x| x.checked_ms),
                            latency_ms: verdict.and_then(|x| x.latency_ms),
                            ejected_until_ms: outlier
                                .and_then(|x| x.ejected_until)
                                .filter(|&u| u > v.now_ms),
                            in_flight: state.map_or(0, |s| s.in_flight.count(i, v.now_ms)),
                        }
                    })
                    .collect(),
            }
        })
        .collect();
    let empty = Book::default();
    StatusSnapshot {
        now_ms: v.now_ms,
        refresh_s,
        pools,
        jobs: job_statuses(&v.cfg.jobs, v.book.unwrap_or(&empty), v.now_ms),
        cache: Some(*v.cache),
    }
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
        // Basic: any user, the token as the password ("u:x", ":x", "u:y", "x").
        assert_eq!(access(Some("x"), Some("Basic dTp4")), Access::Granted);
        assert_eq!(access(Some("x"), Some("basic Ong=")), Access::Granted);
        assert_eq!(access(Some("x"), Some("Basic dTp5")), Access::Denied);
        assert_eq!(access(Some("x"), Some("Basic eA==")), Access::Denied);
        assert_eq!(access(Some("x"), Some("Basic !!!")), Access::Denied);
        assert_eq!(access(Some("a:b"), Some("Basic dTphOmI=")), Access::Granted);
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
        let view = View {
            cfg: &cfg,
            states: &states,
            verdicts: &BTreeMap::new(),
            book: None,
            cache: &Default::default(),
            now_ms: 2000,
        };
        let v: serde_json::Value = serde_json::from_str(&health_report(&view)).unwrap();
        let page = crate::status_page::render(&status_snapshot(&view, 5));
        assert!(page.contains("http://a") && page.contains("http://b"));
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
