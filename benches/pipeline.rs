//! The whole pipeline on M/M/1 (λ = 0.9, μ = 1) with 10⁶ customers: client, routing, replica
//! queue, statistics collector (HDR histogram, batch means). Beside it, a bare hand-written
//! M/M/1 loop (same RNG and libm, no kernel, no models) as the yardstick for overhead.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use models::spec::{Arrivals, ClientSpec, PoolSpec, Spec, Target};
use sim_core::{Dist, SimDuration, StreamKey};
use std::hint::black_box;

#[path = "bare/mod.rs"]
mod bare;
use bare::bare_event_loop;

const CUSTOMERS: u64 = 1_000_000;

fn mm1_spec() -> Spec {
    Spec {
        window: sim_core::SimDuration::ZERO,
        faults: Vec::new(),
        zones: Vec::new(),
        partitions: Vec::new(),
        balancer_outages: Vec::new(),
        hops: Vec::new(),
        name: "bench-mm1".into(),
        // 10⁶ arrivals at 0.9/s.
        horizon: SimDuration::from_secs(CUSTOMERS * 10 / 9),
        warmup: SimDuration::ZERO,
        max_events: u64::MAX,
        clients: vec![ClientSpec {
            name: "users".into(),
            arrivals: Arrivals::Poisson { rate_per_s: 0.9 },
            timeout: None,
            target: Target::Pool(0),
            retry: None,
            hedge: None,
            breaker: None,
            max_in_flight: None,
            zone: None,
            priority: 0,
        }],
        balancers: vec![],
        pools: vec![PoolSpec {
            name: "server".into(),
            replicas: 1,
            workers: 1,
            queue_capacity: None,
            service: Dist::exponential(SimDuration::from_secs(1)).expect("valid"),
            failures: None,
            gray_failures: None,
            error_rate: 0.0,
            drop_stale: false,
            discipline: models::spec::Discipline::Fifo,
            rate_limit: None,
            slowdown_per_request: 0.0,
            zones: Vec::new(),
            dependencies: None,
            autoscale: None,
            discovery: None,
            fleet: Default::default(),
        }],
    }
}

/// M/M/1 by Lindley's recursion on departure times: the least work any simulator can do.
fn bare_mm1(n: u64) -> f64 {
    let key = StreamKey::new(1, 0);
    let (mut a, mut s) = (key.stream("a"), key.stream("s"));
    let (mut t, mut free_at, mut sum) = (0.0f64, 0.0f64, 0.0f64);
    for _ in 0..n {
        t += -1e9 / 0.9 * libm::log(a.uniform_open0());
        let start = if free_at > t { free_at } else { t };
        free_at = start - 1e9 * libm::log(s.uniform_open0());
        sum += free_at - t;
    }
    sum / n as f64
}

fn pipeline(c: &mut Criterion) {
    let spec = mm1_spec();
    let mut g = c.benchmark_group("pipeline_mm1");
    g.throughput(Throughput::Elements(CUSTOMERS));
    g.sample_size(10);
    g.bench_function("hasim_1e6_customers", |b| {
        b.iter(|| {
            let (summary, c) = hasim::Run::spec(black_box(&spec))
                .seed(1)
                .simulate()
                .parts();
            black_box((summary.run.events, c.latency_sum_ns))
        })
    });
    // The same run with a time series of 400 windows (what `hasim run` does by default): the
    // per-window histogram and the samples are the whole difference.
    let mut windowed = spec.clone();
    windowed.window = SimDuration(spec.horizon.0 / 400);
    g.bench_function("hasim_1e6_customers_400_windows", |b| {
        b.iter(|| {
            let (summary, c) = hasim::Run::spec(black_box(&windowed))
                .seed(1)
                .simulate()
                .parts();
            black_box((summary.run.events, c.latency_sum_ns))
        })
    });
    g.bench_function("bare_event_loop_1e6_customers", |b| {
        b.iter(|| black_box(bare_event_loop(black_box(CUSTOMERS))))
    });
    g.bench_function("lindley_recursion_1e6_customers", |b| {
        b.iter(|| black_box(bare_mm1(black_box(CUSTOMERS))))
    });
    g.finish();
}

criterion_group!(benches, pipeline);
criterion_main!(benches);
