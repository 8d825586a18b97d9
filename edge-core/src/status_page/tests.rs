//! The status page: every section, empty states, escaping, and nothing it may not contain.

use super::*;
use crate::jobs::book::Outcome;
use crate::jobs::{Job, Schedule};

const NOW: u64 = 1_795_132_800_000; // 2026-11-20 00:00:00 UTC

fn origin(url: &str) -> OriginStatus {
    OriginStatus {
        url: url.into(),
        weight: 1,
        enabled: true,
        healthy: Some(true),
        reason: Some("ok".into()),
        since_ms: Some(NOW - 3_600_000),
        checked_ms: Some(NOW - 1_500),
        latency_ms: Some(85),
        ejected_until_ms: None,
        in_flight: 0,
    }
}

fn job(name: &str, schedule: &str) -> Job {
    Job {
        name: name.into(),
        schedule: Schedule::parse(schedule).unwrap(),
        pool: "dc1".into(),
        path: "/_jobs/append".into(),
        method: "POST".into(),
        timeout_ms: 1_000,
        max_run_s: 8,
    }
}

/// A book with a success, a failure, an overlap skip, a missed span and a running run.
fn busy_book(jobs: &[Job]) -> Book {
    let mut book = Book::default();
    let t0 = NOW - 60_000;
    book.due(jobs, t0);
    let s = book.due(jobs, t0 + 5_000);
    book.attempt(&s[0].key, "http://127.0.0.1:8001", t0 + 5_010);
    book.finish(&s[0].key, Outcome::Succeeded { status: 200 }, t0 + 5_900);
    let s = book.due(jobs, t0 + 10_250);
    book.attempt(&s[0].key, "http://127.0.0.1:8001", t0 + 10_260);
    book.attempt(&s[0].key, "http://127.0.0.1:8002", t0 + 11_000);
    book.finish(
        &s[0].key,
        Outcome::Failed {
            why: "status 500".into(),
        },
        t0 + 11_300,
    );
    let s = book.due(jobs, t0 + 15_000);
    book.attempt(&s[0].key, "http://127.0.0.1:8002", t0 + 15_001);
    book.due(jobs, t0 + 17_000 + 3_000); // still going: skipped
    book.finish(&s[0].key, Outcome::Succeeded { status: 204 }, t0 + 20_500);
    book.due(jobs, t0 + 37_000); // late: runs 25, misses 30 and 35
    book
}

fn snapshot() -> StatusSnapshot {
    let jobs = [job("append", "every 5s"), job("nightly", "0 3 * * *")];
    let book = busy_book(&jobs[..1]);
    let mut drained = origin("http://127.0.0.1:8003");
    drained.enabled = false;
    let mut down = origin("http://127.0.0.1:8002");
    down.healthy = Some(false);
    down.reason = Some("connect error".into());
    down.latency_ms = None;
    let mut ejected = origin("http://127.0.0.1:8004");
    ejected.ejected_until_ms = Some(NOW + 20_000);
    ejected.in_flight = 3;
    let mut unchecked = origin("https://static.example");
    unchecked.healthy = None;
    unchecked.reason = None;
    unchecked.checked_ms = None;
    unchecked.since_ms = None;
    unchecked.latency_ms = None;
    unchecked.weight = 7;
    StatusSnapshot {
        now_ms: NOW,
        refresh_s: 7,
        pools: vec![
            PoolStatus {
                name: "dc1".into(),
                steering: "weighted_round_robin".into(),
                origins: vec![origin("http://127.0.0.1:8001"), down, ejected],
            },
            PoolStatus {
                name: "dc2".into(),
                steering: "least_outstanding".into(),
                origins: vec![drained, unchecked],
            },
            PoolStatus {
                name: "empty".into(),
                steering: "hash".into(),
                origins: vec![],
            },
        ],
        jobs: job_statuses(&jobs, &book, NOW),
        cache: Some(Counters {
            hit: 90,
            stale: 5,
            miss: 4,
            bypass: 1,
            collapsed: 2,
            stored: 4,
        }),
    }
}

/// The names of every tag in the page (opening and closing).
fn tags(html: &str) -> Vec<String> {
    html.split('<')
        .skip(1)
        .map(|t| {
            t.trim_start_matches('/')
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '!')
                .collect::<String>()
                .to_ascii_lowercase()
        })
        .collect()
}

