//! Interpreting a reference's specifier: is it a file in the tree, and how is it rewritten.

use crate::rewrite::RefKind;

/// What a specifier points at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// Not a file of ours: `data:`, a URL with a scheme, protocol-relative, root-relative,
    /// fragment-only, empty, or a bare JS module specifier. Left exactly as written.
    External,
    /// A relative reference to `path` (logical, normalised, percent-decoded).
    File {
        /// The logical path it resolves to.
        path: String,
        /// Length of the specifier's path part (before `?` or `#`), in bytes.
        path_len: usize,
    },
    /// A relative reference that climbs above the source root.
    OutsideRoot,
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
    let decoded = percent_decode(raw);
    let mut parts: Vec<&str> = from.split('/').collect();
    parts.pop(); // the referring file's own name
    for seg in decoded.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                if parts.pop().is_none() {
                    return Target::OutsideRoot;
                }
            }
            s => parts.push(s),
        }
    }
    if decoded.ends_with('/') || parts.is_empty() {
        // A directory is never a file of ours; report it as unresolvable by keeping the slash.
        return Target::File {
            path: format!("{}/", parts.join("/")),
            path_len,
        };
    }
    Target::File {
        path: parts.join("/"),
        path_len,
    }
}

/// Rewrites the path part of a specifier so its last segment is `published_name`, keeping the
/// directories, query and fragment exactly as the author wrote them. `target_name` is the
/// original file name the specifier resolved to.
pub fn rewrite(spec: &str, path_len: usize, target_name: &str, published_name: &str) -> String {
    let (path, suffix) = spec.split_at(path_len);
    let seg_start = path.rfind('/').map_or(0, |i| i + 1);
    let (dir, last) = path.split_at(seg_start);
    let stem = stem_of(target_name);
    let ext = &target_name[stem.len()..];
    // Insert what fingerprinting added (`-<hash>`) into the segment as written, so the author's
    // percent-encoding survives; fall back to the encoded published name.
    let added = published_name
        .strip_prefix(stem)
        .and_then(|rest| rest.strip_suffix(ext));
    let new_last = match added {
        Some(added) if percent_decode(last) == target_name && last.ends_with(ext) => {
            let cut = last.len() - ext.len();
            format!("{}{added}{}", &last[..cut], &last[cut..])
        }
        _ => percent_encode(published_name),
    };
    format!("{dir}{new_last}{suffix}")
}

/// The part of a file name before its last extension (the whole name if it has none or is a
/// dotfile).
pub fn stem_of(name: &str) -> &str {
    match name.rfind('.') {
        Some(i) if i > 0 => &name[..i],
        _ => name,
    }
}

/// Decodes `%XX` escapes; invalid escapes and non-UTF-8 results are kept literally.
pub fn percent_decode(s: &str) -> String {
    if !s.contains('%') {
        return s.to_string();
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2])) {
                out.push(h << 4 | l);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8(out).unwrap_or_else(|_| s.to_string())
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

    fn file(path: &str, path_len: usize) -> Target {
        Target::File {
            path: path.into(),
            path_len,
        }
    }

    #[test]
    fn resolves_relative_paths() {
        assert_eq!(
            resolve("css/app.css", "../img/a.png", RefKind::CssUrl),
            file("img/a.png", 12)
        );
        assert_eq!(
            resolve("css/app.css", "b.png?v=2#x", RefKind::CssUrl),
            file("css/b.png", 5)
        );
        assert_eq!(
            resolve("app.css", "./f%20g.woff", RefKind::CssUrl),
            file("f g.woff", 12)
        );
        assert_eq!(
            resolve("a/b.js", "./c/../d.js", RefKind::JsImport),
            file("a/d.js", 11)
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
            assert_eq!(
                resolve("a.css", spec, RefKind::CssUrl),
                Target::External,
                "{spec}"
            );
        }
        assert_eq!(
            resolve("a.js", "lodash", RefKind::JsImport),
            Target::External
        );
        assert_eq!(
            resolve("a.js", "@hotwired/stimulus", RefKind::JsImport),
            Target::External
        );
    }

    #[test]
    fn climbing_above_the_root_is_reported() {
        assert_eq!(
            resolve("a.css", "../../etc/passwd", RefKind::CssUrl),
            Target::OutsideRoot
        );
    }

    #[test]
    fn rewrite_keeps_directories_query_fragment_and_encoding() {
        assert_eq!(
            rewrite(
                "../fonts/icons.woff2?v=4.7#iefix",
                20,
                "icons.woff2",
                "icons-0123abcd.woff2"
            ),
            "../fonts/icons-0123abcd.woff2?v=4.7#iefix"
        );
        assert_eq!(
            rewrite("./my%20font.ttf", 15, "my font.ttf", "my font-99.ttf"),
            "./my%20font-99.ttf"
        );
        assert_eq!(rewrite("LICENSE", 7, "LICENSE", "LICENSE-ab"), "LICENSE-ab");
        assert_eq!(rewrite("x.css", 5, "x.css", "x.css"), "x.css");
    }

    #[test]
    fn percent_decoding_is_total() {
        assert_eq!(percent_decode("a%2"), "a%2");
        assert_eq!(percent_decode("a%zz"), "a%zz");
        assert_eq!(percent_decode("%ff"), "%ff");
        assert_eq!(percent_decode("%41%42"), "AB");
    }
}
