//! The balancing mechanisms of issue 3 that change where traffic goes over time or by place:
//! join-idle-queue, slow start, zone-aware routing, DNS round robin with TTLs (client-side state),
//! and client-side balancing (`per_client`: one balancer instance per caller).

use models::spec::Spec;
use models::{Outcome, Record};
use reports::student_t_975;
use sim_core::{Observer, SimTime};

/// A scenario from its text, with sampling off (faster, and it never changes a trajectory).
fn spec_of(text: &str) -> Spec {
    let mut spec = scenarios::parse_str(text, "balancing.ron")
        .unwrap_or_else(|e| panic!("{e}"))
        .spec;
    spec.window = sim_core::SimDuration::ZERO;
    spec
}

/// Mean and 95% Student-t half-width of `xs`.
fn mean_ci(xs: &[f64]) -> (f64, f64) {
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n;
    let var = xs.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / (n - 1.0);
    (mean, student_t_975(xs.len() - 1) * (var / n).sqrt())
}

/// Join-idle-queue sits between JSQ (global knowledge) and random, at light and heavy load: as
/// in tests/it/ordering.rs, 10 single-worker replicas, exponential service (1 s), Poisson
/// arrivals, every variant of a replication on the same streams, and each ordering asserted on
/// the paired differences: the mean difference must exceed its 95% half-width.
#[test]
fn join_idle_queue_lies_between_jsq_and_random() {
    const REPS: u64 = 10;
    const POLICIES: [&str; 3] = ["JoinShortestQueue", "JoinIdleQueue", "Random"];
    let spec = |policy: &str, rho: f64, horizon: u64, warmup: u64| {
        spec_of(&format!(
            r#"Scenario(
                name: "jiq", horizon: "{horizon}s", warmup: "{warmup}s",
                clients: [Client(name: "users", arrivals: Poisson(rate_per_s: {rate}), target: "lb")],
                balancers: [Balancer(name: "lb", policy: {policy}, target: "app")],
                pools: [Pool(name: "app", replicas: 10, workers: 1, service: Exponential(mean: "1s"))],
            )"#,
            rate = 10.0 * rho
        ))
    };
    for (rho, horizon, warmup) in [(0.5, 20_000, 200), (0.7, 20_000, 300), (0.9, 20_000, 1_000)] {
        let runs: Vec<[f64; 3]> = std::thread::scope(|s| {
            let hs: Vec<_> = (0..REPS)
                .map(|r| {
                    s.spawn(move || {
                        POLICIES.map(|p| {
                            let (_, c) = hasim::Run::spec(&spec(p, rho, horizon, warmup))
                                .seed(1)
                                .replication(r)
                                .simulate()
                                .parts();
                            c.latency_sum_ns as f64 / c.count(Outcome::Succeeded) as f64 / 1e9
                        })
                    })
                })
                .collect();
            hs.into_iter().map(|h| h.join().expect("runs")).collect()
        });
        let avg = |k: usize| runs.iter().map(|m| m[k]).sum::<f64>() / REPS as f64;
        eprintln!(
            "ρ = {rho}: JSQ {:.4}, JIQ {:.4}, Random {:.4}",
            avg(0),
            avg(1),
            avg(2)
        );
        for (better, worse) in [(0, 1), (1, 2)] {
            let d: Vec<f64> = runs.iter().map(|m| m[worse] - m[better]).collect();
            let (d, half) = mean_ci(&d);
            eprintln!(
                "  {} − {} = {d:.5} ± {half:.5}",
                POLICIES[worse], POLICIES[better]
            );
            assert!(
                d - half > 0.0,
                "ρ = {rho}: {} should beat {}: {d} ± {half} over {REPS} paired replications",
                POLICIES[better],
                POLICIES[worse]
            );
        }
    }
}

/// What a test needs to know of a run: every finished request and every health verdict.
#[derive(Default)]
struct Log {
    /// (sent, client, replica, outcome) of every request (one attempt each here).
    finished: Vec<(SimTime, u32, u32, Outcome)>,
    /// (time, replica, healthy, balancer) of every health verdict.
    verdicts: Vec<(SimTime, u32, bool, u32)>,
}

impl Observer<Record> for Log {
    fn record(&mut self, now: SimTime, r: &Record) {
        match *r {
            Record::Finished {
                arrived,
                client,
                replica,
                outcome,
                ..
            } => self.finished.push((arrived, client, replica, outcome)),
            Record::HealthChange {
                replica,
                healthy,
                balancer,
            } => self.verdicts.push((now, replica, healthy, balancer)),
            _ => {}
        }
    }
}

