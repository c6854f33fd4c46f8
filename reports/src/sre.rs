//! Availability as SREs define it: request availability against an objective, time-based
//! availability (a window is good when its success rate meets the objective), nines, downtime per
//! year, error budget consumed, and each incident (a replica crash): what it failed, how long the
//! service took to meet the objective again, and whether goodput came back after the trigger
//! ended (a metastability verdict).

use crate::timeseries::WindowRow;
use serde::Serialize;

/// Goodput counts as back once a window reaches this fraction of its pre-fault level.
pub const RECOVERED_FRACTION: f64 = 0.9;

/// Windows before a fault whose goodput is its baseline.
const BASELINE_WINDOWS: usize = 5;

/// Hours in a year of 365.25 days.
const HOURS_PER_YEAR: f64 = 8766.0;

/// Where the objective came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SloSource {
    /// The scenario's `slo: Slo(availability: …)`.
    Slo,
    /// The scenario's `expect: [Availability(min: …)]`.
    Expect,
    /// Neither: hasim's default.
    Default,
}

/// The service-level objective a run is judged against.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Slo {
    /// Target request availability, and the success rate that makes a window good.
    pub availability: f64,
    /// Where `availability` came from.
    pub source: SloSource,
}

/// The objective used when a scenario states none.
pub const DEFAULT_SLO_AVAILABILITY: f64 = 0.999;

impl Default for Slo {
    /// [`DEFAULT_SLO_AVAILABILITY`], as for a scenario that states no objective.
    fn default() -> Slo {
        Slo {
            availability: DEFAULT_SLO_AVAILABILITY,
            source: SloSource::Default,
        }
    }
}

/// Windows by verdict.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct WindowCounts {
    /// Windows after warm-up.
    pub total: u64,
    /// Whose success rate met the objective.
    pub good: u64,
    /// Whose success rate missed it, or where requests were offered and none finished.
    pub bad: u64,
    /// Where nothing was offered or finished (left out of time availability).
    pub empty: u64,
}

/// One fault and what it did to the service.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Incident {
    /// What failed (`replica web/2 crashed`).
    pub fault: String,
    /// When, seconds.
    pub start_s: f64,
    /// When it was repaired, seconds (null if not before the horizon).
    pub end_s: Option<f64>,
    /// Requests it failed (lost in the crash, or sent to the replica while down).
    pub requests_failed: u64,
    /// Time until a health check took the replica out of rotation (null: none configured, so
    /// the balancer kept sending to it until it came back).
    pub time_to_detect_s: Option<f64>,
    /// Windows from its start to recovery whose success rate missed the objective.
    pub bad_windows: u64,
    /// From the fault's start to the end of the last window missing the objective before the
    /// service met it again (0 when no window missed it; null if it never did again).
    pub time_to_recover_s: Option<f64>,
    /// Mean goodput over the windows just before the fault, successes per second.
    pub goodput_before_rps: Option<f64>,
    /// From the end of the fault to the start of the first window whose goodput was back to
    /// 90% of `goodput_before_rps` (null if it never was, or there was no baseline).
    pub goodput_back_after_s: Option<f64>,
    /// `recovered`, `no visible effect`, `metastable: …`, `still failing at the horizon`,
    /// or `no baseline: …`.
    pub verdict: String,
}

/// The SRE view of one run.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Sre {
    /// The objective: target availability.
    pub slo_availability: f64,
    /// Where it came from: `slo`, `expect` or `default`.
    pub slo_from: SloSource,
    /// Window length, seconds.
    pub window_s: f64,
    /// succeeded / (succeeded + failed) after warm-up.
    pub request_availability: f64,
    /// −log10(1 − request availability) (null when nothing failed).
    pub nines: Option<f64>,
    /// Windows after warm-up, by verdict.
    pub windows: WindowCounts,
    /// good / (good + bad) windows (null when no window had traffic).
    pub time_availability: Option<f64>,
    /// (1 − time availability) × one year, hours.
    pub downtime_per_year_h: Option<f64>,
    /// (1 − request availability) / (1 − objective): 1 means the whole budget is spent.
    pub error_budget_consumed: Option<f64>,
    /// Each fault, in order.
    pub incidents: Vec<Incident>,
}

