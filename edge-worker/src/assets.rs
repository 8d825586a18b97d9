//! Serving assets: the planner's decisions carried out against the ASSETS binding and the
//! isolate's memory cache.

use std::ops::Range;

use cdn_manifest::{EntryRef, IndexError};
use edge_core::answer::Answer;
use edge_core::assets::history::{self, Target};
use edge_core::assets::{self, range, Body, Plan};
use edge_core::path;
use http::Method;
use js_sys::Uint8Array;
use wasm_bindgen::JsValue;
use web_sys::{Request, Response};
use worker::console_error;

use crate::js;
use crate::state::{send, shard_for, State};

pub(crate) async fn serve(req: &Request, key: &str, state: &State) -> worker::Result<Response> {
    let headers = request_headers(req);
    let method = method_of(req).unwrap_or(Method::TRACE);
    let cors = &state.config.assets.cors;
    let serve = |e: &EntryRef<'_>| assets::serve(&method, &headers, e, cors);
    let plan = match with_entry(state, key, serve).await {
        Ok(Ok(Some(plan))) => plan,
        Ok(Ok(None)) => {
            let not_found =
                |e: Option<&EntryRef<'_>>| assets::not_found(&method, &headers, e, cors);
            let page = match &state.config.assets.not_found_page {
                Some(p) => with_entry(state, p, |e| not_found(Some(e))).await,
                None => Ok(Ok(None)),
            };
            page.ok()
                .and_then(|p| p.ok().flatten())
                .unwrap_or_else(|| not_found(None))
        }
        Ok(Err(e)) => {
            console_error!("edge-worker: manifest lookup for {key} failed: {e}");
            Plan::corrupted_manifest()
        }
        Err(why) => {
            console_error!("edge-worker: cannot look up {key}: {why}");
            return send(Answer::manifest_unavailable());
        }
    };
    respond(plan, state, true).await.or_else(|why| {
        console_error!("edge-worker: asset unavailable from the ASSETS binding: {why}");
        send(Answer::asset_storage_unavailable())
    })
}

