//! The proxy path driven from JavaScript. A request with no body, on a proxy route that does not
//! cache (or a session's GET or HEAD on one that does), is carried out by the worker's entry
//! module (`edge-worker/js/entry.mjs`) with the runtime's own calls; this module answers it,
//! step by step, with what the core's [`Exchange`] decides: one synchronous call per step, text
//! in and text out. Driven from Rust (`proxy.rs`), the same work crossed between Wasm and
//! JavaScript about 35 times per request (each call runs wasm-bindgen's shims, each `await` its
//! promise glue) and cost 1.15× the CPU of a bare Rust forwarder. Every other request (assets,
//! caching routes, uploads) goes to the Rust handler (`lib.rs`), as does one the core refuses
//! here (it reads it again and answers).
//!
//! The calls (`h`: the handle `edge_begin` gave); a proxied GET that succeeds makes two:
//! - `edge_begin(method, url, fields, has_body)`: `undefined` for the Rust handler, else a line
//!   `h refresh` (refresh `1`: update the coordinator's snapshot in the background,
//!   `edge_refresh`), then the first step;
//! - `edge_report(h, status, fields, error name, error message)` after each attempt: `R`, the ms
//!   after which to write the request log (`edge_flush_log`; -1: none) and the edits that make
//!   the answer the client's (the exchange is then over); or `K` (keep this answer for a
//!   give-up that passes it on) or `N` (drop it), then the next step; or `I`: the route shows
//!   its own page for this answer's error (`edge_answer` with its status); or `A`: the edge
//!   answers (`edge_answer`);
//! - a step is an attempt, `a` then lines: method, URL, timeout ms, `f` to fetch or `s` for a
//!   socket of its own, then the header edits (`HeaderEdits::encode`, the signature included);
//!   or `L`: pass the kept answer on (`edge_respond`); or `A`: the edge answers;
//! - `edge_respond(h, status, fields)`: as `R` above, for the kept answer (`undefined`: the
//!   route shows its own page instead, `edge_answer`);
//! - `edge_end(h)` when a request ends otherwise (an answer of the edge's own, a failure, a
//!   cancelled request: an attempt still in flight is abandoned): as the ms above;
//! - `edge_failed(method, url, why)`: the 500 for a step that threw, logged.

use std::cell::RefCell;

use edge_core::balancer::retry::Outcome;
use edge_core::field_lines::FieldLines;
use edge_core::handles::Handles;
use edge_core::proxy::exchange::{Exchange, Reply};
use edge_core::proxy::failure;
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::JsValue;
use web_sys::{Headers, Request, Response};
use worker::{console_error, console_log};

use crate::proxy;
use crate::state::{now_ms, random, State};

thread_local! {
    /// The isolate's state, for the exchanges to borrow: loaded once per isolate and never
    /// dropped (a new deploy starts new isolates), so one copy of its handle is leaked.
    static STATE: RefCell<Option<&'static State>> = const { RefCell::new(None) };
    /// The exchanges under way. Tokens start at random: after a panic the instance is made
    /// anew, and the handles of requests still in flight must name nothing in it.
    static OPEN: RefCell<Handles<Exchange<'static>>> = RefCell::new(Handles::new(random() as u32));
}

/// The isolate's state once the Rust handler has loaded it.
fn state() -> Option<&'static State> {
    if let Some(s) = STATE.with(|s| *s.borrow()) {
        return Some(s);
    }
    let s: &'static State = Box::leak(Box::new(crate::state::loaded()?));
    STATE.with(|slot| *slot.borrow_mut() = Some(s));
    Some(s)
}

/// Runs `f` on exchange `h` (`None` for a handle that names none, or one that is over).
fn with<T>(h: f64, f: impl FnOnce(&mut Exchange<'static>, &'static State) -> T) -> Option<T> {
    let state = state()?;
    OPEN.with(|open| Some(f(open.borrow_mut().get_mut(h)?, state)))
}

/// Takes exchange `h` out of the open ones.
fn free(h: f64) -> Option<Exchange<'static>> {
    OPEN.with(|open| open.borrow_mut().take(h))
}

