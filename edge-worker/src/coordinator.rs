//! The coordinator: one Durable Object (SQLite-backed storage) that every isolate shares. It
//! keeps the cache's purge log, so a purge anywhere reaches every isolate within
//! `purge_poll_ms`. Both sides speak plain JSON text over `fetch` (no serde-to-JS glue).

use edge_core::cache::purge::PurgeLog;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{RequestInit, Response};
use worker::{durable_object, DurableObject, Env, Method, Request, State};

use crate::js;
use crate::state::now_ms;

/// Purges older than this are forgotten: no stored copy is kept longer (see `keep_for_s`).
const PURGE_HORIZON_MS: u64 = 366 * 86_400 * 1000;

/// The coordinator object (`EDGE_COORDINATOR`; one instance, by name).
#[durable_object(fetch)]
pub struct EdgeCoordinator {
    state: State,
}

impl DurableObject for EdgeCoordinator {
    fn new(state: State, _env: Env) -> Self {
        EdgeCoordinator { state }
    }

    async fn fetch(&self, mut req: Request) -> worker::Result<worker::Response> {
        let mut log: PurgeLog = self.read("purges").await.unwrap_or_default();
        match (req.method(), req.path().as_str()) {
            (Method::Get, "/purges") => {}
            (Method::Post, "/purge") => {
                let tags: Vec<String> =
                    serde_json::from_str(&req.text().await?).unwrap_or_default();
                let now = now_ms();
                log.purge(tags.iter().map(String::as_str), now);
                log.forget_before(now, PURGE_HORIZON_MS);
                self.write("purges", &log).await?;
            }
            _ => return worker::Response::error("not found", 404),
        }
        worker::Response::ok(serde_json::to_string(&log).unwrap_or_default())
    }
}

impl EdgeCoordinator {
    /// A stored JSON value.
    async fn read<T: serde::de::DeserializeOwned>(&self, key: &str) -> Option<T> {
        let storage = self.state.storage();
        let value = JsFuture::from(storage.as_raw().get(key).ok()?).await.ok()?;
        serde_json::from_str(&value.as_string()?).ok()
    }

    /// Stores a value as JSON text.
    async fn write<T: serde::Serialize>(&self, key: &str, value: &T) -> worker::Result<()> {
        let text =
            serde_json::to_string(value).map_err(|e| worker::Error::RustError(e.to_string()))?;
        self.state
            .storage()
            .put_raw(key, JsValue::from_str(&text))
            .await
    }
}

/// A request to the coordinator: `POST` with `body` when given, else `GET`; the answer's text.
async fn call(
    ns: &worker::ObjectNamespace,
    path: &str,
    body: Option<String>,
) -> Result<String, String> {
    let stub: worker::worker_sys::Fetcher = ns
        .get_by_name("coordinator")
        .map_err(|e| e.to_string())?
        .into_rpc();
    let init = RequestInit::new();
    if let Some(b) = &body {
        init.set_method("POST");
        init.set_body(&JsValue::from_str(b));
    }
    let req = web_sys::Request::new_with_str_and_init(&format!("https://coordinator{path}"), &init)
        .map_err(js::text)?;
    let resp: Response = JsFuture::from(stub.fetch(&req).map_err(js::text)?)
        .await
        .map_err(js::text)?
        .unchecked_into();
    if resp.status() != 200 {
        return Err(format!("status {}", resp.status()));
    }
    JsFuture::from(resp.text().map_err(js::text)?)
        .await
        .map_err(js::text)?
        .as_string()
        .ok_or_else(|| "no text".into())
}

/// Reads the purge log.
pub(crate) async fn purges(ns: &worker::ObjectNamespace) -> Result<PurgeLog, String> {
    serde_json::from_str(&call(ns, "/purges", None).await?).map_err(|e| e.to_string())
}

/// Records a purge of `tags`; returns the log after it.
pub(crate) async fn purge(
    ns: &worker::ObjectNamespace,
    tags: &[String],
) -> Result<PurgeLog, String> {
    let body = serde_json::to_string(tags).unwrap_or_default();
    serde_json::from_str(&call(ns, "/purge", Some(body)).await?).map_err(|e| e.to_string())
}
