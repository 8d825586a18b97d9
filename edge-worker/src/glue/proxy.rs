//! Proxying to origin pools: pick, forward, retry or fail over, record health, log.

use http::Method;
use js_sys::Uint8Array;
use serde_json::json;
use wasm_bindgen::JsValue;
use wasm_bindgen_futures::JsFuture;
use web_sys::{Headers, Request, Response, ResponseInit};
use worker::{console_error, console_log};

use super::{fetch_origin, now_ms, respond_text, FetchFailure, State};
use crate::balancer::affinity::{self, Purpose};
use crate::balancer::retry::{self, Outcome};
use crate::config::{HashOn, Pool, Steering};
use crate::forward::{self, Client};
use crate::origin_auth;
use crate::origin_url::split_request_url;
use crate::router;

/// The operations endpoint (token-protected).
pub(super) const HEALTH_PATH: &str = "/__edge/health";

/// Largest request body buffered so that an idempotent request (PUT, DELETE) can be retried;
/// larger bodies are streamed once.
const MAX_BUFFERED_BODY: u32 = 1 << 20;

fn random() -> u64 {
    (js_sys::Math::random() * 9_007_199_254_740_992.0) as u64
}

/// Sends `req` to the route's pools: the primary first, the failover pools in order.
pub(super) async fn proxy(req: Request, url: &str, state: &State) -> worker::Result<Response> {
    let started = now_ms();
    let Some(parsed) = split_request_url(url) else {
        return respond_text(400, "400 Bad Request: unreadable URL\n");
    };
    let host = parsed.host.clone();
    let path = router::path_of(url);
    let Some(route) = state.config.route_for(&host, path) else {
        return respond_text(404, "404 Not Found: no route for this host and path\n");
    };
    let js_headers = req.headers();
    let Some(ip) = forward::client_ip(js_headers.get("cf-connecting-ip")?.as_deref()) else {
        console_error!(
            "edge-worker: request without a valid CF-Connecting-IP; refusing to forward it"
        );
        return respond_text(400, "400 Bad Request: client address unknown\n");
    };
    let client = Client {
        ip,
        proto: parsed.scheme.to_string(),
        host: host.clone(),
        port: parsed.port,
    };
    let method_name = req.method();
    let trace = Trace {
        enabled: state.config.log_requests,
        method: &method_name,
        path,
        route: route_label(route),
        started,
    };
    let method = Method::from_bytes(method_name.as_bytes()).unwrap_or(Method::POST);

    // The body: none for GET/HEAD; buffered (so it can be resent) for small idempotent requests;
    // otherwise streamed once, and the request is not retried.
    let mut retryable = retry::is_idempotent(&method);
    let mut buffered: Option<Uint8Array> = None;
    let mut stream = None;
    if method != Method::GET && method != Method::HEAD {
        let len: Option<u32> = js_headers
            .get("content-length")?
            .and_then(|l| l.parse().ok());
        if retryable && len.is_some_and(|l| l <= MAX_BUFFERED_BODY) {
            let buf = JsFuture::from(req.array_buffer()?).await?;
            buffered = Some(Uint8Array::new(&buf));
        } else {
            retryable = false;
            stream = req.body();
        }
    }

    // Headers for the origin: the client's, less hop-by-hop and anything the edge alone may set.
    let base = Headers::new_with_headers(&js_headers)?;
    for h in forward::hop_by_hop(base.get("connection")?.as_deref()) {
        base.delete(&h)?;
    }
    for h in forward::EDGE_OWNED.iter().chain([&origin_auth::HEADER]) {
        base.delete(h)?;
    }
    for (name, value) in forward::forwarding_headers(
        &client,
        js_headers.get("x-forwarded-for")?.as_deref(),
        state.config.forwarded_header,
    ) {
        base.set(name, &value)?;
    }
    let path_and_query = router::path_and_query_of(url).to_string();

    // Writes go to the route's write pool (and nowhere else); so do the writer's requests for a
    // while afterwards (read-your-writes), falling back to the read pools if it is down.
    let cookies = js_headers.get("cookie")?.unwrap_or_default();
    let now_s = now_ms() / 1000;
    let cookie_key = state.cookie_key.as_deref().unwrap_or_default();
    let writes = !retry::is_idempotent(&method);
    let chain: Vec<&String> = match &route.write_pool {
        Some(w) if writes => vec![w],
        Some(w)
            if cookie(&cookies, &state.config.ryw_cookie)
                .and_then(|v| affinity::verify(cookie_key, Purpose::ReadYourWrites, v, now_s))
                .is_some() =>
        {
            std::iter::once(w)
                .chain(route.pools.iter().filter(|p| *p != w))
                .collect()
        }
        _ => route.pools.iter().collect(),
    };
    let pinned = cookie(&cookies, &state.config.affinity_cookie)
        .and_then(|v| affinity::verify(cookie_key, Purpose::Affinity, v, now_s));

    let mut attempts = 0u32;
    // The last pool and origin tried, for the log line of a request every origin failed.
    let mut last: Option<(String, String)> = None;
    // Second pass ("panic mode", after Envoy): when no origin anywhere in the chain was
    // available, health and ejection are ignored rather than answering 503 on stale evidence.
    for panic in [false, true] {
        if panic && attempts > 0 {
            break;
        }
        for pool_name in chain.iter().copied() {
            let pool = &state.config.pools[pool_name];
            let key = hash_key(pool, &js_headers, &client)?;
            // A sticky pool's pinned origin, when the client carries a valid pin for this pool.
            let pin: Option<usize> = pinned
                .filter(|_| pool.sticky)
                .and_then(|p| p.split_once('~'))
                .filter(|(p, _)| p == pool_name)
                .and_then(|(_, id)| {
                    pool.origins
                        .iter()
                        .position(|o| affinity::origin_id(&o.url) == id)
                });
            let verdicts = super::health::verdicts_for(state, pool_name, pool).await;
            let mut tried = Vec::new();
            loop {
                let picked = {
                    let mut pools = state.pools.borrow_mut();
                    let ps = pools
                        .get_mut(pool_name)
                        .expect("state for every configured pool");
                    let available = if panic {
                        pool.origins
                            .iter()
                            .enumerate()
                            .map(|(i, o)| o.enabled && !tried.contains(&i))
                            .collect()
                    } else {
                        ps.available(pool, now_ms(), &tried, verdicts.as_ref())
                    };
                    let i = match pin {
                        Some(p) if available[p] => Some(p),
                        _ => ps.pick(pool, &available, key.as_deref(), random()),
                    };
                    if let Some(i) = i {
                        ps.outstanding[i] += 1;
                    }
                    i
                };
                let Some(i) = picked else { break };
                tried.push(i);
                attempts += 1;
                let origin = &pool.origins[i].url;
                let outcome = attempt(
                    state,
                    origin,
                    &method_name,
                    &base,
                    &path_and_query,
                    buffered.as_ref(),
                    stream.take(),
                )
                .await;
                let failed = outcome.0.is_failure();
                {
                    let mut pools = state.pools.borrow_mut();
                    let ps = pools
                        .get_mut(pool_name)
                        .expect("state for every configured pool");
                    ps.outstanding[i] = ps.outstanding[i].saturating_sub(1);
                    if ps.record(i, failed, now_ms(), &state.config.outlier) {
                        console_error!(
                            "{}",
                            json!({"event": "ejected", "pool": pool_name, "origin": origin})
                        );
                    }
                }
                if !failed {
                    let mut set_cookies = Vec::new();
                    if pool.sticky && pin != Some(i) {
                        let token = affinity::sign(
                            cookie_key,
                            Purpose::Affinity,
                            &format!("{pool_name}~{}", affinity::origin_id(origin)),
                            now_s + state.config.affinity_ttl_s,
                        );
                        set_cookies.push(affinity::set_cookie(
                            &state.config.affinity_cookie,
                            &token,
                            state.config.affinity_ttl_s,
                        ));
                    }
                    if writes && route.write_pool.is_some() {
                        let ttl = route.read_your_writes_s;
                        let token =
                            affinity::sign(cookie_key, Purpose::ReadYourWrites, "w", now_s + ttl);
                        set_cookies.push(affinity::set_cookie(
                            &state.config.ryw_cookie,
                            &token,
                            ttl,
                        ));
                    }
                    let resp = outcome.1.expect("a status outcome has a response");
                    return finish(resp, &trace, pool_name, origin, attempts, &set_cookies);
                }
                let elapsed = now_ms().saturating_sub(started);
                if !retryable
                    || !retry::should_retry(
                        &method,
                        outcome.0,
                        attempts,
                        elapsed,
                        &state.config.retry,
                    )
                {
                    return match outcome {
                        (_, Some(resp)) => finish(resp, &trace, pool_name, origin, attempts, &[]),
                        (o, None) => {
                            trace.emit(
                                pool_name,
                                origin,
                                attempts,
                                if o == Outcome::Timeout { 504 } else { 502 },
                            );
                            if o == Outcome::Timeout {
                                respond_text(
                                    504,
                                    "504 Gateway Timeout: the origin did not answer in time\n",
                                )
                            } else {
                                respond_text(502, "502 Bad Gateway: the origin did not answer\n")
                            }
                        }
                    };
                }
                last = Some((pool_name.clone(), origin.clone()));
            }
        }
    }
    let (pool, origin) = last
        .as_ref()
        .map_or(("-", "-"), |(p, o)| (p.as_str(), o.as_str()));
    trace.emit(pool, origin, attempts, 503);
    let init = ResponseInit::new();
    init.set_status(503);
    let h = Headers::new()?;
    h.set("content-type", "text/plain; charset=utf-8")?;
    h.set("cache-control", "no-store")?;
    h.set("retry-after", "10")?;
    init.set_headers(&h);
    Ok(Response::new_with_opt_str_and_init(
        Some("503 Service Unavailable: every origin is down; try again shortly\n"),
        &init,
    )?)
}

