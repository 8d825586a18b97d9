//! The binary index of a [`Manifest`]: what the edge worker loads.
//!
//! Parsing 20,000 JSON entries on an isolate's first request would cost tens of milliseconds, so
//! the builder also writes `cdn-manifest.bin`: the fields the edge needs to answer a request
//! (path, content type, size, validators, immutability, precompressed representations, deploy id,
//! `Use-As-Dictionary` value and dictionary-compressed deltas; not the logical path or SRI
//! integrity, which only the JSON carries) laid out as an open-addressing hash table over one
//! string area. Loading checks only the header and the table bounds, in constant
//! time; a lookup hashes the path and probes a bucket or two, so neither cost grows with the
//! manifest. Every read is bounds-checked: a truncated or hostile file gives an [`IndexError`],
//! never a panic.
//!
//! Layout (little-endian `u32` unless noted):
//! ```text
//! 0   magic "CDNMIDX\0"          8 bytes
//! 8   version                    = FORMAT_VERSION
//! 12  entry count
//! 16  bucket count               power of two, > entry count
//! 20  entries offset
//! 24  deltas offset
//! 28  delta count
//! 32  strings offset
//! 36  strings length             strings run to the end of the file
//! 40  public_path                (offset, length) into strings
//! 48  buckets                    bucket count × u32: entry index + 1, 0 = empty
//! ..  entries                    entry count × 96 bytes:
//!       path, content_type, etag   3 × (offset u32, length u32)
//!       size u64, flags u32 (bit 0 = immutable), pad u32
//!       br size u64 (u64::MAX = none), br etag (offset, length)
//!       gzip size u64 (u64::MAX = none), gzip etag (offset, length)
//!       deploy id                  (offset, length)
//!       Use-As-Dictionary value    (offset, length); length 0 = none
//!       first delta u32, delta count u32
//! ..  deltas                     delta count × 56 bytes:
//!       dictionary SHA-256 (32 bytes), size u64, etag (offset, length),
//!       coding u32 (0 = dcz, 1 = dcb), pad u32
//! ..  strings                    UTF-8, deduplicated
//! ```
//! Buckets are found by FNV-1a (64-bit) of the path, with linear probing.

use std::collections::HashMap;

use crate::{DeltaEncoding, Encoding, Entry, Manifest, FORMAT_VERSION};

/// The file name of the binary index's root inside the builder's output directory. The shards
/// sit beside it (see [`shard_path`]).
pub const INDEX_FILE_NAME: &str = "cdn-manifest.bin";

/// Entries per shard the builder aims for: a shard is a few tens of KiB, so the first request of
/// an isolate fetches that much whatever the manifest's size.
pub const ENTRIES_PER_SHARD: usize = 256;
/// The most shards an index is split into (each is one uploaded file).
pub const MAX_SHARDS: usize = 256;

const ROOT_MAGIC: &[u8; 8] = b"CDNMROOT";

const MAGIC: &[u8; 8] = b"CDNMIDX\0";
const HEADER: usize = 48;
const ENTRY: usize = 96;
const DELTA: usize = 56;
const NONE: u64 = u64::MAX;

/// Why an index could not be loaded or read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IndexError {
    /// Not an index file (wrong magic).
    #[error("not a CDN manifest index (bad magic bytes)")]
    Magic,
    /// Written by an incompatible builder.
    #[error(
        "CDN manifest index has format version {found}, this reader understands version {expected}"
    )]
    Version {
        /// Version in the file.
        found: u32,
        /// [`FORMAT_VERSION`].
        expected: u32,
    },
    /// A table or string points outside the file (truncated or corrupted).
    #[error("CDN manifest index is corrupted: {0}")]
    Corrupt(&'static str),
}

/// A loaded index. Owns its bytes.
#[derive(Debug, Clone)]
pub struct Index {
    bytes: Box<[u8]>,
    entries: usize,
    buckets: usize,
    entries_at: usize,
    deltas_at: usize,
    deltas: usize,
    strings_at: usize,
}

