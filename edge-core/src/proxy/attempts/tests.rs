//! The attempts loop with plain values for responses: outcomes, the kept answer, the ends.

use super::*;
use crate::balancer::pool_states;
use crate::balancer::retry::BodyKind;
use crate::config::Config;
use crate::proxy::inbound;
use crate::routes::Action;

const T0: u64 = 1_700_000_000_000;

/// dc1 = a1, a2 (then nothing else); `extra` is appended to the route.
fn config(extra: &str) -> Config {
    Config::from_json(&format!(
        r#"{{"routes":[{{"pools":["dc1"]{extra}}}],
            "pools":{{"dc1":{{"origins":[{{"url":"http://a1"}},{{"url":"http://a2"}}]}}}}}}"#
    ))
    .unwrap()
}

fn request(cfg: &Config, method: &str, accept: &str) -> Inbound {
    let get = |n: &str| match n {
        "cf-connecting-ip" => Some("203.0.113.7".to_string()),
        "accept" => Some(accept.to_string()),
        _ => None,
    };
    let names = ["cf-connecting-ip", "accept"].into_iter();
    inbound::read(
        "https://shop.test/p",
        method,
        get,
        names,
        BodyKind::None,
        cfg,
        T0,
    )
    .unwrap()
}

/// Runs the attempts with `answers` given in turn (a status, or a failure); the end, the
/// origins tried and the log lines.
fn run(cfg: &Config, answers: &[Result<u16, Outcome>]) -> (Ended<u16>, Vec<String>, Vec<String>) {
    let Action::Proxy(up) = &cfg.routes[0].action else {
        unreachable!()
    };
    let mut states = pool_states(&cfg.pools);
    let facts = request(cfg, "GET", "*/*").facts;
    let mut plan = Plan::new(cfg, &cfg.routes[0], up, facts, b"k");
    let mut attempts = Attempts::new(&mut plan);
    let (mut tried, mut lines) = (Vec::new(), Vec::new());
    for answer in answers
        .iter()
        .chain(std::iter::repeat(&Err(Outcome::Refused)))
    {
        let a = match attempts.next(&mut states, &BTreeMap::new(), T0, 0) {
            Ok(a) => a,
            Err(ended) => return (ended, tried, lines),
        };
        tried.push(a.url.clone());
        let result = answer.map(|s| (s, s));
        let reported = attempts.report(&a, result, &mut states, T0 + 1);
        lines.extend(reported.lines);
        if let Some(ended) = reported.ended {
            return (ended, tried, lines);
        }
    }
    unreachable!()
}

#[test]
fn a_success_is_passed_on_with_the_plans_cookies() {
    let (ended, tried, lines) = run(&config(""), &[Ok(200)]);
    assert_eq!((ended.result, ended.error), (Ok(200), None));
    assert_eq!(tried, ["http://a1"]);
    assert!(lines.is_empty());
}

#[test]
fn an_origin_failure_is_kept_and_passed_on_when_nothing_better_comes() {
    let (ended, tried, _) = run(&config(""), &[Ok(503), Err(Outcome::Refused)]);
    assert_eq!(ended.result, Ok(503));
    assert_eq!(tried.len(), 2);
    assert_eq!(ended.error, Some(GiveUp::LastAnswer.reason()));
    assert!(ended.set_cookies.is_empty());
}

#[test]
fn a_later_success_wins_over_a_kept_failure() {
    let (ended, _, _) = run(&config(""), &[Ok(502), Ok(201)]);
    assert_eq!(ended.result, Ok(201));
}

#[test]
fn nothing_answered_is_the_edges_503() {
    let (ended, tried, _) = run(&config(""), &[]);
    let answer = ended.result.unwrap_err();
    assert_eq!(answer.status, 503);
    assert_eq!(tried.len(), 2);
    assert_eq!(ended.error, Some("no origin could answer"));
}

#[test]
fn an_invalid_status_is_a_failure_with_a_log_line_and_never_passed_on() {
    let (ended, _, lines) = run(&config(""), &[Ok(999), Ok(99)]);
    assert_eq!(ended.result.unwrap_err().status, 502);
    assert_eq!(lines.len(), 2);
    assert!(lines[0].contains("http://a1 answered status 999, not a final HTTP status"));
}

#[test]
fn an_ejection_is_logged() {
    let cfg = config("");
    let Action::Proxy(up) = &cfg.routes[0].action else {
        unreachable!()
    };
    let mut states = pool_states(&cfg.pools);
    let mut lines = Vec::new();
    for _ in 0..10 {
        let facts = request(&cfg, "GET", "*/*").facts;
        let mut plan = Plan::new(&cfg, &cfg.routes[0], up, facts, b"k");
        let mut attempts = Attempts::<u16>::new(&mut plan);
        let Ok(a) = attempts.next(&mut states, &BTreeMap::new(), T0, 0) else {
            continue;
        };
        let reported = attempts.report(&a, Err(Outcome::Refused), &mut states, T0);
        lines.extend(reported.lines);
    }
    assert!(lines.iter().any(|l| l.contains("\"ejected\"")), "{lines:?}");
}

#[test]
fn the_client_gets_the_edges_page_for_an_intercepted_5xx_and_headers_only_for_head() {
    let cfg = config(r#","intercept_origin_errors":true"#);
    let Action::Proxy(up) = &cfg.routes[0].action else {
        unreachable!()
    };
    let pages = ErrorPages::new([(500, "/errors/500.html".to_string())].into());
    let browser = request(&cfg, "GET", "text/html");
    let status = |s: &u16| *s;
    assert_eq!(for_client(Ok(200), status, up, &pages, &browser), Ok(200));
    let answer = for_client(Ok(500), status, up, &pages, &browser).unwrap_err();
    assert_eq!(answer.page.as_deref(), Some("/errors/500.html"));
    assert!(!answer.body.is_empty());
    let head = request(&cfg, "HEAD", "*/*");
    let answer = for_client(Ok(502), status, up, &pages, &head).unwrap_err();
    assert_eq!(
        (answer.status, answer.page, answer.body),
        (502, None, String::new())
    );
    let plain = config("");
    let Action::Proxy(up) = &plain.routes[0].action else {
        unreachable!()
    };
    assert_eq!(for_client(Ok(500), status, up, &pages, &browser), Ok(500));
}
