//! Cache keys: the primary key from the URL (method-independent: HEAD uses GET's), with query
//! parameters that never change the page (tracking tags) removed, and the secondary key from the
//! request header fields a response `Vary`s on, normalised so that equivalent requests match.

use crate::origin_url::{authority_end, split_absolute};

/// Whether `name` matches `glob` (`*` matches any run of characters; case-sensitive).
pub fn glob_match(glob: &str, name: &str) -> bool {
    match glob.split_once('*') {
        None => glob == name,
        Some((head, tail)) => {
            name.len() >= head.len()
                && name.starts_with(head)
                && (0..=name.len() - head.len()).any(|i| {
                    name.is_char_boundary(head.len() + i)
                        && glob_match(tail, &name[head.len() + i..])
                })
        }
    }
}

/// The primary key of an absolute URL: lower-case scheme and host, the port when not the
/// scheme's default, the path as sent, and the query less the parameters named by `ignore`
/// (globs such as `utm_*`). The fragment never counts.
pub fn primary(url: &str, ignore: &[String]) -> String {
    let (scheme, authority, tail) = split_absolute(url).unwrap_or_else(|| {
        let end = authority_end(url);
        ("http", &url[..end], &url[end..])
    });
    let scheme = scheme.to_ascii_lowercase();
    let mut authority = authority.to_ascii_lowercase();
    for default in [":80", ":443"] {
        if (scheme == "http" && default == ":80") || (scheme == "https" && default == ":443") {
            if let Some(a) = authority.strip_suffix(default) {
                authority = a.to_string();
            }
        }
    }
    let tail = tail.split('#').next().unwrap_or("");
    let (path, query) = tail
        .split_once('?')
        .map_or((tail, None), |(p, q)| (p, Some(q)));
    let path = if path.is_empty() { "/" } else { path };
    format!("{scheme}://{authority}{}", with_query(path, query, ignore))
}

/// What goes to the origin for `path_and_query` on a caching route: the query less the
/// parameters `ignore` names, as in the key. A parameter left out of the key but forwarded
/// would be unkeyed input: whatever the origin made of it (a reflected `utm_source`) would be
/// stored and served to everyone.
pub fn forwarded(path_and_query: &str, ignore: &[String]) -> String {
    let (path, query) = path_and_query
        .split_once('?')
        .map_or((path_and_query, None), |(p, q)| (p, Some(q)));
    with_query(path, query, ignore)
}

/// `path`, then `?` and the parameters of `query` that `ignore` does not name (none: no `?`).
fn with_query(path: &str, query: Option<&str>, ignore: &[String]) -> String {
    let kept: Vec<&str> = query
        .unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
        .filter(|p| {
            let name = p.split('=').next().unwrap_or(p);
            !ignore.iter().any(|g| glob_match(g, name))
        })
        .collect();
    let mut out = String::with_capacity(path.len() + 1 + query.map_or(0, str::len));
    out.push_str(path);
    if !kept.is_empty() {
        out.push('?');
        out.push_str(&kept.join("&"));
    }
    out
}

/// What a response's `Vary` says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Vary {
    /// It varies on these request fields (lower-case, sorted, deduplicated; may be empty).
    On(Vec<String>),
    /// `Vary: *`: it cannot be reused.
    Anything,
}

/// Reads every line of `Vary`.
pub fn vary<'a>(lines: impl IntoIterator<Item = &'a str>) -> Vary {
    let mut names = Vec::new();
    for line in lines {
        for name in line.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            if name == "*" {
                return Vary::Anything;
            }
            names.push(name.to_ascii_lowercase());
        }
    }
    names.sort();
    names.dedup();
    Vary::On(names)
}

/// The secondary key: each `Vary` field's value in the request (`get` joins several lines with
/// `, `), normalised; an absent field is distinct from an empty one.
pub fn secondary(names: &[String], get: impl Fn(&str) -> Option<String>) -> String {
    let mut out = String::new();
    for name in names {
        out.push_str(name);
        match get(name) {
            None => out.push_str("\u{0}absent"),
            Some(v) => {
                out.push('=');
                out.push_str(&normalise(name, &v));
            }
        }
        out.push('\n');
    }
    out
}

