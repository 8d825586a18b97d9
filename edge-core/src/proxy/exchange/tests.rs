//! An exchange driven as the worker's entry drives it: the replies for each answer, the end.

use super::*;
use crate::balancer::pool_states;

const T0: u64 = 1_700_000_000_000;

/// dc1 = a1, a2; `route` is appended to the only route.
fn config(route: &str) -> Config {
    Config::from_json(&format!(
        r#"{{"routes":[{{"pools":["dc1"],"cache":{{"enabled":false}}{route}}}],
            "pools":{{"dc1":{{"origins":[{{"url":"http://a1"}},{{"url":"http://a2"}}]}}}}}}"#
    ))
    .unwrap()
}

fn fields(extra: &str) -> FieldLines {
    FieldLines::parse(format!(
        "cf-connecting-ip\n203.0.113.7\naccept\ntext/html\n{extra}"
    ))
}

fn start<'c>(
    cfg: &'c Config,
    method: &str,
    url: &str,
    f: &FieldLines,
    body: bool,
) -> Option<Exchange<'c>> {
    Exchange::start(cfg, b"k", (method, url, f, body), |_| BTreeMap::new(), T0)
}

#[test]
fn takes_only_bodiless_requests_on_routes_that_do_not_cache() {
    let plain = config("");
    let cached = Config::from_json(
        r#"{"routes":[{"pools":["dc1"]}],"pools":{"dc1":{"origins":[{"url":"http://a1"}]}}}"#,
    )
    .unwrap();
    const P: &str = "https://shop.test/p";
    let f = fields("");
    let with_length = fields("content-length\n5\n");
    let session = fields("cookie\ntheme=dark; PHPSESSID=abc\n");
    for (cfg, method, url, f, body, taken) in [
        (&plain, "GET", P, &f, false, true),
        (&cached, "GET", P, &session, false, true),
        (&cached, "HEAD", P, &session, false, true),
        (&cached, "DELETE", P, &session, false, false),
        (&plain, "HEAD", P, &f, false, true),
        (&plain, "DELETE", P, &f, false, true),
        (&plain, "POST", P, &with_length, true, false),
        (
            &plain,
            "GET",
            "https://shop.test/_profiler/x",
            &f,
            false,
            false,
        ),
        (&plain, "TRACE", P, &f, false, false),
        (&cached, "GET", P, &f, false, false),
    ] {
        let got = start(cfg, method, url, f, body).is_some();
        assert_eq!(got, taken, "{method} {url}");
    }
    let anonymous = FieldLines::parse("accept\n*/*\n".to_string());
    assert!(
        start(&plain, "GET", "https://shop.test/p", &anonymous, false).is_none(),
        "refused (no client address): the glue's driver answers it"
    );
}

/// Drives a GET with `answers` in turn (then refusals); the replies and the origins tried.
fn drive(cfg: &Config, answers: &[Result<u16, Outcome>]) -> (Vec<Reply>, Vec<String>) {
    let f = fields("");
    let mut x = start(cfg, "GET", "https://shop.test/p", &f, false).unwrap();
    let mut states = pool_states(&cfg.pools);
    let (mut replies, mut tried) = (Vec::new(), Vec::new());
    let refusals = std::iter::repeat(&Err(Outcome::Refused));
    for answer in answers.iter().chain(refusals) {
        match x.next(&mut states, T0, || 7, None) {
            Ok(out) => tried.push(out.url),
            Err(end) => {
                replies.push(end);
                break;
            }
        }
        let (reply, _) = x.report(*answer, &mut states, T0 + 5);
        replies.push(reply);
        if matches!(reply, Reply::Respond | Reply::Last | Reply::Answer) {
            break;
        }
    }
    (replies, tried)
}

/// What an attempt gave: a status, or how it failed.
type Given = Result<u16, Outcome>;

#[test]
fn replies_for_each_answer() {
    use Reply::*;
    let cfg = config("");
    let (a1, a2) = ("http://a1/p".to_string(), "http://a2/p".to_string());
    let table: [(&[Given], &[Reply]); 5] = [
        (&[Ok(200)], &[Respond]),
        (&[Err(Outcome::Refused), Ok(200)], &[Drop, Respond]),
        // Maintenance mode everywhere: the origins' own 503 is passed on, not the edge's (the
        // third attempt, on a1 again, found it down).
        (&[Ok(503), Ok(503)], &[Keep, Keep, Last]),
        (&[Ok(503), Err(Outcome::Refused)], &[Keep, Drop, Last]),
        (&[], &[Drop, Drop, Answer]),
    ];
    for (answers, want) in table {
        let (replies, tried) = drive(&cfg, answers);
        assert_eq!(replies, want, "{answers:?}");
        assert_eq!(tried[0], a1, "{answers:?}");
        if tried.len() > 1 {
            assert_eq!(tried[1], a2, "failover: {answers:?}");
        }
    }
}

