//! The CDN manifest's JSON reader: an accepted manifest survives a JSON round trip, and its
//! binary index finds every entry with the same facts (deploy, dictionary value and deltas
//! included).
#![no_main]
use cdn_manifest::{index, Encoding, Index, Manifest, Root};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(m) = Manifest::from_json(data) else {
        return;
    };
    let back = Manifest::from_json(&m.to_json()).expect("a written manifest reads back");
    assert_eq!(back, m);
    let (root, shards) = index::encode_sharded(&m);
    let root = Root::from_bytes(&root).expect("a written root reads back");
    let shards: Vec<Index> = shards
        .into_iter()
        .map(|s| Index::from_bytes(s).expect("a written shard reads back"))
        .collect();
    for (path, e) in &m.entries {
        let got = shards[root.shard_of(path)]
            .get(path)
            .expect("readable")
            .expect("every entry is found");
        assert_eq!(got.size, e.size);
        assert_eq!(got.etag, e.etag);
        for enc in Encoding::ALL {
            let want = e.encodings.get(&enc).map(|r| (r.size, r.etag.as_str()));
            assert_eq!(got.representation(enc), want);
        }
        assert_eq!(got.deploy, e.deploy);
        assert_eq!(got.use_as_dictionary, e.use_as_dictionary.as_deref().filter(|v| !v.is_empty()));
        let deltas: Vec<_> = got.deltas.iter().collect();
        assert_eq!(deltas.len(), e.deltas.len());
        for (d, want) in deltas.iter().zip(&e.deltas) {
            assert_eq!((d.encoding, d.size, d.etag), (want.encoding, want.size, want.etag.as_str()));
            assert_eq!(Some(*d.dictionary), cdn_manifest::parse_hex32(&want.dictionary));
        }
    }
});