fn run_logged(text: &str, seed: u64) -> Log {
    let loaded = scenarios::parse_str(text, "balancing.ron").unwrap_or_else(|e| panic!("{e}"));
    hasim::Run::new(&loaded)
        .seed(seed)
        .observe(Log::default())
        .execute()
        .1
}

/// DNS round robin: twelve clients each cache one address for the TTL. Replica 0 crashes at
/// 320 s (the clients started together and resolve every TTL plus a gap, so mid-period); health checks (the DNS service's) drop its record at T_d. A client that resolved just
/// before T_d keeps sending there until its answer expires, so refusals go on after T_d, but
/// none is sent at or after T_d + TTL: every cached entry naming replica 0 was made before T_d.
/// And each client's address changes only when its answer expires: at least a TTL apart.
#[test]
fn dns_clients_hit_a_dead_replica_until_their_ttl_runs_out_and_no_longer() {
    let ttl_s = 30;
    let clients: Vec<String> = (0..12)
        .map(|i| {
            format!(r#"Client(name: "c{i}", arrivals: Poisson(rate_per_s: 2.0), target: "dns")"#)
        })
        .collect();
    let text = format!(
        r#"Scenario(
            name: "dns", horizon: "900s",
            clients: [{}],
            balancers: [Balancer(name: "dns", policy: DnsRoundRobin(ttl: "{ttl_s}s"), target: "web",
                health_check: HealthCheck(interval: "1s", timeout: "500ms", unhealthy_threshold: 2, healthy_threshold: 2))],
            pools: [Pool(name: "web", replicas: 3, workers: 4, service: Exponential(mean: "50ms"))],
            faults: [Crash(pool: "web", replica: 0, at: "320s", duration: "300s")],
        )"#,
        clients.join(", ")
    );
    for seed in 1..=5 {
        let log = run_logged(&text, seed);
        let detected = log
            .verdicts
            .iter()
            .find(|v| v.1 == 0 && !v.2)
            .map(|v| v.0)
            .expect("the crash is detected");
        let refused: Vec<SimTime> = log
            .finished
            .iter()
            .filter(|f| f.2 == 0 && f.3 == Outcome::Refused)
            .map(|f| f.0)
            .collect();
        let last = *refused.iter().max().expect("some requests are refused");
        let bound = SimTime(detected.0 + ttl_s * 1_000_000_000);
        eprintln!(
            "seed {seed}: detected at {detected}, last refusal at {last}, bound {bound}, {} refused",
            refused.len()
        );
        assert!(last > detected, "seed {seed}: DNS caches outlive detection");
        assert!(
            last < bound,
            "seed {seed}: a refusal at {last}, past T_d + TTL = {bound}"
        );
        // Per client: the address changes only when the client's own answer expired.
        for c in 0..12 {
            let mut reqs: Vec<(SimTime, u32)> = log
                .finished
                .iter()
                .filter(|f| f.1 == c)
                .map(|f| (f.0, f.2))
                .collect();
            reqs.sort();
            let changes: Vec<SimTime> = reqs
                .windows(2)
                .filter(|w| w[0].1 != w[1].1)
                .map(|w| w[1].0)
                .collect();
            assert!(
                !changes.is_empty(),
                "seed {seed}: client {c} never re-resolved"
            );
            for w in changes.windows(2) {
                assert!(
                    w[1].0 - w[0].0 >= ttl_s * 1_000_000_000,
                    "seed {seed}: client {c} switched at {} and again at {}",
                    w[0],
                    w[1]
                );
            }
        }
    }
}

