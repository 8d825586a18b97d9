//! The build: scan → read → find references → fingerprint in dependency order → compress →
//! write aside → swap in.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::ops::Range;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use cdn_manifest::{Encoding, Entry, Manifest, Representation};
use rayon::prelude::*;
use sha2::{Digest, Sha256};

use crate::cache::Cache;
use crate::compress::{self, Codec};
use crate::error::{BuildError, Warning};
use crate::fingerprint;
use crate::graph;
use crate::manifest;
use crate::options::Options;
use crate::output::Staging;
use crate::reference::{self, Target};
use crate::report::{Phase, Progress, Report, Totals};
use crate::rewrite;
use crate::scan;

/// The most files a Workers free-plan deployment may upload.
pub const MAX_FILES: usize = 20_000;

/// A resolved reference: where its text is, and which file it names.
struct Edit {
    span: Range<usize>,
    target: usize,
    path_len: usize,
}

/// Where a representation's bytes are.
#[derive(Clone)]
enum Blob {
    Memory(std::sync::Arc<[u8]>),
    Cached(PathBuf),
}

/// Runs a build. On error, OUT is exactly as it was.
pub fn build(opts: &Options, progress: &dyn Progress) -> Result<Report, BuildError> {
    let started = Instant::now();
    opts.validate()?;
    let (files, mut warnings) = scan::scan(&opts.src)?;
    let staging = Staging::create(&opts.out)?;
    let cache = Cache::open(opts.cache_dir.as_deref())?;
    let plain = opts.no_fingerprint_matcher()?;
    let n = files.len();

    // Read and hash every source.
    progress.start(Phase::Read, n as u64);
    let sources: Vec<(Vec<u8>, [u8; 32])> = files
        .par_iter()
        .map(|f| {
            let bytes = std::fs::read(&f.abs).map_err(|e| BuildError::io("read", &f.abs, e))?;
            let digest = fingerprint::sha256(&bytes);
            progress.advance(1);
            Ok((bytes, digest))
        })
        .collect::<Result<_, BuildError>>()?;

    // Find and resolve references.
    let index: HashMap<&str, usize> = files
        .iter()
        .enumerate()
        .map(|(i, f)| (f.rel.as_str(), i))
        .collect();
    let predigested: Vec<bool> = files
        .iter()
        .map(|f| fingerprint::is_predigested(file_name(&f.rel)))
        .collect();
    let found: Vec<Vec<rewrite::RawRef>> = files
        .par_iter()
        .zip(&sources)
        .zip(&predigested)
        .map(|((f, (bytes, _)), &pre)| {
            if pre {
                Vec::new()
            } else {
                rewrite::find_refs(&crate::content_type::extension(&f.rel), bytes)
            }
        })
        .collect();
    let mut edits: Vec<Vec<Edit>> = Vec::with_capacity(n);
    for (i, refs) in found.into_iter().enumerate() {
        let mut list = Vec::new();
        for r in refs {
            let Ok(spec) = std::str::from_utf8(&sources[i].0[r.span.clone()]) else {
                continue;
            };
            let target = match reference::resolve(&files[i].rel, spec, r.kind) {
                Target::External => continue,
                Target::File { path, path_len } => index.get(path.as_str()).map(|&t| (t, path_len)),
                Target::OutsideRoot => None,
            };
            match target {
                Some((target, path_len)) => list.push(Edit {
                    span: r.span,
                    target,
                    path_len,
                }),
                None if opts.strict => {
                    return Err(BuildError::MissingReference {
                        file: files[i].rel.clone(),
                        reference: spec.to_string(),
                    })
                }
                None => warnings.push(Warning::MissingReference {
                    file: files[i].rel.clone(),
                    reference: spec.to_string(),
                }),
            }
        }
        edits.push(list);
    }

    // Fingerprint dependencies first; a cycle is named from the contents of all its members.
    let edges: Vec<Vec<usize>> = edits
        .iter()
        .map(|l| l.iter().map(|e| e.target).collect())
        .collect();
    let mut published: Vec<String> = vec![String::new(); n];
    let mut rewritten: Vec<Option<Vec<u8>>> = (0..n).map(|_| None).collect();
    let mut content_digest: Vec<[u8; 32]> = sources.iter().map(|s| s.1).collect();
    let name_for = |i: usize, digest: &[u8; 32]| -> String {
        let rel = &files[i].rel;
        if predigested[i] || plain.as_ref().is_some_and(|g| g.is_match(rel)) {
            return rel.clone();
        }
        let (dir, name) = rel
            .rsplit_once('/')
            .map_or(("", rel.as_str()), |(d, f)| (d, f));
        let new = fingerprint::fingerprinted_name(name, &fingerprint::name_hash(digest));
        if dir.is_empty() {
            new
        } else {
            format!("{dir}/{new}")
        }
    };
    for comp in graph::components(n, &edges) {
        let cyclic = comp.len() > 1 || edges[comp[0]].contains(&comp[0]);
        if !cyclic {
            let i = comp[0];
            if !edits[i].is_empty() {
                let bytes = apply_edits(&files, &sources[i].0, &edits[i], &published);
                content_digest[i] = fingerprint::sha256(&bytes);
                rewritten[i] = Some(bytes);
            }
            published[i] = name_for(i, &content_digest[i]);
            continue;
        }
        warnings.push(Warning::ReferenceCycle {
            files: comp.iter().map(|&i| files[i].rel.clone()).collect(),
        });
        let mut key = Sha256::new();
        for &i in &comp {
            key.update(files[i].rel.as_bytes());
            key.update(sources[i].1);
            for e in edits[i].iter().filter(|e| !comp.contains(&e.target)) {
                key.update(published[e.target].as_bytes());
            }
        }
        let key = key.finalize();
        for &i in &comp {
            let member: [u8; 32] = Sha256::new()
                .chain_update(key)
                .chain_update(files[i].rel.as_bytes())
                .finalize()
                .into();
            published[i] = name_for(i, &member);
        }
        for &i in &comp {
            let bytes = apply_edits(&files, &sources[i].0, &edits[i], &published);
            content_digest[i] = fingerprint::sha256(&bytes);
            rewritten[i] = Some(bytes);
        }
    }
    let final_bytes = |i: usize| -> &[u8] { rewritten[i].as_deref().unwrap_or(&sources[i].0) };

    let mut seen: HashMap<&str, usize> = HashMap::with_capacity(n);
    for (i, p) in published.iter().enumerate() {
        if let Some(&j) = seen.get(p.as_str()) {
            return Err(BuildError::Collision {
                first: files[j].rel.clone(),
                second: files[i].rel.clone(),
                published: p.clone(),
            });
        }
        seen.insert(p, i);
    }

    // Per-file facts.
    let content_types: Vec<String> = files
        .iter()
        .map(|f| crate::content_type::for_path(&f.rel))
        .collect();
    let integrity: Vec<String> = (0..n)
        .into_par_iter()
        .map(|i| fingerprint::integrity(final_bytes(i)))
        .collect();

    // Compression: reuse what the cache has, compute the rest largest first.
    let mut jobs: Vec<(usize, Codec)> = Vec::new();
    for i in 0..n {
        for codec in compress::plan(&files[i].rel, &content_types[i], final_bytes(i).len()) {
            jobs.push((i, codec));
        }
    }
    let mut blobs: HashMap<(usize, Encoding), (Blob, u64, Codec)> = HashMap::new();
    // Identical contents (a file copied into two places) are compressed once.
    let mut pending: HashMap<([u8; 32], Codec), Vec<usize>> = HashMap::new();
    let mut misses = Vec::new();
    let mut used = HashSet::new();
    for &(i, codec) in &jobs {
        if let Some(waiting) = pending.get_mut(&(content_digest[i], codec)) {
            waiting.push(i);
            continue;
        }
        match cache.get(&content_digest[i], codec) {
            Some((path, size)) => {
                used.insert(path.clone());
                blobs.insert((i, codec.encoding()), (Blob::Cached(path), size, codec));
            }
            None => {
                misses.push((i, codec));
                pending.insert((content_digest[i], codec), vec![i]);
            }
        }
    }
    let cache_hits = jobs.len() - misses.len();
    misses.sort_by_key(|&(i, codec)| {
        // Longest first (brotli 11 dominates), so no core idles at the end on one big file.
        let weight = match codec {
            Codec::Brotli { quality: 11, .. } => 8,
            Codec::Brotli { .. } => 2,
            Codec::Gzip { .. } => 1,
        };
        std::cmp::Reverse(final_bytes(i).len() * weight)
    });
    let total: u64 = misses
        .iter()
        .map(|&(i, _)| final_bytes(i).len() as u64)
        .sum();
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
                let input = final_bytes(i);
                let packed = codec.compress(input);
                let size = packed.len() as u64;
                let blob = match cache.put(&content_digest[i], codec, &packed) {
                    Ok(Some(path)) => Blob::Cached(path),
                    Ok(None) => Blob::Memory(packed.into()),
                    Err(e) => {
                        failure.lock().unwrap().get_or_insert(e);
                        next.store(usize::MAX / 2, Ordering::Relaxed);
                        break;
                    }
                };
                progress.advance(input.len() as u64);
                results.lock().unwrap().push((i, codec, blob, size));
            });
        }
    });
    if let Some(e) = failure.into_inner().unwrap() {
        return Err(e);
    }
    for (i, codec, blob, size) in results.into_inner().unwrap() {
        if let Blob::Cached(p) = &blob {
            used.insert(p.clone());
        }
        for &j in &pending[&(content_digest[i], codec)] {
            blobs.insert((j, codec.encoding()), (blob.clone(), size, codec));
        }
    }

    // Assemble the manifests.
    let root = opts.public_path.trim_start_matches('/');
    let mut cdn = Manifest::new(opts.public_path.clone());
    let mut symfony = BTreeMap::new();
    let mut totals = Totals::default();
    let (mut brotli_files, mut gzip_files) = (0, 0);
    let mut siblings: Vec<(usize, Encoding)> = Vec::new();
    for i in 0..n {
        let size = final_bytes(i).len() as u64;
        let url_path = format!("{}{}", opts.public_path, published[i]);
        let mut encodings = BTreeMap::new();
        for enc in Encoding::ALL {
            let Some((_, csize, codec)) = blobs.get(&(i, enc)) else {
                continue;
            };
            if !compress::worth_keeping(size as usize, *csize as usize) {
                continue;
            }
            let tag: [u8; 32] = Sha256::new()
                .chain_update(content_digest[i])
                .chain_update(codec.tag().as_bytes())
                .finalize()
                .into();
            encodings.insert(
                enc,
                Representation {
                    size: *csize,
                    etag: fingerprint::etag(&tag),
                },
            );
            siblings.push((i, enc));
        }
        totals.identity += size;
        totals.br += encodings.get(&Encoding::Brotli).map_or(size, |r| r.size);
        totals.gzip += encodings.get(&Encoding::Gzip).map_or(size, |r| r.size);
        brotli_files += usize::from(encodings.contains_key(&Encoding::Brotli));
        gzip_files += usize::from(encodings.contains_key(&Encoding::Gzip));
        symfony.insert(
            files[i].rel.clone(),
            manifest::public_url(opts.base_url(), &url_path),
        );
        cdn.entries.insert(
            url_path,
            Entry {
                logical_path: files[i].rel.clone(),
                content_type: content_types[i].clone(),
                size,
                etag: fingerprint::etag(&content_digest[i]),
                integrity: integrity[i].clone(),
                immutable: published[i] != files[i].rel || predigested[i],
                encodings,
            },
        );
    }

    // Write the tree aside.
    let (index_root, index_shards) = cdn_manifest::index::encode_sharded(&cdn);
    // Published files, siblings, the index (root + shards), two JSON manifests, .assetsignore.
    let output_files = n + siblings.len() + 1 + index_shards.len() + 3;
    progress.start(Phase::Write, output_files as u64);
    (0..n).into_par_iter().try_for_each(|i| {
        progress.advance(1);
        staging.write(&format!("{root}{}", published[i]), final_bytes(i))
    })?;
    siblings.par_iter().try_for_each(|&(i, enc)| {
        progress.advance(1);
        let rel = format!("{root}{}{}", published[i], enc.suffix());
        match &blobs[&(i, enc)].0 {
            Blob::Memory(bytes) => staging.write(&rel, bytes),
            Blob::Cached(path) => staging.link(&rel, path),
        }
    })?;
    staging.write(
        manifest::SYMFONY_MANIFEST,
        &manifest::symfony_json(&symfony),
    )?;
    staging.write(cdn_manifest::FILE_NAME, &cdn.to_json())?;
    staging.write(cdn_manifest::INDEX_FILE_NAME, &index_root)?;
    for (i, shard) in index_shards.iter().enumerate() {
        let name = cdn_manifest::shard_path(cdn_manifest::INDEX_FILE_NAME, i);
        staging.write(&name, shard)?;
    }
    // wrangler uploads the whole directory as static assets; the edge reads only the index.
    staging.write(
        ".assetsignore",
        format!(
            "{}\n{}\n",
            manifest::SYMFONY_MANIFEST,
            cdn_manifest::FILE_NAME
        )
        .as_bytes(),
    )?;
    progress.advance((4 + index_shards.len()) as u64);
    if output_files > MAX_FILES {
        warnings.push(Warning::TooManyFiles {
            count: output_files,
            limit: MAX_FILES,
        });
    }
    staging.commit()?;

    for path in &used {
        cache.touch(path);
    }
    cache.prune(&used);
    Ok(Report {
        files: n,
        output_files,
        brotli_files,
        gzip_files,
        bytes: totals,
        cache_hits,
        cache_misses: jobs.len() - cache_hits,
        duration_ms: started.elapsed().as_millis() as u64,
        warnings,
    })
}

fn apply_edits(
    files: &[scan::SourceFile],
    src: &[u8],
    edits: &[Edit],
    published: &[String],
) -> Vec<u8> {
    let replacements: Vec<(Range<usize>, String)> = edits
        .iter()
        .map(|e| {
            let spec = std::str::from_utf8(&src[e.span.clone()]).expect("checked when resolving");
            let text = reference::rewrite(
                spec,
                e.path_len,
                file_name(&files[e.target].rel),
                file_name(&published[e.target]),
            );
            (e.span.clone(), text)
        })
        .collect();
    rewrite::apply(src, &replacements)
}

fn file_name(rel: &str) -> &str {
    rel.rsplit('/').next().unwrap_or(rel)
}
