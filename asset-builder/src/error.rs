//! Typed errors and warnings. Every variant names the file, option or reference at fault.

use std::path::PathBuf;

/// Why a build failed. The previous output directory is untouched whenever one is returned.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// The source directory does not exist.
    #[error("source directory {0} does not exist")]
    SourceMissing(PathBuf),
    /// The source path exists but is not a directory.
    #[error("source {0} is not a directory")]
    SourceNotDir(PathBuf),
    /// The source tree holds no regular file, so there is nothing to publish.
    #[error("source directory {0} contains no files to publish")]
    EmptyTree(PathBuf),
    /// An I/O operation failed on `path`.
    #[error("cannot {action} {path}: {source}")]
    Io {
        /// What was being done (`read`, `write`, `create directory`, …).
        action: &'static str,
        /// The file or directory at fault.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// A file or directory name that is not valid UTF-8 (it could not become a URL or manifest key).
    #[error("file name is not valid UTF-8: {0} (rename it; published names must be UTF-8)")]
    NonUtf8Name(PathBuf),
    /// A file name with characters that cannot be published safely (control characters, `\`).
    #[error("file name {0} contains a control character or backslash; rename it")]
    UnsupportedName(PathBuf),
    /// A file name too long to publish: fingerprinted, with a delta's suffix, it would pass the
    /// 255 bytes file systems allow in a name.
    #[error("file name {0} is {1} bytes long, over the {max} a published name leaves room for; rename it", max = crate::scan::MAX_NAME_BYTES)]
    NameTooLong(PathBuf, usize),
    /// A symbolic link that resolves outside the source directory.
    #[error("symlink {link} points outside the source directory (to {target})")]
    SymlinkOutside {
        /// The link inside SRC.
        link: PathBuf,
        /// Where it resolves.
        target: PathBuf,
    },
    /// A symbolic link that points (directly or not) at one of its own ancestors.
    #[error("symlink {0} forms a loop")]
    SymlinkLoop(PathBuf),
    /// A symbolic link whose target does not exist.
    #[error("symlink {0} is dangling (its target does not exist)")]
    SymlinkDangling(PathBuf),
    /// A file larger than a single Workers static asset may be.
    #[error("{path} is {size} bytes, over the {limit}-byte limit for one static asset")]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// Its size.
        size: u64,
        /// The limit (25 MiB).
        limit: u64,
    },
    /// A reference to a file that is not in the tree, in `--strict` mode.
    #[error("{file}: reference `{reference}` does not resolve to a file in the source tree")]
    MissingReference {
        /// The referring file, relative to SRC.
        file: String,
        /// The reference as written.
        reference: String,
    },
    /// An option with a value the builder cannot use.
    #[error("invalid {option}: {reason}")]
    BadOption {
        /// The option's name as the CLI spells it.
        option: &'static str,
        /// What is wrong and what is expected.
        reason: String,
    },
    /// The output directory exists and was not written by asset-builder; replacing it could
    /// destroy unrelated files.
    #[error(
        "output directory {0} exists, is not empty and was not written by asset-builder; \
         refusing to replace it (choose an empty or new directory)"
    )]
    ForeignOutput(PathBuf),
    /// Another build holds the lock on the same output directory.
    #[error("another asset-builder build is writing {0}; wait for it to finish")]
    Locked(PathBuf),
    /// Two things would be written to the same path of OUT (two published files, a published
    /// file and another's `.br`/`.gz` sibling, a published file and a manifest, or a file and a
    /// directory): the second would overwrite the first while the manifest describes only one.
    #[error(
        "{first} and {second} would both be written to `{path}` in the output directory; \
         rename one of them"
    )]
    OutputConflict {
        /// The path relative to OUT.
        path: String,
        /// What claimed it first (e.g. "source file `static/data.json.gz`").
        first: String,
        /// What claimed it second (e.g. "the gzip sibling of `static/data.json`").
        second: String,
    },
    /// The deploy history named by `--history` cannot be used (without `--history-optional`).
    #[error(transparent)]
    History(#[from] crate::history::HistoryError),
    /// The output would hold more files than a deployment may upload.
    #[error(
        "the output would hold {count} files, over the limit of {limit} files per deployment \
         ({deploys}); lower --keep-deploys (or --delta-versions)"
    )]
    TooManyFiles {
        /// Files in the output.
        count: usize,
        /// `--max-files`.
        limit: usize,
        /// The files of each deploy, described.
        deploys: String,
    },
    /// Something that may be a reference could not be classified, in `--strict` mode.
    #[error("{file}:{line}: possible reference `{excerpt}` not rewritten: {reason}")]
    UnclassifiedReference {
        /// The file, relative to SRC.
        file: String,
        /// 1-based line.
        line: usize,
        /// The text from where it starts (up to 60 characters).
        excerpt: String,
        /// Why it was not classified.
        reason: &'static str,
    },
    /// The references found in a file overlap, so they cannot be rewritten. A scanner bug:
    /// reported with the file rather than guessed at.
    #[error(
        "{file}: cannot rewrite the reference at bytes {}..{} (it overlaps another); \
         please report this with the file",
        span.start,
        span.end
    )]
    Rewrite {
        /// The file, relative to SRC.
        file: String,
        /// The offending span.
        span: std::ops::Range<usize>,
    },
}

