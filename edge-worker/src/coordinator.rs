//! The coordinator: one Durable Object (SQLite-backed storage) that every isolate shares. On its
//! own alarm it probes the pools' origins (active health in seconds, not minutes) and keeps the
//! verdicts; it keeps the cache's purge log. Isolates copy a [`Snapshot`] at most once per poll
//! interval, in the background. Both sides speak JSON text over `fetch`.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use edge_core::balancer::health::{judge, HealthCheck, Probe};
use edge_core::config::Config;
use edge_core::coordinator::{next_alarm, probe_due, Ask, Snapshot};
use edge_core::jobs::Book;
use edge_core::origin_call::{probe_failure, Call};
use futures_util::future::join_all;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{RequestInit, Response};
use worker::{
    console_error, console_log, durable_object, DurableObject, Env, Method, Request, ScheduledTime,
    State,
};

use crate::js;
use crate::origin;
use crate::state::now_ms;

/// The coordinator object (`EDGE_COORDINATOR`; one instance, by name).
#[durable_object(alarm)]
pub struct EdgeCoordinator {
    state: State,
    env: Env,
    mem: RefCell<Option<Rc<Memory>>>,
}

/// What the coordinator keeps in memory (and in storage after every change).
pub(crate) struct Memory {
    /// The configuration (`EDGE`), read once.
    pub(crate) config: Config,
    /// `EDGE_ORIGIN_KEY`, when origin authentication is on.
    pub(crate) origin_key: Option<Vec<u8>>,
    /// Verdicts and purges (what isolates copy).
    pub(crate) snapshot: RefCell<Snapshot>,
    /// The jobs' run book.
    pub(crate) book: RefCell<Book>,
    /// When the next probe round is due (not stored: after a restart, at once).
    next_probe_ms: Cell<u64>,
}

impl DurableObject for EdgeCoordinator {
    fn new(state: State, env: Env) -> Self {
        EdgeCoordinator {
            state,
            env,
            mem: RefCell::new(None),
        }
    }

    async fn fetch(&self, mut req: Request) -> worker::Result<worker::Response> {
        let mem = match self.memory().await {
            Ok(m) => m,
            Err(why) => return worker::Response::error(why, 500),
        };
        let body = match req.method() {
            Method::Post => req.text().await?,
            _ => String::new(),
        };
        let ask = match Ask::parse(req.method().as_ref(), &req.path(), &body) {
            Ok(a) => a,
            Err((status, why)) => return worker::Response::error(why, status),
        };
        self.arm(&mem, false).await;
        match ask {
            Ask::Book => return worker::Response::ok(mem.book.borrow().to_json()),
            Ask::Purge(tags) => {
                let purges = {
                    let mut s = mem.snapshot.borrow_mut();
                    s.record_purge(&tags, now_ms());
                    s.purges.clone()
                };
                self.write("purges", &purges).await?;
            }
            Ask::Snapshot | Ask::Arm => {}
        }
        let answer = mem.snapshot.borrow().answer(now_ms());
        worker::Response::ok(answer)
    }

    async fn alarm(&self) -> worker::Result<worker::Response> {
        let mem = match self.memory().await {
            Ok(m) => m,
            Err(why) => {
                console_error!("edge-worker coordinator: {why}");
                return worker::Response::ok("");
            }
        };
        let now = now_ms();
        let probe = mem.config.has_health_checks() && probe_due(now, mem.next_probe_ms.get());
        if probe {
            mem.next_probe_ms
                .set(now + mem.config.health_interval_s * 1000);
        }
        // Jobs first (recorded, then sent from tasks of their own), so probes never delay them.
        crate::jobs::start_due(&mem, &Rc::new(self.state.storage())).await;
        if probe {
            self.probe_round(&mem).await;
        }
        self.arm(&mem, true).await;
        worker::Response::ok("")
    }
}

impl EdgeCoordinator {
    /// The coordinator's memory, loaded once (configuration from `EDGE`, state from storage).
    async fn memory(&self) -> Result<Rc<Memory>, String> {
        if let Some(m) = self.mem.borrow().clone() {
            return Ok(m);
        }
        let config = js::config(&self.env)?;
        let origin_key = js::secrets(&self.env, &config).origin_key;
        let snapshot = Snapshot {
            now_ms: 0,
            verdicts: self.read("verdicts").await.unwrap_or_default(),
            purges: self.read("purges").await.unwrap_or_default(),
        };
        let mut book = crate::jobs::load(self.read_text(crate::jobs::BOOK).await);
        book.sync(&config.jobs, now_ms());
        let m = Rc::new(Memory {
            config,
            origin_key,
            snapshot: RefCell::new(snapshot),
            book: RefCell::new(book),
            next_probe_ms: Cell::new(0),
        });
        *self.mem.borrow_mut() = Some(m.clone());
        Ok(m)
    }

