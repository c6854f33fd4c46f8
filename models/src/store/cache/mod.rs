//! A look-aside cache in front of a backend service: each request asks for one key (uniform or
//! Zipf, [`Keys`]); a hit answers after a lookup; a miss (cold since the last restart, expired,
//! evicted, or the cache is down) is fetched from the backend (`workers` servers, a bounded FIFO
//! queue, a wait limit) and inserted when the fetch returns, to expire `ttl` after that
//! insertion. Capacity is enforced by LRU eviction. A restart empties the cache, and every key
//! misses at once: the stampede on the backend.
//!
//! No allocation per request: per-key state lives in arrays indexed by key id (an epoch per key
//! makes a restart O(1): a key whose epoch is older than the cache's is cold), the LRU order is
//! an intrusive doubly linked list over key ids, and fetches and coalesced waiters live in slabs
//! with free lists. Expiry is lazy (memcached's): an expired entry keeps its slot until a lookup
//! finds it (and removes it) or LRU evicts it.
//!
//! Windows of the scenario's length count requests, hits, failures (by the request's arrival),
//! fetches, rejections and time-outs (by the fetch's arrival at the backend), and integrate the
//! backend's busy workers and queue; a window is *settled* (steady state) when it starts at
//! least one TTL after the cache last came back (without a TTL: after its first eviction since)
//! and no restart began in it.

use super::StoreRecord;
use crate::balancer::Keys;
use crate::spec::FailureSpec;
use crate::stats::TimeWeighted;
use crate::store_spec::{CacheFault, CacheSpec};
use sim_core::{Dist, Observer, RunStats, Schedule, SimDuration, SimTime, Stream, StreamKey};
use std::collections::VecDeque;

const NIL: u32 = u32::MAX;

/// Key states, meaningful only while the key's epoch is the cache's (else the key is cold).
const COLD: u8 = 0;
const CACHED: u8 = 1;
const EVICTED: u8 = 2;
/// Found expired by a lookup and removed.
const EXPIRED: u8 = 3;

/// Why a request missed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MissCause {
    /// Never cached since the cache last started.
    Cold,
    /// Its entry had expired.
    Expired,
    /// Its entry had been evicted (and would not have expired yet).
    Evicted,
    /// The cache was down (restarting): the request went straight to the backend.
    Down,
}

/// What can happen in a cache.
#[derive(Clone, Copy, Debug)]
pub enum Event {
    /// A client request.
    Request,
    /// A miss's fetch reaches the backend (after the lookup).
    Fetch {
        /// Slab index of the fetch.
        fetch: u32,
    },
    /// The backend finished serving a fetch.
    Done {
        /// Slab index of the fetch.
        fetch: u32,
    },
    /// The cache node crashes (random failures).
    Crash,
    /// The cache node is repaired.
    Repair,
    /// A scheduled restart begins.
    FaultStart {
        /// Index in the spec's faults.
        fault: u32,
    },
    /// A scheduled restart ends.
    FaultEnd,
    /// A request's lookup hit: it is answered.
    Hit {
        /// The call.
        token: u32,
    },
}

/// One window's counts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CacheWindow {
    /// Requests that arrived in the window.
    pub requests: u64,
    /// Of which hits.
    pub hits: u64,
    /// Of which failed (backend rejection or time-out), whenever they failed.
    pub failed: u64,
    /// Fetches that reached the backend in the window.
    pub fetches: u64,
    /// Of which rejected (queue full).
    pub rejected: u64,
    /// Fetches that reached the backend in the window and waited too long.
    pub timed_out: u64,
    /// ∫ busy backend workers dt over the window, ns.
    pub busy_ns: u128,
    /// ∫ backend queue length dt over the window, ns.
    pub queue_ns: u128,
    /// Restarts (scheduled or random) that began in the window.
    pub restarts: u32,
    /// Steady state: starts a settling time after the cache last came back, no restart in it.
    pub settled: bool,
}

/// One restart of the cache.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CacheRestart {
    /// When it was emptied.
    pub at: SimTime,
    /// When it took requests again (`None`: still down at the end).
    pub up_at: Option<SimTime>,
    /// A scheduled fault (true) or a random crash.
    pub scheduled: bool,
}

/// A cache's counts over the run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CacheCounts {
    /// Requests issued.
    pub requests: u64,
    /// Answered from the cache.
    pub hits: u64,
    /// Misses: never cached since the last restart.
    pub misses_cold: u64,
    /// Misses: expired.
    pub misses_expired: u64,
    /// Misses: evicted.
    pub misses_evicted: u64,
    /// Misses: the cache was down.
    pub misses_down: u64,
    /// Misses that waited for another request's fetch (single flight).
    pub coalesced: u64,
    /// Misses answered by the backend.
    pub misses_ok: u64,
    /// Misses that failed (their fetch was rejected or waited too long).
    pub failed: u64,
    /// Misses still waiting at the end.
    pub in_progress: u64,
    /// Fetches started (one per miss, or per key in flight with single flight).
    pub fetches: u64,
    /// Fetches that reached the backend.
    pub fetches_at_backend: u64,
    /// Fetches the backend answered.
    pub fetches_ok: u64,
    /// Fetches rejected by a full queue.
    pub rejected: u64,
    /// Fetches that waited longer than the time-out.
    pub timed_out: u64,
    /// Fetches the callers made through their hop that failed (no backend of its own).
    pub failed_by_caller: u64,
    /// Fetches started while another fetch of the same key was in flight.
    pub duplicate_fetches: u64,
    /// Most fetches of one key in flight at once.
    pub max_fetches_per_key: u32,
    /// Entries evicted by LRU.
    pub evictions: u64,
    /// Restarts, scheduled and random.
    pub restarts: u64,
}

