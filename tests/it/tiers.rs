//! Multi-tier requests: a chain's latency is the sum of its hops, a fan-out follows the order
//! statistics of its calls, availability composes by the binomial law, retries at every hop
//! multiply, cancellation is exact; and random multi-tier topologies keep every invariant.
//! Tolerances are 4 standard errors of each estimate over the run.

use models::{Outcome, Record};
use proptest::prelude::*;
use reports::BatchMeans;
use sim_core::{Observer, SimTime};

const Z: f64 = 4.0;

fn scenario(text: &str) -> scenarios::Loaded {
    scenarios::parse_str(text, "test.ron").unwrap_or_else(|e| panic!("{e}\n{text}"))
}

/// Every request's and every hop call's latency, after warm-up.
#[derive(Default)]
struct Latencies {
    warmup: SimTime,
    requests: BatchMeans,
    succeeded: u64,
    failed: u64,
    request_ns: Vec<u64>,
    hop_ns: Vec<Vec<u64>>,
}

impl Observer<Record> for Latencies {
    fn record(&mut self, _now: SimTime, r: &Record) {
        match *r {
            Record::Finished {
                arrived,
                outcome,
                latency,
                ..
            } if arrived >= self.warmup => {
                if outcome == Outcome::Succeeded {
                    self.succeeded += 1;
                    self.requests.push(latency.0 as f64 / 1e6);
                    if self.request_ns.len() < 10_000 {
                        self.request_ns.push(latency.0);
                    }
                } else {
                    self.failed += 1;
                }
            }
            Record::HopFinished {
                hop,
                arrived,
                outcome: Some(Outcome::Succeeded),
                latency,
                ..
            } if arrived >= self.warmup => {
                let h = hop as usize;
                if self.hop_ns.len() <= h {
                    self.hop_ns.resize(h + 1, Vec::new());
                }
                if self.hop_ns[h].len() < 10_000 {
                    self.hop_ns[h].push(latency.0);
                }
            }
            _ => {}
        }
    }
}

fn observe(loaded: &scenarios::Loaded, seed: u64) -> Latencies {
    let obs = Latencies {
        warmup: SimTime(loaded.spec.warmup.0),
        ..Latencies::default()
    };
    models::System::new(&loaded.spec, sim_core::StreamKey::new(seed, 0), obs)
        .run()
        .1
}

/// A chain of deterministic services with room for everything: every request takes exactly the
/// sum of the services, and each hop exactly the services below it.
#[test]
fn a_chain_takes_the_sum_of_its_hops() {
    let loaded = scenario(
        r#"Scenario(
            name: "chain", horizon: "60s", warmup: "1s",
            clients: [Client(name: "c", arrivals: Poisson(rate_per_s: 200.0), target: "api")],
            pools: [
                Pool(name: "api", replicas: 1, workers: 1000, service: Constant("2ms"),
                     dependencies: Dependencies(calls: [Dependency(target: "mid")])),
                Pool(name: "mid", replicas: 1, workers: 1000, service: Constant("3ms"),
                     dependencies: Dependencies(calls: [Dependency(target: "leaf")])),
                Pool(name: "leaf", replicas: 1, workers: 1000, service: Constant("5ms")),
            ],
        )"#,
    );
    let l = observe(&loaded, 3);
    assert!(
        l.succeeded > 10_000 && l.failed == 0,
        "{} {}",
        l.succeeded,
        l.failed
    );
    assert!(
        l.request_ns.iter().all(|&ns| ns == 10_000_000),
        "end to end 2 + 3 + 5 ms"
    );
    assert_eq!(l.hop_ns.len(), 2);
    assert!(
        l.hop_ns[0].iter().all(|&ns| ns == 8_000_000),
        "api → mid: 3 + 5 ms"
    );
    assert!(
        l.hop_ns[1].iter().all(|&ns| ns == 5_000_000),
        "mid → leaf: 5 ms"
    );
}

