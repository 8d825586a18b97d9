//! RFC 9842 at the edge: `Available-Dictionary` parsing (accepts exactly the canonical base64
//! of 32 bytes), delta negotiation (a chosen delta is one of the entry's, against the named
//! dictionary, in a coding the request lists), the asset plan with deltas, and the well-known
//! history paths (a stored file is always under the public path). Input: a header value line,
//! an Accept-Encoding line, then a path.
#![no_main]
use base64::Engine;
use cdn_manifest::{Delta, DeltaEncoding, Encoding, Entry, Manifest};
use edge::assets::{self, dictionary, history, Cors};
use http::header::{HeaderMap, HeaderValue, ACCEPT_ENCODING};
use http::Method;

fn index() -> cdn_manifest::Index {
    let mut m = Manifest::new("/assets/");
    let mut encodings = std::collections::BTreeMap::new();
    encodings.insert(
        Encoding::Brotli,
        cdn_manifest::Representation { size: 50, etag: "\"br\"".into() },
    );
    let delta = |encoding, dict: u8, size| Delta {
        encoding,
        dictionary: format!("{dict:02x}").repeat(32),
        size,
        etag: format!("\"{dict}-{size}\""),
    };
    m.entries.insert(
        "/assets/a-1.js".into(),
        Entry {
            logical_path: "a.js".into(),
            content_type: "text/javascript; charset=utf-8".into(),
            size: 100,
            etag: "\"id\"".into(),
            integrity: "sha384-x".into(),
            immutable: true,
            encodings,
            deploy: "d".into(),
            use_as_dictionary: Some("match=\"/assets/a-*.js\"".into()),
            deltas: vec![
                delta(DeltaEncoding::Zstd, 1, 10),
                delta(DeltaEncoding::Brotli, 1, 9),
                delta(DeltaEncoding::Zstd, 2, 20),
            ],
        },
    );
    cdn_manifest::Index::from_bytes(cdn_manifest::index::encode(&m)).unwrap()
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let mut lines = data.splitn(3, |&c| c == b'\n');
    let value = lines.next().unwrap_or_default();
    let ae = lines.next().unwrap_or_default();
    let path = lines.next().unwrap_or_default();

    if let Some(d) = dictionary::parse(value) {
        let canonical = base64::engine::general_purpose::STANDARD.encode(d);
        let text = std::str::from_utf8(value).unwrap().trim_matches([' ', '\t']);
        let inner = &text[1..text.len() - 1];
        assert!(canonical == inner || canonical.trim_end_matches('=') == inner, "{text}");
    }
    let idx = index();
    let e = idx.get("/assets/a-1.js").unwrap().unwrap();
    let mut h = HeaderMap::new();
    if let Ok(v) = HeaderValue::from_bytes(value) {
        h.append(dictionary::AVAILABLE_DICTIONARY, v);
    }
    if let Ok(v) = HeaderValue::from_bytes(ae) {
        h.append(ACCEPT_ENCODING, v);
    }
    if let Some(dict) = dictionary::available(&h) {
        if let Some(d) = dictionary::choose(&h, &[Encoding::Brotli], &e.deltas, &dict) {
            assert_eq!(d.dictionary, &dict);
            let listed = std::str::from_utf8(ae).unwrap_or("").to_ascii_lowercase();
            assert!(listed.contains(d.encoding.token()), "{listed}");
        }
    }
    for method in [Method::GET, Method::HEAD] {
        let plan = assets::serve(&method, &h, &e, &Cors::Any);
        if let Some(ce) = plan.headers.get("content-encoding") {
            let ce = ce.to_str().unwrap();
            assert!(["br", "dcz", "dcb"].contains(&ce), "{ce}");
            if ce.starts_with("dc") {
                assert_eq!(plan.headers["vary"], "Accept-Encoding, Available-Dictionary");
            }
        }
    }

    let Ok(path) = std::str::from_utf8(path) else {
        return;
    };
    if let Some(target) = history::target(path, "/assets/") {
        if let history::Target::Stored(stored) = &target {
            assert!(stored.starts_with("/assets/") && !stored.contains("/../"), "{stored}");
        }
        let _ = history::plan(&Method::GET, &target, "/cdn-manifest.bin");
    }
});
