//! Where a request goes: the first decision, from its URL alone.
//!
//! Order: the HTTPS redirect (when configured), the edge's own operations endpoints
//! (`/__edge/…`), the deploy history (`/.well-known/asset-history/…`, unless `asset_history` is
//! off), the assets (under the public path), the scheduled jobs' paths (denied: only the
//! coordinator may start a job, and a request the edge forwards is signed), Symfony's internal
//! paths (denied unless a route names them), then the routes, first match wins.

use crate::assets::history;
use crate::config::Config;
use crate::origin_url::{authority_end, split_absolute, split_request_url};
use crate::path::{self, PathError};
use crate::routes::{self, Action, Route, Upstream};

/// Prefix of the edge's own endpoints; never forwarded to an origin.
pub const OPS_PREFIX: &str = "/__edge/";

/// An operations endpoint of the edge (token-protected).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ops {
    /// `GET /__edge/health`: pools and origins as JSON.
    Health,
    /// `POST /__edge/purge`: soft-purge tags and URLs from the cache, everywhere.
    Purge,
    /// `GET /__edge/status`: the HTML status page (pools, origins, jobs, cache).
    Status,
    /// Any other path under `/__edge/`: 404.
    Unknown,
}

/// The decision for one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision<'a> {
    /// Plain HTTP while `https_redirect` is on: 308 to this location.
    Redirect(String),
    /// Under the public path: look this decoded path up in the manifest.
    Asset(String),
    /// Under the public path but malformed: 400, naming the problem.
    BadPath(PathError),
    /// One of the edge's own endpoints.
    Ops(Ops),
    /// The deploy history for the next build: the history file or a stored file.
    History(history::Target),
    /// Denied (a deny route, or an internal path): 404, as if nothing were there.
    Deny,
    /// Proxied to the route's pools.
    Proxy(&'a Route, &'a Upstream),
    /// No route takes this host and path: 404.
    NoRoute,
}

/// Decides where the request for the absolute `url` goes.
pub fn decide<'a>(url: &str, cfg: &'a Config) -> Decision<'a> {
    if cfg.forwarding.https_redirect {
        if let Some(location) = https_location(url) {
            return Decision::Redirect(location);
        }
    }
    let raw_path = path_of(url);
    if let Some(rest) = raw_path.strip_prefix(OPS_PREFIX) {
        return Decision::Ops(match rest {
            "health" => Ops::Health,
            "purge" => Ops::Purge,
            "status" => Ops::Status,
            _ => Ops::Unknown,
        });
    }
    if cfg.assets.history {
        if let Some(target) = history::target(raw_path, &cfg.assets.public_path) {
            return Decision::History(target);
        }
    }
    let public = &cfg.assets.public_path;
    match path::decode(raw_path) {
        Ok(p) if p.starts_with(public.as_str()) => return Decision::Asset(p),
        // A path refused under the public path however it is spelled: in any case, or with
        // the path's own separator encoded (`/assets%2Fapp.css` names no asset, and an origin
        // that decodes it would serve the asset's source).
        Err(e)
            if under(raw_path.as_bytes(), public)
                || under(&path::decode_lossy(raw_path), public) =>
        {
            return Decision::BadPath(e)
        }
        _ => {}
    }
    let host = split_request_url(url).map(|u| u.host).unwrap_or_default();
    let decoded = path::decode_lossy(raw_path);
    if is_job_path(&decoded, cfg) || is_job_path(after_script(&decoded), cfg) {
        return Decision::Deny;
    }
    let Some(route) = cfg.routes.iter().find(|r| r.matches(&host, &decoded)) else {
        return Decision::NoRoute;
    };
    if cfg.deny_internal && routes::is_internal(&decoded) && !route.names_internal_path() {
        return Decision::Deny;
    }
    match &route.action {
        Action::Deny => Decision::Deny,
        Action::Proxy(upstream) => Decision::Proxy(route, upstream),
    }
}

