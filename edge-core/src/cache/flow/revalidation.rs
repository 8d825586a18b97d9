//! The background revalidation of a stale copy served while-revalidate (RFC 5861 §3), as a
//! sans-IO state machine: one per key per isolate (a coalescing flight of its own); it looks the
//! copy up, forwards a request (conditional when a copy was found), and stores what the answer
//! brings — the copy refreshed by a `304`, or the new response when it may be stored.

use std::borrow::Cow;

use super::{Answered, Source, Store};
use crate::cache::coalesce::{Coalescer, Role};
use crate::cache::conditional;
use crate::cache::entry::{storage_url, Entry};
use crate::cache::key;
use crate::cache::placement;
use crate::cache::refresh;
use crate::cache::settings::CacheSettings;
use crate::cache::storable::{self, RequestBits};
use crate::header_edits::{only_present, HeaderEdits};

/// What a client's request fields the background revalidation drops before it goes to the
/// origin in the edge's name: credentials (it is stored as a request without them,
/// [`RequestBits::BACKGROUND`]; RFC 9111 §3.5), and the client's own conditions and range (a
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

/// The next I/O of a revalidation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Look the stored response up (as [`super::Step::Lookup`]); report with
    /// [`Revalidation::found`].
    Lookup,
    /// Send the request with these fields added (the copy's validators; none when empty);
    /// report with [`Revalidation::answered`].
    Forward {
        /// Field names and values to set on the request.
        validators: Vec<(&'static str, String)>,
    },
    /// Store this (and wait for it). The revalidation is over.
    Store(Box<Store>),
    /// Nothing is stored, for this reason (for the log). The revalidation is over.
    Fail(&'static str),
}

/// One background revalidation.
#[derive(Debug, Clone)]
pub struct Revalidation<'c> {
    settings: &'c CacheSettings,
    primary: String,
    flight: String,
    copy: Option<Entry>,
    out: Option<Step>,
}

impl<'c> Revalidation<'c> {
    /// Starts revalidating `url` (on a route with `settings`) at `now_ms`, unless this isolate
    /// already revalidates it (`None`): joins the key's revalidation flight in `coalescer` (a
    /// leader older than `deadline_ms` counts as gone).
    pub fn join(
        url: &str,
        settings: &'c CacheSettings,
        coalescer: &mut Coalescer,
        now_ms: u64,
        deadline_ms: u64,
    ) -> Option<Self> {
        let primary = key::primary(url, &settings.ignore_query);
        let flight = format!("revalidate {}", storage_url(&primary, None));
        if coalescer.join(&flight, now_ms, deadline_ms) == Role::Follower {
            return None;
        }
        Some(Revalidation {
            settings,
            primary,
            flight,
            copy: None,
            out: Some(Step::Lookup),
        })
    }

    /// The request's primary cache key (what [`Step::Lookup`] looks under).
    pub fn primary(&self) -> &str {
        &self.primary
    }

    /// The next I/O to do; `None` while it waits for a result, and once it is over.
    pub fn next_step(&mut self) -> Option<Step> {
        self.out.take()
    }

    /// The lookup's result: the stored entry found, if any.
    pub fn found(&mut self, entry: Option<Entry>) {
        let validators = entry
            .as_ref()
            .map_or_else(Vec::new, conditional::validators);
        self.copy = entry;
        self.out = Some(Step::Forward { validators });
    }

    /// What the forward gave, at `now_ms`; `request_field` reads the request's fields (the
    /// secondary key of what is stored).
    pub fn answered(
        &mut self,
        answered: Answered,
        request_field: impl Fn(&str) -> Option<String>,
        now_ms: u64,
    ) {
        let Some(fields) = &answered.fields else {
            self.out = Some(Step::Fail("the origins did not answer"));
            return;
        };
        let (bits, timing) = (RequestBits::BACKGROUND, answered.timing);
        let (primary, settings) = (self.primary.as_str(), self.settings);
        let (to_store, from) = match (answered.status, &self.copy) {
            (304, Some(copy)) => {
                let r = refresh::refresh(copy, fields, bits, timing, primary, settings, now_ms);
                (r.to_store, Source::Copy)
            }
            (status, _) => {
                let decided =
                    storable::decide(bits, status, fields, timing, primary, settings, now_ms);
                (decided, Source::Answer)
            }
        };
        self.out = Some(match to_store {
            Ok(to_store) => {
                let secondary = key::secondary(&to_store.vary, request_field);
                Step::Store(Box::new(Store {
                    place: placement::place(&to_store, primary, &secondary),
                    to_store,
                    from,
                    max_bytes: settings.max_object_bytes,
                    leader: None,
                }))
            }
            Err(e) => Step::Fail(e.token()),
        });
    }

    /// Ends the revalidation's flight in `coalescer` at `now_ms` (whatever came of it).
    pub fn finish(self, coalescer: &mut Coalescer, now_ms: u64) {
        coalescer.finish(&self.flight, true, now_ms);
    }
}

#[cfg(test)]
mod tests;
