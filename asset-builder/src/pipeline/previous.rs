//! What a build takes from the previous deploys (`--history`): which deploys it keeps, the entries
//! they publish that this build does not, the precompressed siblings and deltas it can reuse
//! instead of computing them, the deltas it must make, and every stored file it must carry
//! forward — fetched once and verified against its recorded SHA-256 ([`carry`]).
//!
//! Planning ([`plan`]) is pure: the history, the fingerprinted files and the options in, a
//! [`Kept`] out. A file whose bytes the history already holds compressed with the same settings is
//! never compressed again (the history doubles as the compression cache); the local cache is
//! preferred when it has the file, so nothing is fetched that is already here.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use cdn_manifest::{Delta, DeltaEncoding, Encoding, Entry};

use super::fingerprint::Fingerprinted;
use super::read::Sources;
use crate::cache::Cache;
use crate::compress;
use crate::content_type;
use crate::delta::{self, DeltaCodec};
use crate::error::{BuildError, Warning};
use crate::fingerprint::{hex, NAME_HASH_LEN};
use crate::history::{self, Deploy, Dropped, Fetcher, History, HistoryError, StoredFile};
use crate::options::Options;
use crate::reference::stem_of;
use crate::report::{Phase, Progress};

/// A history that was found and passed its checks.
#[derive(Debug)]
pub struct Previous {
    /// Where it came from (and where its files are fetched).
    pub fetcher: Fetcher,
    /// The history file.
    pub history: History,
}

/// Reads the history named by `--history`. With `--history-optional` a history that cannot be
/// used is a warning and the build goes on without one.
pub fn load(
    opts: &Options,
    scratch: PathBuf,
    warnings: &mut Vec<Warning>,
) -> Result<Option<Previous>, BuildError> {
    let Some(source) = &opts.history else {
        return Ok(None);
    };
    let fetcher = Fetcher::new(source.clone(), scratch);
    let loaded = fetcher.history().and_then(|history| {
        if history.public_path != opts.public_path {
            return Err(HistoryError::PublicPath {
                at: fetcher.source().history_location(),
                found: history.public_path.clone(),
                expected: opts.public_path.clone(),
            });
        }
        Ok(history)
    });
    match loaded {
        Ok(history) => Ok(Some(Previous { fetcher, history })),
        Err(e) if opts.history_optional => {
            warnings.push(Warning::HistoryIgnored {
                reason: e.to_string(),
            });
            Ok(None)
        }
        Err(e) => Err(e.into()),
    }
}

/// A delta this build makes (or reuses) for one of its files.
#[derive(Debug, Clone)]
pub struct DeltaJob {
    /// The file (index into [`Sources`]).
    pub file: usize,
    /// The published path of the earlier version: the dictionary.
    pub dictionary_path: String,
    /// SHA-256 of the dictionary.
    pub dictionary: [u8; 32],
    /// `dcz` or `dcb`.
    pub encoding: DeltaEncoding,
    /// The stored path of the same delta in the history, when it has one made with the same
    /// settings.
    pub reuse: Option<String>,
}

/// What the build takes from the previous deploys.
#[derive(Debug, Default)]
pub struct Kept {
    /// The previous deploys kept, newest first.
    pub deploys: Vec<Deploy>,
    /// The previous deploys dropped, with why.
    pub dropped: Vec<(String, Dropped)>,
    /// Entries of the kept deploys that this build does not publish, by published path (deltas
    /// against dictionaries that are no longer kept removed).
    pub entries: BTreeMap<String, Entry>,
    /// Stored files to take from the history: stored path → what it must be.
    pub fetch: BTreeMap<String, StoredFile>,
    /// Siblings of this build's files that the history holds with the same settings:
    /// (file, encoding) → stored path.
    pub siblings: HashMap<(usize, Encoding), String>,
    /// The `Use-As-Dictionary` value of each of this build's files that gets one.
    pub dictionaries: HashMap<usize, String>,
    /// The deltas to make or reuse, most recent dictionary first per file.
    pub deltas: Vec<DeltaJob>,
    /// (SHA-256 of some bytes, settings tag) pairs known not to be worth keeping.
    pub no_gain: HashSet<([u8; 32], String)>,
}

/// This build's deploy: its id and time.
#[derive(Debug, Clone)]
pub struct ThisDeploy {
    /// Its id.
    pub id: String,
    /// Unix seconds.
    pub time: u64,
}

