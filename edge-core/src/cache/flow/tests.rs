//! Table-driven tests of the cache's request flow: each case runs a flow against a scripted
//! world (what the lookups find, whether the origins are down, what the origin answers, what a
//! leader does while a follower waits) with a fake clock, and compares the I/O it named.

use super::*;
use crate::cache::storable::tests::settings;
use crate::http_date;

const T0: u64 = 1_700_000_000; // seconds
const URL: &str = "https://shop.example/p?a=1";
const PUBLIC: &str = "https://shop.example";
const DEADLINE_MS: u64 = 5_000;

fn fields(pairs: &[(&str, &str)], date_s: u64) -> Fields {
    let mut f = Fields::new(pairs.iter().copied());
    f.set("date", http_date::format(date_s));
    f
}

/// A 200 stored at T0 with these fields.
fn entry(pairs: &[(&str, &str)]) -> Entry {
    Entry {
        status: 200,
        fields: fields(pairs, T0),
        timing: Timing {
            request_ms: T0 * 1000,
            response_ms: T0 * 1000,
        },
        stored_ms: T0 * 1000,
        tags: vec!["page".into()],
    }
}

/// A request with `method` and these request fields.
fn req(method: &str, pairs: &[(&'static str, &'static str)]) -> CacheRequest {
    let pairs = pairs.to_vec();
    CacheRequest::read(
        method,
        move |n| {
            pairs
                .iter()
                .find(|(k, _)| *k == n)
                .map(|(_, v)| v.to_string())
        },
        &settings(),
    )
}

/// The origin's answer `s` seconds after T0 (`None` fields: no origin answered).
fn answer(status: u16, pairs: Option<&[(&str, &str)]>, s: u64) -> Answered {
    Answered {
        status,
        fields: pairs.map(|p| fields(p, T0 + s)),
        timing: Timing {
            request_ms: (T0 + s) * 1000,
            response_ms: (T0 + s) * 1000,
        },
    }
}

/// What the flow meets.
struct World {
    /// Seconds after T0 when the request comes.
    at_s: u64,
    /// What the lookups find, in turn (nothing once the list is used up).
    found: Vec<Option<Entry>>,
    /// Whether every origin is down.
    all_down: bool,
    /// The origin's answer.
    answer: Answered,
    /// Another request leads the key's flight: what it has done at each of the follower's
    /// waits (`None`: still fetching; `Some(stored)`: finished).
    leader: Option<Vec<Option<bool>>>,
}

impl World {
    fn new(at_s: u64, found: Option<Entry>, answer: Answered) -> Self {
        World {
            at_s,
            found: vec![found],
            all_down: false,
            answer,
            leader: None,
        }
    }
}

/// Runs `req` through a flow in `w`: the steps it named, one line each, and the coalescer after.
fn run(req: CacheRequest, w: World) -> (Vec<String>, Coalescer) {
    let settings = settings();
    let mut flow = Flow::new(req, URL, PUBLIC, &settings, DEADLINE_MS);
    let mut coalescer = Coalescer::default();
    let mut now = (T0 + w.at_s) * 1000;
    let flight = storage_url(flow.primary(), None);
    if w.leader.is_some() {
        coalescer.join(&flight, now, DEADLINE_MS);
    }
    let mut found = w.found.into_iter();
    let mut leader = w.leader.unwrap_or_default().into_iter();
    let mut purges = PurgeLog::default();
    purges.purge(["old-tag"], T0 * 1000);
    let mut trace = Vec::new();
    while let Some(step) = flow.next_step() {
        trace.push(line(&step));
        assert!(trace.len() < 20, "the flow does not end: {trace:?}");
        match step {
            Step::Lookup => {
                let entry = found.next().flatten();
                flow.found(entry, &purges, &mut coalescer, now);
            }
            Step::CheckOrigins => flow.origins(w.all_down),
            Step::Wait { ms } => {
                now += ms;
                if let Some(Some(stored)) = leader.next() {
                    coalescer.finish(&flight, stored, now);
                }
                flow.waited(&coalescer, now);
            }
            Step::Forward { .. } => {
                let get = |n: &str| (n == "accept-language").then(|| "de".to_string());
                flow.answered(w.answer.clone(), get, &mut coalescer, now);
            }
            _ => {}
        }
    }
    (trace, coalescer)
}

