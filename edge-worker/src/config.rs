//! The worker's configuration: the `EDGE` object in wrangler.toml `[vars]`, validated.
//!
//! ```toml
//! [vars.EDGE]
//! public_path = "/assets/"              # where the assets live; must match the build
//! manifest = "/cdn-manifest.bin"        # the builder's index, fetched from [assets] once
//! cors_allow_origins = ["*"]            # "*", exact origins, or [] to send no CORS headers
//! not_found_page = "/assets/404.html"   # optional: a manifest path served with status 404
//! memory_cache_bytes = 8388608          # isolate cache for hot small assets (0 disables)
//! memory_cache_max_file = 131072        # largest file kept in it
//! origin = "http://127.0.0.1:8001"      # where non-asset requests go
//! ```
//!
//! Every error names the key (`EDGE.cors_allow_origins[1]`) and says what is expected. An unknown
//! key is an error, so a typo cannot silently fall back to a default.

use serde::Deserialize;

/// A configuration error, naming the key at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid configuration at `{key}`: {reason}")]
pub struct ConfigError {
    /// The key's path, e.g. `EDGE.public_path`.
    pub key: String,
    /// What is wrong and what is expected.
    pub reason: String,
}

/// Who may read assets cross-origin (fonts and module scripts on a CDN host need it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cors {
    /// No CORS headers.
    Off,
    /// `Access-Control-Allow-Origin: *`.
    Any,
    /// Echo the request's `Origin` when it is one of these (with `Vary: Origin`).
    Origins(Vec<String>),
}

/// The validated configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// URL path prefix of the assets, with leading and trailing `/`.
    pub public_path: String,
    /// Path of the builder's binary index inside the assets directory.
    pub manifest: String,
    /// Cross-origin policy for assets.
    pub cors: Cors,
    /// A manifest path served (with status 404) for unknown asset paths.
    pub not_found_page: Option<String>,
    /// Budget in bytes of the isolate's cache of hot small assets.
    pub memory_cache_bytes: usize,
    /// Largest representation kept in that cache.
    pub memory_cache_max_file: usize,
    /// Origin URL (scheme, host, optional port, no path) for everything that is not an asset.
    pub origin: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    #[serde(default = "default_public_path")]
    public_path: String,
    #[serde(default = "default_manifest")]
    manifest: String,
    #[serde(default = "default_cors")]
    cors_allow_origins: Vec<String>,
    #[serde(default)]
    not_found_page: Option<String>,
    #[serde(default = "default_cache_bytes")]
    memory_cache_bytes: usize,
    #[serde(default = "default_cache_file")]
    memory_cache_max_file: usize,
    #[serde(default)]
    origin: Option<String>,
}

fn default_public_path() -> String {
    "/assets/".into()
}
fn default_manifest() -> String {
    format!("/{}", cdn_manifest::INDEX_FILE_NAME)
}
fn default_cors() -> Vec<String> {
    vec!["*".into()]
}
fn default_cache_bytes() -> usize {
    8 << 20
}
fn default_cache_file() -> usize {
    128 << 10
}

impl Default for Config {
    fn default() -> Self {
        Config::from_json("{}").expect("the defaults are valid")
    }
}

impl Config {
    /// Parses the `EDGE` object from its JSON form (what wrangler passes a TOML table as).
    pub fn from_json(json: &str) -> Result<Self, ConfigError> {
        let de = &mut serde_json::Deserializer::from_str(json);
        let raw: Raw = serde_path_to_error::deserialize(de).map_err(|e| ConfigError {
            key: key_of(&e.path().to_string()),
            reason: e.inner().to_string(),
        })?;
        Self::validate(raw)
    }

    /// Parses the `EDGE` object from an already-parsed JSON value.
    pub fn from_value(value: serde_json::Value) -> Result<Self, ConfigError> {
        let raw: Raw = serde_path_to_error::deserialize(value).map_err(|e| ConfigError {
            key: key_of(&e.path().to_string()),
            reason: e.inner().to_string(),
        })?;
        Self::validate(raw)
    }

