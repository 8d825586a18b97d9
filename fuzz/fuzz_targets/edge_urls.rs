//! The edge's URL and header-value parsers: origin URLs, request URLs, routing paths, the
//! HTTPS redirect, hop-by-hop lists, the client address and origin-auth verification.
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
    let _ = router::route(s, &edge::config::Config::default());
    let _ = forward::hop_by_hop(Some(s));
    let _ = forward::client_ip(Some(s));
    let _ = origin_auth::verify(b"key", s, 1_700_000_000, 60, "GET", "origin.test", "/a?b");
});
