//! Where a response to store goes in the platform's cache (the Cache API): the copy under its
//! variant's key (the primary key when it does not vary), the Vary marker under the primary key
//! when it varies, both with the `Cache-Control` that sets the platform's expiry; and what
//! isolate memory keeps of each write.

use super::entry::{storage_url, META_HEADER};
use super::marker::{self, VARY_MARKER_HEADER};
use super::storable::ToStore;
use super::stored::Stored;

/// The status of every copy put in the Cache API, which keeps only some statuses (the entry in
/// the copy has the real one).
pub const COPY_STATUS: u16 = 200;

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

/// One write of a stored response: a copy put in the Cache API, and what isolate memory keeps
/// under the same key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Write<B> {
    /// Cache API key.
    pub key: String,
    /// The fields of the copy (its status is [`COPY_STATUS`]).
    pub fields: Vec<(&'static str, String)>,
    /// The copy's body.
    pub body: Option<B>,
    /// What memory keeps, and what it is charged (bytes).
    pub kept: (Stored<B>, usize),
}

impl Placement {
    /// The writes that store `to_store` with `body` (`len` bytes), in order: the copy, then the
    /// Vary marker when it varies.
    pub fn writes<B: Clone>(self, to_store: ToStore, body: Option<B>, len: usize) -> Vec<Write<B>> {
        let expiry = ("cache-control", self.cache_control);
        let copy = Write {
            key: self.key,
            fields: vec![expiry.clone(), (META_HEADER, to_store.entry.encode())],
            body: body.clone(),
            kept: Stored::copy(to_store.entry, body, len),
        };
        let marker = self.marker.map(|(key, names)| Write {
            key,
            fields: vec![expiry, (VARY_MARKER_HEADER, names)],
            body: None,
            kept: Stored::marker(to_store.vary),
        });
        std::iter::once(copy).chain(marker).collect()
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

    #[test]
    fn writes_the_copy_then_the_marker() {
        let (p, s) = ("https://s/p", "accept-language=fr\n");
        let plain = to_store(&[], 90);
        let meta = plain.entry.encode();
        let writes = place(&plain, p, s).writes(plain.clone(), Some("body"), 4);
        assert_eq!(
            writes,
            [Write {
                key: storage_url(p, None),
                fields: vec![
                    ("cache-control", "public, max-age=90".into()),
                    (META_HEADER, meta.clone()),
                ],
                body: Some("body"),
                kept: Stored::copy(plain.entry.clone(), Some("body"), 4),
            }]
        );
        let varying = to_store(&["accept-language"], 7);
        let writes = place(&varying, p, s).writes(varying.clone(), Some(""), 0);
        let expiry = ("cache-control", "public, max-age=7".to_string());
        assert_eq!(
            writes,
            [
                Write {
                    key: storage_url(p, Some(s)),
                    fields: vec![expiry.clone(), (META_HEADER, meta)],
                    // The Cache API gets the empty body; memory keeps none.
                    body: Some(""),
                    kept: Stored::copy(varying.entry.clone(), None, 0),
                },
                Write {
                    key: storage_url(p, None),
                    fields: vec![expiry, (VARY_MARKER_HEADER, "accept-language".into())],
                    body: None,
                    kept: Stored::marker(vec!["accept-language".into()]),
                },
            ]
        );
    }
}
