//! Origins that send interim responses (103 Early Hints, 102 Processing): the I/O of the
//! fallback whose decisions are edge-core's `proxy::interim` (its header says what the client
//! gets and when a request is sent again). The request goes again on a TCP socket of its own
//! (`cloudflare:sockets`, TLS for https origins) in HTTP/1.1, read with the core's parser
//! (`edge_core::proxy::http1`), which skips the interim heads.
//!
//! - The attempt's timeout bounds the exchange with a JavaScript timer (`setTimeout`, cleared when
//!   the exchange ends or is dropped: nothing of ours fires after the request); the socket is
//!   closed whichever way the exchange ends.
//! - The final body is read whole (at most `Limits::EDGE.body_bytes`, 16 MiB) and handed on as a
//!   `Uint8Array`, content-coded as the origin sent it (`encodeBody: "manual"`).

use std::cell::RefCell;

use edge_core::balancer::retry::Outcome;
use edge_core::origin_auth::OriginKey;
use edge_core::origin_url::OriginUrl;
use edge_core::proxy::http1;
use edge_core::proxy::interim::{self, Collector, Final, InterimOrigins, Reply};
use js_sys::Uint8Array;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::Response;
use worker::console_error;
// `worker::Socket` exposes its streams only through tokio's AsyncRead/AsyncWrite (a dependency
// this crate does not have), so the socket is driven at the `worker_sys` level, with the web-sys
// stream types that worker 0.8.7 enables.
use worker::web_sys::ReadableStreamDefaultReader;
use worker::worker_sys::Socket;

use crate::js;
use crate::origin::OriginRequest;
use crate::state::now_ms;

thread_local! {
    /// Origins that sent an interim response.
    static SENDS_INTERIM: RefCell<InterimOrigins> = RefCell::new(InterimOrigins::default());
}

/// Whether `origin` sent an interim response to an earlier request of this isolate.
pub(crate) fn sends_interim(origin: &str) -> bool {
    SENDS_INTERIM.with(|s| s.borrow().contains(origin))
}

/// The final response to `r`, whose fetch (started at `started_ms`) gave the interim response
/// `interim`: `r` sent again over a socket when that is safe, within what is left of its timeout.
pub(crate) async fn final_response(
    key: Option<&OriginKey>,
    r: &OriginRequest<'_>,
    interim: Response,
    started_ms: u64,
) -> Result<Response, Outcome> {
    let status = interim.status();
    SENDS_INTERIM.with(|s| s.borrow_mut().remember(r.origin));
    let hints = (status == 103)
        .then(|| interim.headers().get("link").ok().flatten())
        .flatten();
    js::discard(Some(interim)); // whatever workerd kept of the exchange: not read
    if let Some(why) = interim::resend_refusal(r.method, streamed(r)) {
        let why = format!("interim status {status}; not sent again: {why}");
        return Err(fail(r, Outcome::Invalid, &why));
    }
    let left = r
        .timeout_ms
        .saturating_sub(now_ms().saturating_sub(started_ms));
    if left == 0 {
        return Err(Outcome::TimedOut);
    }
    exchange(key, r, left, hints).await
}

/// The response to `r` from an origin known to send interim responses, over a socket first.
pub(crate) async fn direct(
    key: Option<&OriginKey>,
    r: &OriginRequest<'_>,
) -> Result<Response, Outcome> {
    if streamed(r) {
        let why = "the origin sends interim responses, so requests to it go over a socket, which cannot send a streamed body";
        return Err(fail(r, Outcome::Invalid, why));
    }
    exchange(key, r, r.timeout_ms, None).await
}

/// Whether `r` has a body that was streamed (sent once) rather than buffered.
fn streamed(r: &OriginRequest<'_>) -> bool {
    r.body
        .as_ref()
        .is_some_and(|b| !b.is_instance_of::<Uint8Array>())
}

