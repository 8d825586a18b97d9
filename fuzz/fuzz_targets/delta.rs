//! The builder's delta decoders (what verifies every dcz/dcb body before it is published): any
//! body, against a fixed dictionary, decodes or is an error, never a panic; one that decodes to
//! the dictionary's own bytes is accepted by `verify`.
#![no_main]
use asset_builder::delta::{decode, verify};
use asset_builder::fingerprint::sha256;
use cdn_manifest::DeltaEncoding;

const DICTIONARY: &[u8] = b"export function greet(name) { return `Hello, ${name}!`; }\n";

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let digest = sha256(DICTIONARY);
    for encoding in DeltaEncoding::ALL {
        // The body as given, and with the right header in front of it.
        let mut framed = encoding.magic().to_vec();
        framed.extend_from_slice(&digest);
        framed.extend_from_slice(data);
        for body in [data, &framed[..]] {
            if let Ok(out) = decode(encoding, DICTIONARY, &digest, body) {
                assert!(verify(encoding, DICTIONARY, &digest, body, &out).is_ok());
            }
        }
    }
});
