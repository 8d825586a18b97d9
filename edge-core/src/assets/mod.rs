//! Serving a built asset: request parts + manifest entry → a response plan.
//!
//! Nothing here does I/O. The plan says which status and headers to send and which stored file
//! (identity, precompressed sibling or dictionary-compressed delta, whole or a byte range) the
//! body is; the glue fetches it.

pub mod conditional;
pub mod cors;
pub mod dictionary;
pub mod history;
pub mod negotiate;
pub mod range;

use std::ops::Range;

use cdn_manifest::{Delta, Encoding, EntryRef};
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::{Method, StatusCode};

use conditional::Precondition;
pub use cors::Cors;
use range::RangeRequest;

/// `Cache-Control` for fingerprinted paths: their bytes can never change. `no-transform` keeps
/// intermediaries (Cloudflare's own compression included) from altering bytes whose SRI
/// integrity the page pins.
pub const IMMUTABLE: &str = "public, max-age=31536000, immutable, no-transform";
/// `Cache-Control` for everything else: cache, but revalidate (with the ETag) every time.
pub const REVALIDATE: &str = "public, no-cache, no-transform";

/// Where a response's body comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body {
    /// No body (HEAD, 304, 416 without text).
    Empty,
    /// A stored file: `path` inside the assets directory, all of it or `range` of it.
    File {
        /// Published path plus the sibling suffix (`.br`, `.gz`) for a precompressed body.
        path: String,
        /// The bytes of the file to send; `None` = all.
        range: Option<Range<u64>>,
        /// The stored file's full length.
        len: u64,
    },
    /// A short plain-text message (errors).
    Text(String),
    /// A stored file whose length the index does not record (the deploy history file): streamed
    /// as the assets service sends it.
    Unsized {
        /// Its path inside the assets directory.
        path: String,
    },
}

/// What to answer.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Response status.
    pub status: StatusCode,
    /// Response headers, complete (`Content-Length` included where there is a body).
    pub headers: HeaderMap,
    /// The body.
    pub body: Body,
    /// The body is already content-coded: the runtime must pass it through untouched.
    pub precompressed: bool,
}

impl Plan {
    fn new(status: StatusCode) -> Self {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        );
        Plan {
            status,
            headers,
            body: Body::Empty,
            precompressed: false,
        }
    }

    fn set(&mut self, name: HeaderName, value: &str) {
        if let Ok(v) = HeaderValue::from_str(value) {
            self.headers.insert(name, v);
        }
    }

    /// A plain-text error response.
    pub fn text(status: StatusCode, message: impl Into<String>, head: bool) -> Self {
        let message = message.into();
        let mut p = Plan::new(status);
        p.set(header::CONTENT_TYPE, "text/plain; charset=utf-8");
        p.set(header::CACHE_CONTROL, "no-store");
        p.set(header::CONTENT_LENGTH, &message.len().to_string());
        if !head {
            p.body = Body::Text(message);
        }
        p
    }

    /// 500 for a manifest entry that cannot be read (the index is corrupt).
    pub fn corrupted_manifest() -> Self {
        let message = "500 Internal Server Error: corrupted manifest\n";
        Plan::text(StatusCode::INTERNAL_SERVER_ERROR, message, false)
    }

    /// The headers as text pairs, as the runtime takes them (a value that is not visible ASCII
    /// is left out).
    pub fn header_pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        let pairs = self.headers.iter();
        pairs.filter_map(|(n, v)| Some((n.as_str(), v.to_str().ok()?)))
    }

    /// 405 for a method other than GET and HEAD, with `Allow: GET, HEAD`.
    fn get_or_head_only() -> Self {
        let mut p = Plan::text(
            StatusCode::METHOD_NOT_ALLOWED,
            "405 Method Not Allowed\n",
            false,
        );
        p.set(header::ALLOW, "GET, HEAD");
        p
    }
}

/// Request headers the asset planner reads; the glue passes these and no others into Wasm.
pub const REQUEST_HEADERS: [HeaderName; 9] = [
    header::ACCEPT_ENCODING,
    header::IF_NONE_MATCH,
    header::IF_MATCH,
    header::RANGE,
    header::IF_RANGE,
    header::ORIGIN,
    HeaderName::from_static(dictionary::AVAILABLE_DICTIONARY),
    header::ACCESS_CONTROL_REQUEST_METHOD,
    header::ACCESS_CONTROL_REQUEST_HEADERS,
];

/// The response header that makes a representation a dictionary for later versions.
pub const USE_AS_DICTIONARY: HeaderName = HeaderName::from_static("use-as-dictionary");

