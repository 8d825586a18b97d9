//! Walking the source tree: which files are published, and the symlink and naming policy.
//!
//! Symlinks are followed when they resolve inside SRC (so a vendored directory can be linked in)
//! and refused when they point outside, dangle or loop. Names must be UTF-8 without control
//! characters or backslashes, because they become URL paths and manifest keys.

use std::path::{Path, PathBuf};

use crate::error::{BuildError, Warning};

/// The longest source file name published: a name gains `-<16 hex digits>` when fingerprinted
/// and up to 21 bytes more as a delta (`.<16 hex>.dcz`), within the 255 bytes of a file name.
pub const MAX_NAME_BYTES: usize = 255 - 17 - 21;

/// The largest file one Workers static asset may be (25 MiB).
pub const MAX_FILE_SIZE: u64 = 25 * 1024 * 1024;

/// A regular file found under SRC.
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// Path relative to SRC with `/` separators (the logical path, the `manifest.json` key).
    pub rel: String,
    /// Path to read it from.
    pub abs: PathBuf,
}

/// Lists every regular file under `src`, sorted by logical path.
pub fn scan(src: &Path) -> Result<(Vec<SourceFile>, Vec<Warning>), BuildError> {
    let meta = std::fs::metadata(src).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => BuildError::SourceMissing(src.to_path_buf()),
        _ => BuildError::io("read", src, e),
    })?;
    if !meta.is_dir() {
        return Err(BuildError::SourceNotDir(src.to_path_buf()));
    }
    let root = src
        .canonicalize()
        .map_err(|e| BuildError::io("resolve", src, e))?;

    let mut files = Vec::new();
    let mut warnings = Vec::new();
    for entry in walkdir::WalkDir::new(src).follow_links(true) {
        let entry = entry.map_err(|e| walk_error(src, e))?;
        let path = entry.path();
        if entry.depth() == 0 {
            continue;
        }
        let rel_path = path.strip_prefix(src).unwrap_or(path);
        let rel = rel_path
            .to_str()
            .ok_or_else(|| BuildError::NonUtf8Name(path.to_path_buf()))?;
        if rel.chars().any(|c| c.is_control() || c == '\\') {
            return Err(BuildError::UnsupportedName(path.to_path_buf()));
        }
        let name_len = entry.file_name().len();
        if entry.file_type().is_file() && name_len > MAX_NAME_BYTES {
            return Err(BuildError::NameTooLong(path.to_path_buf(), name_len));
        }
        if entry.path_is_symlink() {
            let target = path
                .canonicalize()
                .map_err(|e| BuildError::io("resolve symlink", path, e))?;
            if !target.starts_with(&root) {
                return Err(BuildError::SymlinkOutside {
                    link: path.to_path_buf(),
                    target,
                });
            }
        }
        let ft = entry.file_type();
        if ft.is_dir() {
            continue;
        }
        let rel = rel.replace(std::path::MAIN_SEPARATOR, "/");
        if !ft.is_file() {
            warnings.push(Warning::SkippedSpecialFile { file: rel });
            continue;
        }
        let size = entry.metadata().map_err(|e| walk_error(src, e))?.len();
        if size > MAX_FILE_SIZE {
            return Err(BuildError::TooLarge {
                path: path.to_path_buf(),
                size,
                limit: MAX_FILE_SIZE,
            });
        }
        files.push(SourceFile {
            rel,
            abs: path.to_path_buf(),
        });
    }
    if files.is_empty() {
        return Err(BuildError::EmptyTree(src.to_path_buf()));
    }
    files.sort_by(|a, b| a.rel.cmp(&b.rel));
    Ok((files, warnings))
}

fn walk_error(src: &Path, e: walkdir::Error) -> BuildError {
    let path = e.path().unwrap_or(src).to_path_buf();
    if e.loop_ancestor().is_some() {
        return BuildError::SymlinkLoop(path);
    }
    match e.into_io_error() {
        Some(io) if io.kind() == std::io::ErrorKind::NotFound && is_symlink(&path) => {
            BuildError::SymlinkDangling(path)
        }
        Some(io) => BuildError::io("read", path, io),
        None => BuildError::io("read", path, std::io::Error::other("directory walk failed")),
    }
}

