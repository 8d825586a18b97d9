//! Cross-origin reads of assets (fonts and module scripts on a CDN host need CORS headers).

/// Who may read assets cross-origin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cors {
    /// No CORS headers.
    Off,
    /// `Access-Control-Allow-Origin: *`.
    Any,
    /// Echo the request's `Origin` when it is one of these (with `Vary: Origin`).
    Origins(Vec<String>),
}

impl Cors {
    /// The `Access-Control-Allow-Origin` value for a request from `origin`, if any, and whether
    /// the answer depends on `Origin` (then the response must say `Vary: Origin`).
    pub fn allow<'a>(&'a self, origin: Option<&'a str>) -> (Option<&'a str>, bool) {
        match self {
            Cors::Off => (None, false),
            Cors::Any => (Some("*"), false),
            Cors::Origins(list) => (
                origin.filter(|o| list.iter().any(|allowed| allowed == o)),
                true,
            ),
        }
    }
}