    /// Keeps the alarm armed: at the next probe round or job event, unless one is already set
    /// (`reset` after the alarm fired: it is gone).
    async fn arm(&self, mem: &Memory, reset: bool) {
        let storage = self.state.storage();
        if !reset && matches!(storage.get_alarm().await, Ok(Some(_))) {
            return;
        }
        let probe = mem
            .config
            .has_health_checks()
            .then(|| mem.next_probe_ms.get());
        let job = mem.book.borrow().next_alarm_ms();
        if let Some(at) = next_alarm(now_ms(), probe, job) {
            // An absolute time (an `i64` would be taken as an offset from now).
            let at = ScheduledTime::new(js_sys::Date::new(&JsValue::from_f64(at as f64)));
            if let Err(e) = storage.set_alarm(at).await {
                console_error!("edge-worker coordinator: cannot set the alarm: {e}");
            }
        }
    }

    /// One probe of every origin of every pool with health checks; verdicts kept and stored.
    async fn probe_round(&self, mem: &Memory) {
        for (name, pool) in &mem.config.pools {
            let Some(check) = &pool.health else { continue };
            let probes = join_all(
                pool.origins
                    .iter()
                    .map(|o| probe(mem.origin_key.as_deref(), &o.url, check)),
            )
            .await;
            let now = now_ms();
            let flips = mem
                .snapshot
                .borrow_mut()
                .verdicts
                .entry(name.clone())
                .or_default()
                .record_round(&pool.origins, probes, now, check);
            for flip in flips {
                console_log!("{}", flip.line(name));
            }
        }
        let verdicts = mem.snapshot.borrow().verdicts.clone();
        if let Err(e) = self.write("verdicts", &verdicts).await {
            console_error!("edge-worker coordinator: storing verdicts: {e}");
        }
    }

    /// A stored JSON value.
    async fn read<T: serde::de::DeserializeOwned>(&self, key: &str) -> Option<T> {
        serde_json::from_str(&self.read_text(key).await?).ok()
    }

    /// A stored text.
    async fn read_text(&self, key: &str) -> Option<String> {
        let storage = self.state.storage();
        let value = JsFuture::from(storage.as_raw().get(key).ok()?).await.ok()?;
        value.as_string()
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

/// One probe: the configured request, signed like real traffic, judged against the check.
async fn probe(key: Option<&[u8]>, origin: &str, check: &HealthCheck) -> Probe {
    let started = now_ms();
    let result = probe_result(key, origin, check).await;
    Probe {
        result,
        latency_ms: now_ms().saturating_sub(started),
    }
}

async fn probe_result(key: Option<&[u8]>, origin: &str, check: &HealthCheck) -> Result<(), String> {
    match origin::call(key, origin, &Call::probe(check)).await {
        Ok(answer) => judge(answer.status, &answer.body, check),
        Err(outcome) => Err(probe_failure(outcome, check.timeout_ms)),
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

/// Reads the coordinator's snapshot (verdicts and purge log).
pub(crate) async fn snapshot(ns: &worker::ObjectNamespace) -> Result<Snapshot, String> {
    serde_json::from_str(&call(ns, "/snapshot", None).await?).map_err(|e| e.to_string())
}

/// Records a purge of `tags`; returns the snapshot after it.
pub(crate) async fn purge(
    ns: &worker::ObjectNamespace,
    tags: &[String],
) -> Result<Snapshot, String> {
    let body = serde_json::to_string(tags).unwrap_or_default();
    serde_json::from_str(&call(ns, "/purge", Some(body)).await?).map_err(|e| e.to_string())
}

/// The jobs' run book.
pub(crate) async fn book(ns: &worker::ObjectNamespace) -> Result<Book, String> {
    Book::from_json(&call(ns, "/book", None).await?)
}

/// Makes sure the coordinator's alarm is armed (the cron trigger's only job).
pub(crate) async fn arm(ns: &worker::ObjectNamespace) -> Result<(), String> {
    call(ns, "/arm", Some(String::new())).await.map(|_| ())
}
