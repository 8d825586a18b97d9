//! Interpreting a reference's specifier: is it a file in the tree, and how is it rewritten.
//!
//! A specifier is parsed once, the way a browser's URL parser and the edge worker read it, into
//! [`Target`]; the rewrite of a [`FileRef`] reuses that parse, so the resolved path and the
//! rewritten text can never disagree. Each path segment is percent-decoded on its own (so `%2F`
//! stays inside its segment, and the edge refuses it); `.` and `..` segments, `%2e` spellings
//! included, are applied as the URL parser applies them, which makes a reference ending in one
//! (`x.png/.`) name a directory, never a file. What the edge would refuse to serve (a malformed
//! escape, bytes that are not UTF-8, an encoded separator, an empty segment) cannot name a file of
//! ours either: those are [`Unresolvable`].

use std::ops::Range;

use crate::rewrite::RefKind;

/// What a specifier points at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// Not a file of ours: `data:`, a URL with a scheme, protocol-relative, root-relative,
    /// fragment-only, empty, or a bare JS module specifier. Left exactly as written.
    External,
    /// A relative reference to a file path (which may or may not exist in the tree).
    File(FileRef),
    /// A relative reference that cannot name a file of ours; left as written and reported.
    Unresolvable(Unresolvable),
}

/// Why a relative reference cannot name a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unresolvable {
    /// It climbs above the source root.
    OutsideRoot,
    /// It ends in `/`, `.` or `..`: a directory.
    Directory,
    /// A `%` not followed by two hex digits.
    BadEscape,
    /// A segment that decodes to bytes that are not UTF-8.
    InvalidUtf8,
    /// `%2F`, `%5C` or a backslash: no file name holds a separator.
    Separator,
    /// An empty segment (`a//b.png`), which the edge refuses.
    EmptySegment,
}

/// A relative reference to a file: its logical path and where its last segment is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileRef {
    /// The logical path it resolves to (normalised, percent-decoded).
    pub path: String,
    /// Byte range of the last path segment (the file name as written) in the specifier.
    pub last: Range<usize>,
}

/// Resolves `spec` found in the file at logical path `from`.
pub fn resolve(from: &str, spec: &str, kind: RefKind) -> Target {
    let path_len = spec.find(['?', '#']).unwrap_or(spec.len());
    let raw = &spec[..path_len];
    if raw.is_empty() || raw.starts_with('/') {
        return Target::External;
    }
    // A scheme is letters/digits/+-. followed by ':' before any '/'.
    if let Some(colon) = raw.find(':') {
        if !raw[..colon].contains('/') {
            return Target::External;
        }
    }
    if kind == RefKind::JsImport && !(raw.starts_with("./") || raw.starts_with("../")) {
        return Target::External;
    }
    if raw.contains('\\') {
        // URL parsers read `\` as `/` in http(s) URLs; no name of ours holds one.
        return Target::Unresolvable(Unresolvable::Separator);
    }
    let mut parts: Vec<String> = from.split('/').map(str::to_string).collect();
    parts.pop(); // the referring file's own name
    let mut start = 0;
    let mut segments = raw.split('/').peekable();
    while let Some(seg) = segments.next() {
        let range = start..start + seg.len();
        start = range.end + 1;
        let last = segments.peek().is_none();
        let name = match decode_segment(seg) {
            Ok(name) => name,
            Err(why) => return Target::Unresolvable(why),
        };
        match name.as_str() {
            "." | "" if last => return Target::Unresolvable(Unresolvable::Directory),
            "." => {}
            "" => return Target::Unresolvable(Unresolvable::EmptySegment),
            ".." => {
                if parts.pop().is_none() {
                    return Target::Unresolvable(Unresolvable::OutsideRoot);
                }
                if last {
                    return Target::Unresolvable(Unresolvable::Directory);
                }
            }
            _ if last => {
                parts.push(name);
                return Target::File(FileRef {
                    path: parts.join("/"),
                    last: range,
                });
            }
            _ => parts.push(name),
        }
    }
    // `split` yields at least one segment, and the last one always returns above.
    Target::Unresolvable(Unresolvable::Directory)
}

impl FileRef {
    /// The file name the reference names (the last segment, decoded).
    pub fn file_name(&self) -> &str {
        self.path.rsplit('/').next().unwrap_or(&self.path)
    }

