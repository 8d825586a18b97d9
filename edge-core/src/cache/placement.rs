//! Where a response to store goes in the platform's cache (the Cache API): the copy under its
//! variant's key (the primary key when it does not vary), the Vary marker under the primary key
//! when it varies, both with the `Cache-Control` that sets the platform's expiry.

use super::entry::storage_url;
use super::marker;
use super::storable::ToStore;

/// The Cache API writes for one stored response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placement {
    /// Cache API key of the copy.
    pub key: String,
    /// `Cache-Control` of the copy and the marker: how long the platform keeps them.
    pub cache_control: String,
    /// The Vary marker when the response varies: its key (the primary key's) and header value.
    pub marker: Option<(String, String)>,
}

/// Where `to_store`, stored for a request with primary key `primary` and secondary key
/// `secondary`, goes.
pub fn place(to_store: &ToStore, primary: &str, secondary: &str) -> Placement {
    let cache_control = format!("public, max-age={}", to_store.keep_for_s);
    if to_store.vary.is_empty() {
        return Placement {
            key: storage_url(primary, None),
            cache_control,
            marker: None,
        };
    }
    Placement {
        key: storage_url(primary, Some(secondary)),
        cache_control,
        marker: Some((storage_url(primary, None), marker::encode(&to_store.vary))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cache::entry::Entry;
    use crate::cache::freshness::Timing;
    use crate::cache::headers::Fields;

    fn to_store(vary: &[&str], keep_for_s: u64) -> ToStore {
        ToStore {
            entry: Entry {
                status: 200,
                fields: Fields::default(),
                timing: Timing {
                    request_ms: 0,
                    response_ms: 0,
                },
                stored_ms: 0,
                tags: vec![],
            },
            vary: vary.iter().map(|v| v.to_string()).collect(),
            keep_for_s,
        }
    }

    #[test]
    fn copies_and_markers() {
        let (p, s) = ("https://s/p", "accept-language=fr\n");
        assert_eq!(
            place(&to_store(&[], 90), p, s),
            Placement {
                key: storage_url(p, None),
                cache_control: "public, max-age=90".into(),
                marker: None,
            }
        );
        assert_eq!(
            place(&to_store(&["accept-encoding", "accept-language"], 7), p, s),
            Placement {
                key: storage_url(p, Some(s)),
                cache_control: "public, max-age=7".into(),
                marker: Some((
                    storage_url(p, None),
                    "accept-encoding, accept-language".into()
                )),
            }
        );
    }
}