/// One entry read from an [`Index`], borrowing its strings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EntryRef<'a> {
    /// Published URL path.
    pub path: &'a str,
    /// `Content-Type` to send.
    pub content_type: &'a str,
    /// Identity size in bytes.
    pub size: u64,
    /// Strong ETag of the identity bytes.
    pub etag: &'a str,
    /// Fingerprinted: cache forever.
    pub immutable: bool,
    /// Brotli representation (size, ETag).
    pub br: Option<(u64, &'a str)>,
    /// gzip representation (size, ETag).
    pub gzip: Option<(u64, &'a str)>,
    /// The id of the newest kept deploy that publishes the file.
    pub deploy: &'a str,
    /// The `Use-As-Dictionary` value its responses carry, if any.
    pub use_as_dictionary: Option<&'a str>,
    /// Its dictionary-compressed representations.
    pub deltas: Deltas<'a>,
}

/// The dictionary-compressed representations of one entry: a view of checked records.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Deltas<'a> {
    records: &'a [u8],
    strings: &'a [u8],
}

/// One dictionary-compressed representation read from an [`Index`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeltaRef<'a> {
    /// `dcz` or `dcb`.
    pub encoding: DeltaEncoding,
    /// SHA-256 of the dictionary it was compressed against.
    pub dictionary: &'a [u8; 32],
    /// Size in bytes of the stored body.
    pub size: u64,
    /// Its strong ETag.
    pub etag: &'a str,
}

impl<'a> Deltas<'a> {
    /// Number of deltas.
    pub fn len(&self) -> usize {
        self.records.len() / DELTA
    }

    /// True when the entry has none.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// Every delta, in the builder's order (most recent dictionary first).
    pub fn iter(&self) -> impl Iterator<Item = DeltaRef<'a>> + 'a {
        let strings = self.strings;
        self.records
            .chunks_exact(DELTA)
            .filter_map(move |r| delta_record(r, strings).ok())
    }

    /// The delta against the dictionary whose SHA-256 is `dictionary`, in `encoding`.
    pub fn get(&self, dictionary: &[u8; 32], encoding: DeltaEncoding) -> Option<DeltaRef<'a>> {
        self.iter()
            .find(|d| d.dictionary == dictionary && d.encoding == encoding)
    }
}

/// Decodes one 56-byte delta record whose strings live in `strings`.
fn delta_record<'a>(r: &'a [u8], strings: &'a [u8]) -> Result<DeltaRef<'a>, IndexError> {
    let bad = IndexError::Corrupt("delta");
    let dictionary: &[u8; 32] = r
        .get(..32)
        .and_then(|d| d.try_into().ok())
        .ok_or(bad.clone())?;
    let size = u64_at(r, 32).ok_or(bad.clone())?;
    let off = u32_at(r, 40).ok_or(bad.clone())? as usize;
    let len = u32_at(r, 44).ok_or(bad.clone())? as usize;
    let encoding = match u32_at(r, 48).ok_or(bad.clone())? {
        0 => DeltaEncoding::Zstd,
        1 => DeltaEncoding::Brotli,
        _ => return Err(IndexError::Corrupt("delta coding")),
    };
    let etag = off
        .checked_add(len)
        .and_then(|end| strings.get(off..end))
        .ok_or(IndexError::Corrupt("string past the end"))?;
    let etag = std::str::from_utf8(etag).map_err(|_| IndexError::Corrupt("string is not UTF-8"))?;
    Ok(DeltaRef {
        encoding,
        dictionary,
        size,
        etag,
    })
}

impl EntryRef<'_> {
    /// The precompressed representation in `encoding`, if the builder kept one.
    pub fn representation(&self, encoding: Encoding) -> Option<(u64, &str)> {
        match encoding {
            Encoding::Brotli => self.br,
            Encoding::Gzip => self.gzip,
        }
    }
}

fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(
        b.get(at..at.checked_add(4)?)?.try_into().ok()?,
    ))
}

