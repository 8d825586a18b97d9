//! Signed, expiring cookies that pin a client: to an origin (sticky sessions) or, for a while
//! after a write, to the write pool (read-your-writes under replication lag).
//!
//! A value is `v1.<payload>.<expiry>.<signature>`: HMAC-SHA256 (base64url) over the purpose,
//! payload and expiry, keyed with the `EDGE_COOKIE_KEY` secret. A tampered, foreign-purpose or
//! expired value verifies as `None` and is simply ignored (the client is placed afresh).

use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

/// What a token is for; part of the signature, so one kind cannot stand in for another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// Sticky session: the payload names the pool and origin.
    Affinity,
    /// Read-your-writes: the payload names the route.
    ReadYourWrites,
}

impl Purpose {
    fn tag(self) -> &'static str {
        match self {
            Purpose::Affinity => "affinity",
            Purpose::ReadYourWrites => "ryw",
        }
    }
}

fn mac(key: &[u8], purpose: Purpose, payload: &str, expires: u64) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(format!("v1\n{}\n{payload}\n{expires}", purpose.tag()).as_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
}

/// A signed token for `payload` (letters, digits, `-`, `_`, `~` only) valid until `expires`
/// (unix seconds).
pub fn sign(key: &[u8], purpose: Purpose, payload: &str, expires: u64) -> String {
    format!(
        "v1.{payload}.{expires}.{}",
        mac(key, purpose, payload, expires)
    )
}

/// The payload of a valid, unexpired token.
pub fn verify<'a>(key: &[u8], purpose: Purpose, value: &'a str, now: u64) -> Option<&'a str> {
    let mut parts = value.split('.');
    let (Some("v1"), Some(payload), Some(expires), Some(sig), None) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return None;
    };
    let expires: u64 = expires.parse().ok()?;
    if expires <= now {
        return None;
    }
    let expected = mac(key, purpose, payload, expires);
    crate::origin_auth::constant_time_eq(expected.as_bytes(), sig.as_bytes()).then_some(payload)
}

/// A short stable identifier of an origin for cookies (the URL itself need not be revealed).
pub fn origin_id(url: &str) -> String {
    let d = Sha256::digest(url.as_bytes());
    d[..6].iter().map(|b| format!("{b:02x}")).collect()
}

/// The `Set-Cookie` value for a token: `Secure` (TLS ends at the edge), `HttpOnly`,
/// `SameSite=Lax`, whole site.
pub fn set_cookie(name: &str, value: &str, max_age: u64) -> String {
    format!("{name}={value}; Max-Age={max_age}; Path=/; Secure; HttpOnly; SameSite=Lax")
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &[u8] = b"cookie-key";

    #[test]
    fn valid_tokens_verify_until_they_expire() {
        let t = sign(KEY, Purpose::Affinity, "dc1~abc123", 1000);
        assert_eq!(verify(KEY, Purpose::Affinity, &t, 999), Some("dc1~abc123"));
        assert_eq!(verify(KEY, Purpose::Affinity, &t, 1000), None, "expired");
    }

    #[test]
    fn tampered_foreign_or_malformed_tokens_are_ignored() {
        let t = sign(KEY, Purpose::Affinity, "dc1~abc123", 1000);
        let other_origin = t.replace("abc123", "abc124");
        let longer = t.replace(".1000.", ".9999.");
        for bad in [
            other_origin.as_str(),
            longer.as_str(),
            "",
            "v1",
            "v1.a.b.c.d",
            "v2.dc1~abc123.1000.x",
        ] {
            assert_eq!(verify(KEY, Purpose::Affinity, bad, 0), None, "{bad}");
        }
        assert_eq!(verify(b"other-key", Purpose::Affinity, &t, 0), None);
        assert_eq!(
            verify(KEY, Purpose::ReadYourWrites, &t, 0),
            None,
            "purposes do not mix"
        );
    }

    #[test]
    fn cookie_attributes() {
        let c = set_cookie("__edge_aff", "v1.x.1.s", 3600);
        for attr in [
            "Max-Age=3600",
            "Path=/",
            "Secure",
            "HttpOnly",
            "SameSite=Lax",
        ] {
            assert!(c.contains(attr), "{attr}");
        }
        assert_eq!(origin_id("http://a"), origin_id("http://a"));
        assert_ne!(origin_id("http://a"), origin_id("http://b"));
        assert_eq!(origin_id("http://a").len(), 12);
    }
}
