//! Unit tests of the asset planner, one per rule.

use super::*;
use http::header::HeaderName;

fn entry(immutable: bool) -> EntryRef<'static> {
    EntryRef {
        path: "/assets/app-0123456789abcdef.css",
        content_type: "text/css; charset=utf-8",
        size: 1000,
        etag: "\"id\"",
        immutable,
        br: Some((200, "\"br\"")),
        gzip: Some((300, "\"gz\"")),
        deploy: "d1",
        use_as_dictionary: None,
        deltas: Default::default(),
    }
}

fn req(method: &str, pairs: &[(&str, &str)]) -> (Method, HeaderMap) {
    let mut h = HeaderMap::new();
    for (k, v) in pairs {
        h.append(
            HeaderName::from_bytes(k.as_bytes()).unwrap(),
            v.parse().unwrap(),
        );
    }
    (method.parse().unwrap(), h)
}

fn plan(method: &str, pairs: &[(&str, &str)]) -> Plan {
    let (m, h) = req(method, pairs);
    serve(&m, &h, &entry(true), &Cors::Any)
}

fn hdr<'a>(p: &'a Plan, name: &str) -> Option<&'a str> {
    p.headers.get(name).map(|v| v.to_str().unwrap())
}

#[test]
fn get_negotiates_brotli_with_its_own_length_and_validator() {
    let p = plan("GET", &[("accept-encoding", "gzip, br")]);
    assert_eq!(p.status, StatusCode::OK);
    assert_eq!(hdr(&p, "content-encoding"), Some("br"));
    assert_eq!(hdr(&p, "content-length"), Some("200"));
    assert_eq!(hdr(&p, "etag"), Some("\"br\""));
    assert_eq!(hdr(&p, "vary"), Some("Accept-Encoding"));
    assert_eq!(hdr(&p, "content-type"), Some("text/css; charset=utf-8"));
    assert!(p.precompressed);
    assert_eq!(
        p.body,
        Body::File {
            path: "/assets/app-0123456789abcdef.css.br".into(),
            range: None,
            len: 200
        }
    );
}

#[test]
fn identity_when_nothing_is_accepted() {
    let p = plan("GET", &[]);
    assert_eq!(hdr(&p, "content-encoding"), None);
    assert_eq!(hdr(&p, "content-length"), Some("1000"));
    assert_eq!(hdr(&p, "etag"), Some("\"id\""));
    assert!(!p.precompressed);
    let p = plan("GET", &[("accept-encoding", "gzip")]);
    assert_eq!(hdr(&p, "etag"), Some("\"gz\""));
}

#[test]
fn head_has_the_headers_of_get_and_no_body() {
    let get = plan("GET", &[("accept-encoding", "br")]);
    let head = plan("HEAD", &[("accept-encoding", "br")]);
    assert_eq!(head.status, StatusCode::OK);
    assert_eq!(head.headers, get.headers);
    assert_eq!(head.body, Body::Empty);
}

#[test]
fn other_methods_get_405_with_allow() {
    for m in ["POST", "PUT", "DELETE", "OPTIONS", "PATCH"] {
        let p = plan(m, &[]);
        assert_eq!(p.status, StatusCode::METHOD_NOT_ALLOWED, "{m}");
        assert_eq!(hdr(&p, "allow"), Some("GET, HEAD"));
    }
}

