//! Small helpers for the JavaScript side: building responses, reading fields, fetching.

use edge_core::field_lines::FieldLines;
use edge_core::header_edits::{encode_fields, HeaderEdits};
use js_sys::{Promise, Reflect, Uint8Array};
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{Headers, ReadableStream, Request, Response};

// The calls into the runtime on every proxied request, in JavaScript (`js/runtime.mjs` says
// why each is written there), shared with the entry module (`js/entry.mjs`).
#[wasm_bindgen(module = "/js/runtime.mjs")]
extern "C" {
    /// Every field of `h`, name then value, one per line (see [`FieldLines`]).
    fn header_fields(h: &Headers) -> String;
    /// The whole body of `req` (a promise of a `Uint8Array`); rejected with a
    /// `ClientBodyError` when the body broke off or nothing came for `ms`.
    #[wasm_bindgen(catch)]
    fn read_whole(req: &Request, ms: f64) -> Result<Promise, JsValue>;
    /// `binding.fetch(url, {method, headers: {range}, body})`.
    #[wasm_bindgen(catch)]
    fn binding_fetch(
        binding: &JsValue,
        url: &str,
        method: &str,
        range: Option<&str>,
        body: Option<&str>,
    ) -> Result<Promise, JsValue>;
    /// A promise resolved after `ms` by a runtime timer ([`clear_sleep`] clears it).
    fn sleep(ms: f64) -> Promise;
    fn clear_sleep(p: &Promise);
    /// A response with `status`, `reason`, the fields `e` (`encode_fields`) and `body`.
    #[wasm_bindgen(catch)]
    fn new_response(
        status: u16,
        reason: Option<&str>,
        e: &str,
        body: &JsValue,
        manual: bool,
    ) -> Result<Response, JsValue>;
    /// Applies encoded edits to `h`.
    #[wasm_bindgen(catch)]
    fn edit_headers(h: &Headers, edits: &str) -> Result<(), JsValue>;
    /// A copy of `h` with the encoded edits applied.
    #[wasm_bindgen(catch)]
    fn edited_copy(h: &Headers, edits: &str) -> Result<Headers, JsValue>;
    /// `r` with mutable headers (same status, headers and streamed body), the edits applied.
    #[wasm_bindgen(catch)]
    fn rebuilt(r: &Response, edits: &str) -> Result<Response, JsValue>;
    /// `[r rebuilt around one half of its body, the other half]`; `[r, null]` without a body.
    #[wasm_bindgen(catch)]
    fn teed(r: &Response) -> Result<js_sys::Array, JsValue>;
    /// `fetch(url)` with redirects passed back; rejected with a `TimeoutError` when no response
    /// head came within `ms` of the request being sent (a runtime timer, cleared when the head
    /// comes: the response body is not bounded), or when the origin took no more of a streamed
    /// `body` for `ms`; with a `ClientBodyError` when a streamed `body` broke off or stalled.
    #[wasm_bindgen(catch)]
    fn origin_fetch(
        url: &str,
        method: &str,
        headers: &Headers,
        body: &JsValue,
        ms: f64,
    ) -> Result<Promise, JsValue>;
    /// A stream's bytes, whole (a promise of a `Uint8Array`), or of `null` past `max` bytes.
    #[wasm_bindgen(catch)]
    pub(crate) fn read_bounded(
        stream: &web_sys::ReadableStream,
        max: f64,
    ) -> Result<Promise, JsValue>;
    /// `caches.default.match(key)`: a promise of the stored response, or of `undefined`.
    #[wasm_bindgen(catch)]
    pub(crate) fn cache_match(key: &str) -> Result<Promise, JsValue>;
    /// `caches.default.put(key, resp)`.
    #[wasm_bindgen(catch)]
    pub(crate) fn cache_put(key: &str, resp: &Response) -> Result<Promise, JsValue>;
    /// `connect()` of `cloudflare:sockets`: a socket to `hostname:port`, over TLS when `tls`.
    #[wasm_bindgen(catch)]
    pub(crate) fn open_socket(
        hostname: &str,
        port: u16,
        tls: bool,
    ) -> Result<worker::worker_sys::Socket, JsValue>;
}

