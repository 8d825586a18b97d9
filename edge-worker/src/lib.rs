//! edge-worker: the Cloudflare Worker's glue. It converts the request, asks `edge-core` what to
//! do, does the I/O that names (the ASSETS binding, origins, KV) and sends the answer; every
//! decision is in the core, unit-tested natively.
//!
//! The handler takes the raw `web_sys::Request` rather than an `http::Request`, so that only the
//! headers the core reads cross from JavaScript into Wasm, and bodies (assets, the origins'
//! responses) pass through as JavaScript streams or `Uint8Array`s, never copied into Wasm.
//!
//! The crate is glue for Wasm only: built natively (workspace tests, clippy) it is empty.
#![cfg(target_arch = "wasm32")]

/// The allocator: talc, faster and smaller than the default dlmalloc on Wasm.
#[global_allocator]
static ALLOCATOR: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();

mod assets;
mod cache;
mod coordinator;
pub mod driven;
mod health;
mod interim;
mod jobs;
mod js;
mod ops;
mod origin;
mod proxy;
mod state;

mod handler {
    use edge_core::answer::Answer;
    use edge_core::proxy::log;
    use edge_core::router::{self, Decision};
    use web_sys::{Request, Response};
    use worker::{console_error, event, Context, Env};

    use super::state::{self, send};

    #[event(fetch)]
    async fn fetch(req: Request, env: Env, ctx: Context) -> worker::Result<Response> {
        let state = match state::load(&env).await {
            Ok(s) => s,
            Err(why) => {
                console_error!("edge-worker: cannot serve: {why}");
                return send(Answer::misconfigured());
            }
        };
        let url = req.url();
        let method = req.method();
        let head = method == "HEAD";
        let response = match router::decide(&url, &state.config) {
            Decision::Redirect(location) => send(Answer::redirect(location)),
            Decision::Asset(key) => super::assets::serve(&req, &key, &state).await,
            Decision::BadPath(e) => send(Answer::bad_path(e).for_head(head)),
            Decision::Ops(op) => super::ops::serve(op, &req, &state).await,
            Decision::History(t) => super::assets::serve_history(&req, t, &state).await,
            Decision::Deny | Decision::NoRoute => {
                let accept = req.headers().get("accept").ok().flatten();
                let answer =
                    Answer::not_found().with_page(&state.config.error_pages, accept.as_deref());
                super::assets::send_answer(answer.for_head(head), &req, &state).await
            }
            Decision::Proxy(route, upstream) => {
                super::health::maybe_refresh(&state, &ctx);
                let response = if upstream.cache.enabled {
                    let to = (route, upstream);
                    let served = super::cache::serve(req, &url, to, &state, &ctx, false).await;
                    served.and_then(|r| r.ok_or_else(|| "the cache flow gave no answer".into()))
                } else {
                    super::proxy::proxy(req, &url, route, upstream, &state).await
                };
                let flush = state.log.borrow_mut().arm();
                if let Some(ms) = flush {
                    super::cache::later(&state, &ctx, super::cache::Task::FlushLog(ms));
                }
                response
            }
        };
        // The runtime failed us mid-request: a 500 that says so, and a line naming the request
        // (not the runtime's bare "INTERNAL SERVER ERROR").
        let response = match response {
            Ok(r) => r,
            Err(e) => {
                console_error!("{}", log::edge_failed(&method, &url, &e.to_string()));
                send(Answer::edge_failed().for_head(head))?
            }
        };
        if let Some(hsts) = state.config.forwarding.hsts_for(&url) {
            // Responses built here have mutable headers; ignore the rare immutable one.
            let _ = response.headers().set("strict-transport-security", hsts);
        }
        Ok(response)
    }
}