/// The value consistent hashing keys on for this request, if the pool hashes.
fn hash_key(pool: &Pool, headers: &Headers, client: &Client) -> worker::Result<Option<Vec<u8>>> {
    Ok(match &pool.steering {
        Steering::Hash(HashOn::Cookie(name)) => headers
            .get("cookie")?
            .and_then(|c| cookie(&c, name).map(|v| v.as_bytes().to_vec())),
        Steering::Hash(HashOn::Header(name)) => headers.get(name)?.map(String::into_bytes),
        Steering::Hash(HashOn::ClientIp) => Some(client.ip.to_string().into_bytes()),
        _ => None,
    })
}

/// The value of cookie `name` in a `Cookie` header.
pub(super) fn cookie<'a>(header: &'a str, name: &str) -> Option<&'a str> {
    header.split(';').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        (k.trim() == name).then(|| v.trim())
    })
}

/// One attempt at `origin`, bounded by the attempt timeout.
async fn attempt(
    state: &State,
    origin: &str,
    method: &str,
    base: &Headers,
    path_and_query: &str,
    buffered: Option<&Uint8Array>,
    stream: Option<web_sys::ReadableStream>,
) -> (Outcome, Option<Response>) {
    let Ok(headers) = Headers::new_with_headers(base) else {
        return (Outcome::ConnectError, None);
    };
    let body: Option<&JsValue> = match (buffered, &stream) {
        (Some(b), _) => Some(b.as_ref()),
        (None, Some(s)) => Some(s.as_ref()),
        (None, None) => None,
    };
    let timeout = state.config.attempt_timeout_ms;
    match fetch_origin(
        state,
        origin,
        method,
        path_and_query,
        &headers,
        body,
        timeout,
    )
    .await
    {
        Ok(resp) => (Outcome::Status(resp.status()), Some(resp)),
        Err(FetchFailure::Timeout) => (Outcome::Timeout, None),
        Err(FetchFailure::Connect) => (Outcome::ConnectError, None),
    }
}

