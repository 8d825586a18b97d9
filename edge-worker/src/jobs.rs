//! Scheduled jobs, coordinator side: on its alarm the coordinator asks the book which runs are
//! due, stores the book (the run is recorded before anything is sent), then sends each run to a
//! healthy origin of its pool with origin authentication and `Idempotency-Key: job@scheduled_s`,
//! trying the next origin with the same key when one fails before answering. The decisions are
//! `edge_core::jobs` (book, dispatch); this file only does the I/O.
//!
//! Runs are sent from tasks of their own, so a long job never holds up the next alarm (probes,
//! other jobs); the book records each attempt and the outcome as they happen.

use std::rc::Rc;

use edge_core::jobs::dispatch::{self, Attempt, Next};
use edge_core::jobs::{log, Book, Job, Start};
use edge_core::origin_call::{job_answer, Call};
use wasm_bindgen::JsValue;
use worker::{console_error, console_log, Storage};

use crate::coordinator::Memory;
use crate::origin;
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
    let line = {
        let book = mem.book.borrow();
        log::run_line(&start, &outcome, &failures, book.run(&start.key), now_ms())
    };
    if mem.book.borrow_mut().finish(&start.key, outcome, now_ms()) {
        save(mem, storage).await;
        console_log!("{line}");
    }
}

/// One attempt at `origin`.
async fn send(key: Option<&[u8]>, job: &Job, run_key: &str, origin: &str) -> Attempt {
    match origin::call(key, origin, &Call::job(job, run_key)).await {
        Ok(a) => {
            let replayed = a.headers.get("idempotency-replayed").ok().flatten();
            job_answer(a.status, replayed.as_deref(), &a.body)
        }
        Err(t) => Attempt::Failed(t),
    }
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
    let (book, dropped) = Book::restore(stored.as_deref());
    if let Some(why) = dropped {
        console_error!("edge-worker coordinator: {why}; starting a new job book");
    }
    book
}
