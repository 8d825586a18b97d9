//! The coordinator's record of job runs: a pure state machine over `now_ms`, serialised (JSON)
//! into the coordinator's Durable Object storage after every change.
//!
//! A run's life:
//!
//! ```text
//!             due()                 attempt(origin)…         finish()
//! (instant) ───────→ Pending ─────────────────────────→ Succeeded{status} | Failed{why}
//!              │        └── expire(): past its max_run_s ──→ Failed("exceeded max run time")
//!              └──→ Skipped{"previous run still going"}      (a run of the job is still Pending)
//! ```
//!
//! Rules, each a test in `book/tests.rs`:
//! - **Record first, then send.** [`Book::due`] records each due run as `Pending` and returns a
//!   [`Start`] for it; the glue must store the book before sending the run to an origin. A run, once
//!   recorded, is never returned by `due` again — not on the next call at the same `now_ms`, not
//!   after a restart that reloads the stored book. A run that was recorded but whose outcome never
//!   came (the coordinator was evicted mid-fetch) stays `Pending` until its `max_run_s` has passed,
//!   then [`Book::expire`] (also run by `due`) marks it `Failed("exceeded max run time")`; it is not
//!   sent again.
//! - **Never an overlap.** When a job is due while one of its runs is still `Pending` (within its
//!   `max_run_s`), the due instant is recorded as `Skipped("previous run still going")`.
//! - **A late alarm runs the missed run once, late.** When several instants have passed since the
//!   last one recorded (the coordinator did not run: evicted, redeployed, an alarm delayed), the
//!   *earliest* of them runs, once, with its lateness recorded (`lateness_ms`); the later ones up to
//!   now are recorded together as one `Skipped("missed: the coordinator did not run")` entry with
//!   their count. Nothing runs twice to catch up.
//! - **Retries are the glue's loop.** The glue may try the run's key on another origin when one
//!   fails before answering ([`Book::attempt`] counts the attempts and names the origin); the
//!   origins' idempotency store makes the key execute at most once.
//! - **A lost book re-runs nothing.** A job new to the book is first due strictly after `now`, so
//!   an empty or unreadable stored book starts over without repeating any past instant.
//!
//! History is bounded: the last [`HISTORY`] entries per job (a `Pending` run is never dropped),
//! with consecutive skips for the same reason merged into one entry.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{run_key, Job};

/// Entries kept per job (runs and skips), oldest dropped first.
pub const HISTORY: usize = 50;

/// Why a due run was skipped because the job's previous run had not finished.
pub const SKIP_OVERLAP: &str = "previous run still going";
/// Why instants were skipped because the coordinator did not run when they were due.
pub const SKIP_MISSED: &str = "missed: the coordinator did not run";
/// Why a run that never reported an outcome failed.
pub const EXPIRED: &str = "exceeded max run time";

/// Instants a single `due` call counts in a missed span before it stops counting (the span's
/// count is then a lower bound; the job still resumes at the first instant after now).
const MAX_COUNTED: u64 = 100_000;

/// Every job's runs, by job name.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Book {
    #[serde(default)]
    jobs: BTreeMap<String, JobBook>,
}

/// One job's state: when it is next due, its recent runs, its totals.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct JobBook {
    /// The schedule `next_due_s` was computed with (its text): a changed schedule recomputes it.
    schedule: String,
    /// The next instant not yet recorded; `None` when the schedule never fires again.
    next_due_s: Option<u64>,
    /// The latest instant recorded (run or skipped): nothing at or before it is due again.
    last_recorded_s: Option<u64>,
    /// Recent runs and skips, oldest first.
    runs: Vec<Run>,
    /// Totals since the job entered the book.
    counts: JobCounts,
}

/// A job's totals since it entered the book.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct JobCounts {
    /// Runs recorded and handed to the glue to send.
    pub started: u64,
    /// Runs an origin answered with a success.
    pub succeeded: u64,
    /// Runs that failed (an origin's failure answer, no origin, or expiry).
    pub failed: u64,
    /// Due instants skipped because the previous run was still going.
    pub skipped: u64,
    /// Due instants skipped because the coordinator did not run in time.
    pub missed: u64,
}

