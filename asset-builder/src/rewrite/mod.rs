//! Finding references between assets and rewriting them to fingerprinted names.
//!
//! The scanners work on bytes (a file need not be valid UTF-8) and return the byte span of each
//! reference's text; [`apply`] splices replacements in. Neither ever panics on hostile input.

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

/// Finds the references in a file whose logical path ends in `ext` (lower case, no dot).
/// Files that are neither CSS nor JS have none.
pub fn find_refs(ext: &str, bytes: &[u8]) -> Vec<RawRef> {
    match ext {
        "css" => css::find_refs(bytes),
        "js" | "mjs" => js::find_refs(bytes),
        _ => Vec::new(),
    }
}

/// Returns `bytes` with each span replaced by its text. `edits` must be sorted and disjoint.
pub fn apply(bytes: &[u8], edits: &[(Range<usize>, String)]) -> Vec<u8> {
    let extra: usize = edits.iter().map(|(_, s)| s.len()).sum();
    let mut out = Vec::with_capacity(bytes.len() + extra);
    let mut pos = 0;
    for (span, text) in edits {
        out.extend_from_slice(&bytes[pos..span.start]);
        out.extend_from_slice(text.as_bytes());
        pos = span.end;
    }
    out.extend_from_slice(&bytes[pos..]);
    out
}

/// Scans a quoted string's body from `i` (just after the opening `quote`). Returns the content
/// span when it can be rewritten (terminated, no backslash escapes) and the index to go on from:
/// after the closing quote, or at the line end (`line_ends`) or end of input that cut it short.
pub(crate) fn quoted(
    b: &[u8],
    mut i: usize,
    quote: u8,
    line_ends: &[u8],
) -> (Option<Range<usize>>, usize) {
    let start = i;
    let mut escaped = false;
    while i < b.len() {
        match b[i] {
            b'\\' => {
                escaped = true;
                i += 2;
            }
            c if c == quote => return ((!escaped).then_some(start..i), i + 1),
            c if line_ends.contains(&c) => return (None, i),
            _ => i += 1,
        }
    }
    (None, b.len())
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
        assert_eq!(out, b"a(XX) b(Z)");
    }
}