#[test]
fn the_edge_answers_503_when_no_origin_answered() {
    let cfg = config("");
    let f = fields("");
    let mut x = start(&cfg, "GET", "https://shop.test/p", &f, false).unwrap();
    let mut states = pool_states(&cfg.pools);
    let end = loop {
        match x.next(&mut states, T0, || 7, None) {
            Ok(_) => match x.report(Err(Outcome::Refused), &mut states, T0).0 {
                Reply::Drop => continue,
                end => break end,
            },
            Err(end) => break end,
        }
    };
    assert_eq!(end, Reply::Answer);
    let answer = x.answer(&cfg.error_pages, 0);
    assert_eq!(answer.status, 503);
    assert!(answer.headers.iter().any(|(n, _)| *n == "retry-after"));
    let (line, error) = x.log_line(503, T0 + 9).unwrap_or_default();
    assert!(error || line.is_empty(), "the log line says why");
}

#[test]
fn each_attempt_is_signed_afresh_when_a_key_is_set() {
    let cfg = config("");
    let f = fields("x-edge-auth\nforged\n");
    let mut x = start(&cfg, "GET", "https://shop.test/p", &f, false).unwrap();
    let mut states = pool_states(&cfg.pools);
    let mut n = 0;
    let key = origin_auth::OriginKey::new(b"key");
    let out = x
        .next(
            &mut states,
            T0,
            || {
                n += 1;
                n
            },
            Some(&key),
        )
        .unwrap();
    let sigs: Vec<_> = out
        .edits
        .set
        .iter()
        .filter(|(k, _)| *k == origin_auth::HEADER)
        .collect();
    assert_eq!(sigs.len(), 1, "{:?}", out.edits);
    assert_ne!(sigs[0].1, "forged");
    x.report(Err(Outcome::Refused), &mut states, T0);
    let again = x.next(&mut states, T0, || 9, Some(&key)).unwrap();
    assert_ne!(again.edits.set, out.edits.set, "a fresh nonce");
    let unsigned = start(&cfg, "GET", "https://shop.test/p", &f, false)
        .unwrap()
        .next(&mut states, T0, || 7, None)
        .unwrap();
    assert!(unsigned
        .edits
        .set
        .iter()
        .all(|(k, _)| *k != origin_auth::HEADER));
}