    /// `spec` (the specifier this was resolved from) with its last segment naming
    /// `published_name` instead. Directories, query, fragment and the author's percent-encoding
    /// are kept exactly as written: when the name is unchanged the text is unchanged, and when
    /// fingerprinting added `-<hash>` before the extension, only that is inserted.
    pub fn rewrite(&self, spec: &str, published_name: &str) -> String {
        let name = self.file_name();
        let Some(raw_last) = spec.get(self.last.clone()) else {
            return spec.to_string();
        };
        if published_name == name {
            return spec.to_string();
        }
        let stem = stem_of(name);
        let ext = &name[stem.len()..];
        let added = published_name
            .strip_prefix(stem)
            .and_then(|rest| rest.strip_suffix(ext));
        let new_last = match (added, split_after_decoded(raw_last, stem.len())) {
            (Some(added), Some(cut)) => format!(
                "{}{}{}",
                &raw_last[..cut],
                percent_encode(added),
                &raw_last[cut..]
            ),
            _ => percent_encode(published_name),
        };
        format!(
            "{}{new_last}{}",
            &spec[..self.last.start],
            &spec[self.last.end..]
        )
    }
}

/// The byte index in `raw` (a segment whose escapes are all valid) after the escapes and bytes
/// that decode to its first `decoded_len` bytes: each `%XX` and each other byte decodes to one.
fn split_after_decoded(raw: &str, decoded_len: usize) -> Option<usize> {
    let b = raw.as_bytes();
    let (mut i, mut n) = (0, 0);
    while n < decoded_len {
        if i >= b.len() {
            return None;
        }
        i += if b[i] == b'%' { 3 } else { 1 };
        n += 1;
    }
    (i <= b.len() && raw.is_char_boundary(i)).then_some(i)
}

/// Decodes one path segment strictly, as the edge does: every `%` starts a two-hex-digit
/// escape, the result is UTF-8 and holds no separator.
fn decode_segment(seg: &str) -> Result<String, Unresolvable> {
    if !seg.contains('%') {
        return Ok(seg.to_string());
    }
    let b = seg.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let (Some(h), Some(l)) = (
                b.get(i + 1).and_then(|&c| hex(c)),
                b.get(i + 2).and_then(|&c| hex(c)),
            ) else {
                return Err(Unresolvable::BadEscape);
            };
            let v = (h << 4) | l;
            if v == b'/' || v == b'\\' {
                return Err(Unresolvable::Separator);
            }
            out.push(v);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| Unresolvable::InvalidUtf8)
}

/// The part of a file name before its last extension (the whole name if it has none or is a
/// dotfile).
pub fn stem_of(name: &str) -> &str {
    match name.rfind('.') {
        Some(i) if i > 0 => &name[..i],
        _ => name,
    }
}

fn hex(c: u8) -> Option<u8> {
    (c as char).to_digit(16).map(|d| d as u8)
}

