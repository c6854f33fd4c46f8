//! Active health checks: detection lags a crash as the settings say, recovery needs `rise`
//! passes, and checks buy availability back.

use super::{hasim, load};
use models::Record;
use sim_core::{Observer, SimTime};

/// Crash, repair and health-verdict times per replica.
#[derive(Default)]
struct Timeline {
    down: Vec<(u32, SimTime)>,
    up: Vec<(u32, SimTime)>,
    marked: Vec<(u32, SimTime, bool)>,
}

impl Observer<Record> for Timeline {
    fn record(&mut self, now: SimTime, r: &Record) {
        match *r {
            Record::ReplicaDown { replica } => self.down.push((replica, now)),
            Record::ReplicaUp { replica } => self.up.push((replica, now)),
            Record::HealthChange {
                replica, healthy, ..
            } => self.marked.push((replica, now, healthy)),
            _ => {}
        }
    }
}

/// For each event in `from`, the delay to the first verdict `healthy` on the same replica after
/// it and before the replica's next state change, if any.
fn delays(
    from: &[(u32, SimTime)],
    next_change: &[(u32, SimTime)],
    marked: &[(u32, SimTime, bool)],
    healthy: bool,
) -> (Vec<f64>, usize) {
    let mut out = Vec::new();
    let mut missed = 0;
    for &(r, t) in from {
        let until = next_change
            .iter()
            .filter(|(r2, t2)| *r2 == r && *t2 > t)
            .map(|(_, t2)| *t2)
            .min()
            .unwrap_or(SimTime::MAX);
        match marked
            .iter()
            .find(|(r2, t2, h)| *r2 == r && *t2 >= t && *t2 < until && *h == healthy)
        {
            Some((_, t2, _)) => out.push((t2.0 - t.0) as f64 / 1e9),
            None => missed += 1,
        }
    }
    (out, missed)
}

#[test]
fn detection_and_recovery_lag_as_the_settings_say() {
    let loaded = load("tests/data/good/crash-often.ron");
    let (report, tl) = hasim::run_observed(
        &loaded,
        5,
        0,
        String::new(),
        Vec::new(),
        Timeline::default(),
    );
    // interval I = 2 s, timeout T = 1 s, fall F = 3, rise R = 2, no jitter.
    let (i, t, f, r) = (2.0, 1.0, 3.0, 2.0);
    let t_s = || t;

    // Detection: the first probe after the crash starts within one interval and fails after
    // the timeout; F − 1 more follow one interval apart: (F−1)·I + T ≤ d < F·I + T.
    // Only crashes after the replica had been up a whole interval count: after a shorter up
    // time no probe may have passed since the last crash, and its failure streak carries over.
    let settled = |t: SimTime, r: u32, before: &[(u32, SimTime)], gap: f64| {
        let last = before
            .iter()
            .filter(|(r2, t2)| *r2 == r && *t2 <= t)
            .map(|(_, t2)| *t2)
            .max()
            .unwrap_or(SimTime::ZERO);
        (t.0 - last.0) as f64 / 1e9 >= gap && last > SimTime::ZERO || last == SimTime::ZERO
    };
    let crashes: Vec<(u32, SimTime)> = tl
        .down
        .iter()
        .copied()
        .filter(|&(r, t)| settled(t, r, &tl.up, i))
        .collect();
    let (detect, undetected) = delays(&crashes, &tl.up, &tl.marked, false);
    let n = detect.len() as f64;
    assert!(n > 300.0, "{n} crashes detected: the test needs many");
    for d in &detect {
        assert!(
            *d >= (f - 1.0) * i + t - 1e-9 && *d < f * i + t,
            "detected after {d} s"
        );
    }
    // Crashes repaired within the detection lag go unnoticed: with exponential repair of mean
    // 2 min, P(repair < 7 s) ≈ 6%, so a few, not many.
    assert!(
        (undetected as f64) < 0.15 * crashes.len() as f64,
        "{undetected}"
    );
    // The phase is uniform over the interval: mean (F−1)·I + I/2 + T, sd I/√12.
    let mean = detect.iter().sum::<f64>() / n;
    let half = 4.0 * (i / 12f64.sqrt()) / n.sqrt(); // 4 standard errors
    assert!(
        (mean - ((f - 1.0) * i + i / 2.0 + t)).abs() < half,
        "mean detection {mean} s, expected 6 ± {half}"
    );

    // Recovery: the first probe after the repair starts within one interval and passes at once;
    // R − 1 more follow: (R−1)·I ≤ d < R·I.
    // Only repairs after a down time long enough to be detected: then every probe while down
    // failed and the pass streak starts at zero.
    let repairs: Vec<(u32, SimTime)> = tl
        .up
        .iter()
        .copied()
        .filter(|&(r, t)| settled(t, r, &tl.down, f * i + t_s()))
        .collect();
    let (recover, _) = delays(&repairs, &tl.down, &tl.marked, true);
    assert!(recover.len() as f64 > 0.8 * repairs.len() as f64);
    for d in &recover {
        assert!(
            *d >= (r - 1.0) * i - 1e-9 && *d < r * i,
            "healthy again after {d} s"
        );
    }

    // The report says the same, incident by incident.
    let detected: Vec<f64> = report
        .sre
        .incidents
        .iter()
        .filter_map(|x| x.time_to_detect_s)
        .collect();
    assert!(!detected.is_empty());
    assert!(
        detected
            .iter()
            .all(|d| (5.0 - 1e-3..7.0 + 1e-3).contains(d))
    );
}

#[test]
fn health_checks_buy_back_availability() {
    let with = hasim::run_report(
        &load("scenarios/health-checks.ron"),
        42,
        0,
        String::new(),
        Vec::new(),
    );
    let without = hasim::run_report(
        &load("scenarios/web-tier.ron"),
        42,
        0,
        String::new(),
        Vec::new(),
    );
    // Same arrivals, service times and crashes (common random numbers), only the checks differ.
    assert_eq!(with.requests.offered, without.requests.offered);
    assert_eq!(with.faults.total, without.faults.total);
    // Without checks a crashed replica is refused traffic for its whole repair; with them only
    // until it is detected (~6 s of a ~5 min repair).
    assert!(
        with.requests.failed_by.refused * 10 < without.requests.failed_by.refused,
        "{} vs {}",
        with.requests.failed_by.refused,
        without.requests.failed_by.refused
    );
    assert!(with.availability.request > 0.99 && without.availability.request < 0.95);
}

#[test]
fn bad_health_check_settings_are_input_errors() {
    let out = hasim(&["check", "tests/data/bad/health-timeout-above-interval.ron"]);
    assert_eq!(out.status.code(), Some(2));
}
