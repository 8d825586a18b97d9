//! Whether a response may be stored by this shared cache (RFC 9111 §3, RFC 9213), which of its
//! fields are kept, and for how long the platform should keep the copy.

use super::directives::Directives;
use super::entry::{url_tag, Entry};
use super::freshness::{Facts, Timing};
use super::headers::Fields;
use super::key::{vary, Vary};
use super::settings::CacheSettings;

/// Status codes this cache understands (RFC 9110 §15); `must-understand` lets a response with one
/// of these be stored despite `no-store`.
const UNDERSTOOD: [u16; 41] = [
    200, 201, 202, 203, 204, 205, 206, 300, 301, 302, 303, 304, 305, 307, 308, 400, 401, 402, 403,
    404, 405, 406, 407, 408, 409, 410, 411, 412, 413, 414, 415, 416, 417, 421, 422, 426, 500, 501,
    502, 503, 504,
];

/// Fields that describe one connection or authentication hop: never stored (RFC 9111 §3.1).
const NOT_STORED: [&str; 10] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "transfer-encoding",
    "upgrade",
    "proxy-authenticate",
    "proxy-authentication-info",
    "proxy-authorization",
    "trailer",
];

/// What the request said that matters for storing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestBits {
    /// It was a GET (only GET responses are stored; HEAD is answered from them).
    pub get: bool,
    /// It carried `Authorization`.
    pub authorization: bool,
    /// It said `Cache-Control: no-store`.
    pub no_store: bool,
}

impl RequestBits {
    /// The edge's own background revalidation: a plain GET without credentials.
    pub const BACKGROUND: RequestBits = RequestBits {
        get: true,
        authorization: false,
        no_store: false,
    };
}

/// Why a response was not stored (for `Cache-Status: …; detail=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotStored {
    /// Not a GET.
    Method,
    /// An interim or unknown status without permission.
    Status,
    /// `no-store` (response or request).
    NoStore,
    /// `private`.
    Private,
    /// It sets a cookie (a personal response).
    SetCookie,
    /// `Vary: *`.
    VaryStar,
    /// The request carried `Authorization` and the response does not allow sharing it.
    Authorization,
    /// Nothing says how long it stays fresh, and it cannot be revalidated.
    NoFreshness,
}

impl NotStored {
    /// The `detail` token.
    pub fn token(self) -> &'static str {
        match self {
            NotStored::Method => "method",
            NotStored::Status => "status",
            NotStored::NoStore => "no-store",
            NotStored::Private => "private",
            NotStored::SetCookie => "set-cookie",
            NotStored::VaryStar => "vary-star",
            NotStored::Authorization => "authorization",
            NotStored::NoFreshness => "no-freshness",
        }
    }
}

/// A response to store: the entry and how long the platform keeps the copy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToStore {
    /// What is kept.
    pub entry: Entry,
    /// The fields it varies on (empty: none).
    pub vary: Vec<String>,
    /// Seconds the platform keeps the copy: freshness left plus stale windows, grace and keep.
    pub keep_for_s: u64,
}

/// Decides whether a response with `status` and `fields` to a request is stored under the
/// primary key `primary`.
pub fn decide(
    req: RequestBits,
    status: u16,
    fields: &Fields,
    timing: Timing,
    primary: &str,
    settings: &CacheSettings,
    now_ms: u64,
) -> Result<ToStore, NotStored> {
    if !req.get {
        return Err(NotStored::Method);
    }
    if !(200..=599).contains(&status) || status == 206 || status == 304 {
        return Err(NotStored::Status);
    }
    let facts = Facts::read(fields, status, timing.response_ms / 1000);
    let cc = &facts.cc;
    let (no_store, private) = match &facts.cdn {
        Some(c) => (c.no_store, c.private),
        None => (cc.has("no-store"), cc.has_unqualified("private")),
    };
    let must_understand = facts.cdn.is_none() && cc.has("must-understand");
    if must_understand && !UNDERSTOOD.contains(&status) {
        return Err(NotStored::Status);
    }
    if req.no_store || (no_store && !(must_understand && UNDERSTOOD.contains(&status))) {
        return Err(NotStored::NoStore);
    }
    if private {
        return Err(NotStored::Private);
    }
    if fields.has("set-cookie") || fields.has("set-cookie2") {
        return Err(NotStored::SetCookie);
    }
    let vary = match vary(fields.all("vary")) {
        Vary::Anything => return Err(NotStored::VaryStar),
        Vary::On(names) => names,
    };
    if req.authorization && !(cc.has("public") || cc.has("must-revalidate") || cc.has("s-maxage")) {
        return Err(NotStored::Authorization);
    }
    let entry_probe = Entry {
        status,
        fields: Fields::default(),
        timing,
        stored_ms: now_ms,
        tags: Vec::new(),
    };
    let lifetime = match facts.explicit_lifetime {
        Some(l) => Some(l),
        None if settings.heuristics => facts
            .heuristic_lifetime
            .map(|h| h.min(settings.heuristic_max_s)),
        None => None,
    };
    let validator = fields.has("etag") || fields.has("last-modified");
    if lifetime.is_none() && !(facts.no_cache && validator) {
        return Err(NotStored::NoFreshness);
    }
    let age = facts.current_age(timing, now_ms);
    let fresh_left = lifetime.unwrap_or(0).saturating_sub(age);
    let windows = facts
        .stale_while_revalidate
        .unwrap_or(0)
        .max(facts.stale_if_error.unwrap_or(0))
        .max(if facts.no_stale {
            0
        } else {
            settings.default_grace_s
        });
    let keep = if validator { settings.keep_s } else { 0 };
    let keep_for_s = fresh_left
        .saturating_add(windows.max(keep))
        .clamp(1, 365 * 86_400);
    if fresh_left == 0 && windows == 0 && keep == 0 {
        return Err(NotStored::NoFreshness);
    }
    let mut tags: Vec<String> = fields
        .all(&settings.tag_header)
        .flat_map(|v| {
            v.split([',', ' '])
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(String::from)
                .collect::<Vec<_>>()
        })
        .collect();
    tags.push(url_tag(primary));
    Ok(ToStore {
        entry: Entry {
            fields: kept_fields(fields, cc, settings),
            tags,
            ..entry_probe
        },
        vary,
        keep_for_s,
    })
}

/// The fields kept: all but hop-by-hop ones, those `Connection` names, those a qualified
/// `no-cache`/`private` names, and the edge's own tag and purge headers.
pub fn kept_fields(fields: &Fields, cc: &Directives, settings: &CacheSettings) -> Fields {
    let connection: Vec<String> = fields
        .all("connection")
        .flat_map(|v| {
            v.split(',')
                .map(|t| t.trim().to_ascii_lowercase())
                .collect::<Vec<_>>()
        })
        .collect();
    let mut listed = cc.listed("no-cache");
    listed.extend(cc.listed("private"));
    Fields(
        fields
            .0
            .iter()
            .filter(|(n, _)| {
                !NOT_STORED.contains(&n.as_str())
                    && !connection.contains(n)
                    && !listed.contains(n)
                    && *n != settings.tag_header
                    && *n != settings.purge_header
            })
            .cloned()
            .collect(),
    )
}

#[cfg(test)]
pub(crate) mod tests;
