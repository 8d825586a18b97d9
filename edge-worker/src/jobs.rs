//! Scheduled jobs, coordinator side: on its alarm the coordinator asks the book which runs are
//! due, stores the book (the run is recorded before anything is sent), then sends each run to a
//! healthy origin of its pool with origin authentication and `Idempotency-Key: job@scheduled_s`,
//! trying the next origin with the same key when one fails before answering. The decisions are
//! `edge_core::jobs` (book, dispatch); this file only does the I/O.
//!
//! Runs are sent from tasks of their own, so a long job never holds up the next alarm (probes,
//! other jobs); the book records each attempt and the outcome as they happen.

use std::rc::Rc;

use edge_core::coordinator::{Memory, BOOK_KEY};
use edge_core::jobs::dispatch::{self, Attempt, Tally};
use edge_core::jobs::{Job, Start};
use edge_core::origin_auth::OriginKey;
use edge_core::origin_call::{job_answer, Call};
use worker::{console_error, console_log, Storage};

use crate::coordinator::put;
use crate::origin;
use crate::state::now_ms;

/// Records the runs due now and starts sending them. Returns once the book is stored.
pub(crate) async fn start_due(mem: &Rc<Memory>, storage: &Rc<Storage>) {
    if mem.config.jobs.is_empty() {
        return;
    }
    let due = mem.book.borrow_mut().take_due(&mem.config.jobs, now_ms());
    let Some((starts, book)) = due else { return };
    // Record first: a run that cannot be recorded is not sent (it expires as failed later).
    if let Err(e) = put(storage, &(BOOK_KEY, book)).await {
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
    let pool = mem.config.pools.get(&job.pool);
    let verdicts = mem.snapshot.borrow().verdicts.get(&job.pool).cloned();
    let candidates = dispatch::candidates_in(&start.key, pool, verdicts.as_ref(), now_ms());
    let mut tally = Tally::default();
    for origin in &candidates {
        if !mem.book.borrow_mut().attempt(&start.key, origin, now_ms()) {
            break; // finished or past its deadline meanwhile: never sent again
        }
        save(mem, storage).await;
        let attempt = send(mem.origin_key.as_ref(), job, &start.key, origin).await;
        if tally.record(origin, &attempt, job.timeout_ms) {
            break;
        }
    }
    let line = tally.finish(&mut mem.book.borrow_mut(), &start, now_ms());
    if let Some(line) = line {
        save(mem, storage).await;
        console_log!("{line}");
    }
}

/// One attempt at `origin`.
async fn send(key: Option<&OriginKey>, job: &Job, run_key: &str, origin: &str) -> Attempt {
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
    let write = (BOOK_KEY, mem.book.borrow().to_json());
    if let Err(e) = put(storage, &write).await {
        console_error!("edge-worker coordinator: storing the job book: {e}");
    }
}
