//! Where a job's run is sent and what each answer means: the coordinator's choices, no I/O.
//!
//! A run goes to one healthy origin of its pool. If that origin fails before answering (no
//! connection, a lost connection, no answer in time, a 502/503/504 from something in front of the
//! application), the next one gets the same `Idempotency-Key`: the origins' shared idempotency
//! store makes the application execute the key at most once, so trying again is safe. An answer
//! from the application itself is final: its 2xx is a success, anything else a failure, and a 409
//! means the run is still going on an origin that did not answer us (the outcome is unknown).

use crate::balancer::affinity::origin_id;
use crate::balancer::health::PoolVerdicts;
use crate::balancer::retry::Outcome as Transport;
use crate::balancer::Pool;
use crate::jobs::book::{Book, Outcome, RunState, Start, EXPIRED};
use crate::jobs::log;

/// Origins tried for one run, at most.
pub const MAX_ATTEMPTS: usize = 3;

/// The origins to try for run `key`, in order: the pool's enabled origins that pass their active
/// health check — every enabled origin when none does, since a run tried is better than a run
/// dropped — rotated by the run's key so that runs spread over the origins; at most
/// [`MAX_ATTEMPTS`].
pub fn candidates<'a>(
    key: &str,
    pool: &'a Pool,
    verdicts: Option<&PoolVerdicts>,
    now_ms: u64,
) -> Vec<&'a str> {
    let enabled: Vec<&str> = pool
        .origins
        .iter()
        .filter(|o| o.enabled)
        .map(|o| o.url.as_str())
        .collect();
    let up: Vec<&str> = match (&pool.health, verdicts) {
        (Some(check), Some(v)) => enabled
            .iter()
            .copied()
            .filter(|url| v.is_up(&origin_id(url), now_ms, check))
            .collect(),
        _ => enabled.clone(),
    };
    let mut list = if up.is_empty() { enabled } else { up };
    if !list.is_empty() {
        let turn = fnv(key) as usize % list.len();
        list.rotate_left(turn);
    }
    list.truncate(MAX_ATTEMPTS);
    list
}

/// What one attempt at an origin gave, as the glue saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attempt {
    /// The origin answered.
    Answered {
        /// The answer's status.
        status: u16,
        /// The first execution's status when the origin answered from its idempotency store
        /// (`Idempotency-Replayed: true`).
        replayed: Option<u16>,
    },
    /// No final answer: no connection, a lost one, a timeout, an invalid answer.
    Failed(Transport),
}

/// What to do after an attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    /// The run is over.
    Finish(Outcome),
    /// Try the next candidate; this origin failed for the reason given.
    TryNext(String),
}

/// The decision after `attempt` (`timeout_ms` names the limit in a timeout's reason).
pub fn judge(attempt: &Attempt, timeout_ms: u64) -> Next {
    match *attempt {
        Attempt::Answered {
            replayed: Some(first),
            ..
        } => finish(first, " (answered before; replayed)"),
        Attempt::Answered { status: 409, .. } => Next::Finish(Outcome::Failed {
            why: "409: the run is still going on another origin; its outcome is unknown here"
                .into(),
        }),
        Attempt::Answered {
            status: s @ (502..=504),
            ..
        } => Next::TryNext(format!("status {s}")),
        Attempt::Answered { status, .. } => finish(status, ""),
        Attempt::Failed(Transport::Refused) => Next::TryNext("connection failed".into()),
        Attempt::Failed(Transport::Lost) => Next::TryNext("connection lost".into()),
        Attempt::Failed(Transport::TimedOut) => {
            Next::TryNext(format!("no answer within {timeout_ms} ms"))
        }
        Attempt::Failed(Transport::Invalid) | Attempt::Failed(Transport::Answered(_)) => {
            Next::TryNext("invalid answer".into())
        }
        // A run's own request body (never a client's) broke off: another origin would fare
        // no better.
        Attempt::Failed(Transport::ClientAborted) => Next::Finish(Outcome::Failed {
            why: "the request's body broke off".into(),
        }),
    }
}

fn finish(status: u16, note: &str) -> Next {
    Next::Finish(if (200..300).contains(&status) {
        Outcome::Succeeded { status }
    } else {
        Outcome::Failed {
            why: format!("status {status}{note}"),
        }
    })
}

/// The failure recorded when every candidate failed: each origin and why.
pub fn exhausted(failures: &[(String, String)]) -> Outcome {
    let why = if failures.is_empty() {
        "no origin enabled in the pool".to_string()
    } else {
        let each: Vec<String> = failures.iter().map(|(o, w)| format!("{o}: {w}")).collect();
        format!("every origin failed ({})", each.join("; "))
    };
    Outcome::Failed { why }
}

