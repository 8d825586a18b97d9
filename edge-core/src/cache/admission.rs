//! What is stored after an origin answered a request that went forward: the storable decision
//! for that request (RFC 9111 §3) and the route's size limit, with the `Cache-Status` detail
//! token when nothing is stored.

use super::freshness::Timing;
use super::headers::Fields;
use super::request::CacheRequest;
use super::settings::CacheSettings;
use super::storable::{self, RequestBits, ToStore};

/// What `req` says that matters for storing.
pub fn request_bits(req: &CacheRequest) -> RequestBits {
    RequestBits {
        get: !req.head,
        authorization: req.authorization,
        no_store: req.cc.has("no-store"),
    }
}

/// Decides whether the origin's answer (`status`, `fields`) to `req` is stored under `primary`;
/// `Err` is the detail token (`too-large` when `Content-Length` is over the route's limit).
pub fn admit(
    req: &CacheRequest,
    status: u16,
    fields: &Fields,
    timing: Timing,
    primary: &str,
    settings: &CacheSettings,
    now_ms: u64,
) -> Result<ToStore, &'static str> {
    let to_store = storable::decide(
        request_bits(req),
        status,
        fields,
        timing,
        primary,
        settings,
        now_ms,
    )
    .map_err(|e| e.token())?;
    let too_large = fields
        .first("content-length")
        .and_then(|l| l.trim().parse::<u64>().ok())
        .is_some_and(|l| l > settings.max_object_bytes);
    if too_large {
        return Err("too-large");
    }
    Ok(to_store)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cache::storable::tests::settings;

    const NOW: u64 = 1_700_000_000_000;

    fn req(method: &str, pairs: &[(&str, &str)]) -> CacheRequest {
        CacheRequest::read(
            method,
            |n| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == n)
                    .map(|(_, v)| v.to_string())
            },
            &settings(),
        )
    }

    #[test]
    fn what_a_forwarded_request_stores() {
        let max = settings().max_object_bytes.to_string();
        let over = (settings().max_object_bytes + 1).to_string();
        type Case<'a> = (
            &'a str,
            &'a [(&'a str, &'a str)],
            u16,
            &'a [(&'a str, &'a str)],
            Result<(), &'a str>,
        );
        let cache = ("cache-control", "max-age=60");
        let cases: &[Case] = &[
            ("GET", &[], 200, &[cache], Ok(())),
            ("HEAD", &[], 200, &[cache], Err("method")),
            (
                "GET",
                &[("cache-control", "no-store")],
                200,
                &[cache],
                Err("no-store"),
            ),
            (
                "GET",
                &[("authorization", "Basic x")],
                200,
                &[cache],
                Err("authorization"),
            ),
            (
                "GET",
                &[("authorization", "Basic x")],
                200,
                &[("cache-control", "public, max-age=60")],
                Ok(()),
            ),
            ("GET", &[], 200, &[cache, ("content-length", &max)], Ok(())),
            (
                "GET",
                &[],
                200,
                &[cache, ("content-length", &over)],
                Err("too-large"),
            ),
            (
                "GET",
                &[],
                200,
                &[cache, ("content-length", " junk ")],
                Ok(()),
            ),
            (
                "GET",
                &[],
                200,
                &[("cache-control", "private"), ("content-length", &over)],
                Err("private"),
            ),
            ("GET", &[], 206, &[cache], Err("status")),
        ];
        for (method, req_fields, status, fields, want) in cases {
            let got = admit(
                &req(method, req_fields),
                *status,
                &Fields::new(fields.iter().copied()),
                Timing {
                    request_ms: NOW,
                    response_ms: NOW,
                },
                "https://s/p",
                &settings(),
                NOW,
            );
            assert_eq!(
                got.map(|_| ()),
                *want,
                "{method} {req_fields:?} {status} {fields:?}"
            );
        }
    }

    #[test]
    fn request_bits_come_from_the_request() {
        assert_eq!(
            request_bits(&req(
                "HEAD",
                &[("authorization", "x"), ("cache-control", "no-store")]
            )),
            RequestBits {
                get: false,
                authorization: true,
                no_store: true
            }
        );
        assert_eq!(
            request_bits(&req("GET", &[])),
            RequestBits {
                get: true,
                authorization: false,
                no_store: false
            }
        );
    }
}
