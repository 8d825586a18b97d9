//! JavaScript: static `import`/`export … from`, dynamic `import()` and `sourceMappingURL`
//! comments. A small lexer skips comments, strings, template literals and regular expressions so
//! that text inside them is never mistaken for code.

use std::ops::Range;

use super::{find, quoted, source_map_url, RawRef, RefKind};

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    /// Identifier, keyword or number.
    Word(Range<usize>),
    /// String literal: the span of its content; `None` when it has escapes (not rewritable).
    Str(Option<Range<usize>>),
    /// One punctuation byte.
    Punct(u8),
    /// Template literal, regular expression.
    Other,
}

/// Keywords after which a `/` starts a regular expression rather than a division.
const REGEX_AFTER: &[&[u8]] = &[
    b"return",
    b"typeof",
    b"instanceof",
    b"in",
    b"of",
    b"new",
    b"delete",
    b"void",
    b"throw",
    b"case",
    b"do",
    b"else",
    b"yield",
    b"await",
];

/// Finds the module references in a script.
pub fn find_refs(b: &[u8]) -> Vec<RawRef> {
    let mut refs = Vec::new();
    let mut lx = Lexer {
        b,
        i: 0,
        braces: Vec::new(),
        prev: None,
    };
    let mut state = State::Idle;
    while let Some(tok) = lx.next(&mut refs) {
        state = step(state, &tok, b, &mut refs);
        lx.prev = Some(tok);
    }
    refs
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum State {
    Idle,
    /// Saw `.` (so a following `import` is a property, not a keyword).
    Dot,
    /// Saw `import`.
    Import,
    /// Saw `import(`.
    DynamicImport,
    /// Saw `import("spec"`, waiting for `)` or `,` to confirm.
    DynamicSpec(usize, usize),
    /// Saw `export`.
    Export,
    /// Inside an import/export clause, waiting for `from`.
    Clause,
    /// Saw `from`.
    From,
}

fn step(state: State, tok: &Tok, b: &[u8], refs: &mut Vec<RawRef>) -> State {
    let is = |t: &Tok, w: &[u8]| matches!(t, Tok::Word(r) if &b[r.clone()] == w);
    let mut push = |span: Range<usize>| {
        refs.push(RawRef {
            span,
            kind: RefKind::JsImport,
        });
        State::Idle
    };
    match (state, tok) {
        (State::Dot, _) if is(tok, b"import") => State::Idle,
        (State::Import, Tok::Punct(b'(')) => State::DynamicImport,
        (State::Import, Tok::Str(Some(span))) => push(span.clone()),
        (State::Import, Tok::Word(_) | Tok::Punct(b'{' | b'*'))
        | (State::Export, Tok::Punct(b'{' | b'*')) => State::Clause,
        (State::Clause, _) if is(tok, b"from") => State::From,
        (State::Clause, Tok::Word(_) | Tok::Punct(b'{' | b'}' | b'*' | b',')) => State::Clause,
        (State::From, Tok::Str(Some(span))) => push(span.clone()),
        (State::DynamicImport, Tok::Str(Some(span))) => State::DynamicSpec(span.start, span.end),
        (State::DynamicSpec(s, e), Tok::Punct(b')' | b',')) => push(s..e),
        _ => fresh(tok, b),
    }
}

/// The state a token leads to when it does not continue a pattern.
fn fresh(tok: &Tok, b: &[u8]) -> State {
    match tok {
        Tok::Punct(b'.') => State::Dot,
        Tok::Word(r) if &b[r.clone()] == b"import" => State::Import,
        Tok::Word(r) if &b[r.clone()] == b"export" => State::Export,
        _ => State::Idle,
    }
}

struct Lexer<'a> {
    b: &'a [u8],
    i: usize,
    /// Open `{` (false) and template `${` (true), innermost last.
    braces: Vec<bool>,
    prev: Option<Tok>,
}

