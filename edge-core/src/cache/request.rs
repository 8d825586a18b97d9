//! What a request asks of the cache: its `Cache-Control` (RFC 9111 §5.2.1), whether it is
//! personal (a session cookie: never shared), and its own validators.

use super::directives::{Delta, Directives};
use super::key;
use super::settings::CacheSettings;
use crate::cookies;

/// A request, as the cache sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheRequest {
    /// GET or HEAD (only these are answered from the cache).
    pub readable: bool,
    /// HEAD.
    pub head: bool,
    /// `Cache-Control` (or `Pragma: no-cache` read as `no-cache` when there is none).
    pub cc: Directives,
    /// `Authorization` is present.
    pub authorization: bool,
    /// It carries one of the route's private cookies (a session).
    pub personal: bool,
    /// Its client wrote on the route moments ago and reads its own writes
    /// ([`reads_own_writes`](crate::proxy::plan::reads_own_writes)): a copy a replica answered
    /// may predate the write, so the cache is gone around. Set by the caller, which holds the
    /// cookie key (`false` from [`CacheRequest::read`]).
    pub writer: bool,
    /// `If-None-Match`.
    pub if_none_match: Option<String>,
    /// `If-Modified-Since`.
    pub if_modified_since: Option<String>,
}

impl CacheRequest {
    /// Reads a request with `method` whose headers `get` looks up (several lines joined).
    pub fn read(
        method: &str,
        get: impl Fn(&str) -> Option<String>,
        settings: &CacheSettings,
    ) -> Self {
        let mut cc = Directives::parse(get("cache-control").as_deref());
        if cc == Directives::default()
            && get("pragma").is_some_and(|p| {
                p.split(',')
                    .any(|d| d.trim().eq_ignore_ascii_case("no-cache"))
            })
        {
            cc = Directives::parse(["no-cache"]);
        }
        let cookie = get("cookie").unwrap_or_default();
        CacheRequest {
            readable: method == "GET" || method == "HEAD",
            head: method == "HEAD",
            cc,
            authorization: get("authorization").is_some(),
            personal: settings
                .private_cookies
                .iter()
                .any(|c| cookies::has(&cookie, c)),
            writer: false,
            if_none_match: get("if-none-match"),
            if_modified_since: get("if-modified-since"),
        }
    }

    /// Why this request must not use the cache at all (`Cache-Status: fwd=bypass`), if so.
    pub fn bypass(&self, settings: &CacheSettings) -> Option<&'static str> {
        if !settings.enabled {
            Some("disabled")
        } else if !self.readable {
            Some("method")
        } else if self.personal {
            Some("session")
        } else if self.writer {
            Some("read-your-writes")
        } else {
            None
        }
    }

    /// The target (`path_and_query`) the origins get. A request the cache may serve or store
    /// goes without the query parameters its key ignores (`utm_*`): else they would be unkeyed
    /// input, and a page that reflects one would be stored for everyone under the clean key. A
    /// request the cache never uses (a POST, a session's) keeps its whole target, campaign tags
    /// included.
    pub fn origin_target(&self, path_and_query: &str, settings: &CacheSettings) -> String {
        match self.bypass(settings) {
            None => key::forwarded(path_and_query, &settings.ignore_query),
            Some(_) => path_and_query.to_string(),
        }
    }

    /// `max-age`, `min-fresh`, `max-stale` (`Some(u64::MAX)` for a bare `max-stale`).
    pub fn limits(&self) -> (Option<u64>, Option<u64>, Option<u64>) {
        let get = |n| match self.cc.delta(n) {
            Delta::Seconds(s) => Some(s),
            _ => None,
        };
        let max_stale = match self.cc.delta("max-stale") {
            Delta::Seconds(s) => Some(s),
            Delta::Invalid if self.cc.has("max-stale") => Some(u64::MAX),
            _ => None,
        };
        (get("max-age"), get("min-fresh"), max_stale)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_requests_the_cache_uses_lose_the_ignored_query_parameters() {
        let settings = CacheSettings {
            ignore_query: vec!["utm_*".into()],
            ..crate::cache::storable::tests::settings()
        };
        let target = "/signup?utm_source=mail&plan=2";
        for (method, cookie, want) in [
            ("GET", None, "/signup?plan=2"),
            ("HEAD", None, "/signup?plan=2"),
            ("GET", Some("theme=dark"), "/signup?plan=2"),
            ("POST", None, target),
            ("DELETE", None, target),
            ("GET", Some("PHPSESSID=abc"), target),
        ] {
            let get = |n: &str| {
                (n == "cookie")
                    .then(|| cookie.map(str::to_string))
                    .flatten()
            };
            let req = CacheRequest::read(method, get, &settings);
            let got = req.origin_target(target, &settings);
            assert_eq!(got, want, "{method} cookie {cookie:?}");
        }
    }
}
