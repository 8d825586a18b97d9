//! What a response to an unsafe request invalidates (RFC 9111 §4.4): after a non-error answer,
//! the target URL and the same-origin URLs in `Location` and `Content-Location`; and the tags
//! the origin names in the route's purge header.

use super::entry::url_tag;
use super::key::primary;
use super::purge::split_tags;
use super::settings::CacheSettings;

/// The tags to purge after an answer with `status` to an unsafe request for `url`, whose
/// header fields `get` reads (`public` is `scheme://host[:port]` as the client used it).
pub fn after_unsafe(
    url: &str,
    status: u16,
    get: impl Fn(&str) -> Option<String>,
    public: &str,
    settings: &CacheSettings,
) -> Vec<String> {
    let mut tags: Vec<String> = get(&settings.purge_header)
        .map(|v| split_tags(&v).map(String::from).collect())
        .unwrap_or_default();
    if !(200..400).contains(&status) {
        return tags;
    }
    tags.push(url_tag(&primary(url, &settings.ignore_query)));
    for name in ["location", "content-location"] {
        let Some(v) = get(name) else { continue };
        let v = v.trim();
        let absolute = if v.starts_with('/') && !v.starts_with("//") {
            format!("{public}{v}")
        } else if v
            .to_ascii_lowercase()
            .starts_with(&public.to_ascii_lowercase())
        {
            v.to_string()
        } else {
            continue; // relative-path or another origin: not ours to invalidate
        };
        tags.push(url_tag(&primary(&absolute, &settings.ignore_query)));
    }
    tags.sort();
    tags.dedup();
    tags
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cache::storable::tests::settings;

    #[test]
    fn successful_unsafe_answers_invalidate_their_urls() {
        let s = settings();
        let get = |n: &str| match n {
            "location" => Some("/orders/7".to_string()),
            "content-location" => Some("https://elsewhere.test/x".to_string()),
            "x-edge-purge-tags" => Some("orders, home".to_string()),
            _ => None,
        };
        let t = after_unsafe(
            "https://shop.test/order?x=1",
            201,
            get,
            "https://shop.test",
            &s,
        );
        assert!(t.contains(&url_tag("https://shop.test/order?x=1")));
        assert!(t.contains(&url_tag("https://shop.test/orders/7")));
        assert!(t.contains(&"orders".to_string()) && t.contains(&"home".to_string()));
        assert_eq!(
            t.len(),
            4,
            "another origin's Content-Location is not ours: {t:?}"
        );
        let failed = after_unsafe("https://shop.test/order", 500, get, "https://shop.test", &s);
        assert_eq!(
            failed,
            ["orders", "home"],
            "a failed write invalidates no URL; the origin's purge header still counts"
        );
    }
}