/// One entry of a job's history: a run, or skipped instants.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Run {
    /// The run's `Idempotency-Key`, `job@scheduled_s` (for a skipped span, its first instant's).
    pub key: String,
    /// The instant it was due (Unix seconds, UTC).
    pub scheduled_s: u64,
    /// Where it stands.
    pub state: RunState,
    /// When the coordinator recorded it (ms since the epoch): a run's start.
    pub recorded_ms: u64,
    /// How late it was recorded: `recorded_ms - scheduled_s × 1000`.
    pub lateness_ms: u64,
    /// After this, a still `Pending` run is failed by [`Book::expire`] (recorded + `max_run_s`).
    pub deadline_ms: u64,
    /// The origin of the latest attempt.
    pub origin: Option<String>,
    /// Origins tried so far.
    pub attempts: u32,
    /// When it succeeded or failed.
    pub finished_ms: Option<u64>,
}

/// Where a run stands. Stored as `{"kind": "failed", "why": …}` (through [`RunStateWire`]: an
/// internally tagged enum's derived deserializer costs the Wasm worker about 10 KB).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RunStateWire", into = "RunStateWire")]
pub enum RunState {
    /// Recorded and handed to the glue; no outcome yet.
    Pending,
    /// An origin answered with a success status.
    Succeeded {
        /// The origin's status.
        status: u16,
    },
    /// It failed: the reason.
    Failed {
        /// What went wrong (`status 500`, `no healthy origin`, `exceeded max run time`, …).
        why: String,
    },
    /// Not run: one instant, or several consecutive ones skipped for the same reason.
    Skipped {
        /// [`SKIP_OVERLAP`] or [`SKIP_MISSED`].
        why: String,
        /// How many instants this entry stands for.
        instants: u64,
        /// The last of them (the first is the entry's `scheduled_s`).
        last_s: u64,
    },
}

/// The stored form of a [`RunState`]: its kind and the fields that kind has.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
struct RunStateWire {
    kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    why: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    instants: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    last_s: Option<u64>,
}

impl From<RunState> for RunStateWire {
    fn from(s: RunState) -> Self {
        let kind = |k: &str| k.to_string();
        match s {
            RunState::Pending => RunStateWire {
                kind: kind("pending"),
                ..Default::default()
            },
            RunState::Succeeded { status } => RunStateWire {
                kind: kind("succeeded"),
                status: Some(status),
                ..Default::default()
            },
            RunState::Failed { why } => RunStateWire {
                kind: kind("failed"),
                why: Some(why),
                ..Default::default()
            },
            RunState::Skipped {
                why,
                instants,
                last_s,
            } => RunStateWire {
                kind: kind("skipped"),
                why: Some(why),
                instants: Some(instants),
                last_s: Some(last_s),
                status: None,
            },
        }
    }
}

impl TryFrom<RunStateWire> for RunState {
    type Error = String;

    fn try_from(w: RunStateWire) -> Result<Self, String> {
        let missing = |f: &str| format!("a `{}` run state needs `{f}`", w.kind);
        Ok(match w.kind.as_str() {
            "pending" => RunState::Pending,
            "succeeded" => RunState::Succeeded {
                status: w.status.ok_or_else(|| missing("status"))?,
            },
            "failed" => RunState::Failed {
                why: w.why.clone().ok_or_else(|| missing("why"))?,
            },
            "skipped" => RunState::Skipped {
                why: w.why.clone().ok_or_else(|| missing("why"))?,
                instants: w.instants.ok_or_else(|| missing("instants"))?,
                last_s: w.last_s.ok_or_else(|| missing("last_s"))?,
            },
            other => return Err(format!("unknown run state `{other}`")),
        })
    }
}

