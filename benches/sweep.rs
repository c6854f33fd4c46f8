//! Sweeps are embarrassingly parallel: 10 000 replications of a small scenario on 1 and 2
//! threads. Parallel efficiency = (runs/s at 2 threads) / (2 × runs/s at 1 thread).

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use hasim::sweep::{Shard, header, run_shard};
use std::hint::black_box;

fn sweep(c: &mut Criterion) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/sweeps/bench.ron");
    let s = scenarios::load_sweep(&path).unwrap_or_else(|e| panic!("{e}"));
    let head = header(&s, 1, false);
    let mut g = c.benchmark_group("sweep_parallel");
    g.throughput(Throughput::Elements(head.units_total));
    g.sample_size(10);
    for jobs in [1usize, 2] {
        g.bench_with_input(
            BenchmarkId::new("replications_10000_jobs", jobs),
            &jobs,
            |b, &jobs| {
                b.iter(|| {
                    black_box(run_shard(&s, &head, Shard::ALL, jobs, None, false).map(|a| a.len()))
                })
            },
        );
    }
    g.finish();
}

criterion_group!(benches, sweep);
criterion_main!(benches);
