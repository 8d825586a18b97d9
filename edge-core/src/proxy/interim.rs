//! The decisions of the interim-response fallback (the glue's `interim.rs` does its socket I/O).
//! workerd's `fetch` hands the worker the first interim head (103 Early Hints, 102 Processing)
//! as if it were the response; a proxy must pass the final one on (RFC 9110 §15.2), so the
//! request is sent again over a socket of its own and read with [`super::http1`]. Here: whether
//! sending again is safe, which origins to remember, collecting the parser's events into the
//! final reply, and what the client gets from it:
//! - Sending again is only done when it is safe ([`resend_refusal`]): an idempotent method whose
//!   body, if any, was buffered. Otherwise the attempt is an invalid answer (the plan retries a
//!   GET elsewhere or answers 502), with a log line saying why ([`failure_line`]).
//! - Origins that sent an interim response are remembered per isolate ([`InterimOrigins`]):
//!   later requests to them go over the socket first, without a `fetch`, whatever their method,
//!   as long as their body is buffered (a streamed one cannot be: an invalid answer, logged).
//! - The edge does not forward 103 heads, so their `Link` fields (preload hints) are added to the
//!   final response when it has no `Link` of its own ([`final_response`]): the client still gets
//!   the hints, once.

use super::http1::{Event, Framing, Head, Limits, ResponseError, ResponseParser};
use crate::balancer::retry::Outcome;
use crate::forward;

/// Methods that may be sent again after the origin has seen them (RFC 9110 §9.2.2).
pub const IDEMPOTENT: [&str; 6] = ["GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"];

/// Why a request whose `fetch` gave an interim head may not be sent again (`None`: it may):
/// only an idempotent method whose body, if any, was buffered rather than streamed.
pub fn resend_refusal(method: &str, streamed_body: bool) -> Option<&'static str> {
    if !IDEMPOTENT.contains(&method) {
        Some("the method is not idempotent")
    } else if streamed_body {
        Some("its body was streamed")
    } else {
        None
    }
}

/// Origins that sent an interim response, by origin URL: later requests to them go over the
/// socket first. Bounded (configured origins are far fewer).
#[derive(Debug, Default)]
pub struct InterimOrigins(Vec<String>);

impl InterimOrigins {
    /// Origins remembered at most.
    pub const MAX: usize = 1024;

    /// Whether `origin` sent an interim response before.
    pub fn contains(&self, origin: &str) -> bool {
        self.0.iter().any(|o| o == origin)
    }

    /// Remembers `origin` (once; nothing past [`Self::MAX`]).
    pub fn remember(&mut self, origin: &str) {
        if self.0.len() < Self::MAX && !self.contains(origin) {
            self.0.push(origin.to_string());
        }
    }
}

/// The final response as read from the socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// The final head.
    pub head: Head,
    /// How its body was delimited.
    pub framing: Framing,
    /// The body, transfer coding removed.
    pub body: Vec<u8>,
    /// `Link` values of the 103 heads before it.
    pub hints: Vec<Vec<u8>>,
}

/// Collects the parser's events for one exchange into the final [`Reply`], skipping interim
/// heads (keeping the `Link` fields of 103s).
pub struct Collector {
    parser: ResponseParser,
    hints: Vec<Vec<u8>>,
    head: Option<(Head, Framing)>,
    body: Vec<u8>,
}

impl Collector {
    /// A collector for the response to a request with `method`, within the edge's limits.
    pub fn new(method: &str) -> Self {
        Collector {
            parser: ResponseParser::new(Limits::EDGE, method == "HEAD"),
            hints: Vec::new(),
            head: None,
            body: Vec::new(),
        }
    }

    /// Feeds bytes read from the socket (`None`: the stream ended). `Some(reply)` once the
    /// response is complete; `None` when more bytes are needed.
    pub fn feed(&mut self, bytes: Option<&[u8]>) -> Result<Option<Reply>, ResponseError> {
        match bytes {
            Some(b) => self.parser.feed(b),
            None => self.parser.finish(),
        }
        while let Some(event) = self.parser.next_event()? {
            match event {
                Event::Interim(h) if h.status == 103 => {
                    self.hints.extend(h.values("link").map(<[u8]>::to_vec));
                }
                Event::Interim(_) => {}
                Event::Final(h, framing) => self.head = Some((h, framing)),
                Event::Body(mut b) => self.body.append(&mut b),
                Event::End(_trailers) => {
                    let (head, framing) = self.head.take().ok_or(ResponseError::StatusLine)?;
                    return Ok(Some(Reply {
                        head,
                        framing,
                        body: std::mem::take(&mut self.body),
                        hints: std::mem::take(&mut self.hints),
                    }));
                }
            }
        }
        match bytes {
            // The parser never asks for more after the end of the stream; in case it did.
            None => Err(ResponseError::Truncated),
            Some(_) => Ok(None),
        }
    }
}

