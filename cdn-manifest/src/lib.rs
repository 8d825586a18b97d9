//! The CDN manifest: what `asset-builder` publishes and the edge worker serves.
//!
//! One JSON document (`cdn-manifest.json` in the builder's output directory) maps every published
//! URL path to the facts the edge needs to answer a request without touching the file: content type,
//! size, strong validators, SRI integrity, precompressed representations and whether the path is
//! fingerprinted (and so may be cached forever), the deploy that published it, and the RFC 9842
//! dictionary facts: the `Use-As-Dictionary` value its responses carry and the precomputed deltas
//! against earlier versions of the same logical path. The format is versioned by
//! [`FORMAT_VERSION`]; a reader refuses any other version rather than guess.
//!
//! This crate is shared by the writer and the reader and is compiled into the Wasm worker, so it
//! depends on serde alone.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub mod civil;
pub mod index;
pub use index::{shard_path, EntryRef, Index, IndexError, Root, INDEX_FILE_NAME};

/// The manifest format this crate reads and writes. Bumped on any incompatible change
/// (2: deploy ids, `Use-As-Dictionary` and dictionary-compressed deltas).
pub const FORMAT_VERSION: u32 = 2;

/// The file name of the CDN manifest inside the builder's output directory.
pub const FILE_NAME: &str = "cdn-manifest.json";

/// The file name of the deploy history inside the builder's output directory (beside the index
/// root; uploaded, so that the edge can serve it to the next build).
pub const HISTORY_FILE_NAME: &str = "asset-history.json";

/// Where the edge serves the deploy history to the next build: `history.json` (the history file)
/// and `files/<stored path>` (a stored file's exact bytes) under this path.
pub const HISTORY_WELL_KNOWN: &str = "/.well-known/asset-history/";

/// The whole CDN manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Always [`FORMAT_VERSION`] for a manifest this crate accepts.
    pub version: u32,
    /// The URL path prefix every entry lives under, with leading and trailing `/` (e.g. `/assets/`).
    pub public_path: String,
    /// Published URL path (percent-encoding-free, starting with `/`) → entry. Sorted, so the same
    /// build gives byte-identical JSON.
    pub entries: BTreeMap<String, Entry>,
}

/// One published file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    /// The path relative to the source tree, `/`-separated: the key of Symfony's `manifest.json`.
    pub logical_path: String,
    /// The `Content-Type` to send, with `charset=utf-8` for text types.
    pub content_type: String,
    /// Size in bytes of the identity (uncompressed) representation.
    pub size: u64,
    /// Strong ETag of the identity representation, quoted (`"…"`), derived from its SHA-256.
    pub etag: String,
    /// Subresource Integrity of the identity bytes (`sha384-<base64>`).
    pub integrity: String,
    /// True when the path carries a content digest, so its bytes can never change: cache forever.
    pub immutable: bool,
    /// Precompressed representations stored beside the file as `<path>.br` / `<path>.gz`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub encodings: BTreeMap<Encoding, Representation>,
    /// The id of the newest kept deploy that publishes this file.
    pub deploy: String,
    /// The `Use-As-Dictionary` value its responses carry (RFC 9842 §2.1), e.g.
    /// `match="/assets/app-*.js", match-dest=("script")`: the browser keeps the file as a
    /// dictionary for the later versions of the same logical path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub use_as_dictionary: Option<String>,
    /// Dictionary-compressed representations: this file's bytes as a delta against an earlier
    /// version, stored at [`Delta::path_for`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub deltas: Vec<Delta>,
}

/// A dictionary-compressed representation (RFC 9842): the entry's bytes compressed with an
/// earlier version of the same logical path as the dictionary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Delta {
    /// `dcz` or `dcb`.
    pub encoding: DeltaEncoding,
    /// SHA-256 of the dictionary (the earlier version's identity bytes), lower-case hex: what a
    /// client names in `Available-Dictionary`.
    pub dictionary: String,
    /// Size in bytes of the stored body (the RFC's header included).
    pub size: u64,
    /// Strong ETag of this representation.
    pub etag: String,
}

impl Delta {
    /// Where the delta of the entry at `entry_path` against the dictionary whose SHA-256 is
    /// `dictionary_hex` is stored: `<path>.<first 16 hex digits>.<dcz|dcb>`.
    pub fn path_for(entry_path: &str, dictionary_hex: &str, encoding: DeltaEncoding) -> String {
        let short = dictionary_hex.get(..16).unwrap_or(dictionary_hex);
        format!("{entry_path}.{short}.{}", encoding.token())
    }
}

/// A dictionary-compressed content coding (RFC 9842 §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum DeltaEncoding {
    /// Dictionary-Compressed Zstandard: a 40-byte header (magic, dictionary SHA-256) and a zstd
    /// frame that uses the dictionary as a raw prefix.
    #[serde(rename = "dcz")]
    Zstd,
    /// Dictionary-Compressed Brotli: a 36-byte header (magic, dictionary SHA-256) and a brotli
    /// stream that uses the dictionary as a raw prefix.
    #[serde(rename = "dcb")]
    Brotli,
}

