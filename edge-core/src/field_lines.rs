//! A message's header fields as the glue reads them from the runtime in one call: names and
//! values on alternate lines (`name\nvalue\n…`; neither may hold a line break). One call and
//! one string, where asking after each name would cross from Wasm into JavaScript each time.

/// The fields, parsed once; lookups compare names without regard to case.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldLines {
    text: String,
    /// Byte ranges of each field's name and value in `text`.
    at: Vec<[usize; 4]>,
    /// Bit `n` is set when some name is `n` bytes long (`n` < 64; bit 63 for longer ones): a
    /// lookup of a name no field has, the common case, is then answered without a scan.
    lengths: u64,
}

/// The bit of [`FieldLines::lengths`] for a name of `len` bytes.
fn length_bit(len: usize) -> u64 {
    1 << len.min(63)
}

impl FieldLines {
    /// Parses `text`; a trailing name without its value line is ignored.
    pub fn parse(text: String) -> Self {
        let mut at = Vec::with_capacity(16);
        let (mut start, mut name, mut lengths) = (0, None, 0);
        let bytes = text.as_bytes();
        while let Some(len) = bytes
            .get(start..)
            .and_then(|b| b.iter().position(|&b| b == b'\n'))
        {
            let i = start + len;
            match name.take() {
                None => name = Some((start, i)),
                Some((n0, n1)) => {
                    lengths |= length_bit(n1 - n0);
                    at.push([n0, n1, start, i]);
                }
            }
            start = i + 1;
        }
        FieldLines { text, at, lengths }
    }

    /// The value of field `name` (the runtime has already combined repeated fields).
    pub fn get(&self, name: &str) -> Option<&str> {
        if self.lengths & length_bit(name.len()) == 0 {
            return None;
        }
        let bytes = self.text.as_bytes();
        let f = self.at.iter().find(|f| {
            f[1] - f[0] == name.len()
                && bytes
                    .get(f[0]..f[1])
                    .is_some_and(|n| n.eq_ignore_ascii_case(name.as_bytes()))
        })?;
        Some(self.part(f[2], f[3]))
    }

    /// The size of the fields as they go on the wire in HTTP/1.1 (`name: value` and CRLF each),
    /// in bytes.
    pub fn wire_size(&self) -> usize {
        self.text.len() + 2 * self.at.len()
    }

    /// The size of the largest field's name and value together, in bytes.
    pub fn largest(&self) -> usize {
        self.at
            .iter()
            .map(|f| (f[1] - f[0]) + (f[3] - f[2]))
            .max()
            .unwrap_or(0)
    }

    /// Every field's name, in the runtime's order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.at.iter().map(|f| self.part(f[0], f[1]))
    }

    /// Every field as a name and a value, in the runtime's order (`Set-Cookie` lines apart).
    pub fn pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.at
            .iter()
            .map(|f| (self.part(f[0], f[1]), self.part(f[2], f[3])))
    }

    fn part(&self, from: usize, to: usize) -> &str {
        self.text.get(from..to).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_values_on_alternate_lines() {
        let f = FieldLines::parse("host\nshop.test\ncookie\na=1; b=2\nx-empty\n\n".into());
        assert_eq!(f.get("host"), Some("shop.test"));
        assert_eq!(f.get("Cookie"), Some("a=1; b=2"), "any case");
        assert_eq!(f.get("x-empty"), Some(""));
        assert!(f.get("X-EMPTY").is_some());
        assert_eq!(f.get("connection"), None);
        assert!(f.get("shop.test").is_none(), "a value is not a name");
        let names: Vec<&str> = f.names().collect();
        assert_eq!(names, ["host", "cookie", "x-empty"]);
        let pairs: Vec<(&str, &str)> = f.pairs().collect();
        assert_eq!(
            pairs,
            [
                ("host", "shop.test"),
                ("cookie", "a=1; b=2"),
                ("x-empty", "")
            ]
        );
        assert_eq!(f.largest(), "cookie".len() + "a=1; b=2".len());
        assert_eq!(
            f.wire_size(),
            "host: shop.test\r\ncookie: a=1; b=2\r\nx-empty: \r\n".len()
        );
    }

    #[test]
    fn names_of_every_length_are_found() {
        let long = "x-".repeat(40);
        let text = format!("a\n1\n{long}\n2\n{}\n3\nSet-Cookie\n4\n", &long[..63]);
        let f = FieldLines::parse(text);
        assert_eq!(f.get("a"), Some("1"));
        assert_eq!(f.get(&long), Some("2"), "longer than 63 bytes");
        assert_eq!(f.get(&long[..63]), Some("3"));
        assert_eq!(
            f.get(&long[..64]),
            None,
            "same bit as the longer name, not present"
        );
        assert_eq!(f.get("set-cookie"), Some("4"));
        assert_eq!(f.get("SET-COOKIE"), Some("4"));
        assert_eq!((f.get("A"), f.get("b"), f.get("")), (Some("1"), None, None));
    }

    #[test]
    fn nothing_and_a_truncated_text() {
        assert_eq!(FieldLines::parse(String::new()).get("host"), None);
        let f = FieldLines::parse("host\nshop.test\nlonely\n".into());
        assert_eq!(f.get("host"), Some("shop.test"));
        assert_eq!(f.get("lonely"), None);
        let f = FieldLines::parse("host\nno newline at the end".into());
        assert_eq!(f.get("host"), None);
    }
}
