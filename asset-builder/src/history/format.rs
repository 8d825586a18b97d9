//! The history file, `asset-history.json` (format version 1): every deploy OUT holds and every
//! file they need, with its SHA-256.
//!
//! ```json
//! {
//!   "format": "asset-history",
//!   "version": 1,
//!   "public_path": "/assets/",
//!   "deploys": [
//!     { "id": "20261127T120000Z", "date": "2026-11-27T12:00:00Z", "files": 6, "bytes": 51234,
//!       "entries": ["/assets/app-389bb1c455f8b58e.js", "…"] }
//!   ],
//!   "entries": { "/assets/app-389bb1c455f8b58e.js": { …a CDN manifest entry… } },
//!   "files": {
//!     "/assets/app-389bb1c455f8b58e.js":    { "sha256": "…", "size": 40960 },
//!     "/assets/app-389bb1c455f8b58e.js.br": { "sha256": "…", "size": 9910, "codec": "br8-q11-w16-Text" }
//!   },
//!   "no_gain": { "<sha256 of some bytes>": ["gz1-l9"] }
//! }
//! ```
//!
//! Deploys are newest first; the first is the deploy the output was built as. `entries` holds
//! every entry the output serves (the CDN manifest's, format 2), `files` every stored file under
//! the public path (each entry, its `.br`/`.gz` siblings and its deltas) with the settings that
//! produced it, and `no_gain` the compressions of some bytes that were tried and not worth keeping,
//! so that no build tries them again. [`History::from_json`] checks all of it — the version
//! first, then the schema (unknown fields are refused), then that every path is a plain path
//! under the public path, that every file an entry needs is listed with a SHA-256 that agrees
//! with the entry's ETag and sizes, that deploy ids are unique and dates are newest first — so
//! a corrupt or hostile history is an error naming what is wrong, never a build that writes
//! outside OUT or lacks a file it claims.

use std::collections::{BTreeMap, HashSet};

use cdn_manifest::{Delta, Encoding, Entry};
use serde::{Deserialize, Serialize};

/// The history file's name in OUT (and in a history directory).
pub const FILE_NAME: &str = cdn_manifest::HISTORY_FILE_NAME;
/// The value of `format`.
pub const FORMAT: &str = "asset-history";
/// The format version this builder reads and writes.
pub const VERSION: u32 = 1;

/// The whole history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct History {
    /// Always [`FORMAT`].
    pub format: String,
    /// Always [`VERSION`].
    pub version: u32,
    /// The public path of every entry, with leading and trailing `/`.
    pub public_path: String,
    /// The deploys the output holds, newest first.
    pub deploys: Vec<Deploy>,
    /// Published URL path → entry, for every entry the output serves.
    pub entries: BTreeMap<String, Entry>,
    /// Stored path (a URL path under the public path) → its bytes' facts.
    pub files: BTreeMap<String, StoredFile>,
    /// SHA-256 of some bytes (hex) → settings tags whose output was not worth keeping.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub no_gain: BTreeMap<String, Vec<String>>,
}

/// One deploy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Deploy {
    /// Its id (`--deploy-id`, by default its date as `YYYYMMDDTHHMMSSZ`).
    pub id: String,
    /// When it was built, RFC 3339 in UTC (`2026-11-27T12:00:00Z`).
    pub date: String,
    /// Stored files its entries need (each entry, its siblings and deltas).
    pub files: u64,
    /// Their bytes.
    pub bytes: u64,
    /// The published paths of its entries, sorted.
    pub entries: Vec<String>,
}

/// One stored file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoredFile {
    /// SHA-256 of its bytes, lower-case hex.
    pub sha256: String,
    /// Its size in bytes.
    pub size: u64,
    /// The settings that produced it (precompressed siblings and deltas).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub codec: Option<String>,
}

/// Why a history file is refused. Each names the field or path at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormatError {
    /// Not JSON, or JSON that does not match the schema (serde's message names the field).
    #[error("not a valid history file: {0}")]
    Syntax(String),
    /// Not an asset-builder history.
    #[error("`format` is `{0}`, not `asset-history`")]
    Format(String),
    /// Written by an incompatible builder.
    #[error("history format version {found}; this builder reads version {expected}")]
    Version {
        /// The version in the file.
        found: u32,
        /// [`VERSION`].
        expected: u32,
    },
    /// Something inconsistent, named.
    #[error("{0}")]
    Invalid(String),
}

