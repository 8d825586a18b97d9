//! CSS: `url(…)`, `@import "…"` and `/*# sourceMappingURL=… */`, skipping comments and strings.

use super::{find, quoted, source_map_url, RawRef, RefKind};

/// Finds the references in a stylesheet.
pub fn find_refs(b: &[u8]) -> Vec<RawRef> {
    let mut refs = Vec::new();
    let mut i = 0;
    let mut after_import = false;
    while i < b.len() {
        match b[i] {
            b'/' if b.get(i + 1) == Some(&b'*') => {
                let end = find(b, i + 2, b"*/").unwrap_or(b.len());
                if let Some(span) = source_map_url(b, i + 2, end) {
                    refs.push(RawRef {
                        span,
                        kind: RefKind::SourceMap,
                    });
                }
                i = (end + 2).min(b.len());
            }
            q @ (b'"' | b'\'') => {
                let (content, next) = string(b, i + 1, q);
                if after_import {
                    if let Some(span) = content {
                        refs.push(RawRef {
                            span,
                            kind: RefKind::CssImport,
                        });
                    }
                    after_import = false;
                }
                i = next;
            }
            b'\\' => i += 2,
            b'@' if starts_with_ci(&b[i + 1..], b"import") => {
                after_import = true;
                i += 7;
            }
            b';' | b'{' | b'}' => {
                after_import = false;
                i += 1;
            }
            b'u' | b'U' if starts_with_ci(&b[i..], b"url(") && (i == 0 || !is_ident(b[i - 1])) => {
                let (span, next) = url(b, i + 4);
                if let Some(span) = span {
                    refs.push(RawRef {
                        span,
                        kind: RefKind::CssUrl,
                    });
                }
                after_import = false;
                i = next;
            }
            _ => i += 1,
        }
    }
    refs
}

/// Scans a CSS string body from `i` (after the opening quote): see [`quoted`].
fn string(b: &[u8], i: usize, quote: u8) -> (Option<std::ops::Range<usize>>, usize) {
    quoted(b, i, quote, b"\n\r\x0c")
}

/// Scans the inside of `url(` from `i`. Returns the URL span and the index after `)`.
fn url(b: &[u8], mut i: usize) -> (Option<std::ops::Range<usize>>, usize) {
    while i < b.len() && b[i].is_ascii_whitespace() {
        i += 1;
    }
    if let Some(&q @ (b'"' | b'\'')) = b.get(i) {
        let (span, mut next) = string(b, i + 1, q);
        while next < b.len() && b[next].is_ascii_whitespace() {
            next += 1;
        }
        return if b.get(next) == Some(&b')') {
            (span, next + 1)
        } else {
            (None, next)
        };
    }
    let start = i;
    while i < b.len() && b[i] != b')' {
        match b[i] {
            b'"' | b'\'' | b'(' | b'\\' => return (None, i),
            _ => i += 1,
        }
    }
    if i >= b.len() {
        return (None, b.len());
    }
    let mut end = i;
    while end > start && b[end - 1].is_ascii_whitespace() {
        end -= 1;
    }
    if b[start..end].iter().any(|c| c.is_ascii_whitespace()) {
        return (None, i + 1);
    }
    ((end > start).then_some(start..end), i + 1)
}

fn starts_with_ci(b: &[u8], prefix: &[u8]) -> bool {
    b.len() >= prefix.len() && b[..prefix.len()].eq_ignore_ascii_case(prefix)
}

fn is_ident(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'-' || c == b'_' || c >= 0x80
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(src: &str) -> Vec<(String, RefKind)> {
        find_refs(src.as_bytes())
            .into_iter()
            .map(|r| (src[r.span].to_string(), r.kind))
            .collect()
    }

    #[test]
    fn finds_urls_in_every_quoting() {
        let got = texts(
            r#"a{background:url(img/a.png)} b{background:URL( "b.png" )} c{x:url('c.svg#frag')}"#,
        );
        let urls: Vec<_> = got.iter().map(|(t, _)| t.as_str()).collect();
        assert_eq!(urls, ["img/a.png", "b.png", "c.svg#frag"]);
    }

    #[test]
    fn finds_imports_and_source_maps() {
        let got = texts("@import \"base.css\";\n@import url(theme.css) screen;\n/*# sourceMappingURL=app.css.map */");
        assert_eq!(
            got,
            [
                ("base.css".to_string(), RefKind::CssImport),
                ("theme.css".to_string(), RefKind::CssUrl),
                ("app.css.map".to_string(), RefKind::SourceMap),
            ]
        );
    }

    #[test]
    fn ignores_comments_strings_and_lookalikes() {
        let got = texts(
            r#"/* url(no.png) */ a::after{content:"url(no2.png)"} b{x:my-url(no3.png)} c{y:url(yes.png)}"#,
        );
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].0, "yes.png");
    }

    #[test]
    fn survives_broken_input() {
        for src in [
            "url(",
            "url(\"abc",
            "@import",
            "/* open",
            "url(a b)",
            "\\",
            "'\n",
            "url('x' y)",
        ] {
            let _ = find_refs(src.as_bytes());
        }
        assert!(texts("url(a b)").is_empty());
        assert!(
            texts(r"url('a\'b.png')").is_empty(),
            "escaped strings are left alone"
        );
    }
}
