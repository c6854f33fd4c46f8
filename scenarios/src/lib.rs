//! `scenarios` turns a RON scenario file into a validated [`models::spec::Spec`], or into a
//! [`ScenarioError`] that names the file, line and column, what was expected, and a hint.
//! It is not a simulator and never prints: the CLI renders its errors and runs its specs.
//!
//! Two layers: [`raw`] mirrors the file with serde (unknown fields are errors), `validate`
//! checks meaning (names, ranges, durations, distributions, topology) and builds the spec.

// A diagnostic is built once, on the error path; its size costs nothing worth a Box.
#![allow(clippy::result_large_err)]

mod diagnose;
mod locate;
pub mod raw;
mod sweep;
mod validate;

use std::fmt;
use std::ops::Range;
use std::path::Path;

pub use locate::{Locations, line_col};
pub use sweep::{AxisDef, SweepFile, Variant, WarmupRule, load_sweep};

/// A validated scenario and what the report must say about it.
#[derive(Clone, Debug)]
pub struct Loaded {
    /// The topology to run.
    pub spec: models::spec::Spec,
    /// The file's `seed`, if it gives one.
    pub seed: Option<u64>,
    /// What the scenario expects of its report (`expect:`).
    pub expect: Vec<reports::Expectation>,
    /// Defaults applied and other facts a reader of the report must know.
    pub notes: Vec<String>,
    /// The file's text.
    pub source: String,
    /// The file's name as given.
    pub file_name: String,
}

/// A 1-based line and column (columns count characters).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Position {
    /// Line, from 1.
    pub line: usize,
    /// Column in characters, from 1.
    pub col: usize,
}

/// Why a scenario file was refused.
#[derive(Clone, Debug)]
pub struct ScenarioError {
    /// The file's name as given.
    pub file: String,
    /// Where the problem is (none for an unreadable file).
    pub position: Option<Position>,
    /// Byte range of the offending text.
    pub span: Option<Range<usize>>,
    /// What is wrong.
    pub message: String,
    /// What would have been accepted there.
    pub expected: Option<String>,
    /// A hint: "did you mean …?".
    pub help: Option<String>,
    /// The file's text (empty if unreadable).
    pub source_text: String,
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.position {
            Some(p) => write!(f, "{}:{}:{}: {}", self.file, p.line, p.col, self.message)?,
            None => write!(f, "{}: {}", self.file, self.message)?,
        }
        if let Some(e) = &self.expected {
            write!(f, "\n  expected: {e}")?;
        }
        if let Some(h) = &self.help {
            write!(f, "\n  help: {h}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ScenarioError {}

impl ScenarioError {
    /// An error at byte range `span` of `src`.
    pub(crate) fn at(file: &str, src: &str, span: Range<usize>, message: String) -> ScenarioError {
        let (line, col) = line_col(src, span.start);
        ScenarioError {
            file: file.to_string(),
            position: Some(Position { line, col }),
            span: Some(span),
            message,
            expected: None,
            help: None,
            source_text: src.to_string(),
        }
    }

    pub(crate) fn expected(mut self, e: impl Into<String>) -> Self {
        self.expected = Some(e.into());
        self
    }

    pub(crate) fn help(mut self, h: impl Into<String>) -> Self {
        self.help = Some(h.into());
        self
    }
}

/// Reads and validates the scenario at `path`.
pub fn load(path: &Path) -> Result<Loaded, ScenarioError> {
    let name = path.display().to_string();
    let src = std::fs::read_to_string(path).map_err(|e| ScenarioError {
        file: name.clone(),
        position: None,
        span: None,
        message: format!("cannot read the scenario file: {e}"),
        expected: None,
        help: Some("check the path; scenario files are RON, e.g. scenarios/mm1.ron".into()),
        source_text: String::new(),
    })?;
    parse_str(&src, &name)
}

/// Validates scenario text; `file_name` is used in diagnostics.
pub fn parse_str(source: &str, file_name: &str) -> Result<Loaded, ScenarioError> {
    let raw = diagnose::parse(source, file_name)?;
    let seed = raw.seed;
    let (spec, expect, notes) = validate::validate(raw, source, file_name)?;
    Ok(Loaded {
        spec,
        seed,
        expect,
        notes,
        source: source.to_string(),
        file_name: file_name.to_string(),
    })
}

/// The closest of `candidates` to `word` (edit distance ≤ 2, or one a prefix of the other).
pub(crate) fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let w = word.to_lowercase();
    candidates
        .into_iter()
        .map(|c| {
            let cl = c.to_lowercase();
            let d = edit_distance(&w, &cl);
            let prefix = w.len() >= 3 && (cl.starts_with(&w) || w.starts_with(&cl));
            (if prefix { d.min(1) } else { d }, c)
        })
        .filter(|(d, c)| *d <= 2.min(c.len().saturating_sub(1)).max(1))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur.push(sub.min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions() {
        assert_eq!(edit_distance("timeot", "timeout"), 1);
        assert_eq!(
            did_you_mean("timeot", ["name", "timeout", "target"]),
            Some("timeout")
        );
        assert_eq!(did_you_mean("wbe", ["web", "lb"]), Some("web"));
        assert_eq!(
            did_you_mean("LeastRequests", ["RoundRobin", "LeastRequest"]),
            Some("LeastRequest")
        );
        assert_eq!(did_you_mean("zzzzzz", ["web", "lb"]), None);
    }
}
