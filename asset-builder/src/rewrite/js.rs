//! JavaScript: static `import`/`export … from`, dynamic `import()`, `new URL("…",
//! import.meta.url)` and `sourceMappingURL` comments. A small lexer skips comments, strings,
//! template literals and regular expressions so that text inside them is never mistaken for code.
//!
//! Whether a `/` starts a regular expression or is a division depends on what precedes it; after
//! `)` and `}` that depends on what the bracket closed: `if (x) /re/` and `{ … } /re/` (a block)
//! start a regex, `f(x) / 2` and `({}) / 2` divide. The lexer keeps a stack of open brackets to
//! tell. When it still loses track (a string that never ends on its line, which valid code never
//! has), any mention of an import on that line is reported as [`Doubt::LostTrack`].

use std::ops::Range;

use super::{find, quoted, source_map_url, Doubt, Quoted, RawRef, RefKind, Scan, Unclassified};

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    /// Identifier, keyword or number.
    Word(Range<usize>),
    /// String literal.
    Str(Quoted),
    /// The start of a template literal (index after the backtick).
    Template(usize),
    /// One punctuation byte.
    Punct(u8),
    /// A regular expression, or the rest of a template after `${…}`.
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

/// Keywords whose parenthesised head is followed by a statement, so `)` ends no expression.
const CONTROL: &[&[u8]] = &[b"if", b"while", b"for", b"with"];

/// Finds the module references in a script.
pub fn find_refs(b: &[u8]) -> Scan {
    let mut scan = Scan::default();
    let mut lx = Lexer {
        b,
        i: 0,
        brackets: Vec::new(),
        regex_ok: true,
        prev: None,
        prev_end: 0,
    };
    let mut state = State::Idle;
    while let Some(tok) = lx.next(&mut scan) {
        state = step(state, &tok, b, &mut scan);
        lx.prev = Some(tok);
    }
    scan.finish()
}

#[derive(Debug, Clone, PartialEq)]
enum State {
    Idle,
    /// Saw `.` (so a following `import` is a property, not a keyword).
    Dot,
    /// Saw `import`.
    Import,
    /// Saw `import(`.
    DynamicImport,
    /// Saw `import("spec"`, waiting for `)` or `,` to confirm.
    DynamicSpec(Range<usize>),
    /// Saw `export`.
    Export,
    /// Inside an import/export clause, waiting for `from`.
    Clause,
    /// Saw `from`.
    From,
    /// Saw `new`.
    New,
    /// Saw `new URL`.
    NewUrl,
    /// Saw `new URL(`.
    NewUrlOpen,
    /// Saw `new URL("spec"`.
    NewUrlSpec(Range<usize>),
    /// Saw `new URL("spec",` and the first `n` tokens of `import.meta.url`.
    NewUrlBase(Range<usize>, usize),
}

/// `import.meta.url`, token by token.
const IMPORT_META_URL: [&[u8]; 5] = [b"import", b".", b"meta", b".", b"url"];