/// Zone-aware routing: three zones of two replicas each, one balancer per zone with its own
/// clients. While all are healthy, zone a's balancer keeps every request in zone a (replicas 0
/// and 3). When zone a goes down, once the checks have marked both its replicas, its traffic
/// spills over and nothing more is refused. With one of zone a's replicas down, the local zone
/// holds 1 of the 5 healthy replicas, below its share 1/3 of the load: Envoy's rule keeps a
/// fraction (1/5)/(1/3) = 0.6 local and sends the rest across.
#[test]
fn zone_aware_routing_stays_local_spills_over_and_sends_only_the_deficit_across() {
    let balancer = |z: &str| {
        format!(
            r#"Balancer(name: "lb-{z}", policy: RoundRobin, target: "web", zone: "{z}", zone_aware: true,
                health_check: HealthCheck(interval: "1s", timeout: "500ms", unhealthy_threshold: 2, healthy_threshold: 2))"#
        )
    };
    let client = |z: &str| {
        format!(
            r#"Client(name: "users-{z}", arrivals: Poisson(rate_per_s: 40.0), target: "lb-{z}")"#
        )
    };
    let text = format!(
        r#"Scenario(
            name: "zones", horizon: "1300s",
            clients: [{}, {}, {}],
            balancers: [{}, {}, {}],
            pools: [Pool(name: "web", replicas: 6, zones: ["a", "b", "c"], workers: 8, service: Exponential(mean: "50ms"))],
            faults: [
                ZoneOutage(zone: "a", at: "300s", duration: "300s"),
                Crash(pool: "web", replica: 0, at: "900s", duration: "300s"),
            ],
        )"#,
        client("a"),
        client("b"),
        client("c"),
        balancer("a"),
        balancer("b"),
        balancer("c"),
    );
    let secs = |s: u64| SimTime(s * 1_000_000_000);
    for seed in 1..=3 {
        let log = run_logged(&text, seed);
        // The latest "down" verdict of zone a's balancer (index 0) on `replica` after `t`.
        let marked_down = |replica: u32, after: SimTime| {
            log.verdicts
                .iter()
                .find(|v| v.3 == 0 && v.1 == replica && !v.2 && v.0 >= after)
                .map(|v| v.0)
                .expect("the crash is detected")
        };
        let from_a = |from: SimTime, to: SimTime| {
            log.finished
                .iter()
                .filter(move |f| f.1 == 0 && f.0 >= from && f.0 < to)
        };
        // All healthy: every request of zone a stays in zone a.
        let before: Vec<_> = from_a(SimTime::ZERO, secs(300)).collect();
        assert!(before.len() > 10_000);
        assert!(
            before.iter().all(|f| f.2 % 3 == 0),
            "seed {seed}: a request left zone a while it was healthy"
        );
        // Zone a down: after detection, everything goes across and succeeds.
        let detected = marked_down(0, secs(300)).max(marked_down(3, secs(300)));
        let during: Vec<_> = from_a(detected, secs(600)).collect();
        assert!(during.len() > 10_000);
        assert!(
            during
                .iter()
                .all(|f| f.2 % 3 != 0 && f.3 == Outcome::Succeeded),
            "seed {seed}: zone a's traffic after detection at {detected} must spill over and succeed"
        );
        // Replica 0 down: 60% of zone a's traffic stays on replica 3; binomial, 4 sd.
        let detected = marked_down(0, secs(900));
        let partial: Vec<_> = from_a(detected, secs(1200)).collect();
        let n = partial.len() as f64;
        let local = partial.iter().filter(|f| f.2 == 3).count() as f64;
        let sd = (n * 0.6 * 0.4).sqrt();
        eprintln!(
            "seed {seed}: replica 0 out, detected at {detected}: {local} of {n} stay local (expected {:.0} ± {sd:.0})",
            0.6 * n
        );
        assert!(
            partial.iter().all(|f| f.2 != 0),
            "seed {seed}: sent to the dead replica"
        );
        assert!(
            (local - 0.6 * n).abs() <= 4.0 * sd,
            "seed {seed}: {local} of {n} stayed local, expected 0.6·n ± 4·{sd}"
        );
    }
}

