//! Stage 1, read: every source file's bytes and their SHA-256.

use rayon::prelude::*;

use crate::error::BuildError;
use crate::fingerprint;
use crate::report::{Phase, Progress};
use crate::scan::SourceFile;

/// The source tree in memory, indexed like the scan's file list (sorted by logical path).
#[derive(Debug)]
pub struct Sources {
    /// The files, sorted by logical path.
    pub files: Vec<SourceFile>,
    /// Each file's bytes.
    pub bytes: Vec<Vec<u8>>,
    /// Each file's SHA-256.
    pub digests: Vec<[u8; 32]>,
}

impl Sources {
    /// Number of files.
    pub fn len(&self) -> usize {
        self.files.len()
    }

    /// True when there is no file (a build never gets here with none).
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// The logical path of file `i`.
    pub fn rel(&self, i: usize) -> &str {
        &self.files[i].rel
    }
}

/// Reads and hashes every file; an unreadable one is an error naming it.
pub fn read(files: Vec<SourceFile>, progress: &dyn Progress) -> Result<Sources, BuildError> {
    progress.start(Phase::Read, files.len() as u64);
    let read: Vec<(Vec<u8>, [u8; 32])> = files
        .par_iter()
        .map(|f| {
            let bytes = std::fs::read(&f.abs).map_err(|e| BuildError::io("read", &f.abs, e))?;
            if bytes.len() as u64 > crate::scan::MAX_FILE_SIZE {
                // Grown since the scan looked at it.
                return Err(BuildError::TooLarge {
                    path: f.abs.clone(),
                    size: bytes.len() as u64,
                    limit: crate::scan::MAX_FILE_SIZE,
                });
            }
            let digest = fingerprint::sha256(&bytes);
            progress.advance(1);
            Ok((bytes, digest))
        })
        .collect::<Result<_, BuildError>>()?;
    let (bytes, digests) = read.into_iter().unzip();
    Ok(Sources {
        files,
        bytes,
        digests,
    })
}
