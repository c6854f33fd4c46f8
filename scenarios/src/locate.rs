//! Finds where a value sits in the RON text, by path (`clients[0].timeout`,
//! `pools[1].service.median`), so that semantic errors found after parsing still point at
//! file:line:col. ron gives spans only for its own errors; this scanner walks the (already
//! valid) text's tokens once and records the byte span of every value it passes.
//!
//! Path rules: a field adds `.name`, a list element `[i]`; a struct or variant name before `(`
//! adds nothing; a parenthesised group with a single unnamed value (`Some(x)`, `Constant("1s")`)
//! is transparent; with several unnamed values each adds `[i]`.

use crate::tokens::{Kind, Token, lex};
use std::collections::BTreeMap;
use std::ops::Range;

/// Byte spans of every value, keyed by path.
#[derive(Debug, Default)]
pub struct Locations {
    spans: BTreeMap<String, Range<usize>>,
}

impl Locations {
    /// Scans `src`. On text it cannot follow it stops and keeps what it found.
    pub fn scan(src: &str) -> Locations {
        let lexed = lex(src);
        let mut w = Walker {
            src,
            toks: &lexed.tokens,
            i: 0,
            out: BTreeMap::new(),
        };
        // Inner attributes such as `#![enable(implicit_some)]` come before the value.
        while w.at_punct('#') {
            while let Some(t) = w.bump() {
                if t.is_punct(']') {
                    break;
                }
            }
        }
        let _ = w.value(String::new());
        Locations { spans: w.out }
    }

    /// The span of the value at `path`, if it was written in the file.
    pub fn get(&self, path: &str) -> Option<Range<usize>> {
        self.spans.get(path).cloned()
    }

    /// The span at `path`, else at the nearest enclosing path that exists (at worst the whole
    /// value, whose path is empty).
    pub fn nearest(&self, path: &str) -> Option<Range<usize>> {
        let mut p = path;
        loop {
            if let Some(s) = self.get(p) {
                return Some(s);
            }
            if p.is_empty() {
                return None;
            }
            p = p.get(..p.rfind(['.', '[']).unwrap_or(0)).unwrap_or("");
        }
    }
}

/// A recursive descent over the tokens that records where each value starts and ends.
struct Walker<'a> {
    src: &'a str,
    toks: &'a [Token],
    i: usize,
    out: BTreeMap<String, Range<usize>>,
}

impl Walker<'_> {
    fn peek_at(&self, ahead: usize) -> Option<&Token> {
        self.toks.get(self.i + ahead)
    }

    fn at_punct(&self, c: char) -> bool {
        self.peek_at(0).is_some_and(|t| t.is_punct(c))
    }

    fn bump(&mut self) -> Option<&Token> {
        let t = self.toks.get(self.i)?;
        self.i += 1;
        Some(t)
    }

    /// Skips one `,` if there is one.
    fn comma(&mut self) {
        if self.at_punct(',') {
            self.i += 1;
        }
    }

    /// Parses one value at `path`, recording its span. None on text it cannot follow.
    fn value(&mut self, path: String) -> Option<()> {
        let first = self.bump()?;
        let (start, kind) = (first.span.start, first.kind);
        match kind {
            Kind::Str { .. } => {}
            Kind::Word => {
                // A struct or variant name: its parenthesised body belongs to this value.
                if self.at_punct('(') {
                    self.i += 1;
                    self.group(&path)?;
                }
            }
            Kind::Punct('(') => self.group(&path)?,
            Kind::Punct('[') => {
                let mut k = 0;
                while !self.at_punct(']') {
                    self.value(format!("{path}[{k}]"))?;
                    k += 1;
                    self.comma();
                }
                self.i += 1;
            }
            Kind::Punct('{') => {
                // Maps: entries are recorded by their key's text.
                while !self.at_punct('}') {
                    let key = self
                        .peek_at(0)?
                        .text(self.src)
                        .trim_matches('"')
                        .to_string();
                    self.value(format!("{path}{{}}"))?;
                    if !self.at_punct(':') {
                        return None;
                    }
                    self.i += 1;
                    self.value(format!("{path}.{key}"))?;
                    self.comma();
                }
                self.i += 1;
            }
            Kind::Punct(_) => return None,
        }
        let end = self
            .i
            .checked_sub(1)
            .and_then(|last| self.toks.get(last))
            .map_or(start, |t| t.span.end);
        self.out.insert(path, start..end);
        Some(())
    }

    /// The inside of `( … )`, after the `(`: named fields, or unnamed values.
    fn group(&mut self, path: &str) -> Option<()> {
        let mut unnamed = 0;
        while !self.at_punct(')') {
            let named = self.peek_at(0).is_some_and(|t| t.kind == Kind::Word)
                && self.peek_at(1).is_some_and(|t| t.is_punct(':'));
            if named {
                let field = self.peek_at(0)?.text(self.src);
                let p = if path.is_empty() {
                    field.to_string()
                } else {
                    format!("{path}.{field}")
                };
                self.i += 2;
                self.value(p)?;
            } else {
                self.value(format!("{path}[{unnamed}]"))?;
                unnamed += 1;
            }
            self.comma();
        }
        self.i += 1;
        if unnamed == 1 {
            // Transparent: `Some(x)` and newtype variants. Re-key the child's paths.
            let prefix = format!("{path}[0]");
            let moved: Vec<(String, Range<usize>)> = self
                .out
                .range(prefix.clone()..)
                .take_while(|(k, _)| k.starts_with(&prefix))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            for (k, v) in moved {
                self.out.remove(&k);
                let rest = k.get(prefix.len()..).unwrap_or("");
                self.out.entry(format!("{path}{rest}")).or_insert(v);
            }
        }
        Some(())
    }
}