fn u64_at(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(
        b.get(at..at.checked_add(8)?)?.try_into().ok()?,
    ))
}

impl Index {
    /// Checks the header and the bounds of every table and entry.
    pub fn from_bytes(bytes: impl Into<Box<[u8]>>) -> Result<Self, IndexError> {
        let bytes = bytes.into();
        if bytes.len() < MAGIC.len() || &bytes[..MAGIC.len()] != MAGIC {
            return Err(IndexError::Magic);
        }
        if bytes.len() < HEADER {
            return Err(IndexError::Corrupt("truncated header"));
        }
        let h = |at| {
            u32_at(&bytes, at)
                .map(|v| v as usize)
                .ok_or(IndexError::Corrupt("header"))
        };
        let version = h(8)? as u32;
        if version != FORMAT_VERSION {
            return Err(IndexError::Version {
                found: version,
                expected: FORMAT_VERSION,
            });
        }
        let (entries, buckets, entries_at, deltas_at, deltas, strings_at, strings_len) =
            (h(12)?, h(16)?, h(20)?, h(24)?, h(28)?, h(32)?, h(36)?);
        if !buckets.is_power_of_two() || buckets <= entries {
            return Err(IndexError::Corrupt("bucket count"));
        }
        let buckets_end = buckets.checked_mul(4).and_then(|b| b.checked_add(HEADER));
        let entries_end = entries
            .checked_mul(ENTRY)
            .and_then(|e| e.checked_add(entries_at));
        let deltas_end = deltas
            .checked_mul(DELTA)
            .and_then(|d| d.checked_add(deltas_at));
        if buckets_end != Some(entries_at)
            || entries_end != Some(deltas_at)
            || deltas_end != Some(strings_at)
            || strings_at.checked_add(strings_len) != Some(bytes.len())
        {
            return Err(IndexError::Corrupt("table bounds"));
        }
        let index = Index {
            bytes,
            entries,
            buckets,
            entries_at,
            deltas_at,
            deltas,
            strings_at,
        };
        index.string(40)?;
        Ok(index)
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries
    }

    /// True when the index holds no entry.
    pub fn is_empty(&self) -> bool {
        self.entries == 0
    }

    /// The public path every entry lives under.
    pub fn public_path(&self) -> Result<&str, IndexError> {
        self.string(40)
    }

