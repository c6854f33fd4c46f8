//! Hunting for bad seeds: run one scenario under many seeds in parallel and keep those whose
//! report misses an expectation or whose run breaks an invariant, worst first, each with the
//! command that reproduces it. The list does not depend on the thread count.

use rayon::prelude::*;
use scenarios::Loaded;

/// A seed that went wrong.
#[derive(Clone, Debug, PartialEq)]
pub struct Finding {
    /// The seed.
    pub seed: u64,
    /// How bad: the largest relative shortfall of an expectation; infinite for an invariant.
    pub severity: f64,
    /// What went wrong, one line each.
    pub problems: Vec<String>,
    /// The command that reproduces it.
    pub reproduce: String,
}

/// Runs `loaded` with every seed in `seeds` on `jobs` threads; returns the failures, worst first
/// (ties by seed).
pub fn hunt(
    loaded: &Loaded,
    file: &str,
    seeds: std::ops::Range<u64>,
    jobs: usize,
) -> Result<Vec<Finding>, String> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(jobs.max(1))
        .build()
        .map_err(|e| e.to_string())?;
    let found: Vec<Option<Finding>> = pool.install(|| {
        seeds
            .into_par_iter()
            .map(|seed| {
                let reproduce = format!("hasim run {file} --seed {seed}");
                match crate::guarded(|| {
                    crate::Run::new(loaded)
                        .seed(seed)
                        .reproduce(reproduce.clone())
                        .execute()
                        .0
                }) {
                    Err(msg) => Some(Finding {
                        seed,
                        severity: f64::INFINITY,
                        problems: vec![format!("invariant violated: {msg}")],
                        reproduce,
                    }),
                    // A stalled run is the input's fault, whatever the seed: an error below.
                    Ok(r) if r.stalled.is_some() => Some(Finding {
                        seed,
                        severity: f64::INFINITY,
                        problems: vec![r.stalled.unwrap_or_default()],
                        reproduce,
                    }),
                    Ok(r) if r.all_met() => None,
                    Ok(r) => {
                        let failed: Vec<_> = r.expectations.iter().filter(|v| !v.met).collect();
                        Some(Finding {
                            seed,
                            severity: failed.iter().map(|v| v.shortfall).fold(0.0, f64::max),
                            problems: failed.iter().map(|v| v.miss()).collect(),
                            reproduce,
                        })
                    }
                }
            })
            .collect()
    });
    let mut out: Vec<Finding> = found.into_iter().flatten().collect();
    out.sort_by(|a, b| b.severity.total_cmp(&a.severity).then(a.seed.cmp(&b.seed)));
    Ok(out)
}
