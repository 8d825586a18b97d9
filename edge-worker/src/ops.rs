//! The edge's operations endpoints (`/__edge/…`), token-protected.

use edge_core::answer::Answer;
use edge_core::ops::{self, Access};
use edge_core::router::Ops;
use web_sys::{Request, Response};

use crate::state::{now_ms, send, State};

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
        (Access::Granted, Ops::Health) => {
            let names: Vec<String> = state.config.pools.keys().cloned().collect();
            let verdicts = crate::health::verdicts_for(state, &names).await;
            let report = ops::health_report(
                &state.config,
                &state.pools.borrow(),
                &verdicts,
                &state.counters.borrow(),
                now_ms(),
            );
            send(Answer::json(200, report))
        }
    }
}

/// `POST /__edge/purge` `{"tags": […], "urls": […]}`: soft-purges them everywhere (through the
/// coordinator; this isolate at once, the others within `purge_poll_ms`).
async fn purge(req: &Request, state: &State) -> worker::Result<Response> {
    if req.method() != "POST" {
        let mut a = Answer::text(
            405,
            "405 Method Not Allowed: POST a JSON body {\"tags\": [...], \"urls\": [...]}\n",
        );
        a.headers.push(("allow", "POST".into()));
        return send(a);
    }
    let body = wasm_bindgen_futures::JsFuture::from(req.text()?)
        .await?
        .as_string()
        .unwrap_or_default();
    let request = match ops::PurgeRequest::parse(&body) {
        Ok(r) => r,
        Err(why) => return send(Answer::text(400, format!("400 Bad Request: {why}\n"))),
    };
    let tags = request.all_tags(&state.config);
    state
        .purges
        .borrow_mut()
        .0
        .purge(tags.iter().map(String::as_str), now_ms());
    let Some(ns) = &state.coordinator else {
        return send(Answer::text(
            503,
            "503 Service Unavailable: no coordinator (EDGE_COORDINATOR) to record the purge\n",
        ));
    };
    match crate::coordinator::purge(ns, &tags).await {
        Ok(log) => {
            state.purges.borrow_mut().0.merge(&log);
            send(Answer::json(200, serde_json::json!({ "purged": request.tags, "urls": request.urls, "propagation_ms": state.config.purge_poll_ms }).to_string()))
        }
        Err(e) => send(Answer::text(
            502,
            format!("502 Bad Gateway: the coordinator did not record the purge: {e}\n"),
        )),
    }
}
