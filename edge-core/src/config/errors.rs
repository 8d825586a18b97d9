//! `error_pages`, `hide_response_headers`, `pass_server_header`: what the public sees when the
//! edge answers itself, and what it never sees of an origin.

use std::collections::BTreeMap;

use super::key_path::{ConfigError, KeyPath};
use super::raw::RawEdge;
use crate::answer::ErrorPages;
use crate::proxy::response::ResponsePolicy;
use crate::token::is_token;

/// The most names `hide_response_headers` may list.
const MAX_HIDDEN: usize = 100;

/// Statuses an error page may be configured for.
const PAGE_STATUSES: [u16; 5] = [404, 500, 502, 503, 504];

pub(super) fn validate(
    raw: &RawEdge,
    public_path: &str,
    at: &KeyPath,
) -> Result<(ErrorPages, ResponsePolicy), ConfigError> {
    let mut pages = BTreeMap::new();
    for (status, path) in &raw.error_pages {
        let here = at.key("error_pages").key(status);
        let code = status
            .parse::<u16>()
            .ok()
            .filter(|c| PAGE_STATUSES.contains(c))
            .ok_or_else(|| {
                here.error(format!("`{status}` must be one of 404, 500, 502, 503, 504"))
            })?;
        if !path.starts_with(public_path) || path.len() == public_path.len() {
            return Err(here.error(format!(
                "`{path}` must be a published path under public_path `{public_path}` (publish it with --no-fingerprint)"
            )));
        }
        pages.insert(code, path.clone());
    }
    // Each name is looked for in every origin response: a list this long is a mistake.
    if raw.hide_response_headers.len() > MAX_HIDDEN {
        return Err(at.key("hide_response_headers").error(format!(
            "{} names; at most {MAX_HIDDEN}",
            raw.hide_response_headers.len()
        )));
    }
    for (i, name) in raw.hide_response_headers.iter().enumerate() {
        if !is_token(name) {
            return Err(at
                .key("hide_response_headers")
                .index(i)
                .error(format!("`{name}` is not a valid header name")));
        }
    }
    Ok((
        ErrorPages::new(pages),
        ResponsePolicy::new(raw.pass_server_header, &raw.hide_response_headers),
    ))
}
