//! `hasim test DIR`: snapshot tests of a user's own scenarios, as insta does for code. Every
//! scenario and sweep file under DIR is run and its JSON report compared with the golden file
//! beside it (`web-tier.ron` → `web-tier.golden.json`) under the rules of `hasim-test.ron` (for
//! the folder) and of the file's own `golden:` field, with the same code as `hasim diff`.
//!
//! A golden depends on nothing but the file's text and hasim's model: paths in it are relative
//! to DIR, sweeps give the same bytes on any number of threads, and no wall clock is read.

use crate::diff::{Change, Rules, diff_with};
use std::path::{Path, PathBuf};

/// The folder's rules file, read from DIR itself.
pub const CONFIG: &str = "hasim-test.ron";
/// A golden file's name: the scenario's with `.ron` replaced by this.
pub const GOLDEN_SUFFIX: &str = ".golden.json";

/// Fields never compared: a report from a newer hasim with the same figures still matches.
pub const ALWAYS_IGNORED: &[&str] = &["hasim_version"];

/// One file to test.
#[derive(Clone, Debug)]
pub struct Case {
    /// The file, as found under DIR.
    pub file: PathBuf,
    /// Its path relative to DIR, with `/` separators: the test's name.
    pub name: String,
    /// Its golden file.
    pub golden: PathBuf,
}

/// Every `.ron` file under `dir` except [`CONFIG`], sorted by name.
pub fn discover(dir: &Path) -> Result<Vec<Case>, String> {
    let meta = std::fs::metadata(dir)
        .map_err(|e| format!("cannot read the folder {}: {e}", dir.display()))?;
    if !meta.is_dir() {
        return Err(format!(
            "{} is not a folder: give the folder that holds the scenarios and their golden files",
            dir.display()
        ));
    }
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let entries =
            std::fs::read_dir(&d).map_err(|e| format!("cannot read {}: {e}", d.display()))?;
        for e in entries {
            let e = e.map_err(|e| format!("cannot read {}: {e}", d.display()))?;
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "ron")
                && !(d == dir && p.file_name().is_some_and(|n| n == CONFIG))
            {
                found.push(p);
            }
        }
    }
    let mut cases: Vec<Case> = found
        .into_iter()
        .map(|file| {
            let rel = file.strip_prefix(dir).unwrap_or(&file);
            let name = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join("/");
            let stem = file
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            let golden = file.with_file_name(format!("{stem}{GOLDEN_SUFFIX}"));
            Case { file, name, golden }
        })
        .collect();
    cases.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(cases)
}

/// The folder's rules: [`ALWAYS_IGNORED`] and `DIR/hasim-test.ron` if present.
pub fn folder_rules(dir: &Path) -> Result<Rules, Box<scenarios::ScenarioError>> {
    let mut rules = Rules {
        ignore: ALWAYS_IGNORED.iter().map(|s| s.to_string()).collect(),
        ..Rules::default()
    };
    let config = dir.join(CONFIG);
    if config.exists() {
        rules.extend(&scenarios::load_golden(&config).map_err(Box::new)?);
    }
    Ok(rules)
}

/// Why a file could not be run.
#[derive(Debug)]
pub enum RunError {
    /// The file is not a valid scenario or sweep.
    Input(Box<scenarios::ScenarioError>),
    /// Anything else (a rule, an invariant broken during the run).
    Other(String),
}

impl std::fmt::Display for RunError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RunError::Input(e) => write!(f, "{e}"),
            RunError::Other(e) => write!(f, "{e}"),
        }
    }
}

/// A file's report as JSON and the rules it adds, with paths relative to DIR.
pub struct Ran {
    /// The JSON report.
    pub json: String,
    /// The file's own `golden:` rules.
    pub rules: Option<scenarios::raw::Golden>,
    /// The command that gives the same report, run from DIR.
    pub reproduce: String,
}

