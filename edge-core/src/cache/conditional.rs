//! Validation with the origin and with the client: the conditional request the cache sends for a
//! stored response (RFC 9111 §4.3.1), merging a `304` into the stored response (§4.3.4), and
//! answering a client's own conditional request from the cache (§4.3.2).

use super::entry::Entry;
use super::headers::Fields;
use crate::http_date;

/// The validators to send when revalidating `entry`: `If-None-Match` and `If-Modified-Since`.
pub fn validators(entry: &Entry) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    if let Some(etag) = entry.fields.first("etag") {
        out.push(("if-none-match", quoted(etag)));
    }
    if let Some(lm) = entry.fields.first("last-modified") {
        out.push(("if-modified-since", lm.to_string()));
    }
    out
}

/// An entity tag as it must be sent: quoted (origins sometimes forget).
fn quoted(etag: &str) -> String {
    let t = etag.trim();
    let (weak, body) = t.strip_prefix("W/").map_or(("", t), |b| ("W/", b));
    if body.starts_with('"') && body.ends_with('"') && body.len() >= 2 {
        t.to_string()
    } else {
        format!("{weak}\"{body}\"")
    }
}

/// Fields a `304` never updates (RFC 9111 §3.2: they describe the stored content).
const KEEP_FROM_STORED: [&str; 4] = [
    "content-length",
    "content-encoding",
    "transfer-encoding",
    "content-range",
];

/// Merges a `304`'s fields into the stored response: every field the 304 carries replaces the
/// stored one of that name (framing fields excepted); the others stay.
pub fn merge_304(stored: &Fields, not_modified: &Fields) -> Fields {
    let mut out = stored.clone();
    let mut replaced: Vec<&str> = Vec::new();
    for (name, _) in &not_modified.0 {
        if KEEP_FROM_STORED.contains(&name.as_str()) || replaced.contains(&name.as_str()) {
            continue;
        }
        out.remove(name);
        for (n, v) in &not_modified.0 {
            if n == name {
                out.0.push((n.clone(), v.clone()));
            }
        }
        replaced.push(name);
    }
    out
}

/// Whether a client's conditional GET/HEAD is satisfied by `entry` (then the answer is `304`):
/// `If-None-Match` (weak comparison, lists, `*`) when present, else `If-Modified-Since` against
/// `Last-Modified` (or `Date` when there is none).
pub fn not_modified(
    entry: &Entry,
    if_none_match: Option<&str>,
    if_modified_since: Option<&str>,
) -> bool {
    if let Some(list) = if_none_match {
        let Some(etag) = entry.fields.first("etag") else {
            return list.trim() == "*";
        };
        let opaque = |t: &str| {
            t.trim()
                .trim_start_matches("W/")
                .trim_matches('"')
                .to_string()
        };
        let mine = opaque(etag);
        return list.trim() == "*" || split_tags(list).iter().any(|t| opaque(t) == mine);
    }
    let (Some(ims), Some(modified)) = (
        if_modified_since.and_then(http_date::parse),
        entry
            .fields
            .first("last-modified")
            .or_else(|| entry.fields.first("date"))
            .and_then(http_date::parse),
    ) else {
        return false;
    };
    modified <= ims
}

/// Splits an entity-tag list at commas outside quotes.
fn split_tags(list: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut start, mut quoted) = (0, false);
    for (i, c) in list.char_indices() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => {
                out.push(&list[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&list[start..]);
    out.into_iter()
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .collect()
}

/// Fields a `304` from the cache carries (RFC 9110 §15.4.5).
pub const NOT_MODIFIED_FIELDS: [&str; 7] = [
    "cache-control",
    "content-location",
    "date",
    "etag",
    "expires",
    "vary",
    "last-modified",
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cache::freshness::Timing;

    fn entry(pairs: &[(&str, &str)]) -> Entry {
        Entry {
            status: 200,
            fields: Fields::new(pairs.iter().copied()),
            timing: Timing {
                request_ms: 0,
                response_ms: 0,
            },
            stored_ms: 0,
            tags: vec![],
        }
    }

    #[test]
    fn validators_for_revalidation() {
        let e = entry(&[
            ("etag", "abc"),
            ("last-modified", "Sun, 06 Nov 1994 08:49:37 GMT"),
        ]);
        assert_eq!(
            validators(&e),
            [
                ("if-none-match", "\"abc\"".to_string()),
                (
                    "if-modified-since",
                    "Sun, 06 Nov 1994 08:49:37 GMT".to_string()
                )
            ]
        );
        assert_eq!(
            validators(&entry(&[("etag", "W/\"x\"")])),
            [("if-none-match", "W/\"x\"".to_string())]
        );
        assert!(validators(&entry(&[])).is_empty());
    }

    #[test]
    fn a_304_updates_stored_fields_but_not_the_framing() {
        let stored = Fields::new([
            ("content-length", "10"),
            ("test-header", "a"),
            ("cache-control", "max-age=1"),
            ("x-kept", "k"),
        ]);
        let nm = Fields::new([
            ("content-length", "0"),
            ("test-header", "b"),
            ("cache-control", "max-age=60"),
        ]);
        let m = merge_304(&stored, &nm);
        assert_eq!(m.first("content-length"), Some("10"));
        assert_eq!(m.first("test-header"), Some("b"));
        assert_eq!(m.first("cache-control"), Some("max-age=60"));
        assert_eq!(m.first("x-kept"), Some("k"));
    }

    #[test]
    fn client_conditionals() {
        let e = entry(&[
            ("etag", "\"v1\""),
            ("last-modified", "Sun, 06 Nov 1994 08:49:37 GMT"),
        ]);
        for (inm, ims, want) in [
            (Some("\"v1\""), None, true),
            (Some("W/\"v1\""), None, true),
            (Some("\"a\", \"v1\", \"b\""), None, true),
            (Some("\"a\", \"b\""), None, false),
            (Some("*"), None, true),
            (Some("\"x\""), Some("Sun, 06 Nov 1994 08:49:37 GMT"), false),
            (None, Some("Sun, 06 Nov 1994 08:49:37 GMT"), true),
            (None, Some("Sunday, 06-Nov-94 08:49:37 GMT"), true),
            (None, Some("Sat, 05 Nov 1994 08:49:37 GMT"), false),
            (None, Some("garbage"), false),
            (None, None, false),
        ] {
            assert_eq!(not_modified(&e, inm, ims), want, "{inm:?} {ims:?}");
        }
        let no_lm = entry(&[("date", "Sun, 06 Nov 1994 08:49:37 GMT")]);
        assert!(
            not_modified(&no_lm, None, Some("Mon, 07 Nov 1994 08:49:37 GMT")),
            "Date stands in for Last-Modified"
        );
    }
}