/// A message's header fields, read in one call (see [`FieldLines`]).
pub(crate) fn fields(headers: &Headers) -> FieldLines {
    FieldLines::parse(header_fields(headers))
}

/// `obj[name]` (`undefined` when it cannot be read).
pub(crate) fn get(obj: &JsValue, name: &str) -> JsValue {
    Reflect::get(obj, &JsValue::from_str(name)).unwrap_or(JsValue::UNDEFINED)
}

/// Awaits a promise the runtime gave (or threw instead); a throw or a rejection as text.
pub(crate) async fn settled(promise: Result<Promise, JsValue>) -> Result<JsValue, String> {
    JsFuture::from(promise.map_err(text)?).await.map_err(text)
}

/// A response's (or a request's) whole body as text.
pub(crate) async fn body_text(body: Result<Promise, JsValue>) -> Result<String, String> {
    settled(body)
        .await?
        .as_string()
        .ok_or_else(|| "no text".into())
}

/// Writes `bytes` to a stream, then releases it (an error as text).
pub(crate) async fn write(
    stream: Result<worker::web_sys::WritableStream, JsValue>,
    bytes: &Uint8Array,
) -> Result<(), String> {
    let writer = stream.and_then(|w| w.get_writer()).map_err(text)?;
    settled(Ok(writer.write_with_chunk(bytes))).await?;
    writer.release_lock();
    Ok(())
}

/// What `work` gives, or `None` when `ms` passed first (a [`timer`], cleared either way).
pub(crate) async fn within<T>(ms: u64, work: impl std::future::Future<Output = T>) -> Option<T> {
    let (_timer, fired) = timer(ms);
    let work = std::pin::pin!(work);
    match futures_util::future::select(work, fired).await {
        futures_util::future::Either::Left((done, _)) => Some(done),
        futures_util::future::Either::Right(_) => None,
    }
}

/// A promise resolved after `ms` by a runtime timer, cleared when the guard is dropped (nothing
/// of ours fires after the request; a Rust timer would outlive it and stall the isolate).
pub(crate) fn timer(ms: u64) -> (TimerGuard, JsFuture) {
    let fired = sleep(ms.min(i32::MAX as u64) as f64);
    (TimerGuard(fired.clone()), JsFuture::from(fired))
}

/// Clears its timer when dropped.
pub(crate) struct TimerGuard(Promise);

impl Drop for TimerGuard {
    fn drop(&mut self) {
        clear_sleep(&self.0);
    }
}

/// A JavaScript error as text for a log line.
pub(crate) fn text(e: JsValue) -> String {
    e.as_string()
        .or_else(|| string_field(&e, "message"))
        .unwrap_or_else(|| format!("{e:?}"))
}

/// `obj[name]` when it is a string.
pub(crate) fn string_field(obj: &JsValue, name: &str) -> Option<String> {
    get(obj, name).as_string()
}

/// `new Response(body, {status, statusText: reason, headers})`, built in one call into the
/// runtime. `body` is a string, a `Uint8Array` or a `ReadableStream` (the constructor takes
/// any); `manual` passes an already content-coded body through untouched (`encodeBody:
/// "manual"`, else workerd would compress it again). An error says which part the runtime
/// refused.
pub(crate) fn response<'a>(
    status: u16,
    reason: Option<&str>,
    fields: impl IntoIterator<Item = (&'a str, &'a str)>,
    body: Option<&JsValue>,
    manual: bool,
) -> Result<Response, String> {
    let fields = encode_fields(fields).map_err(|e| e.to_string())?;
    let none = JsValue::UNDEFINED;
    new_response(status, reason, &fields, body.unwrap_or(&none), manual)
        .map_err(|e| format!("cannot build the response: {}", text(e)))
}

/// Makes the core's `edits` to `headers` (removals, then sets, then appends) in one call.
pub(crate) fn edit(headers: &Headers, edits: &HeaderEdits) -> Result<(), JsValue> {
    edit_headers(headers, &encoded(edits)?)
}

/// A copy of `headers` with the core's `edits` made, in one call.
pub(crate) fn edited(headers: &Headers, edits: &HeaderEdits) -> Result<Headers, JsValue> {
    edited_copy(headers, &encoded(edits)?)
}

