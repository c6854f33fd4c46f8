//! hasim's integration tests: one binary, modules by area (see ARCHITECTURE.md).

#[allow(clippy::disallowed_methods)] // closed forms (exp, sqrt) of reference values
mod architecture;
mod autoscale;
#[allow(clippy::disallowed_methods)] // sqrt of sample variances, pow of reference values
mod balancing;
#[allow(clippy::disallowed_methods)] // sqrt and powi of reference values
mod broker;
#[allow(clippy::disallowed_methods)] // closed forms (exp, sqrt) of reference values
mod cache;
mod cli;
mod compare;
mod custom;
mod determinism;
mod docs;
mod examples;
mod explain;
mod faults;
#[allow(clippy::disallowed_methods)] // sqrt of sample variances
mod fleet;
mod golden;
#[allow(clippy::disallowed_methods)] // closed forms (exp, ln, sqrt, powi) of reference values
mod gray;
#[allow(clippy::disallowed_methods)] // sqrt of a reference value
mod health;
mod hostile;
#[allow(clippy::disallowed_methods)] // sqrt of a reference value
mod lock;
mod ordering;
mod repro;
#[allow(clippy::disallowed_methods)] // closed forms (exp, ln, sqrt) of reference values
mod resilience;
mod snapshots;
#[allow(clippy::disallowed_methods)] // sqrt of reference values
mod store;
mod swarm;
mod sweep;
#[allow(clippy::disallowed_methods)] // reference values, not simulation results
mod theory;
#[allow(clippy::disallowed_methods)] // closed forms (powi, sqrt) of reference values
mod tiers;
#[allow(clippy::disallowed_methods)] // log10 of a reference value
mod visual;
#[allow(clippy::disallowed_methods)] // closed forms (exp, sqrt, powi) of reference values
mod workload;

use std::path::{Path, PathBuf};

/// The repository root.
pub fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// A file of the repository.
pub fn repo(rel: &str) -> PathBuf {
    root().join(rel)
}

/// Loads a scenario file of the repository or fails the test with its diagnostic.
pub fn load(rel: &str) -> scenarios::Loaded {
    scenarios::load(&repo(rel)).unwrap_or_else(|e| panic!("{e}"))
}

/// The example scenarios (`scenarios/*.ron` but the sweeps), relative paths, sorted.
pub fn examples() -> Vec<String> {
    let mut files: Vec<_> = std::fs::read_dir(repo("scenarios"))
        .expect("scenarios/")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "ron"))
        .filter(|p| {
            !std::fs::read_to_string(p)
                .expect("read")
                .contains("\nSweep(")
        })
        .collect();
    files.sort();
    (files.iter())
        .map(|p| {
            let rel = p.strip_prefix(root()).expect("inside");
            rel.to_str().expect("utf-8").to_string()
        })
        .collect()
}

/// Each example's JSON report (`hasim run FILE --format json`) from three separate processes,
/// run once for every test that needs them (the golden fingerprints compare all three, the
/// snapshots take the first), in parallel: the examples are the suite's longest work.
pub fn example_reports() -> &'static [(String, [Vec<u8>; 3])] {
    use rayon::prelude::*;
    static REPORTS: std::sync::OnceLock<Vec<(String, [Vec<u8>; 3])>> = std::sync::OnceLock::new();
    REPORTS.get_or_init(|| {
        let files = examples();
        let jobs: Vec<(usize, usize)> = (0..files.len())
            .flat_map(|f| (0..3).map(move |k| (f, k)))
            .collect();
        let mut outs: Vec<Vec<u8>> = jobs
            .par_iter()
            .map(|&(f, _)| {
                let out = hasim(&["run", &files[f], "--format", "json"]);
                assert_eq!(
                    out.status.code(),
                    Some(0),
                    "{}: {}",
                    files[f],
                    String::from_utf8_lossy(&out.stderr)
                );
                out.stdout
            })
            .collect();
        let mut reports = Vec::with_capacity(files.len());
        for f in files.into_iter().rev() {
            let c = outs.pop().expect("three per file");
            let b = outs.pop().expect("three per file");
            let a = outs.pop().expect("three per file");
            reports.push((f, [a, b, c]));
        }
        reports.reverse();
        reports
    })
}

/// Runs the hasim binary from the repository root.
pub fn hasim(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_hasim"))
        .args(args)
        .current_dir(root())
        .output()
        .expect("hasim runs")
}