/// What `plan` makes of the manifest's entry for `path`: `Ok(None)` when the manifest has no
/// such path, `Ok(Err)` when its entry is unreadable, `Err` when its shard cannot be loaded.
async fn with_entry<T>(
    state: &State,
    path: &str,
    plan: impl FnOnce(&EntryRef<'_>) -> T,
) -> Result<Result<Option<T>, IndexError>, String> {
    let index = shard_for(state, path).await?;
    let entry = index.get(path);
    Ok(entry.map(|e| e.as_ref().map(plan)))
}

/// The request's method (`None` if the runtime gave one that is not a token).
fn method_of(req: &Request) -> Option<Method> {
    Method::from_bytes(req.method().as_bytes()).ok()
}

/// The deploy history for the next build: the history file or a stored file, exactly as stored
/// (never through the memory cache, which is for hot assets).
pub(crate) async fn serve_history(
    req: &Request,
    target: Target,
    state: &State,
) -> worker::Result<Response> {
    let method = method_of(req).unwrap_or(Method::TRACE);
    let plan = history::plan(&method, &target, &state.config.assets.manifest);
    let Body::Unsized { path } = &plan.body else {
        return respond(plan, state, false)
            .await
            .or_else(|_| send(Answer::not_found()));
    };
    let upstream = match fetch_file(&state.assets, path, None).await {
        Ok(r) if r.status() == 200 => r,
        _ => {
            return respond(history::not_found(&method), state, false)
                .await
                .or_else(|_| send(Answer::not_found()))
        }
    };
    let length = upstream.headers().get("content-length").ok().flatten();
    let plan = history::with_length(plan, length.as_deref());
    let body = (method == Method::GET)
        .then(|| upstream.body())
        .flatten()
        .map(JsValue::from);
    let status = plan.status.as_u16();
    Ok(js::response(
        status,
        None,
        plan.header_pairs(),
        body.as_ref(),
        true,
    )?)
}

/// The request headers the asset planner reads. Cloudflare (and Miniflare) rewrite
/// `Accept-Encoding` before the worker runs; the client's own is `request.cf.clientAcceptEncoding`.
fn request_headers(req: &Request) -> http::HeaderMap {
    let js = req.headers();
    let client_ae = js::string_field(&js::get(req, "cf"), "clientAcceptEncoding");
    assets::request_headers(|n| js.get(n).ok().flatten(), client_ae)
}

/// Sends one of the edge's own answers: with its page of the build as the body when it names
/// one (same status, the answer's headers), else its text — also when the page is gone.
pub(crate) async fn send_answer(
    answer: Answer,
    req: &Request,
    state: &State,
) -> worker::Result<Response> {
    let Some(page) = answer.page.clone() else {
        return send(answer);
    };
    let method = method_of(req).unwrap_or(Method::GET);
    let headers = request_headers(req);
    let cors = &state.config.assets.cors;
    let plan = |e: &EntryRef<'_>| assets::answer_page(&answer, &method, &headers, e, cors);
    let Ok(Ok(Some(plan))) = with_entry(state, &page, plan).await else {
        return send(answer);
    };
    respond(plan, state, true).await.or_else(|why| {
        console_error!("edge-worker: error page {page} unavailable: {why}");
        send(answer)
    })
}

/// Sends a plan: its body from the memory cache (small files, when `cached`), else streamed from
/// the ASSETS binding (a range requested there, or sliced here if the service ignored it).
async fn respond(plan: Plan, state: &State, cached: bool) -> Result<Response, String> {
    let body: Option<JsValue> = match &plan.body {
        Body::Empty => None,
        Body::Text(text) => Some(text.into()),
        Body::File { path, range, len } if cached && state.cache.borrow().admits(*len as usize) => {
            let bytes = cached_bytes(state, path, *len).await?;
            Some(slice(bytes, range.as_ref()).into())
        }
        Body::File { path, range, .. } => {
            let upstream = fetch_file(&state.assets, path, range.as_ref()).await?;
            match (range, upstream.status()) {
                (Some(r), 200) => Some(slice(js::bytes(&upstream).await?, Some(r)).into()),
                (_, 200 | 206) => upstream.body().map(Into::into),
                (_, status) => return Err(format!("{path}: status {status}")),
            }
        }
        // Passed through by `serve_history`, which alone plans one.
        Body::Unsized { path } => return Err(format!("{path}: not a sized file")),
    };
    let (status, manual) = (plan.status.as_u16(), plan.precompressed);
    js::response(status, None, plan.header_pairs(), body.as_ref(), manual)
}

fn slice(bytes: Uint8Array, range: Option<&Range<u64>>) -> Uint8Array {
    match range {
        Some(r) => bytes.subarray(r.start as u32, r.end as u32),
        None => bytes,
    }
}

/// The whole file at `path`, from the isolate cache or the assets service (then cached).
async fn cached_bytes(state: &State, path: &str, len: u64) -> Result<Uint8Array, String> {
    if let Some(b) = state.cache.borrow_mut().get(path) {
        return Ok(b.clone());
    }
    let resp = fetch_file(&state.assets, path, None).await?;
    if resp.status() != 200 {
        return Err(format!("{path}: status {}", resp.status()));
    }
    let bytes = js::bytes(&resp).await?;
    if u64::from(bytes.length()) != len {
        return Err(format!("{path}: {} bytes where the manifest says {len}: assets and manifest are from different builds", bytes.length()));
    }
    state
        .cache
        .borrow_mut()
        .insert(path.to_string(), bytes.clone(), len as usize);
    Ok(bytes)
}

/// A file of the assets directory, all of it or a byte range.
pub(crate) async fn fetch_file(
    assets: &worker::worker_sys::Fetcher,
    path: &str,
    range: Option<&Range<u64>>,
) -> Result<Response, String> {
    let range = range.map(range::request_value);
    let url = format!("https://assets.local{}", path::encode(path));
    js::fetch_from(assets, &url, "GET", range.as_deref(), None).await
}
