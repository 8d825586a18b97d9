//! The one structured log line per proxied request, and the lines for health events.

use std::fmt::Write;

use serde_json::json;

use crate::decimal::push_u64;

/// What the request log line says about one proxied request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestLog<'a> {
    /// When the request arrived, ms since the Unix epoch (lines may be written later, batched).
    pub at_ms: u64,
    /// Request method.
    pub method: &'a str,
    /// Request path (without query: queries may carry personal data).
    pub path: &'a str,
    /// The route's label.
    pub route: &'a str,
    /// The pool of the last attempt (`-` when none was made).
    pub pool: &'a str,
    /// The origin of the last attempt (`-` when none was made).
    pub origin: &'a str,
    /// Attempts made.
    pub attempts: u32,
    /// Status sent to the client.
    pub status: u16,
    /// Time from arrival to the response head, ms.
    pub latency_ms: u64,
    /// Why the edge answered itself, if it did (`every origin is down`, `invalid status 999`).
    pub error: Option<&'a str>,
    /// What the cache did (`hit`, `stale`, `miss`, `bypass`), when the route caches.
    pub cache: Option<&'a str>,
}

impl RequestLog<'_> {
    /// The line: one JSON object, written directly (no intermediate map: this runs for every
    /// proxied request).
    pub fn line(&self) -> String {
        let mut out = String::with_capacity(256);
        out.push_str("{\"event\":\"proxy\",\"ts\":");
        push_u64(&mut out, self.at_ms);
        out.push_str(",\"method\":");
        json_str(&mut out, self.method);
        for (key, value) in [
            ("path", self.path),
            ("route", self.route),
            ("pool", self.pool),
            ("origin", self.origin),
        ] {
            out.push_str(",\"");
            out.push_str(key);
            out.push_str("\":");
            json_str(&mut out, value);
        }
        for (key, n) in [
            (",\"attempts\":", self.attempts.into()),
            (",\"status\":", self.status.into()),
            (",\"latency_ms\":", self.latency_ms),
        ] {
            out.push_str(key);
            push_u64(&mut out, n);
        }
        if let Some(e) = self.error {
            out.push_str(",\"error\":");
            json_str(&mut out, e);
        }
        if let Some(c) = self.cache {
            out.push_str(",\"cache\":");
            json_str(&mut out, c);
        }
        out.push('}');
        out
    }
}

/// Appends `s` as a JSON string (RFC 8259 escaping).
fn json_str(out: &mut String, s: &str) {
    out.push('"');
    let mut rest = s;
    // Runs of characters that need no escape are copied whole; only ASCII needs one.
    while let Some(at) = rest
        .bytes()
        .position(|b| b == b'"' || b == b'\\' || b < 0x20)
    {
        let (run, tail) = rest.split_at(at);
        out.push_str(run);
        match tail.bytes().next() {
            Some(b'"') => out.push_str("\\\""),
            Some(b'\\') => out.push_str("\\\\"),
            Some(b) => {
                let _ = write!(out, "\\u{b:04x}");
            }
            None => {}
        }
        rest = tail.get(1..).unwrap_or_default();
    }
    out.push_str(rest);
    out.push('"');
}

/// The line for an origin ejected by passive health.
pub fn ejected(pool: &str, origin: &str) -> String {
    json!({"event": "ejected", "pool": pool, "origin": origin}).to_string()
}

/// The line for an origin's answer whose status is not a final HTTP status (counted as a
/// failure of the origin).
pub fn invalid_status(origin: &str, status: u16) -> String {
    format!("edge-worker: {origin} answered status {status}, not a final HTTP status; counted as a failure")
}

/// The line for a request whose small body could not be read whole at the edge (the client
/// hung up, or sent less than it declared; `why` is the runtime's word): answered 400, no
/// origin tried. The path without its query (queries may carry personal data); one line
/// whatever `why` holds.
pub fn client_body_failed(method: &str, path_and_query: &str, why: &str) -> String {
    let path = crate::router::path_of(path_and_query);
    let why = one_line(why);
    format!("edge-worker: {method} {path}: the request's body could not be read whole ({why}); answered 400, no origin tried")
}

/// The line for a request the runtime failed mid-way (`why`, its error): the method and the
/// URL's path (no host, no query), so the 500 the client got can be traced. One line whatever
/// `why` holds.
pub fn edge_failed(method: &str, url: &str, why: &str) -> String {
    let path = crate::router::path_of(url);
    let why = one_line(why);
    format!("edge-worker: {method} {path}: the request failed at the edge ({why}); answered 500")
}

/// `text` with control characters (line breaks) as spaces: a log line stays one line.
fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_request_line_names_the_path_only() {
        let l = edge_failed("GET", "https://shop.test/a/b?token=1#x", "TypeError: x\ny");
        assert_eq!(
            l,
            "edge-worker: GET /a/b: the request failed at the edge (TypeError: x y); answered 500"
        );
        assert!(edge_failed("GET", "https://shop.test?x", "e").contains(" GET /: "));
    }

    #[test]
    fn a_broken_body_line_names_the_request_without_its_query() {
        let l = client_body_failed("POST", "/orders?card=4111", "Network connection\nlost.");
        assert_eq!(l, "edge-worker: POST /orders: the request's body could not be read whole (Network connection lost.); answered 400, no origin tried");
    }

    #[test]
    fn lines_are_json_with_every_field() {
        let l = RequestLog {
            at_ms: 1_795_000_000_123,
            method: "GET",
            path: "/a\"b",
            route: "*/",
            pool: "dc1",
            origin: "http://127.0.0.1:8001",
            attempts: 2,
            status: 200,
            latency_ms: 7,
            error: None,
            cache: None,
        };
        let v: serde_json::Value = serde_json::from_str(&l.line()).unwrap();
        assert_eq!(v["path"], "/a\"b");
        assert_eq!(v["ts"], 1_795_000_000_123u64);
        let odd = RequestLog {
            path: "/\\x\u{1}\n\u{e9}",
            ..l.clone()
        };
        assert!(
            !odd.line().contains('\n'),
            "one line, even batched with others"
        );
        let v: serde_json::Value = serde_json::from_str(&odd.line()).unwrap();
        assert_eq!(
            v["path"], "/\\x\u{1}\n\u{e9}",
            "escaped and read back exactly"
        );
        assert_eq!(v["attempts"], 2);
        assert!(v.get("error").is_none());
        let e = RequestLog {
            error: Some("invalid status 999"),
            ..l
        };
        let v: serde_json::Value = serde_json::from_str(&e.line()).unwrap();
        assert_eq!(v["error"], "invalid status 999");
        let v: serde_json::Value = serde_json::from_str(&ejected("p", "o")).unwrap();
        assert_eq!(v["event"], "ejected");
    }
}