const ALLOWED: [&str; 30] = [
    "!doctype", "html", "head", "meta", "title", "style", "body", "header", "main", "footer",
    "section", "h1", "h2", "h3", "div", "span", "b", "p", "small", "code", "table", "thead",
    "tbody", "tr", "th", "td", "nav", "ul", "li", "em",
];

#[test]
fn every_section_is_there() {
    let html = render(&snapshot());
    for want in [
        "<!DOCTYPE html>",
        "<meta http-equiv=\"refresh\" content=\"7\">",
        "<title>(1 down) Edge status</title>",
        "Generated 2026-11-20 00:00:00 UTC · reloads every 7 s",
        // Summary tiles.
        "<div class=\"tile warn\"><span class=\"muted\">Origins available</span><b>2 / 5</b>",
        "<div class=\"tile down\"><span class=\"muted\">Down (active checks)</span><b>1</b>",
        "<div class=\"tile warn\"><span class=\"muted\">Ejected (passive)</span><b>1</b>",
        // Pools and origins.
        "<section id=\"pools\">",
        "<h3>dc1 <small>weighted_round_robin</small></h3>",
        "<h3>dc2 <small>least_outstanding</small></h3>",
        "<code>http://127.0.0.1:8001</code>",
        "in rotation",
        ">drained<",
        ">ejected<",
        ">not checked<",
        "connect error",
        "85 ms",
        "<td>7</td>",
        "2026-11-19 23:00:00 <small class=\"rel\">(1 h 0 min ago)</small>",
        "2026-11-19 23:59:58 <small class=\"rel\">(1.5 s ago)</small>",
        "2026-11-20 00:00:20 <small class=\"rel\">(in 20.0 s)</small>",
        "<td>3</td>",
        "No origins.",
        // Jobs and runs.
        "<section id=\"jobs\">",
        "<h3>append <small><code>every 5s</code> · pool dc1</small></h3>",
        "started 4 · succeeded 2 · failed 1 · skipped (still going) 1 · missed 2",
        "ok 200",
        "ok 204",
        ">failed<",
        "status 500",
        ">skipped<",
        "previous run still going",
        "missed: the coordinator did not run ×2, through 2026-11-19 23:59:35",
        ">running<",
        "<code>http://127.0.0.1:8002</code>",
        "<code>append@1795132745</code>",
        "<td>2</td>", // attempts
        "900 ms",     // duration
        "250 ms",     // lateness
        "<h3>nightly <small><code>0 3 * * *</code> · pool dc1</small></h3>",
        "Next due: 2026-11-20 03:00:00 <small class=\"rel\">(in 3 h 0 min)</small>",
        "No runs yet.",
        // Cache.
        "<section id=\"cache\">",
        "<td>90</td><td>5</td><td>4</td><td>1</td><td>2</td><td>4</td><td>95.0 %</td>",
    ] {
        assert!(html.contains(want), "missing {want:?} in\n{html}");
    }
    // Newest run first.
    let late = html.find("append@1795132765").unwrap();
    let first = html.find("append@1795132745").unwrap();
    assert!(late < first);
}

#[test]
fn self_contained_and_well_formed() {
    let html = render(&snapshot());
    for tag in tags(&html) {
        assert!(ALLOWED.contains(&tag.as_str()), "unexpected tag <{tag}>");
    }
    for banned in [
        "<script",
        "src=",
        "href=",
        "url(",
        "@import",
        "<link",
        "javascript:",
    ] {
        assert!(!html.contains(banned), "{banned}");
    }
    for tag in [
        "html", "head", "body", "section", "table", "tr", "div", "td", "h3",
    ] {
        let open =
            html.matches(&format!("<{tag}>")).count() + html.matches(&format!("<{tag} ")).count();
        let close = html.matches(&format!("</{tag}>")).count();
        assert_eq!(open, close, "<{tag}>");
    }
}

