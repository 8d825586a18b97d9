//! The edge's header parsers (Accept-Encoding, Range, If-Match, If-None-Match, If-Range) and the
//! whole asset response plan. Input: 8 bytes of representation size, then `<name byte><value>`
//! lines.
#![no_main]
use cdn_manifest::{Encoding, EntryRef};
use edge::assets::{
    self, conditional, negotiate,
    range::{self, RangeRequest},
};
use edge::config::Config;
use http::header::{self, HeaderMap, HeaderValue};
use http::Method;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if data.len() < 9 {
        return;
    }
    let len = u64::from_le_bytes(data[..8].try_into().unwrap()) >> (data[8] % 64);
    let names = [
        header::ACCEPT_ENCODING,
        header::RANGE,
        header::IF_MATCH,
        header::IF_NONE_MATCH,
        header::IF_RANGE,
        header::ORIGIN,
    ];
    let mut h = HeaderMap::new();
    for line in data[9..].split(|&c| c == b'\n') {
        let Some((&n, value)) = line.split_first() else {
            continue;
        };
        if let Ok(v) = HeaderValue::from_bytes(value) {
            h.append(names[n as usize % names.len()].clone(), v);
        }
    }
    for available in [
        &[][..],
        &[Encoding::Brotli],
        &[Encoding::Gzip],
        &Encoding::ALL,
    ] {
        if let Some(e) = negotiate::choose(&h, available) {
            assert!(available.contains(&e), "{e:?} not available");
        }
    }
    match range::parse(&h, len) {
        RangeRequest::Partial(r) => assert!(r.start < r.end && r.end <= len, "{r:?} of {len}"),
        RangeRequest::Full | RangeRequest::Unsatisfiable => {}
    }
    let _ = conditional::evaluate(&h, "\"0123\"");
    let _ = conditional::if_range_allows(&h, "\"0123\"");
    let entry = EntryRef {
        path: "/assets/a-0123.css",
        content_type: "text/css; charset=utf-8",
        size: len,
        etag: "\"0123\"",
        immutable: data[8] & 1 == 1,
        br: (data[8] & 2 == 2).then_some((len / 3, "\"br\"")),
        gzip: (data[8] & 4 == 4).then_some((len / 2, "\"gz\"")),
        deploy: "d1",
        use_as_dictionary: (data[8] & 8 == 8).then_some("match=\"/assets/a-*.css\""),
        deltas: Default::default(),
    };
    let cfg = Config::from_json("{}").expect("the defaults are valid");
    for method in [Method::GET, Method::HEAD, Method::POST] {
        let _ = assets::serve(&method, &h, &entry, &cfg.assets.cors);
    }
});
