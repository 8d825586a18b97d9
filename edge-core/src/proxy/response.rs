//! What the client may see of an origin's response: nothing that reveals the origin. Headers
//! that name it or its software are removed (`Host` is never a response header; PHP's built-in
//! server sends one), and a redirect built from the origin's own address is rewritten to the
//! public host the client used. Set-Cookie, caching and CORS headers pass untouched.

use std::borrow::Cow;

use crate::header_edits::only_present;
pub use crate::header_edits::HeaderEdits;
use crate::origin_url::{split_absolute, OriginUrl};

/// Response headers removed by default: they reveal the origin's address or software, or
/// (Symfony's profiler tokens) its debugging tools.
pub const HIDDEN_BY_DEFAULT: [&str; 4] = [
    "host",
    "x-powered-by",
    "x-debug-token",
    "x-debug-token-link",
];

/// Which response headers the client does not see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponsePolicy {
    /// Lower-case names removed from every origin response.
    pub hidden: Vec<Cow<'static, str>>,
}

impl ResponsePolicy {
    /// The default set, `Server` unless `pass_server`, plus `extra` (any case).
    pub fn new(pass_server: bool, extra: &[String]) -> Self {
        let mut hidden: Vec<Cow<'static, str>> = HIDDEN_BY_DEFAULT
            .iter()
            .map(|&s| Cow::Borrowed(s))
            .collect();
        if !pass_server {
            hidden.push(Cow::Borrowed("server"));
        }
        for h in extra {
            let h = h.to_ascii_lowercase();
            let hop = crate::forward::HOP_BY_HOP.contains(&h.as_str());
            if !hop && !hidden.iter().any(|n| *n == h) {
                hidden.push(Cow::Owned(h));
            }
        }
        ResponsePolicy { hidden }
    }

    /// Every header name to remove from a response whose `Connection` header is `connection`:
    /// the hidden ones and the hop-by-hop ones.
    pub fn to_remove(&self, connection: Option<&str>) -> Vec<Cow<'static, str>> {
        // `hidden` holds no hop-by-hop name and none twice (see `new`).
        crate::forward::hop_by_hop_and(self.hidden.iter().cloned(), connection)
    }
}

impl ResponsePolicy {
    /// The edits for a response whose headers `get` reads (by lower-case name); `origins` are
    /// the configured origin URLs and `public` the `scheme://host[:port]` the client used. Only
    /// names present are removed (each removal is a call into the runtime).
    pub fn edits(
        &self,
        get: impl Fn(&str) -> Option<String>,
        origins: &[String],
        public: &str,
    ) -> HeaderEdits {
        let mut set = Vec::new();
        for name in ["location", "content-location"] {
            if let Some(v) = get(name).and_then(|v| rewrite_location(&v, origins, public)) {
                set.push((name, v));
            }
        }
        if let Some(v) = get("link").and_then(|v| rewrite_links(&v, origins, public)) {
            set.push(("link", v));
        }
        HeaderEdits {
            remove: only_present(self.to_remove(get("connection").as_deref()), &get),
            set,
            append: Vec::new(),
        }
    }
}

/// A `Location` or `Content-Location` value that points at one of `origins` (same scheme, host
/// and port), rewritten onto `public` (`scheme://host[:port]` as the client used it); `None`
/// when it is relative or points elsewhere (then it is left alone).
pub fn rewrite_location(value: &str, origins: &[String], public: &str) -> Option<String> {
    let v = value.trim();
    let (scheme, authority, tail) = split_absolute(v)?;
    let target = OriginUrl::parse(&format!("{scheme}://{authority}"))?;
    let target = target.to_string();
    origins.contains(&target).then(|| format!("{public}{tail}"))
}

/// A `Link` value (RFC 8288 §3: `<target>; params`, comma-separated; a preload or an Early
/// Hint built from the origin's own address) with each target that points at one of `origins`
/// rewritten as [`rewrite_location`] does; `None` when none does. The rest is kept as it is.
pub fn rewrite_links(value: &str, origins: &[String], public: &str) -> Option<String> {
    let (mut out, mut rest, mut changed) = (String::with_capacity(value.len()), value, false);
    while let Some(open) = rest.find('<') {
        let Some(len) = rest[open..].find('>') else {
            break;
        };
        let target = &rest[open + 1..open + len];
        out.push_str(&rest[..=open]);
        let public_target = rewrite_location(target, origins, public);
        changed |= public_target.is_some();
        out.push_str(public_target.as_deref().unwrap_or(target));
        rest = &rest[open + len..];
    }
    out.push_str(rest);
    changed.then_some(out)
}

