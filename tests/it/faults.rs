//! Faults as verbs on a timeline: crashes, pool and zone outages and rolling restarts happen
//! exactly when the scenario says, overlap cleanly, and show in the report as incidents.

use super::{hasim, load};

fn windows(r: &reports::Report) -> Vec<(String, f64, Option<f64>)> {
    r.faults
        .listed
        .iter()
        .map(|f| (f.replica.clone(), f.down_s, f.up_s))
        .collect()
}

#[test]
fn a_zone_outage_takes_down_its_zone_and_health_checks_notice() {
    let r = hasim::run_report(
        &load("scenarios/zone-outage.ron"),
        7,
        0,
        String::new(),
        Vec::new(),
    );
    // Zone b holds replicas 1 and 4 (replica i in zone i mod 3).
    assert_eq!(
        windows(&r),
        [
            ("web/1".to_string(), 1200.0, Some(1800.0)),
            ("web/4".to_string(), 1200.0, Some(1800.0)),
        ]
    );
    for rep in &r.replicas {
        let expected = if [1, 4].contains(&rep.index) {
            1.0 - 600.0 / 3480.0
        } else {
            1.0
        };
        assert!((rep.up_fraction - expected).abs() < 1e-6, "{rep:?}");
    }
    for i in &r.sre.incidents {
        let d = i
            .time_to_detect_s
            .expect("the health checks detect the outage");
        assert!((5.0 - 1e-3..7.0 + 1e-3).contains(&d), "{d}");
        assert_eq!(i.verdict, "recovered");
    }
    // Requests fail only until the checks take the zone out of rotation.
    assert!(r.requests.failed_by.refused > 0 && r.requests.failed_by.refused < 300 * 7);
}

#[test]
fn rolling_restarts_and_overlapping_faults() {
    let r = hasim::run_report(
        &load("tests/data/good/scheduled-faults.ron"),
        1,
        0,
        String::new(),
        Vec::new(),
    );
    // Rolling restart of `app` (3 replicas) at 10 m: 30 s down each, 1 min apart. A crash of
    // `db/0` at 5 m for 10 min overlaps a pool outage of `db` at 8 m for 1 min: db/0 stays down
    // from 5 m to 15 m (one crash), db/1 from 8 m to 9 m.
    let mut w = windows(&r);
    w.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
    assert_eq!(
        w,
        [
            ("db/0".to_string(), 300.0, Some(900.0)),
            ("db/1".to_string(), 480.0, Some(540.0)),
            ("app/0".to_string(), 600.0, Some(630.0)),
            ("app/1".to_string(), 690.0, Some(720.0)),
            ("app/2".to_string(), 780.0, Some(810.0)),
        ]
    );
    assert!(
        r.notes
            .iter()
            .any(|n| n == "pool `app`: no random failures; 3 scheduled replica outages"),
        "{:?}",
        r.notes
    );
}

#[test]
fn bad_faults_are_input_errors() {
    for f in [
        "fault-on-randomly-failing-pool",
        "fault-replica-out-of-range",
        "fault-unknown-zone",
    ] {
        let out = hasim(&["check", &format!("tests/data/bad/{f}.ron")]);
        assert_eq!(out.status.code(), Some(2), "{f}");
    }
}
