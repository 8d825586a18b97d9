//! What the coordinator (one Durable Object every isolate shares) keeps and hands out: the
//! active-health verdicts it probes for, and the cache's purge log. Isolates copy a snapshot at
//! most once per poll interval, in the background: never a coordinator call per request.

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::balancer::health::{HealthCheck, PoolVerdicts, Probe};
use crate::balancer::{Origin, Pool};
use crate::cache::purge::PurgeLog;
use crate::config::Config;
use crate::jobs::Book;
use crate::origin_auth::OriginKey;

/// What an isolate copies from the coordinator.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    /// The coordinator's clock when it answered, ms since the epoch.
    pub now_ms: u64,
    /// Verdicts of the active health checks, by pool.
    pub verdicts: BTreeMap<String, PoolVerdicts>,
    /// When each cache tag was last purged.
    pub purges: PurgeLog,
}

/// Storage key of the verdicts.
pub const VERDICTS_KEY: &str = "verdicts";
/// Storage key of the purge log.
pub const PURGES_KEY: &str = "purges";
/// Storage key of the jobs' run book.
pub const BOOK_KEY: &str = "book";

/// A write to the coordinator's storage: the key and the JSON text to store under it.
pub type Write = (&'static str, String);

/// Purges older than this are forgotten: no stored copy is kept longer (see `keep_for_s`).
pub const PURGE_HORIZON_MS: u64 = 366 * 86_400 * 1000;

/// Alarms this close to a probe round's time run it (the runtime fires them a little early).
const EARLY_MS: u64 = 20;

/// What an isolate (or the cron trigger) asks of the coordinator, over `fetch`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ask {
    /// `GET /snapshot`: verdicts and purges.
    Snapshot,
    /// `GET /book`: the jobs' run book.
    Book,
    /// `POST /purge` with a JSON array of tags; answered with the snapshot after it.
    Purge(Vec<String>),
    /// `POST /arm`: keep the alarm armed; answered with the snapshot.
    Arm,
}

impl Ask {
    /// Reads a request to the coordinator; an error is the status and why.
    pub fn parse(method: &str, path: &str, body: &str) -> Result<Ask, (u16, String)> {
        match (method, path) {
            ("GET", "/snapshot") => Ok(Ask::Snapshot),
            ("GET", "/book") => Ok(Ask::Book),
            ("POST", "/arm") => Ok(Ask::Arm),
            ("POST", "/purge") => serde_json::from_str(body)
                .map(Ask::Purge)
                .map_err(|e| (400, format!("a purge is a JSON array of tags: {e}"))),
            _ => Err((404, format!("no {method} {path} here"))),
        }
    }

    /// The request that carries this ask: method, path, and the body of a `POST`.
    pub fn request(&self) -> (&'static str, &'static str, Option<String>) {
        match self {
            Ask::Snapshot => ("GET", "/snapshot", None),
            Ask::Book => ("GET", "/book", None),
            Ask::Arm => ("POST", "/arm", Some(String::new())),
            Ask::Purge(tags) => {
                let body = serde_json::to_string(tags).unwrap_or_default();
                ("POST", "/purge", Some(body))
            }
        }
    }
}

/// The coordinator's answer to `ask` at `now_ms` — the book's JSON for [`Ask::Book`], else the
/// snapshot's (after recording a purge) — and the write to make before answering.
pub fn answer(
    ask: Ask,
    snapshot: &mut Snapshot,
    book: &Book,
    now_ms: u64,
) -> (String, Option<Write>) {
    match ask {
        Ask::Book => (book.to_json(), None),
        Ask::Purge(tags) => {
            let write = snapshot.record_purge(&tags, now_ms);
            (snapshot.answer(now_ms), Some(write))
        }
        Ask::Snapshot | Ask::Arm => (snapshot.answer(now_ms), None),
    }
}

impl Snapshot {
    /// The snapshot from what storage holds under [`VERDICTS_KEY`] and [`PURGES_KEY`] (`None`:
    /// never stored); an unreadable value starts empty.
    pub fn restore(verdicts: Option<&str>, purges: Option<&str>) -> Snapshot {
        Snapshot {
            now_ms: 0,
            verdicts: verdicts
                .and_then(|v| serde_json::from_str(v).ok())
                .unwrap_or_default(),
            purges: purges
                .and_then(|p| serde_json::from_str(p).ok())
                .unwrap_or_default(),
        }
    }