    /// The entry published at exactly `path`. Cost is independent of the number of entries.
    pub fn get(&self, path: &str) -> Result<Option<EntryRef<'_>>, IndexError> {
        let mask = self.buckets - 1;
        let mut b = fnv1a(path.as_bytes()) as usize & mask;
        for _ in 0..self.buckets {
            let slot =
                u32_at(&self.bytes, HEADER + 4 * b).ok_or(IndexError::Corrupt("bucket"))? as usize;
            if slot == 0 {
                return Ok(None);
            }
            // A slot names an entry of the table; anything else would read a record out of the
            // bucket or string area, one `iter` never lists.
            if slot > self.entries {
                return Err(IndexError::Corrupt("bucket slot outside the entry table"));
            }
            let at = self.entries_at + (slot - 1) * ENTRY;
            if self.string(at)? == path {
                return self.entry(at).map(Some);
            }
            b = (b + 1) & mask;
        }
        Ok(None)
    }

    /// Every entry, in index order (for tests and tools).
    pub fn iter(&self) -> impl Iterator<Item = Result<EntryRef<'_>, IndexError>> + '_ {
        (0..self.entries).map(move |i| self.entry(self.entries_at + i * ENTRY))
    }

    fn entry(&self, at: usize) -> Result<EntryRef<'_>, IndexError> {
        let b = &self.bytes;
        let num = |at| u64_at(b, at).ok_or(IndexError::Corrupt("entry"));
        let rep = |size_at: usize| -> Result<Option<(u64, &str)>, IndexError> {
            let size = num(size_at)?;
            Ok(if size == NONE {
                None
            } else {
                Some((size, self.string(size_at + 8)?))
            })
        };
        let dictionary = self.string(at + 80)?;
        let first = u32_at(b, at + 88).ok_or(IndexError::Corrupt("entry"))? as usize;
        let count = u32_at(b, at + 92).ok_or(IndexError::Corrupt("entry"))? as usize;
        if first.checked_add(count).is_none_or(|end| end > self.deltas) {
            return Err(IndexError::Corrupt("delta range"));
        }
        let start = self.deltas_at + first * DELTA;
        let records = &b[start..start + count * DELTA];
        let strings = &b[self.strings_at..];
        for r in records.chunks_exact(DELTA) {
            delta_record(r, strings)?;
        }
        Ok(EntryRef {
            path: self.string(at)?,
            content_type: self.string(at + 8)?,
            etag: self.string(at + 16)?,
            size: num(at + 24)?,
            immutable: u32_at(b, at + 32).ok_or(IndexError::Corrupt("entry"))? & 1 == 1,
            br: rep(at + 40)?,
            gzip: rep(at + 56)?,
            deploy: self.string(at + 72)?,
            use_as_dictionary: (!dictionary.is_empty()).then_some(dictionary),
            deltas: Deltas { records, strings },
        })
    }

    fn string_bounds(&self, at: usize) -> Result<std::ops::Range<usize>, IndexError> {
        let off = u32_at(&self.bytes, at).ok_or(IndexError::Corrupt("string reference"))? as usize;
        let len =
            u32_at(&self.bytes, at + 4).ok_or(IndexError::Corrupt("string reference"))? as usize;
        let start = self
            .strings_at
            .checked_add(off)
            .ok_or(IndexError::Corrupt("string"))?;
        let end = start
            .checked_add(len)
            .ok_or(IndexError::Corrupt("string"))?;
        if end > self.bytes.len() {
            return Err(IndexError::Corrupt("string past the end"));
        }
        Ok(start..end)
    }

    fn string(&self, at: usize) -> Result<&str, IndexError> {
        let range = self.string_bounds(at)?;
        std::str::from_utf8(&self.bytes[range])
            .map_err(|_| IndexError::Corrupt("string is not UTF-8"))
    }
}

/// The root of a sharded index: how many shards there are and which one holds a path.
///
/// Layout: magic `CDNMROOT`, version `u32`, shard count `u32` (a power of two), public path length
/// `u32`, public path bytes. Shard `i` of the root at `/cdn-manifest.bin` is
/// `/cdn-manifest-<i>.bin`, itself an [`Index`] of the entries whose path hashes to `i`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Root {
    shards: usize,
    public_path: String,
}

impl Root {
    /// Parses a root file.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, IndexError> {
        if bytes.len() < ROOT_MAGIC.len() || &bytes[..ROOT_MAGIC.len()] != ROOT_MAGIC {
            return Err(IndexError::Magic);
        }
        let version = u32_at(bytes, 8).ok_or(IndexError::Corrupt("truncated header"))?;
        if version != FORMAT_VERSION {
            return Err(IndexError::Version {
                found: version,
                expected: FORMAT_VERSION,
            });
        }
        let shards = u32_at(bytes, 12).ok_or(IndexError::Corrupt("truncated header"))? as usize;
        let len = u32_at(bytes, 16).ok_or(IndexError::Corrupt("truncated header"))? as usize;
        if !shards.is_power_of_two() || shards > MAX_SHARDS {
            return Err(IndexError::Corrupt("shard count"));
        }
        let path = bytes
            .get(20..20usize.saturating_add(len))
            .ok_or(IndexError::Corrupt("public path"))?;
        let public_path = std::str::from_utf8(path)
            .map_err(|_| IndexError::Corrupt("public path is not UTF-8"))?;
        Ok(Root {
            shards,
            public_path: public_path.to_string(),
        })
    }

    /// Number of shards.
    pub fn shard_count(&self) -> usize {
        self.shards
    }

    /// The public path every entry lives under.
    pub fn public_path(&self) -> &str {
        &self.public_path
    }

    /// The shard that holds `path` (if any shard does).
    pub fn shard_of(&self, path: &str) -> usize {
        shard_of(path, self.shards)
    }
}

