//! Content-addressed reuse between builds.
//!
//! A compressed representation is stored under the SHA-256 of its input plus the codec's settings
//! tag, so an unchanged file is never compressed twice, whatever its name or the tree around it,
//! and a changed file misses by construction. Objects are written to a temporary name and renamed,
//! so a killed build never leaves a truncated object behind. Objects unused by the latest build
//! are pruned once they are a day old.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use crate::compress::Codec;
use crate::error::BuildError;
use crate::fingerprint::hex;

/// Unused objects younger than this survive pruning (switching branches back and forth stays
/// warm).
pub const KEEP_UNUSED: Duration = Duration::from_secs(24 * 3600);

/// Layout version of the cache directory.
const LAYOUT: &str = "v1";

/// The cache, or a disabled one that never hits.
#[derive(Debug)]
pub struct Cache {
    root: Option<PathBuf>,
}

impl Cache {
    /// Opens (creating) the cache at `dir`; `None` disables caching.
    pub fn open(dir: Option<&Path>) -> Result<Self, BuildError> {
        let Some(dir) = dir else {
            return Ok(Cache { root: None });
        };
        let root = dir.join(LAYOUT);
        std::fs::create_dir_all(&root)
            .map_err(|e| BuildError::io("create cache directory", &root, e))?;
        Ok(Cache { root: Some(root) })
    }

    /// Where the output of `codec` on input with SHA-256 `digest` is (or would be) stored.
    pub fn object_path(&self, digest: &[u8; 32], codec: Codec) -> Option<PathBuf> {
        self.tagged_path(digest, &codec.tag())
    }

    /// Where the output of the settings named `tag` on input `digest` is (or would be) stored.
    fn tagged_path(&self, digest: &[u8; 32], tag: &str) -> Option<PathBuf> {
        let root = self.root.as_ref()?;
        let h = hex(digest);
        Some(root.join(&h[..2]).join(format!("{}-{tag}", &h[2..])))
    }

    /// The stored object and its size, if present.
    pub fn get(&self, digest: &[u8; 32], codec: Codec) -> Option<(PathBuf, u64)> {
        self.get_tagged(digest, &codec.tag())
    }

    /// The object made by the settings named `tag` (a delta's, say) and its size, if present.
    pub fn get_tagged(&self, digest: &[u8; 32], tag: &str) -> Option<(PathBuf, u64)> {
        let path = self.tagged_path(digest, tag)?;
        let meta = std::fs::metadata(&path).ok()?;
        meta.is_file().then_some((path, meta.len()))
    }

    /// Stores `bytes` as the output of `codec` on `digest`; returns the object's path, or `None`
    /// when caching is disabled.
    pub fn put(
        &self,
        digest: &[u8; 32],
        codec: Codec,
        bytes: &[u8],
    ) -> Result<Option<PathBuf>, BuildError> {
        self.put_tagged(digest, &codec.tag(), bytes)
    }

    /// Stores `bytes` as the output of the settings named `tag` on `digest`.
    pub fn put_tagged(
        &self,
        digest: &[u8; 32],
        tag: &str,
        bytes: &[u8],
    ) -> Result<Option<PathBuf>, BuildError> {
        let Some(path) = self.tagged_path(digest, tag) else {
            return Ok(None);
        };
        let dir = path.parent().expect("object has a parent");
        std::fs::create_dir_all(dir)
            .map_err(|e| BuildError::io("create cache directory", dir, e))?;
        static SEQ: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let seq = SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let tmp = path.with_extension(format!("tmp-{}-{seq}", std::process::id()));
        std::fs::write(&tmp, bytes).map_err(|e| BuildError::io("write cache object", &tmp, e))?;
        std::fs::rename(&tmp, &path).map_err(|e| BuildError::io("write cache object", &path, e))?;
        Ok(Some(path))
    }

    /// Deletes objects not in `used` and older than [`KEEP_UNUSED`], and temporary files left by
    /// killed builds. Errors are ignored: pruning is housekeeping, never a reason to fail.
    pub fn prune(&self, used: &HashSet<PathBuf>) -> usize {
        let Some(root) = &self.root else { return 0 };
        let now = SystemTime::now();
        let mut removed = 0;
        for entry in walkdir::WalkDir::new(root)
            .min_depth(2)
            .into_iter()
            .flatten()
        {
            let path = entry.path();
            if used.contains(path) || !entry.file_type().is_file() {
                continue;
            }
            let age = entry
                .metadata()
                .ok()
                .and_then(|m| m.modified().ok())
                .and_then(|t| now.duration_since(t).ok())
                .unwrap_or_default();
            if age > KEEP_UNUSED && std::fs::remove_file(path).is_ok() {
                removed += 1;
            }
        }
        removed
    }

    /// Marks an object as recently used, so pruning keeps it.
    pub fn touch(&self, path: &Path) {
        if let Ok(f) = std::fs::File::options().append(true).open(path) {
            let _ = f.set_modified(SystemTime::now());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stores_and_finds_by_content_and_settings() {
        let d = tempfile::tempdir().unwrap();
        let cache = Cache::open(Some(d.path())).unwrap();
        let digest = crate::fingerprint::sha256(b"x");
        let gz = Codec::Gzip { level: 9 };
        assert!(cache.get(&digest, gz).is_none());
        let path = cache.put(&digest, gz, b"packed").unwrap().unwrap();
        assert_eq!(cache.get(&digest, gz).unwrap(), (path, 6));
        assert!(cache.get(&digest, Codec::Gzip { level: 6 }).is_none());
    }

    #[test]
    fn disabled_cache_never_hits() {
        let cache = Cache::open(None).unwrap();
        let digest = crate::fingerprint::sha256(b"x");
        assert_eq!(
            cache.put(&digest, Codec::Gzip { level: 9 }, b"p").unwrap(),
            None
        );
        assert!(cache.get(&digest, Codec::Gzip { level: 9 }).is_none());
    }
}
