//! The deploy history at the well-known path, for the next build (`asset-builder build
//! --history https://…`):
//!
//! - `GET /.well-known/asset-history/history.json`: the history file the builder wrote beside
//!   the index (`asset-history.json`), as stored;
//! - `GET /.well-known/asset-history/files/<stored path>`: the exact bytes of one stored file of
//!   the index (an entry, a `.br`/`.gz` sibling or a `dcz`/`dcb` delta), without content
//!   negotiation, so that the builder can check each against its recorded SHA-256.
//!
//! Only files the index lists are served; everything is `no-store` (the builder wants what is
//! deployed now, never a cached copy), and `no-transform`. `asset_history = false` turns the
//! path off (it then goes to the routes like any other).

use cdn_manifest::{Delta, DeltaEncoding, Encoding, EntryRef};
use http::header;
use http::{Method, StatusCode};

use super::{dictionary, Body, Plan};
use crate::path;

/// What a request under the well-known path asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// The history file.
    Index,
    /// A stored file: its decoded path inside the assets directory (under the public path).
    Stored(String),
    /// Anything else under the well-known path: 404.
    Unknown,
}

/// One way to read a stored path: the entry it belongs to and which of its representations it
/// is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reading {
    /// The entry's published path.
    pub entry: String,
    /// Which representation.
    pub representation: Representation,
}

/// A representation of an entry, as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Representation {
    /// The identity bytes (the entry's own path).
    Identity,
    /// A precompressed sibling (`.br`, `.gz`).
    Sibling(Encoding),
    /// A delta (`.<16 hex digits of the dictionary's SHA-256>.dcz|dcb`).
    Delta([u8; 8], DeltaEncoding),
}

/// Where the history file is in the assets directory: beside the index root `manifest`.
pub fn index_path(manifest: &str) -> String {
    let dir = manifest.rsplit_once('/').map_or("", |(d, _)| d);
    format!("{dir}/{}", cdn_manifest::HISTORY_FILE_NAME)
}

/// What the raw request path (`/.well-known/asset-history/…`, not decoded) asks for; `None` when
/// it is not under the well-known path.
pub fn target(raw_path: &str, public_path: &str) -> Option<Target> {
    let rest = raw_path.strip_prefix(cdn_manifest::HISTORY_WELL_KNOWN)?;
    Some(match rest {
        "history.json" => Target::Index,
        _ => match rest.strip_prefix("files") {
            Some(stored) if stored.starts_with('/') => match path::decode(stored) {
                Ok(p) if p.starts_with(public_path) && p.len() > public_path.len() => {
                    Target::Stored(p)
                }
                _ => Target::Unknown,
            },
            _ => Target::Unknown,
        },
    })
}

/// Every way to read the stored path `stored`, most literal first (the builder never stores two
/// files at one path, so at most one names a representation the index has).
pub fn readings(stored: &str) -> Vec<Reading> {
    let mut v = vec![Reading {
        entry: stored.to_string(),
        representation: Representation::Identity,
    }];
    for enc in Encoding::ALL {
        if let Some(entry) = stored.strip_suffix(enc.suffix()) {
            v.push(Reading {
                entry: entry.to_string(),
                representation: Representation::Sibling(enc),
            });
        }
    }
    for enc in DeltaEncoding::ALL {
        let Some(rest) = stored
            .strip_suffix(enc.token())
            .and_then(|r| r.strip_suffix('.'))
        else {
            continue;
        };
        let Some((entry, short)) = rest.rsplit_once('.') else {
            continue;
        };
        if let Some(prefix) = parse_hex8(short) {
            v.push(Reading {
                entry: entry.to_string(),
                representation: Representation::Delta(prefix, enc),
            });
        }
    }
    v
}

fn parse_hex8(s: &str) -> Option<[u8; 8]> {
    let padded = format!("{s:0<64}");
    (s.len() == 16)
        .then(|| cdn_manifest::parse_hex32(&padded))
        .flatten()
        .map(|full| full[..8].try_into().expect("8 of 32 bytes"))
}

