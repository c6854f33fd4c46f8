//! Balancing at every fleet size: 10 to 10⁵ single-worker replicas at 50% utilisation behind
//! one balancer, for each policy, with default reporting (statistics, a time series of ~400
//! windows, fingerprint): what `hasim run` does, minus parsing and printing. The throughput is
//! requests per second of wall time; the goal (issue 17) is ≥ 3 M req/s at 10³ replicas and
//! ≥ 2 M req/s at 10⁴ for every policy. Beside it, in the same run, the bare hand-written M/M/1
//! event loop of `benches/pipeline.rs` over as many customers.
//!
//! `HASIM_SCALING_SIZES=10,1000` and `HASIM_SCALING_POLICIES=RoundRobin,JoinShortestQueue`
//! narrow the matrix.

use criterion::{
    BenchmarkId, Criterion, SamplingMode, Throughput, criterion_group, criterion_main,
};
use std::hint::black_box;
use std::time::Duration;

#[path = "bare/mod.rs"]
mod bare;

/// Requests per run.
const REQUESTS: u64 = 1_000_000;

const SIZES: [u32; 5] = [10, 100, 1_000, 10_000, 100_000];

const POLICIES: [&str; 10] = [
    "RoundRobin",
    "WeightedRoundRobin",
    "SmoothWeightedRoundRobin",
    "LeastRequest(choices: 2)",
    "JoinShortestQueue",
    "LeastConnections",
    "WeightedLeastConnections",
    "LeastResponseTime(decay: \"10s\", default_rtt: \"10ms\")",
    "PeakEwma(decay: \"10s\", default_rtt: \"10ms\")",
    "FirstAvailable(maxconn: 1)",
];

/// A scenario of `n` replicas behind `policy`, sized to offer about [`REQUESTS`] requests.
fn scenario(policy: &str, n: u32) -> scenarios::Loaded {
    // 10 ms mean service, ρ = 0.5: 50 req/s per replica.
    let rate = 50.0 * f64::from(n);
    let horizon_ms = (REQUESTS as f64 / rate * 1e3).ceil() as u64;
    // Weighted policies: weights 1, 2, 3, 4 in turn (the rate is sized as for equal weights;
    // the heaviest replicas run hotter than the rest, but below 100%).
    let policy = if policy.starts_with("Weighted") || policy.starts_with("Smooth") {
        let w: Vec<String> = (0..n).map(|i| (1 + i % 4).to_string()).collect();
        format!("{policy}(weights: [{}])", w.join(", "))
    } else {
        policy.to_string()
    };
    let src = format!(
        r#"Scenario(
    name: "scaling",
    horizon: "{horizon_ms}ms",
    clients: [Client(name: "users", arrivals: Poisson(rate_per_s: {rate}), target: "lb")],
    balancers: [Balancer(name: "lb", policy: {policy}, target: "app")],
    pools: [Pool(name: "app", replicas: {n}, workers: 1, service: Exponential(mean: "10ms"))],
)"#
    );
    scenarios::parse_str(&src, "scaling.ron").unwrap_or_else(|e| panic!("{e}"))
}

fn filter<T: Copy>(all: &[T], var: &str, show: impl Fn(T) -> String) -> Vec<T> {
    match std::env::var(var) {
        Ok(list) => {
            let want: Vec<&str> = list.split(',').map(str::trim).collect();
            (all.iter().copied())
                .filter(|x| {
                    // Exact names and sizes; a policy with parameters by its name alone.
                    let s = show(*x);
                    want.iter()
                        .any(|w| s == *w || s.starts_with(&format!("{w}(")))
                })
                .collect()
        }
        Err(_) => all.to_vec(),
    }
}

fn scaling(c: &mut Criterion) {
    // 10⁵ replicas sampled at every window of the default time series exceed the default
    // budget of replica samples (validation): as `hasim run --allow-large` would.
    scenarios::limits::allow_large(true);
    let sizes = filter(&SIZES, "HASIM_SCALING_SIZES", |n| n.to_string());
    let policies = filter(&POLICIES, "HASIM_SCALING_POLICIES", str::to_string);
    let mut g = c.benchmark_group("scaling");
    g.sample_size(10);
    // Iterations of a second or more: one per sample, and a short warm-up for the big fleets
    // (keeps the whole matrix within minutes on an idle machine).
    g.sampling_mode(SamplingMode::Flat);
    g.throughput(Throughput::Elements(REQUESTS));
    g.bench_function("bare_event_loop_mm1", |b| {
        b.iter(|| black_box(bare::bare_event_loop(black_box(REQUESTS))))
    });
    for policy in policies {
        let name = policy.split('(').next().unwrap_or(policy);
        for &n in &sizes {
            let loaded = scenario(policy, n);
            let spec = &loaded.spec;
            let (summary, _) = hasim::Run::spec(spec).seed(1).simulate().parts();
            g.throughput(Throughput::Elements(summary.conservation.offered));
            let big = n >= 10_000;
            g.warm_up_time(Duration::from_millis(if big { 200 } else { 1000 }));
            g.measurement_time(Duration::from_secs(if big { 2 } else { 5 }));
            g.bench_with_input(BenchmarkId::new(name, n), &n, |b, _| {
                b.iter(|| {
                    let (summary, c) = hasim::Run::spec(black_box(spec)).seed(1).simulate().parts();
                    black_box((summary.run.events, c.latency_sum_ns))
                })
            });
        }
    }
    g.finish();
}

criterion_group!(benches, scaling);
criterion_main!(benches);
