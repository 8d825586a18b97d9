//! `Cache-Control` (RFC 9111 §5.2) and `CDN-Cache-Control` (RFC 9213) directives.
//!
//! `Cache-Control` is parsed leniently, as caches must: directive names in any case, values as
//! tokens or quoted strings (a `max-age` inside a quoted string is not a directive), the first
//! occurrence of a directive wins, and a delta-seconds value that is not plain digits is
//! invalid (the response then counts as stale). `CDN-Cache-Control` is a Structured Field
//! dictionary: parsed strictly, and ignored as a whole when it is invalid.

/// The most seconds a delta-seconds value can say (RFC 9111 §1.2.2: larger values mean this).
pub const DELTA_MAX: u64 = 2_147_483_648;

/// A parsed directive list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Directives {
    items: Vec<(String, Option<String>)>,
}

/// A delta-seconds directive's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delta {
    /// Absent.
    Absent,
    /// Present and valid (capped at [`DELTA_MAX`]).
    Seconds(u64),
    /// Present but not a valid delta-seconds (negative, quoted, decimal, …).
    Invalid,
}

impl Delta {
    /// The value, counting an invalid one as 0 (stale: the safe reading).
    pub fn or_zero(self) -> Option<u64> {
        match self {
            Delta::Absent => None,
            Delta::Seconds(s) => Some(s),
            Delta::Invalid => Some(0),
        }
    }
}