impl CacheCounts {
    /// All misses.
    pub fn misses(&self) -> u64 {
        self.misses_cold + self.misses_expired + self.misses_evicted + self.misses_down
    }

    /// What happened after `base` was taken (the end of warm-up); `in_progress` is as it is at
    /// the end, and `max_fetches_per_key` counts from `base` (it restarts there).
    fn since(&self, base: &CacheCounts) -> CacheCounts {
        CacheCounts {
            requests: self.requests - base.requests,
            hits: self.hits - base.hits,
            misses_cold: self.misses_cold - base.misses_cold,
            misses_expired: self.misses_expired - base.misses_expired,
            misses_evicted: self.misses_evicted - base.misses_evicted,
            misses_down: self.misses_down - base.misses_down,
            coalesced: self.coalesced - base.coalesced,
            misses_ok: self.misses_ok - base.misses_ok,
            failed: self.failed - base.failed,
            in_progress: self.in_progress,
            fetches: self.fetches - base.fetches,
            fetches_at_backend: self.fetches_at_backend - base.fetches_at_backend,
            fetches_ok: self.fetches_ok - base.fetches_ok,
            rejected: self.rejected - base.rejected,
            timed_out: self.timed_out - base.timed_out,
            failed_by_caller: self.failed_by_caller - base.failed_by_caller,
            duplicate_fetches: self.duplicate_fetches - base.duplicate_fetches,
            max_fetches_per_key: self.max_fetches_per_key,
            evictions: self.evictions - base.evictions,
            restarts: self.restarts - base.restarts,
        }
    }
}