/// The origins to try for run `key` of a job of `pool` (see [`candidates`]); none when the pool
/// is not configured.
pub fn candidates_in(
    key: &str,
    pool: Option<&Pool>,
    verdicts: Option<&PoolVerdicts>,
    now_ms: u64,
) -> Vec<String> {
    let list = pool.map(|p| candidates(key, p, verdicts, now_ms));
    list.into_iter().flatten().map(str::to_string).collect()
}

/// One run's attempts so far: the origins that failed (and why), or the answer that ended it.
#[derive(Debug, Default)]
pub struct Tally {
    /// Each origin that failed before answering, and why.
    pub failures: Vec<(String, String)>,
    outcome: Option<Outcome>,
}

impl Tally {
    /// Records `attempt` at `origin` (see [`judge`]); true when the run is over: try no other.
    pub fn record(&mut self, origin: &str, attempt: &Attempt, timeout_ms: u64) -> bool {
        match judge(attempt, timeout_ms) {
            Next::Finish(o) => self.outcome = Some(o),
            Next::TryNext(why) => self.failures.push((origin.to_string(), why)),
        }
        self.outcome.is_some()
    }

    /// Records how the run `start` ended in `book` — its answer, else every candidate failed
    /// ([`exhausted`]) — and returns the run's log line. A run its `max_run_s` expired meanwhile
    /// keeps that end (the outcome is ignored) and gets its line here, from its own task; `None`
    /// when the book no longer has it otherwise (finished elsewhere: nothing to log).
    pub fn finish(self, book: &mut Book, start: &Start, now_ms: u64) -> Option<String> {
        let outcome = self.outcome.unwrap_or_else(|| exhausted(&self.failures));
        let line = log::run_line(
            start,
            &outcome,
            &self.failures,
            book.run(&start.key),
            now_ms,
        );
        if book.finish(&start.key, outcome, now_ms) {
            return Some(line);
        }
        let run = book.run(&start.key);
        let expired =
            run.is_some_and(|r| matches!(&r.state, RunState::Failed { why } if why == EXPIRED));
        let outcome = Outcome::Failed {
            why: EXPIRED.into(),
        };
        expired.then(|| log::run_line(start, &outcome, &self.failures, run, now_ms))
    }
}