/// `k` calls to exponential services (mean 10 ms) with no queueing, after 1 ms of own work.
fn fan_out(k: u32, wait_for: &str, error_rate: f64) -> String {
    format!(
        r#"Scenario(
            name: "fan-out", horizon: "300s", warmup: "1s",
            clients: [Client(name: "c", arrivals: Poisson(rate_per_s: 200.0), target: "api")],
            pools: [
                Pool(name: "api", replicas: 1, workers: 10000, service: Constant("1ms"),
                     dependencies: Dependencies(wait_for: {wait_for},
                         calls: [Dependency(target: "leaf", copies: {k})])),
                Pool(name: "leaf", replicas: 1, workers: 10000, service: Exponential(mean: "10ms"),
                     error_rate: {error_rate}),
            ],
        )"#
    )
}

/// Mean of the q-th smallest of k independent exponentials of mean m:
/// m · Σ_{i=0}^{q−1} 1/(k − i).
fn order_statistic_mean(q: u32, k: u32, m: f64) -> f64 {
    (0..q).map(|i| m / (k - i) as f64).sum()
}

/// The end-to-end mean is own work + the order statistic the rule waits for: the maximum for
/// All, the minimum for First, the q-th for Quorum(q).
#[test]
fn a_fan_out_waits_for_its_order_statistic() {
    for (wait_for, q, k) in [
        ("All", 4, 4),
        ("First", 1, 4),
        ("Quorum(2)", 2, 4),
        ("Sequence", 0, 3),
    ] {
        let l = observe(&scenario(&fan_out(k, wait_for, 0.0)), 5);
        let truth = 1.0
            + if wait_for == "Sequence" {
                10.0 * k as f64 // one after the other: the sum
            } else {
                order_statistic_mean(q, k, 10.0)
            };
        let mean = l.requests.mean();
        let se = l.requests.half_width_95()
            / reports::student_t_975(l.requests.batches().saturating_sub(1).max(1));
        assert!(
            (mean - truth).abs() <= Z * se,
            "{wait_for} of {k}: mean {mean:.4} ms vs {truth:.4} ms (se {se:.4})"
        );
    }
}

/// With each call failing independently with probability p, a request succeeds with
/// P(Binomial(k, 1 − p) ≥ q): (1 − p)^k for All, 1 − p^k for First.
#[test]
fn fan_out_availability_is_binomial() {
    let p: f64 = 0.1;
    let binom = |k: u32, q: u32| -> f64 {
        (q..=k)
            .map(|s| {
                let c = (0..s).fold(1.0, |c, i| c * (k - i) as f64 / (i + 1) as f64);
                c * (1.0 - p).powi(s as i32) * p.powi((k - s) as i32)
            })
            .sum()
    };
    for (wait_for, q) in [("All", 3), ("First", 1), ("Quorum(2)", 2)] {
        let l = observe(&scenario(&fan_out(3, wait_for, p)), 9);
        let n = (l.succeeded + l.failed) as f64;
        let truth = binom(3, q);
        let share = l.succeeded as f64 / n;
        let se = (truth * (1.0 - truth) / n).sqrt();
        assert!(
            (share - truth).abs() <= Z * se,
            "{wait_for}: success {share:.5} vs {truth:.5} (se {se:.5}, n {n})"
        );
    }
}

/// Attempts of a call with N attempts and failure probability p: mean (1 − p^N)/(1 − p) and
/// its variance (a geometric count truncated at N).
fn truncated_geometric(p: f64, n: u32) -> (f64, f64) {
    let pr = |a: u32| {
        if a < n {
            p.powi(a as i32 - 1) * (1.0 - p)
        } else {
            p.powi(n as i32 - 1)
        }
    };
    let mean: f64 = (1..=n).map(|a| a as f64 * pr(a)).sum();
    let var: f64 = (1..=n).map(|a| (a as f64 - mean).powi(2) * pr(a)).sum();
    (mean, var)
}

