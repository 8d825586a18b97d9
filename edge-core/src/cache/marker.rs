//! The Vary marker: what the Cache API holds under a primary key whose responses vary — the
//! request fields they vary on, listed in one header of an empty copy — so that a lookup knows
//! which secondary key to read next.

/// The marker copy's header that lists the fields (`accept-encoding, accept-language`).
pub const VARY_MARKER_HEADER: &str = "x-edge-cache-vary";

/// The header value listing `names`.
pub fn encode(names: &[String]) -> String {
    names.join(", ")
}

/// The field names a header value lists (empty names left out).
pub fn decode(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(|n| n.trim().to_string())
        .filter(|n| !n.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for names in [
            vec![],
            vec!["accept-encoding".to_string()],
            vec!["accept-encoding".into(), "accept-language".into()],
        ] {
            assert_eq!(decode(&encode(&names)), names, "{names:?}");
        }
        assert_eq!(encode(&["a".into(), "b".into()]), "a, b");
        assert_eq!(decode(" a ,, b,"), ["a", "b"]);
        assert!(decode("").is_empty());
    }
}
