//! A route's cache settings (`routes[].cache` in the configuration).

/// How a route's responses are cached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheSettings {
    /// Whether responses of this route are looked up and stored at all.
    pub enabled: bool,
    /// Query parameters that never change a page (globs, e.g. `utm_*`): left out of the key.
    pub ignore_query: Vec<String>,
    /// Cookies that mark a personal request (a session): such requests bypass the cache.
    pub private_cookies: Vec<String>,
    /// Seconds a response that names no stale window may still be served stale while the
    /// origins fail (Varnish's `beresp.grace`).
    pub default_grace_s: u64,
    /// Seconds a stale response with a validator is kept for conditional revalidation.
    pub keep_s: u64,
    /// Response field listing the tags of a page (`X-Cache-Tags`, FOSHttpCache's); removed
    /// before the client.
    pub tag_header: String,
    /// Response field by which an origin's answer to an unsafe request invalidates tags;
    /// removed before the client.
    pub purge_header: String,
    /// Largest body stored, bytes.
    pub max_object_bytes: u64,
    /// Heuristic freshness (10 % of the time since `Last-Modified`, RFC 9111 §4.2.2) for
    /// responses with no explicit freshness, up to `heuristic_max_s`.
    pub heuristics: bool,
    /// Longest heuristic freshness, seconds.
    pub heuristic_max_s: u64,
}
