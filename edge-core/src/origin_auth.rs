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

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::decimal::push_u64;

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

/// The secret, keyed once. An HMAC's first SHA-256 block on each side depends on the key alone,
/// so a signature starts from a copy of that state: two of the six blocks a request's signature
/// would hash. Its `Debug` does not show the key.
#[derive(Clone)]
pub struct OriginKey {
    /// `None` only if the HMAC refused the key, which it does for no length.
    mac: Option<Hmac<Sha256>>,
}

impl OriginKey {
    /// Keys the HMAC with `key`.
    pub fn new(key: &[u8]) -> Self {
        OriginKey {
            mac: Hmac::<Sha256>::new_from_slice(key).ok(),
        }
    }

    /// The header value for a request.
    pub fn sign(&self, s: &Signed<'_>) -> String {
        let mut out = String::with_capacity(80);
        out.push_str("v2;t=");
        push_u64(&mut out, s.time);
        out.push_str(";n=");
        out.push_str(s.nonce);
        out.push_str(";sig=");
        if let Some(mut mac) = self.mac.clone() {
            mac.update(signed_text(s).as_bytes());
            URL_SAFE_NO_PAD.encode_string(mac.finalize().into_bytes(), &mut out);
        }
        out
    }
}

impl std::fmt::Debug for OriginKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OriginKey(..)")
    }
}

/// The text a signature covers (see the module's header).
fn signed_text(s: &Signed<'_>) -> String {
    let mut text = String::with_capacity(160);
    text.push_str("v2\n");
    push_u64(&mut text, s.time);
    for part in [s.nonce, s.method, s.host, s.path_and_query] {
        text.push('\n');
        text.push_str(part);
    }
    for v in s.forwarded {
        text.push('\n');
        text.push_str(v.unwrap_or(""));
    }
    text
}

/// The header value for a request, signed with `key` ([`OriginKey::sign`]; keep an
/// [`OriginKey`] to sign many).
pub fn sign(key: &[u8], s: &Signed<'_>) -> String {
    OriginKey::new(key).sign(s)
}

/// The header value for a request with `method` (as sent) to `origin` (its configured URL) for
/// `path_and_query`, carrying the signed `forwarded` values, at `now_ms`, with a fresh nonce from
/// two random numbers: what every request the edge sends to an origin carries, signed afresh
/// for each attempt (an origin refuses a nonce it has seen).
pub fn sign_request(
    key: &OriginKey,
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
    key.sign(&signed)
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
    // 13 hex digits each: the low 52 bits, which a JavaScript number holds exactly.
    let digit = |n: u64, i: u64| char::from_digit(((n >> (4 * i)) & 15) as u32, 16);
    let hex = |n: u64| (0..13).rev().map(move |i| digit(n, i).unwrap_or('0'));
    hex(a).chain(hex(b)).collect()
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
        let key = OriginKey::new(b"k");
        assert_eq!(key.sign(&s), VECTOR);
        assert_eq!(
            key.sign(&s),
            VECTOR,
            "the keyed state is copied, not used up"
        );
        assert_eq!(
            format!("{key:?}"),
            "OriginKey(..)",
            "the key stays out of debug output"
        );
    }

    #[test]
    fn nonces_are_two_times_13_hex_digits() {
        for (a, b) in [
            (0, 0),
            (1, 2),
            (u64::MAX, 0xabc),
            (1 << 52, (1 << 52) - 1),
            (0x0123_4567_89ab_cdef, 42),
        ] {
            let mask = (1u64 << 52) - 1;
            assert_eq!(nonce(a, b), format!("{:013x}{:013x}", a & mask, b & mask));
        }
    }

    /// The shared test vector (see `matches_a_known_vector`).
    const VECTOR: &str = "v2;t=1;n=n;sig=DuAdVpwEWyj-4A3SbKd0Ovm_-FNnk4-tc_XT5RM0he8";
}
