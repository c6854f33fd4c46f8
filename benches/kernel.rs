//! The kernel alone: the classic hold model (pop the earliest event, schedule one at now + an
//! exponential delay) with 10, 10³ and 10⁵ pending events. Measures the event queue and run
//! loop per event; record results in BENCHMARKS.md.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use sim_core::{Dist, Model, Scheduler, SimDuration, SimTime, Stream, StreamKey, Until};
use std::hint::black_box;

struct Hold {
    delay: Dist,
    rng: Stream,
}

impl Model for Hold {
    type Event = u32;
    #[inline]
    fn handle(&mut self, _now: SimTime, e: u32, s: &mut Scheduler<u32>) {
        let d = self.delay.sample(&mut self.rng);
        s.after(d, black_box(e));
    }
}

const EVENTS: u64 = 1_000_000;

fn hold(c: &mut Criterion) {
    let mut g = c.benchmark_group("kernel_hold");
    g.throughput(Throughput::Elements(EVENTS));
    g.sample_size(20);
    for pending in [10u32, 1_000, 100_000] {
        g.bench_with_input(
            BenchmarkId::from_parameter(pending),
            &pending,
            |b, &pending| {
                b.iter_batched(
                    || {
                        let mut m = Hold {
                            delay: Dist::exponential(SimDuration::from_secs(1)).expect("valid"),
                            rng: StreamKey::new(1, 0).stream("hold"),
                        };
                        let mut s = Scheduler::new();
                        for i in 0..pending {
                            let d = m.delay.sample(&mut m.rng);
                            s.after(d, i);
                        }
                        (m, s)
                    },
                    |(mut m, mut s)| {
                        sim_core::run(
                            &mut m,
                            &mut s,
                            Until {
                                horizon: SimTime::MAX,
                                max_events: EVENTS,
                            },
                        )
                    },
                    criterion::BatchSize::LargeInput,
                )
            },
        );
    }
    g.finish();
}

criterion_group!(benches, hold);
criterion_main!(benches);
