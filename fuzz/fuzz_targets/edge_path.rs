//! The edge's request path decoder: an accepted path encodes back to one that decodes to it.
#![no_main]
use edge::path::{decode, encode};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(raw) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(p) = decode(raw) {
        assert_eq!(decode(&encode(&p)), Ok(p.clone()), "{raw}");
    }
});
