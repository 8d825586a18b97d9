//! Reading a request's `Cookie` header (RFC 6265 §5.4: `name=value` pairs separated by `;`).

/// The value of the first cookie called `name` in a `Cookie` header, without surrounding
/// spaces or double quotes.
pub fn get<'a>(header: &'a str, name: &str) -> Option<&'a str> {
    values(header, name).next()
}

/// The values of every cookie called `name`, in order. RFC 6265 §4.2.2: a server should not
/// rely on the order of same-named cookies (a stale one set for another path or domain can come
/// first), so a signed cookie is looked for among all of them.
pub fn values<'a, 'n>(
    header: &'a str,
    name: &'n str,
) -> impl Iterator<Item = &'a str> + use<'a, 'n> {
    header.split(';').filter_map(move |pair| {
        let (k, v) = pair.split_once('=')?;
        let v = v.trim();
        let v = v
            .strip_prefix('"')
            .and_then(|x| x.strip_suffix('"'))
            .unwrap_or(v);
        (k.trim() == name).then_some(v)
    })
}

/// Whether the header carries a cookie called `name` at all (any value).
pub fn has(header: &str, name: &str) -> bool {
    get(header, name).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_cookies_by_exact_name() {
        let h = "a=1; PHPSESSID=abc ;b=\"quoted\"; aPHPSESSID=no";
        assert_eq!(get(h, "PHPSESSID"), Some("abc"));
        assert_eq!(get(h, "b"), Some("quoted"));
        assert_eq!(get(h, "phpsessid"), None, "names are case-sensitive");
        assert_eq!(get(h, "c"), None);
        assert_eq!(get("", "a"), None);
        assert_eq!(get("novalue", "novalue"), None);
        assert!(has("x=; y=2", "x"));
        let twice = "pin=old; a=1; pin=\"new\"";
        assert_eq!(values(twice, "pin").collect::<Vec<_>>(), ["old", "new"]);
        assert_eq!(get(twice, "pin"), Some("old"));
    }
}
