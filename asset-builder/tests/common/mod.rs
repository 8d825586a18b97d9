//! Helpers shared by asset-builder's integration tests (each test file has `mod common;`):
//! writing fixture files, taking a snapshot of a directory, running the CLI binary, and decoding
//! what the builder wrote (precompressed siblings, deltas, `%XX` in URLs).

// Each test file is its own crate and uses only some of these.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::fs;
use std::io::Read;
use std::path::Path;
use std::process::Command;

use asset_builder::delta::DeltaError;
use cdn_manifest::{DeltaEncoding, Encoding};

/// Writes `bytes` to `root/rel`, creating the directories on the way.
pub fn write(root: &Path, rel: &str, bytes: impl AsRef<[u8]>) {
    let p = root.join(rel);
    fs::create_dir_all(p.parent().unwrap()).unwrap();
    fs::write(p, bytes).unwrap();
}

/// Every file under `dir`: path relative to `dir` → bytes (empty when `dir` does not exist).
pub fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .flatten()
        .filter(|e| e.file_type().is_file())
        .map(|e| {
            let rel = e
                .path()
                .strip_prefix(dir)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            (rel, fs::read(e.path()).unwrap())
        })
        .collect()
}

/// The `asset-builder` binary of this build, ready for arguments.
pub fn cli() -> Command {
    Command::new(env!("CARGO_BIN_EXE_asset-builder"))
}

/// Decodes `%XX` escapes (the builder encodes names in `manifest.json` URLs and the history is
/// fetched by encoded paths); anything else is kept as it is.
pub fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8(out).unwrap()
}

/// Decompresses a precompressed sibling with the reference brotli and gzip decoders.
pub fn decompress(enc: Encoding, packed: &[u8]) -> Vec<u8> {
    let mut back = Vec::new();
    match enc {
        Encoding::Brotli => brotli::Decompressor::new(packed, 4096)
            .read_to_end(&mut back)
            .unwrap(),
        Encoding::Gzip => flate2::read::GzDecoder::new(packed)
            .read_to_end(&mut back)
            .unwrap(),
    };
    back
}

/// Decodes a delta body made against `dictionary` with the reference zstd library (and the
/// brotli decoder for dcb).
pub fn decode_delta(
    encoding: DeltaEncoding,
    dictionary: &[u8],
    body: &[u8],
) -> Result<Vec<u8>, DeltaError> {
    let digest = asset_builder::fingerprint::sha256(dictionary);
    asset_builder::delta::decode(encoding, dictionary, &digest, body)
}