/// Slow start: replica 0 of four crashes and comes back; from the moment health checks put it
/// back (T_j), random picks give it weight f(t) = max(0.1, t / 60 s) (Envoy's formula with
/// aggression 1), so its share of requests is f / (3 + f). Per 6 s sub-window of the ramp, and
/// for the 30 s after it (f = 1), the count it receives is compared with Σ p(tᵢ) over the
/// requests of the sub-window, within 4 binomial standard deviations (Σ p(1 − p))^½.
#[test]
fn a_rejoined_backend_ramps_up_as_envoys_slow_start_formula_says() {
    let text = r#"Scenario(
        name: "slow-start", horizon: "300s",
        clients: [Client(name: "users", arrivals: Poisson(rate_per_s: 200.0), target: "lb")],
        balancers: [Balancer(name: "lb", policy: Random, target: "web",
            health_check: HealthCheck(interval: "1s", timeout: "500ms", unhealthy_threshold: 2, healthy_threshold: 2),
            slow_start: SlowStart(window: "60s", aggression: 1.0, min_weight_percent: 10.0))],
        pools: [Pool(name: "web", replicas: 4, workers: 8, service: Exponential(mean: "50ms"))],
        faults: [Crash(pool: "web", replica: 0, at: "100s", duration: "50s")],
    )"#;
    let window_ns = 60_000_000_000u64;
    for seed in 1..=3 {
        let log = run_logged(text, seed);
        let joined = log
            .verdicts
            .iter()
            .find(|v| v.1 == 0 && v.2 && v.0 > SimTime(150_000_000_000))
            .map(|v| v.0)
            .expect("replica 0 rejoins");
        let share = |t: SimTime| {
            let dt = t.0 - joined.0;
            let f = if dt >= window_ns {
                1.0
            } else {
                (dt.max(1) as f64 / window_ns as f64).max(0.1)
            };
            f / (3.0 + f)
        };
        let sub = 6_000_000_000u64;
        for k in 0..15u64 {
            let (from, to) = (joined.0 + k * sub, joined.0 + (k + 1) * sub);
            let reqs: Vec<_> = log
                .finished
                .iter()
                .filter(|f| f.0.0 >= from && f.0.0 < to)
                .collect();
            let expected: f64 = reqs.iter().map(|f| share(f.0)).sum();
            let var: f64 = reqs.iter().map(|f| share(f.0) * (1.0 - share(f.0))).sum();
            let got = reqs.iter().filter(|f| f.2 == 0).count() as f64;
            eprintln!(
                "seed {seed}, {}–{} s after rejoining: {got} of {} (expected {expected:.0} ± {:.0})",
                k * 6,
                k * 6 + 6,
                reqs.len(),
                var.sqrt()
            );
            assert!(
                (got - expected).abs() <= 4.0 * var.sqrt(),
                "seed {seed}, sub-window {k}: {got} requests to the rejoined replica, expected {expected} ± 4·{}",
                var.sqrt()
            );
        }
    }
}

/// Two clients with interleaved Poisson arrivals behind one round-robin balancer over three
/// replicas. Client-side (`per_client: true`), each client's own instance cycles 0, 1, 2, 0, …
/// whatever the other does; shared, the balancer's one cycle runs over both clients' requests in
/// arrival order, so neither client's own sequence is a cycle.
#[test]
fn per_client_round_robin_cycles_each_clients_own_sequence() {
    let text = |per_client: bool| {
        format!(
            r#"Scenario(
                name: "rr", horizon: "200s",
                clients: [
                    Client(name: "a", arrivals: Poisson(rate_per_s: 3.0), target: "lb"),
                    Client(name: "b", arrivals: Poisson(rate_per_s: 5.0), target: "lb"),
                ],
                balancers: [Balancer(name: "lb", policy: RoundRobin, target: "app", per_client: {per_client})],
                pools: [Pool(name: "app", replicas: 3, workers: 4, service: Constant("1ms"))],
            )"#
        )
    };
    // Per client, and for both together: the replicas in arrival order.
    let sequences = |log: &Log| {
        let mut all: Vec<(SimTime, u32, u32)> =
            log.finished.iter().map(|f| (f.0, f.1, f.2)).collect();
        all.sort();
        let of = |c: u32| -> Vec<u32> { all.iter().filter(|f| f.1 == c).map(|f| f.2).collect() };
        (of(0), of(1), all.iter().map(|f| f.2).collect::<Vec<u32>>())
    };
    let cycles = |seq: &[u32]| seq.iter().enumerate().all(|(k, &r)| r == k as u32 % 3);
    for seed in 1..=3 {
        let log = run_logged(&text(true), seed);
        assert!(log.finished.iter().all(|f| f.3 == Outcome::Succeeded));
        let (a, b, both) = sequences(&log);
        assert!(
            a.len() > 400 && b.len() > 800,
            "seed {seed}: {} and {}",
            a.len(),
            b.len()
        );
        assert!(
            cycles(&a),
            "seed {seed}: client a's own sequence {:?}…",
            &a[..12]
        );
        assert!(
            cycles(&b),
            "seed {seed}: client b's own sequence {:?}…",
            &b[..12]
        );
        assert!(
            !cycles(&both),
            "seed {seed}: two cycles interleaved are not one"
        );

        let log = run_logged(&text(false), seed);
        let (a, b, both) = sequences(&log);
        assert!(
            cycles(&both),
            "seed {seed}: shared, one cycle over both clients"
        );
        assert!(
            !cycles(&a) && !cycles(&b),
            "seed {seed}: shared, the other client's requests break each client's cycle"
        );
    }
}

