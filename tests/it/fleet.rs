//! Fleets as they are: replica groups of different machines in one pool, shared repair crews.
//! Checked against what routing and the birth–death chain say, each tolerance `Z` standard
//! errors of the estimate, the standard error from independent replications' sample variance
//! (each replication a long run with its own streams).

use models::{Record, System};
use sim_core::{Observer, SimTime, StreamKey};

const Z: f64 = 4.0;

fn parse(text: &str) -> scenarios::Loaded {
    scenarios::parse_str(text, "fleet.ron").unwrap_or_else(|e| panic!("{e}"))
}

/// Mean and standard error of the mean of `xs`.
fn mean_se(xs: &[f64]) -> (f64, f64) {
    let n = xs.len() as f64;
    let m = xs.iter().sum::<f64>() / n;
    let var = xs.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (n - 1.0);
    (m, (var / n).sqrt())
}

fn assert_close(what: &str, xs: &[f64], truth: f64) {
    let (m, se) = mean_se(xs);
    assert!(se > 0.0, "{what}: no spread across replications");
    assert!(
        (m - truth).abs() <= Z * se,
        "{what}: simulated {m} vs {truth}: off by {:.2} standard errors (se {se})",
        (m - truth).abs() / se
    );
}

/// Four small machines (speed 1, one worker, weight 1) and two large ones (speed 2, two
/// workers, weight 4) behind `policy`, λ = 36/s of 100 ms work (at speed 1).
fn mixed(policy: &str) -> String {
    format!(
        r#"Scenario(
        name: "mixed", horizon: "2000s", warmup: "100s",
        clients: [Client(name: "c", arrivals: Poisson(rate_per_s: 36.0), target: "lb")],
        balancers: [Balancer(name: "lb", policy: {policy}, target: "app")],
        pools: [Pool(name: "app", service: Exponential(mean: "100ms"), groups: [
            ReplicaGroup(name: "small", count: 4, weight: 1),
            ReplicaGroup(name: "large", count: 2, speed: 2.0, workers: 2, weight: 4),
        ])],
    )"#
    )
}

/// A group's utilisation is its replicas' arrival rate × mean service time at its speed /
/// its workers: under random routing λ/6 per replica (small 0.6, large 0.15), under weighted
/// random λ·w/Σw (1:4 of capacity 1:4: 0.3 each). Its share of the pool's completions is
/// binomial around its routing probability.
#[test]
fn each_groups_utilisation_is_its_share_of_the_work() {
    let (lambda, s) = (36.0, 0.1);
    for (policy, p_small) in [("Random", 4.0 / 6.0), ("WeightedRandom()", 4.0 / 12.0)] {
        let loaded = parse(&mixed(policy));
        let per_replica = |p_group: f64, count: f64| lambda * p_group / count;
        let rho_small = per_replica(p_small, 4.0) * s;
        let rho_large = per_replica(1.0 - p_small, 2.0) * (s / 2.0) / 2.0;
        let (mut small, mut large) = (Vec::new(), Vec::new());
        for rep in 0..20 {
            let r = hasim::Run::new(&loaded)
                .seed(7)
                .replication(rep)
                .execute()
                .0;
            assert_eq!(r.groups.len(), 2, "{policy}: a line per group");
            let (g0, g1) = (&r.groups[0], &r.groups[1]);
            assert_eq!((g0.group.as_str(), g0.replicas, g0.first), ("small", 4, 0));
            assert_eq!((g1.group.as_str(), g1.workers, g1.first), ("large", 2, 4));
            small.push(g0.utilisation);
            large.push(g1.utilisation);
            // Every completion went to one group or the other; its group is a coin flip.
            let n = (g0.served + g1.served) as f64;
            let sd = (p_small * (1.0 - p_small) / n).sqrt();
            assert!(
                (g0.share_of_work - p_small).abs() <= Z * sd,
                "{policy} rep {rep}: small's share {} vs {p_small} ± {sd}",
                g0.share_of_work
            );
            // The replica lines agree with the group lines.
            let busy: f64 = r.replicas[..4].iter().map(|x| x.utilisation).sum::<f64>() / 4.0;
            assert!((busy - g0.utilisation).abs() < 1e-5, "{busy} vs {g0:?}");
        }
        assert_close(&format!("{policy}: small"), &small, rho_small);
        assert_close(&format!("{policy}: large"), &large, rho_large);
    }
}

