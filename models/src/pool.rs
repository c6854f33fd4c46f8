//! Replica pools: per replica, `workers` concurrent requests and a bounded waiting room (FIFO,
//! LIFO or adaptive LIFO).
//! The service time is drawn once per request when it reaches the pool, from the pool's own
//! stream, so variants that differ only in routing serve the same work (common random numbers).

use crate::spec::{Discipline, FailureSpec, PoolSpec};
use crate::stats::TimeWeighted;
use crate::system::AttemptId;
use sim_core::{Dist, SimTime, Stream, StreamKey};
use std::collections::VecDeque;

/// A pool of identical replicas.
#[derive(Clone, Debug)]
pub struct Pool {
    /// Its name.
    pub name: String,
    /// Workers per replica.
    pub workers: u32,
    /// Waiting-room size per replica (`u32::MAX` = unbounded).
    pub queue_capacity: u32,
    /// Service-time distribution.
    pub service: Dist,
    /// Service-time stream (`pool/NAME/service`).
    pub service_rng: Stream,
    /// Global index of its first replica.
    pub first_replica: u32,
    /// Requests queued or in service per replica (indexed within the pool).
    pub occupancy: crate::balancer::Loads,
    /// Crash/repair process, if any.
    pub failures: Option<FailureSpec>,
    /// Replicas currently up.
    pub up: u32,
    /// Probability that a served request fails anyway.
    pub error_rate: f64,
    /// Error draws (`pool/NAME/errors`), when `error_rate` > 0.
    pub error_rng: Option<Stream>,
    /// Drop requests whose caller has gone when a worker reaches them.
    pub drop_stale: bool,
    /// Which waiting request a free worker takes.
    pub discipline: Discipline,
    /// Load-dependent slowdown per request already in service.
    pub slowdown_per_request: f64,
}

/// One replica's state.
#[derive(Clone, Debug)]
pub struct Replica {
    /// Index of its pool.
    pub pool: u32,
    /// Index within its pool.
    pub index: u32,
    /// Workers (its group's, else its pool's).
    pub workers: u32,
    /// Service speed (its group's, else 1): a request's drawn service time is divided by it.
    pub speed: f64,
    /// False between a crash and its repair.
    pub is_up: bool,
    /// Waiting requests, by priority class, oldest first.
    pub queue: WaitQueue,
    /// Requests in service (at most `workers`).
    pub in_service: Vec<AttemptId>,
    /// Busy workers over time.
    pub busy: TimeWeighted,
    /// Queue length over time.
    pub queued: TimeWeighted,
    /// 1 while up, 0 while down.
    pub up_level: TimeWeighted,
    /// Requests completed since the statistics window opened.
    pub served: u64,
    /// Crashes since the statistics window opened.
    pub crashes: u64,
    /// Crash/repair stream (`pool/NAME/replica/I/failures`), if the pool fails.
    pub failure_rng: Option<Stream>,
    /// It can crash (random failures or a scheduled fault): service needs a cancellable timer.
    pub can_fail: bool,
    /// Its rate limit, if its pool has one.
    pub rate_limit: Option<crate::limit::TokenBucket>,
    /// Processor sharing: the service each request present has received (ns × `PS_SCALE`), when
    /// it was last advanced, each request's finish in that clock (a min-heap, stale entries
    /// skipped), and the request whose departure is scheduled.
    pub ps_v: u64,
    /// See `ps_v`.
    pub ps_at: SimTime,
    /// See `ps_v`.
    pub ps_heap: std::collections::BinaryHeap<std::cmp::Reverse<(u64, AttemptId)>>,
    /// See `ps_v`.
    pub ps_head: Option<AttemptId>,
}

/// Fixed-point scale of the processor-sharing clock (2^54 ns ≈ 208 days of service fits).
pub const PS_SCALE: u128 = 1024;

