//! The edge's own answers (redirects, refusals, errors when no origin can answer): status,
//! headers and a short text body, built here and sent by the glue.

use crate::path::PathError;
use crate::proxy::plan::GiveUp;

/// A response the edge makes itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// Status code.
    pub status: u16,
    /// Headers, lower-case names (`content-type`, `cache-control` included).
    pub headers: Vec<(&'static str, String)>,
    /// Body text (empty for HEAD and redirects).
    pub body: String,
}

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
        }
    }

    /// 308 to `location` (HTTPS redirect: method and body are kept).
    pub fn redirect(location: String) -> Self {
        Answer {
            status: 308,
            headers: vec![("location", location), ("cache-control", "no-store".into())],
            body: String::new(),
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
            "401 Unauthorized: Authorization: Bearer <EDGE_HEALTH_TOKEN> required\n",
        );
        a.headers.push(("www-authenticate", "Bearer".into()));
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

    /// 500 while the configuration or the manifest is broken (the log says why).
    pub fn misconfigured() -> Self {
        Answer::text(
            500,
            "500 Internal Server Error: the edge is misconfigured (see the worker log)\n",
        )
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
        })
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
        assert_eq!(Answer::give_up(GiveUp::LastAnswer), None);
        assert!(Answer::not_found().for_head(true).body.is_empty());
        assert_eq!(Answer::redirect("https://x/".into()).status, 308);
    }
}
