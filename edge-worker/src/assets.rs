//! Serving assets: the planner's decisions carried out against the ASSETS binding and the
//! isolate's memory cache.

use std::ops::Range;

use edge_core::answer::Answer;
use edge_core::assets::history::{self, Target};
use edge_core::assets::{self, Body, Plan};
use edge_core::path;
use http::Method;
use js_sys::Uint8Array;
use wasm_bindgen::JsValue;
use web_sys::{Headers, Request, RequestInit, Response};
use worker::console_error;

use crate::js;
use crate::state::{send, shard_for, State};

pub(crate) async fn serve(req: &Request, key: &str, state: &State) -> worker::Result<Response> {
    let headers = request_headers(req);
    let method = Method::from_bytes(req.method().as_bytes()).unwrap_or(Method::TRACE);
    let cors = &state.config.assets.cors;
    let looked_up = match shard_for(state, key).await {
        Ok(index) => index
            .get(key)
            .map(|e| e.map(|e| assets::serve(&method, &headers, &e, cors))),
        Err(why) => {
            console_error!("edge-worker: cannot look up {key}: {why}");
            return send(Answer::text(500, "500 Internal Server Error: the asset manifest is unavailable (see the worker log)\n"));
        }
    };
    let plan = match looked_up {
        Ok(Some(plan)) => plan,
        Ok(None) => {
            let page = state.config.assets.not_found_page.as_deref();
            let index = match page {
                Some(p) => shard_for(state, p).await.ok(),
                None => None,
            };
            let entry = index
                .as_ref()
                .zip(page)
                .and_then(|(i, p)| i.get(p).ok().flatten());
            assets::not_found(&method, &headers, entry.as_ref(), cors)
        }
        Err(e) => {
            console_error!("edge-worker: manifest lookup for {key} failed: {e}");
            Plan::text(
                http::StatusCode::INTERNAL_SERVER_ERROR,
                "500 Internal Server Error: corrupted manifest\n",
                false,
            )
        }
    };
    match respond(plan, state, true).await {
        Ok(r) => Ok(r),
        Err(why) => {
            console_error!("edge-worker: asset unavailable from the ASSETS binding: {why}");
            send(Answer::text(
                502,
                "502 Bad Gateway: asset storage unavailable\n",
            ))
        }
    }
}

/// The deploy history for the next build: the history file or a stored file, exactly as stored
/// (never through the memory cache, which is for hot assets).
pub(crate) async fn serve_history(
    req: &Request,
    target: Target,
    state: &State,
) -> worker::Result<Response> {
    let method = Method::from_bytes(req.method().as_bytes()).unwrap_or(Method::TRACE);
    let mut plan = history::plan(&method, &target, &state.config.assets.manifest);
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
    if let Some(len) = upstream.headers().get("content-length").ok().flatten() {
        if let Ok(v) = http::HeaderValue::from_str(&len) {
            plan.headers.insert(http::header::CONTENT_LENGTH, v);
        }
    }
    let headers = plan
        .headers
        .iter()
        .filter_map(|(n, v)| Some((n.as_str(), v.to_str().ok()?)));
    let body = (method == Method::GET)
        .then(|| upstream.body())
        .flatten()
        .map(JsValue::from);
    js::response(plan.status.as_u16(), headers, body.as_ref(), true)
}

/// The request headers the asset planner reads. Cloudflare (and Miniflare) rewrite
/// `Accept-Encoding` before the worker runs; the client's own is `request.cf.clientAcceptEncoding`.
fn request_headers(req: &Request) -> http::HeaderMap {
    let js = req.headers();
    let cf = js_sys::Reflect::get(req, &"cf".into()).unwrap_or(JsValue::UNDEFINED);
    let client_ae = js::string_field(&cf, "clientAcceptEncoding");
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
    let method = Method::from_bytes(req.method().as_bytes()).unwrap_or(Method::GET);
    let headers = request_headers(req);
    let looked_up = shard_for(state, &page).await.map(|i| {
        i.get(&page)
            .ok()
            .flatten()
            .map(|e| assets::answer_page(&answer, &method, &headers, &e, &state.config.assets.cors))
    });
    let Ok(Some(plan)) = looked_up else {
        return send(answer);
    };
    match respond(plan, state, true).await {
        Ok(r) => Ok(r),
        Err(why) => {
            console_error!("edge-worker: error page {page} unavailable: {why}");
            send(answer)
        }
    }
}

/// Sends a plan: its body from the memory cache (small files, when `cached`), else streamed from
/// the ASSETS binding (a range requested there, or sliced here if the service ignored it).
async fn respond(plan: Plan, state: &State, cached: bool) -> Result<Response, String> {
    let headers: Vec<(&str, &str)> = plan
        .headers
        .iter()
        .filter_map(|(n, v)| Some((n.as_str(), v.to_str().ok()?)))
        .collect();
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
    js::response(
        plan.status.as_u16(),
        headers,
        body.as_ref(),
        plan.precompressed,
    )
    .map_err(|e| e.to_string())
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
    let init = RequestInit::new();
    if let Some(r) = range {
        let h = Headers::new().map_err(js::text)?;
        h.set("range", &format!("bytes={}-{}", r.start, r.end - 1))
            .map_err(js::text)?;
        init.set_headers(&h);
    }
    let url = format!("https://assets.local{}", path::encode(path));
    let req = Request::new_with_str_and_init(&url, &init).map_err(js::text)?;
    js::fetch(Some(assets), &req).await.map_err(js::text)
}
