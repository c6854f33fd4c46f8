//! The issue-3 workload: scenarios/retries.ron — the web tier (6 replicas, least request P2C,
//! crash/repair) with active health checks and a retrying client (per-try timeout, backoff with
//! jitter, an Envoy retry budget) — for one simulated hour, statistics included. The throughput
//! is requests per second of wall time (BENCHMARKS.md; the goal is ≥ 2 M/s). Beside it, the
//! whole three-tier architecture with its stores on the request path.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use sim_core::SimDuration;
use std::hint::black_box;

fn web_tier(c: &mut Criterion) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/retries.ron");
    let loaded = scenarios::load(&path).unwrap_or_else(|e| panic!("{e}"));
    let mut spec = loaded.spec.clone();
    spec.horizon = SimDuration::from_secs(3600);
    spec.warmup = SimDuration::from_secs(300);
    // Requests offered in the run (whole run, warm-up included): the throughput's unit.
    let (summary, _) = hasim::Run::spec(&spec).seed(42).simulate().parts();
    let requests = summary.conservation.offered;
    let mut g = c.benchmark_group("web_tier_retries");
    g.throughput(Throughput::Elements(requests));
    g.sample_size(10);
    g.bench_function("retries_ron_1h", |b| {
        b.iter(|| {
            let (summary, c) = hasim::Run::spec(black_box(&spec))
                .seed(42)
                .simulate()
                .parts();
            black_box((summary.run.events, c.latency_sum_ns))
        })
    });
    g.finish();
}

/// scenarios/three-tier.ron as it is (30 simulated minutes): balancer → web → cache →
/// primary-backup database on one loop, the database failing over and the cache restarting.
/// Throughput in user requests per second of wall time (BENCHMARKS.md; the goal is ≥ 1 M/s).
fn three_tier(c: &mut Criterion) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/three-tier.ron");
    let loaded = scenarios::load(&path).unwrap_or_else(|e| panic!("{e}"));
    let sim = hasim::Run::new(&loaded).simulate();
    let requests = sim.summary.conservation.offered;
    let mut g = c.benchmark_group("three_tier");
    g.throughput(Throughput::Elements(requests));
    g.sample_size(10);
    g.bench_function("three_tier_ron_30m", |b| {
        b.iter(|| {
            let sim = hasim::Run::new(black_box(&loaded)).simulate();
            black_box((sim.summary.run.events, sim.stores.len()))
        })
    });
    g.finish();
}

criterion_group!(benches, web_tier, three_tier);
criterion_main!(benches);
