//! RFC 9110 §5.6.2's `token`: what header field names, methods, `Connection` options and
//! cookie names are made of. One definition for the HTTP/1.1 reader, the forwarding rules and
//! the configuration's checks.

/// Whether `s` is a token: one or more of ``!#$%&'*+-.^_`|~``, digits and ASCII letters.
pub fn is_token(s: impl AsRef<[u8]>) -> bool {
    let s = s.as_ref();
    !s.is_empty() && s.iter().all(|&c| is_tchar(c))
}

/// Whether `c` may be part of a token.
pub fn is_tchar(c: u8) -> bool {
    c.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens() {
        for t in [
            "X-Cache-Tags",
            "GET",
            "M-SEARCH",
            "a",
            "!#$%&'*+-.^_`|~09azAZ",
        ] {
            assert!(is_token(t), "{t}");
            assert!(is_token(t.as_bytes()), "{t}");
        }
        for t in [
            "",
            "bad name",
            "a:b",
            "a\tb",
            "(x)",
            "caf\u{e9}",
            "a\"b",
            "a/b",
            "[x]",
        ] {
            assert!(!is_token(t), "{t:?}");
        }
        let tchars = (0..=255u8).filter(|&c| is_tchar(c)).count();
        assert_eq!(tchars, 15 + 10 + 52, "RFC 9110's tchar, nothing else");
    }
}
