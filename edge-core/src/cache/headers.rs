//! A response's header fields as the cache keeps them: ordered (name, value) lines with
//! lower-case names, several lines of one field kept apart.

/// Header field lines.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Fields(pub Vec<(String, String)>);

impl Fields {
    /// From (name, value) pairs in any case.
    pub fn new<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        Fields(
            pairs
                .into_iter()
                .map(|(n, v)| (n.to_ascii_lowercase(), v.to_string()))
                .collect(),
        )
    }

    /// Every line of field `name` (lower-case).
    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0
            .iter()
            .filter(move |(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The first line of field `name`.
    pub fn first(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Whether field `name` is present.
    pub fn has(&self, name: &str) -> bool {
        self.first(name).is_some()
    }

    /// Removes every line of `name`.
    pub fn remove(&mut self, name: &str) {
        self.0.retain(|(n, _)| n != name);
    }

    /// Replaces every line of `name` with one line.
    pub fn set(&mut self, name: &str, value: impl Into<String>) {
        self.remove(name);
        self.0.push((name.to_string(), value.into()));
    }
}

/// From owned (name, value) pairs in any case, as the runtime lists a response's fields.
impl From<Vec<(String, String)>> for Fields {
    fn from(mut pairs: Vec<(String, String)>) -> Self {
        for (name, _) in &mut pairs {
            name.make_ascii_lowercase();
        }
        Fields(pairs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_lower_cased_and_lines_kept_apart() {
        let owned = vec![
            ("Set-Cookie".to_string(), "a=1".to_string()),
            ("set-cookie".to_string(), "b=2".to_string()),
            ("ETag".to_string(), "\"x\"".to_string()),
        ];
        let want = Fields::new([
            ("set-cookie", "a=1"),
            ("set-cookie", "b=2"),
            ("etag", "\"x\""),
        ]);
        assert_eq!(Fields::from(owned), want);
        assert_eq!(want.all("set-cookie").collect::<Vec<_>>(), ["a=1", "b=2"]);
        assert_eq!(want.first("etag"), Some("\"x\""));
    }
}
