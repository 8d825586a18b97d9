//! Where a history comes from: a previous output directory (restored from a CI cache or artifact,
//! or OUT itself), or the live site, which serves it at a well-known path:
//!
//! - `<base>/.well-known/asset-history/history.json`: the history file;
//! - `<base>/.well-known/asset-history/files/<stored path>`: a stored file's exact bytes (an
//!   entry, a `.br`/`.gz` sibling or a delta), without content negotiation.
//!
//! Every file is checked against the size and SHA-256 the history records before it is used; a
//! downloaded file is kept (content-addressed) in a scratch directory beside OUT until the build
//! has linked it into the new output.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::format::{History, StoredFile, FILE_NAME};
use super::HistoryError;
use crate::fingerprint::{hex, sha256};

/// The largest history file read (a few hundred bytes per entry and stored file).
pub const MAX_HISTORY_BYTES: u64 = 64 << 20;

/// A history's location.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A previous output directory.
    Dir(PathBuf),
    /// The live site's base URL (`https://shop.example.com`), without a trailing `/`.
    Url(String),
}

impl Source {
    /// `http://…` and `https://…` are URLs, anything else a directory.
    pub fn parse(s: &str) -> Source {
        let lower = s.to_ascii_lowercase();
        if lower.starts_with("http://") || lower.starts_with("https://") {
            Source::Url(s.trim_end_matches('/').to_string())
        } else {
            Source::Dir(PathBuf::from(s))
        }
    }

    /// Where the history file is (a path or a URL), for messages.
    pub fn history_location(&self) -> String {
        match self {
            Source::Dir(d) => d.join(FILE_NAME).display().to_string(),
            Source::Url(base) => format!("{base}{}history.json", cdn_manifest::HISTORY_WELL_KNOWN),
        }
    }

    /// Where the stored file `stored` (a URL path) is.
    pub fn file_location(&self, stored: &str) -> String {
        match self {
            Source::Dir(d) => d.join(stored.trim_start_matches('/')).display().to_string(),
            Source::Url(base) => format!(
                "{base}{}files{}",
                cdn_manifest::HISTORY_WELL_KNOWN,
                cdn_manifest::encode_path(stored)
            ),
        }
    }
}

/// Reads a history and its files from one [`Source`].
#[derive(Debug)]
pub struct Fetcher {
    source: Source,
    agent: Option<ureq::Agent>,
    scratch: PathBuf,
}

impl Fetcher {
    /// A fetcher for `source`; downloads go into `scratch` (created on first use).
    pub fn new(source: Source, scratch: PathBuf) -> Self {
        let agent = matches!(source, Source::Url(_)).then(|| {
            let config = ureq::Agent::config_builder()
                .http_status_as_error(false)
                .timeout_connect(Some(Duration::from_secs(10)))
                .timeout_global(Some(Duration::from_secs(120)))
                .user_agent(concat!("asset-builder/", env!("CARGO_PKG_VERSION")))
                .build();
            ureq::Agent::new_with_config(config)
        });
        Fetcher {
            source,
            agent,
            scratch,
        }
    }

    /// The source.
    pub fn source(&self) -> &Source {
        &self.source
    }

    /// True when files come over the network (worth more parallel requests).
    pub fn is_remote(&self) -> bool {
        self.agent.is_some()
    }

