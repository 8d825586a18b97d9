//! The output tree: every path OUT will hold, each claimed by exactly one owner.
//!
//! Published files, their `.br`/`.gz` siblings, the manifests, the index and `.assetsignore`
//! all land in one directory, so a source file can collide with another's sibling
//! (`data.json.gz` beside `data.json`), with a manifest (`manifest.json` under
//! `--public-path /`), or a file with a directory (`x.js.gz` the file and `x.js.gz/` the
//! directory). Claiming every path here first makes each of those an error naming both owners,
//! so no output file is ever written twice.

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use cdn_manifest::{DeltaEncoding, Encoding};

use super::compress::Blob;
use crate::error::BuildError;

/// What puts a file at a path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Owner {
    /// A source file, by logical path.
    Source(String),
    /// A precompressed sibling of a source file.
    Sibling(String, Encoding),
    /// A dictionary-compressed delta of a source file.
    Delta(String, DeltaEncoding),
    /// A file the builder writes itself (manifests, index, `.assetsignore`).
    Builder(&'static str),
    /// A file a kept deploy needs, taken from the history: (the entry's published path, the
    /// deploy's id).
    Kept(String, String),
}

impl fmt::Display for Owner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Owner::Source(rel) => write!(f, "source file `{rel}`"),
            Owner::Sibling(rel, enc) => write!(f, "the {} sibling of `{rel}`", enc.token()),
            Owner::Delta(rel, enc) => write!(f, "a {} delta of `{rel}`", enc.token()),
            Owner::Builder(what) => f.write_str(what),
            Owner::Kept(path, deploy) => write!(f, "`{path}` of the kept deploy `{deploy}`"),
        }
    }
}

/// Where a file's bytes come from.
#[derive(Debug, Clone)]
pub enum Content {
    /// The final bytes of source file `i`.
    Source(usize),
    /// A compressed representation.
    Blob(Blob),
    /// Bytes the builder made (manifests, index).
    Bytes(Vec<u8>),
}

/// Paths relative to OUT → what is written there.
#[derive(Debug, Default)]
pub struct Tree {
    files: BTreeMap<String, (Owner, Content)>,
    /// Directory → the first owner of a file under it.
    dirs: HashMap<String, Owner>,
}

impl Tree {
    /// Claims `path` for `owner`. Fails, naming both owners, when the path (or a directory it
    /// needs, or a file under it) is already claimed.
    pub fn claim(
        &mut self,
        path: String,
        owner: Owner,
        content: Content,
    ) -> Result<(), BuildError> {
        let conflict = |first: &Owner, second: &Owner, path: &str| BuildError::OutputConflict {
            path: path.to_string(),
            first: first.to_string(),
            second: second.to_string(),
        };
        if let Some((first, _)) = self.files.get(&path) {
            return Err(conflict(first, &owner, &path));
        }
        if let Some(first) = self.dirs.get(&path) {
            return Err(conflict(first, &owner, &path));
        }
        let mut dir = path.as_str();
        while let Some((parent, _)) = dir.rsplit_once('/') {
            if let Some((first, _)) = self.files.get(parent) {
                return Err(conflict(first, &owner, parent));
            }
            dir = parent;
        }
        debug_assert!(self.blocked(&path).is_none());
        let mut dir = path.as_str();
        while let Some((parent, _)) = dir.rsplit_once('/') {
            self.dirs
                .entry(parent.to_string())
                .or_insert_with(|| owner.clone());
            dir = parent;
        }
        self.files.insert(path, (owner, content));
        Ok(())
    }

    /// What already claims `path`, a directory it needs or a file under it, if anything: what
    /// [`Tree::claim`] would fail on.
    pub fn blocked(&self, path: &str) -> Option<&Owner> {
        if let Some((first, _)) = self.files.get(path) {
            return Some(first);
        }
        if let Some(first) = self.dirs.get(path) {
            return Some(first);
        }
        let mut dir = path;
        while let Some((parent, _)) = dir.rsplit_once('/') {
            if let Some((first, _)) = self.files.get(parent) {
                return Some(first);
            }
            dir = parent;
        }
        None
    }

    /// Number of files.
    pub fn len(&self) -> usize {
        self.files.len()
    }

    /// True when nothing is claimed.
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// Every file, sorted by path.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Owner, &Content)> {
        self.files.iter().map(|(p, (o, c))| (p.as_str(), o, c))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn src(rel: &str) -> Owner {
        Owner::Source(rel.into())
    }

    #[test]
    fn a_path_is_claimed_once() {
        let mut t = Tree::default();
        t.claim("a/data.json".into(), src("data.json"), Content::Source(0))
            .unwrap();
        t.claim(
            "a/data.json.gz".into(),
            src("data.json.gz"),
            Content::Source(1),
        )
        .unwrap();
        let err = t
            .claim(
                "a/data.json.gz".into(),
                Owner::Sibling("data.json".into(), Encoding::Gzip),
                Content::Bytes(vec![]),
            )
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("`data.json.gz`") && err.contains("gzip sibling of `data.json`"),
            "{err}"
        );
        assert_eq!(t.len(), 2);
    }

    #[test]
    fn a_file_and_a_directory_cannot_share_a_path() {
        let mut t = Tree::default();
        t.claim(
            "x.js.gz/a.txt".into(),
            src("x.js.gz/a.txt"),
            Content::Source(0),
        )
        .unwrap();
        let err = t
            .claim(
                "x.js.gz".into(),
                Owner::Sibling("x.js".into(), Encoding::Gzip),
                Content::Source(1),
            )
            .unwrap_err();
        assert!(err.to_string().contains("x.js.gz/a.txt"), "{err}");

        let mut t = Tree::default();
        t.claim(
            "manifest.json".into(),
            Owner::Builder("Symfony's manifest"),
            Content::Source(0),
        )
        .unwrap();
        let err = t
            .claim(
                "manifest.json/a.txt".into(),
                src("manifest.json/a.txt"),
                Content::Source(1),
            )
            .unwrap_err();
        assert!(err.to_string().contains("Symfony's manifest"), "{err}");
    }
}