    /// Takes a snapshot from the coordinator: its verdicts and clock replace this copy's, its
    /// purge log is merged (purges made here since it was taken stay).
    pub fn adopt(&mut self, snap: Snapshot) {
        self.purges.merge(&snap.purges);
        self.verdicts = snap.verdicts;
        self.now_ms = snap.now_ms;
    }

    /// The snapshot a coordinator answered (see [`Snapshot::answer`]).
    pub fn from_answer(text: &str) -> Result<Snapshot, String> {
        serde_json::from_str(text).map_err(|e| e.to_string())
    }

    /// Records a purge of `tags` at `now_ms`, forgetting purges past the horizon; returns the
    /// purge log to store.
    pub fn record_purge(&mut self, tags: &[String], now_ms: u64) -> Write {
        self.purges.purge(tags.iter().map(String::as_str), now_ms);
        self.purges.forget_before(now_ms, PURGE_HORIZON_MS);
        let text = serde_json::to_string(&self.purges).unwrap_or_default();
        (PURGES_KEY, text)
    }

    /// Records one probe round of pool `name` (`probes[i]` from `origins[i]`); returns the log
    /// line of each verdict that flipped.
    pub fn record_round(
        &mut self,
        name: &str,
        origins: &[Origin],
        probes: Vec<Probe>,
        now_ms: u64,
        check: &HealthCheck,
    ) -> Vec<String> {
        let verdicts = self.verdicts.entry(name.to_string()).or_default();
        let flips = verdicts.record_round(origins, probes, now_ms, check);
        flips.iter().map(|f| f.line(name)).collect()
    }

    /// The verdicts of the pools in `chain` (those the snapshot has).
    pub fn verdicts_of(&self, chain: &[String]) -> BTreeMap<String, PoolVerdicts> {
        let of = |name: &String| Some((name.clone(), self.verdicts.get(name)?.clone()));
        chain.iter().filter_map(of).collect()
    }

    /// The verdicts to store after a probe round.
    pub fn verdicts_write(&self) -> Write {
        let text = serde_json::to_string(&self.verdicts).unwrap_or_default();
        (VERDICTS_KEY, text)
    }

    /// The snapshot as an isolate gets it: JSON, stamped with the coordinator's clock.
    pub fn answer(&self, now_ms: u64) -> String {
        let mut snap = self.clone();
        snap.now_ms = now_ms;
        serde_json::to_string(&snap).unwrap_or_default()
    }
}

/// What the coordinator keeps in memory (and in storage after every change).
pub struct Memory {
    /// The configuration (`EDGE`), read once.
    pub config: Config,
    /// `EDGE_ORIGIN_KEY`, keyed, when origin authentication is on.
    pub origin_key: Option<OriginKey>,
    /// Verdicts and purges (what isolates copy).
    pub snapshot: RefCell<Snapshot>,
    /// The jobs' run book.
    pub book: RefCell<Book>,
    /// When the next probe round is due (not stored: after a restart, at once).
    pub probes: Cell<ProbeClock>,
    /// Pools whose probe round is under way: each pool's round runs on its own, and a pool is
    /// not probed again before its last round ended ([`Memory::start_rounds`]).
    pub probing: RefCell<BTreeSet<String>>,
}

/// The coordinator's stored texts as read from its storage ([`VERDICTS_KEY`], [`PURGES_KEY`],
/// [`BOOK_KEY`]); each `None` when never written.
#[derive(Debug, Clone, Default)]
pub struct Stored {
    /// The verdicts' JSON text.
    pub verdicts: Option<String>,
    /// The purge log's JSON text.
    pub purges: Option<String>,
    /// The job book's JSON text.
    pub book: Option<String>,
}