/// The weights of a weighted policy that gives none are the groups', replica by replica; a
/// policy that gives its own keeps them.
#[test]
fn weighted_policies_take_the_groups_weights() {
    use models::spec::PolicySpec;
    let loaded = parse(&mixed("SmoothWeightedRoundRobin()"));
    assert_eq!(
        loaded.spec.balancers[0].policy,
        PolicySpec::SmoothWeightedRoundRobin {
            weights: vec![1, 1, 1, 1, 4, 4]
        }
    );
    let loaded = parse(&mixed("WeightedRoundRobin(weights: [1, 2, 3, 4, 5, 6])"));
    assert_eq!(
        loaded.spec.balancers[0].policy,
        PolicySpec::WeightedRoundRobin {
            weights: vec![1, 2, 3, 4, 5, 6]
        }
    );
    // Smooth WRR is deterministic: of every 12 requests, 1 goes to each small machine and 4 to
    // each large one, so the small ones serve a third of the work, up to the few requests in
    // flight at the ends of the window (of about 68 000).
    let loaded = parse(&mixed("SmoothWeightedRoundRobin()"));
    let r = hasim::Run::new(&loaded).execute().0;
    let small = &r.groups[0];
    assert!((small.share_of_work - 1.0 / 3.0).abs() < 1e-3, "{small:?}");
}

/// Time spent with each number of replicas down, after warm-up.
struct Down {
    warmup: SimTime,
    down: usize,
    since: SimTime,
    time: Vec<u64>,
}

impl Observer<Record> for Down {
    fn record(&mut self, now: SimTime, r: &Record) {
        let d = match r {
            Record::ReplicaDown { .. } => 1isize,
            Record::ReplicaUp { .. } => -1,
            _ => return,
        };
        let from = self.since.max(self.warmup);
        if now > from {
            self.time[self.down] += now.0 - from.0;
        }
        self.since = now;
        self.down = (self.down as isize + d) as usize;
    }
}

/// P(j replicas down) of the machine-repairman chain: n machines failing at rate λ each while
/// up, k crews repairing at rate μ each, a FIFO queue for a crew (birth rate (n − j)λ, death
/// rate min(j, k)μ).
fn birth_death(n: usize, k: usize, lambda: f64, mu: f64) -> Vec<f64> {
    let mut p = vec![1.0];
    for j in 1..=n {
        let up = (n - j + 1) as f64 * lambda;
        let down = j.min(k) as f64 * mu;
        p.push(p[j - 1] * up / down);
    }
    let total: f64 = p.iter().sum();
    p.iter().map(|x| x / total).collect()
}

/// k of n: the share of time with at least m of the 5 replicas up, for every m, is the
/// birth–death chain's with k crews (MTBF 40 s, MTTR 20 s: one crew is often busy when the
/// next crash comes, so k = 1, 2 and 5 give different answers).
#[test]
fn k_shared_crews_give_the_birth_death_availability() {
    let (n, lambda, mu) = (5usize, 1.0 / 40.0, 1.0 / 20.0);
    for k in [1usize, 2, 5] {
        let crews = if k == n {
            String::new()
        } else {
            format!("repair_crews: {k},")
        };
        let loaded = parse(&format!(
            r#"Scenario(
            name: "crews", horizon: "20000s", warmup: "500s",
            clients: [Client(name: "c", arrivals: Poisson(rate_per_s: 0.1), target: "lb")],
            balancers: [Balancer(name: "lb", policy: RoundRobin, target: "app")],
            pools: [Pool(name: "app", replicas: 5, service: Exponential(mean: "10ms"), {crews}
                failures: Failures(time_to_failure: Exponential(mean: "40s"),
                                   time_to_repair: Exponential(mean: "20s")))],
        )"#
        ));
        let theory = birth_death(n, k, lambda, mu);
        let mut at_least: Vec<Vec<f64>> = vec![Vec::new(); n + 1];
        for rep in 0..20 {
            let obs = Down {
                warmup: SimTime(loaded.spec.warmup.0),
                down: 0,
                since: SimTime::ZERO,
                time: vec![0; n + 1],
            };
            let (summary, mut obs) = System::new(&loaded.spec, StreamKey::new(11, rep), obs).run();
            let end = SimTime(loaded.spec.horizon.0);
            obs.time[obs.down] += end.0 - obs.since.max(obs.warmup).0;
            let total: u64 = obs.time.iter().sum();
            assert_eq!(u128::from(total), u128::from(summary.window_ns));
            // P(at least m up) = P(at most n − m down).
            for (m, xs) in at_least.iter_mut().enumerate() {
                let t: u64 = obs.time[..=n - m].iter().sum();
                xs.push(t as f64 / total as f64);
            }
        }
        for (m, xs) in at_least.iter().enumerate().skip(1) {
            let truth: f64 = theory[..=n - m].iter().sum();
            assert_close(&format!("{k} crews: P(≥ {m} of {n} up)"), xs, truth);
        }
    }
}