/// Whether `path` starts with the public path `public`, in any case.
fn under(path: &[u8], public: &str) -> bool {
    path.get(..public.len())
        .is_some_and(|p| p.eq_ignore_ascii_case(public.as_bytes()))
}

/// `decoded` less a first segment that names a PHP script (`/index.php/_jobs/x` → `/_jobs/x`):
/// the path Symfony's front controller routes. (`deny_internal` denies such paths; the jobs'
/// paths stay denied without it.)
fn after_script(decoded: &[u8]) -> &[u8] {
    let start = decoded
        .iter()
        .position(|&b| b != b'/')
        .unwrap_or(decoded.len());
    let rest = &decoded[start..];
    let end = rest.iter().position(|&b| b == b'/').unwrap_or(rest.len());
    let first = &rest[..end];
    if routes::is_script(first) {
        &rest[end..]
    } else {
        decoded
    }
}

/// Whether `decoded` names a scheduled job's path, however spelled (repeated or trailing slashes,
/// deeper segments): a public request there would reach the origin signed by the edge and start
/// the job outside its schedule.
fn is_job_path(decoded: &[u8], cfg: &Config) -> bool {
    if cfg.jobs.is_empty() {
        return false;
    }
    let mut norm = Vec::with_capacity(decoded.len());
    for seg in decoded.split(|&b| b == b'/').filter(|s| !s.is_empty()) {
        norm.push(b'/');
        norm.extend_from_slice(seg);
    }
    cfg.job_paths().iter().any(|job| {
        let job = job.trim_end_matches('/').as_bytes();
        norm == job || norm.strip_prefix(job).is_some_and(|r| r.starts_with(b"/"))
    })
}

/// Where a plain-HTTP request is sent when `https_redirect` is on: the same host (without the
/// HTTP port, whose HTTPS counterpart is unknown), path and query over `https`; `None` for a
/// request that already is HTTPS.
pub fn https_location(url: &str) -> Option<String> {
    let rest = url.strip_prefix("http://")?;
    let authority = &rest[..authority_end(rest)];
    let host = match authority.strip_prefix('[') {
        Some(v6) => &authority[..v6.find(']').map_or(authority.len(), |i| i + 2)],
        None => authority.split(':').next().unwrap_or(authority),
    };
    Some(format!("https://{host}{}", path_and_query_of(url)))
}

/// What follows an absolute URL's authority (`http://host/a?q` → `/a?q`); for a URL without a
/// scheme, what follows its first segment.
fn after_authority(url: &str) -> &str {
    match split_absolute(url) {
        Some((_, _, tail)) => tail,
        None => &url[authority_end(url)..],
    }
}

/// The path of an absolute URL (`http://host/a/b?q` → `/a/b`), without parsing the rest.
pub fn path_of(url: &str) -> &str {
    let path = after_authority(url);
    let end = path
        .bytes()
        .position(|c| c == b'?' || c == b'#')
        .unwrap_or(path.len());
    if end == 0 {
        "/"
    } else {
        &path[..end]
    }
}

