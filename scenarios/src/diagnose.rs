//! ron's errors, turned into diagnostics a user can act on: the whole offending token as the
//! span, what was expected there, and a hint ("did you mean …?", an example, the usual cause).
//!
//! ron reports a position and an error code but little context, so the text's tokens are
//! consulted: the field name before a wrong value decides whether the hint talks about
//! durations or names, the matching bracket finds the struct a field is missing from, and a
//! string that runs across lines explains a "missing comma".

use crate::ScenarioError;
use crate::locate::{line_col, offset};
use crate::suggest::{did_you_mean, example, field_example, one_of};
use crate::tokens::{Kind, Token, lex};
use ron::error::{Error, SpannedError};

/// Fields whose value is a duration string.
const DURATION_FIELDS: &[&str] = &[
    "horizon", "warmup", "timeout", "min", "max", "mean", "sd", "median", "p99", "low", "high",
    "scale",
];

/// Fields whose value is the name of something.
const NAME_FIELDS: &[&str] = &["name", "target", "scenario"];

const DURATION_HELP: &str = "durations are strings with a unit, e.g. \"300ms\"";

/// Parses `src` into `T`, or explains why not. `opening` is how the file must begin
/// (`Scenario(`), for the hint on an empty file.
pub fn parse_as<T: serde::de::DeserializeOwned>(
    src: &str,
    file: &str,
    opening: &str,
) -> Result<T, ScenarioError> {
    let lexed = lex(src);
    let what = opening.trim_end_matches('(').to_lowercase();
    if lexed.tokens.is_empty() && lexed.unclosed_comment.is_none() {
        return Err(ScenarioError::at(file, src, 0..0, "the file is empty")
            .with_help(format!("a {what} starts with `{opening}`")));
    }
    let opts =
        ron::Options::default().with_default_extension(ron::extensions::Extensions::IMPLICIT_SOME);
    opts.from_str::<T>(src).map_err(|e| {
        Diagnoser {
            src,
            file,
            what: &what,
            toks: &lexed.tokens,
            unclosed_comment: lexed.unclosed_comment.clone(),
        }
        .convert(&e)
    })
}

struct Diagnoser<'a> {
    src: &'a str,
    file: &'a str,
    /// "scenario" or "sweep".
    what: &'a str,
    toks: &'a [Token],
    unclosed_comment: Option<std::ops::Range<usize>>,
}