/// Takes a request (see the module's header): `h refresh` and the first step, or `None` for
/// the Rust handler.
#[wasm_bindgen]
pub fn edge_begin(method: &str, url: &str, fields: String, has_body: bool) -> Option<String> {
    let state = state()?;
    let fields = FieldLines::parse(fields);
    let request = (method, url, &fields, has_body);
    let verdicts = |chain: &[String]| crate::health::verdicts_for(state, chain);
    let (config, key) = (&state.config, &state.cookie_key);
    let x = Exchange::start(config, key, request, verdicts, now_ms())?;
    let h = OPEN.with(|open| open.borrow_mut().open(x))?;
    let refresh = u8::from(crate::health::refresh_due(state));
    let mut out = format!("{h} {refresh}\n");
    with(h as f64, |x, state| step(x, state, &mut out));
    Some(out)
}

/// Writes the next step of `x` (see the module's header).
fn step(x: &mut Exchange<'static>, state: &State, out: &mut String) {
    let key = state.origin_key.as_deref();
    let next = x.next(&mut state.pools.borrow_mut(), now_ms(), random, key);
    let attempt = next.and_then(|a| Ok((a.edits.encode().map_err(|_| Reply::Answer)?, a)));
    match attempt {
        Ok((edits, a)) => {
            let origin = x.current().map_or("", |(c, _)| c.url.as_str());
            let how = if crate::interim::sends_interim(origin) {
                's'
            } else {
                'f'
            };
            let (method, url, ms) = (a.method, a.url, a.timeout_ms);
            out.push_str(&format!("a\n{method}\n{url}\n{ms}\n{how}\n{edits}"));
        }
        Err(end) => out.push(end.code()),
    }
}

/// Reports what the current attempt of `h` gave: an answer with `status` and `fields`, or a
/// failure (the error's name and message); what to do (see the module's header).
#[wasm_bindgen]
pub fn edge_report(
    h: f64,
    status: u16,
    fields: Option<String>,
    name: Option<String>,
    message: Option<String>,
) -> String {
    let text = with(h, |x, state| {
        let result = match &name {
            Some(n) => Err(outcome_of(n, message.as_deref())),
            None => Ok(status),
        };
        let (reply, lines) = x.report(result, &mut state.pools.borrow_mut(), now_ms());
        for line in lines {
            console_error!("{line}");
        }
        match reply {
            Reply::Respond if x.intercepts(status) => Some("I".into()),
            Reply::Respond => fields.and_then(|f| respond(x, status, f, state)),
            Reply::Keep | Reply::Drop => {
                let mut out = reply.code().to_string();
                step(x, state, &mut out);
                Some(out)
            }
            end => Some(end.code().to_string()),
        }
    });
    let text = text.flatten();
    if text.as_deref().is_some_and(|t| t.starts_with('R')) {
        free(h);
    }
    text.unwrap_or_else(|| Reply::Answer.code().to_string())
}

/// `R`, when to write the log and the edits that make the origin's answer (`status`, `fields`)
/// the client's ([`proxy::passed_on`]); its log line written. `None` when the route shows its
/// own page instead.
fn respond(x: &Exchange<'_>, status: u16, fields: String, state: &State) -> Option<String> {
    if x.intercepts(status) {
        return None;
    }
    let fields = FieldLines::parse(fields);
    let edits = proxy::passed_on(x, status, |n| fields.get(n).map(str::to_string), state);
    proxy::log_request(x, status, state);
    let flush = flush_after(state);
    Some(format!("R{flush}\n{}", edits.encode().ok()?))
}

/// The outcome of an attempt that failed with the error `name` (`message`): the runtime's
/// errors as [`failure::of_error`] reads them, or an outcome `edge_interim` named.
fn outcome_of(name: &str, message: Option<&str>) -> Outcome {
    match (name, message) {
        ("EdgeOutcome", Some("refused")) => Outcome::Refused,
        ("EdgeOutcome", Some("timed out")) => Outcome::TimedOut,
        ("EdgeOutcome", Some("invalid")) => Outcome::Invalid,
        ("EdgeOutcome", _) => Outcome::Lost,
        _ => failure::of_error(Some(name), message),
    }
}

