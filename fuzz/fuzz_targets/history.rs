//! The deploy history reader: never a panic; an accepted history survives a JSON round trip,
//! names only plain paths under its public path, and the keep policy picks deploys it lists.
#![no_main]
use asset_builder::history::format::plain_path;
use asset_builder::history::{dates, keep, History, KeepPolicy};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data) {
        if let Some(t) = dates::parse(s.trim()) {
            assert_eq!(dates::parse(&dates::format(t)), Some(t));
        }
    }
    let Ok(h) = History::from_json(data) else {
        return;
    };
    assert_eq!(History::from_json(&h.to_json()).expect("a written history reads back"), h);
    for path in h.files.keys().chain(h.entries.keys()) {
        assert!(path.starts_with(&h.public_path) && plain_path(path), "{path}");
    }
    for (path, e) in &h.entries {
        for stored in History::stored_paths(path, e) {
            assert!(h.files.contains_key(&stored), "{stored}");
        }
    }
    let now = dates::parse("2030-01-01T00:00:00Z").unwrap();
    for n in [1, 2, 5] {
        let (kept, dropped) = keep::select(&h.deploys, "current", now, KeepPolicy { deploys: n, days: Some(3) });
        assert!(kept.len() < n);
        assert_eq!(kept.len() + dropped.len(), h.deploys.len());
    }
});