/// Runs `case`: a sweep on `jobs` threads (the report does not depend on it), a scenario once
/// with its own seed.
pub fn run_case(case: &Case, jobs: usize) -> Result<Ran, RunError> {
    let input = |e: scenarios::ScenarioError| RunError::Input(Box::new(e));
    let text = std::fs::read_to_string(&case.file)
        .map_err(|e| RunError::Other(format!("cannot read {}: {e}", case.file.display())))?;
    if is_sweep_text(&text) {
        let mut s = scenarios::load_sweep(&case.file).map_err(input)?;
        // The report names the file as DIR sees it, not as this process found it.
        s.file_name = case.name.clone();
        let seed = crate::sweep::seed_of(&s, None);
        crate::sweep::prepare(&mut s, seed, jobs).map_err(RunError::Other)?;
        let head = crate::sweep::header(&s, seed, false);
        let aggs = crate::sweep::run_shard(&s, &head, crate::sweep::Shard::ALL, jobs, None, false)
            .map_err(RunError::Other)?;
        let reproduce = format!("hasim sweep {} --seed {seed}", case.name);
        let report = crate::sweep::report(&head, &aggs, reproduce.clone());
        return Ok(Ran {
            json: report.to_json(),
            rules: s.golden.clone(),
            reproduce,
        });
    }
    let loaded = scenarios::load(&case.file).map_err(input)?;
    let mut notes = Vec::new();
    let seed = loaded.seed.unwrap_or_else(|| {
        notes.push(format!(
            "seed not set in the file or with --seed: using {}",
            crate::DEFAULT_SEED
        ));
        crate::DEFAULT_SEED
    });
    let reproduce = format!("hasim run {} --seed {seed}", case.name);
    let report = crate::guarded(|| {
        crate::Run::new(&loaded)
            .seed(seed)
            .reproduce(reproduce.clone())
            .notes(notes)
            .execute()
            .0
    })
    .map_err(|m| {
        RunError::Other(format!(
            "invariant violated during the run: {m}\n  reproduce: {reproduce}"
        ))
    })?;
    Ok(Ran {
        json: report.to_json(),
        rules: loaded.golden.clone(),
        reproduce,
    })
}

/// True when the text's first value is a `Sweep(…)`.
pub fn is_sweep_text(text: &str) -> bool {
    text.lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with("//") && !l.starts_with("#!"))
        .is_some_and(|l| l.starts_with("Sweep"))
}

/// How one file fared.
#[derive(Debug)]
pub enum Outcome {
    /// The report matches its golden.
    Passed,
    /// The golden was written (`--accept`): new, or changed with these differences.
    Accepted {
        /// Differences from the old golden (empty for a new one).
        changes: Vec<Change>,
        /// There was no golden before.
        new: bool,
    },
    /// The report moved beyond the rules.
    Failed(Vec<Change>),
    /// No golden file yet.
    Missing,
    /// The file could not be run or its golden read.
    Error(String),
}

/// One file's result.
#[derive(Debug)]
pub struct CaseResult {
    /// The file relative to DIR.
    pub name: String,
    /// Its golden file.
    pub golden: PathBuf,
    /// What happened.
    pub outcome: Outcome,
    /// The command that reproduces its report (from DIR).
    pub reproduce: String,
}

/// Tests one case against its golden, rewriting the golden when `accept` is set and the
/// report moved (or none existed).
pub fn test_case(case: &Case, folder: &Rules, jobs: usize, accept: bool) -> CaseResult {
    let result = |outcome, reproduce: String| CaseResult {
        name: case.name.clone(),
        golden: case.golden.clone(),
        outcome,
        reproduce,
    };
    let ran = match run_case(case, jobs) {
        Ok(r) => r,
        Err(e) => return result(Outcome::Error(e.to_string()), String::new()),
    };
    let mut rules = folder.clone();
    if let Some(g) = &ran.rules {
        rules.extend(g);
    }
    if let Err(e) = rules.validate() {
        return result(Outcome::Error(format!("{}: {e}", case.name)), ran.reproduce);
    }
    let new: serde_json::Value = match serde_json::from_str(&ran.json) {
        Ok(v) => v,
        Err(e) => return result(Outcome::Error(e.to_string()), ran.reproduce),
    };
    let write = |changes: Vec<Change>, fresh: bool| match crate::write_atomically(
        &case.golden,
        ran.json.as_bytes(),
    ) {
        Ok(()) => Outcome::Accepted {
            changes,
            new: fresh,
        },
        Err(e) => Outcome::Error(format!("cannot write {}: {e}", case.golden.display())),
    };
    let old = match std::fs::read_to_string(&case.golden) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let outcome = if accept {
                write(Vec::new(), true)
            } else {
                Outcome::Missing
            };
            return result(outcome, ran.reproduce);
        }
        Err(e) => {
            return result(
                Outcome::Error(format!("cannot read {}: {e}", case.golden.display())),
                ran.reproduce,
            );
        }
    };
    let old: serde_json::Value = match serde_json::from_str(&old) {
        Ok(v) => v,
        Err(e) if accept => {
            let _ = e;
            return result(write(Vec::new(), false), ran.reproduce);
        }
        Err(e) => {
            return result(
                Outcome::Error(format!(
                    "{}:{}:{}: not a JSON report: {e} (rewrite it with --accept)",
                    case.golden.display(),
                    e.line(),
                    e.column()
                )),
                ran.reproduce,
            );
        }
    };
    let changes = diff_with(&old, &new, &rules);
    let outcome = match (changes.is_empty(), accept) {
        (true, _) => Outcome::Passed,
        (false, true) => write(changes, false),
        (false, false) => Outcome::Failed(changes),
    };
    result(outcome, ran.reproduce)
}

