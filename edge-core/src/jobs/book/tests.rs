//! The run state machine: due → sent → done / failed, skipped on overlap, late alarms, never
//! twice (repeated calls, restarts), expiry, bounded history.

use super::*;
use crate::jobs::Schedule;

fn job(name: &str, schedule: &str, max_run_s: u64) -> Job {
    Job {
        name: name.into(),
        schedule: Schedule::parse(schedule).unwrap(),
        pool: "dc1".into(),
        path: format!("/_jobs/{name}"),
        method: "POST".into(),
        timeout_ms: 1_000,
        max_run_s,
    }
}

fn keys(starts: &[Start]) -> Vec<&str> {
    starts.iter().map(|s| s.key.as_str()).collect()
}

fn states(book: &Book, name: &str) -> Vec<(u64, RunState)> {
    book.job(name)
        .unwrap()
        .runs()
        .iter()
        .map(|r| (r.scheduled_s, r.state.clone()))
        .collect()
}

fn skipped(why: &str, instants: u64, last_s: u64) -> RunState {
    RunState::Skipped {
        why: why.into(),
        instants,
        last_s,
    }
}

#[test]
fn due_sent_done() {
    let jobs = [job("a", "every 10s", 300)];
    let mut book = Book::default();
    assert!(book.due(&jobs, 1_000_500).is_empty(), "first due after now");
    assert_eq!(book.job("a").unwrap().next_due_s(), Some(1_010));
    assert_eq!(book.next_alarm_ms(), Some(1_010_000));
    assert!(book.due(&jobs, 1_009_999).is_empty());
    let starts = book.due(&jobs, 1_010_200);
    assert_eq!(
        starts,
        [Start {
            job: "a".into(),
            scheduled_s: 1_010,
            key: "a@1010".into(),
            lateness_ms: 200
        }]
    );
    assert!(book.due(&jobs, 1_010_200).is_empty(), "never twice");
    assert!(book.due(&jobs, 1_019_999).is_empty());
    let run = book.run("a@1010").unwrap();
    assert!(run.is_pending());
    assert_eq!((run.attempts, run.origin.as_deref()), (0, None));
    assert_eq!(run.deadline_ms, 1_310_200);

    // The glue's loop: the first origin fails before answering, the second runs it.
    assert!(book.attempt("a@1010", "http://o1", 1_010_300));
    assert!(book.attempt("a@1010", "http://o2", 1_010_900));
    assert!(book.finish("a@1010", Outcome::Succeeded { status: 200 }, 1_011_400));
    let run = book.run("a@1010").unwrap();
    assert_eq!(run.state, RunState::Succeeded { status: 200 });
    assert_eq!(
        (run.attempts, run.origin.as_deref()),
        (2, Some("http://o2"))
    );
    assert_eq!(run.duration_ms(), Some(1_200));
    assert!(!book.finish("a@1010", Outcome::Failed { why: "late".into() }, 1_011_500));
    assert!(
        !book.attempt("a@1010", "http://o3", 1_011_500),
        "finished: not sent again"
    );
    assert_eq!(
        book.run("a@1010").unwrap().state,
        RunState::Succeeded { status: 200 }
    );

    assert_eq!(keys(&book.due(&jobs, 1_020_000)), ["a@1020"]);
    assert!(book.finish(
        "a@1020",
        Outcome::Failed {
            why: "status 500".into()
        },
        1_020_050
    ));
    assert_eq!(
        book.job("a").unwrap().counts(),
        JobCounts {
            started: 2,
            succeeded: 1,
            failed: 1,
            skipped: 0,
            missed: 0
        }
    );
}

#[test]
fn unknown_keys_are_refused() {
    let jobs = [job("a", "every 10s", 300)];
    let mut book = Book::default();
    book.due(&jobs, 1_000_000);
    for key in ["a@1010", "b@1010", "a", "", "@", "a@x"] {
        assert!(!book.attempt(key, "http://o1", 1_000_000), "{key}");
        assert!(
            !book.finish(key, Outcome::Succeeded { status: 200 }, 1_000_000),
            "{key}"
        );
        assert!(book.run(key).is_none(), "{key}");
    }
}