impl Memory {
    /// The coordinator's memory when it starts at `now_ms`: the snapshot and the book restored
    /// from `stored` (what cannot be read starts empty), the book brought in line with the
    /// configured jobs. Also returns why a stored book was dropped, for the log.
    pub fn restore(
        config: Config,
        origin_key: Option<Vec<u8>>,
        stored: &Stored,
        now_ms: u64,
    ) -> (Memory, Option<String>) {
        let snapshot = Snapshot::restore(stored.verdicts.as_deref(), stored.purges.as_deref());
        let (mut book, dropped) = Book::restore(stored.book.as_deref());
        book.sync(&config.jobs, now_ms);
        let memory = Memory {
            config,
            origin_key: origin_key.as_deref().map(OriginKey::new),
            snapshot: RefCell::new(snapshot),
            book: RefCell::new(book),
            probes: Cell::new(ProbeClock::default()),
            probing: RefCell::new(BTreeSet::new()),
        };
        let dropped = dropped.map(|why| format!("{why}; starting a new job book"));
        (memory, dropped)
    }

    /// The pools with health checks whose probe round may start now (none of theirs is under
    /// way), marked as probing until [`Memory::end_round`]. A pool whose origins hang for their
    /// whole timeout then delays neither the other pools' verdicts nor the jobs.
    pub fn start_rounds(&self) -> Vec<String> {
        let mut probing = self.probing.borrow_mut();
        (self.config.pools.iter())
            .filter(|(_, pool)| pool.health.is_some())
            .filter(|&(name, _)| probing.insert(name.clone()))
            .map(|(name, _)| name.clone())
            .collect()
    }

    /// Pool `name` and its health check, when it has one (what a probe round probes).
    pub fn checked(&self, name: &str) -> Option<(&Pool, &HealthCheck)> {
        let pool = self.config.pools.get(name)?;
        Some((pool, pool.health.as_ref()?))
    }

    /// Records the probe round of pool `name` (see [`Snapshot::record_round`]) and ends it; the
    /// verdict log lines, and the verdicts to store.
    pub fn end_round(&self, name: &str, probes: Vec<Probe>, now_ms: u64) -> (Vec<String>, Write) {
        self.probing.borrow_mut().remove(name);
        let mut snapshot = self.snapshot.borrow_mut();
        let lines = self.checked(name).map_or_else(Vec::new, |(pool, check)| {
            snapshot.record_round(name, &pool.origins, probes, now_ms, check)
        });
        (lines, snapshot.verdicts_write())
    }
}

/// When the coordinator's probe rounds are due (kept in memory only: after a restart, at once).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProbeClock {
    next_ms: u64,
}

impl ProbeClock {
    /// Whether the alarm at `now_ms` runs a probe round: the configuration has health checks and
    /// one is due ([`probe_due`]). Then the next is due `health_interval_s` later.
    pub fn take_due(&mut self, cfg: &Config, now_ms: u64) -> bool {
        let due = cfg.has_health_checks() && probe_due(now_ms, self.next_ms);
        if due {
            self.next_ms = now_ms + cfg.health_interval_s * 1000;
        }
        due
    }

    /// When the alarm should next fire ([`next_alarm`]): the next probe round (with health
    /// checks) or the next job event of `book`.
    pub fn next_alarm(&self, cfg: &Config, book: &Book, now_ms: u64) -> Option<u64> {
        let probe = cfg.has_health_checks().then_some(self.next_ms);
        next_alarm(now_ms, probe, book.next_alarm_ms())
    }
}

/// Whether an isolate whose copy of the snapshot was last refreshed at `*last_ms` refreshes it at
/// `now_ms` (at most every `interval_ms`); then `*last_ms` becomes `now_ms`, so that concurrent
/// requests start one refresh.
pub fn refresh_due(last_ms: &mut u64, now_ms: u64, interval_ms: u64) -> bool {
    let due = now_ms.saturating_sub(*last_ms) >= interval_ms;
    if due {
        *last_ms = now_ms;
    }
    due
}

/// Whether an alarm at `now_ms` runs a probe round due at `next_probe_ms`.
pub fn probe_due(now_ms: u64, next_probe_ms: u64) -> bool {
    now_ms + EARLY_MS >= next_probe_ms
}