/// One line for a step.
fn line(step: &Step) -> String {
    match step {
        Step::Lookup => "lookup".into(),
        Step::CheckOrigins => "check origins".into(),
        Step::Wait { ms } => format!("wait {ms}"),
        Step::Forward { validators } => {
            let v: Vec<String> = validators
                .iter()
                .map(|(n, v)| format!(" {n}={v}"))
                .collect();
            format!("forward{}", v.concat())
        }
        Step::Revalidate => "revalidate".into(),
        Step::Store(s) => format!(
            "store {:?} at {} leader={:?} marker={:?}",
            s.from, s.place.key, s.leader, s.place.marker
        ),
        Step::Purge(tags) => format!("purge {}", tags.join(" ")),
        Step::Serve { reply, status } => format!(
            "serve {} body={} age={:?} | {}",
            reply.status,
            reply.body,
            reply.fields.first("age"),
            status.header()
        ),
        Step::Pass(status) => format!("pass | {}", status.header()),
        Step::Answer(a) => format!("answer {}", a.status),
        Step::Revalidated(end) => format!("revalidated {end:?}"),
    }
}

const SWR: &[(&str, &str)] = &[
    ("cache-control", "max-age=60, stale-while-revalidate=30"),
    ("etag", "\"v1\""),
];
const SIE: &[(&str, &str)] = &[
    ("cache-control", "max-age=60, stale-if-error=600"),
    ("etag", "\"v1\""),
];
const PUBLIC_60: &[(&str, &str)] = &[("cache-control", "public, max-age=60")];
const PRIVATE: &[(&str, &str)] = &[("cache-control", "private, max-age=60")];

fn get() -> CacheRequest {
    req("GET", &[])
}