/// Plans what to keep, reuse and make (no I/O).
pub fn plan(
    opts: &Options,
    this: &ThisDeploy,
    previous: Option<&Previous>,
    sources: &Sources,
    fp: &Fingerprinted,
    cache: &Cache,
) -> Kept {
    let mut kept = Kept::default();
    for i in 0..sources.len() {
        if let Some(value) = dictionary_value(opts, sources, fp, i) {
            kept.dictionaries.insert(i, value);
        }
    }
    let Some(prev) = previous else {
        return kept;
    };
    let h = &prev.history;
    let (keep, dropped) = history::keep::select(&h.deploys, &this.id, this.time, opts.keep);
    kept.deploys = keep.iter().map(|&i| h.deploys[i].clone()).collect();
    kept.dropped = dropped
        .into_iter()
        .map(|(i, why)| (h.deploys[i].id.clone(), why))
        .collect();
    for (sha, tags) in &h.no_gain {
        if let Some(d) = cdn_manifest::parse_hex32(sha) {
            kept.no_gain.extend(tags.iter().map(|t| (d, t.clone())));
        }
    }

    let current: HashMap<String, usize> = (0..sources.len())
        .map(|i| (format!("{}{}", opts.public_path, fp.published[i]), i))
        .collect();
    // Entries of the kept deploys that this build does not publish (the current build wins a
    // path: a file published under its own name may have changed).
    let mut recency: BTreeMap<&str, usize> = BTreeMap::new();
    for (rank, d) in kept.deploys.iter().enumerate() {
        for path in &d.entries {
            recency.entry(path).or_insert(rank);
        }
    }
    for path in recency.keys() {
        if current.contains_key(*path) {
            continue;
        }
        if let Some(e) = h.entries.get(*path) {
            kept.entries.insert(path.to_string(), e.clone());
        }
    }
    // Deltas of kept entries stay only while their dictionary is itself kept.
    let kept_hashes: HashSet<String> = kept
        .entries
        .keys()
        .filter_map(|p| h.files.get(p).map(|f| f.sha256.clone()))
        .chain(fp.digests.iter().map(|d| hex(d)))
        .collect();
    for e in kept.entries.values_mut() {
        e.deltas.retain(|d| kept_hashes.contains(&d.dictionary));
    }
    for (path, e) in &kept.entries {
        for stored in History::stored_paths(path, e) {
            if let Some(f) = h.files.get(&stored) {
                kept.fetch.insert(stored, f.clone());
            }
        }
    }

    // This build's files whose bytes the history holds (under any name): reuse their siblings.
    let mut by_content: HashMap<&str, &str> = HashMap::new();
    for path in h.entries.keys() {
        if let Some(f) = h.files.get(path) {
            by_content.entry(f.sha256.as_str()).or_insert(path.as_str());
        }
    }
    for &i in current.values() {
        let Some(&path) = by_content.get(hex(&fp.digests[i]).as_str()) else {
            continue;
        };
        let rel = sources.rel(i);
        let ct = content_type::for_path(rel);
        for codec in compress::plan(rel, &ct, fp.final_bytes(sources, i).len()) {
            if cache.get(&fp.digests[i], codec).is_some() {
                continue;
            }
            if let Some((stored, f)) = h.sibling(path, codec.encoding(), &codec.tag()) {
                kept.fetch.insert(stored.clone(), f.clone());
                kept.siblings.insert((i, codec.encoding()), stored);
            }
        }
    }

    // Deltas: each of this build's dictionary files against the K most recent earlier versions
    // of its logical path that browsers may hold (kept, and announced with the same pattern):
    // dcz against each, dcb against the most recent.
    // Logical path → (recency rank of the newest deploy with it, published path, SHA-256).
    type Version<'a> = (usize, &'a str, [u8; 32]);
    let mut versions: HashMap<&str, Vec<Version<'_>>> = HashMap::new();
    for (path, e) in &kept.entries {
        let (Some(rank), Some(f)) = (recency.get(path.as_str()), h.files.get(path)) else {
            continue;
        };
        let Some(digest) = cdn_manifest::parse_hex32(&f.sha256) else {
            continue;
        };
        if e.use_as_dictionary.is_some() {
            versions.entry(e.logical_path.as_str()).or_default().push((
                *rank,
                path.as_str(),
                digest,
            ));
        }
    }
    for list in versions.values_mut() {
        list.sort();
    }
    let mut files: Vec<usize> = kept.dictionaries.keys().copied().collect();
    files.sort_unstable();
    for i in files {
        let value = &kept.dictionaries[&i];
        let Some(list) = versions.get(sources.rel(i)) else {
            continue;
        };
        let path = format!("{}{}", opts.public_path, fp.published[i]);
        let old_entry = h.entries.get(&path);
        let mut seen = HashSet::new();
        for &(_, dict_path, digest) in list {
            if digest == fp.digests[i]
                || h.entries[dict_path].use_as_dictionary.as_deref() != Some(value)
                || !seen.insert(digest)
            {
                continue;
            }
            if seen.len() > opts.deltas.versions {
                break;
            }
            for &encoding in &opts.deltas.encodings {
                // dcb (the costlier encoder) against the most recent earlier version only: the
                // one a browser that keeps up holds.
                if encoding == DeltaEncoding::Brotli && seen.len() > 1 {
                    continue;
                }
                let tag = DeltaCodec { encoding }.tag(&digest);
                let stored = Delta::path_for(&path, &hex(&digest), encoding);
                let reuse = old_entry
                    .filter(|_| !cache_has(cache, &fp.digests[i], &tag))
                    .and_then(|_| h.files.get(&stored))
                    .filter(|f| f.codec.as_deref() == Some(tag.as_str()))
                    .cloned();
                // (The dictionary itself is a kept entry's file: fetched in any case.)
                if let Some(f) = &reuse {
                    kept.fetch.insert(stored.clone(), f.clone());
                }
                kept.deltas.push(DeltaJob {
                    file: i,
                    dictionary_path: dict_path.to_string(),
                    dictionary: digest,
                    encoding,
                    reuse: reuse.map(|_| stored),
                });
            }
        }
    }
    kept
}