impl History {
    /// An empty history for `public_path`.
    pub fn new(public_path: &str) -> Self {
        History {
            format: FORMAT.into(),
            version: VERSION,
            public_path: public_path.into(),
            deploys: Vec::new(),
            entries: BTreeMap::new(),
            files: BTreeMap::new(),
            no_gain: BTreeMap::new(),
        }
    }

    /// Parses and checks a history file (see the module documentation for what is checked).
    pub fn from_json(bytes: &[u8]) -> Result<Self, FormatError> {
        #[derive(Deserialize)]
        struct Head {
            format: Option<String>,
            version: Option<u32>,
        }
        let head: Head =
            serde_json::from_slice(bytes).map_err(|e| FormatError::Syntax(e.to_string()))?;
        match head.format.as_deref() {
            Some(FORMAT) => {}
            Some(other) => return Err(FormatError::Format(other.chars().take(60).collect())),
            None => return Err(FormatError::Syntax("missing field `format`".into())),
        }
        match head.version {
            Some(VERSION) => {}
            Some(found) => {
                return Err(FormatError::Version {
                    found,
                    expected: VERSION,
                })
            }
            None => return Err(FormatError::Syntax("missing field `version`".into())),
        }
        let h: History =
            serde_json::from_slice(bytes).map_err(|e| FormatError::Syntax(e.to_string()))?;
        h.check()?;
        Ok(h)
    }

    /// Serialises with stable key order and indentation.
    pub fn to_json(&self) -> Vec<u8> {
        let mut out = serde_json::to_vec_pretty(self).expect("history serialises");
        out.push(b'\n');
        out
    }

    /// The stored files entry `path` needs: the entry, its siblings and its deltas.
    pub fn stored_paths(path: &str, e: &Entry) -> Vec<String> {
        let mut v = vec![path.to_string()];
        for enc in e.encodings.keys() {
            v.push(format!("{path}{}", enc.suffix()));
        }
        for d in &e.deltas {
            v.push(Delta::path_for(path, &d.dictionary, d.encoding));
        }
        v
    }

    fn check(&self) -> Result<(), FormatError> {
        let bad = |s: String| Err(FormatError::Invalid(s));
        let p = &self.public_path;
        if p != "/" && (!p.starts_with('/') || !p.ends_with('/') || !plain_path(p)) {
            return bad(format!(
                "public_path `{p}` is not a plain path like /assets/"
            ));
        }
        let mut ids = HashSet::new();
        let mut newer: Option<(u64, &str)> = None;
        for d in &self.deploys {
            if !valid_deploy_id(&d.id) {
                return bad(format!(
                    "deploy id `{}` is not 1-64 letters, digits, `.`, `_` or `-`",
                    d.id.chars().take(80).collect::<String>()
                ));
            }
            if !ids.insert(d.id.as_str()) {
                return bad(format!("deploy `{}` is listed twice", d.id));
            }
            let Some(t) = super::dates::parse(&d.date) else {
                return bad(format!(
                    "deploy `{}` has date `{}`, not YYYY-MM-DDTHH:MM:SSZ",
                    d.id, d.date
                ));
            };
            if let Some((later, id)) = newer {
                if t > later {
                    return bad(format!(
                        "deploys are not newest first: `{}` ({}) is listed after `{id}`",
                        d.id, d.date
                    ));
                }
            }
            newer = Some((t, &d.id));
            for path in &d.entries {
                if !self.entries.contains_key(path) {
                    return bad(format!(
                        "deploy `{}` lists `{path}`, which has no entry",
                        d.id
                    ));
                }
            }
        }
        for path in self.files.keys() {
            if !self.under_public_path(path) {
                return bad(format!(
                    "stored file `{path}` is not a plain path under the public path `{p}`"
                ));
            }
        }
        for (path, f) in &self.files {
            if cdn_manifest::parse_hex32(&f.sha256).is_none() {
                return bad(format!(
                    "stored file `{path}` has sha256 `{}`, not 64 lower-case hex digits",
                    f.sha256
                ));
            }
            if f.size > crate::scan::MAX_FILE_SIZE {
                return bad(format!(
                    "stored file `{path}` is {} bytes, over the {}-byte limit",
                    f.size,
                    crate::scan::MAX_FILE_SIZE
                ));
            }
        }
        for sha in self.no_gain.keys() {
            if cdn_manifest::parse_hex32(sha).is_none() {
                return bad(format!("no_gain key `{sha}` is not a hex SHA-256"));
            }
        }
        for (path, e) in &self.entries {
            if !self.under_public_path(path) {
                return bad(format!(
                    "entry `{path}` is not a plain path under the public path `{p}`"
                ));
            }
            let file = |stored: &str| {
                self.files.get(stored).ok_or_else(|| {
                    FormatError::Invalid(format!(
                        "entry `{path}` needs `{stored}`, which is not among the stored files"
                    ))
                })
            };
            entry_fields(path, e)?;
            let identity = file(path)?;
            if identity.size != e.size || format!("\"{}\"", &identity.sha256[..32]) != e.etag {
                return bad(format!(
                    "entry `{path}`: its size or ETag does not match the stored file's"
                ));
            }
            for (enc, rep) in &e.encodings {
                let stored = format!("{path}{}", enc.suffix());
                if file(&stored)?.size != rep.size {
                    return bad(format!(
                        "entry `{path}`: the size of `{stored}` does not match the stored file's"
                    ));
                }
            }
            for d in &e.deltas {
                if cdn_manifest::parse_hex32(&d.dictionary).is_none() {
                    return bad(format!(
                        "entry `{path}` has a delta whose dictionary is not a hex SHA-256"
                    ));
                }
                let stored = Delta::path_for(path, &d.dictionary, d.encoding);
                if file(&stored)?.size != d.size {
                    return bad(format!(
                        "entry `{path}`: the size of `{stored}` does not match the stored file's"
                    ));
                }
            }
        }
        Ok(())
    }

