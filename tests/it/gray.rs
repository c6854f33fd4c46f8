//! Gray failures as a random process (a pool's `gray_failures`): each replica alternates healthy
//! for `time_between` and gray for `duration`, independently, from its own stream; while gray it
//! behaves exactly as under a scheduled `Slow` fault. Checked against the alternating renewal
//! process, the binomial error count and the latency mixture it implies.

fn run(text: &str, seed: u64) -> reports::Report {
    let loaded = scenarios::parse_str(text, "gray.ron").unwrap_or_else(|e| panic!("{e}"));
    hasim::Run::new(&loaded).seed(seed).execute().0
}

/// The long-run fraction of replica-time spent gray is E[D] / (E[T] + E[D]) (renewal–reward),
/// within 4 standard errors derived from the number of episodes n: over n independent cycles
/// (T_i, D_i) the estimate ΣD / Σ(T + D) has variance Var(D − p(T + D)) / (n E[T + D]²)
/// (delta method) = ((1 − p)² Var D + p² Var T) / (n (E T + E D)²). The number of episodes is a
/// renewal count: mean ≈ H / (E T + E D) per replica, variance ≈ H (Var T + Var D) / (E T + E D)³.
#[test]
fn the_fraction_of_replica_time_spent_gray_is_the_renewal_ratio() {
    let (t, d) = (600.0, 120.0); // E[time_between], E[duration], seconds
    let (replicas, horizon) = (10.0, 100.0 * 3600.0);
    let text = r#"Scenario(
        name: "gray-fraction", horizon: "100h",
        clients: [Client(name: "c", arrivals: Poisson(rate_per_s: 1.0), target: "lb")],
        balancers: [Balancer(name: "lb", policy: RoundRobin, target: "api")],
        pools: [Pool(name: "api", replicas: 10, workers: 4, service: Exponential(mean: "10ms"),
            gray_failures: GrayFailures(time_between: Exponential(mean: "10m"),
                                        duration: Exponential(mean: "2m"), factor: 3.0))],
    )"#;
    for seed in [1, 2] {
        let r = run(text, seed);
        let g = r.faults.gray.as_ref().expect("a gray section");
        assert_eq!(g.replicas, 10);
        let p = d / (t + d);
        let n = g.episodes as f64;
        // Exponential: variance = mean².
        let var_one = ((1.0 - p) * (1.0 - p) * d * d + p * p * t * t) / ((t + d) * (t + d));
        let se = (var_one / n).sqrt();
        assert!(
            (g.gray_fraction - p).abs() <= 4.0 * se,
            "seed {seed}: gray fraction {} vs {p} ± {se} over {n} episodes",
            g.gray_fraction
        );
        let expected_n = replicas * horizon / (t + d);
        let sd_n = (replicas * horizon * (t * t + d * d) / (t + d).powi(3)).sqrt();
        assert!(
            (n - expected_n).abs() <= 4.0 * sd_n,
            "seed {seed}: {n} episodes vs {expected_n} ± {sd_n}"
        );
        // The listed windows add up to the same time (fewer than 1000 listed? then all).
        if r.faults.slowdowns.len() < 1000 {
            let listed: f64 = r
                .faults
                .slowdowns
                .iter()
                .map(|s| s.to_s.unwrap_or(horizon) - s.from_s)
                .sum();
            assert!(
                (listed - g.gray_s).abs() < 1e-3 * n,
                "{listed} vs {}",
                g.gray_s
            );
        }
        assert!(
            r.faults
                .slowdowns
                .iter()
                .all(|s| s.random && s.factor == 3.0)
        );
    }
}