impl Pool {
    /// Builds pool `spec`, whose replicas get global indices from `first_replica`.
    /// `classes`: the number of request priority classes in the scenario.
    pub fn new(
        spec: &PoolSpec,
        first_replica: u32,
        key: &StreamKey,
        classes: usize,
    ) -> (Pool, Vec<Replica>) {
        let n = spec.replicas;
        let pool = Pool {
            name: spec.name.clone(),
            workers: spec.workers,
            queue_capacity: spec.queue_capacity.unwrap_or(u32::MAX),
            service: spec.service.clone(),
            service_rng: key.stream(&format!("pool/{}/service", spec.name)),
            first_replica,
            occupancy: crate::balancer::Loads::new(n as usize),
            failures: spec.failures.clone(),
            up: n,
            error_rate: spec.error_rate,
            error_rng: (spec.error_rate > 0.0)
                .then(|| key.stream(&format!("pool/{}/errors", spec.name))),
            drop_stale: spec.drop_stale,
            discipline: spec.discipline,
            slowdown_per_request: spec.slowdown_per_request,
        };
        let replicas = (0..n)
            .map(|i| {
                let (speed, workers) = spec.fleet.replica(i, spec.workers);
                Replica {
                    pool: u32::MAX, // set by the caller, which knows the pool's index
                    index: i,
                    workers,
                    speed,
                    is_up: true,
                    queue: WaitQueue::new(
                        classes,
                        spec.queue_capacity.unwrap_or(64).min(4096) as usize,
                    ),
                    // Grows with the work in service, not with the worker count.
                    in_service: Vec::with_capacity(workers.min(64) as usize),
                    busy: TimeWeighted::default(),
                    queued: TimeWeighted::default(),
                    up_level: {
                        let mut w = TimeWeighted::default();
                        w.set(SimTime::ZERO, 1);
                        w
                    },
                    served: 0,
                    crashes: 0,
                    failure_rng: spec
                        .failures
                        .as_ref()
                        .map(|_| key.stream(&format!("pool/{}/replica/{i}/failures", spec.name))),
                    // A host or rack failure takes it down too.
                    can_fail: spec.failures.is_some() || spec.fleet.hosts.is_some(),
                    rate_limit: spec.rate_limit.map(crate::limit::TokenBucket::new),
                    ps_v: 0,
                    ps_at: SimTime::ZERO,
                    ps_heap: std::collections::BinaryHeap::new(),
                    ps_head: None,
                }
            })
            .collect();
        (pool, replicas)
    }
}

impl Replica {
    /// Takes every request the replica holds (in service, then queued) into `out` and zeroes
    /// its busy and queue levels: what a crash and a scale-in removal both do.
    pub fn take_held(&mut self, now: SimTime, out: &mut Vec<AttemptId>) {
        out.append(&mut self.in_service);
        self.queue.drain_into(out);
        self.ps_heap.clear();
        self.ps_head = None;
        self.busy.set(now, 0);
        self.queued.set(now, 0);
    }

    /// Opens a new statistics window at `now` (end of warm-up).
    pub fn restart_stats(&mut self, now: SimTime) {
        self.busy.restart(now);
        self.queued.restart(now);
        self.up_level.restart(now);
        self.served = 0;
        self.crashes = 0;
    }
}

/// A replica's waiting room: one FIFO per priority class (0 first); within a class the pool's
/// discipline picks the end. With one class it is a plain deque.
#[derive(Clone, Debug)]
pub struct WaitQueue {
    classes: Vec<VecDeque<AttemptId>>,
    len: usize,
}

impl WaitQueue {
    /// An empty waiting room for `classes` priority classes.
    pub fn new(classes: usize, capacity: usize) -> Self {
        WaitQueue {
            classes: (0..classes.max(1))
                .map(|c| VecDeque::with_capacity(if c == 0 { capacity } else { 16 }))
                .collect(),
            len: 0,
        }
    }

    /// Requests waiting, all classes together.
    #[inline]
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when nothing waits.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Adds a request of priority `class` at the back of its class.
    #[inline]
    pub fn push(&mut self, class: u8, id: AttemptId) {
        self.classes[class as usize].push_back(id);
        self.len += 1;
    }

    /// The next request of the most urgent non-empty class: its newest if `lifo(len)` says so
    /// for that class's length, else its oldest.
    #[inline]
    pub fn pop(&mut self, lifo: impl Fn(usize) -> bool) -> Option<AttemptId> {
        let q = self.classes.iter_mut().find(|q| !q.is_empty())?;
        let id = if lifo(q.len()) {
            q.pop_back()
        } else {
            q.pop_front()
        };
        self.len -= 1;
        id
    }

    /// Moves every waiting request to `out`, most urgent class first, oldest first.
    pub fn drain_into(&mut self, out: &mut Vec<AttemptId>) {
        for q in &mut self.classes {
            out.extend(q.drain(..));
        }
        self.len = 0;
    }
}