/// A standby's failover delay given as a distribution is drawn afresh for every failover: over
/// 200 outages of the active balancer, each dark gap (VIP lost → standby serving) lies in the
/// uniform's range, and their mean is its mean within `Z` standard errors (sd (b − a)/√12).
#[test]
fn a_failover_delay_drawn_per_failover() {
    struct Gaps {
        dark_at: Option<SimTime>,
        gaps: Vec<f64>,
    }
    impl Observer<Record> for Gaps {
        fn record(&mut self, now: SimTime, r: &Record) {
            match *r {
                Record::BalancerChange { serving: false, .. } => self.dark_at = Some(now),
                Record::BalancerChange { serving: true, .. } => {
                    let at = self.dark_at.take().expect("dark before serving again");
                    self.gaps.push((now.0 - at.0) as f64 / 1e9);
                }
                _ => {}
            }
        }
    }
    let n = 200;
    let outages: Vec<String> = (1..=n)
        .map(|k| {
            format!(
                r#"BalancerOutage(balancer: "lb", at: "{}s", duration: "10s")"#,
                100 * k
            )
        })
        .collect();
    let loaded = parse(&format!(
        r#"Scenario(
        name: "failover", horizon: "{}s",
        clients: [Client(name: "c", arrivals: Poisson(rate_per_s: 1.0), timeout: "1s", target: "lb")],
        balancers: [Balancer(name: "lb", policy: RoundRobin, target: "app",
            standby: Standby(failover_time: Uniform(low: "2s", high: "4s")))],
        pools: [Pool(name: "app", replicas: 2, service: Exponential(mean: "10ms"))],
        faults: [{}],
    )"#,
        100 * (n + 1),
        outages.join(", ")
    ));
    let obs = Gaps {
        dark_at: None,
        gaps: Vec::new(),
    };
    let (_, obs) = hasim::Run::new(&loaded).seed(2).observe(obs).execute();
    assert_eq!(obs.gaps.len(), n, "one failover per outage");
    assert!(
        obs.gaps.iter().all(|g| (2.0..4.0).contains(g)),
        "{:?}",
        obs.gaps
    );
    let mean = obs.gaps.iter().sum::<f64>() / n as f64;
    let se = 2.0 / 12f64.sqrt() / (n as f64).sqrt();
    assert!((mean - 3.0).abs() <= Z * se, "mean gap {mean} vs 3 ± {se}");
    // Not one delay repeated: the spread of a uniform on [2, 4) (sd 0.577).
    let (_, se_gaps) = mean_se(&obs.gaps);
    let sd = se_gaps * (n as f64).sqrt();
    assert!((sd - 2.0 / 12f64.sqrt()).abs() < 0.1, "sd {sd}");
}

