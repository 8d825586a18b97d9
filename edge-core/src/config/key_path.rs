//! Where in the configuration something is wrong: a key path (`EDGE.pools.dc1.origins[0].url`)
//! built as validation descends, and the error that names it.

use std::fmt;

/// A configuration error, naming the key at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid configuration at `{key}`: {reason}")]
pub struct ConfigError {
    /// The key's path, e.g. `EDGE.public_path`.
    pub key: String,
    /// What is wrong and what is expected.
    pub reason: String,
}

/// A path into the `EDGE` object, extended one key or index at a time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyPath(String);

impl KeyPath {
    /// The root: the `EDGE` object itself.
    pub fn root() -> Self {
        KeyPath("EDGE".into())
    }

    /// The member `name` of this table.
    pub fn key(&self, name: &str) -> Self {
        KeyPath(format!("{}.{name}", self.0))
    }

    /// Element `i` of this array.
    pub fn index(&self, i: usize) -> Self {
        KeyPath(format!("{}[{i}]", self.0))
    }

    /// An error at this key.
    pub fn error(&self, reason: impl Into<String>) -> ConfigError {
        ConfigError {
            key: self.0.clone(),
            reason: reason.into(),
        }
    }

    /// An error at this key when `value` is outside `lo..=hi`.
    pub fn in_range(&self, value: u64, lo: u64, hi: u64) -> Result<u64, ConfigError> {
        if (lo..=hi).contains(&value) {
            Ok(value)
        } else {
            Err(self.error(format!("{value} is out of range {lo}–{hi}")))
        }
    }
}

impl fmt::Display for KeyPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One section of the raw configuration, checked into its validated form. Every check names
/// the key it refuses through `at`.
pub(crate) trait Validate {
    /// The validated form.
    type Output;
    /// Checks `self`, found at `at`.
    fn validate(&self, at: &KeyPath) -> Result<Self::Output, ConfigError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_and_ranges() {
        let p = KeyPath::root()
            .key("pools")
            .key("dc1")
            .key("origins")
            .index(0);
        assert_eq!(p.to_string(), "EDGE.pools.dc1.origins[0]");
        let e = p.key("weight").in_range(0, 1, 1000).unwrap_err();
        assert_eq!(e.key, "EDGE.pools.dc1.origins[0].weight");
        assert_eq!(e.reason, "0 is out of range 1–1000");
        assert_eq!(p.in_range(5, 1, 10), Ok(5));
    }
}
