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
    let (report, tl) = hasim::Run::new(&loaded)
        .seed(5)
        .observe(Timeline::default())
        .execute();
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
    let with = hasim::Run::new(&load("scenarios/health-checks.ron"))
        .seed(42)
        .execute()
        .0;
    let without = hasim::Run::new(&load("scenarios/web-tier.ron"))
        .seed(42)
        .execute()
        .0;
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

/// Passive outlier detection (Envoy `consecutive_5xx`): a crashed replica that refuses at once
/// is ejected after `consecutive_errors` failures, for base × times ejected, then tried again.
#[test]
fn outlier_detection_ejects_for_longer_each_time() {
    let text = r#"Scenario(
        name: "outlier", horizon: "30m",
        clients: [Client(name: "c", arrivals: Poisson(rate_per_s: 50.0), timeout: "1s", target: "lb")],
        balancers: [Balancer(
            name: "lb", policy: RoundRobin, target: "web",
            outlier_detection: OutlierDetection(consecutive_errors: 5, base_ejection_time: "30s",
                max_ejection_time: "100s", max_ejection_percent: 0.5),
        )],
        pools: [Pool(name: "web", replicas: 4, workers: 2, service: Exponential(mean: "20ms"))],
        faults: [Crash(pool: "web", replica: 1, at: "5m", duration: "10m")],
    )"#;
    let loaded = scenarios::parse_str(text, "outlier.ron").expect("valid");
    let (r, tl) = hasim::Run::new(&loaded)
        .seed(3)
        .observe(Timeline::default())
        .execute();
    let marks: Vec<(f64, bool)> = tl
        .marked
        .iter()
        .filter(|m| m.0 == 1)
        .map(|m| (m.1.0 as f64 / 1e9, m.2))
        .collect();
    // Ejected and returned in turn; each ejection lasts 30, 60, 90, then 100 s (capped).
    let mut k = 0;
    while k + 1 < marks.len() {
        let ((out_at, out), (back_at, back)) = (marks[k], marks[k + 1]);
        assert!(!out && back, "{marks:?}");
        let len = (30.0 * (k / 2 + 1) as f64).min(100.0);
        assert!((back_at - out_at - len).abs() < 1e-6, "{marks:?}");
        k += 2;
    }
    // Tried again while down until the repair at 900 s, never after.
    assert_eq!(marks.len() % 2, 0, "{marks:?}");
    assert!(marks.len() >= 12, "{marks:?}");
    assert!(
        marks.iter().filter(|m| !m.1).all(|m| m.0 < 900.0),
        "{marks:?}"
    );
    // The first ejection follows the crash within a fraction of a second (5 refusals at 12.5
    // req/s per replica), and the incident says so.
    assert!(marks[0].0 >= 300.0 && marks[0].0 < 302.0, "{marks:?}");
    let d = r.sre.incidents[0].time_to_detect_s.expect("detected");
    assert!(d < 2.0, "{d}");
    // Requests refused: the 5 that eject it each time it is tried again, no more.
    let tries = marks.iter().filter(|m| !m.1).count() as u64;
    assert_eq!(r.requests.failed_by.refused, 5 * tries);
}
