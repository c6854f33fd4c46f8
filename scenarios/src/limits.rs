//! Budgets: sizes in a file that would exhaust memory or time are errors at validation, each
//! with its reason. README's "Limits" table lists them; `--allow-large` (or
//! `HASIM_ALLOW_LARGE=1`) raises every one to its large value for users who need it and have
//! the machine for it.

use std::sync::atomic::{AtomicBool, Ordering};

/// The budgets validation enforces.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Limits {
    /// Largest scenario or sweep file, bytes.
    pub file_bytes: u64,
    /// Replicas across every pool of a scenario (an autoscaled pool counts its `max`).
    pub replicas: u64,
    /// Workers of one replica.
    pub workers: u64,
    /// Keys of a hashing policy's or a cache's key population.
    pub keys: u64,
    /// `k` of an Erlang distribution.
    pub erlang_k: u64,
    /// Backends a pick draws (`choices` of a least-request balancer with replacement).
    pub choices: u64,
    /// Calls in a count-based breaker window.
    pub breaker_calls: u64,
    /// Variants of a sweep (the product of its axes' lengths).
    pub variants: u64,
    /// Runs of a sweep: variants × replications.
    pub runs: u64,
    /// Events the arrival, failure and probe processes put into one simulated second.
    pub events_per_s: f64,
    /// Time-series windows × replicas: every window ends with a sample of every replica.
    pub replica_samples: u64,
    /// Closed-loop users of one client.
    pub users: u64,
}

/// The defaults: a laptop runs anything within them in its memory.
pub const DEFAULT: Limits = Limits {
    file_bytes: 16 << 20,
    replicas: 100_000,
    workers: 100_000,
    keys: 1_000_000,
    erlang_k: 1_000,
    choices: 1_000,
    breaker_calls: 100_000,
    variants: 10_000,
    runs: 1_000_000,
    events_per_s: 1e7,
    replica_samples: 10_000_000,
    users: 1_000_000,
};

/// With `--allow-large`. Events per second stay below 10⁹: virtual time counts nanoseconds,
/// so more than one event per nanosecond would not advance the clock.
pub const LARGE: Limits = Limits {
    file_bytes: 1 << 30,
    replicas: 10_000_000,
    workers: 100_000_000,
    keys: 100_000_000,
    erlang_k: 1_000_000,
    choices: 1_000_000,
    breaker_calls: 10_000_000,
    variants: 1_000_000,
    runs: 1_000_000_000,
    events_per_s: 1e9,
    replica_samples: 10_000_000_000,
    users: 100_000_000,
};

/// The flag that raises the limits: set once by the command line, read by validation.
static ALLOW_LARGE: AtomicBool = AtomicBool::new(false);

/// Raises (or restores) every limit for the rest of the process.
pub fn allow_large(on: bool) {
    ALLOW_LARGE.store(on, Ordering::Relaxed);
}

/// The limits in force.
pub fn limits() -> Limits {
    if ALLOW_LARGE.load(Ordering::Relaxed) {
        LARGE
    } else {
        DEFAULT
    }
}

/// Windows of `window` over `horizon` × `replicas` within the sampling budget; else why not.
pub fn check_samples(
    horizon: sim_core::SimDuration,
    window: sim_core::SimDuration,
    replicas: u64,
) -> Result<(), String> {
    let windows = horizon.0.div_ceil(window.0.max(1));
    let samples = windows.saturating_mul(replicas);
    let limit = limits().replica_samples;
    if samples <= limit {
        return Ok(());
    }
    Err(format!(
        "{windows} windows of {window} × {replicas} replicas make {samples} replica samples, more than the limit of {limit} (every window ends with a sample of every replica)"
    ))
}

/// How to raise a limit, for the help line of a budget error.
pub fn raise_hint() -> &'static str {
    if ALLOW_LARGE.load(Ordering::Relaxed) {
        "this is beyond even the --allow-large limits (README, \"Limits\")"
    } else {
        "if you need it and have the machine for it, run with --allow-large (README, \"Limits\")"
    }
}
