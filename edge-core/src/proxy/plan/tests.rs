//! Table-driven tests of the request plan: every rule, with scripted outcomes and a fake clock.

use super::*;
use crate::balancer::pool_states;
use crate::routes::Action;

const KEY: &[u8] = b"cookie-key";
const T0: u64 = 1_700_000_000_000;

/// Two data centres and a write pool: dc1 = a1, a2; dc2 = b1; w = w1, w2; maint = m1
/// (fallback).
fn config(extra: &str) -> Config {
    Config::from_json(&format!(
        r#"{{"routes":[{{"pools":["dc1","dc2"],"fallback_pool":"maint","write_pool":"w"}}],
            "pools":{{"dc1":{{"origins":[{{"url":"http://a1"}},{{"url":"http://a2"}}]}},
                     "dc2":{{"origins":[{{"url":"http://b1"}}]}},
                     "w":{{"origins":[{{"url":"http://w1"}},{{"url":"http://w2"}}]}},
                     "maint":{{"origins":[{{"url":"http://m1"}}]}}}}{extra}}}"#
    ))
    .unwrap()
}

fn facts(method: &str, body: BodyKind, cookies: &str) -> RequestFacts {
    RequestFacts {
        method: method.parse().unwrap(),
        body,
        cookies: cookies.into(),
        hash_headers: vec![],
        client_ip: "203.0.113.7".parse().unwrap(),
        path: "/p".into(),
        started_ms: T0,
    }
}

/// What a run did: the origins tried (host of the URL), the end, and the final cookies.
#[derive(Debug, PartialEq, Eq)]
struct Run {
    tried: Vec<String>,
    end: End,
    timeouts: Vec<u64>,
    cookies: Vec<String>,
    elapsed_ms: u64,
}

#[derive(Debug, PartialEq, Eq)]
enum End {
    Respond(String),
    GiveUp(GiveUp),
}

/// Runs a plan; `script(origin host)` gives each attempt's outcome; time advances by the
/// attempt's timeout on `TimedOut` and by 5 ms otherwise.
fn run_with(
    cfg: &Config,
    states: &mut PoolStates,
    f: RequestFacts,
    script: &dyn Fn(&str) -> Outcome,
) -> Run {
    let Action::Proxy(upstream) = &cfg.routes[0].action else {
        panic!("proxy route expected")
    };
    // The first attempt is asked for at T0, or at the arrival if later.
    let mut now = f.started_ms.max(T0);
    let mut plan = Plan::new(cfg, &cfg.routes[0], upstream, f, KEY);
    let mut tried = Vec::new();
    let mut timeouts = Vec::new();
    let verdicts = BTreeMap::new();
    loop {
        let attempt = match plan.next(states, &verdicts, now, 0) {
            Step::Attempt(a) => a,
            Step::GiveUp(g) => {
                return Run {
                    tried,
                    end: End::GiveUp(g),
                    timeouts,
                    cookies: vec![],
                    elapsed_ms: now - T0,
                }
            }
        };
        let host = attempt.url.trim_start_matches("http://").to_string();
        tried.push(host.clone());
        timeouts.push(attempt.timeout_ms);
        let outcome = script(&host);
        now += if outcome == Outcome::TimedOut {
            attempt.timeout_ms
        } else {
            5
        };
        match plan.outcome(&attempt, outcome, states, now) {
            Decision::Respond { set_cookies } => {
                return Run {
                    tried,
                    end: End::Respond(host),
                    timeouts,
                    cookies: set_cookies,
                    elapsed_ms: now - T0,
                }
            }
            Decision::TryAgain => {}
            Decision::GiveUp(g) => {
                return Run {
                    tried,
                    end: End::GiveUp(g),
                    timeouts,
                    cookies: vec![],
                    elapsed_ms: now - T0,
                }
            }
        }
    }
}

fn run(cfg: &Config, f: RequestFacts, script: &dyn Fn(&str) -> Outcome) -> Run {
    run_with(cfg, &mut pool_states(&cfg.pools), f, script)
}

fn down(hosts: &'static [&'static str]) -> impl Fn(&str) -> Outcome {
    move |h| {
        if hosts.contains(&h) {
            Outcome::Refused
        } else {
            Outcome::Answered(200)
        }
    }
}

const UNAVAILABLE: End = End::GiveUp(GiveUp::Unavailable {
    retry_after_s: RETRY_AFTER_S,
});

