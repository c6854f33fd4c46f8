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
    let r = hasim::Run::new(&load("scenarios/zone-outage.ron"))
        .seed(7)
        .execute()
        .0;
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
    let r = hasim::Run::new(&load("tests/data/good/scheduled-faults.ron"))
        .seed(1)
        .execute()
        .0;
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
            .any(|n| n == "pool `app`: no random failures; 3 scheduled replica faults"),
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

/// A slowdown multiplies the service time of every request that reaches the replica while it
/// lasts, and nothing else.
#[test]
fn a_slowdown_multiplies_service_times_in_its_window() {
    let text = r#"Scenario(
        name: "slow-exact", horizon: "30s",
        clients: [Client(name: "c", arrivals: Constant(rate_per_s: 2.0), target: "p")],
        pools: [Pool(name: "p", replicas: 1, service: Constant("10ms"))],
        faults: [Slow(pool: "p", replica: 0, at: "10s", duration: "10s", factor: 3.0)],
    )"#;
    let loaded = scenarios::parse_str(text, "slow-exact.ron").expect("valid");
    #[derive(Default)]
    struct Lat(Vec<(u64, u64)>);
    impl sim_core::Observer<models::Record> for Lat {
        fn record(&mut self, _now: sim_core::SimTime, r: &models::Record) {
            if let models::Record::Finished {
                arrived, latency, ..
            } = *r
            {
                self.0.push((arrived.0, latency.0));
            }
        }
    }
    let (r, lat) = hasim::Run::new(&loaded)
        .seed(1)
        .observe(Lat::default())
        .execute();
    assert_eq!(lat.0.len(), 59);
    for (arrived, latency) in lat.0 {
        let slow = (10_000_000_000..20_000_000_000).contains(&arrived);
        assert_eq!(
            latency,
            if slow { 30_000_000 } else { 10_000_000 },
            "{arrived}"
        );
    }
    let s = &r.faults.slowdowns;
    assert_eq!(s.len(), 1);
    assert_eq!(
        (s[0].from_s, s[0].to_s, s[0].factor),
        (10.0, Some(20.0), 3.0)
    );
    assert!(
        r.sre
            .incidents
            .iter()
            .any(|i| i.fault == "replica p/0 slow ×3")
    );
}

/// The issue's question: does P2C hide a slow replica better than round robin? Round robin
/// keeps a sixth of the traffic on a replica that now serves a fifth of it; least request does
/// not.
#[test]
fn least_request_hides_a_slow_replica_that_round_robin_overloads() {
    let p2c = load("scenarios/slow-replica.ron");
    let mut rr = p2c.clone();
    rr.spec.balancers[0].policy = models::spec::PolicySpec::RoundRobin;
    for seed in [1, 2, 3] {
        let a = hasim::Run::new(&p2c).seed(seed).execute().0;
        let b = hasim::Run::new(&rr).seed(seed).execute().0;
        assert!(
            a.availability.request > 0.999,
            "P2C {}",
            a.availability.request
        );
        assert!(
            b.availability.request < 0.97,
            "RR {}",
            b.availability.request
        );
    }
}

/// A partition drops packets: requests to the cut-off zone time out (never refused), the
/// balancer's probes fail too, so detection lags as for a crash — (F−1)·I + T to F·I + T — and
/// after it nothing fails until the partition heals; then `rise` passes bring the zone back.
#[test]
fn a_partition_blackholes_its_zone_until_health_checks_notice() {
    use models::Record;
    use sim_core::{Observer, SimTime};
    #[derive(Default)]
    struct Log {
        failed: Vec<(SimTime, models::Outcome, u32)>,
        marked: Vec<(SimTime, u32, bool)>,
    }
    impl Observer<Record> for Log {
        fn record(&mut self, now: SimTime, r: &Record) {
            match *r {
                Record::Finished {
                    outcome, replica, ..
                } if outcome != models::Outcome::Succeeded => {
                    self.failed.push((now, outcome, replica))
                }
                Record::HealthChange {
                    replica, healthy, ..
                } => self.marked.push((now, replica, healthy)),
                _ => {}
            }
        }
    }
    let loaded = load("scenarios/partition.ron");
    let (r, log) = hasim::Run::new(&loaded)
        .seed(2)
        .observe(Log::default())
        .execute();
    let s = |x: f64| SimTime((x * 1e9) as u64);
    // Zone c holds replicas 2 and 5; both are marked down 5–7 s after 600 s, up 2–4 s after 900 s.
    let mut marked: Vec<_> = log.marked.iter().map(|&(t, r, h)| (r, h, t)).collect();
    marked.sort();
    assert_eq!(marked.len(), 4, "{marked:?}");
    for &(replica, healthy, t) in &marked {
        assert!([2, 5].contains(&replica), "{marked:?}");
        let (lo, hi) = if healthy {
            (902.0, 904.0)
        } else {
            (605.0, 607.0)
        };
        assert!(t >= s(lo) && t < s(hi), "{marked:?}");
    }
    let detected = marked
        .iter()
        .filter(|m| !m.1)
        .map(|m| m.2)
        .max()
        .expect("marked down");
    let during: Vec<_> = log
        .failed
        .iter()
        .filter(|f| f.0 >= s(600.0) && f.0 < s(900.3))
        .collect();
    for f in during.iter().filter(|f| [2, 5].contains(&f.2)) {
        // Lost in the network: only timeouts end them, and only those sent before detection.
        assert_eq!(f.1, models::Outcome::TimedOut, "{f:?}");
        assert!(
            f.0 <= SimTime(detected.0 + 300_000_000) || f.0 >= s(900.0),
            "{f:?}"
        );
    }
    // Until detection, P2C still sends zone c a share (its lost requests count as in flight
    // there until they time out, which steers it away): over a hundred are lost.
    let cut_off = during.iter().filter(|f| [2, 5].contains(&f.2)).count();
    assert!(cut_off > 100, "{cut_off}");
    let p = &r.faults.partitions[0];
    assert_eq!(
        (p.groups.as_str(), p.from_s, p.to_s),
        ("a, b | c", 600.0, Some(900.0))
    );
    let i = &r.sre.incidents[0];
    assert!(
        i.time_to_detect_s.is_some_and(|d| (5.0..7.0).contains(&d)),
        "{i:?}"
    );
}

