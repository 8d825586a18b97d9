//! Turning a request's URL path into a manifest key, refusing every form that could smuggle a
//! different path past the lookup.
//!
//! The manifest is the allowlist (only its exact keys are ever served), so this is defence in
//! depth and a source of clear 400s: malformed percent-escapes, invalid or overlong UTF-8, NUL and
//! control characters, backslashes, encoded slashes, and `.`, `..` or empty segments are refused.

/// Why a path was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    /// `%` not followed by two hex digits.
    #[error("malformed percent-escape in the path")]
    BadEscape,
    /// The decoded bytes are not UTF-8 (this includes overlong encodings such as `%C0%AE`).
    #[error("the path is not valid UTF-8")]
    InvalidUtf8,
    /// NUL or another control character.
    #[error("control character in the path")]
    ControlChar,
    /// A backslash, or `%2F`/`%5C` (an encoded separator).
    #[error("backslash or encoded slash in the path")]
    Separator,
    /// A `.` or `..` segment, or an empty one (`//`).
    #[error("dot or empty segment in the path")]
    DotSegment,
    /// Not starting with `/`.
    #[error("the path is not absolute")]
    NotAbsolute,
}

/// Decodes a request path (without query) into the form manifest keys use.
pub fn decode(raw: &str) -> Result<String, PathError> {
    if !raw.starts_with('/') {
        return Err(PathError::NotAbsolute);
    }
    let b = raw.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c == b'%' {
            let hex = |c: u8| (c as char).to_digit(16);
            let (Some(h), Some(l)) = (
                b.get(i + 1).and_then(|&c| hex(c)),
                b.get(i + 2).and_then(|&c| hex(c)),
            ) else {
                return Err(PathError::BadEscape);
            };
            let v = (h * 16 + l) as u8;
            if v == b'/' || v == b'\\' {
                return Err(PathError::Separator);
            }
            out.push(v);
            i += 3;
        } else {
            out.push(c);
            i += 1;
        }
    }
    let s = String::from_utf8(out).map_err(|_| PathError::InvalidUtf8)?;
    if s.chars().any(char::is_control) {
        return Err(PathError::ControlChar);
    }
    if s.contains('\\') {
        return Err(PathError::Separator);
    }
    let segments: Vec<&str> = s[1..].split('/').collect();
    let last = segments.len() - 1;
    for (i, seg) in segments.iter().enumerate() {
        if *seg == "." || *seg == ".." || (seg.is_empty() && i != last) {
            return Err(PathError::DotSegment);
        }
    }
    Ok(s)
}

/// Decodes a request path the way Symfony's router does (PHP's `rawurldecode`): every valid
/// `%XX` becomes its byte, anything else stays as written. Routes match on this form, so
/// `/%61dmin` takes the `/admin` route exactly as Symfony would dispatch it.
pub fn decode_lossy(raw: &str) -> Vec<u8> {
    let b = raw.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |k: usize| b.get(k).and_then(|&c| (c as char).to_digit(16));
        match (b[i], hex(i + 1), hex(i + 2)) {
            (b'%', Some(h), Some(l)) => {
                out.push((h * 16 + l) as u8);
                i += 3;
            }
            (c, _, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    out
}

/// Percent-encodes a decoded path for use in a URL (the inverse of [`decode`] for valid paths).
pub fn encode(path: &str) -> String {
    cdn_manifest::encode_path(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encode_round_trips() {
        for p in [
            "/assets/a-1.css",
            "/assets/my logo é.svg",
            "/assets/100%.txt",
            "/a?b#c",
        ] {
            assert_eq!(decode(&encode(p)).unwrap(), p);
        }
    }

    #[test]
    fn lossy_decoding_is_rawurldecode() {
        assert_eq!(decode_lossy("/%61dmin/users"), b"/admin/users");
        assert_eq!(decode_lossy("/a%2Fb%zz%4"), b"/a/b%zz%4");
        assert_eq!(decode_lossy("/%ff"), [b'/', 0xff]);
        assert_eq!(decode_lossy(""), b"");
    }

    #[test]
    fn decodes_ordinary_paths() {
        assert_eq!(decode("/assets/app-1.css").unwrap(), "/assets/app-1.css");
        assert_eq!(
            decode("/assets/my%20logo%20%C3%A9.svg").unwrap(),
            "/assets/my logo é.svg"
        );
        assert_eq!(decode("/").unwrap(), "/");
        assert_eq!(decode("/assets/").unwrap(), "/assets/");
    }

    #[test]
    fn refuses_traversal_and_smuggling() {
        let cases = [
            ("/assets/../etc/passwd", PathError::DotSegment),
            ("/assets/%2e%2e/secret", PathError::DotSegment),
            ("/assets/./a.css", PathError::DotSegment),
            ("/assets//a.css", PathError::DotSegment),
            ("/assets/a%2Fb.css", PathError::Separator),
            ("/assets/a%5cb.css", PathError::Separator),
            ("/assets/a\\b.css", PathError::Separator),
            ("/assets/a%00.css", PathError::ControlChar),
            ("/assets/a%0a.css", PathError::ControlChar),
            ("/assets/%c0%ae%c0%ae/x", PathError::InvalidUtf8),
            ("/assets/%ff.css", PathError::InvalidUtf8),
            ("/assets/%zz.css", PathError::BadEscape),
            ("/assets/%4", PathError::BadEscape),
            ("assets/a.css", PathError::NotAbsolute),
        ];
        for (raw, want) in cases {
            assert_eq!(decode(raw), Err(want), "{raw}");
        }
    }
}
