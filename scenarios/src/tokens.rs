//! A forgiving tokenizer for RON text. Diagnostics need to know which token sits at an error
//! position (to label all of it, not one character), what came just before it (the field whose
//! value is wrong), and which bracket is still open at the end of a truncated file; the path
//! scanner in `locate` walks the same tokens. It never fails: an unterminated string or comment
//! simply runs to the end of the text, so it also serves on text ron has refused.

use std::ops::Range;

/// What a token is, as far as diagnostics care.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A string or char literal, quotes included (`"web"`, `r#"x"#`, `'c'`).
    Str {
        /// False when the text ends before the closing quote.
        closed: bool,
    },
    /// An identifier or a number: a run of letters, digits and `_ . + -`.
    Word,
    /// Any other single character (`(`, `]`, `,`, `:`, `#`, …).
    Punct(char),
}

/// One token: its kind and its byte range in the text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Token {
    pub kind: Kind,
    pub span: Range<usize>,
}

impl Token {
    /// Its text in `src` (empty if `src` is not the text it came from).
    pub fn text<'a>(&self, src: &'a str) -> &'a str {
        src.get(self.span.clone()).unwrap_or("")
    }

    pub fn is_punct(&self, c: char) -> bool {
        self.kind == Kind::Punct(c)
    }
}

/// A block comment that the text never closes, if any (its `/*`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Lexed {
    pub tokens: Vec<Token>,
    pub unclosed_comment: Option<Range<usize>>,
}

/// Splits `src` into tokens, skipping whitespace and comments.
pub fn lex(src: &str) -> Lexed {
    let mut out = Lexed::default();
    let mut chars = src.char_indices().peekable();
    while let Some((start, c)) = chars.next() {
        let rest = src.get(start..).unwrap_or("");
        if c.is_whitespace() {
            continue;
        }
        if rest.starts_with("//") {
            // A line comment runs to the end of the line.
            for (_, c) in chars.by_ref() {
                if c == '\n' {
                    break;
                }
            }
            continue;
        }
        if rest.starts_with("/*") {
            // Block comments nest in RON.
            chars.next();
            let mut depth = 1usize;
            while depth > 0 {
                let Some((i, _)) = chars.next() else { break };
                let after = src.get(i..).unwrap_or("");
                if after.starts_with("/*") {
                    chars.next();
                    depth += 1;
                } else if after.starts_with("*/") {
                    chars.next();
                    depth -= 1;
                }
            }
            if depth > 0 {
                out.unclosed_comment = Some(start..start + 2);
            }
            continue;
        }
        let kind = if c == '"' || c == '\'' {
            Kind::Str {
                closed: quoted(&mut chars, c),
            }
        } else if (c == 'r' || c == 'b') && raw_string_ahead(rest) {
            // `r"…"`, `r#"…"#`, `b"…"`, `br"…"`: skip the prefix and hashes, then the body.
            let mut hashes = 0usize;
            while let Some(&(_, p)) = chars.peek() {
                if p == '"' {
                    break;
                }
                if p == '#' {
                    hashes += 1;
                }
                chars.next();
            }
            chars.next(); // the opening quote
            let closed = if hashes == 0 && !rest.starts_with("br") && rest.starts_with('b') {
                quoted(&mut chars, '"')
            } else {
                raw_body(src, &mut chars, hashes)
            };
            Kind::Str { closed }
        } else if is_word_char(c) {
            while let Some(&(_, p)) = chars.peek() {
                if !is_word_char(p) {
                    break;
                }
                chars.next();
            }
            Kind::Word
        } else {
            Kind::Punct(c)
        };
        let end = chars.peek().map_or(src.len(), |&(i, _)| i);
        out.tokens.push(Token {
            kind,
            span: start..end,
        });
    }
    out
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '_' | '.' | '+' | '-')
}

/// True when `rest` (starting at an `r` or `b`) opens a raw or byte string.
fn raw_string_ahead(rest: &str) -> bool {
    let body = rest
        .strip_prefix("br")
        .or_else(|| rest.strip_prefix('r'))
        .or_else(|| rest.strip_prefix('b'))
        .unwrap_or("");
    body.trim_start_matches('#').starts_with('"')
}

type Chars<'a> = std::iter::Peekable<std::str::CharIndices<'a>>;

/// Consumes a quoted literal's body after its opening `quote`; true if it was closed.
fn quoted(chars: &mut Chars<'_>, quote: char) -> bool {
    while let Some((_, c)) = chars.next() {
        if c == '\\' {
            chars.next();
        } else if c == quote {
            return true;
        }
    }
    false
}

/// Consumes a raw string's body after its opening quote, up to `"` and `hashes` `#`s.
fn raw_body(src: &str, chars: &mut Chars<'_>, hashes: usize) -> bool {
    let closing: String = std::iter::once('"')
        .chain(std::iter::repeat_n('#', hashes))
        .collect();
    while let Some((i, _)) = chars.next() {
        if src.get(i..).is_some_and(|s| s.starts_with(&closing)) {
            for _ in 0..hashes {
                chars.next();
            }
            return true;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(src: &str) -> Vec<&str> {
        lex(src).tokens.iter().map(|t| t.text(src)).collect()
    }

    #[test]
    fn splits_values_and_punctuation() {
        assert_eq!(
            texts(r#"Pool(name: "a\"b", n: -1.5e3) // c"#),
            [
                "Pool",
                "(",
                "name",
                ":",
                r#""a\"b""#,
                ",",
                "n",
                ":",
                "-1.5e3",
                ")"
            ]
        );
    }

    #[test]
    fn skips_nested_comments_and_reads_raw_strings() {
        let src = "a /* x /* y */ z */ r#\"q\"uote\"# 'c' b\"by\" é";
        assert_eq!(texts(src), ["a", "r#\"q\"uote\"#", "'c'", "b\"by\"", "é"]);
        assert_eq!(lex(src).unclosed_comment, None);
    }

    #[test]
    fn unterminated_things_run_to_the_end() {
        let src = "x: \"open\n y";
        let l = lex(src);
        assert_eq!(l.tokens.len(), 3);
        assert_eq!(
            l.tokens.last().map(|t| t.kind),
            Some(Kind::Str { closed: false })
        );
        let c = lex("a /* b /* c */");
        assert_eq!(c.unclosed_comment, Some(2..4));
        assert_eq!(c.tokens.len(), 1);
    }
}
