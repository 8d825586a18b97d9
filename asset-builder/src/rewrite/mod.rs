//! Finding references between assets and rewriting them to fingerprinted names.
//!
//! The scanners work on bytes (a file need not be valid UTF-8) and return a [`Scan`]: the byte
//! span of each reference's text, sorted and disjoint, and the places where something that looks
//! like a reference could not be classified (a specifier that is not a plain string literal, or a
//! line where the lexer lost track), which the build reports rather than skip silently.
//! [`apply`] splices replacements in. Neither ever panics on hostile input.

pub mod css;
pub mod js;

use std::ops::Range;

/// Where a reference was found, which decides how its specifier is interpreted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefKind {
    /// CSS `url(…)` (also inside `@import url(…)`): relative unless it has a scheme or leading `/`.
    CssUrl,
    /// CSS `@import "…"`.
    CssImport,
    /// JS `import`/`export … from`/`import()`: only `./` and `../` specifiers are files; bare
    /// specifiers belong to an import map.
    JsImport,
    /// JS `new URL("…", import.meta.url)`: a URL relative to the module, like CSS `url()`.
    JsUrl,
    /// A `sourceMappingURL` comment.
    SourceMap,
}

/// One reference: the span of its specifier text (without quotes) in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawRef {
    /// Byte range of the specifier.
    pub span: Range<usize>,
    /// What kind of reference it is.
    pub kind: RefKind,
}

/// Something that may be a reference but that the scanner cannot rewrite or could not parse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unclassified {
    /// Byte offset where it starts.
    pub at: usize,
    /// Why it was not classified.
    pub why: Doubt,
}

/// Why a possible reference was not classified.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Doubt {
    /// The specifier is not a plain string literal (escapes, a template literal, a
    /// concatenation, whitespace in an unquoted `url()`), so it cannot be resolved or rewritten.
    NotALiteral,
    /// A string, template or comment that never ends on a line that mentions an import or a
    /// source map: the scanner lost track of the code there and may have missed a reference.
    LostTrack,
}

impl Doubt {
    /// A short explanation for messages.
    pub fn describe(self) -> &'static str {
        match self {
            Doubt::NotALiteral => {
                "the specifier is not a plain string the builder can resolve and rewrite"
            }
            Doubt::LostTrack => {
                "a string, template or comment here never ends, so references on this line may be missed"
            }
        }
    }
}

/// What a scanner found in one file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scan {
    /// References, sorted by position, spans disjoint.
    pub refs: Vec<RawRef>,
    /// Possible references that could not be classified, sorted by position.
    pub unclassified: Vec<Unclassified>,
}

impl Scan {
    fn finish(mut self) -> Self {
        self.refs.sort_by_key(|r| (r.span.start, r.span.end));
        self.refs.dedup();
        self.unclassified.sort_by_key(|u| u.at);
        self.unclassified.dedup();
        self
    }
}

/// Finds the references in a file whose logical path ends in `ext` (lower case, no dot).
/// Files that are neither CSS nor JS have none.
pub fn find_refs(ext: &str, bytes: &[u8]) -> Scan {
    match ext {
        "css" => css::find_refs(bytes),
        "js" | "mjs" => js::find_refs(bytes),
        _ => Scan::default(),
    }
}

/// Edits that overlap or fall outside the file: a scanner bug, reported rather than applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadEdits {
    /// The offending span.
    pub span: Range<usize>,
}

/// Returns `bytes` with each span replaced by its text. Edits are applied in position order
/// whatever order they come in; overlapping or out-of-range spans are an error, never a panic.
pub fn apply(bytes: &[u8], edits: &[(Range<usize>, String)]) -> Result<Vec<u8>, BadEdits> {
    let mut order: Vec<&(Range<usize>, String)> = edits.iter().collect();
    order.sort_by_key(|(span, _)| (span.start, span.end));
    let extra: usize = edits.iter().map(|(_, s)| s.len()).sum();
    let mut out = Vec::with_capacity(bytes.len() + extra);
    let mut pos = 0;
    for (span, text) in order {
        let Some(keep) = bytes
            .get(pos..span.start)
            .filter(|_| span.end <= bytes.len())
        else {
            return Err(BadEdits { span: span.clone() });
        };
        if span.end < span.start {
            return Err(BadEdits { span: span.clone() });
        }
        out.extend_from_slice(keep);
        out.extend_from_slice(text.as_bytes());
        pos = span.end;
    }
    out.extend_from_slice(&bytes[pos..]);
    Ok(out)
}