/// Shard of `path` among `shards` (a power of two): the high bits of its hash, independent of the
/// low bits that pick its bucket inside the shard.
fn shard_of(path: &str, shards: usize) -> usize {
    ((fnv1a(path.as_bytes()) >> 40) as usize) & (shards - 1)
}

/// Where shard `i` of the root at `root_path` is: `/cdn-manifest.bin` → `/cdn-manifest-3.bin`.
pub fn shard_path(root_path: &str, i: usize) -> String {
    match root_path.strip_suffix(".bin") {
        Some(stem) => format!("{stem}-{i}.bin"),
        None => format!("{root_path}-{i}"),
    }
}

/// Writes a sharded index of `manifest`: the root file and the shards, in shard order.
pub fn encode_sharded(manifest: &Manifest) -> (Vec<u8>, Vec<Vec<u8>>) {
    let wanted = manifest.entries.len().div_ceil(ENTRIES_PER_SHARD).max(1);
    let shards = wanted.next_power_of_two().min(MAX_SHARDS);
    let mut parts: Vec<Manifest> = (0..shards)
        .map(|_| Manifest::new(manifest.public_path.clone()))
        .collect();
    for (path, entry) in &manifest.entries {
        parts[shard_of(path, shards)]
            .entries
            .insert(path.clone(), entry.clone());
    }
    let mut root = Vec::with_capacity(20 + manifest.public_path.len());
    root.extend_from_slice(ROOT_MAGIC);
    for v in [
        FORMAT_VERSION,
        shards as u32,
        manifest.public_path.len() as u32,
    ] {
        root.extend_from_slice(&v.to_le_bytes());
    }
    root.extend_from_slice(manifest.public_path.as_bytes());
    (root, parts.iter().map(encode).collect())
}