#[test]
fn a_cors_preflight_from_an_allowed_origin_gets_204() {
    let preflight = [
        ("origin", "https://shop.example"),
        ("access-control-request-method", "GET"),
        ("access-control-request-headers", "If-None-Match, range"),
    ];
    let p = plan("OPTIONS", &preflight);
    assert_eq!(p.status, StatusCode::NO_CONTENT);
    assert_eq!(hdr(&p, "access-control-allow-origin"), Some("*"));
    assert_eq!(hdr(&p, "access-control-allow-methods"), Some("GET, HEAD"));
    assert_eq!(
        hdr(&p, "access-control-allow-headers"),
        Some("If-None-Match, range")
    );
    let (m, h) = req("OPTIONS", &preflight);
    let listed = Cors::Origins(vec!["https://shop.example".into()]);
    let p = serve(&m, &h, &entry(true), &listed);
    assert_eq!(
        hdr(&p, "access-control-allow-origin"),
        Some("https://shop.example")
    );
    assert_eq!(hdr(&p, "vary"), Some("Origin"));
    let refused = [
        serve(&m, &h, &entry(true), &Cors::Off),
        serve(
            &m,
            &h,
            &entry(true),
            &Cors::Origins(vec!["https://other.test".into()]),
        ),
        plan(
            "OPTIONS",
            &[
                ("origin", "https://shop.example"),
                ("access-control-request-method", "PUT"),
            ],
        ),
        plan("OPTIONS", &[("origin", "https://shop.example")]),
    ];
    for p in refused {
        assert_eq!(p.status, StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(hdr(&p, "access-control-allow-origin"), None);
    }
}

#[test]
fn caching_follows_the_manifest() {
    assert_eq!(hdr(&plan("GET", &[]), "cache-control"), Some(IMMUTABLE));
    let (m, h) = req("GET", &[]);
    let p = serve(&m, &h, &entry(false), &Cors::Any);
    assert_eq!(hdr(&p, "cache-control"), Some(REVALIDATE));
    assert_eq!(hdr(&p, "x-content-type-options"), Some("nosniff"));
}

#[test]
fn if_none_match_gives_304_with_the_required_headers() {
    let p = plan(
        "GET",
        &[
            ("accept-encoding", "br"),
            ("if-none-match", "\"x\", W/\"br\""),
        ],
    );
    assert_eq!(p.status, StatusCode::NOT_MODIFIED);
    assert_eq!(p.body, Body::Empty);
    assert_eq!(hdr(&p, "etag"), Some("\"br\""));
    assert_eq!(hdr(&p, "cache-control"), Some(IMMUTABLE));
    assert_eq!(hdr(&p, "vary"), Some("Accept-Encoding"));
    assert_eq!(hdr(&p, "content-length"), None);
    // The identity validator does not match the brotli representation.
    let p = plan(
        "GET",
        &[("accept-encoding", "br"), ("if-none-match", "\"id\"")],
    );
    assert_eq!(p.status, StatusCode::OK);
    assert_eq!(
        plan("HEAD", &[("if-none-match", "*")]).status,
        StatusCode::NOT_MODIFIED
    );
}

#[test]
fn if_match_failure_is_412() {
    let p = plan("GET", &[("if-match", "\"other\"")]);
    assert_eq!(p.status, StatusCode::PRECONDITION_FAILED);
}

#[test]
fn ranges_are_served_from_the_identity_bytes() {
    let p = plan(
        "GET",
        &[("accept-encoding", "br"), ("range", "bytes=10-19")],
    );
    assert_eq!(p.status, StatusCode::PARTIAL_CONTENT);
    assert_eq!(hdr(&p, "content-range"), Some("bytes 10-19/1000"));
    assert_eq!(hdr(&p, "content-length"), Some("10"));
    assert_eq!(hdr(&p, "content-encoding"), None);
    assert_eq!(hdr(&p, "etag"), Some("\"id\""));
    assert_eq!(
        p.body,
        Body::File {
            path: "/assets/app-0123456789abcdef.css".into(),
            range: Some(10..20),
            len: 1000
        }
    );
    let p = plan("GET", &[("range", "bytes=-100")]);
    assert_eq!(hdr(&p, "content-range"), Some("bytes 900-999/1000"));
}

#[test]
fn unsatisfiable_range_is_416_with_the_length() {
    let p = plan("GET", &[("range", "bytes=1000-")]);
    assert_eq!(p.status, StatusCode::RANGE_NOT_SATISFIABLE);
    assert_eq!(hdr(&p, "content-range"), Some("bytes */1000"));
}

#[test]
fn if_range_mismatch_and_malformed_or_multiple_ranges_send_everything() {
    for pairs in [
        vec![("range", "bytes=0-9"), ("if-range", "\"old\"")],
        vec![("range", "bytes=9-0")],
        vec![("range", "bytes=0-1,5-6")],
        vec![("range", "pages=1")],
    ] {
        let p = plan("GET", &pairs);
        assert_eq!(p.status, StatusCode::OK, "{pairs:?}");
        assert_eq!(hdr(&p, "content-length"), Some("1000"));
    }
    let p = plan("GET", &[("range", "bytes=0-9"), ("if-range", "\"id\"")]);
    assert_eq!(p.status, StatusCode::PARTIAL_CONTENT);
    let p = plan("HEAD", &[("range", "bytes=0-9")]);
    assert_eq!(p.status, StatusCode::OK, "Range is defined for GET only");
}

#[test]
fn cors_any_and_listed_origins() {
    assert_eq!(
        hdr(&plan("GET", &[]), "access-control-allow-origin"),
        Some("*")
    );
    let cfg = Cors::Origins(vec!["https://shop.test".into()]);
    let (m, h) = req("GET", &[("origin", "https://shop.test")]);
    let p = serve(&m, &h, &entry(true), &cfg);
    assert_eq!(
        hdr(&p, "access-control-allow-origin"),
        Some("https://shop.test")
    );
    assert_eq!(hdr(&p, "vary"), Some("Accept-Encoding, Origin"));
    let (m, h) = req("GET", &[("origin", "https://evil.test")]);
    assert_eq!(
        serve(&m, &h, &entry(true), &cfg)
            .headers
            .get("access-control-allow-origin"),
        None
    );
    let off = Cors::Off;
    let (m, h) = req("GET", &[]);
    assert_eq!(
        serve(&m, &h, &entry(true), &off)
            .headers
            .get("access-control-allow-origin"),
        None
    );
}

#[test]
fn not_found_uses_the_page_when_configured() {
    let (m, h) = req("GET", &[]);
    let p = not_found(&m, &h, None, &Cors::Any);
    assert_eq!(p.status, StatusCode::NOT_FOUND);
    assert_eq!(p.body, Body::Text("404 Not Found\n".into()));
    let page = entry(false);
    let p = not_found(&m, &h, Some(&page), &Cors::Any);
    assert_eq!(p.status, StatusCode::NOT_FOUND);
    assert_eq!(hdr(&p, "content-type"), Some("text/css; charset=utf-8"));
    assert!(matches!(p.body, Body::File { .. }));
    let (m, h) = req("GET", &[("if-none-match", "\"id\"")]);
    assert_eq!(
        not_found(&m, &h, Some(&page), &Cors::Any).status,
        StatusCode::NOT_FOUND,
        "never 304 for a 404"
    );
    for (name, value) in [
        ("if-match", "\"other\""),
        ("if-match", "\"id\""),
        ("if-none-match", "*"),
    ] {
        let (m, h) = req("GET", &[(name, value)]);
        assert_eq!(
            not_found(&m, &h, Some(&page), &Cors::Any).status,
            StatusCode::NOT_FOUND,
            "{name}: {value}: preconditions are not evaluated on a 404 (RFC 9110 §13.2.1)"
        );
        assert_eq!(
            not_found(&m, &h, None, &Cors::Any).status,
            StatusCode::NOT_FOUND
        );
    }
}

#[test]
fn request_headers_prefer_the_clients_own_accept_encoding() {
    let get = |n: &str| match n {
        "accept-encoding" => Some("br, gzip".to_string()),
        "range" => Some("bytes=0-1".to_string()),
        "cookie" => Some("secret".to_string()),
        _ => None,
    };
    let h = request_headers(get, Some("gzip".into()));
    assert_eq!(h.get("accept-encoding").unwrap(), "gzip");
    assert_eq!(h.get("range").unwrap(), "bytes=0-1");
    assert!(h.get("cookie").is_none(), "only the planner's headers");
    let h = request_headers(get, Some(String::new()));
    assert!(h.get("accept-encoding").is_none(), "the client sent none");
    let h = request_headers(get, None);
    assert_eq!(h.get("accept-encoding").unwrap(), "br, gzip");
}

#[test]
fn error_pages_keep_their_status_and_are_never_stored() {
    let (m, h) = req(
        "GET",
        &[
            ("accept-encoding", "br"),
            ("if-none-match", "\"id\""),
            ("range", "bytes=0-1"),
        ],
    );
    let p = page(
        &m,
        &h,
        &entry(false),
        StatusCode::SERVICE_UNAVAILABLE,
        &Cors::Any,
    );
    assert_eq!(p.status, StatusCode::SERVICE_UNAVAILABLE, "no 304, no 206");
    assert_eq!(hdr(&p, "cache-control"), Some("no-store"));
    assert_eq!(hdr(&p, "content-encoding"), Some("br"), "still negotiated");
    let (m, h) = req("POST", &[]);
    assert_eq!(
        page(&m, &h, &entry(false), StatusCode::BAD_GATEWAY, &Cors::Any).status,
        StatusCode::METHOD_NOT_ALLOWED
    );
}

#[test]
fn an_answers_page_keeps_its_status_and_headers_but_not_its_content_type() {
    let (m, h) = req("GET", &[]);
    let mut answer = crate::answer::Answer::text(503, "down\n");
    answer.headers.push(("retry-after", "5".into()));
    let p = answer_page(&answer, &m, &h, &entry(false), &Cors::Any);
    assert_eq!(p.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(hdr(&p, "retry-after"), Some("5"));
    assert_eq!(hdr(&p, "cache-control"), Some("no-store"));
    assert_ne!(
        hdr(&p, "content-type"),
        Some("text/plain; charset=utf-8"),
        "the page's own type"
    );
}

#[test]
fn every_header_of_the_edges_answers_can_go_on_its_page() {
    use crate::answer::Answer;
    use crate::proxy::plan::GiveUp;
    let answers = [
        Answer::text(500, "x"),
        Answer::json(200, "{}".into()),
        Answer::html(200, "<p>".into()),
        Answer::redirect("https://shop.test/".into()),
        Answer::not_found(),
        Answer::unauthorized(),
        Answer::misconfigured(),
        Answer::origin_error(502),
        Answer::give_up(GiveUp::Unavailable { retry_after_s: 5 }).unwrap(),
        Answer::give_up(GiveUp::GatewayTimeout).unwrap(),
        Answer::give_up(GiveUp::BadGateway).unwrap(),
        crate::ops::purge_request("GET", "").unwrap_err(),
    ];
    for a in &answers {
        for (name, _) in &a.headers {
            assert!(
                answer_header(name).is_some(),
                "{name} (status {})",
                a.status
            );
            assert_eq!(answer_header(name).unwrap().as_str(), *name);
        }
    }
}

/// An index holding one entry with br/gzip siblings, a `Use-As-Dictionary` value and dcz/dcb
/// deltas against the dictionary `[7; 32]`.
fn delta_index() -> cdn_manifest::Index {
    use cdn_manifest::{Delta, DeltaEncoding, Entry, Manifest, Representation};
    let mut m = Manifest::new("/assets/");
    let mut encodings = std::collections::BTreeMap::new();
    for (enc, size, etag) in [
        (Encoding::Brotli, 200, "\"br\""),
        (Encoding::Gzip, 300, "\"gz\""),
    ] {
        encodings.insert(
            enc,
            Representation {
                size,
                etag: etag.into(),
            },
        );
    }
    let delta = |encoding, size, etag: &str| Delta {
        encoding,
        dictionary: "07".repeat(32),
        size,
        etag: etag.into(),
    };
    m.entries.insert(
        "/assets/app-0123456789abcdef.js".into(),
        Entry {
            logical_path: "app.js".into(),
            content_type: "text/javascript; charset=utf-8".into(),
            size: 1000,
            etag: "\"id\"".into(),
            integrity: "sha384-x".into(),
            immutable: true,
            encodings,
            deploy: "d2".into(),
            use_as_dictionary: Some(r#"match="/assets/app-*.js", match-dest=("script")"#.into()),
            deltas: vec![
                delta(DeltaEncoding::Zstd, 40, "\"dcz\""),
                delta(DeltaEncoding::Brotli, 45, "\"dcb\""),
            ],
        },
    );
    cdn_manifest::Index::from_bytes(cdn_manifest::index::encode(&m)).unwrap()
}

const DICT_B64: &str = ":BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=:";
const UAD: &str = r#"match="/assets/app-*.js", match-dest=("script")"#;

fn delta_plan(method: &str, pairs: &[(&str, &str)]) -> Plan {
    let idx = delta_index();
    let e = idx.get("/assets/app-0123456789abcdef.js").unwrap().unwrap();
    let (m, h) = req(method, pairs);
    serve(&m, &h, &e, &Cors::Any)
}

#[test]
fn a_named_dictionary_gets_its_delta_with_its_own_validator() {
    let browser = "gzip, deflate, br, zstd, dcb, dcz";
    let p = delta_plan(
        "GET",
        &[
            ("accept-encoding", browser),
            ("available-dictionary", DICT_B64),
        ],
    );
    assert_eq!(p.status, StatusCode::OK);
    assert_eq!(
        hdr(&p, "content-encoding"),
        Some("dcz"),
        "the smaller delta"
    );
    assert_eq!(hdr(&p, "content-length"), Some("40"));
    assert_eq!(hdr(&p, "etag"), Some("\"dcz\""));
    assert_eq!(
        hdr(&p, "vary"),
        Some("Accept-Encoding, Available-Dictionary")
    );
    assert_eq!(
        hdr(&p, "use-as-dictionary"),
        Some(UAD),
        "a dictionary for the next version"
    );
    assert_eq!(hdr(&p, "cache-control"), Some(IMMUTABLE));
    assert!(p.precompressed);
    assert_eq!(
        p.body,
        Body::File {
            path: "/assets/app-0123456789abcdef.js.0707070707070707.dcz".into(),
            range: None,
            len: 40
        }
    );
    let p = delta_plan(
        "GET",
        &[
            ("accept-encoding", "br, dcb"),
            ("available-dictionary", DICT_B64),
        ],
    );
    assert_eq!(hdr(&p, "content-encoding"), Some("dcb"));
    assert_eq!(hdr(&p, "etag"), Some("\"dcb\""));
    let get = delta_plan(
        "GET",
        &[
            ("accept-encoding", browser),
            ("available-dictionary", DICT_B64),
        ],
    );
    let head = delta_plan(
        "HEAD",
        &[
            ("accept-encoding", browser),
            ("available-dictionary", DICT_B64),
        ],
    );
    assert_eq!(head.headers, get.headers);
    assert_eq!(head.body, Body::Empty);
}

#[test]
fn anything_else_gets_todays_negotiation() {
    let other = ":CAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAg=:";
    type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], Option<&'a str>);
    let cases: &[Case<'_>] = &[
        (
            "an unknown dictionary",
            &[
                ("accept-encoding", "br, dcz, dcb"),
                ("available-dictionary", other),
            ],
            Some("br"),
        ),
        (
            "dcz and dcb not accepted",
            &[
                ("accept-encoding", "gzip, br"),
                ("available-dictionary", DICT_B64),
            ],
            Some("br"),
        ),
        (
            "a malformed header",
            &[
                ("accept-encoding", "br, dcz"),
                ("available-dictionary", "BwcH"),
            ],
            Some("br"),
        ),
        ("no header", &[("accept-encoding", "br, dcz")], Some("br")),
        (
            "br preferred by q",
            &[
                ("accept-encoding", "br, dcz;q=0.5"),
                ("available-dictionary", DICT_B64),
            ],
            Some("br"),
        ),
        (
            "gzip only",
            &[
                ("accept-encoding", "gzip"),
                ("available-dictionary", DICT_B64),
            ],
            Some("gzip"),
        ),
    ];
    for (name, pairs, want) in cases {
        let p = delta_plan("GET", pairs);
        assert_eq!(p.status, StatusCode::OK, "{name}");
        assert_eq!(hdr(&p, "content-encoding"), *want, "{name}");
        assert_eq!(
            hdr(&p, "vary"),
            Some("Accept-Encoding, Available-Dictionary"),
            "{name}"
        );
        assert_eq!(hdr(&p, "use-as-dictionary"), Some(UAD), "{name}");
    }
}

#[test]
fn ranges_and_preconditions_with_dictionaries() {
    // A range is served from the identity bytes: no delta, and no dictionary (a part is none).
    let p = delta_plan(
        "GET",
        &[
            ("accept-encoding", "dcz"),
            ("available-dictionary", DICT_B64),
            ("range", "bytes=0-9"),
        ],
    );
    assert_eq!(p.status, StatusCode::PARTIAL_CONTENT);
    assert_eq!(hdr(&p, "content-encoding"), None);
    assert_eq!(hdr(&p, "use-as-dictionary"), None);
    // If-None-Match with the delta's validator: 304, keeping the dictionary headers.
    let p = delta_plan(
        "GET",
        &[
            ("accept-encoding", "dcz"),
            ("available-dictionary", DICT_B64),
            ("if-none-match", "\"dcz\""),
        ],
    );
    assert_eq!(p.status, StatusCode::NOT_MODIFIED);
    assert_eq!(hdr(&p, "etag"), Some("\"dcz\""));
    assert_eq!(hdr(&p, "use-as-dictionary"), Some(UAD));
    assert_eq!(
        hdr(&p, "vary"),
        Some("Accept-Encoding, Available-Dictionary")
    );
    // The br validator does not match the delta.
    let p = delta_plan(
        "GET",
        &[
            ("accept-encoding", "dcz"),
            ("available-dictionary", DICT_B64),
            ("if-none-match", "\"br\""),
        ],
    );
    assert_eq!(p.status, StatusCode::OK);
    // An error page never becomes a dictionary nor gets a delta.
    let idx = delta_index();
    let e = idx.get("/assets/app-0123456789abcdef.js").unwrap().unwrap();
    let (m, h) = req(
        "GET",
        &[
            ("accept-encoding", "dcz"),
            ("available-dictionary", DICT_B64),
        ],
    );
    let p = page(&m, &h, &e, StatusCode::SERVICE_UNAVAILABLE, &Cors::Any);
    assert_eq!(hdr(&p, "content-encoding"), None);
    assert_eq!(hdr(&p, "use-as-dictionary"), None);
}

#[test]
fn entries_without_deltas_do_not_vary_on_dictionaries() {
    let p = plan(
        "GET",
        &[
            ("accept-encoding", "br, dcz"),
            ("available-dictionary", DICT_B64),
        ],
    );
    assert_eq!(hdr(&p, "content-encoding"), Some("br"));
    assert_eq!(hdr(&p, "vary"), Some("Accept-Encoding"));
    assert_eq!(hdr(&p, "use-as-dictionary"), None);
}

#[test]
fn header_pairs_leave_out_values_that_are_not_text() {
    let mut p = Plan::corrupted_manifest();
    assert_eq!(p.status, StatusCode::INTERNAL_SERVER_ERROR);
    p.headers
        .insert("x-bin", HeaderValue::from_bytes(b"\xff").unwrap());
    let pairs: Vec<(&str, &str)> = p.header_pairs().collect();
    assert!(pairs.contains(&("cache-control", "no-store")));
    assert!(!pairs.iter().any(|(n, _)| *n == "x-bin"));
    assert_eq!(pairs.len(), p.headers.len() - 1);
}
