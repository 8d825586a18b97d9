//! Proof that a request came through the edge: an HMAC-SHA256, keyed with a secret only the edge
//! and the origins know (a wrangler secret), over a timestamp, a nonce, the request line and the
//! forwarded headers the origin is going to trust.
//!
//! Header `X-Edge-Auth: v2;t=<unix seconds>;n=<nonce>;sig=<base64url HMAC>` where the HMAC covers
//!
//! ```text
//! v2\n<t>\n<nonce>\n<METHOD>\n<host>\n<path and query>\n
//! <X-Forwarded-For>\n<X-Forwarded-Proto>\n<X-Forwarded-Host>\n<X-Forwarded-Port>\n<Forwarded>
//! ```
//!
//! (each header's value as sent, empty when absent). An origin recomputes it from what it
//! received and refuses a wrong signature, a timestamp outside its window, or a nonce it has
//! seen: a captured header is useless for another path, host, method or client address, and
//! useless a second time. `www/src/EdgeAuth.php` is the origin side; both pin the same vector.

use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The header's name.
pub const HEADER: &str = "x-edge-auth";

/// The forwarded headers the signature covers, in order.
pub const SIGNED_HEADERS: [&str; 5] = [
    "x-forwarded-for",
    "x-forwarded-proto",
    "x-forwarded-host",
    "x-forwarded-port",
    "forwarded",
];

/// What a signature covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signed<'a> {
    /// Unix seconds.
    pub time: u64,
    /// A value never used twice (letters, digits, `-`, `_`).
    pub nonce: &'a str,
    /// The method as sent on the wire ([`wire_method`]).
    pub method: &'a str,
    /// The origin's own authority (`host[:port]`), as in its `Host` header.
    pub host: &'a str,
    /// Path and query as sent.
    pub path_and_query: &'a str,
    /// Values of [`SIGNED_HEADERS`] as sent (`None` = not sent).
    pub forwarded: [Option<&'a str>; 5],
}

fn mac(key: &[u8], s: &Signed<'_>) -> String {
    // HMAC accepts keys of any length: `new_from_slice` cannot fail (no panic path here).
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key) else {
        return String::new();
    };
    mac.update(
        format!(
            "v2\n{}\n{}\n{}\n{}\n{}",
            s.time, s.nonce, s.method, s.host, s.path_and_query
        )
        .as_bytes(),
    );
    for v in s.forwarded {
        mac.update(b"\n");
        mac.update(v.unwrap_or("").as_bytes());
    }
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
}

/// The header value for a request.
pub fn sign(key: &[u8], s: &Signed<'_>) -> String {
    format!("v2;t={};n={};sig={}", s.time, s.nonce, mac(key, s))
}

/// The header value for a request with `method` (as sent) to `origin` (its configured URL) for
/// `path_and_query`, carrying the signed `forwarded` values, at `now_ms`, with a fresh nonce from
/// two random numbers: what every request the edge sends to an origin carries, signed afresh
/// for each attempt (an origin refuses a nonce it has seen).
pub fn sign_request(
    key: &[u8],
    (method, origin, path_and_query): (&str, &str, &str),
    forwarded: [Option<&str>; 5],
    now_ms: u64,
    random: (u64, u64),
) -> String {
    let signed = Signed {
        time: now_ms / 1000,
        nonce: &nonce(random.0, random.1),
        method,
        host: &authority_of(origin),
        path_and_query,
        forwarded,
    };
    sign(key, &signed)
}

/// The authority (`host[:port]`) of a configured origin URL, as its `Host` header will say.
pub fn authority_of(origin: &str) -> String {
    crate::origin_url::OriginUrl::parse(origin)
        .map(|o| o.authority())
        .unwrap_or_default()
}

/// The method as the runtime sends it: the Fetch standard upper-cases DELETE, GET, HEAD,
/// OPTIONS, POST and PUT in any case and leaves every other method as written.
pub fn wire_method(method: &str) -> String {
    const NORMALISED: [&str; 6] = ["DELETE", "GET", "HEAD", "OPTIONS", "POST", "PUT"];
    match NORMALISED.iter().find(|m| m.eq_ignore_ascii_case(method)) {
        Some(m) => (*m).to_string(),
        None => method.to_string(),
    }
}

/// A nonce from two random numbers (uniqueness matters, not secrecy: the HMAC covers it).
pub fn nonce(a: u64, b: u64) -> String {
    format!("{:013x}{:013x}", a & ((1 << 52) - 1), b & ((1 << 52) - 1))
}

