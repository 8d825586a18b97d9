//! The edge's operations endpoints (`/__edge/…`): who may see them, and what they show.

use std::collections::BTreeMap;

use serde_json::json;

use crate::answer::Answer;
use crate::balancer::affinity;
use crate::balancer::ejection::Outlier;
use crate::balancer::health::{PoolVerdicts, Verdict};
use crate::balancer::{Origin, Pool, PoolStates};
use crate::cache::counters::Counters;
use crate::config::Config;
use crate::jobs::Book;
use crate::origin_auth::constant_time_eq;
use crate::origin_url::{split_absolute, OriginUrl};
use crate::router::Ops;
use crate::status_page::{self, job_statuses, JobStatus, OriginStatus, PoolStatus, StatusSnapshot};

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
        // The scheme's name is case-insensitive (RFC 9110 §11.1).
        Some((scheme, cred)) if scheme.eq_ignore_ascii_case("bearer") => {
            constant_time_eq(cred.trim().as_bytes(), token.as_bytes())
        }
        _ => false,
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

/// What `POST /__edge/purge` asks, or the answer refusing it: 405 for another method, 400 for
/// a body that is not a purge.
pub fn purge_request(method: &str, body: &str) -> Result<PurgeRequest, Answer> {
    if method != "POST" {
        let how = "POST a JSON body {\"tags\": [...], \"urls\": [...]}";
        return Err(not_allowed(how, "POST"));
    }
    PurgeRequest::parse(body).map_err(|why| Answer::text(400, format!("400 Bad Request: {why}\n")))
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
        let urls = r
            .urls
            .iter()
            .map(|u| purge_url(u))
            .collect::<Result<_, _>>()?;
        Ok(PurgeRequest { urls, ..r })
    }

    /// The answer once the purge went to the coordinator: `Some(Ok)` recorded (every isolate
    /// has it within `propagation_ms`), `Some(Err(why))` not recorded, `None` no coordinator bound.
    pub fn answer(&self, recorded: Option<Result<(), String>>, propagation_ms: u64) -> Answer {
        match recorded {
            Some(Ok(())) => Answer::json(
                200,
                json!({ "purged": self.tags, "urls": self.urls, "propagation_ms": propagation_ms })
                    .to_string(),
            ),
            Some(Err(why)) => Answer::text(
                502,
                format!("502 Bad Gateway: the coordinator did not record the purge: {why}\n"),
            ),
            None => Answer::text(
                503,
                "503 Service Unavailable: no coordinator (EDGE_COORDINATOR) to record the purge\n",
            ),
        }
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

/// A purge URL spelled as the runtime gives the worker a client's request URL (and so as the
/// cache keys it): the scheme in lower case, the path and query percent-encoded as UTF-8
/// (`/café` is requested as `/caf%C3%A9`). A URL no request can have (no valid host or port,
/// a space or a control character) is refused: a purge that could match nothing would look
/// like a success.
fn purge_url(u: &str) -> Result<String, String> {
    let refused = |why: &str| format!("`{u}` is not an absolute http(s) URL: {why}");
    let (scheme, authority, tail) = split_absolute(u).ok_or_else(|| refused("no scheme"))?;
    let origin = OriginUrl::parse(&format!("{scheme}://{authority}"))
        .ok_or_else(|| refused("want http(s)://host[:port] (port 1-65535, no user info)"))?;
    let mut out = format!("{}://{authority}", origin.scheme);
    for c in tail.chars() {
        if c.is_ascii_control() || c == ' ' || c == '\u{85}' || c == '\u{a0}' {
            return Err(refused("a space or control character (percent-encode it)"));
        }
        if c.is_ascii() {
            out.push(c);
        } else {
            let mut utf8 = [0; 4];
            for b in c.encode_utf8(&mut utf8).bytes() {
                out.push('%');
                for d in [b >> 4, b & 15] {
                    let digit = char::from_digit(u32::from(d), 16).unwrap_or('0');
                    out.push(digit.to_ascii_uppercase());
                }
            }
        }
    }
    Ok(out)
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

/// One pool as the operations pages see it.
struct PoolFacts<'a> {
    name: &'a String,
    pool: &'a Pool,
    /// Whether this isolate has state for the pool (the health JSON leaves the pool out if not).
    has_state: bool,
    origins: Vec<OriginFacts<'a>>,
}

/// One origin as the operations pages see it: its configuration, this isolate's passive health
/// and in-flight count, and the coordinator's stored verdict.
struct OriginFacts<'a> {
    origin: &'a Origin,
    /// Whether it may take a new request now (false when the isolate has no state for the pool).
    available: bool,
    /// The stored active-health verdict, whether or not the pool has checks configured.
    verdict: Option<&'a Verdict>,
    /// Passive health, when the isolate has state for the pool.
    outlier: Option<&'a Outlier>,
    /// Ejected until then, if that is in the future.
    ejected_until: Option<u64>,
    /// Requests in flight to it from this isolate.
    in_flight: u32,
}