    /// Reads and checks the history file.
    pub fn history(&self) -> Result<History, HistoryError> {
        let at = self.source.history_location();
        let bytes = match &self.source {
            Source::Dir(dir) => {
                let path = dir.join(FILE_NAME);
                match std::fs::read(&path) {
                    Ok(b) => b,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                        return Err(HistoryError::Missing { at })
                    }
                    Err(e) => {
                        return Err(HistoryError::Unreachable {
                            at,
                            why: e.to_string(),
                        })
                    }
                }
            }
            Source::Url(_) => match self.get(&at, MAX_HISTORY_BYTES) {
                Ok(b) => b,
                Err(Get::Status(404)) => return Err(HistoryError::Missing { at }),
                Err(e) => {
                    return Err(HistoryError::Unreachable {
                        at,
                        why: e.to_string(),
                    })
                }
            },
        };
        History::from_json(&bytes).map_err(|why| HistoryError::Corrupt { at, why })
    }

    /// The stored file `stored`, checked against `expect`: a local path holding exactly its bytes.
    pub fn fetch(&self, stored: &str, expect: &StoredFile) -> Result<PathBuf, HistoryError> {
        let at = self.source.file_location(stored);
        let fail = |why: String| HistoryError::File {
            at: at.clone(),
            why,
        };
        let (bytes, local) = match &self.source {
            Source::Dir(dir) => {
                let path = dir.join(stored.trim_start_matches('/'));
                let bytes = read_limited(&path, expect.size).map_err(|e| match e.kind() {
                    std::io::ErrorKind::NotFound => fail("missing".into()),
                    _ => fail(e.to_string()),
                })?;
                (bytes, Some(path))
            }
            Source::Url(_) => {
                let bytes = self.get(&at, expect.size).map_err(|e| match e {
                    Get::Status(404) => fail("missing (404 Not Found)".into()),
                    e => fail(e.to_string()),
                })?;
                (bytes, None)
            }
        };
        check(&bytes, expect).map_err(fail)?;
        match local {
            Some(path) => Ok(path),
            None => {
                std::fs::create_dir_all(&self.scratch)
                    .map_err(|e| fail(format!("cannot create {}: {e}", self.scratch.display())))?;
                let path = self.scratch.join(&expect.sha256);
                std::fs::write(&path, &bytes)
                    .map_err(|e| fail(format!("cannot write {}: {e}", path.display())))?;
                Ok(path)
            }
        }
    }

    /// GET `url`, its body up to `limit` bytes (one more is read, so that a longer body shows).
    fn get(&self, url: &str, limit: u64) -> Result<Vec<u8>, Get> {
        let agent = self.agent.as_ref().ok_or(Get::Other("not a URL".into()))?;
        let mut last = Get::Other("no attempt".into());
        // One retry for a connection lost mid-transfer; a status is an answer, not retried.
        for _ in 0..2 {
            match agent.get(url).header("accept-encoding", "identity").call() {
                Ok(mut resp) => {
                    let status = resp.status().as_u16();
                    if status != 200 {
                        return Err(Get::Status(status));
                    }
                    match resp
                        .body_mut()
                        .with_config()
                        .limit(limit.saturating_add(1))
                        .read_to_vec()
                    {
                        Ok(b) => return Ok(b),
                        Err(e) => last = Get::Other(e.to_string()),
                    }
                }
                Err(e) => last = Get::Other(e.to_string()),
            }
        }
        Err(last)
    }
}

/// A failed GET.
#[derive(Debug)]
enum Get {
    Status(u16),
    Other(String),
}

impl std::fmt::Display for Get {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Get::Status(s) => write!(f, "HTTP status {s}"),
            Get::Other(why) => f.write_str(why),
        }
    }
}

/// A file's bytes, at most `limit` + 1 of them.
fn read_limited(path: &Path, limit: u64) -> std::io::Result<Vec<u8>> {
    let mut v = Vec::new();
    std::fs::File::open(path)?
        .take(limit.saturating_add(1))
        .read_to_end(&mut v)?;
    Ok(v)
}

/// Whether `bytes` are the file the history records.
pub fn check(bytes: &[u8], expect: &StoredFile) -> Result<(), String> {
    if bytes.len() as u64 != expect.size {
        return Err(format!(
            "{} bytes where the history records {} (truncated or replaced)",
            bytes.len(),
            expect.size
        ));
    }
    let got = hex(&sha256(bytes));
    if got != expect.sha256 {
        return Err(format!(
            "SHA-256 is {got}, the history records {}",
            expect.sha256
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_and_locations() {
        assert_eq!(Source::parse("build"), Source::Dir("build".into()));
        let url = Source::parse("HTTPS://shop.test/");
        assert_eq!(url, Source::Url("HTTPS://shop.test".into()));
        assert_eq!(
            url.history_location(),
            "HTTPS://shop.test/.well-known/asset-history/history.json"
        );
        assert_eq!(
            url.file_location("/assets/a b-1.js.br"),
            "HTTPS://shop.test/.well-known/asset-history/files/assets/a%20b-1.js.br"
        );
        assert_eq!(
            Source::parse("/tmp/out").file_location("/assets/x.js"),
            "/tmp/out/assets/x.js"
        );
    }

    #[test]
    fn checks_size_then_hash() {
        let f = StoredFile {
            sha256: hex(&sha256(b"abc")),
            size: 3,
            codec: None,
        };
        assert!(check(b"abc", &f).is_ok());
        assert!(check(b"ab", &f).unwrap_err().contains("truncated"));
        assert!(check(b"abd", &f).unwrap_err().contains("SHA-256"));
    }
}
