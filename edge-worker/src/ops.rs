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
        (Access::Granted, Ops::Health) => {
            let names: Vec<String> = state.config.pools.keys().cloned().collect();
            let verdicts = crate::health::verdicts_for(state, &names).await;
            let report =
                ops::health_report(&state.config, &state.pools.borrow(), &verdicts, now_ms());
            send(Answer::json(200, report))
        }
    }
}
