//! `scenarios` turns a RON scenario file into a validated [`models::spec::Spec`], or into a
//! [`ScenarioError`] that names the file, line and column, says what is wrong and what would
//! have been accepted, and offers a hint ("did you mean `timeout`?"). It also expands sweep
//! files into validated variants.
//!
//! It is not a simulator and not a user interface: it never runs a simulation, never prints and
//! never exits. The CLI renders its errors and runs its specs.
//!
//! Two layers: [`raw`] mirrors the file with serde (unknown fields are errors), `validate`
//! checks meaning (names, ranges, durations, distributions, topology) and builds the spec.
//! ron's own errors are reworded by `diagnose`, which reads the text's `tokens` for context
//! (the field a wrong value belongs to, the bracket left open). ron gives positions only for
//! its own errors, so `locate` finds where each value of the (already parsed) text sits, and
//! semantic errors point there too. `suggest` supplies "did you mean" and examples.

#![warn(missing_docs)]
// A diagnostic is built once, on the error path; its size costs nothing worth a Box.
#![allow(clippy::result_large_err)]

mod diagnose;
mod extend;
pub mod limits;
mod locate;
// The serde mirror of the file: each field is documented in docs/scenario-reference.md, which
// scenarios/tests/reference.rs checks against it both ways.
#[allow(missing_docs)]
pub mod raw;
mod suggest;
mod sweep;
mod tokens;
mod validate;
mod validate_cache;
mod validate_lock;
mod validate_store;

use std::fmt;
use std::ops::Range;
use std::path::Path;

pub use extend::{Extensions, ParamError, Params};
pub use locate::{Locations, line_col};
pub(crate) use suggest::did_you_mean;
pub use sweep::{AxisDef, SweepFile, Variant, WarmupRule, load_sweep, load_sweep_with};
pub use validate::{
    DEFAULT_MAX_EVENTS, MAX_WINDOWS, default_window, escape_controls, total_replicas,
};

/// A validated scenario and what the report must say about it.
#[derive(Clone, Debug)]
pub struct Loaded {
    /// The topology to run.
    pub spec: models::spec::Spec,
    /// Replicated stores, each run as its own model after the topology.
    pub stores: Vec<models::store_spec::StoreSpec>,
    /// The file's `seed`, if it gives one.
    pub seed: Option<u64>,
    /// What the scenario expects of its report (`expect:`).
    pub expect: Vec<reports::Expectation>,
    /// The availability objective and the time-series window (`slo:`, or defaults).
    pub slo: reports::Slo,
    /// Defaults applied and other facts a reader of the report must know.
    pub notes: Vec<String>,
    /// The file's text.
    pub source: String,
    /// The file's name as given.
    pub file_name: String,
    /// `hasim test`'s comparison rules for this file (`golden:`), if it gives any.
    pub golden: Option<raw::Golden>,
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
    /// An error at byte range `span` of `src` (clamped to the text and to whole characters, so
    /// that a renderer can always slice it).
    pub(crate) fn at(
        file: &str,
        src: &str,
        span: Range<usize>,
        message: impl Into<String>,
    ) -> ScenarioError {
        let mut start = span.start.min(src.len());
        while !src.is_char_boundary(start) {
            start -= 1;
        }
        let mut end = span.end.clamp(start, src.len());
        while !src.is_char_boundary(end) {
            end += 1;
        }
        let (line, col) = line_col(src, start);
        ScenarioError {
            file: file.to_string(),
            position: Some(Position { line, col }),
            span: Some(start..end),
            message: message.into(),
            expected: None,
            help: None,
            source_text: src.to_string(),
        }
    }

    pub(crate) fn with_expected(mut self, e: impl Into<String>) -> Self {
        self.expected = Some(e.into());
        self
    }

    pub(crate) fn with_help(mut self, h: impl Into<String>) -> Self {
        self.help = Some(h.into());
        self
    }
}

/// Reads and validates the scenario at `path`.
pub fn load(path: &Path) -> Result<Loaded, ScenarioError> {
    load_with(path, &Extensions::new())
}

/// [`load`] with the program's own components: `Custom(name: …)` in the file refers to them.
pub fn load_with(path: &Path, ext: &Extensions) -> Result<Loaded, ScenarioError> {
    let name = path.display().to_string();
    let src = read_text(path, &name, "scenario")?;
    parse_str_with(&src, &name, ext)
}

