//! Compression Dictionary Transport (RFC 9842): which dictionary a request names, and whether it
//! gets a delta.
//!
//! A browser that kept an earlier version of a file (its response carried `Use-As-Dictionary`)
//! names it in `Available-Dictionary: :<base64 of its SHA-256>:` (an RFC 8941 byte sequence) and
//! lists `dcz`/`dcb` in `Accept-Encoding`. When the entry has a delta against exactly that
//! dictionary in a coding the request accepts at least as well as the best ordinary choice, the
//! delta is sent; anything else — no header, a malformed one, an unknown dictionary, codings not
//! listed — gets the ordinary negotiation.

use cdn_manifest::index::{DeltaRef, Deltas};
use cdn_manifest::{DeltaEncoding, Encoding};
use http::HeaderMap;

use super::negotiate;

/// The `Available-Dictionary` request header.
pub const AVAILABLE_DICTIONARY: &str = "available-dictionary";

/// Whether `s` is an item's parameters (`*( ";" *SP key [ "=" value ] )`, RFC 8941 §3.1.2):
/// keys checked, values only for what would end the item (a `,` would make it a list).
fn parameters(s: &str) -> bool {
    if s.is_empty() {
        return true;
    }
    let Some(s) = s.strip_prefix(';') else {
        return false;
    };
    s.split(';').all(|p| {
        let p = p.trim_start_matches(' ');
        let (key, value) = p.split_once('=').map_or((p, None), |(k, v)| (k, Some(v)));
        let mut k = key.bytes();
        k.next()
            .is_some_and(|c| c.is_ascii_lowercase() || c == b'*')
            && k.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || b"_-.*".contains(&c))
            && value.is_none_or(|v| !v.is_empty() && !v.contains(','))
    })
}

/// The SHA-256 named by the request's `Available-Dictionary`, if it carries exactly one
/// well-formed value (`:` base64 of 32 bytes `:`, padding optional, surrounding spaces allowed).
pub fn available(headers: &HeaderMap) -> Option<[u8; 32]> {
    let mut values = headers.get_all(AVAILABLE_DICTIONARY).iter();
    let value = values.next()?;
    if values.next().is_some() {
        return None;
    }
    parse(value.as_bytes())
}

/// Parses one `Available-Dictionary` value: a structured-field byte sequence, with any
/// parameters after it read and ignored (RFC 8941 §3.1.2, §4.2.3: a recipient ignores the
/// parameters it does not know).
pub fn parse(value: &[u8]) -> Option<[u8; 32]> {
    let v = std::str::from_utf8(value).ok()?.trim_matches([' ', '\t']);
    let rest = v.strip_prefix(':')?;
    let close = rest.find(':')?;
    if !parameters(&rest[close + 1..]) {
        return None;
    }
    let inner = &rest.as_bytes()[..close];
    // 32 bytes are 43 base64 digits and one `=` of padding (optional).
    let digits = match inner {
        [d @ .., b'='] => d,
        d => d,
    };
    if digits.len() != 43 {
        return None;
    }
    let value_of = |c: u8| -> Option<u32> {
        Some(u32::from(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        }))
    };
    let mut out = [0u8; 32];
    let (mut acc, mut bits, mut n) = (0u32, 0u32, 0usize);
    for &c in digits {
        acc = acc << 6 | value_of(c)?;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            *out.get_mut(n)? = (acc >> bits) as u8;
            n += 1;
        }
    }
    // 43 digits carry 258 bits: the last 2 must be zero (canonical encoding).
    (n == 32 && acc & ((1 << bits) - 1) == 0).then_some(out)
}

/// The delta to send for a request naming `dictionary`, among the entry's `deltas`, given the
/// ordinary representations `available`: a delta whose coding the request lists explicitly with
/// a q-value above 0 and at least that of the best ordinary choice; the highest q wins, then the
/// smaller body, then `dcz`.
pub fn choose<'a>(
    headers: &HeaderMap,
    available: &[Encoding],
    deltas: &Deltas<'a>,
    dictionary: &[u8; 32],
) -> Option<DeltaRef<'a>> {
    if deltas.is_empty() {
        return None;
    }
    let weights = negotiate::weights(headers);
    let ordinary = negotiate::best(&weights, available).0;
    deltas
        .iter()
        .filter(|d| d.dictionary == dictionary)
        .filter_map(|d| {
            let q = match d.encoding {
                DeltaEncoding::Zstd => weights.dcz,
                DeltaEncoding::Brotli => weights.dcb,
            }?;
            (q > 0 && q >= ordinary).then_some((q, d))
        })
        .max_by(|(qa, a), (qb, b)| {
            qa.cmp(qb).then(b.size.cmp(&a.size)).then(
                (b.encoding == DeltaEncoding::Brotli).cmp(&(a.encoding == DeltaEncoding::Brotli)),
            )
        })
        .map(|(_, d)| d)
}

