//! What the origin sees: hop-by-hop headers stay behind (RFC 9110 §7.6.1), the client's facts
//! travel in `X-Forwarded-*` (and optionally RFC 7239 `Forwarded`) set by the edge alone, and an
//! authentication header proves the request came through the edge.

use std::borrow::Cow;
use std::net::IpAddr;

use crate::decimal;
use crate::token::is_token;

/// Headers that describe one connection, never forwarded in either direction.
pub const HOP_BY_HOP: [&str; 9] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "transfer-encoding",
    "upgrade",
    "te",
    "trailer",
    "proxy-authenticate",
    "proxy-authorization",
];

/// Headers only the edge may set; whatever the client sent under these names is replaced.
pub const EDGE_OWNED: [&str; 5] = [
    "x-forwarded-proto",
    "x-forwarded-host",
    "x-forwarded-port",
    "forwarded",
    "x-real-ip",
];

/// Request headers the edge's runtime deals with itself, never forwarded: `Expect` (the
/// platform answers a client's `100-continue`; forwarded, an origin's `100 Continue` would reach
/// the runtime's `fetch` as if it were the response).
pub const HANDLED_AT_EDGE: [&str; 1] = ["expect"];

/// Every header name to drop from a message whose `Connection` header is `connection`: the
/// fixed hop-by-hop set plus the names listed in `Connection` (lower-cased, deduplicated).
pub fn hop_by_hop(connection: Option<&str>) -> Vec<Cow<'static, str>> {
    hop_by_hop_and([], connection)
}

/// The fixed hop-by-hop set, then `extra` (lower-case names, none of them hop-by-hop or
/// repeated: the caller's fixed lists), then each name listed in `connection` that is a valid
/// token and not among them yet, lower-cased. Only the tokens are checked for repeats.
pub fn hop_by_hop_and(
    extra: impl IntoIterator<Item = Cow<'static, str>>,
    connection: Option<&str>,
) -> Vec<Cow<'static, str>> {
    let mut names: Vec<Cow<'static, str>> = Vec::with_capacity(24);
    names.extend(HOP_BY_HOP.iter().map(|&s| Cow::Borrowed(s)));
    names.extend(extra);
    for token in connection.unwrap_or("").split(',') {
        let token = token.trim();
        if is_token(token) && !names.iter().any(|n| n.eq_ignore_ascii_case(token)) {
            names.push(Cow::Owned(token.to_ascii_lowercase()));
        }
    }
    names
}

/// Every request header name the edge removes before forwarding: hop-by-hop ones, the edge's
/// own (a client cannot forge them), those it handles itself, and the origin signature.
pub fn request_headers_to_drop(connection: Option<&str>) -> Vec<Cow<'static, str>> {
    // The fixed lists have no name in common (a test says so).
    let fixed = EDGE_OWNED.iter().chain(&HANDLED_AT_EDGE);
    let fixed = fixed.chain(&[crate::origin_auth::HEADER]);
    hop_by_hop_and(fixed.map(|&s| Cow::Borrowed(s)), connection)
}

/// The client's forwarding fields among `names` that the edge does not set itself (`set` holds
/// those it does) and does not already drop: `X-Forwarded-Prefix`, `-Server`, `-Ssl`, … are
/// dropped, as an origin that trusts the edge's forwarding headers (Symfony's
/// `trusted_headers`) may trust these too, and a client could then choose the prefix of the
/// origin's URLs (and poison the cache). Names are compared with `_` as `-`: PHP reads both
/// as `_` (`HTTP_X_FORWARDED_HOST`), so `X_Forwarded_Host` would stand in for the edge's own.
pub fn client_forwarding<'a>(
    names: impl Iterator<Item = &'a str>,
    set: &[(&'static str, String)],
) -> Vec<Cow<'static, str>> {
    let already = |n: &str| {
        set.iter().any(|(s, _)| s.eq_ignore_ascii_case(n))
            || EDGE_OWNED.iter().any(|e| e.eq_ignore_ascii_case(n))
            || crate::origin_auth::HEADER.eq_ignore_ascii_case(n)
    };
    names
        .filter(|n| {
            let b = n.as_bytes();
            let forwarding = (b.len() > 12 && same_name(&b[..12], b"x-forwarded-"))
                || EDGE_OWNED.iter().any(|e| same_name(b, e.as_bytes()))
                || same_name(b, crate::origin_auth::HEADER.as_bytes());
            forwarding && !already(n)
        })
        .map(|n| Cow::Owned(n.to_ascii_lowercase()))
        .collect()
}

