//! Stage 7, assemble: both manifests, the binary index, the history file and the output tree.
//!
//! The CDN manifest and the index list this build's files and every entry of the kept deploys,
//! each with the id of the newest deploy that publishes it; Symfony's manifest lists this build's
//! files only. Siblings are kept only when worth it ([`compress::worth_keeping`]); each
//! representation's ETag hashes the identity digest with the exact encoder settings, which
//! determine its bytes. The history file records every deploy OUT now holds, every stored file
//! with its SHA-256, and the compressions found not worth keeping.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;

use cdn_manifest::{Delta, Encoding, Entry, Manifest, Representation};
use rayon::prelude::*;
use sha2::{Digest, Sha256};

use super::compress::{Blob, Compressed};
use super::deltas::Deltas;
use super::fingerprint::Fingerprinted;
use super::previous::{Kept, ThisDeploy};
use super::read::Sources;
use super::tree::{Content, Owner, Tree};
use crate::compress;
use crate::content_type;
use crate::error::{BuildError, Warning};
use crate::fingerprint::{self, hex};
use crate::history::{self, dates, Deploy, History, StoredFile};
use crate::manifest;
use crate::options::Options;
use crate::report::{DeployFiles, Totals};

/// The output, ready to be written.
#[derive(Debug)]
pub struct Assembled {
    /// Every file OUT will hold.
    pub tree: Tree,
    /// Byte totals over this build's published files.
    pub totals: Totals,
    /// `.br` siblings kept (this build's files).
    pub brotli_files: usize,
    /// `.gz` siblings kept (this build's files).
    pub gzip_files: usize,
    /// Deltas kept (this build's files).
    pub delta_files: usize,
    /// Entries of kept deploys in the output.
    pub kept_entries: usize,
    /// Per deploy in OUT, newest first: its stored files, and how many no newer deploy needs.
    pub deploys: Vec<DeployFiles>,
}

/// Records a sibling or delta in the history; its SHA-256 is read later when not known.
fn record(
    hist: &mut History,
    unhashed: &mut Vec<(String, PathBuf)>,
    stored: String,
    blob: &Blob,
    size: u64,
    sha: Option<[u8; 32]>,
    codec: String,
) {
    let sha256 = match (sha, blob) {
        (Some(s), _) => hex(&s),
        (None, Blob::Memory(b)) => hex(&fingerprint::sha256(b)),
        (None, Blob::Cached(p) | Blob::History(p)) => {
            unhashed.push((stored.clone(), p.clone()));
            String::new()
        }
    };
    hist.files.insert(
        stored,
        StoredFile {
            sha256,
            size,
            codec: Some(codec),
        },
    );
}

