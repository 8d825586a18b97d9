//! The proxy path driven from JavaScript: the exports the worker's entry module
//! (`edge-worker/js/entry.mjs`) calls for a request it carries out with the runtime's own calls,
//! each answering with what the core's [`Exchange`] decides. The calls, their texts and why the
//! entry drives: edge-core's `proxy::entry_protocol`.

use std::cell::RefCell;

use edge_core::field_lines::FieldLines;
use edge_core::handles::Handles;
use edge_core::proxy::entry_protocol::{self as protocol, INTERCEPT, OUTCOME_ERROR};
use edge_core::proxy::exchange::{Exchange, Reply};
use edge_core::proxy::failure;
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::JsValue;
use web_sys::{Headers, Request, Response};
use worker::{console_error, console_log};

use crate::interim;
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

/// Takes a request: [`protocol::began`] and the first step, or `None` for the Rust handler.
#[wasm_bindgen]
pub fn edge_begin(method: &str, url: &str, fields: String, has_body: bool) -> Option<String> {
    let state = state()?;
    let fields = FieldLines::parse(fields);
    let request = (method, url, &fields, has_body);
    let verdicts = |chain: &[String]| crate::health::verdicts_for(state, chain);
    let (config, key) = (&state.config, &state.cookie_key);
    let x = Exchange::start(config, key, request, verdicts, now_ms())?;
    let h = OPEN.with(|open| open.borrow_mut().open(x))?;
    let mut out = protocol::began(h, crate::health::refresh_due(state));
    with(h as f64, |x, state| step(x, state, &mut out));
    Some(out)
}

/// Writes the next step of `x` ([`protocol::step`]).
fn step(x: &mut Exchange<'static>, state: &State, out: &mut String) {
    let key = state.origin_key.as_ref();
    let next = x.next(&mut state.pools.borrow_mut(), now_ms(), random, key);
    let socket = x
        .current()
        .is_some_and(|(a, _)| interim::sends_interim(&a.url));
    protocol::step(next, socket, out);
}

/// Reports what the current attempt of `h` gave: an answer with `status` and `fields`, or a
/// failure (the error's name and message); what to do ([`protocol`]).
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
            Some(n) => Err(failure::of_error(Some(n), message.as_deref())),
            None => Ok(status),
        };
        let (reply, lines) = x.report(result, &mut state.pools.borrow_mut(), now_ms());
        for line in lines {
            console_error!("{line}");
        }
        match reply {
            Reply::Respond if x.intercepts(status) => Some(INTERCEPT.into()),
            Reply::Respond => fields.and_then(|f| respond(x, status, f, state)),
            Reply::Keep | Reply::Drop => {
                let mut out = reply.code().to_string();
                step(x, state, &mut out);
                Some(out)
            }
            // Over, the answer kept before passed on: this one dropped, then the step `L`.
            Reply::Last => Some(format!("{}{}", Reply::Drop.code(), Reply::Last.code())),
            Reply::Answer => Some(Reply::Answer.code().to_string()),
        }
    });
    let text = text.flatten();
    if text.as_deref().is_some_and(|t| t.starts_with('R')) {
        free(h);
    }
    text.unwrap_or_else(|| Reply::Answer.code().to_string())
}

/// [`protocol::respond`] with the edits that make the origin's answer (`status`, `fields`) the
/// client's ([`proxy::passed_on`]); its log line written. `None` when the route shows its own
/// page instead.
fn respond(x: &Exchange<'_>, status: u16, fields: String, state: &State) -> Option<String> {
    if x.intercepts(status) {
        return None;
    }
    let fields = FieldLines::parse(fields);
    let edits = proxy::passed_on(x, status, |n| fields.get(n).map(str::to_string), state);
    proxy::log_request(x, status, state);
    protocol::respond(state.log.borrow_mut().arm(), &edits)
}

/// As `edge_report`'s `R`, for the answer kept for a give-up that passes it on (`status`,
/// `fields`); `None` when the route shows its own page instead (`edge_answer`). Ends `h`.
#[wasm_bindgen]
pub fn edge_respond(h: f64, status: u16, fields: String) -> Option<String> {
    let text = with(h, |x, state| respond(x, status, fields, state)).flatten()?;
    free(h);
    Some(text)
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
/// failure rejects with an [`OUTCOME_ERROR`] naming the outcome ([`protocol::outcome_message`]).
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
    let key = state.origin_key.as_ref();
    let result = match resp {
        Some(interim) => crate::interim::final_response(key, &r, interim, sent_ms).await,
        None => crate::interim::direct(key, &r).await,
    };

    result.map_err(|outcome| {
        let e = js_sys::Error::new(protocol::outcome_message(outcome));
        e.set_name(OUTCOME_ERROR);
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
    protocol::flush_ms(state.log.borrow_mut().arm()) as f64
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