/// Writes the index of `manifest`. Deterministic: equal manifests give equal bytes.
pub fn encode(manifest: &Manifest) -> Vec<u8> {
    let mut strings: Vec<u8> = Vec::new();
    let mut seen: HashMap<String, (u32, u32)> = HashMap::new();
    let mut intern = |s: &str, strings: &mut Vec<u8>| -> (u32, u32) {
        if let Some(&r) = seen.get(s) {
            return r;
        }
        let r = (strings.len() as u32, s.len() as u32);
        strings.extend_from_slice(s.as_bytes());
        seen.insert(s.to_string(), r);
        r
    };
    let entries: Vec<(&String, &Entry)> = manifest.entries.iter().collect();
    let n = entries.len();
    let n_deltas: usize = entries.iter().map(|(_, e)| e.deltas.len()).sum();
    let buckets = (n * 2 + 1).next_power_of_two().max(2);
    let entries_at = HEADER + 4 * buckets;
    let deltas_at = entries_at + ENTRY * n;
    let strings_at = deltas_at + DELTA * n_deltas;
    let mut delta_recs = Vec::with_capacity(DELTA * n_deltas);

    let mut table = vec![0u32; buckets];
    let mut recs = Vec::with_capacity(ENTRY * n);
    let public = intern(&manifest.public_path, &mut strings);
    for (i, (path, e)) in entries.iter().enumerate() {
        let mut b = fnv1a(path.as_bytes()) as usize & (buckets - 1);
        while table[b] != 0 {
            b = (b + 1) & (buckets - 1);
        }
        table[b] = i as u32 + 1;
        for s in [path.as_str(), &e.content_type, &e.etag] {
            let (o, l) = intern(s, &mut strings);
            recs.extend_from_slice(&o.to_le_bytes());
            recs.extend_from_slice(&l.to_le_bytes());
        }
        recs.extend_from_slice(&e.size.to_le_bytes());
        recs.extend_from_slice(&u32::from(e.immutable).to_le_bytes());
        recs.extend_from_slice(&0u32.to_le_bytes());
        for enc in Encoding::ALL {
            let (size, (o, l)) = match e.encodings.get(&enc) {
                Some(r) => (r.size, intern(&r.etag, &mut strings)),
                None => (NONE, (0, 0)),
            };
            recs.extend_from_slice(&size.to_le_bytes());
            recs.extend_from_slice(&o.to_le_bytes());
            recs.extend_from_slice(&l.to_le_bytes());
        }
        let dictionary = e.use_as_dictionary.as_deref().unwrap_or("");
        for s in [e.deploy.as_str(), dictionary] {
            let (o, l) = intern(s, &mut strings);
            recs.extend_from_slice(&o.to_le_bytes());
            recs.extend_from_slice(&l.to_le_bytes());
        }
        let first = (delta_recs.len() / DELTA) as u32;
        recs.extend_from_slice(&first.to_le_bytes());
        recs.extend_from_slice(&(e.deltas.len() as u32).to_le_bytes());
        for d in &e.deltas {
            // Checked by `Manifest::from_json`; a builder bug here would name no dictionary.
            delta_recs.extend_from_slice(&crate::parse_hex32(&d.dictionary).unwrap_or([0; 32]));
            delta_recs.extend_from_slice(&d.size.to_le_bytes());
            let (o, l) = intern(&d.etag, &mut strings);
            delta_recs.extend_from_slice(&o.to_le_bytes());
            delta_recs.extend_from_slice(&l.to_le_bytes());
            let coding: u32 = match d.encoding {
                DeltaEncoding::Zstd => 0,
                DeltaEncoding::Brotli => 1,
            };
            delta_recs.extend_from_slice(&coding.to_le_bytes());
            delta_recs.extend_from_slice(&0u32.to_le_bytes());
        }
    }
    let mut out = Vec::with_capacity(strings_at + strings.len());
    out.extend_from_slice(MAGIC);
    for v in [
        FORMAT_VERSION,
        n as u32,
        buckets as u32,
        entries_at as u32,
        deltas_at as u32,
        n_deltas as u32,
        strings_at as u32,
        strings.len() as u32,
        public.0,
        public.1,
    ] {
        out.extend_from_slice(&v.to_le_bytes());
    }
    for slot in table {
        out.extend_from_slice(&slot.to_le_bytes());
    }
    out.extend_from_slice(&recs);
    out.extend_from_slice(&delta_recs);
    out.extend_from_slice(&strings);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Delta, Representation};
    use std::collections::BTreeMap;

    fn manifest(n: usize) -> Manifest {
        let mut m = Manifest::new("/assets/");
        for i in 0..n {
            let mut encodings = BTreeMap::new();
            if i % 2 == 0 {
                encodings.insert(
                    Encoding::Brotli,
                    Representation {
                        size: 10 + i as u64,
                        etag: format!("\"b{i}\""),
                    },
                );
            }
            if i % 3 == 0 {
                encodings.insert(
                    Encoding::Gzip,
                    Representation {
                        size: 20 + i as u64,
                        etag: format!("\"g{i}\""),
                    },
                );
            }
            m.entries.insert(
                format!("/assets/f{i}-0123456789abcdef.css"),
                Entry {
                    logical_path: format!("f{i}.css"),
                    content_type: "text/css; charset=utf-8".into(),
                    size: 100 + i as u64,
                    etag: format!("\"e{i}\""),
                    integrity: format!("sha384-{i}"),
                    immutable: i % 5 != 0,
                    encodings,
                    deploy: format!("d{}", i % 3),
                    use_as_dictionary: (i % 4 == 0)
                        .then(|| format!("match=\"/assets/f{i}-*.css\"")),
                    deltas: (0..i % 3)
                        .map(|k| Delta {
                            encoding: if k == 0 {
                                DeltaEncoding::Zstd
                            } else {
                                DeltaEncoding::Brotli
                            },
                            dictionary: format!("{:02x}", (i + k) % 90).repeat(32),
                            size: 5 + k as u64,
                            etag: format!("\"dc{i}-{k}\""),
                        })
                        .collect(),
                },
            );
        }
        m
    }

    #[test]
    fn round_trips_and_finds_every_entry() {
        for n in [0, 1, 2, 3, 100, 1000] {
            let m = manifest(n);
            let idx = Index::from_bytes(encode(&m)).unwrap();
            assert_eq!(idx.len(), n);
            assert_eq!(idx.public_path().unwrap(), "/assets/");
            for (path, e) in &m.entries {
                let got = idx.get(path).unwrap().unwrap();
                assert_eq!(got.path, path);
                assert_eq!(got.content_type, e.content_type);
                assert_eq!(got.etag, e.etag);
                assert_eq!(got.size, e.size);
                assert_eq!(got.immutable, e.immutable);
                for enc in Encoding::ALL {
                    let want = e.encodings.get(&enc).map(|r| (r.size, r.etag.as_str()));
                    assert_eq!(got.representation(enc), want);
                }
                assert_eq!(got.deploy, e.deploy);
                assert_eq!(got.use_as_dictionary, e.use_as_dictionary.as_deref());
                assert_eq!(got.deltas.len(), e.deltas.len());
                for (d, want) in got.deltas.iter().zip(&e.deltas) {
                    assert_eq!(d.encoding, want.encoding);
                    assert_eq!(d.size, want.size);
                    assert_eq!(d.etag, want.etag);
                    let hash = crate::parse_hex32(&want.dictionary).unwrap();
                    assert_eq!(d.dictionary, &hash);
                    assert_eq!(got.deltas.get(&hash, want.encoding), Some(d));
                }
                assert_eq!(got.deltas.get(&[0x5a; 32], DeltaEncoding::Zstd), None);
            }
            assert_eq!(idx.iter().filter(|e| e.is_ok()).count(), n);
            assert_eq!(idx.get("/assets/nope.css").unwrap(), None);
            assert_eq!(idx.get("").unwrap(), None);
        }
    }

    #[test]
    fn sharded_index_finds_every_entry_in_its_shard() {
        for n in [0, 1, 300, 5000] {
            let m = manifest(n);
            let (root, shards) = encode_sharded(&m);
            let root = Root::from_bytes(&root).unwrap();
            assert_eq!(root.shard_count(), shards.len());
            assert_eq!(root.public_path(), "/assets/");
            assert!(shards.len().is_power_of_two());
            assert!(
                n < ENTRIES_PER_SHARD || shards.len() > 1,
                "{n} entries in one shard"
            );
            let shards: Vec<Index> = shards
                .into_iter()
                .map(|b| Index::from_bytes(b).unwrap())
                .collect();
            assert_eq!(shards.iter().map(Index::len).sum::<usize>(), n);
            for (path, e) in &m.entries {
                let got = shards[root.shard_of(path)].get(path).unwrap().unwrap();
                assert_eq!(got.etag, e.etag);
            }
        }
        assert_eq!(shard_path("/cdn-manifest.bin", 7), "/cdn-manifest-7.bin");
        assert!(Root::from_bytes(b"CDNMROOT").is_err());
        assert!(matches!(
            Root::from_bytes(b"CDNMIDX\0........"),
            Err(IndexError::Magic)
        ));
    }

    /// One 72-byte entry record pointing at strings `(offset, length)`.
    fn record(path: (u32, u32), content_type: (u32, u32), etag: (u32, u32)) -> Vec<u8> {
        let mut r = Vec::new();
        for (o, l) in [path, content_type, etag] {
            r.extend_from_slice(&o.to_le_bytes());
            r.extend_from_slice(&l.to_le_bytes());
        }
        r.extend_from_slice(&7u64.to_le_bytes());
        r.extend_from_slice(&[0; 8]);
        for _ in Encoding::ALL {
            r.extend_from_slice(&NONE.to_le_bytes());
            r.extend_from_slice(&[0; 8]);
        }
        // deploy = the path's string, no dictionary, no deltas
        r.extend_from_slice(&path.0.to_le_bytes());
        r.extend_from_slice(&path.1.to_le_bytes());
        r.extend_from_slice(&[0; 16]);
        assert_eq!(r.len(), ENTRY);
        r
    }

    /// The audit's hand-made index: one real entry, and a bucket whose slot (2) points past the
    /// one-entry table at a record forged at the start of the string area. `get` used to return
    /// that record, which `iter` never lists; now it is refused as corrupt.
    #[test]
    fn a_bucket_slot_outside_the_entry_table_is_corrupt() {
        let (real, forged) = ("/assets/real.css", "/assets/x.css");
        let mut strings = Vec::new();
        let add = |s: &str, strings: &mut Vec<u8>| {
            let r = (ENTRY as u32 + strings.len() as u32, s.len() as u32);
            strings.extend_from_slice(s.as_bytes());
            r
        };
        let public = add("/assets/", &mut strings);
        let (real_s, forged_s) = (add(real, &mut strings), add(forged, &mut strings));
        let (ct, etag) = (add("text/css", &mut strings), add("\"e\"", &mut strings));
        let mut area = record(forged_s, ct, etag);
        area.extend_from_slice(&strings);

        let (entries, buckets) = (1u32, 2u32);
        let entries_at = HEADER as u32 + 4 * buckets;
        let strings_at = entries_at + ENTRY as u32;
        let mut v = MAGIC.to_vec();
        for x in [
            FORMAT_VERSION,
            entries,
            buckets,
            entries_at,
            strings_at,
            0,
            strings_at,
            area.len() as u32,
            public.0,
            public.1,
        ] {
            v.extend_from_slice(&x.to_le_bytes());
        }
        let forged_home = fnv1a(forged.as_bytes()) as usize & 1;
        let mut table = [0u32; 2];
        table[forged_home] = 2;
        table[1 - forged_home] = 1;
        for slot in table {
            v.extend_from_slice(&slot.to_le_bytes());
        }
        v.extend_from_slice(&record(real_s, ct, etag));
        v.extend_from_slice(&area);

        let idx = Index::from_bytes(v).unwrap();
        let listed: Vec<_> = idx.iter().map(|e| e.unwrap().path).collect();
        assert_eq!(listed, [real]);
        assert_eq!(
            idx.get(forged).unwrap_err(),
            IndexError::Corrupt("bucket slot outside the entry table")
        );
    }

    #[test]
    fn encoding_is_deterministic() {
        assert_eq!(encode(&manifest(50)), encode(&manifest(50)));
    }

    #[test]
    fn rejects_bad_files_without_panicking() {
        assert_eq!(
            Index::from_bytes(b"hello".to_vec()).unwrap_err(),
            IndexError::Magic
        );
        let good = encode(&manifest(20));
        let mut v = good.clone();
        v[8] = 9;
        assert!(matches!(
            Index::from_bytes(v).unwrap_err(),
            IndexError::Version { found: 9, .. }
        ));
        for cut in [good.len() - 1, good.len() / 2, HEADER, 41] {
            assert!(
                Index::from_bytes(good[..cut].to_vec()).is_err(),
                "truncated at {cut}"
            );
        }
        // Flip every byte in turn: loading and looking up must never panic, and whatever `get`
        // returns is an entry `iter` lists.
        let probe = "/assets/f3-0123456789abcdef.css";
        for i in 0..good.len() {
            let mut v = good.clone();
            v[i] ^= 0xff;
            if let Ok(idx) = Index::from_bytes(v) {
                if let Ok(Some(e)) = idx.get(probe) {
                    let listed: Vec<EntryRef<'_>> = idx.iter().flatten().collect();
                    assert!(listed.contains(&e), "byte {i}: {e:?} is not listed");
                }
            }
        }
    }
}