impl DeltaEncoding {
    /// Both, in the order the edge prefers on a tie of size and q-value.
    pub const ALL: [DeltaEncoding; 2] = [DeltaEncoding::Zstd, DeltaEncoding::Brotli];

    /// The `Content-Encoding` token (`dcz`, `dcb`).
    pub fn token(self) -> &'static str {
        match self {
            DeltaEncoding::Zstd => "dcz",
            DeltaEncoding::Brotli => "dcb",
        }
    }

    /// The bytes every body of this coding starts with, before the dictionary's SHA-256.
    pub fn magic(self) -> &'static [u8] {
        match self {
            DeltaEncoding::Zstd => &[0x5e, 0x2a, 0x4d, 0x18, 0x20, 0x00, 0x00, 0x00],
            DeltaEncoding::Brotli => &[0xff, 0x44, 0x43, 0x42],
        }
    }
}

/// A precompressed representation of an entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Representation {
    /// Size in bytes of the compressed file.
    pub size: u64,
    /// Strong ETag of this representation (differs from the identity one: different bytes).
    pub etag: String,
}

/// A content coding the builder precompresses into, in the edge's order of preference.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Encoding {
    /// Brotli (RFC 7932), sibling suffix `.br`.
    #[serde(rename = "br")]
    Brotli,
    /// gzip (RFC 1952), sibling suffix `.gz`.
    #[serde(rename = "gzip")]
    Gzip,
}

impl Encoding {
    /// Every encoding, most preferred first.
    pub const ALL: [Encoding; 2] = [Encoding::Brotli, Encoding::Gzip];

    /// The `Content-Encoding` token (`br`, `gzip`).
    pub fn token(self) -> &'static str {
        match self {
            Encoding::Brotli => "br",
            Encoding::Gzip => "gzip",
        }
    }

    /// The suffix of the sibling file holding this representation (`.br`, `.gz`).
    pub fn suffix(self) -> &'static str {
        match self {
            Encoding::Brotli => ".br",
            Encoding::Gzip => ".gz",
        }
    }
}

/// Why a manifest could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    /// Not JSON, or JSON that does not match the schema (the message names the field).
    #[error("CDN manifest is not valid: {0}")]
    Syntax(#[from] serde_json::Error),
    /// A manifest written by an incompatible builder.
    #[error("CDN manifest has format version {found}, this reader understands version {expected}")]
    Version {
        /// The version in the file.
        found: u32,
        /// [`FORMAT_VERSION`].
        expected: u32,
    },
    /// An entry key that is not an absolute path under `public_path`.
    #[error("CDN manifest entry `{0}` is not a path under the manifest's public_path")]
    BadPath(String),
    /// A delta whose dictionary is not a SHA-256 in lower-case hex.
    #[error("CDN manifest entry `{path}` has a delta whose dictionary `{dictionary}` is not a lower-case hex SHA-256")]
    BadDictionary {
        /// The entry.
        path: String,
        /// The value found.
        dictionary: String,
    },
}

impl Manifest {
    /// An empty manifest for `public_path`.
    pub fn new(public_path: impl Into<String>) -> Self {
        Manifest {
            version: FORMAT_VERSION,
            public_path: public_path.into(),
            entries: BTreeMap::new(),
        }
    }

    /// Parses and checks a manifest: the version first (so an old reader says "version" rather
    /// than "unknown field"), then the schema and every key.
    pub fn from_json(bytes: &[u8]) -> Result<Self, ManifestError> {
        #[derive(Deserialize)]
        struct VersionOnly {
            version: u32,
        }
        let v: VersionOnly = serde_json::from_slice(bytes)?;
        if v.version != FORMAT_VERSION {
            return Err(ManifestError::Version {
                found: v.version,
                expected: FORMAT_VERSION,
            });
        }
        let m: Manifest = serde_json::from_slice(bytes)?;
        if let Some(bad) = m
            .entries
            .keys()
            .find(|k| !k.starts_with(&m.public_path) || k.len() == m.public_path.len())
        {
            return Err(ManifestError::BadPath(bad.clone()));
        }
        for (path, e) in &m.entries {
            if let Some(d) = e
                .deltas
                .iter()
                .find(|d| parse_hex32(&d.dictionary).is_none())
            {
                return Err(ManifestError::BadDictionary {
                    path: path.clone(),
                    dictionary: d.dictionary.clone(),
                });
            }
        }
        Ok(m)
    }

    /// Serialises with stable key order and indentation (byte-identical for equal manifests).
    pub fn to_json(&self) -> Vec<u8> {
        let mut out = serde_json::to_vec_pretty(self).expect("manifest serialises");
        out.push(b'\n');
        out
    }

    /// The entry published at `path` (an exact, already-normalised URL path).
    pub fn get(&self, path: &str) -> Option<&Entry> {
        self.entries.get(path)
    }
}

impl Entry {
    /// The strong ETag of the representation in `encoding` (`None` = identity).
    pub fn etag_for(&self, encoding: Option<Encoding>) -> Option<&str> {
        match encoding {
            None => Some(&self.etag),
            Some(e) => self.encodings.get(&e).map(|r| r.etag.as_str()),
        }
    }
}

