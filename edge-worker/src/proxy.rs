//! Proxying: carries out the core's request plan — each attempt it names, each outcome back —
//! and passes the chosen response on.

use edge_core::answer::Answer;
use edge_core::balancer::retry::{BodyKind, Outcome};
use edge_core::forward::{self, Client};
use edge_core::origin_auth;
use edge_core::origin_url::split_request_url;
use edge_core::proxy::log::{self, RequestLog};
use edge_core::proxy::plan::{Attempt, Decision, Event, GiveUp, Plan, RequestFacts, Step};
use edge_core::router;
use edge_core::routes::{Route, Upstream};
use http::Method;
use js_sys::Uint8Array;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{Headers, Request, Response};
use worker::{console_error, console_log};

use crate::origin::{self, OriginRequest};
use crate::state::{now_ms, random, send, State};

/// Largest request body buffered so that the request can be sent again; larger bodies (and
/// bodies of unknown length) are streamed once.
const MAX_BUFFERED_BODY: u32 = 1 << 20;

/// A request ready to go to origins: what they will see, and what the plan needs to know.
struct Outbound {
    method: String,
    path_and_query: String,
    headers: Headers,
    forwarded: Vec<(&'static str, String)>,
    body: Body,
}

/// The request body.
enum Body {
    None,
    Buffered(Uint8Array),
    Stream(Option<web_sys::ReadableStream>),
}

/// Sends `req` to the route's pools as the plan says.
pub(crate) async fn proxy(
    req: Request,
    url: &str,
    route: &Route,
    upstream: &Upstream,
    state: &State,
) -> worker::Result<Response> {
    let started = now_ms();
    let (mut out, facts) = match prepare(&req, url, state, started).await? {
        Ok(prepared) => prepared,
        Err(answer) => return send(answer),
    };
    let mut plan = Plan::new(&state.config, route, upstream, facts, &state.cookie_key);
    let verdicts = crate::health::verdicts_for(state, plan.chain()).await;
    let mut last = ("-".to_string(), "-".to_string());
    let mut last_answer: Option<Response> = None;
    let (status, response, error) = loop {
        let step = plan.next(&mut state.pools.borrow_mut(), &verdicts, now_ms(), random());
        let attempt = match step {
            Step::Attempt(a) => InFlightGuard { state, attempt: a },
            Step::GiveUp(g) => break give_up(g, last_answer.take())?,
        };
        let a = &attempt.attempt;
        last = (a.pool.clone(), a.url.clone());
        let result = origin::fetch(state, &out.request_to(a)).await;
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
        match (decision, result) {
            (Decision::Respond { set_cookies }, Ok(r)) => {
                break (r.status(), pass_on(r, &set_cookies)?, None)
            }
            (decision, result) => {
                if let (Ok(r), Outcome::Answered(_)) = (result, outcome) {
                    last_answer = Some(r);
                }
                if let Decision::GiveUp(g) = decision {
                    break give_up(g, last_answer.take())?;
                }
            }
        }
    };
    if state.config.log_requests {
        let line = RequestLog {
            method: &out.method,
            path: router::path_of(url),
            route: &plan.route_label(),
            pool: &last.0,
            origin: &last.1,
            attempts: plan.attempts(),
            status,
            latency_ms: now_ms().saturating_sub(started),
            error,
        };
        console_log!("{}", line.line());
    }
    Ok(response)
}

/// Reads what the plan and the origins need from the request, or the answer refusing it.
async fn prepare(
    req: &Request,
    url: &str,
    state: &State,
    started: u64,
) -> worker::Result<Result<(Outbound, RequestFacts), Answer>> {
    let js = req.headers();
    let Some(parsed) = split_request_url(url) else {
        return Ok(Err(Answer::bad_request("unreadable URL")));
    };
    let Some(ip) = forward::client_ip(js.get("cf-connecting-ip")?.as_deref()) else {
        console_error!(
            "edge-worker: request without a valid CF-Connecting-IP; refusing to forward it"
        );
        return Ok(Err(Answer::bad_request("client address unknown")));
    };
    let method_name = origin_auth::wire_method(&req.method());
    let Ok(method) = Method::from_bytes(method_name.as_bytes()) else {
        return Ok(Err(Answer::bad_request("invalid method")));
    };
    let (kind, body) = read_body(req, &method, &js).await?;
    // What the origin sees: the client's headers less hop-by-hop and the edge's own, plus the
    // forwarding headers only the edge sets.
    let headers = Headers::new_with_headers(&js)?;
    for h in forward::request_headers_to_drop(js.get("connection")?.as_deref()) {
        headers.delete(&h)?;
    }
    let client = Client {
        ip,
        proto: parsed.scheme.to_string(),
        host: parsed.host,
        port: parsed.port,
    };
    let xff = js.get("x-forwarded-for")?;
    let forwarded = forward::forwarding_headers(
        &client,
        xff.as_deref(),
        state.config.forwarding.forwarded_header,
    );
    for (name, value) in &forwarded {
        headers.set(name, value)?;
    }
    let mut hash_headers = Vec::new();
    for name in state.config.hash_headers() {
        if let Some(v) = js.get(name)? {
            hash_headers.push((name.to_string(), v));
        }
    }
    let facts = RequestFacts {
        method,
        body: kind,
        cookies: js.get("cookie")?.unwrap_or_default(),
        hash_headers,
        client_ip: ip,
        started_ms: started,
    };
    let out = Outbound {
        method: method_name,
        path_and_query: router::path_and_query_of(url).to_string(),
        headers,
        forwarded,
        body,
    };
    Ok(Ok((out, facts)))
}

impl Outbound {
    /// The request for one attempt (a streamed body goes with the first only).
    fn request_to<'a>(&'a mut self, a: &'a Attempt) -> OriginRequest<'a> {
        let body: Option<JsValue> = match &mut self.body {
            Body::None => None,
            Body::Buffered(b) => Some(b.clone().into()),
            Body::Stream(s) => s.take().map(Into::into),
        };
        OriginRequest {
            origin: &a.url,
            method: &self.method,
            path_and_query: &self.path_and_query,
            headers: &self.headers,
            forwarded: forward::signed_values(&self.forwarded),
            body,
            timeout_ms: a.timeout_ms,
        }
    }
}

/// Buffers a body of known, small length so it can be sent again; streams any other.
async fn read_body(
    req: &Request,
    method: &Method,
    headers: &Headers,
) -> worker::Result<(BodyKind, Body)> {
    if *method == Method::GET || *method == Method::HEAD {
        return Ok((BodyKind::None, Body::None));
    }
    let Some(stream) = req.body() else {
        return Ok((BodyKind::None, Body::None));
    };
    let len: Option<u32> = headers.get("content-length")?.and_then(|l| l.parse().ok());
    if len.is_some_and(|l| l <= MAX_BUFFERED_BODY) {
        let buf = JsFuture::from(req.array_buffer()?).await?;
        return Ok((BodyKind::Buffered, Body::Buffered(Uint8Array::new(&buf))));
    }
    Ok((BodyKind::Streamed, Body::Stream(Some(stream))))
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
        resp.unchecked_ref::<web_sys::ResponseInit>(),
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

/// What the client gets when the plan gave up: the last origin answer, or the edge's own.
fn give_up(
    g: GiveUp,
    last_answer: Option<Response>,
) -> worker::Result<(u16, Response, Option<&'static str>)> {
    if let (GiveUp::LastAnswer, Some(r)) = (g, last_answer) {
        return Ok((
            r.status(),
            pass_on(r, &[])?,
            Some("every attempt failed; the last origin answer is passed on"),
        ));
    }
    let answer = Answer::give_up(g).unwrap_or_else(|| Answer::text(502, "502 Bad Gateway\n"));
    let why = match answer.status {
        503 => "no origin could answer",
        504 => "the origin did not answer in time",
        _ => "the origin's answer was lost or invalid",
    };
    Ok((answer.status, send(answer)?, Some(why)))
}
