//! What a build reports: progress while it runs, a summary when it is done.

use serde::Serialize;

use crate::error::Warning;

/// The stages of a build, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Reading and hashing the sources (units: files).
    Read,
    /// Fetching and verifying the files kept from the deploy history (units: files).
    History,
    /// Compressing what the cache did not have (units: input bytes).
    Compress,
    /// Computing deltas against earlier versions (units: input bytes).
    Deltas,
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

/// One deploy in the output: the stored files its entries need, and how many of them no newer
/// deploy needs (what keeping it costs).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DeployFiles {
    /// The deploy's id.
    pub id: String,
    /// Stored files (entries, siblings, deltas) it needs.
    pub files: usize,
    /// Of those, the ones no newer deploy needs.
    pub not_in_newer: usize,
}

/// A previous deploy the build did not keep.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DroppedDeploy {
    /// Its id.
    pub id: String,
    /// Why.
    pub why: crate::history::Dropped,
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
    /// Compressions reused from the deploy history.
    pub history_hits: usize,
    /// This build's deploy id.
    pub deploy: String,
    /// Every deploy the output holds, newest (this build's) first, with its file counts.
    pub deploys: Vec<DeployFiles>,
    /// Previous deploys not kept.
    pub dropped: Vec<DroppedDeploy>,
    /// Entries of kept deploys in the output (besides this build's files).
    pub kept_entries: usize,
    /// Files taken from the history (fetched or read, and verified).
    pub carried_files: usize,
    /// Deltas published for this build's files.
    pub delta_files: usize,
    /// Deltas reused from the cache or the history.
    pub delta_hits: usize,
    /// Deltas computed in this build (kept or not).
    pub delta_computed: usize,
    /// Wall time of the build in milliseconds.
    pub duration_ms: u64,
    /// Everything worth a look that did not stop the build.
    pub warnings: Vec<Warning>,
}
