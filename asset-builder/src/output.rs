//! Assembling the output directory aside and swapping it in atomically.
//!
//! The new tree is written to a hidden sibling of OUT (same filesystem), then exchanged with OUT
//! in one `renameat2(RENAME_EXCHANGE)` where the kernel supports it. Until that moment OUT is
//! untouched, so a failed or killed build leaves the previous output byte-identical. A lock file
//! beside OUT keeps two builds from writing the same OUT.

use std::fs::File;
use std::path::{Path, PathBuf};

use crate::error::BuildError;

/// A marker file every output holds, so asset-builder never replaces a directory it did not
/// write.
pub const MARKER: &str = cdn_manifest::FILE_NAME;

/// An output directory being assembled. Dropped without [`Staging::commit`], it is removed.
#[derive(Debug)]
pub struct Staging {
    out: PathBuf,
    dir: PathBuf,
    scratch: PathBuf,
    _lock: File,
    committed: bool,
}

impl Staging {
    /// Checks that OUT may be replaced, takes the lock, clears leftovers of killed builds and
    /// creates an empty staging directory.
    pub fn create(out: &Path) -> Result<Self, BuildError> {
        let name =
            out.file_name()
                .and_then(|n| n.to_str())
                .ok_or_else(|| BuildError::BadOption {
                    option: "--out",
                    reason: format!("{} has no usable directory name", out.display()),
                })?;
        let parent = match out.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        std::fs::create_dir_all(&parent)
            .map_err(|e| BuildError::io("create directory", &parent, e))?;
        match std::fs::read_dir(out) {
            Ok(mut entries) => {
                if entries.next().is_some() && !out.join(MARKER).is_file() {
                    return Err(BuildError::ForeignOutput(out.to_path_buf()));
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(BuildError::io("read", out, e)),
        }

        let lock_path = parent.join(format!(".{name}.lock"));
        let lock = File::create(&lock_path)
            .map_err(|e| BuildError::io("create lock file", &lock_path, e))?;
        rustix::fs::flock(&lock, rustix::fs::FlockOperation::NonBlockingLockExclusive)
            .map_err(|_| BuildError::Locked(out.to_path_buf()))?;

        let prefix = format!(".{name}.tmp-");
        if let Ok(entries) = std::fs::read_dir(&parent) {
            for entry in entries.flatten() {
                if entry
                    .file_name()
                    .to_str()
                    .is_some_and(|n| n.starts_with(&prefix))
                {
                    let _ = std::fs::remove_dir_all(entry.path());
                }
            }
        }
        let dir = parent.join(format!("{prefix}{}", std::process::id()));
        std::fs::create_dir(&dir).map_err(|e| BuildError::io("create directory", &dir, e))?;
        let scratch = parent.join(format!("{prefix}{}-downloads", std::process::id()));
        Ok(Staging {
            out: out.to_path_buf(),
            dir,
            scratch,
            _lock: lock,
            committed: false,
        })
    }

    /// A directory beside OUT (same filesystem, so its files can be hard-linked into the
    /// output) for files downloaded during the build; removed with the staging directory, and
    /// by the next build if this one is killed. Created by whoever first writes into it.
    pub fn scratch(&self) -> PathBuf {
        self.scratch.clone()
    }

    /// The staging directory's path for a relative output path.
    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.join(rel)
    }

    /// Writes `bytes` at `rel`, creating parent directories. A file is never written twice:
    /// an existing one is an error, not overwritten.
    pub fn write(&self, rel: &str, bytes: &[u8]) -> Result<(), BuildError> {
        use std::io::Write;
        let path = self.path(rel);
        ensure_parent(&path)?;
        let mut f = create_new(&path)?;
        f.write_all(bytes)
            .map_err(|e| BuildError::io("write", &path, e))
    }

    /// Places the file at `from` at `rel`: a hard link when possible (cache objects are never
    /// modified in place), a copy otherwise. Like [`Staging::write`], never over a file.
    pub fn link(&self, rel: &str, from: &Path) -> Result<(), BuildError> {
        let path = self.path(rel);
        ensure_parent(&path)?;
        match std::fs::hard_link(from, &path) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                return Err(BuildError::io("write", &path, e))
            }
            Err(_) => {}
        }
        let mut to = create_new(&path)?;
        let mut src = File::open(from).map_err(|e| BuildError::io("read", from, e))?;
        std::io::copy(&mut src, &mut to)
            .map(drop)
            .map_err(|e| BuildError::io("copy", from, e))
    }

    /// Swaps the staged tree in as OUT and deletes the previous one.
    pub fn commit(mut self) -> Result<(), BuildError> {
        use rustix::fs::{renameat_with, RenameFlags, CWD};
        let exchanged = self.out.exists()
            && renameat_with(CWD, &self.dir, CWD, &self.out, RenameFlags::EXCHANGE).is_ok();
        if exchanged {
            // The staging path now holds the previous output; Drop removes it.
        } else {
            if self.out.exists() {
                // No atomic exchange here: move the old tree aside first (brief window).
                let old = self.dir.with_extension("old");
                std::fs::rename(&self.out, &old)
                    .map_err(|e| BuildError::io("replace", &self.out, e))?;
                std::fs::rename(&self.dir, &self.out)
                    .map_err(|e| BuildError::io("replace", &self.out, e))?;
                let _ = std::fs::remove_dir_all(old);
                self.committed = true;
                return Ok(());
            }
            std::fs::rename(&self.dir, &self.out)
                .map_err(|e| BuildError::io("create", &self.out, e))?;
            self.committed = true;
        }
        Ok(())
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
        let _ = std::fs::remove_dir_all(&self.scratch);
    }
}