impl BuildError {
    /// Shorthand for [`BuildError::Io`].
    pub fn io(action: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        BuildError::Io {
            action,
            path: path.into(),
            source,
        }
    }
}

/// Something worth telling the user that does not stop the build.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Warning {
    /// A reference that does not resolve to a file in the tree; left as written.
    MissingReference {
        /// The referring file, relative to SRC.
        file: String,
        /// The reference as written.
        reference: String,
    },
    /// Files that reference each other in a cycle; they are fingerprinted together (each name is
    /// derived from the contents of the whole cycle).
    ReferenceCycle {
        /// The files of the cycle, relative to SRC, sorted.
        files: Vec<String>,
    },
    /// Something that may be a reference but that the builder could not classify (a
    /// specifier built at run time, with escapes, or code the scanner could not follow); left
    /// as written.
    UnclassifiedReference {
        /// The file, relative to SRC.
        file: String,
        /// 1-based line.
        line: usize,
        /// The text from where it starts (up to 60 characters).
        excerpt: String,
        /// Why it was not classified.
        reason: String,
    },
    /// A directory entry that is neither a regular file nor a directory (FIFO, socket, device).
    SkippedSpecialFile {
        /// The entry, relative to SRC.
        file: String,
    },
    /// More files in the output than a Workers free plan accepts for one deployment.
    TooManyFiles {
        /// Files in the output, precompressed siblings, deltas and manifests included.
        count: usize,
        /// The plan's limit.
        limit: usize,
        /// The files of each deploy in the output.
        deploys: Vec<crate::report::DeployFiles>,
    },
    /// `--history-optional`: the history could not be used, so the build keeps no earlier deploy.
    HistoryIgnored {
        /// Why, naming where.
        reason: String,
    },
    /// A delta that could not be made or did not decode to the file; not published.
    DeltaSkipped {
        /// The file, relative to SRC.
        file: String,
        /// The dictionary's published path.
        dictionary: String,
        /// Why.
        reason: String,
    },
    /// A kept deploy's entry left out: one of its files would collide with this build's output,
    /// or the history does not hold it.
    KeptFileDropped {
        /// The stored file at fault.
        file: String,
        /// The deploy.
        deploy: String,
        /// What claims the path, or why it is missing.
        reason: String,
    },
}

/// "id: N files (M not in newer deploys), …" for messages.
pub fn describe_deploys(deploys: &[crate::report::DeployFiles]) -> String {
    deploys
        .iter()
        .enumerate()
        .map(|(k, d)| {
            if k == 0 {
                format!("this deploy `{}`: {} files", d.id, d.files)
            } else {
                format!(
                    "`{}`: {} files, {} not in newer deploys",
                    d.id, d.files, d.not_in_newer
                )
            }
        })
        .collect::<Vec<_>>()
        .join("; ")
}

impl std::fmt::Display for Warning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Warning::MissingReference { file, reference } => write!(
                f,
                "{file}: reference `{reference}` does not resolve to a file in the source tree; left as written"
            ),
            Warning::ReferenceCycle { files } => write!(
                f,
                "reference cycle between {}; fingerprinted together",
                files.join(", ")
            ),
            Warning::UnclassifiedReference {
                file,
                line,
                excerpt,
                reason,
            } => write!(
                f,
                "{file}:{line}: possible reference `{excerpt}` not rewritten: {reason}"
            ),
            Warning::SkippedSpecialFile { file } => {
                write!(f, "{file} is not a regular file; skipped")
            }
            Warning::TooManyFiles {
                count,
                limit,
                deploys,
            } => write!(
                f,
                "output holds {count} files, over the {limit} files a Workers free plan accepts per \
                 deployment ({}); on the free plan lower --keep-deploys",
                describe_deploys(deploys)
            ),
            Warning::HistoryIgnored { reason } => write!(
                f,
                "{reason}; --history-optional: building without it, so no earlier deploy is kept"
            ),
            Warning::DeltaSkipped {
                file,
                dictionary,
                reason,
            } => write!(f, "{file}: no delta against {dictionary}: {reason}"),
            Warning::KeptFileDropped {
                file,
                deploy,
                reason,
            } => write!(
                f,
                "{file} of the kept deploy `{deploy}` is left out ({reason}); pages of that deploy that use it will not find it"
            ),
        }
    }
}