#[test]
fn every_path_names_its_io_in_order() {
    let ok = |s| answer(200, Some(PUBLIC_60), s);
    let stored_key = format!("{} at {} leader=", "store Answer", storage_url(URL, None));
    let cases: Vec<(&str, CacheRequest, World, Vec<String>)> =
        vec![
            (
                "fresh hit",
                get(),
                World::new(10, Some(entry(SWR)), ok(10)),
                vec![
                    "lookup".into(),
                    "serve 200 body=true age=Some(\"10\") | edge; hit; ttl=50".into(),
                ],
            ),
            (
                "fresh hit to HEAD: no body",
                req("HEAD", &[]),
                World::new(10, Some(entry(SWR)), ok(10)),
                vec![
                    "lookup".into(),
                    "serve 200 body=false age=Some(\"10\") | edge; hit; ttl=50".into(),
                ],
            ),
            (
                "fresh hit to the client's own matching conditional: 304",
                req("GET", &[("if-none-match", "\"v1\"")]),
                World::new(10, Some(entry(SWR)), ok(10)),
                vec![
                    "lookup".into(),
                    "serve 304 body=false age=Some(\"10\") | edge; hit; ttl=50".into(),
                ],
            ),
            (
                "stale-while-revalidate: served, revalidated in the background",
                get(),
                World::new(70, Some(entry(SWR)), ok(70)),
                vec![
                    "lookup".into(),
                    "revalidate".into(),
                    "serve 200 body=true age=Some(\"70\") | edge; hit; ttl=-10; \
                 detail=stale-while-revalidate"
                        .into(),
                ],
            ),
            (
                "stale-if-error, every origin down: served without asking them",
                get(),
                World {
                    all_down: true,
                    ..World::new(100, Some(entry(SIE)), ok(100))
                },
                vec![
                "lookup".into(),
                "check origins".into(),
                "serve 200 body=true age=Some(\"100\") | edge; hit; ttl=-40; detail=origins-down"
                    .into(),
            ],
            ),
            (
                "stale-if-error, origins up but failing: the copy answers their 503",
                get(),
                World::new(100, Some(entry(SIE)), answer(503, Some(&[]), 100)),
                vec![
                    "lookup".into(),
                    "check origins".into(),
                    "forward if-none-match=\"v1\"".into(),
                    "serve 200 body=true age=Some(\"100\") | edge; fwd=stale; fwd-status=503; \
                 ttl=-40; detail=stale-if-error"
                        .into(),
                ],
            ),
            (
                "stale-if-error, no origin answered: the copy answers the edge's 503",
                get(),
                World::new(100, Some(entry(SIE)), answer(503, None, 100)),
                vec![
                    "lookup".into(),
                    "check origins".into(),
                    "forward if-none-match=\"v1\"".into(),
                    "serve 200 body=true age=Some(\"100\") | edge; fwd=stale; fwd-status=503; \
                 ttl=-40; detail=stale-if-error"
                        .into(),
                ],
            ),
            (
                "304 to the copy's validators: refreshed, stored again, served",
                get(),
                World::new(
                    100,
                    Some(entry(&[
                        ("cache-control", "max-age=60"),
                        ("etag", "\"v1\""),
                    ])),
                    answer(304, Some(&[("cache-control", "max-age=60")]), 100),
                ),
                vec![
                    "lookup".into(),
                    "forward if-none-match=\"v1\"".into(),
                    format!(
                        "store Copy at {} leader=None marker=None",
                        storage_url(URL, None)
                    ),
                    "serve 200 body=true age=Some(\"0\") | edge; fwd=stale; fwd-status=304; \
                 ttl=60; stored"
                        .into(),
                ],
            ),
            (
                "the client's own conditional goes as it is: its 304 is passed on",
                req("GET", &[("if-none-match", "\"v0\"")]),
                World::new(
                    100,
                    Some(entry(&[
                        ("cache-control", "max-age=60"),
                        ("etag", "\"v1\""),
                    ])),
                    answer(304, Some(&[("cache-control", "max-age=60")]), 100),
                ),
                vec![
                    "lookup".into(),
                    "forward".into(),
                    "pass | edge; fwd=stale; fwd-status=304; detail=status".into(),
                ],
            ),
            (
                "stale copy, new answer: passed on and stored",
                get(),
                World::new(
                    100,
                    Some(entry(&[
                        ("cache-control", "max-age=60"),
                        ("etag", "\"v1\""),
                    ])),
                    ok(100),
                ),
                vec![
                    "lookup".into(),
                    "forward if-none-match=\"v1\"".into(),
                    format!("{stored_key}None marker=None"),
                    "pass | edge; fwd=stale; fwd-status=200; stored".into(),
                ],
            ),
            (
                "purged copy: forwarded although fresh",
                get(),
                World::new(
                    10,
                    Some(Entry {
                        tags: vec!["old-tag".into()],
                        ..entry(PUBLIC_60)
                    }),
                    answer(200, Some(PRIVATE), 10),
                ),
                vec![
                    "lookup".into(),
                    "forward".into(),
                    "pass | edge; fwd=stale; fwd-status=200; detail=private".into(),
                ],
            ),
            (
                "miss: leads the flight, stores the answer",
                get(),
                World::new(0, None, ok(0)),
                vec![
                    "lookup".into(),
                    "forward".into(),
                    format!("{stored_key}Some({:?}) marker=None", storage_url(URL, None)),
                    "pass | edge; fwd=uri-miss; fwd-status=200; stored".into(),
                ],
            ),
            (
                "miss of a varying answer: stored under its variant, with the marker",
                get(),
                World::new(
                    0,
                    None,
                    answer(200, Some(&[PUBLIC_60[0], ("vary", "Accept-Language")]), 0),
                ),
                vec![
                    "lookup".into(),
                    "forward".into(),
                    format!(
                    "store Answer at {} leader=Some({:?}) marker=Some(({:?}, \"accept-language\"))",
                    storage_url(URL, Some(&key::secondary(&["accept-language".into()], |_| {
                        Some("de".into())
                    }))),
                    storage_url(URL, None),
                    storage_url(URL, None)
                ),
                    "pass | edge; fwd=uri-miss; fwd-status=200; stored".into(),
                ],
            ),
            (
                "miss, answer not storable: passed on with why",
                get(),
                World::new(0, None, answer(200, Some(PRIVATE), 0)),
                vec![
                    "lookup".into(),
                    "forward".into(),
                    "pass | edge; fwd=uri-miss; fwd-status=200; detail=private".into(),
                ],
            ),
            (
                "miss, no origin answered",
                get(),
                World::new(0, None, answer(503, None, 0)),
                vec![
                    "lookup".into(),
                    "forward".into(),
                    "pass | edge; fwd=uri-miss; fwd-status=503".into(),
                ],
            ),
            (
                "only-if-cached miss: the edge's 504, nothing forwarded",
                req("GET", &[("cache-control", "only-if-cached")]),
                World::new(0, None, ok(0)),
                vec!["lookup".into(), "answer 504".into()],
            ),
            (
                "unsafe method: bypass, then what it changed is purged",
                req("POST", &[]),
                World::new(
                    0,
                    None,
                    answer(
                        303,
                        Some(&[
                            ("location", "/cart"),
                            ("x-edge-purge-tags", "product-7 cart"),
                        ]),
                        0,
                    ),
                ),
                vec![
                    "forward".into(),
                    format!(
                        "purge cart product-7 {} {}",
                        crate::cache::entry::url_tag("https://shop.example/cart"),
                        crate::cache::entry::url_tag(URL)
                    ),
                    "pass | edge; fwd=bypass; fwd-status=303; detail=method".into(),
                ],
            ),
            (
                "unsafe method that failed: nothing purged",
                req("POST", &[]),
                World::new(0, None, answer(503, None, 0)),
                vec![
                    "forward".into(),
                    "pass | edge; fwd=bypass; fwd-status=503; detail=method".into(),
                ],
            ),
            (
                "session request: bypass, no purge",
                req("GET", &[("cookie", "PHPSESSID=abc")]),
                World::new(0, None, ok(0)),
                vec![
                    "forward".into(),
                    "pass | edge; fwd=bypass; fwd-status=200; detail=session".into(),
                ],
            ),
            (
                "follower: the leader stored it, a collapsed hit",
                get(),
                World {
                    found: vec![None, Some(entry(PUBLIC_60))],
                    leader: Some(vec![None, Some(true)]),
                    ..World::new(10, None, ok(10))
                },
                vec![
                    "lookup".into(),
                    "wait 5".into(),
                    "wait 5".into(),
                    "lookup".into(),
                    "serve 200 body=true age=Some(\"10\") | edge; hit; ttl=50; collapsed".into(),
                ],
            ),
            (
                "follower: the leader's answer was not stored, it fetches itself",
                get(),
                World {
                    leader: Some(vec![Some(false)]),
                    ..World::new(10, None, answer(200, Some(PRIVATE), 10))
                },
                vec![
                    "lookup".into(),
                    "wait 5".into(),
                    "forward".into(),
                    "pass | edge; fwd=uri-miss; fwd-status=200; detail=private".into(),
                ],
            ),
            (
                "follower: stored, but gone from the cache: fetches itself (collapsed), no flight",
                get(),
                World {
                    found: vec![None, None],
                    leader: Some(vec![Some(true)]),
                    ..World::new(10, None, ok(10))
                },
                vec![
                    "lookup".into(),
                    "wait 5".into(),
                    "lookup".into(),
                    "forward".into(),
                    format!("{stored_key}None marker=None"),
                    "pass | edge; fwd=uri-miss; fwd-status=200; stored; collapsed".into(),
                ],
            ),
        ];
    for (name, req, world, want) in cases {
        let (got, _) = run(req, world);
        assert_eq!(got, want, "{name}");
    }
}