/// FNV-1a, to spread runs over origins deterministically.
fn fnv(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::balancer::health::{HealthCheck, Probe};
    use crate::balancer::{Origin, Steering};

    fn pool(n: usize, health: bool) -> Pool {
        Pool {
            steering: Steering::WeightedRoundRobin,
            origins: (0..n)
                .map(|i| Origin {
                    url: format!("http://o{i}"),
                    weight: 1,
                    enabled: true,
                })
                .collect(),
            sticky: false,
            health: health.then(|| HealthCheck {
                method: "GET".into(),
                path: "/health".into(),
                headers: vec![],
                timeout_ms: 1000,
                expected_codes: vec![200],
                expected_body: None,
                healthy_threshold: 2,
                unhealthy_threshold: 2,
                ttl_s: 60,
            }),
        }
    }

    #[test]
    fn healthy_origins_first_spread_by_key_and_bounded() {
        let p = pool(5, false);
        let mut firsts = std::collections::BTreeSet::new();
        for s in 0..50 {
            let c = candidates(&format!("j@{s}"), &p, None, 0);
            assert_eq!(c.len(), MAX_ATTEMPTS);
            let distinct: std::collections::BTreeSet<_> = c.iter().collect();
            assert_eq!(distinct.len(), c.len(), "no origin twice");
            firsts.insert(c[0]);
        }
        assert_eq!(firsts.len(), 5, "runs spread over every origin");
        assert_eq!(
            candidates("k", &p, None, 0),
            candidates("k", &p, None, 0),
            "deterministic"
        );

        let mut p = pool(3, true);
        p.origins[2].enabled = false;
        let check = p.health.clone().unwrap();
        let mut v = PoolVerdicts::default();
        let probes = |a: bool, b: bool, c: bool| {
            [a, b, c]
                .map(|ok| Probe {
                    result: if ok { Ok(()) } else { Err("down".into()) },
                    latency_ms: 1,
                })
                .to_vec()
        };
        for _ in 0..check.unhealthy_threshold {
            v.record_round(&p.origins, probes(false, true, true), 1000, &check);
        }
        for s in 0..20 {
            assert_eq!(
                candidates(&format!("j@{s}"), &p, Some(&v), 1000),
                vec!["http://o1"],
                "the sick and the drained origins are not tried"
            );
        }
        for _ in 0..check.unhealthy_threshold {
            v.record_round(&p.origins, probes(false, false, true), 2000, &check);
        }
        let mut all = candidates("j@1", &p, Some(&v), 2000);
        all.sort();
        assert_eq!(
            all,
            vec!["http://o0", "http://o1"],
            "none healthy: every enabled one"
        );
        for o in &mut p.origins {
            o.enabled = false;
        }
        assert!(candidates("j@1", &p, Some(&v), 2000).is_empty());
        assert_eq!(
            exhausted(&[]),
            Outcome::Failed {
                why: "no origin enabled in the pool".into()
            }
        );
    }

    #[test]
    fn answers_and_failures() {
        let ok = |status| Outcome::Succeeded { status };
        let answered = |status| Attempt::Answered {
            status,
            replayed: None,
        };
        assert_eq!(judge(&answered(200), 1), Next::Finish(ok(200)));
        assert_eq!(judge(&answered(204), 1), Next::Finish(ok(204)));
        assert!(matches!(
            judge(&answered(500), 1),
            Next::Finish(Outcome::Failed { why }) if why == "status 500"
        ));
        assert!(matches!(
            judge(&answered(409), 1),
            Next::Finish(Outcome::Failed { why }) if why.contains("still going")
        ));
        for s in [502, 503, 504] {
            assert_eq!(judge(&answered(s), 1), Next::TryNext(format!("status {s}")));
        }
        let replayed = |first| Attempt::Answered {
            status: 200,
            replayed: Some(first),
        };
        assert_eq!(judge(&replayed(201), 1), Next::Finish(ok(201)));
        assert!(matches!(
            judge(&replayed(500), 1),
            Next::Finish(Outcome::Failed { why }) if why.contains("500") && why.contains("replayed")
        ));
        assert_eq!(
            judge(&Attempt::Failed(Transport::TimedOut), 750),
            Next::TryNext("no answer within 750 ms".into())
        );
        for t in [Transport::Refused, Transport::Lost, Transport::Invalid] {
            assert!(matches!(judge(&Attempt::Failed(t), 1), Next::TryNext(_)));
        }
        match exhausted(&[("http://a".into(), "connection failed".into())]) {
            Outcome::Failed { why } => assert!(why.contains("http://a: connection failed")),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_tally_ends_at_the_first_answer_or_when_the_candidates_run_out() {
        use crate::jobs::Schedule;
        let job = crate::jobs::Job {
            name: "j".into(),
            schedule: Schedule::parse("every 10s").unwrap(),
            pool: "p".into(),
            path: "/_jobs/j".into(),
            method: "POST".into(),
            timeout_ms: 1_000,
            max_run_s: 300,
        };
        let answered = Attempt::Answered {
            status: 200,
            replayed: None,
        };
        let lost = Attempt::Failed(Transport::Lost);
        // (attempts, over after the last, logged outcome)
        let table: [(&[&Attempt], bool, &str); 3] = [
            (&[&lost, &answered], true, "\"status\":200"),
            (&[&lost, &lost], false, "every origin failed"),
            (&[], false, "no origin enabled"),
        ];
        for (attempts, over, want) in table {
            let mut book = Book::default();
            let jobs = std::slice::from_ref(&job);
            assert!(
                book.due(jobs, 10_000).is_empty(),
                "the first run is due at 20 s"
            );
            let start = book.due(jobs, 20_000).pop().unwrap();
            let mut tally = Tally::default();
            let mut ended = false;
            for (i, a) in attempts.iter().enumerate() {
                assert!(book.attempt(&start.key, &format!("http://o{i}"), 20_000));
                ended = tally.record(&format!("http://o{i}"), a, 1_000);
            }
            assert_eq!(ended, over, "{want}");
            let line = tally.finish(&mut book, &start, 20_500).unwrap();
            assert!(line.contains(want), "{line}");
            assert!(!book.run(&start.key).unwrap().is_pending());
            let again = Tally::default().finish(&mut book, &start, 20_600);
            assert_eq!(again, None, "finished once: a second outcome is ignored");
        }
        // Past max_run_s between two attempts: no further attempt, and the run's task logs the
        // expiry (the book's own end), not the outcome it had so far.
        let mut book = Book::default();
        let jobs = std::slice::from_ref(&job);
        book.due(jobs, 10_000);
        let start = book.due(jobs, 20_000).pop().unwrap();
        let mut tally = Tally::default();
        assert!(book.attempt(&start.key, "http://o0", 20_000));
        tally.record("http://o0", &lost, 1_000);
        assert!(!book.attempt(&start.key, "http://o1", 20_000 + 300_000));
        let line = tally.finish(&mut book, &start, 320_001).expect("logged");
        assert!(line.contains("exceeded max run time"), "{line}");
        assert!(
            candidates_in("j@1", None, None, 0).is_empty(),
            "no such pool"
        );
        let p = pool(2, false);
        assert_eq!(
            candidates_in("j@1", Some(&p), None, 0),
            candidates("j@1", &p, None, 0)
        );
    }
}