/// The outcome an unreadable response counts as.
pub fn unreadable(e: &ResponseError) -> Outcome {
    match e {
        ResponseError::Truncated => Outcome::Lost,
        _ => Outcome::Invalid,
    }
}

/// What the client gets from a [`Reply`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Final {
    /// The final status (200–599).
    pub status: u16,
    /// The reason phrase, when it is printable.
    pub reason: Option<String>,
    /// The fields to send, in order (byte strings as ISO-8859-1, as `Headers` takes them).
    pub fields: Vec<(String, String)>,
    /// The body, unless the method or status has none.
    pub body: Option<Vec<u8>>,
}

/// The response to hand on: the final status, its fields less hop-by-hop ones (and its
/// `Content-Length` when it was chunked: the runtime frames the body now), the 103 hints when it
/// has no `Link` of its own (those read from the socket, else `fetch_hints`: the `Link` of the
/// interim head `fetch` gave), and the body as it came (content-coded or not). An error names
/// why the reply is not a final response.
pub fn final_response(
    reply: Reply,
    method: &str,
    fetch_hints: Option<String>,
) -> Result<Final, String> {
    let status = reply.head.status;
    if !(200..=599).contains(&status) {
        return Err(format!("answered status {status}, not a final HTTP status"));
    }
    let connection: String = reply
        .head
        .values("connection")
        .flat_map(|v| v.iter().map(|&b| char::from(b)).chain([',']))
        .collect();
    let hop_by_hop = forward::hop_by_hop(Some(&connection));
    let chunked = reply.framing == Framing::Chunked;
    let mut fields: Vec<(String, String)> = reply
        .head
        .fields
        .iter()
        // A chunked body is framed anew by the runtime: its length is not the origin's.
        .filter(|(n, _)| !(hop_by_hop.iter().any(|h| h == n) || chunked && n == "content-length"))
        .map(|(n, v)| (n.clone(), latin1(v)))
        .collect();
    if !reply.head.has("link") {
        let link = |v: String| ("link".to_string(), v);
        fields.extend(reply.hints.iter().map(|v| link(latin1(v))));
        if reply.hints.is_empty() {
            fields.extend(fetch_hints.map(link));
        }
    }
    let reason = &reply.head.reason;
    let printable = reason.iter().all(|c| c.is_ascii_graphic() || *c == b' ');
    let no_body = method == "HEAD" || matches!(status, 204 | 205 | 304);
    Ok(Final {
        status,
        reason: printable.then(|| latin1(reason)),
        fields,
        body: (!no_body).then_some(reply.body),
    })
}

/// The log line of a failed attempt to send `method path_and_query` to `origin` over the
/// socket: the origin, the method and the path (never the query: queries may carry personal
/// data), why, and what the attempt counts as.
pub fn failure_line(
    origin: &str,
    method: &str,
    path_and_query: &str,
    outcome: Outcome,
    why: &str,
) -> String {
    let path = path_and_query
        .split_once('?')
        .map_or(path_and_query, |(p, _)| p);
    let counted = match outcome {
        Outcome::Refused => "refused",
        Outcome::Lost => "lost",
        _ => "invalid",
    };
    format!("edge-worker: {origin} {method} {path}: {why}; counted as {counted}")
}

