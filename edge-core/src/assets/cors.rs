//! Cross-origin reads of assets (fonts and module scripts on a CDN host need CORS headers).

use http::{header, HeaderMap, StatusCode};

use super::Plan;

/// Who may read assets cross-origin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cors {
    /// No CORS headers.
    Off,
    /// `Access-Control-Allow-Origin: *`.
    Any,
    /// Echo the request's `Origin` when it is one of these (with `Vary: Origin`).
    Origins(Vec<String>),
}

impl Cors {
    /// The `Access-Control-Allow-Origin` value for a request from `origin`, if any, and whether
    /// the answer depends on `Origin` (then the response must say `Vary: Origin`).
    pub fn allow<'a>(&'a self, origin: Option<&'a str>) -> (Option<&'a str>, bool) {
        match self {
            Cors::Off => (None, false),
            Cors::Any => (Some("*"), false),
            Cors::Origins(list) => (
                origin.filter(|o| list.iter().any(|allowed| allowed == o)),
                true,
            ),
        }
    }
}

/// The answer to a CORS preflight (an `OPTIONS` with `Origin` and
/// `Access-Control-Request-Method`, Fetch §4.8) for an asset, when `cors` lets that origin read
/// assets: 204 allowing GET and HEAD with the request headers asked for (a script's
/// `If-None-Match`, `Range`), for a day. `None` for anything else (a plain OPTIONS, another
/// method, an origin not allowed: the usual 405, which the browser takes as a refusal).
pub fn preflight(headers: &HeaderMap, cors: &Cors) -> Option<Plan> {
    let text = |n: header::HeaderName| headers.get(n).and_then(|v| v.to_str().ok());
    let method = text(header::ACCESS_CONTROL_REQUEST_METHOD)?;
    if method != "GET" && method != "HEAD" {
        return None;
    }
    let (allow, varies) = cors.allow(text(header::ORIGIN));
    let allow = allow?;
    let mut plan = Plan::new(StatusCode::NO_CONTENT);
    plan.set(header::ACCESS_CONTROL_ALLOW_ORIGIN, allow);
    plan.set(header::ACCESS_CONTROL_ALLOW_METHODS, "GET, HEAD");
    // The names asked for, when they are a list of tokens (written out ASCII-only: a general
    // split-trim-join cost the Wasm 5 KB gzip).
    let mut names = String::new();
    for n in text(header::ACCESS_CONTROL_REQUEST_HEADERS)
        .unwrap_or("")
        .split(',')
    {
        let n = n.trim_matches([' ', '\t']);
        if !n.is_empty() && crate::token::is_token(n) {
            names.push_str(if names.is_empty() { "" } else { ", " });
            names.push_str(n);
        } else if !n.is_empty() {
            names.clear();
            break;
        }
    }
    if !names.is_empty() {
        plan.set(header::ACCESS_CONTROL_ALLOW_HEADERS, &names);
    }
    plan.set(header::ACCESS_CONTROL_MAX_AGE, "86400");
    if varies {
        plan.set(header::VARY, "Origin");
    }
    Some(plan)
}