    fn validate(raw: Raw) -> Result<Self, ConfigError> {
        let bad = |key: &str, reason: String| ConfigError {
            key: format!("EDGE.{key}"),
            reason,
        };
        let p = &raw.public_path;
        if !p.starts_with('/')
            || !p.ends_with('/')
            || p.contains("//")
            || p.contains("/../")
            || p.contains("/./")
        {
            return Err(bad(
                "public_path",
                format!("`{p}` must be a path starting and ending with `/`, like /assets/"),
            ));
        }
        if !raw.manifest.starts_with('/') || raw.manifest.contains("..") {
            return Err(bad(
                "manifest",
                format!(
                    "`{}` must be an absolute path inside the assets directory",
                    raw.manifest
                ),
            ));
        }
        let cors = match raw.cors_allow_origins.as_slice() {
            [] => Cors::Off,
            [one] if one == "*" => Cors::Any,
            list => {
                for (i, origin) in list.iter().enumerate() {
                    let ok = url::Url::parse(origin).is_ok_and(|u| {
                        matches!(u.scheme(), "http" | "https")
                            && u.host().is_some()
                            && u.path() == "/"
                            && !origin.ends_with('/')
                            && u.query().is_none()
                    });
                    if !ok {
                        return Err(bad(
                            &format!("cors_allow_origins[{i}]"),
                            format!("`{origin}` must be \"*\" alone, or an origin like https://shop.example.com (scheme and host, no path)"),
                        ));
                    }
                }
                Cors::Origins(list.to_vec())
            }
        };
        if let Some(page) = &raw.not_found_page {
            if !page.starts_with(p.as_str()) || page.len() == p.len() {
                return Err(bad("not_found_page", format!("`{page}` must be a published path under public_path `{p}` (publish it with --no-fingerprint)")));
            }
        }
        if raw.memory_cache_max_file > raw.memory_cache_bytes && raw.memory_cache_bytes > 0 {
            return Err(bad(
                "memory_cache_max_file",
                format!(
                    "{} is larger than memory_cache_bytes ({})",
                    raw.memory_cache_max_file, raw.memory_cache_bytes
                ),
            ));
        }
        if raw.memory_cache_bytes > 64 << 20 {
            return Err(bad(
                "memory_cache_bytes",
                format!(
                    "{} exceeds 64 MiB; an isolate has 128 MB in all",
                    raw.memory_cache_bytes
                ),
            ));
        }
        if let Some(origin) = &raw.origin {
            let ok = url::Url::parse(origin).is_ok_and(|u| {
                matches!(u.scheme(), "http" | "https")
                    && u.host().is_some()
                    && u.path() == "/"
                    && u.query().is_none()
            });
            if !ok {
                return Err(bad("origin", format!("`{origin}` must be an http(s) URL with a host and no path, like http://127.0.0.1:8001")));
            }
        }
        Ok(Config {
            public_path: raw.public_path,
            manifest: raw.manifest,
            cors,
            not_found_page: raw.not_found_page,
            memory_cache_bytes: raw.memory_cache_bytes,
            memory_cache_max_file: raw.memory_cache_max_file,
            origin: raw.origin.map(|o| o.trim_end_matches('/').to_string()),
        })
    }
}

fn key_of(path: &str) -> String {
    if path.is_empty() || path == "." {
        "EDGE".into()
    } else {
        format!("EDGE.{path}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults() {
        let c = Config::default();
        assert_eq!(c.public_path, "/assets/");
        assert_eq!(c.manifest, "/cdn-manifest.bin");
        assert_eq!(c.cors, Cors::Any);
        assert_eq!(c.origin, None);
    }

    #[test]
    fn full_config() {
        let c = Config::from_json(r#"{"public_path":"/static/","cors_allow_origins":["https://shop.test","http://localhost:8000"],"not_found_page":"/static/404.html","origin":"http://127.0.0.1:8001/"}"#).unwrap();
        assert_eq!(
            c.cors,
            Cors::Origins(vec![
                "https://shop.test".into(),
                "http://localhost:8000".into()
            ])
        );
        assert_eq!(c.origin.as_deref(), Some("http://127.0.0.1:8001"));
        assert_eq!(
            Config::from_json(r#"{"cors_allow_origins":[]}"#)
                .unwrap()
                .cors,
            Cors::Off
        );
    }

    #[test]
    fn errors_name_the_key() {
        let cases = [
            (
                r#"{"public_pth":"/a/"}"#,
                "EDGE.public_pth",
                "unknown field",
            ),
            (r#"{"public_path":"assets"}"#, "EDGE.public_path", "must be"),
            (r#"{"public_path":7}"#, "EDGE.public_path", "invalid type"),
            (
                r#"{"cors_allow_origins":["https://a.test","https://b.test/path"]}"#,
                "EDGE.cors_allow_origins[1]",
                "origin",
            ),
            (
                r#"{"cors_allow_origins":["*","https://a.test"]}"#,
                "EDGE.cors_allow_origins[0]",
                "alone",
            ),
            (
                r#"{"not_found_page":"/elsewhere/404.html"}"#,
                "EDGE.not_found_page",
                "public_path",
            ),
            (r#"{"origin":"ftp://x"}"#, "EDGE.origin", "http(s)"),
            (r#"{"origin":"http://x/app"}"#, "EDGE.origin", "no path"),
            (
                r#"{"memory_cache_bytes":1000,"memory_cache_max_file":2000}"#,
                "EDGE.memory_cache_max_file",
                "larger",
            ),
            (
                r#"{"memory_cache_bytes":-1}"#,
                "EDGE.memory_cache_bytes",
                "invalid",
            ),
        ];
        for (json, key, reason) in cases {
            let e = Config::from_json(json).unwrap_err();
            assert_eq!(e.key, key, "{json}: {e}");
            assert!(e.reason.contains(reason), "{json}: {e}");
        }
    }
}
