//! What a build is asked to do, validated before any work starts.

use std::path::{Path, PathBuf};

use cdn_manifest::DeltaEncoding;

use crate::error::BuildError;
use crate::history::{KeepPolicy, Source};

/// The default URL path prefix of published files.
pub const DEFAULT_PUBLIC_PATH: &str = "/assets/";
/// Deploys an output keeps by default, the current one included.
pub const DEFAULT_KEEP_DEPLOYS: usize = 5;
/// Earlier versions each file gets a delta against, by default.
pub const DEFAULT_DELTA_VERSIONS: usize = 2;
/// Files smaller than this get no deltas (nor `Use-As-Dictionary`), by default.
pub const DEFAULT_DELTA_MIN_SIZE: u64 = 1024;
/// The most files one Workers deployment may upload on the paid plan (an error past it).
pub const MAX_FILES_PAID: usize = 100_000;
/// The most files one Workers deployment may upload on the free plan (a warning past it).
pub const MAX_FILES_FREE: usize = 20_000;
/// The most earlier versions `--delta-versions` accepts.
pub const MAX_DELTA_VERSIONS: usize = 16;

/// RFC 9842 deltas: against how many earlier versions, from what size, in which codings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeltaOptions {
    /// Earlier versions of a file's logical path to make deltas against (`K`; 0 = no deltas and
    /// no `Use-As-Dictionary`).
    pub versions: usize,
    /// Files smaller than this get neither.
    pub min_size: u64,
    /// The codings to make, in order.
    pub encodings: Vec<DeltaEncoding>,
}

impl Default for DeltaOptions {
    fn default() -> Self {
        DeltaOptions {
            versions: DEFAULT_DELTA_VERSIONS,
            min_size: DEFAULT_DELTA_MIN_SIZE,
            encodings: DeltaEncoding::ALL.to_vec(),
        }
    }
}

/// Build settings. Construct with [`Options::new`] and adjust the public fields.
#[derive(Debug, Clone)]
pub struct Options {
    /// The source tree.
    pub src: PathBuf,
    /// The output directory (replaced atomically).
    pub out: PathBuf,
    /// URL path prefix of published files, with leading and trailing `/`.
    pub public_path: String,
    /// Absolute URL prefixed to `manifest.json` values (a CDN host), without trailing `/`.
    pub base_url: Option<String>,
    /// Make unresolvable references errors instead of warnings.
    pub strict: bool,
    /// Where compressed representations are kept between builds; `None` disables the cache.
    pub cache_dir: Option<PathBuf>,
    /// Glob patterns (on logical paths) of files published under their own name, without a
    /// fingerprint (e.g. `favicon.ico`, `robots.txt`). They are served with revalidation.
    pub no_fingerprint: Vec<String>,
    /// Worker threads of the build's own thread pool; `None` = one per core.
    pub jobs: Option<usize>,
    /// Where the previous deploys' history is (`--history`): a previous output directory or the
    /// live site's base URL.
    pub history: Option<Source>,
    /// Build without the history, with a warning, when it cannot be used.
    pub history_optional: bool,
    /// Which previous deploys to keep.
    pub keep: KeepPolicy,
    /// This deploy's id; `None` = its date as `YYYYMMDDTHHMMSSZ`.
    pub deploy_id: Option<String>,
    /// This deploy's time (Unix seconds); `None` = now.
    pub deploy_time: Option<u64>,
    /// Deltas against earlier versions.
    pub deltas: DeltaOptions,
    /// The most files the output may hold (an error past it).
    pub max_files: usize,
}

impl Options {
    /// Options with the defaults: public path `/assets/`, no base URL, warnings for missing
    /// references, the cache in [`Options::default_cache_dir`].
    pub fn new(src: impl Into<PathBuf>, out: impl Into<PathBuf>) -> Self {
        let out = out.into();
        Options {
            src: src.into(),
            cache_dir: Some(Self::default_cache_dir(&out)),
            out,
            public_path: DEFAULT_PUBLIC_PATH.into(),
            base_url: None,
            strict: false,
            no_fingerprint: Vec::new(),
            jobs: None,
            history: None,
            history_optional: false,
            keep: KeepPolicy {
                deploys: DEFAULT_KEEP_DEPLOYS,
                days: None,
            },
            deploy_id: None,
            deploy_time: None,
            deltas: DeltaOptions::default(),
            max_files: MAX_FILES_PAID,
        }
    }

