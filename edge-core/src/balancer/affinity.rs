//! Signed, expiring cookies that pin a client: to an origin (sticky sessions) or, for a while
//! after a write, to a route's write pool (read-your-writes under replication lag). This module
//! owns their formats; the proxy plan decides when to set them.
//!
//! A token is `v1.<payload>.<expiry>.<signature>`: HMAC-SHA256 (base64url) over the purpose,
//! payload and expiry, keyed with the `EDGE_COOKIE_KEY` secret. A tampered, foreign-purpose or
//! expired token verifies as `None` and is simply ignored (the client is placed afresh).

use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

/// Names and lifetimes of the edge's own cookies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CookieSettings {
    /// Name of the sticky-session cookie.
    pub affinity_cookie: String,
    /// Lifetime of a sticky-session pin, in seconds; refreshed while in use (sliding).
    pub affinity_ttl_s: u64,
    /// Name of the read-your-writes cookie.
    pub ryw_cookie: String,
}

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
    // HMAC accepts keys of any length, so `new_from_slice` cannot fail; the fallback keeps this
    // total without a panic path.
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key) else {
        return String::new();
    };
    mac.update(format!("v1\n{}\n{payload}\n{expires}", purpose.tag()).as_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
}

/// A verified token: its payload and when it expires (unix seconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Token<'a> {
    /// What the token says.
    pub payload: &'a str,
    /// Expiry, unix seconds.
    pub expires: u64,
}

/// A signed token for `payload` (letters, digits, `-`, `_`, `~` only) valid until `expires`
/// (unix seconds).
pub fn sign(key: &[u8], purpose: Purpose, payload: &str, expires: u64) -> String {
    format!(
        "v1.{payload}.{expires}.{}",
        mac(key, purpose, payload, expires)
    )
}

/// The payload and expiry of a valid, unexpired token.
pub fn verify<'a>(key: &[u8], purpose: Purpose, value: &'a str, now: u64) -> Option<Token<'a>> {
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
    crate::origin_auth::constant_time_eq(expected.as_bytes(), sig.as_bytes())
        .then_some(Token { payload, expires })
}

/// A short stable identifier of an origin for cookies and verdicts (the URL itself need not be
/// revealed).
pub fn origin_id(url: &str) -> String {
    let d = Sha256::digest(url.as_bytes());
    d[..6].iter().map(|b| format!("{b:02x}")).collect()
}

/// A sticky-session pin: the client belongs to `origin` (an [`origin_id`]) of `pool`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pin {
    /// Pool name.
    pub pool: String,
    /// Origin id within it.
    pub origin: String,
    /// Expiry, unix seconds.
    pub expires: u64,
}

impl Pin {
    /// Reads a pin from the affinity cookie's value; `None` if invalid, expired or tampered.
    pub fn read(key: &[u8], value: &str, now: u64) -> Option<Pin> {
        let t = verify(key, Purpose::Affinity, value, now)?;
        let (pool, origin) = t.payload.split_once('~')?;
        Some(Pin {
            pool: pool.into(),
            origin: origin.into(),
            expires: t.expires,
        })
    }

    /// The cookie value pinning a client to `origin_url` of `pool` until `expires`.
    pub fn write(key: &[u8], pool: &str, origin_url: &str, expires: u64) -> String {
        sign(
            key,
            Purpose::Affinity,
            &format!("{pool}~{}", origin_id(origin_url)),
            expires,
        )
    }

    /// Whether a pin still in use should be renewed now (sliding expiry): once less than half
    /// its lifetime is left. Renewing on every response would put a `Set-Cookie` on each.
    pub fn due_for_renewal(&self, now: u64, ttl_s: u64) -> bool {
        self.expires.saturating_sub(now) < ttl_s / 2
    }
}

/// The read-your-writes cookie value for `route_id` until `expires`.
pub fn ryw_token(key: &[u8], route_id: &str, expires: u64) -> String {
    sign(key, Purpose::ReadYourWrites, route_id, expires)
}

/// Whether a read-your-writes cookie value holds for `route_id` at `now`.
pub fn ryw_holds(key: &[u8], value: &str, route_id: &str, now: u64) -> bool {
    verify(key, Purpose::ReadYourWrites, value, now).is_some_and(|t| t.payload == route_id)
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
        assert_eq!(
            verify(KEY, Purpose::Affinity, &t, 999),
            Some(Token {
                payload: "dc1~abc123",
                expires: 1000
            })
        );
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
    fn pins_round_trip_and_slide() {
        let v = Pin::write(KEY, "dc1", "http://127.0.0.1:8001", 4600);
        let pin = Pin::read(KEY, &v, 1000).unwrap();
        assert_eq!(pin.pool, "dc1");
        assert_eq!(pin.origin, origin_id("http://127.0.0.1:8001"));
        assert!(!pin.due_for_renewal(1000, 3600), "fresh");
        assert!(!pin.due_for_renewal(2800, 3600), "exactly half left");
        assert!(pin.due_for_renewal(2801, 3600), "under half left");
        assert_eq!(Pin::read(KEY, &v, 4600), None, "expired");
        assert_eq!(Pin::read(KEY, "v1.nopool.9999.x", 0), None);
    }

    #[test]
    fn ryw_tokens_name_their_route() {
        let t = ryw_token(KEY, "route-a", 100);
        assert!(ryw_holds(KEY, &t, "route-a", 99));
        assert!(!ryw_holds(KEY, &t, "route-b", 99), "another route's write");
        assert!(!ryw_holds(KEY, &t, "route-a", 100), "expired");
        let pin = Pin::write(KEY, "route-a", "http://x", 100);
        assert!(
            !ryw_holds(KEY, &pin, "route-a", 0),
            "an affinity pin is not a ryw token"
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
