//! Scheduled jobs run by the coordinator, exactly once across every origin.
//!
//! Every origin of a Symfony shop has the crontab; a job must still run on one of them only.
//! The coordinator (one Durable Object) decides instead: [`cron`] says when a job is due,
//! [`book`] records each run in the coordinator's storage *before* it is sent, with an
//! `Idempotency-Key` of `job@scheduled_s`, so a run is never started twice — not after a retry on
//! another origin (the origin's idempotency store answers a repeated key with the first outcome),
//! nor after a coordinator restart. A run still going makes the next due run a recorded skip,
//! never an overlap.
//!
//! Everything here is pure: time comes in as `now_ms`, and the glue does the storage and fetches.

pub mod book;
pub mod cron;
pub mod dispatch;
pub mod log;

pub use book::{Book, JobBook, JobCounts, Outcome, Run, RunState, Start};
pub use cron::Schedule;

/// A configured job (`[[vars.EDGE.jobs]]`), validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    /// Unique name (an HTTP token); the first half of every run's idempotency key.
    pub name: String,
    /// When it is due.
    pub schedule: Schedule,
    /// The pool whose healthy origins run it.
    pub pool: String,
    /// The path (and query) requested on the origin; starts with `/`.
    pub path: String,
    /// The request method: GET, POST (the default) or PUT.
    pub method: String,
    /// Time allowed for one origin's answer.
    pub timeout_ms: u64,
    /// How long a run may go on: until then the next due run is skipped rather than overlapped,
    /// after it an unfinished run counts as failed.
    pub max_run_s: u64,
}

impl Job {
    /// The `Idempotency-Key` of this job's run scheduled at `scheduled_s`: `name@scheduled_s`.
    /// The same run always gets the same key, so an origin can refuse to execute it twice.
    pub fn run_key(&self, scheduled_s: u64) -> String {
        run_key(&self.name, scheduled_s)
    }

    /// The path without its query: what the edge must not route from the public to an origin.
    pub fn path_only(&self) -> &str {
        self.path.split(['?', '#']).next().unwrap_or(&self.path)
    }
}

/// The `Idempotency-Key` of the run of job `name` scheduled at `scheduled_s`.
pub fn run_key(name: &str, scheduled_s: u64) -> String {
    format!("{name}@{scheduled_s}")
}
