//! What crosses the edge between client and origin: hop-by-hop headers stay behind
//! (RFC 9110 §7.6.1).

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

/// Every header name to drop from a message whose `Connection` header is `connection`: the
/// fixed hop-by-hop set plus the names listed in `Connection` (lower-cased, deduplicated).
pub fn hop_by_hop(connection: Option<&str>) -> Vec<String> {
    let mut names: Vec<String> = HOP_BY_HOP.iter().map(|s| s.to_string()).collect();
    for token in connection.unwrap_or("").split(',') {
        let token = token.trim().to_ascii_lowercase();
        let is_token = !token.is_empty()
            && token
                .bytes()
                .all(|c| c.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&c));
        if is_token && !names.contains(&token) {
            names.push(token);
        }
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_listed_headers_are_hop_by_hop() {
        let names = hop_by_hop(Some("keep-alive, X-Hop ,, bad header"));
        assert!(names.contains(&"x-hop".to_string()));
        assert!(names.contains(&"transfer-encoding".to_string()));
        assert!(
            !names.iter().any(|n| n.contains(' ')),
            "invalid tokens are ignored"
        );
        assert_eq!(names.iter().filter(|n| *n == "keep-alive").count(), 1);
        assert_eq!(hop_by_hop(None).len(), HOP_BY_HOP.len());
    }
}