/// What surrounds a token.
enum Context<'a> {
    /// It is the value of this field (`field: ⟨token⟩`).
    Field(&'a str),
    /// It is the first thing inside this struct or variant (`Name(⟨token⟩`).
    Inside(&'a str),
    Other,
}

impl<'a> Diagnoser<'a> {
    fn tok(&self, i: usize) -> Option<&'a Token> {
        self.toks.get(i)
    }

    fn text(&self, i: usize) -> &'a str {
        self.tok(i).map_or("", |t| t.text(self.src))
    }

    fn is_punct(&self, i: usize, c: char) -> bool {
        self.tok(i).is_some_and(|t| t.is_punct(c))
    }

    fn is_word(&self, i: usize) -> bool {
        self.tok(i).is_some_and(|t| t.kind == Kind::Word)
    }

    fn error(&self, span: std::ops::Range<usize>, message: impl Into<String>) -> ScenarioError {
        ScenarioError::at(self.file, self.src, span, message)
    }

    /// The context of token `i`.
    fn context(&self, i: usize) -> Context<'a> {
        let Some(before) = i.checked_sub(1) else {
            return Context::Other;
        };
        let name = before.checked_sub(1).filter(|&n| self.is_word(n));
        match name {
            Some(n) if self.is_punct(before, ':') => Context::Field(self.text(n)),
            Some(n) if self.is_punct(before, '(') => Context::Inside(self.text(n)),
            _ => Context::Other,
        }
    }

    /// The bracket that token `i` sits inside: its index, skipping balanced groups.
    fn enclosing_open(&self, i: usize) -> Option<usize> {
        let mut depth = 0usize;
        for j in (0..i).rev() {
            match self.tok(j)?.kind {
                Kind::Punct(')' | ']' | '}') => depth += 1,
                Kind::Punct('(' | '[' | '{') if depth == 0 => return Some(j),
                Kind::Punct('(' | '[' | '{') => depth -= 1,
                _ => {}
            }
        }
        None
    }

    /// The name of the struct or variant whose `(` is at `open`, if it has one.
    fn name_before(&self, open: usize) -> Option<usize> {
        open.checked_sub(1).filter(|&n| self.is_word(n))
    }

    /// An earlier `field:` in the same group as token `i`.
    fn earlier_field(&self, i: usize, field: &str) -> Option<usize> {
        let mut depth = 0usize;
        for j in (0..i).rev() {
            match self.tok(j)?.kind {
                Kind::Punct(')' | ']' | '}') => depth += 1,
                Kind::Punct('(' | '[' | '{') if depth == 0 => return None,
                Kind::Punct('(' | '[' | '{') => depth -= 1,
                Kind::Word if depth == 0 && self.text(j) == field && self.is_punct(j + 1, ':') => {
                    return Some(j);
                }
                _ => {}
            }
        }
        None
    }

    /// The bracket still open at the end of the text, innermost first.
    fn unclosed_at_end(&self) -> Option<usize> {
        let mut stack = Vec::new();
        for (j, t) in self.toks.iter().enumerate() {
            match t.kind {
                Kind::Punct('(' | '[' | '{') => stack.push(j),
                Kind::Punct(')' | ']' | '}') => {
                    stack.pop();
                }
                _ => {}
            }
        }
        stack.pop()
    }

    /// `Pool(` for the bracket at `open` (with its name when it has one), or just `[`.
    fn describe_open(&self, open: usize) -> String {
        match self.name_before(open) {
            Some(n) => format!("`{}{}`", self.text(n), self.text(open)),
            None => format!("`{}`", self.text(open)),
        }
    }

    /// The matching closer for an opening bracket.
    fn closer(open: &str) -> &'static str {
        match open {
            "(" => ")",
            "[" => "]",
            _ => "}",
        }
    }

    /// A closing bracket at token `i` that does not match the bracket it would close.
    fn mismatched_close(&self, i: usize) -> Option<ScenarioError> {
        let t = self.tok(i)?;
        let Kind::Punct(c @ (')' | ']' | '}')) = t.kind else {
            return None;
        };
        let open = self.enclosing_open(i)?;
        let want = Self::closer(self.text(open));
        if want.starts_with(c) {
            return None;
        }
        let (line, _) = line_col(self.src, self.tok(open)?.span.start);
        Some(
            self.error(
                t.span.clone(),
                format!(
                    "this `{c}` does not close {} (line {line})",
                    self.describe_open(open)
                ),
            )
            .with_help(format!(
                "close it with `{want}`, or look for a bracket missing in between"
            )),
        )
    }

    fn convert(&self, e: &SpannedError) -> ScenarioError {
        let start = offset(self.src, e.span.start.line, e.span.start.col);
        let end = offset(self.src, e.span.end.line, e.span.end.col).max(start);
        // The token ron stopped at: the first one that ends after its position.
        let at = self.toks.iter().position(|t| t.span.end > start);
        let found = at.and_then(|i| self.tok(i));
        let span = found.map_or(start..end, |t| t.span.clone());
        let shown = found.map_or_else(
            || "the end of the file".to_string(),
            |t| {
                // Quote at most the first 40 characters of the token's first line.
                let text = t.text(self.src);
                let line = text.lines().next().unwrap_or("");
                let cut = line.char_indices().nth(40).map_or(line.len(), |(i, _)| i);
                match line.get(..cut) {
                    Some(head) if head.len() < text.len() => format!("`{head}…`"),
                    _ => format!("`{text}`"),
                }
            },
        );
        let context = at.map_or(Context::Other, |i| self.context(i));
        let quoted = found.is_some_and(|t| matches!(t.kind, Kind::Str { .. }));
        let err = |msg: String| self.error(span.clone(), msg);

        match &e.code {
            Error::NoSuchStructField {
                expected,
                found: name,
                outer,
            } => {
                let mut d = err(format!("unknown field `{name}`{}", within(outer)))
                    .with_expected(one_of(expected));
                if let Some(m) = did_you_mean(name, expected.iter().copied()) {
                    d = d.with_help(format!("did you mean `{m}`?"));
                }
                d
            }
            Error::NoSuchEnumVariant {
                expected,
                found: name,
                outer,
            } => {
                let what = match outer.as_deref() {
                    Some("Policy") => "balancing policy",
                    Some("Dist") => "distribution",
                    Some("Arrivals") => "arrival process",
                    Some("Expect") => "expectation",
                    Some("RawWarmup") => "warm-up rule",
                    _ => "variant",
                };
                let mut d = if quoted {
                    err(format!("expected a {what}, found the string {shown}"))
                } else {
                    err(format!("unknown {what} `{name}`"))
                }
                .with_expected(one_of(expected));
                if let Some(m) = did_you_mean(name, expected.iter().copied()) {
                    d = d.with_help(format!("did you mean `{m}`?"));
                } else if outer.as_deref() == Some("Dist") {
                    d = d.with_help(format!(
                        "a distribution is written like {}",
                        example("Exponential", false).unwrap_or_default()
                    ));
                }
                d
            }
            Error::MissingStructField { field, outer } => {
                // ron stops at the closing `)`: point at the struct's name instead.
                let name_span = at
                    .filter(|&i| self.is_punct(i, ')'))
                    .and_then(|i| self.enclosing_open(i))
                    .and_then(|o| self.name_before(o).or(Some(o)))
                    .and_then(|n| self.tok(n))
                    .map(|t| t.span.clone());
                self.error(
                    name_span.unwrap_or(span.clone()),
                    format!("missing field `{field}`{}", within(outer)),
                )
                .with_help(format!("add `{}`", field_example(field)))
            }
            Error::DuplicateStructField { field, outer } => {
                let first = at
                    .and_then(|i| self.earlier_field(i, field))
                    .and_then(|j| self.tok(j))
                    .map(|t| line_col(self.src, t.span.start));
                let help = match first {
                    Some((line, col)) => {
                        format!("it is first given at {line}:{col}; keep only one")
                    }
                    None => "keep only one of them".into(),
                };
                err(format!("field `{field}` is given twice{}", within(outer))).with_help(help)
            }
            Error::ExpectedString => self.expected_string(at, span.clone(), &shown, &context),
            Error::ExpectedInteger | Error::InvalidIntegerDigit { .. } => {
                let help = match quoted_number(found.map_or("", |t| t.text(self.src))) {
                    Some(n) => format!("write the number without quotes: {n}"),
                    None => "this must be a whole number ≥ 0, e.g. 6".into(),
                };
                err(format!("expected a whole number, found {shown}")).with_help(help)
            }
            Error::IntegerOutOfBounds => {
                let text = found.map_or("", |t| t.text(self.src));
                if text.starts_with('-') {
                    err(format!("{shown} is negative: expected a whole number ≥ 0"))
                        .with_help("this must be a whole number ≥ 0, e.g. 6")
                } else {
                    err(format!("{shown} is too large for this field"))
                }
            }
            Error::ExpectedFloat | Error::FloatUnderscore => {
                let help = match quoted_number(found.map_or("", |t| t.text(self.src))) {
                    Some(n) => format!("write the number without quotes: {n}"),
                    None => "this must be a number such as 0.9 or 240.0".into(),
                };
                err(format!("expected a number, found {shown}")).with_help(help)
            }
            Error::ExpectedBoolean => err(format!("expected true or false, found {shown}"))
                .with_help("write true or false, without quotes, e.g. `per_client: true`"),
            Error::ExpectedComma => self.expected_comma(at, start, span.clone(), &shown),
            Error::ExpectedStructLikeEnd | Error::ExpectedArrayEnd | Error::ExpectedMapEnd => {
                if let Some(d) = at.and_then(|i| self.mismatched_close(i)) {
                    return d;
                }
                let close = match e.code {
                    Error::ExpectedStructLikeEnd => "`)`",
                    Error::ExpectedArrayEnd => "`]`",
                    _ => "`}`",
                };
                err(format!("expected {close} or `,`, found {shown}"))
            }
            Error::Eof => self.eof(),
            Error::ExpectedStringEnd => {
                let open = self
                    .toks
                    .iter()
                    .rev()
                    .find(|t| t.kind == Kind::Str { closed: false })
                    .map_or(span.clone(), |t| t.span.start..t.span.start + 1);
                self.error(open, "this string is never closed")
                    .with_help("add the closing `\"`")
            }
            Error::ExpectedArray => {
                let mut d = err(format!("expected a list in `[…]`, found {shown}"));
                if let Context::Field(f) = context {
                    d = d.with_help(format!("e.g. `{}`", field_example(f)));
                }
                d
            }
            Error::ExpectedStructLike | Error::ExpectedNamedStructLike(_) => {
                // `Exponential` without its `( … )`, or a file not starting with `Scenario(`.
                // ron stops after the name or at it: take the word just before, else the one at.
                let before = at.map_or(self.toks.len(), |i| i).checked_sub(1);
                let word = before
                    .filter(|&p| self.is_word(p))
                    .or(at.filter(|&i| self.is_word(i)));
                let word_text = word.map(|w| self.text(w));
                match (&e.code, word) {
                    (Error::ExpectedNamedStructLike(n), _) if word_text != Some(*n) => {
                        let mut d = err(format!("expected `{n}(`, found {shown}"));
                        if let Some(x) = example(n, false) {
                            d = d.with_help(format!("the file holds one {x}"));
                        }
                        d
                    }
                    (_, Some(w)) => {
                        let name = self.text(w);
                        let arrivals = matches!(self.context(w), Context::Field("arrivals"));
                        let span = self.tok(w).map_or(span.clone(), |t| t.span.clone());
                        let mut d = self.error(
                            span,
                            format!("`{name}` needs its parameters in parentheses"),
                        );
                        if let Some(x) = example(name, arrivals) {
                            d = d.with_help(format!("e.g. {x}"));
                        }
                        d
                    }
                    _ => err(format!("expected `(`, found {shown}")),
                }
            }
            Error::ExpectedDifferentStructName {
                expected,
                found: name,
            } if at.is_some_and(|i| self.is_punct(i + 1, ':')) => {
                // `name:` where a list item was expected: the list before it was never closed.
                let mut d = err(format!(
                    "expected `{expected}(…)`, found the field `{name}`"
                ));
                if let Some(open) = at
                    .and_then(|i| self.enclosing_open(i))
                    .filter(|&o| self.is_punct(o, '['))
                {
                    let (line, col) = self
                        .tok(open)
                        .map_or((0, 0), |t| line_col(self.src, t.span.start));
                    d = d.with_help(format!(
                        "the list opened at {line}:{col} is not closed: add `]` before `{name}`"
                    ));
                }
                d
            }
            Error::ExpectedDifferentStructName {
                expected,
                found: name,
            } => {
                let mut d = err(format!("found `{name}` where `{expected}(…)` was expected"));
                if let Some(x) = example(expected, false) {
                    d = d.with_help(format!("e.g. {x}"));
                }
                d
            }
            Error::ExpectedUnit => {
                let name = at
                    .and_then(|i| self.enclosing_open(i))
                    .and_then(|o| self.name_before(o))
                    .map_or("this variant", |n| self.text(n));
                err(format!("`{name}` takes no parameters"))
                    .with_help(format!("write just `{name}`"))
            }
            Error::ExpectedIdentifier => match context {
                // `service: "10ms"`, `policy: "RoundRobin"`: a variant written as a string.
                Context::Field(f) => {
                    let text = found.map_or("", |t| t.text(self.src));
                    let (what, help) = match f {
                        "service" | "time_to_failure" | "time_to_repair" => (
                            "a distribution",
                            if quoted {
                                format!(
                                    "a duration alone is not a distribution: write Constant({text}) or Exponential(mean: {text})"
                                )
                            } else {
                                "e.g. Constant(\"10ms\") or Exponential(mean: \"10ms\")".into()
                            },
                        ),
                        "policy" => (
                            "a balancing policy",
                            "e.g. RoundRobin or LeastRequest(choices: 2)".into(),
                        ),
                        "arrivals" => (
                            "an arrival process",
                            "e.g. Poisson(rate_per_s: 10.0)".into(),
                        ),
                        _ => ("a value", format!("e.g. {}", field_example(f))),
                    };
                    let help = if quoted && f != "service" && !f.starts_with("time_to_") {
                        format!("variant names are written without quotes, {help}")
                    } else {
                        help
                    };
                    err(format!("expected {what} for `{f}`, found {shown}")).with_help(help)
                }
                _ => err(format!("expected a field name, found {shown}")),
            },
            Error::UnclosedBlockComment => {
                let open = self.unclosed_comment.clone().unwrap_or(start..start);
                self.error(open, "this `/*` comment is never closed")
                    .with_help("close it with `*/`; block comments nest, so each `/*` needs one")
            }
            Error::UnexpectedChar(c) => err(format!("unexpected character `{}`", c.escape_debug())),
            Error::ExpectedMapColon => {
                let field = at
                    .and_then(|i| i.checked_sub(1))
                    .filter(|&p| self.is_word(p))
                    .map(|p| self.text(p));
                match field {
                    Some(f) => err(format!(
                        "expected `:` after the field name `{f}`, found {shown}"
                    ))
                    .with_help(format!("e.g. `{}`", field_example(f))),
                    None => err(format!("expected `:`, found {shown}")),
                }
            }
            Error::SuggestRawIdentifier(name) | Error::InvalidIdentifier(name) => err(format!(
                "`{name}` is not a valid field or variant name"
            ))
            .with_help("names are made of letters, digits and `_`, and do not start with a digit"),
            Error::InvalidEscape(what) => err(format!("{} in a string", lowercase_first(what)))
                .with_help("inside a string, write `\\\\` for a backslash and `\\\"` for a quote"),
            Error::TrailingCharacters => {
                let help = if found.is_some_and(|t| t.is_punct(')') || t.is_punct(']')) {
                    "there is one closing bracket too many".to_string()
                } else {
                    format!(
                        "a file holds one {}; remove what follows its closing `)` or comment it out",
                        self.what
                    )
                };
                err(format!(
                    "unexpected {shown} after the end of the {}",
                    self.what
                ))
                .with_help(help)
            }
            Error::ExceededRecursionLimit => err("the file nests too deeply".into()),
            Error::InvalidValueForType {
                expected,
                found: what,
            } => {
                let mut d = err(format!("expected {expected}, found {what}"));
                if expected.contains("string") {
                    d = d.with_help(DURATION_HELP);
                }
                d
            }
            Error::ExpectedDifferentLength { expected, found: n } => {
                err(format!("expected {expected}, found {n} values"))
            }
            Error::Message(m) => {
                let mut d = err(m.clone());
                if m.contains("invalid type") && m.contains("string") {
                    d = d.with_help(DURATION_HELP);
                }
                d
            }
            other => err(lowercase_first(&other.to_string())),
        }
    }

    /// A value that should have been a string (a duration or a name) but is not.
    fn expected_string(
        &self,
        at: Option<usize>,
        span: std::ops::Range<usize>,
        shown: &str,
        context: &Context<'_>,
    ) -> ScenarioError {
        let d = self.error(span, format!("expected a string, found {shown}"));
        match context {
            Context::Field(f) if NAME_FIELDS.contains(f) => {
                d.with_help("names are strings in double quotes, e.g. \"web\"")
            }
            Context::Field(f) if DURATION_FIELDS.contains(f) => d.with_help(DURATION_HELP),
            Context::Inside(v @ ("Constant" | "Empirical"))
                if at.is_some_and(|i| self.is_punct(i + 1, ':')) =>
            {
                let mut d = d;
                d.message = format!("`{v}` takes durations, not named fields");
                d.with_help(format!("e.g. {}", example(v, false).unwrap_or_default()))
            }
            Context::Inside(_) => d.with_help(DURATION_HELP),
            _ => {
                // Inside `Empirical([…])` the context is the list.
                let in_list = at
                    .and_then(|i| self.enclosing_open(i))
                    .is_some_and(|o| self.is_punct(o, '['));
                if in_list {
                    d.with_help(DURATION_HELP)
                } else {
                    d.with_help("strings are written in double quotes")
                }
            }
        }
    }

    /// ron found something other than `,` (or a closing bracket) after a value.
    fn expected_comma(
        &self,
        at: Option<usize>,
        start: usize,
        span: std::ops::Range<usize>,
        shown: &str,
    ) -> ScenarioError {
        let Some(i) = at else {
            return self.error(span, "expected a comma (`,`)");
        };
        // A string whose closing quote is missing swallows text up to the next `"`: if the
        // string before the error runs across lines, that is the likely cause.
        if let Some(prev) = i.checked_sub(1).and_then(|p| self.tok(p))
            && matches!(prev.kind, Kind::Str { .. })
            && prev.text(self.src).contains('\n')
        {
            let first_line = prev.text(self.src).find('\n').unwrap_or(0);
            return self
                .error(
                    prev.span.start..prev.span.start + first_line,
                    "this string runs across lines: its closing `\"` is probably missing",
                )
                .with_help("a string left open swallows the text up to the next `\"`; close it on this line");
        }
        if let Some(d) = self.mismatched_close(i) {
            return d;
        }
        // `RoundRobin(2)`: a unit variant given parameters.
        if self.is_punct(i, '(')
            && let Some(w) = i
                .checked_sub(1)
                .filter(|&w| self.is_word(w) && self.text(w).starts_with(char::is_uppercase))
        {
            let name = self.text(w);
            let span = self.tok(w).map_or(span.clone(), |t| t.span.clone());
            return self
                .error(span, format!("`{name}` takes no parameters"))
                .with_help(format!("write just `{name}`"));
        }
        // ron reads `1.5` for a whole number as `1` followed by `.5`.
        if let Some(t) = self.tok(i)
            && t.span.start < start
            && self.src.get(start..).is_some_and(|r| r.starts_with('.'))
        {
            return self
                .error(
                    t.span.clone(),
                    format!("expected a whole number, found {shown}"),
                )
                .with_help("this must be a whole number, e.g. 2");
        }
        self.error(span, format!("expected a comma (`,`) before {shown}"))
            .with_help("separate fields and list items with commas")
    }

    /// The text ended inside something.
    fn eof(&self) -> ScenarioError {
        let end = self.src.len();
        if let Some(t) = self.toks.last()
            && t.kind == (Kind::Str { closed: false })
        {
            return self
                .error(
                    t.span.start..t.span.start + 1,
                    "this string is never closed",
                )
                .with_help("add the closing `\"`");
        }
        match self.unclosed_at_end().and_then(|o| Some((o, self.tok(o)?))) {
            Some((o, t)) => {
                let want = Self::closer(t.text(self.src));
                let name_span = self
                    .name_before(o)
                    .and_then(|n| self.tok(n))
                    .map_or(t.span.clone(), |n| n.span.start..t.span.end);
                self.error(
                    name_span,
                    format!("the file ends before {} is closed", self.describe_open(o)),
                )
                .with_help(format!("add the missing `{want}`"))
            }
            None => self
                .error(end..end, "the file ends too early")
                .with_help("a value is missing at the end"),
        }
    }
}

/// The number inside a quoted number (`"3"` → `3`), for "write it without quotes".
fn quoted_number(text: &str) -> Option<&str> {
    let inner = text.strip_prefix('"')?.strip_suffix('"')?.trim();
    inner.parse::<f64>().is_ok().then_some(inner)
}

/// " in `Pool`" when ron names the struct.
fn within(outer: &Option<String>) -> String {
    outer
        .as_ref()
        .map(|o| format!(" in `{o}`"))
        .unwrap_or_default()
}

/// ron's own messages start with a capital; ours continue "file:line:col: message".
fn lowercase_first(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_lowercase().chain(c).collect(),
        None => String::new(),
    }
}