/// A cache's end-of-run figures.
#[derive(Clone, Debug)]
pub struct CacheSummary {
    /// The store's name.
    pub name: String,
    /// The key population, in words (`Zipf(n: 100000, s: 0.9)`).
    pub keys: String,
    /// TTL, if any.
    pub ttl: Option<SimDuration>,
    /// Capacity, if bounded.
    pub capacity: Option<u32>,
    /// Single flight on.
    pub coalesce_misses: bool,
    /// Backend workers.
    pub workers: u32,
    /// Counts from `since` (`in_progress`: at the end).
    pub counts: CacheCounts,
    /// The end of warm-up (zero without one): counts, restarts, ∫ busy and ∫ queue are from
    /// there, the windows from time zero.
    pub since: SimTime,
    /// Window length, ns.
    pub window_ns: u64,
    /// Windows from time zero (the last may be shorter).
    pub windows: Vec<CacheWindow>,
    /// Restarts in order.
    pub restarts: Vec<CacheRestart>,
    /// ∫ busy backend workers dt from `since`, ns.
    pub busy_ns: u128,
    /// ∫ backend queue length dt from `since`, ns.
    pub queue_ns: u128,
    /// The closed-form hit ratio when one applies (see [`theory`]), with its name.
    pub theory: Option<(f64, &'static str)>,
    /// The kernel's account of the run.
    pub run: RunStats,
}

/// Hit probability of one key requested as a Poisson process of `rate` (per ns), with TTL `ttl`
/// from insertion, unbounded capacity, and every fetch taking exactly `fetch` (lookup + service,
/// no queueing) from the miss to the insertion. A renewal argument over cycles that start at a
/// miss on an absent key at time a: the first insertion is at a + F; with single flight, the
/// requests of [a, a+F) wait for it (λF misses), λT hits follow, then the key expires and the
/// next request starts a cycle: h = λT / (1 + λF + λT). Without single flight, each request of
/// [a, a+F) sends its own fetch and each return re-inserts the key, so it expires at
/// L + F + T, L the last arrival of [a, a+F) (E[L − a] = F − (1 − e^(−λF))/λ): the hits are
/// λ(T + E[L − a]) and h = (λT + λF − 1 + e^(−λF)) / (λT + 2λF + e^(−λF)). Both are λT/(1 + λT)
/// at F = 0. Needs F ≤ T.
pub fn ttl_hit_probability(rate: f64, ttl: f64, fetch: f64, coalesce: bool) -> f64 {
    let (lt, lf) = (rate * ttl, rate * fetch);
    if coalesce {
        lt / (1.0 + lf + lt)
    } else {
        let e = libm::exp(-lf);
        (lt + lf - 1.0 + e) / (lt + 2.0 * lf + e)
    }
}

/// Che's approximation of LRU with `capacity` entries under independent requests: the
/// characteristic time t solves Σ_k (1 − e^(−p_k t)) = C (t in requests), and the hit ratio is
/// Σ_k p_k (1 − e^(−p_k t)). 1 when every key fits.
pub fn che_hit_ratio(keys: &Keys, n: u32, capacity: u32) -> f64 {
    if capacity >= n {
        return 1.0;
    }
    let filled = |t: f64| -> f64 { (0..n).map(|k| 1.0 - libm::exp(-keys.p(k) * t)).sum() };
    let (mut lo, mut hi) = (0.0f64, 1.0f64);
    while filled(hi) < f64::from(capacity) {
        hi *= 2.0;
    }
    for _ in 0..100 {
        let mid = 0.5 * (lo + hi);
        if filled(mid) < f64::from(capacity) {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    let t = 0.5 * (lo + hi);
    (0..n)
        .map(|k| {
            let p = keys.p(k);
            p * (1.0 - libm::exp(-p * t))
        })
        .sum()
}

/// The closed form for `spec`, when one applies: TTL with unbounded capacity (fetch time = mean
/// lookup + mean service: exact for constant times and a backend that never queues), or Che's
/// approximation for LRU without a TTL (fetches taken as instantaneous). Lookups come as a
/// Poisson stream of `rate_per_s`: the cache's own `requests`, or the pools' calls (a Poisson
/// client's requests leave an uncongested pool as a Poisson stream).
pub fn theory(spec: &CacheSpec, rate_per_s: f64) -> Option<(f64, &'static str)> {
    let keys = Keys::new(&spec.keys);
    let n = key_count(spec);
    match (spec.ttl, spec.capacity.filter(|&c| c < n)) {
        (Some(ttl), None) => {
            // The fetch time of a backend the callers reach through their hop is not known here.
            let fetch = spec.hit_latency.mean_ns() + spec.backend.as_ref()?.service.mean_ns();
            let rate = rate_per_s / 1e9;
            let t = ttl.0 as f64;
            let h = (0..n)
                .map(|k| {
                    keys.p(k)
                        * ttl_hit_probability(rate * keys.p(k), t, fetch, spec.coalesce_misses)
                })
                .sum();
            Some((
                h,
                "ttl renewal (fetch = mean lookup + mean service, no queueing)",
            ))
        }
        (None, Some(c)) => Some((che_hit_ratio(&keys, n, c), "Che's approximation (LRU)")),
        _ => None,
    }
}

fn key_count(spec: &CacheSpec) -> u32 {
    match spec.keys {
        crate::spec::KeySpec::Uniform { n } | crate::spec::KeySpec::Zipf { n, .. } => n.max(1),
    }
}

/// An intrusive LRU order over key ids: O(1) touch, insert, remove, evict.
#[derive(Clone, Debug)]
struct Lru {
    prev: Vec<u32>,
    next: Vec<u32>,
    /// Most recently used.
    head: u32,
    /// Least recently used.
    tail: u32,
    len: u32,
}

impl Lru {
    fn new(n: u32) -> Self {
        Lru {
            prev: vec![NIL; n as usize],
            next: vec![NIL; n as usize],
            head: NIL,
            tail: NIL,
            len: 0,
        }
    }

    /// Forgets every entry (their links are garbage from now on and never read).
    fn clear(&mut self) {
        self.head = NIL;
        self.tail = NIL;
        self.len = 0;
    }

    fn push_front(&mut self, k: u32) {
        self.prev[k as usize] = NIL;
        self.next[k as usize] = self.head;
        if self.head != NIL {
            self.prev[self.head as usize] = k;
        } else {
            self.tail = k;
        }
        self.head = k;
        self.len += 1;
    }

    fn unlink(&mut self, k: u32) {
        let (p, n) = (self.prev[k as usize], self.next[k as usize]);
        if p != NIL {
            self.next[p as usize] = n;
        } else {
            self.head = n;
        }
        if n != NIL {
            self.prev[n as usize] = p;
        } else {
            self.tail = p;
        }
        self.len -= 1;
    }

    fn touch(&mut self, k: u32) {
        if self.head != k {
            self.unlink(k);
            self.push_front(k);
        }
    }

    fn pop_back(&mut self) -> Option<u32> {
        let t = self.tail;
        (t != NIL).then(|| {
            self.unlink(t);
            t
        })
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum FetchState {
    /// Between the lookup and the backend.
    Lookup,
    Queued,
    Serving,
    /// Its requests failed (a time-out noticed by a coalescing lookup); dropped when dequeued.
    Abandoned,
}

#[derive(Clone, Copy, Debug)]
struct Fetch {
    key: u32,
    /// The arrival of the request that started it.
    arrival: u64,
    /// When it reached the backend.
    at_backend: u64,
    /// First coalesced waiter (NIL: none).
    waiters: u32,
    state: FetchState,
    /// The request's call waiting for it ([`super::OWN`]: the cache's own request).
    token: u32,
}

#[derive(Clone, Copy, Debug)]
struct Waiter {
    arrival: u64,
    next: u32,
    token: u32,
}

/// A slab with a free list: indices stay valid until freed, no allocation once warm.
#[derive(Clone, Debug)]
struct Slab<T> {
    items: Vec<T>,
    free: Vec<u32>,
}

impl<T: Copy> Slab<T> {
    fn with_capacity(n: usize) -> Self {
        Slab {
            items: Vec::with_capacity(n),
            free: Vec::with_capacity(n),
        }
    }

    fn insert(&mut self, t: T) -> u32 {
        match self.free.pop() {
            Some(i) => {
                self.items[i as usize] = t;
                i
            }
            None => {
                self.items.push(t);
                (self.items.len() - 1) as u32
            }
        }
    }

    fn remove(&mut self, i: u32) {
        self.free.push(i);
    }
}

/// The running cache, emitting [`StoreRecord::Cache`] to `O`.
pub struct Cache<O> {
    index: u32,
    /// A cache only the pools call: its spec, for the closed form at the calls' measured rate.
    called: Option<Box<CacheSpec>>,
    /// The closed-form hit ratio, if one applies.
    theory: Option<(f64, &'static str)>,
    name: String,
    keys_text: String,
    keys: Keys,
    ttl: Option<SimDuration>,
    capacity: Option<u32>,
    hit_latency: Dist,
    coalesce: bool,
    workers: u32,
    service: Dist,
    queue_limit: u32,
    timeout: Option<SimDuration>,
    failures: Option<FailureSpec>,
    faults: Vec<CacheFault>,
    gap: Option<Dist>,
    // Per key.
    epoch_of: Vec<u32>,
    state: Vec<u8>,
    expires: Vec<u64>,
    /// The fetch in flight a coalescing miss waits for (NIL: none).
    leader: Vec<u32>,
    /// Fetches of the key in flight.
    inflight: Vec<u32>,
    lru: Lru,
    epoch: u32,
    /// Holds on the cache node (random crash, scheduled restarts).
    down: u32,
    fetches: Slab<Fetch>,
    waiters: Slab<Waiter>,
    queue: VecDeque<u32>,
    busy: u32,
    busy_tw: TimeWeighted,
    queue_tw: TimeWeighted,
    // Windows.
    window: u64,
    windows: Vec<CacheWindow>,
    /// Index of the window being integrated and the areas at its start.
    current: usize,
    busy_mark: u128,
    queue_mark: u128,
    /// Windows starting at or after this are settled (u64::MAX: not yet).
    settled_from: u64,
    restarts: Vec<CacheRestart>,
    /// At the end of warm-up: the counts and the backend's ∫ busy and ∫ queue then, and when.
    warm: Option<(CacheCounts, u128, u128, SimTime)>,
    counts: CacheCounts,
    arrivals_rng: Stream,
    keys_rng: Stream,
    lookup_rng: Stream,
    service_rng: Stream,
    fail_rng: Stream,
    /// Requests' calls answered, for the host.
    answers: super::Answers,
    observer: O,
}

impl<O: Observer<StoreRecord>> Cache<O> {
    /// Builds store `index` of `spec` with the random streams of `key`, for a run to `horizon`
    /// (which sizes the windows).
    pub fn new(
        spec: &CacheSpec,
        index: u32,
        key: StreamKey,
        horizon: SimTime,
        observer: O,
    ) -> Self {
        let n = key_count(spec);
        let s = |what: &str| key.stream(&format!("store/{}/{what}", spec.name));
        let window = spec.window.0.max(1);
        let n_windows = horizon.0.div_ceil(window).max(1) as usize;
        let keys_text = match spec.keys {
            crate::spec::KeySpec::Uniform { n } => format!("Uniform(n: {n})"),
            crate::spec::KeySpec::Zipf { n, s } => format!("Zipf(n: {n}, s: {s})"),
        };
        let b = spec.backend.as_ref();
        let queue_cap = b.map_or(0, |b| b.queue_limit.min(1 << 16)) as usize;
        Cache {
            theory: spec
                .requests
                .as_ref()
                .and_then(|r| theory(spec, r.rate_per_s())),
            called: spec.requests.is_none().then(|| Box::new(spec.clone())),
            index,
            name: spec.name.clone(),
            keys_text,
            keys: Keys::new(&spec.keys),
            ttl: spec.ttl,
            capacity: spec.capacity.filter(|&c| c < n),
            hit_latency: spec.hit_latency.clone(),
            coalesce: spec.coalesce_misses,
            // Zero workers: the callers fetch misses through their hop (`backend: None`).
            workers: b.map_or(0, |b| b.workers.max(1)),
            service: b.map_or(Dist::constant(SimDuration::ZERO), |b| b.service.clone()),
            queue_limit: b.map_or(0, |b| b.queue_limit),
            timeout: b.and_then(|b| b.timeout),
            failures: spec.failures.clone(),
            faults: spec.faults.clone(),
            gap: spec.requests.as_ref().map(|r| r.interarrival()),
            epoch_of: vec![0; n as usize],
            state: vec![COLD; n as usize],
            expires: vec![0; n as usize],
            leader: vec![NIL; n as usize],
            inflight: vec![0; n as usize],
            lru: Lru::new(n),
            epoch: 1,
            down: 0,
            fetches: Slab::with_capacity(queue_cap + b.map_or(0, |b| b.workers) as usize + 64),
            waiters: Slab::with_capacity(if spec.coalesce_misses { 1024 } else { 0 }),
            queue: VecDeque::with_capacity(queue_cap),
            busy: 0,
            busy_tw: TimeWeighted::default(),
            queue_tw: TimeWeighted::default(),
            window,
            windows: vec![CacheWindow::default(); n_windows],
            current: 0,
            busy_mark: 0,
            queue_mark: 0,
            settled_from: settle_after(SimTime::ZERO, spec.ttl),
            restarts: Vec::new(),
            warm: None,
            counts: CacheCounts::default(),
            arrivals_rng: s("requests"),
            keys_rng: s("keys"),
            lookup_rng: s("hit_latency"),
            service_rng: s("backend/service"),
            fail_rng: s("failures"),
            answers: Vec::new(),
            observer,
        }
    }

    /// Runs from time zero to `horizon` (or `max_events`) and returns the summary and the
    /// observer.
    /// Runs alone from time zero to `horizon` (or `max_events`): the figures and the observer.
    pub fn run(mut self, horizon: SimTime, max_events: u64) -> (CacheSummary, O) {
        let run = super::run_alone(&mut self, horizon, max_events);
        (self.summary(run), self.observer)
    }

    /// Schedules the first events.
    fn start_at(&mut self, sched: &mut dyn Schedule<Event>, horizon: SimTime) {
        let _ = horizon;
        if let Some(g) = &self.gap {
            sched.after(g.sample(&mut self.arrivals_rng), Event::Request);
        }
        if let Some(f) = &self.failures {
            sched.after(f.time_to_failure.sample(&mut self.fail_rng), Event::Crash);
        }
        for (i, f) in self.faults.iter().enumerate() {
            sched.at(SimTime(f.at.0), Event::FaultStart { fault: i as u32 });
        }
    }

    /// The end-of-run figures, the books checked.
    fn summary(&mut self, run: RunStats) -> CacheSummary {
        let end = run.end;
        let (base, busy0, queue0, since) = self.warm.unwrap_or_default();
        if let Some(spec) = &self.called
            && end.0 > since.0
        {
            let rate =
                (self.counts.requests - base.requests) as f64 * 1e9 / (end.0 - since.0) as f64;
            self.theory = theory(spec, rate);
        }
        self.close_windows(end);
        // Fetches still queued whose wait already passed the time-out have failed for their
        // clients: count them now (their records carry the end time).
        if let Some(t) = self.timeout {
            for i in 0..self.queue.len() {
                let f = self.queue[i];
                let fx = self.fetches.items[f as usize];
                if fx.state == FetchState::Queued && end.0 - fx.at_backend > t.0 {
                    self.counts.timed_out += 1;
                    let wi = self.window_of(fx.at_backend);
                    self.windows[wi].timed_out += 1;
                    self.fail_requests(f, fx.at_backend + t.0, end);
                    self.fetches.items[f as usize].state = FetchState::Abandoned;
                }
            }
        }
        // What is still waiting.
        let mut live = vec![false; self.fetches.items.len()];
        for (i, f) in self.fetches.items.iter().enumerate() {
            live[i] = f.state != FetchState::Abandoned;
        }
        for &i in &self.fetches.free {
            live[i as usize] = false;
        }
        let mut in_flight_at_backend = 0;
        for (i, f) in self.fetches.items.iter().enumerate() {
            if !live[i] {
                continue;
            }
            if f.state != FetchState::Lookup {
                in_flight_at_backend += 1;
            }
            self.counts.in_progress += 1;
            let mut w = f.waiters;
            while w != NIL {
                self.counts.in_progress += 1;
                w = self.waiters.items[w as usize].next;
            }
        }
        let c = &self.counts;
        assert_eq!(
            c.requests,
            c.hits + c.misses(),
            "invariant: requests = hits + misses"
        );
        assert_eq!(
            c.misses(),
            c.misses_ok + c.failed + c.in_progress,
            "invariant: misses = answered + failed + waiting"
        );
        assert_eq!(
            c.fetches_at_backend,
            c.fetches_ok + c.rejected + c.timed_out + c.failed_by_caller + in_flight_at_backend,
            "invariant: fetches at the backend = answered + rejected + timed out + in flight"
        );
        assert!(
            !self.coalesce || c.max_fetches_per_key <= 1,
            "invariant: single flight keeps at most one fetch per key"
        );
        assert_eq!(
            self.lru.len as usize,
            (0..self.state.len())
                .filter(|&k| self.epoch_of[k] == self.epoch && self.state[k] == CACHED)
                .count(),
            "invariant: the LRU list holds exactly the cached keys"
        );
        if let Some(cap) = self.capacity {
            assert!(self.lru.len <= cap, "invariant: at most capacity entries");
        }
        CacheSummary {
            name: self.name.clone(),
            keys: self.keys_text.clone(),
            ttl: self.ttl,
            capacity: self.capacity,
            coalesce_misses: self.coalesce,
            workers: self.workers,
            // The figures count from the end of warm-up; the windows cover the whole run.
            counts: self.counts.since(&base),
            since,
            window_ns: self.window,
            windows: std::mem::take(&mut self.windows),
            restarts: std::mem::take(&mut self.restarts)
                .into_iter()
                .filter(|r| r.at >= since)
                .collect(),
            busy_ns: self.busy_tw.area_until(end).0 - busy0,
            queue_ns: self.queue_tw.area_until(end).0 - queue0,
            theory: self.theory,
            run,
        }
    }

    #[inline]
    fn window_of(&self, t: u64) -> usize {
        ((t / self.window) as usize).min(self.windows.len() - 1)
    }

    /// Closes every window that ended by `now`.
    #[inline]
    fn roll(&mut self, now: SimTime) {
        let next = (self.current as u64 + 1) * self.window;
        if now.0 >= next && self.current + 1 < self.windows.len() {
            self.close_windows(now);
        }
    }

    fn close_windows(&mut self, now: SimTime) {
        loop {
            let start = self.current as u64 * self.window;
            let end = if self.current + 1 == self.windows.len() {
                now.0.max(start)
            } else {
                (start + self.window).min(now.0)
            };
            let busy = self.busy_tw.area_until(SimTime(end)).0;
            let queue = self.queue_tw.area_until(SimTime(end)).0;
            let settled = start >= self.settled_from;
            let w = &mut self.windows[self.current];
            w.busy_ns = busy - self.busy_mark;
            w.queue_ns = queue - self.queue_mark;
            w.settled = settled && w.restarts == 0;
            if end < start + self.window || self.current + 1 == self.windows.len() {
                // The window is still open (or is the last one): marks stay.
                return;
            }
            self.busy_mark = busy;
            self.queue_mark = queue;
            self.current += 1;
        }
    }

    fn key_state(&self, k: u32) -> u8 {
        if self.epoch_of[k as usize] == self.epoch {
            self.state[k as usize]
        } else {
            COLD
        }
    }

    /// Tells request call `token` (if it is one) whether it got its value.
    fn answer(&mut self, token: u32, ok: bool) {
        super::answer(&mut self.answers, token, ok);
    }

    fn on_request(&mut self, now: SimTime, sched: &mut dyn Schedule<Event>) {
        if let Some(g) = &self.gap {
            sched.after(g.sample(&mut self.arrivals_rng), Event::Request);
        }
        self.request(now, super::OWN, sched);
    }

    /// A lookup (the cache's own request, or a request's call `token`): a hit answers after the
    /// lookup; a miss fetches from the backend (or waits for the key's fetch in flight).
    fn request(&mut self, now: SimTime, token: u32, sched: &mut dyn Schedule<Event>) {
        let k = self.keys.draw(&mut self.keys_rng);
        let w = self.window_of(now.0);
        self.windows[w].requests += 1;
        self.counts.requests += 1;
        let lookup = self.hit_latency.sample(&mut self.lookup_rng);
        let cause = if self.down > 0 {
            MissCause::Down
        } else {
            match self.key_state(k) {
                CACHED if self.expires[k as usize] > now.0 => {
                    self.counts.hits += 1;
                    self.windows[w].hits += 1;
                    self.lru.touch(k);
                    let rec = StoreRecord::Cache {
                        store: self.index,
                        hit: true,
                        ok: true,
                        latency: lookup,
                    };
                    self.observer.record(now, &rec);
                    if token != super::OWN {
                        sched.after(lookup, Event::Hit { token });
                    }
                    return;
                }
                CACHED => {
                    self.lru.unlink(k);
                    self.state[k as usize] = EXPIRED;
                    MissCause::Expired
                }
                EVICTED if self.expires[k as usize] <= now.0 => MissCause::Expired,
                EVICTED => MissCause::Evicted,
                EXPIRED => MissCause::Expired,
                _ => MissCause::Cold,
            }
        };
        match cause {
            MissCause::Cold => self.counts.misses_cold += 1,
            MissCause::Expired => self.counts.misses_expired += 1,
            MissCause::Evicted => self.counts.misses_evicted += 1,
            MissCause::Down => self.counts.misses_down += 1,
        }
        if self.coalesce {
            let l = self.leader[k as usize];
            if l != NIL && !self.leader_timed_out(l, now) {
                let head = self.fetches.items[l as usize].waiters;
                let wi = self.waiters.insert(Waiter {
                    arrival: now.0,
                    next: head,
                    token,
                });
                self.fetches.items[l as usize].waiters = wi;
                self.counts.coalesced += 1;
                return;
            }
        }
        let f = self.fetches.insert(Fetch {
            key: k,
            arrival: now.0,
            at_backend: 0,
            waiters: NIL,
            state: FetchState::Lookup,
            token,
        });
        if self.coalesce {
            self.leader[k as usize] = f;
        }
        self.counts.fetches += 1;
        let n = &mut self.inflight[k as usize];
        *n += 1;
        if *n > 1 {
            self.counts.duplicate_fetches += 1;
        }
        self.counts.max_fetches_per_key = self.counts.max_fetches_per_key.max(*n);
        sched.after(lookup, Event::Fetch { fetch: f });
    }

    /// Whether the fetch a coalescing miss would wait for has already waited past the time-out
    /// in the queue: its requests have failed (recorded now), and it is abandoned.
    fn leader_timed_out(&mut self, l: u32, now: SimTime) -> bool {
        let f = self.fetches.items[l as usize];
        let Some(t) = self.timeout else { return false };
        if f.state != FetchState::Queued || now.0 - f.at_backend <= t.0 {
            return false;
        }
        self.counts.timed_out += 1;
        let w = self.window_of(f.at_backend);
        self.windows[w].timed_out += 1;
        self.fail_requests(l, f.at_backend + t.0, now);
        self.fetches.items[l as usize].state = FetchState::Abandoned;
        self.leader[f.key as usize] = NIL;
        self.inflight[f.key as usize] -= 1;
        true
    }

    fn fetch(&mut self, f: u32, now: SimTime, sched: &mut dyn Schedule<Event>) {
        self.counts.fetches_at_backend += 1;
        let w = self.window_of(now.0);
        self.windows[w].fetches += 1;
        let fx = &mut self.fetches.items[f as usize];
        fx.at_backend = now.0;
        if self.workers == 0 {
            // The caller fetches it through its hop and tells us (`fetched`).
            let token = fx.token;
            fx.state = FetchState::Serving;
            self.answers.push((token, super::Answer::Miss { fetch: f }));
            return;
        }
        if self.busy < self.workers {
            self.start(f, now, sched);
        } else if (self.queue.len() as u64) < u64::from(self.queue_limit) {
            self.fetches.items[f as usize].state = FetchState::Queued;
            self.queue.push_back(f);
            self.queue_tw.set(now, self.queue.len() as u64);
        } else {
            self.counts.rejected += 1;
            self.windows[w].rejected += 1;
            self.fail_requests(f, now.0, now);
            self.end_fetch(f);
        }
    }

    fn start(&mut self, f: u32, now: SimTime, sched: &mut dyn Schedule<Event>) {
        self.fetches.items[f as usize].state = FetchState::Serving;
        self.busy += 1;
        self.busy_tw.set(now, u64::from(self.busy));
        let s = self.service.sample(&mut self.service_rng);
        sched.after(s, Event::Done { fetch: f });
    }

    /// The caller's fetch `f` ended (`ok`: the value came back): the key is filled and every
    /// request waiting for it answered, or they all fail.
    fn fetched_by_caller(&mut self, now: SimTime, f: u32, ok: bool) {
        assert!(
            self.fetches.items[f as usize].state == FetchState::Serving,
            "invariant: a caller's fetch answers a miss it was told"
        );
        if ok {
            self.served(f, now);
        } else {
            self.counts.failed_by_caller += 1;
            self.fail_requests(f, now.0, now);
        }
        self.end_fetch(f);
    }

    fn done(&mut self, f: u32, now: SimTime, sched: &mut dyn Schedule<Event>) {
        self.busy -= 1;
        self.busy_tw.set(now, u64::from(self.busy));
        self.served(f, now);
        self.end_fetch(f);
        // The next fetch in line; those whose client gave up are dropped.
        self.next_in_line(now, sched);
    }

    /// Fetch `f` brought the value: the key is inserted (if the cache is up) and its request
    /// and the ones waiting for it are answered.
    fn served(&mut self, f: u32, now: SimTime) {
        self.counts.fetches_ok += 1;
        let fx = self.fetches.items[f as usize];
        if self.down == 0 {
            self.insert(fx.key, now);
        }
        let ok = |arrival: u64, token: u32, this: &mut Self| {
            this.counts.misses_ok += 1;
            let rec = StoreRecord::Cache {
                store: this.index,
                hit: false,
                ok: true,
                latency: SimDuration(now.0 - arrival),
            };
            this.observer.record(now, &rec);
            this.answer(token, true);
        };
        ok(fx.arrival, fx.token, self);
        let mut w = fx.waiters;
        while w != NIL {
            let wx = self.waiters.items[w as usize];
            ok(wx.arrival, wx.token, self);
            self.waiters.remove(w);
            w = wx.next;
        }
    }

    /// Free workers take the next fetches in line; those whose client gave up are dropped.
    fn next_in_line(&mut self, now: SimTime, sched: &mut dyn Schedule<Event>) {
        while self.busy < self.workers {
            let Some(g) = self.queue.pop_front() else {
                break;
            };
            self.queue_tw.set(now, self.queue.len() as u64);
            let gx = self.fetches.items[g as usize];
            if gx.state == FetchState::Abandoned {
                self.fetches.remove(g);
                continue;
            }
            match self.timeout {
                Some(t) if now.0 - gx.at_backend > t.0 => {
                    self.counts.timed_out += 1;
                    let wi = self.window_of(gx.at_backend);
                    self.windows[wi].timed_out += 1;
                    self.fail_requests(g, gx.at_backend + t.0, now);
                    self.end_fetch(g);
                }
                _ => self.start(g, now, sched),
            }
        }
    }

    /// Fails the requests of fetch `f` (its own and its waiters') at `at` (recorded `now`).
    fn fail_requests(&mut self, f: u32, at: u64, now: SimTime) {
        let fx = self.fetches.items[f as usize];
        let fail = |arrival: u64, token: u32, this: &mut Self| {
            this.counts.failed += 1;
            let wi = this.window_of(arrival);
            this.windows[wi].failed += 1;
            let rec = StoreRecord::Cache {
                store: this.index,
                hit: false,
                ok: false,
                latency: SimDuration(at.saturating_sub(arrival)),
            };
            this.observer.record(now, &rec);
            this.answer(token, false);
        };
        fail(fx.arrival, fx.token, self);
        let mut w = fx.waiters;
        while w != NIL {
            let wx = self.waiters.items[w as usize];
            fail(wx.arrival, wx.token, self);
            self.waiters.remove(w);
            w = wx.next;
        }
        self.fetches.items[f as usize].waiters = NIL;
    }

    /// Frees fetch `f` and clears its key's in-flight marks.
    fn end_fetch(&mut self, f: u32) {
        let k = self.fetches.items[f as usize].key as usize;
        if self.leader[k] == f {
            self.leader[k] = NIL;
        }
        self.inflight[k] -= 1;
        self.fetches.remove(f);
    }

    fn insert(&mut self, k: u32, now: SimTime) {
        self.expires[k as usize] = match self.ttl {
            Some(t) => now.0.saturating_add(t.0),
            None => u64::MAX,
        };
        if self.key_state(k) == CACHED {
            self.lru.touch(k);
            return;
        }
        if let Some(cap) = self.capacity
            && self.lru.len >= cap
            && let Some(v) = self.lru.pop_back()
        {
            self.state[v as usize] = EVICTED;
            self.counts.evictions += 1;
            self.settled_from = self.settled_from.min(now.0);
        }
        self.epoch_of[k as usize] = self.epoch;
        self.state[k as usize] = CACHED;
        self.lru.push_front(k);
    }

    /// The cache node goes down (or restarts at once when `hold` is false): emptied.
    fn empty(&mut self, now: SimTime, scheduled: bool, hold: bool) {
        self.epoch += 1;
        self.lru.clear();
        self.counts.restarts += 1;
        let w = self.window_of(now.0);
        self.windows[w].restarts += 1;
        self.restarts.push(CacheRestart {
            at: now,
            up_at: (!hold).then_some(now),
            scheduled,
        });
        if hold {
            self.down += 1;
            self.settled_from = u64::MAX;
        } else if self.down == 0 {
            self.settled_from = settle_after(now, self.ttl);
        }
    }

    /// One hold on the node is released.
    fn back(&mut self, now: SimTime) {
        // Nothing was inserted while it was down: it comes back empty.
        if super::release(&mut self.down) {
            self.settled_from = settle_after(now, self.ttl);
        }
        // Every restart still open (overlapping holds) is over once nothing holds the node.
        if self.down == 0 {
            for r in self.restarts.iter_mut().filter(|r| r.up_at.is_none()) {
                r.up_at = Some(now);
            }
        }
    }
}

/// Windows from `up` + TTL on are steady; without a TTL, from the first eviction (set then).
fn settle_after(up: SimTime, ttl: Option<SimDuration>) -> u64 {
    ttl.map_or(u64::MAX, |t| up.0.saturating_add(t.0))
}

impl<O: Observer<StoreRecord>> super::StoreModel for Cache<O> {
    type Event = Event;

    fn name(&self) -> &str {
        &self.name
    }

    fn start(&mut self, sched: &mut dyn Schedule<Event>, horizon: SimTime) {
        self.start_at(sched, horizon);
    }

    fn call(
        &mut self,
        now: SimTime,
        token: u32,
        _op: super::StoreOp,
        sched: &mut dyn Schedule<Event>,
    ) {
        self.roll(now);
        self.request(now, token, sched);
    }

    fn answers(&mut self) -> &mut super::Answers {
        &mut self.answers
    }

    fn notice(&mut self, now: SimTime, notice: super::Notice, _sched: &mut dyn Schedule<Event>) {
        let super::Notice::Fetched { fetch, ok } = notice else {
            unreachable!("a cache hears only of its fetches, not {notice:?}")
        };
        self.roll(now);
        self.fetched_by_caller(now, fetch, ok);
    }

    fn finish(&mut self, run: RunStats) -> super::StoreSummary {
        super::StoreSummary::Cache(self.summary(run))
    }

    fn warmup_ended(&mut self, now: SimTime) {
        // Counts, restarts and time integrals start again here like the request path's; the
        // windows run on (its filling, and the refills after restarts, stay visible there,
        // with its settled windows as the steady state).
        self.roll(now);
        let busy = self.busy_tw.area_until(now).0;
        let queue = self.queue_tw.area_until(now).0;
        self.warm = Some((self.counts, busy, queue, now));
        self.counts.max_fetches_per_key = 0;
    }

    fn handle(&mut self, now: SimTime, event: Event, sched: &mut dyn Schedule<Event>) {
        self.roll(now);
        match event {
            Event::Request => self.on_request(now, sched),
            Event::Hit { token } => self.answer(token, true),
            Event::Fetch { fetch } => self.fetch(fetch, now, sched),
            Event::Done { fetch } => self.done(fetch, now, sched),
            Event::Crash => {
                self.empty(now, false, true);
                if let Some(d) = super::next_transition(&self.failures, &mut self.fail_rng, false) {
                    sched.after(d, Event::Repair);
                }
            }
            Event::Repair => {
                self.back(now);
                if let Some(d) = super::next_transition(&self.failures, &mut self.fail_rng, true) {
                    sched.after(d, Event::Crash);
                }
            }
            Event::FaultStart { fault } => {
                let d = self.faults[fault as usize].duration;
                if d == SimDuration::ZERO {
                    self.empty(now, true, false);
                } else {
                    self.empty(now, true, true);
                    sched.after(d, Event::FaultEnd);
                }
            }
            Event::FaultEnd => self.back(now),
        }
    }
}

#[cfg(test)]
mod tests;
