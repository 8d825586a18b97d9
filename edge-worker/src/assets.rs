//! Serving assets: the planner's decisions carried out against the ASSETS binding and the
//! isolate's memory cache.

use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::{Method, StatusCode};
use js_sys::{Reflect, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{Headers, Request, RequestInit, Response, ResponseInit};
use worker::console_error;

use edge_core::answer::Answer;
use edge_core::assets::{self, Body, Plan};
use edge_core::path;

use crate::state::{send, shard_for, State};

/// Request headers the asset planner reads; no other header crosses into Wasm.
const ASSET_HEADERS: [HeaderName; 6] = [
    header::ACCEPT_ENCODING,
    header::IF_NONE_MATCH,
    header::IF_MATCH,
    header::RANGE,
    header::IF_RANGE,
    header::ORIGIN,
];

pub(crate) async fn serve(req: &Request, key: &str, state: &State) -> worker::Result<Response> {
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
            return send(Answer::text(500, "500 Internal Server Error: the asset manifest is unavailable (see the worker log)\n"));
        }
    };
    let plan = match index.get(key) {
        Ok(Some(entry)) => assets::serve(&method, &headers, &entry, &state.config.assets.cors),
        Ok(None) => {
            let page_index = match &state.config.assets.not_found_page {
                Some(page) => shard_for(state, page).await.ok().map(|i| (page, i)),
                None => None,
            };
            let page = page_index
                .as_ref()
                .and_then(|(p, i)| i.get(p).ok().flatten());
            assets::not_found(&method, &headers, page.as_ref(), &state.config.assets.cors)
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
    send(Answer::text(
        502,
        "502 Bad Gateway: asset storage unavailable\n",
    ))
}

pub(crate) async fn fetch_file(
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

pub(crate) async fn read_bytes(resp: &Response) -> Result<Uint8Array, String> {
    let buf = JsFuture::from(resp.array_buffer().map_err(|e| format!("{e:?}"))?)
        .await
        .map_err(|e| format!("{e:?}"))?;
    Ok(Uint8Array::new(&buf))
}
