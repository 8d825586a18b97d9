//! A stored response the origin confirmed with a `304` (RFC 9111 §4.3.4): the 304's fields are
//! merged in, it counts as obtained now, and it is stored again — keeping its tags — when the
//! merged response may still be stored. One rule for a client's request and for a background
//! revalidation.

use super::conditional;
use super::entry::Entry;
use super::freshness::Timing;
use super::headers::Fields;
use super::settings::CacheSettings;
use super::storable::{self, NotStored, RequestBits, ToStore};

/// A stored response refreshed by a `304`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refreshed {
    /// The refreshed response (what is served).
    pub entry: Entry,
    /// What is stored again, or why it is not.
    pub to_store: Result<ToStore, NotStored>,
    /// Its current age, seconds.
    pub age: u64,
    /// Freshness left, seconds.
    pub ttl: i64,
}

/// Refreshes `stored` with the fields of the `304` (`not_modified`) that answered the
/// conditional request sent and answered at `timing`, for a request with `bits`.
pub fn refresh(
    stored: &Entry,
    not_modified: &Fields,
    bits: RequestBits,
    timing: Timing,
    primary: &str,
    settings: &CacheSettings,
    now_ms: u64,
) -> Refreshed {
    let fields = conditional::merge_304(&stored.fields, not_modified);
    let to_store = storable::decide(
        bits,
        stored.status,
        &fields,
        timing,
        primary,
        settings,
        now_ms,
    )
    .map(|t| ToStore {
        entry: Entry {
            tags: stored.tags.clone(),
            ..t.entry
        },
        ..t
    });
    let entry = Entry {
        fields,
        timing,
        stored_ms: now_ms,
        ..stored.clone()
    };
    let facts = entry.facts();
    let age = facts.current_age(timing, now_ms);
    let ttl = entry.lifetime(&facts, settings) as i64 - age as i64;
    Refreshed {
        entry,
        to_store,
        age,
        ttl,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cache::storable::tests::settings;

    const NOW: u64 = 1_700_000_000_000;

    fn stored() -> Entry {
        Entry {
            status: 200,
            fields: Fields::new([
                ("cache-control", "max-age=1"),
                ("etag", "\"v1\""),
                ("content-length", "5"),
                ("x-old", "o"),
            ]),
            timing: Timing {
                request_ms: NOW - 600_000,
                response_ms: NOW - 600_000,
            },
            stored_ms: NOW - 600_000,
            tags: vec!["product-1".into(), "url:stored".into()],
        }
    }

    fn refresh_with(bits: RequestBits, pairs: &[(&str, &str)]) -> Refreshed {
        refresh(
            &stored(),
            &Fields::new(pairs.iter().copied()),
            bits,
            Timing {
                request_ms: NOW - 2000,
                response_ms: NOW - 1000,
            },
            "https://s/p",
            &settings(),
            NOW,
        )
    }

    #[test]
    fn a_304_refreshes_the_stored_response_and_keeps_its_tags() {
        let r = refresh_with(
            RequestBits::BACKGROUND,
            &[("cache-control", "max-age=60"), ("content-length", "0")],
        );
        let f = &r.entry.fields;
        assert_eq!(f.first("cache-control"), Some("max-age=60"));
        assert_eq!(f.first("content-length"), Some("5"), "framing kept");
        assert_eq!(f.first("x-old"), Some("o"));
        assert_eq!((r.entry.status, r.entry.stored_ms), (200, NOW));
        assert_eq!(r.entry.tags, stored().tags);
        assert_eq!((r.age, r.ttl), (2, 58), "1 s delay + 1 s resident");
        let Ok(to_store) = &r.to_store else {
            panic!("not stored: {:?}", r.to_store);
        };
        assert_eq!(
            to_store.entry.tags,
            stored().tags,
            "the stored tags, not new ones"
        );
        assert_eq!(to_store.entry.fields, r.entry.fields);
    }

    #[test]
    fn what_is_not_stored_again_is_still_refreshed() {
        let no_store = RequestBits {
            no_store: true,
            ..RequestBits::BACKGROUND
        };
        for (bits, pairs, why) in [
            (
                no_store,
                &[("cache-control", "max-age=60")][..],
                NotStored::NoStore,
            ),
            (
                RequestBits::BACKGROUND,
                &[("cache-control", "private")],
                NotStored::Private,
            ),
            (
                RequestBits {
                    authorization: true,
                    ..RequestBits::BACKGROUND
                },
                &[("cache-control", "max-age=60")],
                NotStored::Authorization,
            ),
        ] {
            let r = refresh_with(bits, pairs);
            assert_eq!(r.to_store, Err(why), "{pairs:?}");
            assert_eq!(r.entry.fields.first("cache-control"), pairs[0].1.into());
            assert_eq!(r.entry.stored_ms, NOW);
        }
    }
}