/// Builds the manifests and the history, and claims every output path.
#[allow(clippy::too_many_arguments)]
pub fn assemble(
    opts: &Options,
    this: &ThisDeploy,
    sources: &Sources,
    fp: &Fingerprinted,
    compressed: &Compressed,
    deltas: &Deltas,
    kept: &Kept,
    carried: &HashMap<String, PathBuf>,
    facts: &HashMap<String, StoredFile>,
    warnings: &mut Vec<Warning>,
) -> Result<Assembled, BuildError> {
    let root = opts.public_path.trim_start_matches('/');
    let mut cdn = Manifest::new(opts.public_path.clone());
    let mut symfony = BTreeMap::new();
    let mut totals = Totals::default();
    let (mut brotli_files, mut gzip_files) = (0, 0);
    let mut tree = Tree::default();
    let mut siblings = Vec::new();
    let mut hist = History::new(&opts.public_path);
    // Stored files whose SHA-256 must still be read: (stored path, file to read).
    let mut unhashed: Vec<(String, PathBuf)> = Vec::new();
    let mut no_gain: BTreeMap<[u8; 32], BTreeSet<String>> = BTreeMap::new();
    let mut deltas_of: HashMap<usize, Vec<&super::deltas::Made>> = HashMap::new();
    for m in &deltas.made {
        deltas_of.entry(m.file).or_default().push(m);
    }

    for i in 0..sources.len() {
        let rel = sources.rel(i);
        let published = &fp.published[i];
        let size = fp.final_bytes(sources, i).len() as u64;
        let url_path = format!("{}{published}", opts.public_path);
        tree.claim(
            format!("{root}{published}"),
            Owner::Source(rel.to_string()),
            Content::Source(i),
        )?;
        hist.files.insert(
            url_path.clone(),
            StoredFile {
                sha256: hex(&fp.digests[i]),
                size,
                codec: None,
            },
        );
        let mut encodings = BTreeMap::new();
        for enc in Encoding::ALL {
            let Some(p) = compressed.packed.get(&(i, enc)) else {
                continue;
            };
            if !compress::worth_keeping(size as usize, p.size as usize) {
                no_gain
                    .entry(fp.digests[i])
                    .or_default()
                    .insert(p.codec.tag());
                continue;
            }
            let tag: [u8; 32] = Sha256::new()
                .chain_update(fp.digests[i])
                .chain_update(p.codec.tag().as_bytes())
                .finalize()
                .into();
            encodings.insert(
                enc,
                Representation {
                    size: p.size,
                    etag: fingerprint::etag(&tag),
                },
            );
            let stored = format!("{url_path}{}", enc.suffix());
            record(
                &mut hist,
                &mut unhashed,
                stored,
                &p.blob,
                p.size,
                p.sha256,
                p.codec.tag(),
            );
            siblings.push((
                format!("{root}{published}{}", enc.suffix()),
                Owner::Sibling(rel.to_string(), enc),
                Content::Blob(p.blob.clone()),
            ));
        }
        let mut entry_deltas = Vec::new();
        for m in deltas_of.get(&i).map(Vec::as_slice).unwrap_or(&[]) {
            let stored = Delta::path_for(&url_path, &m.delta.dictionary, m.delta.encoding);
            record(
                &mut hist,
                &mut unhashed,
                stored.clone(),
                &m.blob,
                m.delta.size,
                m.sha256,
                m.tag.clone(),
            );
            siblings.push((
                format!("{}{}", root, &stored[opts.public_path.len()..]),
                Owner::Delta(rel.to_string(), m.delta.encoding),
                Content::Blob(m.blob.clone()),
            ));
            entry_deltas.push(m.delta.clone());
        }
        totals.identity += size;
        totals.br += encodings.get(&Encoding::Brotli).map_or(size, |r| r.size);
        totals.gzip += encodings.get(&Encoding::Gzip).map_or(size, |r| r.size);
        brotli_files += usize::from(encodings.contains_key(&Encoding::Brotli));
        gzip_files += usize::from(encodings.contains_key(&Encoding::Gzip));
        symfony.insert(
            rel.to_string(),
            manifest::public_url(opts.base_url(), &url_path),
        );
        cdn.entries.insert(
            url_path,
            Entry {
                logical_path: rel.to_string(),
                content_type: content_type::for_path(rel),
                size,
                etag: fingerprint::etag(&fp.digests[i]),
                integrity: fingerprint::integrity(fp.final_bytes(sources, i)),
                immutable: fp.immutable[i],
                encodings,
                deploy: this.id.clone(),
                use_as_dictionary: kept.dictionaries.get(&i).cloned(),
                deltas: entry_deltas,
            },
        );
    }
    for &(i, codec) in &compressed.skipped {
        no_gain
            .entry(fp.digests[i])
            .or_default()
            .insert(codec.tag());
    }
    for (digest, tag) in &deltas.no_gain {
        no_gain.entry(*digest).or_default().insert(tag.clone());
    }
    let delta_files = deltas.made.len();
    // Published files first, so a conflict names the source file before the sibling.
    for (path, owner, content) in siblings {
        tree.claim(path, owner, content)?;
    }

    // The kept deploys' entries this build does not publish, each with all of its files or not
    // at all.
    let mut newest: HashMap<&str, &str> = HashMap::new();
    for d in &kept.deploys {
        for p in &d.entries {
            newest.entry(p.as_str()).or_insert(d.id.as_str());
        }
    }
    let mut kept_entries = 0;
    for (path, e) in &kept.entries {
        let deploy = newest.get(path.as_str()).copied().unwrap_or_default();
        let stored = History::stored_paths(path, e);
        let relative = |s: &str| format!("{root}{}", &s[opts.public_path.len()..]);
        let blocked = stored.iter().find_map(|s| {
            let by = tree.blocked(&relative(s)).map(|o| o.to_string());
            let missing = (!carried.contains_key(s) || !facts.contains_key(s))
                .then(|| "the history does not hold it".to_string());
            by.or(missing).map(|why| (s.clone(), why))
        });
        if let Some((file, why)) = blocked {
            warnings.push(Warning::KeptFileDropped {
                file,
                deploy: deploy.to_string(),
                reason: why,
            });
            continue;
        }
        for s in &stored {
            tree.claim(
                relative(s),
                Owner::Kept(path.clone(), deploy.to_string()),
                Content::Blob(Blob::History(carried[s].clone())),
            )?;
            hist.files.insert(s.clone(), facts[s].clone());
        }
        let mut e = e.clone();
        e.deploy = deploy.to_string();
        cdn.entries.insert(path.clone(), e);
        kept_entries += 1;
    }

    // SHA-256 of the stored files known only by their path.
    let hashed: Vec<(String, Result<String, BuildError>)> = unhashed
        .par_iter()
        .map(|(stored, path)| {
            let sha = std::fs::read(path)
                .map(|b| hex(&fingerprint::sha256(&b)))
                .map_err(|e| BuildError::io("read", path, e));
            (stored.clone(), sha)
        })
        .collect();
    for (stored, sha) in hashed {
        if let Some(f) = hist.files.get_mut(&stored) {
            f.sha256 = sha?;
        }
    }

    // The deploys OUT holds, newest first, each described by the entries it publishes.
    let mut current: Vec<String> = (0..sources.len())
        .map(|i| format!("{}{}", opts.public_path, fp.published[i]))
        .collect();
    current.sort();
    // Newest first, whatever the clocks: a kept deploy dated after this build's clock (another
    // runner's clock ahead) gives this deploy its date, else the history would be out of order.
    let newest_kept = kept
        .deploys
        .iter()
        .filter_map(|d| dates::parse(&d.date))
        .max();
    let mut deploys = vec![Deploy {
        id: this.id.clone(),
        date: dates::format(this.time.max(newest_kept.unwrap_or(0))),
        files: 0,
        bytes: 0,
        entries: current,
    }];
    for d in &kept.deploys {
        let mut d = d.clone();
        d.entries.retain(|p| cdn.entries.contains_key(p));
        deploys.push(d);
    }
    let mut seen: BTreeSet<String> = BTreeSet::new();
    let mut counts = Vec::new();
    for d in &mut deploys {
        let (mut files, mut bytes, mut new) = (0u64, 0u64, 0usize);
        for p in &d.entries {
            for s in History::stored_paths(p, &cdn.entries[p]) {
                files += 1;
                bytes += hist.files.get(&s).map_or(0, |f| f.size);
                new += usize::from(seen.insert(s));
            }
        }
        d.files = files;
        d.bytes = bytes;
        counts.push(DeployFiles {
            id: d.id.clone(),
            files: files as usize,
            not_in_newer: new,
        });
    }
    hist.deploys = deploys;
    hist.entries = cdn.entries.clone();
    hist.no_gain = no_gain
        .into_iter()
        .map(|(d, tags)| (hex(&d), tags.into_iter().collect()))
        .collect();

    let (index_root, index_shards) = cdn_manifest::index::encode_sharded(&cdn);
    let builder = |tree: &mut Tree, path: String, what, bytes| {
        tree.claim(path, Owner::Builder(what), Content::Bytes(bytes))
    };
    builder(
        &mut tree,
        manifest::SYMFONY_MANIFEST.into(),
        "Symfony's manifest",
        manifest::symfony_json(&symfony),
    )?;
    builder(
        &mut tree,
        cdn_manifest::FILE_NAME.into(),
        "the CDN manifest",
        cdn.to_json(),
    )?;
    builder(
        &mut tree,
        cdn_manifest::INDEX_FILE_NAME.into(),
        "the CDN manifest index",
        index_root,
    )?;
    for (i, shard) in index_shards.into_iter().enumerate() {
        let name = cdn_manifest::shard_path(cdn_manifest::INDEX_FILE_NAME, i);
        builder(&mut tree, name, "a CDN manifest index shard", shard)?;
    }
    builder(
        &mut tree,
        history::format::FILE_NAME.into(),
        "the deploy history",
        hist.to_json(),
    )?;
    // wrangler uploads the whole directory as static assets; the edge reads only the index (and
    // serves the history to the next build).
    let ignore = format!(
        "{}\n{}\n",
        manifest::SYMFONY_MANIFEST,
        cdn_manifest::FILE_NAME
    );
    builder(
        &mut tree,
        ".assetsignore".into(),
        "the .assetsignore file",
        ignore.into_bytes(),
    )?;
    Ok(Assembled {
        tree,
        totals,
        brotli_files,
        gzip_files,
        delta_files,
        kept_entries,
        deploys: counts,
    })
}
