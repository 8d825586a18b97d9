//! Reading a request the edge is about to proxy: the facts the plan needs, the client as the
//! edge knows it, the headers the origins will see, and how the body can be sent.

use http::Method;

use crate::answer::Answer;
use crate::balancer::retry::BodyKind;
use crate::config::Config;
use crate::forward::{self, Client};
use crate::header_edits::{only_present, HeaderEdits};
use crate::origin_auth;
use crate::origin_url::split_request_url;
use crate::proxy::plan::RequestFacts;
use crate::router;

/// Largest request body buffered so that the request can be sent again; larger bodies (and
/// bodies of unknown length) are streamed once.
pub const MAX_BUFFERED_BODY: u64 = 1 << 20;

/// What the edge reads from a request it proxies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inbound {
    /// What the plan needs.
    pub facts: RequestFacts,
    /// The method as it goes on the wire ([`origin_auth::wire_method`]).
    pub method: String,
    /// Path and query, as forwarded.
    pub path_and_query: String,
    /// What the origins see: the request's headers less hop-by-hop ones, plus the forwarding
    /// headers only the edge sets.
    pub edits: HeaderEdits,
    /// `scheme://host[:port]` as the client used it (redirects from origins are rewritten onto it).
    pub public_origin: String,
    /// The client's `Accept` header (which error page format it gets).
    pub accept: Option<String>,
}

impl Inbound {
    /// Values of the signed forwarded headers, for the origin signature.
    pub fn signed_values(&self) -> [Option<&str>; 5] {
        forward::signed_values(&self.edits.set)
    }
}

/// The most a request's head may hold, in bytes: all of it (the URL and the fields as they go
/// on the wire), and one field alone (name and value). Larger ones get 414 (a URL over half the
/// total) or 431 at the edge rather than reaching an origin that would drop the connection
/// (PHP's built-in server does, at about 80 KiB of head): that looks like a lost origin, is
/// retried elsewhere, and counted against every origin it reaches. The total leaves room for
/// the headers the edge adds. nginx's default allows 8 KiB per line, Apache's 8 KiB per field;
/// Cloudflare's front line allows more.
pub const MAX_HEAD_BYTES: (usize, usize) = (64 * 1024, 16 * 1024);

/// 414 (RFC 9110 §15.5.15) or 431 (RFC 6585 §5) when a request's head is over
/// [`MAX_HEAD_BYTES`]: a URL of `url` bytes, fields of `fields` bytes on the wire, the largest
/// `largest`.
pub fn check_head_size(url: usize, fields: usize, largest: usize) -> Result<(), Answer> {
    let (max_total, max_one) = MAX_HEAD_BYTES;
    if url > max_total / 2 {
        let why = format!("414 URI Too Long: at most {} bytes\n", max_total / 2);
        return Err(Answer::text(414, why));
    }
    if url + fields <= max_total && largest <= max_one {
        return Ok(());
    }
    let why = format!("431 Request Header Fields Too Large: at most {max_total} bytes with the URL, and {max_one} in one field\n");
    Err(Answer::text(431, why))
}

/// How a request's body can be sent: none (GET, HEAD, or no body), buffered when small and of
/// known length (so it can be sent again), else streamed once. `has_body` asks the runtime
/// whether there is a body; it is not asked for GET or HEAD, whose body is never forwarded.
pub fn body_kind(
    method: &str,
    has_body: impl FnOnce() -> bool,
    content_length: Option<&str>,
) -> BodyKind {
    let bodiless = method.eq_ignore_ascii_case("GET") || method.eq_ignore_ascii_case("HEAD");
    if bodiless || !has_body() {
        return BodyKind::None;
    }
    match content_length.and_then(|l| l.trim().parse::<u64>().ok()) {
        Some(l) if l <= MAX_BUFFERED_BODY => BodyKind::Buffered,
        _ => BodyKind::Streamed,
    }
}

/// Reads a request for `url` with `method` from its header `fields` as the runtime gave them
/// ([`check_head_size`], [`body_kind`], then [`read`]); `has_body` asks the runtime whether
/// there is a body.
pub fn read_fields(
    url: &str,
    method: &str,
    fields: &crate::field_lines::FieldLines,
    has_body: impl FnOnce() -> bool,
    cfg: &Config,
    now_ms: u64,
) -> Result<Inbound, Answer> {
    check_head_size(url.len(), fields.wire_size(), fields.largest())?;
    let body = body_kind(method, has_body, fields.get("content-length"));
    let get = |n: &str| fields.get(n).map(str::to_string);
    read(url, method, get, fields.names(), body, cfg, now_ms)
}