fn ensure_parent(path: &Path) -> Result<(), BuildError> {
    match path.parent() {
        Some(parent) => std::fs::create_dir_all(parent)
            .map_err(|e| BuildError::io("create directory", parent, e)),
        None => Ok(()),
    }
}

fn create_new(path: &Path) -> Result<File, BuildError> {
    File::options()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(|e| BuildError::io("write", path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commit_replaces_and_drop_discards() {
        let d = tempfile::tempdir().unwrap();
        let out = d.path().join("out");
        let s = Staging::create(&out).unwrap();
        s.write(MARKER, b"1").unwrap();
        s.write("a/b.txt", b"first").unwrap();
        let twice = s.write("a/b.txt", b"again").unwrap_err();
        assert!(twice.to_string().contains("b.txt"), "{twice}");
        s.commit().unwrap();
        assert_eq!(std::fs::read(out.join("a/b.txt")).unwrap(), b"first");

        let s = Staging::create(&out).unwrap();
        s.write("a/b.txt", b"second").unwrap();
        drop(s);
        assert_eq!(std::fs::read(out.join("a/b.txt")).unwrap(), b"first");

        let s = Staging::create(&out).unwrap();
        s.write(MARKER, b"2").unwrap();
        s.commit().unwrap();
        assert!(!out.join("a/b.txt").exists());
        let leftovers: Vec<_> = std::fs::read_dir(d.path())
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().contains(".tmp-"))
            .collect();
        assert!(leftovers.is_empty());
    }

    #[test]
    fn refuses_foreign_directories_and_concurrent_builds() {
        let d = tempfile::tempdir().unwrap();
        let out = d.path().join("public");
        std::fs::create_dir(&out).unwrap();
        std::fs::write(out.join("index.php"), b"<?php").unwrap();
        assert!(matches!(
            Staging::create(&out),
            Err(BuildError::ForeignOutput(_))
        ));

        let out = d.path().join("out");
        let first = Staging::create(&out).unwrap();
        assert!(matches!(Staging::create(&out), Err(BuildError::Locked(_))));
        drop(first);
    }
}
