//! Finds where a value sits in the RON text, by path (`clients[0].timeout`,
//! `pools[1].service.median`), so that semantic errors found after parsing still point at
//! file:line:col. ron gives spans only for its own errors; this scanner walks the (already
//! valid) text once and records the byte span of every value it passes.
//!
//! Path rules: a field adds `.name`, a list element `[i]`; a struct or variant name before `(`
//! adds nothing; a parenthesised group with a single unnamed value (`Some(x)`, `Constant("1s")`)
//! is transparent; with several unnamed values each adds `[i]`.

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
        let mut s = Scanner {
            b: src.as_bytes(),
            i: 0,
            out: BTreeMap::new(),
        };
        s.skip_ws();
        // Inner attributes such as `#![enable(implicit_some)]`.
        while s.peek() == Some(b'#') {
            while let Some(c) = s.peek() {
                s.i += 1;
                if c == b']' {
                    break;
                }
            }
            s.skip_ws();
        }
        let _ = s.value(String::new());
        Locations { spans: s.out }
    }

    /// The span of the value at `path`, if it was written in the file.
    pub fn get(&self, path: &str) -> Option<Range<usize>> {
        self.spans.get(path).cloned()
    }

    /// The span at `path`, else at the nearest enclosing path that exists.
    pub fn nearest(&self, path: &str) -> Option<Range<usize>> {
        let mut p = path.to_string();
        loop {
            if let Some(s) = self.get(&p) {
                return Some(s);
            }
            let cut = p.rfind(['.', '['])?;
            p.truncate(cut);
        }
    }
}

struct Scanner<'a> {
    b: &'a [u8],
    i: usize,
    out: BTreeMap<String, Range<usize>>,
}

impl Scanner<'_> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn skip_ws(&mut self) {
        loop {
            match self.peek() {
                Some(c) if c.is_ascii_whitespace() => self.i += 1,
                Some(b'/') if self.b.get(self.i + 1) == Some(&b'/') => {
                    while let Some(c) = self.peek() {
                        self.i += 1;
                        if c == b'\n' {
                            break;
                        }
                    }
                }
                Some(b'/') if self.b.get(self.i + 1) == Some(&b'*') => {
                    // Block comments nest in RON.
                    self.i += 2;
                    let mut depth = 1;
                    while depth > 0 && self.i < self.b.len() {
                        if self.b[self.i..].starts_with(b"/*") {
                            depth += 1;
                            self.i += 2;
                        } else if self.b[self.i..].starts_with(b"*/") {
                            depth -= 1;
                            self.i += 2;
                        } else {
                            self.i += 1;
                        }
                    }
                }
                _ => return,
            }
        }
    }

    fn ident(&mut self) -> Option<&str> {
        let start = self.i;
        while let Some(c) = self.peek() {
            if c.is_ascii_alphanumeric() || c == b'_' {
                self.i += 1;
            } else {
                break;
            }
        }
        std::str::from_utf8(&self.b[start..self.i])
            .ok()
            .filter(|s| !s.is_empty())
    }

    /// Parses one value at `path`, recording its span. None on text it cannot follow.
    fn value(&mut self, path: String) -> Option<()> {
        self.skip_ws();
        let start = self.i;
        match self.peek()? {
            b'"' => self.string()?,
            b'r' if matches!(self.b.get(self.i + 1), Some(b'"') | Some(b'#')) => {
                self.raw_string()?
            }
            b'\'' => {
                self.i += 1;
                while let Some(c) = self.peek() {
                    self.i += 1;
                    if c == b'\\' {
                        self.i += 1;
                    } else if c == b'\'' {
                        break;
                    }
                }
            }
            b'[' => {
                self.i += 1;
                let mut k = 0;
                loop {
                    self.skip_ws();
                    if self.peek()? == b']' {
                        self.i += 1;
                        break;
                    }
                    self.value(format!("{path}[{k}]"))?;
                    k += 1;
                    self.skip_ws();
                    if self.peek()? == b',' {
                        self.i += 1;
                    }
                }
            }
            b'{' => {
                // Maps: keys are values too; record entries by key text.
                self.i += 1;
                loop {
                    self.skip_ws();
                    if self.peek()? == b'}' {
                        self.i += 1;
                        break;
                    }
                    let ks = self.i;
                    self.value(format!("{path}{{}}"))?;
                    let key = String::from_utf8_lossy(&self.b[ks..self.i])
                        .trim_matches('"')
                        .to_string();
                    self.skip_ws();
                    if self.peek()? != b':' {
                        return None;
                    }
                    self.i += 1;
                    self.value(format!("{path}.{key}"))?;
                    self.skip_ws();
                    if self.peek()? == b',' {
                        self.i += 1;
                    }
                }
            }
            b'(' => self.group(&path)?,
            c if c.is_ascii_alphabetic() || c == b'_' => {
                self.ident()?;
                self.skip_ws();
                if self.peek() == Some(b'(') {
                    self.group(&path)?;
                }
            }
            _ => {
                // Numbers and other atoms.
                while let Some(c) = self.peek() {
                    if c.is_ascii_alphanumeric() || matches!(c, b'.' | b'+' | b'-' | b'_') {
                        self.i += 1;
                    } else {
                        break;
                    }
                }
                if self.i == start {
                    return None;
                }
            }
        }
        self.out.insert(path, start..self.i);
        Some(())
    }

    /// A parenthesised group: named fields, or unnamed values.
    fn group(&mut self, path: &str) -> Option<()> {
        self.i += 1; // (
        let mut unnamed = Vec::new();
        loop {
            self.skip_ws();
            if self.peek()? == b')' {
                self.i += 1;
                break;
            }
            // A field is `ident :` (but not `::`).
            let save = self.i;
            let field = self.ident().map(str::to_string);
            self.skip_ws();
            if let (Some(f), Some(b':')) = (field, self.peek()) {
                self.i += 1;
                self.value(if path.is_empty() {
                    f
                } else {
                    format!("{path}.{f}")
                })?;
            } else {
                self.i = save;
                let k = unnamed.len();
                let vs = self.i;
                self.value(format!("{path}[{k}]"))?;
                unnamed.push(vs..self.i);
            }
            self.skip_ws();
            if self.peek()? == b',' {
                self.i += 1;
            }
        }
        if unnamed.len() == 1 {
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
                let rest = &k[prefix.len()..];
                self.out.entry(format!("{path}{rest}")).or_insert(v);
            }
        }
        Some(())
    }

    fn string(&mut self) -> Option<()> {
        self.i += 1;
        loop {
            let c = self.peek()?;
            self.i += 1;
            match c {
                b'\\' => self.i += 1,
                b'"' => return Some(()),
                _ => {}
            }
        }
    }

    fn raw_string(&mut self) -> Option<()> {
        self.i += 1; // r
        let mut hashes = 0;
        while self.peek() == Some(b'#') {
            hashes += 1;
            self.i += 1;
        }
        if self.peek()? != b'"' {
            return None;
        }
        self.i += 1;
        loop {
            let c = self.peek()?;
            self.i += 1;
            if c == b'"'
                && self.b[self.i..]
                    .iter()
                    .take(hashes)
                    .filter(|&&h| h == b'#')
                    .count()
                    == hashes
            {
                self.i += hashes;
                return Some(());
            }
        }
    }
}