#[test]
fn a_run_still_going_makes_the_next_one_a_skip() {
    let jobs = [job("a", "every 10s", 60)];
    let mut book = Book::default();
    book.due(&jobs, 1_000_000);
    assert_eq!(keys(&book.due(&jobs, 1_010_000)), ["a@1010"]);
    assert!(book.due(&jobs, 1_020_000).is_empty(), "no overlap");
    assert!(book.due(&jobs, 1_030_000).is_empty());
    assert_eq!(
        states(&book, "a"),
        [
            (1_010, RunState::Pending),
            (1_020, skipped(SKIP_OVERLAP, 2, 1_030)),
        ],
        "consecutive skips merge"
    );
    assert!(book.finish("a@1010", Outcome::Succeeded { status: 200 }, 1_035_000));
    assert_eq!(keys(&book.due(&jobs, 1_040_000)), ["a@1040"]);
    assert_eq!(book.job("a").unwrap().counts().skipped, 2);
    // The skip entry keeps its first instant's key.
    assert_eq!(book.run("a@1020").unwrap().scheduled_s, 1_020);
}

#[test]
fn a_run_past_its_max_run_time_fails_and_is_never_sent_again() {
    let jobs = [job("a", "every 10s", 15)];
    let mut book = Book::default();
    book.due(&jobs, 1_000_000);
    book.due(&jobs, 1_010_000);
    assert!(book.attempt("a@1010", "http://o1", 1_010_000));
    // The deadline is sooner than the next instant: the alarm is due for it.
    assert_eq!(book.next_alarm_ms(), Some(1_020_000));
    assert!(
        book.due(&jobs, 1_020_000).is_empty(),
        "within max_run_s: skip"
    );
    assert_eq!(book.next_alarm_ms(), Some(1_025_000), "the deadline");
    assert_eq!(book.expire(1_024_999), Vec::<String>::new());
    assert_eq!(book.expire(1_025_000), ["a@1010"]);
    assert_eq!(
        book.run("a@1010").unwrap().state,
        RunState::Failed {
            why: EXPIRED.into()
        }
    );
    assert!(
        !book.attempt("a@1010", "http://o2", 1_025_001),
        "never sent again"
    );
    assert!(!book.finish("a@1010", Outcome::Succeeded { status: 200 }, 1_026_000));
    assert_eq!(keys(&book.due(&jobs, 1_030_000)), ["a@1030"]);

    // `attempt` past the deadline expires the run instead of sending it; so does `due`.
    assert!(!book.attempt("a@1030", "http://o1", 1_045_000));
    assert_eq!(
        book.run("a@1030").unwrap().state,
        RunState::Failed {
            why: EXPIRED.into()
        }
    );
    assert_eq!(keys(&book.due(&jobs, 1_050_000)), ["a@1040"]);
    assert_eq!(
        keys(&book.due(&jobs, 1_070_000)),
        ["a@1060"],
        "due expired a@1040"
    );
    assert_eq!(book.job("a").unwrap().counts().failed, 3);
}