impl Directives {
    /// Parses the field lines of `Cache-Control` (several lines are one comma-separated list).
    pub fn parse<'a>(lines: impl IntoIterator<Item = &'a str>) -> Self {
        let mut items = Vec::new();
        for line in lines {
            let b = line.as_bytes();
            let mut i = 0;
            while i < b.len() {
                // Skip separators and whitespace.
                while i < b.len() && matches!(b[i], b',' | b' ' | b'\t') {
                    i += 1;
                }
                let start = i;
                while i < b.len() && !matches!(b[i], b',' | b'=' | b' ' | b'\t') {
                    i += 1;
                }
                let name = line[start..i].to_ascii_lowercase();
                // A space between the name and `=` makes the directive malformed.
                let mut j = i;
                while j < b.len() && matches!(b[j], b' ' | b'\t') {
                    j += 1;
                }
                let mut value = None;
                let mut malformed = j > i && j < b.len() && b[j] == b'=';
                i = j;
                if i < b.len() && b[i] == b'=' {
                    i += 1;
                    if i < b.len() && matches!(b[i], b' ' | b'\t') {
                        malformed = true;
                    }
                    if i < b.len() && b[i] == b'"' {
                        i += 1;
                        let mut v = String::new();
                        while i < b.len() && b[i] != b'"' {
                            if b[i] == b'\\' && i + 1 < b.len() {
                                i += 1;
                            }
                            let ch_len = utf8_len(b[i]);
                            v.push_str(line.get(i..i + ch_len).unwrap_or(""));
                            i += ch_len;
                        }
                        i += 1; // closing quote
                        value = Some(format!("\"{v}"));
                    } else {
                        let vs = i;
                        while i < b.len() && b[i] != b',' {
                            i += 1;
                        }
                        value = Some(line[vs..i].trim_end().to_string());
                    }
                }
                // Anything else up to the next comma is garbage that makes this one malformed.
                while i < b.len() && b[i] != b',' {
                    if !matches!(b[i], b' ' | b'\t') {
                        malformed = true;
                    }
                    i += 1;
                }
                if !name.is_empty() {
                    items.push((
                        name,
                        if malformed {
                            Some("\u{0}".into())
                        } else {
                            value
                        },
                    ));
                }
            }
        }
        Directives { items }
    }

    /// Whether the directive is present (with or without a value).
    pub fn has(&self, name: &str) -> bool {
        self.items.iter().any(|(n, _)| n == name)
    }

    /// A delta-seconds directive (`max-age`, `s-maxage`, `stale-while-revalidate`, …): the first
    /// occurrence.
    pub fn delta(&self, name: &str) -> Delta {
        match self.items.iter().find(|(n, _)| n == name) {
            None => Delta::Absent,
            Some((_, None)) => Delta::Invalid,
            Some((_, Some(v))) => parse_delta(v),
        }
    }

    /// The field names a qualified `no-cache` or `private` lists (`no-cache="Set-Cookie"`), lower-cased.
    pub fn listed(&self, name: &str) -> Vec<String> {
        self.items
            .iter()
            .filter(|(n, _)| n == name)
            .filter_map(|(_, v)| v.as_deref())
            .flat_map(|v| {
                v.trim_start_matches('"')
                    .split(',')
                    .map(|f| f.trim().to_ascii_lowercase())
                    .filter(|f| !f.is_empty())
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    /// Whether `name` is present without a field list (a qualified `no-cache="X"` only concerns X).
    pub fn has_unqualified(&self, name: &str) -> bool {
        self.items.iter().any(|(n, v)| n == name && v.is_none())
    }
}

fn utf8_len(first: u8) -> usize {
    match first {
        0xf0..=0xff => 4,
        0xe0..=0xef => 3,
        0xc0..=0xdf => 2,
        _ => 1,
    }
}

/// delta-seconds = 1*DIGIT, capped; a quoted, signed, decimal or otherwise odd value is invalid.
fn parse_delta(v: &str) -> Delta {
    if v.is_empty() || !v.bytes().all(|c| c.is_ascii_digit()) {
        return Delta::Invalid;
    }
    let trimmed = v.trim_start_matches('0');
    if trimmed.len() > 10 {
        return Delta::Seconds(DELTA_MAX);
    }
    Delta::Seconds(trimmed.parse::<u64>().unwrap_or(0).min(DELTA_MAX))
}

/// `CDN-Cache-Control` as the edge applies it: a Structured Field dictionary (RFC 8941 §3.2);
/// `None` when the field is absent or not a valid dictionary, or a known directive has the wrong
/// type (then `Cache-Control` applies, RFC 9213 §2.1).
pub fn cdn_cache_control<'a>(lines: impl IntoIterator<Item = &'a str>) -> Option<CdnDirectives> {
    let joined: Vec<&str> = lines.into_iter().collect();
    if joined.is_empty() {
        return None;
    }
    let text = joined.join(",");
    let mut out = CdnDirectives::default();
    for member in split_dictionary(&text)? {
        let (key, value) = match member.split_once('=') {
            Some((k, v)) => (k, Some(v)),
            None => (member, None),
        };
        let (value, params) = match value {
            Some(v) => {
                let (item, params) = v.split_once(';').map_or((v, ""), |(a, b)| (a, b));
                (Some(item), params)
            }
            None => {
                let (k, params) = key.split_once(';').map_or((key, ""), |(a, b)| (a, b));
                return_if_invalid_params(params)?;
                let _ = k;
                (None, params)
            }
        };
        let key = key.split(';').next().unwrap_or(key);
        if !is_sf_key(key) {
            return None;
        }
        return_if_invalid_params(params)?;
        let item = match value {
            None => SfItem::Bool(true),
            Some(v) => sf_bare_item(v)?,
        };
        match (key, item) {
            (
                "max-age" | "s-maxage" | "stale-while-revalidate" | "stale-if-error",
                SfItem::Int(n),
            ) => {
                let n = u64::try_from(n).ok()?.min(DELTA_MAX);
                match key {
                    "max-age" => out.max_age.get_or_insert(n),
                    "stale-while-revalidate" => out.stale_while_revalidate.get_or_insert(n),
                    "stale-if-error" => out.stale_if_error.get_or_insert(n),
                    _ => out.s_maxage.get_or_insert(n),
                };
            }
            ("max-age" | "s-maxage" | "stale-while-revalidate" | "stale-if-error", _) => {
                return None
            }
            ("no-store", SfItem::Bool(b)) => out.no_store |= b,
            ("no-cache", SfItem::Bool(b)) => out.no_cache |= b,
            ("private", SfItem::Bool(b)) => out.private |= b,
            ("must-revalidate", SfItem::Bool(b)) => out.must_revalidate |= b,
            ("no-store" | "no-cache" | "private" | "must-revalidate", _) => return None,
            _ => {} // extensions: ignored
        }
    }
    Some(out)
}

/// The directives of a valid `CDN-Cache-Control`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CdnDirectives {
    /// `max-age`.
    pub max_age: Option<u64>,
    /// `s-maxage` (not defined by RFC 9213, read like max-age when present).
    pub s_maxage: Option<u64>,
    /// `stale-while-revalidate`.
    pub stale_while_revalidate: Option<u64>,
    /// `stale-if-error`.
    pub stale_if_error: Option<u64>,
    /// `no-store`.
    pub no_store: bool,
    /// `no-cache`.
    pub no_cache: bool,
    /// `private`.
    pub private: bool,
    /// `must-revalidate`.
    pub must_revalidate: bool,
}

enum SfItem {
    Int(i64),
    Bool(bool),
    Other,
}

fn is_sf_key(k: &str) -> bool {
    let b = k.as_bytes();
    !b.is_empty()
        && (b[0].is_ascii_lowercase() || b[0] == b'*')
        && b.iter()
            .all(|&c| c.is_ascii_lowercase() || c.is_ascii_digit() || b"_-.*".contains(&c))
}

fn return_if_invalid_params(params: &str) -> Option<()> {
    for p in params.split(';').filter(|p| !p.trim().is_empty()) {
        let p = p.trim();
        let (k, v) = p.split_once('=').map_or((p, None), |(a, b)| (a, Some(b)));
        if !is_sf_key(k) {
            return None;
        }
        if let Some(v) = v {
            sf_bare_item(v)?;
        }
    }
    Some(())
}

