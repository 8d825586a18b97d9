//! The edge's own answers (redirects, refusals, errors when no origin can answer): status,
//! headers and a short text body, built here and sent by the glue.

use std::collections::BTreeMap;

use crate::path::PathError;
use crate::proxy::plan::GiveUp;
use crate::proxy::response::wants_html;

/// A response the edge makes itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// Status code.
    pub status: u16,
    /// Headers, lower-case names (`content-type`, `cache-control` included).
    pub headers: Vec<(&'static str, String)>,
    /// Body text (empty for HEAD and redirects).
    pub body: String,
    /// A page of the build to send as the body instead of the text (with the same status and
    /// the headers above, less `content-type`): the glue falls back to the text if it is gone.
    pub page: Option<String>,
}

/// The edge's error pages by status (`error_pages` in the configuration).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ErrorPages(BTreeMap<u16, String>);

impl ErrorPages {
    /// Pages by status.
    pub fn new(pages: BTreeMap<u16, String>) -> Self {
        ErrorPages(pages)
    }

    /// The page for `status`: its own, else for any other 5xx the 500 page.
    pub fn for_status(&self, status: u16) -> Option<&str> {
        self.0
            .get(&status)
            .or_else(|| {
                (500..600)
                    .contains(&status)
                    .then(|| self.0.get(&500))
                    .flatten()
            })
            .map(String::as_str)
    }

    /// Every (status, page).
    pub fn iter(&self) -> impl Iterator<Item = (u16, &str)> {
        self.0.iter().map(|(s, p)| (*s, p.as_str()))
    }
}

/// The methods the edge forwards on a proxy route (extension methods too; `TRACE` never).
const FORWARDED_METHODS: &str = "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS";

impl Answer {
    /// A plain-text answer, never stored by caches.
    pub fn text(status: u16, body: impl Into<String>) -> Self {
        Answer {
            status,
            headers: vec![
                ("content-type", "text/plain; charset=utf-8".into()),
                ("cache-control", "no-store".into()),
            ],
            body: body.into(),
            page: None,
        }
    }

    /// A JSON document (operations endpoints), never stored by caches.
    pub fn json(status: u16, body: String) -> Self {
        Answer {
            status,
            headers: vec![
                ("content-type", "application/json".into()),
                ("cache-control", "no-store".into()),
            ],
            body,
            page: None,
        }
    }

    /// An HTML page of the edge's own (the status page): never stored, never framed, no scripts
    /// or outside resources allowed.
    pub fn html(status: u16, body: String) -> Self {
        Answer {
            status,
            headers: vec![
                ("content-type", "text/html; charset=utf-8".into()),
                ("cache-control", "no-store".into()),
                (
                    "content-security-policy",
                    "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'".into(),
                ),
                ("x-content-type-options", "nosniff".into()),
                ("referrer-policy", "no-referrer".into()),
            ],
            body,
            page: None,
        }
    }

    /// 308 to `location` (HTTPS redirect: method and body are kept).
    pub fn redirect(location: String) -> Self {
        Answer {
            status: 308,
            headers: vec![("location", location), ("cache-control", "no-store".into())],
            body: String::new(),
            page: None,
        }
    }

    /// 404 for a denied path or one no route takes.
    pub fn not_found() -> Self {
        Answer::text(404, "404 Not Found\n")
    }

    /// 401 for an operations endpoint without its token.
    pub fn unauthorized() -> Self {
        let mut a = Answer::text(
            401,
            "401 Unauthorized: Authorization: Bearer <EDGE_HEALTH_TOKEN> required (or, from a browser, any user name with the token as the password)\n",
        );
        // Basic, so that a browser asks for the token (status page); one challenge only: the
        // runtime joins repeated headers into one line, which browsers do not parse as two.
        // (Scripts send `Bearer` unasked.)
        a.headers.push((
            "www-authenticate",
            "Basic realm=\"edge operations\", charset=\"UTF-8\"".into(),
        ));
        a
    }

    /// 400 for a malformed asset path.
    pub fn bad_path(e: PathError) -> Self {
        Answer::text(400, format!("400 Bad Request: {e}\n"))
    }

    /// 400 for a request the edge cannot forward (no client address, unreadable URL).
    pub fn bad_request(why: &str) -> Self {
        Answer::text(400, format!("400 Bad Request: {why}\n"))
    }

    /// 405 for a method the edge does not forward (TRACE), with the methods it does forward.
    pub fn not_forwarded_method(method: &str) -> Self {
        let mut a = Answer::text(
            405,
            format!("405 Method Not Allowed: the edge does not forward {method}\n"),
        );
        a.headers.push(("allow", FORWARDED_METHODS.into()));
        a
    }

    /// 200 for an `OPTIONS` request that may go no further (`Max-Forwards: 0`, RFC 9110
    /// §7.6.2): the edge's own communication options, the methods it forwards.
    pub fn own_options() -> Self {
        let mut a = Answer::text(200, "");
        a.headers.push(("allow", FORWARDED_METHODS.into()));
        a
    }

    /// 500 while the configuration or the manifest is broken (the log says why).
    pub fn misconfigured() -> Self {
        Answer::text(
            500,
            "500 Internal Server Error: the edge is misconfigured (see the worker log)\n",
        )
    }