/// 1-based line and column (in characters) of byte offset `at`.
pub fn line_col(src: &str, at: usize) -> (usize, usize) {
    let at = at.min(src.len());
    let before = src.get(..at).unwrap_or(src);
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let col = before
        .get(line_start..)
        .map_or(1, |s| s.chars().count() + 1);
    (line, col)
}

/// Byte offset of 1-based `line` and character `col`.
pub fn offset(src: &str, line: usize, col: usize) -> usize {
    let mut off = 0;
    for (i, l) in src.split_inclusive('\n').enumerate() {
        if i + 1 == line {
            return off
                + l.char_indices()
                    .nth(col.saturating_sub(1))
                    .map_or(l.len(), |(b, _)| b);
        }
        off += l.len();
    }
    src.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SRC: &str = r#"// header
Scenario(
    name: "x", /* a /* nested */ comment */
    clients: [
        Client(name: "c", arrivals: Poisson(rate_per_s: -1.0), timeout: Some("1s"), target: "p"),
    ],
    pools: [Pool(name: "p", service: Constant("1s"), weights: (1, 2))],
)"#;

    #[test]
    fn finds_values_by_path() {
        let l = Locations::scan(SRC);
        let at = |p: &str| &SRC[l.get(p).unwrap_or_else(|| panic!("{p} not found: {l:?}"))];
        assert_eq!(at("name"), "\"x\"");
        assert_eq!(at("clients[0].arrivals.rate_per_s"), "-1.0");
        assert_eq!(at("clients[0].timeout"), "Some(\"1s\")");
        assert_eq!(at("clients[0].target"), "\"p\"");
        assert_eq!(at("pools[0].service"), "Constant(\"1s\")");
        assert_eq!(at("pools[0].weights[1]"), "2");
        assert!(at("clients[0]").starts_with("Client("));
        assert_eq!(
            &SRC[l.nearest("pools[0].service.mean").unwrap()],
            "Constant(\"1s\")"
        );
    }

    #[test]
    fn positions_count_characters() {
        let src = "ab\n«é» x";
        let off = src.find('x').unwrap();
        assert_eq!(line_col(src, off), (2, 5));
        assert_eq!(offset(src, 2, 5), off);
        assert_eq!(line_col(src, 0), (1, 1));
    }
}
