//! CSS: `url(…)`, `@import "…"` and `/*# sourceMappingURL=… */`, skipping comments and strings.

use std::ops::Range;

use super::{
    find, looks_external, quoted, source_map_url, Doubt, Quoted, RawRef, RefKind, Scan,
    Unclassified,
};

/// Finds the references in a stylesheet.
pub fn find_refs(b: &[u8]) -> Scan {
    let mut scan = Scan::default();
    let mut i = 0;
    let mut after_import = false;
    while i < b.len() {
        match b[i] {
            b'/' if b.get(i + 1) == Some(&b'*') => {
                let end = find(b, i + 2, b"*/").unwrap_or(b.len());
                if let Some(span) = source_map_url(b, i + 2, end) {
                    scan.refs.push(RawRef {
                        span,
                        kind: RefKind::SourceMap,
                    });
                }
                i = (end + 2).min(b.len());
            }
            q @ (b'"' | b'\'') => {
                let (content, next) = string(b, i + 1, q);
                if after_import {
                    literal(b, content, RefKind::CssImport, &mut scan);
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
                i = url(b, i + 4, &mut scan);
                after_import = false;
            }
            _ => i += 1,
        }
    }
    scan.finish()
}

/// Records a quoted specifier: a reference when plain, a doubt when it has escapes or never
/// ends (unless it is clearly not a file of ours).
fn literal(b: &[u8], q: Quoted, kind: RefKind, scan: &mut Scan) {
    match q {
        Quoted::Plain(span) => scan.refs.push(RawRef { span, kind }),
        Quoted::Escaped(span) if !looks_external(&b[span.clone()]) => {
            scan.unclassified.push(Unclassified {
                at: span.start,
                why: Doubt::NotALiteral,
            })
        }
        Quoted::Unterminated(at) if !looks_external(&b[at..]) => {
            scan.unclassified.push(Unclassified {
                at,
                why: Doubt::NotALiteral,
            })
        }
        _ => {}
    }
}

/// Scans a CSS string body from `i` (after the opening quote): see [`quoted`].
fn string(b: &[u8], i: usize, quote: u8) -> (Quoted, usize) {
    quoted(b, i, quote, b"\n\r\x0c")
}

/// Scans the inside of `url(` from `i`, recording what it holds. Returns the index to go on
/// from (after `)` when there is one).
fn url(b: &[u8], mut i: usize, scan: &mut Scan) -> usize {
    while i < b.len() && b[i].is_ascii_whitespace() {
        i += 1;
    }
    if let Some(&q @ (b'"' | b'\'')) = b.get(i) {
        let (content, mut next) = string(b, i + 1, q);
        while next < b.len() && b[next].is_ascii_whitespace() {
            next += 1;
        }
        if b.get(next) == Some(&b')') {
            literal(b, content, RefKind::CssUrl, scan);
            return next + 1;
        }
        return next;
    }
    let start = i;
    let doubt = |scan: &mut Scan, end: usize| {
        let text = &b[start..end.min(b.len())];
        if !looks_external(text) {
            scan.unclassified.push(Unclassified {
                at: start,
                why: Doubt::NotALiteral,
            });
        }
    };
    while i < b.len() && b[i] != b')' {
        match b[i] {
            b'"' | b'\'' | b'(' | b'\\' => {
                doubt(scan, i);
                return i;
            }
            _ => i += 1,
        }
    }
    if i >= b.len() {
        return b.len();
    }
    let mut end = i;
    while end > start && b[end - 1].is_ascii_whitespace() {
        end -= 1;
    }
    let span: Range<usize> = start..end;
    if b[span.clone()].iter().any(|c| c.is_ascii_whitespace()) {
        doubt(scan, end);
    } else if end > start {
        scan.refs.push(RawRef {
            span,
            kind: RefKind::CssUrl,
        });
    }
    i + 1
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
            .refs
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

    /// What cannot be rewritten is reported, unless it is clearly not a file of ours.
    #[test]
    fn unrewritable_specifiers_are_doubts() {
        for src in [
            r"a{b:url('a\'b.png')}",
            "a{b:url(a b.png)}",
            "a{b:url(a\\(b.png)}",
            r#"@import "x\"y.css";"#,
            "@import 'never-ends.css\n;",
        ] {
            let scan = find_refs(src.as_bytes());
            assert!(scan.refs.is_empty(), "{src}");
            assert_eq!(scan.unclassified.len(), 1, "{src}");
            assert_eq!(scan.unclassified[0].why, Doubt::NotALiteral);
        }
        for src in [
            r"a{b:url('data:x,\'')}",
            "a{b:url(https://x.test/a b)}",
            "a{b:url(data:image/svg+xml;utf8,<svg xmlns='x'>)}",
        ] {
            assert!(find_refs(src.as_bytes()).unclassified.is_empty(), "{src}");
        }
    }
}