/// Verifies a header value against what the origin received (what an origin does; the tests
/// and the documentation use it). Returns the nonce when valid, so the caller can refuse a
/// replay.
pub fn verify<'a>(
    key: &[u8],
    header: &'a str,
    now: u64,
    window: u64,
    received: &Signed<'_>,
) -> Option<&'a str> {
    let mut t = None;
    let mut n = None;
    let mut parts = header.split(';');
    if parts.next() != Some("v2") {
        return None;
    }
    for part in parts {
        if let Some(v) = part.strip_prefix("t=") {
            t = v.parse::<u64>().ok();
        } else if let Some(v) = part.strip_prefix("n=") {
            n = Some(v);
        }
    }
    let (t, n) = (t?, n?);
    if t.abs_diff(now) > window {
        return None;
    }
    let expected = sign(
        key,
        &Signed {
            time: t,
            nonce: n,
            ..received.clone()
        },
    );
    constant_time_eq(expected.as_bytes(), header.as_bytes()).then_some(n)
}

/// Equality that takes the same time wherever the first difference is (for secrets and MACs).
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req<'a>(method: &'a str, path: &'a str, xff: &'a str) -> Signed<'a> {
        Signed {
            time: 1000,
            nonce: "n1",
            method,
            host: "127.0.0.1:8001",
            path_and_query: path,
            forwarded: [
                Some(xff),
                Some("https"),
                Some("shop.test"),
                Some("443"),
                None,
            ],
        }
    }

    #[test]
    fn signs_and_verifies_within_the_window() {
        let h = sign(b"secret", &req("GET", "/cart?x=1", "203.0.113.9"));
        assert!(h.starts_with("v2;t=1000;n=n1;sig="));
        let ok = |key: &[u8], now, r: &Signed| verify(key, &h, now, 60, r).is_some();
        assert_eq!(
            verify(
                b"secret",
                &h,
                1030,
                60,
                &req("GET", "/cart?x=1", "203.0.113.9")
            ),
            Some("n1")
        );
        assert!(
            !ok(b"secret", 1061, &req("GET", "/cart?x=1", "203.0.113.9")),
            "expired"
        );
        assert!(
            !ok(b"other", 1000, &req("GET", "/cart?x=1", "203.0.113.9")),
            "wrong key"
        );
        assert!(
            !ok(b"secret", 1000, &req("POST", "/cart?x=1", "203.0.113.9")),
            "other method"
        );
        assert!(
            !ok(b"secret", 1000, &req("GET", "/admin", "203.0.113.9")),
            "other path"
        );
        assert!(
            !ok(b"secret", 1000, &req("GET", "/cart?x=1", "6.6.6.6")),
            "another client address"
        );
        let mut other_host = req("GET", "/cart?x=1", "203.0.113.9");
        other_host.host = "127.0.0.1:8002";
        assert!(!ok(b"secret", 1000, &other_host), "another origin");
        let mut no_proto = req("GET", "/cart?x=1", "203.0.113.9");
        no_proto.forwarded[1] = None;
        assert!(
            !ok(b"secret", 1000, &no_proto),
            "a forwarded header dropped"
        );
        assert_eq!(
            verify(b"secret", "v1;t=1000;sig=x", 1000, 60, &req("GET", "/", "")),
            None
        );
        assert_eq!(
            verify(
                b"secret",
                "v2;t=x;n=a;sig=y",
                1000,
                60,
                &req("GET", "/", "")
            ),
            None
        );
    }

    #[test]
    fn methods_as_the_runtime_sends_them() {
        assert_eq!(wire_method("post"), "POST");
        assert_eq!(wire_method("Delete"), "DELETE");
        assert_eq!(wire_method("patch"), "patch", "not normalised by Fetch");
        assert_eq!(wire_method("M-SEARCH"), "M-SEARCH");
        assert_eq!(authority_of("https://shop.test:443"), "shop.test");
        assert_eq!(authority_of("http://127.0.0.1:8001"), "127.0.0.1:8001");
        assert_eq!(nonce(1, 2).len(), 26);
        assert_ne!(nonce(1, 2), nonce(2, 1));
    }

    #[test]
    fn matches_a_known_vector() {
        // Computed independently with Python's hmac module and PHP's hash_hmac (as
        // www/src/EdgeAuth.php does); tests/symfony/check.php pins the same vector.
        let s = Signed {
            time: 1,
            nonce: "n",
            method: "GET",
            host: "h",
            path_and_query: "/",
            forwarded: [
                Some("192.0.2.1"),
                Some("https"),
                Some("shop.test"),
                Some("443"),
                None,
            ],
        };
        assert_eq!(sign(b"k", &s), VECTOR);
    }

    /// The shared test vector (see `matches_a_known_vector`).
    const VECTOR: &str = "v2;t=1;n=n;sig=DuAdVpwEWyj-4A3SbKd0Ovm_-FNnk4-tc_XT5RM0he8";
}
