//! Byte ranges (RFC 9110 §14).

use std::ops::Range;

use http::HeaderMap;

/// What a `Range` header asks of a representation of `len` bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RangeRequest {
    /// No usable `Range` (absent, malformed, another unit, or several ranges): send it all.
    Full,
    /// One satisfiable range: a 206 with this slice.
    Partial(Range<u64>),
    /// Only ranges past the end: 416 with `Content-Range: bytes */len`.
    Unsatisfiable,
}

/// Parses `Range` for a representation of `len` bytes.
///
/// Several ranges are answered with the whole representation (a 200), which RFC 9110 permits: it
/// is what browsers handle best, and a multipart body could not be precompressed anyway.
/// Malformed headers are ignored, as the RFC requires.
pub fn parse(headers: &HeaderMap, len: u64) -> RangeRequest {
    let mut values = headers.get_all(http::header::RANGE).iter();
    let (Some(value), None) = (values.next(), values.next()) else {
        return RangeRequest::Full;
    };
    let Ok(text) = value.to_str() else {
        return RangeRequest::Full;
    };
    let Some((unit, set)) = text.split_once('=') else {
        return RangeRequest::Full;
    };
    if !unit.trim().eq_ignore_ascii_case("bytes") {
        return RangeRequest::Full;
    }
    let specs: Vec<&str> = set
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    let mut parsed = Vec::with_capacity(specs.len());
    for spec in &specs {
        let Some(r) = parse_spec(spec) else {
            return RangeRequest::Full;
        };
        parsed.push(r);
    }
    match parsed.as_slice() {
        [] => RangeRequest::Full,
        [one] => match resolve(*one, len) {
            Some(r) => RangeRequest::Partial(r),
            None => RangeRequest::Unsatisfiable,
        },
        many => {
            if many.iter().all(|r| resolve(*r, len).is_none()) {
                RangeRequest::Unsatisfiable
            } else {
                RangeRequest::Full
            }
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum Spec {
    /// `a-b` or `a-`.
    From(u64, Option<u64>),
    /// `-n`: the last n bytes.
    Suffix(u64),
}

fn parse_spec(spec: &str) -> Option<Spec> {
    let (a, b) = spec.split_once('-')?;
    // `1*DIGIT` of any length (RFC 9110 §14.1.1); past `u64` is as good as `u64::MAX`.
    let num = |s: &str| -> Option<u64> {
        (!s.is_empty() && s.bytes().all(|c| c.is_ascii_digit()))
            .then(|| s.parse().unwrap_or(u64::MAX))
    };
    match (a.trim(), b.trim()) {
        ("", n) => num(n).map(Spec::Suffix),
        (a, "") => num(a).map(|a| Spec::From(a, None)),
        (a, b) => {
            let (a, b) = (num(a)?, num(b)?);
            (a <= b).then_some(Spec::From(a, Some(b)))
        }
    }
}

fn resolve(spec: Spec, len: u64) -> Option<Range<u64>> {
    match spec {
        Spec::From(a, _) if a >= len => None,
        Spec::From(a, b) => Some(a..b.map_or(len, |b| b.min(len - 1) + 1)),
        Spec::Suffix(n) if n == 0 || len == 0 => None,
        Spec::Suffix(n) => Some(len.saturating_sub(n)..len),
    }
}

/// The `Range` field that asks a file's store for `range` (`end` exclusive).
pub fn request_value(range: &std::ops::Range<u64>) -> String {
    format!("bytes={}-{}", range.start, range.end.saturating_sub(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(v: &str, len: u64) -> RangeRequest {
        let mut h = HeaderMap::new();
        h.insert(http::header::RANGE, v.parse().unwrap());
        parse(&h, len)
    }

    #[test]
    fn single_ranges() {
        assert_eq!(r("bytes=0-9", 100), RangeRequest::Partial(0..10));
        assert_eq!(r("bytes=90-", 100), RangeRequest::Partial(90..100));
        assert_eq!(r("bytes=-10", 100), RangeRequest::Partial(90..100));
        assert_eq!(r("bytes=-500", 100), RangeRequest::Partial(0..100));
        assert_eq!(
            r("bytes=50-500", 100),
            RangeRequest::Partial(50..100),
            "end clamps"
        );
        assert_eq!(r("Bytes = 1-1", 100), RangeRequest::Partial(1..2));
        let huge = "99999999999999999999";
        assert_eq!(
            r(&format!("bytes=10-{huge}"), 100),
            RangeRequest::Partial(10..100)
        );
        assert_eq!(
            r(&format!("bytes=-{huge}"), 100),
            RangeRequest::Partial(0..100)
        );
    }

    #[test]
    fn unsatisfiable() {
        assert_eq!(r("bytes=100-", 100), RangeRequest::Unsatisfiable);
        assert_eq!(r("bytes=100-200", 100), RangeRequest::Unsatisfiable);
        assert_eq!(r("bytes=-0", 100), RangeRequest::Unsatisfiable);
        assert_eq!(
            r("bytes=99999999999999999999-", 100),
            RangeRequest::Unsatisfiable
        );
        assert_eq!(r("bytes=0-0", 0), RangeRequest::Unsatisfiable);
        assert_eq!(r("bytes=-5", 0), RangeRequest::Unsatisfiable);
        assert_eq!(r("bytes=200-300, 400-", 100), RangeRequest::Unsatisfiable);
    }

    #[test]
    fn malformed_or_unsupported_is_ignored() {
        for v in [
            "bytes=9-1",
            "bytes=a-b",
            "bytes=",
            "items=0-1",
            "bytes 0-1",
            "bytes=--1",
            "bytes=1-2-3",
            "bytes=+1-2",
        ] {
            assert_eq!(r(v, 100), RangeRequest::Full, "{v}");
        }
    }

    #[test]
    fn several_ranges_get_the_whole_representation() {
        assert_eq!(r("bytes=0-1, 5-6", 100), RangeRequest::Full);
        assert_eq!(r("bytes=0-1, 500-600", 100), RangeRequest::Full);
    }

    #[test]
    fn a_requested_range_reads_back_as_itself() {
        for range in [0..10, 90..100, 5..6] {
            let value = request_value(&range);
            assert_eq!(r(&value, 100), RangeRequest::Partial(range), "{value}");
        }
        assert_eq!(request_value(&(0..10)), "bytes=0-9");
    }
}