#[test]
fn a_late_alarm_runs_the_missed_run_once_and_records_the_rest_as_missed() {
    let jobs = [job("a", "every 10s", 300)];
    let mut book = Book::default();
    book.due(&jobs, 1_000_000);
    let starts = book.due(&jobs, 1_047_500);
    assert_eq!(keys(&starts), ["a@1010"], "the earliest, once");
    assert_eq!(starts[0].lateness_ms, 37_500);
    assert_eq!(
        states(&book, "a"),
        [
            (1_010, RunState::Pending),
            (1_020, skipped(SKIP_MISSED, 3, 1_040)),
        ]
    );
    assert_eq!(book.run("a@1010").unwrap().lateness_ms, 37_500);
    assert_eq!(book.job("a").unwrap().next_due_s(), Some(1_050));
    assert!(book.due(&jobs, 1_049_000).is_empty());

    // Late again while the late run is still going: the due instant is an overlap skip, the
    // rest missed.
    assert!(book.due(&jobs, 1_071_000).is_empty());
    assert_eq!(
        states(&book, "a")[2..],
        [
            (1_050, skipped(SKIP_OVERLAP, 1, 1_050)),
            (1_060, skipped(SKIP_MISSED, 2, 1_070)),
        ]
    );
    let c = book.job("a").unwrap().counts();
    assert_eq!((c.started, c.skipped, c.missed), (1, 1, 5));

    // A cron job down for a long time: counted, not walked forever.
    let jobs = [job("m", "* * * * *", 300)];
    let mut book = Book::default();
    book.due(&jobs, 0);
    let a_year = 365 * 86_400_000;
    assert_eq!(keys(&book.due(&jobs, a_year)), ["m@60"]);
    assert_eq!(book.job("m").unwrap().counts().missed, MAX_COUNTED);
    assert_eq!(
        book.job("m").unwrap().next_due_s(),
        Some(a_year / 1_000 + 60)
    );
}

#[test]
fn never_twice_across_restarts() {
    let jobs = [job("a", "every 10s", 300), job("b", "*/1 * * * *", 300)];
    let mut book = Book::default();
    book.due(&jobs, 1_000_000);
    let starts = book.due(&jobs, 1_080_100);
    assert_eq!(keys(&starts), ["a@1010", "b@1020"]);
    // The coordinator is evicted right after storing the book, before sending anything.
    let stored = book.to_json();
    let mut book = Book::from_json(&stored).unwrap();
    assert_eq!(Book::from_json(&book.to_json()).unwrap(), book);
    assert!(book.due(&jobs, 1_080_100).is_empty());
    assert!(book.due(&jobs, 1_081_000).is_empty());
    // Nobody reports: the runs fail at their deadline and are not sent again.
    let expired = book.expire(1_380_100);
    assert_eq!(expired, ["a@1010", "b@1020"]);
    let later = book.due(&jobs, 1_380_100);
    assert_eq!(keys(&later), ["a@1090", "b@1140"]);

    // A stored book edited back in time still starts nothing already recorded.
    let rewound = book
        .to_json()
        .replace("\"next_due_s\":1390", "\"next_due_s\":1010");
    assert_ne!(rewound, book.to_json());
    let mut book = Book::from_json(&rewound).unwrap();
    let again = book.due(&jobs, 1_390_000);
    assert!(
        again.iter().all(|s| s.scheduled_s > 1_380),
        "{:?}",
        keys(&again)
    );

    // An unreadable book is replaced by an empty one: it starts over after now.
    assert!(Book::from_json("{not json").is_err());
    let mut fresh = Book::default();
    assert!(fresh.due(&jobs, 1_390_000).is_empty());
}