/// A bare item (RFC 8941 §3.3): integer, decimal, string, token, byte sequence or boolean.
fn sf_bare_item(v: &str) -> Option<SfItem> {
    let b = v.as_bytes();
    match b.first()? {
        b'-' | b'0'..=b'9' => {
            let digits = v.strip_prefix('-').unwrap_or(v);
            if digits.contains('.') {
                let (i, f) = digits.split_once('.')?;
                (!i.is_empty()
                    && i.len() <= 12
                    && !f.is_empty()
                    && f.len() <= 3
                    && i.bytes().chain(f.bytes()).all(|c| c.is_ascii_digit()))
                .then_some(SfItem::Other)
            } else if !digits.is_empty()
                && digits.len() <= 15
                && digits.bytes().all(|c| c.is_ascii_digit())
            {
                v.parse().ok().map(SfItem::Int)
            } else {
                None
            }
        }
        b'"' => (v.len() >= 2
            && v.ends_with('"')
            && v[1..v.len() - 1].bytes().all(|c| (0x20..0x7f).contains(&c)))
        .then_some(SfItem::Other),
        b':' => (v.len() >= 2 && v.ends_with(':')).then_some(SfItem::Other),
        b'?' => match v {
            "?1" => Some(SfItem::Bool(true)),
            "?0" => Some(SfItem::Bool(false)),
            _ => None,
        },
        c if c.is_ascii_alphabetic() || *c == b'*' => v
            .bytes()
            .all(|c| crate::token::is_tchar(c) || c == b':' || c == b'/')
            .then_some(SfItem::Other),
        _ => None,
    }
}

/// Splits a dictionary into members at top-level commas (not inside strings); `None` on an empty
/// member or an unterminated string.
fn split_dictionary(text: &str) -> Option<Vec<&str>> {
    let mut out = Vec::new();
    let b = text.as_bytes();
    let (mut start, mut in_str, mut i) = (0, false, 0);
    while i < b.len() {
        match b[i] {
            b'\\' if in_str => i += 1,
            b'"' => in_str = !in_str,
            b',' if !in_str => {
                out.push(text[start..i].trim_matches(|c| c == ' ' || c == '\t'));
                start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    if in_str {
        return None;
    }
    out.push(text[start..].trim_matches(|c| c == ' ' || c == '\t'));
    if out.iter().any(|m| m.is_empty()) {
        return None;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cc(s: &str) -> Directives {
        Directives::parse([s])
    }

    #[test]
    fn deltas() {
        for (header, want) in [
            ("max-age=3600", Delta::Seconds(3600)),
            ("MaX-AgE=3600", Delta::Seconds(3600)),
            ("max-age=003600", Delta::Seconds(3600)),
            ("max-age=2147483647", Delta::Seconds(2_147_483_647)),
            ("max-age=2147483649", Delta::Seconds(DELTA_MAX)),
            ("max-age=99999999999", Delta::Seconds(DELTA_MAX)),
            ("max-age=-1", Delta::Invalid),
            ("max-age=3600.0", Delta::Invalid),
            ("max-age='3600'", Delta::Invalid),
            ("max-age=\"3600\"", Delta::Invalid),
            ("max-age =3600", Delta::Invalid),
            ("max-age= 3600", Delta::Invalid),
            ("max-age=a100", Delta::Invalid),
            ("max-age=100a", Delta::Invalid),
            ("max-age", Delta::Invalid),
            ("public", Delta::Absent),
            ("max-age=1, max-age=3600", Delta::Seconds(1)),
        ] {
            assert_eq!(cc(header).delta("max-age"), want, "{header}");
        }
        assert_eq!(
            Directives::parse(["max-age=1", "max-age=3600"]).delta("max-age"),
            Delta::Seconds(1)
        );
    }

    #[test]
    fn quoted_strings_hide_what_they_contain() {
        let d = cc("foo=\"max-age=3600, no-store\", max-age=1");
        assert_eq!(d.delta("max-age"), Delta::Seconds(1));
        assert!(!d.has("no-store"));
        let d = cc("max-age=1, foo=\"max-age=3600\"");
        assert_eq!(d.delta("max-age"), Delta::Seconds(1));
        let d = cc("no-cache=\"Set-Cookie, X-A\", public");
        assert_eq!(d.listed("no-cache"), ["set-cookie", "x-a"]);
        assert!(!d.has_unqualified("no-cache") && d.has("public"));
        assert!(cc("nO-StOrE").has("no-store"));
        assert!(cc("private, max-age=1").has_unqualified("private"));
    }

    #[test]
    fn cdn_cache_control_is_a_strict_dictionary() {
        let d = cdn_cache_control(["max-age=3600, stale-if-error=60"]).unwrap();
        assert_eq!((d.max_age, d.stale_if_error), (Some(3600), Some(60)));
        let d = cdn_cache_control(["no-store"]).unwrap();
        assert!(d.no_store);
        let d = cdn_cache_control(["max-age=99999999999"]).unwrap();
        assert_eq!(d.max_age, Some(DELTA_MAX));
        assert!(
            cdn_cache_control(["max-age=10, foo=bar"]).is_some(),
            "extensions are ignored"
        );
        for bad in [
            "max-age=\"3600\"",
            "max-age=1.5",
            "max-age=10, 1foo",
            "max-age=10,",
            "max-age=#x",
            "MaX-aGe=10",
            "max-age =10",
            "private=?2",
        ] {
            assert_eq!(cdn_cache_control([bad]), None, "{bad}");
        }
        assert_eq!(cdn_cache_control(std::iter::empty::<&str>()), None);
    }
}