    /// This deploy's time (Unix seconds): `deploy_time`, else now.
    pub fn deploy_time(&self) -> u64 {
        self.deploy_time.unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs())
        })
    }

    /// `.asset-builder-cache/` beside OUT: on the same filesystem, so cached objects can be
    /// hard-linked into the output instead of copied.
    pub fn default_cache_dir(out: &Path) -> PathBuf {
        match out.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.join(".asset-builder-cache"),
            _ => PathBuf::from(".asset-builder-cache"),
        }
    }

    /// Checks every option; the error names the option and what it expects.
    pub fn validate(&self) -> Result<(), BuildError> {
        let p = &self.public_path;
        if !p.starts_with('/') || !p.ends_with('/') {
            return Err(bad(
                "--public-path",
                format!("`{p}` must start and end with `/`, like /assets/"),
            ));
        }
        if p.split('/').any(|s| s == ".." || s == ".")
            || p.contains("//")
            || p.chars()
                .any(|c| c.is_control() || "?#\\%\"<> ".contains(c))
        {
            return Err(bad(
                "--public-path",
                format!("`{p}` must be a plain path without `.`/`..` segments, `//`, `?`, `#`, `%`, spaces or backslashes"),
            ));
        }
        if let Some(url) = &self.base_url {
            let rest = url
                .strip_prefix("https://")
                .or_else(|| url.strip_prefix("http://"))
                .or_else(|| url.strip_prefix("//"));
            let ok = rest.is_some_and(|r| {
                let host = r.split('/').next().unwrap_or("");
                !host.is_empty() && !r.contains(['?', '#', ' ', '\\'])
            });
            if !ok {
                return Err(bad(
                    "--base-url",
                    format!(
                        "`{url}` must be an absolute http(s) URL such as https://cdn.example.com"
                    ),
                ));
            }
        }
        self.no_fingerprint_matcher()?;
        if self.jobs == Some(0) {
            return Err(bad("--jobs", "must be at least 1".into()));
        }
        if let Some(id) = &self.deploy_id {
            if !crate::history::format::valid_deploy_id(id) {
                return Err(bad(
                    "--deploy-id",
                    format!("`{id}` must be 1-64 letters, digits, `.`, `_` or `-` (a git commit, a tag, a build number)"),
                ));
            }
        }
        if self.keep.deploys == 0 {
            return Err(bad(
                "--keep-deploys",
                "must be at least 1 (the deploy being built)".into(),
            ));
        }
        if self.deltas.versions > MAX_DELTA_VERSIONS {
            return Err(bad(
                "--delta-versions",
                format!("must be at most {MAX_DELTA_VERSIONS}"),
            ));
        }
        if self.max_files == 0 {
            return Err(bad("--max-files", "must be at least 1".into()));
        }
        let (src, out) = (absolute(&self.src), absolute(&self.out));
        if out.starts_with(&src) || src.starts_with(&out) {
            return Err(bad(
                "--out",
                format!(
                    "{} and the source {} must not contain one another",
                    self.out.display(),
                    self.src.display()
                ),
            ));
        }
        if let Some(cache) = self.cache_dir.as_deref().map(absolute) {
            // Inside SRC it would be published (and grow with every build); inside OUT each
            // build's swap would throw it away.
            if cache.starts_with(&src) || cache.starts_with(&out) {
                return Err(bad(
                    "--cache-dir",
                    format!(
                        "{} must be outside the source {} and the output {}",
                        cache.display(),
                        self.src.display(),
                        self.out.display()
                    ),
                ));
            }
        }
        Ok(())
    }

    /// The `--no-fingerprint` globs compiled into one matcher (`None` when there are none).
    pub fn no_fingerprint_matcher(&self) -> Result<Option<globset::GlobSet>, BuildError> {
        if self.no_fingerprint.is_empty() {
            return Ok(None);
        }
        let mut b = globset::GlobSetBuilder::new();
        for g in &self.no_fingerprint {
            let glob = globset::Glob::new(g).map_err(|e| {
                bad(
                    "--no-fingerprint",
                    format!("`{g}` is not a valid glob: {e}"),
                )
            })?;
            b.add(glob);
        }
        b.build()
            .map(Some)
            .map_err(|e| bad("--no-fingerprint", e.to_string()))
    }

    /// The base URL without a trailing `/` (empty when unset).
    pub fn base_url(&self) -> &str {
        self.base_url.as_deref().unwrap_or("").trim_end_matches('/')
    }
}

fn bad(option: &'static str, reason: String) -> BuildError {
    BuildError::BadOption { option, reason }
}

/// `p` made absolute (through symlinks where it exists), for containment checks.
fn absolute(p: &Path) -> PathBuf {
    if let Ok(c) = p.canonicalize() {
        return c;
    }
    let abs = if p.is_absolute() {
        p.to_path_buf()
    } else {
        std::env::current_dir().unwrap_or_default().join(p)
    };
    match (abs.parent(), abs.file_name()) {
        (Some(parent), Some(name)) => absolute(parent).join(name),
        _ => abs,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts() -> Options {
        Options::new("/tmp/src-x", "/tmp/out-x")
    }

    #[test]
    fn defaults_are_valid() {
        opts().validate().unwrap();
        assert_eq!(
            opts().cache_dir.unwrap(),
            PathBuf::from("/tmp/.asset-builder-cache")
        );
    }

    #[test]
    fn bad_values_name_the_option() {
        for p in ["assets/", "/assets", "/a/../b/", "/a b/", "/a?/"] {
            let mut o = opts();
            o.public_path = p.into();
            let e = o.validate().unwrap_err().to_string();
            assert!(e.contains("--public-path"), "{p}: {e}");
        }
        let mut o = opts();
        o.base_url = Some("ftp:/x".into());
        assert!(o.validate().unwrap_err().to_string().contains("--base-url"));
        let mut o = opts();
        o.no_fingerprint = vec!["a[".into()];
        assert!(o
            .validate()
            .unwrap_err()
            .to_string()
            .contains("--no-fingerprint"));
        let mut o = opts();
        o.jobs = Some(0);
        assert!(o.validate().unwrap_err().to_string().contains("--jobs"));
        let o = Options::new("/tmp/src-x", "/tmp/src-x/build");
        assert!(o.validate().unwrap_err().to_string().contains("--out"));
        type Edit = fn(&mut Options);
        let cases: &[(&str, Edit)] = &[
            ("--deploy-id", |o| o.deploy_id = Some("a/b".into())),
            ("--deploy-id", |o| o.deploy_id = Some(String::new())),
            ("--keep-deploys", |o| o.keep.deploys = 0),
            ("--delta-versions", |o| o.deltas.versions = 17),
            ("--max-files", |o| o.max_files = 0),
        ];
        for (option, edit) in cases {
            let mut o = opts();
            edit(&mut o);
            let e = o.validate().unwrap_err().to_string();
            assert!(e.contains(option), "{option}: {e}");
        }
        let mut o = opts();
        o.deploy_id = Some("v1.2.3-rc_1".into());
        o.deltas.versions = 0;
        o.validate().unwrap();
    }
}