#[test]
fn random_alarms_finishes_and_restarts_never_start_a_run_twice_and_miss_nothing_unrecorded() {
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut rnd = |n: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % n
    };
    let jobs = [
        job("fast", "every 5s", 12),
        job("slow", "every 30s", 100),
        job("cron", "*/2 * * * *", 30),
    ];
    let t0 = 1_800_000_000_000u64;
    let mut book = Book::default();
    book.due(&jobs, t0);
    let mut seen = std::collections::HashSet::new();
    let mut now = t0;
    for _ in 0..3_000 {
        let long = rnd(20) == 0;
        now += 1 + rnd(if long { 60_000 } else { 3_000 });
        for s in book.due(&jobs, now) {
            assert!(seen.insert(s.key.clone()), "{} started twice", s.key);
            assert!(s.scheduled_s * 1_000 <= now);
        }
        for j in &jobs {
            let pending = book
                .job(&j.name)
                .unwrap()
                .runs()
                .iter()
                .filter(|r| r.is_pending());
            assert!(pending.count() <= 1, "overlap in {}", j.name);
        }
        // Finish some pending runs, after some attempts.
        let pending: Vec<String> = jobs
            .iter()
            .flat_map(|j| book.job(&j.name).unwrap().runs().to_vec())
            .filter(|r| r.is_pending())
            .map(|r| r.key)
            .collect();
        for key in pending {
            if rnd(3) == 0 {
                book.attempt(&key, "http://o", now);
                let failed = rnd(4) == 0;
                let outcome = if failed {
                    Outcome::Failed {
                        why: "status 500".into(),
                    }
                } else {
                    Outcome::Succeeded { status: 200 }
                };
                book.finish(&key, outcome, now);
            }
        }
        if rnd(50) == 0 {
            book = Book::from_json(&book.to_json()).unwrap();
        }
    }
    // Every instant in (t0, now] is accounted for exactly once: started, skipped or missed.
    for j in &jobs {
        let c = book.job(&j.name).unwrap().counts();
        let mut instants = 0;
        let mut t = t0 / 1_000;
        while let Some(n) = j.schedule.next_after(t).filter(|n| *n <= now / 1_000) {
            instants += 1;
            t = n;
        }
        assert_eq!(
            c.started + c.skipped + c.missed,
            instants,
            "{}: {c:?}",
            j.name
        );
        assert!(c.started > 0 && c.succeeded > 0, "{}: {c:?}", j.name);
        assert!(book.job(&j.name).unwrap().runs().len() <= HISTORY);
    }
}

#[test]
fn sync_adds_changes_and_forgets_jobs() {
    let mut book = Book::default();
    book.due(&[job("a", "every 10s", 300)], 1_000_000);
    book.due(&[job("a", "every 10s", 300)], 1_010_000);
    // A new job starts after now; a changed schedule is followed from now on.
    let jobs = [job("a", "every 60s", 300), job("b", "every 10s", 300)];
    book.sync(&jobs, 1_015_000);
    assert_eq!(book.job("a").unwrap().next_due_s(), Some(1_020));
    assert_eq!(book.job("b").unwrap().next_due_s(), Some(1_020));
    assert_eq!(book.job("a").unwrap().runs().len(), 1, "history kept");
    book.sync(&jobs, 1_016_000);
    assert_eq!(book.job("a").unwrap().next_due_s(), Some(1_020), "stable");
    // Removed: forgotten; its keys are unknown.
    book.sync(&jobs[1..], 1_016_000);
    assert!(book.job("a").is_none());
    assert!(!book.finish("a@1010", Outcome::Succeeded { status: 200 }, 1_017_000));
    // A schedule that never fires: never due, no alarm for it.
    let never = [job("feb31", "0 0 31 2 *", 300)];
    let mut book = Book::default();
    assert!(book.due(&never, 1_000_000).is_empty());
    assert_eq!(book.next_alarm_ms(), None);
    assert_eq!(book.job("feb31").unwrap().next_due_s(), None);
}

#[test]
fn next_alarm_is_the_earliest_due_time() {
    let jobs = [job("a", "every 30s", 300), job("b", "every 20s", 300)];
    let mut book = Book::default();
    assert_eq!(book.next_alarm_ms(), None);
    book.due(&jobs, 1_000_000);
    assert_eq!(book.next_alarm_ms(), Some(1_020_000));
    book.due(&jobs, 1_020_000);
    assert_eq!(book.next_alarm_ms(), Some(1_040_000));
}

