//! The only part that talks to workers-rs: converts the request, calls the core, does the I/O.
//!
//! The handler takes the raw `web_sys::Request` rather than an `http::Request` so that only the
//! six headers the asset planner reads cross from JavaScript into Wasm, and bodies (assets from
//! the ASSETS binding, the origin's responses) are passed through as JavaScript streams or
//! `Uint8Array`s without ever being copied into Wasm memory.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use cdn_manifest::{shard_path, Index, Root};
use futures_util::future::{FutureExt, LocalBoxFuture, Shared};
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::{Method, StatusCode};
use js_sys::{Reflect, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{Headers, Request, RequestInit, Response, ResponseInit};
use worker::{console_error, event, Context, Env};

use crate::assets::{self, Body, Plan};
use crate::config::Config;
use crate::forward;
use crate::memory_cache::MemoryCache;
use crate::path;
use crate::router::{self, Route};

/// Everything loaded once per isolate.
struct State {
    config: Config,
    /// The index's root: which shard holds a path. Shards load on first use, each once.
    root: Root,
    shards: RefCell<Vec<Option<Rc<Index>>>>,
    cache: RefCell<MemoryCache<Uint8Array>>,
    assets: worker::worker_sys::Fetcher,
}

type ShardLoading = Shared<LocalBoxFuture<'static, Result<Rc<Index>, String>>>;

type Loading = Shared<LocalBoxFuture<'static, Result<Rc<State>, String>>>;

thread_local! {
    static STATE: RefCell<Option<Rc<State>>> = const { RefCell::new(None) };
    /// The load in progress: requests that arrive while the first one loads wait for it, so
    /// the manifest is fetched at most once per isolate.
    static LOADING: RefCell<Option<Loading>> = const { RefCell::new(None) };
    /// Shard loads in progress, by shard number (same purpose).
    static SHARD_LOADING: RefCell<HashMap<usize, ShardLoading>> = RefCell::new(HashMap::new());
}

/// Request headers the asset planner reads; no other header crosses into Wasm.
const ASSET_HEADERS: [HeaderName; 6] = [
    header::ACCEPT_ENCODING,
    header::IF_NONE_MATCH,
    header::IF_MATCH,
    header::RANGE,
    header::IF_RANGE,
    header::ORIGIN,
];

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
    match router::route(router::path_of(&url), &state.config) {
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
        Route::Origin => pass_through(req, &url, &state).await,
    }
}

