//! Table-driven tests of the background revalidation ([`Flow::background`]), with and without
//! a stored copy.

use super::*;
use crate::answer::Answer;
use crate::cache::coalesce::{Coalescer, Flight};
use crate::cache::entry::{storage_url, Entry};
use crate::cache::flow::{Answered, Flow, Step};
use crate::cache::freshness::Timing;
use crate::cache::headers::Fields;
use crate::cache::key;
use crate::cache::purge::PurgeLog;
use crate::cache::request::CacheRequest;
use crate::cache::settings::CacheSettings;
use crate::cache::storable::tests::settings;
use crate::http_date;

const T0: u64 = 1_700_000_000; // seconds
const URL: &str = "https://shop.example/p";

/// Fields a forward adds to the request.
type Validators = Vec<(&'static str, String)>;

fn fields(pairs: &[(&str, &str)], date_s: u64) -> Fields {
    let mut f = Fields::new(pairs.iter().copied());
    f.set("date", http_date::format(date_s));
    f
}

fn copy() -> Entry {
    Entry {
        status: 200,
        fields: fields(
            &[
                ("cache-control", "max-age=60, stale-while-revalidate=30"),
                ("etag", "\"v1\""),
            ],
            T0,
        ),
        timing: Timing {
            request_ms: T0 * 1000,
            response_ms: T0 * 1000,
        },
        stored_ms: T0 * 1000,
        tags: vec!["product-7".into()],
    }
}

fn answer(status: u16, pairs: Option<&[(&str, &str)]>) -> Answered {
    Answered {
        status,
        fields: pairs.map(|p| fields(p, T0 + 70)),
        timing: Timing {
            request_ms: (T0 + 70) * 1000,
            response_ms: (T0 + 70) * 1000,
        },
    }
}

/// The background revalidation of [`URL`] at `now_ms`, if this isolate does not run one yet.
fn join<'c>(
    settings: &'c CacheSettings,
    coalescer: &mut Coalescer,
    now_ms: u64,
) -> Option<Flow<'c>> {
    let req = CacheRequest::read("GET", |_| None, settings);
    Flow::background(req, URL, settings, coalescer, now_ms, 5_000)
}

/// What a revalidation does: the validators it sent, and its end (what is stored from where
/// with which tags, or why nothing). Its flight is over either way.
fn run(found: Option<Entry>, answered: Answered) -> (Validators, String) {
    let settings = settings();
    let mut coalescer = Coalescer::default();
    let now = (T0 + 70) * 1000;
    let mut r = join(&settings, &mut coalescer, now).unwrap();
    assert_eq!(r.next_step(), Some(Step::Lookup));
    assert_eq!(r.next_step(), None, "waits for the lookup");
    r.found(found, &PurgeLog::default(), &mut coalescer, now);
    let Some(Step::Forward { validators }) = r.next_step() else {
        panic!("no forward");
    };
    r.answered(answered, |_| None, &mut coalescer, now);
    let mut step = r.next_step();
    let mut end = String::new();
    if let Some(Step::Store(s)) = &step {
        let flight = s.leader.as_deref().unwrap_or_default();
        coalescer.finish(flight, true, now);
        let (from, key, tags) = (s.from, &s.place.key, &s.to_store.entry.tags);
        end = format!("store {from:?} at {key} tags={tags:?} then ");
        step = r.next_step();
    }
    end += &match step {
        Some(Step::Revalidated(Ok(()))) => "done".into(),
        Some(Step::Revalidated(Err(why))) => format!("fail {why}"),
        other => format!("{other:?}"),
    };
    assert_eq!(r.next_step(), None, "over");
    assert!(
        join(&settings, &mut coalescer, now + 1).is_some(),
        "flight over"
    );
    (validators, end)
}

#[test]
fn with_and_without_a_copy() {
    let key = storage_url(URL, None);
    let public = [("cache-control", "public, max-age=60")];
    let url_tag = crate::cache::entry::url_tag(&key::primary(URL, &[]));
    let inm = vec![("if-none-match", "\"v1\"".to_string())];
    let cases: Vec<(&str, Option<Entry>, Answered, Validators, String)> = vec![
        (
            "copy confirmed by a 304: the copy is stored again, its tags kept",
            Some(copy()),
            answer(304, Some(&[("cache-control", "max-age=60")])),
            inm.clone(),
            format!("store Copy at {key} tags=[\"product-7\"] then done"),
        ),
        (
            "copy replaced by a new answer",
            Some(copy()),
            answer(200, Some(&public)),
            inm.clone(),
            format!("store Answer at {key} tags=[{url_tag:?}] then done"),
        ),
        (
            "no copy (evicted meanwhile): a plain request, its answer stored",
            None,
            answer(200, Some(&public)),
            vec![],
            format!("store Answer at {key} tags=[{url_tag:?}] then done"),
        ),
        (
            "no copy, and a 304 anyway: nothing to refresh",
            None,
            answer(304, Some(&[("cache-control", "max-age=60")])),
            vec![],
            "fail status".into(),
        ),
        (
            "the new answer may not be stored",
            Some(copy()),
            answer(200, Some(&[("cache-control", "private")])),
            inm.clone(),
            "fail private".into(),
        ),
        (
            "no origin answered",
            Some(copy()),
            answer(503, None),
            inm,
            "fail the origins did not answer".into(),
        ),
    ];
    for (name, found, answered, want_validators, want_end) in cases {
        let (validators, end) = run(found, answered);
        assert_eq!(validators, want_validators, "{name}");
        assert_eq!(end, want_end, "{name}");
    }
}

