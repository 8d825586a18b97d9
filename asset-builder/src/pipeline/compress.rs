//! Stage 5, compress: the `.br`/`.gz` representations of every compressible file, reused from
//! the cache or the deploy history, or computed, largest first, on the build's thread pool.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use cdn_manifest::Encoding;

use super::fingerprint::Fingerprinted;
use super::read::Sources;
use crate::cache::Cache;
use crate::compress::{self, Codec};
use crate::content_type;
use crate::error::BuildError;
use crate::report::{Phase, Progress};

/// Where a representation's bytes are.
#[derive(Debug, Clone)]
pub enum Blob {
    /// Computed in this build with the cache disabled.
    Memory(Arc<[u8]>),
    /// An object of the cache (hard-linked into OUT).
    Cached(PathBuf),
    /// A verified file of the deploy history: in its directory, or downloaded beside OUT
    /// (hard-linked into OUT).
    History(PathBuf),
}

/// A compressed representation of one file.
#[derive(Debug, Clone)]
pub struct Packed {
    /// Its bytes.
    pub blob: Blob,
    /// Its size in bytes.
    pub size: u64,
    /// The settings that produced it.
    pub codec: Codec,
    /// SHA-256 of its bytes, when known without reading them again.
    pub sha256: Option<[u8; 32]>,
}

/// Every representation computed or found, and the cache bookkeeping.
#[derive(Debug, Default)]
pub struct Compressed {
    /// (file index, encoding) → representation.
    pub packed: HashMap<(usize, Encoding), Packed>,
    /// Cache objects this build uses (kept by pruning).
    pub used: HashSet<PathBuf>,
    /// Compressions reused from the cache.
    pub hits: usize,
    /// Compressions computed.
    pub misses: usize,
    /// Compressions reused from the deploy history.
    pub history_hits: usize,
    /// Compressions not tried: the history records that they are not worth keeping.
    pub skipped: Vec<(usize, Codec)>,
}

/// What the deploy history offers the compression stage.
#[derive(Debug, Default)]
pub struct Reuse<'a> {
    /// (file, encoding) → a verified local file holding the sibling, its size and SHA-256.
    pub siblings: HashMap<(usize, Encoding), (PathBuf, u64, [u8; 32])>,
    /// (SHA-256 of some bytes, settings tag) pairs known not to be worth keeping.
    pub no_gain: Option<&'a HashSet<([u8; 32], String)>>,
}

/// Compresses what the cache does not have, and collects the rest from it.
pub fn compress(
    sources: &Sources,
    fp: &Fingerprinted,
    cache: &Cache,
    reuse: &Reuse<'_>,
    progress: &dyn Progress,
) -> Result<Compressed, BuildError> {
    let bytes = |i: usize| fp.final_bytes(sources, i);
    let mut jobs: Vec<(usize, Codec)> = Vec::new();
    for i in 0..sources.len() {
        let ct = content_type::for_path(sources.rel(i));
        for codec in compress::plan(sources.rel(i), &ct, bytes(i).len()) {
            jobs.push((i, codec));
        }
    }
    let mut out = Compressed::default();
    // Identical contents (a file copied into two places) are compressed once.
    let mut pending: HashMap<([u8; 32], Codec), Vec<usize>> = HashMap::new();
    let mut misses = Vec::new();
    for &(i, codec) in &jobs {
        if let Some(waiting) = pending.get_mut(&(fp.digests[i], codec)) {
            waiting.push(i);
            continue;
        }
        if let Some((path, size)) = cache.get(&fp.digests[i], codec) {
            out.used.insert(path.clone());
            let blob = Blob::Cached(path);
            let packed = Packed {
                blob,
                size,
                codec,
                sha256: None,
            };
            out.packed.insert((i, codec.encoding()), packed);
            out.hits += 1;
        } else if let Some((path, size, sha)) = reuse.siblings.get(&(i, codec.encoding())) {
            let packed = Packed {
                blob: Blob::History(path.clone()),
                size: *size,
                codec,
                sha256: Some(*sha),
            };
            out.packed.insert((i, codec.encoding()), packed);
            out.history_hits += 1;
        } else if reuse
            .no_gain
            .is_some_and(|n| n.contains(&(fp.digests[i], codec.tag())))
        {
            out.skipped.push((i, codec));
        } else {
            misses.push((i, codec));
            pending.insert((fp.digests[i], codec), vec![i]);
        }
    }
    out.misses = misses.len();
    misses.sort_by_key(|&(i, codec)| {
        // Longest first (brotli 11 dominates), so no core idles at the end on one big file.
        let weight = match codec {
            Codec::Brotli { quality: 11, .. } => 8,
            Codec::Brotli { .. } => 2,
            Codec::Gzip { .. } => 1,
        };
        std::cmp::Reverse(bytes(i).len() * weight)
    });
    let total: u64 = misses.iter().map(|&(i, _)| bytes(i).len() as u64).sum();
    progress.start(Phase::Compress, total);
    let next = AtomicUsize::new(0);
    let results = Mutex::new(Vec::with_capacity(misses.len()));
    let failure = Mutex::new(None);
    rayon::scope(|s| {
        for _ in 0..rayon::current_num_threads() {
            s.spawn(|_| loop {
                let k = next.fetch_add(1, Ordering::Relaxed);
                let Some(&(i, codec)) = misses.get(k) else {
                    break;
                };
                let input = bytes(i);
                let packed = codec.compress(input);
                let size = packed.len() as u64;
                let sha256 = Some(crate::fingerprint::sha256(&packed));
                let blob = match cache.put(&fp.digests[i], codec, &packed) {
                    Ok(Some(path)) => Blob::Cached(path),
                    Ok(None) => Blob::Memory(packed.into()),
                    Err(e) => {
                        lock(&failure).get_or_insert(e);
                        next.store(usize::MAX / 2, Ordering::Relaxed);
                        break;
                    }
                };
                progress.advance(input.len() as u64);
                lock(&results).push((
                    i,
                    Packed {
                        blob,
                        size,
                        codec,
                        sha256,
                    },
                ));
            });
        }
    });
    if let Some(e) = failure.into_inner().unwrap_or_else(|p| p.into_inner()) {
        return Err(e);
    }
    for (i, p) in results.into_inner().unwrap_or_else(|p| p.into_inner()) {
        if let Blob::Cached(path) = &p.blob {
            out.used.insert(path.clone());
        }
        let key = (fp.digests[i], p.codec);
        for &j in pending.get(&key).map(Vec::as_slice).unwrap_or(&[i]) {
            out.packed.insert((j, p.codec.encoding()), p.clone());
        }
    }
    Ok(out)
}

/// Locks a mutex whose holder never panics mid-update (a poisoned one is still consistent).
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}
