//! Talking to an origin: one signed, bounded fetch, and its outcome.

use edge_core::balancer::retry::Outcome;
use edge_core::origin_auth::{self, OriginKey};
use edge_core::origin_call::Call;
use edge_core::proxy::failure;
use wasm_bindgen::JsCast;
use wasm_bindgen::JsValue;
use web_sys::{Headers, Response};

use crate::js;
use crate::state::{now_ms, random};

/// One request to an origin.
pub(crate) struct OriginRequest<'a> {
    /// `scheme://host[:port]`.
    pub(crate) origin: &'a str,
    /// The method as sent ([`origin_auth::wire_method`]).
    pub(crate) method: &'a str,
    pub(crate) path_and_query: &'a str,
    /// Headers to send (the signature is set here, replacing any).
    pub(crate) headers: &'a Headers,
    /// Values of the signed forwarded headers set on `headers`, for the signature.
    pub(crate) forwarded: [Option<&'a str>; 5],
    pub(crate) body: Option<JsValue>,
    pub(crate) timeout_ms: u64,
}

/// Sends the request: signed with the `EDGE_ORIGIN_KEY` secret when set, redirects passed back
/// rather than followed. The attempt's timeout bounds the wait for the response head only (a
/// runtime timer that aborts the fetch, cleared when the head comes: a Rust-side timer would
/// wake a finished request's task, which workerd cancels, stalling the isolate's future queue);
/// once the head has come the body streams for as long as it takes — a signal that stayed armed
/// would cut a long download or a streamed response off mid-body.
pub(crate) async fn fetch(
    key: Option<&OriginKey>,
    r: &OriginRequest<'_>,
) -> Result<Response, Outcome> {
    sign(key, r)?;
    let mut url = String::with_capacity(r.origin.len() + r.path_and_query.len());
    url.push_str(r.origin);
    url.push_str(r.path_and_query);
    send(key, r, &url).await
}

/// Sends `r`, signed already, to `url` (its origin and target) as [`fetch`] does.
pub(crate) async fn send(
    key: Option<&OriginKey>,
    r: &OriginRequest<'_>,
    url: &str,
) -> Result<Response, Outcome> {
    if crate::interim::sends_interim(r.origin) {
        return crate::interim::direct(key, r).await;
    }
    let started = now_ms();
    let sent = js::origin_request(url, r.method, r.headers, r.body.as_ref(), r.timeout_ms)
        .map_err(|_| Outcome::Refused)?;
    let resp: Response = sent
        .await
        .map_err(|e| {
            let field = |name| js::string_field(&e, name);
            failure::of_error(field("name").as_deref(), field("message").as_deref())
        })?
        .unchecked_into();
    match resp.status() {
        // An interim head handed over as the response: the final one is read over a socket.
        100 | 102 | 103 => crate::interim::final_response(key, r, resp, started).await,
        _ => Ok(resp),
    }
}

/// Sets `r`'s signature when the `EDGE_ORIGIN_KEY` secret is set: a fresh nonce each time (an
/// origin refuses a nonce it has seen, so a request sent again is signed again).
pub(crate) fn sign(key: Option<&OriginKey>, r: &OriginRequest<'_>) -> Result<(), Outcome> {
    if let Some(key) = key {
        let target = (r.method, r.origin, r.path_and_query);
        let random = (random(), random());
        let value = origin_auth::sign_request(key, target, r.forwarded, now_ms(), random);
        r.headers
            .set(origin_auth::HEADER, &value)
            .map_err(|_| Outcome::Refused)?;
    }
    Ok(())
}

/// What an origin gave a [`Call`] of the edge's own: its status, its headers and (when the call
/// reads it) its body as text.
pub(crate) struct Called {
    pub(crate) status: u16,
    pub(crate) headers: Headers,
    pub(crate) body: String,
}

/// Sends one of the edge's own requests (a probe, a job run) to `origin`, signed like client
/// traffic. `Err` when no answer came (the outcome says how), or the answer could not be read.
pub(crate) async fn call(
    key: Option<&OriginKey>,
    origin: &str,
    c: &Call,
) -> Result<Called, Outcome> {
    let headers = Headers::new().map_err(|_| Outcome::Refused)?;
    for (name, value) in &c.headers {
        headers.set(name, value).map_err(|_| Outcome::Refused)?;
    }
    let request = OriginRequest {
        origin,
        method: &c.method,
        path_and_query: &c.path,
        headers: &headers,
        forwarded: [None; 5],
        body: c.body.as_deref().map(JsValue::from_str),
        timeout_ms: c.timeout_ms,
    };
    let started = now_ms();
    let resp = fetch(key, &request).await?;
    let body = match (c.read_body, resp.text()) {
        (true, Ok(p)) => {
            // A call is bounded as a whole, its body included: a probe never hangs on a body
            // that stalls after its head.
            let left = c
                .timeout_ms
                .saturating_sub(now_ms().saturating_sub(started));
            let read = js::within(left, js::settled(Ok(p))).await;
            read.ok_or(Outcome::TimedOut)?.map_err(|_| Outcome::Lost)?
        }
        _ => JsValue::UNDEFINED,
    };
    Ok(Called {
        status: resp.status(),
        headers: resp.headers(),
        body: body.as_string().unwrap_or_default(),
    })
}
