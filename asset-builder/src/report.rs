//! What a build reports: progress while it runs, a summary when it is done.

use serde::Serialize;

use crate::error::Warning;

/// The stages of a build, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Reading and hashing the sources (units: files).
    Read,
    /// Compressing what the cache did not have (units: input bytes).
    Compress,
    /// Writing the output tree (units: files).
    Write,
}

/// Receives progress. Called from worker threads, so it must be `Sync`.
pub trait Progress: Sync {
    /// A phase starts with `total` units of work.
    fn start(&self, _phase: Phase, _total: u64) {}
    /// `n` more units of the current phase are done.
    fn advance(&self, _n: u64) {}
}

/// Progress that goes nowhere.
pub struct NoProgress;
impl Progress for NoProgress {}

/// Byte totals over every published file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Totals {
    /// Identity bytes.
    pub identity: u64,
    /// What a client accepting brotli downloads (the `.br` sibling where one exists).
    pub br: u64,
    /// What a client accepting only gzip downloads.
    pub gzip: u64,
}

/// The summary of a successful build.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    /// Source files published.
    pub files: usize,
    /// Files in the output directory (published files, siblings and manifests).
    pub output_files: usize,
    /// `.br` siblings written.
    pub brotli_files: usize,
    /// `.gz` siblings written.
    pub gzip_files: usize,
    /// Byte totals.
    pub bytes: Totals,
    /// Compressions reused from the cache.
    pub cache_hits: usize,
    /// Compressions computed in this build.
    pub cache_misses: usize,
    /// Wall time of the build in milliseconds.
    pub duration_ms: u64,
    /// Everything worth a look that did not stop the build.
    pub warnings: Vec<Warning>,
}
