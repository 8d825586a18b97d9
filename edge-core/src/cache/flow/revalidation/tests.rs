//! Table-driven tests of the background revalidation, with and without a stored copy.

use super::*;
use crate::cache::coalesce::Flight;
use crate::cache::freshness::Timing;
use crate::cache::headers::Fields;
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

/// What a revalidation does: the validators it sent, and its end (what is stored from where
/// with which tags, or why nothing).
fn run(found: Option<Entry>, answered: Answered) -> (Validators, String) {
    let settings = settings();
    let mut coalescer = Coalescer::default();
    let now = (T0 + 70) * 1000;
    let mut r = Revalidation::join(URL, &settings, &mut coalescer, now, 5_000).unwrap();
    assert_eq!(r.next_step(), Some(Step::Lookup));
    assert_eq!(r.next_step(), None, "waits for the lookup");
    r.found(found);
    let Some(Step::Forward { validators }) = r.next_step() else {
        panic!("no forward");
    };
    r.answered(answered, |_| None, now);
    let end = match r.next_step() {
        Some(Step::Store(s)) => format!(
            "store {:?} at {} tags={:?} leader={:?}",
            s.from, s.place.key, s.to_store.entry.tags, s.leader
        ),
        Some(Step::Fail(why)) => format!("fail {why}"),
        other => format!("{other:?}"),
    };
    assert_eq!(r.next_step(), None, "over");
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
            format!("store Copy at {key} tags=[\"product-7\"] leader=None"),
        ),
        (
            "copy replaced by a new answer",
            Some(copy()),
            answer(200, Some(&public)),
            inm.clone(),
            format!("store Answer at {key} tags=[{url_tag:?}] leader=None"),
        ),
        (
            "no copy (evicted meanwhile): a plain request, its answer stored",
            None,
            answer(200, Some(&public)),
            vec![],
            format!("store Answer at {key} tags=[{url_tag:?}] leader=None"),
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
    let first = Revalidation::join(URL, &settings, &mut coalescer, 0, 5_000);
    assert!(first.is_some());
    assert!(Revalidation::join(URL, &settings, &mut coalescer, 1, 5_000).is_none());
    // The client's own miss of the same key is another flight.
    let miss = storage_url(&key::primary(URL, &[]), None);
    assert_eq!(coalescer.poll(&miss, 1, 5_000), Flight::Gone);
    if let Some(r) = first {
        r.finish(&mut coalescer, 2);
    }
    assert!(Revalidation::join(URL, &settings, &mut coalescer, 3, 5_000).is_some());
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
