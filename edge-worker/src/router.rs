//! Which handler a request goes to: the assets (by manifest key) or the origin.

use crate::config::Config;
use crate::path::{self, PathError};

/// The decision for one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// Under the public path: look this decoded path up in the manifest.
    Asset(String),
    /// Under the public path but malformed: 400, naming the problem.
    BadPath(PathError),
    /// Everything else goes to the origin.
    Origin,
}

/// Routes a request by its raw URL path (without query).
pub fn route(raw_path: &str, cfg: &Config) -> Route {
    match path::decode(raw_path) {
        Ok(p) if p.starts_with(&cfg.public_path) => Route::Asset(p),
        Ok(_) => Route::Origin,
        Err(e)
            if raw_path.starts_with(&cfg.public_path)
                || raw_path
                    .to_ascii_lowercase()
                    .starts_with(&cfg.public_path.to_ascii_lowercase()) =>
        {
            Route::BadPath(e)
        }
        Err(_) => Route::Origin,
    }
}

/// Where a plain-HTTP request is sent when `https_redirect` is on: the same host (without the
/// HTTP port, whose HTTPS counterpart is unknown), path and query over `https`; `None` for a
/// request that already is HTTPS.
pub fn https_location(url: &str) -> Option<String> {
    let rest = url.strip_prefix("http://")?;
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..end];
    let host = match authority.strip_prefix('[') {
        Some(v6) => &authority[..v6.find(']').map_or(authority.len(), |i| i + 2)],
        None => authority.split(':').next().unwrap_or(authority),
    };
    Some(format!("https://{host}{}", path_and_query_of(url)))
}

/// The path of an absolute URL (`http://host/a/b?q` → `/a/b`), without parsing the rest.
pub fn path_of(url: &str) -> &str {
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    let rest = &url[after_scheme..];
    let start = rest.find('/').map_or(rest.len(), |i| i);
    let path = &rest[start..];
    let end = path.find(['?', '#']).unwrap_or(path.len());
    if end == 0 {
        "/"
    } else {
        &path[..end]
    }
}

/// The path and query of an absolute URL (`http://host/a?q#f` → `/a?q`), for forwarding.
pub fn path_and_query_of(url: &str) -> &str {
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    let rest = &url[after_scheme..];
    let start = rest.find('/').unwrap_or(rest.len());
    let tail = &rest[start..];
    let end = tail.find('#').unwrap_or(tail.len());
    if end == 0 {
        "/"
    } else {
        &tail[..end]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
    }

    #[test]
    fn url_parts() {
        assert_eq!(
            path_of("https://shop.test/assets/a.css?v=1#x"),
            "/assets/a.css"
        );
        assert_eq!(path_of("http://127.0.0.1:8787"), "/");
        assert_eq!(path_of("http://h/?q"), "/");
        assert_eq!(
            path_and_query_of("https://shop.test/cart?id=3#top"),
            "/cart?id=3"
        );
        assert_eq!(path_and_query_of("https://shop.test"), "/");
    }

    #[test]
    fn routes() {
        let c = Config::default();
        assert_eq!(
            route("/assets/a-1.css", &c),
            Route::Asset("/assets/a-1.css".into())
        );
        assert_eq!(
            route("/assets/%2e%2e/x", &c),
            Route::BadPath(PathError::DotSegment)
        );
        assert_eq!(route("/", &c), Route::Origin);
        assert_eq!(
            route("/cdn-manifest.bin", &c),
            Route::Origin,
            "the manifests are never served as assets"
        );
        assert_eq!(route("/about", &c), Route::Origin);
        assert_eq!(
            route("/x/../assets/a.css", &c),
            Route::Origin,
            "malformed outside the public path: the origin decides"
        );
    }
}
