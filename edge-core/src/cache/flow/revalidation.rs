//! The request of a background revalidation of a stale copy served while-revalidate (RFC 5861
//! §3): the client's, less what must not go in the edge's name. Its steps are a
//! [`Flow::background`](super::Flow::background): one per key per isolate (a coalescing flight
//! of its own); it looks the copy up, forwards the request (conditional when a copy was found),
//! and stores what the answer brings — the copy refreshed by a `304`, or the new response when
//! it may be stored.

use std::borrow::Cow;

use crate::header_edits::{only_present, HeaderEdits};

/// What a client's request fields the background revalidation drops before it goes to the
/// origin in the edge's name: credentials (it is stored as a request without them,
/// [`RequestBits::BACKGROUND`](crate::cache::storable::RequestBits::BACKGROUND); RFC 9111 §3.5), and the client's own conditions and range (a
/// `304` to the client's `If-None-Match` would confirm a copy the origin no longer has).
pub const CLIENT_FIELDS_DROPPED: [&str; 9] = [
    "authorization",
    "if-none-match",
    "if-modified-since",
    "if-match",
    "if-unmodified-since",
    "if-range",
    "range",
    "cache-control",
    "pragma",
];

/// The edits that turn a client's request fields (`get` looks them up) into the background
/// revalidation's: [`CLIENT_FIELDS_DROPPED`] removed where present.
pub fn client_edits(get: impl Fn(&str) -> Option<String>) -> HeaderEdits {
    let names = CLIENT_FIELDS_DROPPED
        .iter()
        .map(|&n| Cow::Borrowed(n))
        .collect();
    HeaderEdits {
        remove: only_present(names, get),
        ..HeaderEdits::default()
    }
}

#[cfg(test)]
mod tests;
