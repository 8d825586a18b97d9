//! The route table's model: which requests a route takes (host pattern, path prefix on whole
//! segments of the decoded path) and what it does with them (proxy to a pool chain, or deny).
//! Symfony's internal paths are denied unless a route names them.

use sha2::{Digest, Sha256};

/// Which hosts a route takes (case-insensitive, as DNS names are).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostPattern {
    /// Any host (`*`).
    Any,
    /// Exactly this host (lower-cased).
    Exact(String),
    /// Any subdomain of this domain (`*.shop.test` → `shop.test`, lower-cased); not the
    /// domain itself.
    SubdomainOf(String),
}

impl HostPattern {
    /// Parses `*`, `*.domain` or a host name; `None` when it is none of these.
    pub fn parse(pattern: &str) -> Option<Self> {
        let lower = pattern.to_ascii_lowercase();
        let (plain, wild) = match lower.strip_prefix("*.") {
            Some(rest) => (rest.to_string(), true),
            None if lower == "*" => return Some(HostPattern::Any),
            None => (lower, false),
        };
        let valid = !plain.is_empty()
            && !plain.starts_with('.')
            && !plain.ends_with('.')
            && !plain.contains("..")
            && plain
                .bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'.');
        match (valid, wild) {
            (false, _) => None,
            (true, true) => Some(HostPattern::SubdomainOf(plain)),
            (true, false) => Some(HostPattern::Exact(plain)),
        }
    }

    /// Whether `host` (as the client sent it, any case, no port) matches.
    pub fn matches(&self, host: &str) -> bool {
        match self {
            HostPattern::Any => true,
            HostPattern::Exact(h) => host.eq_ignore_ascii_case(h),
            HostPattern::SubdomainOf(d) => {
                host.len() > d.len() + 1
                    && host.is_char_boundary(host.len() - d.len() - 1)
                    && host[host.len() - d.len()..].eq_ignore_ascii_case(d)
                    && host.as_bytes().get(host.len() - d.len() - 1) == Some(&b'.')
            }
        }
    }

    /// The pattern as written in the configuration (`*`, `*.shop.test`, `shop.test`).
    pub fn label(&self) -> String {
        let mut out = String::new();
        self.push_label(&mut out);
        out
    }

    /// Appends [`HostPattern::label`] to `out`.
    fn push_label(&self, out: &mut String) {
        match self {
            HostPattern::Any => out.push('*'),
            HostPattern::Exact(h) => out.push_str(h),
            HostPattern::SubdomainOf(d) => {
                out.push_str("*.");
                out.push_str(d);
            }
        }
    }
}

/// A path prefix that matches whole segments: `/admin` takes `/admin` and `/admin/users`,
/// never `/administrator`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathPrefix(String);

impl PathPrefix {
    /// Parses a prefix starting with `/`; a trailing `/` is the same prefix (`/api/` = `/api`).
    pub fn parse(prefix: &str) -> Option<Self> {
        if !prefix.starts_with('/') || prefix.contains(['?', '#']) {
            return None;
        }
        let trimmed = prefix.trim_end_matches('/');
        Some(PathPrefix(if trimmed.is_empty() {
            "/".into()
        } else {
            trimmed.into()
        }))
    }

    /// Whether the decoded path `path` starts with this prefix on a segment boundary.
    pub fn matches(&self, path: &[u8]) -> bool {
        let p = self.0.as_bytes();
        p == b"/" || (path.starts_with(p) && matches!(path.get(p.len()), None | Some(b'/' | b'?')))
    }

    /// The prefix as a string (`/` or `/admin`).
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What a route does with the requests it takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Send them to origin pools.
    Proxy(Upstream),
    /// Answer 404, as if nothing were there (internal or debug paths).
    Deny,
}

/// Where a proxy route sends requests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upstream {
    /// Pool names: the primary first, then failover pools in order, the fallback pool last.
    pub pools: Vec<String>,
    /// Where unsafe requests (POST, PUT, PATCH, DELETE, …) go, and nowhere else; and the
    /// writer's reads for [`Upstream::read_your_writes_s`] afterwards.
    pub write_pool: Option<String>,
    /// Seconds after a write during which the writer reads from the write pool.
    pub read_your_writes_s: u64,
    /// Replace the origins' own 5xx answers with the edge's error pages (a stack trace never
    /// reaches the public).
    pub intercept_origin_errors: bool,
    /// How this route's responses are cached.
    pub cache: crate::cache::settings::CacheSettings,
}

impl Upstream {
    /// Whether an origin's answer with `status` is replaced by the edge's own (its error page):
    /// a 5xx on a route that intercepts them.
    pub fn intercepts(&self, status: u16) -> bool {
        self.intercept_origin_errors && status >= 500
    }
}

/// A route: requests matching host and path prefix get its action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// Which hosts.
    pub host: HostPattern,
    /// Which paths.
    pub path_prefix: PathPrefix,
    /// What happens to them.
    pub action: Action,
}

impl Route {
    /// Whether a request for `host` and decoded `path` takes this route.
    pub fn matches(&self, host: &str, path: &[u8]) -> bool {
        self.host.matches(host) && self.path_prefix.matches(path)
    }