async fn load(env: &Env) -> Result<Rc<State>, String> {
    if let Some(s) = STATE.with(|s| s.borrow().clone()) {
        return Ok(s);
    }
    let pending = LOADING.with(|l| {
        l.borrow_mut()
            .get_or_insert_with(|| {
                let env = env.clone();
                async move { load_now(&env).await }.boxed_local().shared()
            })
            .clone()
    });
    let result = pending.await;
    LOADING.with(|l| *l.borrow_mut() = None);
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
    let state = Rc::new(State {
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
    Ok(state)
}

/// The index shard that holds `path`, fetched on first use (once per isolate).
async fn shard_for(state: &State, path: &str) -> Result<Rc<Index>, String> {
    let i = state.root.shard_of(path);
    if let Some(index) = state.shards.borrow()[i].clone() {
        return Ok(index);
    }
    let pending = SHARD_LOADING.with(|m| {
        m.borrow_mut()
            .entry(i)
            .or_insert_with(|| {
                let assets = state.assets.clone();
                let file = shard_path(&state.config.manifest, i);
                async move {
                    let resp = fetch_file(&assets, &file, None).await?;
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
                .boxed_local()
                .shared()
            })
            .clone()
    });
    let result = pending.await;
    SHARD_LOADING.with(|m| m.borrow_mut().remove(&i));
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

async fn serve_asset(req: &Request, key: &str, state: &State) -> worker::Result<Response> {
    let js_headers = req.headers();
    let mut headers = HeaderMap::new();
    for name in ASSET_HEADERS {
        if let Ok(Some(v)) = js_headers.get(name.as_str()) {
            if let Ok(v) = HeaderValue::from_str(&v) {
                headers.insert(name, v);
            }
        }
    }
    // Cloudflare (and Miniflare) rewrite Accept-Encoding to "br, gzip" before the worker runs and
    // keep the client's own value in `request.cf.clientAcceptEncoding`: negotiate on that.
    if let Some(client) = client_accept_encoding(req) {
        headers.remove(header::ACCEPT_ENCODING);
        if !client.is_empty() {
            if let Ok(v) = HeaderValue::from_str(&client) {
                headers.insert(header::ACCEPT_ENCODING, v);
            }
        }
    }
    let method = Method::from_bytes(req.method().as_bytes()).unwrap_or(Method::TRACE);
    let index = match shard_for(state, key).await {
        Ok(index) => index,
        Err(why) => {
            console_error!("edge-worker: cannot look up {key}: {why}");
            return respond_text(500, "500 Internal Server Error: the asset manifest is unavailable (see the worker log)\n");
        }
    };
    let plan = match index.get(key) {
        Ok(Some(entry)) => assets::serve(&method, &headers, &entry, &state.config),
        Ok(None) => {
            let page_index = match &state.config.not_found_page {
                Some(page) => shard_for(state, page).await.ok().map(|i| (page, i)),
                None => None,
            };
            let page = page_index
                .as_ref()
                .and_then(|(p, i)| i.get(p).ok().flatten());
            assets::not_found(&method, &headers, page.as_ref(), &state.config)
        }
        Err(e) => {
            console_error!("edge-worker: manifest lookup for {key} failed: {e}");
            Plan::text(
                StatusCode::INTERNAL_SERVER_ERROR,
                "500 Internal Server Error: corrupted manifest\n",
                false,
            )
        }
    };
    respond(plan, state).await
}

fn client_accept_encoding(req: &Request) -> Option<String> {
    let cf = Reflect::get(req.as_ref(), &JsValue::from_str("cf")).ok()?;
    if !cf.is_object() {
        return None;
    }
    Reflect::get(&cf, &JsValue::from_str("clientAcceptEncoding"))
        .ok()?
        .as_string()
}

async fn respond(plan: Plan, state: &State) -> worker::Result<Response> {
    let init = ResponseInit::new();
    init.set_status(plan.status.as_u16());
    let js_headers = Headers::new()?;
    for (name, value) in &plan.headers {
        if let Ok(v) = value.to_str() {
            js_headers.append(name.as_str(), v)?;
        }
    }
    init.set_headers(&js_headers);
    if plan.precompressed {
        // Pass the precompressed bytes through untouched (no second encoding by the runtime).
        Reflect::set(
            &init,
            &JsValue::from_str("encodeBody"),
            &JsValue::from_str("manual"),
        )?;
    }
    let resp = match plan.body {
        Body::Empty => Response::new_with_opt_str_and_init(None, &init)?,
        Body::Text(text) => Response::new_with_opt_str_and_init(Some(&text), &init)?,
        Body::File { path, range, len } => {
            let fits = state.cache.borrow().admits(len as usize);
            if fits {
                let bytes = match cached_bytes(state, &path, len).await {
                    Ok(b) => b,
                    Err(why) => return asset_failure(&path, &why),
                };
                let body = match &range {
                    Some(r) => bytes.subarray(r.start as u32, r.end as u32),
                    None => bytes,
                };
                Response::new_with_opt_buffer_source_and_init(Some(&body), &init)?
            } else {
                let upstream = match fetch_file(&state.assets, &path, range.as_ref()).await {
                    Ok(r) if r.status() == 200 || r.status() == 206 => r,
                    Ok(r) => return asset_failure(&path, &format!("status {}", r.status())),
                    Err(why) => return asset_failure(&path, &why),
                };
                match (&range, upstream.status()) {
                    (Some(r), 200) => {
                        // The assets service ignored the range: slice it here.
                        let bytes = match read_bytes(&upstream).await {
                            Ok(b) => b,
                            Err(why) => return asset_failure(&path, &why),
                        };
                        let body = bytes.subarray(r.start as u32, r.end as u32);
                        Response::new_with_opt_buffer_source_and_init(Some(&body), &init)?
                    }
                    _ => Response::new_with_opt_readable_stream_and_init(
                        upstream.body().as_ref(),
                        &init,
                    )?,
                }
            }
        }
    };
    Ok(resp)
}

/// The whole file at `path`, from the isolate cache or the assets service (then cached).
async fn cached_bytes(state: &State, path: &str, len: u64) -> Result<Uint8Array, String> {
    if let Some(b) = state.cache.borrow_mut().get(path) {
        return Ok(b.clone());
    }
    let resp = fetch_file(&state.assets, path, None).await?;
    if resp.status() != 200 {
        return Err(format!("status {}", resp.status()));
    }
    let bytes = read_bytes(&resp).await?;
    if u64::from(bytes.length()) != len {
        return Err(format!(
            "{} bytes where the manifest says {len}: assets and manifest are from different builds",
            bytes.length()
        ));
    }
    state
        .cache
        .borrow_mut()
        .insert(path.to_string(), bytes.clone(), len as usize);
    Ok(bytes)
}

fn asset_failure(path: &str, why: &str) -> worker::Result<Response> {
    console_error!("edge-worker: asset {path} unavailable from the ASSETS binding: {why}");
    respond_text(502, "502 Bad Gateway: asset storage unavailable\n")
}

async fn fetch_file(
    assets: &worker::worker_sys::Fetcher,
    path: &str,
    range: Option<&std::ops::Range<u64>>,
) -> Result<Response, String> {
    let url = format!("https://assets.local{}", path::encode(path));
    let promise = match range {
        None => assets.fetch_with_str(&url),
        Some(r) => {
            let init = RequestInit::new();
            let h = Headers::new().map_err(|e| format!("{e:?}"))?;
            h.set("range", &format!("bytes={}-{}", r.start, r.end - 1))
                .map_err(|e| format!("{e:?}"))?;
            init.set_headers(&h);
            let req = Request::new_with_str_and_init(&url, &init).map_err(|e| format!("{e:?}"))?;
            assets.fetch(&req)
        }
    }
    .map_err(|e| format!("{e:?}"))?;
    JsFuture::from(promise)
        .await
        .map_err(|e| format!("{e:?}"))?
        .dyn_into::<Response>()
        .map_err(|_| "not a Response".to_string())
}

async fn read_bytes(resp: &Response) -> Result<Uint8Array, String> {
    let buf = JsFuture::from(resp.array_buffer().map_err(|e| format!("{e:?}"))?)
        .await
        .map_err(|e| format!("{e:?}"))?;
    Ok(Uint8Array::new(&buf))
}

/// Until origin pools exist: forward to the one configured origin, streaming both bodies.
async fn pass_through(req: Request, url: &str, state: &State) -> worker::Result<Response> {
    let Some(origin) = &state.config.origin else {
        return respond_text(404, "404 Not Found\n");
    };
    let target = format!("{origin}{}", router::path_and_query_of(url));
    let headers = Headers::new_with_headers(&req.headers())?;
    for h in forward::hop_by_hop(headers.get("connection")?.as_deref()) {
        headers.delete(&h)?;
    }
    let incoming = url::Url::parse(url).ok();
    let client_ip = req
        .headers()
        .get("cf-connecting-ip")?
        .unwrap_or_else(|| "127.0.0.1".into());
    headers.set("x-forwarded-for", &client_ip)?;
    headers.set(
        "x-forwarded-proto",
        incoming.as_ref().map_or("https", |u| u.scheme()),
    )?;
    if let Some(host) = incoming.as_ref().and_then(|u| u.host_str()) {
        headers.set("x-forwarded-host", host)?;
    }
    let init = RequestInit::new();
    init.set_method(&req.method());
    init.set_headers(&headers);
    init.set_redirect(web_sys::RequestRedirect::Manual);
    if req.method() != "GET" && req.method() != "HEAD" {
        if let Some(body) = req.body() {
            init.set_body(&body);
        }
    }
    let outgoing = Request::new_with_str_and_init(&target, &init)?;
    let resp = match worker::Fetch::Request(outgoing.into()).send().await {
        Ok(r) => web_sys::Response::from(r),
        Err(e) => {
            console_error!("edge-worker: origin {origin} failed: {e}");
            return respond_text(502, "502 Bad Gateway: the origin did not answer\n");
        }
    };
    let out_headers = Headers::new_with_headers(&resp.headers())?;
    for h in forward::hop_by_hop(out_headers.get("connection")?.as_deref()) {
        out_headers.delete(&h)?;
    }
    let init = ResponseInit::new();
    init.set_status(resp.status());
    init.set_status_text(&resp.status_text());
    init.set_headers(&out_headers);
    Ok(Response::new_with_opt_readable_stream_and_init(
        resp.body().as_ref(),
        &init,
    )?)
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
