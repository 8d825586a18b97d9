//! Going to the origin with a stored copy in hand (`lookup::Use::Forward`): whether the request
//! carries the copy's validators, and what the origin's answer leads to — the copy served after
//! all (stale-if-error, RFC 5861 §4), the copy refreshed by a `304` (RFC 9111 §4.3.4), or the
//! answer passed on (and stored when it may be).

use super::entry::Entry;
use super::lookup;
use super::request::CacheRequest;
use super::settings::CacheSettings;

/// A request going forward although a stored response was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Forward {
    /// The stored response has validators to revalidate it with.
    pub revalidate: bool,
    /// The stored response may answer if the origin fails.
    pub stale_on_error: bool,
    /// The client sent its own `If-None-Match` or `If-Modified-Since` (then its conditional goes
    /// to the origin as it is, and a `304` is the client's, not the cache's).
    pub own_conditionals: bool,
}

/// What the origin's answer to a forwarded request leads to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum After {
    /// Serve the stored response after all (stale-if-error).
    Stale {
        /// Its current age, seconds.
        age: u64,
        /// Freshness left (negative), seconds.
        ttl: i64,
    },
    /// The origin confirmed the stored response (`304` to the cache's own validators).
    Refresh,
    /// Pass the origin's answer on (storing it when it may be stored).
    Pass,
}

impl Forward {
    /// The forward of `Use::Forward { revalidate, stale_on_error }` for `req`.
    pub fn new(revalidate: bool, stale_on_error: bool, req: &CacheRequest) -> Self {
        Forward {
            revalidate,
            stale_on_error,
            own_conditionals: req.if_none_match.is_some() || req.if_modified_since.is_some(),
        }
    }

    /// Whether the stored response's validators go with the request.
    pub fn sends_validators(&self) -> bool {
        self.revalidate && !self.own_conditionals
    }

    /// What the origin's answer leads to: `answered` is its status (`None`: no origin answered);
    /// `now_ms` and `purged` as for [`lookup::stale_on_error`].
    pub fn after(
        &self,
        answered: Option<u16>,
        entry: &Entry,
        settings: &CacheSettings,
        now_ms: u64,
        purged: bool,
    ) -> After {
        let failed = answered.is_none_or(|s| (500..=504).contains(&s));
        if failed && self.stale_on_error {
            if let Some((age, ttl)) = lookup::stale_on_error(entry, settings, now_ms, purged) {
                return After::Stale { age, ttl };
            }
        }
        if self.sends_validators() && answered == Some(304) {
            return After::Refresh;
        }
        After::Pass
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cache::freshness::Timing;
    use crate::cache::headers::Fields;
    use crate::cache::storable::tests::settings;

    const T0: u64 = 1_700_000_000_000;

    fn entry() -> Entry {
        Entry {
            status: 200,
            fields: Fields::new([
                ("cache-control", "max-age=60, stale-if-error=600"),
                ("etag", "\"v1\""),
            ]),
            timing: Timing {
                request_ms: T0,
                response_ms: T0,
            },
            stored_ms: T0,
            tags: vec![],
        }
    }

    fn req(inm: Option<&str>, ims: Option<&str>) -> CacheRequest {
        CacheRequest::read(
            "GET",
            |n| match n {
                "if-none-match" => inm.map(String::from),
                "if-modified-since" => ims.map(String::from),
                _ => None,
            },
            &settings(),
        )
    }

    #[test]
    fn validators_go_unless_the_client_sent_its_own() {
        let ims = Some("Sun, 06 Nov 1994 08:49:37 GMT");
        for (revalidate, inm, ims, want) in [
            (true, None, None, true),
            (false, None, None, false),
            (true, Some("\"x\""), None, false),
            (true, None, ims, false),
        ] {
            let f = Forward::new(revalidate, true, &req(inm, ims));
            assert_eq!(f.sends_validators(), want, "{revalidate} {inm:?} {ims:?}");
        }
    }

    #[test]
    fn what_the_answer_leads_to() {
        let s = settings();
        let mine = Forward::new(true, true, &req(None, None));
        let theirs = Forward::new(true, true, &req(Some("\"v1\""), None));
        let no_error_use = Forward::new(true, false, &req(None, None));
        let stale = |age| After::Stale {
            age,
            ttl: 60 - age as i64,
        };
        let cases = [
            (mine, None, 100, false, stale(100)),
            (mine, Some(500), 100, false, stale(100)),
            (mine, Some(504), 100, false, stale(100)),
            (mine, Some(505), 100, false, After::Pass),
            (mine, Some(503), 700, false, After::Pass),
            (
                mine,
                Some(503),
                100,
                true,
                After::Stale {
                    age: 100,
                    ttl: -100,
                },
            ),
            (mine, Some(304), 100, false, After::Refresh),
            (mine, Some(200), 100, false, After::Pass),
            (theirs, Some(304), 100, false, After::Pass),
            (theirs, None, 100, false, stale(100)),
            (no_error_use, None, 100, false, After::Pass),
            (no_error_use, Some(304), 100, false, After::Refresh),
        ];
        for (f, answered, at_s, purged, want) in cases {
            let got = f.after(answered, &entry(), &s, T0 + at_s * 1000, purged);
            assert_eq!(got, want, "{f:?} {answered:?} at {at_s} s purged {purged}");
        }
    }
}
