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
    /// Error budget consumed at most this fraction: (1 − availability) / (1 − objective), with
    /// the objective of the scenario's `slo` (or its `Availability` expectation).
    ErrorBudget {
        /// Highest acceptable fraction of the budget (1 = all of it).
        max: f64,
    },
    /// Acknowledged writes lost in any one failover of a primary–backup store at most this.
    MaxRpo {
        /// Most writes lost per failover.
        writes: u64,
    },
    /// Time writes fail in any one outage of a primary–backup store at most this.
    MaxRto {
        /// Longest acceptable outage.
        max: SimDuration,
    },
    /// A store's metric (`<store>.<metric>`, see [`crate::store_metric_names`]) at least or
    /// at most a bound, in the metric's unit.
    Store {
        /// `<store>.<metric>`.
        metric: String,
        /// The bound.
        bound: f64,
        /// At least the bound (true) or at most it.
        at_least: bool,
    },
}

/// How a report fared against one expectation.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Verdict {
    /// The expectation, in words: `availability ≥ 0.999`.
    pub expect: String,
    /// The report's value.
    pub actual: f64,
    /// The bound it is held to.
    pub bound: f64,
    /// Whether it holds.
    pub met: bool,
    /// How far off, relative to the bound (0 when met): ranks failing seeds worst first.
    pub shortfall: f64,
}

impl Expectation {
    /// Checks `r` against this expectation.
    pub fn check(&self, r: &Report) -> Verdict {
        let (expect, actual, bound, at_least) = match *self {
            Expectation::Store {
                ref metric,
                bound,
                at_least,
            } => (
                format!("{metric} {} {bound}", if at_least { "≥" } else { "≤" }),
                // Validation refuses names a store does not have; NaN fails the check.
                crate::store_metric(&r.stores, metric).unwrap_or(f64::NAN),
                bound,
                at_least,
            ),
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
            Expectation::ErrorBudget { max } => (
                format!(
                    "error budget consumed ≤ {max} (objective {})",
                    r.sre.slo_availability
                ),
                // An objective of 1 leaves no budget: any failure spends infinitely much of it.
                r.sre
                    .error_budget_consumed
                    .unwrap_or(if r.availability.request < 1.0 {
                        f64::MAX
                    } else {
                        0.0
                    }),
                max,
                false,
            ),
            Expectation::MaxRpo { writes } => (
                format!("writes lost per failover ≤ {writes}"),
                r.stores.iter().map(|s| s.max_rpo()).fold(0.0, f64::max),
                writes as f64,
                false,
            ),
            Expectation::MaxRto { max } => (
                format!("write outage ≤ {max}"),
                r.stores.iter().map(|s| s.max_rto_s()).fold(0.0, f64::max),
                max.as_secs_f64(),
                false,
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
            bound,
            met,
            shortfall: (shortfall * 1e6).round() / 1e6,
        }
    }
}

impl Verdict {
    /// What was expected, what came, and by how much it missed:
    /// `availability ≥ 0.999: got 0.93, short by 0.069 (6.907%)`.
    pub fn miss(&self) -> String {
        let by = (self.bound - self.actual).abs();
        let word = if self.actual < self.bound {
            "short by"
        } else {
            "over by"
        };
        format!(
            "{}: got {}, {word} {} ({:.3}%)",
            self.expect,
            self.actual,
            (by * 1e6).round() / 1e6,
            100.0 * self.shortfall
        )
    }

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
