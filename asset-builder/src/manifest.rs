//! The two manifests: Symfony's flat `manifest.json` and the CDN manifest.

use std::collections::BTreeMap;

use crate::reference::percent_encode;

/// File name of Symfony's manifest inside OUT (`framework.assets.json_manifest_path`).
pub const SYMFONY_MANIFEST: &str = "manifest.json";

/// Symfony's `JsonManifestVersionStrategy` format: logical path → public URL, sorted, pretty.
pub fn symfony_json(urls: &BTreeMap<String, String>) -> Vec<u8> {
    let mut out = serde_json::to_vec_pretty(urls).expect("string map serialises");
    out.push(b'\n');
    out
}

/// The public URL of a published path: the base URL (if any) and the percent-encoded path.
pub fn public_url(base_url: &str, published_path: &str) -> String {
    format!("{base_url}{}", percent_encode(published_path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_encoded_and_prefixed() {
        assert_eq!(public_url("", "/assets/a b-1.png"), "/assets/a%20b-1.png");
        assert_eq!(
            public_url("https://cdn.test", "/assets/é.css"),
            "https://cdn.test/assets/%C3%A9.css"
        );
    }

    #[test]
    fn symfony_manifest_is_sorted_json() {
        let mut m = BTreeMap::new();
        m.insert("b.css".to_string(), "/assets/b-2.css".to_string());
        m.insert("a.css".to_string(), "/assets/a-1.css".to_string());
        let text = String::from_utf8(symfony_json(&m)).unwrap();
        assert!(text.find("a.css").unwrap() < text.find("b.css").unwrap());
        let back: BTreeMap<String, String> = serde_json::from_str(&text).unwrap();
        assert_eq!(back, m);
    }
}
