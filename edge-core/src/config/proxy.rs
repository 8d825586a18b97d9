//! Forwarding, transport security, retry limits, ejection and the edge's cookies.

use super::key_path::{ConfigError, KeyPath};
use super::raw::RawEdge;
use crate::balancer::affinity::CookieSettings;
use crate::balancer::ejection::OutlierPolicy;
use crate::balancer::retry::RetryPolicy;
use crate::token::is_token;

/// What origins are told, and what clients are told about transport security.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForwardSettings {
    /// Sign requests to origins with the `EDGE_ORIGIN_KEY` secret.
    pub origin_auth: bool,
    /// Also send RFC 7239 `Forwarded` to origins.
    pub forwarded_header: bool,
    /// Redirect plain-HTTP requests to HTTPS (308, method and body preserved).
    pub https_redirect: bool,
    /// `Strict-Transport-Security` value added to HTTPS responses (`None`: not sent).
    pub hsts: Option<String>,
}

impl ForwardSettings {
    /// The `Strict-Transport-Security` value for a response to the request for `url`: only
    /// over HTTPS, and only when configured.
    pub fn hsts_for(&self, url: &str) -> Option<&str> {
        self.hsts.as_deref().filter(|_| url.starts_with("https://"))
    }
}

/// The validated sections, in the order [`super::Config`] holds them.
type Sections = (ForwardSettings, RetryPolicy, OutlierPolicy, CookieSettings);

pub(super) fn validate(raw: &RawEdge, at: &KeyPath) -> Result<Sections, ConfigError> {
    let hsts = match raw.hsts.as_deref() {
        None | Some("") => None,
        Some(v) => {
            let max_age = v
                .split(';')
                .map(str::trim)
                .find_map(|d| d.strip_prefix("max-age="));
            if !max_age.is_some_and(|a| !a.is_empty() && a.bytes().all(|c| c.is_ascii_digit()))
                || v.contains(['\r', '\n'])
            {
                return Err(at.key("hsts").error(format!(
                    "`{v}` must start like max-age=63072000 (optionally ; includeSubDomains; preload)"
                )));
            }
            Some(v.to_string())
        }
    };
    let attempt_timeout_ms =
        at.key("attempt_timeout_ms")
            .in_range(raw.attempt_timeout_ms, 100, 120_000)?;
    let max_attempts = at.key("max_attempts").in_range(raw.max_attempts, 1, 10)? as u32;
    let deadline_ms = at
        .key("deadline_ms")
        .in_range(raw.deadline_ms, 100, 300_000)?;
    if attempt_timeout_ms > deadline_ms {
        return Err(at.key("attempt_timeout_ms").error(format!(
            "{attempt_timeout_ms} is more than deadline_ms ({deadline_ms}), which bounds all attempts together"
        )));
    }
    let consecutive_failures =
        at.key("eject_after_failures")
            .in_range(raw.eject_after_failures, 1, 1000)? as u32;
    let base_ejection_ms = at
        .key("eject_base_ms")
        .in_range(raw.eject_base_ms, 100, 3_600_000)?;
    let max_ejection_ms = at
        .key("eject_max_ms")
        .in_range(raw.eject_max_ms, 100, 86_400_000)?;
    if max_ejection_ms < base_ejection_ms {
        return Err(at.key("eject_max_ms").error(format!(
            "{max_ejection_ms} is less than eject_base_ms ({base_ejection_ms})"
        )));
    }
    for (key, name) in [
        ("affinity_cookie", &raw.affinity_cookie),
        ("ryw_cookie", &raw.ryw_cookie),
    ] {
        if !is_token(name) {
            return Err(at
                .key(key)
                .error(format!("`{name}` is not a valid cookie name")));
        }
    }
    if raw.ryw_cookie == raw.affinity_cookie {
        return Err(at.key("ryw_cookie").error(format!(
            "`{}` is also affinity_cookie: the two signed cookies would overwrite each other",
            raw.ryw_cookie
        )));
    }
    let affinity_ttl_s = at
        .key("affinity_ttl_s")
        .in_range(raw.affinity_ttl_s, 60, 30 * 86_400)?;
    Ok((
        ForwardSettings {
            origin_auth: raw.origin_auth,
            forwarded_header: raw.forwarded_header,
            https_redirect: raw.https_redirect,
            hsts,
        },
        RetryPolicy {
            max_attempts,
            deadline_ms,
            attempt_timeout_ms,
        },
        OutlierPolicy {
            consecutive_failures,
            base_ejection_ms,
            max_ejection_ms,
        },
        CookieSettings {
            affinity_cookie: raw.affinity_cookie.clone(),
            affinity_ttl_s,
            ryw_cookie: raw.ryw_cookie.clone(),
        },
    ))
}