#[test]
fn every_interpolated_string_is_escaped() {
    let evil = "<script>alert(1)</script>";
    let attr = "\"><img src=x onerror=alert(1)>";
    let mut s = snapshot();
    s.pools[0].name = format!("dc{evil}");
    s.pools[0].steering = attr.into();
    s.pools[0].origins[0].url = format!("http://x/{evil}");
    s.pools[0].origins[1].reason = Some(format!("status 503: {attr}"));
    s.jobs[0].name = format!("j{evil}");
    s.jobs[0].schedule = format!("{attr} & more");
    s.jobs[0].pool = evil.into();
    for run in &mut s.jobs[0].runs {
        run.origin = Some(format!("http://o/{evil}"));
        run.key = format!("k{attr}");
        if let RunState::Failed { why } | RunState::Skipped { why, .. } = &mut run.state {
            *why = format!("why {evil} {attr}");
        }
    }
    let html = render(&s);
    for tag in tags(&html) {
        assert!(ALLOWED.contains(&tag.as_str()), "unexpected tag <{tag}>");
    }
    assert!(!html.contains("<script") && !html.contains("<img"));
    assert!(html.contains("http://x/&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(html.contains("&quot;&gt;&lt;img src=x onerror=alert(1)&gt; &amp; more"));
    assert!(html.contains("why &lt;script&gt;"));
    assert_eq!(esc("a&b<c>d\"e'f"), "a&amp;b&lt;c&gt;d&quot;e&#39;f");
}

#[test]
fn empty_states() {
    let html = render(&StatusSnapshot::default());
    for want in [
        "No pools configured.",
        "No jobs configured.",
        "No cache counters.",
        "<title>Edge status</title>",
        "Generated 1970-01-01 00:00:00 UTC</div>",
        "<div class=\"tile \"><span class=\"muted\">Origins available</span><b>0 / 0</b>",
    ] {
        assert!(html.contains(want), "missing {want:?} in\n{html}");
    }
    assert!(!html.contains("http-equiv"), "refresh_s = 0: no reload");
    // A refresh longer than an hour is cut to an hour; an absurd clock does not panic.
    let html = render(&StatusSnapshot {
        now_ms: u64::MAX,
        refresh_s: u64::MAX,
        cache: Some(Counters::default()),
        ..StatusSnapshot::default()
    });
    assert!(html.contains("content=\"3600\""));
    assert!(html.contains("<td>0</td><td>0</td>"));
    // Counters at their limits neither overflow nor panic.
    let html = render(&StatusSnapshot {
        cache: Some(Counters {
            hit: u64::MAX,
            stale: u64::MAX,
            miss: u64::MAX,
            bypass: u64::MAX,
            collapsed: 0,
            stored: 0,
        }),
        jobs: vec![
            JobStatus {
                counts: JobCounts {
                    failed: u64::MAX,
                    ..JobCounts::default()
                },
                ..JobStatus::default()
            };
            2
        ],
        ..StatusSnapshot::default()
    });
    assert!(html.contains("<td>50.0 %</td>"));
}

#[test]
fn times_and_durations_for_people() {
    assert_eq!(utc_ms(0), "1970-01-01 00:00:00");
    assert_eq!(utc_ms(1_709_164_800_999), "2024-02-29 00:00:00");
    assert_eq!(utc_ms(4_107_542_399_000), "2100-02-28 23:59:59");
    for (ms, want) in [
        (0, "0 ms"),
        (999, "999 ms"),
        (1_000, "1.0 s"),
        (12_345, "12.3 s"),
        (250_000, "4 min 10 s"),
        (7_500_000, "2 h 5 min"),
        (273_600_000, "3 d 4 h"),
        (u64::MAX, "213503982334 d 14 h"),
    ] {
        assert_eq!(duration(ms), want);
    }
    assert_eq!(when(None, NOW), dash());
}

#[test]
fn job_status_from_the_book() {
    let jobs = [job("append", "every 5s")];
    let book = Book::default();
    let st = JobStatus::from_book(&jobs[0], &book, NOW);
    assert_eq!(st.next_due_s, Some(NOW / 1_000 + 5), "not in the book yet");
    assert!(st.runs.is_empty());
    let book = busy_book(&jobs);
    let st = JobStatus::from_book(&jobs[0], &book, NOW);
    assert_eq!(st.runs, book.job("append").unwrap().runs());
    assert_eq!(st.next_due_s, book.job("append").unwrap().next_due_s());
    assert_eq!(st.counts.started, 4);
}

/// Writes the sample page to `$STATUS_PAGE_SAMPLE` (for looking at it in a browser).
#[test]
fn sample_page() {
    if let Some(path) = std::env::var_os("STATUS_PAGE_SAMPLE") {
        std::fs::write(path, render(&snapshot())).unwrap();
    }
}