/// Bad fleet fields are input errors at their place in the file, with a hint.
#[test]
fn bad_fleet_fields_are_input_errors() {
    let pool = |fields: &str| {
        format!(
            r#"Scenario(
        name: "bad", horizon: "10s",
        clients: [Client(name: "c", arrivals: Poisson(rate_per_s: 1.0), target: "lb")],
        balancers: [Balancer(name: "lb", policy: RoundRobin, target: "app")],
        pools: [Pool(name: "app", service: Exponential(mean: "10ms"), {fields})],
    )"#
        )
    };
    for (fields, says) in [
        (
            r#"replicas: 3, groups: [ReplicaGroup(name: "a", count: 2)]"#,
            "both replicas and groups",
        ),
        (
            r#"groups: [ReplicaGroup(name: "a", count: 0)]"#,
            "zero replicas",
        ),
        (
            r#"groups: [ReplicaGroup(name: "a", count: 1, speed: 0.0)]"#,
            "speed must be",
        ),
        (
            r#"groups: [ReplicaGroup(name: "a", count: 1), ReplicaGroup(name: "a", count: 1)]"#,
            "two groups named",
        ),
        (
            r#"groups: [ReplicaGroup(name: "a", count: 1, zone: "z"), ReplicaGroup(name: "b", count: 1)]"#,
            "has no zone",
        ),
        (r#"groups: []"#, "empty list of groups"),
        (r#"replicas: 2, repair_crews: 1"#, "no random failures"),
        (
            r#"replicas: 2, hosts: Hosts(count: 3)"#,
            "expected 1 to 2 hosts",
        ),
        (
            r#"replicas: 4, hosts: Hosts(count: 2, rack_failures: Failures(time_to_failure: Exponential(mean: "1h"), time_to_repair: Exponential(mean: "1m")))"#,
            "rack_failures without racks",
        ),
        (
            r#"replicas: 4, hosts: Hosts(count: 2, racks: 3)"#,
            "expected 1 to 2 racks",
        ),
        (
            r#"replicas: 2, repair_crews: 0, failures: Failures(time_to_failure: Exponential(mean: "1h"), time_to_repair: Exponential(mean: "1m"))"#,
            "at least 1",
        ),
    ] {
        let text = pool(fields);
        let e = scenarios::parse_str(&text, "bad.ron").expect_err(fields);
        let shown = e.to_string();
        assert!(shown.contains(says), "{fields}: {shown}");
        assert!(
            shown.contains("bad.ron:5:"),
            "{fields}: points into the pool: {shown}"
        );
        assert!(e.help.is_some(), "{fields}: a hint");
    }
    let lb = |policy: &str| pool("replicas: 2").replace("RoundRobin", policy);
    let e = scenarios::parse_str(&lb("WeightedRandom()"), "bad.ron").expect_err("no weights");
    assert!(e.to_string().contains("gives no weights"), "{e}");
    let standby = |s: &str| {
        pool("replicas: 2").replace(
            r#"target: "app")"#,
            &format!(r#"target: "app", standby: Standby({s}))"#),
        )
    };
    for (s, says) in [
        ("", "needs its failover delay"),
        (
            r#"failover_delay: "1s", failover_time: Constant("1s")"#,
            "both failover_delay and failover_time",
        ),
    ] {
        let e = scenarios::parse_str(&standby(s), "bad.ron").expect_err(s);
        assert!(e.to_string().contains(says), "{s}: {e}");
    }
}

/// Correlated failures: 8 replicas (MTBF 100 s, MTTR 10 s) on hosts (MTBF 200 s, MTTR 20 s),
/// hosts in racks (MTBF 400 s, MTTR 40 s), every process independent. A replica is up while it,
/// its host and its rack are: P(up) = A_r·A_h·A_k (product form), and the pool is down only
/// when every rack is down or has every host down or with all its replicas down:
/// P(pool down) = Π_racks [(1 − A_k) + A_k Π_hosts on it ((1 − A_h) + A_h (1 − A_r)^c_h)].
/// Packed on 4 hosts in 2 racks, spread over 3 hosts without racks (3, 3 and 2 replicas), and
/// replicas that never fail on their own (A_r = 1) packed on 2 hosts in 2 racks. 30 runs of
/// 10⁵ s each: outages are rare and skewed, so each run must see many of them for the spread
/// across runs to estimate the standard error.
#[test]
fn hosts_and_racks_give_the_product_form_availability() {
    let avail = |mtbf: f64, mttr: f64| mtbf / (mtbf + mttr);
    let (a_h, a_k) = (avail(200.0, 20.0), avail(400.0, 40.0));
    for (hosts, placement, racks, own) in [
        (4u32, "Packed", 2u32, true),
        (3, "Spread", 0, true),
        (2, "Packed", 2, false),
    ] {
        let a_r = if own { avail(100.0, 10.0) } else { 1.0 };
        let n = 8u32;
        let host_of = |i: u32| match placement {
            "Packed" => i / n.div_ceil(hosts),
            _ => i % hosts,
        };
        let rack_of = |h: u32| {
            if racks == 0 {
                0
            } else {
                h / hosts.div_ceil(racks)
            }
        };
        let host_down = |h: u32| {
            let c = (0..n).filter(|&i| host_of(i) == h).count() as i32;
            (1.0 - a_h) + a_h * (1.0 - a_r).powi(c)
        };
        let p_down: f64 = if racks == 0 {
            (0..hosts).map(host_down).product()
        } else {
            (0..racks)
                .map(|k| {
                    let on: f64 = (0..hosts)
                        .filter(|&h| rack_of(h) == k)
                        .map(host_down)
                        .product();
                    (1.0 - a_k) + a_k * on
                })
                .product()
        };
        let p_up = a_r * a_h * if racks == 0 { 1.0 } else { a_k };
        let rack_fields = if racks == 0 {
            String::new()
        } else {
            format!(
                r#"racks: {racks}, rack_failures: Failures(time_to_failure: Exponential(mean: "400s"), time_to_repair: Exponential(mean: "40s")),"#
            )
        };
        let own_fields = if own {
            r#"failures: Failures(time_to_failure: Exponential(mean: "100s"), time_to_repair: Exponential(mean: "10s")),"#
        } else {
            ""
        };
        let loaded = parse(&format!(
            r#"Scenario(
            name: "hosts", horizon: "100000s", warmup: "500s",
            clients: [Client(name: "c", arrivals: Poisson(rate_per_s: 0.1), target: "lb")],
            balancers: [Balancer(name: "lb", policy: RoundRobin, target: "app")],
            pools: [Pool(name: "app", replicas: 8, service: Exponential(mean: "10ms"), {own_fields}
                hosts: Hosts(count: {hosts}, placement: {placement},
                    failures: Failures(time_to_failure: Exponential(mean: "200s"),
                                       time_to_repair: Exponential(mean: "20s")),
                    {rack_fields}))],
        )"#
        ));
        let (mut pool_up, mut replica_up) = (Vec::new(), Vec::new());
        for rep in 0..20 {
            let r = hasim::Run::new(&loaded)
                .seed(5)
                .replication(rep)
                .execute()
                .0;
            pool_up.push(r.availability.time);
            replica_up.push(r.replicas.iter().map(|x| x.up_fraction).sum::<f64>() / n as f64);
        }
        let what = format!("{hosts} hosts {placement}, {racks} racks, own failures {own}");
        assert_close(&format!("{what}: pool up"), &pool_up, 1.0 - p_down);
        assert_close(&format!("{what}: replica up"), &replica_up, p_up);
        // Independent replicas would be down together (1 − p_up)⁸ of the time: rejected.
        let (m, se) = mean_se(&pool_up);
        assert!(
            (m - (1.0 - (1.0 - p_up).powi(8))).abs() > Z * se,
            "{what}: {m}"
        );
    }
}

/// One replica's down and up intervals, in seconds, in order.
#[derive(Default)]
struct Intervals {
    since: SimTime,
    up: Vec<f64>,
    down: Vec<f64>,
}

impl Observer<Record> for Intervals {
    fn record(&mut self, now: SimTime, r: &Record) {
        let list = match r {
            Record::ReplicaDown { .. } => &mut self.up,
            Record::ReplicaUp { .. } => &mut self.down,
            _ => return,
        };
        list.push((now.0 - self.since.0) as f64 / 1e9);
        self.since = now;
    }
}

fn restarting(failures: &str, restart: &str) -> Intervals {
    let loaded = parse(&format!(
        r#"Scenario(
        name: "restart", horizon: "20000s",
        clients: [Client(name: "c", arrivals: Poisson(rate_per_s: 1.0), target: "lb")],
        balancers: [Balancer(name: "lb", policy: RoundRobin, target: "app")],
        pools: [Pool(name: "app", replicas: 1, service: Exponential(mean: "10ms"),
            failures: Failures({failures}){restart})],
    )"#
    ));
    hasim::Run::new(&loaded)
        .seed(5)
        .observe(Intervals::default())
        .execute()
        .1
}