/// How a run ended, as the glue reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// An origin answered with a success status.
    Succeeded {
        /// The origin's status.
        status: u16,
    },
    /// No origin could run it, or one answered with a failure.
    Failed {
        /// What went wrong.
        why: String,
    },
}

/// A run to send now: the glue picks a healthy origin of the job's pool and sends the job's
/// request with `Idempotency-Key: key`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Start {
    /// The job's name.
    pub job: String,
    /// The instant it was due.
    pub scheduled_s: u64,
    /// Its `Idempotency-Key`, `job@scheduled_s`.
    pub key: String,
    /// How late it starts.
    pub lateness_ms: u64,
}

impl Run {
    /// How long it ran (recorded to finished), once finished.
    pub fn duration_ms(&self) -> Option<u64> {
        self.finished_ms.map(|f| f.saturating_sub(self.recorded_ms))
    }

    /// Whether it is still going.
    pub fn is_pending(&self) -> bool {
        self.state == RunState::Pending
    }
}

impl JobBook {
    /// The next instant the job is due (Unix seconds), if it fires again.
    pub fn next_due_s(&self) -> Option<u64> {
        self.next_due_s
    }

    /// Recent runs and skips, oldest first.
    pub fn runs(&self) -> &[Run] {
        &self.runs
    }

    /// Totals since the job entered the book.
    pub fn counts(&self) -> JobCounts {
        self.counts
    }

    fn new(job: &Job, now_s: u64) -> Self {
        JobBook {
            schedule: job.schedule.to_string(),
            next_due_s: job.schedule.next_after(now_s),
            ..JobBook::default()
        }
    }

    /// Adds an entry, dropping the oldest finished ones beyond [`HISTORY`].
    fn push(&mut self, run: Run) {
        self.runs.push(run);
        while self.runs.len() > HISTORY {
            match self.runs.iter().position(|r| !r.is_pending()) {
                Some(i) => {
                    self.runs.remove(i);
                }
                None => break,
            }
        }
    }

    /// Records skipped instants `first_s..=last_s` (`instants` of them), merged into the latest
    /// entry when that is a skip for the same reason.
    fn skip(
        &mut self,
        name: &str,
        why: &str,
        first_s: u64,
        last_s: u64,
        instants: u64,
        now_ms: u64,
    ) {
        if let Some(Run {
            state:
                RunState::Skipped {
                    why: w,
                    instants: n,
                    last_s: l,
                },
            ..
        }) = self.runs.last_mut()
        {
            if w == why {
                *n = n.saturating_add(instants);
                *l = last_s;
                return;
            }
        }
        self.push(Run {
            key: run_key(name, first_s),
            scheduled_s: first_s,
            state: RunState::Skipped {
                why: why.into(),
                instants,
                last_s,
            },
            recorded_ms: now_ms,
            lateness_ms: lateness(now_ms, first_s),
            deadline_ms: now_ms,
            origin: None,
            attempts: 0,
            finished_ms: None,
        });
    }

    fn expire(&mut self, now_ms: u64) -> Vec<String> {
        let mut expired = Vec::new();
        for run in &mut self.runs {
            if run.is_pending() && now_ms >= run.deadline_ms {
                run.state = RunState::Failed {
                    why: EXPIRED.into(),
                };
                run.finished_ms = Some(now_ms);
                self.counts.failed = self.counts.failed.saturating_add(1);
                expired.push(run.key.clone());
            }
        }
        expired
    }

    fn pending_mut(&mut self, key: &str) -> Option<&mut Run> {
        self.runs
            .iter_mut()
            .find(|r| r.key == key && r.is_pending())
    }
}

fn lateness(now_ms: u64, scheduled_s: u64) -> u64 {
    now_ms.saturating_sub(scheduled_s.saturating_mul(1_000))
}