/// Bytes as a string of the same code points (ISO-8859-1), as `Headers` takes byte strings.
pub fn latin1(bytes: &[u8]) -> String {
    bytes.iter().map(|&b| char::from(b)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect(method: &str, chunks: &[&[u8]]) -> Result<Reply, ResponseError> {
        let mut c = Collector::new(method);
        for chunk in chunks {
            if let Some(r) = c.feed(Some(chunk))? {
                return Ok(r);
            }
        }
        c.feed(None)?.ok_or(ResponseError::Truncated)
    }

    #[test]
    fn failure_lines_name_the_path_without_its_query_and_what_it_counts_as() {
        let table = [
            (
                "/a?card=1",
                Outcome::Refused,
                "http://o:1 GET /a: why; counted as refused",
            ),
            (
                "/a",
                Outcome::Lost,
                "http://o:1 GET /a: why; counted as lost",
            ),
            (
                "/?",
                Outcome::Invalid,
                "http://o:1 GET /: why; counted as invalid",
            ),
            (
                "/b",
                Outcome::TimedOut,
                "http://o:1 GET /b: why; counted as invalid",
            ),
        ];
        for (path, outcome, want) in table {
            let line = failure_line("http://o:1", "GET", path, outcome, "why");
            assert_eq!(line, format!("edge-worker: {want}"));
        }
    }

    #[test]
    fn resending_is_for_idempotent_buffered_requests_only() {
        let table = [
            ("GET", false, None),
            ("PUT", false, None),
            ("DELETE", false, None),
            ("PUT", true, Some("its body was streamed")),
            ("POST", false, Some("the method is not idempotent")),
            ("PATCH", false, Some("the method is not idempotent")),
        ];
        for (method, streamed, want) in table {
            assert_eq!(
                resend_refusal(method, streamed),
                want,
                "{method} {streamed}"
            );
        }
    }

    #[test]
    fn remembered_origins_are_bounded_and_unique() {
        let mut o = InterimOrigins::default();
        o.remember("http://a");
        o.remember("http://a");
        assert!(o.contains("http://a") && !o.contains("http://b"));
        for i in 0..2 * InterimOrigins::MAX {
            o.remember(&format!("http://x{i}"));
        }
        assert_eq!(o.0.len(), InterimOrigins::MAX);
    }

    #[test]
    fn interim_heads_are_skipped_and_their_hints_kept() {
        let r = collect(
            "GET",
            &[
                b"HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n",
                b"HTTP/1.1 102 Processing\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nh",
                b"i",
            ],
        )
        .unwrap();
        assert_eq!(r.head.status, 200);
        assert_eq!(r.body, b"hi");
        assert_eq!(r.hints, vec![b"</a.css>; rel=preload".to_vec()]);
    }

    #[test]
    fn a_stream_that_ends_early_is_lost() {
        let e = collect("GET", &[b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nab"]).unwrap_err();
        assert_eq!(unreadable(&e), Outcome::Lost);
        let e = collect("GET", &[b"HTTP/1.1 2x0 OK\r\n\r\n"]).unwrap_err();
        assert_eq!(unreadable(&e), Outcome::Invalid);
    }

    #[test]
    fn what_the_client_gets() {
        let chunked = collect(
            "GET",
            &[b"HTTP/1.1 200 Fine\r\nTransfer-Encoding: chunked\r\nConnection: x-drop\r\nX-Drop: 1\r\nX-Keep: \xe9\r\n\r\n2\r\nok\r\n0\r\n\r\n"],
        )
        .unwrap();
        let f = final_response(chunked, "GET", Some("</b.js>; rel=preload".into())).unwrap();
        assert_eq!(f.status, 200);
        assert_eq!(f.reason.as_deref(), Some("Fine"));
        assert_eq!(
            f.fields,
            vec![
                ("x-keep".to_string(), "\u{e9}".to_string()),
                ("link".to_string(), "</b.js>; rel=preload".to_string())
            ],
            "hop-by-hop fields (and those Connection names) dropped; the fetch's hint added"
        );
        assert_eq!(f.body.as_deref(), Some(&b"ok"[..]));

        let own_link = collect(
            "HEAD",
            &[b"HTTP/1.1 103 EH\r\nLink: <h>\r\n\r\nHTTP/1.1 200 \xe9t\xe9\r\nLink: <own>\r\nContent-Length: 9\r\n\r\n"],
        )
        .unwrap();
        let f = final_response(own_link, "HEAD", None).unwrap();
        assert_eq!(f.reason, None, "an unprintable reason is not sent");
        assert_eq!(f.fields.iter().filter(|(n, _)| n == "link").count(), 1);
        assert_eq!(f.body, None, "no body for HEAD");

        let odd = Reply {
            head: Head {
                minor_version: 1,
                status: 999,
                reason: vec![],
                fields: vec![],
            },
            framing: Framing::None,
            body: vec![],
            hints: vec![],
        };
        assert_eq!(
            final_response(odd, "GET", None).unwrap_err(),
            "answered status 999, not a final HTTP status"
        );
    }
}