/// Every pool and origin of the configuration with what this isolate and the coordinator know
/// of it: the one walk both operations pages make.
fn pool_facts<'a>(v: &View<'a>) -> impl Iterator<Item = PoolFacts<'a>> + 'a {
    let (states, verdicts, now_ms) = (v.states, v.verdicts, v.now_ms);
    v.cfg.pools.iter().map(move |(name, pool)| {
        let state = states.get(name);
        let active = verdicts.get(name);
        let available = state.map_or_else(Vec::new, |s| s.available(pool, now_ms, &[], active));
        let origins = pool
            .origins
            .iter()
            .enumerate()
            .map(|(i, origin)| {
                let outlier = state.and_then(|s| s.outliers.get(i));
                OriginFacts {
                    origin,
                    available: available.get(i).copied().unwrap_or(false),
                    verdict: active.and_then(|a| a.origins.get(&affinity::origin_id(&origin.url))),
                    outlier,
                    ejected_until: outlier
                        .and_then(|o| o.ejected_until)
                        .filter(|&u| u > now_ms),
                    in_flight: state.map_or(0, |s| s.in_flight.count(i, now_ms)),
                }
            })
            .collect();
        PoolFacts {
            name,
            pool,
            has_state: state.is_some(),
            origins,
        }
    })
}

/// Every configured job with what the coordinator's book (if it gave one) says of it.
fn jobs(v: &View) -> Vec<JobStatus> {
    let empty = Book::default();
    job_statuses(&v.cfg.jobs, v.book.unwrap_or(&empty), v.now_ms)
}

/// `/__edge/health`: every pool and origin (weights, drain, passive and active health, requests
/// in flight), every job (schedule, next run, totals, last run), the cache counters; pretty JSON.
pub fn health_report(v: &View) -> String {
    let mut pools = serde_json::Map::new();
    for p in pool_facts(v).filter(|p| p.has_state) {
        let origins: Vec<_> = p
            .origins
            .iter()
            .map(|o| {
                json!({
                    "url": o.origin.url, "weight": o.origin.weight, "enabled": o.origin.enabled,
                    "available": o.available,
                    "active": o.verdict,
                    "in_flight": o.in_flight,
                    "consecutive_failures": o.outlier.map_or(0, |x| x.consecutive_failures),
                    "ejected_until": o.ejected_until,
                    "ejections": o.outlier.map_or(0, |x| x.ejections),
                })
            })
            .collect();
        pools.insert(
            p.name.clone(),
            json!({ "steering": p.pool.steering.name(), "origins": origins }),
        );
    }
    let jobs: Vec<_> = jobs(v)
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
    let pools = pool_facts(v)
        .map(|p| {
            // The page shows verdicts only for a pool with checks configured.
            let checked = p.pool.health.is_some();
            PoolStatus {
                name: p.name.clone(),
                steering: p.pool.steering.name().to_string(),
                origins: p
                    .origins
                    .iter()
                    .map(|o| {
                        let verdict = o.verdict.filter(|_| checked);
                        OriginStatus {
                            url: o.origin.url.clone(),
                            weight: o.origin.weight,
                            enabled: o.origin.enabled,
                            healthy: verdict.map(|x| x.healthy),
                            reason: verdict.map(|x| x.reason.clone()),
                            since_ms: verdict.map(|x| x.since_ms),
                            checked_ms: verdict.map(|x| x.checked_ms),
                            latency_ms: verdict.and_then(|x| x.latency_ms),
                            ejected_until_ms: o.ejected_until,
                            in_flight: o.in_flight,
                        }
                    })
                    .collect(),
            }
        })
        .collect();
    StatusSnapshot {
        now_ms: v.now_ms,
        refresh_s,
        pools,
        jobs: jobs(v),
        cache: Some(*v.cache),
    }
}

