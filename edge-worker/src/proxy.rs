//! Proxying: carries out the core's request plan — each attempt it names, each outcome back —
//! and passes the chosen response on. The cache (`cache.rs`) uses the same three steps:
//! [`prepare`] the request, [`forward`] it, [`finish`] the answer.

use std::collections::BTreeMap;

use edge_core::answer::Answer;
use edge_core::balancer::health::PoolVerdicts;
use edge_core::balancer::retry::BodyKind;
use edge_core::cache::status::{annotations, CacheStatus};
use edge_core::header_edits::HeaderEdits;
use edge_core::proxy::attempts::{for_client, Attempts};
use edge_core::proxy::inbound::{self, Inbound};
use edge_core::proxy::log;
use edge_core::proxy::plan::{Attempt, Plan};
use edge_core::routes::{Route, Upstream};
use wasm_bindgen::JsValue;
use web_sys::{Headers, Request, Response};
use worker::{console_error, console_log};

use crate::js;
use crate::origin::{self, OriginRequest};
use crate::state::{now_ms, random, send, State};

/// A request ready for origins.
pub(crate) struct Prepared {
    pub(crate) inbound: Inbound,
    /// What the origins see.
    pub(crate) headers: Headers,
    kind: BodyKind,
    body: Option<JsValue>,
}

/// What the attempts gave: an origin's response (not yet passed on) or the edge's own answer.
pub(crate) struct Forwarded {
    pub(crate) result: Result<Response, Answer>,
    pub(crate) set_cookies: Vec<String>,
    pub(crate) error: Option<&'static str>,
    /// Time spent with origins, ms.
    pub(crate) origin_ms: u64,
    /// When the first attempt was sent, and when the answer came, ms since the epoch.
    pub(crate) sent_ms: u64,
    pub(crate) received_ms: u64,
}

/// Sends `req` to the route's pools as the plan says (no caching).
pub(crate) async fn proxy(
    req: Request,
    url: &str,
    route: &Route,
    upstream: &Upstream,
    state: &State,
) -> worker::Result<Response> {
    let mut p = match prepare(&req, url, state).await? {
        Ok(p) => p,
        Err(answer) => return send(answer),
    };
    let (mut plan, verdicts) = plan_for(&p, route, upstream, state);
    let fw = forward(&mut p, &mut plan, &verdicts, state).await?;
    finish(fw, &plan, &p, &req, upstream, state, None).await
}

/// Reads the request: facts for the plan, headers for the origins, the body.
pub(crate) async fn prepare(
    req: &Request,
    url: &str,
    state: &State,
) -> worker::Result<Result<Prepared, Answer>> {
    match read(req, url, state) {
        Ok(inbound) => outbound(req, inbound, state).await,
        Err(answer) => Ok(Err(answer)),
    }
}

/// The facts of a request (no copy of its headers or body yet: a cache hit needs neither).
pub(crate) fn read(req: &Request, url: &str, state: &State) -> Result<Inbound, Answer> {
    let fields = js::fields(&req.headers());
    let has_body = || req.body().is_some();
    let method = req.method();
    inbound::read_fields(url, &method, &fields, has_body, &state.config, now_ms())
}

/// What the origins will get: the headers less hop-by-hop and the edge's own, plus the
/// forwarding headers; the body read as the plan needs it. A small body that cannot be read
/// whole (the client hung up, sent less than it declared, or sent nothing for the attempt
/// timeout) is the client's fault: a 400, logged, and no origin is tried.
pub(crate) async fn outbound(
    req: &Request,
    inbound: Inbound,
    state: &State,
) -> worker::Result<Result<Prepared, Answer>> {
    let kind = inbound.facts.body;
    let idle_ms = state.config.retry.attempt_timeout_ms;
    let body = match kind {
        BodyKind::None => None,
        BodyKind::Buffered => match js::whole_body(req, idle_ms).await {
            Ok(bytes) => Some(bytes.into()),
            Err(why) => {
                let answer = Answer::bad_request("the request's body could not be read whole");
                let line = log::client_body_failed(&inbound.method, &inbound.path_and_query, &why);
                console_error!("{line}");
                return Ok(Err(answer));
            }
        },
        BodyKind::Streamed => req.body().map(JsValue::from),
    };
    let headers = js::edited(&req.headers(), &inbound.edits)?;
    Ok(Ok(Prepared {
        inbound,
        headers,
        kind,
        body,
    }))
}

/// The plan for a prepared request, with the health verdicts of its chain.
pub(crate) fn plan_for<'c>(
    p: &Prepared,
    route: &'c Route,
    upstream: &'c Upstream,
    state: &'c State,
) -> (Plan<'c>, BTreeMap<String, PoolVerdicts>) {
    let plan = Plan::new(
        &state.config,
        route,
        upstream,
        p.inbound.facts.clone(),
        &state.cookie_key,
    );
    let verdicts = crate::health::verdicts_for(state, plan.chain());
    (plan, verdicts)
}