/// Retries at two hops: the leaf fails with p, the api's hop retries N times, the client M
/// times. The hop's attempts per call and success, the client's success and attempts per
/// request all follow 1 − p^N and (1 − p^N)/(1 − p), composed.
#[test]
fn retries_at_every_hop_multiply() {
    let (p, n, m) = (0.3f64, 3u32, 2u32);
    let loaded = scenario(&format!(
        r#"Scenario(
            name: "two hops", horizon: "300s", warmup: "1s",
            clients: [Client(name: "c", arrivals: Poisson(rate_per_s: 300.0), target: "api",
                retry: Retry(max_attempts: {m}, retry_on: [Error],
                    backoff: Backoff(base: "1ms", max: "1ms", jitter: None)))],
            pools: [
                Pool(name: "api", replicas: 1, workers: 10000, service: Constant("1ms"),
                     dependencies: Dependencies(calls: [Dependency(target: "leaf",
                         retry: Retry(max_attempts: {n}, retry_on: [Error],
                             backoff: Backoff(base: "1ms", max: "1ms", jitter: None)))])),
                Pool(name: "leaf", replicas: 1, workers: 10000, service: Exponential(mean: "5ms"),
                     error_rate: {p}),
            ],
        )"#
    ));
    let r = hasim::Run::new(&loaded).seed(13).execute().0;
    let hop = &r.dependencies[0];
    let calls = hop.calls as f64;
    assert!(calls > 80_000.0, "{calls}");
    // The hop: success 1 − p^N, attempts per call.
    let s = 1.0 - p.powi(n as i32);
    let share = hop.succeeded as f64 / calls;
    assert!(
        (share - s).abs() <= Z * (s * (1.0 - s) / calls).sqrt(),
        "hop success {share} vs {s}"
    );
    let (mean, var) = truncated_geometric(p, n);
    assert!(
        (hop.attempts_per_call - mean).abs() <= Z * (var / calls).sqrt() + 1e-4,
        "hop attempts per call {} vs {mean}",
        hop.attempts_per_call
    );
    assert_eq!(hop.failed, hop.failed_by.error, "only errors fail the hop");
    // The client sees an error with q = p^N per attempt, and retries it.
    let q = p.powi(n as i32);
    let n_req = (r.requests.succeeded + r.requests.failed) as f64;
    let avail = 1.0 - q.powi(m as i32);
    assert!(
        (r.availability.request - avail).abs() <= Z * (avail * (1.0 - avail) / n_req).sqrt() + 1e-6,
        "end to end {} vs {avail}",
        r.availability.request
    );
    let (mean, var) = truncated_geometric(q, m);
    let x = r.resilience.as_ref().expect("the client retries");
    assert!(
        (x.attempts_per_request - mean).abs() <= Z * (var / n_req).sqrt() + 1e-4,
        "attempts per request {} vs {mean}",
        x.attempts_per_request
    );
    // Retries at the hop are its own, not the client's.
    assert!(hop.retries > 0 && x.retries < hop.retries);
}

/// Waiting for the first of three answers (no failures, no warm-up): exactly one call of each
/// answered request succeeds and the other two are cancelled.
#[test]
fn first_cancels_exactly_the_losers() {
    let text = fan_out(3, "First", 0.0).replace("warmup: \"1s\"", "warmup: \"0s\"");
    let loaded = scenario(&text);
    let (summary, c) = hasim::Run::new(&loaded).seed(21).simulate().parts();
    let succeeded = c.outcomes[Outcome::Succeeded as usize];
    let hop = &c.hops[0];
    assert!(succeeded > 50_000);
    assert_eq!(hop.outcomes[Outcome::Succeeded as usize], succeeded);
    assert_eq!(hop.cancelled, 2 * succeeded);
    let h = &summary.hops[0];
    assert_eq!(h.offered, h.succeeded + h.cancelled + h.in_flight);
    // Cancelled calls leave their servers at once: the leaf served about one call per
    // request, not three.
    let served: u64 = summary.replicas[1].served;
    assert!(served < succeeded + 100, "served {served} for {succeeded}");
}

