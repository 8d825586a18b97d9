//! Small helpers for the JavaScript side: building responses, reading fields, fetching.

use js_sys::{Reflect, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{Headers, Request, Response, ResponseInit};

/// A JavaScript error as text for a log line.
pub(crate) fn text(e: JsValue) -> String {
    e.as_string()
        .or_else(|| string_field(&e, "message"))
        .unwrap_or_else(|| format!("{e:?}"))
}

/// `obj[name]` when it is a string.
pub(crate) fn string_field(obj: &JsValue, name: &str) -> Option<String> {
    Reflect::get(obj, &JsValue::from_str(name))
        .ok()?
        .as_string()
}

/// `new Response(body, {status, headers})`. `body` is a string, a `Uint8Array` or a
/// `ReadableStream` (the constructor takes any); `manual` passes an already content-coded body
/// through untouched (`encodeBody: "manual"`, else workerd would compress it again).
pub(crate) fn response<'a>(
    status: u16,
    headers: impl IntoIterator<Item = (&'a str, &'a str)>,
    body: Option<&JsValue>,
    manual: bool,
) -> worker::Result<Response> {
    let init = ResponseInit::new();
    init.set_status(status);
    let h = Headers::new()?;
    for (name, value) in headers {
        h.append(name, value)?;
    }
    init.set_headers(&h);
    if manual {
        Reflect::set(&init, &"encodeBody".into(), &"manual".into())?;
    }
    let body = body.map(|b| b.unchecked_ref::<web_sys::ReadableStream>());
    Ok(Response::new_with_opt_readable_stream_and_init(
        body, &init,
    )?)
}

/// Fetches `req` through a service binding or the global `fetch`.
pub(crate) async fn fetch(
    via: Option<&worker::worker_sys::Fetcher>,
    req: &Request,
) -> Result<Response, JsValue> {
    let promise = match via {
        Some(f) => f.fetch(req)?,
        None => js_sys::global()
            .unchecked_into::<web_sys::WorkerGlobalScope>()
            .fetch_with_request(req),
    };
    Ok(JsFuture::from(promise).await?.unchecked_into())
}

/// A response's whole body.
pub(crate) async fn bytes(resp: &Response) -> Result<Uint8Array, String> {
    let buf = JsFuture::from(resp.array_buffer().map_err(text)?)
        .await
        .map_err(text)?;
    Ok(Uint8Array::new(&buf))
}

/// A binding of the environment, when present.
pub(crate) fn binding(env: &worker::Env, name: &str) -> Option<JsValue> {
    let env: &JsValue = env.as_ref();
    Reflect::get(env, &JsValue::from_str(name))
        .ok()
        .filter(|v| !v.is_undefined())
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

/// Calls method `name` of `obj` with `args` (`obj.name(...args)`).
pub(crate) fn call(obj: &JsValue, name: &str, args: &[&JsValue]) -> Result<JsValue, JsValue> {
    let f: js_sys::Function = Reflect::get(obj, &JsValue::from_str(name))?.dyn_into()?;
    f.apply(obj, &args.iter().collect::<js_sys::Array>())
}

/// Calls method `name` of `obj` with `args` and awaits the promise it returns.
pub(crate) async fn call_await(
    obj: &JsValue,
    name: &str,
    args: &[&JsValue],
) -> Result<JsValue, JsValue> {
    let promise: js_sys::Promise = call(obj, name, args)?.dyn_into()?;
    JsFuture::from(promise).await
}
