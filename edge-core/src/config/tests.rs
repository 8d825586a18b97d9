//! Table-driven tests of the configuration: defaults, a full example, and errors that name the key.

use super::*;
use crate::assets::Cors;
use crate::balancer::{HashOn, Origin, Steering};
use crate::routes::Action;

fn chain(c: &Config, host: &str, path: &str) -> Vec<String> {
    match &c
        .routes
        .iter()
        .find(|r| r.matches(host, path.as_bytes()))
        .unwrap()
        .action
    {
        Action::Proxy(u) => u.pools.clone(),
        Action::Deny => vec![],
    }
}

#[test]
fn defaults() {
    let c = Config::from_json("{}").unwrap();
    assert_eq!(c.assets.public_path, "/assets/");
    assert_eq!(c.assets.manifest, "/cdn-manifest.bin");
    assert_eq!(c.assets.cors, Cors::Any);
    assert!(c.routes.is_empty() && c.pools.is_empty());
    assert!(c.forwarding.origin_auth && c.deny_internal && c.log_requests);
    assert_eq!(
        (
            c.retry.max_attempts,
            c.retry.attempt_timeout_ms,
            c.retry.deadline_ms
        ),
        (3, 5_000, 10_000)
    );
    assert_eq!(c.outlier.consecutive_failures, 3);
    assert_eq!(c.cookies.affinity_cookie, "__edge_affinity");
}