/// A fault as the collector saw it.
#[derive(Clone, Debug)]
pub struct FaultWindow {
    /// What failed.
    pub fault: String,
    /// Start, ns.
    pub start_ns: u64,
    /// End, ns, if before the horizon.
    pub end_ns: Option<u64>,
    /// Requests it failed.
    pub requests_failed: u64,
    /// When a health check took the failed component out of rotation, ns.
    pub detected_ns: Option<u64>,
}

fn round(x: f64, digits: usize) -> f64 {
    let f = [1.0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6][digits];
    (x * f).round() / f
}

/// Good (`Some(true)`), bad (`Some(false)`), or empty (`None`).
fn verdict(row: &WindowRow, objective: f64) -> Option<bool> {
    match row.success_rate() {
        Some(rate) => Some(rate >= objective),
        None if row.offered > 0 => Some(false),
        None => None,
    }
}

impl Sre {
    /// Computes the SRE figures of a run.
    pub fn new(
        rows: &[WindowRow],
        slo: &Slo,
        window_ns: u64,
        warmup_ns: u64,
        request_availability: f64,
        faults: &[FaultWindow],
    ) -> Sre {
        let mut windows = WindowCounts {
            total: 0,
            good: 0,
            bad: 0,
            empty: 0,
        };
        for row in rows.iter().filter(|r| r.start_ns >= warmup_ns) {
            windows.total += 1;
            match verdict(row, slo.availability) {
                Some(true) => windows.good += 1,
                Some(false) => windows.bad += 1,
                None => windows.empty += 1,
            }
        }
        let judged = windows.good + windows.bad;
        let time_availability = (judged > 0).then(|| windows.good as f64 / judged as f64);
        let unavailable = 1.0 - request_availability;
        Sre {
            slo_availability: slo.availability,
            slo_from: slo.source,
            window_s: window_ns as f64 / 1e9,
            request_availability,
            nines: (unavailable > 0.0).then(|| round(-libm_log10(unavailable), 3)),
            time_availability: time_availability.map(|a| round(a, 6)),
            downtime_per_year_h: time_availability.map(|a| round((1.0 - a) * HOURS_PER_YEAR, 3)),
            error_budget_consumed: (slo.availability < 1.0)
                .then(|| round(unavailable / (1.0 - slo.availability), 6)),
            windows,
            incidents: faults
                .iter()
                .map(|f| incident(rows, slo.availability, f))
                .collect(),
        }
    }
}

/// log10 from `libm`, not the platform's, so that reports are the same bytes on every machine.
fn libm_log10(x: f64) -> f64 {
    libm::log10(x)
}

