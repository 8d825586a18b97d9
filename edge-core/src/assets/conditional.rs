//! Conditional requests (RFC 9110 §13): `If-Match`, `If-None-Match`, `If-Range`.

use http::HeaderMap;

/// What the preconditions decide for a GET or HEAD.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precondition {
    /// Send the representation.
    Proceed,
    /// `If-None-Match` matched: 304 Not Modified.
    NotModified,
    /// `If-Match` did not match: 412 Precondition Failed.
    Failed,
}

/// Evaluates `If-Match` then `If-None-Match` against the selected representation's strong
/// `etag` (the resource exists, so `*` always matches). There is no `Last-Modified`, so the
/// date-based preconditions never apply.
pub fn evaluate(headers: &HeaderMap, etag: &str) -> Precondition {
    if let Some(list) = joined(headers, http::header::IF_MATCH) {
        // Strong comparison: a weak tag never matches.
        if !list_matches(&list, |tag| !tag.starts_with("W/") && tag == etag) {
            return Precondition::Failed;
        }
    }
    if let Some(list) = joined(headers, http::header::IF_NONE_MATCH) {
        // Weak comparison: `W/"x"` matches `"x"`.
        if list_matches(&list, |tag| tag.strip_prefix("W/").unwrap_or(tag) == etag) {
            return Precondition::NotModified;
        }
    }
    Precondition::Proceed
}

/// Whether a `Range` may be honoured given `If-Range`: only when absent, or when it carries an
/// entity tag that strongly matches the identity representation. A date (we send no
/// `Last-Modified`) or a weak tag means "send the whole thing".
pub fn if_range_allows(headers: &HeaderMap, identity_etag: &str) -> bool {
    match headers.get(http::header::IF_RANGE) {
        None => true,
        Some(v) => v.to_str().is_ok_and(|t| {
            let t = t.trim();
            !t.starts_with("W/") && t == identity_etag
        }),
    }
}

fn joined(headers: &HeaderMap, name: http::header::HeaderName) -> Option<String> {
    let mut out: Option<String> = None;
    for v in headers.get_all(name) {
        let text = String::from_utf8_lossy(v.as_bytes());
        match &mut out {
            Some(s) => {
                s.push(',');
                s.push_str(&text);
            }
            None => out = Some(text.into_owned()),
        }
    }
    out
}

/// `*` or a comma-separated list of entity tags (commas may appear inside quotes).
fn list_matches(list: &str, mut matches: impl FnMut(&str) -> bool) -> bool {
    if list.trim() == "*" {
        return true;
    }
    let mut rest = list;
    loop {
        rest = rest.trim_start_matches(|c: char| c == ',' || c.is_ascii_whitespace());
        if rest.is_empty() {
            return false;
        }
        let weak = rest.starts_with("W/");
        let body = if weak { &rest[2..] } else { rest };
        if !body.starts_with('"') {
            // Not an entity tag: skip to the next comma.
            rest = rest.find(',').map_or("", |i| &rest[i..]);
            continue;
        }
        let Some(close) = body[1..].find('"') else {
            return false;
        };
        let tag_len = (if weak { 2 } else { 0 }) + close + 2;
        if matches(&rest[..tag_len]) {
            return true;
        }
        rest = &rest[tag_len..];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                http::header::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        h
    }

    const TAG: &str = "\"abc\"";

    #[test]
    fn if_none_match_lists_weak_and_star() {
        let e = |v: &str| evaluate(&headers(&[("if-none-match", v)]), TAG);
        assert_eq!(e("\"abc\""), Precondition::NotModified);
        assert_eq!(e("\"x\", \"abc\""), Precondition::NotModified);
        assert_eq!(e("W/\"abc\""), Precondition::NotModified, "weak comparison");
        assert_eq!(e("*"), Precondition::NotModified);
        assert_eq!(e("\"abcd\", \"ab\""), Precondition::Proceed);
        assert_eq!(e("\"a,bc\""), Precondition::Proceed, "commas inside tags");
        assert_eq!(e("garbage, \"abc\""), Precondition::NotModified);
        assert_eq!(e("\"unterminated"), Precondition::Proceed);
        let two = headers(&[("if-none-match", "\"x\""), ("if-none-match", "\"abc\"")]);
        assert_eq!(evaluate(&two, TAG), Precondition::NotModified);
    }

    #[test]
    fn if_match_is_strong_and_checked_first() {
        let e = |v: &str| evaluate(&headers(&[("if-match", v)]), TAG);
        assert_eq!(e("\"abc\""), Precondition::Proceed);
        assert_eq!(e("*"), Precondition::Proceed);
        assert_eq!(e("W/\"abc\""), Precondition::Failed);
        assert_eq!(e("\"zzz\""), Precondition::Failed);
        let both = headers(&[("if-match", "\"zzz\""), ("if-none-match", "\"abc\"")]);
        assert_eq!(evaluate(&both, TAG), Precondition::Failed);
    }

    #[test]
    fn if_range_needs_a_strong_matching_tag() {
        assert!(if_range_allows(&headers(&[]), TAG));
        assert!(if_range_allows(&headers(&[("if-range", "\"abc\"")]), TAG));
        assert!(!if_range_allows(
            &headers(&[("if-range", "W/\"abc\"")]),
            TAG
        ));
        assert!(!if_range_allows(&headers(&[("if-range", "\"old\"")]), TAG));
        assert!(!if_range_allows(
            &headers(&[("if-range", "Wed, 21 Oct 2015 07:28:00 GMT")]),
            TAG
        ));
    }
}
