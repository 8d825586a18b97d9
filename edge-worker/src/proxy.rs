//! Proxying: carries out the core's request plan — each attempt it names, each outcome back —
//! and passes the chosen response on.

use edge_core::answer::Answer;
use edge_core::balancer::retry::{BodyKind, Outcome};
use edge_core::forward;
use edge_core::proxy::inbound::{self, Inbound};
use edge_core::proxy::log;
use edge_core::proxy::plan::{Attempt, Decision, Event, GiveUp, Plan, Step};
use edge_core::routes::{Route, Upstream};
use js_sys::Uint8Array;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{Headers, Request, Response};
use worker::{console_error, console_log};

use crate::origin::{self, OriginRequest};
use crate::state::{now_ms, random, send, State};

/// Sends `req` to the route's pools as the plan says.
pub(crate) async fn proxy(
    req: Request,
    url: &str,
    route: &Route,
    upstream: &Upstream,
    state: &State,
) -> worker::Result<Response> {
    let js = req.headers();
    let get = |n: &str| js.get(n).ok().flatten();
    let kind = inbound::body_kind(
        &req.method(),
        req.body().is_some(),
        get("content-length").as_deref(),
    );
    let inbound = match inbound::read(url, &req.method(), get, kind, &state.config, now_ms()) {
        Ok(i) => i,
        Err(answer) => return send(answer),
    };
    let mut body = match kind {
        BodyKind::None => None,
        BodyKind::Buffered => {
            Some(Uint8Array::new(&JsFuture::from(req.array_buffer()?).await?).into())
        }
        BodyKind::Streamed => req.body().map(JsValue::from),
    };
    let headers = Headers::new_with_headers(&js)?;
    for name in &inbound.drop {
        headers.delete(name)?;
    }
    for (name, value) in &inbound.set {
        headers.set(name, value)?;
    }
    let mut plan = Plan::new(
        &state.config,
        route,
        upstream,
        inbound.facts.clone(),
        &state.cookie_key,
    );
    let verdicts = crate::health::verdicts_for(state, plan.chain()).await;
    let mut last_answer: Option<Response> = None;
    let (response, error) = loop {
        let attempt = match plan.next(&mut state.pools.borrow_mut(), &verdicts, now_ms(), random())
        {
            Step::Attempt(a) => InFlightGuard { state, attempt: a },
            Step::GiveUp(g) => break give_up(g, last_answer.take())?,
        };
        let a = &attempt.attempt;
        // A buffered body goes with every attempt, a streamed one with the first only.
        let this_body = if kind == BodyKind::Buffered {
            body.clone()
        } else {
            body.take()
        };
        let result = origin::fetch(state, &request(&inbound, &headers, a, this_body)).await;
        let outcome = result
            .as_ref()
            .map_or_else(|o| *o, |r| Outcome::of_status(r.status()));
        if let (Ok(r), Outcome::Invalid) = (&result, outcome) {
            console_error!(
                "edge-worker: {} answered status {}, not a final HTTP status; counted as a failure",
                a.url,
                r.status()
            );
        }
        let decision = plan.outcome(a, outcome, &mut state.pools.borrow_mut(), now_ms());
        for Event::Ejected { pool, origin } in plan.take_events() {
            console_error!("{}", log::ejected(&pool, &origin));
        }
        if let (Ok(r), Outcome::Answered(_)) = (result, outcome) {
            if let Decision::Respond { set_cookies } = &decision {
                break (pass_on(r, set_cookies)?, None);
            }
            last_answer = Some(r);
        }
        if let Decision::GiveUp(g) = decision {
            break give_up(g, last_answer.take())?;
        }
    };
    if state.config.log_requests {
        console_log!(
            "{}",
            plan.log_line(&inbound.method, response.status(), error, now_ms())
        );
    }
    Ok(response)
}

/// The request to `a`'s origin.
fn request<'a>(
    i: &'a Inbound,
    headers: &'a Headers,
    a: &'a Attempt,
    body: Option<JsValue>,
) -> OriginRequest<'a> {
    OriginRequest {
        origin: &a.url,
        method: &i.method,
        path_and_query: &i.path_and_query,
        headers,
        forwarded: i.signed_values(),
        body,
        timeout_ms: a.timeout_ms,
    }
}

/// Ends an attempt's in-flight count even if this request is cancelled mid-attempt.
struct InFlightGuard<'a> {
    state: &'a State,
    attempt: Attempt,
}

impl Drop for InFlightGuard<'_> {
    fn drop(&mut self) {
        if let Ok(mut pools) = self.state.pools.try_borrow_mut() {
            self.attempt.abandon(&mut pools);
        }
    }
}

/// Passes an origin's response on: the same status, headers and streamed body, less headers
/// that describe the origin's connection, plus the plan's cookies.
fn pass_on(resp: Response, set_cookies: &[String]) -> worker::Result<Response> {
    let out = Response::new_with_opt_readable_stream_and_init(
        resp.body().as_ref(),
        resp.unchecked_ref(),
    )?;
    let headers = out.headers();
    if let Some(connection) = headers.get("connection")? {
        for h in forward::hop_by_hop(Some(&connection)) {
            headers.delete(&h)?;
        }
    }
    for c in set_cookies {
        headers.append("set-cookie", c)?;
    }
    Ok(out)
}

/// What the client gets when the plan gave up: the last origin answer, or the edge's own (with
/// why, for the log).
fn give_up(
    g: GiveUp,
    last_answer: Option<Response>,
) -> worker::Result<(Response, Option<&'static str>)> {
    match (Answer::give_up(g), last_answer) {
        (None, Some(r)) => Ok((pass_on(r, &[])?, Some(g.reason()))),
        (answer, _) => {
            let answer = answer.unwrap_or_else(|| Answer::text(502, "502 Bad Gateway\n"));
            Ok((send(answer)?, Some(g.reason())))
        }
    }
}