/// 1-based line and column (in characters) of byte offset `at`.
pub fn line_col(src: &str, at: usize) -> (usize, usize) {
    // An offset inside a character counts as that character.
    let mut at = at.min(src.len());
    while !src.is_char_boundary(at) {
        at -= 1;
    }
    let before = src.get(..at).unwrap_or("");
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let col = before
        .get(line_start..)
        .map_or(1, |s| s.chars().count() + 1);
    (line, col)
}

/// Byte offset of 1-based `line` and character `col`; a column past the end of its line means
/// the end of that line, a line past the end of the text the end of the text.
pub fn offset(src: &str, line: usize, col: usize) -> usize {
    let mut off = 0;
    for (i, l) in src.split_inclusive('\n').enumerate() {
        if i + 1 == line {
            let content = l.trim_end_matches(['\n', '\r']).len();
            return off
                + l.char_indices()
                    .nth(col.saturating_sub(1))
                    .map_or(content, |(b, _)| b.min(content));
        }
        off += l.len();
    }
    src.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SRC: &str = r#"// header
#![enable(implicit_some)]
Scenario(
    name: "x", /* a /* nested */ comment */
    clients: [
        Client(name: "c", arrivals: Poisson(rate_per_s: -1.0), timeout: Some("1s"), target: "p"),
    ],
    pools: [Pool(name: "p", service: Constant("1s"), weights: (1, 2), m: {"k": r"v"})],
)"#;

    fn at<'a>(l: &Locations, path: &str) -> Option<&'a str> {
        l.get(path).and_then(|r| SRC.get(r))
    }

    #[test]
    fn finds_values_by_path() {
        let l = Locations::scan(SRC);
        assert_eq!(at(&l, "name"), Some("\"x\""));
        assert_eq!(at(&l, "clients[0].arrivals.rate_per_s"), Some("-1.0"));
        assert_eq!(
            at(&l, "clients[0].arrivals"),
            Some("Poisson(rate_per_s: -1.0)")
        );
        assert_eq!(at(&l, "clients[0].timeout"), Some("Some(\"1s\")"));
        assert_eq!(at(&l, "clients[0].target"), Some("\"p\""));
        assert_eq!(at(&l, "pools[0].service"), Some("Constant(\"1s\")"));
        assert_eq!(at(&l, "pools[0].weights[1]"), Some("2"));
        assert_eq!(at(&l, "pools[0].m.k"), Some("r\"v\""));
        assert!(at(&l, "clients[0]").is_some_and(|s| s.starts_with("Client(") && s.ends_with(')')));
        assert!(at(&l, "clients").is_some_and(|s| s.starts_with('[') && s.ends_with(']')));
        assert_eq!(at(&l, "clients[1]"), None);
        assert_eq!(
            l.nearest("pools[0].service.mean").and_then(|r| SRC.get(r)),
            Some("Constant(\"1s\")")
        );
        assert_eq!(l.nearest("nothing.here"), l.get(""));
        assert!(
            l.get("")
                .is_some_and(|r| SRC.get(r).is_some_and(|s| s.starts_with("Scenario(")))
        );
        assert_eq!(Locations::scan("").nearest("a.b"), None);
    }

    #[test]
    fn transparent_wrappers_keep_inner_paths() {
        let src = "S(f: Some(F(a: \"1s\")), e: E([\"a\", \"b\"]))";
        let l = Locations::scan(src);
        assert_eq!(l.get("f.a").and_then(|r| src.get(r)), Some("\"1s\""));
        assert_eq!(l.get("e[1]").and_then(|r| src.get(r)), Some("\"b\""));
    }

    #[test]
    fn stops_quietly_on_broken_text() {
        let l = Locations::scan("S(a: 1, b: [2, 3");
        assert_eq!(l.get("a"), Some(5..6));
        assert_eq!(l.get("b[1]"), Some(15..16));
        assert_eq!(l.get("b"), None);
        assert_eq!(Locations::scan("").get(""), None);
        assert_eq!(Locations::scan(")").get(""), None);
    }

    #[test]
    fn positions_count_characters() {
        let src = "ab\n«é» x";
        let off = src.find('x').unwrap_or(usize::MAX);
        assert_eq!(line_col(src, off), (2, 5));
        assert_eq!(offset(src, 2, 5), off);
        assert_eq!(line_col(src, 0), (1, 1));
        assert_eq!(offset(src, 1, 1), 0);
        // Past the end of a line or of the text: clamp, never panic.
        assert_eq!(offset(src, 1, 99), 2);
        assert_eq!(line_col(src, 4), (2, 1), "inside `«` counts as `«`");
        assert_eq!(offset(src, 9, 1), src.len());
        assert_eq!(line_col(src, 999), (2, 6));
    }
}
