//! Scheduled jobs, coordinator side: on its alarm the coordinator asks the book which runs are
//! due, stores the book (the run is recorded before anything is sent), then sends each run to a
//! healthy origin of its pool with origin authentication and `Idempotency-Key: job@scheduled_s`,
//! trying the next origin with the same key when one fails before answering. The decisions are
//! `edge_core::jobs` (book, dispatch); this file only does the I/O.
//!
//! Runs are sent from tasks of their own, so a long job never holds up the next alarm (probes,
//! other jobs); the book records each attempt and the outcome as they happen.

use std::rc::Rc;

use edge_core::balancer::retry::Outcome as Transport;
use edge_core::jobs::dispatch::{self, Attempt, Next};
use edge_core::jobs::{Book, Job, Outcome, Start};
use wasm_bindgen::JsValue;
use wasm_bindgen_futures::JsFuture;
use web_sys::Headers;
use worker::{console_error, console_log, Storage};

use crate::coordinator::Memory;
use crate::js;
use crate::origin::{self, OriginRequest};
use crate::state::now_ms;

/// Storage key of the book.
pub(crate) const BOOK: &str = "book";

/// Records the runs due now and starts sending them. Returns once the book is stored.
pub(crate) async fn start_due(mem: &Rc<Memory>, storage: &Rc<Storage>) {
    if mem.config.jobs.is_empty() {
        return;
    }
    let now = now_ms();
    let (starts, before, after) = {
        let mut book = mem.book.borrow_mut();
        let before = book.to_json();
        let starts = book.due(&mem.config.jobs, now);
        (starts, before, book.to_json())
    };
    if after == before {
        return;
    }
    // Record first: a run that cannot be recorded is not sent (it expires as failed later).
    if let Err(e) = store(storage, &after).await {
        return console_error!("edge-worker coordinator: storing the job book: {e}; runs not sent");
    }
    for start in starts {
        let (mem, storage) = (mem.clone(), storage.clone());
        wasm_bindgen_futures::spawn_local(async move { run(&mem, &storage, start).await });
    }
}

/// Sends one recorded run until an origin answers or the candidates run out; records the end.
async fn run(mem: &Memory, storage: &Storage, start: Start) {
    let Some(job) = mem.config.jobs.iter().find(|j| j.name == start.job) else {
        return;
    };
    let candidates: Vec<String> = match mem.config.pools.get(&job.pool) {
        Some(pool) => {
            let snapshot = mem.snapshot.borrow();
            dispatch::candidates(&start.key, pool, snapshot.verdicts.get(&job.pool), now_ms())
                .into_iter()
                .map(str::to_string)
                .collect()
        }
        None => vec![],
    };
    let mut failures = Vec::new();
    let mut outcome = None;
    for origin in &candidates {
        if !mem.book.borrow_mut().attempt(&start.key, origin, now_ms()) {
            return; // finished or past its deadline meanwhile: never sent again
        }
        save(mem, storage).await;
        let attempt = send(mem.origin_key.as_deref(), job, &start.key, origin).await;
        match dispatch::judge(&attempt, job.timeout_ms) {
            Next::Finish(o) => {
                outcome = Some(o);
                break;
            }
            Next::TryNext(why) => failures.push((origin.clone(), why)),
        }
    }
    let outcome = outcome.unwrap_or_else(|| dispatch::exhausted(&failures));
    let line = log_line(&start, &outcome, &failures, mem);
    if mem.book.borrow_mut().finish(&start.key, outcome, now_ms()) {
        save(mem, storage).await;
        console_log!("{line}");
    }
}

/// One attempt at `origin`.
async fn send(key: Option<&[u8]>, job: &Job, run_key: &str, origin: &str) -> Attempt {
    match try_send(key, job, run_key, origin).await {
        Ok(a) => a,
        Err(why) => {
            console_error!("edge-worker coordinator: job {run_key}: {why}");
            Attempt::Failed(Transport::Invalid)
        }
    }
}

async fn try_send(
    key: Option<&[u8]>,
    job: &Job,
    run_key: &str,
    origin: &str,
) -> Result<Attempt, String> {
    let headers = Headers::new().map_err(js::text)?;
    headers.set("idempotency-key", run_key).map_err(js::text)?;
    headers
        .set("user-agent", "edge-worker scheduled job")
        .map_err(js::text)?;
    let request = OriginRequest {
        origin,
        method: &job.method,
        path_and_query: &job.path,
        headers: &headers,
        forwarded: [None; 5],
        body: (job.method != "GET").then(|| JsValue::from_str("")),
        timeout_ms: job.timeout_ms,
    };
    let resp = match origin::fetch(key, &request).await {
        Ok(r) => r,
        Err(t) => return Ok(Attempt::Failed(t)),
    };
    let status = resp.status();
    let replayed_header = resp
        .headers()
        .get("idempotency-replayed")
        .ok()
        .flatten()
        .is_some_and(|v| v.eq_ignore_ascii_case("true"));
    // Read the (small) answer whole: an unread body would hold the connection.
    let text = JsFuture::from(resp.text().map_err(js::text)?)
        .await
        .map_err(js::text)?
        .as_string()
        .unwrap_or_default();
    // A replayed body is the first execution's answer; its `status` field says how that went.
    let replayed = replayed_header.then(|| {
        serde_json::from_str::<serde_json::Value>(&text)
            .ok()
            .and_then(|v| v.get("status").and_then(serde_json::Value::as_u64))
            .and_then(|s| u16::try_from(s).ok())
            .unwrap_or(status)
    });
    Ok(Attempt::Answered { status, replayed })
}

/// Stores the current book (after an attempt or an outcome; errors only logged: the run goes on).
async fn save(mem: &Memory, storage: &Storage) {
    let json = mem.book.borrow().to_json();
    if let Err(e) = store(storage, &json).await {
        console_error!("edge-worker coordinator: storing the job book: {e}");
    }
}

async fn store(storage: &Storage, json: &str) -> worker::Result<()> {
    storage.put_raw(BOOK, JsValue::from_str(json)).await
}

/// Reads the stored book; a missing or unreadable one starts afresh (which re-runs nothing).
pub(crate) fn load(stored: Option<String>) -> Book {
    match stored.map(|s| Book::from_json(&s)) {
        Some(Ok(b)) => b,
        Some(Err(why)) => {
            console_error!("edge-worker coordinator: {why}; starting a new job book");
            Book::default()
        }
        None => Book::default(),
    }
}

/// The run's log line (JSON).
fn log_line(
    start: &Start,
    outcome: &Outcome,
    failures: &[(String, String)],
    mem: &Memory,
) -> String {
    let book = mem.book.borrow();
    let run = book.run(&start.key);
    let (status, error) = match outcome {
        Outcome::Succeeded { status } => (Some(*status), None),
        Outcome::Failed { why } => (None, Some(why.as_str())),
    };
    serde_json::json!({
        "event": "job",
        "key": start.key,
        "origin": run.and_then(|r| r.origin.as_deref()),
        "attempts": run.map(|r| r.attempts),
        "status": status,
        "error": error,
        "lateness_ms": start.lateness_ms,
        "duration_ms": now_ms().saturating_sub(run.map_or(0, |r| r.recorded_ms)),
        "failed_origins": failures.len(),
    })
    .to_string()
}