fn incident(rows: &[WindowRow], objective: f64, f: &FaultWindow) -> Incident {
    let s = |ns: u64| round(ns as f64 / 1e9, 3);
    let first = rows
        .iter()
        .position(|r| r.end_ns > f.start_ns)
        .unwrap_or(rows.len());
    let end_ns = f.end_ns.unwrap_or(u64::MAX);

    // Missing the objective: scan from the fault's window until a good window after its end.
    let mut bad_windows = 0;
    let mut last_bad_end = None;
    let mut met_again = false;
    for r in &rows[first..] {
        match verdict(r, objective) {
            Some(false) => {
                bad_windows += 1;
                last_bad_end = Some(r.end_ns);
            }
            Some(true) if r.start_ns >= end_ns => {
                met_again = true;
                break;
            }
            _ => {}
        }
    }
    let time_to_recover_s = match (last_bad_end, met_again) {
        (None, _) => Some(0.0),
        (Some(e), true) => Some(s(e.saturating_sub(f.start_ns))),
        (Some(_), false) => None,
    };

    // Goodput against its level before the fault.
    let before: Vec<&WindowRow> = rows[..first]
        .iter()
        .rev()
        .filter(|r| r.end_ns <= f.start_ns)
        .take(BASELINE_WINDOWS)
        .collect();
    let baseline = (!before.is_empty())
        .then(|| before.iter().map(|r| r.goodput_rps()).sum::<f64>() / before.len() as f64);
    let back = match (baseline, f.end_ns) {
        (Some(b), Some(end)) => rows
            .iter()
            .filter(|r| r.start_ns >= end)
            .find(|r| r.goodput_rps() >= RECOVERED_FRACTION * b)
            .map(|r| s(r.start_ns - end)),
        _ => None,
    };
    let after_end = f
        .end_ns
        .is_some_and(|end| rows.iter().any(|r| r.start_ns >= end));
    let verdict = if f.end_ns.is_none() {
        "still failing at the horizon".to_string()
    } else if baseline.is_none() {
        "no baseline: the fault began in the first window".to_string()
    } else if !after_end {
        "no window after the fault ended: run longer to judge recovery".to_string()
    } else if back.is_none() {
        format!(
            "metastable: goodput stayed below {:.0}% of its pre-fault level until the horizon",
            100.0 * RECOVERED_FRACTION
        )
    } else if bad_windows == 0 {
        "no visible effect".to_string()
    } else {
        "recovered".to_string()
    };
    Incident {
        fault: f.fault.clone(),
        start_s: s(f.start_ns),
        end_s: f.end_ns.map(s),
        requests_failed: f.requests_failed,
        time_to_detect_s: f.detected_ns.map(|d| s(d.saturating_sub(f.start_ns))),
        bad_windows,
        time_to_recover_s,
        goodput_before_rps: baseline.map(|b| round(b, 3)),
        goodput_back_after_s: back,
        verdict,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: u64 = 1_000_000_000;

    fn row(i: u64, succeeded: u64, failed: u64) -> WindowRow {
        WindowRow {
            start_ns: i * S,
            end_ns: (i + 1) * S,
            offered: succeeded + failed,
            succeeded,
            failed,
            ..WindowRow::default()
        }
    }

    fn slo() -> Slo {
        Slo {
            availability: 0.99,
            source: SloSource::Slo,
        }
    }

    #[test]
    fn windows_nines_downtime_and_budget() {
        // 8 good windows, 2 bad ones; 1000 requests, 30 failed.
        let mut rows: Vec<WindowRow> = (0..10).map(|i| row(i, 100, 0)).collect();
        rows[4] = row(4, 85, 15);
        rows[5] = row(5, 85, 15);
        let sre = Sre::new(&rows, &slo(), S, 0, 0.97, &[]);
        assert_eq!((sre.windows.good, sre.windows.bad), (8, 2));
        assert_eq!(sre.time_availability, Some(0.8));
        assert_eq!(sre.downtime_per_year_h, Some(0.2 * 8766.0));
        assert_eq!(sre.nines, Some(round(-libm::log10(0.03), 3)));
        assert_eq!(sre.error_budget_consumed, Some(3.0));
    }

    #[test]
    fn an_incident_that_recovers_and_one_that_does_not() {
        let mut rows: Vec<WindowRow> = (0..20).map(|i| row(i, 100, 0)).collect();
        // Fault on [6.5 s, 8.5 s): windows 6, 7, 8 miss the objective, 9 is good again.
        for (i, r) in rows.iter_mut().enumerate().take(9).skip(6) {
            *r = row(i as u64, 50, 50);
        }
        let f = FaultWindow {
            fault: "replica web/0 crashed".into(),
            start_ns: 6 * S + S / 2,
            end_ns: Some(8 * S + S / 2),
            requests_failed: 150,
            detected_ns: None,
        };
        let i = &Sre::new(&rows, &slo(), S, 0, 0.99, std::slice::from_ref(&f)).incidents[0];
        assert_eq!(i.bad_windows, 3);
        assert_eq!(i.time_to_recover_s, Some(2.5));
        assert_eq!(i.goodput_before_rps, Some(100.0));
        assert_eq!(i.goodput_back_after_s, Some(0.5));
        assert_eq!(i.verdict, "recovered");

        // Goodput collapses after the trigger and stays down: metastable.
        for r in rows.iter_mut().skip(9) {
            *r = row(r.start_ns / S, 20, 80);
        }
        let i = &Sre::new(&rows, &slo(), S, 0, 0.5, &[f]).incidents[0];
        assert_eq!(i.time_to_recover_s, None);
        assert_eq!(i.goodput_back_after_s, None);
        assert!(i.verdict.starts_with("metastable"), "{}", i.verdict);
    }
}
