//! A stored response: the origin's status and header fields as kept, when it was obtained, its
//! tags and the request fields it varies on. The glue stores it beside the body (encoded in one
//! header of the Cache API's copy, whose own headers only steer the platform's expiry).

use base64::Engine;
use serde::{Deserialize, Serialize};

use super::freshness::{Facts, Timing};
use super::headers::Fields;
use super::purge::PurgeLog;
use super::settings::CacheSettings;

/// The stored copy's header that carries the [`Entry`].
pub const META_HEADER: &str = "x-edge-cache-entry";

/// What the cache keeps about a stored response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// Response status.
    pub status: u16,
    /// The origin's header fields, as stored (hop-by-hop and private fields left out).
    pub fields: Fields,
    /// When the request and response travelled.
    pub timing: Timing,
    /// When it was stored (see [`Entry::purged`] for what a purge since then does).
    pub stored_ms: u64,
    /// Tags (from the route's tag header) and the implicit tag of its URL.
    pub tags: Vec<String>,
}

impl Entry {
    /// Encodes for the meta header (base64url JSON: header values must be plain ASCII).
    pub fn encode(&self) -> String {
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(serde_json::to_vec(self).unwrap_or_default())
    }

    /// Decodes a meta header; `None` when it is not one of ours (then the copy is ignored).
    pub fn decode(value: &str) -> Option<Self> {
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(value)
            .ok()?;
        serde_json::from_slice(&bytes).ok()
    }

    /// Whether a purge of its tags in `purges` makes this copy stale: one recorded since the
    /// origin was asked for what it holds. A purge that lands while the answer (or the `304`
    /// that refreshed it) is on its way counts: the origin may have answered from the state
    /// the purge replaced.
    pub fn purged(&self, purges: &PurgeLog) -> bool {
        purges.purged(&self.tags, self.timing.request_ms.min(self.stored_ms))
    }

    /// The cache-relevant facts of the stored response.
    pub fn facts(&self) -> Facts {
        Facts::read(&self.fields, self.status, self.timing.response_ms / 1000)
    }

    /// Freshness lifetime in seconds under `settings` (heuristics capped).
    pub fn lifetime(&self, facts: &Facts, settings: &CacheSettings) -> u64 {
        match facts.explicit_lifetime {
            Some(l) => l,
            None if settings.heuristics => facts
                .heuristic_lifetime
                .unwrap_or(0)
                .min(settings.heuristic_max_s),
            None => 0,
        }
    }

    /// Whether it carries a validator (`ETag` or `Last-Modified`) for a conditional request.
    pub fn has_validator(&self) -> bool {
        self.fields.has("etag") || self.fields.has("last-modified")
    }

    /// The header fields to send with it at `age` seconds: the stored ones with `Age` set.
    pub fn served_fields(&self, age: u64) -> Fields {
        let mut f = self.fields.clone();
        f.set("age", age.to_string());
        f
    }
}

/// The implicit tag of a primary key (purging a URL purges every variant stored under it).
pub fn url_tag(primary: &str) -> String {
    use sha2::{Digest, Sha256};
    let d = Sha256::digest(primary.as_bytes());
    let hex: String = d[..12].iter().map(|b| format!("{b:02x}")).collect();
    format!("url:{hex}")
}

/// The Cache API key (a URL) of a primary key, and of one of its variants.
pub fn storage_url(primary: &str, secondary: Option<&str>) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(primary.as_bytes());
    if let Some(s) = secondary {
        h.update(b"\n\x00vary\n");
        h.update(s.as_bytes());
    }
    let hex: String = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "https://edge-cache.invalid/{}/{hex}",
        if secondary.is_some() { "v" } else { "p" }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_round_trip_and_strangers_are_ignored() {
        let e = Entry {
            status: 200,
            fields: Fields::new([("Cache-Control", "max-age=60"), ("X-Ünïcode", "é")]),
            timing: Timing {
                request_ms: 1,
                response_ms: 2,
            },
            stored_ms: 3,
            tags: vec!["product-1".into(), url_tag("https://s/")],
        };
        let enc = e.encode();
        assert!(enc.bytes().all(|c| c.is_ascii_graphic()));
        assert_eq!(Entry::decode(&enc), Some(e));
        assert_eq!(Entry::decode("not base64!"), None);
        assert_eq!(Entry::decode("e30"), None, "{{}} is not an entry");
        assert_ne!(
            storage_url("https://s/", None),
            storage_url("https://s/", Some(""))
        );
        assert_ne!(
            storage_url("https://s/", Some("a=1\n")),
            storage_url("https://s/", Some("a=2\n"))
        );
        assert!(storage_url("https://s/?q", None).starts_with("https://edge-cache.invalid/p/"));
    }
}
