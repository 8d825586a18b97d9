//! Active health checks: the cron trigger probes every origin of every pool that has a `health`
//! table and stores the verdicts in KV (one key per pool); every isolate reads them back with a
//! short local cache.

use futures_util::future::join_all;
use wasm_bindgen_futures::JsFuture;
use web_sys::Headers;
use worker::{console_error, console_log, event, Env, ScheduleContext, ScheduledEvent};

use super::{fetch_origin, load, now_ms, FetchFailure, State};
use crate::balancer::affinity;
use crate::balancer::health::{judge, HealthCheck, PoolVerdicts, Verdict};
use crate::config::Pool;

/// KV key of a pool's verdicts.
fn kv_key(pool: &str) -> String {
    format!("health/{pool}")
}

#[event(scheduled)]
async fn scheduled(_event: ScheduledEvent, env: Env, _ctx: ScheduleContext) {
    let state = match load(&env).await {
        Ok(s) => s,
        Err(why) => {
            console_error!("edge-worker: health checks not run: {why}");
            return;
        }
    };
    run_checks(&state).await;
}

/// Probes every checked pool once and stores the new verdicts.
pub(super) async fn run_checks(state: &State) {
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
        for (o, result) in pool.origins.iter().zip(results) {
            let id = affinity::origin_id(&o.url);
            let v = verdicts
                .origins
                .entry(id)
                .or_insert_with(|| Verdict::new(now));
            if v.observe(result, now, check) {
                console_log!(
                    "{}",
                    serde_json::json!({"event": "health", "pool": name, "origin": o.url, "healthy": v.healthy, "reason": v.reason})
                );
            }
        }
        // Only this pool's current origins are kept; KV drops the key if probes stop.
        let ids: Vec<String> = pool
            .origins
            .iter()
            .map(|o| affinity::origin_id(&o.url))
            .collect();
        verdicts.origins.retain(|id, _| ids.contains(id));
        let put = kv
            .put(
                &kv_key(name),
                serde_json::to_string(&verdicts).unwrap_or_default(),
            )
            .map(|p| p.expiration_ttl(check.ttl_s.max(60)));
        match put {
            Ok(p) => {
                if let Err(e) = p.execute().await {
                    console_error!("edge-worker: storing health verdicts of {name}: {e}");
                }
            }
            Err(e) => console_error!("edge-worker: storing health verdicts of {name}: {e}"),
        }
        state
            .verdicts
            .borrow_mut()
            .insert(name.clone(), (verdicts, now));
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
    let resp = match fetch_origin(
        state,
        origin,
        &check.method,
        &check.path,
        &headers,
        None,
        check.timeout_ms,
    )
    .await
    {
        Ok(r) => r,
        Err(FetchFailure::Timeout) => {
            return Err(format!("no answer within {} ms", check.timeout_ms))
        }
        Err(FetchFailure::Connect) => return Err("connection failed".into()),
    };
    let body = match &check.expected_body {
        Some(_) => match resp.text() {
            Ok(p) => JsFuture::from(p)
                .await
                .ok()
                .and_then(|t| t.as_string())
                .unwrap_or_default(),
            Err(_) => String::new(),
        },
        None => String::new(),
    };
    judge(resp.status(), &body, check)
}

/// A pool's verdicts as this isolate sees them: from its cache while fresh, else from KV.
/// Errors reading KV leave traffic alone (an outage of KV must not take pools down).
pub(super) async fn verdicts_for(state: &State, name: &str, pool: &Pool) -> Option<PoolVerdicts> {
    pool.health.as_ref()?;
    let kv = state.health_kv.as_ref()?;
    let now = now_ms();
    if let Some((v, at)) = state.verdicts.borrow().get(name) {
        if now.saturating_sub(*at) < state.config.health_cache_ms {
            return Some(v.clone());
        }
    }
    let fetched: PoolVerdicts = match kv.get(&kv_key(name)).json().await {
        Ok(v) => v.unwrap_or_default(),
        Err(e) => {
            console_error!("edge-worker: reading health verdicts of {name}: {e}");
            return None;
        }
    };
    state
        .verdicts
        .borrow_mut()
        .insert(name.to_string(), (fetched.clone(), now));
    Some(fetched)
}