/// When the coordinator's alarm should next fire: the next probe round or the next job event
/// (a run due, a running one's deadline), whichever is first; never in the past.
pub fn next_alarm(
    now_ms: u64,
    next_probe_ms: Option<u64>,
    next_job_ms: Option<u64>,
) -> Option<u64> {
    let first = match (next_probe_ms, next_job_ms) {
        (Some(p), Some(j)) => Some(p.min(j)),
        (p, j) => p.or(j),
    };
    first.map(|t| t.max(now_ms))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_restored_from_storage() {
        let cfg = Config::from_binding(Some(
            r#"{"pools":{"p":{"origins":[{"url":"https://a.test"}]}},"routes":[{"path_prefix":"/","pools":["p"]}],"jobs":[{"name":"j","schedule":"*/5 * * * *","path":"/cron","pool":"p"}]}"#,
        ))
        .expect("valid configuration");
        let (m, dropped) = Memory::restore(cfg.clone(), None, &Stored::default(), 60_000);
        assert!(dropped.is_none(), "nothing stored: nothing dropped");
        assert_eq!(*m.snapshot.borrow(), Snapshot::default());
        assert!(
            m.book.borrow().next_alarm_ms().is_some(),
            "the configured job is in the book"
        );
        let broken = Stored {
            book: Some("{".into()),
            verdicts: Some("x".into()),
            ..Stored::default()
        };
        let (m, dropped) = Memory::restore(cfg, Some(b"k".to_vec()), &broken, 60_000);
        let why = dropped.expect("an unreadable book is reported");
        assert!(
            why.contains("unreadable") && why.ends_with("starting a new job book"),
            "{why}"
        );
        assert!(
            m.book.borrow().next_alarm_ms().is_some(),
            "a new book, synced"
        );
        let key = m.origin_key.as_ref().expect("the key, keyed");
        let signed = crate::origin_auth::Signed {
            time: 1,
            nonce: "n",
            method: "GET",
            host: "h",
            path_and_query: "/",
            forwarded: [None; 5],
        };
        assert_eq!(key.sign(&signed), crate::origin_auth::sign(b"k", &signed));
    }

    #[test]
    fn alarms() {
        assert_eq!(next_alarm(1000, Some(3000), None), Some(3000));
        assert_eq!(next_alarm(1000, Some(3000), Some(1500)), Some(1500));
        assert_eq!(
            next_alarm(1000, None, Some(500)),
            Some(1000),
            "an overdue job: at once"
        );
        assert_eq!(next_alarm(1000, None, None), None);
        let s = Snapshot::default();
        let back: Snapshot = serde_json::from_str(&serde_json::to_string(&s).unwrap()).unwrap();
        assert_eq!(back, s);
        assert!(probe_due(1000, 1015) && probe_due(1000, 900) && !probe_due(1000, 1100));
    }

    #[test]
    fn asks() {
        assert_eq!(Ask::parse("GET", "/snapshot", ""), Ok(Ask::Snapshot));
        assert_eq!(Ask::parse("GET", "/book", ""), Ok(Ask::Book));
        assert_eq!(Ask::parse("POST", "/arm", ""), Ok(Ask::Arm));
        assert_eq!(
            Ask::parse("POST", "/purge", r#"["a","b"]"#),
            Ok(Ask::Purge(vec!["a".into(), "b".into()]))
        );
        assert_eq!(Ask::parse("POST", "/purge", "{").unwrap_err().0, 400);
        assert_eq!(Ask::parse("GET", "/purge", "").unwrap_err().0, 404);
        assert_eq!(Ask::parse("DELETE", "/snapshot", "").unwrap_err().0, 404);
    }

    #[test]
    fn purges_are_recorded_and_the_old_forgotten() {
        let mut s = Snapshot::default();
        s.record_purge(&["old".into()], 1000);
        s.record_purge(&["new".into()], 1000 + PURGE_HORIZON_MS + 1);
        assert!(s.purges.purged(&["new".into()], 0));
        assert!(!s.purges.purged(&["old".into()], 0), "past the horizon");
        let v: serde_json::Value = serde_json::from_str(&s.answer(42)).unwrap();
        assert_eq!(v["now_ms"], 42);
    }

    #[test]
    fn every_ask_is_sent_as_the_request_the_coordinator_reads() {
        let asks = [
            Ask::Snapshot,
            Ask::Book,
            Ask::Arm,
            Ask::Purge(vec!["a".into(), "b\"".into()]),
        ];
        for ask in asks {
            let (method, path, body) = ask.request();
            assert_eq!(body.is_some(), method == "POST", "{ask:?}");
            let read = Ask::parse(method, path, body.as_deref().unwrap_or_default());
            assert_eq!(read, Ok(ask));
        }
    }

    #[test]
    fn answers_and_the_write_before_them() {
        let mut s = Snapshot::default();
        let book = Book::default();
        let (text, write) = answer(Ask::Book, &mut s, &book, 7);
        assert_eq!((text, write), (book.to_json(), None));
        let (text, write) = answer(Ask::Snapshot, &mut s, &book, 7);
        assert_eq!(write, None);
        assert_eq!(Snapshot::from_answer(&text).unwrap().now_ms, 7);
        let (text, write) = answer(Ask::Purge(vec!["t".into()]), &mut s, &book, 9);
        let (key, stored) = write.unwrap();
        assert_eq!(key, PURGES_KEY);
        let back = Snapshot::restore(None, Some(&stored));
        assert!(back.purges.purged(&["t".into()], 8), "the purge is stored");
        assert!(Snapshot::from_answer(&text)
            .unwrap()
            .purges
            .purged(&["t".into()], 8));
        assert!(Snapshot::from_answer("[").is_err());
    }

    #[test]
    fn restored_snapshots_start_empty_when_unreadable() {
        let mut s = Snapshot::default();
        s.record_purge(&["t".into()], 5);
        let (_, purges) = s.record_purge(&[], 5);
        let (_, verdicts) = s.verdicts_write();
        let table = [
            (None, None, Snapshot::default()),
            (Some("{"), Some("x"), Snapshot::default()),
            (Some(verdicts.as_str()), Some(purges.as_str()), s.clone()),
        ];
        for (v, p, want) in table {
            assert_eq!(Snapshot::restore(v, p), want, "{v:?} {p:?}");
        }
    }

    #[test]
    fn probe_rounds_are_due_every_interval_with_health_checks_only() {
        let checked = Config::from_json(r#"{"routes":[{"pools":["a"]}],"pools":{"a":{"origins":[{"url":"http://o1"}],"health":{"path":"/h"}}}}"#).unwrap();
        let plain = Config::from_json("{}").unwrap();
        let book = Book::default();
        let mut clock = ProbeClock::default();
        assert!(clock.take_due(&checked, 1_000), "at once after a restart");
        let next = 1_000 + checked.health_interval_s * 1000;
        assert!(!clock.take_due(&checked, 1_500));
        assert_eq!(clock.next_alarm(&checked, &book, 1_500), Some(next));
        assert!(clock.take_due(&checked, next - 10), "a little early counts");
        assert_eq!(clock.next_alarm(&plain, &book, 1_500), None);
        assert!(!ProbeClock::default().take_due(&plain, 1_000));
    }

    #[test]
    fn probe_rounds_record_verdicts_and_log_flips() {
        let cfg = Config::from_json(r#"{"routes":[{"pools":["a"]}],"pools":{"a":{"origins":[{"url":"http://o1"}],"health":{"path":"/h","unhealthy_threshold":1}}}}"#).unwrap();
        let pool = &cfg.pools["a"];
        let check = pool.health.as_ref().unwrap();
        let down = || {
            vec![Probe {
                result: Err("down".into()),
                latency_ms: 3,
            }]
        };
        let mut s = Snapshot::default();
        let lines = s.record_round("a", &pool.origins, down(), 1_000, check);
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert!(lines[0].contains("\"healthy\":false") && lines[0].contains("\"pool\":\"a\""));
        assert!(s
            .record_round("a", &pool.origins, down(), 2_000, check)
            .is_empty());
        let (key, text) = s.verdicts_write();
        assert_eq!(key, VERDICTS_KEY);
        assert_eq!(Snapshot::restore(Some(&text), None).verdicts, s.verdicts);
    }

    #[test]
    fn isolates_refresh_once_per_interval() {
        let mut last = 0;
        let table = [
            (300, true, 300),
            (400, false, 300),
            (549, false, 300),
            (550, true, 550),
        ];
        for (now, due, after) in table {
            assert_eq!(refresh_due(&mut last, now, 250), due, "at {now}");
            assert_eq!(last, after);
        }
        let mut s = Snapshot::default();
        s.verdicts.insert("a".into(), PoolVerdicts::default());
        s.verdicts.insert("b".into(), PoolVerdicts::default());
        let got = s.verdicts_of(&["b".into(), "gone".into()]);
        assert_eq!(got.keys().collect::<Vec<_>>(), ["b"]);
    }
}
