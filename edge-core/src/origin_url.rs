//! The two kinds of URL the worker handles — configured origins (`scheme://host[:port]`) and the
//! absolute request URLs the runtime hands it (already normalised) — parsed by hand: a general
//! URL library would add its Unicode (IDNA) tables to the Wasm for nothing.

/// A configured origin, normalised: lower-case scheme and host, no default port, no slash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OriginUrl {
    /// `http` or `https`.
    pub scheme: String,
    /// Host name or IP literal (IPv6 in brackets).
    pub host: String,
    /// Explicit, non-default port.
    pub port: Option<u16>,
}

fn default_port(scheme: &str) -> u16 {
    if scheme == "https" {
        443
    } else {
        80
    }
}

/// Splits `host[:port]`; `None` when malformed.
fn host_port(authority: &str) -> Option<(String, Option<u16>)> {
    let (host, port) = if let Some(rest) = authority.strip_prefix('[') {
        let close = rest.find(']')?;
        let host = &authority[..close + 2];
        let after = &rest[close + 1..];
        if !rest[..close]
            .bytes()
            .all(|c| c.is_ascii_hexdigit() || c == b':' || c == b'.')
        {
            return None;
        }
        (
            host,
            if after.is_empty() {
                None
            } else {
                Some(after.strip_prefix(':')?)
            },
        )
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        }
    };
    if host.is_empty()
        || (!host.starts_with('[')
            && !host
                .bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'.'))
    {
        return None;
    }
    let port = match port {
        None => None,
        Some(p) if !p.is_empty() && p.len() <= 5 && p.bytes().all(|c| c.is_ascii_digit()) => {
            Some(p.parse::<u16>().ok().filter(|&p| p > 0)?)
        }
        Some(_) => return None,
    };
    Some((host.to_ascii_lowercase(), port))
}

impl OriginUrl {
    /// Parses `http(s)://host[:port]` with an optional trailing `/`; anything else (a path, a
    /// query, user info, another scheme) is refused.
    pub fn parse(s: &str) -> Option<Self> {
        let (scheme, rest) = s.split_once("://")?;
        let scheme = scheme.to_ascii_lowercase();
        if scheme != "http" && scheme != "https" {
            return None;
        }
        let authority = rest.strip_suffix('/').unwrap_or(rest);
        if authority.contains(['/', '?', '#', '@', ' ']) {
            return None;
        }
        let (host, port) = host_port(authority)?;
        let port = port.filter(|&p| p != default_port(&scheme));
        Some(OriginUrl { scheme, host, port })
    }

    /// `host[:port]`, as a client sends it in `Host`.
    pub fn authority(&self) -> String {
        match self.port {
            Some(p) => format!("{}:{p}", self.host),
            None => self.host.clone(),
        }
    }
}

/// Where a socket to an origin connects (`cloudflare:sockets`' `connect` options).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SocketTarget<'a> {
    /// The host name, or the IP literal without its brackets.
    pub hostname: &'a str,
    /// The port, the scheme's default unless the URL names one.
    pub port: u16,
    /// TLS (`secureTransport: "on"`), for https.
    pub tls: bool,
}

impl OriginUrl {
    /// Where a socket to this origin connects.
    pub fn socket_target(&self) -> SocketTarget<'_> {
        SocketTarget {
            hostname: self.host.trim_start_matches('[').trim_end_matches(']'),
            port: self.port.unwrap_or(default_port(&self.scheme)),
            tls: self.scheme == "https",
        }
    }
}

impl std::fmt::Display for OriginUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}://{}", self.scheme, self.authority())
    }
}

/// The parts of an absolute request URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestUrl<'a> {
    /// `http` or `https`.
    pub scheme: &'a str,
    /// Host, lower-case as the runtime normalised it.
    pub host: String,
    /// The port the client used (the scheme's default when none is written).
    pub port: u16,
}