/// Reads a request for `url` with `method`; `get` looks request headers up by lower-case name,
/// `names` are all of theirs. Refuses (with the answer to send) a request whose URL, client
/// address or method is unusable, and TRACE (an origin that echoes it would hand the client the
/// edge's signature).
pub fn read<'a>(
    url: &str,
    method: &str,
    get: impl Fn(&str) -> Option<String>,
    names: impl Iterator<Item = &'a str>,
    body: BodyKind,
    cfg: &Config,
    now_ms: u64,
) -> Result<Inbound, Answer> {
    let parsed = split_request_url(url).ok_or_else(|| Answer::bad_request("unreadable URL"))?;
    let ip = forward::client_ip(get("cf-connecting-ip").as_deref())
        .ok_or_else(|| Answer::bad_request("client address unknown"))?;
    let wire = origin_auth::wire_method(method);
    let method =
        Method::from_bytes(wire.as_bytes()).map_err(|_| Answer::bad_request("invalid method"))?;
    if method == Method::TRACE {
        return Err(Answer::not_forwarded_method("TRACE"));
    }
    let default_port = if parsed.scheme == "https" { 443 } else { 80 };
    let mut public_origin = String::with_capacity(url.len());
    public_origin.push_str(parsed.scheme);
    public_origin.push_str("://");
    public_origin.push_str(&parsed.host);
    if parsed.port != default_port {
        public_origin.push(':');
        crate::decimal::push_u64(&mut public_origin, parsed.port.into());
    }
    let client = Client {
        ip,
        proto: parsed.scheme.to_string(),
        host: parsed.host,
        port: parsed.port,
    };
    let mut set = forward::forwarding_headers(
        &client,
        get("x-forwarded-for").as_deref(),
        cfg.forwarding.forwarded_header,
    );
    if method == Method::OPTIONS {
        match forward::max_forwards(get("max-forwards").as_deref()) {
            Some(0) => return Err(Answer::own_options()),
            Some(n) => set.push(("max-forwards", (n - 1).to_string())),
            None => {}
        }
    }
    let mut remove = only_present(
        forward::request_headers_to_drop(get("connection").as_deref()),
        &get,
    );
    remove.extend(forward::client_forwarding(names, &set));
    let hash_headers = cfg
        .hash_headers()
        .into_iter()
        .filter_map(|n| Some((n.to_string(), get(n)?)))
        .collect();
    Ok(Inbound {
        facts: RequestFacts {
            method,
            body,
            cookies: get("cookie").unwrap_or_default(),
            hash_headers,
            client_ip: ip,
            path: router::path_of(url).to_string(),
            started_ms: now_ms,
        },
        method: wire,
        path_and_query: router::path_and_query_of(url).to_string(),
        edits: HeaderEdits {
            remove,
            set,
            append: Vec::new(),
        },
        public_origin,
        accept: get("accept"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |n| {
            pairs
                .iter()
                .find(|(k, _)| *k == n)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn body_kinds() {
        assert_eq!(body_kind("GET", || true, Some("5")), BodyKind::None);
        assert_eq!(body_kind("head", || true, None), BodyKind::None);
        let never = || unreachable!("the runtime is not asked for a GET's body");
        assert_eq!(body_kind("get", never, Some("5")), BodyKind::None);
        assert_eq!(
            body_kind("DELETE", || false, None),
            BodyKind::None,
            "no body at all"
        );
        assert_eq!(body_kind("OPTIONS", || false, None), BodyKind::None);
        assert_eq!(
            body_kind("POST", || true, Some("1048576")),
            BodyKind::Buffered
        );
        assert_eq!(
            body_kind("POST", || true, Some("1048577")),
            BodyKind::Streamed
        );
        assert_eq!(
            body_kind("PUT", || true, None),
            BodyKind::Streamed,
            "chunked: unknown length"
        );
        assert_eq!(body_kind("PUT", || true, Some("x")), BodyKind::Streamed);
    }

    #[test]
    fn head_size_limits() {
        assert!(check_head_size(100, 64 * 1024 - 100, 16 * 1024).is_ok());
        assert_eq!(check_head_size(100, 64 * 1024, 10).unwrap_err().status, 431);
        assert_eq!(
            check_head_size(100, 20_000, 16 * 1024 + 1)
                .unwrap_err()
                .status,
            431
        );
        assert_eq!(
            check_head_size(32 * 1024 + 1, 100, 10).unwrap_err().status,
            414
        );
        assert_eq!(
            check_head_size(16_000, 50_000, 16_000).unwrap_err().status,
            431,
            "the URL counts toward the whole"
        );
    }

    #[test]
    fn reads_facts_and_forwarding() {
        let cfg = Config::from_json(r#"{"pools":{"p":{"steering":"hash","hash_on":"header:x-tenant","origins":[{"url":"http://a"}]}}}"#).unwrap();
        const FIELDS: &[(&str, &str)] = &[
            ("cf-connecting-ip", "203.0.113.7"),
            ("cookie", "a=1"),
            ("x-tenant", "t1"),
            ("x-forwarded-for", "6.6.6.6"),
            ("X-Forwarded-Prefix", "//evil.test"),
            ("x-forwarded-host", "evil.test"),
            ("connection", "x-hop"),
            ("x-hop", "1"),
            ("x-real-ip", "6.6.6.6"),
            ("expect", "100-continue"),
            ("X_Forwarded_Host", "evil.test"),
            ("x_real_ip", "6.6.6.6"),
            ("X-Edge_Auth", "forged"),
        ];
        let i = read(
            "https://Shop.Test/a/b?q=1#f",
            "post",
            headers(FIELDS),
            FIELDS.iter().map(|(n, _)| *n),
            BodyKind::Buffered,
            &cfg,
            7,
        )
        .unwrap();
        assert_eq!(i.method, "POST");
        assert_eq!(i.facts.method, Method::POST);
        assert_eq!(i.path_and_query, "/a/b?q=1");
        assert_eq!(i.facts.path, "/a/b");
        assert_eq!(i.facts.cookies, "a=1");
        assert_eq!(
            i.facts.hash_headers,
            [("x-tenant".to_string(), "t1".to_string())]
        );
        assert_eq!(i.facts.started_ms, 7);
        for present in [
            "x-hop",
            "connection",
            "x-real-ip",
            "expect",
            "x-forwarded-prefix",
            "x_forwarded_host",
            "x_real_ip",
            "x-edge_auth",
        ] {
            assert!(i.edits.remove.iter().any(|n| n == present), "{present}");
        }
        assert!(
            !i.edits.remove.iter().any(|n| n == "te" || n == "forwarded"),
            "names not present are not listed: {:?}",
            i.edits.remove
        );
        assert!(i
            .edits
            .set
            .contains(&("x-forwarded-for", "6.6.6.6, 203.0.113.7".to_string())));
        assert!(i
            .edits
            .set
            .contains(&("x-forwarded-host", "shop.test".to_string())));
        let removed = |name: &str| i.edits.remove.iter().filter(|n| *n == name).count();
        assert_eq!(removed("x-forwarded-host"), 1, "{:?}", i.edits.remove);
        assert_eq!(
            removed("x-forwarded-for"),
            0,
            "the edge sets it, the client's first"
        );
        assert_eq!(i.signed_values()[3], Some("443"));
        assert_eq!(i.public_origin, "https://shop.test");
        let i = read(
            "http://shop.test:8787/",
            "GET",
            headers(&[("cf-connecting-ip", "::1")]),
            std::iter::empty(),
            BodyKind::None,
            &cfg,
            0,
        )
        .unwrap();
        assert_eq!(i.public_origin, "http://shop.test:8787");
        let no_ip = read(
            "https://shop.test/",
            "GET",
            headers(&[]),
            std::iter::empty(),
            BodyKind::None,
            &cfg,
            0,
        );
        assert_eq!(no_ip.unwrap_err().status, 400);
        let bad = read(
            "https://shop.test/",
            "GE T",
            headers(&[("cf-connecting-ip", "::1")]),
            std::iter::empty(),
            BodyKind::None,
            &cfg,
            0,
        );
        assert_eq!(bad.unwrap_err().status, 400);
        let trace = read(
            "https://shop.test/",
            "TRACE",
            headers(&[("cf-connecting-ip", "::1")]),
            std::iter::empty(),
            BodyKind::None,
            &cfg,
            0,
        );
        assert_eq!(trace.unwrap_err().status, 405);
    }

    #[test]
    fn options_go_no_further_than_max_forwards_says() {
        let cfg = Config::from_json("{}").unwrap();
        let options = |method: &'static str, mf: &'static str| {
            let pairs: &'static [(&str, &str)] = match mf {
                "" => &[("cf-connecting-ip", "::1")],
                "0" => &[("cf-connecting-ip", "::1"), ("max-forwards", "0")],
                "5" => &[("cf-connecting-ip", "::1"), ("max-forwards", "5")],
                "huge" => &[
                    ("cf-connecting-ip", "::1"),
                    ("max-forwards", "99999999999999999999999"),
                ],
                _ => &[("cf-connecting-ip", "::1"), ("max-forwards", "x")],
            };
            let names = pairs.iter().map(|(n, _)| *n);
            read(
                "https://shop.test/",
                method,
                headers(pairs),
                names,
                BodyKind::None,
                &cfg,
                0,
            )
        };
        let here = options("OPTIONS", "0").unwrap_err();
        assert_eq!(here.status, 200);
        assert!(here
            .headers
            .iter()
            .any(|(n, v)| *n == "allow" && v.contains("OPTIONS")));
        let mf = |r: Result<Inbound, Answer>| {
            let set = r.unwrap().edits.set;
            set.iter()
                .find(|(n, _)| *n == "max-forwards")
                .map(|(_, v)| v.clone())
        };
        assert_eq!(mf(options("OPTIONS", "5")).as_deref(), Some("4"));
        assert_eq!(
            mf(options("OPTIONS", "huge")),
            Some((u64::MAX - 1).to_string())
        );
        assert_eq!(mf(options("OPTIONS", "")), None);
        assert_eq!(
            mf(options("OPTIONS", "bad")),
            None,
            "malformed: passed on as it is"
        );
        assert_eq!(
            mf(options("GET", "0")),
            None,
            "other methods ignore it (RFC 9110 §7.6.2)"
        );
    }
}