/// How often the status page reloads itself, in seconds.
pub const STATUS_REFRESH_S: u64 = 5;

/// What a request for the operations endpoint `op` gets, by its [`Access`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Handling {
    /// This answer (404 while hidden or for an unknown endpoint, 401 without the token).
    Answer(Answer),
    /// A purge ([`purge_request`]).
    Purge,
    /// A page ([`report`]), after a fresh look at the coordinator.
    Report,
}

/// The handling of a request with `method` for `op` with `access`. The pages are read-only:
/// another method than GET or HEAD is a 405 (a purge's method is checked by [`purge_request`]).
pub fn handling(op: Ops, access: Access, method: &str) -> Handling {
    match (access, op) {
        (Access::Hidden, _) | (Access::Granted, Ops::Unknown) => {
            Handling::Answer(Answer::not_found())
        }
        (Access::Denied, _) => Handling::Answer(Answer::unauthorized()),
        (Access::Granted, Ops::Purge) => Handling::Purge,
        (Access::Granted, Ops::Health | Ops::Status) if method != "GET" && method != "HEAD" => {
            Handling::Answer(not_allowed("this page answers GET and HEAD", "GET, HEAD"))
        }
        (Access::Granted, Ops::Health | Ops::Status) => Handling::Report,
    }
}

/// 405 saying `how` to ask, with `Allow: allow`.
fn not_allowed(how: &str, allow: &str) -> Answer {
    let mut a = Answer::text(405, format!("405 Method Not Allowed: {how}\n"));
    a.headers.push(("allow", allow.into()));
    a
}