fn route_label(route: &crate::config::Route) -> String {
    format!(
        "{}{}",
        route.host.as_deref().unwrap_or("*"),
        route.path_prefix
    )
}

/// Passes the origin's response on, less hop-by-hop headers, and logs the request.
fn finish(
    resp: Response,
    trace: &Trace,
    pool: &str,
    origin: &str,
    attempts: u32,
    set_cookies: &[String],
) -> worker::Result<Response> {
    trace.emit(pool, origin, attempts, resp.status());
    let headers = Headers::new_with_headers(&resp.headers())?;
    for h in forward::hop_by_hop(headers.get("connection")?.as_deref()) {
        headers.delete(&h)?;
    }
    for c in set_cookies {
        headers.append("set-cookie", c)?;
    }
    let init = ResponseInit::new();
    init.set_status(resp.status());
    init.set_status_text(&resp.status_text());
    init.set_headers(&headers);
    Ok(Response::new_with_opt_readable_stream_and_init(
        resp.body().as_ref(),
        &init,
    )?)
}

/// What the request log line says about one proxied request.
struct Trace<'a> {
    enabled: bool,
    method: &'a str,
    path: &'a str,
    route: String,
    started: u64,
}

impl Trace<'_> {
    /// One structured JSON log line: route, pool, origin, attempts, status, latency.
    fn emit(&self, pool: &str, origin: &str, attempts: u32, status: u16) {
        if !self.enabled {
            return;
        }
        console_log!(
            "{}",
            json!({
                "event": "proxy", "method": self.method, "path": self.path, "route": self.route,
                "pool": pool, "origin": origin, "attempts": attempts, "status": status,
                "latency_ms": now_ms().saturating_sub(self.started),
            })
        );
    }
}