/// Whether two header names are the same for an origin that reads `_` as `-` (PHP, and CGI
/// generally), in any case.
fn same_name(a: &[u8], b: &[u8]) -> bool {
    let norm = |c: &u8| {
        if *c == b'_' {
            b'-'
        } else {
            c.to_ascii_lowercase()
        }
    };
    a.len() == b.len() && a.iter().map(norm).eq(b.iter().map(norm))
}

/// The values of the signed forwarded headers in `headers` (as [`forwarding_headers`] made
/// them), in [`crate::origin_auth::SIGNED_HEADERS`] order.
pub fn signed_values<'a>(headers: &'a [(&'static str, String)]) -> [Option<&'a str>; 5] {
    crate::origin_auth::SIGNED_HEADERS.map(|name| {
        headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    })
}

/// The client as the edge knows it (from the TLS connection it terminated), not as headers claim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Client {
    /// The client's address (`CF-Connecting-IP`).
    pub ip: IpAddr,
    /// `https` or `http`: the scheme of the URL the client used.
    pub proto: String,
    /// The host the client asked for (without port).
    pub host: String,
    /// The port the client connected to.
    pub port: u16,
}

/// `Max-Forwards` (RFC 9110 §7.6.2: `1*DIGIT`, how many more times an OPTIONS or TRACE may be
/// forwarded); a number past `u64` counts as `u64::MAX`; `None` when absent or malformed.
pub fn max_forwards(value: Option<&str>) -> Option<u64> {
    let v = value?.trim();
    if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(v.parse().unwrap_or(u64::MAX))
}

/// The forwarding headers to set on the request to the origin.
///
/// `X-Forwarded-For` appends the client's address to whatever list the client sent (the standard
/// proxy behaviour): an origin that trusts only the edge takes the right-most entry, so a spoofed
/// value to its left is never believed. The other headers are the edge's alone: any client value
/// is replaced. `Forwarded` (RFC 7239) is added when `rfc7239` is set.
pub fn forwarding_headers(
    client: &Client,
    client_xff: Option<&str>,
    rfc7239: bool,
) -> Vec<(&'static str, String)> {
    let prior = client_xff
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|s| {
            !s.is_empty()
                && s.len() <= 64
                && s.bytes()
                    .all(|c| c.is_ascii_hexdigit() || b".:[]".contains(&c))
        });
    let mut xff = String::with_capacity(client_xff.map_or(0, str::len) + 18);
    for p in prior {
        xff.push_str(p);
        xff.push_str(", ");
    }
    decimal::push_ip(&mut xff, client.ip);
    let mut out = Vec::with_capacity(5);
    out.extend([
        ("x-forwarded-for", xff),
        ("x-forwarded-proto", client.proto.clone()),
        ("x-forwarded-host", client.host.clone()),
        ("x-forwarded-port", decimal::text(client.port.into())),
    ]);
    if rfc7239 {
        let mut fwd = String::from("for=");
        // RFC 7239 §6: an IPv6 node is bracketed, and so quoted.
        let v6 = client.ip.is_ipv6();
        fwd.push_str(if v6 { "\"[" } else { "" });
        decimal::push_ip(&mut fwd, client.ip);
        fwd.push_str(if v6 { "]\"" } else { "" });
        fwd.push_str(";host=\"");
        fwd.push_str(&client.host);
        fwd.push_str("\";proto=");
        fwd.push_str(&client.proto);
        out.push(("forwarded", fwd));
    }
    out
}

