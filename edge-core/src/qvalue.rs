//! Quality values (`q=`) of `Accept`-style headers (RFC 9110 §12.4.2), in thousandths: `0`,
//! `0.5`, `1`, `1.000`. Shared by content negotiation and the error pages' `Accept` check, and
//! kept to integers (a float parser alone costs the Wasm worker about 4 KB).

/// Parses a qvalue into thousandths (0–1000); `None` when it is not one (`1.5`, `0.1234`, `-1`,
/// `.5`, `0e0`).
pub fn parse(s: &str) -> Option<u16> {
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    if frac.len() > 3 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let frac_val = frac
        .bytes()
        .chain(std::iter::repeat(b'0'))
        .take(3)
        .fold(0u16, |acc, b| acc * 10 + u16::from(b - b'0'));
    match int {
        "0" => Some(frac_val),
        "1" if frac_val == 0 => Some(1000),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qvalues() {
        let table = [
            ("0", Some(0)),
            ("0.", Some(0)),
            ("0.5", Some(500)),
            ("0.05", Some(50)),
            ("0.123", Some(123)),
            ("1", Some(1000)),
            ("1.000", Some(1000)),
            ("1.001", None),
            ("1.5", None),
            ("0.1234", None),
            ("-1", None),
            (".5", None),
            ("0e0", None),
            ("", None),
            ("0.x", None),
        ];
        for (text, want) in table {
            assert_eq!(parse(text), want, "{text:?}");
        }
    }
}