    fn under_public_path(&self, path: &str) -> bool {
        path.len() > self.public_path.len()
            && path.starts_with(&self.public_path)
            && plain_path(path)
    }

    /// The sibling of `path` in `enc`, if the history stores one made with settings `tag`.
    pub fn sibling(&self, path: &str, enc: Encoding, tag: &str) -> Option<(String, &StoredFile)> {
        let stored = format!("{path}{}", enc.suffix());
        self.files
            .get(&stored)
            .filter(|f| f.codec.as_deref() == Some(tag))
            .map(|f| (stored, f))
    }
}

/// Checks what an entry carries into the manifests and, from there, into response headers and
/// Symfony's `manifest.json`: a hostile history must not publish a header with a line break.
fn entry_fields(path: &str, e: &Entry) -> Result<(), FormatError> {
    let bad = |what: &str, v: &str| {
        let v: String = v.chars().take(80).collect();
        Err(FormatError::Invalid(format!(
            "entry `{path}` has {what} `{}`",
            v.escape_debug()
        )))
    };
    let field = |v: &str| !v.is_empty() && v.bytes().all(|b| (0x20..0x7f).contains(&b));
    if !field(&e.content_type) || !e.content_type.contains('/') {
        return bad("a content_type that is not a media type", &e.content_type);
    }
    if let Some(u) = e.use_as_dictionary.as_deref().filter(|u| !field(u)) {
        return bad("a use_as_dictionary that is not a header value", u);
    }
    let sri = ["sha256-", "sha384-", "sha512-"]
        .iter()
        .find_map(|a| e.integrity.strip_prefix(a))
        .is_some_and(|b| {
            !b.is_empty()
                && b.bytes()
                    .all(|c| c.is_ascii_alphanumeric() || b"+/=".contains(&c))
        });
    if !sri {
        return bad(
            "an integrity that is not sha256/384/512-<base64>",
            &e.integrity,
        );
    }
    let lp = &e.logical_path;
    if lp.starts_with('/') || !plain_path(lp) {
        return bad("a logical_path that is not a plain relative path", lp);
    }
    if !valid_deploy_id(&e.deploy) {
        return bad("a deploy that is not a deploy id", &e.deploy);
    }
    Ok(())
}

/// A `/`-separated URL path with no empty, `.` or `..` segment (but the leading and trailing
/// `/`), and no control character, backslash or NUL: safe to join under a directory.
pub fn plain_path(p: &str) -> bool {
    let inner = p.strip_prefix('/').unwrap_or(p);
    let inner = inner.strip_suffix('/').unwrap_or(inner);
    !inner.is_empty()
        && !p.chars().any(|c| c.is_control() || c == '\\')
        && inner
            .split('/')
            .all(|s| !s.is_empty() && s != "." && s != "..")
}