/// Reads `hasim test`'s folder rules (`hasim-test.ron`: a `Golden(…)` value).
pub fn load_golden(path: &Path) -> Result<raw::Golden, ScenarioError> {
    let name = path.display().to_string();
    let src = read_text(path, &name, "test rules")?;
    diagnose::parse_as(&src, &name, "Golden(")
}

/// Reads a file as UTF-8. An unreadable file is an error without a position; text that is not
/// UTF-8 is an error at the first bad byte.
pub(crate) fn read_text(path: &Path, name: &str, what: &str) -> Result<String, ScenarioError> {
    let bytes = read_bounded(path, what).map_err(|(message, help)| ScenarioError {
        file: name.to_string(),
        position: None,
        span: None,
        message,
        expected: None,
        help: Some(help),
        source_text: String::new(),
    })?;
    let text = String::from_utf8(bytes).map_err(|e| {
        let bad = e.utf8_error().valid_up_to();
        // Everything before the bad byte is intact, so offsets into the lossy text are right.
        let text = String::from_utf8_lossy(e.as_bytes()).into_owned();
        let end = (bad + 1).min(text.len());
        let byte = e.as_bytes().get(bad).copied().unwrap_or(0);
        ScenarioError::at(
            name,
            &text,
            bad..end,
            format!("the file is not UTF-8 text (byte 0x{byte:02x})"),
        )
        .with_help("save the file as UTF-8")
    })?;
    // Editors do not count a byte-order mark as a column: drop it before positions are counted.
    Ok(match text.strip_prefix('\u{feff}') {
        Some(rest) => rest.to_string(),
        None => text,
    })
}

/// The bytes of the regular file at `path`, at most [`limits::Limits::file_bytes`] of them; else
/// what is wrong and a hint. A device, a FIFO or a folder is refused before it is opened: reading
/// `/dev/zero` would never end, and opening a FIFO would wait for a writer.
pub fn read_bounded(path: &Path, what: &str) -> Result<Vec<u8>, (String, String)> {
    use std::io::Read;
    let check = if what.contains("scenario") || what.contains("sweep") {
        format!("check the path; {what} files are RON text, e.g. scenarios/mm1.ron")
    } else {
        "check the path".to_string()
    };
    let meta = std::fs::metadata(path)
        .map_err(|e| (format!("cannot read the {what} file: {e}"), check.clone()))?;
    if !meta.is_file() {
        return Err((
            format!("cannot read the {what} file: not a regular file (a folder, device or FIFO)"),
            check,
        ));
    }
    let limit = limits::limits().file_bytes;
    let too_big = |n: u64| {
        (
            format!(
                "the {what} file is {n} bytes or more, larger than the limit of {limit} bytes (a file that size would take long to parse and validate)"
            ),
            limits::raise_hint().to_string(),
        )
    };
    if meta.len() > limit {
        return Err(too_big(meta.len()));
    }
    let file = std::fs::File::open(path)
        .map_err(|e| (format!("cannot read the {what} file: {e}"), check.clone()))?;
    let mut bytes = Vec::new();
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| (format!("cannot read the {what} file: {e}"), check))?;
    if bytes.len() as u64 > limit {
        return Err(too_big(bytes.len() as u64));
    }
    Ok(bytes)
}

/// Validates scenario text; `file_name` is used in diagnostics.
pub fn parse_str(source: &str, file_name: &str) -> Result<Loaded, ScenarioError> {
    parse_str_with(source, file_name, &Extensions::new())
}

/// [`parse_str`] with the program's own components.
pub fn parse_str_with(
    source: &str,
    file_name: &str,
    ext: &Extensions,
) -> Result<Loaded, ScenarioError> {
    // Editors do not count a byte-order mark as a column, and neither does ron's parser if it
    // never sees one.
    let source = source.strip_prefix('\u{feff}').unwrap_or(source);
    let raw: raw::Scenario = diagnose::parse_as(source, file_name, "Scenario(")?;
    let seed = raw.seed;
    let golden = raw.golden.clone();
    let (spec, stores, expect, slo, notes) = validate::validate(raw, source, file_name, ext)?;
    Ok(Loaded {
        spec,
        stores,
        seed,
        expect,
        slo,
        notes,
        source: source.to_string(),
        file_name: file_name.to_string(),
        golden,
    })
}