#[test]
fn history_is_bounded_and_keeps_the_pending_run() {
    let jobs = [job("a", "every 10s", 100_000)];
    let mut book = Book::default();
    book.due(&jobs, 1_000_000);
    book.due(&jobs, 1_010_000);
    // Late alarms while the run is still going: an overlap skip and a missed span each time.
    for i in 0..40u64 {
        book.due(&jobs, 1_035_000 + i * 30_000);
    }
    let runs = book.job("a").unwrap().runs();
    assert_eq!(runs.len(), HISTORY);
    assert_eq!(runs[0].key, "a@1010");
    assert!(runs[0].is_pending());
    assert!(matches!(runs[1].state, RunState::Skipped { .. }));

    // Finished runs: the oldest go first.
    let jobs = [job("b", "every 10s", 300)];
    let mut book = Book::default();
    book.due(&jobs, 1_000_000);
    for i in 1..=60u64 {
        let now = 1_000_000 + i * 10_000;
        for s in book.due(&jobs, now) {
            book.finish(&s.key, Outcome::Succeeded { status: 204 }, now + 5);
        }
    }
    let runs = book.job("b").unwrap().runs();
    assert_eq!(runs.len(), HISTORY);
    assert_eq!(runs[0].key, "b@1110");
    assert_eq!(runs[HISTORY - 1].key, "b@1600");
    assert_eq!(book.job("b").unwrap().counts().succeeded, 60);
}

#[test]
fn stored_form() {
    let jobs = [job("a", "every 10s", 300)];
    let mut book = Book::default();
    book.due(&jobs, 1_000_000);
    book.due(&jobs, 1_010_000);
    book.attempt("a@1010", "http://127.0.0.1:8001", 1_010_001);
    book.finish("a@1010", Outcome::Succeeded { status: 200 }, 1_010_050);
    let json = book.to_json();
    assert!(
        json.contains(r#""state":{"kind":"succeeded","status":200}"#),
        "{json}"
    );
    assert!(json.contains(r#""key":"a@1010""#), "{json}");
    // Fields added later default when reading an older book; unknown fields are ignored.
    let old: Book = Book::from_json(r#"{"jobs":{"a":{"next_due_s":1020,"extra":1}}}"#).unwrap();
    assert_eq!(old.job("a").unwrap().next_due_s(), Some(1_020));
    assert_eq!(Book::from_json("{}").unwrap(), Book::default());
    // A hostile stored book: counters at their limits, a due time at the epoch, a run with no
    // `@` in its key. Nothing panics, and the walk to now is bounded.
    let mut hostile = Book::from_json(
        r#"{"jobs":{"a":{"schedule":"every 10s","next_due_s":0,"counts":{"started":18446744073709551615,"missed":18446744073709551615,"failed":18446744073709551615},
            "runs":[{"key":"nokey","scheduled_s":0,"state":{"kind":"pending"},"recorded_ms":0,"lateness_ms":0,"deadline_ms":0,"origin":null,"attempts":4294967295,"finished_ms":null}]}}}"#,
    )
    .unwrap();
    let starts = hostile.due(&jobs, 1_000_000_000_000);
    assert_eq!(keys(&starts), ["a@0"]);
    assert!(hostile.attempt("a@0", "http://o", 1_000_000_000_000));
    assert!(!hostile.attempt("nokey", "http://o", 1_000_000_000_000));
    let c = hostile.job("a").unwrap().counts();
    assert_eq!(
        (c.started, c.missed, c.failed),
        (u64::MAX, u64::MAX, u64::MAX)
    );
}

#[test]
fn take_due_hands_out_the_book_to_store_only_when_it_changed() {
    let jobs = [job("a", "every 10s", 300)];
    let mut book = Book::default();
    let (starts, stored) = book.take_due(&jobs, 1_000_500).unwrap();
    assert!(starts.is_empty(), "synced, nothing due yet");
    assert_eq!(stored, book.to_json());
    assert_eq!(book.take_due(&jobs, 1_000_600), None, "unchanged");
    let (starts, stored) = book.take_due(&jobs, 1_010_000).unwrap();
    assert_eq!(keys(&starts), ["a@1010"]);
    assert_eq!(
        Book::from_json(&stored).unwrap(),
        book,
        "stored with the run recorded"
    );
}