/// An absolute URL's scheme, its authority, and the rest from the first `/`, `?` or `#` on
/// (maybe empty); `None` without `://`. Byte scans, not `str` pattern searches: this runs
/// several times per request, in Wasm.
pub fn split_absolute(url: &str) -> Option<(&str, &str, &str)> {
    let b = url.as_bytes();
    let colon = (0..b.len()).find(|&i| b.get(i..i + 3) == Some(b"://"))?;
    let (scheme, rest) = (url.get(..colon)?, url.get(colon + 3..)?);
    let (authority, tail) = rest.split_at(authority_end(rest));
    Some((scheme, authority, tail))
}

/// Where the authority at the start of `rest` (a URL after its `://`) ends: at the first `/`,
/// `?` or `#`, else at the end.
pub fn authority_end(rest: &str) -> usize {
    rest.bytes()
        .position(|c| matches!(c, b'/' | b'?' | b'#'))
        .unwrap_or(rest.len())
}

/// Splits an absolute URL as the runtime gives it to the worker.
pub fn split_request_url(url: &str) -> Option<RequestUrl<'_>> {
    let (scheme, authority, _) = split_absolute(url)?;
    let (host, port) = host_port(authority.rsplit_once('@').map_or(authority, |(_, a)| a))?;
    Some(RequestUrl {
        scheme,
        host,
        port: port.unwrap_or_else(|| default_port(scheme)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_parse_and_normalise() {
        let o = OriginUrl::parse("HTTP://Example.COM:8001/").unwrap();
        assert_eq!(o.to_string(), "http://example.com:8001");
        assert_eq!(
            OriginUrl::parse("https://x.test:443").unwrap().to_string(),
            "https://x.test"
        );
        assert_eq!(
            OriginUrl::parse("http://[::1]:8080").unwrap().authority(),
            "[::1]:8080"
        );
        assert_eq!(
            OriginUrl::parse("http://127.0.0.1:8001")
                .unwrap()
                .authority(),
            "127.0.0.1:8001"
        );
        for bad in [
            "ftp://x",
            "http://",
            "http://x/app",
            "http://x?a",
            "http://u@x",
            "http://x:0",
            "http://x:99999",
            "http://x:abc",
            "x",
            "http://ex ample",
            "http://[zz]",
        ] {
            assert_eq!(OriginUrl::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn socket_targets_have_the_default_port_and_no_brackets() {
        let table = [
            ("http://o.test", "o.test", 80, false),
            ("https://o.test", "o.test", 443, true),
            ("https://o.test:8443", "o.test", 8443, true),
            ("http://[::1]:8080", "::1", 8080, false),
        ];
        for (url, hostname, port, tls) in table {
            let o = OriginUrl::parse(url).unwrap();
            let want = SocketTarget {
                hostname,
                port,
                tls,
            };
            assert_eq!(o.socket_target(), want, "{url}");
        }
    }

    #[test]
    fn request_urls_split() {
        let u = split_request_url("https://shop.test/cart?id=3#top").unwrap();
        assert_eq!(
            (u.scheme, u.host.as_str(), u.port),
            ("https", "shop.test", 443)
        );
        let u = split_request_url("http://127.0.0.1:8787").unwrap();
        assert_eq!(u.port, 8787);
        assert!(split_request_url("nonsense").is_none());
    }

    #[test]
    fn absolute_urls_split_at_the_authority() {
        let cases = [
            (
                "https://shop.test/cart?id=3#top",
                ("https", "shop.test", "/cart?id=3#top"),
            ),
            ("http://h:81?q", ("http", "h:81", "?q")),
            ("http://h#f", ("http", "h", "#f")),
            ("http://[::1]:8080/", ("http", "[::1]:8080", "/")),
            ("http://h", ("http", "h", "")),
            ("x://", ("x", "", "")),
            ("http://h/a://b", ("http", "h", "/a://b")),
            (
                "caf\u{e9}://h\u{e9}/\u{e9}",
                ("caf\u{e9}", "h\u{e9}", "/\u{e9}"),
            ),
        ];
        for (url, want) in cases {
            assert_eq!(split_absolute(url), Some(want), "{url}");
        }
        for none in ["", "nonsense", "http:/h/", "/a/b", ":/"] {
            assert_eq!(split_absolute(none), None, "{none}");
        }
        assert_eq!(authority_end("h:1/a"), 3);
        assert_eq!(authority_end("h"), 1);
    }
}
