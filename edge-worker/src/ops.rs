//! The edge's operations endpoints (`/__edge/…`), token-protected.

use edge_core::answer::Answer;
use edge_core::ops::{self, Access};
use edge_core::router::Ops;
use web_sys::{Headers, Request, Response, ResponseInit};

use crate::state::{now_ms, send, State};

/// Serves `op`: 404 without the `EDGE_HEALTH_TOKEN` secret, 401 without the token.
pub(crate) async fn serve(op: Ops, req: &Request, state: &State) -> worker::Result<Response> {
    let auth = req.headers().get("authorization")?;
    match ops::access(state.health_token.as_deref(), auth.as_deref()) {
        Access::Hidden => return send(Answer::not_found()),
        Access::Denied => {
            let mut a = Answer::text(
                401,
                "401 Unauthorized: Authorization: Bearer <EDGE_HEALTH_TOKEN> required\n",
            );
            a.headers.push(("www-authenticate", "Bearer".into()));
            return send(a);
        }
        Access::Granted => {}
    }
    match op {
        Ops::Health => {
            let names: Vec<String> = state.config.pools.keys().cloned().collect();
            let verdicts = crate::health::verdicts_for(state, &names).await;
            let body =
                ops::health_report(&state.config, &state.pools.borrow(), &verdicts, now_ms());
            let init = ResponseInit::new();
            init.set_status(200);
            let h = Headers::new()?;
            h.set("content-type", "application/json")?;
            h.set("cache-control", "no-store")?;
            init.set_headers(&h);
            Ok(Response::new_with_opt_str_and_init(Some(&body), &init)?)
        }
        Ops::Unknown => send(Answer::not_found()),
    }
}
