//! Stage 3, fingerprint: dependencies first, each file's final bytes (references rewritten to
//! the names of what they point at) and the name it is published under.
//!
//! A file's name derives from its final bytes, which contain its dependencies' names, so files
//! are processed in dependency order. Files in a reference cycle cannot each come after the
//! others: each member's name derives from the contents of the whole cycle instead, and a
//! warning names them.

use globset::GlobSet;
use sha2::{Digest, Sha256};

use super::file_name;
use super::read::Sources;
use super::resolve::{Edit, Resolved};
use crate::error::{BuildError, Warning};
use crate::fingerprint::{fingerprinted_name, name_hash, sha256};
use crate::graph;
use crate::rewrite;

/// Final bytes and published names, indexed like [`Sources`].
#[derive(Debug)]
pub struct Fingerprinted {
    /// Published path of each file, relative to the public path.
    pub published: Vec<String>,
    /// Rewritten bytes, for files that had references (`None`: the source bytes are final).
    pub rewritten: Vec<Option<Vec<u8>>>,
    /// SHA-256 of each file's final bytes.
    pub digests: Vec<[u8; 32]>,
    /// Whether each published name carries a content digest (cache forever).
    pub immutable: Vec<bool>,
}

impl Fingerprinted {
    /// The bytes file `i` is published with.
    pub fn final_bytes<'a>(&'a self, sources: &'a Sources, i: usize) -> &'a [u8] {
        self.rewritten[i].as_deref().unwrap_or(&sources.bytes[i])
    }
}

/// Rewrites and names every file, dependencies first.
pub fn fingerprint(
    sources: &Sources,
    resolved: &Resolved,
    plain: Option<&GlobSet>,
    warnings: &mut Vec<Warning>,
) -> Result<Fingerprinted, BuildError> {
    let n = sources.len();
    let keeps_name: Vec<bool> = (0..n)
        .map(|i| resolved.predigested[i] || plain.is_some_and(|g| g.is_match(sources.rel(i))))
        .collect();
    let name_for = |i: usize, digest: &[u8; 32]| -> String {
        let rel = sources.rel(i);
        if keeps_name[i] {
            return rel.to_string();
        }
        let new = fingerprinted_name(file_name(rel), &name_hash(digest));
        match rel.rsplit_once('/') {
            Some((dir, _)) => format!("{dir}/{new}"),
            None => new,
        }
    };
    let edges = resolved.edges();
    let mut published: Vec<String> = vec![String::new(); n];
    let mut rewritten: Vec<Option<Vec<u8>>> = (0..n).map(|_| None).collect();
    let mut digests = sources.digests.clone();
    for comp in graph::components(n, &edges) {
        let cyclic = comp.len() > 1 || comp.iter().any(|&i| edges[i].contains(&i));
        if !cyclic {
            let i = comp[0];
            if !resolved.edits[i].is_empty() {
                let bytes = apply_edits(sources, i, &resolved.edits[i], &published)?;
                digests[i] = sha256(&bytes);
                rewritten[i] = Some(bytes);
            }
            published[i] = name_for(i, &digests[i]);
            continue;
        }
        warnings.push(Warning::ReferenceCycle {
            files: comp.iter().map(|&i| sources.rel(i).to_string()).collect(),
        });
        let mut key = Sha256::new();
        for &i in &comp {
            key.update(sources.rel(i).as_bytes());
            key.update(sources.digests[i]);
            for e in resolved.edits[i]
                .iter()
                .filter(|e| !comp.contains(&e.target))
            {
                key.update(published[e.target].as_bytes());
            }
        }
        let key = key.finalize();
        for &i in &comp {
            let member: [u8; 32] = Sha256::new()
                .chain_update(key)
                .chain_update(sources.rel(i).as_bytes())
                .finalize()
                .into();
            published[i] = name_for(i, &member);
        }
        for &i in &comp {
            let bytes = apply_edits(sources, i, &resolved.edits[i], &published)?;
            digests[i] = sha256(&bytes);
            rewritten[i] = Some(bytes);
        }
    }
    let immutable = (0..n)
        .map(|i| resolved.predigested[i] || !keeps_name[i])
        .collect();
    Ok(Fingerprinted {
        published,
        rewritten,
        digests,
        immutable,
    })
}

/// File `i`'s bytes with each reference naming its target's published file.
fn apply_edits(
    sources: &Sources,
    i: usize,
    edits: &[Edit],
    published: &[String],
) -> Result<Vec<u8>, BuildError> {
    let replacements: Vec<_> = edits
        .iter()
        .map(|e| {
            let text = e.file_ref.rewrite(&e.spec, file_name(&published[e.target]));
            (e.span.clone(), text)
        })
        .collect();
    rewrite::apply(&sources.bytes[i], &replacements).map_err(|bad| BuildError::Rewrite {
        file: sources.rel(i).to_string(),
        span: bad.span,
    })
}