/// Normalises a request field for matching: whitespace around list items removed; for
/// `Accept-Language` and `Accept-Encoding` (whose items are case-insensitive and unordered when
/// their weights are equal), items lower-cased and sorted.
fn normalise(name: &str, value: &str) -> String {
    let items: Vec<String> = value
        .split(',')
        .map(|i| i.split_whitespace().collect::<Vec<_>>().join(""))
        .filter(|i| !i.is_empty())
        .collect();
    match name {
        "accept-language" | "accept-encoding" => {
            let mut items: Vec<String> = items.iter().map(|i| i.to_ascii_lowercase()).collect();
            items.sort();
            items.join(",")
        }
        _ => items.join(","),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        for (g, n, want) in [
            ("utm_*", "utm_source", true),
            ("utm_*", "utm_", true),
            ("utm_*", "xutm_a", false),
            ("fbclid", "fbclid", true),
            ("fbclid", "fbclid2", false),
            ("*id", "gclid", true),
            ("a*b*c", "axxbyyc", true),
            ("a*b*c", "axxbyy", false),
        ] {
            assert_eq!(glob_match(g, n), want, "{g} {n}");
        }
    }

    #[test]
    fn forwarded_queries_leave_out_what_the_key_does() {
        let ignore = vec!["utm_*".to_string(), "fbclid".to_string()];
        for (given, want) in [
            ("/p?utm_source=x&id=3&fbclid=y", "/p?id=3"),
            ("/p?utm_source=%22%3E%3Cscript%3E", "/p"),
            ("/p?id=3", "/p?id=3"),
            ("/p", "/p"),
            ("/p?", "/p"),
        ] {
            assert_eq!(forwarded(given, &ignore), want, "{given}");
            let key = primary(&format!("https://h{given}"), &ignore);
            assert_eq!(key, format!("https://h{want}"), "the key agrees: {given}");
        }
    }

    #[test]
    fn primary_keys() {
        let ignore = vec!["utm_*".to_string(), "fbclid".to_string()];
        for (url, want) in [
            ("https://Shop.Test/a?b=1", "https://shop.test/a?b=1"),
            ("HTTPS://shop.test:443/a", "https://shop.test/a"),
            ("http://shop.test:80/a", "http://shop.test/a"),
            ("http://shop.test:8080/a", "http://shop.test:8080/a"),
            ("https://shop.test", "https://shop.test/"),
            (
                "https://shop.test/p?utm_source=x&id=3&fbclid=y#frag",
                "https://shop.test/p?id=3",
            ),
            ("https://shop.test/p?utm_source=x", "https://shop.test/p"),
            ("https://shop.test/p?b=2&a=1", "https://shop.test/p?b=2&a=1"),
        ] {
            assert_eq!(primary(url, &ignore), want, "{url}");
        }
        assert_ne!(
            primary("https://s/p?a=1", &ignore),
            primary("https://s/p?a=2", &ignore)
        );
    }

    #[test]
    fn vary_and_secondary_keys() {
        assert_eq!(
            vary(["Accept-Language, X-A", "x-a"]),
            Vary::On(vec!["accept-language".into(), "x-a".into()])
        );
        for star in [
            vec!["*"],
            vec!["*, *"],
            vec![", *"],
            vec!["Foo, *"],
            vec!["Foo", "*"],
        ] {
            assert_eq!(vary(star.clone()), Vary::Anything, "{star:?}");
        }
        assert_eq!(vary(Vec::<&str>::new()), Vary::On(vec![]));
        let names = vec!["accept-language".to_string(), "foo".to_string()];
        let key = |al: Option<&str>, foo: Option<&str>| {
            secondary(&names, |n| match n {
                "accept-language" => al.map(String::from),
                _ => foo.map(String::from),
            })
        };
        assert_eq!(
            key(Some("en, fr"), Some("1")),
            key(Some("fr,EN"), Some("1")),
            "order and case of languages"
        );
        assert_eq!(
            key(Some("en,  fr"), Some("1, 2")),
            key(Some("en,fr"), Some("1,2")),
            "whitespace"
        );
        assert_ne!(
            key(Some("en"), Some("1, 2")),
            key(Some("en"), Some("2, 1")),
            "order of unknown fields counts"
        );
        assert_ne!(
            key(Some("en"), None),
            key(Some("en"), Some("")),
            "absent is not empty"
        );
        assert_ne!(key(Some("en"), Some("1")), key(Some("fr"), Some("1")));
    }
}