fn is_symlink(p: &Path) -> bool {
    std::fs::symlink_metadata(p).is_ok_and(|m| m.file_type().is_symlink())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    #[test]
    fn lists_files_sorted_with_slash_paths() {
        let d = tempfile::tempdir().unwrap();
        fs::create_dir_all(d.path().join("b/c")).unwrap();
        fs::write(d.path().join("b/c/x.css"), "x").unwrap();
        fs::write(d.path().join("a.js"), "a").unwrap();
        let (files, w) = scan(d.path()).unwrap();
        let rels: Vec<_> = files.iter().map(|f| f.rel.as_str()).collect();
        assert_eq!(rels, ["a.js", "b/c/x.css"]);
        assert!(w.is_empty());
    }

    #[test]
    fn missing_and_empty_are_errors() {
        let d = tempfile::tempdir().unwrap();
        assert!(matches!(
            scan(&d.path().join("nope")),
            Err(BuildError::SourceMissing(_))
        ));
        assert!(matches!(scan(d.path()), Err(BuildError::EmptyTree(_))));
        fs::write(d.path().join("f"), "x").unwrap();
        assert!(matches!(
            scan(&d.path().join("f")),
            Err(BuildError::SourceNotDir(_))
        ));
    }

    #[test]
    fn symlink_policy() {
        let outside = tempfile::tempdir().unwrap();
        fs::write(outside.path().join("secret"), "s").unwrap();
        let d = tempfile::tempdir().unwrap();
        fs::create_dir(d.path().join("real")).unwrap();
        fs::write(d.path().join("real/a.txt"), "a").unwrap();
        std::os::unix::fs::symlink("real", d.path().join("alias")).unwrap();
        let (files, _) = scan(d.path()).unwrap();
        assert_eq!(files.len(), 2, "a link inside SRC is followed");

        std::os::unix::fs::symlink(outside.path().join("secret"), d.path().join("leak")).unwrap();
        let err = scan(d.path()).unwrap_err();
        assert!(matches!(err, BuildError::SymlinkOutside { .. }), "{err}");
        fs::remove_file(d.path().join("leak")).unwrap();

        std::os::unix::fs::symlink("..", d.path().join("real/up")).unwrap();
        let err = scan(d.path()).unwrap_err();
        assert!(matches!(err, BuildError::SymlinkLoop(_)), "{err}");
        fs::remove_file(d.path().join("real/up")).unwrap();

        std::os::unix::fs::symlink("gone", d.path().join("dangling")).unwrap();
        let err = scan(d.path()).unwrap_err();
        assert!(matches!(err, BuildError::SymlinkDangling(_)), "{err}");
    }

    #[test]
    fn non_utf8_and_control_names_are_refused() {
        use std::os::unix::ffi::OsStrExt;
        let d = tempfile::tempdir().unwrap();
        let bad = std::ffi::OsStr::from_bytes(b"bad-\xff.css");
        fs::write(d.path().join(bad), "x").unwrap();
        assert!(matches!(scan(d.path()), Err(BuildError::NonUtf8Name(_))));

        let d = tempfile::tempdir().unwrap();
        fs::write(d.path().join("new\nline.css"), "x").unwrap();
        assert!(matches!(
            scan(d.path()),
            Err(BuildError::UnsupportedName(_))
        ));
    }

    #[test]
    fn oversized_file_is_named() {
        let d = tempfile::tempdir().unwrap();
        let f = fs::File::create(d.path().join("huge.bin")).unwrap();
        f.set_len(MAX_FILE_SIZE + 1).unwrap();
        let err = scan(d.path()).unwrap_err();
        assert!(err.to_string().contains("huge.bin"), "{err}");
    }
}