/// CrashLoopBackOff, exactly: a container that crashes 60 s after every start (repair 1 s,
/// readiness 2 s) is down 10, 20, 40, 80, 160, 300, 300, … s of back-off plus 3 s; one that
/// runs 700 s between crashes (more than `reset_after`) is back to 10 s every time.
#[test]
fn containers_back_off_exactly_as_crash_loop_backoff() {
    let restart = r#", restart: Restart(initial_backoff: "10s", max_backoff: "5m", reset_after: "10m", readiness_delay: "2s")"#;
    let fixed = |ttf: &str| {
        format!(r#"time_to_failure: Constant("{ttf}"), time_to_repair: Constant("1s")"#)
    };
    let crash_loop = restarting(&fixed("60s"), restart);
    assert!(crash_loop.up.len() > 20, "{:?}", crash_loop.up);
    assert!(
        crash_loop.up.iter().all(|&u| u == 60.0),
        "{:?}",
        crash_loop.up
    );
    let want: Vec<f64> = [10.0, 20.0, 40.0, 80.0, 160.0]
        .into_iter()
        .chain(std::iter::repeat(300.0))
        .map(|b| b + 3.0)
        .take(crash_loop.down.len())
        .collect();
    assert_eq!(crash_loop.down, want);
    let good_runs = restarting(&fixed("700s"), restart);
    assert!(good_runs.down.len() > 20);
    assert!(
        good_runs.down.iter().all(|&d| d == 13.0),
        "{:?}",
        good_runs.down
    );
    // The back-off adds no draw: with random times the replica's own stream gives the same
    // times to failure and to repair, the back-off and the readiness added to the latter
    // (reset_after too long to reset: k is the crash's rank).
    let random =
        r#"time_to_failure: Exponential(mean: "60s"), time_to_repair: Exponential(mean: "5s")"#;
    let plain = restarting(random, "");
    let never_reset = restart.replace("10m", "1000h");
    let backed_off = restarting(random, &never_reset);
    let n = backed_off.down.len();
    assert!(n > 10, "{n} restarts");
    assert_eq!(backed_off.up, plain.up[..backed_off.up.len()]);
    for (k, (with, without)) in backed_off.down.iter().zip(&plain.down).enumerate() {
        let wait = (10.0 * 2f64.powi(k as i32)).min(300.0) + 2.0;
        assert!(
            (with - without - wait).abs() < 1e-6,
            "restart {k}: {with} vs {without} + {wait}"
        );
    }
}

/// Restart policies that cannot work are input errors with a hint.
#[test]
fn bad_restart_policies_are_input_errors() {
    let failures = r#"failures: Failures(time_to_failure: Exponential(mean: "1h"), time_to_repair: Exponential(mean: "1m"))"#;
    for (fields, says) in [
        ("".to_string(), "no random failures"),
        (
            format!("{failures}, repair_crews: 1"),
            "restart policy and repair crews",
        ),
        (
            format!(r#"{failures}, restart: Restart(initial_backoff: "0s")"#),
            "initial_backoff must be longer",
        ),
        (
            format!(r#"{failures}, restart: Restart(initial_backoff: "1m", max_backoff: "10s")"#),
            "max_backoff (10s) is shorter",
        ),
        (
            format!(r#"{failures}, restart: Restart(reset_after: "ten minutes")"#),
            "",
        ),
    ] {
        let restart = match fields.as_str() {
            "" => "restart: Restart()",
            f if f.contains("restart:") => "",
            _ => ", restart: Restart()",
        };
        let text = format!(
            r#"Scenario(
        name: "bad", horizon: "10s",
        clients: [Client(name: "c", arrivals: Poisson(rate_per_s: 1.0), target: "lb")],
        balancers: [Balancer(name: "lb", policy: RoundRobin, target: "app")],
        pools: [Pool(name: "app", replicas: 2, service: Exponential(mean: "10ms"), {fields}{restart})],
    )"#
        );
        let e = scenarios::parse_str(&text, "bad.ron").expect_err(&fields);
        let shown = e.to_string();
        assert!(shown.contains(says), "{fields}: {shown}");
        assert!(
            shown.contains("bad.ron:5:"),
            "{fields}: points into the pool: {shown}"
        );
        assert!(e.help.is_some(), "{fields}: a hint");
    }
}