/// Percent-encodes a URL path (the manifest crate's definition, shared with the edge).
pub fn percent_encode(s: &str) -> String {
    cdn_manifest::encode_path(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(spec: &str, path: &str) -> Target {
        let start = spec.rfind('/').map_or(0, |i| i + 1);
        let end = spec.find(['?', '#']).unwrap_or(spec.len());
        Target::File(FileRef {
            path: path.into(),
            last: start..end,
        })
    }

    fn css(from: &str, spec: &str) -> Target {
        resolve(from, spec, RefKind::CssUrl)
    }

    /// Resolves `spec` from `from` and rewrites it to `published`.
    fn rewritten(from: &str, spec: &str, published: &str) -> String {
        match css(from, spec) {
            Target::File(f) => f.rewrite(spec, published),
            other => panic!("{spec}: {other:?}"),
        }
    }

    #[test]
    fn resolves_relative_paths() {
        let cases = [
            ("css/app.css", "../img/a.png", "img/a.png"),
            ("css/app.css", "b.png?v=2#x", "css/b.png"),
            ("app.css", "./f%20g.woff", "f g.woff"),
            ("a/b.js", "./c/../d.js", "a/d.js"),
            ("a.css", "%2e/x.png", "x.png"),
            ("a/b.css", "%2E%2e/x.png", "x.png"),
            ("a.css", "a%2epng", "a.png"),
            ("a.css", "%C3%A9.svg", "é.svg"),
        ];
        for (from, spec, path) in cases {
            assert_eq!(css(from, spec), file(spec, path), "{spec}");
        }
        assert_eq!(
            resolve("a/b.js", "./c/../d.js", RefKind::JsImport),
            file("./c/../d.js", "a/d.js")
        );
    }

    #[test]
    fn leaves_external_references_alone() {
        for spec in [
            "data:image/png;base64,xx",
            "https://x.test/a.png",
            "//cdn.test/a.png",
            "/abs.png",
            "#frag",
            "",
            "mailto:a@b",
        ] {
            assert_eq!(css("a.css", spec), Target::External, "{spec}");
        }
        for spec in ["lodash", "@hotwired/stimulus", "%2e/a.js"] {
            assert_eq!(
                resolve("a.js", spec, RefKind::JsImport),
                Target::External,
                "{spec}"
            );
        }
    }

    /// The audit's inputs: references that name a directory, or nothing the edge would serve,
    /// are never taken for a file.
    #[test]
    fn what_cannot_name_a_file_is_unresolvable() {
        use Unresolvable::*;
        let cases = [
            ("../../etc/passwd", OutsideRoot),
            ("img/x.png/.", Directory),
            ("img/x.png/sub/..", Directory),
            ("img/x.png/%2e", Directory),
            ("img/", Directory),
            ("..", Directory),
            ("img%2Fx.png", Separator),
            ("img%5cx.png", Separator),
            ("img\\x.png", Separator),
            ("%ca/%41", InvalidUtf8),
            ("a%zz.png", BadEscape),
            ("a%2", BadEscape),
            ("img//x.png", EmptySegment),
        ];
        for (spec, why) in cases {
            assert_eq!(css("css/a.css", spec), Target::Unresolvable(why), "{spec}");
        }
        assert_eq!(
            css("a.css", ".."),
            Target::Unresolvable(OutsideRoot),
            "climbing from the root"
        );
    }

    #[test]
    fn rewrite_keeps_directories_query_fragment_and_encoding() {
        let from = "css/app.css";
        assert_eq!(
            rewritten(
                from,
                "../fonts/icons.woff2?v=4.7#iefix",
                "icons-0123abcd.woff2"
            ),
            "../fonts/icons-0123abcd.woff2?v=4.7#iefix"
        );
        assert_eq!(
            rewritten(from, "./my%20font.ttf", "my font-99.ttf"),
            "./my%20font-99.ttf"
        );
        assert_eq!(rewritten(from, "LICENSE", "LICENSE-ab"), "LICENSE-ab");
        assert_eq!(rewritten(from, "x.css", "x.css"), "x.css");
    }

    /// The audit's inputs: the author's spelling survives, whether or not the name changes.
    #[test]
    fn rewrite_never_respells_what_it_does_not_change() {
        let from = "app.css";
        for spec in ["a%20b.pn%67", "a%2epng", "%2e/x.png", "./%C3%A9.svg?x#y"] {
            let Target::File(f) = css(from, spec) else {
                panic!("{spec}")
            };
            assert_eq!(f.rewrite(spec, f.file_name()), spec, "unchanged name");
        }
        assert_eq!(
            rewritten(from, "a%20b.pn%67", "a b-0123.png"),
            "a%20b-0123.pn%67"
        );
        assert_eq!(rewritten(from, "a%2epng", "a-0123.png"), "a-0123%2epng");
        assert_eq!(
            rewritten(from, "%C3%A9.svg#i", "é-0123.svg"),
            "%C3%A9-0123.svg#i"
        );
        assert_eq!(rewritten(from, "é.svg", "é-0123.svg"), "é-0123.svg");
        assert_eq!(
            rewritten(from, ".htaccess", ".htaccess-0123"),
            ".htaccess-0123"
        );
        // A published name of another shape is written encoded.
        assert_eq!(rewritten(from, "x.png", "y?.png"), "y%3F.png");
    }

    #[test]
    fn a_rewritten_reference_resolves_to_the_published_name() {
        let from = "css/app.css";
        for spec in ["../img/a%20b.png?v=1", "./%2e/x.tar.gz#f", "é.svg"] {
            let Target::File(f) = css(from, spec) else {
                panic!("{spec}")
            };
            let stem = stem_of(f.file_name());
            let published = format!("{stem}-00ff{}", &f.file_name()[stem.len()..]);
            let new = f.rewrite(spec, &published);
            let Target::File(g) = css(from, &new) else {
                panic!("{new}")
            };
            let dir = f.path.rsplit_once('/').map_or("", |(d, _)| d);
            let want = if dir.is_empty() {
                published.clone()
            } else {
                format!("{dir}/{published}")
            };
            assert_eq!(g.path, want, "{spec} -> {new}");
        }
    }
}
