//! What an isolate keeps between requests, loaded once: the validated configuration, the
//! manifest index (root, then shards on first use), the memory cache, pool state, secrets.

use std::cell::RefCell;
use std::rc::Rc;

use cdn_manifest::{shard_path, Index, Root};
use edge_core::answer::Answer;
use edge_core::config;
use edge_core::isolate::Isolate;
use edge_core::loading::{manifest_line, LoadGate};
use js_sys::Uint8Array;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::Response;
use worker::Env;

use crate::assets::fetch_file;
use crate::js;

/// Everything loaded once per isolate: the core's [`Isolate`] (read through `Deref`), plus the
/// runtime's handles.
pub(crate) struct State {
    core: Isolate<Uint8Array, crate::cache::Hot>,
    pub(crate) assets: worker::worker_sys::Fetcher,
    /// The coordinator (`EDGE_COORDINATOR`), when bound.
    pub(crate) coordinator: Option<worker::ObjectNamespace>,
}

impl std::ops::Deref for State {
    type Target = Isolate<Uint8Array, crate::cache::Hot>;

    fn deref(&self) -> &Self::Target {
        &self.core
    }
}

thread_local! {
    static STATE: RefCell<Option<Rc<State>>> = const { RefCell::new(None) };
    /// Loads in progress: `None` = the state, `Some(i)` = shard i.
    static LOADING: RefCell<LoadGate<Option<usize>>> = RefCell::new(LoadGate::new());
}

/// What `loaded` gives, else `load`'s result (kept by `keep`), loaded once whatever the
/// concurrency: this request claims the load `what`, or waits (on its own timer) while another
/// request holds it.
async fn once<T>(
    what: Option<usize>,
    loaded: impl Fn() -> Option<T>,
    load: impl std::future::Future<Output = Result<T, String>>,
    keep: impl FnOnce(&T),
) -> Result<T, String> {
    loop {
        if let Some(done) = loaded() {
            return Ok(done);
        }
        if LOADING.with(|l| l.borrow_mut().claim(what, now_ms())) {
            break;
        }
        worker::Delay::from(std::time::Duration::from_millis(2)).await;
    }
    let result = load.await;
    LOADING.with(|l| l.borrow_mut().release(&what));
    if let Ok(done) = &result {
        keep(done);
    }
    result
}

/// The isolate's state when it is loaded (no wait).
pub(crate) fn loaded() -> Option<Rc<State>> {
    STATE.with(|s| s.borrow().clone())
}

/// The isolate's state, loaded on its first request (once, whatever the concurrency).
pub(crate) async fn load(env: &Env) -> Result<Rc<State>, String> {
    let loaded = || STATE.with(|s| s.borrow().clone());
    let keep = |state: &Rc<State>| STATE.with(|s| *s.borrow_mut() = Some(state.clone()));
    once(None, loaded, load_now(env), keep).await
}

async fn load_now(env: &Env) -> Result<Rc<State>, String> {
    let config = js::config(env)?;
    let assets = js::binding(env, "ASSETS")
        .filter(|v| v.is_object())
        .ok_or("the ASSETS binding is missing ([assets] binding = \"ASSETS\" in wrangler.toml)")?
        .unchecked_into::<worker::worker_sys::Fetcher>();
    let root = load_root(&assets, &config.assets.manifest).await?;
    let secrets = js::secrets(env, &config);
    let coordinator = env.durable_object(config::COORDINATOR).ok();
    let core = Isolate::new(config, secrets, root, coordinator.is_some());
    let state = Rc::new(State {
        core: core.map_err(|e| e.to_string())?,
        assets,
        coordinator,
    });
    for (key, page) in state.config.required_assets() {
        if !matches!(shard_for(&state, page).await?.get(page), Ok(Some(_))) {
            return Err(config::not_in_manifest(&key, page).to_string());
        }
    }
    let line = manifest_line(&state.config.assets.manifest, state.root.shard_count());
    worker::console_log!("{line}");
    Ok(state)
}

/// The manifest index's root, from the assets.
async fn load_root(assets: &worker::worker_sys::Fetcher, manifest: &str) -> Result<Root, String> {
    let what = "the CDN manifest";
    let bytes = manifest_file(assets, manifest, what, "; build it with asset-builder").await?;
    Root::from_bytes(&bytes).map_err(|e| format!("{manifest}: {e}"))
}

/// A file of the manifest index (its root or a shard), whole. A missing one is an error naming
/// `what` and `path`, with `hint` after the status.
async fn manifest_file(
    assets: &worker::worker_sys::Fetcher,
    path: &str,
    what: &str,
    hint: &str,
) -> Result<Vec<u8>, String> {
    let resp = fetch_file(assets, path, None).await?;
    if resp.status() != 200 {
        let status = resp.status();
        return Err(format!(
            "{what} {path} is not in the assets directory (status {status}){hint}"
        ));
    }
    Ok(js::bytes(&resp).await?.to_vec())
}

/// The index shard that holds `path`, fetched on first use (once per isolate).
pub(crate) async fn shard_for(state: &State, path: &str) -> Result<Rc<Index>, String> {
    let i = state.root.shard_of(path);
    let load = async {
        let file = shard_path(&state.config.assets.manifest, i);
        let bytes = manifest_file(&state.assets, &file, "manifest shard", "").await?;
        Index::from_bytes(bytes)
            .map(Rc::new)
            .map_err(|e| format!("{file}: {e}"))
    };
    let loaded = || state.shards.borrow().get(i).cloned().flatten();
    let keep = |index: &Rc<Index>| {
        if let Some(slot) = state.shards.borrow_mut().get_mut(i) {
            *slot = Some(index.clone());
        }
    };
    once(Some(i), loaded, load, keep).await
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
    let headers = answer.headers.iter().map(|(n, v)| (*n, v.as_str()));
    let body = (!answer.body.is_empty()).then(|| JsValue::from_str(&answer.body));
    Ok(js::response(
        answer.status,
        None,
        headers,
        body.as_ref(),
        false,
    )?)
}
