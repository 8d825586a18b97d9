//! The edge's operations endpoints (`/__edge/…`), token-protected.

use edge_core::coordinator::{Ask, Snapshot};
use edge_core::jobs::Book;
use edge_core::ops::{self, Handling};
use edge_core::router::Ops;
use web_sys::{Request, Response};

use crate::coordinator::ask;
use crate::js;
use crate::state::{now_ms, send, State};

/// Serves `op`: 404 without the `EDGE_HEALTH_TOKEN` secret, 401 without the token.
pub(crate) async fn serve(op: Ops, req: &Request, state: &State) -> worker::Result<Response> {
    let auth = req.headers().get("authorization")?;
    let access = ops::access(state.health_token.as_deref(), auth.as_deref());
    match ops::handling(op, access, &req.method()) {
        Handling::Answer(answer) => send(answer),
        Handling::Purge => purge(req, state).await,
        Handling::Report => {
            // Fresh from the coordinator for the operator (not the isolate's periodic copy).
            let mut book = None;
            if let Some(ns) = &state.coordinator {
                if let Ok(snap) = ask(ns, &Ask::Snapshot)
                    .await
                    .and_then(|t| Snapshot::from_answer(&t))
                {
                    state.adopt(snap);
                }
                if !state.config.jobs.is_empty() {
                    book = ask(ns, &Ask::Book)
                        .await
                        .and_then(|t| Book::from_json(&t))
                        .ok();
                }
            }
            let (pools, counters) = (state.pools.borrow(), state.counters.borrow());
            let view = ops::View {
                cfg: &state.config,
                states: &pools,
                verdicts: &state.coord.borrow().0.verdicts,
                book: book.as_ref(),
                cache: &counters,
                now_ms: now_ms(),
            };
            send(ops::report(op, &view))
        }
    }
}

/// `POST /__edge/purge` `{"tags": […], "urls": […]}`: soft-purges them everywhere (through the
/// coordinator; this isolate at once, the others within `coordinator_poll_ms`).
async fn purge(req: &Request, state: &State) -> worker::Result<Response> {
    let body = match req.method().as_str() {
        "POST" => js::body_text(req.text()).await?,
        _ => String::new(),
    };
    let request = match ops::purge_request(&req.method(), &body) {
        Ok(r) => r,
        Err(refused) => return send(refused),
    };
    let tags = request.all_tags(&state.config);
    state.purge_here(&tags, now_ms());
    let recorded = match &state.coordinator {
        Some(ns) => Some(
            ask(ns, &Ask::Purge(tags))
                .await
                .and_then(|t| Snapshot::from_answer(&t))
                .map(|snap| state.adopt(snap)),
        ),
        None => None,
    };
    send(request.answer(recorded, state.config.coordinator_poll_ms))
}