impl Lexer<'_> {
    fn next(&mut self, refs: &mut Vec<RawRef>) -> Option<Tok> {
        let b = self.b;
        loop {
            let c = *b.get(self.i)?;
            match c {
                _ if c.is_ascii_whitespace() => self.i += 1,
                b'/' if b.get(self.i + 1) == Some(&b'/') => {
                    let end = memchr(b, self.i, b'\n');
                    if let Some(span) = source_map_url(b, self.i + 2, end) {
                        refs.push(RawRef {
                            span,
                            kind: RefKind::SourceMap,
                        });
                    }
                    self.i = end;
                }
                b'/' if b.get(self.i + 1) == Some(&b'*') => {
                    let end = find(b, self.i + 2, b"*/").unwrap_or(b.len());
                    if let Some(span) = source_map_url(b, self.i + 2, end) {
                        refs.push(RawRef {
                            span,
                            kind: RefKind::SourceMap,
                        });
                    }
                    self.i = (end + 2).min(b.len());
                }
                b'/' if self.regex_allowed() => {
                    return Some(match self.regex() {
                        Some(next) => {
                            self.i = next;
                            Tok::Other
                        }
                        None => {
                            self.i += 1;
                            Tok::Punct(b'/')
                        }
                    });
                }
                b'"' | b'\'' => return Some(self.string(c)),
                b'`' => {
                    self.i += 1;
                    self.template();
                    return Some(Tok::Other);
                }
                b'{' => {
                    self.braces.push(false);
                    self.i += 1;
                    return Some(Tok::Punct(c));
                }
                b'}' => {
                    self.i += 1;
                    if self.braces.pop() == Some(true) {
                        self.template();
                        return Some(Tok::Other);
                    }
                    return Some(Tok::Punct(c));
                }
                _ if is_word(c) => {
                    let start = self.i;
                    while self.i < b.len() && is_word(b[self.i]) {
                        self.i += 1;
                    }
                    return Some(Tok::Word(start..self.i));
                }
                _ => {
                    self.i += 1;
                    return Some(Tok::Punct(c));
                }
            }
        }
    }

    fn regex_allowed(&self) -> bool {
        match &self.prev {
            None => true,
            Some(Tok::Punct(p)) => !matches!(p, b')' | b']' | b'}'),
            Some(Tok::Word(r)) => REGEX_AFTER.contains(&&self.b[r.clone()]),
            Some(Tok::Str(_)) | Some(Tok::Other) => false,
        }
    }

    /// Scans a regular expression literal at `self.i`; the index after it, or `None` if the
    /// line ends first (then it was a division after all).
    fn regex(&self) -> Option<usize> {
        let b = self.b;
        let mut i = self.i + 1;
        let mut class = false;
        while i < b.len() {
            match b[i] {
                b'\\' => i += 1,
                b'\n' | b'\r' => return None,
                b'[' => class = true,
                b']' => class = false,
                b'/' if !class => {
                    i += 1;
                    while i < b.len() && is_word(b[i]) {
                        i += 1;
                    }
                    return Some(i);
                }
                _ => {}
            }
            i += 1;
        }
        None
    }

    fn string(&mut self, quote: u8) -> Tok {
        let (span, next) = quoted(self.b, self.i + 1, quote, b"\n\r");
        self.i = next;
        Tok::Str(span)
    }

    /// Skips template text from `self.i` up to the closing backtick or a `${`.
    fn template(&mut self) {
        let b = self.b;
        while self.i < b.len() {
            match b[self.i] {
                b'\\' => self.i += 2,
                b'`' => {
                    self.i += 1;
                    return;
                }
                b'$' if b.get(self.i + 1) == Some(&b'{') => {
                    self.i += 2;
                    self.braces.push(true);
                    return;
                }
                _ => self.i += 1,
            }
        }
        self.i = b.len();
    }
}

fn is_word(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c == b'$' || c >= 0x80
}

fn memchr(b: &[u8], from: usize, c: u8) -> usize {
    b[from..]
        .iter()
        .position(|&x| x == c)
        .map_or(b.len(), |p| p + from)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn specs(src: &str) -> Vec<String> {
        find_refs(src.as_bytes())
            .into_iter()
            .map(|r| src[r.span].to_string())
            .collect()
    }

    #[test]
    fn static_imports_and_reexports() {
        let src = r#"
import a from './a.js';
import { b, c as d } from "../b.js"
import * as ns from './ns.js';
import e, { f } from './e.js';
import './side.js';
export * from './star.js';
export * as all from './all.js';
export { g } from './g.js';
export const h = 1;
export default function () {}
"#;
        assert_eq!(
            specs(src),
            [
                "./a.js",
                "../b.js",
                "./ns.js",
                "./e.js",
                "./side.js",
                "./star.js",
                "./all.js",
                "./g.js"
            ]
        );
    }

    #[test]
    fn dynamic_imports_and_minified_code() {
        let src = r#"const m=await import("./lazy.js");import('./opt.js',{with:{}});x.import("no.js");import.meta.url;let y=a/b/c;import{z}from"./z.js";"#;
        assert_eq!(specs(src), ["./lazy.js", "./opt.js", "./z.js"]);
    }

    #[test]
    fn ignores_lookalikes_in_strings_comments_templates_and_regexes() {
        let src = r#"
// import a from './no1.js'
/* import b from './no2.js' */
const s = "import c from './no3.js'";
const t = `import d from './no4.js' ${ import('./yes1.js') } tail`;
const r = /import e from '.\/no5.js'/g;
const q = `${ `${"nested"}` }`;
import f from './yes2.js';
"#;
        assert_eq!(specs(src), ["./yes1.js", "./yes2.js"]);
    }

    #[test]
    fn export_clause_without_from_is_not_a_reference() {
        let src = "const a=1;export { a }\nimport b from './b.js'";
        assert_eq!(specs(src), ["./b.js"]);
    }

    #[test]
    fn source_map_comments() {
        assert_eq!(
            specs("x()\n//# sourceMappingURL=app.js.map\n"),
            ["app.js.map"]
        );
        assert_eq!(
            specs("x()\n/*# sourceMappingURL=app.js.map */"),
            ["app.js.map"]
        );
    }

    #[test]
    fn survives_broken_input() {
        for src in [
            "import",
            "import(",
            "import('",
            "`${",
            "}}}}",
            "/",
            "/[",
            "'\\",
            "export {",
            "import x from",
        ] {
            let _ = find_refs(src.as_bytes());
        }
        let bytes: Vec<u8> = (0..=255u8).cycle().take(4096).collect();
        let _ = find_refs(&bytes);
    }
}
