//! Stage 6, deltas: each planned `dcz`/`dcb` delta (see [`super::previous`]) reused from the
//! cache or the deploy history, or computed against its dictionary and decoded again before it
//! is kept; kept only when clearly smaller than the file's `br` sibling. A `dcb` delta is not
//! made when the `dcz` delta against the same dictionary is already at most 1/256 of the file:
//! a patch-like change, where brotli could save a few dozen bytes at the cost of its slower
//! encoder and one more stored file.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use cdn_manifest::{Delta, DeltaEncoding, Encoding};
use sha2::{Digest, Sha256};

use super::compress::{Blob, Compressed};
use super::fingerprint::Fingerprinted;
use super::previous::DeltaJob;
use super::read::Sources;
use crate::cache::Cache;
use crate::compress;
use crate::delta::{self, DeltaCodec};
use crate::error::{BuildError, Warning};
use crate::fingerprint::{self, hex};
use crate::history::StoredFile;
use crate::report::{Phase, Progress};

/// A delta this build publishes.
#[derive(Debug, Clone)]
pub struct Made {
    /// The file it represents.
    pub file: usize,
    /// Its manifest record.
    pub delta: Delta,
    /// Its bytes.
    pub blob: Blob,
    /// The settings tag that made it.
    pub tag: String,
    /// SHA-256 of its bytes, when known without reading them again.
    pub sha256: Option<[u8; 32]>,
}

/// Every delta kept, and the bookkeeping.
#[derive(Debug, Default)]
pub struct Deltas {
    /// The deltas kept, in the plan's order (most recent dictionary first per file).
    pub made: Vec<Made>,
    /// Deltas reused from the cache or the history.
    pub hits: usize,
    /// Deltas computed.
    pub computed: usize,
    /// (file digest, tag) of deltas not worth keeping.
    pub no_gain: Vec<([u8; 32], String)>,
    /// Cache objects used (kept by pruning).
    pub used: HashSet<PathBuf>,
}

/// A delta's bytes found or made: where, its size, its SHA-256 when known.
type Found = (Blob, u64, Option<[u8; 32]>);

/// The size a delta must beat: the file's kept `br` sibling, else its identity bytes.
fn baseline(compressed: &Compressed, fp: &Fingerprinted, sources: &Sources, i: usize) -> u64 {
    let size = fp.final_bytes(sources, i).len() as u64;
    compressed
        .packed
        .get(&(i, Encoding::Brotli))
        .filter(|p| compress::worth_keeping(size as usize, p.size as usize))
        .map_or(size, |p| p.size)
}