/// Parses the address the platform reports for the client; `None` when absent or malformed
/// (then the request is refused rather than forwarded with a made-up address).
pub fn client_ip(cf_connecting_ip: Option<&str>) -> Option<IpAddr> {
    cf_connecting_ip?.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client() -> Client {
        Client {
            ip: "203.0.113.7".parse().unwrap(),
            proto: "https".into(),
            host: "shop.example.com".into(),
            port: 443,
        }
    }

    #[test]
    fn connection_listed_headers_are_hop_by_hop() {
        let names = hop_by_hop(Some("keep-alive, X-Hop ,, bad header"));
        assert!(names.iter().any(|n| n == "x-hop"));
        assert!(names.iter().any(|n| n == "transfer-encoding"));
        assert!(
            !names.iter().any(|n| n.contains(' ')),
            "invalid tokens are ignored"
        );
        assert_eq!(names.iter().filter(|n| *n == "keep-alive").count(), 1);
        assert_eq!(hop_by_hop(None).len(), HOP_BY_HOP.len());
    }

    #[test]
    fn forwarding_headers_carry_the_edges_facts() {
        let h = forwarding_headers(&client(), None, false);
        assert_eq!(h[0], ("x-forwarded-for", "203.0.113.7".to_string()));
        assert!(h.contains(&("x-forwarded-proto", "https".to_string())));
        assert!(h.contains(&("x-forwarded-host", "shop.example.com".to_string())));
        assert!(h.contains(&("x-forwarded-port", "443".to_string())));
        assert!(!h.iter().any(|(n, _)| *n == "forwarded"));
    }

    #[test]
    fn client_xff_is_kept_to_the_left_and_garbage_dropped() {
        let h = forwarding_headers(&client(), Some("1.2.3.4, evil<script>, ::1"), false);
        assert_eq!(
            h[0].1, "1.2.3.4, ::1, 203.0.113.7",
            "the edge's entry is always last"
        );
    }

    #[test]
    fn rfc7239_forwarded() {
        let mut c = client();
        c.ip = "2001:db8::1".parse().unwrap();
        let h = forwarding_headers(&c, None, true);
        let fwd = h.iter().find(|(n, _)| *n == "forwarded").unwrap();
        assert_eq!(
            fwd.1,
            "for=\"[2001:db8::1]\";host=\"shop.example.com\";proto=https"
        );
    }

    #[test]
    fn the_fixed_lists_share_no_name() {
        let drop = request_headers_to_drop(None);
        for (i, n) in drop.iter().enumerate() {
            assert!(!drop[..i].contains(n), "{n} twice");
            assert_eq!(n.to_ascii_lowercase(), *n);
        }
        let drop = request_headers_to_drop(Some("Forwarded, te, X-New, x-new"));
        assert_eq!(drop.len(), request_headers_to_drop(None).len() + 1);
        assert_eq!(drop.last().map(|n| n.as_ref()), Some("x-new"));
    }

    #[test]
    fn dropped_and_signed_headers() {
        let drop = request_headers_to_drop(Some("x-hop"));
        for h in [
            "x-hop",
            "connection",
            "x-forwarded-proto",
            "forwarded",
            "x-edge-auth",
        ] {
            assert!(drop.iter().any(|d| d == h), "{h}");
        }
        assert!(
            !drop.iter().any(|d| d == "x-forwarded-for"),
            "appended to, not dropped"
        );
        let h = forwarding_headers(&client(), Some("1.2.3.4"), false);
        let v = signed_values(&h);
        assert_eq!(v[0], Some("1.2.3.4, 203.0.113.7"));
        assert_eq!(v[1], Some("https"));
        assert_eq!(v[4], None);
    }

    #[test]
    fn client_ip_parsing() {
        assert_eq!(
            client_ip(Some(" 192.0.2.1 ")),
            Some("192.0.2.1".parse().unwrap())
        );
        assert_eq!(client_ip(Some("not-an-ip")), None);
        assert_eq!(client_ip(None), None);
    }
}