/// Whether a request's `Accept` header asks for HTML (a browser navigation); curl's `*/*` and
/// API clients get text.
pub fn wants_html(accept: Option<&str>) -> bool {
    accept.is_some_and(|a| {
        a.split(',').any(|item| {
            let mut parts = item.split(';');
            let media = parts.next().unwrap_or("").trim().to_ascii_lowercase();
            let refused = parts.any(|p| {
                let p = p.trim();
                p.strip_prefix("q=")
                    .and_then(|q| crate::qvalue::parse(q.trim()))
                    == Some(0)
            });
            (media == "text/html" || media == "application/xhtml+xml") && !refused
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hidden_headers() {
        let p = ResponsePolicy::new(false, &["X-Generator".into(), "host".into()]);
        let r = p.to_remove(Some("x-hop"));
        for h in [
            "host",
            "x-powered-by",
            "x-debug-token",
            "x-debug-token-link",
            "server",
            "x-generator",
            "x-hop",
            "connection",
        ] {
            assert!(r.iter().any(|x| x == h), "{h}");
        }
        for h in [
            "set-cookie",
            "cache-control",
            "access-control-allow-origin",
            "vary",
            "location",
        ] {
            assert!(!r.iter().any(|x| x == h), "{h} passes");
        }
        assert_eq!(r.iter().filter(|x| *x == "host").count(), 1);
        let p = ResponsePolicy::new(false, &["Connection".into(), "X-Generator".into()]);
        let r = p.to_remove(Some("x-generator, Server, TE, x-other"));
        for (i, n) in r.iter().enumerate() {
            assert!(!r[..i].contains(n), "{n} once, whoever names it");
        }
        assert!(r.iter().any(|n| n == "x-other") && r.iter().any(|n| n == "connection"));
        assert!(!ResponsePolicy::new(true, &[])
            .hidden
            .iter()
            .any(|h| h == "server"));
    }

    #[test]
    fn locations_pointing_at_an_origin_get_the_public_host() {
        let origins = [
            "http://127.0.0.1:8001".to_string(),
            "https://app.internal".to_string(),
        ];
        let public = "https://shop.example.com";
        let cases = [
            (
                "http://127.0.0.1:8001/cart?x=1#f",
                Some("https://shop.example.com/cart?x=1#f"),
            ),
            ("http://127.0.0.1:8001", Some("https://shop.example.com")),
            (
                "HTTP://127.0.0.1:8001/a",
                Some("https://shop.example.com/a"),
            ),
            (
                "https://app.internal:443/login",
                Some("https://shop.example.com/login"),
            ),
            ("https://APP.internal/", Some("https://shop.example.com/")),
            ("http://127.0.0.1:8002/x", None),
            ("https://127.0.0.1:8001/x", None),
            ("https://example.org/x", None),
            ("/relative/path", None),
            ("relative", None),
            ("//127.0.0.1:8001/x", None),
            ("http://user@127.0.0.1:8001/", None),
        ];
        for (value, want) in cases {
            assert_eq!(
                rewrite_location(value, &origins, public).as_deref(),
                want,
                "{value}"
            );
        }
    }

    #[test]
    fn edits_of_a_redirect_from_an_origin() {
        let p = ResponsePolicy::new(false, &[]);
        let get = |n: &str| match n {
            "location" => Some("http://127.0.0.1:8001/login".to_string()),
            "content-location" => Some("/elsewhere".to_string()),
            "x-powered-by" => Some("PHP/8.2".to_string()),
            _ => None,
        };
        let e = p.edits(get, &["http://127.0.0.1:8001".into()], "https://shop.test");
        assert_eq!(e.set, [("location", "https://shop.test/login".to_string())]);
        assert!(e.remove.iter().any(|n| n == "x-powered-by"));
        assert!(!e.remove.iter().any(|n| n == "server"), "not present");
    }

    #[test]
    fn link_targets_at_an_origin_are_rewritten() {
        let origins = ["http://127.0.0.1:8001".to_string()];
        let public = "https://shop.test";
        let value = "<http://127.0.0.1:8001/assets/app.css>; rel=preload; as=style, \
                     </a.js>; rel=modulepreload, <https://cdn.test/f.woff2>; rel=preload, \
                     <HTTP://127.0.0.1:8001>; rel=\"home\"";
        assert_eq!(
            rewrite_links(value, &origins, public).as_deref(),
            Some(
                "<https://shop.test/assets/app.css>; rel=preload; as=style, \
                 </a.js>; rel=modulepreload, <https://cdn.test/f.woff2>; rel=preload, \
                 <https://shop.test>; rel=\"home\""
            )
        );
        for untouched in [
            "</a.js>; rel=preload",
            "<http://127.0.0.1:8002/x>",
            "<unclosed",
            "",
        ] {
            assert_eq!(
                rewrite_links(untouched, &origins, public),
                None,
                "{untouched}"
            );
        }
        let get =
            |n: &str| (n == "link").then(|| "<http://127.0.0.1:8001/x>; rel=preload".to_string());
        let e = ResponsePolicy::new(false, &[]).edits(get, &origins, public);
        assert_eq!(
            e.set,
            [("link", "<https://shop.test/x>; rel=preload".to_string())]
        );
    }

    #[test]
    fn browsers_want_html() {
        let chrome = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,*/*;q=0.8";
        assert!(wants_html(Some(chrome)));
        assert!(wants_html(Some("application/xhtml+xml")));
        assert!(!wants_html(Some("*/*")), "curl");
        assert!(!wants_html(Some("application/json")));
        assert!(!wants_html(Some("text/html;q=0")));
        assert!(!wants_html(Some("text/html;q=0.000")));
        assert!(wants_html(Some("text/html; q=0.8")));
        assert!(
            wants_html(Some("text/html;q=bogus")),
            "a malformed q-value refuses nothing"
        );
        assert!(!wants_html(None));
    }
}