/// Health checks of a client-side balancer are per instance (each client probes, as gRPC client
/// health checking does): after a crash, each of the five clients' instances marks the replica
/// down once, each at its own probe phase, within interval × unhealthy_threshold + timeout of
/// the crash; a shared balancer marks it once.
#[test]
fn per_client_health_checks_are_each_clients_own() {
    let text = |per_client: bool| {
        let clients: Vec<String> = (0..5)
            .map(|i| {
                format!(r#"Client(name: "c{i}", arrivals: Poisson(rate_per_s: 5.0), target: "lb")"#)
            })
            .collect();
        format!(
            r#"Scenario(
                name: "checks", horizon: "100s",
                clients: [{}],
                balancers: [Balancer(name: "lb", policy: RoundRobin, target: "app", per_client: {per_client},
                    health_check: HealthCheck(interval: "2s", timeout: "500ms", unhealthy_threshold: 2, healthy_threshold: 2))],
                pools: [Pool(name: "app", replicas: 3, workers: 4, service: Exponential(mean: "10ms"))],
                faults: [Crash(pool: "app", replica: 1, at: "50s", duration: "30s")],
            )"#,
            clients.join(", ")
        )
    };
    let crash = SimTime(50_000_000_000);
    let bound = SimTime(crash.0 + 2 * 2_000_000_000 + 500_000_000);
    for seed in 1..=3 {
        for (per_client, instances) in [(true, 5), (false, 1)] {
            let log = run_logged(&text(per_client), seed);
            let down: Vec<SimTime> = (log.verdicts.iter())
                .filter(|v| v.1 == 1 && !v.2)
                .map(|v| v.0)
                .collect();
            assert_eq!(
                down.len(),
                instances,
                "seed {seed}, per_client {per_client}: {down:?}"
            );
            assert!(
                down.iter()
                    .all(|&t| t > crash && t <= bound && log.verdicts.iter().all(|v| v.3 == 0))
            );
            if per_client {
                let mut distinct = down.clone();
                distinct.dedup();
                assert!(
                    distinct.len() > 1,
                    "seed {seed}: each instance probes at its own phase"
                );
            }
        }
    }
}