fn step(state: State, tok: &Tok, b: &[u8], scan: &mut Scan) -> State {
    let is = |t: &Tok, w: &[u8]| match t {
        Tok::Word(r) => &b[r.clone()] == w,
        Tok::Punct(p) => w.len() == 1 && w[0] == *p,
        _ => false,
    };
    let mut push = |span: Range<usize>, kind: RefKind| {
        scan.refs.push(RawRef { span, kind });
        State::Idle
    };
    match (state, tok) {
        (State::Dot, _) if is(tok, b"import") => State::Idle,
        (State::Import, Tok::Punct(b'(')) => State::DynamicImport,
        (State::Import, Tok::Str(Quoted::Plain(span))) => push(span.clone(), RefKind::JsImport),
        (State::Import, Tok::Word(_) | Tok::Punct(b'{' | b'*'))
        | (State::Export, Tok::Punct(b'{' | b'*')) => State::Clause,
        (State::Clause, _) if is(tok, b"from") => State::From,
        (State::Clause, Tok::Word(_) | Tok::Punct(b'{' | b'}' | b'*' | b',')) => State::Clause,
        (State::From, Tok::Str(Quoted::Plain(span))) => push(span.clone(), RefKind::JsImport),
        (State::DynamicImport, Tok::Str(Quoted::Plain(span))) => State::DynamicSpec(span.clone()),
        (State::Import | State::From | State::DynamicImport, Tok::Str(q)) => {
            doubt_literal(b, q, scan);
            State::Idle
        }
        (State::DynamicImport, Tok::Template(at)) => {
            if relative_looking(b, *at) {
                scan.unclassified.push(Unclassified {
                    at: *at,
                    why: Doubt::NotALiteral,
                });
            }
            State::Idle
        }
        (State::DynamicSpec(span), Tok::Punct(b')' | b',')) => push(span, RefKind::JsImport),
        (State::DynamicSpec(span), Tok::Punct(b'+')) => {
            // `import("./locale/" + lang)`: a concatenation the builder cannot rewrite.
            if relative_looking(b, span.start) {
                scan.unclassified.push(Unclassified {
                    at: span.start,
                    why: Doubt::NotALiteral,
                });
            }
            State::Idle
        }
        (State::New, _) if is(tok, b"URL") => State::NewUrl,
        (State::NewUrl, Tok::Punct(b'(')) => State::NewUrlOpen,
        (State::NewUrlOpen, Tok::Str(Quoted::Plain(span))) => State::NewUrlSpec(span.clone()),
        (State::NewUrlSpec(span), Tok::Punct(b',')) => State::NewUrlBase(span, 0),
        (State::NewUrlBase(span, n), _) if n < IMPORT_META_URL.len() => {
            if is(tok, IMPORT_META_URL[n]) {
                State::NewUrlBase(span, n + 1)
            } else {
                fresh(tok, b)
            }
        }
        (State::NewUrlBase(span, _), Tok::Punct(b')' | b',')) => push(span, RefKind::JsUrl),
        (_, tok) => fresh(tok, b),
    }
}

/// Reports a string in specifier position that cannot be rewritten (escapes, or never ends),
/// unless it is clearly a bare or absolute specifier.
fn doubt_literal(b: &[u8], q: &Quoted, scan: &mut Scan) {
    let at = match q {
        Quoted::Plain(_) => return,
        Quoted::Escaped(span) => span.start,
        Quoted::Unterminated(at) => *at,
    };
    if matches!(b.get(at), Some(b'.' | b'\\')) {
        scan.unclassified.push(Unclassified {
            at,
            why: Doubt::NotALiteral,
        });
    }
}

/// Whether the text at `at` starts like a relative specifier (`./`, `../`).
fn relative_looking(b: &[u8], at: usize) -> bool {
    b.get(at..)
        .is_some_and(|t| t.starts_with(b"./") || t.starts_with(b"../"))
}

/// The state a token leads to when it does not continue a pattern.
fn fresh(tok: &Tok, b: &[u8]) -> State {
    match tok {
        Tok::Punct(b'.') => State::Dot,
        Tok::Word(r) if &b[r.clone()] == b"import" => State::Import,
        Tok::Word(r) if &b[r.clone()] == b"export" => State::Export,
        Tok::Word(r) if &b[r.clone()] == b"new" => State::New,
        _ => State::Idle,
    }
}

/// An open bracket.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Bracket {
    /// `(`; `true` when it opened the head of `if`/`while`/`for`/`with`.
    Paren(bool),
    /// `{` opening a block (a `/` after its `}` starts a regex).
    Block,
    /// `{` opening an object literal (a `/` after its `}` divides).
    Object,
    /// `${` inside a template literal.
    Template,
}

