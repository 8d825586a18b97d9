//! What a stored response answers a request with: a `304` when the client's own conditional
//! holds (RFC 9111 §4.3.2, with the fields RFC 9110 §15.4.5 lists, and `Age`), no body for HEAD
//! nor for a status that cannot have one, else the stored status, fields and body.

use super::conditional::{self, NOT_MODIFIED_FIELDS};
use super::entry::Entry;
use super::headers::Fields;
use super::request::CacheRequest;

/// The response the glue builds from a stored one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// Status sent.
    pub status: u16,
    /// Header fields sent (the stored ones with `Age`, or the `304`'s subset of them).
    pub fields: Fields,
    /// Whether the stored body goes with it.
    pub body: bool,
}

/// The reply to `req` from `entry` at `age` seconds.
pub fn reply(entry: &Entry, age: u64, req: &CacheRequest) -> Reply {
    let fields = entry.served_fields(age);
    let not_modified = conditional::not_modified(
        entry,
        req.if_none_match.as_deref(),
        req.if_modified_since.as_deref(),
    );
    if not_modified {
        let kept = Fields(
            fields
                .0
                .into_iter()
                .filter(|(n, _)| NOT_MODIFIED_FIELDS.contains(&n.as_str()) || n == "age")
                .collect(),
        );
        return Reply {
            status: 304,
            fields: kept,
            body: false,
        };
    }
    Reply {
        status: entry.status,
        fields,
        // No body for HEAD, nor for statuses that cannot have one (a Response refuses it).
        body: !(req.head || matches!(entry.status, 204 | 205)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cache::freshness::Timing;
    use crate::cache::storable::tests::settings;

    fn entry(status: u16) -> Entry {
        Entry {
            status,
            fields: Fields::new([
                ("etag", "\"v1\""),
                ("cache-control", "max-age=60"),
                ("content-type", "text/html"),
                ("x-custom", "c"),
                ("age", "3"),
            ]),
            timing: Timing {
                request_ms: 0,
                response_ms: 0,
            },
            stored_ms: 0,
            tags: vec![],
        }
    }

    fn req(method: &str, if_none_match: Option<&str>) -> CacheRequest {
        CacheRequest::read(
            method,
            |n| {
                (n == "if-none-match")
                    .then(|| if_none_match.map(String::from))
                    .flatten()
            },
            &settings(),
        )
    }

    #[test]
    fn status_fields_and_body() {
        let all = [
            ("etag", "\"v1\""),
            ("cache-control", "max-age=60"),
            ("content-type", "text/html"),
            ("x-custom", "c"),
            ("age", "7"),
        ];
        let not_modified = [
            ("etag", "\"v1\""),
            ("cache-control", "max-age=60"),
            ("age", "7"),
        ];
        type Case<'a> = (
            u16,
            &'a str,
            Option<&'a str>,
            u16,
            &'a [(&'a str, &'a str)],
            bool,
        );
        let cases: &[Case] = &[
            (200, "GET", None, 200, &all, true),
            (200, "HEAD", None, 200, &all, false),
            (204, "GET", None, 204, &all, false),
            (205, "GET", None, 205, &all, false),
            (404, "GET", None, 404, &all, true),
            (200, "GET", Some("\"v1\""), 304, &not_modified, false),
            (200, "HEAD", Some("W/\"v1\""), 304, &not_modified, false),
            (200, "GET", Some("\"v2\""), 200, &all, true),
        ];
        for &(stored, method, inm, status, fields, body) in cases {
            let got = reply(&entry(stored), 7, &req(method, inm));
            let want = Reply {
                status,
                fields: Fields::new(fields.iter().copied()),
                body,
            };
            assert_eq!(got, want, "{stored} {method} {inm:?}");
        }
    }
}