#[test]
fn an_intercepting_route_shows_its_own_page_for_an_origin_error() {
    let cfg = config(r#","intercept_origin_errors":true"#);
    let f = fields("");
    let mut x = start(&cfg, "GET", "https://shop.test/p", &f, false).unwrap();
    let mut states = pool_states(&cfg.pools);
    x.next(&mut states, T0, || 7, None).unwrap();
    assert_eq!(x.report(Ok(500), &mut states, T0).0, Reply::Respond);
    assert!(x.intercepts(500) && !x.intercepts(404));
    assert_eq!(x.answer(&cfg.error_pages, 500).status, 500);
}

#[test]
fn closing_mid_attempt_ends_its_in_flight_count() {
    let cfg = config(r#""#);
    let f = fields("");
    let mut states = pool_states(&cfg.pools);
    let mut x = start(&cfg, "GET", "https://shop.test/p", &f, false).unwrap();
    x.next(&mut states, T0, || 7, None).unwrap();
    let busy = format!("{:?}", states["dc1"].in_flight);
    x.close(&mut states);
    assert_ne!(format!("{:?}", states["dc1"].in_flight), busy);
}

#[test]
fn annotations_time_the_origin_and_add_hsts_on_https() {
    let cfg = Config::from_json(
        r#"{"routes":[{"pools":["dc1"],"cache":{"enabled":false}}],
            "pools":{"dc1":{"origins":[{"url":"http://a1"}]}},"hsts":"max-age=60"}"#,
    )
    .unwrap();
    let f = fields("");
    let mut states = pool_states(&cfg.pools);
    let mut x = start(&cfg, "GET", "https://shop.test/p", &f, false).unwrap();
    x.next(&mut states, T0, || 7, None).unwrap();
    x.report(Ok(200), &mut states, T0 + 30);
    let edits = x.annotations(200, T0 + 40);
    assert_eq!(edits.append[0].1, "edge;dur=10, origin;dur=30");
    assert_eq!(
        edits.set,
        vec![("strict-transport-security", "max-age=60".to_string())]
    );
    let http = start(&cfg, "GET", "http://shop.test/p", &f, false).unwrap();
    assert!(http.annotations(200, T0).set.is_empty());
}

#[test]
fn a_sessions_request_on_a_caching_route_says_it_went_around_the_cache() {
    let cfg = Config::from_json(
        r#"{"routes":[{"pools":["dc1"]}],"pools":{"dc1":{"origins":[{"url":"http://a1"}]}},
            "log_requests":true}"#,
    )
    .unwrap();
    let f = fields("cookie\nPHPSESSID=abc\n");
    let mut states = pool_states(&cfg.pools);
    let mut x = start(&cfg, "GET", "https://shop.test/p", &f, false).unwrap();
    x.next(&mut states, T0, || 7, None).unwrap();
    assert_eq!(x.report(Ok(200), &mut states, T0).0, Reply::Respond);
    let status = x.cache_status(200).unwrap();
    assert_eq!(status.outcome(), "bypass");
    let edits = x.annotations(200, T0);
    let shown = edits.set.iter().find(|(n, _)| *n == "cache-status");
    assert_eq!(
        shown.map(|(_, v)| v.as_str()),
        Some(status.header().as_str())
    );
    let (line, _) = x.log_line(200, T0).unwrap();
    assert!(line.contains(r#""cache":"bypass""#), "{line}");
}

#[test]
fn the_glue_driver_sets_what_the_cache_did_and_adds_the_validators() {
    let cfg = Config::from_json(
        r#"{"routes":[{"pools":["dc1"]}],"pools":{"dc1":{"origins":[{"url":"http://a1"}]}},
            "log_requests":true}"#,
    )
    .unwrap();
    let Decision::Proxy(route, upstream) = router::decide("https://shop.test/p", &cfg) else {
        panic!("not a proxy route")
    };
    let f = fields("");
    let i = inbound::read_fields("https://shop.test/p", "GET", &f, || false, &cfg, T0).unwrap();
    let mut x = Exchange::new(&cfg, b"k", (route, upstream), i, |_| BTreeMap::new());
    assert_eq!(x.timing(T0 + 5), (T0 + 5, T0 + 5), "no attempt yet");
    let mut states = pool_states(&cfg.pools);
    assert!(!x.all_down(&states, T0));
    x.add_edits(vec![("if-none-match", "\"v1\"".to_string())]);
    let out = x.next(&mut states, T0 + 10, || 7, None).unwrap();
    assert!(
        out.edits
            .set
            .contains(&("if-none-match", "\"v1\"".to_string())),
        "{:?}",
        out.edits.set
    );
    assert_eq!(x.report(Ok(304), &mut states, T0 + 25).0, Reply::Respond);
    assert_eq!(x.timing(T0 + 99), (T0 + 10, T0 + 25));
    assert_eq!(x.cache_status(200), None, "the flow has not said yet");
    x.set_cache_status(CacheStatus::refreshed());
    let shown = x.annotations(200, T0 + 30);
    let status = shown.set.iter().find(|(n, _)| *n == "cache-status");
    assert_eq!(
        status.map(|(_, v)| v.clone()),
        Some(CacheStatus::refreshed().header())
    );
    let (line, _) = x.log_line(200, T0 + 30).unwrap();
    let outcome = CacheStatus::refreshed().outcome();
    assert!(line.contains(&format!(r#""cache":"{outcome}""#)), "{line}");
}

#[test]
fn abandoning_ends_the_in_flight_count_once() {
    let cfg = config("");
    let f = fields("");
    let mut states = pool_states(&cfg.pools);
    let counts = |s: &PoolStates| s["dc1"].in_flight.counts(T0);
    let idle = counts(&states);
    let mut x = start(&cfg, "GET", "https://shop.test/p", &f, false).unwrap();
    x.next(&mut states, T0, || 7, None).unwrap();
    assert_ne!(counts(&states), idle);
    x.abandon(&mut states);
    assert_eq!(counts(&states), idle);
    x.abandon(&mut states);
    assert_eq!(counts(&states), idle, "nothing twice");
    assert_eq!(x.report(Ok(200), &mut states, T0).0, Reply::Answer);
}

#[test]
fn a_writers_read_on_a_caching_route_goes_around_the_cache_to_the_write_pool() {
    let cfg = Config::from_json(
        r#"{"routes":[{"pools":["reads"],"write_pool":"writes","read_your_writes_s":30}],
            "pools":{"reads":{"origins":[{"url":"http://replica"}]},
                     "writes":{"origins":[{"url":"http://primary"}]}}}"#,
    )
    .unwrap();
    let mut states = pool_states(&cfg.pools);
    const P: &str = "https://shop.test/page";
    let route_id = cfg.routes[0].id();
    let token = crate::balancer::affinity::ryw_token(b"k", &route_id, T0 / 1000 + 30);
    // A stale cookie of the same name first (RFC 6265 §4.2.2: no order to rely on).
    let writer = fields(&format!("cookie\n__edge_ryw=old; __edge_ryw={token}\n"));
    let mut x = start(&cfg, "GET", P, &writer, false).expect("taken: its cache is gone around");
    let attempt = x.next(&mut states, T0, || 7, None).unwrap();
    assert_eq!(
        attempt.url, "http://primary/page",
        "the writer reads from the write pool"
    );
    x.report(Ok(200), &mut states, T0);
    let status = x.cache_status(200).unwrap();
    assert_eq!(status.outcome(), "bypass");
    assert!(
        status.header().contains("detail=read-your-writes"),
        "{}",
        status.header()
    );
    for forged in ["__edge_ryw=old", "__edge_ryw=x.y.z"] {
        let f = fields(&format!("cookie\n{forged}\n"));
        assert!(
            start(&cfg, "GET", P, &f, false).is_none(),
            "{forged}: the cache's path"
        );
    }
}
