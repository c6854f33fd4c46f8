#![allow(clippy::disallowed_methods)]

use super::*;

#[test]
fn lru_keeps_recency_order_and_evicts_the_least_recent() {
    let mut l = Lru::new(5);
    for k in [0, 1, 2] {
        l.push_front(k);
    }
    l.touch(0); // order: 0 2 1
    assert_eq!(l.pop_back(), Some(1));
    l.unlink(0); // order: 2
    assert_eq!((l.head, l.tail, l.len), (2, 2, 1));
    l.push_front(4); // 4 2
    l.touch(2); // 2 4
    assert_eq!(l.pop_back(), Some(4));
    assert_eq!(l.pop_back(), Some(2));
    assert_eq!(l.pop_back(), None);
    l.push_front(3);
    l.clear();
    assert_eq!((l.head, l.tail, l.len), (NIL, NIL, 0));
}

#[test]
fn ttl_hit_probability_limits() {
    // F = 0: λT / (1 + λT), with or without single flight.
    for c in [false, true] {
        assert!((ttl_hit_probability(2.0, 3.0, 0.0, c) - 6.0 / 7.0).abs() < 1e-12);
    }
    // Without single flight, requests during the fetch extend the entry's life: a higher
    // hit ratio per request than with it only when λF is large enough to matter, and
    // never above 1.
    let a = ttl_hit_probability(10.0, 1.0, 0.1, false);
    let b = ttl_hit_probability(10.0, 1.0, 0.1, true);
    assert!(a > 0.0 && a < 1.0 && b > 0.0 && b < 1.0, "{a} {b}");
    // Single flight: λT / (1 + λF + λT) = 10 / 12.
    assert!((b - 10.0 / 12.0).abs() < 1e-12);
    // Without: (10 + 1 − 1 + e^−1) / (10 + 2 + e^−1).
    let e = (-1.0f64).exp();
    assert!((a - (10.0 + e) / (12.0 + e)).abs() < 1e-12);
}

fn spec() -> CacheSpec {
    CacheSpec {
        name: "c".into(),
        requests: Some(crate::spec::Arrivals::Poisson { rate_per_s: 1000.0 }),
        keys: crate::spec::KeySpec::Uniform { n: 10 },
        ttl: None,
        capacity: None,
        hit_latency: Dist::constant(SimDuration::ZERO),
        coalesce_misses: false,
        backend: Some(crate::store_spec::BackendSpec {
            workers: 4,
            service: Dist::constant(SimDuration::from_millis(1)),
            queue_limit: 100,
            timeout: None,
        }),
        failures: None,
        faults: vec![CacheFault {
            at: SimDuration::from_secs(10),
            duration: SimDuration::from_secs(5),
        }],
        window: SimDuration::from_secs(1),
    }
}

#[test]
fn a_restart_with_a_duration_bypasses_the_cache_and_comes_back_empty() {
    let h = SimTime(SimDuration::from_secs(20).0);
    let c = Cache::new(&spec(), 0, StreamKey::new(1, 0), h, sim_core::NullObserver)
        .run(h, u64::MAX)
        .0;
    // Ten keys at 1000/s: warm within milliseconds, then every request hits, except
    // while the cache is down (every request misses, nothing is inserted) and the ten
    // few cold misses right after it (fetches sent while it was down and returning after
    // it came back are inserted).
    assert!(
        c.windows[..10]
            .iter()
            .skip(1)
            .all(|w| w.hits + 2 >= w.requests)
    );
    assert!(
        c.windows[10..15]
            .iter()
            .skip(1)
            .all(|w| w.hits == 0 && w.requests > 800)
    );
    assert!(c.windows[16..].iter().all(|w| w.hits == w.requests));
    assert!(
        (4500..5500).contains(&c.counts.misses_down),
        "{:?}",
        c.counts
    );
    assert!((10..60).contains(&c.counts.misses_cold), "{:?}", c.counts);
    assert_eq!(
        c.restarts,
        vec![CacheRestart {
            at: SimTime(SimDuration::from_secs(10).0),
            up_at: Some(SimTime(SimDuration::from_secs(15).0)),
            scheduled: true,
        }]
    );
    assert!(!c.windows[12].settled && c.counts.failed == 0);
}

#[test]
fn random_crashes_restart_the_cache_and_keep_the_counts_whole() {
    let mut s = spec();
    s.faults.clear();
    s.ttl = Some(SimDuration::from_millis(50));
    s.capacity = Some(5);
    s.coalesce_misses = true;
    let b = s.backend.as_mut().expect("a backend");
    b.timeout = Some(SimDuration::from_millis(2));
    b.workers = 1;
    s.failures = Some(FailureSpec {
        time_to_failure: Dist::exponential(SimDuration::from_secs(2)).expect("valid"),
        time_to_repair: Dist::exponential(SimDuration::from_millis(300)).expect("valid"),
    });
    let h = SimTime(SimDuration::from_secs(60).0);
    // The run's own invariants (counts whole, one fetch per key in flight, the LRU list
    // holding exactly the cached keys, at most 5) are checked at its end.
    let c = Cache::new(&s, 0, StreamKey::new(2, 0), h, sim_core::NullObserver)
        .run(h, u64::MAX)
        .0;
    let k = c.counts;
    assert!(
        k.restarts > 10 && k.misses_down > 0 && k.evictions > 0,
        "{k:?}"
    );
    assert!(k.misses_expired > 0 && k.coalesced > 0 && k.max_fetches_per_key == 1);
    // Every restart but perhaps the last is over, after it began.
    assert!(
        c.restarts
            .iter()
            .rev()
            .skip(1)
            .all(|r| r.up_at.is_some_and(|u| u > r.at))
    );
}

#[test]
fn che_is_one_when_everything_fits_and_the_uniform_case_is_c_over_n() {
    let u = Keys::new(&crate::spec::KeySpec::Uniform { n: 100 });
    assert_eq!(che_hit_ratio(&u, 100, 100), 1.0);
    // Uniform keys: every key has the same hit probability, and C of N are cached.
    assert!((che_hit_ratio(&u, 100, 25) - 0.25).abs() < 1e-9);
}