impl Book {
    /// Brings the book in line with the configured jobs: a new job is first due strictly after
    /// `now_ms` (nothing in the past runs), a job whose schedule changed is next due by the new
    /// schedule (after now and after its last recorded instant), a removed job is forgotten.
    pub fn sync(&mut self, jobs: &[Job], now_ms: u64) {
        let now_s = now_ms / 1_000;
        self.jobs
            .retain(|name, _| jobs.iter().any(|j| j.name == *name));
        for job in jobs {
            match self.jobs.get_mut(&job.name) {
                None => {
                    self.jobs.insert(job.name.clone(), JobBook::new(job, now_s));
                }
                Some(book) => {
                    let schedule = job.schedule.to_string();
                    if book.schedule != schedule {
                        let from = now_s.max(book.last_recorded_s.unwrap_or(0));
                        book.schedule = schedule;
                        book.next_due_s = job.schedule.next_after(from);
                    }
                }
            }
        }
    }

    /// The runs to start now. Syncs with `jobs` and expires overdue runs first; then, for each
    /// job whose next instant has come: records the earliest passed instant as a `Pending` run
    /// (returned as a [`Start`]) or, while a run of the job is still going, as skipped; records the
    /// later passed instants as missed; and moves the job to its first instant after now.
    ///
    /// Store the book before sending the returned runs: a run is returned once, ever.
    pub fn due(&mut self, jobs: &[Job], now_ms: u64) -> Vec<Start> {
        self.sync(jobs, now_ms);
        self.expire(now_ms);
        let now_s = now_ms / 1_000;
        let mut starts = Vec::new();
        for job in jobs {
            let Some(book) = self.jobs.get_mut(&job.name) else {
                continue;
            };
            let Some(mut first) = book.next_due_s else {
                continue;
            };
            // Never an instant at or before one already recorded (a stored book edited by hand,
            // or written by another version).
            if let Some(last) = book.last_recorded_s.filter(|l| first <= *l) {
                match job.schedule.next_after(last) {
                    Some(f) => first = f,
                    None => {
                        book.next_due_s = None;
                        continue;
                    }
                }
                book.next_due_s = Some(first);
            }
            if first > now_s {
                continue;
            }
            // The later instants that have passed too: missed.
            let mut missed = 0u64;
            let mut missed_from = None;
            let mut last = first;
            let mut next = job.schedule.next_after(first);
            while let Some(n) = next.filter(|n| *n <= now_s) {
                missed += 1;
                missed_from.get_or_insert(n);
                last = n;
                if missed >= MAX_COUNTED {
                    next = job.schedule.next_after(now_s);
                    break;
                }
                next = job.schedule.next_after(n);
            }
            book.next_due_s = next;
            book.last_recorded_s = Some(last);
            if book.runs.iter().any(Run::is_pending) {
                book.skip(&job.name, SKIP_OVERLAP, first, first, 1, now_ms);
                book.counts.skipped = book.counts.skipped.saturating_add(1);
            } else {
                let key = job.run_key(first);
                let lateness_ms = lateness(now_ms, first);
                book.push(Run {
                    key: key.clone(),
                    scheduled_s: first,
                    state: RunState::Pending,
                    recorded_ms: now_ms,
                    lateness_ms,
                    deadline_ms: now_ms.saturating_add(job.max_run_s.saturating_mul(1_000)),
                    origin: None,
                    attempts: 0,
                    finished_ms: None,
                });
                book.counts.started = book.counts.started.saturating_add(1);
                starts.push(Start {
                    job: job.name.clone(),
                    scheduled_s: first,
                    key,
                    lateness_ms,
                });
            }
            if let Some(from) = missed_from {
                book.skip(&job.name, SKIP_MISSED, from, last, missed, now_ms);
                book.counts.missed = book.counts.missed.saturating_add(missed);
            }
        }
        starts
    }

    /// Fails every `Pending` run past its deadline (`max_run_s` after it was recorded) with
    /// [`EXPIRED`], and returns their keys. Such a run is over: its job may run again, and the run
    /// itself is never sent again.
    pub fn expire(&mut self, now_ms: u64) -> Vec<String> {
        self.jobs
            .values_mut()
            .flat_map(|b| b.expire(now_ms))
            .collect()
    }

