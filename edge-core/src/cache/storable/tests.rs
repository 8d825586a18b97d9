//! Table-driven tests of what is stored.

use super::*;

pub(crate) fn settings() -> CacheSettings {
    CacheSettings {
        enabled: true,
        ignore_query: vec![],
        private_cookies: vec!["PHPSESSID".into()],
        default_grace_s: 0,
        keep_s: 3600,
        tag_header: "x-cache-tags".into(),
        purge_header: "x-edge-purge-tags".into(),
        max_object_bytes: 1 << 20,
        heuristics: true,
        heuristic_max_s: 86_400,
    }
}

const NOW: u64 = 1_700_000_000_000;
const T: Timing = Timing {
    request_ms: NOW,
    response_ms: NOW,
};
const GET: RequestBits = RequestBits {
    get: true,
    authorization: false,
    no_store: false,
};

fn decide_on(req: RequestBits, status: u16, pairs: &[(&str, &str)]) -> Result<ToStore, NotStored> {
    decide(
        req,
        status,
        &Fields::new(pairs.iter().copied()),
        T,
        "https://s/p",
        &settings(),
        NOW,
    )
}

#[test]
fn what_is_stored_and_what_is_not() {
    use NotStored::*;
    type Case<'a> = (
        RequestBits,
        u16,
        &'a [(&'a str, &'a str)],
        Result<(), NotStored>,
    );
    let cases: &[Case] = &[
        (
            GET,
            200,
            &[("cache-control", "public, s-maxage=60")],
            Ok(()),
        ),
        (GET, 404, &[("cache-control", "max-age=60")], Ok(())),
        (GET, 503, &[("cache-control", "max-age=60")], Ok(())),
        (GET, 599, &[("cache-control", "max-age=60")], Ok(())),
        (
            GET,
            200,
            &[("expires", "Thu, 01 Jan 2099 00:00:00 GMT")],
            Ok(()),
        ),
        (GET, 200, &[], Err(NoFreshness)),
        (
            GET,
            200,
            &[("cache-control", "max-age=0")],
            Err(NoFreshness),
        ),
        (
            GET,
            200,
            &[("cache-control", "max-age=0"), ("etag", "\"a\"")],
            Ok(()),
        ),
        (
            GET,
            200,
            &[("cache-control", "no-cache"), ("etag", "\"a\"")],
            Ok(()),
        ),
        (
            GET,
            200,
            &[("cache-control", "no-store, max-age=60")],
            Err(NoStore),
        ),
        (GET, 200, &[("cache-control", "nO-StOrE")], Err(NoStore)),
        (
            GET,
            200,
            &[("cache-control", "no-store, must-understand, max-age=60")],
            Ok(()),
        ),
        (
            GET,
            599,
            &[("cache-control", "no-store, must-understand, max-age=60")],
            Err(Status),
        ),
        (
            GET,
            200,
            &[("cache-control", "private, max-age=60")],
            Err(Private),
        ),
        (
            GET,
            200,
            &[("cache-control", "private=\"x-a\", max-age=60")],
            Ok(()),
        ),
        (
            GET,
            200,
            &[("cache-control", "max-age=60"), ("set-cookie", "a=1")],
            Err(SetCookie),
        ),
        (
            GET,
            200,
            &[("cache-control", "max-age=60"), ("vary", "Foo, *")],
            Err(VaryStar),
        ),
        (
            RequestBits {
                authorization: true,
                ..GET
            },
            200,
            &[("cache-control", "max-age=60")],
            Err(Authorization),
        ),
        (
            RequestBits {
                authorization: true,
                ..GET
            },
            200,
            &[("cache-control", "public, max-age=60")],
            Ok(()),
        ),
        (
            RequestBits {
                authorization: true,
                ..GET
            },
            200,
            &[("cache-control", "s-maxage=60")],
            Ok(()),
        ),
        (
            RequestBits {
                authorization: true,
                ..GET
            },
            200,
            &[("cache-control", "max-age=60, must-revalidate")],
            Ok(()),
        ),
        (
            RequestBits {
                no_store: true,
                ..GET
            },
            200,
            &[("cache-control", "max-age=60")],
            Err(NoStore),
        ),
        (
            RequestBits { get: false, ..GET },
            200,
            &[("cache-control", "max-age=60")],
            Err(Method),
        ),
        (GET, 206, &[("cache-control", "max-age=60")], Err(Status)),
        (
            GET,
            200,
            &[
                ("cdn-cache-control", "max-age=60"),
                ("cache-control", "no-store"),
            ],
            Ok(()),
        ),
        (
            GET,
            200,
            &[
                ("cdn-cache-control", "no-store"),
                ("cache-control", "max-age=60"),
            ],
            Err(NoStore),
        ),
        (
            GET,
            200,
            &[
                ("cdn-cache-control", "private"),
                ("cache-control", "max-age=60"),
            ],
            Err(Private),
        ),
        (
            GET,
            200,
            &[
                ("last-modified", "Mon, 01 Jan 2001 00:00:00 GMT"),
                ("date", "Tue, 14 Nov 2023 22:13:20 GMT"),
            ],
            Ok(()),
        ),
        (
            GET,
            201,
            &[
                ("last-modified", "Mon, 01 Jan 2001 00:00:00 GMT"),
                ("date", "Tue, 14 Nov 2023 22:13:20 GMT"),
            ],
            Err(NoFreshness),
        ),
    ];
    for (req, status, pairs, want) in cases {
        let got = decide_on(*req, *status, pairs).map(|_| ());
        assert_eq!(got, *want, "{status} {pairs:?} {req:?}");
    }
}

#[test]
fn kept_fields_and_tags() {
    let s = decide_on(
        GET,
        200,
        &[
            ("cache-control", "max-age=60, no-cache=\"x-secret\""),
            ("connection", "x-conn"),
            ("x-conn", "1"),
            ("keep-alive", "timeout=5"),
            ("x-secret", "s"),
            ("x-cache-tags", "product-1, list"),
            ("x-edge-purge-tags", "other"),
            ("content-length", "3"),
            ("x-kept", "k"),
            ("vary", "Accept-Language"),
        ],
    )
    .unwrap();
    let names: Vec<&str> = s.entry.fields.0.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["cache-control", "content-length", "x-kept", "vary"]);
    assert_eq!(
        s.entry.tags[..2],
        ["product-1".to_string(), "list".to_string()]
    );
    assert!(s.entry.tags[2].starts_with("url:"));
    assert_eq!(s.vary, ["accept-language"]);
    assert_eq!(s.keep_for_s, 60, "no validator: kept while fresh");
}

#[test]
fn how_long_the_platform_keeps_a_copy() {
    let keep = |pairs: &[(&str, &str)]| decide_on(GET, 200, pairs).unwrap().keep_for_s;
    assert_eq!(keep(&[("cache-control", "max-age=60")]), 60);
    assert_eq!(
        keep(&[("cache-control", "max-age=60"), ("etag", "\"v\"")]),
        60 + 3600
    );
    assert_eq!(
        keep(&[("cache-control", "max-age=60, stale-if-error=86400")]),
        60 + 86400
    );
    assert_eq!(keep(&[("cache-control", "max-age=60"), ("age", "50")]), 10);
}
