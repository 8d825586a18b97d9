//! `public_path`, `manifest`, `cors_allow_origins`, `not_found_page`, the memory cache and
//! `asset_history`.

use super::key_path::{ConfigError, KeyPath};
use super::raw::RawEdge;
use crate::assets::Cors;
use crate::origin_url::OriginUrl;

/// Where the assets are and how they are served.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssetSettings {
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
    /// Serve the deploy history at `/.well-known/asset-history/` (for the next build).
    pub history: bool,
}

/// Largest isolate cache: an isolate has 128 MB in all.
const MAX_MEMORY_CACHE: u64 = 64 << 20;

pub(super) fn validate(raw: &RawEdge, at: &KeyPath) -> Result<AssetSettings, ConfigError> {
    let p = &raw.public_path;
    if !p.starts_with('/')
        || !p.ends_with('/')
        || p.contains("//")
        || p.contains("/../")
        || p.contains("/./")
    {
        return Err(at.key("public_path").error(format!(
            "`{p}` must be a path starting and ending with `/`, like /assets/"
        )));
    }
    if !raw.manifest.starts_with('/') || raw.manifest.contains("..") {
        return Err(at.key("manifest").error(format!(
            "`{}` must be an absolute path inside the assets directory",
            raw.manifest
        )));
    }
    let cors = match raw.cors_allow_origins.as_slice() {
        [] => Cors::Off,
        [one] if one == "*" => Cors::Any,
        list => {
            for (i, origin) in list.iter().enumerate() {
                if OriginUrl::parse(origin).is_none_or(|o| o.to_string() != *origin) {
                    return Err(at.key("cors_allow_origins").index(i).error(format!(
                        "`{origin}` must be \"*\" alone, or an origin exactly as browsers send it, like https://shop.example.com (lower-case scheme and host, no default port, no path or slash)"
                    )));
                }
            }
            Cors::Origins(list.to_vec())
        }
    };
    if let Some(page) = &raw.not_found_page {
        if !page.starts_with(p.as_str()) || page.len() == p.len() {
            return Err(at.key("not_found_page").error(format!(
                "`{page}` must be a published path under public_path `{p}` (publish it with --no-fingerprint)"
            )));
        }
    }
    let bytes = at
        .key("memory_cache_bytes")
        .in_range(raw.memory_cache_bytes, 0, MAX_MEMORY_CACHE)
        .map_err(|e| ConfigError {
            reason: format!("{}; an isolate has 128 MB in all", e.reason),
            ..e
        })?;
    if raw.memory_cache_max_file > bytes && bytes > 0 {
        return Err(at.key("memory_cache_max_file").error(format!(
            "{} is larger than memory_cache_bytes ({bytes})",
            raw.memory_cache_max_file
        )));
    }
    Ok(AssetSettings {
        public_path: p.clone(),
        manifest: raw.manifest.clone(),
        cors,
        not_found_page: raw.not_found_page.clone(),
        memory_cache_bytes: bytes as usize,
        memory_cache_max_file: raw.memory_cache_max_file.min(bytes) as usize,
        history: raw.asset_history,
    })
}