/// The page of `op`: the health JSON for [`Ops::Health`], else the status page.
pub fn report(op: Ops, v: &View) -> Answer {
    if op == Ops::Health {
        Answer::json(200, health_report(v))
    } else {
        let page = status_page::render(&status_snapshot(v, STATUS_REFRESH_S));
        Answer::html(200, page)
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
        assert_eq!(access(Some("x"), Some("bearer x")), Access::Granted);
        assert_eq!(access(Some("x"), Some("BEARER  x")), Access::Granted);
        assert_eq!(access(Some("x"), Some("Bearerx")), Access::Denied);
        assert_eq!(access(Some("x"), Some("x")), Access::Denied);
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
    fn purge_answers() {
        let refused = purge_request("GET", "").unwrap_err();
        assert_eq!(refused.status, 405);
        assert!(refused.headers.contains(&("allow", "POST".into())));
        assert_eq!(purge_request("POST", "{}").unwrap_err().status, 400);
        let r = purge_request("POST", r#"{"tags":["p1"]}"#).unwrap();
        let ok = r.answer(Some(Ok(())), 1000);
        assert_eq!(ok.status, 200);
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&ok.body).unwrap(),
            json!({"purged": ["p1"], "urls": [], "propagation_ms": 1000})
        );
        let failed = r.answer(Some(Err("status 500".into())), 1000);
        assert_eq!(failed.status, 502);
        assert!(failed.body.contains("status 500"));
        assert_eq!(r.answer(None, 1000).status, 503);
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
        // Spelled as the runtime spells a request's URL, or refused naming the URL.
        let urls = |u: &str| PurgeRequest::parse(&format!(r#"{{"urls":["{u}"]}}"#)).map(|r| r.urls);
        for (given, want) in [
            ("HTTPS://shop.test/", "https://shop.test/"),
            (
                "http://shop.test/café?q=ü",
                "http://shop.test/caf%C3%A9?q=%C3%BC",
            ),
            (
                "https://shop.test:8443/a%20b",
                "https://shop.test:8443/a%20b",
            ),
            ("https://[::1]:8443/x", "https://[::1]:8443/x"),
        ] {
            assert_eq!(urls(given), Ok(vec![want.to_string()]), "{given}");
        }
        for bad in [
            "http://",
            "http://[",
            "https://shop.test:99999/x",
            "https://user@shop.test/",
            "ftp://shop.test/",
            "https://shop.test/a b",
            "shop.test/x",
        ] {
            let why = urls(bad).expect_err(bad);
            assert!(why.contains(&format!("`{bad}`")), "{why}");
        }
    }

    /// Three pools (`a` with active checks, an ejected and a drained origin; `b` without checks
    /// but with a stored verdict and a request in flight; `c` with no isolate state) and a job,
    /// seen at 2 s: the state whose outputs are pinned.
    struct Pinned {
        cfg: Config,
        states: PoolStates,
        verdicts: BTreeMap<String, PoolVerdicts>,
        cache: Counters,
    }

    impl Pinned {
        fn view(&self) -> View<'_> {
            View {
                cfg: &self.cfg,
                states: &self.states,
                verdicts: &self.verdicts,
                book: None,
                cache: &self.cache,
                now_ms: 2_000,
            }
        }
    }

    fn pinned() -> Pinned {
        let cfg = Config::from_json(
            r#"{"eject_after_failures":1,
                "pools":{
                  "a":{"origins":[{"url":"http://a1","weight":3},{"url":"http://a2","enabled":false}],
                       "health":{"path":"/health"}},
                  "b":{"steering":"least_outstanding","origins":[{"url":"http://b1"},{"url":"http://b2"}]},
                  "c":{"origins":[{"url":"http://c1"}]}},
                "jobs":[{"name":"j","every_s":60,"pool":"a","path":"/_jobs/x"}]}"#,
        )
        .unwrap();
        let mut states = pool_states(&cfg.pools);
        states
            .get_mut("a")
            .unwrap()
            .record(0, true, 1_000, &cfg.outlier);
        let b = states.get_mut("b").unwrap();
        let _ticket = b.in_flight.begin(1, 1_500, 60_000);
        states.remove("c");
        let verdict = |healthy: bool, reason: &str, latency_ms| crate::balancer::health::Verdict {
            healthy,
            ok_streak: u32::from(healthy) * 3,
            fail_streak: u32::from(!healthy) * 2,
            since_ms: 500,
            checked_ms: 1_500,
            reason: reason.into(),
            latency_ms,
        };
        let mut verdicts = BTreeMap::new();
        for (pool, url, v) in [
            ("a", "http://a1", verdict(true, "ok", Some(12))),
            ("b", "http://b1", verdict(false, "status 503", None)),
            ("c", "http://c1", verdict(true, "ok", Some(7))),
        ] {
            verdicts
                .entry(pool.to_string())
                .or_insert_with(PoolVerdicts::default)
                .origins
                .insert(affinity::origin_id(url), v);
        }
        Pinned {
            cfg,
            states,
            verdicts,
            cache: Counters::default(),
        }
    }

    #[test]
    fn the_health_json_is_pinned() {
        assert_eq!(health_report(&pinned().view()), HEALTH_JSON);
    }

    /// `/__edge/health` for [`pinned`]: pool `c` has no isolate state (left
    /// out), pool `b` has no checks but its stored verdict is shown.
    const HEALTH_JSON: &str = r#"{
  "cache": {
    "bypass": 0,
    "collapsed": 0,
    "hit": 0,
    "miss": 0,
    "stale": 0,
    "stored": 0
  },
  "jobs": [
    {
      "counts": {
        "failed": 0,
        "missed": 0,
        "skipped": 0,
        "started": 0,
        "succeeded": 0
      },
      "last_run": null,
      "name": "j",
      "next_due_s": 60,
      "pool": "a",
      "schedule": "every 60s"
    }
  ],
  "jobs_known": false,
  "now": 2000,
  "pools": {
    "a": {
      "origins": [
        {
          "active": {
            "checked_ms": 1500,
            "fail_streak": 0,
            "healthy": true,
            "latency_ms": 12,
            "ok_streak": 3,
            "reason": "ok",
            "since_ms": 500
          },
          "available": false,
          "consecutive_failures": 0,
          "ejected_until": 11000,
          "ejections": 1,
          "enabled": true,
          "in_flight": 0,
          "url": "http://a1",
          "weight": 3
        },
        {
          "active": null,
          "available": false,
          "consecutive_failures": 0,
          "ejected_until": null,
          "ejections": 0,
          "enabled": false,
          "in_flight": 0,
          "url": "http://a2",
          "weight": 1
        }
      ],
      "steering": "weighted_round_robin"
    },
    "b": {
      "origins": [
        {
          "active": {
            "checked_ms": 1500,
            "fail_streak": 2,
            "healthy": false,
            "latency_ms": null,
            "ok_streak": 0,
            "reason": "status 503",
            "since_ms": 500
          },
          "available": true,
          "consecutive_failures": 0,
          "ejected_until": null,
          "ejections": 0,
          "enabled": true,
          "in_flight": 0,
          "url": "http://b1",
          "weight": 1
        },
        {
          "active": null,
          "available": true,
          "consecutive_failures": 0,
          "ejected_until": null,
          "ejections": 0,
          "enabled": true,
          "in_flight": 1,
          "url": "http://b2",
          "weight": 1
        }
      ],
      "steering": "least_outstanding"
    }
  }
}"#;

    #[test]
    fn the_status_snapshot_is_pinned() {
        let pinned = pinned();
        let origin = |url: &str, weight, enabled| OriginStatus {
            url: url.into(),
            weight,
            enabled,
            ..OriginStatus::default()
        };
        let pool = |name: &str, steering: &str, origins| PoolStatus {
            name: name.into(),
            steering: steering.into(),
            origins,
        };
        // Pool `c` is there without isolate state; pool `b`'s verdict is not (it has no checks).
        let expected = StatusSnapshot {
            now_ms: 2_000,
            refresh_s: 5,
            pools: vec![
                pool(
                    "a",
                    "weighted_round_robin",
                    vec![
                        OriginStatus {
                            healthy: Some(true),
                            reason: Some("ok".into()),
                            since_ms: Some(500),
                            checked_ms: Some(1_500),
                            latency_ms: Some(12),
                            ejected_until_ms: Some(11_000),
                            ..origin("http://a1", 3, true)
                        },
                        origin("http://a2", 1, false),
                    ],
                ),
                pool(
                    "b",
                    "least_outstanding",
                    vec![
                        origin("http://b1", 1, true),
                        OriginStatus {
                            in_flight: 1,
                            ..origin("http://b2", 1, true)
                        },
                    ],
                ),
                pool(
                    "c",
                    "weighted_round_robin",
                    vec![origin("http://c1", 1, true)],
                ),
            ],
            jobs: job_statuses(&pinned.cfg.jobs, &Book::default(), 2_000),
            cache: Some(Counters::default()),
        };
        assert_eq!(expected.jobs.len(), 1);
        assert_eq!(status_snapshot(&pinned.view(), 5), expected);
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

    #[test]
    fn who_gets_what() {
        let table = [
            (
                Ops::Health,
                Access::Hidden,
                Handling::Answer(Answer::not_found()),
            ),
            (
                Ops::Purge,
                Access::Hidden,
                Handling::Answer(Answer::not_found()),
            ),
            (
                Ops::Status,
                Access::Denied,
                Handling::Answer(Answer::unauthorized()),
            ),
            (
                Ops::Unknown,
                Access::Denied,
                Handling::Answer(Answer::unauthorized()),
            ),
            (
                Ops::Unknown,
                Access::Granted,
                Handling::Answer(Answer::not_found()),
            ),
            (Ops::Purge, Access::Granted, Handling::Purge),
            (Ops::Health, Access::Granted, Handling::Report),
            (Ops::Status, Access::Granted, Handling::Report),
        ];
        for (op, access, want) in table {
            assert_eq!(handling(op, access, "GET"), want, "{op:?} {access:?}");
        }
        for (op, method) in [
            (Ops::Health, "POST"),
            (Ops::Status, "PUT"),
            (Ops::Health, "DELETE"),
        ] {
            let Handling::Answer(a) = handling(op, Access::Granted, method) else {
                panic!("{op:?} {method}: answered");
            };
            assert_eq!(a.status, 405, "{op:?} {method}");
            assert!(a.headers.contains(&("allow", "GET, HEAD".into())));
        }
        assert_eq!(
            handling(Ops::Status, Access::Granted, "HEAD"),
            Handling::Report
        );
        assert_eq!(
            handling(Ops::Health, Access::Denied, "POST"),
            Handling::Answer(Answer::unauthorized()),
            "who may know the page comes first"
        );
    }

    #[test]
    fn reports_are_the_health_json_or_the_status_page() {
        let p = pinned();
        let health = report(Ops::Health, &p.view());
        assert_eq!(
            (health.status, health.body.clone()),
            (200, health_report(&p.view()))
        );
        assert_eq!(health.headers[0].1, "application/json");
        let status = report(Ops::Status, &p.view());
        let page = status_page::render(&status_snapshot(&p.view(), STATUS_REFRESH_S));
        assert_eq!((status.status, status.body), (200, page));
    }
}
