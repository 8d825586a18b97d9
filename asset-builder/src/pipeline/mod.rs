//! The build, as named stages over typed intermediates:
//!
//! ```text
//! scan SRC ─▶ read ─▶ resolve ─▶ fingerprint ─▶ compress ─▶ assemble ─▶ write
//!   files    Sources  Resolved    Fingerprinted  Compressed  Assembled   OUT swapped in
//! ```
//!
//! - [`read`]: every source's bytes and SHA-256.
//! - [`resolve`]: the references in CSS/JS, each resolved to a file of the tree (or reported).
//! - [`fingerprint`]: dependencies first, each file's final bytes and published name.
//! - [`compress`]: `.br`/`.gz` representations, from the cache or computed.
//! - [`assemble`]: both manifests, the binary index and the output tree, in which every path is
//!   claimed once (two things that would be written to one path are an error naming both).
//! - [`write`]: the tree written aside and swapped in as OUT.
//!
//! Each stage takes what the previous ones produced and nothing else; the work runs in a thread
//! pool of the build's own ([`Options::jobs`]), never the process-global one.

pub mod assemble;
pub mod compress;
pub mod fingerprint;
pub mod read;
pub mod resolve;
pub mod tree;
pub mod write;

use std::time::Instant;

use crate::cache::Cache;
use crate::error::{BuildError, Warning};
use crate::options::Options;
use crate::output::Staging;
use crate::report::{Progress, Report};
use crate::scan;

/// The most files a Workers free-plan deployment may upload.
pub const MAX_FILES: usize = 20_000;

/// Runs a build. On error, OUT is exactly as it was.
pub fn build(opts: &Options, progress: &dyn Progress) -> Result<Report, BuildError> {
    opts.validate()?;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(opts.jobs.unwrap_or(0))
        .thread_name(|i| format!("asset-builder-{i}"))
        .build()
        .map_err(|e| BuildError::BadOption {
            option: "--jobs",
            reason: format!("cannot start the worker threads: {e}"),
        })?;
    pool.install(|| run(opts, progress))
}

fn run(opts: &Options, progress: &dyn Progress) -> Result<Report, BuildError> {
    let started = Instant::now();
    let (files, mut warnings) = scan::scan(&opts.src)?;
    let staging = Staging::create(&opts.out)?;
    let cache = Cache::open(opts.cache_dir.as_deref())?;
    let plain = opts.no_fingerprint_matcher()?;

    let sources = read::read(files, progress)?;
    let resolved = resolve::resolve(&sources, opts.strict, &mut warnings)?;
    let fingerprinted =
        fingerprint::fingerprint(&sources, &resolved, plain.as_ref(), &mut warnings)?;
    let compressed = compress::compress(&sources, &fingerprinted, &cache, progress)?;
    let assembled = assemble::assemble(opts, &sources, &fingerprinted, &compressed)?;
    let output_files = assembled.tree.len();
    if output_files > MAX_FILES {
        warnings.push(Warning::TooManyFiles {
            count: output_files,
            limit: MAX_FILES,
        });
    }
    write::write(staging, &assembled.tree, &sources, &fingerprinted, progress)?;

    for path in &compressed.used {
        cache.touch(path);
    }
    cache.prune(&compressed.used);
    Ok(Report {
        files: sources.len(),
        output_files,
        brotli_files: assembled.brotli_files,
        gzip_files: assembled.gzip_files,
        bytes: assembled.totals,
        cache_hits: compressed.hits,
        cache_misses: compressed.misses,
        duration_ms: started.elapsed().as_millis() as u64,
        warnings,
    })
}

/// The last segment of a `/`-separated path.
pub(crate) fn file_name(rel: &str) -> &str {
    rel.rsplit('/').next().unwrap_or(rel)
}
