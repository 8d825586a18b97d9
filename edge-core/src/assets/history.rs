//! The deploy history at the well-known path, for the next build (`asset-builder build
//! --history https://…`):
//!
//! - `GET /.well-known/asset-history/history.json`: the history file the builder wrote beside
//!   the index (`asset-history.json`), as stored;
//! - `GET /.well-known/asset-history/files/<stored path>`: the exact bytes of one stored file
//!   under the public path (an entry, a `.br`/`.gz` sibling or a `dcz`/`dcb` delta), without
//!   content negotiation, so that the builder can check each against its recorded SHA-256.
//!
//! Both are passed through from the assets directory as they are (what the assets service does not
//! have is a 404): everything there is public already (the JSON manifests are kept out of the
//! upload), and the builder checks every byte. Answers are `no-store` (the builder wants what is
//! deployed now, never a cached copy) and `no-transform`. Stored paths are decoded and checked
//! like asset paths (no dot segments, encoded slashes or control characters) and must be under
//! the public path. `asset_history = false` turns the path off (it then goes to the routes like
//! any other).

use http::header;
use http::{Method, StatusCode};

use super::{Body, Plan};
use crate::path;

/// What a request under the well-known path asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// The history file.
    Index,
    /// A stored file: its decoded path inside the assets directory (under the public path).
    Stored(String),
    /// Anything else under the well-known path: 404.
    Unknown,
}

/// Where the history file is in the assets directory: beside the index root `manifest`.
pub fn index_path(manifest: &str) -> String {
    let dir = manifest.rsplit_once('/').map_or("", |(d, _)| d);
    format!("{dir}/{}", cdn_manifest::HISTORY_FILE_NAME)
}

/// What the raw request path (`/.well-known/asset-history/…`, not decoded) asks for; `None` when
/// it is not under the well-known path.
pub fn target(raw_path: &str, public_path: &str) -> Option<Target> {
    let rest = raw_path.strip_prefix(cdn_manifest::HISTORY_WELL_KNOWN)?;
    Some(match rest {
        "history.json" => Target::Index,
        _ => match rest.strip_prefix("files") {
            Some(stored) if stored.starts_with('/') => match path::decode(stored) {
                Ok(p) if p.starts_with(public_path) && p.len() > public_path.len() => {
                    Target::Stored(p)
                }
                _ => Target::Unknown,
            },
            _ => Target::Unknown,
        },
    })
}

/// The answer for `target` (`manifest` is the index root, beside which the history file is):
/// GET and HEAD only; the body is the stored file, passed through by the glue (a HEAD fetches
/// it too, to answer 404 for a file that is not there, and sends no body).
pub fn plan(method: &Method, target: &Target, manifest: &str) -> Plan {
    let (path, content_type) = match target {
        Target::Index => (index_path(manifest), "application/json"),
        Target::Stored(p) => (p.clone(), "application/octet-stream"),
        Target::Unknown => return not_found(method),
    };
    if method != Method::GET && method != Method::HEAD {
        return Plan::get_or_head_only();
    }
    let mut plan = Plan::new(StatusCode::OK);
    plan.set(header::CONTENT_TYPE, content_type);
    plan.set(header::CACHE_CONTROL, "no-store, no-transform");
    // Stored bytes as they are: the runtime must not encode them again.
    plan.precompressed = true;
    plan.body = Body::Unsized { path };
    plan
}

/// `plan` with the stored file's `Content-Length` (as the store gave it; left out when it is
/// not a valid field value).
pub fn with_length(mut plan: Plan, content_length: Option<&str>) -> Plan {
    if let Some(len) = content_length {
        plan.set(header::CONTENT_LENGTH, len);
    }
    plan
}

/// 404 for a well-known path that names nothing (or a file that is not there).
pub fn not_found(method: &Method) -> Plan {
    Plan::text(
        StatusCode::NOT_FOUND,
        "404 Not Found\n",
        method == Method::HEAD,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets() {
        let cases: &[(&str, Option<Target>)] = &[
            (
                "/.well-known/asset-history/history.json",
                Some(Target::Index),
            ),
            (
                "/.well-known/asset-history/files/assets/a%20b-1.js.br",
                Some(Target::Stored("/assets/a b-1.js.br".into())),
            ),
            (
                "/.well-known/asset-history/files/assets/",
                Some(Target::Unknown),
            ),
            (
                "/.well-known/asset-history/files/cdn-manifest.bin",
                Some(Target::Unknown),
            ),
            (
                "/.well-known/asset-history/files/assets/../cdn-manifest.bin",
                Some(Target::Unknown),
            ),
            (
                "/.well-known/asset-history/files/assets/%2e%2e/x",
                Some(Target::Unknown),
            ),
            (
                "/.well-known/asset-history/files/assets/a%2Fb",
                Some(Target::Unknown),
            ),
            (
                "/.well-known/asset-history/files/assets/a%00b",
                Some(Target::Unknown),
            ),
            (
                "/.well-known/asset-history/filesx/assets/a",
                Some(Target::Unknown),
            ),
            ("/.well-known/asset-history/", Some(Target::Unknown)),
            ("/.well-known/asset-history", None),
            ("/.well-known/security.txt", None),
            ("/assets/a.js", None),
        ];
        for (raw, want) in cases {
            assert_eq!(target(raw, "/assets/"), *want, "{raw}");
        }
        assert_eq!(index_path("/cdn-manifest.bin"), "/asset-history.json");
        assert_eq!(index_path("/x/cdn-manifest.bin"), "/x/asset-history.json");
    }

    #[test]
    fn plans_pass_stored_bytes_through_uncached() {
        let stored = Target::Stored("/assets/a-1.js.gz".into());
        let p = plan(&Method::GET, &stored, "/cdn-manifest.bin");
        assert_eq!(p.status, StatusCode::OK);
        assert_eq!(p.headers["content-type"], "application/octet-stream");
        assert_eq!(p.headers["cache-control"], "no-store, no-transform");
        assert!(p.headers.get("content-encoding").is_none());
        assert!(p.precompressed, "passed through untouched");
        assert_eq!(
            p.body,
            Body::Unsized {
                path: "/assets/a-1.js.gz".into()
            }
        );
        let head = plan(&Method::HEAD, &stored, "/cdn-manifest.bin");
        assert_eq!(
            (&head.headers, &head.body),
            (&p.headers, &p.body),
            "HEAD checks the file too"
        );
        assert_eq!(
            plan(&Method::POST, &stored, "/cdn-manifest.bin").status,
            StatusCode::METHOD_NOT_ALLOWED
        );
        let p = plan(&Method::GET, &Target::Index, "/x/cdn-manifest.bin");
        assert_eq!(
            p.body,
            Body::Unsized {
                path: "/x/asset-history.json".into()
            }
        );
        assert_eq!(p.headers["content-type"], "application/json");
        let p = plan(&Method::GET, &Target::Unknown, "/cdn-manifest.bin");
        assert_eq!(p.status, StatusCode::NOT_FOUND);
    }

    #[test]
    fn the_stored_files_length_is_passed_on_when_valid() {
        let base = || plan(&Method::GET, &Target::Index, "/cdn-manifest.bin");
        let table = [(Some("42"), Some("42")), (Some("4\n2"), None), (None, None)];
        for (given, want) in table {
            let p = with_length(base(), given);
            let got = p.headers.get("content-length").map(|v| v.to_str().unwrap());
            assert_eq!(got, want, "{given:?}");
        }
    }
}