/// `/__edge/health`: pools, origins and their passive-health state in this isolate, as JSON.
/// Requires `Authorization: Bearer <EDGE_HEALTH_TOKEN>`; without the secret it does not exist.
pub(super) async fn health(req: &Request, state: &State) -> worker::Result<Response> {
    let Some(token) = &state.health_token else {
        return respond_text(404, "404 Not Found\n");
    };
    let given = req.headers().get("authorization")?.unwrap_or_default();
    let expected = format!("Bearer {token}");
    if !origin_auth::constant_time_eq(given.as_bytes(), expected.as_bytes()) {
        return respond_text(
            401,
            "401 Unauthorized: Authorization: Bearer <EDGE_HEALTH_TOKEN> required\n",
        );
    }
    let mut verdicts = std::collections::HashMap::new();
    for (name, pool) in &state.config.pools {
        verdicts.insert(name, super::health::verdicts_for(state, name, pool).await);
    }
    let now = now_ms();
    let pools = state.pools.borrow();
    let mut out = serde_json::Map::new();
    for (name, pool) in &state.config.pools {
        let ps = &pools[name];
        let active = verdicts[name].as_ref();
        let available = ps.available(pool, now, &[], active);
        let origins: Vec<_> = pool
            .origins
            .iter()
            .enumerate()
            .map(|(i, o)| {
                let outlier = &ps.outliers[i];
                json!({
                    "url": o.url, "weight": o.weight, "enabled": o.enabled,
                    "available": available[i],
                    "active": active.and_then(|v| v.origins.get(&affinity::origin_id(&o.url))),
                    "outstanding": ps.outstanding[i],
                    "consecutive_failures": outlier.consecutive_failures,
                    "ejected_until": outlier.ejected_until.filter(|&u| u > now),
                    "ejections": outlier.ejections,
                })
            })
            .collect();
        out.insert(
            name.clone(),
            json!({ "steering": format!("{:?}", pool.steering), "origins": origins }),
        );
    }
    let body =
        serde_json::to_string_pretty(&json!({ "now": now, "pools": out })).unwrap_or_default();
    let init = ResponseInit::new();
    init.set_status(200);
    let h = Headers::new()?;
    h.set("content-type", "application/json")?;
    h.set("cache-control", "no-store")?;
    init.set_headers(&h);
    Ok(Response::new_with_opt_str_and_init(Some(&body), &init)?)
}