/// While gray a replica's answers fail with `error_rate` more: with no other source of failure
/// (no pool error rate, no timeouts, no crashes), every error happens during an episode, and
/// their number is Binomial(answers while gray, error_rate), within 4 standard deviations.
#[test]
fn extra_errors_are_the_error_rate_of_the_answers_while_gray() {
    let text = r#"Scenario(
        name: "gray-errors", horizon: "4h",
        clients: [Client(name: "c", arrivals: Poisson(rate_per_s: 200.0), target: "lb")],
        balancers: [Balancer(name: "lb", policy: RoundRobin, target: "api")],
        pools: [Pool(name: "api", replicas: 4, workers: 100, service: Exponential(mean: "5ms"),
            gray_failures: GrayFailures(time_between: Exponential(mean: "20m"),
                                        duration: Exponential(mean: "5m"),
                                        factor: 2.0, error_rate: 0.2))],
    )"#;
    for seed in [1, 2, 3] {
        let r = run(text, seed);
        let g = r.faults.gray.as_ref().expect("a gray section");
        // No timeouts and no other failure: every request that finished at a gray replica was
        // answered, with success or an error.
        let n = (g.requests_succeeded + g.requests_failed) as f64;
        assert!(n > 10_000.0, "seed {seed}: only {n} answers while gray");
        let e = 0.2;
        let sd = (n * e * (1.0 - e)).sqrt();
        assert!(
            (g.requests_failed as f64 - n * e).abs() <= 4.0 * sd,
            "seed {seed}: {} errors of {n} answers while gray, expected {} ± {sd}",
            g.requests_failed,
            n * e
        );
        // Every failure of the run is an error while gray, and the listed episodes add up.
        assert_eq!(r.requests.failed, r.requests.failed_by.error);
        assert_eq!(r.requests.failed_by.error, g.requests_failed);
        let (succeeded, failed) = r.faults.slowdowns.iter().fold((0, 0), |(s, f), x| {
            (s + x.requests_succeeded, f + x.requests_failed)
        });
        assert_eq!(
            (succeeded, failed),
            (g.requests_succeeded, g.requests_failed)
        );
    }
}

/// Gray replicas slow the tail. With no queueing (100 workers a replica), a request's latency
/// is its service time, times 5 when its replica is gray as it arrives; arrivals are Poisson,
/// so (given the episodes) a request finds its replica gray with probability p, the run's
/// gray fraction, and latencies are the mixture (1 − p)·Exp(m) + p·Exp(5m). The p99 is that
/// mixture's, within 4 standard errors of a sample quantile (√(q(1 − q)/N) / f(x_q)) plus the
/// histogram's 0.1%; without gray failures (same arrivals, same service draws) it is Exp(m)'s,
/// m·ln 100 ≈ 46 ms, a third of it.
#[test]
fn gray_replicas_slow_the_p99_as_the_latency_mixture_says() {
    let text = r#"Scenario(
        name: "gray-p99", horizon: "2h",
        clients: [Client(name: "c", arrivals: Poisson(rate_per_s: 600.0), target: "lb")],
        balancers: [Balancer(name: "lb", policy: RoundRobin, target: "api")],
        pools: [Pool(name: "api", replicas: 6, workers: 100, service: Exponential(mean: "10ms"),
            gray_failures: GrayFailures(time_between: Exponential(mean: "10m"),
                                        duration: Exponential(mean: "2m"), factor: 5.0))],
    )"#;
    let gray = scenarios::parse_str(text, "gray.ron").unwrap_or_else(|e| panic!("{e}"));
    let mut plain = gray.clone();
    plain.spec.pools[0].gray_failures = None;
    let m = 10.0; // ms
    let q = 0.99;
    for seed in [1, 2] {
        let g = hasim::Run::new(&gray).seed(seed).execute().0;
        let b = hasim::Run::new(&plain).seed(seed).execute().0;
        let p = g
            .faults
            .gray
            .as_ref()
            .expect("a gray section")
            .gray_fraction;
        let tail = |x: f64| (1.0 - p) * (-x / m).exp() + p * (-x / (5.0 * m)).exp();
        let density =
            |x: f64| (1.0 - p) / m * (-x / m).exp() + p / (5.0 * m) * (-x / (5.0 * m)).exp();
        // Bisection for tail(x) = 1 − q.
        let (mut lo, mut hi) = (0.0, 1000.0);
        for _ in 0..100 {
            let mid = (lo + hi) / 2.0;
            if tail(mid) > 1.0 - q {
                lo = mid
            } else {
                hi = mid
            }
        }
        let expected = (lo + hi) / 2.0;
        let n = g.requests.succeeded as f64;
        let se = (q * (1.0 - q) / n).sqrt() / density(expected);
        let got = g.latency_ms.p99;
        assert!(
            (got - expected).abs() <= 4.0 * se + 1e-3 * expected,
            "seed {seed}: p99 {got} ms vs mixture {expected} ± {se} (p = {p})"
        );
        let plain_p99 = b.latency_ms.p99;
        let plain_expected = m * (1.0f64 / (1.0 - q)).ln();
        let plain_se = (q * (1.0 - q) / b.requests.succeeded as f64).sqrt() / ((1.0 - q) / m);
        assert!(
            (plain_p99 - plain_expected).abs() <= 4.0 * plain_se + 1e-3 * plain_expected,
            "seed {seed}: p99 without gray failures {plain_p99} vs {plain_expected} ± {plain_se}"
        );
        assert!(
            got > 2.0 * plain_p99,
            "seed {seed}: gray replicas should slow the p99: {got} vs {plain_p99} ms"
        );
        assert!(b.faults.gray.is_none());
        assert_eq!(g.requests.failed, 0);
    }
}