/// Client-side least request (P2C) with ten clients, each instance counting only its own
/// requests, over ten single-worker replicas at ρ = 0.8 (exponential service, Poisson
/// arrivals, as in tests/it/ordering.rs): it lies strictly between a shared P2C balancer, which
/// sees every request, and random routing, which sees none. Every variant of a replication runs
/// on the same arrivals and service times (common random numbers); each ordering is asserted on
/// the paired differences over the replications: the mean difference must exceed its 95%
/// Student-t half-width. A client has about four requests in flight on average (λ = 0.8/s,
/// mean response ≈ 5 s under random), enough for its own counts to steer it.
#[test]
fn per_client_p2c_lies_between_shared_p2c_and_random() {
    const REPS: u64 = 10;
    const VARIANTS: [(&str, bool); 3] = [
        ("LeastRequest(choices: 2)", false),
        ("LeastRequest(choices: 2)", true),
        ("Random", false),
    ];
    let spec = |policy: &str, per_client: bool| {
        let clients: Vec<String> = (0..10)
            .map(|i| {
                format!(r#"Client(name: "c{i}", arrivals: Poisson(rate_per_s: 0.8), target: "lb")"#)
            })
            .collect();
        spec_of(&format!(
            r#"Scenario(
                name: "client-side", horizon: "20000s", warmup: "500s",
                clients: [{}],
                balancers: [Balancer(name: "lb", policy: {policy}, target: "app", per_client: {per_client})],
                pools: [Pool(name: "app", replicas: 10, workers: 1, service: Exponential(mean: "1s"))],
            )"#,
            clients.join(", ")
        ))
    };
    let runs: Vec<[f64; 3]> = std::thread::scope(|s| {
        let hs: Vec<_> = (0..REPS)
            .map(|r| {
                s.spawn(move || {
                    VARIANTS.map(|(p, per_client)| {
                        let (_, c) = hasim::Run::spec(&spec(p, per_client))
                            .seed(1)
                            .replication(r)
                            .simulate()
                            .parts();
                        c.latency_sum_ns as f64 / c.count(Outcome::Succeeded) as f64 / 1e9
                    })
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join().expect("runs")).collect()
    });
    let avg = |k: usize| runs.iter().map(|m| m[k]).sum::<f64>() / REPS as f64;
    eprintln!(
        "ρ = 0.8: shared P2C {:.4}, per-client P2C {:.4}, Random {:.4}",
        avg(0),
        avg(1),
        avg(2)
    );
    let names = ["shared P2C", "per-client P2C", "Random"];
    for (better, worse) in [(0, 1), (1, 2)] {
        let d: Vec<f64> = runs.iter().map(|m| m[worse] - m[better]).collect();
        let (d, half) = mean_ci(&d);
        eprintln!(
            "  {} − {} = {d:.5} ± {half:.5}",
            names[worse], names[better]
        );
        assert!(
            d - half > 0.0,
            "{} should beat {}: {d} ± {half} over {REPS} paired replications",
            names[better],
            names[worse]
        );
    }
}

/// Client-side balancers with every option they take — health checks, outlier detection, slow
/// start, a latency-aware policy, a dependency hop as a caller, a registry, retries, hedges and
/// crashes — keep their books: the run ends with its invariants checked (each instance's count
/// of each backend equals the live attempts it routed), every hop call and request accounted
/// for, and the same fingerprint twice.
#[test]
fn per_client_balancers_with_every_option_keep_their_books() {
    let spec = spec_of(
        r#"Scenario(
        name: "per-client-everything",
        horizon: "20m",
        warmup: "1m",
        clients: [
            Client(name: "a", arrivals: Poisson(rate_per_s: 60.0), timeout: "1s", target: "lb-api",
                retry: Retry(max_attempts: 3, per_try_timeout: "300ms")),
            Client(name: "b", arrivals: Poisson(rate_per_s: 40.0), timeout: "1s", target: "lb-api",
                hedge: Hedge(delay: "100ms", max_copies: 2)),
            Client(name: "c", arrivals: Poisson(rate_per_s: 20.0), timeout: "1s", target: "lb-api"),
        ],
        balancers: [
            Balancer(name: "lb-api", policy: LeastRequest(choices: 2), target: "api", per_client: true,
                health_check: HealthCheck(interval: "2s", timeout: "500ms", unhealthy_threshold: 2, healthy_threshold: 2),
                outlier_detection: OutlierDetection(consecutive_errors: 3),
                slow_start: SlowStart(window: "30s")),
            Balancer(name: "lb-db", policy: PeakEwma(decay: "10s", default_rtt: "20ms"), target: "db", per_client: true,
                outlier_detection: OutlierDetection(consecutive_errors: 5)),
        ],
        pools: [
            Pool(name: "api", replicas: 6, workers: 8, queue_capacity: 32, service: Exponential(mean: "10ms"),
                error_rate: 0.01,
                failures: Failures(time_to_failure: Exponential(mean: "3m"), time_to_repair: Exponential(mean: "20s")),
                dependencies: Dependencies(calls: [
                    Dependency(target: "lb-db", copies: 2, timeout: "300ms", retry: Retry(max_attempts: 2)),
                ])),
            Pool(name: "db", replicas: 4, workers: 8, queue_capacity: 32, service: Exponential(mean: "5ms"),
                failures: Failures(time_to_failure: Exponential(mean: "5m"), time_to_repair: Exponential(mean: "30s")),
                discovery: Registry(registration_delay: "5s", ttl: "30s", heartbeat: "10s")),
        ],
    )"#,
    );
    let (summary, c) = hasim::Run::spec(&spec).seed(3).simulate().parts();
    let (_, again) = hasim::Run::spec(&spec).seed(3).simulate().parts();
    assert_eq!(c.fingerprint, again.fingerprint);
    let k = summary.conservation;
    assert!(k.offered > 100_000 && k.offered == k.succeeded + k.failed + k.in_flight);
    assert!(
        summary.hops[0].offered > 100_000,
        "the hop routes through its own instance"
    );
    assert_eq!(summary.balancer_names, ["lb-api", "lb-db"]);
    assert!(c.count(Outcome::Succeeded) > 0);
}
