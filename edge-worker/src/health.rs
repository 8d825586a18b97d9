//! Active health checks: the cron trigger probes every origin of every pool that has a `health`
//! table and stores the verdicts in KV (one key per pool); every isolate reads them back with a
//! short local cache.

use std::collections::BTreeMap;

use edge_core::balancer::health::{judge, HealthCheck, PoolVerdicts};
use edge_core::balancer::retry::Outcome;
use futures_util::future::join_all;
use wasm_bindgen_futures::JsFuture;
use web_sys::Headers;
use worker::{console_error, console_log, event, Env, ScheduleContext, ScheduledEvent};

use crate::origin::{self, OriginRequest};
use crate::state::{load, now_ms, State};

/// KV key of a pool's verdicts.
fn kv_key(pool: &str) -> String {
    format!("health/{pool}")
}

#[event(scheduled)]
async fn scheduled(_event: ScheduledEvent, env: Env, _ctx: ScheduleContext) {
    match load(&env).await {
        Ok(state) => run_checks(&state).await,
        Err(why) => console_error!("edge-worker: health checks not run: {why}"),
    }
}

/// Probes every checked pool once and stores the new verdicts.
async fn run_checks(state: &State) {
    let Some(kv) = &state.health_kv else { return };
    for (name, pool) in &state.config.pools {
        let Some(check) = &pool.health else { continue };
        let mut verdicts: PoolVerdicts = match kv.get(&kv_key(name)).json().await {
            Ok(v) => v.unwrap_or_default(),
            Err(e) => {
                console_error!("edge-worker: reading health verdicts of {name}: {e}");
                PoolVerdicts::default()
            }
        };
        let results = join_all(pool.origins.iter().map(|o| probe(state, &o.url, check))).await;
        let now = now_ms();
        for flip in verdicts.record_round(&pool.origins, results, now, check) {
            console_log!("{}", flip.line(name));
        }
        let stored = match kv.put(
            &kv_key(name),
            serde_json::to_string(&verdicts).unwrap_or_default(),
        ) {
            Ok(p) => p
                .expiration_ttl(check.ttl_s.max(60))
                .execute()
                .await
                .map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        };
        if let Err(e) = stored {
            console_error!("edge-worker: storing health verdicts of {name}: {e}");
        }
        state.verdicts.borrow_mut().store(name, verdicts, now);
    }
}

/// One probe: the configured request, signed like real traffic, judged against the check.
async fn probe(state: &State, origin: &str, check: &HealthCheck) -> Result<(), String> {
    let js = |e: wasm_bindgen::JsValue| format!("{e:?}");
    let headers = Headers::new().map_err(js)?;
    for (k, v) in &check.headers {
        headers.set(k, v).map_err(js)?;
    }
    headers
        .set("user-agent", "edge-worker health check")
        .map_err(js)?;
    let request = OriginRequest {
        origin,
        method: &check.method,
        path_and_query: &check.path,
        headers: &headers,
        forwarded: [None; 5],
        body: None,
        timeout_ms: check.timeout_ms,
    };
    let resp = match origin::fetch(state, &request).await {
        Ok(r) => r,
        Err(Outcome::TimedOut) => return Err(format!("no answer within {} ms", check.timeout_ms)),
        Err(_) => return Err("connection failed".into()),
    };
    let body = match (&check.expected_body, resp.text()) {
        (Some(_), Ok(p)) => JsFuture::from(p)
            .await
            .ok()
            .and_then(|t| t.as_string())
            .unwrap_or_default(),
        _ => String::new(),
    };
    judge(resp.status(), &body, check)
}

/// The verdicts of the pools in `chain` as this isolate sees them: from its cache while fresh,
/// else from KV. Errors reading KV leave traffic alone (an outage of KV must not take pools down).
pub(crate) async fn verdicts_for(
    state: &State,
    chain: &[String],
) -> BTreeMap<String, PoolVerdicts> {
    let mut out = BTreeMap::new();
    let Some(kv) = &state.health_kv else {
        return out;
    };
    for name in chain {
        if state
            .config
            .pools
            .get(name)
            .is_none_or(|p| p.health.is_none())
        {
            continue;
        }
        let now = now_ms();
        let cached = state
            .verdicts
            .borrow()
            .fresh(name, now, state.config.health_cache_ms)
            .cloned();
        let verdicts = match cached {
            Some(v) => v,
            None => match kv.get(&kv_key(name)).json::<PoolVerdicts>().await {
                Ok(v) => {
                    let v = v.unwrap_or_default();
                    state.verdicts.borrow_mut().store(name, v.clone(), now);
                    v
                }
                Err(e) => {
                    console_error!("edge-worker: reading health verdicts of {name}: {e}");
                    continue;
                }
            },
        };
        out.insert(name.clone(), verdicts);
    }
    out
}