/// The request headers the planner reads, from a lookup by name. Cloudflare (and Miniflare)
/// rewrite `Accept-Encoding` to `br, gzip` before the worker runs and keep the client's own value
/// in `request.cf.clientAcceptEncoding`: when that is known (`client_accept_encoding`), it is what
/// negotiation uses (an empty one meaning the client sent none).
pub fn request_headers(
    get: impl Fn(&str) -> Option<String>,
    client_accept_encoding: Option<String>,
) -> HeaderMap {
    let mut headers = HeaderMap::new();
    for name in REQUEST_HEADERS {
        let value = match (&name, &client_accept_encoding) {
            (n, Some(client)) if *n == header::ACCEPT_ENCODING => Some(client.clone()),
            _ => get(name.as_str()),
        };
        if let Some(v) = value.filter(|v| !v.is_empty()) {
            if let Ok(v) = HeaderValue::from_str(&v) {
                headers.insert(name, v);
            }
        }
    }
    headers
}

/// Answers a request for the asset `entry`.
pub fn serve(method: &Method, headers: &HeaderMap, entry: &EntryRef<'_>, cors: &Cors) -> Plan {
    serve_as(method, headers, entry, cors, StatusCode::OK)
}

/// Answers a request for a path under the public path that is not in the manifest: the
/// configured not-found page with status 404, or a short text.
pub fn not_found(
    method: &Method,
    headers: &HeaderMap,
    page: Option<&EntryRef<'_>>,
    cors: &Cors,
) -> Plan {
    let head = method == Method::HEAD;
    match page {
        Some(page) if head || method == Method::GET => {
            let mut plan = serve_as(method, headers, page, cors, StatusCode::NOT_FOUND);
            plan.set(header::CACHE_CONTROL, "no-cache");
            plan
        }
        _ => Plan::text(StatusCode::NOT_FOUND, "404 Not Found\n", head),
    }
}

/// Serves the page `entry` as the body of an answer with `status` (an error page): GET and HEAD
/// only, no ranges or preconditions, never stored (`Cache-Control: no-store`).
pub fn page(
    method: &Method,
    headers: &HeaderMap,
    entry: &EntryRef<'_>,
    status: StatusCode,
    cors: &Cors,
) -> Plan {
    let mut plan = serve_as(method, headers, entry, cors, status);
    plan.set(header::CACHE_CONTROL, "no-store");
    plan
}

/// The edge's own answer `answer` with its page `entry` as the body: [`page`] with the answer's
/// status and its headers (`Retry-After`, `Allow`…) except `Content-Type`, the page's own.
pub fn answer_page(
    answer: &crate::answer::Answer,
    method: &Method,
    headers: &HeaderMap,
    entry: &EntryRef<'_>,
    cors: &Cors,
) -> Plan {
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
    let mut plan = page(method, headers, entry, status, cors);
    for (name, value) in answer.headers.iter().filter(|(n, _)| *n != "content-type") {
        if let (Some(n), Ok(v)) = (answer_header(name), HeaderValue::from_str(value)) {
            plan.headers.insert(n, v);
        }
    }
    plan
}

/// The header names the edge's own answers use, as `http`'s constants: a lookup by arbitrary
/// bytes (`HeaderName::from_bytes`) would cost the Wasm worker its 12 KB table of standard names.
/// A test checks that every answer's names are here.
fn answer_header(name: &str) -> Option<HeaderName> {
    Some(match name {
        "allow" => header::ALLOW,
        "cache-control" => header::CACHE_CONTROL,
        "content-security-policy" => header::CONTENT_SECURITY_POLICY,
        "content-type" => header::CONTENT_TYPE,
        "location" => header::LOCATION,
        "referrer-policy" => header::REFERRER_POLICY,
        "retry-after" => header::RETRY_AFTER,
        "www-authenticate" => header::WWW_AUTHENTICATE,
        "x-content-type-options" => header::X_CONTENT_TYPE_OPTIONS,
        _ => return None,
    })
}

