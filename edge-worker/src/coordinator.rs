//! The coordinator: one Durable Object (SQLite-backed storage) that every isolate shares. On its
//! own alarm it probes the pools' origins (active health in seconds, not minutes) and keeps the
//! verdicts; it keeps the cache's purge log. Isolates copy a `Snapshot` at most once per poll
//! interval, in the background. Both sides speak JSON text over `fetch`.

use std::cell::RefCell;
use std::rc::Rc;

use edge_core::balancer::health::{judge, HealthCheck, Probe};
use edge_core::coordinator::{
    self, Ask, Memory, Stored, Write, BOOK_KEY, PURGES_KEY, VERDICTS_KEY,
};
use edge_core::origin_auth::OriginKey;
use edge_core::origin_call::{probe_failure, Call};
use futures_util::future::join_all;
use wasm_bindgen::JsValue;
use worker::{
    console_error, console_log, durable_object, DurableObject, Env, Method, Request, ScheduledTime,
    State, Storage,
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
        let (answer, write) = {
            let mut snapshot = mem.snapshot.borrow_mut();
            coordinator::answer(ask, &mut snapshot, &mem.book.borrow(), now_ms())
        };
        if let Some(write) = write {
            put(&self.state.storage(), &write).await?;
        }
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
        let mut clock = mem.probes.get();
        let probe = clock.take_due(&mem.config, now_ms());
        mem.probes.set(clock);
        // Jobs and probe rounds are started here and run as tasks of their own: a slow one
        // never holds up the next alarm, nor another pool's verdicts.
        let storage = Rc::new(self.state.storage());
        crate::jobs::start_due(&mem, &storage).await;
        if probe {
            for name in mem.start_rounds() {
                let (mem, storage) = (mem.clone(), storage.clone());
                wasm_bindgen_futures::spawn_local(async move {
                    probe_round(&mem, &storage, name).await;
                });
            }
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
        let stored = Stored {
            verdicts: self.read(VERDICTS_KEY).await,
            purges: self.read(PURGES_KEY).await,
            book: self.read(BOOK_KEY).await,
        };
        let (m, dropped) = Memory::restore(config, origin_key, &stored, now_ms());
        if let Some(why) = dropped {
            console_error!("edge-worker coordinator: {why}");
        }
        let m = Rc::new(m);
        *self.mem.borrow_mut() = Some(m.clone());
        Ok(m)
    }

    /// Keeps the alarm armed: at the next probe round or job event, unless one is already set
    /// for then or sooner (`reset` after the alarm fired: it is gone). A later one is brought
    /// forward: after a deploy that adds health checks or a sooner job, the old configuration's
    /// alarm (next year's, say) must not stay in charge.
    async fn arm(&self, mem: &Memory, reset: bool) {
        let storage = self.state.storage();
        let next = mem
            .probes
            .get()
            .next_alarm(&mem.config, &mem.book.borrow(), now_ms());
        if !reset {
            if let (Ok(Some(set)), Some(at)) = (storage.get_alarm().await, next) {
                if u64::try_from(set).is_ok_and(|set| set <= at) {
                    return;
                }
            }
        }
        if let Some(at) = next {
            // An absolute time (an `i64` would be taken as an offset from now).
            let at = ScheduledTime::new(js_sys::Date::new(&JsValue::from_f64(at as f64)));
            if let Err(e) = storage.set_alarm(at).await {
                console_error!("edge-worker coordinator: cannot set the alarm: {e}");
            }
        }
    }

    /// A stored text.
    async fn read(&self, key: &str) -> Option<String> {
        let value = js::settled(self.state.storage().as_raw().get(key)).await;
        value.ok()?.as_string()
    }
}

/// One probe of every origin of pool `name` (at once); verdicts kept and stored.
async fn probe_round(mem: &Memory, storage: &Storage, name: String) {
    let key = mem.origin_key.as_ref();
    let probes = match mem.checked(&name) {
        Some((pool, check)) => {
            join_all(pool.origins.iter().map(|o| probe(key, &o.url, check))).await
        }
        None => Vec::new(),
    };
    let (lines, write) = mem.end_round(&name, probes, now_ms());
    for line in lines {
        console_log!("{line}");
    }
    if let Err(e) = put(storage, &write).await {
        console_error!("edge-worker coordinator: storing verdicts: {e}");
    }
}

/// Stores a write (its key, its JSON text).
pub(crate) async fn put(storage: &Storage, (key, text): &Write) -> worker::Result<()> {
    storage.put_raw(key, JsValue::from_str(text)).await
}

/// One probe: the configured request, signed like real traffic, judged against the check.
async fn probe(key: Option<&OriginKey>, origin: &str, check: &HealthCheck) -> Probe {
    let started = now_ms();
    let result = match origin::call(key, origin, &Call::probe(check)).await {
        Ok(answer) => judge(answer.status, &answer.body, check),
        Err(outcome) => Err(probe_failure(outcome, check.timeout_ms)),
    };
    Probe {
        result,
        latency_ms: now_ms().saturating_sub(started),
    }
}

/// Asks the coordinator `ask` (see [`Ask::request`]); the answer's text (read by
/// `Snapshot::from_answer` for a snapshot or a purge, `Book::from_json` for the job book).
pub(crate) async fn ask(ns: &worker::ObjectNamespace, ask: &Ask) -> Result<String, String> {
    let stub: worker::worker_sys::Fetcher = ns
        .get_by_name("coordinator")
        .map_err(|e| e.to_string())?
        .into_rpc();
    let (method, path, body) = ask.request();
    let url = format!("https://coordinator{path}");
    let resp = js::fetch_from(&stub, &url, method, None, body.as_deref()).await?;
    if resp.status() != 200 {
        return Err(format!("status {}", resp.status()));
    }
    js::body_text(resp.text()).await
}
