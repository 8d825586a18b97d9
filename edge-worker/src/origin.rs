//! Talking to an origin: one signed, bounded fetch, and its outcome.

use edge_core::balancer::retry::Outcome;
use edge_core::origin_auth::{self, Signed};
use js_sys::Reflect;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{Headers, Request, Response};

use crate::state::{now_ms, random, State};

/// One request to an origin.
pub(crate) struct OriginRequest<'a> {
    /// `scheme://host[:port]`.
    pub(crate) origin: &'a str,
    /// The method as sent ([`origin_auth::wire_method`]).
    pub(crate) method: &'a str,
    pub(crate) path_and_query: &'a str,
    /// Headers to send (the signature is set here, replacing any).
    pub(crate) headers: &'a Headers,
    /// Values of the forwarded headers set on `headers`, in [`origin_auth::SIGNED_HEADERS`]
    /// order, for the signature.
    pub(crate) forwarded: [Option<&'a str>; 5],
    pub(crate) body: Option<JsValue>,
    pub(crate) timeout_ms: u64,
}

/// Sends the request: signed with the `EDGE_ORIGIN_KEY` secret when set, redirects passed back
/// rather than followed, bounded by `AbortSignal.timeout`. The runtime owns that timer, so
/// nothing of ours fires after the request that started it has ended (a Rust-side timer would
/// wake a finished request's task, which workerd cancels — stalling the isolate's future queue).
pub(crate) async fn fetch(state: &State, r: &OriginRequest<'_>) -> Result<Response, Outcome> {
    if let Some(key) = &state.origin_key {
        let nonce = origin_auth::nonce(random(), random());
        let host = origin_auth::authority_of(r.origin);
        let value = origin_auth::sign(
            key,
            &Signed {
                time: now_ms() / 1000,
                nonce: &nonce,
                method: r.method,
                host: &host,
                path_and_query: r.path_and_query,
                forwarded: r.forwarded,
            },
        );
        r.headers
            .set(origin_auth::HEADER, &value)
            .map_err(|_| Outcome::Refused)?;
    }
    let init = web_sys::RequestInit::new();
    init.set_method(r.method);
    init.set_headers(r.headers);
    init.set_redirect(web_sys::RequestRedirect::Manual);
    if let Some(b) = &r.body {
        init.set_body(b);
    }
    init.set_signal(Some(&web_sys::AbortSignal::timeout_with_u32(
        r.timeout_ms.min(u64::from(u32::MAX)) as u32,
    )));
    let url = format!("{}{}", r.origin, r.path_and_query);
    let request = Request::new_with_str_and_init(&url, &init).map_err(|_| Outcome::Refused)?;
    let global: web_sys::WorkerGlobalScope = js_sys::global().unchecked_into();
    match wasm_bindgen_futures::JsFuture::from(global.fetch_with_request(&request)).await {
        Ok(r) => Ok(r.unchecked_into()),
        Err(e) => Err(classify(&e)),
    }
}

/// What a failed fetch means: a timeout, a connection that was never made, or one lost after
/// the request may have been sent (workerd says which in the error's message).
fn classify(e: &JsValue) -> Outcome {
    let field = |name: &str| {
        Reflect::get(e, &JsValue::from_str(name))
            .ok()
            .and_then(|v| v.as_string())
            .unwrap_or_default()
    };
    let name = field("name");
    if name == "TimeoutError" || name == "AbortError" {
        return Outcome::TimedOut;
    }
    edge_core::proxy::failure::classify(&field("message"))
}
