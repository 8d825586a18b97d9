//! The edge's operations endpoints (`/__edge/…`), token-protected.

use edge_core::answer::Answer;
use edge_core::ops::{self, Access};
use edge_core::router::Ops;
use edge_core::status_page;
use web_sys::{Request, Response};

use crate::state::{now_ms, send, State};

/// How often the status page reloads itself, in seconds.
const STATUS_REFRESH_S: u64 = 5;

/// Serves `op`: 404 without the `EDGE_HEALTH_TOKEN` secret, 401 without the token.
pub(crate) async fn serve(op: Ops, req: &Request, state: &State) -> worker::Result<Response> {
    let auth = req.headers().get("authorization")?;
    match (
        ops::access(state.health_token.as_deref(), auth.as_deref()),
        op,
    ) {
        (Access::Hidden, _) | (Access::Granted, Ops::Unknown) => send(Answer::not_found()),
        (Access::Denied, _) => send(Answer::unauthorized()),
        (Access::Granted, Ops::Purge) => purge(req, state).await,
        (Access::Granted, op @ (Ops::Health | Ops::Status)) => {
            let names: Vec<String> = state.config.pools.keys().cloned().collect();
            // Fresh from the coordinator for the operator (not the isolate's periodic copy).
            let mut book = None;
            if let Some(ns) = &state.coordinator {
                if let Ok(snap) = crate::coordinator::snapshot(ns).await {
                    state.adopt(snap);
                }
                if !state.config.jobs.is_empty() {
                    book = crate::coordinator::book(ns).await.ok();
                }
            }
            let verdicts = crate::health::verdicts_for(state, &names);
            let pools = state.pools.borrow();
            let counters = state.counters.borrow();
            let view = ops::View {
                cfg: &state.config,
                states: &pools,
                verdicts: &verdicts,
                book: book.as_ref(),
                cache: &counters,
                now_ms: now_ms(),
            };
            if op == Ops::Health {
                send(Answer::json(200, ops::health_report(&view)))
            } else {
                let page = status_page::render(&ops::status_snapshot(&view, STATUS_REFRESH_S));
                send(Answer::html(200, page))
            }
        }
    }
}

/// `POST /__edge/purge` `{"tags": […], "urls": […]}`: soft-purges them everywhere (through the
/// coordinator; this isolate at once, the others within `coordinator_poll_ms`).
async fn purge(req: &Request, state: &State) -> worker::Result<Response> {
    let body = match req.method().as_str() {
        "POST" => wasm_bindgen_futures::JsFuture::from(req.text()?)
            .await?
            .as_string()
            .unwrap_or_default(),
        _ => String::new(),
    };
    let request = match ops::purge_request(&req.method(), &body) {
        Ok(r) => r,
        Err(refused) => return send(refused),
    };
    let tags = request.all_tags(&state.config);
    state
        .coord
        .borrow_mut()
        .0
        .purges
        .purge(tags.iter().map(String::as_str), now_ms());
    let recorded = match &state.coordinator {
        Some(ns) => Some(
            crate::coordinator::purge(ns, &tags)
                .await
                .map(|snap| state.adopt(snap)),
        ),
        None => None,
    };
    send(request.answer(recorded, state.config.coordinator_poll_ms))
}