#[derive(Clone, Debug)]
struct Tier {
    replicas: u32,
    workers: u32,
    service_ms: u32,
    error: u32,
    failures: bool,
    drop_stale: bool,
    wait_for: usize,
    copies: u32,
    timeout: Option<u32>,
    resilience: usize,
}

fn tier() -> impl Strategy<Value = Tier> {
    (
        (1u32..4, 1u32..6, 1u32..30, 0u32..20),
        (any::<bool>(), any::<bool>(), 0usize..4, 1u32..4),
        (proptest::option::of(5u32..300), 0usize..4),
    )
        .prop_map(
            |(
                (replicas, workers, service_ms, error),
                (failures, drop_stale, wait_for, copies),
                (timeout, resilience),
            )| Tier {
                replicas,
                workers,
                service_ms,
                error,
                failures,
                drop_stale,
                wait_for,
                copies,
                timeout,
                resilience,
            },
        )
}

fn render(tiers: &[Tier], rate: u32, timeout: Option<u32>) -> String {
    let mut balancers = String::new();
    let mut pools = String::new();
    for (i, t) in tiers.iter().enumerate() {
        // Client-side (each caller, client or hop, its own instance) for even service times,
        // derived from the draws already made.
        let per_client = if t.service_ms % 2 == 0 {
            ", per_client: true"
        } else {
            ""
        };
        balancers.push_str(&format!(
            "Balancer(name: \"lb{i}\", policy: LeastRequest(choices: {}), target: \"t{i}\"{per_client}),\n",
            t.replicas.min(2)
        ));
        let deps = if i + 1 < tiers.len() {
            let wait = ["All", "First", "Quorum(1)", "Sequence"][t.wait_for];
            let to = t
                .timeout
                .map_or(String::new(), |x| format!(", timeout: \"{x}ms\""));
            let res = [
                "",
                ", retry: Retry(max_attempts: 3, per_try_timeout: \"40ms\")",
                ", hedge: Hedge(delay: \"10ms\", max_copies: 2)",
                ", breaker: Breaker(window: Count(20), minimum_calls: 10), max_in_flight: 50",
            ][t.resilience];
            format!(
                ", dependencies: Dependencies(wait_for: {wait}, calls: [Dependency(target: \"lb{}\", copies: {}{to}{res})])",
                i + 1,
                t.copies
            )
        } else {
            // The last tier: any discipline (a pool with dependencies is FIFO).
            format!(
                ", discipline: {}",
                ["Fifo", "Lifo", "ProcessorSharing", "AdaptiveLifo(above: 2)"][t.wait_for]
            )
        };
        let f = if t.failures {
            ", failures: Failures(time_to_failure: Exponential(mean: \"20s\"), time_to_repair: Exponential(mean: \"3s\"))"
        } else {
            ""
        };
        pools.push_str(&format!(
            "Pool(name: \"t{i}\", replicas: {}, workers: {}, queue_capacity: 20, service: Exponential(mean: \"{}ms\"), error_rate: {:.2}, drop_stale: {}{f}{deps}),\n",
            t.replicas,
            t.workers,
            t.service_ms,
            t.error as f64 / 100.0,
            t.drop_stale
        ));
    }
    let to = timeout.map_or(String::new(), |x| format!(", timeout: \"{x}ms\""));
    format!(
        "Scenario(name: \"tiers\", horizon: \"60s\", warmup: \"5s\",\n clients: [Client(name: \"c\", arrivals: Poisson(rate_per_s: {rate}.0), target: \"lb0\"{to}),\n Client(name: \"batch\", arrivals: Poisson(rate_per_s: {rate}.0), target: \"lb0\", priority: 1)],\n balancers: [\n{balancers}],\n pools: [\n{pools}],\n)\n"
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Random tiers (fan-outs, every wait rule, retries, hedges, breakers, bulkheads, crashes,
    /// stale-drop, timeouts at every level, two priority classes, every discipline at the
    /// leaves, processor sharing included) keep the books: the run's invariants (checked at
    /// the end: calls, attempts, dependency lists, balancer counts) and the report's sums.
    #[test]
    fn random_tiers_keep_every_invariant(
        tiers in proptest::collection::vec(tier(), 2..4),
        rate in 5u32..300,
        timeout in proptest::option::of(20u32..500),
        seed in 0u64..1_000_000,
    ) {
        let text = render(&tiers, rate, timeout);
        let loaded = scenarios::parse_str(&text, "tiers.ron").map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
        let r = hasim::guarded(|| hasim::Run::new(&loaded).seed(seed).execute().0)
            .map_err(|m| TestCaseError::fail(format!("invariant: {m}\nseed {seed}\n{text}")))?;
        let q = &r.requests;
        prop_assert_eq!(q.offered, q.succeeded + q.failed + q.in_flight, "conservation\n{}", text);
        prop_assert_eq!(r.dependencies.len(), tiers.len() - 1);
        for h in &r.dependencies {
            let f = &h.failed_by;
            prop_assert_eq!(h.calls, h.succeeded + h.failed, "{}", text);
            prop_assert_eq!(h.failed, f.rejected + f.timed_out + f.crashed + f.refused + f.error + f.short_circuited, "{}", text);
            prop_assert!((0.0..=1.0).contains(&h.availability), "{}", text);
            prop_assert!(h.latency_ms.p50 <= h.latency_ms.p99, "{}", text);
        }
    }
}

/// Counts a hop's retry and breaker records after warm-up.
#[derive(Default)]
struct HopRecords {
    warmup: SimTime,
    retries: u64,
    opened: u64,
    client_records: u64,
}

impl Observer<Record> for HopRecords {
    fn record(&mut self, now: SimTime, r: &Record) {
        if now < self.warmup {
            return;
        }
        match *r {
            Record::HopRetry { hop: 0, .. } => self.retries += 1,
            Record::HopBreakerChange {
                hop: 0,
                state: models::breaker::BreakerState::Open,
            } => self.opened += 1,
            Record::Retry { .. } | Record::BreakerChange { .. } => self.client_records += 1,
            _ => {}
        }
    }
}

/// A hop's retries and breaker transitions are records of their own (in the trace as the hop's
/// lines), one per retry and one per opening the summary counts, and never a client's.
#[test]
fn hop_retries_and_breaker_changes_are_recorded() {
    let loaded = scenario(
        r#"Scenario(
            name: "hop records", horizon: "120s", warmup: "5s",
            clients: [Client(name: "c", arrivals: Poisson(rate_per_s: 200.0), target: "api")],
            pools: [
                Pool(name: "api", replicas: 1, workers: 10000, service: Constant("1ms"),
                     dependencies: Dependencies(calls: [Dependency(target: "leaf",
                         retry: Retry(max_attempts: 2, retry_on: [Error],
                             backoff: Backoff(base: "1ms", max: "1ms", jitter: None)),
                         breaker: Breaker(window: Count(20), minimum_calls: 10,
                             failure_rate_threshold: 0.5, open_duration: "2s",
                             half_open_calls: 1))])),
                Pool(name: "leaf", replicas: 1, workers: 10000, service: Exponential(mean: "5ms"),
                     error_rate: 0.2),
            ],
            faults: [Slow(pool: "leaf", replica: 0, at: "30s", duration: "20s", error_rate: 0.9)],
        )"#,
    );
    let obs = HopRecords {
        warmup: SimTime(loaded.spec.warmup.0),
        ..HopRecords::default()
    };
    let (summary, obs) =
        models::System::new(&loaded.spec, sim_core::StreamKey::new(3, 0), obs).run();
    let hop = &summary.hops[0].resilience;
    assert!(hop.retries > 1_000, "{hop:?}");
    assert!(hop.breaker_openings > 0, "{hop:?}");
    assert_eq!(obs.retries, hop.retries);
    assert_eq!(obs.opened, hop.breaker_openings);
    assert_eq!(
        obs.client_records, 0,
        "the client neither retries nor has a breaker"
    );
}
