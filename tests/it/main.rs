//! hasim's integration tests: one binary, modules by area (see ARCHITECTURE.md).

mod autoscale;
#[allow(clippy::disallowed_methods)] // sqrt of sample variances, pow of reference values
mod balancing;
#[allow(clippy::disallowed_methods)] // sqrt and powi of reference values
mod broker;
#[allow(clippy::disallowed_methods)] // closed forms (exp, sqrt) of reference values
mod cache;
mod cli;
mod determinism;
mod faults;
#[allow(clippy::disallowed_methods)] // closed forms (exp, ln, sqrt, powi) of reference values
mod gray;
#[allow(clippy::disallowed_methods)] // sqrt of a reference value
mod health;
mod hostile;
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

/// Runs the hasim binary from the repository root.
pub fn hasim(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_hasim"))
        .args(args)
        .current_dir(root())
        .output()
        .expect("hasim runs")
}
