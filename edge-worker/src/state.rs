//! What an isolate keeps between requests, loaded once: the validated configuration, the
//! manifest index (root, then shards on first use), the memory cache, pool state, secrets.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;

use cdn_manifest::{shard_path, Index, Root};
use edge_core::answer::Answer;
use edge_core::balancer::health::PoolVerdicts;
use edge_core::balancer::{pool_states, PoolStates};
use edge_core::config::{self, Config, Environment};
use edge_core::memory_cache::MemoryCache;
use js_sys::{Reflect, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{Headers, Response, ResponseInit};
use worker::Env;

use crate::assets::{fetch_file, read_bytes};

/// Everything loaded once per isolate.
pub(crate) struct State {
    pub(crate) config: Config,
    /// The index's root: which shard holds a path. Shards load on first use, each once.
    root: Root,
    shards: RefCell<Vec<Option<Rc<Index>>>>,
    pub(crate) cache: RefCell<MemoryCache<Uint8Array>>,
    pub(crate) assets: worker::worker_sys::Fetcher,
    /// Per-pool steering and passive-health state, by pool name.
    pub(crate) pools: RefCell<PoolStates>,
    /// The `EDGE_ORIGIN_KEY` secret that signs requests to origins.
    pub(crate) origin_key: Option<Vec<u8>>,
    /// The `EDGE_HEALTH_TOKEN` secret that opens `/__edge/…`.
    pub(crate) health_token: Option<String>,
    /// The `EDGE_COOKIE_KEY` secret that signs affinity and read-your-writes cookies.
    pub(crate) cookie_key: Vec<u8>,
    /// Where the cron trigger's health verdicts are shared (`EDGE_HEALTH` KV namespace).
    pub(crate) health_kv: Option<worker::KvStore>,
    /// Verdicts read from KV, by pool, with when they were read (reused for health_cache_ms).
    pub(crate) verdicts: RefCell<BTreeMap<String, (PoolVerdicts, u64)>>,
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

/// The isolate's state, loaded on its first request (once, whatever the concurrency).
pub(crate) async fn load(env: &Env) -> Result<Rc<State>, String> {
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
            Ok(v) if v.is_undefined() => Config::from_json("{}"),
            Ok(v) if v.is_object() => {
                let text = js_sys::JSON::stringify(&v)
                    .map_err(|_| "`EDGE` cannot be read as JSON".to_string())?;
                Config::from_json(&String::from(text))
            }
            _ => return Err(
                "invalid configuration at `EDGE`: must be a table ([vars.EDGE] in wrangler.toml)"
                    .into(),
            ),
        }
        .map_err(|e| e.to_string())?;
    let assets = Reflect::get(env_js, &JsValue::from_str("ASSETS"))
        .ok()
        .filter(|v| v.is_object())
        .ok_or("the ASSETS binding is missing ([assets] binding = \"ASSETS\" in wrangler.toml)")?
        .unchecked_into::<worker::worker_sys::Fetcher>();
    let manifest = &config.assets.manifest;
    let resp = fetch_file(&assets, manifest, None).await?;
    if resp.status() != 200 {
        return Err(format!(
            "the CDN manifest {manifest} is not in the assets directory (status {}); build it with asset-builder",
            resp.status()
        ));
    }
    let bytes = read_bytes(&resp).await?.to_vec();
    let root = Root::from_bytes(&bytes).map_err(|e| format!("{manifest}: {e}"))?;
    let secret = |name: &str| {
        Reflect::get(env_js, &JsValue::from_str(name))
            .ok()
            .and_then(|v| v.as_string())
            .filter(|s| !s.is_empty())
    };
    let present: Vec<String> = [config::ORIGIN_KEY, config::COOKIE_KEY, config::HEALTH_TOKEN]
        .into_iter()
        .filter(|n| secret(n).is_some())
        .map(String::from)
        .collect();
    let health_kv = worker::KvStore::from_this(env_js, config::HEALTH_KV).ok();
    config
        .check_environment(&Environment {
            secrets: Some(present),
            kv_namespaces: health_kv
                .iter()
                .map(|_| config::HEALTH_KV.to_string())
                .collect(),
            manifest_public_path: Some(root.public_path().to_string()),
        })
        .map_err(|e| e.to_string())?;
    let state = Rc::new(State {
        pools: RefCell::new(pool_states(&config.pools)),
        origin_key: secret(config::ORIGIN_KEY)
            .filter(|_| config.forwarding.origin_auth)
            .map(String::into_bytes),
        health_token: secret(config::HEALTH_TOKEN),
        cookie_key: secret(config::COOKIE_KEY)
            .map(String::into_bytes)
            .unwrap_or_default(),
        health_kv: health_kv.filter(|_| config.has_health_checks()),
        verdicts: RefCell::new(BTreeMap::new()),
        shards: RefCell::new(vec![None; root.shard_count()]),
        root,
        cache: RefCell::new(MemoryCache::new(
            config.assets.memory_cache_bytes,
            config.assets.memory_cache_max_file,
        )),
        config,
        assets,
    });
    for (key, page) in state.config.required_assets() {
        let index = shard_for(&state, page).await?;
        if !matches!(index.get(page), Ok(Some(_))) {
            return Err(format!(
                "invalid configuration at `{key}`: `{page}` is not in the manifest"
            ));
        }
    }
    worker::console_log!(
        "{}",
        serde_json::json!({"event": "manifest", "root": state.config.assets.manifest, "shards": state.root.shard_count()})
    );
    Ok(state)
}

/// The index shard that holds `path`, fetched on first use (once per isolate).
pub(crate) async fn shard_for(state: &State, path: &str) -> Result<Rc<Index>, String> {
    let i = state.root.shard_of(path);
    let loaded = |i: usize| state.shards.borrow().get(i).cloned().flatten();
    if let Some(index) = loaded(i) {
        return Ok(index);
    }
    if !claim(Some(i), || loaded(i).is_some()).await {
        if let Some(index) = loaded(i) {
            return Ok(index);
        }
    }
    let file = shard_path(&state.config.assets.manifest, i);
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
        if let Some(slot) = state.shards.borrow_mut().get_mut(i) {
            *slot = Some(index.clone());
        }
    }
    result
}

/// Wall-clock milliseconds since the epoch (advances with I/O in Workers).
pub(crate) fn now_ms() -> u64 {
    js_sys::Date::now() as u64
}

/// A random number (not for secrets).
pub(crate) fn random() -> u64 {
    (js_sys::Math::random() * 9_007_199_254_740_992.0) as u64
}

/// Sends one of the edge's own answers.
pub(crate) fn send(answer: Answer) -> worker::Result<Response> {
    let init = ResponseInit::new();
    init.set_status(answer.status);
    let h = Headers::new()?;
    for (name, value) in &answer.headers {
        h.append(name, value)?;
    }
    init.set_headers(&h);
    let body = (!answer.body.is_empty()).then_some(answer.body.as_str());
    Ok(Response::new_with_opt_str_and_init(body, &init)?)
}
