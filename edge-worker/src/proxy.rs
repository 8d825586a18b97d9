//! The proxy path driven from Rust: the requests the JavaScript entry leaves to the Rust handler
//! (a body to send, a caching route, an isolate's first request) go through the same
//! [`Exchange`] as the entry's, its I/O done here. The cache (`cache.rs`) uses the same steps:
//! [`exchange`] for the request, [`forward`] it, [`finish`] the answer.

use edge_core::answer::Answer;
use edge_core::balancer::retry::BodyKind;
use edge_core::header_edits::HeaderEdits;
use edge_core::proxy::exchange::{Exchange, Reply};
use edge_core::proxy::inbound::{self, Inbound};
use edge_core::proxy::log;
use edge_core::proxy::plan::Attempt;
use edge_core::routes::{Route, Upstream};
use wasm_bindgen::JsValue;
use web_sys::{Headers, Request, Response};
use worker::{console_error, console_log};

use crate::js;
use crate::origin::{self, OriginRequest};
use crate::state::{now_ms, random, send, State};

/// What an exchange's attempts gave.
pub(crate) struct Forwarded {
    /// The origin's answer to pass on (`None`: the edge answers, [`Exchange::answer`]).
    pub(crate) resp: Option<Response>,
    /// The request's fields as the last origin got them.
    pub(crate) headers: Option<Headers>,
}

/// Sends `req` to the route's pools as its plan says (no caching).
pub(crate) async fn proxy(
    req: Request,
    url: &str,
    route: &Route,
    upstream: &Upstream,
    state: &State,
) -> worker::Result<Response> {
    let inbound = match read(&req, url, state) {
        Ok(i) => i,
        Err(answer) => return send(answer),
    };
    let mut x = exchange(state, route, upstream, inbound);
    match forward(&req, &mut x, state).await? {
        Ok(fw) => finish(fw.resp, &x, &req, state).await,
        Err(answer) => send(answer),
    }
}

/// The facts of a request (no copy of its headers or body yet: a cache hit needs neither).
pub(crate) fn read(req: &Request, url: &str, state: &State) -> Result<Inbound, Answer> {
    let fields = js::fields(&req.headers());
    let has_body = || req.body().is_some();
    let method = req.method();
    inbound::read_fields(url, &method, &fields, has_body, &state.config, now_ms())
}

/// The exchange of a request read for `route`.
pub(crate) fn exchange<'s>(
    state: &'s State,
    route: &'s Route,
    upstream: &'s Upstream,
    inbound: Inbound,
) -> Exchange<'s> {
    let verdicts = |chain: &[String]| crate::health::verdicts_for(state, chain);
    let (cfg, key) = (&state.config, &state.cookie_key);
    Exchange::new(cfg, key, (route, upstream), inbound, verdicts)
}

/// The request's body read as the plan needs it. A small body that cannot be read whole (the
/// client hung up, sent less than it declared, or sent nothing for the attempt timeout) is the
/// client's fault: a 400, logged, and no origin is tried.
async fn body(req: &Request, i: &Inbound, state: &State) -> Result<Option<JsValue>, Answer> {
    let idle_ms = state.config.retry.attempt_timeout_ms;
    match i.facts.body {
        BodyKind::None => Ok(None),
        BodyKind::Streamed => Ok(req.body().map(JsValue::from)),
        BodyKind::Buffered => match js::whole_body(req, idle_ms).await {
            Ok(bytes) => Ok(Some(bytes.into())),
            Err(why) => {
                let line = log::client_body_failed(&i.method, &i.path_and_query, &why);
                console_error!("{line}");
                Err(Answer::bad_request(
                    "the request's body could not be read whole",
                ))
            }
        },
    }
}

