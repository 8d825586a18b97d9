//! A lookup's way through storage: the primary key's storage key first; when that holds a Vary
//! marker, the key of the variant the request's fields select. One marker is followed at most (a
//! marker found under a variant's key finds nothing). The glue reads each key the walk names
//! (isolate memory, then the Cache API) and reports what it held.

use super::entry::{storage_url, Entry};
use super::key;
use super::stored::Stored;

/// One lookup's walk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Walk {
    primary: String,
    next: Option<String>,
    at_primary: bool,
}

impl Walk {
    /// The walk of a lookup under the primary key `primary`.
    pub fn new(primary: &str) -> Self {
        Walk {
            primary: primary.into(),
            next: Some(storage_url(primary, None)),
            at_primary: true,
        }
    }

    /// The storage key to read next; `None` once the walk is over (nothing more to read).
    pub fn next_key(&mut self) -> Option<String> {
        self.next.take()
    }

    /// What the key read last held: a copy is the lookup's result (its entry and body); a marker
    /// under the primary key sends the walk on to the variant that `request_field` (the
    /// request's fields) selects among the marker's.
    pub fn found<B: Clone>(
        &mut self,
        stored: Stored<B>,
        request_field: impl Fn(&str) -> Option<String>,
    ) -> Option<(Entry, Option<B>)> {
        match stored {
            Stored::Copy(copy) => Some((copy.0.clone(), copy.1.clone())),
            Stored::Marker(names) => {
                if std::mem::replace(&mut self.at_primary, false) {
                    let secondary = key::secondary(&names, request_field);
                    self.next = Some(storage_url(&self.primary, Some(&secondary)));
                }
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cache::stored::tests::entry;

    const PRIMARY: &str = "https://shop.example/p";

    fn lang(n: &str) -> Option<String> {
        (n == "accept-language").then(|| "fr".to_string())
    }

    #[test]
    fn a_copy_under_the_primary_key_is_found_at_once() {
        let mut w = Walk::new(PRIMARY);
        assert_eq!(w.next_key(), Some(storage_url(PRIMARY, None)));
        let (copy, _) = Stored::copy(entry(), Some("body"), 4);
        assert_eq!(w.found(copy, lang), Some((entry(), Some("body"))));
        assert_eq!(w.next_key(), None);
    }

    #[test]
    fn a_marker_leads_to_the_variant_the_request_selects() {
        let mut w = Walk::new(PRIMARY);
        w.next_key();
        let names = vec!["accept-language".to_string()];
        let (marker, _) = Stored::<&str>::marker(names.clone());
        assert_eq!(w.found(marker, lang), None);
        let variant = storage_url(PRIMARY, Some(&key::secondary(&names, lang)));
        assert_eq!(w.next_key(), Some(variant));
        assert_eq!(w.next_key(), None, "each key is named once");
        let (copy, _) = Stored::<&str>::copy(entry(), None, 0);
        assert_eq!(w.found(copy, lang), Some((entry(), None)));
    }

    #[test]
    fn a_marker_under_a_variant_finds_nothing() {
        let mut w = Walk::new(PRIMARY);
        let names = vec!["accept-language".to_string()];
        for _ in 0..2 {
            assert!(w.next_key().is_some());
            let (marker, _) = Stored::<&str>::marker(names.clone());
            assert_eq!(w.found(marker, lang), None);
        }
        assert_eq!(w.next_key(), None);
    }
}