/// The size of `representation` of `entry`, if the index has it.
pub fn size_of(entry: &EntryRef<'_>, representation: Representation) -> Option<u64> {
    match representation {
        Representation::Identity => Some(entry.size),
        Representation::Sibling(enc) => entry.representation(enc).map(|r| r.0),
        Representation::Delta(prefix, enc) => entry
            .deltas
            .iter()
            .find(|d| d.encoding == enc && d.dictionary[..8] == prefix)
            .map(|d| d.size),
    }
}

/// The common part of both answers: GET and HEAD only (`None` for another method).
fn base(method: &Method, content_type: &str) -> Option<Plan> {
    if method != Method::GET && method != Method::HEAD {
        return None;
    }
    let mut plan = Plan::new(StatusCode::OK);
    plan.set(header::CONTENT_TYPE, content_type);
    plan.set(header::CACHE_CONTROL, "no-store, no-transform");
    // Stored bytes as they are: the runtime must not encode them again.
    plan.precompressed = true;
    Some(plan)
}

fn not_allowed() -> Plan {
    let mut p = Plan::text(
        StatusCode::METHOD_NOT_ALLOWED,
        "405 Method Not Allowed\n",
        false,
    );
    p.set(header::ALLOW, "GET, HEAD");
    p
}

/// Serves the history file at `path` (see [`index_path`]).
pub fn index(method: &Method, path: &str) -> Plan {
    let Some(mut plan) = base(method, "application/json") else {
        return not_allowed();
    };
    if method == Method::GET {
        plan.body = Body::Unsized {
            path: path.to_string(),
        };
    }
    plan
}

/// Serves the stored file `stored` of `len` bytes, exactly as stored.
pub fn file(method: &Method, stored: &str, len: u64) -> Plan {
    let Some(mut plan) = base(method, "application/octet-stream") else {
        return not_allowed();
    };
    plan.set(header::CONTENT_LENGTH, &len.to_string());
    if method == Method::GET {
        plan.body = Body::File {
            path: stored.to_string(),
            range: None,
            len,
        };
    }
    plan
}

/// 404 for a well-known path that names nothing (or a history that is not there).
pub fn not_found(method: &Method) -> Plan {
    Plan::text(
        StatusCode::NOT_FOUND,
        "404 Not Found\n",
        method == Method::HEAD,
    )
}

