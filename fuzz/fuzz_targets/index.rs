//! The binary index reader (root and shard): never a panic, and whatever `get` returns is an
//! entry of the table that `iter` lists.
#![no_main]
use cdn_manifest::{EntryRef, Index, Root};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = Root::from_bytes(data).map(|r| r.shard_of("/assets/a.css"));
    let Ok(idx) = Index::from_bytes(data.to_vec()) else {
        return;
    };
    let _ = idx.public_path();
    let listed: Vec<EntryRef<'_>> = idx.iter().flatten().collect();
    let mut probes: Vec<&str> = listed.iter().map(|e| e.path).collect();
    probes.extend(["", "/", "/assets/a.css"]);
    for p in probes {
        if let Ok(Some(e)) = idx.get(p) {
            assert_eq!(e.path, p);
            assert!(listed.contains(&e), "{e:?} is not in the entry table");
        }
    }
    // An entry's deltas were checked when it was read: all of them iterate, and each is found.
    for e in &listed {
        let all: Vec<_> = e.deltas.iter().collect();
        assert_eq!(all.len(), e.deltas.len());
        for d in all {
            assert!(e.deltas.get(d.dictionary, d.encoding).is_some());
        }
    }
});