fn cache_has(cache: &Cache, digest: &[u8; 32], tag: &str) -> bool {
    cache.get_tagged(digest, tag).is_some()
}

/// The `Use-As-Dictionary` value of file `i`, when it gets one: a file fingerprinted by this
/// build (its later versions get other names), of a compressible type, not a source map, at
/// least `--delta-min-size` bytes, with deltas on.
fn dictionary_value(
    opts: &Options,
    sources: &Sources,
    fp: &Fingerprinted,
    i: usize,
) -> Option<String> {
    if opts.deltas.versions == 0 || opts.deltas.encodings.is_empty() {
        return None;
    }
    let rel = sources.rel(i);
    let published = &fp.published[i];
    let ct = content_type::for_path(rel);
    if published == rel
        || !fp.immutable[i]
        || !content_type::is_compressible(&ct)
        || content_type::extension(rel) == "map"
        || (fp.final_bytes(sources, i).len() as u64) < opts.deltas.min_size
    {
        return None;
    }
    let name = super::file_name(rel);
    let url_path = format!("{}{published}", opts.public_path);
    let stem_end = url_path.len() - super::file_name(published).len() + stem_of(name).len();
    delta::use_as_dictionary(&url_path, stem_end, NAME_HASH_LEN, &ct)
}

/// Fetches and verifies every file of `kept.fetch`: stored path → a local path holding exactly its
/// bytes. Over the network, up to 16 requests run at once.
pub fn carry(
    prev: &Previous,
    kept: &Kept,
    progress: &dyn Progress,
) -> Result<HashMap<String, PathBuf>, HistoryError> {
    let list: Vec<(&String, &StoredFile)> = kept.fetch.iter().collect();
    progress.start(Phase::History, list.len() as u64);
    let workers = if prev.fetcher.is_remote() {
        16
    } else {
        rayon::current_num_threads()
    };
    let next = AtomicUsize::new(0);
    let done = Mutex::new(HashMap::with_capacity(list.len()));
    let failure: Mutex<Option<HistoryError>> = Mutex::new(None);
    std::thread::scope(|s| {
        for _ in 0..workers.min(list.len()).max(1) {
            s.spawn(|| loop {
                let k = next.fetch_add(1, Ordering::Relaxed);
                let Some(&(stored, expect)) = list.get(k) else {
                    break;
                };
                match prev.fetcher.fetch(stored, expect) {
                    Ok(path) => {
                        lock(&done).insert(stored.clone(), path);
                        progress.advance(1);
                    }
                    Err(e) => {
                        lock(&failure).get_or_insert(e);
                        next.store(usize::MAX / 2, Ordering::Relaxed);
                        break;
                    }
                }
            });
        }
    });
    if let Some(e) = failure.into_inner().unwrap_or_else(|p| p.into_inner()) {
        return Err(e);
    }
    Ok(done.into_inner().unwrap_or_else(|p| p.into_inner()))
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}