/// How random episodes compose with scheduled faults (deterministic episodes: healthy 10 min,
/// gray 10 min): a crash during an episode does not end it (the replica comes back gray), and a
/// scheduled Slow overlapping it multiplies its factor; overlapping slowdowns of one replica
/// are one entry of the report, marked random.
#[test]
fn random_episodes_compose_with_scheduled_crashes_and_slowdowns() {
    let r = run(
        r#"Scenario(
        name: "gray-compose", horizon: "45m",
        clients: [Client(name: "c", arrivals: Constant(rate_per_s: 10.0), target: "api")],
        pools: [Pool(name: "api", replicas: 1, workers: 10, service: Constant("10ms"),
            gray_failures: GrayFailures(time_between: Constant("10m"), duration: Constant("10m"),
                                        factor: 5.0))],
        faults: [Crash(pool: "api", replica: 0, at: "15m", duration: "2m"),
                 Slow(pool: "api", replica: 0, at: "18m", duration: "7m", factor: 2.0)],
    )"#,
        1,
    );
    let s: Vec<_> = r
        .faults
        .slowdowns
        .iter()
        .map(|s| (s.from_s, s.to_s, s.factor, s.random))
        .collect();
    assert_eq!(
        s,
        [
            (600.0, Some(1500.0), 10.0, true),
            (1800.0, Some(2400.0), 5.0, true)
        ]
    );
    let g = r.faults.gray.as_ref().expect("a gray section");
    assert_eq!((g.episodes, g.gray_s), (2, 1200.0));
    assert_eq!(r.faults.listed.len(), 1);
    assert_eq!(
        (r.faults.listed[0].down_s, r.faults.listed[0].up_s),
        (900.0, Some(1020.0))
    );
    // While gray, 10 requests a second: they succeed while it is up, [600, 900), [1020, 1200)
    // and [1800, 2400), give or take the requests that straddle an edge, and are refused while
    // it is down during the episode, [900, 1020): every refusal of the run.
    let succeeded = g.requests_succeeded as i64;
    assert!((succeeded - 10 * (300 + 180 + 600)).abs() <= 5, "{g:?}");
    assert_eq!(g.requests_failed, r.requests.failed_by.refused);
    assert!((g.requests_failed as i64 - 10 * 120).abs() <= 1, "{g:?}");
}