/// Makes or reuses every planned delta. `carried` maps stored paths of the history to verified
/// local files (reused deltas and dictionaries); `facts` gives their recorded sizes and hashes.
#[allow(clippy::too_many_arguments)]
pub fn deltas(
    jobs: &[DeltaJob],
    sources: &Sources,
    fp: &Fingerprinted,
    compressed: &Compressed,
    cache: &Cache,
    carried: &HashMap<String, PathBuf>,
    facts: &HashMap<String, StoredFile>,
    no_gain: &HashSet<([u8; 32], String)>,
    warnings: &mut Vec<Warning>,
    progress: &dyn Progress,
) -> Result<Deltas, BuildError> {
    let mut out = Deltas::default();
    // Each job's bytes: found, or to compute.
    let mut found: Vec<Option<Found>> = vec![None; jobs.len()];
    let mut todo = Vec::new();
    for (k, job) in jobs.iter().enumerate() {
        let digest = &fp.digests[job.file];
        let tag = DeltaCodec {
            encoding: job.encoding,
        }
        .tag(&job.dictionary);
        if let Some((path, size)) = cache.get_tagged(digest, &tag) {
            out.used.insert(path.clone());
            found[k] = Some((Blob::Cached(path), size, None));
        } else if let Some((path, f)) = job
            .reuse
            .as_ref()
            .and_then(|s| Some((carried.get(s)?, facts.get(s)?)))
        {
            let sha = cdn_manifest::parse_hex32(&f.sha256);
            found[k] = Some((Blob::History(path.clone()), f.size, sha));
        } else if no_gain.contains(&(*digest, tag)) {
            continue;
        } else if carried.contains_key(&job.dictionary_path) {
            todo.push(k);
        }
    }
    out.hits = found.iter().flatten().count();
    out.computed = todo.len();
    // The jobs to compute, by (file, dictionary), dcz first: a dcb job may depend on its dcz.
    let mut groups: Vec<Vec<usize>> = Vec::new();
    for &k in &todo {
        let key = (jobs[k].file, jobs[k].dictionary);
        match groups
            .iter_mut()
            .rev()
            .find(|g| (jobs[g[0]].file, jobs[g[0]].dictionary) == key)
        {
            Some(g) => g.push(k),
            None => groups.push(vec![k]),
        }
    }
    for g in &mut groups {
        g.sort_by_key(|&k| jobs[k].encoding != DeltaEncoding::Zstd);
    }
    // The dcz delta of each (file, dictionary) found without computing it.
    let found_dcz: HashMap<(usize, [u8; 32]), u64> = jobs
        .iter()
        .zip(&found)
        .filter(|(j, _)| j.encoding == DeltaEncoding::Zstd)
        .filter_map(|(j, f)| f.as_ref().map(|f| ((j.file, j.dictionary), f.1)))
        .collect();
    let total: u64 = todo
        .iter()
        .map(|&k| fp.final_bytes(sources, jobs[k].file).len() as u64)
        .sum();
    progress.start(Phase::Deltas, total);
    let next = AtomicUsize::new(0);
    let results = Mutex::new(Vec::with_capacity(todo.len()));
    let failure = Mutex::new(None);
    let skipped = Mutex::new(Vec::new());
    let patch_like = AtomicUsize::new(0);
    rayon::scope(|s| {
        for _ in 0..rayon::current_num_threads() {
            s.spawn(|_| loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                let Some(group) = groups.get(n) else { break };
                let first = &jobs[group[0]];
                let input = fp.final_bytes(sources, first.file);
                let dict_file = &carried[&first.dictionary_path];
                let dictionary = match std::fs::read(dict_file) {
                    Ok(d) => d,
                    Err(e) => {
                        lock(&failure).get_or_insert(BuildError::io("read", dict_file, e));
                        next.store(usize::MAX / 2, Ordering::Relaxed);
                        break;
                    }
                };
                let mut dcz_size = found_dcz.get(&(first.file, first.dictionary)).copied();
                for &k in group {
                    let job = &jobs[k];
                    progress.advance(input.len() as u64);
                    if job.encoding == DeltaEncoding::Brotli
                        && dcz_size.is_some_and(|z| z * 256 <= input.len() as u64)
                    {
                        patch_like.fetch_add(1, Ordering::Relaxed);
                        continue;
                    }
                    let codec = DeltaCodec {
                        encoding: job.encoding,
                    };
                    let made = codec
                        .encode(&dictionary, &job.dictionary, input)
                        .and_then(|body| {
                            delta::verify(
                                job.encoding,
                                &dictionary,
                                &job.dictionary,
                                &body,
                                input,
                            )?;
                            Ok(body)
                        });
                    let body = match made {
                        Ok(b) => b,
                        Err(e) => {
                            lock(&skipped).push((
                                job.file,
                                job.dictionary_path.clone(),
                                e.to_string(),
                            ));
                            continue;
                        }
                    };
                    let size = body.len() as u64;
                    if job.encoding == DeltaEncoding::Zstd {
                        dcz_size = Some(size);
                    }
                    let sha = fingerprint::sha256(&body);
                    let tag = codec.tag(&job.dictionary);
                    let blob = match cache.put_tagged(&fp.digests[job.file], &tag, &body) {
                        Ok(Some(path)) => Blob::Cached(path),
                        Ok(None) => Blob::Memory(body.into()),
                        Err(e) => {
                            lock(&failure).get_or_insert(e);
                            next.store(usize::MAX / 2, Ordering::Relaxed);
                            break;
                        }
                    };
                    lock(&results).push((k, blob, size, sha));
                }
            });
        }
    });
    out.computed -= patch_like.into_inner();
    if let Some(e) = failure.into_inner().unwrap_or_else(|p| p.into_inner()) {
        return Err(e);
    }
    for (file, dictionary, why) in skipped.into_inner().unwrap_or_else(|p| p.into_inner()) {
        warnings.push(Warning::DeltaSkipped {
            file: sources.rel(file).to_string(),
            dictionary,
            reason: why,
        });
    }
    for (k, blob, size, sha) in results.into_inner().unwrap_or_else(|p| p.into_inner()) {
        if let Blob::Cached(p) = &blob {
            out.used.insert(p.clone());
        }
        found[k] = Some((blob, size, Some(sha)));
    }
    for (job, found) in jobs.iter().zip(found) {
        let Some((blob, size, sha256)) = found else {
            continue;
        };
        let i = job.file;
        let codec = DeltaCodec {
            encoding: job.encoding,
        };
        let tag = codec.tag(&job.dictionary);
        if !delta::worth_keeping(baseline(compressed, fp, sources, i), size) {
            out.no_gain.push((fp.digests[i], tag));
            continue;
        }
        let etag: [u8; 32] = Sha256::new()
            .chain_update(fp.digests[i])
            .chain_update(job.dictionary)
            .chain_update(tag.as_bytes())
            .finalize()
            .into();
        out.made.push(Made {
            file: i,
            delta: Delta {
                encoding: job.encoding,
                dictionary: hex(&job.dictionary),
                size,
                etag: fingerprint::etag(&etag),
            },
            blob,
            tag,
            sha256,
        });
    }
    Ok(out)
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}