/// Runs the exchange's attempts, each with the edits it names made to a copy of `req`'s
/// fields; the edge's answer instead when the body could not be read.
pub(crate) async fn forward(
    req: &Request,
    x: &mut Exchange<'_>,
    state: &State,
) -> worker::Result<Result<Forwarded, Answer>> {
    let kind = x.inbound().facts.body;
    let mut body = match body(req, x.inbound(), state).await {
        Ok(b) => b,
        Err(answer) => return Ok(Err(answer)),
    };
    let guard = Abandons { x, state };
    let x = &mut *guard.x;
    let key = state.origin_key.as_ref();
    let (client, mut kept, mut headers) = (req.headers(), None, None);
    loop {
        let out = match x.next(&mut state.pools.borrow_mut(), now_ms(), random, key) {
            Ok(out) => out,
            Err(end) => {
                let resp = kept.filter(|_| end == Reply::Last);
                return Ok(Ok(Forwarded { resp, headers }));
            }
        };
        let sent = js::edited(&client, &out.edits)?;
        let a = x.current().map(|(a, _)| a);
        let r = request(x.inbound(), a, &sent, kind.for_attempt(&mut body));
        let result = origin::send(key, &r, &out.url).await;
        headers = Some(sent);
        let status = result.as_ref().map(Response::status).map_err(|o| *o);
        let (reply, lines) = x.report(status, &mut state.pools.borrow_mut(), now_ms());
        for line in lines {
            console_error!("{line}");
        }
        let resp = match reply {
            Reply::Respond => result.ok(),
            Reply::Keep => {
                kept = result.ok();
                continue;
            }
            Reply::Drop => continue,
            Reply::Last => kept,
            Reply::Answer => None,
        };
        return Ok(Ok(Forwarded { resp, headers }));
    }
}

/// The request `i` to attempt `a`'s origin with the fields `headers` and `body`.
pub(crate) fn request<'a>(
    i: &'a Inbound,
    a: Option<&'a Attempt>,
    headers: &'a Headers,
    body: Option<JsValue>,
) -> OriginRequest<'a> {
    let (origin, timeout_ms) = a.map_or(("", 0), |a| (a.url.as_str(), a.timeout_ms));
    OriginRequest {
        origin,
        method: &i.method,
        path_and_query: &i.path_and_query,
        headers,
        forwarded: i.signed_values(),
        body,
        timeout_ms,
    }
}

/// An exchange that abandons its attempt in flight when dropped (its request was cancelled):
/// the attempt is no longer counted as outstanding.
struct Abandons<'x, 'c> {
    x: &'x mut Exchange<'c>,
    state: &'x State,
}

impl Drop for Abandons<'_, '_> {
    fn drop(&mut self) {
        if let Ok(mut pools) = self.state.pools.try_borrow_mut() {
            self.x.abandon(&mut pools);
        }
    }
}

/// Sends what the attempts gave to the client: the origin's response (hygiene applied, the
/// plan's cookies added; the route's page instead of an origin's error where it intercepts),
/// or the edge's own answer; logs the request.
pub(crate) async fn finish(
    resp: Option<Response>,
    x: &Exchange<'_>,
    req: &Request,
    state: &State,
) -> worker::Result<Response> {
    let status = resp.as_ref().map_or(0, Response::status);
    let (resp, status) = match resp {
        Some(r) if !x.intercepts(status) => {
            let fields = js::fields(&r.headers());
            let edits = passed_on(x, status, |n| fields.get(n).map(str::to_string), state);
            (js::rebuild(&r, &edits)?, status)
        }
        other => {
            js::discard(other);
            return own_answer(x, req, status, state).await;
        }
    };
    log_request(x, status, state);
    Ok(resp)
}

/// The edits that make an origin's answer (`status`, its fields through `get`) the client's:
/// less what would reveal the origin, plus the plan's cookies, `Server-Timing`, `Cache-Status`.
pub(crate) fn passed_on(
    x: &Exchange<'_>,
    status: u16,
    get: impl Fn(&str) -> Option<String>,
    state: &State,
) -> HeaderEdits {
    let mut edits = state.client_edits(get, &x.inbound().public_origin, x.set_cookies());
    edits.extend(x.annotations(status, now_ms()));
    edits
}

/// The edge's own answer to `req`: why the attempts gave up, or the route's page for an
/// origin's error with `status`; with its page of the build for a browser; logged.
pub(crate) async fn own_answer(
    x: &Exchange<'_>,
    req: &Request,
    status: u16,
    state: &State,
) -> worker::Result<Response> {
    let answer = x.answer(&state.config.error_pages, status);
    let resp = crate::assets::send_answer(answer, req, state).await?;
    let status = resp.status();
    log_request(x, status, state);
    js::edit(&resp.headers(), &x.annotations(status, now_ms()))?;
    Ok(resp)
}

/// The request's log line with the client's `status`, into the isolate's batch (written when
/// the batch says); on a caching route, the cache's count.
pub(crate) fn log_request(x: &Exchange<'_>, status: u16, state: &State) {
    if let Some(cache) = x.cache_status(status) {
        state.counters.borrow_mut().count(&cache);
    }
    if let Some((line, edge_error)) = x.log_line(status, now_ms()) {
        if let Some(text) = state.log_request(&line, status, edge_error) {
            console_log!("{text}");
        }
    }
}