    /// `host` + `path_prefix`, for logs (`*/`, `shop.test/api`).
    pub fn label(&self) -> String {
        let mut out = String::with_capacity(32);
        self.host.push_label(&mut out);
        out.push_str(self.path_prefix.as_str());
        out
    }

    /// A short stable identifier (for tokens that name the route, such as read-your-writes).
    pub fn id(&self) -> String {
        let d = Sha256::digest(self.label().as_bytes());
        d[..6].iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Whether this route names an internal path explicitly (then it may serve one).
    pub fn names_internal_path(&self) -> bool {
        self.path_prefix.as_str() != "/" && is_internal(self.path_prefix.as_str().as_bytes())
    }
}

/// First segments of Symfony's debug and internal endpoints: the profiler, the web debug
/// toolbar, and the fragment renderer (ESI/hinclude sub-requests, signed but not for the public).
pub const INTERNAL_PREFIXES: [&str; 3] = ["_profiler", "_wdt", "_fragment"];

/// Whether a decoded path is internal and denied by default: Symfony's debug endpoints, any
/// segment starting with `.` (`/.env`, `/.git/config`) except the public `/.well-known/`, or a
/// PHP script named in the path (`/index.php/…`: Symfony's front controller answers
/// `/index.php/X` as `X`, so every path rule could be walked around; Symfony's own nginx
/// configuration answers 404 to such URLs too).
pub fn is_internal(path: &[u8]) -> bool {
    let path = path.split(|&c| c == b'?').next().unwrap_or(path);
    let mut segments = path.split(|&c| c == b'/').filter(|s| !s.is_empty());
    let Some(first) = segments.next() else {
        return false;
    };
    if INTERNAL_PREFIXES.iter().any(|p| p.as_bytes() == first) {
        return true;
    }
    let dotted = |s: &[u8]| s.first() == Some(&b'.');
    (dotted(first) && first != b".well-known")
        || is_script(first)
        || segments.any(|s| dotted(s) || is_script(s))
}

/// Whether a decoded path segment names a PHP script (`index.php`, any case).
pub(crate) fn is_script(segment: &[u8]) -> bool {
    segment.len() >= 4 && segment[segment.len() - 4..].eq_ignore_ascii_case(b".php")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_patterns_are_case_insensitive() {
        let p = HostPattern::parse("*.Shop.Test").unwrap();
        assert_eq!(p, HostPattern::SubdomainOf("shop.test".into()));
        for (host, want) in [
            ("eu.shop.test", true),
            ("EU.SHOP.TEST", true),
            ("a.b.shop.test", true),
            ("shop.test", false),
            ("evilshop.test", false),
            (".shop.test", false),
            ("ü.shop.test", true),
        ] {
            assert_eq!(p.matches(host), want, "{host}");
        }
        let e = HostPattern::parse("Shop.Test").unwrap();
        assert!(e.matches("shop.test") && e.matches("SHOP.test") && !e.matches("x.shop.test"));
        assert_eq!(HostPattern::parse("*"), Some(HostPattern::Any));
        for bad in ["", "*.", "a..b", "a b", "*.*.x", "x/y", ".x"] {
            assert_eq!(HostPattern::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn prefixes_match_whole_segments() {
        let admin = PathPrefix::parse("/admin").unwrap();
        assert_eq!(PathPrefix::parse("/admin/"), Some(admin.clone()));
        for (path, want) in [
            (&b"/admin"[..], true),
            (b"/admin/", true),
            (b"/admin/users", true),
            (b"/administrator", false),
            (b"/admins/x", false),
            (b"/", false),
            (b"/x/admin", false),
        ] {
            assert_eq!(
                admin.matches(path),
                want,
                "{}",
                String::from_utf8_lossy(path)
            );
        }
        let root = PathPrefix::parse("/").unwrap();
        assert!(root.matches(b"/anything") && root.matches(b"/"));
        assert_eq!(PathPrefix::parse("api"), None);
        assert_eq!(PathPrefix::parse("/a?b"), None);
    }

    #[test]
    fn internal_paths() {
        for p in [
            "/_profiler",
            "/_profiler/abc123",
            "/_wdt/x",
            "/_fragment?_path=x",
            "/.env",
            "/.git/config",
            "/app/.git/HEAD",
            "/.htaccess",
            "/index.php",
            "/index.php/_jobs/append",
            "/INDEX.PHP/orders",
            "/app/legacy.php",
        ] {
            assert!(is_internal(p.as_bytes()), "{p}");
        }
        for p in [
            "/",
            "/.well-known/security.txt",
            "/_profilerx",
            "/profiler",
            "/a.b/c",
            "/shop/_wdt",
            "/php",
            "/a.phpx/b",
        ] {
            assert!(!is_internal(p.as_bytes()), "{p}");
        }
    }

    #[test]
    fn route_ids_are_stable_and_distinct() {
        let r = |host: &str, prefix: &str| Route {
            host: HostPattern::parse(host).unwrap(),
            path_prefix: PathPrefix::parse(prefix).unwrap(),
            action: Action::Deny,
        };
        assert_eq!(r("*", "/").id(), r("*", "/").id());
        assert_ne!(r("*", "/").id(), r("*", "/api").id());
        assert_eq!(r("*.Shop.test", "/api/").label(), "*.shop.test/api");
        assert!(r("*", "/_profiler").names_internal_path());
        assert!(!r("*", "/").names_internal_path());
    }
}