#[test]
fn a_partition_naming_an_unknown_zone_is_an_error() {
    let out = hasim(&["check", "tests/data/bad/partition-unknown-zone.ron"]);
    assert_eq!(out.status.code(), Some(2));
}

/// An active–passive balancer pair: the VIP is dark exactly from the active's failure to the
/// end of the failover delay; requests in flight through it are lost (reset), those sent while
/// it is dark time out; without a standby it is dark until the repair.
#[test]
fn a_standby_balancer_takes_over_after_the_failover_delay() {
    use models::Record;
    use sim_core::{Observer, SimTime};
    #[derive(Default)]
    struct Log {
        vip: Vec<(SimTime, bool)>,
        failed: Vec<(SimTime, SimTime, models::Outcome)>,
    }
    impl Observer<Record> for Log {
        fn record(&mut self, now: SimTime, r: &Record) {
            match *r {
                Record::BalancerChange { serving, .. } => self.vip.push((now, serving)),
                Record::Finished {
                    outcome, arrived, ..
                } if outcome != models::Outcome::Succeeded => {
                    self.failed.push((arrived, now, outcome))
                }
                _ => {}
            }
        }
    }
    let s = |x: f64| SimTime((x * 1e9).round() as u64);
    let text =
        std::fs::read_to_string(super::repo("scenarios/balancer-failover.ron")).expect("file");
    for (standby, back) in [(true, 603.0), (false, 900.0)] {
        let t = if standby {
            text.clone()
        } else {
            text.replace("standby: Standby(failover_delay: \"3s\"),", "")
        };
        let loaded = scenarios::parse_str(&t, "balancer-failover.ron").expect("valid");
        let (_, log) = hasim::Run::new(&loaded)
            .seed(4)
            .observe(Log::default())
            .execute();
        assert_eq!(
            log.vip,
            [(s(600.0), false), (s(back), true)],
            "standby {standby}"
        );
        // Requests sent while dark all fail; in the 300 ms before, those still in flight fail
        // as reset (crashed).
        let dark: Vec<_> = log
            .failed
            .iter()
            .filter(|f| f.0 >= s(600.0) && f.0 < s(back))
            .collect();
        assert!(dark.iter().all(|f| f.2 == models::Outcome::TimedOut));
        let reset = log
            .failed
            .iter()
            .filter(|f| f.2 == models::Outcome::Crashed)
            .count();
        assert!(
            reset > 0
                && log
                    .failed
                    .iter()
                    .filter(|f| f.2 == models::Outcome::Crashed)
                    .all(|f| f.1 == s(600.0))
        );
        // Poisson arrivals at 240/s over the dark window: within 4 standard deviations.
        let mean = 240.0 * (back - 600.0);
        let n = dark.len() as f64;
        assert!(
            (n - mean).abs() <= 4.0 * mean.sqrt(),
            "standby {standby}: {n} vs {mean}"
        );
    }
}

/// A gray failure with an error rate: while it lasts, a served request fails with that
/// probability (here on top of none), within 4 binomial standard deviations; before and after,
/// none fails.
#[test]
fn a_gray_failure_fails_its_share_of_requests() {
    use models::Record;
    use sim_core::{Observer, SimTime};
    #[derive(Default)]
    struct Count {
        during: [u64; 2],
        outside_errors: u64,
    }
    impl Observer<Record> for Count {
        fn record(&mut self, now: SimTime, r: &Record) {
            if let Record::Finished { outcome, .. } = *r {
                let error = outcome == models::Outcome::Error;
                let t = now.0 as f64 / 1e9;
                if (60.0..120.0).contains(&t) {
                    self.during[error as usize] += 1;
                } else if error {
                    self.outside_errors += 1;
                }
            }
        }
    }
    let loaded = scenarios::parse_str(
        r#"Scenario(
            name: "gray", horizon: "180s",
            clients: [Client(name: "c", arrivals: Poisson(rate_per_s: 500.0), target: "api")],
            pools: [Pool(name: "api", replicas: 1, workers: 100, service: Exponential(mean: "2ms"))],
            faults: [Slow(pool: "api", replica: 0, at: "60s", duration: "60s", error_rate: 0.3)],
        )"#,
        "gray.ron",
    )
    .expect("valid");
    let (r, c) = hasim::Run::new(&loaded)
        .seed(3)
        .observe(Count::default())
        .execute();
    assert_eq!(c.outside_errors, 0);
    let n = (c.during[0] + c.during[1]) as f64;
    let share = c.during[1] as f64 / n;
    let sd = (0.3f64 * 0.7 / n).sqrt();
    assert!((share - 0.3).abs() <= 4.0 * sd, "{share} over {n}");
    let s = &r.faults.slowdowns[0];
    assert!(
        s.factor == 1.0 && (s.error_rate - 0.3).abs() < 1e-12,
        "{s:?}"
    );
    assert_eq!(s.requests_failed, c.during[1]);
}
