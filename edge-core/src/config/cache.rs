//! `routes[].cache`: how a route's responses are cached.

use super::key_path::{ConfigError, KeyPath, Validate};
use super::raw::RawCache;
use crate::cache::settings::CacheSettings;
use crate::token::is_token;

impl Validate for RawCache {
    type Output = CacheSettings;

    fn validate(&self, at: &KeyPath) -> Result<CacheSettings, ConfigError> {
        for (i, g) in self.ignore_query.iter().enumerate() {
            if g.is_empty() || g.contains(['&', '=', '#', ' ']) {
                return Err(at.key("ignore_query").index(i).error(format!(
                    "`{g}` must be a query parameter name, `*` matching any characters (like utm_*)"
                )));
            }
        }
        for (i, c) in self.private_cookies.iter().enumerate() {
            if !is_token(c) {
                return Err(at
                    .key("private_cookies")
                    .index(i)
                    .error(format!("`{c}` is not a valid cookie name")));
            }
        }
        for (key, name) in [
            ("tag_header", &self.tag_header),
            ("purge_header", &self.purge_header),
        ] {
            if !is_token(name) {
                return Err(at
                    .key(key)
                    .error(format!("`{name}` is not a valid header name")));
            }
        }
        Ok(CacheSettings {
            enabled: self.enabled,
            ignore_query: self.ignore_query.clone(),
            private_cookies: self.private_cookies.clone(),
            default_grace_s: at.key("default_grace_s").in_range(
                self.default_grace_s,
                0,
                30 * 86_400,
            )?,
            keep_s: at.key("keep_s").in_range(self.keep_s, 0, 30 * 86_400)?,
            tag_header: self.tag_header.to_ascii_lowercase(),
            purge_header: self.purge_header.to_ascii_lowercase(),
            max_object_bytes: at.key("max_object_bytes").in_range(
                self.max_object_bytes,
                1,
                512 << 20,
            )?,
            heuristics: self.heuristics,
            heuristic_max_s: at.key("heuristic_max_s").in_range(
                self.heuristic_max_s,
                0,
                30 * 86_400,
            )?,
        })
    }
}
