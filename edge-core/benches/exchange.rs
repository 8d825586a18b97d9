//! The core's share of a proxied GET on the JavaScript path, natively: what `edge_begin` and
//! `edge_report` ask of it (read the request, plan, the first attempt and its edits in the
//! entry's text; the answer's report, the client's edits and annotations in the entry's text,
//! the log line into the batch), per
//! request, against parsing the same header fields alone (the floor of any call that reads
//! them). Wasm runs this code about 1.5-2x slower than native; the figure bounds what the
//! Rust side can cost of `bench/edge-cpu.mjs`'s difference.
//!
//! The same again with origin authentication (each attempt signed, as the shipped configuration
//! does).
//!
//! `cargo bench -p edge-core --bench exchange` (add `-- N` for N requests, default 200,000).

use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::Instant;

use cdn_manifest::index::encode_sharded;
use cdn_manifest::{Manifest, Root};
use edge_core::config::{Config, Secrets};
use edge_core::field_lines::FieldLines;
use edge_core::isolate::Isolate;
use edge_core::origin_auth::OriginKey;
use edge_core::proxy::entry_protocol::{self as protocol, began, respond};
use edge_core::proxy::exchange::{Exchange, Reply};

/// The configuration `bench/edge-cpu.mjs` gives the edge (one pool, no cache, logs on).
const CONFIG: &str = r#"{"public_path":"/assets/","origin_auth":false,"log_requests":true,
    "pools":{"main":{"origins":[{"url":"http://127.0.0.1:8081"}]}},
    "routes":[{"path_prefix":"/","pools":["main"],"cache":{"enabled":false}}]}"#;
/// What wrk's request looks like to the worker, and what the demo's Symfony answers.
const REQUEST: &str = "host\nedge.test\ncf-connecting-ip\n127.0.0.1\naccept-encoding\nbr, gzip\n";
const RESPONSE: &str = "cache-control\nno-cache, private\ncontent-type\ntext/html; charset=UTF-8\ndate\nSun, 29 Nov 2026 04:00:00 GMT\nserver\nPHP\nx-powered-by\nPHP/8.2\n";

fn main() {
    let n: u64 = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(200_000);
    let (root, _) = encode_sharded(&Manifest::new("/assets/"));
    let root = Root::from_bytes(&root).expect("an empty manifest");
    let cfg = Config::from_json(CONFIG).expect("the bench's configuration");
    let state: Isolate<(), ()> =
        Isolate::new(cfg, Secrets::default(), root, false).expect("isolate");
    let url = "http://edge.test/";
    let mut now = 1_700_000_000_000u64;
    let parse_only = time(n, || {
        let f = FieldLines::parse(REQUEST.to_string());
        let r = FieldLines::parse(RESPONSE.to_string());
        black_box((f.get("host").is_some(), r.get("server").is_some()));
    });
    let mut logged = 0usize;
    let mut exchange = |origin_key: Option<&OriginKey>| {
        now += 1;
        let fields = FieldLines::parse(REQUEST.to_string());
        let request = ("GET", url, &fields, false);
        let no_verdicts = |_: &[String]| BTreeMap::new();
        let (cfg, key) = (&state.config, &state.cookie_key);
        let mut x = Exchange::start(cfg, key, request, no_verdicts, now).expect("taken");
        let mut pools = state.pools.borrow_mut();
        let mut step = began(1, false);
        protocol::step(x.next(&mut pools, now, || 7, origin_key), false, &mut step);
        let (reply, _) = x.report(Ok(200), &mut pools, now + 2);
        assert_eq!(reply, Reply::Respond);
        let resp = FieldLines::parse(RESPONSE.to_string());
        let get = |n: &str| resp.get(n).map(str::to_string);
        let mut edits = state.client_edits(get, &x.inbound().public_origin, x.set_cookies());
        edits.extend(x.annotations(200, now + 3));
        if let Some((line, err)) = x.log_line(200, now + 3) {
            if let Some(text) = state.log_request(&line, 200, err) {
                logged += text.len();
            }
        }
        black_box((step, respond(None, &edits).expect("edits")));
    };
    let unsigned = time(n, || exchange(None));
    let key = OriginKey::new(b"a key of the bench's own");
    let signed = time(n, || exchange(Some(&key)));
    println!("per request, native, {n} requests:");
    println!("  header fields parsed (request and answer): {parse_only:.2} µs");
    println!("  the core's work for a GET (begin and report): {unsigned:.2} µs");
    println!("  the same, each attempt signed for the origin (origin_auth): {signed:.2} µs");
    black_box(logged);
}

/// Mean µs per call of `f` over `n` calls (after a warm-up of n/10).
fn time(n: u64, mut f: impl FnMut()) -> f64 {
    for _ in 0..n / 10 {
        f();
    }
    let t = Instant::now();
    for _ in 0..n {
        f();
    }
    t.elapsed().as_secs_f64() * 1e6 / n as f64
}