/// Lower-case hex of a SHA-256 (how stored delta files name their dictionary).
pub fn hex(digest: &[u8; 32]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(64);
    for b in digest {
        s.push(DIGITS[usize::from(b >> 4)] as char);
        s.push(DIGITS[usize::from(b & 15)] as char);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;
    use cdn_manifest::{Delta, Entry, Manifest};

    const DICT: [u8; 32] = [7; 32];

    fn b64(d: &[u8]) -> String {
        base64::engine::general_purpose::STANDARD.encode(d)
    }

    #[test]
    fn parses_byte_sequences_of_32_bytes_only() {
        let good = format!(":{}:", b64(&DICT));
        let cases: &[(&str, Option<[u8; 32]>)] = &[
            (&good, Some(DICT)),
            (&format!("  {good}\t"), Some(DICT)),
            (
                &format!(":{}:", b64(&DICT).trim_end_matches('=')),
                Some(DICT),
            ),
            (&b64(&DICT), None),
            (&format!(":{}", b64(&DICT)), None),
            (&format!(":{}:", b64(&[7; 31])), None),
            (&format!(":{}:", b64(&[7; 33])), None),
            ("::", None),
            (":!!!!:", None),
            (&format!(":{}:", b64(&DICT).replace('B', "-")), None),
            (&format!(":{}:", b64(&DICT).replace("Bwc=", "Bwd=")), None),
            (&format!(":{}==:", b64(&DICT).trim_end_matches('=')), None),
            ("", None),
            (&format!("{good};v=1"), Some(DICT)),
            (&format!("{good}; a; b=?0;c=\"x y\""), Some(DICT)),
            (&format!("{good};"), None),
            (&format!("{good};V=1"), None),
            (&format!("{good}, {good}"), None),
            (&format!("{good}x"), None),
        ];
        for (value, want) in cases {
            assert_eq!(parse(value.as_bytes()), *want, "{value}");
        }
        let mut h = HeaderMap::new();
        h.append(AVAILABLE_DICTIONARY, good.parse().unwrap());
        assert_eq!(available(&h), Some(DICT));
        h.append(AVAILABLE_DICTIONARY, good.parse().unwrap());
        assert_eq!(available(&h), None, "two values: ambiguous");
        assert_eq!(available(&HeaderMap::new()), None);
    }

    /// An index entry with deltas (dcz of `dcz_size`, dcb of `dcb_size`) against DICT.
    fn index(dcz_size: u64, dcb_size: u64) -> cdn_manifest::Index {
        let mut m = Manifest::new("/assets/");
        let delta = |encoding, size| Delta {
            encoding,
            dictionary: hex(&DICT),
            size,
            etag: format!("\"{size}\""),
        };
        m.entries.insert(
            "/assets/a-1.js".into(),
            Entry {
                logical_path: "a.js".into(),
                content_type: "text/javascript; charset=utf-8".into(),
                size: 1000,
                etag: "\"id\"".into(),
                integrity: "sha384-x".into(),
                immutable: true,
                encodings: Default::default(),
                deploy: "d".into(),
                use_as_dictionary: None,
                deltas: vec![
                    delta(DeltaEncoding::Zstd, dcz_size),
                    delta(DeltaEncoding::Brotli, dcb_size),
                ],
            },
        );
        cdn_manifest::Index::from_bytes(cdn_manifest::index::encode(&m)).unwrap()
    }

    #[test]
    fn table() {
        let idx = index(50, 60);
        let e = idx.get("/assets/a-1.js").unwrap().unwrap();
        let brotli: &[Encoding] = &[Encoding::Brotli, Encoding::Gzip];
        type Case<'a> = (&'a str, &'a [Encoding], [u8; 32], Option<DeltaEncoding>);
        let cases: &[Case<'_>] = &[
            (
                "gzip, deflate, br, zstd, dcb, dcz",
                brotli,
                DICT,
                Some(DeltaEncoding::Zstd),
            ),
            ("dcb", brotli, DICT, Some(DeltaEncoding::Brotli)),
            ("br, dcz;q=0.5", brotli, DICT, None),
            (
                "br;q=0.5, dcz;q=0.5",
                brotli,
                DICT,
                Some(DeltaEncoding::Zstd),
            ),
            ("dcz;q=0, dcb", brotli, DICT, Some(DeltaEncoding::Brotli)),
            ("*", brotli, DICT, None),
            ("gzip, br", brotli, DICT, None),
            ("dcz, dcb", brotli, [8; 32], None),
            ("dcz;q=0.1", &[], DICT, Some(DeltaEncoding::Zstd)),
            ("identity;q=1, dcz;q=0.9", &[], DICT, None),
        ];
        for (ae, available, dict, want) in cases {
            let mut h = HeaderMap::new();
            h.append(http::header::ACCEPT_ENCODING, ae.parse().unwrap());
            let got = choose(&h, available, &e.deltas, dict).map(|d| d.encoding);
            assert_eq!(got, *want, "{ae}");
        }
        // On a tie of q, the smaller body.
        let idx = index(70, 60);
        let e = idx.get("/assets/a-1.js").unwrap().unwrap();
        let mut h = HeaderMap::new();
        h.append(http::header::ACCEPT_ENCODING, "dcz, dcb".parse().unwrap());
        assert_eq!(
            choose(&h, brotli, &e.deltas, &DICT).map(|d| d.encoding),
            Some(DeltaEncoding::Brotli)
        );
    }

    #[test]
    fn hex_matches_the_manifest_spelling() {
        assert_eq!(hex(&DICT), "07".repeat(32));
        assert_eq!(
            cdn_manifest::parse_hex32(&hex(&[0xab; 32])),
            Some([0xab; 32])
        );
    }
}