/// Parses 64 lower-case hex digits into 32 bytes (a SHA-256 as the manifests spell it).
pub fn parse_hex32(hex: &str) -> Option<[u8; 32]> {
    let b = hex.as_bytes();
    if b.len() != 64 {
        return None;
    }
    let digit = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    };
    let mut out = [0u8; 32];
    for (i, pair) in b.chunks_exact(2).enumerate() {
        out[i] = digit(pair[0])? << 4 | digit(pair[1])?;
    }
    Some(out)
}

/// Percent-encodes a manifest key (a decoded URL path) for use in a URL: everything but the
/// unreserved characters, `/` and the sub-delimiters that are safe in a path. The builder uses it
/// for `manifest.json` values, the edge to ask the assets service for a file.
pub fn encode_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for &c in path.as_bytes() {
        if c.is_ascii_alphanumeric() || b"-._~/!$&'()*+,;=:@".contains(&c) {
            out.push(c as char);
        } else {
            out.push_str(&format!("%{c:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_encode_only_what_they_must() {
        assert_eq!(encode_path("/assets/a-1.css"), "/assets/a-1.css");
        assert_eq!(
            encode_path("/assets/my logo é.svg"),
            "/assets/my%20logo%20%C3%A9.svg"
        );
        assert_eq!(encode_path("/a?b#c%"), "/a%3Fb%23c%25");
    }

    fn sample() -> Manifest {
        let mut m = Manifest::new("/assets/");
        let mut encodings = BTreeMap::new();
        encodings.insert(
            Encoding::Brotli,
            Representation {
                size: 10,
                etag: "\"abc-br\"".into(),
            },
        );
        m.entries.insert(
            "/assets/app-0123456789abcdef.css".into(),
            Entry {
                logical_path: "app.css".into(),
                content_type: "text/css; charset=utf-8".into(),
                size: 20,
                etag: "\"abc\"".into(),
                integrity: "sha384-x".into(),
                immutable: true,
                encodings,
                deploy: "d1".into(),
                use_as_dictionary: Some("match=\"/assets/app-*.css\"".into()),
                deltas: vec![Delta {
                    encoding: DeltaEncoding::Zstd,
                    dictionary: "ab".repeat(32),
                    size: 5,
                    etag: "\"abc-dcz\"".into(),
                }],
            },
        );
        m
    }

    #[test]
    fn round_trips_through_json() {
        let m = sample();
        let back = Manifest::from_json(&m.to_json()).unwrap();
        assert_eq!(back, m);
        let e = back.get("/assets/app-0123456789abcdef.css").unwrap();
        assert_eq!(e.etag_for(Some(Encoding::Brotli)), Some("\"abc-br\""));
        assert_eq!(e.etag_for(Some(Encoding::Gzip)), None);
    }

    #[test]
    fn rejects_other_versions_by_name() {
        let err = Manifest::from_json(br#"{"version": 7, "entries": {}}"#).unwrap_err();
        assert!(err.to_string().contains("version 7"), "{err}");
        let err = Manifest::from_json(br#"{"version": 1, "entries": {}}"#).unwrap_err();
        assert!(err.to_string().contains("version 1"), "{err}");
    }

    #[test]
    fn rejects_unknown_fields_and_names_them() {
        let json = String::from_utf8(sample().to_json())
            .unwrap()
            .replace("\"immutable\"", "\"immutible\"");
        let err = Manifest::from_json(json.as_bytes()).unwrap_err();
        assert!(err.to_string().contains("immutible"), "{err}");
    }

    #[test]
    fn rejects_dictionaries_that_are_not_hex_sha256() {
        for bad in ["AB".repeat(32), "ab".repeat(31), "zz".repeat(32)] {
            let mut m = sample();
            m.entries.values_mut().next().unwrap().deltas[0].dictionary = bad.clone();
            let err = Manifest::from_json(&m.to_json()).unwrap_err().to_string();
            assert!(err.contains(&bad) && err.contains("app-0123"), "{err}");
        }
        assert_eq!(parse_hex32(&"0f".repeat(32)), Some([0x0f; 32]));
    }

    #[test]
    fn delta_paths_name_the_dictionary_and_the_coding() {
        let hex = "0123456789abcdef".repeat(4);
        assert_eq!(
            Delta::path_for("/assets/a-1.js", &hex, DeltaEncoding::Zstd),
            "/assets/a-1.js.0123456789abcdef.dcz"
        );
        assert_eq!(
            Delta::path_for("/assets/a-1.js", &hex, DeltaEncoding::Brotli),
            "/assets/a-1.js.0123456789abcdef.dcb"
        );
        assert_eq!(DeltaEncoding::Zstd.magic().len(), 8);
        assert_eq!(DeltaEncoding::Brotli.magic(), b"\xffDCB");
    }

    #[test]
    fn rejects_keys_outside_public_path() {
        let mut m = sample();
        let e = m.entries.values().next().unwrap().clone();
        m.entries.insert("/etc/passwd".into(), e);
        let err = Manifest::from_json(&m.to_json()).unwrap_err();
        assert!(err.to_string().contains("/etc/passwd"), "{err}");
    }
}
