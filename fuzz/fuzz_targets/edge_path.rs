//! The edge's request path decoders: an accepted path encodes back to one that decodes to it,
//! and the lossy decoder (routing, as Symfony decodes) agrees with it on valid paths.
#![no_main]
use edge::path::{decode, decode_lossy, encode};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(raw) = std::str::from_utf8(data) else {
        return;
    };
    let lossy = decode_lossy(raw);
    if let Ok(p) = decode(raw) {
        assert_eq!(decode(&encode(&p)), Ok(p.clone()), "{raw}");
        assert_eq!(lossy, p.as_bytes(), "both decoders agree on a valid path");
    }
});
