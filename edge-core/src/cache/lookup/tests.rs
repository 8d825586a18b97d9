//! Table-driven tests of the lookup decision, with a fake clock.

use super::*;
use crate::cache::freshness::Timing;
use crate::cache::headers::Fields;
use crate::cache::storable::tests::settings;
use crate::http_date;

const T0: u64 = 1_700_000_000; // seconds

fn entry(pairs: &[(&str, &str)]) -> Entry {
    let mut fields = Fields::new(pairs.iter().copied());
    if !fields.has("date") {
        fields.set("date", http_date::format(T0));
    }
    Entry {
        status: 200,
        fields,
        timing: Timing {
            request_ms: T0 * 1000,
            response_ms: T0 * 1000,
        },
        stored_ms: T0 * 1000,
        tags: vec![],
    }
}

fn req(cc: &str) -> CacheRequest {
    CacheRequest::read(
        "GET",
        |n| (n == "cache-control" && !cc.is_empty()).then(|| cc.to_string()),
        &settings(),
    )
}

fn at(s: u64) -> u64 {
    (T0 + s) * 1000
}

#[test]
fn fresh_stale_and_grace() {
    let s = settings();
    let swr = entry(&[
        (
            "cache-control",
            "public, s-maxage=60, stale-while-revalidate=30, stale-if-error=600",
        ),
        ("etag", "\"v1\""),
    ]);
    let plain = entry(&[("cache-control", "max-age=60")]);
    let no_cache = entry(&[("cache-control", "no-cache"), ("etag", "\"v1\"")]);
    let must = entry(&[(
        "cache-control",
        "max-age=60, must-revalidate, stale-if-error=600",
    )]);
    let cases: &[(&Entry, u64, &str, bool, bool, Use)] = &[
        (&swr, 10, "", false, false, Use::Fresh { age: 10, ttl: 50 }),
        (
            &swr,
            70,
            "",
            false,
            false,
            Use::Stale {
                age: 70,
                ttl: -10,
                why: StaleWhy::WhileRevalidate,
            },
        ),
        (
            &swr,
            100,
            "",
            false,
            false,
            Use::Forward {
                revalidate: true,
                stale_on_error: true,
            },
        ),
        (
            &swr,
            100,
            "",
            false,
            true,
            Use::Stale {
                age: 100,
                ttl: -40,
                why: StaleWhy::OriginsDown,
            },
        ),
        (
            &swr,
            700,
            "",
            false,
            true,
            Use::Forward {
                revalidate: true,
                stale_on_error: false,
            },
        ),
        (
            &swr,
            10,
            "",
            true,
            false,
            Use::Forward {
                revalidate: true,
                stale_on_error: true,
            },
        ),
        (
            &swr,
            10,
            "",
            true,
            true,
            Use::Stale {
                age: 10,
                ttl: -10,
                why: StaleWhy::OriginsDown,
            },
        ),
        (&plain, 59, "", false, false, Use::Fresh { age: 59, ttl: 1 }),
        (
            &plain,
            60,
            "",
            false,
            false,
            Use::Forward {
                revalidate: false,
                stale_on_error: false,
            },
        ),
        (
            &plain,
            60,
            "",
            false,
            true,
            Use::Forward {
                revalidate: false,
                stale_on_error: false,
            },
        ),
        (
            &no_cache,
            0,
            "",
            false,
            false,
            Use::Forward {
                revalidate: true,
                stale_on_error: false,
            },
        ),
        (
            &must,
            70,
            "",
            false,
            true,
            Use::Forward {
                revalidate: false,
                stale_on_error: false,
            },
        ),
        (
            &plain,
            10,
            "no-cache",
            false,
            false,
            Use::Forward {
                revalidate: false,
                stale_on_error: false,
            },
        ),
        (
            &plain,
            10,
            "max-age=5",
            false,
            false,
            Use::Forward {
                revalidate: false,
                stale_on_error: false,
            },
        ),
        (
            &plain,
            10,
            "max-age=15",
            false,
            false,
            Use::Fresh { age: 10, ttl: 50 },
        ),
        (
            &plain,
            10,
            "min-fresh=55",
            false,
            false,
            Use::Forward {
                revalidate: false,
                stale_on_error: false,
            },
        ),
        (
            &plain,
            70,
            "max-stale=20",
            false,
            false,
            Use::Stale {
                age: 70,
                ttl: -10,
                why: StaleWhy::MaxStale,
            },
        ),
        (
            &plain,
            70,
            "max-stale",
            false,
            false,
            Use::Stale {
                age: 70,
                ttl: -10,
                why: StaleWhy::MaxStale,
            },
        ),
        (
            &plain,
            90,
            "max-stale=20",
            false,
            false,
            Use::Forward {
                revalidate: false,
                stale_on_error: false,
            },
        ),
    ];
    for (e, secs, cc, purged, down, want) in cases {
        assert_eq!(
            &decide(e, &req(cc), &s, at(*secs), *purged, *down),
            want,
            "{:?} at {secs}s cc={cc} purged={purged} down={down}",
            e.fields.first("cache-control")
        );
    }
}

#[test]
fn the_default_grace_applies_to_responses_that_name_no_window() {
    let mut s = settings();
    s.default_grace_s = 300;
    let plain = entry(&[("cache-control", "max-age=60")]);
    assert_eq!(
        decide(&plain, &req(""), &s, at(200), false, true),
        Use::Stale {
            age: 200,
            ttl: -140,
            why: StaleWhy::OriginsDown
        }
    );
    assert_eq!(
        stale_on_error(&plain, &s, at(200), false),
        Some((200, -140))
    );
    assert_eq!(stale_on_error(&plain, &s, at(400), false), None);
    let smax = entry(&[("cache-control", "s-maxage=60")]);
    assert_eq!(
        stale_on_error(&smax, &s, at(61), false),
        None,
        "s-maxage forbids stale without an explicit window"
    );
}

#[test]
fn heuristic_freshness_is_capped() {
    let mut s = settings();
    s.heuristic_max_s = 50;
    let lm = entry(&[("last-modified", &http_date::format(T0 - 10_000))]);
    assert_eq!(
        decide(&lm, &req(""), &s, at(10), false, false),
        Use::Fresh { age: 10, ttl: 40 }
    );
    s.heuristics = false;
    assert_eq!(
        decide(&lm, &req(""), &s, at(10), false, false),
        Use::Forward {
            revalidate: true,
            stale_on_error: false
        }
    );
}

#[test]
fn stale_reasons_have_their_detail_tokens() {
    for (why, token) in [
        (StaleWhy::WhileRevalidate, "stale-while-revalidate"),
        (StaleWhy::OriginsDown, "origins-down"),
        (StaleWhy::MaxStale, "max-stale"),
    ] {
        assert_eq!(why.token(), token);
    }
}
