//! The balancing mechanisms of issue 3 that change where traffic goes over time or by place:
//! join-idle-queue, slow start, zone-aware routing, DNS round robin with TTLs (client-side state).

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
                            let (_, c) = hasim::simulate(&spec(p, rho, horizon, warmup), 1, r);
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
