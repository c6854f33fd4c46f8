//! ron's errors, turned into diagnostics a user can act on: position, what was expected, and
//! "did you mean" where a near name exists.

use crate::locate::offset;
use crate::raw;
use crate::{ScenarioError, did_you_mean};
use ron::error::{Error, SpannedError};

/// Parses the text into the raw mirror, or explains why not.
pub fn parse(src: &str, file: &str) -> Result<raw::Scenario, ScenarioError> {
    parse_as(src, file)
}

/// Parses the text into any serde type, with the same diagnostics.
pub fn parse_as<T: serde::de::DeserializeOwned>(src: &str, file: &str) -> Result<T, ScenarioError> {
    if is_blank(src) {
        // Point where the scenario should begin: after any comments.
        return Err(
            ScenarioError::at(file, src, src.len()..src.len(), "the file is empty".into())
                .help("a scenario starts with `Scenario(` (see scenarios/mm1.ron)"),
        );
    }
    let opts =
        ron::Options::default().with_default_extension(ron::extensions::Extensions::IMPLICIT_SOME);
    opts.from_str::<T>(src).map_err(|e| convert(e, src, file))
}

/// True when the text holds nothing but whitespace and comments.
fn is_blank(src: &str) -> bool {
    let mut rest = src.trim_start();
    loop {
        if let Some(r) = rest.strip_prefix("//") {
            rest = r.split_once('\n').map_or("", |(_, r)| r).trim_start();
        } else if let Some(r) = rest.strip_prefix("/*") {
            rest = r.split_once("*/").map_or("", |(_, r)| r).trim_start();
        } else {
            return rest.is_empty();
        }
    }
}

fn list(names: &[&str]) -> String {
    match names {
        [] => "nothing here".into(),
        [one] => format!("`{one}`"),
        _ => format!(
            "one of {}",
            names
                .iter()
                .map(|n| format!("`{n}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

fn convert(e: SpannedError, src: &str, file: &str) -> ScenarioError {
    let mut start = offset(src, e.span.start.line, e.span.start.col);
    let end = offset(src, e.span.end.line, e.span.end.col).max(start);
    // ron's span may begin at the blank before a value: point at the value itself.
    let bytes = src.as_bytes();
    while start < end && bytes.get(start).is_some_and(|b| b.is_ascii_whitespace()) {
        start += 1;
    }
    // A number refused for its sign: point at the sign.
    if start > 0 && bytes.get(start - 1) == Some(&b'-') {
        start -= 1;
    }
    let err = |msg: String| ScenarioError::at(file, src, start..end, msg);
    let outer = |o: &Option<String>| o.as_ref().map(|o| format!(" in `{o}`")).unwrap_or_default();
    match &e.code {
        Error::NoSuchStructField { expected, found, outer: o } => {
            let mut d = err(format!("unknown field `{found}`{}", outer(o))).expected(list(expected));
            if let Some(m) = did_you_mean(found, expected.iter().copied()) {
                d = d.help(format!("did you mean `{m}`?"));
            }
            d
        }
        Error::NoSuchEnumVariant { expected, found, outer: o } => {
            let what = match o.as_deref() {
                Some("Policy") => "balancing policy",
                Some("Dist") => "distribution",
                Some("Arrivals") => "arrival process",
                _ => "variant",
            };
            let mut d = err(format!("unknown {what} `{found}`")).expected(list(expected));
            if let Some(m) = did_you_mean(found, expected.iter().copied()) {
                d = d.help(format!("did you mean `{m}`?"));
            }
            d
        }
        Error::MissingStructField { field, outer: o } => err(format!("missing field `{field}`{}", outer(o)))
            .help(format!("add `{field}: …` to this {}", o.as_deref().unwrap_or("struct"))),
        Error::DuplicateStructField { field, outer: o } => {
            err(format!("field `{field}` is given twice{}", outer(o))).help("keep one of them")
        }
        Error::ExpectedString => err("expected a string".into())
            .help("durations and names are strings in double quotes, e.g. \"300ms\" or \"web\""),
        Error::ExpectedDifferentStructName { expected, found } => {
            err(format!("found `{found}` where a `{expected}` was expected")).expected(format!("`{expected}(…)`"))
        }
        Error::InvalidValueForType { expected, found } => {
            let mut d = err(format!("expected {expected}, found {found}"));
            if expected.contains("string") {
                d = d.help("durations are strings with a unit, e.g. \"300ms\"");
            } else if expected.contains("u32") || expected.contains("u64") || expected.contains("integer") {
                d = d.help("this must be a whole number ≥ 0");
            }
            d
        }
        Error::ExpectedInteger => err("expected a whole number".into()).help("this must be a whole number ≥ 0 (e.g. 6)"),
        Error::IntegerOutOfBounds => {
            err("this number is out of range".into()).help("this must be a whole number ≥ 0 (e.g. 6)")
        }
        Error::ExpectedComma => err("expected a comma (`,`) before this".into())
            .help("separate fields and list items with commas; a string left open earlier (a missing `\"`) also ends up here"),
        Error::ExpectedFloat => err(format!("{}", e.code)).help("this must be a number, e.g. 0.9"),
        Error::Eof => err("the file ends too early".into()).help("a `(`, `[` or string is not closed"),
        Error::ExpectedStringEnd => err("a string is not closed".into()).help("add the closing `\"`"),
        Error::Message(m) if m.contains("invalid type") && m.contains("string") => {
            err(m.clone()).help("durations are strings with a unit, e.g. \"300ms\"")
        }
        other => err(format!("{other}")),
    }
}
