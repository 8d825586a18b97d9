//! What storage holds under a key, in the Cache API and in isolate memory: a Vary marker (the
//! request fields the primary key's responses vary on) or a stored copy (its entry and body).
//! How a Cache API copy's fields say which it is, and what an item is charged against the
//! isolate's memory budget.

use std::rc::Rc;

use super::entry::{Entry, META_HEADER};
use super::marker::{self, VARY_MARKER_HEADER};

/// What a copy is charged beyond its body's length (its entry and bookkeeping), bytes.
pub const COPY_OVERHEAD_BYTES: usize = 512;

/// What a Vary marker is charged, bytes.
pub const MARKER_BYTES: usize = 64;

/// What a storage key holds. `B` is the body as the glue holds it (JavaScript bytes, which never
/// cross into Wasm memory).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stored<B> {
    /// The responses under this primary key vary on these request fields.
    Marker(Vec<String>),
    /// A stored response and its body (none when empty).
    Copy(Rc<(Entry, Option<B>)>),
}

impl<B> Stored<B> {
    /// A Vary marker listing `names`, and what it is charged in memory.
    pub fn marker(names: Vec<String>) -> (Self, usize) {
        (Stored::Marker(names), MARKER_BYTES)
    }

    /// A copy of `entry` with `body` of `len` bytes (an empty body is kept as none), and what it
    /// is charged in memory.
    pub fn copy(entry: Entry, body: Option<B>, len: usize) -> (Self, usize) {
        let body = body.filter(|_| len > 0);
        (
            Stored::Copy(Rc::new((entry, body))),
            len + COPY_OVERHEAD_BYTES,
        )
    }
}

/// What a Cache API copy is, read from its fields (before its body is).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Found {
    /// A Vary marker listing these request fields.
    Marker(Vec<String>),
    /// A stored response (its body is the copy's).
    Copy(Entry),
}

impl Found {
    /// Reads a copy's fields (`field` gets one by its lower-case name): a marker lists names in
    /// [`VARY_MARKER_HEADER`], a stored response carries its entry in [`META_HEADER`]. `None`:
    /// neither, or an entry that does not decode (not one of ours: ignored).
    pub fn read(field: impl Fn(&str) -> Option<String>) -> Option<Found> {
        match field(VARY_MARKER_HEADER) {
            Some(names) => Some(Found::Marker(marker::decode(&names))),
            None => Entry::decode(&field(META_HEADER)?).map(Found::Copy),
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::cache::freshness::Timing;
    use crate::cache::headers::Fields;

    /// A stored 404 with an `ETag`.
    pub(crate) fn entry() -> Entry {
        Entry {
            status: 404,
            fields: Fields::new([("etag", "\"a\"")]),
            timing: Timing {
                request_ms: 1,
                response_ms: 2,
            },
            stored_ms: 3,
            tags: vec!["page".into()],
        }
    }

    /// What a copy with these fields is.
    fn read(fields: &[(&str, &str)]) -> Option<Found> {
        Found::read(|n| {
            fields
                .iter()
                .find(|(k, _)| *k == n)
                .map(|(_, v)| v.to_string())
        })
    }

    #[test]
    fn reads_what_a_copy_is_from_its_fields() {
        let meta = entry().encode();
        let names = "accept-encoding, accept-language";
        let want = vec!["accept-encoding".into(), "accept-language".into()];
        assert_eq!(
            read(&[(VARY_MARKER_HEADER, names)]),
            Some(Found::Marker(want))
        );
        // A marker wins over an entry.
        let both = [(VARY_MARKER_HEADER, "a"), (META_HEADER, &meta)];
        assert_eq!(read(&both), Some(Found::Marker(vec!["a".into()])));
        assert_eq!(read(&[(META_HEADER, &meta)]), Some(Found::Copy(entry())));
        assert_eq!(read(&[(META_HEADER, "not base64 json")]), None);
        assert_eq!(read(&[("cache-control", "max-age=1")]), None);
    }

    #[test]
    fn charges_markers_and_copies() {
        let names = vec!["accept-encoding".to_string()];
        assert_eq!(
            Stored::<&str>::marker(names.clone()),
            (Stored::Marker(names), MARKER_BYTES)
        );
        assert_eq!(
            Stored::copy(entry(), Some("body"), 4),
            (Stored::Copy(Rc::new((entry(), Some("body")))), 4 + 512)
        );
        // An empty body is kept as none, and the copy still charged its overhead.
        assert_eq!(
            Stored::copy(entry(), Some(""), 0),
            (Stored::Copy(Rc::new((entry(), None))), 512)
        );
        assert_eq!(
            Stored::<&str>::copy(entry(), None, 0),
            (Stored::Copy(Rc::new((entry(), None))), 512)
        );
    }
}