    /// Records that the run `key` is being sent to `origin`, counting the attempt. False — do
    /// not send — when the run is not pending (unknown, finished, or past its deadline, which
    /// expires it).
    pub fn attempt(&mut self, key: &str, origin: &str, now_ms: u64) -> bool {
        let Some(book) = self.book_of_mut(key) else {
            return false;
        };
        book.expire(now_ms);
        match book.pending_mut(key) {
            Some(run) => {
                run.origin = Some(origin.to_string());
                run.attempts = run.attempts.saturating_add(1);
                true
            }
            None => false,
        }
    }

    /// Records how the run `key` ended. False when it is not pending (unknown, already finished
    /// or expired): the outcome is then ignored.
    pub fn finish(&mut self, key: &str, outcome: Outcome, now_ms: u64) -> bool {
        let Some(book) = self.book_of_mut(key) else {
            return false;
        };
        let Some(run) = book.pending_mut(key) else {
            return false;
        };
        run.finished_ms = Some(now_ms);
        let succeeded = matches!(outcome, Outcome::Succeeded { .. });
        run.state = match outcome {
            Outcome::Succeeded { status } => RunState::Succeeded { status },
            Outcome::Failed { why } => RunState::Failed { why },
        };
        if succeeded {
            book.counts.succeeded = book.counts.succeeded.saturating_add(1);
        } else {
            book.counts.failed = book.counts.failed.saturating_add(1);
        }
        true
    }

    /// When the coordinator should wake next for jobs (ms since the epoch): the earliest due
    /// instant, or a pending run's deadline if sooner. `None` with no job to wait for.
    pub fn next_alarm_ms(&self) -> Option<u64> {
        self.jobs
            .values()
            .flat_map(|b| {
                let due = b.next_due_s.map(|s| s.saturating_mul(1_000));
                let deadlines = b
                    .runs
                    .iter()
                    .filter(|r| r.is_pending())
                    .map(|r| r.deadline_ms);
                due.into_iter().chain(deadlines)
            })
            .min()
    }

    /// One job's state, by name.
    pub fn job(&self, name: &str) -> Option<&JobBook> {
        self.jobs.get(name)
    }

    /// The run (or skip entry) with this key, if still in the history.
    pub fn run(&self, key: &str) -> Option<&Run> {
        self.book_of(key)?.runs.iter().rev().find(|r| r.key == key)
    }

    /// The runs due now ([`Book::due`]) with the book to store before sending them; `None` when
    /// the book did not change (nothing to store, nothing to send).
    pub fn take_due(&mut self, jobs: &[Job], now_ms: u64) -> Option<(Vec<Start>, String)> {
        let before = self.to_json();
        let starts = self.due(jobs, now_ms);
        let after = self.to_json();
        (after != before).then_some((starts, after))
    }

    /// The stored form (JSON).
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| "{}".into())
    }

    /// The stored book (`None`: never stored). A missing or unreadable one starts afresh (which
    /// re-runs nothing: runs are due from now); the error says why an unreadable one was dropped.
    pub fn restore(stored: Option<&str>) -> (Book, Option<String>) {
        match stored.map(Book::from_json) {
            Some(Ok(b)) => (b, None),
            Some(Err(why)) => (Book::default(), Some(why)),
            None => (Book::default(), None),
        }
    }

    /// Reads the stored form. An unreadable book can be replaced by `Book::default()` safely: a
    /// fresh book re-runs nothing (see the module documentation).
    pub fn from_json(json: &str) -> Result<Book, String> {
        serde_json::from_str(json).map_err(|e| format!("stored job book unreadable: {e}"))
    }

    fn book_of(&self, key: &str) -> Option<&JobBook> {
        let (name, _) = key.rsplit_once('@')?;
        self.jobs.get(name)
    }

    fn book_of_mut(&mut self, key: &str) -> Option<&mut JobBook> {
        let (name, _) = key.rsplit_once('@')?;
        self.jobs.get_mut(name)
    }
}

#[cfg(test)]
mod tests;
