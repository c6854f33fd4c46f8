//! Expectations (service-level objectives) a scenario states about its own report, checked
//! after the run: a violated one makes `hasim run` exit 1 and `hasim hunt` list the seed.

use crate::report::Report;
use serde::Serialize;
use sim_core::SimDuration;

/// One expectation.
#[derive(Clone, Debug, PartialEq)]
pub enum Expectation {
    /// Request availability at least this.
    Availability {
        /// Lowest acceptable succeeded / (succeeded + failed).
        min: f64,
    },
    /// p99 latency of successes at most this.
    LatencyP99 {
        /// Highest acceptable p99.
        max: SimDuration,
    },
    /// Mean latency of successes at most this.
    LatencyMean {
        /// Highest acceptable mean.
        max: SimDuration,
    },
    /// Throughput (successes per second) at least this.
    Throughput {
        /// Lowest acceptable rate.
        min_rps: f64,
    },
}

/// How a report fared against one expectation.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Verdict {
    /// The expectation, in words: `availability ≥ 0.999`.
    pub expect: String,
    /// The report's value.
    pub actual: f64,
    /// Whether it holds.
    pub met: bool,
    /// How far off, relative to the bound (0 when met): ranks failing seeds worst first.
    pub shortfall: f64,
}

impl Expectation {
    /// Checks `r` against this expectation.
    pub fn check(&self, r: &Report) -> Verdict {
        let (expect, actual, bound, at_least) = match *self {
            Expectation::Availability { min } => (
                format!("availability ≥ {min}"),
                r.availability.request,
                min,
                true,
            ),
            Expectation::LatencyP99 { max } => (
                format!("p99 ≤ {max}"),
                r.latency_ms.p99,
                max.as_millis_f64(),
                false,
            ),
            Expectation::LatencyMean { max } => (
                format!("mean latency ≤ {max}"),
                r.latency_ms.mean,
                max.as_millis_f64(),
                false,
            ),
            Expectation::Throughput { min_rps } => (
                format!("throughput ≥ {min_rps} req/s"),
                r.throughput_rps,
                min_rps,
                true,
            ),
        };
        let met = if at_least {
            actual >= bound
        } else {
            actual <= bound
        };
        let shortfall = if met {
            0.0
        } else if bound != 0.0 {
            (actual - bound).abs() / bound.abs()
        } else {
            (actual - bound).abs()
        };
        Verdict {
            expect,
            actual,
            met,
            shortfall: (shortfall * 1e6).round() / 1e6,
        }
    }
}

impl Verdict {
    /// One line for people: `FAIL availability ≥ 0.999: got 0.93 (6.907% off)`.
    pub fn line(&self) -> String {
        let mark = if self.met { "ok  " } else { "FAIL" };
        if self.met {
            format!("{mark} {}: {}", self.expect, self.actual)
        } else {
            format!(
                "{mark} {}: got {} ({:.3}% off)",
                self.expect,
                self.actual,
                100.0 * self.shortfall
            )
        }
    }
}