/// The path and query of an absolute URL (`http://host/a?q#f` → `/a?q`), for forwarding.
pub fn path_and_query_of(url: &str) -> &str {
    let tail = after_authority(url);
    let end = tail.bytes().position(|c| c == b'#').unwrap_or(tail.len());
    match &tail[..end] {
        "" => "/",
        t if t.starts_with('?') => "/",
        t => t,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(json: &str) -> Config {
        Config::from_json(json).unwrap()
    }

    const POOLS: &str =
        r#""pools":{"a":{"origins":[{"url":"http://x"}]},"b":{"origins":[{"url":"http://y"}]}}"#;

    fn proxied_by(d: &Decision<'_>) -> Option<String> {
        match d {
            Decision::Proxy(route, _) => Some(route.label()),
            _ => None,
        }
    }

    #[test]
    fn https_redirect_location() {
        assert_eq!(
            https_location("http://shop.test/cart?x=1#f").as_deref(),
            Some("https://shop.test/cart?x=1")
        );
        assert_eq!(
            https_location("http://shop.test:8080/").as_deref(),
            Some("https://shop.test/")
        );
        assert_eq!(
            https_location("http://[::1]:8080/a").as_deref(),
            Some("https://[::1]/a")
        );
        assert_eq!(https_location("https://shop.test/"), None);
        let c = cfg(r#"{"https_redirect":true}"#);
        assert_eq!(
            decide("http://shop.test/assets/a.css", &c),
            Decision::Redirect("https://shop.test/assets/a.css".into())
        );
    }

    #[test]
    fn url_parts() {
        assert_eq!(
            path_of("https://shop.test/assets/a.css?v=1#x"),
            "/assets/a.css"
        );
        assert_eq!(path_of("http://127.0.0.1:8787"), "/");
        assert_eq!(path_of("http://h/?q"), "/");
        assert_eq!(path_of("http://h?q=/x"), "/");
        assert_eq!(
            path_and_query_of("https://shop.test/cart?id=3#top"),
            "/cart?id=3"
        );
        assert_eq!(path_and_query_of("https://shop.test"), "/");
    }

    #[test]
    fn assets_bad_paths_and_the_manifests() {
        let c = cfg("{}");
        assert_eq!(
            decide("http://h/assets/a-1.css", &c),
            Decision::Asset("/assets/a-1.css".into())
        );
        assert_eq!(
            decide("http://h/assets/%2e%2e/x", &c),
            Decision::BadPath(PathError::DotSegment)
        );
        assert_eq!(
            decide("http://h/ASSETS/%zz", &c),
            Decision::BadPath(PathError::BadEscape)
        );
        for encoded in ["http://h/assets%2Fa-1.css", "http://h/Assets%2fcss%2Fa.css"] {
            assert_eq!(
                decide(encoded, &c),
                Decision::BadPath(PathError::Separator),
                "{encoded}: never an origin's"
            );
        }
        assert_eq!(
            decide("http://h/cdn-manifest.bin", &c),
            Decision::NoRoute,
            "the manifests are never served as assets"
        );
        assert_eq!(
            decide("http://h/__edge/health", &c),
            Decision::Ops(Ops::Health)
        );
        assert_eq!(decide("http://h/__edge/x", &c), Decision::Ops(Ops::Unknown));
    }

    #[test]
    fn the_deploy_history_unless_turned_off() {
        let c = cfg(&format!(r#"{{"routes":[{{"pools":["a"]}}],{POOLS}}}"#));
        assert_eq!(
            decide("http://h/.well-known/asset-history/history.json", &c),
            Decision::History(history::Target::Index)
        );
        assert_eq!(
            decide(
                "http://h/.well-known/asset-history/files/assets/a-1.js.br?x",
                &c
            ),
            Decision::History(history::Target::Stored("/assets/a-1.js.br".into()))
        );
        assert_eq!(
            decide("http://h/.well-known/asset-history/nope", &c),
            Decision::History(history::Target::Unknown)
        );
        assert!(proxied_by(&decide("http://h/.well-known/security.txt", &c)).is_some());
        let off = cfg(&format!(
            r#"{{"asset_history":false,"routes":[{{"pools":["a"]}}],{POOLS}}}"#
        ));
        assert!(proxied_by(&decide(
            "http://h/.well-known/asset-history/history.json",
            &off
        ))
        .is_some());
    }

    #[test]
    fn routes_match_decoded_whole_segments_first_match_wins() {
        let c = cfg(&format!(
            r#"{{"routes":[{{"path_prefix":"/admin","pools":["b"]}},{{"host":"*.Shop.Test","pools":["b"]}},{{"pools":["a"]}}],{POOLS}}}"#
        ));
        for (url, want) in [
            ("http://h/%61dmin/users", "*/admin"),
            ("http://h/admin", "*/admin"),
            ("http://h/administrator", "*/"),
            ("http://eu.shop.test/x", "*.shop.test/"),
            ("http://EU.SHOP.TEST/x", "*.shop.test/"),
            ("http://shop.test/x", "*/"),
        ] {
            assert_eq!(proxied_by(&decide(url, &c)).as_deref(), Some(want), "{url}");
        }
    }

    #[test]
    fn internal_paths_are_denied_unless_a_route_names_them() {
        let c = cfg(&format!(r#"{{"routes":[{{"pools":["a"]}}],{POOLS}}}"#));
        for url in [
            "http://h/_profiler/abc",
            "http://h/_wdt/123",
            "http://h/_fragment?_path=x",
            "http://h/%5Fprofiler",
            "http://h/.env",
            "http://h/.git/config",
            "http://h/x/.svn/entries",
        ] {
            assert_eq!(decide(url, &c), Decision::Deny, "{url}");
        }
        assert!(proxied_by(&decide("http://h/.well-known/security.txt", &c)).is_some());
        let allowed = cfg(&format!(
            r#"{{"routes":[{{"path_prefix":"/_profiler","pools":["b"]}},{{"pools":["a"]}}],{POOLS}}}"#
        ));
        assert_eq!(
            proxied_by(&decide("http://h/_profiler/abc", &allowed)).as_deref(),
            Some("*/_profiler")
        );
        assert_eq!(decide("http://h/_wdt/1", &allowed), Decision::Deny);
        let off = cfg(&format!(
            r#"{{"deny_internal":false,"routes":[{{"pools":["a"]}}],{POOLS}}}"#
        ));
        assert!(proxied_by(&decide("http://h/.env", &off)).is_some());
        let deny = cfg(&format!(
            r#"{{"routes":[{{"path_prefix":"/private","action":"deny"}},{{"pools":["a"]}}],{POOLS}}}"#
        ));
        assert_eq!(decide("http://h/private/x", &deny), Decision::Deny);
        assert_eq!(decide("http://h/x", &cfg("{}")), Decision::NoRoute);
    }

    #[test]
    fn job_paths_are_denied_however_spelled() {
        let c = cfg(&format!(
            r#"{{"routes":[{{"pools":["a"]}}],"jobs":[{{"name":"j","every_s":60,"pool":"a","path":"/_jobs/append?x=1"}}],{POOLS}}}"#
        ));
        for url in [
            "http://h/_jobs/append",
            "http://h/_jobs/append?x=1",
            "http://h/_jobs/append/",
            "http://h//_jobs//append",
            "http://h/_jobs/%61ppend",
            "http://h/_jobs/append/more",
        ] {
            assert_eq!(decide(url, &c), Decision::Deny, "{url}");
        }
        for url in [
            "http://h/_jobs/appendix",
            "http://h/_jobs",
            "http://h/_JOBS/append",
        ] {
            assert!(proxied_by(&decide(url, &c)).is_some(), "{url}");
        }
        assert_eq!(
            decide("http://h/__edge/status", &c),
            Decision::Ops(Ops::Status)
        );
        // By way of the front controller, even with deny_internal off.
        let open = cfg(&format!(
            r#"{{"deny_internal":false,"routes":[{{"pools":["a"]}}],"jobs":[{{"name":"j","every_s":60,"pool":"a","path":"/_jobs/append"}}],{POOLS}}}"#
        ));
        for url in [
            "http://h/index.php/_jobs/append",
            "http://h//Index.PHP//_jobs/append/",
            "http://h/index%2Ephp/_jobs/%61ppend",
        ] {
            assert_eq!(decide(url, &open), Decision::Deny, "{url}");
        }
        assert!(proxied_by(&decide("http://h/index.php/shop", &open)).is_some());
    }
}
