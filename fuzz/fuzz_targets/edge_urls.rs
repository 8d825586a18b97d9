//! The edge's URL and header-value parsers: origin URLs, request URLs, routing paths, the
//! routing decision, the HTTPS redirect, hop-by-hop lists, the client address and origin-auth
//! verification.
#![no_main]
use edge::{forward, origin_auth, origin_url, router};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    if let Some(o) = origin_url::OriginUrl::parse(s) {
        let again = origin_url::OriginUrl::parse(&o.to_string()).expect("a printed origin parses");
        assert_eq!(again.to_string(), o.to_string());
    }
    let _ = origin_url::split_request_url(s);
    let path = router::path_of(s);
    assert!(path.starts_with('/'), "{path}");
    let _ = router::path_and_query_of(s);
    let _ = router::https_location(s);
    let cfg = edge::config::Config::from_json("{}").expect("the defaults are valid");
    let _ = router::decide(s, &cfg);
    let _ = forward::hop_by_hop(Some(s));
    let _ = forward::request_headers_to_drop(Some(s));
    let _ = forward::client_ip(Some(s));
    let received = origin_auth::Signed {
        time: 1_700_000_000,
        nonce: "n",
        method: "GET",
        host: "origin.test",
        path_and_query: "/a?b",
        forwarded: [Some(s), None, None, None, None],
    };
    let _ = origin_auth::verify(b"key", s, 1_700_000_000, 60, &received);
    let _ = origin_auth::authority_of(s);
    let _ = origin_auth::wire_method(s);
});