/// As `edge_report`'s `R`, for the answer kept for a give-up that passes it on (`status`,
/// `fields`); `None` when the route shows its own page instead (`edge_answer`). Ends `h`.
#[wasm_bindgen]
pub fn edge_respond(h: f64, status: u16, fields: String) -> Option<String> {
    let text = with(h, |x, state| respond(x, status, fields, state)).flatten()?;
    free(h);
    Some(text)
}

/// The ms after which to write the request log (-1: nothing to write, or a write is due already).
fn flush_after(state: &State) -> i64 {
    let flush = state.log.borrow_mut().arm();
    flush.map_or(-1, |ms| i64::try_from(ms).unwrap_or(i64::MAX))
}

/// The edge's own answer to `req` (exchange `h`): why the attempts gave up, or the route's page
/// for an origin's error with `status` ([`proxy::own_answer`]).
#[wasm_bindgen]
pub async fn edge_answer(h: f64, req: Request, status: u16) -> Result<Response, JsValue> {
    let state = state().ok_or("edge_answer: the isolate's state is not loaded")?;
    let x = free(h).ok_or("edge_answer: no such exchange")?;
    Ok(proxy::own_answer(&x, &req, status, state).await?)
}

/// An attempt of `h` over a socket of its own (`interim.rs`): because its origin is known to
/// send interim responses (`resp` undefined), or because `fetch` gave the interim `resp`. A
/// failure rejects with an `EdgeOutcome` error naming the outcome (see [`outcome_of`]).
#[wasm_bindgen]
pub async fn edge_interim(
    h: f64,
    headers: Headers,
    resp: Option<Response>,
) -> Result<Response, JsValue> {
    let state = state().ok_or("edge_interim: the isolate's state is not loaded")?;
    let parts = with(h, |x, _| Some((x.current()?.clone(), x.inbound().clone()))).flatten();
    let ((a, sent_ms), i) = parts.ok_or("edge_interim: no attempt under way")?;
    let r = proxy::request(&i, Some(&a), &headers, None);
    let key = state.origin_key.as_deref();
    let result = match resp {
        Some(interim) => crate::interim::final_response(key, &r, interim, sent_ms).await,
        None => crate::interim::direct(key, &r).await,
    };

    result.map_err(|outcome| {
        let e = js_sys::Error::new(match outcome {
            Outcome::Refused => "refused",
            Outcome::TimedOut => "timed out",
            Outcome::Invalid => "invalid",
            _ => "lost",
        });
        e.set_name("EdgeOutcome");
        e.into()
    })
}

/// Ends `h` when it did not end with an answer passed on (an answer of the edge's own, a
/// failure, a cancelled request: an attempt still in flight is abandoned), and frees its
/// handle. The ms after which to write the request log (`edge_flush_log`), or -1.
#[wasm_bindgen]
pub fn edge_end(h: f64) -> f64 {
    let Some(state) = state() else { return -1.0 };
    if let Some(x) = free(h) {
        if let Ok(mut pools) = state.pools.try_borrow_mut() {
            x.close(&mut pools);
        }
    }
    flush_after(state) as f64
}

/// The answer when a step failed in the runtime (a call threw): 500 saying the edge failed, and
/// a log line naming the request and the error, as the Rust handler answers such a failure.
#[wasm_bindgen]
pub fn edge_failed(method: &str, url: &str, why: &str) -> Result<Response, JsValue> {
    console_error!("{}", edge_core::proxy::log::edge_failed(method, url, why));
    let answer = edge_core::answer::Answer::edge_failed().for_head(method == "HEAD");
    Ok(crate::state::send(answer)?)
}

/// Writes the request log lines held, when due.
#[wasm_bindgen]
pub fn edge_flush_log() {
    if let Some(text) = state().and_then(|s| s.log.borrow_mut().due()) {
        console_log!("{text}");
    }
}

/// Refreshes this isolate's copy of the coordinator's snapshot (see `health::maybe_refresh`).
#[wasm_bindgen]
pub async fn edge_refresh() {
    if let Some(state) = crate::state::loaded() {
        crate::cache::run(state, crate::cache::Task::RefreshCoordinator).await;
    }
}