/// How a quoted string ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Quoted {
    /// Terminated, no escapes: the content span can be rewritten.
    Plain(Range<usize>),
    /// Terminated, with backslash escapes: the raw content span (not rewritable).
    Escaped(Range<usize>),
    /// Cut short by a line end or the end of input; starts at the given index.
    Unterminated(usize),
}

/// Scans a quoted string's body from `i` (just after the opening `quote`). Returns how it ended
/// and the index to go on from: after the closing quote, or at the line end (`line_ends`) or end
/// of input that cut it short.
pub(crate) fn quoted(b: &[u8], mut i: usize, quote: u8, line_ends: &[u8]) -> (Quoted, usize) {
    let start = i;
    let mut escaped = false;
    while i < b.len() {
        match b[i] {
            b'\\' => {
                escaped = true;
                i += 2;
            }
            c if c == quote => {
                let q = if escaped {
                    Quoted::Escaped(start..i)
                } else {
                    Quoted::Plain(start..i)
                };
                return (q, i + 1);
            }
            c if line_ends.contains(&c) => return (Quoted::Unterminated(start), i),
            _ => i += 1,
        }
    }
    (Quoted::Unterminated(start), b.len())
}

/// Whether a specifier's text is clearly not a relative file path: empty, `data:` or another
/// scheme, root-relative, protocol-relative or a fragment.
pub(crate) fn looks_external(text: &[u8]) -> bool {
    let scheme = text.iter().position(|&c| c == b':').is_some_and(|colon| {
        colon > 0
            && text[0].is_ascii_alphabetic()
            && text[..colon]
                .iter()
                .all(|c| c.is_ascii_alphanumeric() || b"+-.".contains(c))
    });
    text.is_empty() || scheme || text[0] == b'/' || text[0] == b'#'
}

/// The first index at or after `from` where `needle` starts.
pub(crate) fn find(b: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    b.get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| p + from)
}

/// Parses the value of a `sourceMappingURL=` comment starting at `from`: the span of the URL up
/// to whitespace, `*/` or `end`.
pub(crate) fn source_map_url(bytes: &[u8], from: usize, end: usize) -> Option<Range<usize>> {
    let body = &bytes[from..end];
    let mut i = 0;
    while i < body.len() && matches!(body[i], b' ' | b'\t') {
        i += 1;
    }
    let rest = &body[i..];
    let marker_len =
        if rest.starts_with(b"# sourceMappingURL=") || rest.starts_with(b"@ sourceMappingURL=") {
            b"# sourceMappingURL=".len()
        } else {
            return None;
        };
    let start = from + i + marker_len;
    let mut stop = start;
    while stop < end && !bytes[stop].is_ascii_whitespace() && !bytes[stop..end].starts_with(b"*/") {
        stop += 1;
    }
    (stop > start).then_some(start..stop)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apply_splices_in_order() {
        let out = apply(b"a(x) b(yy)", &[(2..3, "XX".into()), (7..9, "Z".into())]);
        assert_eq!(out.unwrap(), b"a(XX) b(Z)");
    }

    /// Edits given out of order (a source map comment inside a dynamic import is found before
    /// the import's specifier) are applied in position order.
    #[test]
    fn apply_sorts_and_refuses_overlaps_without_panicking() {
        let out = apply(b"a(x) b(yy)", &[(7..9, "Z".into()), (2..3, "XX".into())]);
        assert_eq!(out.unwrap(), b"a(XX) b(Z)");
        assert!(apply(b"abcdef", &[(1..4, "x".into()), (2..3, "y".into())]).is_err());
        assert!(apply(b"abc", &[(2..9, "x".into())]).is_err());
        #[allow(clippy::reversed_empty_ranges)]
        let backwards = 3..1;
        assert!(apply(b"abc", &[(backwards, "x".into())]).is_err());
    }

    #[test]
    fn external_looking_specifiers() {
        for t in ["", "data:x", "https://a", "/a", "#f", "mailto:x"] {
            assert!(looks_external(t.as_bytes()), "{t}");
        }
        for t in ["./a", "a.png", "../x:y", ":x", "1a:b"] {
            assert!(!looks_external(t.as_bytes()), "{t}");
        }
    }
}