#[test]
fn failover_order_pool_then_next_pool_then_fallback() {
    let cfg = config(r#","max_attempts":5"#);
    let cases: [(&[&str], &[&str], End); 4] = [
        (&[], &["a1"], End::Respond("a1".into())),
        (&["a1"], &["a1", "a2"], End::Respond("a2".into())),
        (
            &["a1", "a2"],
            &["a1", "a2", "b1"],
            End::Respond("b1".into()),
        ),
        (
            &["a1", "a2", "b1"],
            &["a1", "a2", "b1", "m1"],
            End::Respond("m1".into()),
        ),
    ];
    for (dead, tried, end) in cases {
        let dead: &'static [&'static str] = Box::leak(dead.to_vec().into_boxed_slice());
        let r = run(&cfg, facts("GET", BodyKind::None, ""), &down(dead));
        assert_eq!(r.tried, tried, "dead {dead:?}");
        assert_eq!(r.end, end, "dead {dead:?}");
    }
}

#[test]
fn everything_down_is_503_with_retry_after_even_with_enough_attempts() {
    // Defect: with at least max_attempts origins in the chain, the edge answered 502/504.
    for extra in ["", r#","max_attempts":10"#] {
        let cfg = config(extra);
        let r = run(&cfg, facts("GET", BodyKind::None, ""), &|_| {
            Outcome::Refused
        });
        assert_eq!(r.end, UNAVAILABLE, "{extra}");
        let r = run(&cfg, facts("GET", BodyKind::None, ""), &|_| {
            Outcome::TimedOut
        });
        assert_eq!(
            r.end, UNAVAILABLE,
            "timeouts everywhere: nobody answered; {extra}"
        );
        assert_eq!(
            GiveUp::Unavailable { retry_after_s: 10 }.status(),
            Some(503)
        );
    }
}

