//! Run a scenario from code and read its p99 latency and availability: the same `Run` the
//! `hasim run` command makes, so the figures are the command's.
//!
//! ```text
//! cargo run --release --example embed [SCENARIO] [SEED]
//! ```

use std::path::Path;

/// What this example reads from a report.
#[derive(Clone, Debug, PartialEq)]
pub struct Figures {
    /// p99 latency of successful requests, ms.
    pub p99_ms: f64,
    /// Succeeded / (succeeded + failed).
    pub availability: f64,
}

/// Loads `path`, runs it with `seed` (replication 0) and returns its p99 and availability, or
/// the file's diagnostic (file:line:col, what was expected, a hint).
pub fn figures(path: &Path, seed: u64) -> Result<Figures, String> {
    let loaded = hasim::load(path).map_err(|e| e.to_string())?;
    let (report, _) = hasim::Run::new(&loaded).seed(seed).replication(0).execute();
    Ok(Figures {
        p99_ms: report.latency_ms.p99,
        availability: report.availability.request,
    })
}

#[allow(dead_code)] // tests/it/examples.rs includes this file for its functions
fn main() -> std::process::ExitCode {
    let mut args = std::env::args().skip(1);
    let path = args
        .next()
        .unwrap_or_else(|| "scenarios/web-tier.ron".into());
    let seed = args.next().and_then(|s| s.parse().ok()).unwrap_or(42);
    match figures(Path::new(&path), seed) {
        Ok(f) => {
            println!(
                "{path} (seed {seed}): p99 {} ms, availability {:.6}",
                f.p99_ms, f.availability
            );
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{e}");
            std::process::ExitCode::from(2)
        }
    }
}