#[test]
fn a_follower_stops_waiting_for_a_leader_past_the_deadline() {
    let settings = settings();
    let mut flow = Flow::new(get(), URL, PUBLIC, &settings, 10);
    let mut coalescer = Coalescer::default();
    let flight = storage_url(flow.primary(), None);
    coalescer.join(&flight, 0, 10);
    assert_eq!(flow.next_step(), Some(Step::Lookup));
    flow.found(None, &PurgeLog::default(), &mut coalescer, 0);
    assert_eq!(flow.next_step(), Some(Step::Wait { ms: FOLLOW_POLL_MS }));
    flow.waited(&coalescer, 5);
    assert_eq!(flow.next_step(), Some(Step::Wait { ms: FOLLOW_POLL_MS }));
    flow.waited(&coalescer, 10);
    assert_eq!(flow.next_step(), Some(forward(Vec::new())));
}

#[test]
fn a_leader_that_stores_nothing_finishes_its_flight() {
    let private = World::new(0, None, answer(200, Some(PRIVATE), 0));
    let (_, coalescer) = run(get(), private);
    let flight = storage_url(URL, None);
    assert_eq!(
        coalescer.poll(&flight, T0 * 1000, DEADLINE_MS),
        Flight::Done { stored: false }
    );
    // A leader that stores leaves the flight to the store (pending until it is done).
    let (_, coalescer) = run(get(), World::new(0, None, answer(200, Some(PUBLIC_60), 0)));
    assert_eq!(
        coalescer.poll(&flight, T0 * 1000, DEADLINE_MS),
        Flight::Pending
    );
}