fn serve_as(
    method: &Method,
    headers: &HeaderMap,
    entry: &EntryRef<'_>,
    cors: &Cors,
    ok: StatusCode,
) -> Plan {
    let head = method == Method::HEAD;
    if method == Method::OPTIONS {
        if let Some(preflight) = cors::preflight(headers, cors) {
            return preflight;
        }
    }
    if !head && method != Method::GET {
        return Plan::get_or_head_only();
    }
    let available: Vec<Encoding> = Encoding::ALL
        .into_iter()
        .filter(|&e| entry.representation(e).is_some())
        .collect();
    let mut choice = negotiate::choose(headers, &available);

    // Ranges apply to the identity bytes, GET only, and only if If-Range still holds.
    let ranged = ok == StatusCode::OK
        && method == Method::GET
        && headers.contains_key(header::RANGE)
        && conditional::if_range_allows(headers, entry.etag);
    let range = if ranged {
        range::parse(headers, entry.size)
    } else {
        RangeRequest::Full
    };
    if range != RangeRequest::Full {
        choice = None;
    }
    // A delta against the dictionary the client names, when it takes one (RFC 9842).
    let delta = match (&range, dictionary::available(headers)) {
        (RangeRequest::Full, Some(dict)) if ok == StatusCode::OK => {
            dictionary::choose(headers, &available, &entry.deltas, &dict)
        }
        _ => None,
    };
    let (len, etag) = match (delta, choice.and_then(|e| entry.representation(e))) {
        (Some(d), _) => (d.size, d.etag),
        (None, Some((len, etag))) => (len, etag),
        (None, None) => (entry.size, entry.etag),
    };

    let mut plan = Plan::new(ok);
    plan.set(header::ETAG, etag);
    plan.set(
        header::CACHE_CONTROL,
        if entry.immutable {
            IMMUTABLE
        } else {
            REVALIDATE
        },
    );
    let mut vary = Vec::new();
    if !available.is_empty() || !entry.deltas.is_empty() {
        vary.push("Accept-Encoding");
    }
    if !entry.deltas.is_empty() {
        vary.push("Available-Dictionary");
    }
    let origin = headers.get(header::ORIGIN).and_then(|o| o.to_str().ok());
    let (allow, varies) = cors.allow(origin);
    if let Some(allow) = allow {
        plan.set(header::ACCESS_CONTROL_ALLOW_ORIGIN, allow);
    }
    if varies {
        vary.push("Origin");
    }
    if !vary.is_empty() {
        plan.set(header::VARY, &vary.join(", "));
    }
    // The browser keeps this response as a dictionary for the later versions of the file (not
    // a part of it, nor an error page).
    if let (Some(value), true) = (entry.use_as_dictionary, ok == StatusCode::OK) {
        if range == RangeRequest::Full {
            plan.set(USE_AS_DICTIONARY, value);
        }
    }

    // Preconditions apply to the target resource (RFC 9110 §13.2.1): a 404 page is not it, so
    // `If-Match` on an unknown path is still a 404, never a 412.
    let precondition = if ok == StatusCode::OK {
        conditional::evaluate(headers, etag)
    } else {
        Precondition::Proceed
    };
    match precondition {
        Precondition::Proceed => {}
        Precondition::NotModified => {
            plan.status = StatusCode::NOT_MODIFIED;
            return plan;
        }
        Precondition::Failed => {
            let mut p = Plan::text(
                StatusCode::PRECONDITION_FAILED,
                "412 Precondition Failed\n",
                head,
            );
            p.set(header::ETAG, etag);
            return p;
        }
    }

    plan.set(header::CONTENT_TYPE, entry.content_type);
    plan.set(header::ACCEPT_RANGES, "bytes");
    let path = match (delta, choice) {
        (Some(d), _) => {
            plan.set(header::CONTENT_ENCODING, d.encoding.token());
            plan.precompressed = true;
            Delta::path_for(entry.path, &dictionary::hex(d.dictionary), d.encoding)
        }
        (None, Some(enc)) => {
            plan.set(header::CONTENT_ENCODING, enc.token());
            plan.precompressed = true;
            format!("{}{}", entry.path, enc.suffix())
        }
        (None, None) => entry.path.to_string(),
    };
    let slice = match range {
        RangeRequest::Full => None,
        RangeRequest::Partial(r) => {
            plan.status = StatusCode::PARTIAL_CONTENT;
            plan.set(
                header::CONTENT_RANGE,
                &format!("bytes {}-{}/{}", r.start, r.end - 1, len),
            );
            Some(r)
        }
        RangeRequest::Unsatisfiable => {
            let mut p = Plan::text(
                StatusCode::RANGE_NOT_SATISFIABLE,
                "416 Range Not Satisfiable\n",
                head,
            );
            p.set(header::CONTENT_RANGE, &format!("bytes */{len}"));
            p.set(header::ETAG, etag);
            return p;
        }
    };
    let body_len = slice.as_ref().map_or(len, |r| r.end - r.start);
    plan.set(header::CONTENT_LENGTH, &body_len.to_string());
    if !head {
        plan.body = Body::File {
            path,
            range: slice,
            len,
        };
    }
    plan
}

#[cfg(test)]
mod tests;
