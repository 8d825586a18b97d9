//! The build, as named stages over typed intermediates:
//!
//! ```text
//! scan SRC ─▶ read ─▶ resolve ─▶ fingerprint ─▶ previous ─▶ compress ─▶ deltas ─▶ assemble ─▶ write
//!   files    Sources  Resolved    Fingerprinted  Kept        Compressed  Deltas    Assembled   OUT
//! ```
//!
//! - [`previous`] (first half, before reading): the deploy history of `--history`, checked.
//! - [`read`]: every source's bytes and SHA-256.
//! - [`resolve`]: the references in CSS/JS, each resolved to a file of the tree (or reported).
//! - [`fingerprint`]: dependencies first, each file's final bytes and published name.
//! - [`previous`]: which deploys are kept, what of theirs the output carries, what it reuses and
//!   which deltas it makes; every file taken from the history fetched and verified.
//! - [`compress`]: `.br`/`.gz` representations, from the cache or the history, or computed.
//! - [`deltas`]: `dcz`/`dcb` deltas against earlier versions, reused or computed and verified.
//! - [`assemble`]: both manifests, the binary index, the history file and the output tree, in
//!   which every path is claimed once (two things that would be written to one path are an
//!   error naming both).
//! - [`write`]: the tree written aside and swapped in as OUT.
//!
//! Each stage takes what the previous ones produced and nothing else; the work runs in a thread
//! pool of the build's own ([`Options::jobs`]), never the process-global one.

pub mod assemble;
pub mod compress;
pub mod deltas;
pub mod fingerprint;
pub mod previous;
pub mod read;
pub mod resolve;
pub mod tree;
pub mod write;

use std::collections::HashMap;
use std::time::Instant;

use crate::cache::Cache;
use crate::error::{describe_deploys, BuildError, Warning};
use crate::history::dates;
use crate::options::{Options, MAX_FILES_FREE};
use crate::output::Staging;
use crate::report::{DroppedDeploy, Progress, Report};
use crate::scan;

/// The most files a Workers free-plan deployment may upload.
pub const MAX_FILES: usize = MAX_FILES_FREE;

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
    let time = opts.deploy_time();
    let this = previous::ThisDeploy {
        id: opts
            .deploy_id
            .clone()
            .unwrap_or_else(|| dates::compact(time)),
        time,
    };
    let prev = previous::load(opts, staging.scratch(), &mut warnings)?;

    let sources = read::read(files, progress)?;
    let resolved = resolve::resolve(&sources, opts.strict, &mut warnings)?;
    let fingerprinted =
        fingerprint::fingerprint(&sources, &resolved, plain.as_ref(), &mut warnings)?;

    let mut kept = previous::plan(opts, &this, prev.as_ref(), &sources, &fingerprinted, &cache);
    let mut carried = HashMap::new();
    if let Some(p) = &prev {
        match previous::carry(p, &kept, progress) {
            Ok(c) => carried = c,
            Err(e) if opts.history_optional => {
                warnings.push(Warning::HistoryIgnored {
                    reason: e.to_string(),
                });
                kept = previous::plan(opts, &this, None, &sources, &fingerprinted, &cache);
            }
            Err(e) => return Err(e.into()),
        }
    }
    let facts: HashMap<String, crate::history::StoredFile> =
        kept.fetch.clone().into_iter().collect();
    let mut reuse = compress::Reuse {
        no_gain: Some(&kept.no_gain),
        ..Default::default()
    };
    for (&(i, enc), stored) in &kept.siblings {
        let (Some(path), Some(f)) = (carried.get(stored), facts.get(stored)) else {
            continue;
        };
        let Some(sha) = cdn_manifest::parse_hex32(&f.sha256) else {
            continue;
        };
        reuse.siblings.insert((i, enc), (path.clone(), f.size, sha));
    }
    let compressed = compress::compress(&sources, &fingerprinted, &cache, &reuse, progress)?;
    let deltas = deltas::deltas(
        &kept.deltas,
        &sources,
        &fingerprinted,
        &compressed,
        &cache,
        &carried,
        &facts,
        &kept.no_gain,
        &mut warnings,
        progress,
    )?;
    let assembled = assemble::assemble(
        opts,
        &this,
        &sources,
        &fingerprinted,
        &compressed,
        &deltas,
        &kept,
        &carried,
        &facts,
        &mut warnings,
    )?;
    let output_files = assembled.tree.len();
    if output_files > opts.max_files {
        return Err(BuildError::TooManyFiles {
            count: output_files,
            limit: opts.max_files,
            deploys: describe_deploys(&assembled.deploys),
        });
    }
    if output_files > MAX_FILES {
        warnings.push(Warning::TooManyFiles {
            count: output_files,
            limit: MAX_FILES,
            deploys: assembled.deploys.clone(),
        });
    }
    write::write(staging, &assembled.tree, &sources, &fingerprinted, progress)?;

    let mut used = compressed.used;
    used.extend(deltas.used);
    for path in &used {
        cache.touch(path);
    }
    cache.prune(&used);
    Ok(Report {
        files: sources.len(),
        output_files,
        brotli_files: assembled.brotli_files,
        gzip_files: assembled.gzip_files,
        bytes: assembled.totals,
        cache_hits: compressed.hits,
        cache_misses: compressed.misses,
        history_hits: compressed.history_hits,
        deploy: this.id,
        deploys: assembled.deploys,
        dropped: kept
            .dropped
            .iter()
            .map(|(id, why)| DroppedDeploy {
                id: id.clone(),
                why: *why,
            })
            .collect(),
        kept_entries: assembled.kept_entries,
        carried_files: carried.len(),
        delta_files: assembled.delta_files,
        delta_hits: deltas.hits,
        delta_computed: deltas.computed,
        duration_ms: started.elapsed().as_millis() as u64,
        warnings,
    })
}

/// The last segment of a `/`-separated path.
pub(crate) fn file_name(rel: &str) -> &str {
    rel.rsplit('/').next().unwrap_or(rel)
}