/// Runs the plan's attempts.
pub(crate) async fn forward(
    p: &mut Prepared,
    plan: &mut Plan<'_>,
    verdicts: &BTreeMap<String, PoolVerdicts>,
    state: &State,
) -> worker::Result<Forwarded> {
    let sent_ms = now_ms();
    let mut attempts = Attempts::new(plan);
    let ended = loop {
        let attempt =
            match attempts.next(&mut state.pools.borrow_mut(), verdicts, now_ms(), random()) {
                Ok(a) => InFlightGuard { state, attempt: a },
                Err(ended) => break ended,
            };
        let a = &attempt.attempt;
        let body = p.kind.for_attempt(&mut p.body);
        let request = request(&p.inbound, &p.headers, a, body);
        let result = origin::fetch(state.origin_key.as_deref(), &request).await;
        let result = result.map(|r| (r.status(), r));
        let reported = attempts.report(a, result, &mut state.pools.borrow_mut(), now_ms());
        for line in reported.lines {
            console_error!("{line}");
        }
        if let Some(ended) = reported.ended {
            break ended;
        }
    };
    let received_ms = now_ms();
    Ok(Forwarded {
        result: ended.result,
        set_cookies: ended.set_cookies,
        error: ended.error,
        origin_ms: received_ms.saturating_sub(sent_ms),
        sent_ms,
        received_ms,
    })
}

/// Sends what the attempts gave to the client: the origin's response (hygiene applied, cookies
/// added; the edge's page instead of an origin's 5xx where the route intercepts), or the
/// edge's own answer; logs the request.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn finish(
    fw: Forwarded,
    plan: &Plan<'_>,
    p: &Prepared,
    req: &Request,
    upstream: &Upstream,
    state: &State,
    cache: Option<&CacheStatus>,
) -> worker::Result<Response> {
    let pages = &state.config.error_pages;
    let started_ms = p.inbound.facts.started_ms;
    // The origin's status, read from the runtime once (the interception check needs it too).
    let origin_status = fw.result.as_ref().map_or(0, Response::status);
    let (response, status) =
        match for_client(fw.result, |_| origin_status, upstream, pages, &p.inbound) {
            Ok(r) => {
                let status = origin_status;
                let mut edits = client_edits(&r.headers(), &p.inbound, state, &fw.set_cookies);
                edits.extend(annotations(cache, started_ms, Some(fw.origin_ms), now_ms()));
                (js::rebuild(&r, &edits)?, status)
            }
            Err(answer) => {
                let resp = crate::assets::send_answer(answer, req, state).await?;
                annotate(&resp, cache, started_ms, Some(fw.origin_ms));
                let status = resp.status();
                (resp, status)
            }
        };
    log_request(plan, &p.inbound.method, status, fw.error, cache, state);
    Ok(response)
}

/// Adds `Cache-Status` and `Server-Timing` to a response the edge is about to send.
pub(crate) fn annotate(
    resp: &Response,
    cache: Option<&CacheStatus>,
    started_ms: u64,
    origin_ms: Option<u64>,
) {
    let edits = annotations(cache, started_ms, origin_ms, now_ms());
    let _ = js::edit(&resp.headers(), &edits);
}

/// The request's log line, when the configuration logs requests (the plan knows), into the
/// isolate's batch; written when the batch says.
pub(crate) fn log_request(
    plan: &Plan<'_>,
    method: &str,
    status: u16,
    error: Option<&str>,
    cache: Option<&CacheStatus>,
    state: &State,
) {
    let outcome = cache.map(CacheStatus::outcome);
    let Some(line) = plan.log_line(method, status, error, outcome, now_ms()) else {
        return;
    };
    if let Some(text) = state.log_request(&line, status, error.is_some()) {
        console_log!("{text}");
    }
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

/// Removes what would reveal the origin from response headers (and the cache's tag fields).
pub(crate) fn hygiene(headers: &Headers, inbound: &Inbound, state: &State) -> worker::Result<()> {
    Ok(js::edit(
        headers,
        &client_edits(headers, inbound, state, &[]),
    )?)
}

/// What the client may see of an origin's response with these `headers` (see
/// [`edge_core::isolate::Isolate::client_edits`]): less what would reveal the origin (its
/// address, software, connection), a redirect to the origin's own address pointed at the public
/// host, plus the plan's cookies.
fn client_edits(
    headers: &Headers,
    inbound: &Inbound,
    state: &State,
    set_cookies: &[String],
) -> HeaderEdits {
    let fields = js::fields(headers);
    let get = |n: &str| fields.get(n).map(str::to_string);
    state.client_edits(get, &inbound.public_origin, set_cookies)
}