#[test]
fn attempts_are_bounded() {
    let cfg = config(r#","max_attempts":2"#);
    let r = run(&cfg, facts("GET", BodyKind::None, ""), &|_| {
        Outcome::Refused
    });
    assert_eq!(r.tried, ["a1", "a2"]);
    assert_eq!(r.end, UNAVAILABLE);
}

#[test]
fn the_deadline_bounds_the_total_time() {
    let cfg = config(r#","attempt_timeout_ms":4000,"deadline_ms":10000,"max_attempts":10"#);
    let r = run(&cfg, facts("GET", BodyKind::None, ""), &|_| {
        Outcome::TimedOut
    });
    assert_eq!(
        r.timeouts,
        [4000, 4000, 2000],
        "the last attempt is cut to what is left"
    );
    assert!(r.elapsed_ms <= 10_000, "{}", r.elapsed_ms);
    assert_eq!(r.end, UNAVAILABLE);
    // Less than MIN_ATTEMPT_MS left: no attempt is started.
    let cfg = config(r#","attempt_timeout_ms":4960,"deadline_ms":10000,"max_attempts":10"#);
    let r = run(&cfg, facts("GET", BodyKind::None, ""), &|_| {
        Outcome::TimedOut
    });
    assert_eq!(r.timeouts, [4960, 4960]);
}

#[test]
fn the_deadline_counts_from_the_first_attempt_not_the_arrival() {
    // A client that took 30 s to send its body (read whole at the edge before any attempt)
    // still gets every attempt the deadline allows: its upload was not the origins' time.
    let cfg = config(r#","attempt_timeout_ms":4000,"deadline_ms":10000,"max_attempts":10"#);
    let mut f = facts("PUT", BodyKind::Buffered, "");
    f.started_ms = T0 - 30_000;
    let r = run(&cfg, f, &|_| Outcome::TimedOut);
    assert_eq!(r.tried, ["w1", "w2"], "both writers tried: {r:?}");
    assert_eq!(
        r.timeouts,
        [4000, 4000],
        "each with its whole timeout: {r:?}"
    );
    // A request that waited on origins another way (a cache follower) counts from when it
    // began to wait: 9 s of its 10 s are gone.
    let Action::Proxy(up) = &cfg.routes[0].action else {
        unreachable!()
    };
    let f = facts("GET", BodyKind::None, "");
    let mut plan = Plan::new(&cfg, &cfg.routes[0], up, f, KEY);
    plan.count_deadline_from(T0 - 9_000);
    let mut states = pool_states(&cfg.pools);
    let Step::Attempt(a) = plan.next(&mut states, &BTreeMap::new(), T0, 0) else {
        panic!("an attempt")
    };
    assert_eq!(a.timeout_ms, 1_000);
}

#[test]
fn retries_by_method_and_body() {
    use BodyKind::*;
    use Outcome::*;
    let cfg = config(r#","max_attempts":3"#);
    // (method, body, outcome of the first attempt, origins tried, end). Writes go to the write
    // pool (w1 only): a write that may be resent is retried there until attempts run out.
    let cases = [
        (
            "GET",
            None,
            Refused,
            vec!["a1", "a2"],
            End::Respond("a2".into()),
        ),
        (
            "GET",
            None,
            TimedOut,
            vec!["a1", "a2"],
            End::Respond("a2".into()),
        ),
        (
            "GET",
            None,
            Answered(503),
            vec!["a1", "a2"],
            End::Respond("a2".into()),
        ),
        (
            "GET",
            None,
            Invalid,
            vec!["a1", "a2"],
            End::Respond("a2".into()),
        ),
        (
            "GET",
            None,
            Answered(500),
            vec!["a1"],
            End::Respond("a1".into()),
        ),
        (
            "HEAD",
            None,
            Lost,
            vec!["a1", "a2"],
            End::Respond("a2".into()),
        ),
        (
            "OPTIONS",
            None,
            Lost,
            vec!["a1", "a2"],
            End::Respond("a2".into()),
        ),
        (
            "DELETE",
            None,
            TimedOut,
            vec!["w1", "w2"],
            End::Respond("w2".into()),
        ),
        (
            "PUT",
            Buffered,
            Lost,
            vec!["w1", "w2"],
            End::Respond("w2".into()),
        ),
        ("PUT", Streamed, Refused, vec!["w1"], UNAVAILABLE),
        (
            "PUT",
            Streamed,
            TimedOut,
            vec!["w1"],
            End::GiveUp(GiveUp::GatewayTimeout),
        ),
        (
            "POST",
            None,
            Refused,
            vec!["w1", "w2"],
            End::Respond("w2".into()),
        ),
        (
            "POST",
            Buffered,
            Refused,
            vec!["w1", "w2"],
            End::Respond("w2".into()),
        ),
        (
            "POST",
            Buffered,
            Lost,
            vec!["w1"],
            End::GiveUp(GiveUp::BadGateway),
        ),
        (
            "POST",
            Buffered,
            TimedOut,
            vec!["w1"],
            End::GiveUp(GiveUp::GatewayTimeout),
        ),
        (
            "POST",
            Streamed,
            Invalid,
            vec!["w1"],
            End::GiveUp(GiveUp::BadGateway),
        ),
        (
            "POST",
            Buffered,
            Answered(503),
            vec!["w1"],
            End::GiveUp(GiveUp::LastAnswer),
        ),
        (
            "PATCH",
            Streamed,
            TimedOut,
            vec!["w1"],
            End::GiveUp(GiveUp::GatewayTimeout),
        ),
        (
            "PROPFIND",
            Streamed,
            Answered(207),
            vec!["w1"],
            End::Respond("w1".into()),
        ),
    ];
    for (method, body, first, tried, end) in cases {
        let count = std::cell::Cell::new(0);
        let script = |_: &str| {
            count.set(count.get() + 1);
            if count.get() == 1 {
                first
            } else {
                Answered(200)
            }
        };
        let r = run(&cfg, facts(method, body, ""), &script);
        assert_eq!(r.tried, tried, "{method} {body:?} {first:?}");
        assert_eq!(r.end, end, "{method} {body:?} {first:?}");
    }
}

#[test]
fn the_last_answer_is_passed_on_when_every_origin_answered_with_a_failure() {
    let cfg = config("");
    let r = run(&cfg, facts("GET", BodyKind::None, ""), &|_| {
        Outcome::Answered(503)
    });
    assert_eq!(r.tried.len(), 3);
    assert_eq!(r.end, End::GiveUp(GiveUp::LastAnswer));
    // One answered, the others refused: still the origin's page, not the edge's.
    let r = run(&cfg, facts("GET", BodyKind::None, ""), &|h| {
        if h == "a1" {
            Outcome::Answered(503)
        } else {
            Outcome::Refused
        }
    });
    assert_eq!(r.end, End::GiveUp(GiveUp::LastAnswer));
}

#[test]
fn panic_mode_tries_ejected_origins_when_nothing_else_is_left() {
    let cfg = config(r#","eject_after_failures":1"#);
    let mut states = pool_states(&cfg.pools);
    // Every origin of the chain fails once and is ejected.
    let r = run_with(&cfg, &mut states, facts("GET", BodyKind::None, ""), &|_| {
        Outcome::Refused
    });
    assert_eq!(r.end, UNAVAILABLE);
    let r = run_with(&cfg, &mut states, facts("GET", BodyKind::None, ""), &|_| {
        Outcome::Refused
    });
    assert_eq!(r.end, UNAVAILABLE, "{r:?}");
    // All are ejected now; the origins came back: panic mode tries them instead of a 503.
    let r = run_with(&cfg, &mut states, facts("GET", BodyKind::None, ""), &|_| {
        Outcome::Answered(200)
    });
    assert_eq!(r.tried.len(), 1, "{r:?}");
    assert!(matches!(r.end, End::Respond(_)), "{r:?}");
}

#[test]
fn ejected_origins_are_skipped_while_others_are_up() {
    let cfg = config(r#","eject_after_failures":1"#);
    let mut states = pool_states(&cfg.pools);
    let r = run_with(
        &cfg,
        &mut states,
        facts("GET", BodyKind::None, ""),
        &down(&["a1"]),
    );
    assert_eq!(r.tried, ["a1", "a2"]);
    for _ in 0..4 {
        let r = run_with(
            &cfg,
            &mut states,
            facts("GET", BodyKind::None, ""),
            &down(&[]),
        );
        assert_eq!(r.tried, ["a2"], "a1 is ejected");
    }
}

#[test]
fn writes_go_to_the_write_pool_only_and_pin_the_writer_to_it() {
    let cfg = config("");
    for method in ["POST", "PUT", "PATCH", "DELETE", "PROPFIND"] {
        let r = run(&cfg, facts(method, BodyKind::None, ""), &down(&[]));
        assert_eq!(r.tried, ["w1"], "{method}");
        assert_eq!(r.cookies.len(), 1, "{method}: {:?}", r.cookies);
        assert!(
            r.cookies[0].starts_with("__edge_ryw=v1."),
            "{:?}",
            r.cookies
        );
        assert!(r.cookies[0].contains("Max-Age=5"));
    }
    // The write pool down: the write is not sent elsewhere.
    let r = run(
        &cfg,
        facts("POST", BodyKind::None, ""),
        &down(&["w1", "w2"]),
    );
    assert_eq!(
        r.tried,
        ["w1", "w2"],
        "refused POSTs may be resent, within the write pool"
    );
    assert_eq!(r.end, UNAVAILABLE);
    assert!(r.cookies.is_empty());
}

#[test]
fn read_your_writes_holds_for_its_route_until_it_expires() {
    let cfg = config("");
    let route_id = cfg.routes[0].id();
    let now_s = T0 / 1000;
    let valid = format!(
        "__edge_ryw={}",
        affinity::ryw_token(KEY, &route_id, now_s + 5)
    );
    let other_route = format!(
        "__edge_ryw={}",
        affinity::ryw_token(KEY, "other", now_s + 5)
    );
    let expired = format!("__edge_ryw={}", affinity::ryw_token(KEY, &route_id, now_s));
    let forged = format!(
        "__edge_ryw={}",
        affinity::ryw_token(b"wrong", &route_id, now_s + 5)
    );
    for (cookie, first) in [
        (valid.as_str(), "w1"),
        (other_route.as_str(), "a1"),
        (expired.as_str(), "a1"),
        (forged.as_str(), "a1"),
        ("", "a1"),
    ] {
        let r = run(&cfg, facts("GET", BodyKind::None, cookie), &down(&[]));
        assert_eq!(r.tried[0], first, "{cookie}");
        assert!(r.cookies.is_empty(), "reads set no ryw cookie");
    }
    // The write pool down: the writer's reads fall back to the chain.
    let r = run(
        &cfg,
        facts("GET", BodyKind::None, &valid),
        &down(&["w1", "w2"]),
    );
    assert_eq!(r.tried, ["w1", "w2", "a1"]);
}

#[test]
fn sticky_pins_hold_move_when_down_and_slide() {
    let mut cfg = config(r#","affinity_ttl_s":3600"#);
    cfg.pools.get_mut("dc1").unwrap().sticky = true;
    let now_s = T0 / 1000;
    let pin_a2 = |expires: u64| {
        format!(
            "__edge_affinity={}",
            Pin::write(KEY, "dc1", "http://a2", expires)
        )
    };
    // Pinned and fresh: the pinned origin, no new cookie.
    let r = run(
        &cfg,
        facts("GET", BodyKind::None, &pin_a2(now_s + 3600)),
        &down(&[]),
    );
    assert_eq!(r.tried, ["a2"]);
    assert!(r.cookies.is_empty(), "{:?}", r.cookies);
    // Pinned, under half the lifetime left: the same origin, renewed (sliding expiry).
    let r = run(
        &cfg,
        facts("GET", BodyKind::None, &pin_a2(now_s + 1000)),
        &down(&[]),
    );
    assert_eq!(r.tried, ["a2"]);
    assert_eq!(r.cookies.len(), 1);
    let renewed = r.cookies[0]
        .split(';')
        .next()
        .unwrap()
        .split_once('=')
        .unwrap()
        .1
        .to_string();
    let pin = Pin::read(KEY, &renewed, now_s).unwrap();
    assert_eq!((pin.pool.as_str(), pin.expires), ("dc1", now_s + 3600));
    assert_eq!(pin.origin, affinity::origin_id("http://a2"));
    // The pinned origin down: moved and re-pinned.
    let r = run(
        &cfg,
        facts("GET", BodyKind::None, &pin_a2(now_s + 3600)),
        &down(&["a2"]),
    );
    assert_eq!(r.tried, ["a2", "a1"]);
    let moved = r.cookies[0]
        .split(';')
        .next()
        .unwrap()
        .split_once('=')
        .unwrap()
        .1
        .to_string();
    assert_eq!(
        Pin::read(KEY, &moved, now_s).unwrap().origin,
        affinity::origin_id("http://a1")
    );
    // No pin yet: pinned by the first response.
    let r = run(&cfg, facts("GET", BodyKind::None, ""), &down(&[]));
    assert_eq!(r.cookies.len(), 1);
    // A pin for another pool, or a forged one, is ignored.
    let forged = format!(
        "__edge_affinity={}",
        Pin::write(b"x", "dc1", "http://a2", now_s + 3600)
    );
    let r = run(&cfg, facts("GET", BodyKind::None, &forged), &down(&[]));
    assert_eq!(r.tried, ["a1"]);
}

#[test]
fn in_flight_tickets_end_with_the_outcome_or_when_abandoned() {
    let cfg = Config::from_json(
        r#"{"routes":[{"pools":["p"]}],"pools":{"p":{"steering":"least_outstanding","origins":[{"url":"http://a"},{"url":"http://b"}]}}}"#,
    )
    .unwrap();
    let Action::Proxy(up) = &cfg.routes[0].action else {
        unreachable!()
    };
    let mut states = pool_states(&cfg.pools);
    let verdicts = BTreeMap::new();
    let mut p1 = Plan::new(
        &cfg,
        &cfg.routes[0],
        up,
        facts("GET", BodyKind::None, ""),
        KEY,
    );
    let Step::Attempt(a1) = p1.next(&mut states, &verdicts, T0, 0) else {
        panic!()
    };
    assert_eq!(states["p"].in_flight.count(a1.origin, T0), 1);
    let mut p2 = Plan::new(
        &cfg,
        &cfg.routes[0],
        up,
        facts("GET", BodyKind::None, ""),
        KEY,
    );
    let Step::Attempt(a2) = p2.next(&mut states, &verdicts, T0, 0) else {
        panic!()
    };
    assert_ne!(
        a1.origin, a2.origin,
        "least outstanding spreads concurrent requests"
    );
    a1.abandon(&mut states);
    assert_eq!(
        states["p"].in_flight.count(a1.origin, T0),
        0,
        "a cancelled request's drop guard ends it"
    );
    p2.outcome(&a2, Outcome::Answered(200), &mut states, T0 + 5);
    assert_eq!(states["p"].in_flight.counts(T0), [0, 0]);
}

#[test]
fn hash_pools_keep_a_session_on_one_origin() {
    let cfg = Config::from_json(
        r#"{"routes":[{"pools":["p"]}],"pools":{"p":{"steering":"hash","hash_on":"cookie:PHPSESSID","origins":[{"url":"http://a"},{"url":"http://b"},{"url":"http://c"}]}}}"#,
    )
    .unwrap();
    let first = run(
        &cfg,
        facts("GET", BodyKind::None, "PHPSESSID=s1"),
        &down(&[]),
    )
    .tried;
    for _ in 0..5 {
        assert_eq!(
            run(
                &cfg,
                facts("GET", BodyKind::None, "PHPSESSID=s1"),
                &down(&[])
            )
            .tried,
            first
        );
    }
}

#[test]
fn the_log_line_names_the_last_attempt() {
    let cfg = config("");
    let Action::Proxy(up) = &cfg.routes[0].action else {
        unreachable!()
    };
    let mut states = pool_states(&cfg.pools);
    let mut plan = Plan::new(
        &cfg,
        &cfg.routes[0],
        up,
        facts("GET", BodyKind::None, ""),
        KEY,
    );
    let line: serde_json::Value =
        serde_json::from_str(&plan.log_line("GET", 503, Some("x"), None, T0 + 3).unwrap()).unwrap();
    assert_eq!(
        (line["pool"].as_str(), line["attempts"].as_u64()),
        (Some("-"), Some(0))
    );
    let Step::Attempt(a) = plan.next(&mut states, &BTreeMap::new(), T0, 0) else {
        panic!()
    };
    plan.outcome(&a, Outcome::Answered(200), &mut states, T0 + 5);
    let line: serde_json::Value = serde_json::from_str(
        &plan
            .log_line("GET", 200, None, Some("hit"), T0 + 9)
            .unwrap(),
    )
    .unwrap();
    assert_eq!(line["pool"], "dc1");
    assert_eq!(line["origin"], "http://a1");
    assert_eq!(line["path"], "/p");
    assert_eq!(line["route"], "*/");
    assert_eq!(line["latency_ms"], 9);
    assert_eq!(line["attempts"], 1);
    assert_eq!(line["cache"], "hit");
    let quiet = config(r#","log_requests":false"#);
    let plan = Plan::new(
        &quiet,
        &quiet.routes[0],
        up,
        facts("GET", BodyKind::None, ""),
        KEY,
    );
    assert_eq!(plan.log_line("GET", 200, None, None, T0), None);
}

#[test]
fn all_down_when_nothing_in_the_chain_can_be_tried() {
    let cfg = config(r#","eject_after_failures":1"#);
    let mut states = pool_states(&cfg.pools);
    let Action::Proxy(up) = &cfg.routes[0].action else {
        unreachable!()
    };
    let plan = Plan::new(
        &cfg,
        &cfg.routes[0],
        up,
        facts("GET", BodyKind::None, ""),
        KEY,
    );
    assert!(!plan.all_down(&states, &BTreeMap::new(), T0));
    run_with(&cfg, &mut states, facts("GET", BodyKind::None, ""), &|_| {
        Outcome::Refused
    });
    run_with(&cfg, &mut states, facts("GET", BodyKind::None, ""), &|_| {
        Outcome::Refused
    });
    assert!(
        plan.all_down(&states, &BTreeMap::new(), T0 + 100),
        "every origin ejected"
    );
    assert!(
        !plan.all_down(&states, &BTreeMap::new(), T0 + 60_000),
        "ejections over"
    );
}

#[test]
fn a_client_whose_body_breaks_off_gets_400_and_no_origin_is_blamed() {
    let cfg = config(r#","eject_after_failures":1"#);
    let mut states = pool_states(&cfg.pools);
    for method in ["POST", "PUT", "GET"] {
        for body in [BodyKind::Streamed, BodyKind::Buffered] {
            let r = run_with(&cfg, &mut states, facts(method, body, ""), &|_| {
                Outcome::ClientAborted
            });
            assert_eq!(r.tried.len(), 1, "never retried: {method} {body:?} {r:?}");
            assert_eq!(
                r.end,
                End::GiveUp(GiveUp::ClientAborted),
                "{method} {body:?}"
            );
            assert_eq!(GiveUp::ClientAborted.status(), Some(400));
        }
    }
    // One failure ejects here; six aborted uploads ejected nothing, and no ticket is left.
    for pool in ["dc1", "w"] {
        assert_eq!(states[pool].in_flight.counts(T0 + 1_000), [0, 0], "{pool}");
    }
    let r = run_with(&cfg, &mut states, facts("GET", BodyKind::None, ""), &|h| {
        if h == "a1" {
            Outcome::Answered(200)
        } else {
            Outcome::Refused
        }
    });
    assert_eq!(r.tried, ["a1"], "a1 still takes traffic: {r:?}");
    let r = run_with(
        &cfg,
        &mut states,
        facts("POST", BodyKind::Buffered, ""),
        &|_| Outcome::Answered(201),
    );
    assert_eq!(r.tried, ["w1"], "w1 still takes writes: {r:?}");
}