#[test]
fn full_config() {
    let c = Config::from_json(r#"{"public_path":"/static/","cors_allow_origins":["https://shop.test","http://localhost:8000"],"not_found_page":"/static/404.html",
        "routes":[{"host":"*.shop.test","path_prefix":"/api/","pools":["dc2"]},{"pools":["dc1","dc2"]}],
        "pools":{"dc1":{"origins":[{"url":"http://127.0.0.1:8001/","weight":2},{"url":"http://127.0.0.1:8002","enabled":false}]},
                 "dc2":{"steering":"hash","hash_on":"cookie:PHPSESSID","origins":[{"url":"https://dc2.example:8443"}]}}}"#).unwrap();
    assert_eq!(
        c.assets.cors,
        Cors::Origins(vec![
            "https://shop.test".into(),
            "http://localhost:8000".into()
        ])
    );
    let dc1 = &c.pools["dc1"];
    assert_eq!(dc1.steering, Steering::WeightedRoundRobin);
    assert_eq!(
        dc1.origins[0],
        Origin {
            url: "http://127.0.0.1:8001".into(),
            weight: 2,
            enabled: true
        }
    );
    assert!(!dc1.origins[1].enabled);
    assert_eq!(
        c.pools["dc2"].steering,
        Steering::Hash(HashOn::Cookie("PHPSESSID".into()))
    );
    assert_eq!(chain(&c, "eu.shop.test", "/api/x"), ["dc2"]);
    assert_eq!(
        chain(&c, "EU.Shop.Test", "/api"),
        ["dc2"],
        "hosts match in any case"
    );
    assert_eq!(
        chain(&c, "shop.test", "/api/x"),
        ["dc1", "dc2"],
        "*.shop.test needs a subdomain"
    );
    assert_eq!(
        chain(&c, "eu.shop.test", "/apix"),
        ["dc1", "dc2"],
        "whole segments"
    );
    assert_eq!(chain(&c, "other", "/"), ["dc1", "dc2"]);
    let f = Config::from_json(r#"{"routes":[{"pools":["a"],"fallback_pool":"b"}],"pools":{"a":{"origins":[{"url":"http://x"}]},"b":{"origins":[{"url":"http://y"}]}}}"#).unwrap();
    assert_eq!(
        chain(&f, "x", "/"),
        ["a", "b"],
        "the fallback pool comes last"
    );
    assert_eq!(
        Config::from_json(r#"{"cors_allow_origins":[]}"#)
            .unwrap()
            .assets
            .cors,
        Cors::Off
    );
}

#[test]
fn errors_name_the_key() {
    let cases = [
        (
            r#"{"public_pth":"/a/"}"#,
            "EDGE.public_pth",
            "unknown field",
        ),
        (r#"{"public_path":"assets"}"#, "EDGE.public_path", "must be"),
        (r#"{"public_path":7}"#, "EDGE.public_path", "invalid type"),
        (
            r#"{"cors_allow_origins":["https://a.test","https://b.test/path"]}"#,
            "EDGE.cors_allow_origins[1]",
            "origin",
        ),
        (
            r#"{"cors_allow_origins":["*","https://a.test"]}"#,
            "EDGE.cors_allow_origins[0]",
            "alone",
        ),
        (
            r#"{"not_found_page":"/elsewhere/404.html"}"#,
            "EDGE.not_found_page",
            "public_path",
        ),
        (
            r#"{"pools":{"a":{"origins":[{"url":"ftp://x"}]}}}"#,
            "EDGE.pools.a.origins[0].url",
            "http(s)",
        ),
        (
            r#"{"pools":{"a":{"origins":[{"url":"http://x/app"}]}}}"#,
            "EDGE.pools.a.origins[0].url",
            "no path",
        ),
        (
            r#"{"pools":{"a":{"origins":[{"url":"http://x","weight":0}]}}}"#,
            "EDGE.pools.a.origins[0].weight",
            "out of range",
        ),
        (
            r#"{"pools":{"a":{"origins":[{"url":"http://x","weight":5000}]}}}"#,
            "EDGE.pools.a.origins[0].weight",
            "out of range",
        ),
        (
            r#"{"pools":{"a":{"origins":[{"url":"http://x","wieght":5}]}}}"#,
            "EDGE.pools.a.origins[0].wieght",
            "unknown field",
        ),
        (
            r#"{"pools":{"a":{"origins":[]}}}"#,
            "EDGE.pools.a.origins",
            "at least one",
        ),
        (
            r#"{"pools":{"a":{"steering":"fastest","origins":[{"url":"http://x"}]}}}"#,
            "EDGE.pools.a.steering",
            "not one of",
        ),
        (
            r#"{"pools":{"a":{"steering":"hash","origins":[{"url":"http://x"}]}}}"#,
            "EDGE.pools.a.hash_on",
            "needs hash_on",
        ),
        (
            r#"{"pools":{"a":{"steering":"hash","hash_on":"body","origins":[{"url":"http://x"}]}}}"#,
            "EDGE.pools.a.hash_on",
            "cookie:NAME",
        ),
        (
            r#"{"routes":[{"pools":["nope"]}],"pools":{"a":{"origins":[{"url":"http://x"}]}}}"#,
            "EDGE.routes[0].pools[0]",
            "unknown pool `nope`",
        ),
        (
            r#"{"routes":[{"path_prefix":"api","pools":["a"]}],"pools":{"a":{"origins":[{"url":"http://x"}]}}}"#,
            "EDGE.routes[0].path_prefix",
            "start with",
        ),
        (
            r#"{"routes":[{"pools":[]}]}"#,
            "EDGE.routes[0].pools",
            "at least one",
        ),
        (r#"{"max_attempts":0}"#, "EDGE.max_attempts", "out of range"),
        (
            r#"{"routes":[{"pools":["a"],"fallback_pool":"zz"}],"pools":{"a":{"origins":[{"url":"http://x"}]}}}"#,
            "EDGE.routes[0].fallback_pool",
            "unknown pool `zz`",
        ),
        (
            r#"{"routes":[{"pools":["a"],"fallback_pool":"a"}],"pools":{"a":{"origins":[{"url":"http://x"}]}}}"#,
            "EDGE.routes[0].fallback_pool",
            "already",
        ),
        (r#"{"hsts":"forever"}"#, "EDGE.hsts", "max-age="),
        (
            r#"{"pools":{"a":{"origins":[{"url":"http://x"}],"health":{"path":"health"}}}}"#,
            "EDGE.pools.a.health.path",
            "start with",
        ),
        (
            r#"{"pools":{"a":{"origins":[{"url":"http://x"}],"health":{"path":"/h","method":"POST"}}}}"#,
            "EDGE.pools.a.health.method",
            "GET or HEAD",
        ),
        (
            r#"{"pools":{"a":{"origins":[{"url":"http://x"}],"health":{"path":"/h","expected_codes":[999]}}}}"#,
            "EDGE.pools.a.health.expected_codes",
            "HTTP statuses",
        ),
        (
            r#"{"pools":{"a":{"origins":[{"url":"http://x"}],"health":{"path":"/h","unhealthy_threshold":0}}}}"#,
            "EDGE.pools.a.health.unhealthy_threshold",
            "out of range",
        ),
        (
            r#"{"pools":{"a":{"origins":[{"url":"http://x"}],"health":{"pth":"/h"}}}}"#,
            "EDGE.pools.a.health.pth",
            "unknown field",
        ),
        (
            r#"{"routes":[{"pools":["a"],"write_pool":"w"}],"pools":{"a":{"origins":[{"url":"http://x"}]}}}"#,
            "EDGE.routes[0].write_pool",
            "unknown pool `w`",
        ),
        (
            r#"{"routes":[{"pools":["a"],"read_your_writes_s":5}],"pools":{"a":{"origins":[{"url":"http://x"}]}}}"#,
            "EDGE.routes[0].read_your_writes_s",
            "needs write_pool",
        ),
        (
            r#"{"affinity_cookie":"bad name"}"#,
            "EDGE.affinity_cookie",
            "not a valid cookie name",
        ),
        (
            r#"{"attempt_timeout_ms":5}"#,
            "EDGE.attempt_timeout_ms",
            "out of range",
        ),
        (
            r#"{"eject_base_ms":20000,"eject_max_ms":10000}"#,
            "EDGE.eject_max_ms",
            "less than",
        ),
        (
            r#"{"memory_cache_bytes":1000,"memory_cache_max_file":2000}"#,
            "EDGE.memory_cache_max_file",
            "larger",
        ),
        (
            r#"{"attempt_timeout_ms":6000,"deadline_ms":5000}"#,
            "EDGE.attempt_timeout_ms",
            "more than deadline_ms",
        ),
        (
            r#"{"pools":{"a":{"origins":[{"weight":2}]}}}"#,
            "EDGE.pools.a.origins[0].url",
            "missing",
        ),
        (
            r#"{"pools":{"a":{"origins":[{"url":"http://x"},{"url":"HTTP://X/"}]}}}"#,
            "EDGE.pools.a.origins[1].url",
            "twice",
        ),
        (
            r#"{"pools":{"a":{"origins":[{"url":"http://x"}],"health":{"method":"GET"}}}}"#,
            "EDGE.pools.a.health.path",
            "missing",
        ),
        (
            r#"{"pools":{"a":{"origins":[{"url":"http://x"}],"health":{"path":"/h","headers":{"bad name":"x"}}}}}"#,
            "EDGE.pools.a.health.headers.bad name",
            "header name",
        ),
        (
            r#"{"routes":[{"action":"block"}]}"#,
            "EDGE.routes[0].action",
            "\"proxy\" or \"deny\"",
        ),
        (
            r#"{"routes":[{"action":"deny","pools":["a"]}],"pools":{"a":{"origins":[{"url":"http://x"}]}}}"#,
            "EDGE.routes[0].pools",
            "deny",
        ),
        (
            r#"{"routes":[{"pools":["a","a"]}],"pools":{"a":{"origins":[{"url":"http://x"}]}}}"#,
            "EDGE.routes[0].pools[1]",
            "twice",
        ),
        (
            r#"{"routes":[{"host":"*.","pools":["a"]}],"pools":{"a":{"origins":[{"url":"http://x"}]}}}"#,
            "EDGE.routes[0].host",
            "host name",
        ),
        (
            r#"{"pools":{"a":{"steering":"hash","hash_on":"header:bad name","origins":[{"url":"http://x"}]}}}"#,
            "EDGE.pools.a.hash_on",
            "header:NAME",
        ),
        (
            r#"{"error_pages":{"418":"/assets/teapot.html"}}"#,
            "EDGE.error_pages.418",
            "one of 404, 500",
        ),
        (
            r#"{"error_pages":{"503":"/elsewhere/503.html"}}"#,
            "EDGE.error_pages.503",
            "public_path",
        ),
        (
            r#"{"hide_response_headers":["X-Ok","bad header"]}"#,
            "EDGE.hide_response_headers[1]",
            "header name",
        ),
        (
            r#"{"routes":[{"action":"deny","intercept_origin_errors":true}]}"#,
            "EDGE.routes[0].intercept_origin_errors",
            "deny",
        ),
        (
            r#"{"log_batch":0}"#,
            "EDGE.log_batch",
            "out of range 1–1000",
        ),
        (
            r#"{"log_flush_ms":60000}"#,
            "EDGE.log_flush_ms",
            "out of range 10–10000",
        ),
        (r#"{"log_batch":"many"}"#, "EDGE.log_batch", "integer"),
        (
            r#"{"coordinator_poll_ms":9999999}"#,
            "EDGE.coordinator_poll_ms",
            "out of range",
        ),
        (
            r#"{"memory_cache_bytes":-1}"#,
            "EDGE.memory_cache_bytes",
            "invalid",
        ),
    ];
    for (json, key, reason) in cases {
        let e = Config::from_json(json).unwrap_err();
        assert_eq!(e.key, key, "{json}: {e}");
        assert!(e.reason.contains(reason), "{json}: {e}");
    }
}

#[test]
fn route_kinds_and_defaults() {
    let c = Config::from_json(r#"{"routes":[{"path_prefix":"/admin","action":"deny"},{"host":"*.Shop.Test","pools":["a"],"write_pool":"w"}],
        "pools":{"a":{"origins":[{"url":"http://x"}]},"w":{"origins":[{"url":"http://y"}]}}}"#).unwrap();
    assert_eq!(c.routes[0].action, Action::Deny);
    match &c.routes[1].action {
        Action::Proxy(u) => {
            assert_eq!(u.write_pool.as_deref(), Some("w"));
            assert_eq!(u.read_your_writes_s, 5);
        }
        Action::Deny => panic!("proxy expected"),
    }
    assert!(c.needs_cookie_key());
    assert!(c.routes[1].matches("eu.shop.test", b"/x"));
}

#[test]
fn environment_checks_name_what_is_missing() {
    let c = Config::from_json(r#"{"routes":[{"pools":["a"]}],"pools":{"a":{"sticky":true,"origins":[{"url":"http://127.0.0.1:8001"},{"url":"https://app.internal"}],"health":{"path":"/h"}}}}"#).unwrap();
    let mut env = Environment {
        secrets: Some(vec![]),
        durable_objects: vec![],
        manifest_public_path: Some("/assets/".into()),
    };
    let e = c.check_environment(&env).unwrap_err();
    assert_eq!(e.key, "EDGE.origin_auth");
    assert!(e.reason.contains("EDGE_ORIGIN_KEY"), "{e}");
    env.secrets = Some(vec!["EDGE_ORIGIN_KEY".into()]);
    let e = c.check_environment(&env).unwrap_err();
    assert!(e.reason.contains("EDGE_COOKIE_KEY"), "{e}");
    env.secrets = None;
    let e = c.check_environment(&env).unwrap_err();
    assert!(
        e.reason.contains("EDGE_COORDINATOR") && e.reason.contains("health"),
        "unknown secrets are not checked; health checks need the coordinator: {e}"
    );
    env.durable_objects = vec!["EDGE_COORDINATOR".into()];
    assert_eq!(c.check_environment(&env), Ok(()));
    env.manifest_public_path = Some("/static/".into());
    let e = c.check_environment(&env).unwrap_err();
    assert_eq!(e.key, "EDGE.public_path");
    let w = c.warnings();
    assert_eq!(w.len(), 1, "{w:?}");
    assert_eq!(w[0].key, "EDGE.pools.a.origins[0].url");
    assert!(w[0].message.contains("IP address"));
}

#[test]
fn the_binding_as_the_worker_sees_it() {
    assert_eq!(
        Config::from_binding(None).unwrap().assets.public_path,
        "/assets/"
    );
    assert_eq!(
        Config::from_binding(Some(r#"{"public_path":"/s/"}"#))
            .unwrap()
            .assets
            .public_path,
        "/s/"
    );
    for bad in ["\"x\"", "null", "[1]", "7"] {
        let e = Config::from_binding(Some(bad)).unwrap_err();
        assert_eq!(e.key, "EDGE", "{bad}");
        assert!(e.reason.contains("must be a table"), "{bad}");
    }
}

const JOB_POOLS: &str = r#""pools":{"dc1":{"origins":[{"url":"http://127.0.0.1:8001"}]}}"#;

fn with_jobs(jobs: &str) -> String {
    format!(r#"{{{JOB_POOLS},"jobs":[{jobs}]}}"#)
}

#[test]
fn jobs_and_their_defaults() {
    use crate::jobs::Schedule;
    let c = Config::from_json("{}").unwrap();
    assert!(c.jobs.is_empty() && c.job_paths().is_empty());
    assert_eq!(c.health_interval_s, 5);
    let c = Config::from_json(&with_jobs(
        r#"{"name":"cleanup","schedule":"*/15 * * * MON-FRI","pool":"dc1","path":"/_jobs/cleanup"},
           {"name":"tick","every_s":5,"pool":"dc1","path":"/_jobs/sleep?ms=100","method":"PUT","timeout_ms":2000,"max_run_s":3}"#,
    ))
    .unwrap();
    let [cleanup, tick] = c.jobs.as_slice() else {
        panic!("{:?}", c.jobs)
    };
    assert_eq!(cleanup.name, "cleanup");
    assert_eq!(cleanup.schedule.to_string(), "*/15 * * * MON-FRI");
    assert_eq!(
        (
            cleanup.pool.as_str(),
            cleanup.path.as_str(),
            cleanup.method.as_str()
        ),
        ("dc1", "/_jobs/cleanup", "POST")
    );
    assert_eq!((cleanup.timeout_ms, cleanup.max_run_s), (30_000, 300));
    assert_eq!(tick.schedule, Schedule::Every { seconds: 5 });
    assert_eq!(
        (tick.method.as_str(), tick.timeout_ms, tick.max_run_s),
        ("PUT", 2_000, 3)
    );
    assert_eq!(c.job_paths(), ["/_jobs/cleanup", "/_jobs/sleep"]);
    assert_eq!(
        Config::from_json(r#"{"health_interval_s":2}"#)
            .unwrap()
            .health_interval_s,
        2
    );
    // The development form is accepted in `schedule` too.
    let c = Config::from_json(&with_jobs(
        r#"{"name":"t","schedule":"every 30s","pool":"dc1","path":"/x"}"#,
    ))
    .unwrap();
    assert_eq!(c.jobs[0].schedule, Schedule::Every { seconds: 30 });
}

#[test]
fn job_errors_name_the_key() {
    let cases = [
        (
            r#"{"schedule":"* * * * *","pool":"dc1","path":"/x"}"#,
            "EDGE.jobs[0].name",
            "missing",
        ),
        (
            r#"{"name":"a b","every_s":5,"pool":"dc1","path":"/x"}"#,
            "EDGE.jobs[0].name",
            "token",
        ),
        (
            r#"{"name":"a@b","every_s":5,"pool":"dc1","path":"/x"}"#,
            "EDGE.jobs[0].name",
            "token",
        ),
        (
            r#"{"name":"","every_s":5,"pool":"dc1","path":"/x"}"#,
            "EDGE.jobs[0].name",
            "token",
        ),
        (
            r#"{"name":"a","every_s":5,"pool":"dc1","path":"/x"},{"name":"a","every_s":9,"pool":"dc1","path":"/y"}"#,
            "EDGE.jobs[1].name",
            "also the name of jobs[0]",
        ),
        (
            r#"{"name":"a","pool":"dc1","path":"/x"}"#,
            "EDGE.jobs[0].schedule",
            "missing",
        ),
        (
            r#"{"name":"a","schedule":"* * * * *","every_s":5,"pool":"dc1","path":"/x"}"#,
            "EDGE.jobs[0].every_s",
            "not both",
        ),
        (
            r#"{"name":"a","schedule":"* * *","pool":"dc1","path":"/x"}"#,
            "EDGE.jobs[0].schedule",
            "expected five fields",
        ),
        (
            r#"{"name":"a","schedule":"61 * * * *","pool":"dc1","path":"/x"}"#,
            "EDGE.jobs[0].schedule",
            "minute field: `61`: 61 is out of range 0–59",
        ),
        (
            r#"{"name":"a","schedule":"0 0 31 2 *","pool":"dc1","path":"/x"}"#,
            "EDGE.jobs[0].schedule",
            "never fires",
        ),
        (
            r#"{"name":"a","schedule":"every 0s","pool":"dc1","path":"/x"}"#,
            "EDGE.jobs[0].schedule",
            "out of range",
        ),
        (
            r#"{"name":"a","schedule":5,"pool":"dc1","path":"/x"}"#,
            "EDGE.jobs[0].schedule",
            "invalid type",
        ),
        (
            r#"{"name":"a","every_s":0,"pool":"dc1","path":"/x"}"#,
            "EDGE.jobs[0].every_s",
            "0 is out of range 1–86400",
        ),
        (
            r#"{"name":"a","every_s":86401,"pool":"dc1","path":"/x"}"#,
            "EDGE.jobs[0].every_s",
            "out of range",
        ),
        (
            r#"{"name":"a","every_s":-5,"pool":"dc1","path":"/x"}"#,
            "EDGE.jobs[0].every_s",
            "invalid type",
        ),
        (
            r#"{"name":"a","every_s":5,"path":"/x"}"#,
            "EDGE.jobs[0].pool",
            "missing",
        ),
        (
            r#"{"name":"a","every_s":5,"pool":"dc9","path":"/x"}"#,
            "EDGE.jobs[0].pool",
            "unknown pool `dc9` (defined: dc1)",
        ),
        (
            r#"{"name":"a","every_s":5,"pool":"dc1"}"#,
            "EDGE.jobs[0].path",
            "missing",
        ),
        (
            r#"{"name":"a","every_s":5,"pool":"dc1","path":"x"}"#,
            "EDGE.jobs[0].path",
            "start with `/`",
        ),
        (
            r#"{"name":"a","every_s":5,"pool":"dc1","path":"/a b"}"#,
            "EDGE.jobs[0].path",
            "visible ASCII",
        ),
        (
            r#"{"name":"a","every_s":5,"pool":"dc1","path":"/a#b"}"#,
            "EDGE.jobs[0].path",
            "no `#`",
        ),
        (
            r#"{"name":"a","every_s":5,"pool":"dc1","path":"/x","method":"DELETE"}"#,
            "EDGE.jobs[0].method",
            "GET, POST or PUT",
        ),
        (
            r#"{"name":"a","every_s":5,"pool":"dc1","path":"/x","method":"post"}"#,
            "EDGE.jobs[0].method",
            "GET, POST or PUT",
        ),
        (
            r#"{"name":"a","every_s":5,"pool":"dc1","path":"/x","timeout_ms":99}"#,
            "EDGE.jobs[0].timeout_ms",
            "out of range 100–900000",
        ),
        (
            r#"{"name":"a","every_s":5,"pool":"dc1","path":"/x","timeout_ms":900001}"#,
            "EDGE.jobs[0].timeout_ms",
            "out of range",
        ),
        (
            r#"{"name":"a","every_s":5,"pool":"dc1","path":"/x","max_run_s":0}"#,
            "EDGE.jobs[0].max_run_s",
            "out of range 1–86400",
        ),
        (
            r#"{"name":"a","every_s":5,"pool":"dc1","path":"/x","max_run_s":86401}"#,
            "EDGE.jobs[0].max_run_s",
            "out of range",
        ),
        (
            r#"{"name":"a","every_s":5,"pool":"dc1","path":"/x","max_run_s":2}"#,
            "EDGE.jobs[0].timeout_ms",
            "more than max_run_s",
        ),
        (
            r#"{"name":"a","every_s":5,"pool":"dc1","path":"/x","retries":2}"#,
            "EDGE.jobs[0].retries",
            "unknown field",
        ),
        (r#""not a table""#, "EDGE.jobs[0]", "expected a table"),
    ];
    for (jobs, key, reason) in cases {
        let json = with_jobs(jobs);
        let e = Config::from_json(&json).unwrap_err();
        assert_eq!(e.key, key, "{json}: {e}");
        assert!(e.reason.contains(reason), "{json}: {e}");
    }
    for (json, key, reason) in [
        (r#"{"jobs":{"a":1}}"#, "EDGE.jobs", "expected an array"),
        (
            r#"{"health_interval_s":0}"#,
            "EDGE.health_interval_s",
            "0 is out of range 1–300",
        ),
        (
            r#"{"health_interval_s":301}"#,
            "EDGE.health_interval_s",
            "out of range",
        ),
        (
            r#"{"health_interval_s":"5"}"#,
            "EDGE.health_interval_s",
            "invalid type",
        ),
    ] {
        let e = Config::from_json(json).unwrap_err();
        assert_eq!(e.key, key, "{json}: {e}");
        assert!(e.reason.contains(reason), "{json}: {e}");
    }
}

#[test]
fn jobs_need_the_coordinator_and_every_top_level_key_is_known() {
    let c = Config::from_json(&with_jobs(
        r#"{"name":"n","every_s":60,"pool":"dc1","path":"/_jobs/n"}"#,
    ))
    .unwrap();
    let mut env = Environment {
        secrets: None,
        durable_objects: vec![],
        manifest_public_path: None,
    };
    let e = c.check_environment(&env).unwrap_err();
    assert_eq!(e.key, "EDGE.jobs");
    assert!(e.reason.contains("EDGE_COORDINATOR"), "{e}");
    env.durable_objects = vec!["EDGE_COORDINATOR".into()];
    assert_eq!(c.check_environment(&env), Ok(()));
    let c = Config::from_json(r#"{"cache_memory_bytes":0,"coordinator_poll_ms":250}"#).unwrap();
    assert_eq!((c.cache_memory_bytes, c.coordinator_poll_ms), (0, 250));
    let e = Config::from_json(r#"{"health_cache_ms":5000}"#).unwrap_err();
    assert_eq!(e.key, "EDGE.health_cache_ms", "the KV-era key is gone: {e}");
}

#[test]
fn the_environment_the_worker_finds_at_load() {
    let c = Config::from_json(&with_jobs(
        r#"{"name":"n","every_s":60,"pool":"dc1","path":"/_jobs/n"}"#,
    ))
    .unwrap();
    let secrets = Secrets::read(&c, |_| Some("set".into()));
    let table = [
        (true, "/assets/", None),
        (false, "/assets/", Some("EDGE.jobs")),
        (true, "/static/", Some("EDGE.public_path")),
    ];
    for (bound, public_path, fails_at) in table {
        let env = Environment::at_load(&secrets, bound, public_path);
        assert_eq!(env.secrets.as_deref(), Some(&secrets.present[..]));
        let checked = c.check_environment(&env).err().map(|e| e.key);
        assert_eq!(checked.as_deref(), fails_at, "{bound} {public_path}");
    }
    let e = not_in_manifest(&KeyPath::root().key("not_found_page"), "/assets/404.html");
    assert_eq!(
        e.to_string(),
        "invalid configuration at `EDGE.not_found_page`: `/assets/404.html` is not in the manifest"
    );
}

#[test]
fn secrets_as_the_worker_reads_them() {
    let c = Config::from_json(
        r#"{"routes":[{"pools":["a"]}],"pools":{"a":{"origins":[{"url":"http://x"}]}}}"#,
    )
    .unwrap();
    let get = |n: &str| match n {
        ORIGIN_KEY => Some("k1".to_string()),
        COOKIE_KEY => Some(String::new()),
        HEALTH_TOKEN => Some("t".to_string()),
        _ => None,
    };
    let s = Secrets::read(&c, get);
    assert_eq!(s.origin_key.as_deref(), Some(&b"k1"[..]));
    assert!(s.cookie_key.is_empty(), "an empty secret counts as unset");
    assert_eq!(s.health_token.as_deref(), Some("t"));
    assert_eq!(s.present, vec![ORIGIN_KEY, HEALTH_TOKEN]);
    let open = Config::from_json(r#"{"origin_auth":false}"#).unwrap();
    assert_eq!(
        Secrets::read(&open, get).origin_key,
        None,
        "no signing when origin_auth is off"
    );
}

#[test]
fn cache_fields_of_every_proxy_route_once() {
    let c = Config::from_json(r#"{"routes":[{"path_prefix":"/a","pools":["a"],"cache":{"tag_header":"X-Tags"}},{"path_prefix":"/d","action":"deny"},{"pools":["a"]}],
        "pools":{"a":{"origins":[{"url":"http://x"}]}}}"#).unwrap();
    assert_eq!(
        c.cache_fields(),
        vec!["x-cache-tags", "x-edge-purge-tags", "x-tags"]
    );
}

#[test]
fn only_an_intercepting_route_replaces_an_origins_5xx() {
    let c = Config::from_json(r#"{"routes":[{"path_prefix":"/shop","pools":["a"],"intercept_origin_errors":true},{"pools":["a"]}],
        "pools":{"a":{"origins":[{"url":"http://x"}]}}}"#).unwrap();
    let upstream = |i: usize| match &c.routes[i].action {
        Action::Proxy(u) => u.clone(),
        Action::Deny => panic!("proxy expected"),
    };
    let (shop, rest) = (upstream(0), upstream(1));
    assert!(shop.intercepts(500) && shop.intercepts(503));
    assert!(!shop.intercepts(404) && !shop.intercepts(200));
    assert!(
        !rest.intercepts(500),
        "the default passes an origin's 5xx through"
    );
}

#[test]
fn hsts_only_over_https_when_configured() {
    let on = Config::from_json(r#"{"hsts":"max-age=60"}"#).unwrap();
    let off = Config::from_json("{}").unwrap();
    let table = [
        (&on, "https://shop.test/", Some("max-age=60")),
        (&on, "http://shop.test/", None),
        (&off, "https://shop.test/", None),
    ];
    for (cfg, url, want) in table {
        assert_eq!(cfg.forwarding.hsts_for(url), want, "{url}");
    }
}

#[test]
fn routes_that_can_never_be_used_and_a_pin_that_replaces_the_session_are_warned_about() {
    let c = Config::from_json(
        r#"{"routes":[
              {"path_prefix":"/api","pools":["a"]},
              {"pools":["a"],"cache":{"private_cookies":["__edge_affinity"]}},
              {"path_prefix":"/api/v2","pools":["a"]},
              {"host":"shop.test","path_prefix":"/assets/x","pools":["a"]}],
            "pools":{"a":{"origins":[{"url":"https://a.test"}]}}}"#,
    )
    .unwrap();
    let w: Vec<(String, String)> = c
        .warnings()
        .into_iter()
        .map(|w| (w.key, w.message))
        .collect();
    let about = |key: &str, text: &str| w.iter().any(|(k, m)| k == key && m.contains(text));
    assert!(
        about(
            "EDGE.routes[1].cache.private_cookies",
            "replace the session"
        ),
        "{w:?}"
    );
    assert!(
        about(
            "EDGE.routes[2].path_prefix",
            "routes[0] takes every request"
        ),
        "{w:?}"
    );
    assert!(
        about(
            "EDGE.routes[3].path_prefix",
            "routes[1] takes every request"
        ),
        "{w:?}"
    );
    assert_eq!(w.len(), 3, "{w:?}");
    let assets = Config::from_json(
        r#"{"routes":[{"path_prefix":"/assets/legacy","pools":["a"]},{"path_prefix":"/assets","pools":["a"]}],
            "pools":{"a":{"origins":[{"url":"https://a.test"}]}}}"#,
    )
    .unwrap();
    let w = assets.warnings();
    assert_eq!(
        w.len(),
        1,
        "`/assets` itself is not under `/assets/`: {w:?}"
    );
    assert_eq!(w[0].key, "EDGE.routes[0].path_prefix");
    assert!(
        w[0].message.contains("served as assets"),
        "{}",
        w[0].message
    );
}
