//! The only part that talks to workers-rs: converts the request, calls the core, does the I/O.
//!
//! The handler takes the raw `web_sys::Request` rather than an `http::Request` so that only the
//! six headers the asset planner reads cross from JavaScript into Wasm, and bodies (assets from
//! the ASSETS binding, the origin's responses) are passed through as JavaScript streams or
//! `Uint8Array`s without ever being copied into Wasm memory.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

mod assets;
mod health;
mod proxy;

use cdn_manifest::{shard_path, Index, Root};
use http::StatusCode;
use js_sys::{Reflect, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{Headers, Request, Response, ResponseInit};
use worker::{console_error, event, Context, Env};

use crate::assets::Plan;
use crate::balancer::PoolState;
use crate::config::Config;
use crate::memory_cache::MemoryCache;
use crate::router::{self, Route};
use assets::{fetch_file, read_bytes, respond, serve_asset};

/// Everything loaded once per isolate.
struct State {
    config: Config,
    /// The index's root: which shard holds a path. Shards load on first use, each once.
    root: Root,
    shards: RefCell<Vec<Option<Rc<Index>>>>,
    cache: RefCell<MemoryCache<Uint8Array>>,
    assets: worker::worker_sys::Fetcher,
    /// Per-pool steering and passive-health state, by pool name.
    pools: RefCell<HashMap<String, PoolState>>,
    /// The `EDGE_ORIGIN_KEY` secret that signs requests to origins.
    origin_key: Option<Vec<u8>>,
    /// The `EDGE_HEALTH_TOKEN` secret that opens `/__edge/health`.
    health_token: Option<String>,
    /// The `EDGE_COOKIE_KEY` secret that signs affinity and read-your-writes cookies.
    cookie_key: Option<Vec<u8>>,
    /// Where the cron trigger's health verdicts are shared (`EDGE_HEALTH` KV namespace).
    health_kv: Option<worker::KvStore>,
    /// Verdicts read from KV, by pool, with when they were read (reused for health_cache_ms).
    verdicts: RefCell<HashMap<String, (crate::balancer::health::PoolVerdicts, u64)>>,
}

thread_local! {
    static STATE: RefCell<Option<Rc<State>>> = const { RefCell::new(None) };
    /// Loads in progress (`None` = the state, `Some(i)` = shard i), with when they started.
    /// Requests that arrive meanwhile wait for them, so each is fetched at most once per isolate.
    static LOADING: RefCell<HashMap<Option<usize>, u64>> = RefCell::new(HashMap::new());
}

/// A load older than this is presumed abandoned (its request was cancelled) and is redone.
const ABANDONED_LOAD_MS: u64 = 10_000;

/// Claims the load `what`, or waits while another request holds it. Returns true when this
/// request must do the load (and then call [`release`]), false when the other request finished.
///
/// The wait is on this request's own short timer, never on the other request's I/O: workerd
/// cancels a request whose continuation would run from another request's context (it reports the
/// request as hung), so sharing one future between requests is not an option.
async fn claim(what: Option<usize>, done: impl Fn() -> bool) -> bool {
    loop {
        if done() {
            return false;
        }
        let now = now_ms();
        let mine = LOADING.with(|l| {
            let mut l = l.borrow_mut();
            match l.get(&what) {
                Some(&started) if now.saturating_sub(started) < ABANDONED_LOAD_MS => false,
                _ => {
                    l.insert(what, now);
                    true
                }
            }
        });
        if mine {
            return true;
        }
        worker::Delay::from(std::time::Duration::from_millis(2)).await;
    }
}

/// Ends a load claimed with [`claim`].
fn release(what: Option<usize>) {
    LOADING.with(|l| l.borrow_mut().remove(&what));
}

#[event(fetch)]
async fn fetch(req: Request, env: Env, _ctx: Context) -> worker::Result<Response> {
    let state = match load(&env).await {
        Ok(s) => s,
        Err(why) => {
            console_error!("edge-worker: cannot serve: {why}");
            return respond_text(
                500,
                "500 Internal Server Error: the edge is misconfigured (see the worker log)\n",
            );
        }
    };
    let url = req.url();
    if state.config.https_redirect {
        if let Some(location) = router::https_location(&url) {
            let init = ResponseInit::new();
            init.set_status(308);
            let h = Headers::new()?;
            h.set("location", &location)?;
            h.set("cache-control", "no-store")?;
            init.set_headers(&h);
            return Ok(Response::new_with_opt_str_and_init(None, &init)?);
        }
    }
    let response = match router::route(router::path_of(&url), &state.config) {
        Route::Asset(key) => serve_asset(&req, &key, &state).await,
        Route::BadPath(e) => {
            respond(
                Plan::text(
                    StatusCode::BAD_REQUEST,
                    format!("400 Bad Request: {e}\n"),
                    req.method() == "HEAD",
                ),
                &state,
            )
            .await
        }
        Route::Origin if router::path_of(&url) == proxy::HEALTH_PATH => {
            proxy::health(&req, &state).await
        }
        Route::Origin => proxy::proxy(req, &url, &state).await,
    }?;
    if let (Some(hsts), true) = (&state.config.hsts, url.starts_with("https://")) {
        // Responses built here have mutable headers; ignore the rare immutable one.
        let _ = response.headers().set("strict-transport-security", hsts);
    }
    Ok(response)
}

async fn load(env: &Env) -> Result<Rc<State>, String> {
    if let Some(s) = STATE.with(|s| s.borrow().clone()) {
        return Ok(s);
    }
    if !claim(None, || STATE.with(|s| s.borrow().is_some())).await {
        if let Some(s) = STATE.with(|s| s.borrow().clone()) {
            return Ok(s);
        }
    }
    let result = load_now(env).await;
    release(None);
    if let Ok(state) = &result {
        STATE.with(|s| *s.borrow_mut() = Some(state.clone()));
    }
    result
}

async fn load_now(env: &Env) -> Result<Rc<State>, String> {
    let env_js: &JsValue = env.as_ref();
    let config =
        match Reflect::get(env_js, &JsValue::from_str("EDGE")) {
            Ok(v) if v.is_undefined() => Config::default(),
            Ok(v) if v.is_object() => {
                let value: serde_json::Value = serde_wasm_bindgen_value(v)?;
                Config::from_value(value).map_err(|e| e.to_string())?
            }
            _ => return Err(
                "invalid configuration at `EDGE`: must be a table ([vars.EDGE] in wrangler.toml)"
                    .into(),
            ),
        };
    let assets = Reflect::get(env_js, &JsValue::from_str("ASSETS"))
        .ok()
        .filter(|v| v.is_object())
        .ok_or("the ASSETS binding is missing ([assets] binding = \"ASSETS\" in wrangler.toml)")?
        .unchecked_into::<worker::worker_sys::Fetcher>();
    let resp = fetch_file(&assets, &config.manifest, None).await?;
    if resp.status() != 200 {
        return Err(format!(
            "the CDN manifest {} is not in the assets directory (status {}); build it with asset-builder",
            config.manifest,
            resp.status()
        ));
    }
    let bytes = read_bytes(&resp).await?.to_vec();
    let root = Root::from_bytes(&bytes).map_err(|e| format!("{}: {e}", config.manifest))?;
    if root.public_path() != config.public_path {
        return Err(format!(
            "invalid configuration at `EDGE.public_path`: `{}` differs from the manifest's public_path `{}`",
            config.public_path,
            root.public_path()
        ));
    }
    let secret = |name: &str| {
        Reflect::get(env_js, &JsValue::from_str(name))
            .ok()
            .and_then(|v| v.as_string())
            .filter(|s| !s.is_empty())
    };
    let origin_key = secret("EDGE_ORIGIN_KEY").map(String::into_bytes);
    if config.origin_auth && !config.pools.is_empty() && origin_key.is_none() {
        return Err("invalid configuration at `EDGE.origin_auth`: the secret EDGE_ORIGIN_KEY is not set \
                    (`wrangler secret put EDGE_ORIGIN_KEY`, or .dev.vars locally); set origin_auth = false \
                    to send requests to origins unsigned"
            .into());
    }
    let cookie_key = secret("EDGE_COOKIE_KEY").map(String::into_bytes);
    if config.needs_cookie_key() && cookie_key.is_none() {
        return Err("invalid configuration: sticky pools and write_pool routes sign cookies with the secret \
                    EDGE_COOKIE_KEY, which is not set (`wrangler secret put EDGE_COOKIE_KEY`, or .dev.vars locally)"
            .into());
    }
    let health_kv = if config.has_health_checks() {
        Some(worker::KvStore::from_this(env_js, "EDGE_HEALTH").map_err(|_| {
            "invalid configuration: pools with `health` checks share their verdicts through the KV namespace \
             EDGE_HEALTH, which is not bound ([[kv_namespaces]] binding = \"EDGE_HEALTH\" in wrangler.toml)"
                .to_string()
        })?)
    } else {
        None
    };
    let pools = config
        .pools
        .iter()
        .map(|(name, pool)| (name.clone(), PoolState::new(pool)))
        .collect();
    let state = Rc::new(State {
        pools: RefCell::new(pools),
        origin_key,
        health_token: secret("EDGE_HEALTH_TOKEN"),
        cookie_key,
        health_kv,
        verdicts: RefCell::new(HashMap::new()),
        shards: RefCell::new(vec![None; root.shard_count()]),
        root,
        cache: RefCell::new(MemoryCache::new(
            config.memory_cache_bytes,
            config.memory_cache_max_file,
        )),
        config,
        assets,
    });
    if let Some(page) = &state.config.not_found_page {
        let index = shard_for(&state, page).await?;
        if !matches!(index.get(page), Ok(Some(_))) {
            return Err(format!(
                "invalid configuration at `EDGE.not_found_page`: `{page}` is not in the manifest"
            ));
        }
    }
    worker::console_log!(
        "{}",
        serde_json::json!({"event": "manifest", "root": state.config.manifest, "shards": state.root.shard_count()})
    );
    Ok(state)
}

/// The index shard that holds `path`, fetched on first use (once per isolate).
async fn shard_for(state: &State, path: &str) -> Result<Rc<Index>, String> {
    let i = state.root.shard_of(path);
    if let Some(index) = state.shards.borrow()[i].clone() {
        return Ok(index);
    }
    if !claim(Some(i), || state.shards.borrow()[i].is_some()).await {
        if let Some(index) = state.shards.borrow()[i].clone() {
            return Ok(index);
        }
    }
    let file = shard_path(&state.config.manifest, i);
    let result = async {
        let resp = fetch_file(&state.assets, &file, None).await?;
        if resp.status() != 200 {
            return Err(format!(
                "manifest shard {file} is not in the assets directory (status {})",
                resp.status()
            ));
        }
        let bytes = read_bytes(&resp).await?.to_vec();
        Index::from_bytes(bytes)
            .map(Rc::new)
            .map_err(|e| format!("{file}: {e}"))
    }
    .await;
    release(Some(i));
    if let Ok(index) = &result {
        state.shards.borrow_mut()[i] = Some(index.clone());
    }
    result
}

fn serde_wasm_bindgen_value(v: JsValue) -> Result<serde_json::Value, String> {
    let text =
        js_sys::JSON::stringify(&v).map_err(|_| "`EDGE` cannot be read as JSON".to_string())?;
    serde_json::from_str(&String::from(text))
        .map_err(|e| format!("`EDGE` cannot be read as JSON: {e}"))
}

/// Why a bounded fetch produced no response.
enum FetchFailure {
    /// No answer within the time allowed.
    Timeout,
    /// No connection, or the request could not be built.
    Connect,
}

/// Sends `method origin+path_and_query` with `headers` and `body` to an origin: signed with
/// the `EDGE_ORIGIN_KEY` secret when set (as every request to an origin is), redirects passed
/// back rather than followed, bounded by `AbortSignal.timeout`. The runtime owns that timer, so
/// nothing of ours fires after the request that started it has ended (a Rust-side timer would
/// wake a finished request's task, which workerd cancels — stalling the isolate's future queue).
async fn fetch_origin(
    state: &State,
    origin: &str,
    method: &str,
    path_and_query: &str,
    headers: &Headers,
    body: Option<&JsValue>,
    timeout_ms: u64,
) -> Result<Response, FetchFailure> {
    if let Some(key) = &state.origin_key {
        let now = now_ms() / 1000;
        let value = crate::origin_auth::sign_for_origin(key, now, method, origin, path_and_query);
        headers
            .set(crate::origin_auth::HEADER, &value)
            .map_err(|_| FetchFailure::Connect)?;
    }
    let init = web_sys::RequestInit::new();
    init.set_method(method);
    init.set_headers(headers);
    init.set_redirect(web_sys::RequestRedirect::Manual);
    if let Some(b) = body {
        init.set_body(b);
    }
    init.set_signal(Some(&web_sys::AbortSignal::timeout_with_u32(
        timeout_ms.min(u64::from(u32::MAX)) as u32,
    )));
    let url = format!("{origin}{path_and_query}");
    let request = Request::new_with_str_and_init(&url, &init).map_err(|_| FetchFailure::Connect)?;
    let global: web_sys::WorkerGlobalScope = js_sys::global().unchecked_into();
    match wasm_bindgen_futures::JsFuture::from(global.fetch_with_request(&request)).await {
        Ok(r) => Ok(r.unchecked_into()),
        Err(e) => {
            let name = Reflect::get(&e, &JsValue::from_str("name"))
                .ok()
                .and_then(|n| n.as_string());
            Err(match name.as_deref() {
                Some("TimeoutError" | "AbortError") => FetchFailure::Timeout,
                _ => FetchFailure::Connect,
            })
        }
    }
}

/// Wall-clock milliseconds since the epoch (advances with I/O in Workers).
fn now_ms() -> u64 {
    js_sys::Date::now() as u64
}

fn respond_text(status: u16, text: &str) -> worker::Result<Response> {
    let init = ResponseInit::new();
    init.set_status(status);
    let h = Headers::new()?;
    h.set("content-type", "text/plain; charset=utf-8")?;
    h.set("cache-control", "no-store")?;
    init.set_headers(&h);
    Ok(Response::new_with_opt_str_and_init(Some(text), &init)?)
}