    /// 500 when the runtime failed the edge mid-request (a call it refused, a stream that
    /// broke): the log says which, with the request's method and path.
    pub fn edge_failed() -> Self {
        Answer::text(
            500,
            "500 Internal Server Error: the edge could not complete this request (see the worker log)\n",
        )
    }

    /// 500 when the manifest's index cannot be loaded to look an asset up (the log says why).
    pub fn manifest_unavailable() -> Self {
        Answer::text(
            500,
            "500 Internal Server Error: the asset manifest is unavailable (see the worker log)\n",
        )
    }

    /// 502 when the ASSETS binding does not give a file the manifest names.
    pub fn asset_storage_unavailable() -> Self {
        Answer::text(502, "502 Bad Gateway: asset storage unavailable\n")
    }

    /// What the client gets when a request plan gives up without an answer to pass on.
    pub fn give_up(g: GiveUp) -> Option<Self> {
        Some(match g {
            GiveUp::LastAnswer => return None,
            GiveUp::Unavailable { retry_after_s } => {
                let mut a = Answer::text(
                    503,
                    "503 Service Unavailable: every origin is down; try again shortly\n",
                );
                a.headers.push(("retry-after", retry_after_s.to_string()));
                a
            }
            GiveUp::GatewayTimeout => Answer::text(
                504,
                "504 Gateway Timeout: the origin did not answer in time\n",
            ),
            GiveUp::BadGateway => Answer::text(
                502,
                "502 Bad Gateway: the origin's answer was lost or invalid\n",
            ),
            GiveUp::ClientAborted => Answer::bad_request(
                "the request's body broke off or stalled before it was complete",
            ),
        })
    }

    /// The edge's answer in place of an origin's own 5xx (`intercept_origin_errors`).
    pub fn origin_error(status: u16) -> Self {
        let reason = match status {
            500 => "Internal Server Error",
            501 => "Not Implemented",
            502 => "Bad Gateway",
            503 => "Service Unavailable",
            504 => "Gateway Timeout",
            _ => "Server Error",
        };
        Answer::text(status, format!("{status} {reason}\n"))
    }

    /// This answer with the configured page for its status, for a client whose `Accept` header
    /// is `accept` and only when it asks for HTML (a browser); others keep the one-line text.
    pub fn with_page(mut self, pages: &ErrorPages, accept: Option<&str>) -> Self {
        if wants_html(accept) {
            self.page = pages.for_status(self.status).map(String::from);
        }
        self
    }

    /// The same answer for a HEAD request: headers only.
    pub fn for_head(mut self, head: bool) -> Self {
        if head {
            self.body.clear();
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn give_up_answers() {
        let a = Answer::give_up(GiveUp::Unavailable { retry_after_s: 10 }).unwrap();
        assert_eq!(a.status, 503);
        assert!(a.headers.contains(&("retry-after", "10".into())));
        assert!(a.headers.contains(&("cache-control", "no-store".into())));
        assert_eq!(Answer::give_up(GiveUp::GatewayTimeout).unwrap().status, 504);
        assert_eq!(Answer::give_up(GiveUp::BadGateway).unwrap().status, 502);
        assert_eq!(Answer::give_up(GiveUp::ClientAborted).unwrap().status, 400);
        assert_eq!(Answer::give_up(GiveUp::LastAnswer), None);
        assert!(Answer::not_found().for_head(true).body.is_empty());
        assert_eq!(Answer::redirect("https://x/".into()).status, 308);
    }

    #[test]
    fn pages_for_browsers_text_for_the_rest() {
        let pages = ErrorPages::new(BTreeMap::from([
            (503, "/assets/errors/503.html".to_string()),
            (500, "/assets/errors/500.html".to_string()),
        ]));
        let html = Some("text/html,*/*;q=0.8");
        let a = Answer::give_up(GiveUp::Unavailable { retry_after_s: 10 }).unwrap();
        assert_eq!(
            a.clone().with_page(&pages, html).page.as_deref(),
            Some("/assets/errors/503.html")
        );
        assert_eq!(
            a.clone().with_page(&pages, Some("*/*")).page,
            None,
            "curl gets text"
        );
        assert_eq!(
            Answer::origin_error(502)
                .with_page(&pages, html)
                .page
                .as_deref(),
            Some("/assets/errors/500.html"),
            "other 5xx fall back to the 500 page"
        );
        assert_eq!(
            Answer::not_found().with_page(&pages, html).page,
            None,
            "no 404 page configured"
        );
        assert_eq!(
            Answer::origin_error(500).body,
            "500 Internal Server Error\n"
        );
    }

    #[test]
    fn asset_failures_say_what_is_unavailable() {
        let table = [
            (
                Answer::manifest_unavailable(),
                500,
                "asset manifest is unavailable",
            ),
            (
                Answer::asset_storage_unavailable(),
                502,
                "asset storage unavailable",
            ),
        ];
        for (a, status, says) in table {
            assert_eq!(a.status, status);
            assert!(a.body.contains(says), "{}", a.body);
            assert_eq!(a.headers[1], ("cache-control", "no-store".into()));
        }
    }
}