/// An origin's response as the client gets it: the same status and streamed body, its headers
/// (immutable on a fetched response) copied with the core's `edits` made, in one call.
pub(crate) fn rebuild(resp: &Response, edits: &HeaderEdits) -> Result<Response, JsValue> {
    rebuilt(resp, &encoded(edits)?)
}

/// Splits `r`'s body in two: `r` rebuilt around one half (to pass on, with mutable headers),
/// and the other half (to store), if it has a body.
pub(crate) fn tee(r: &Response) -> Result<(Response, Option<ReadableStream>), JsValue> {
    let parts = teed(r)?;
    let other = parts.get(1).dyn_into().ok();
    Ok((parts.get(0).dyn_into()?, other))
}

/// A request's whole body, read with at most `idle_ms` between chunks; an error (the body
/// broke off or stalled) as text.
pub(crate) async fn whole_body(req: &Request, idle_ms: u64) -> Result<Uint8Array, String> {
    let ms = idle_ms.min(i32::MAX as u64) as f64;
    Ok(settled(read_whole(req, ms)).await?.unchecked_into())
}

/// Sends a request to an origin (see [`origin_fetch`]); the promise of its response head.
pub(crate) fn origin_request(
    url: &str,
    method: &str,
    headers: &Headers,
    body: Option<&JsValue>,
    timeout_ms: u64,
) -> Result<JsFuture, JsValue> {
    let none = JsValue::UNDEFINED;
    let ms = timeout_ms.min(i32::MAX as u64) as f64;
    let promise = origin_fetch(url, method, headers, body.unwrap_or(&none), ms)?;
    Ok(JsFuture::from(promise))
}

fn encoded(edits: &HeaderEdits) -> Result<String, JsValue> {
    edits
        .encode()
        .map_err(|e| js_sys::TypeError::new(&e.to_string()).into())
}

/// Fetches `url` from a `binding` (the ASSETS service, a Durable Object's stub) with `method`,
/// and a `range` and a text `body` when given; an error as text.
pub(crate) async fn fetch_from(
    binding: &JsValue,
    url: &str,
    method: &str,
    range: Option<&str>,
    body: Option<&str>,
) -> Result<Response, String> {
    let sent = binding_fetch(binding, url, method, range, body);
    Ok(settled(sent).await?.unchecked_into())
}

/// Lets go of a response that is not passed on: its body, if any, is cancelled.
pub(crate) fn discard(resp: Option<Response>) {
    if let Some(body) = resp.and_then(|r| r.body()) {
        let _ = body.cancel();
    }
}

/// A response's whole body.
pub(crate) async fn bytes(resp: &Response) -> Result<Uint8Array, String> {
    Ok(Uint8Array::new(&settled(resp.array_buffer()).await?))
}

/// A binding of the environment, when present.
pub(crate) fn binding(env: &worker::Env, name: &str) -> Option<JsValue> {
    Some(get(env.as_ref(), name)).filter(|v| !v.is_undefined())
}

/// The `EDGE` variable, validated (an error names the key at fault).
pub(crate) fn config(env: &worker::Env) -> Result<edge_core::config::Config, String> {
    let edge_json = match binding(env, "EDGE") {
        Some(v) => Some(String::from(js_sys::JSON::stringify(&v).map_err(text)?)),
        None => None,
    };
    edge_core::config::Config::from_binding(edge_json.as_deref()).map_err(|e| e.to_string())
}

/// The secrets, read once.
pub(crate) fn secrets(
    env: &worker::Env,
    config: &edge_core::config::Config,
) -> edge_core::config::Secrets {
    edge_core::config::Secrets::read(config, |name| binding(env, name)?.as_string())
}

/// The next chunk a stream's reader gives, as JavaScript bytes (`None` at the stream's end; an
/// error as text). A body kept as it is stays out of Wasm memory; a parser copies the chunk in.
pub(crate) async fn next_bytes(
    reader: &worker::web_sys::ReadableStreamDefaultReader,
) -> Result<Option<Uint8Array>, String> {
    let chunk = settled(Ok(reader.read())).await?;
    if get(&chunk, "done").is_truthy() {
        return Ok(None);
    }
    let value = get(&chunk, "value").dyn_into();
    value
        .map(Some)
        .map_err(|_| "a chunk that is not bytes".into())
}