/// Sends `r` (freshly signed) on a socket of its own and reads the final response, within
/// `timeout_ms`. `hints`: `Link` of the interim response `fetch` gave, if any.
async fn exchange(
    key: Option<&OriginKey>,
    r: &OriginRequest<'_>,
    timeout_ms: u64,
    hints: Option<String>,
) -> Result<Response, Outcome> {
    crate::origin::sign(key, r)?;
    let origin = OriginUrl::parse(r.origin).ok_or(Outcome::Refused)?;
    let body = r.body.as_ref().and_then(|b| b.dyn_ref::<Uint8Array>());
    let message = message(r, &origin, body)?;
    let connection = Connection::open(&origin, r)?;
    let reply = js::within(timeout_ms, talk(&connection.0, &message, r)).await;
    respond(r, reply.ok_or(Outcome::TimedOut)??, hints)
}

/// The request's bytes: its head, then its buffered body.
fn message(
    r: &OriginRequest<'_>,
    origin: &OriginUrl,
    body: Option<&Uint8Array>,
) -> Result<Uint8Array, Outcome> {
    let fields = js::fields(r.headers);
    let head = http1::request_head(
        r.method,
        &origin.authority(),
        r.path_and_query,
        fields.pairs(),
        body.map(|b| u64::from(b.length())),
    )
    .map_err(|e| {
        let why = format!("cannot be written in HTTP/1.1: {e}");
        fail(r, Outcome::Invalid, &why)
    })?;
    let head_len = u32::try_from(head.len()).map_err(|_| Outcome::Invalid)?;
    let body_len = body.map_or(0, Uint8Array::length);
    let out = Uint8Array::new_with_length(head_len.saturating_add(body_len));
    out.subarray(0, head_len).copy_from(&head);
    if let Some(b) = body {
        out.set(b, head_len);
    }
    Ok(out)
}

/// A socket to an origin, closed when dropped (done, failed, timed out or cancelled).
struct Connection(Socket);

impl Connection {
    fn open(origin: &OriginUrl, r: &OriginRequest<'_>) -> Result<Self, Outcome> {
        let target = origin.socket_target();
        js::open_socket(target.hostname, target.port, target.tls)
            .map(Connection)
            .map_err(|e| {
                let why = format!("cannot open a socket: {}", js::text(e));
                fail(r, Outcome::Refused, &why)
            })
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        let _ = self.0.close();
    }
}

/// Writes `message` and reads the response to it, skipping interim heads.
async fn talk(
    socket: &Socket,
    message: &Uint8Array,
    r: &OriginRequest<'_>,
) -> Result<Reply, Outcome> {
    js::settled(socket.opened()).await.map_err(|e| {
        let why = format!("cannot connect: {e}");
        fail(r, Outcome::Refused, &why)
    })?;
    js::write(socket.writable(), message)
        .await
        .map_err(|_| Outcome::Lost)?;
    let readable = socket.readable().map_err(|_| Outcome::Lost)?;
    let reader: ReadableStreamDefaultReader = readable.get_reader().unchecked_into();
    let mut collector = Collector::new(r.method);
    loop {
        let chunk = js::next_bytes(&reader).await.map_err(|_| Outcome::Lost)?;
        let bytes = chunk.map(|c| c.to_vec());
        let read = collector.feed(bytes.as_deref()).map_err(|e| {
            let why = format!("unreadable response over the socket: {e}");
            fail(r, interim::unreadable(&e), &why)
        })?;
        if let Some(reply) = read {
            return Ok(reply);
        }
    }
}

/// The client's response from the final reply (see [`interim::final_response`]), its bytes
/// passed on as the origin coded them.
fn respond(
    r: &OriginRequest<'_>,
    reply: Reply,
    hints: Option<String>,
) -> Result<Response, Outcome> {
    let Final {
        status,
        reason,
        fields,
        body,
    } = interim::final_response(reply, r.method, hints)
        .map_err(|why| fail(r, Outcome::Invalid, &why))?;
    let fields = fields.iter().map(|(n, v)| (n.as_str(), v.as_str()));
    let body = body.as_deref().map(|b| JsValue::from(Uint8Array::from(b)));
    js::response(status, reason.as_deref(), fields, body.as_ref(), true)
        .map_err(|why| fail(r, Outcome::Invalid, &why))
}

/// Logs why the attempt `r` failed, and returns its outcome.
fn fail(r: &OriginRequest<'_>, outcome: Outcome, why: &str) -> Outcome {
    let line = interim::failure_line(r.origin, r.method, r.path_and_query, outcome, why);
    console_error!("{line}");
    outcome
}
