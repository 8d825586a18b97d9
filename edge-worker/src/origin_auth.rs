//! Proof that a request came through the edge: an HMAC-SHA256 over a timestamp and the request
//! line, keyed with a secret only the edge and the origins know (a wrangler secret).
//!
//! Header `X-Edge-Auth: v1;t=<unix seconds>;sig=<base64url HMAC>` where the HMAC covers
//! `v1\n<t>\n<METHOD>\n<host>\n<path and query>`. An origin recomputes it and refuses requests
//! whose signature is wrong or whose timestamp is outside its window, so a captured header is
//! useless for another path, host or method, and useless after the window.

use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The header's name.
pub const HEADER: &str = "x-edge-auth";

/// The value of the authentication header for a request.
pub fn sign(
    key: &[u8],
    unix_seconds: u64,
    method: &str,
    host: &str,
    path_and_query: &str,
) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(format!("v1\n{unix_seconds}\n{method}\n{host}\n{path_and_query}").as_bytes());
    let sig = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
    format!("v1;t={unix_seconds};sig={sig}")
}

/// The header value for a request to `origin` (a configured `scheme://host[:port]`): signed
/// over the authority and path the origin itself will see.
pub fn sign_for_origin(
    key: &[u8],
    unix_seconds: u64,
    method: &str,
    origin: &str,
    path_and_query: &str,
) -> String {
    let authority = crate::origin_url::OriginUrl::parse(origin)
        .map(|o| o.authority())
        .unwrap_or_default();
    sign(key, unix_seconds, method, &authority, path_and_query)
}

/// Verifies a header value (what an origin does; used by tests and documentation).
pub fn verify(
    key: &[u8],
    header: &str,
    now: u64,
    window: u64,
    method: &str,
    host: &str,
    path_and_query: &str,
) -> bool {
    let mut t = None;
    for part in header.split(';') {
        if let Some(v) = part.strip_prefix("t=") {
            t = v.parse::<u64>().ok();
        }
    }
    let Some(t) = t else { return false };
    if t.abs_diff(now) > window {
        return false;
    }
    constant_time_eq(
        sign(key, t, method, host, path_and_query).as_bytes(),
        header.as_bytes(),
    )
}

/// Equality that takes the same time wherever the first difference is (for secrets and MACs).
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_and_verifies_within_the_window() {
        let h = sign(b"secret", 1000, "GET", "shop.test", "/cart?x=1");
        assert!(h.starts_with("v1;t=1000;sig="));
        assert!(verify(
            b"secret",
            &h,
            1030,
            60,
            "GET",
            "shop.test",
            "/cart?x=1"
        ));
        assert!(
            !verify(b"secret", &h, 1061, 60, "GET", "shop.test", "/cart?x=1"),
            "expired"
        );
        assert!(
            !verify(b"other", &h, 1000, 60, "GET", "shop.test", "/cart?x=1"),
            "wrong key"
        );
        assert!(
            !verify(b"secret", &h, 1000, 60, "POST", "shop.test", "/cart?x=1"),
            "other method"
        );
        assert!(
            !verify(b"secret", &h, 1000, 60, "GET", "shop.test", "/admin"),
            "other path"
        );
        assert!(!verify(
            b"secret",
            "v1;t=x;sig=y",
            1000,
            60,
            "GET",
            "shop.test",
            "/"
        ));
    }

    #[test]
    fn origin_signatures_use_the_origins_own_authority() {
        let h = sign_for_origin(b"k", 5, "GET", "http://127.0.0.1:8001", "/x?y");
        assert!(verify(b"k", &h, 5, 60, "GET", "127.0.0.1:8001", "/x?y"));
        let h = sign_for_origin(b"k", 5, "GET", "https://shop.test:443", "/");
        assert!(
            verify(b"k", &h, 5, 60, "GET", "shop.test", "/"),
            "default port dropped, as in Host"
        );
    }

    #[test]
    fn matches_a_known_vector() {
        // Computed independently with PHP hash_hmac (as www/src/EdgeAuth.php does) and Python hmac.
        assert_eq!(
            sign(b"k", 1, "GET", "h", "/"),
            "v1;t=1;sig=ymENVFaoajH_KIUasXTKbfX3FCHMYqoBnTKkr3X7cGM"
        );
    }
}