struct Lexer<'a> {
    b: &'a [u8],
    i: usize,
    /// Open brackets, innermost last.
    brackets: Vec<Bracket>,
    /// Whether a `/` here starts a regular expression.
    regex_ok: bool,
    prev: Option<Tok>,
    /// The index just after `prev`.
    prev_end: usize,
}

impl Lexer<'_> {
    /// The next token, and whether a `/` after it starts a regular expression.
    fn next(&mut self, scan: &mut Scan) -> Option<Tok> {
        let (tok, regex_ok) = self.token(scan)?;
        self.regex_ok = regex_ok;
        self.prev_end = self.i;
        Some(tok)
    }

    fn token(&mut self, scan: &mut Scan) -> Option<(Tok, bool)> {
        let b = self.b;
        loop {
            let c = *b.get(self.i)?;
            match c {
                _ if c.is_ascii_whitespace() => self.i += 1,
                b'/' if b.get(self.i + 1) == Some(&b'/') => {
                    let end = memchr(b, self.i, b'\n');
                    if let Some(span) = source_map_url(b, self.i + 2, end) {
                        scan.refs.push(RawRef {
                            span,
                            kind: RefKind::SourceMap,
                        });
                    }
                    self.i = end;
                }
                b'/' if b.get(self.i + 1) == Some(&b'*') => {
                    let end = find(b, self.i + 2, b"*/");
                    let stop = end.unwrap_or(b.len());
                    if let Some(span) = source_map_url(b, self.i + 2, stop) {
                        scan.refs.push(RawRef {
                            span,
                            kind: RefKind::SourceMap,
                        });
                    }
                    if end.is_none() {
                        self.lost_track(self.i, b.len(), scan);
                    }
                    self.i = (stop + 2).min(b.len());
                }
                b'/' if self.regex_ok => {
                    return Some(match self.regex() {
                        Some(next) => {
                            self.i = next;
                            (Tok::Other, false)
                        }
                        None => {
                            self.i += 1;
                            (Tok::Punct(b'/'), true)
                        }
                    });
                }
                b'"' | b'\'' => {
                    let (q, next) = quoted(b, self.i + 1, c, b"\n\r");
                    if let Quoted::Unterminated(at) = q {
                        self.lost_track(at, next, scan);
                    }
                    self.i = next;
                    return Some((Tok::Str(q), false));
                }
                b'`' => {
                    self.i += 1;
                    let at = self.i;
                    self.template(scan);
                    return Some((Tok::Template(at), false));
                }
                b'(' => {
                    let control = matches!(&self.prev,
                        Some(Tok::Word(r)) if CONTROL.contains(&&b[r.clone()]));
                    self.brackets.push(Bracket::Paren(control));
                    self.i += 1;
                    return Some((Tok::Punct(c), true));
                }
                b')' => {
                    self.i += 1;
                    let control = match self.brackets.last() {
                        Some(&Bracket::Paren(control)) => {
                            self.brackets.pop();
                            control
                        }
                        _ => false,
                    };
                    return Some((Tok::Punct(c), control));
                }
                b'{' => {
                    let kind = if self.opens_object() {
                        Bracket::Object
                    } else {
                        Bracket::Block
                    };
                    self.brackets.push(kind);
                    self.i += 1;
                    return Some((Tok::Punct(c), true));
                }
                b'}' => {
                    self.i += 1;
                    // Parens left open inside the braces (broken code) close with them.
                    while matches!(self.brackets.last(), Some(Bracket::Paren(_))) {
                        self.brackets.pop();
                    }
                    match self.brackets.pop() {
                        Some(Bracket::Template) => {
                            self.template(scan);
                            return Some((Tok::Other, false));
                        }
                        Some(Bracket::Object) => return Some((Tok::Punct(c), false)),
                        _ => return Some((Tok::Punct(c), true)),
                    }
                }
                _ if is_word(c) => {
                    let start = self.i;
                    while self.i < b.len() && is_word(b[self.i]) {
                        self.i += 1;
                    }
                    let regex_ok = REGEX_AFTER.contains(&&b[start..self.i]);
                    return Some((Tok::Word(start..self.i), regex_ok));
                }
                b']' => {
                    self.i += 1;
                    return Some((Tok::Punct(c), false));
                }
                _ => {
                    self.i += 1;
                    return Some((Tok::Punct(c), true));
                }
            }
        }
    }

    /// Whether a `{` here opens an object literal (an expression) rather than a block: after an
    /// operator, an opening bracket, `,`, `:`, `?` or a keyword that takes an expression; a block
    /// after `)`, `=>`, `;`, `}`, `else`, `do`, a name, or at the start.
    fn opens_object(&self) -> bool {
        match &self.prev {
            None => false,
            // `=>` is two tokens: the byte before the `>` tells.
            Some(Tok::Punct(b'>')) => {
                self.prev_end < 2 || self.b.get(self.prev_end - 2) != Some(&b'=')
            }
            Some(Tok::Punct(p)) => !matches!(p, b')' | b';' | b'}' | b']'),
            Some(Tok::Word(r)) => {
                let w = &self.b[r.clone()];
                w != b"else" && w != b"do" && REGEX_AFTER.contains(&w)
            }
            Some(_) => false,
        }
    }

    /// Reports a mention of an import or source map on the line holding `from..to`: the lexer
    /// has just met a literal that never ends there, so it may have misread that code.
    fn lost_track(&self, from: usize, to: usize, scan: &mut Scan) {
        let b = self.b;
        let start = b[..from.min(b.len())]
            .iter()
            .rposition(|&c| c == b'\n')
            .map_or(0, |p| p + 1);
        let end = memchr(b, to.min(b.len()), b'\n');
        let line = &b[start..end];
        if [&b"import"[..], b"sourceMappingURL", b"URL("]
            .iter()
            .any(|needle| find(line, 0, needle).is_some())
        {
            scan.unclassified.push(Unclassified {
                at: from,
                why: Doubt::LostTrack,
            });
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

    /// Skips template text from `self.i` up to the closing backtick or a `${`.
    fn template(&mut self, scan: &mut Scan) {
        let b = self.b;
        let start = self.i;
        while self.i < b.len() {
            match b[self.i] {
                b'\\' => self.i += 2,
                b'`' => {
                    self.i += 1;
                    return;
                }
                b'$' if b.get(self.i + 1) == Some(&b'{') => {
                    self.i += 2;
                    self.brackets.push(Bracket::Template);
                    return;
                }
                _ => self.i += 1,
            }
        }
        self.lost_track(start, b.len(), scan);
        self.i = b.len();
    }
}

fn is_word(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c == b'$' || c >= 0x80
}

fn memchr(b: &[u8], from: usize, c: u8) -> usize {
    b.get(from..)
        .and_then(|rest| rest.iter().position(|&x| x == c))
        .map_or(b.len(), |p| p + from)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn specs(src: &str) -> Vec<String> {
        find_refs(src.as_bytes())
            .refs
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

    /// The audit's input: a `/` after `)` or `}` can start a regex; the import after it used
    /// to be lost silently.
    #[test]
    fn a_regex_after_a_control_paren_or_a_block_is_a_regex() {
        let src = r#"if (x) /'/.test(s); import("./a.js")"#;
        assert_eq!(specs(src), ["./a.js"]);
        assert!(find_refs(src.as_bytes()).unclassified.is_empty());
        assert_eq!(specs("while(a)/\"/g.exec(b);import('./b.js')"), ["./b.js"]);
        assert_eq!(
            specs("function f(){}\n/'/.test(s);import('./c.js')"),
            ["./c.js"]
        );
        assert_eq!(specs("x=>{}\n/'/.test(s);import('./d.js')"), ["./d.js"]);
        // Divisions stay divisions.
        assert_eq!(
            specs("a = f(x) / 2; b = {}.n / 3; c = (y) / 4; import('./e.js')"),
            ["./e.js"]
        );
        assert_eq!(specs("x = ({a:1}) / 2 /1; import('./f.js')"), ["./f.js"]);
        assert_eq!(specs("v = a[0] / 2 / 1; import('./g.js')"), ["./g.js"]);
    }

    /// When the lexer still loses track, an import on that line is reported, never dropped
    /// silently.
    #[test]
    fn losing_track_near_an_import_is_reported() {
        // `) /` after a call divides, so this `'` opens a string that never ends.
        let src = "f(x) /'/.test(s); import('./a.js')\nimport './b.js'";
        let scan = find_refs(src.as_bytes());
        assert_eq!(scan.unclassified.len(), 1);
        assert_eq!(scan.unclassified[0].why, Doubt::LostTrack);
        assert_eq!(specs(src), ["./b.js"], "the next line is read again");
        // A broken string on a line without imports is nobody's business.
        assert!(find_refs(b"x = 'oops\ny = 1").unclassified.is_empty());
        assert_eq!(
            find_refs(b"const t = `never ends ${a} import('./x.js')")
                .unclassified
                .len(),
            1
        );
        assert_eq!(find_refs(b"/* open import './x.js'").unclassified.len(), 1);
    }

    #[test]
    fn unrewritable_specifiers_are_doubts() {
        for src in [
            "import(`./locale/${lang}.js`)",
            "import('./locale/' + lang)",
            r"import('.\/a.js')",
            r"import x from '.\u002fa.js'",
            r"import '.\x2fa.js'",
        ] {
            let scan = find_refs(src.as_bytes());
            assert!(scan.refs.is_empty(), "{src}");
            assert_eq!(scan.unclassified.len(), 1, "{src}");
            assert_eq!(scan.unclassified[0].why, Doubt::NotALiteral, "{src}");
        }
        for src in [
            "import(url)",
            "import(`https://x.test/${a}`)",
            "import('https://x.test/' + a)",
            r"import 'pkg\u002fa'",
        ] {
            assert!(find_refs(src.as_bytes()).unclassified.is_empty(), "{src}");
        }
    }

    #[test]
    fn new_url_relative_to_the_module_is_a_reference() {
        let src = "const a = new URL('./x.png', import.meta.url);\n\
                   const b = new URL(\"img/y.svg\", import.meta.url).href;\n\
                   const c = new URL('./no.png', location.href);\n\
                   const d = new URL('./no2.png');\n\
                   const e = new window.URL('./no3.png', import.meta.url);";
        let scan = find_refs(src.as_bytes());
        let got: Vec<_> = scan
            .refs
            .iter()
            .map(|r| (&src[r.span.clone()], r.kind))
            .collect();
        assert_eq!(
            got,
            [("./x.png", RefKind::JsUrl), ("img/y.svg", RefKind::JsUrl)]
        );
    }

    /// The audit's inputs: a comment inside a dynamic import used to put the source map
    /// reference before the import's in the list, and the build panicked applying them.
    #[test]
    fn a_comment_inside_a_dynamic_import_keeps_references_in_order() {
        for src in [
            r#"import("./a.js" /*# sourceMappingURL=b.map */)"#,
            "import(''//# sourceMappingURL=x\n)",
        ] {
            let scan = find_refs(src.as_bytes());
            assert_eq!(scan.refs.len(), 2, "{src}");
            assert!(scan.refs[0].span.end <= scan.refs[1].span.start, "{src}");
            assert_eq!(scan.refs[0].kind, RefKind::JsImport);
            assert_eq!(scan.refs[1].kind, RefKind::SourceMap);
        }
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
            ")))}}}",
            "new URL(",
            "new URL('a', import.meta",
            "if(/",
        ] {
            let _ = find_refs(src.as_bytes());
        }
        let bytes: Vec<u8> = (0..=255u8).cycle().take(4096).collect();
        let _ = find_refs(&bytes);
    }
}
