//! A list of changes to a message's headers, made by the core and applied by the glue in one
//! place: what the origins see of a request, what the client sees of a response.

use std::borrow::Cow;
use std::fmt;

/// Changes to make to a message's headers, in this order: removals, sets, appends.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HeaderEdits {
    /// Lower-case names to remove (a fixed name is borrowed, not copied, on every request).
    pub remove: Vec<Cow<'static, str>>,
    /// Headers to set (replacing), e.g. a rewritten `Location`.
    pub set: Vec<(&'static str, String)>,
    /// Headers to add beside those already there, e.g. `Set-Cookie`, `Server-Timing`.
    pub append: Vec<(&'static str, String)>,
}

/// A header the edits cannot carry: its name or value holds a line break (no valid field does,
/// and the glue's encoding is line-based).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EditError {
    /// The header's name.
    pub name: String,
}

impl fmt::Display for EditError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "header {:?}: a line break in its name or value",
            self.name
        )
    }
}

impl std::error::Error for EditError {}

impl HeaderEdits {
    /// Adds `other`'s edits after these (its removals still come before any set or append).
    pub fn extend(&mut self, other: HeaderEdits) {
        self.remove.extend(other.remove);
        self.set.extend(other.set);
        self.append.extend(other.append);
    }

    /// The edits as one text, so that the glue applies them all in one call into the runtime
    /// rather than one call per header: a line `-name` removes, a line `=name` then a value line
    /// sets, a line `+name` then a value line appends, in the order of [`HeaderEdits`].
    pub fn encode(&self) -> Result<String, EditError> {
        let mut out = String::with_capacity(256);
        self.encode_into(&mut out)?;
        Ok(out)
    }

    /// [`HeaderEdits::encode`], appended to `out` (which holds part of them on an error).
    pub fn encode_into(&self, out: &mut String) -> Result<(), EditError> {
        for name in &self.remove {
            line(out, '-', name, None)?;
        }
        for (name, value) in &self.set {
            line(out, '=', name, Some(value))?;
        }
        for (name, value) in &self.append {
            line(out, '+', name, Some(value))?;
        }
        Ok(())
    }
}

/// A whole message's fields in [`HeaderEdits::encode`]'s form, each an append (`+name`, then
/// its value): for the glue to build a message's headers in one call into the runtime.
pub fn encode_fields<'a>(
    fields: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> Result<String, EditError> {
    let mut out = String::with_capacity(256);
    for (name, value) in fields {
        line(&mut out, '+', name, Some(value))?;
    }
    Ok(out)
}

/// The `names` that `get` finds (by lower-case name), in order: the removals worth sending, as
/// each removal is a call into the runtime and most messages carry none of the names.
pub fn only_present(
    mut names: Vec<Cow<'static, str>>,
    get: impl Fn(&str) -> Option<String>,
) -> Vec<Cow<'static, str>> {
    names.retain(|n| get(n).is_some());
    names
}

fn line(out: &mut String, op: char, name: &str, value: Option<&str>) -> Result<(), EditError> {
    let breaks = |s: &str| s.bytes().any(|b| b == b'\n' || b == b'\r');
    if breaks(name) || value.is_some_and(breaks) {
        return Err(EditError { name: name.into() });
    }
    out.push(op);
    out.push_str(name);
    out.push('\n');
    if let Some(v) = value {
        out.push_str(v);
        out.push('\n');
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_messages_fields_are_appends_in_order() {
        let fields = [("content-type", "text/css"), ("vary", "a"), ("vary", "b")];
        let text = encode_fields(fields).unwrap();
        assert_eq!(text, "+content-type\ntext/css\n+vary\na\n+vary\nb\n");
        assert_eq!(encode_fields([]).unwrap(), "");
        let bad = encode_fields([("x-a", "fine"), ("x-b", "one\rtwo")]);
        assert_eq!(bad, Err(EditError { name: "x-b".into() }));
    }

    #[test]
    fn encodes_removals_sets_and_appends_in_order() {
        let mut e = HeaderEdits {
            remove: vec!["connection".into(), Cow::Owned("x-hop".to_string())],
            set: vec![("location", "https://shop.test/a".into())],
            append: vec![("set-cookie", "a=1; Path=/".into())],
        };
        e.extend(HeaderEdits {
            remove: vec!["server".into()],
            set: vec![],
            append: vec![("server-timing", "edge;dur=1".into()), ("x-e", "".into())],
        });
        assert_eq!(
            e.encode().unwrap(),
            "-connection\n-x-hop\n-server\n=location\nhttps://shop.test/a\n\
             +set-cookie\na=1; Path=/\n+server-timing\nedge;dur=1\n+x-e\n\n"
        );
        assert_eq!(HeaderEdits::default().encode().unwrap(), "");
    }

    #[test]
    fn only_names_present_are_kept_in_order() {
        let names = vec![
            "te".into(),
            Cow::Owned("x-hop".to_string()),
            "server".into(),
        ];
        let get = |n: &str| (n != "te").then(|| "1".to_string());
        assert_eq!(only_present(names, get), ["x-hop", "server"]);
    }

    #[test]
    fn a_line_break_is_refused_naming_the_header() {
        let e = HeaderEdits {
            set: vec![("location", "/a\r\nx-injected: 1".into())],
            ..HeaderEdits::default()
        };
        let err = e.encode().unwrap_err();
        assert_eq!(err.name, "location");
        assert!(err.to_string().contains("\"location\""));
        let e = HeaderEdits {
            remove: vec![Cow::Owned("a\nb".into())],
            ..HeaderEdits::default()
        };
        assert!(e.encode().is_err());
    }
}
