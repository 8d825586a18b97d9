//! Reading the `EDGE` object's JSON form into the raw sections, key by key, with the key path
//! of every mistake: unknown keys refused (a typo never falls back to a default), values of the
//! wrong type named. Hand-written rather than derived: the worker's Wasm pays for every byte of
//! generated deserialisers.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::key_path::{ConfigError, KeyPath};

/// A table of the configuration, being read.
pub(crate) struct Table<'a> {
    map: &'a Map<String, Value>,
    at: KeyPath,
}

fn kind(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => format!("boolean `{b}`"),
        // Not the number itself: formatting floats would add kilobytes to the worker's Wasm.
        Value::Number(n) if n.is_i64() && n.as_i64().is_some_and(|i| i < 0) => {
            "a negative number".into()
        }
        Value::Number(n) if n.is_f64() => "a fractional number".into(),
        Value::Number(_) => "a number".into(),
        Value::String(s) => format!("string \"{s}\""),
        Value::Array(_) => "an array".into(),
        Value::Object(_) => "a table".into(),
    }
}

fn expected(at: &KeyPath, what: &str, v: &Value) -> ConfigError {
    at.error(format!("invalid type: expected {what}, found {}", kind(v)))
}

impl<'a> Table<'a> {
    /// Reads `v` at `at` as a table whose keys are all in `known`.
    pub(crate) fn new(v: &'a Value, at: KeyPath, known: &[&str]) -> Result<Self, ConfigError> {
        let Value::Object(map) = v else {
            return Err(expected(&at, "a table", v));
        };
        if let Some(k) = map.keys().find(|k| !known.contains(&k.as_str())) {
            return Err(at.key(k).error(format!(
                "unknown field `{k}`, expected one of {}",
                known
                    .iter()
                    .map(|n| format!("`{n}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        Ok(Table { map, at })
    }

    /// The path of `key` in this table.
    pub(crate) fn at(&self, key: &str) -> KeyPath {
        self.at.key(key)
    }

    fn get(&self, key: &str) -> Option<&'a Value> {
        self.map.get(key)
    }

    /// A string, or `default` when absent.
    pub(crate) fn string(&self, key: &str, default: &str) -> Result<String, ConfigError> {
        Ok(self.opt_string(key)?.unwrap_or_else(|| default.to_string()))
    }

    /// A string, if present.
    pub(crate) fn opt_string(&self, key: &str) -> Result<Option<String>, ConfigError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(v) => Err(expected(&self.at(key), "a string", v)),
        }
    }

    /// A boolean, or `default` when absent.
    pub(crate) fn bool(&self, key: &str, default: bool) -> Result<bool, ConfigError> {
        match self.get(key) {
            None => Ok(default),
            Some(Value::Bool(b)) => Ok(*b),
            Some(v) => Err(expected(&self.at(key), "a boolean", v)),
        }
    }

    /// A non-negative integer, or `default` when absent.
    pub(crate) fn u64(&self, key: &str, default: u64) -> Result<u64, ConfigError> {
        Ok(self.opt_u64(key)?.unwrap_or(default))
    }

    /// A non-negative integer, if present.
    pub(crate) fn opt_u64(&self, key: &str) -> Result<Option<u64>, ConfigError> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => v
                .as_u64()
                .map(Some)
                .ok_or_else(|| expected(&self.at(key), "a non-negative integer", v)),
        }
    }

    /// An integer (possibly negative, for range errors that name the value), or `default`.
    pub(crate) fn i64(&self, key: &str, default: i64) -> Result<i64, ConfigError> {
        match self.get(key) {
            None => Ok(default),
            Some(v) => v
                .as_i64()
                .ok_or_else(|| expected(&self.at(key), "an integer", v)),
        }
    }

    /// A list of strings, or `default` when absent.
    pub(crate) fn strings(
        &self,
        key: &str,
        default: &[String],
    ) -> Result<Vec<String>, ConfigError> {
        match self.get(key) {
            None => Ok(default.to_vec()),
            Some(Value::Array(items)) => items
                .iter()
                .enumerate()
                .map(|(i, v)| match v {
                    Value::String(s) => Ok(s.clone()),
                    v => Err(expected(&self.at(key).index(i), "a string", v)),
                })
                .collect(),
            Some(v) => Err(expected(&self.at(key), "an array of strings", v)),
        }
    }

    /// A list of statuses (integers 0–65535), or `default`.
    pub(crate) fn u16s(&self, key: &str, default: &[u16]) -> Result<Vec<u16>, ConfigError> {
        match self.get(key) {
            None => Ok(default.to_vec()),
            Some(Value::Array(items)) => items
                .iter()
                .enumerate()
                .map(|(i, v)| {
                    v.as_u64()
                        .and_then(|n| u16::try_from(n).ok())
                        .ok_or_else(|| expected(&self.at(key).index(i), "an integer 0–65535", v))
                })
                .collect(),
            Some(v) => Err(expected(&self.at(key), "an array of integers", v)),
        }
    }

    /// A table of strings (`headers = { "X-A" = "1" }`), empty when absent.
    pub(crate) fn string_map(&self, key: &str) -> Result<BTreeMap<String, String>, ConfigError> {
        let mut out = BTreeMap::new();
        for (k, at, v) in self.entries(key)? {
            match v {
                Value::String(s) => {
                    out.insert(k, s.clone());
                }
                v => return Err(expected(&at, "a string", v)),
            }
        }
        Ok(out)
    }

    /// The elements of an array (with their paths), empty when absent.
    pub(crate) fn items(&self, key: &str) -> Result<Vec<(KeyPath, &'a Value)>, ConfigError> {
        match self.get(key) {
            None => Ok(Vec::new()),
            Some(Value::Array(items)) => Ok(items
                .iter()
                .enumerate()
                .map(|(i, v)| (self.at(key).index(i), v))
                .collect()),
            Some(v) => Err(expected(&self.at(key), "an array", v)),
        }
    }

    /// The members of a sub-table (name, path, value), empty when absent.
    pub(crate) fn entries(
        &self,
        key: &str,
    ) -> Result<Vec<(String, KeyPath, &'a Value)>, ConfigError> {
        match self.get(key) {
            None => Ok(Vec::new()),
            Some(Value::Object(m)) => Ok(m
                .iter()
                .map(|(k, v)| (k.clone(), self.at(key).key(k), v))
                .collect()),
            Some(v) => Err(expected(&self.at(key), "a table", v)),
        }
    }

    /// A sub-table, if present.
    pub(crate) fn table(
        &self,
        key: &str,
        known: &[&str],
    ) -> Result<Option<Table<'a>>, ConfigError> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => Table::new(v, self.at(key), known).map(Some),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_and_unknown_keys_are_named() {
        let v: Value =
            serde_json::from_str(r#"{"a":"x","n":-1,"b":true,"l":["a",2],"t":{"k":1}}"#).unwrap();
        let e = Table::new(&v, KeyPath::root(), &["a"]).err().unwrap();
        assert_eq!(e.key, "EDGE.b", "the first unknown key, in key order");
        assert!(e.reason.contains("unknown field `b`, expected one of `a`"));
        let t = Table::new(&v, KeyPath::root(), &["a", "n", "b", "l", "t"]).unwrap();
        assert_eq!(t.string("a", "d").unwrap(), "x");
        assert_eq!(t.string("zz", "d").unwrap(), "d");
        let e = t.u64("n", 0).unwrap_err();
        assert_eq!(
            (e.key.as_str(), e.reason.contains("invalid type")),
            ("EDGE.n", true)
        );
        assert_eq!(t.i64("n", 0).unwrap(), -1);
        let e = t.strings("l", &[]).unwrap_err();
        assert_eq!(e.key, "EDGE.l[1]");
        assert!(t
            .string("b", "")
            .unwrap_err()
            .reason
            .contains("found boolean `true`"));
        assert!(t.table("t", &["j"]).err().unwrap().key.ends_with("t.k"));
        assert!(Table::new(&Value::Null, KeyPath::root(), &[]).is_err());
    }
}