#[test]
fn one_revalidation_per_key_per_isolate() {
    let settings = settings();
    let mut coalescer = Coalescer::default();
    let first = join(&settings, &mut coalescer, 0);
    assert!(first.is_some());
    assert!(join(&settings, &mut coalescer, 1).is_none());
    // The client's own miss of the same key is another flight.
    let miss = storage_url(&key::primary(URL, &[]), None);
    assert_eq!(coalescer.poll(&miss, 1, 5_000), Flight::Gone);
    // A revalidation whose forward could not be made lets its flight go.
    if let Some(mut r) = first {
        r.abandon(Answer::edge_failed(), &mut coalescer, 2);
    }
    assert!(join(&settings, &mut coalescer, 3).is_some());
}

#[test]
fn the_client_credentials_and_conditions_stay_behind() {
    let client = [
        ("authorization", "Bearer alice"),
        ("if-none-match", "*"),
        ("range", "bytes=0-1"),
        ("accept", "text/html"),
        ("cookie", "consent=1"),
    ];
    let get = |n: &str| {
        client
            .iter()
            .find(|(k, _)| *k == n)
            .map(|(_, v)| v.to_string())
    };
    let e = client_edits(get);
    assert_eq!(e.remove, ["authorization", "if-none-match", "range"]);
    assert!(e.set.is_empty() && e.append.is_empty());
}

/// An answer out of turn is ignored, as by a client's flow
/// (`flow::tests::results_out_of_turn_are_ignored`): it does not end the revalidation's flight
/// (else a second revalidation of the key could start in this isolate, and the store finally
/// made would no longer hold the flight).
#[test]
fn a_background_flow_ignores_an_answer_out_of_turn() {
    let settings = settings();
    let mut coalescer = Coalescer::default();
    let now = (T0 + 70) * 1000;
    let mut r = join(&settings, &mut coalescer, now).unwrap();
    assert_eq!(r.next_step(), Some(Step::Lookup));
    let public = [("cache-control", "public, max-age=60")];
    r.answered(answer(200, Some(&public)), |_| None, &mut coalescer, now);
    assert_eq!(r.next_step(), None, "the out-of-turn answer is ignored");
    assert!(
        join(&settings, &mut coalescer, now + 1).is_none(),
        "the revalidation still holds its flight"
    );
    r.found(Some(copy()), &PurgeLog::default(), &mut coalescer, now);
    assert!(matches!(r.next_step(), Some(Step::Forward { .. })));
    r.answered(answer(200, Some(&public)), |_| None, &mut coalescer, now);
    let Some(Step::Store(s)) = r.next_step() else {
        panic!("no store");
    };
    let flight = format!("revalidate {}", storage_url(&key::primary(URL, &[]), None));
    assert_eq!(s.leader, Some(flight), "the store finishes the flight");
}

/// A revalidation whose request could not be sent ends like every other background path: with
/// one `Step::Revalidated` saying why nothing was stored (what the glue logs), its flight over.
#[test]
fn an_abandoned_revalidation_ends_with_revalidated() {
    let settings = settings();
    let mut coalescer = Coalescer::default();
    let now = (T0 + 70) * 1000;
    let mut r = join(&settings, &mut coalescer, now).unwrap();
    assert_eq!(r.next_step(), Some(Step::Lookup));
    r.found(Some(copy()), &PurgeLog::default(), &mut coalescer, now);
    assert!(matches!(r.next_step(), Some(Step::Forward { .. })));
    r.abandon(Answer::edge_failed(), &mut coalescer, now);
    assert!(
        join(&settings, &mut coalescer, now + 1).is_some(),
        "flight over"
    );
    assert!(
        matches!(r.next_step(), Some(Step::Revalidated(Err(_)))),
        "an abandoned revalidation says why nothing was stored"
    );
    assert_eq!(r.next_step(), None, "over");
}