/// A deploy id: 1–64 ASCII letters, digits, `.`, `_` or `-`.
pub fn valid_deploy_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || b"._-".contains(&c))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sha(c: char) -> String {
        c.to_string().repeat(64)
    }

    pub(crate) fn sample() -> History {
        let mut h = History::new("/assets/");
        let path = "/assets/app-0123456789abcdef.js";
        h.files.insert(
            path.into(),
            StoredFile {
                sha256: sha('a'),
                size: 10,
                codec: None,
            },
        );
        h.files.insert(
            format!("{path}.br"),
            StoredFile {
                sha256: sha('b'),
                size: 4,
                codec: Some("br8".into()),
            },
        );
        let mut encodings = BTreeMap::new();
        encodings.insert(
            Encoding::Brotli,
            cdn_manifest::Representation {
                size: 4,
                etag: "\"x\"".into(),
            },
        );
        h.entries.insert(
            path.into(),
            Entry {
                logical_path: "app.js".into(),
                content_type: "text/javascript; charset=utf-8".into(),
                size: 10,
                etag: format!("\"{}\"", &sha('a')[..32]),
                integrity: "sha384-x".into(),
                immutable: true,
                encodings,
                deploy: "d2".into(),
                use_as_dictionary: None,
                deltas: Vec::new(),
            },
        );
        for (id, date) in [
            ("d2", "2026-11-02T00:00:00Z"),
            ("d1", "2026-11-01T00:00:00Z"),
        ] {
            h.deploys.push(Deploy {
                id: id.into(),
                date: date.into(),
                files: 2,
                bytes: 14,
                entries: vec![path.into()],
            });
        }
        h
    }

    #[test]
    fn round_trips() {
        let h = sample();
        assert_eq!(History::from_json(&h.to_json()).unwrap(), h);
    }

    #[test]
    fn refuses_what_is_wrong_naming_it() {
        type Edit = fn(&mut History);
        let cases: &[(&str, Edit)] = &[
            ("not a plain path", |h| h.public_path = "/a/../b/".into()),
            ("listed twice", |h| h.deploys[1].id = "d2".into()),
            ("not 1-64", |h| h.deploys[0].id = "a b".into()),
            ("not YYYY", |h| h.deploys[0].date = "yesterday".into()),
            ("not newest first", |h| h.deploys.reverse()),
            ("which has no entry", |h| {
                h.deploys[0].entries.push("/assets/x".into())
            }),
            ("`/assets/../x`", |h| {
                h.files.insert(
                    "/assets/../x".into(),
                    StoredFile {
                        sha256: sha('c'),
                        size: 1,
                        codec: None,
                    },
                );
            }),
            ("not 64 lower-case", |h| {
                h.files.values_mut().next().unwrap().sha256 = "A".repeat(64)
            }),
            ("does not match the stored file", |h| {
                h.entries.values_mut().next().unwrap().size = 11
            }),
            ("which is not among the stored files", |h| {
                h.files.retain(|k, _| !k.ends_with(".br"))
            }),
            ("the size of", |h| {
                h.files
                    .iter_mut()
                    .find(|(k, _)| k.ends_with(".br"))
                    .unwrap()
                    .1
                    .size = 5
            }),
            ("over the", |h| {
                h.files.values_mut().next().unwrap().size = u64::MAX
            }),
        ];
        for (want, edit) in cases {
            let mut h = sample();
            edit(&mut h);
            let err = History::from_json(&h.to_json()).unwrap_err().to_string();
            assert!(err.contains(want), "want `{want}` in: {err}");
        }
    }

    #[test]
    fn refuses_other_versions_formats_and_unknown_fields() {
        let json = String::from_utf8(sample().to_json()).unwrap();
        let v2 = json.replace("\"version\": 1", "\"version\": 2");
        assert!(matches!(
            History::from_json(v2.as_bytes()),
            Err(FormatError::Version { found: 2, .. })
        ));
        let other = json.replace("\"asset-history\"", "\"something\"");
        assert!(History::from_json(other.as_bytes())
            .unwrap_err()
            .to_string()
            .contains("something"));
        let unknown = json.replace("\"bytes\"", "\"bites\"");
        assert!(History::from_json(unknown.as_bytes())
            .unwrap_err()
            .to_string()
            .contains("bites"));
        for cut in [0, 1, json.len() / 2, json.len() - 2] {
            assert!(
                History::from_json(&json.as_bytes()[..cut]).is_err(),
                "{cut}"
            );
        }
    }

    #[test]
    fn plain_paths_and_ids() {
        for ok in ["/assets/a.js", "/a/", "/assets/é b.css"] {
            assert!(plain_path(ok), "{ok}");
        }
        for bad in [
            "/", "//a", "/a//b", "/a/./b", "/a/../b", "/a\\b", "/a\u{0}b", "/..",
        ] {
            assert!(!plain_path(bad), "{bad}");
        }
        assert!(valid_deploy_id("20261127T120000Z"));
        assert!(valid_deploy_id("v1.2_3-rc"));
        for bad in ["", "a b", "a/b", &"x".repeat(65), "é"] {
            assert!(!valid_deploy_id(bad), "{bad}");
        }
    }
}
