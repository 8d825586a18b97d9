//! The `Content-Type` of a published file, and whether it is worth compressing.

/// The media type for a logical path, with `charset=utf-8` for text.
pub fn for_path(path: &str) -> String {
    let ext = extension(path);
    let base: String = match ext.as_str() {
        // RFC 9239 makes text/javascript the one JavaScript type.
        "js" | "mjs" | "cjs" => "text/javascript".into(),
        "map" => "application/json".into(),
        "webmanifest" => "application/manifest+json".into(),
        "woff2" => "font/woff2".into(),
        "woff" => "font/woff".into(),
        "ttf" => "font/ttf".into(),
        "otf" => "font/otf".into(),
        "wasm" => "application/wasm".into(),
        "avif" => "image/avif".into(),
        _ => mime_guess::from_path(path)
            .first_raw()
            .unwrap_or("application/octet-stream")
            .to_string(),
    };
    if is_text(&base) {
        format!("{base}; charset=utf-8")
    } else {
        base
    }
}

fn is_text(media: &str) -> bool {
    media.starts_with("text/")
        || matches!(
            media,
            "application/json"
                | "application/manifest+json"
                | "application/ld+json"
                | "application/xml"
                | "image/svg+xml"
                | "application/rss+xml"
                | "application/atom+xml"
        )
}

/// Whether precompressing a file of this media type can pay off. Already-compressed formats
/// (images other than SVG/BMP/ICO, WOFF/WOFF2, archives, audio, video) are not tried.
pub fn is_compressible(content_type: &str) -> bool {
    let media = content_type.split(';').next().unwrap_or("").trim();
    is_text(media)
        || matches!(
            media,
            "font/ttf"
                | "font/otf"
                | "application/vnd.ms-fontobject"
                | "application/x-font-ttf"
                | "application/wasm"
                | "image/x-icon"
                | "image/vnd.microsoft.icon"
                | "image/bmp"
                | "application/octet-stream"
        )
}

/// The lower-case extension of the last path segment (empty when there is none).
pub fn extension(path: &str) -> String {
    let name = path.rsplit('/').next().unwrap_or(path);
    match name.rfind('.') {
        Some(i) if i > 0 => name[i + 1..].to_ascii_lowercase(),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_and_charsets() {
        assert_eq!(for_path("a/app.css"), "text/css; charset=utf-8");
        assert_eq!(for_path("app.js"), "text/javascript; charset=utf-8");
        assert_eq!(for_path("app.js.map"), "application/json; charset=utf-8");
        assert_eq!(for_path("i.svg"), "image/svg+xml; charset=utf-8");
        assert_eq!(for_path("f.woff2"), "font/woff2");
        assert_eq!(for_path("p.PNG"), "image/png");
        assert_eq!(for_path("noext"), "application/octet-stream");
    }

    #[test]
    fn compressibility() {
        assert!(is_compressible("text/css; charset=utf-8"));
        assert!(is_compressible("font/ttf"));
        assert!(is_compressible("image/svg+xml; charset=utf-8"));
        assert!(!is_compressible("font/woff2"));
        assert!(!is_compressible("image/png"));
    }
}