/// A GET that found nothing and leads its key's flight, at its forward: the flow, the
/// coalescer, and the flight.
fn leading_miss(settings: &CacheSettings) -> (Flow<'_>, Coalescer, String) {
    let mut flow = Flow::new(get(), URL, PUBLIC, settings, DEADLINE_MS);
    let mut coalescer = Coalescer::default();
    let flight = storage_url(flow.primary(), None);
    assert_eq!(flow.next_step(), Some(Step::Lookup));
    flow.found(None, &PurgeLog::default(), &mut coalescer, 0);
    assert!(matches!(flow.next_step(), Some(Step::Forward { .. })));
    (flow, coalescer, flight)
}

#[test]
fn a_store_that_cannot_start_finishes_its_flight() {
    let settings = settings();
    let (mut flow, mut coalescer, flight) = leading_miss(&settings);
    flow.answered(answer(200, Some(PUBLIC_60), 0), |_| None, &mut coalescer, 1);
    let Some(Step::Store(store)) = flow.next_step() else {
        panic!("a storable answer is stored");
    };
    assert_eq!(store.leader.as_deref(), Some(flight.as_str()));
    assert_eq!(coalescer.poll(&flight, 2, DEADLINE_MS), Flight::Pending);
    let unled = Store {
        leader: None,
        ..store.clone()
    };
    store.refused(&mut coalescer, 3);
    assert_eq!(
        coalescer.poll(&flight, 4, DEADLINE_MS),
        Flight::Done { stored: false },
        "followers go to the origin at once"
    );
    // A store that leads no flight has none to finish.
    let mut other = Coalescer::default();
    other.join(&flight, 4, DEADLINE_MS);
    unled.refused(&mut other, 5);
    assert_eq!(other.poll(&flight, 6, DEADLINE_MS), Flight::Pending);
}

#[test]
fn a_leader_whose_forward_fails_finishes_its_flight() {
    let settings = settings();
    let (mut flow, mut coalescer, flight) = leading_miss(&settings);
    assert_eq!(coalescer.poll(&flight, 1, DEADLINE_MS), Flight::Pending);
    flow.abandon(Answer::bad_request("unreadable body"), &mut coalescer, 2);
    assert_eq!(
        coalescer.poll(&flight, 3, DEADLINE_MS),
        Flight::Done { stored: false },
        "followers stop waiting at once"
    );
    assert!(
        matches!(flow.next_step(), Some(Step::Answer(a)) if a.status == 400),
        "the client gets the edge's answer"
    );
    assert_eq!(flow.next_step(), None, "the flow has ended");
    flow.answered(answer(200, None, 0), |_| None, &mut coalescer, 4);
    assert_eq!(flow.next_step(), None, "a late answer is ignored");
}

#[test]
fn results_out_of_turn_are_ignored() {
    let settings = settings();
    let mut flow = Flow::new(get(), URL, PUBLIC, &settings, DEADLINE_MS);
    let mut coalescer = Coalescer::default();
    assert_eq!(flow.next_step(), Some(Step::Lookup));
    assert_eq!(flow.next_step(), None, "waits for the lookup");
    flow.origins(true);
    flow.waited(&coalescer, 0);
    flow.answered(answer(200, None, 0), |_| None, &mut coalescer, 0);
    assert_eq!(flow.next_step(), None);
    flow.found(
        Some(entry(PUBLIC_60)),
        &PurgeLog::default(),
        &mut coalescer,
        T0 * 1000,
    );
    assert!(matches!(flow.next_step(), Some(Step::Serve { .. })));
    assert_eq!(flow.next_step(), None, "over");
}

#[test]
fn a_purge_while_the_copy_was_on_its_way_makes_it_stale() {
    let settings = settings();
    // Asked 2 s before it was stored (a slow origin, or a 304 that refreshed it).
    let mut copy = entry(PUBLIC_60);
    copy.timing.request_ms = T0 * 1000 - 2_000;
    let serves = |purge_at_ms: u64| {
        let mut purges = PurgeLog::default();
        purges.purge(["page"], purge_at_ms);
        let mut flow = Flow::new(get(), URL, PUBLIC, &settings, DEADLINE_MS);
        assert_eq!(flow.next_step(), Some(Step::Lookup));
        let mut coalescer = Coalescer::default();
        flow.found(
            Some(copy.clone()),
            &purges,
            &mut coalescer,
            T0 * 1000 + 1_000,
        );
        matches!(flow.next_step(), Some(Step::Serve { .. }))
    };
    assert!(
        !serves(T0 * 1000 - 1_000),
        "purged while the answer travelled"
    );
    assert!(!serves(T0 * 1000 + 500), "purged after it was stored");
    assert!(serves(T0 * 1000 - 3_000), "purged before it was asked for");
}
