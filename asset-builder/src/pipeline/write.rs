//! Stage 6, write: the output tree written into the staging directory and swapped in as OUT.

use rayon::prelude::*;

use super::compress::Blob;
use super::fingerprint::Fingerprinted;
use super::read::Sources;
use super::tree::{Content, Tree};
use crate::error::BuildError;
use crate::output::Staging;
use crate::report::{Phase, Progress};

/// Writes every file of `tree` and commits: OUT is replaced only if all of it was written.
pub fn write(
    staging: Staging,
    tree: &Tree,
    sources: &Sources,
    fp: &Fingerprinted,
    progress: &dyn Progress,
) -> Result<(), BuildError> {
    progress.start(Phase::Write, tree.len() as u64);
    let files: Vec<_> = tree.iter().collect();
    files.par_iter().try_for_each(|&(path, _, content)| {
        progress.advance(1);
        match content {
            Content::Source(i) => staging.write(path, fp.final_bytes(sources, *i)),
            Content::Blob(Blob::Memory(bytes)) => staging.write(path, bytes),
            Content::Blob(Blob::Cached(from) | Blob::History(from)) => staging.link(path, from),
            Content::Bytes(bytes) => staging.write(path, bytes),
        }
    })?;
    staging.commit()
}
