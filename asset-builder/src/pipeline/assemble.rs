//! Stage 5, assemble: both manifests, the binary index and the output tree.
//!
//! Siblings are kept only when worth it ([`compress::worth_keeping`]); each representation's
//! ETag hashes the identity digest with the exact encoder settings, which determine its bytes.

use std::collections::BTreeMap;

use cdn_manifest::{Encoding, Entry, Manifest, Representation};
use sha2::{Digest, Sha256};

use super::compress::Compressed;
use super::fingerprint::Fingerprinted;
use super::read::Sources;
use super::tree::{Content, Owner, Tree};
use crate::compress;
use crate::content_type;
use crate::error::BuildError;
use crate::fingerprint;
use crate::manifest;
use crate::options::Options;
use crate::report::Totals;

/// The output, ready to be written.
#[derive(Debug)]
pub struct Assembled {
    /// Every file OUT will hold.
    pub tree: Tree,
    /// Byte totals over the published files.
    pub totals: Totals,
    /// `.br` siblings kept.
    pub brotli_files: usize,
    /// `.gz` siblings kept.
    pub gzip_files: usize,
}

/// Builds the manifests and claims every output path.
pub fn assemble(
    opts: &Options,
    sources: &Sources,
    fp: &Fingerprinted,
    compressed: &Compressed,
) -> Result<Assembled, BuildError> {
    let root = opts.public_path.trim_start_matches('/');
    let mut cdn = Manifest::new(opts.public_path.clone());
    let mut symfony = BTreeMap::new();
    let mut totals = Totals::default();
    let (mut brotli_files, mut gzip_files) = (0, 0);
    let mut tree = Tree::default();
    let mut siblings = Vec::new();
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
        let mut encodings = BTreeMap::new();
        for enc in Encoding::ALL {
            let Some(p) = compressed.packed.get(&(i, enc)) else {
                continue;
            };
            if !compress::worth_keeping(size as usize, p.size as usize) {
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
            siblings.push((
                format!("{root}{published}{}", enc.suffix()),
                Owner::Sibling(rel.to_string(), enc),
                Content::Blob(p.blob.clone()),
            ));
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
                deploy: String::new(),
                use_as_dictionary: None,
                deltas: Vec::new(),
            },
        );
    }
    // Published files first, so a conflict names the source file before the sibling.
    for (path, owner, content) in siblings {
        tree.claim(path, owner, content)?;
    }

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
    // wrangler uploads the whole directory as static assets; the edge reads only the index.
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
    })
}