/// The stored path of a representation (the inverse of [`readings`], for tests and tools).
pub fn stored_path(entry: &str, representation: Representation, dictionary: &[u8; 32]) -> String {
    match representation {
        Representation::Identity => entry.to_string(),
        Representation::Sibling(enc) => format!("{entry}{}", enc.suffix()),
        Representation::Delta(_, enc) => Delta::path_for(entry, &dictionary::hex(dictionary), enc),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cdn_manifest::{Entry, Manifest, Representation as Rep};

    #[test]
    fn targets() {
        let cases: &[(&str, Option<Target>)] = &[
            (
                "/.well-known/asset-history/history.json",
                Some(Target::Index),
            ),
            (
                "/.well-known/asset-history/files/assets/a%20b-1.js.br",
                Some(Target::Stored("/assets/a b-1.js.br".into())),
            ),
            (
                "/.well-known/asset-history/files/assets/",
                Some(Target::Unknown),
            ),
            (
                "/.well-known/asset-history/files/cdn-manifest.bin",
                Some(Target::Unknown),
            ),
            (
                "/.well-known/asset-history/files/assets/../cdn-manifest.bin",
                Some(Target::Unknown),
            ),
            (
                "/.well-known/asset-history/files/assets/%2e%2e/x",
                Some(Target::Unknown),
            ),
            (
                "/.well-known/asset-history/files/assets/a%2Fb",
                Some(Target::Unknown),
            ),
            (
                "/.well-known/asset-history/filesx/assets/a",
                Some(Target::Unknown),
            ),
            ("/.well-known/asset-history/", Some(Target::Unknown)),
            ("/.well-known/asset-history", None),
            ("/.well-known/security.txt", None),
            ("/assets/a.js", None),
        ];
        for (raw, want) in cases {
            assert_eq!(target(raw, "/assets/"), *want, "{raw}");
        }
        assert_eq!(index_path("/cdn-manifest.bin"), "/asset-history.json");
        assert_eq!(index_path("/x/cdn-manifest.bin"), "/x/asset-history.json");
    }

    #[test]
    fn stored_paths_read_back_to_their_representation() {
        let dict = [0xab; 32];
        let e = "/assets/app-0123456789abcdef.js";
        for rep in [
            Representation::Identity,
            Representation::Sibling(Encoding::Brotli),
            Representation::Sibling(Encoding::Gzip),
            Representation::Delta([0xab; 8], DeltaEncoding::Zstd),
            Representation::Delta([0xab; 8], DeltaEncoding::Brotli),
        ] {
            let stored = stored_path(e, rep, &dict);
            let found = readings(&stored);
            assert!(
                found.contains(&Reading {
                    entry: e.into(),
                    representation: rep
                }),
                "{stored}: {found:?}"
            );
        }
        // Not a delta: too short a prefix, not hex, no dot.
        for s in [
            "/a.js.abcd.dcz",
            "/a.js.0123456789abcdeg.dcz",
            "/a.js0123456789abcdef.dcz",
        ] {
            assert_eq!(readings(s).len(), 1, "{s}");
        }
    }

    #[test]
    fn plans_serve_exact_bytes_uncached() {
        let mut m = Manifest::new("/assets/");
        let mut encodings = std::collections::BTreeMap::new();
        encodings.insert(
            Encoding::Gzip,
            Rep {
                size: 5,
                etag: "\"g\"".into(),
            },
        );
        m.entries.insert(
            "/assets/a-1.js".into(),
            Entry {
                logical_path: "a.js".into(),
                content_type: "text/javascript; charset=utf-8".into(),
                size: 9,
                etag: "\"e\"".into(),
                integrity: "sha384-x".into(),
                immutable: true,
                encodings,
                deploy: "d".into(),
                use_as_dictionary: None,
                deltas: vec![cdn_manifest::Delta {
                    encoding: DeltaEncoding::Zstd,
                    dictionary: "cd".repeat(32),
                    size: 3,
                    etag: "\"z\"".into(),
                }],
            },
        );
        let idx = cdn_manifest::Index::from_bytes(cdn_manifest::index::encode(&m)).unwrap();
        let e = idx.get("/assets/a-1.js").unwrap().unwrap();
        assert_eq!(size_of(&e, Representation::Identity), Some(9));
        assert_eq!(
            size_of(&e, Representation::Sibling(Encoding::Gzip)),
            Some(5)
        );
        assert_eq!(size_of(&e, Representation::Sibling(Encoding::Brotli)), None);
        assert_eq!(
            size_of(&e, Representation::Delta([0xcd; 8], DeltaEncoding::Zstd)),
            Some(3)
        );
        assert_eq!(
            size_of(&e, Representation::Delta([0xcd; 8], DeltaEncoding::Brotli)),
            None
        );
        assert_eq!(
            size_of(&e, Representation::Delta([0xce; 8], DeltaEncoding::Zstd)),
            None
        );

        let p = file(&Method::GET, "/assets/a-1.js.gz", 5);
        assert_eq!(p.status, StatusCode::OK);
        assert_eq!(p.headers["content-length"], "5");
        assert_eq!(p.headers["content-type"], "application/octet-stream");
        assert_eq!(p.headers["cache-control"], "no-store, no-transform");
        assert!(p.headers.get("content-encoding").is_none());
        assert!(p.precompressed, "passed through untouched");
        assert!(matches!(
            p.body,
            Body::File {
                len: 5,
                range: None,
                ..
            }
        ));
        let head = file(&Method::HEAD, "/assets/a-1.js.gz", 5);
        assert_eq!((head.headers, head.body), (p.headers, Body::Empty));
        assert_eq!(
            file(&Method::POST, "/x", 1).status,
            StatusCode::METHOD_NOT_ALLOWED
        );
        let p = index(&Method::GET, "/asset-history.json");
        assert_eq!(
            p.body,
            Body::Unsized {
                path: "/asset-history.json".into()
            }
        );
        assert_eq!(p.headers["content-type"], "application/json");
        assert_eq!(not_found(&Method::GET).status, StatusCode::NOT_FOUND);
    }
}