fn xml_escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&apos;"),
            // XML 1.0 allows no other control characters.
            c if (c as u32) < 0x20 && !matches!(c, '\n' | '\r' | '\t') => {}
            c => o.push(c),
        }
    }
    o
}

/// The differences of a failed case, one per line, as `hasim diff` prints them.
pub fn describe(changes: &[Change]) -> String {
    changes
        .iter()
        .map(|c| format!("{}: {}", c.path, c.what))
        .collect::<Vec<_>>()
        .join("\n")
}

/// JUnit XML for CI systems: one `<testcase>` per file, a `<failure>` naming every field that
/// moved, an `<error>` for a file that could not be run. No times: the file is deterministic.
pub fn junit(suite: &str, results: &[CaseResult]) -> String {
    let failures = results
        .iter()
        .filter(|r| matches!(r.outcome, Outcome::Failed(_) | Outcome::Missing))
        .count();
    let errors = results
        .iter()
        .filter(|r| matches!(r.outcome, Outcome::Error(_)))
        .count();
    let mut o = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let head = format!(
        "name=\"{}\" tests=\"{}\" failures=\"{failures}\" errors=\"{errors}\"",
        xml_escape(suite),
        results.len()
    );
    o.push_str(&format!("<testsuites {head}>\n  <testsuite {head}>\n"));
    for r in results {
        let open = format!(
            "    <testcase classname=\"hasim.test\" name=\"{}\"",
            xml_escape(&r.name)
        );
        let body = match &r.outcome {
            Outcome::Passed | Outcome::Accepted { .. } => None,
            Outcome::Failed(changes) => Some(format!(
                "<failure message=\"{}\">{}\nreproduce: {}</failure>",
                xml_escape(&format!(
                    "{} field(s) moved: {}",
                    changes.len(),
                    changes
                        .iter()
                        .map(|c| c.path.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )),
                xml_escape(&describe(changes)),
                xml_escape(&r.reproduce)
            )),
            Outcome::Missing => Some(format!(
                "<failure message=\"{}\"/>",
                xml_escape(&format!(
                    "no golden file {}: run `hasim test --accept` to write it",
                    r.golden.display()
                ))
            )),
            Outcome::Error(e) => Some(format!(
                "<error message=\"{}\">{}</error>",
                xml_escape(e.lines().next().unwrap_or("")),
                xml_escape(e)
            )),
        };
        match body {
            None => o.push_str(&format!("{open}/>\n")),
            Some(b) => o.push_str(&format!("{open}>\n      {b}\n    </testcase>\n")),
        }
    }
    o.push_str("  </testsuite>\n</testsuites>\n");
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn junit_escapes_and_counts() {
        let results = vec![
            CaseResult {
                name: "a<b>.ron".into(),
                golden: PathBuf::from("a.golden.json"),
                outcome: Outcome::Passed,
                reproduce: String::new(),
            },
            CaseResult {
                name: "c.ron".into(),
                golden: PathBuf::from("c.golden.json"),
                outcome: Outcome::Failed(vec![Change {
                    path: "latency_ms.p99".into(),
                    what: "1 → 2 (+100.00%)".into(),
                }]),
                reproduce: "hasim run c.ron --seed 1".into(),
            },
            CaseResult {
                name: "d.ron".into(),
                golden: PathBuf::from("d.golden.json"),
                outcome: Outcome::Error("d.ron:1:1: \"bad\" & worse".into()),
                reproduce: String::new(),
            },
        ];
        let x = junit("t", &results);
        assert!(x.contains("tests=\"3\" failures=\"1\" errors=\"1\""), "{x}");
        assert!(x.contains("name=\"a&lt;b&gt;.ron\"/>"), "{x}");
        assert!(x.contains("1 field(s) moved: latency_ms.p99"), "{x}");
        assert!(x.contains("&quot;bad&quot; &amp; worse"), "{x}");
    }
}
