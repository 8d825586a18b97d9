//! Content negotiation on `Accept-Encoding` (RFC 9110 §12.5.3).

use cdn_manifest::Encoding;
use http::HeaderMap;

/// The representation chosen for a response: a precompressed one, or the identity bytes.
pub type Choice = Option<Encoding>;

/// Picks the best available representation for the request's `Accept-Encoding`.
///
/// - No header: identity (any coding would be allowed, but clients that send none, such as
///   scripts, rarely decode).
/// - Highest q-value wins; ties prefer br over gzip over identity (smaller first).
/// - `q=0` excludes a coding; `*` covers codings not listed; `x-gzip` is gzip.
/// - identity is acceptable unless `identity;q=0`, or `*;q=0` without an identity entry. If
///   nothing available is acceptable the response is sent without coding anyway, as RFC 9110
///   §12.5.3 recommends over a 406 (clients rarely handle one).
/// - Malformed elements (bad q) are ignored, not fatal.
pub fn choose(headers: &HeaderMap, available: &[Encoding]) -> Choice {
    best(&weights(headers), available).1
}

/// The q-values (in thousandths) a request's `Accept-Encoding` gives each coding the edge
/// knows; `None` = not listed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Weights {
    /// Any `Accept-Encoding` header at all.
    pub any_header: bool,
    /// `br`.
    pub br: Option<u16>,
    /// `gzip` (or `x-gzip`).
    pub gzip: Option<u16>,
    /// `identity`.
    pub identity: Option<u16>,
    /// `*`.
    pub star: Option<u16>,
    /// `dcz` (never covered by `*`: a dictionary coding is used only when asked for by name).
    pub dcz: Option<u16>,
    /// `dcb` (likewise).
    pub dcb: Option<u16>,
}

/// Reads every `Accept-Encoding` header (malformed elements are skipped).
pub fn weights(headers: &HeaderMap) -> Weights {
    let mut w = Weights::default();
    for value in headers.get_all(http::header::ACCEPT_ENCODING) {
        w.any_header = true;
        let Ok(text) = value.to_str() else { continue };
        for element in text.split(',') {
            let mut parts = element.split(';');
            let coding = parts.next().unwrap_or("").trim().to_ascii_lowercase();
            if coding.is_empty() {
                continue;
            }
            let mut q = Some(1000);
            for param in parts {
                let (name, value) = param.split_once('=').unwrap_or((param, ""));
                if name.trim().eq_ignore_ascii_case("q") {
                    q = crate::qvalue::parse(value.trim());
                }
            }
            let Some(q) = q else { continue };
            let slot = match coding.as_str() {
                "br" => &mut w.br,
                "gzip" | "x-gzip" => &mut w.gzip,
                "identity" => &mut w.identity,
                "*" => &mut w.star,
                "dcz" => &mut w.dcz,
                "dcb" => &mut w.dcb,
                _ => continue,
            };
            *slot = Some(slot.map_or(q, |old: u16| old.max(q)));
        }
    }
    w
}

/// The best ordinary representation among `available` and its q-value (see [`choose`]).
pub fn best(w: &Weights, available: &[Encoding]) -> (u16, Choice) {
    if !w.any_header {
        return (1000, None);
    }
    let q_of = |explicit: Option<u16>| explicit.or(w.star).unwrap_or(0);
    // identity is always acceptable unless refused, but least preferred when not listed.
    let mut best: (u16, Choice) = (w.identity.or(w.star).unwrap_or(1), None);
    for enc in [Encoding::Gzip, Encoding::Brotli] {
        if !available.contains(&enc) {
            continue;
        }
        let q = q_of(match enc {
            Encoding::Brotli => w.br,
            Encoding::Gzip => w.gzip,
        });
        // `>=` so that on a tie the later (better-compressing) coding wins.
        if q > 0 && q >= best.0 {
            best = (q, Some(enc));
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;
    use cdn_manifest::Encoding::{Brotli, Gzip};

    fn pick(values: &[&str], available: &[Encoding]) -> Choice {
        let mut h = HeaderMap::new();
        for v in values {
            h.append(http::header::ACCEPT_ENCODING, v.parse().unwrap());
        }
        choose(&h, available)
    }

    const BOTH: &[Encoding] = &[Brotli, Gzip];

    #[test]
    fn browsers_get_brotli() {
        assert_eq!(pick(&["gzip, deflate, br, zstd"], BOTH), Some(Brotli));
        assert_eq!(pick(&["gzip, deflate"], BOTH), Some(Gzip));
        assert_eq!(pick(&["br"], &[Gzip]), None);
    }

    #[test]
    fn no_header_means_identity_and_empty_means_identity() {
        assert_eq!(pick(&[], BOTH), None);
        assert_eq!(pick(&[""], BOTH), None);
    }

    #[test]
    fn q_values_rank_and_exclude() {
        assert_eq!(pick(&["br;q=0.5, gzip;q=0.8"], BOTH), Some(Gzip));
        assert_eq!(pick(&["br;q=0, gzip"], BOTH), Some(Gzip));
        assert_eq!(pick(&["br;q=0, gzip;q=0"], BOTH), None);
        assert_eq!(pick(&["gzip;q=0.4, identity;q=0.5"], BOTH), None);
        assert_eq!(
            pick(&["gzip;q=0.5, br;q=0.5"], BOTH),
            Some(Brotli),
            "tie prefers br"
        );
        assert_eq!(
            pick(&["BR;Q=1.000"], BOTH),
            Some(Brotli),
            "case-insensitive"
        );
        assert_eq!(pick(&["x-gzip"], BOTH), Some(Gzip));
    }

    #[test]
    fn star_covers_unlisted_codings() {
        assert_eq!(pick(&["*"], BOTH), Some(Brotli));
        assert_eq!(pick(&["*;q=0.5, br;q=0"], BOTH), Some(Gzip));
        assert_eq!(
            pick(&["*;q=0"], BOTH),
            None,
            "nothing acceptable: identity anyway (RFC 9110)"
        );
        assert_eq!(pick(&["identity;q=0, gzip"], BOTH), Some(Gzip));
        assert_eq!(pick(&["identity;q=0"], BOTH), None);
    }

    #[test]
    fn malformed_elements_are_ignored() {
        assert_eq!(pick(&["br;q=2, gzip"], BOTH), Some(Gzip));
        assert_eq!(pick(&["br;q=abc"], BOTH), None);
        assert_eq!(pick(&["br;q=0.0001, gzip;q=0.1"], BOTH), Some(Gzip));
        assert_eq!(pick(&[",,;, br"], BOTH), Some(Brotli));
        assert_eq!(
            pick(&["gzip", "br"], BOTH),
            Some(Brotli),
            "repeated headers combine"
        );
    }
}
