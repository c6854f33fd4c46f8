//! The whole topology as one [`Model`]: clients issue requests, balancers route them, replicas
//! queue and serve them, failures crash and repair replicas. This file owns the request life
//! cycle and its invariant: every offered request is succeeded, failed or still in flight.

use crate::balancer::{Balance, Balancer, LoadView, Transition};
use crate::breaker::Breaker;
use crate::pool::{Pool, Replica};
use crate::record::{Outcome, Record};
use crate::retry::Budget;
use crate::spec::{Discipline, FaultKind, Spec, Target, WaitFor};
use crate::stats::TimeWeighted;
use sim_core::{
    Dist, Model, Observer, RunStats, Scheduler, SimDuration, SimTime, Stream, StreamKey, TimerId,
    Until,
};

// ---- autoscaling and discovery (issue 4): their logic lives in these two files ----
#[path = "autoscale.rs"]
pub mod autoscale;
#[path = "discovery.rs"]
mod discovery;
#[path = "gray.rs"]
mod gray;
// ----
// ---- the kernel's stall guard (issue 16): naming the stuck component ----
#[path = "stall.rs"]
mod stall;
// ----

/// Everything that can happen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    /// Client `0` issues its next request.
    Arrival(u32),
    /// Call `0` reaches its overall deadline: the client gives up.
    Deadline(u32),
    /// Attempt `0` reaches its per-try timeout: the client abandons it.
    TryTimeout(u32),
    /// Call `0`'s backoff is over: its next attempt goes out.
    Retry(u32),
    /// Call `0` has waited the hedging delay: another copy goes out.
    Hedge(u32),
    /// Attempt `0` finishes service.
    Done(u32),
    /// Replica `0` (global index) crashes.
    Crash(u32),
    /// Replica `0` comes back.
    Repair(u32),
    /// The warm-up period ends.
    WarmupEnd,
    /// A time-series window ends: sample every replica.
    Sample,
    /// Balancer `0` probes its backend `1`.
    Probe(u32, u32),
    /// Balancer `0`'s probe of backend `1` timed out (the replica was down).
    ProbeTimedOut(u32, u32),
    /// Balancer `0` returns ejected backend `1` to rotation.
    Uneject(u32, u32),
    /// Scheduled fault `0` begins: its replica goes down.
    FaultStart(u32),
    /// Scheduled fault `0` ends: its replica comes back unless another holds it down.
    FaultEnd(u32),
    /// Replica `0` turns gray at random (gray.rs).
    GrayStart(u32),
    /// Replica `0`'s random gray episode ends (gray.rs).
    GrayEnd(u32),
    /// Instance `1` of balancer `0` fails.
    BalancerCrash(u32, u32),
    /// Instance `1` of balancer `0` is repaired.
    BalancerRepair(u32, u32),
    /// Balancer `0`'s failover delay has passed.
    BalancerFailover(u32),
    /// Scheduled balancer outage `0` begins.
    BalancerOutageStart(u32),
    /// Scheduled balancer outage `0` ends.
    BalancerOutageEnd(u32),
    /// Network partition `0` begins.
    PartitionStart(u32),
    /// Network partition `0` heals.
    PartitionEnd(u32),
    /// An evaluation period of scaled pool `0` ends (autoscale.rs).
    ScaleEval(u32),
    /// Replica `0` has warmed up after a scale-out (autoscale.rs).
    WarmedUp(u32),
    /// Replica `0`'s drain time is over: it is removed (autoscale.rs).
    Drained(u32),
    /// Replica `0`'s registration goes through (discovery.rs).
    Register(u32),
    /// Replica `0`'s registration expires (discovery.rs).
    Expire(u32),
}

const NONE: u32 = u32::MAX;
/// `Attempt::pos` of an attempt a crash took off its replica and has not ended yet.
const LOST: u32 = u32::MAX - 1;

/// `x − 1`, asserting that a count never goes below zero, in every build: release builds wrap
/// silently on underflow, and a wrapped count would corrupt every figure after it.
#[inline]
fn dec<T: Copy + PartialEq + std::ops::Sub<Output = T> + From<u8> + std::fmt::Display>(
    x: T,
    now: SimTime,
    what: &str,
) -> T {
    assert!(
        x != T::from(0u8),
        "invariant: {what} would go below zero (t = {now})"
    );
    x - T::from(1u8)
}

/// Puts `x` in a free slot of `slab` (or a new one) and returns its index: no allocation once
/// the slab has grown to the work in flight.
#[inline]
fn slab_insert<T>(slab: &mut Vec<T>, free: &mut Vec<u32>, x: T) -> u32 {
    match free.pop() {
        Some(i) => {
            slab[i as usize] = x;
            i
        }
        None => {
            slab.push(x);
            (slab.len() - 1) as u32
        }
    }
}

struct Client {
    interarrival: Dist,
    /// Piecewise-constant Poisson rates, when the arrivals have steps.
    steps: Option<Vec<(SimDuration, f64)>>,
    rng: Stream,
    timeout: Option<SimDuration>,
    target: Target,
    retry: Option<crate::spec::RetrySpec>,
    hedge: Option<crate::spec::HedgeSpec>,
    breaker: Option<Breaker>,
    budget: Option<Budget>,
    /// Backoff jitter draws (`client/NAME/retry`), if it retries.
    retry_rng: Option<Stream>,
    /// Bulkhead: calls beyond this many in flight are rejected at once.
    max_in_flight: u64,
    /// Calls waiting for an outcome.
    in_flight: u64,
    /// Retry attempts whose outcome the client still awaits (for Envoy's budget).
    retries_in_flight: u64,
    /// Priority class of its requests (0 first).
    priority: u8,
}

/// A client's request, end to end: one or more attempts (retries, hedged copies).
#[derive(Clone, Copy)]
struct Call {
    /// Sequence number of the request in the run (0, 1, 2, …): its name in traces.
    seq: u64,
    client: u32,
    arrived: SimTime,
    /// Attempts started (short-circuited ones included).
    attempts: u32,
    /// Live attempts, linked through `Attempt::sibling`.
    live: u32,
    /// The overall deadline.
    deadline: Option<TimerId>,
    /// The backoff before the next retry, or the delay before the next hedged copy.
    pending: Option<TimerId>,
    /// The last backoff (decorrelated jitter draws from it).
    last_delay: SimDuration,
    /// The replica of the latest attempt (for the record).
    replica: u32,
    /// The client still waits for an outcome.
    waiting: bool,
    /// Priority class (0 first), the client's; a dependency call inherits its caller's.
    priority: u8,
    /// For a dependency call: the attempt that made it (`NONE` for a client's request).
    parent: u32,
    /// The next call of the same parent attempt.
    next_child: u32,
}

/// One try of a call at a replica.
#[derive(Clone, Copy)]
struct Attempt {
    call: u32,
    sent: SimTime,
    started: SimTime,
    service: SimDuration,
    replica: u32,
    /// The balancer instance that chose the replica, and the backend slot it counted the
    /// attempt in (its completion decrements that instance's count).
    balancer: u32,
    slot: u32,
    /// Position in the replica's `in_service` list while in service.
    pos: u32,
    /// Next live attempt of the same call.
    sibling: u32,
    /// The breaker epoch that permitted it (`NONE` without a breaker).
    epoch: u32,
    try_timeout: Option<TimerId>,
    done: Option<TimerId>,
    /// The caller still waits for this attempt's result.
    live: bool,
    /// Cancelled by its caller (a hedge that lost): dropped wherever it is.
    cancelled: bool,
    /// A retry (counts against Envoy's budget while live).
    is_retry: bool,
    /// Queued or in service at a replica.
    at_server: bool,
    /// Its own work is done and it waits for its dependency calls (still holding its worker).
    waiting_deps: bool,
    /// Dependency calls made, succeeded and failed so far.
    deps_started: u16,
    deps_ok: u16,
    deps_failed: u16,
    /// Its dependency calls in flight, linked through `Call::next_child`.
    children: u32,
    /// Processor sharing: when it finishes, in its replica's shared clock.
    ps_finish: u64,
}

/// What the resilience mechanisms did since the end of warm-up.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ResilienceCounts {
    /// Attempts sent to a target (first tries, retries and hedged copies).
    pub attempts: u64,
    /// Retries scheduled.
    pub retries: u64,
    /// Retries a budget refused.
    pub budget_denied: u64,
    /// Hedged copies sent.
    pub hedges: u64,
    /// Attempts a circuit breaker failed at once.
    pub short_circuited: u64,
    /// Times a circuit breaker opened.
    pub breaker_openings: u64,
    /// Requests a client's bulkhead rejected.
    pub bulkhead_rejected: u64,
    /// Attempts served in full after their caller had given up: work done for nobody.
    pub stale_served: u64,
    /// Attempts dropped unserved because their caller had given up (drop_stale).
    pub stale_dropped: u64,
    /// Hedged copies cancelled because another copy answered first.
    pub cancelled: u64,
    /// Attempts a replica's rate limit rejected.
    pub rate_limited: u64,
}

/// Whole-run request counts (not windowed), for the conservation invariant.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Conservation {
    /// Requests issued.
    pub offered: u64,
    /// Requests that succeeded.
    pub succeeded: u64,
    /// Requests that failed (any reason).
    pub failed: u64,
    /// Requests whose client still waits.
    pub in_flight: u64,
}

/// One hop's whole-run counts: calls from a pool to a dependency.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HopSummary {
    /// `caller → target`.
    pub name: String,
    /// Calls made.
    pub offered: u64,
    /// Calls that succeeded.
    pub succeeded: u64,
    /// Calls that failed.
    pub failed: u64,
    /// Calls cancelled by their caller (a quorum already met, a sibling failed, the caller gone).
    pub cancelled: u64,
    /// Calls still in flight at the end.
    pub in_flight: u64,
    /// What this hop's retries, hedges, breaker and bulkhead did after warm-up.
    pub resilience: ResilienceCounts,
}

/// One replica's integer statistics over the window.
#[derive(Clone, Debug)]
pub struct ReplicaSummary {
    /// Pool name.
    pub pool: String,
    /// Index within the pool.
    pub index: u32,
    /// Workers.
    pub workers: u32,
    /// ∫ busy workers dt (worker·ns).
    pub busy_area: u128,
    /// ∫ queue length dt (request·ns).
    pub queue_area: u128,
    /// ∫ up dt (ns).
    pub up_area: u128,
    /// Requests completed.
    pub served: u64,
    /// Crashes.
    pub crashes: u64,
}

/// What the models know at the end of a run; `reports` turns it into figures.
#[derive(Clone, Debug)]
pub struct Summary {
    /// Length of the statistics window (horizon − warm-up), ns.
    pub window_ns: u64,
    /// ∫ [every pool has a replica up] dt over the window (ns).
    pub service_up_area: u128,
    /// Per replica, in pool order.
    pub replicas: Vec<ReplicaSummary>,
    /// Whole-run request counts.
    pub conservation: Conservation,
    /// The kernel's account of the run.
    pub run: RunStats,
    /// Some balancer checks its backends' health.
    pub health_checked: bool,
    /// What retries, hedges, breakers and bulkheads did after warm-up.
    pub resilience: ResilienceCounts,
    /// Some client retries, hedges, has a breaker or a bulkhead.
    pub resilient: bool,
    /// How reports name each network partition.
    pub partition_labels: Vec<String>,
    /// Balancer names, by index.
    pub balancer_names: Vec<String>,
    /// Per hop (pool → dependency), in [`Spec::hops`] order; empty without dependencies.
    pub hops: Vec<HopSummary>,
    /// Scaled pools (empty when none is).
    pub scaling: Vec<autoscale::ScalingSummary>,
    /// Replicas whose pool has random gray failures.
    pub gray_replicas: u32,
    /// The component the run was stuck in, when the kernel stopped it as stalled.
    pub stalled: Option<String>,
}

/// The running topology, emitting [`Record`]s to `O`.
pub struct System<O> {
    clients: Vec<Client>,
    /// Balancer instances: balancer `b`'s first is `b`; per-client ones' others follow.
    balancers: Vec<Balancer>,
    /// Which balancer each instance belongs to, and which instance each caller uses.
    lb_instances: crate::balancer::Instances,
    /// Per balancer: its pool (if its backends are a pool's replicas) or the next balancer.
    balancer_target: Vec<Target>,
    pools: Vec<Pool>,
    replicas: Vec<Replica>,
    calls: Vec<Call>,
    free_calls: Vec<u32>,
    attempts: Vec<Attempt>,
    free_attempts: Vec<u32>,
    /// Some client hedges: service must be cancellable.
    hedging: bool,
    resilience: ResilienceCounts,
    /// Reused buffer for the requests a crash fails (no allocation per crash).
    scratch: Vec<u32>,
    pools_down: u32,
    service_up: TimeWeighted,
    counts: Conservation,
    warmup: SimTime,
    horizon: SimTime,
    max_events: u64,
    /// Time-series window (zero = no sampling).
    window: SimDuration,
    /// When the current time-series window began.
    window_start: SimTime,
    /// Per replica: (busy, queued, up) areas at the last sample, in the frame of the replica's
    /// statistics (which restart at the end of warm-up), and the area carried over a restart.
    sample_base: Vec<[u128; 3]>,
    sample_carry: Vec<[u128; 3]>,
    /// Faults at fixed times.
    scheduled: Vec<crate::spec::ScheduledFault>,
    /// Per replica, scheduled faults holding it down now.
    held_down: Vec<u32>,
    /// Per replica, the product of the open slowdowns' factors, and how many are open.
    slow: Vec<(f64, u32)>,
    /// Per replica, the probability that its open gray failures let a response through
    /// (Π (1 − error_rate)); 1 when none is open.
    fault_keep: Vec<f64>,
    /// Network partitions, and per pair of zones (row-major) how many of them cut it now.
    partitions: Vec<crate::spec::PartitionSpec>,
    cut: Vec<u16>,
    zones: usize,
    /// Partitions open now (routing checks links only when some are).
    partitions_open: u32,
    /// Per balancer, its instances and which holds the VIP; their crash/repair process and
    /// streams (`balancer/NAME/instance/I/failures`).
    lb_pair: Vec<crate::lb_pair::Pair>,
    lb_failures: Vec<Option<crate::spec::FailureSpec>>,
    lb_failure_rng: Vec<[Option<Stream>; 2]>,
    balancer_outages: Vec<crate::spec::BalancerOutage>,
    /// Zone of each client, balancer and replica (`NONE`: none, never cut off).
    client_zone: Vec<u32>,
    balancer_zone: Vec<u32>,
    replica_zone: Vec<u32>,
    /// Clients come first in `clients`; hop `h` is caller `n_clients + h`.
    n_clients: u32,
    /// Per pool, what its replicas call after their own work.
    deps: Vec<Option<crate::spec::DependenciesSpec>>,
    /// Per hop, whole-run counts (resilience counts restart at warm-up).
    hops: Vec<HopSummary>,
    /// Autoscaling state (autoscale.rs) and registry state (discovery.rs).
    scaling: autoscale::Scaling,
    discovery: discovery::Discovery,
    /// Random gray failures (gray.rs).
    gray: gray::Gray,
    /// Client names, for the error of a stalled run; the component it stalled in.
    client_names: Vec<String>,
    stall: Option<String>,
    observer: O,
}

impl<O: Observer<Record>> System<O> {
    /// Builds the topology of `spec` with the random streams of `key`.
    pub fn new(spec: &Spec, key: StreamKey, observer: O) -> Self {
        let mut clients: Vec<Client> = spec
            .clients
            .iter()
            .map(|c| Client {
                interarrival: c.arrivals.interarrival(),
                steps: match &c.arrivals {
                    crate::spec::Arrivals::PoissonSteps { steps } => Some(steps.clone()),
                    _ => None,
                },
                rng: key.stream(&format!("client/{}/arrivals", c.name)),
                timeout: c.timeout,
                target: c.target,
                retry: c.retry.clone(),
                hedge: c.hedge,
                breaker: c.breaker.map(Breaker::new),
                budget: c.retry.as_ref().and_then(|r| r.budget).map(Budget::new),
                retry_rng: c
                    .retry
                    .as_ref()
                    .map(|_| key.stream(&format!("client/{}/retry", c.name))),
                max_in_flight: c.max_in_flight.map_or(u64::MAX, u64::from),
                in_flight: 0,
                retries_in_flight: 0,
                priority: c.priority,
            })
            .collect();
        // Each hop is a caller like a client, without arrivals of its own.
        clients.extend(spec.hops.iter().map(|h| {
            Client {
                steps: None,
                interarrival: Dist::constant(SimDuration(1)),
                rng: key.stream(&format!("hop/{}/unused", h.name)),
                timeout: h.timeout,
                target: h.target,
                retry: h.retry.clone(),
                hedge: h.hedge,
                breaker: h.breaker.map(Breaker::new),
                budget: h.retry.as_ref().and_then(|r| r.budget).map(Budget::new),
                retry_rng: h
                    .retry
                    .as_ref()
                    .map(|_| key.stream(&format!("hop/{}/retry", h.name))),
                max_in_flight: h.max_in_flight.map_or(u64::MAX, u64::from),
                in_flight: 0,
                retries_in_flight: 0,
                priority: 0, // a call inherits its caller's
            }
        }));
        let mut pools = Vec::new();
        let mut replicas = Vec::new();
        for (p, ps) in spec.pools.iter().enumerate() {
            let (pool, mut rs) =
                Pool::new(ps, replicas.len() as u32, &key, spec.priority_classes());
            for r in &mut rs {
                r.pool = p as u32;
            }
            pools.push(pool);
            replicas.extend(rs);
        }
        let (balancers, lb_instances) = crate::balancer::instances(spec, &key);
        let mut service_up = TimeWeighted::default();
        service_up.set(SimTime::ZERO, 1);
        let n_replicas = replicas.len();
        for f in &spec.faults {
            let r: &mut Replica = &mut replicas[f.replica as usize];
            r.can_fail = true;
            if let FaultKind::Slow { error_rate, .. } = f.kind
                && error_rate > 0.0
            {
                let pool = &mut pools[r.pool as usize];
                if pool.error_rng.is_none() {
                    pool.error_rng = Some(key.stream(&format!("pool/{}/errors", pool.name)));
                }
            }
        }
        for (p, s) in spec.pools.iter().zip(pools.iter_mut()) {
            if p.gray_failures.as_ref().is_some_and(|g| g.error_rate > 0.0) && s.error_rng.is_none()
            {
                s.error_rng = Some(key.stream(&format!("pool/{}/errors", s.name)));
            }
        }
        let mut sys = System {
            scaling: autoscale::Scaling::new(spec),
            discovery: discovery::Discovery::new(spec, &key),
            gray: gray::Gray::new(spec, &key),
            clients,
            balancers,
            lb_instances,
            balancer_target: spec.balancers.iter().map(|b| b.target).collect(),
            pools,
            replicas,
            calls: Vec::with_capacity(1024),
            free_calls: Vec::with_capacity(1024),
            attempts: Vec::with_capacity(1024),
            free_attempts: Vec::with_capacity(1024),
            hedging: spec.clients.iter().any(|c| c.hedge.is_some())
                || spec.hops.iter().any(|h| h.hedge.is_some())
                || spec.pools.iter().any(|p| p.dependencies.is_some()),
            resilience: ResilienceCounts::default(),
            scratch: Vec::new(),
            pools_down: 0,
            service_up,
            counts: Conservation::default(),
            warmup: SimTime(spec.warmup.0),
            horizon: SimTime(spec.horizon.0),
            max_events: spec.max_events,
            window: spec.window,
            window_start: SimTime::ZERO,
            sample_base: vec![[0; 3]; n_replicas],
            sample_carry: vec![[0; 3]; n_replicas],
            scheduled: spec.faults.clone(),
            held_down: vec![0; n_replicas],
            slow: vec![(1.0, 0); n_replicas],
            fault_keep: vec![1.0; n_replicas],
            partitions: spec.partitions.clone(),
            cut: vec![0; spec.zones.len() * spec.zones.len()],
            zones: spec.zones.len(),
            partitions_open: 0,
            lb_pair: spec
                .balancers
                .iter()
                .map(|b| crate::lb_pair::Pair::new(b.standby))
                .collect(),
            lb_failures: spec.balancers.iter().map(|b| b.failures.clone()).collect(),
            lb_failure_rng: spec
                .balancers
                .iter()
                .map(|b| {
                    let s = |i: usize| {
                        b.failures.as_ref().map(|_| {
                            key.stream(&format!("balancer/{}/instance/{i}/failures", b.name))
                        })
                    };
                    [s(0), if b.standby.is_some() { s(1) } else { None }]
                })
                .collect(),
            balancer_outages: spec.balancer_outages.clone(),
            client_zone: spec
                .clients
                .iter()
                .map(|c| c.zone.unwrap_or(NONE))
                .collect(),
            balancer_zone: spec
                .balancers
                .iter()
                .map(|b| b.zone.unwrap_or(NONE))
                .collect(),
            replica_zone: spec
                .pools
                .iter()
                .flat_map(|p| {
                    (0..p.replicas as usize).map(|i| {
                        if p.zones.is_empty() {
                            NONE
                        } else {
                            p.zones[i % p.zones.len()]
                        }
                    })
                })
                .collect(),
            n_clients: spec.clients.len() as u32,
            deps: spec.pools.iter().map(|p| p.dependencies.clone()).collect(),
            hops: spec
                .hops
                .iter()
                .map(|h| HopSummary {
                    name: h.name.clone(),
                    ..HopSummary::default()
                })
                .collect(),
            client_names: spec.clients.iter().map(|c| c.name.clone()).collect(),
            stall: None,
            observer,
        };
        sys.init_scaling();
        if sys.scaling.any() || sys.discovery.any() {
            for p in 0..sys.pools.len() {
                sys.refresh_members(p);
            }
        }
        sys
    }

    /// The gap to client `c`'s next arrival.
    #[inline]
    fn next_gap(&mut self, now: SimTime, c: u32) -> SimDuration {
        let client = &mut self.clients[c as usize];
        match &client.steps {
            None => client.interarrival.sample(&mut client.rng),
            Some(steps) => crate::spec::steps_gap(steps, now, &mut client.rng),
        }
    }

    /// Schedules the first arrivals, failures and the end of warm-up.
    pub fn start(&mut self, sched: &mut Scheduler<Event>) {
        for i in 0..self.n_clients {
            let gap = self.next_gap(SimTime::ZERO, i);
            sched.after(gap, Event::Arrival(i));
        }
        self.start_scaling(sched);
        for r in 0..self.replicas.len() {
            self.schedule_crash(r as u32, sched);
        }
        self.start_gray(sched);
        if self.warmup > SimTime::ZERO {
            sched.at(self.warmup, Event::WarmupEnd);
        }
        if self.window > SimDuration::ZERO {
            sched.at(self.next_sample(SimTime::ZERO), Event::Sample);
        }
        for b in 0..self.lb_pair.len() {
            for i in 0..self.lb_pair[b].instances() {
                self.schedule_lb_crash(b as u32, i as u32, sched);
            }
        }
        for (i, o) in self.balancer_outages.iter().enumerate() {
            sched.at(SimTime(o.at.0), Event::BalancerOutageStart(i as u32));
            sched.at(
                SimTime(o.at.0.saturating_add(o.duration.0)),
                Event::BalancerOutageEnd(i as u32),
            );
        }
        for (i, p) in self.partitions.iter().enumerate() {
            sched.at(SimTime(p.at.0), Event::PartitionStart(i as u32));
            sched.at(
                SimTime(p.at.0.saturating_add(p.duration.0)),
                Event::PartitionEnd(i as u32),
            );
        }
        for (i, f) in self.scheduled.iter().enumerate() {
            sched.at(SimTime(f.at.0), Event::FaultStart(i as u32));
            sched.at(
                SimTime(f.at.0.saturating_add(f.duration.0)),
                Event::FaultEnd(i as u32),
            );
        }
        for (b, lb) in self.balancers.iter_mut().enumerate() {
            let (Some(h), Some(rng)) = (&lb.health, lb.health_rng.as_mut()) else {
                continue;
            };
            // Each backend's first probe at a uniformly random phase of the interval, as a
            // balancer started at an arbitrary moment would.
            let interval = h.spec.interval.0;
            for backend in 0..h.healthy.len() as u32 {
                let phase = ((rng.uniform_open0() * interval as f64) as u64).min(interval - 1);
                sched.at(SimTime(phase), Event::Probe(b as u32, backend));
            }
        }
    }

    /// A probe: a live replica passes at once; a crashed one fails when the timeout runs out.
    /// Probes start on a fixed cadence (plus jitter), whatever their results.
    fn on_probe(&mut self, now: SimTime, b: u32, backend: u32, sched: &mut Scheduler<Event>) {
        let lb = &mut self.balancers[b as usize];
        let owner = self.lb_instances.owner(b) as usize;
        let (Some(h), Some(rng), Target::Pool(p)) = (
            &lb.health,
            lb.health_rng.as_mut(),
            self.balancer_target[owner],
        ) else {
            return;
        };
        let spec = &h.spec;
        let jitter = if spec.jitter.0 > 0 {
            (rng.uniform_open0() * spec.jitter.0 as f64) as u64
        } else {
            0
        };
        sched.at(
            SimTime(now.0 + spec.interval.0 + jitter),
            Event::Probe(b, backend),
        );
        let timeout = spec.timeout;
        let r = self.pools[p].first_replica + backend;
        let reachable = !self.is_cut(self.balancer_zone[owner], self.replica_zone[r as usize]);
        if self.replicas[r as usize].is_up && reachable {
            self.on_probe_result(now, b, backend, true);
        } else {
            sched.after(timeout, Event::ProbeTimedOut(b, backend));
        }
    }

    fn on_probe_result(&mut self, now: SimTime, b: u32, backend: u32, passed: bool) {
        let lb = &mut self.balancers[b as usize];
        let Some(h) = lb.health.as_mut() else {
            return;
        };
        let Some(t) = h.probe(backend as usize, passed) else {
            return;
        };
        lb.refresh_eligible();
        self.record_health(now, b, backend, t == Transition::Healthy);
    }

    /// Tells the observer that balancer instance `b` now considers its backend healthy or not
    /// (the record names the balancer: reports sum over its instances).
    fn record_health(&mut self, now: SimTime, b: u32, backend: u32, healthy: bool) {
        if healthy && let Some(s) = self.balancers[b as usize].slow_start.as_mut() {
            s.rejoined(backend as usize, now);
        }
        let b = self.lb_instances.owner(b);
        if let Target::Pool(p) = self.balancer_target[b as usize] {
            let replica = self.pools[p].first_replica + backend;
            let rec = Record::HealthChange {
                balancer: b,
                replica,
                healthy,
            };
            self.observer.record(now, &rec);
        }
    }

    /// The end of the window that starts at `t`, clipped to the horizon.
    fn next_sample(&self, t: SimTime) -> SimTime {
        SimTime(t.0.saturating_add(self.window.0).min(self.horizon.0))
    }

    fn areas(r: &Replica, now: SimTime) -> [u128; 3] {
        [
            r.busy.area_until(now).0,
            r.queued.area_until(now).0,
            r.up_level.area_until(now).0,
        ]
    }

    /// Reports each replica's mean state over the window ending now. Reads state only, so the
    /// trajectory is the same with or without sampling.
    fn on_sample(&mut self, now: SimTime, sched: &mut Scheduler<Event>) {
        let len = (now.0 - self.window_start.0).max(1) as f64;
        for (i, r) in self.replicas.iter().enumerate() {
            let a = Self::areas(r, now);
            let (base, carry) = (&mut self.sample_base[i], &mut self.sample_carry[i]);
            let mean = |k: usize| (carry[k] + a[k] - base[k]) as f64 / len;
            let rec = Record::ReplicaSample {
                replica: i as u32,
                in_service: mean(0),
                queued: mean(1),
                up: mean(2),
            };
            *base = a;
            *carry = [0; 3];
            self.observer.record(now, &rec);
        }
        self.sample_scaling(now, len);
        self.window_start = now;
        if now < self.horizon {
            sched.at(self.next_sample(now), Event::Sample);
        }
    }

    /// Runs from time zero to the horizon and returns the end-of-run summary and the observer.
    pub fn run(mut self) -> (Summary, O) {
        let mut sched = Scheduler::new();
        self.start(&mut sched);
        let until = Until {
            horizon: self.horizon,
            max_events: self.max_events,
        };
        let stats = sim_core::run(&mut self, &mut sched, until);
        let summary = self.summary(stats);
        (summary, self.observer)
    }

    /// The observer.
    pub fn observer(&self) -> &O {
        &self.observer
    }

    /// Whole-run request counts.
    pub fn conservation(&self) -> Conservation {
        self.counts
    }

    fn summary(&mut self, run: RunStats) -> Summary {
        let end = run.end;
        self.check_invariants();
        let replicas = self
            .replicas
            .iter()
            .map(|r| {
                let pool = &self.pools[r.pool as usize];
                ReplicaSummary {
                    pool: pool.name.clone(),
                    index: r.index,
                    workers: pool.workers,
                    busy_area: r.busy.area_until(end).0,
                    queue_area: r.queued.area_until(end).0,
                    up_area: r.up_level.area_until(end).0,
                    served: r.served,
                    crashes: r.crashes,
                }
            })
            .collect();
        let (service_up_area, window_ns) = self.service_up.area_until(end);
        Summary {
            window_ns,
            service_up_area,
            replicas,
            conservation: self.counts,
            run,
            health_checked: self
                .balancers
                .iter()
                .any(|b| b.health.is_some() || b.outlier.is_some()),
            resilience: self.resilience,
            resilient: self.clients[..self.n_clients as usize].iter().any(|c| {
                c.retry.is_some()
                    || c.hedge.is_some()
                    || c.breaker.is_some()
                    || c.max_in_flight != u64::MAX
            }) || self.replicas.iter().any(|r| r.rate_limit.is_some()),
            partition_labels: self.partitions.iter().map(|p| p.label.clone()).collect(),
            balancer_names: (self.balancers[..self.lb_instances.balancers()].iter())
                .map(|b| b.name.clone())
                .collect(),
            hops: self.hops.clone(),
            scaling: self.scaling_summary(end),
            gray_replicas: self.gray.replicas(),
            stalled: self.stall.clone(),
        }
    }

    /// Requests in = out + in flight, and the bookkeeping agrees with the request table.
    pub fn check_invariants(&self) {
        let c = self.counts;
        assert_eq!(
            c.offered,
            c.succeeded + c.failed + c.in_flight,
            "invariant: requests offered = succeeded + failed + in flight ({c:?})"
        );
        let free: std::collections::BTreeSet<u32> = self.free_calls.iter().copied().collect();
        let mut hop_in_flight = 0;
        for h in &self.hops {
            assert_eq!(
                h.offered,
                h.succeeded + h.failed + h.cancelled + h.in_flight,
                "invariant: hop `{}`: calls = succeeded + failed + cancelled + in flight",
                h.name
            );
            hop_in_flight += h.in_flight;
        }
        let waiting = self.calls.iter().filter(|r| r.waiting).count() as u64;
        assert_eq!(
            waiting,
            c.in_flight + hop_in_flight,
            "invariant: in-flight count matches the request table"
        );
        let per_client: u64 = self.clients.iter().map(|c| c.in_flight).sum();
        assert_eq!(
            per_client,
            c.in_flight + hop_in_flight,
            "invariant: clients' in-flight counts"
        );
        // Every dependency call in flight is listed by the attempt waiting for it.
        let mut children = 0;
        for (i, a) in self.attempts.iter().enumerate() {
            if !a.waiting_deps {
                assert_eq!(
                    a.children, NONE,
                    "invariant: only a waiting attempt has calls"
                );
                continue;
            }
            let mut cur = a.children;
            while cur != NONE {
                let call = &self.calls[cur as usize];
                assert!(
                    call.waiting && call.parent == i as u32,
                    "invariant: dependency call list"
                );
                children += 1;
                cur = call.next_child;
            }
        }
        assert_eq!(
            children, hop_in_flight,
            "invariant: dependency calls in flight are listed by their callers"
        );
        // Every live attempt belongs to a waiting call, and every waiting call's live list
        // holds exactly its live attempts.
        let live = self.attempts.iter().filter(|a| a.live).count();
        let mut listed = 0;
        for (i, call) in self.calls.iter().enumerate() {
            if free.contains(&(i as u32)) {
                continue;
            }
            let mut a = call.live;
            while a != NONE {
                let at = &self.attempts[a as usize];
                assert!(
                    at.live && at.call == i as u32,
                    "invariant: live attempt list"
                );
                listed += 1;
                a = at.sibling;
            }
        }
        assert_eq!(
            live, listed,
            "invariant: live attempts are listed by their calls"
        );
        // Each instance's count of each backend is exactly the live attempts it routed there
        // (so a completion decrements the instance that counted it).
        let mut routed: Vec<Vec<u32>> = (self.balancers.iter())
            .map(|b| vec![0; b.in_flight.len()])
            .collect();
        for a in self
            .attempts
            .iter()
            .filter(|a| a.live && a.balancer != NONE)
        {
            routed[a.balancer as usize][a.slot as usize] += 1;
        }
        for (b, counted) in self.balancers.iter().zip(&routed) {
            assert_eq!(
                &b.in_flight, counted,
                "invariant: balancer `{}`'s instances count their live attempts",
                b.name
            );
        }
        for (p, pool) in self.pools.iter().enumerate() {
            let up = self
                .replicas
                .iter()
                .filter(|r| r.pool == p as u32 && r.is_up)
                .count() as u32;
            assert_eq!(up, pool.up, "invariant: pool `{}` up-count", pool.name);
        }
        self.check_scaling();
    }

    fn schedule_crash(&mut self, r: u32, sched: &mut Scheduler<Event>) {
        if !self.scaling.runs(r) {
            return; // not provisioned: its crash process starts when it is
        }
        let rep = &mut self.replicas[r as usize];
        let pool = &self.pools[rep.pool as usize];
        if let (Some(f), Some(rng)) = (&pool.failures, rep.failure_rng.as_mut()) {
            let ttf = f.time_to_failure.sample(rng);
            self.failure_after(r, ttf, Event::Crash(r), sched);
        }
    }

    /// Schedules replica `r`'s next crash or repair; cancellable when its pool scales in.
    #[inline]
    fn failure_after(&mut self, r: u32, d: SimDuration, e: Event, sched: &mut Scheduler<Event>) {
        if self.scaling.scaled[r as usize] {
            self.scaling.failure_timer[r as usize] = Some(sched.timer_after(d, e));
        } else {
            sched.after(d, e);
        }
    }

    fn new_call(&mut self, call: Call) -> u32 {
        slab_insert(&mut self.calls, &mut self.free_calls, call)
    }

    fn new_attempt(&mut self, a: Attempt) -> u32 {
        slab_insert(&mut self.attempts, &mut self.free_attempts, a)
    }

    /// Frees an attempt nobody needs any more (its caller has its result and no server holds it).
    #[inline]
    fn release_attempt(&mut self, id: u32) {
        let a = &self.attempts[id as usize];
        if !a.live && !a.at_server {
            self.free_attempt(id);
        }
    }

    #[inline]
    fn free_attempt(&mut self, id: u32) {
        self.attempts[id as usize].pos = NONE;
        self.free_attempts.push(id);
    }

    fn on_arrival(&mut self, now: SimTime, c: u32, sched: &mut Scheduler<Event>) {
        let gap = self.next_gap(now, c);
        sched.after(gap, Event::Arrival(c));
        self.open_call(now, c, NONE, sched);
    }

    /// What caller `c` counts its resilience figures in: the run's for a client, its own for
    /// a hop.
    #[inline]
    fn rc(&mut self, c: u32) -> &mut ResilienceCounts {
        match c.checked_sub(self.n_clients) {
            Some(h) => &mut self.hops[h as usize].resilience,
            None => &mut self.resilience,
        }
    }

    /// Caller `c`'s breaker changed to `state`: a client's or a hop's record.
    fn record_breaker(&mut self, now: SimTime, c: u32, state: crate::breaker::BreakerState) {
        let rec = match c.checked_sub(self.n_clients) {
            None => Record::BreakerChange { client: c, state },
            Some(hop) => Record::HopBreakerChange { hop, state },
        };
        self.observer.record(now, &rec);
    }

    /// Caller `c` makes a call: a client's request (`parent` = `NONE`) or a dependency call of
    /// attempt `parent`.
    fn open_call(&mut self, now: SimTime, c: u32, parent: u32, sched: &mut Scheduler<Event>) {
        let client = &mut self.clients[c as usize];
        let (timeout, full) = (client.timeout, client.in_flight >= client.max_in_flight);
        client.in_flight += 1;
        let top = parent == NONE;
        let (seq, priority) = if top {
            (self.counts.offered, client.priority)
        } else {
            let c = &self.calls[self.attempts[parent as usize].call as usize];
            (c.seq, c.priority)
        };
        let id = self.new_call(Call {
            seq,
            client: c,
            arrived: now,
            attempts: 0,
            live: NONE,
            deadline: None,
            pending: None,
            last_delay: SimDuration::ZERO,
            replica: NONE,
            waiting: true,
            parent,
            next_child: NONE,
            priority,
        });
        if top {
            self.counts.offered += 1;
            self.counts.in_flight += 1;
            self.observer.record(
                now,
                &Record::Offered {
                    client: c,
                    request: seq,
                },
            );
        } else {
            let h = &mut self.hops[(c - self.n_clients) as usize];
            h.offered += 1;
            h.in_flight += 1;
            let p = &mut self.attempts[parent as usize];
            self.calls[id as usize].next_child = p.children;
            p.children = id;
        }
        if full {
            self.rc(c).bulkhead_rejected += 1;
            self.finish_call(now, id, Outcome::Rejected, None, sched);
            return;
        }
        if let Some(t) = timeout {
            self.calls[id as usize].deadline = Some(sched.timeout_after(t, Event::Deadline(id)));
        }
        self.send_attempt(now, id, false, sched);
    }

    /// Starts the next attempt of `call`: through the client's breaker, then routed and
    /// delivered; arms its per-try timeout and the next hedge.
    fn send_attempt(
        &mut self,
        now: SimTime,
        call: u32,
        is_retry: bool,
        sched: &mut Scheduler<Event>,
    ) {
        let cl = &mut self.calls[call as usize];
        cl.attempts += 1;
        let (c, attempts_made) = (cl.client, cl.attempts);
        let client = &mut self.clients[c as usize];
        let epoch = match client.breaker.as_mut() {
            Some(b) => {
                let before = b.state();
                let permit = b.permit(now);
                let after = b.state();
                if before != after {
                    self.record_breaker(now, c, after);
                }
                match permit {
                    Some(e) => e,
                    None => {
                        self.rc(c).short_circuited += 1;
                        self.after_failure(now, call, Outcome::ShortCircuited, sched);
                        return;
                    }
                }
            }
            None => NONE,
        };
        self.rc(c).attempts += 1;
        let client = &mut self.clients[c as usize];
        if is_retry {
            client.retries_in_flight += 1;
        }
        let (target, per_try, hedge) = (
            client.target,
            client.retry.as_ref().and_then(|r| r.per_try_timeout),
            client.hedge,
        );
        let cl = &mut self.calls[call as usize];
        let sibling = cl.live;
        let id = self.new_attempt(Attempt {
            call,
            sent: now,
            started: now,
            service: SimDuration::ZERO,
            replica: NONE,
            balancer: NONE,
            slot: NONE,
            pos: NONE,
            sibling,
            epoch,
            try_timeout: None,
            done: None,
            live: true,
            cancelled: false,
            is_retry,
            at_server: false,
            waiting_deps: false,
            deps_started: 0,
            deps_ok: 0,
            deps_failed: 0,
            children: NONE,
            ps_finish: 0,
        });
        self.calls[call as usize].live = id;
        if let Some(t) = per_try {
            self.attempts[id as usize].try_timeout =
                Some(sched.timeout_after(t, Event::TryTimeout(id)));
        }
        if let Some(h) = hedge
            && attempts_made < h.max_copies
        {
            let cl = &mut self.calls[call as usize];
            if let Some(t) = cl.pending.take() {
                sched.cancel(t);
            }
            cl.pending = Some(sched.timeout_after(h.delay, Event::Hedge(call)));
        }
        let parent = self.calls[call as usize].parent;
        let from = if parent == NONE {
            self.client_zone[c as usize]
        } else {
            self.replica_zone[self.attempts[parent as usize].replica as usize]
        };
        // A partition swallows the attempt: no answer ever comes, only its timeouts end it.
        match self.route(target, id, from) {
            Ok(replica) => {
                self.calls[call as usize].replica = replica;
                self.deliver(now, id, replica, sched);
            }
            Err(Some(replica)) => {
                // Sent towards a replica it cannot reach: lost on the way.
                self.calls[call as usize].replica = replica;
                self.attempts[id as usize].replica = replica;
            }
            Err(None) => {}
        }
    }

    /// Replica `r` from zone `from`: `Ok(r)`, or `Err(Some(r))` across a partition.
    #[inline]
    fn reach(&self, from: u32, r: u32) -> Result<u32, Option<u32>> {
        if self.is_cut(from, self.replica_zone[r as usize]) {
            Err(Some(r))
        } else {
            Ok(r)
        }
    }

    fn schedule_lb_crash(&mut self, b: u32, i: u32, sched: &mut Scheduler<Event>) {
        if let (Some(f), Some(rng)) = (
            &self.lb_failures[b as usize],
            self.lb_failure_rng[b as usize][i as usize].as_mut(),
        ) {
            sched.after(f.time_to_failure.sample(rng), Event::BalancerCrash(b, i));
        }
    }

    /// Applies a balancer state change: when its VIP goes dark the attempts it routed are lost
    /// (connections reset); a failover starts its timer.
    fn lb_change(
        &mut self,
        now: SimTime,
        b: u32,
        c: crate::lb_pair::Change,
        sched: &mut Scheduler<Event>,
    ) {
        if c.start_failover {
            let delay = self.lb_pair[b as usize].delay.unwrap_or(SimDuration::ZERO);
            sched.after(delay, Event::BalancerFailover(b));
        }
        if c.stopped || c.resumed {
            let serving = c.resumed;
            self.observer.record(
                now,
                &Record::BalancerChange {
                    balancer: b,
                    serving,
                },
            );
        }
        if c.stopped {
            let mut lost = std::mem::take(&mut self.scratch);
            lost.extend(
                self.attempts
                    .iter()
                    .enumerate()
                    .filter(|(_, a)| a.live && self.lb_instances.owner(a.balancer) == b)
                    .map(|(i, _)| i as u32),
            );
            for &id in &lost {
                // Ending one can end another of the list (its call, a sibling dependency
                // call); a slot freed and reused meanwhile was routed by no stopped balancer.
                let a = &self.attempts[id as usize];
                if a.live && self.lb_instances.owner(a.balancer) == b {
                    self.attempt_ended(now, id, Outcome::Crashed, sched);
                }
            }
            lost.clear();
            self.scratch = lost;
        }
    }

    /// True while a partition separates zones `a` and `b`.
    #[inline]
    fn is_cut(&self, a: u32, b: u32) -> bool {
        self.partitions_open > 0
            && a != NONE
            && b != NONE
            && self.cut[a as usize * self.zones + b as usize] > 0
    }

    fn on_partition(&mut self, now: SimTime, i: u32, open: bool) {
        let groups = &self.partitions[i as usize].groups;
        for (gi, g) in groups.iter().enumerate() {
            for h in &groups[gi + 1..] {
                for &a in g {
                    for &b in h {
                        for (x, y) in [(a, b), (b, a)] {
                            let c = &mut self.cut[x as usize * self.zones + y as usize];
                            *c = if open {
                                *c + 1
                            } else {
                                dec(*c, now, "partitions of a link")
                            };
                        }
                    }
                }
            }
        }
        self.partitions_open = if open {
            self.partitions_open + 1
        } else {
            dec(self.partitions_open, now, "open partitions")
        };
        self.observer
            .record(now, &Record::Partition { index: i, open });
    }

    /// Follows balancers down to a replica, counting the attempt in the deciding balancer;
    /// `Err` when a partition cuts a link on the way (the attempt is lost in the network),
    /// with the replica it was sent towards if it got that far.
    fn route(&mut self, mut target: Target, id: u32, mut from: u32) -> Result<u32, Option<u32>> {
        loop {
            match target {
                Target::Pool(p) => {
                    let r = self.pools[p].first_replica;
                    return self.reach(from, r);
                }
                Target::Balancer(b) => {
                    let zone = self.balancer_zone[b];
                    // A dark VIP, or one across a partition: the packets are lost.
                    if !self.lb_pair[b].serving() || self.is_cut(from, zone) {
                        return Err(None);
                    }
                    if zone != NONE {
                        from = zone;
                    }
                    match self.balancer_target[b] {
                        Target::Balancer(next) => target = Target::Balancer(next),
                        Target::Pool(p) => {
                            let a = &self.attempts[id as usize];
                            let caller = self.calls[a.call as usize].client;
                            // The caller's own instance if the balancer is per-client.
                            let i = self.lb_instances.of(b, caller);
                            let lb = &mut self.balancers[i];
                            // No member at all (every replica deregistered): a 503 at once.
                            if lb.eligible.is_empty() {
                                return Ok(NONE);
                            }
                            let pool = &self.pools[p];
                            let view = LoadView {
                                in_flight: &lb.in_flight,
                                occupancy: &pool.occupancy,
                                eligible: match lb.zone.as_mut() {
                                    Some(z) => z.choose(&lb.eligible),
                                    None => &lb.eligible,
                                },
                                // The attempt is sent now.
                                now: a.sent,
                                client: caller,
                            };
                            let (policy, rng) = (&mut lb.policy, &mut lb.rng);
                            let slot = match lb.slow_start.as_mut() {
                                Some(s) => s.pick(view.now, || policy.pick(&view, rng)),
                                None => policy.pick(&view, rng),
                            };
                            lb.in_flight[slot] += 1;
                            let a = &mut self.attempts[id as usize];
                            a.balancer = i as u32;
                            a.slot = slot as u32;
                            let r = pool.first_replica + slot as u32;
                            return self.reach(from, r);
                        }
                    }
                }
            }
        }
    }

    fn deliver(&mut self, now: SimTime, id: u32, r: u32, sched: &mut Scheduler<Event>) {
        if r == NONE {
            self.attempt_ended(now, id, Outcome::Refused, sched);
            return;
        }
        let rep = &mut self.replicas[r as usize];
        let pool = &mut self.pools[rep.pool as usize];
        // Drawn before anything can fail the request, so the stream stays aligned across variants.
        let mut service = pool.service.sample(&mut pool.service_rng);
        let slow = self.slow[r as usize].0;
        if slow != 1.0 {
            service = SimDuration((service.0 as f64 * slow).round() as u64);
        }
        let a = &mut self.attempts[id as usize];
        a.service = service;
        a.replica = r;
        if !rep.is_up {
            self.attempt_ended(now, id, Outcome::Refused, sched);
        } else if let Some(b) = rep.rate_limit.as_mut()
            && !b.take(now)
        {
            self.resilience.rate_limited += 1;
            self.attempt_ended(now, id, Outcome::Rejected, sched);
        } else if pool.discipline == Discipline::ProcessorSharing {
            // Everyone is served at once; `queue_capacity` bounds those beyond the workers.
            let room = pool.workers.saturating_add(pool.queue_capacity);
            if (rep.in_service.len() as u32) < room {
                self.ps_arrive(now, id, r, sched);
            } else {
                self.attempt_ended(now, id, Outcome::Rejected, sched);
            }
        } else if (rep.in_service.len() as u32) < pool.workers {
            pool.occupancy[rep.index as usize] += 1;
            a.at_server = true;
            self.start_service(now, id, sched);
        } else if (rep.queue.len() as u32) < pool.queue_capacity {
            pool.occupancy[rep.index as usize] += 1;
            a.at_server = true;
            rep.queue.push(self.calls[a.call as usize].priority, id);
            rep.queued.set(now, rep.queue.len() as u64);
        } else {
            self.attempt_ended(now, id, Outcome::Rejected, sched);
        }
    }

    fn start_service(&mut self, now: SimTime, id: u32, sched: &mut Scheduler<Event>) {
        let a = &mut self.attempts[id as usize];
        let rep = &mut self.replicas[a.replica as usize];
        let k = self.pools[rep.pool as usize].slowdown_per_request;
        if k > 0.0 {
            let factor = 1.0 + k * rep.in_service.len() as f64;
            a.service = SimDuration((a.service.0 as f64 * factor).round() as u64);
        }
        a.started = now;
        a.pos = rep.in_service.len() as u32;
        rep.in_service.push(id);
        rep.busy.set(now, rep.in_service.len() as u64);
        // Only a crash, a cancelled hedge or dropped stale work stops service, so otherwise
        // skip the timer table.
        if rep.can_fail || self.hedging || self.pools[rep.pool as usize].drop_stale {
            a.done = Some(sched.timer_after(a.service, Event::Done(id)));
        } else {
            sched.after(a.service, Event::Done(id));
        }
    }

    /// The next waiting attempt replica `r` should serve, by its pool's discipline; attempts
    /// that were cancelled (and, with `drop_stale`, whose caller has gone) are dropped here.
    fn next_waiting(&mut self, now: SimTime, r: u32) -> Option<u32> {
        let rep = &mut self.replicas[r as usize];
        let pool = &mut self.pools[rep.pool as usize];
        let mut taken = false;
        let next = loop {
            let discipline = pool.discipline;
            let next = rep.queue.pop(|len| match discipline {
                Discipline::Fifo => false,
                Discipline::Lifo => true,
                Discipline::AdaptiveLifo { above } => len as u32 > above,
                Discipline::ProcessorSharing => false,
            });
            let Some(id) = next else { break None };
            taken = true;
            let a = &mut self.attempts[id as usize];
            // Abandoned attempts of a drop_stale pool were marked cancelled when abandoned.
            if a.cancelled {
                a.at_server = false;
                let occ = &mut pool.occupancy[rep.index as usize];
                *occ = dec(*occ, now, "a replica's occupancy");
                self.attempts[id as usize].pos = NONE;
                self.free_attempts.push(id);
                continue;
            }
            break Some(id);
        };
        if taken {
            rep.queued.set(now, rep.queue.len() as u64);
        }
        next
    }

    /// Attempt `id` ended for its caller with `outcome` (served, failed, or abandoned): the
    /// balancer, breaker and budget learn it, then the call succeeds, waits for its other
    /// copies, retries or fails. Nothing happens for an attempt already abandoned.
    fn attempt_ended(
        &mut self,
        now: SimTime,
        id: u32,
        outcome: Outcome,
        sched: &mut Scheduler<Event>,
    ) {
        let a = &mut self.attempts[id as usize];
        if !a.live {
            self.release_attempt(id);
            return;
        }
        a.live = false;
        if let Some(t) = a.try_timeout.take() {
            sched.cancel(t);
        }
        let a = *a;
        self.unlink(id);
        self.lb_attempt_ended(now, &a, Some(outcome), sched);
        if outcome == Outcome::TimedOut {
            self.abandoned(now, id, sched);
        }
        let ok = outcome == Outcome::Succeeded;
        let c = self.calls[a.call as usize].client;
        let client = &mut self.clients[c as usize];
        if a.is_retry {
            client.retries_in_flight = dec(client.retries_in_flight, now, "retries in flight");
        }
        if let Some(b) = client.budget.as_mut() {
            b.attempt_ended(ok);
        }
        let change = client.breaker.as_mut().map(|b| {
            let (before, opened) = (b.state(), b.openings);
            b.record(now, a.epoch, !ok);
            (before, b.state(), b.openings - opened)
        });
        if let Some((before, after, opened)) = change {
            self.rc(c).breaker_openings += opened;
            if before != after {
                self.record_breaker(now, c, after);
            }
        }
        self.release_attempt(id);
        if ok {
            self.finish_call(now, a.call, outcome, Some(&a), sched);
        } else {
            self.after_failure(now, a.call, outcome, sched);
        }
    }

    /// Removes live attempt `id` from its call's list.
    fn unlink(&mut self, id: u32) {
        let a = self.attempts[id as usize];
        let call = &mut self.calls[a.call as usize];
        if call.live == id {
            call.live = a.sibling;
            return;
        }
        let mut cur = call.live;
        while cur != NONE {
            let next = self.attempts[cur as usize].sibling;
            if next == id {
                self.attempts[cur as usize].sibling = a.sibling;
                return;
            }
            cur = next;
        }
    }

    /// The deciding balancer learns that attempt `a` ended: its in-flight count, its latency
    /// estimate and outlier detection (`None`: cancelled, neither success nor failure).
    fn lb_attempt_ended(
        &mut self,
        now: SimTime,
        a: &Attempt,
        outcome: Option<Outcome>,
        sched: &mut Scheduler<Event>,
    ) {
        if a.balancer == NONE {
            return;
        }
        let lb = &mut self.balancers[a.balancer as usize];
        let slot = a.slot as usize;
        let c = &mut lb.in_flight[slot];
        *c = dec(*c, now, "a balancer's in-flight count");
        if *c == 0 {
            lb.policy.on_idle(slot);
        }
        let Some(outcome) = outcome else { return };
        lb.policy.on_complete(slot, now.since(a.sent), now);
        if let Some(o) = lb.outlier.as_mut()
            && let Some(t) = o.response(slot, outcome == Outcome::Succeeded)
        {
            lb.refresh_eligible();
            let b = a.balancer;
            sched.after(t, Event::Uneject(b, slot as u32));
            self.record_health(now, b, slot as u32, false);
        }
    }

    /// An attempt of `call` failed with `outcome`: wait for its other copies, send the next
    /// hedge at once, retry after a backoff, or give up.
    fn after_failure(
        &mut self,
        now: SimTime,
        call: u32,
        outcome: Outcome,
        sched: &mut Scheduler<Event>,
    ) {
        let cl = &self.calls[call as usize];
        if !cl.waiting || cl.live != NONE {
            return;
        }
        let (attempts, last_delay, c) = (cl.attempts, cl.last_delay, cl.client);
        let client = &mut self.clients[c as usize];
        if let Some(h) = client.hedge
            && attempts < h.max_copies
            && outcome != Outcome::ShortCircuited
        {
            self.rc(c).hedges += 1;
            self.send_attempt(now, call, false, sched);
            return;
        }
        if let Some(r) = &client.retry
            && attempts < r.max_attempts
            && r.retry_on.contains(outcome)
        {
            if let Some(b) = &client.budget
                && !b.allows(client.in_flight, client.retries_in_flight)
            {
                self.rc(c).budget_denied += 1;
            } else {
                let k = attempts - 1;
                let rng = client.retry_rng.as_mut().unwrap_or_else(|| unreachable!());
                let prev = if k == 0 { r.backoff.base } else { last_delay };
                let delay = r.backoff.delay(k, prev, rng);
                let cl = &mut self.calls[call as usize];
                cl.last_delay = delay;
                if let Some(t) = cl.pending.take() {
                    sched.cancel(t);
                }
                cl.pending = Some(sched.timer_after(delay, Event::Retry(call)));
                let (request, attempt) = (cl.seq, attempts + 1);
                let rec = match c.checked_sub(self.n_clients) {
                    None => Record::Retry {
                        client: c,
                        request,
                        attempt,
                        delay,
                    },
                    Some(hop) => Record::HopRetry {
                        hop,
                        request,
                        attempt,
                        delay,
                    },
                };
                self.rc(c).retries += 1;
                self.observer.record(now, &rec);
                return;
            }
        }
        self.finish_call(now, call, outcome, None, sched);
    }

    /// Tells the client how its call ended (once). Its other live attempts are abandoned —
    /// cancelled at their servers when a copy succeeded (hedging), else left to run on.
    fn finish_call(
        &mut self,
        now: SimTime,
        call: u32,
        outcome: Outcome,
        winner: Option<&Attempt>,
        sched: &mut Scheduler<Event>,
    ) {
        let cancel = outcome == Outcome::Succeeded;
        self.end_call(now, call, Some(outcome), winner, cancel, sched);
    }

    /// Ends a call: with its outcome, or (`None`) because the attempt that made it no longer
    /// needs it (a dependency call cancelled or orphaned). Its live attempts are cancelled at
    /// their servers (`cancel`) or abandoned.
    fn end_call(
        &mut self,
        now: SimTime,
        call: u32,
        outcome: Option<Outcome>,
        winner: Option<&Attempt>,
        cancel: bool,
        sched: &mut Scheduler<Event>,
    ) {
        let cl = &mut self.calls[call as usize];
        if !cl.waiting {
            return;
        }
        cl.waiting = false;
        if let Some(t) = cl.deadline.take() {
            sched.cancel(t);
        }
        if let Some(t) = cl.pending.take() {
            sched.cancel(t);
        }
        let mut cur = std::mem::replace(&mut cl.live, NONE);
        while cur != NONE {
            let a = &mut self.attempts[cur as usize];
            let next = a.sibling;
            a.live = false;
            if let Some(t) = a.try_timeout.take() {
                sched.cancel(t);
            }
            let a = *a;
            let c = self.calls[call as usize].client as usize;
            if a.is_retry {
                let client = &mut self.clients[c];
                client.retries_in_flight = dec(client.retries_in_flight, now, "retries in flight");
            }
            if cancel {
                self.lb_attempt_ended(now, &a, None, sched);
                if self.cancel_at_server(now, cur, sched) {
                    self.rc(c as u32).cancelled += 1;
                }
            } else {
                self.lb_attempt_ended(now, &a, Some(Outcome::TimedOut), sched);
                self.abandoned(now, cur, sched);
            }
            self.release_attempt(cur);
            cur = next;
        }
        let cl = self.calls[call as usize];
        let client = &mut self.clients[cl.client as usize];
        client.in_flight = dec(client.in_flight, now, "a client's requests in flight");
        if let Some(h) = cl.client.checked_sub(self.n_clients) {
            if outcome.is_some() {
                self.unlink_child(cl.parent, call);
            }
            self.free_calls.push(call);
            self.hop_call_ended(now, h, &cl, outcome, sched);
            return;
        }
        let outcome = outcome.unwrap_or_else(|| unreachable!("a client's call is never orphaned"));
        self.counts.in_flight = dec(self.counts.in_flight, now, "requests in flight");
        let (replica, waited) = match winner {
            Some(a) => (a.replica, a.started.since(a.sent)),
            None => (cl.replica, SimDuration::ZERO),
        };
        if outcome == Outcome::Succeeded {
            self.counts.succeeded += 1;
        } else {
            self.counts.failed += 1;
        }
        let rec = Record::Finished {
            request: cl.seq,
            replica,
            client: cl.client,
            arrived: cl.arrived,
            outcome,
            latency: now.since(cl.arrived),
            waited,
            attempts: cl.attempts,
        };
        self.observer.record(now, &rec);
        self.free_calls.push(call);
    }

    /// Dependency call `cl` of hop `h` ended (`None`: cancelled or orphaned by its caller,
    /// which has already unlinked it): counted, and its caller learns the result.
    fn hop_call_ended(
        &mut self,
        now: SimTime,
        h: u32,
        cl: &Call,
        outcome: Option<Outcome>,
        sched: &mut Scheduler<Event>,
    ) {
        let hop = &mut self.hops[h as usize];
        hop.in_flight = dec(hop.in_flight, now, "a hop's calls in flight");
        match outcome {
            Some(Outcome::Succeeded) => hop.succeeded += 1,
            Some(_) => hop.failed += 1,
            None => hop.cancelled += 1,
        }
        self.observer.record(
            now,
            &Record::HopFinished {
                hop: h,
                arrived: cl.arrived,
                replica: cl.replica,
                outcome,
                latency: now.since(cl.arrived),
                attempts: cl.attempts,
            },
        );
        if let Some(outcome) = outcome {
            self.dependency_result(now, cl.parent, outcome == Outcome::Succeeded, sched);
        }
    }

    /// Removes dependency call `call` from attempt `p`'s list (a handful of calls at most).
    fn unlink_child(&mut self, p: u32, call: u32) {
        let next = self.calls[call as usize].next_child;
        let a = &mut self.attempts[p as usize];
        if a.children == call {
            a.children = next;
            return;
        }
        let mut cur = a.children;
        while cur != NONE {
            let n = self.calls[cur as usize].next_child;
            if n == call {
                self.calls[cur as usize].next_child = next;
                return;
            }
            cur = n;
        }
    }

    /// Attempt `id` finished its own work at a pool with dependencies: it calls them (in
    /// parallel, or the first of a sequence) and keeps its worker until they resolve.
    fn start_dependencies(&mut self, now: SimTime, id: u32, sched: &mut Scheduler<Event>) {
        let pool = self.replicas[self.attempts[id as usize].replica as usize].pool as usize;
        let deps = self.deps[pool].as_ref().unwrap_or_else(|| unreachable!());
        let first = match deps.wait_for {
            WaitFor::Sequence => 1,
            _ => deps.calls.len(),
        };
        let a = &mut self.attempts[id as usize];
        a.waiting_deps = true;
        (a.deps_started, a.deps_ok, a.deps_failed) = (0, 0, 0);
        for _ in 0..first {
            // A call can fail at once (refused, rejected, short-circuited) and resolve the
            // request; then its slot may even be reused, but never by an attempt waiting for
            // dependencies (those only begin at a Done event), so this test is enough.
            if !self.attempts[id as usize].waiting_deps {
                break;
            }
            self.next_dependency(now, id, pool, sched);
        }
    }

    /// Attempt `id` (at a replica of `pool`) makes its next dependency call.
    fn next_dependency(
        &mut self,
        now: SimTime,
        id: u32,
        pool: usize,
        sched: &mut Scheduler<Event>,
    ) {
        let a = &mut self.attempts[id as usize];
        let j = a.deps_started as usize;
        a.deps_started += 1;
        let hop = self.deps[pool]
            .as_ref()
            .unwrap_or_else(|| unreachable!())
            .calls[j];
        self.open_call(now, self.n_clients + hop, id, sched);
    }

    /// A dependency call of attempt `p` ended: the request answers once its pool's `wait_for`
    /// rule is met or can no longer be; the calls still in flight are then cancelled.
    fn dependency_result(&mut self, now: SimTime, p: u32, ok: bool, sched: &mut Scheduler<Event>) {
        let a = &mut self.attempts[p as usize];
        assert!(
            a.waiting_deps,
            "invariant: a dependency answers a waiting attempt"
        );
        if ok {
            a.deps_ok += 1;
        } else {
            a.deps_failed += 1;
        }
        if a.pos == LOST {
            return; // its replica just crashed: the crash abandons its calls and fails it
        }
        let pool = self.replicas[a.replica as usize].pool as usize;
        let deps = self.deps[pool].as_ref().unwrap_or_else(|| unreachable!());
        let n = deps.calls.len() as u16;
        let verdict = match deps.wait_for {
            WaitFor::All | WaitFor::Sequence if !ok => Some(false),
            WaitFor::All | WaitFor::Sequence => (a.deps_ok == n).then_some(true),
            WaitFor::First if ok => Some(true),
            WaitFor::First => (a.deps_failed == n).then_some(false),
            WaitFor::Quorum(k) => {
                let k = k as u16;
                if a.deps_ok >= k {
                    Some(true)
                } else {
                    (a.deps_failed > n - k).then_some(false)
                }
            }
        };
        match verdict {
            None if deps.wait_for == WaitFor::Sequence => {
                self.next_dependency(now, p, pool, sched);
            }
            None => {}
            Some(ok) => {
                self.attempts[p as usize].waiting_deps = false;
                self.cancel_dependencies(now, p, true, sched);
                let outcome = if ok {
                    Outcome::Succeeded
                } else {
                    Outcome::Error
                };
                self.finish_service(now, p, outcome, sched);
            }
        }
    }

    /// Ends the dependency calls attempt `p` still has in flight: cancelled at their servers
    /// (`cancel`: the answer no longer matters) or abandoned (its replica crashed).
    fn cancel_dependencies(
        &mut self,
        now: SimTime,
        p: u32,
        cancel: bool,
        sched: &mut Scheduler<Event>,
    ) {
        let mut cur = std::mem::replace(&mut self.attempts[p as usize].children, NONE);
        while cur != NONE {
            let next = self.calls[cur as usize].next_child;
            self.calls[cur as usize].parent = NONE;
            self.end_call(now, cur, None, None, cancel, sched);
            cur = next;
        }
    }

    /// Stops the work of an attempt nobody waits for (a hedge that lost, or any abandoned
    /// attempt when its pool drops stale work): a queued one is marked and dropped when a worker
    /// reaches it; one in service stops and frees its worker. True if it was at a server.
    fn cancel_at_server(&mut self, now: SimTime, id: u32, sched: &mut Scheduler<Event>) -> bool {
        let a = &mut self.attempts[id as usize];
        if !a.at_server {
            return false;
        }
        a.cancelled = true;
        if a.pos == LOST {
            return true; // its replica just crashed: the crash frees it
        }
        let r = a.replica;
        if self.pools[self.replicas[r as usize].pool as usize].discipline
            == Discipline::ProcessorSharing
        {
            // In service with the others (its departure may be the one scheduled).
            self.ps_advance(now, r);
            let a = &mut self.attempts[id as usize];
            a.at_server = false;
            let pos = a.pos as usize;
            self.leave_service(now, r, pos);
            self.ps_reschedule(r, sched);
            return true;
        }
        let a = &mut self.attempts[id as usize];
        if let Some(t) = a.done.take() {
            sched.cancel(t);
        } else if a.waiting_deps {
            // In service, waiting for its dependencies: they are cancelled too (deadline
            // propagation).
            a.waiting_deps = false;
            self.cancel_dependencies(now, id, true, sched);
        } else {
            return true; // queued: dropped when a worker reaches it
        }
        let a = &mut self.attempts[id as usize];
        a.at_server = false;
        let (r, pos) = (a.replica, a.pos as usize);
        self.leave_service(now, r, pos);
        if let Some(n) = self.next_waiting(now, r) {
            self.start_service(now, n, sched);
        }
        true
    }

    /// The caller abandoned attempt `a` (timeout): a pool that drops stale work stops it.
    fn abandoned(&mut self, now: SimTime, id: u32, sched: &mut Scheduler<Event>) {
        let a = &self.attempts[id as usize];
        if a.at_server
            && self.pools[self.replicas[a.replica as usize].pool as usize].drop_stale
            && self.cancel_at_server(now, id, sched)
        {
            self.resilience.stale_dropped += 1;
        }
    }

    /// Removes the attempt at `pos` of replica `r`'s in-service list.
    fn leave_service(&mut self, now: SimTime, r: u32, pos: usize) {
        let rep = &mut self.replicas[r as usize];
        rep.in_service.swap_remove(pos);
        if let Some(&moved) = rep.in_service.get(pos) {
            self.attempts[moved as usize].pos = pos as u32;
        }
        let pool = &mut self.pools[rep.pool as usize];
        rep.busy
            .set(now, rep.in_service.len().min(pool.workers as usize) as u64);
        let occ = &mut pool.occupancy[rep.index as usize];
        *occ = dec(*occ, now, "a replica's occupancy");
    }

    /// Processor sharing: advances replica `r`'s clock to `now` at rate min(1, workers / n)
    /// per request (before n changes).
    fn ps_advance(&mut self, now: SimTime, r: u32) {
        let rep = &mut self.replicas[r as usize];
        let n = rep.in_service.len() as u128;
        if n > 0 {
            let share = n.min(self.pools[rep.pool as usize].workers as u128);
            let dv = now.since(rep.ps_at).0 as u128 * crate::pool::PS_SCALE * share / n;
            rep.ps_v = rep
                .ps_v
                .saturating_add(u64::try_from(dv).unwrap_or(u64::MAX));
        }
        rep.ps_at = now;
    }

    /// Processor sharing: schedules the departure of the request that finishes first at the
    /// current rate (after n changed), replacing the one scheduled.
    fn ps_reschedule(&mut self, r: u32, sched: &mut Scheduler<Event>) {
        let rep = &mut self.replicas[r as usize];
        if let Some(h) = rep.ps_head.take()
            && let Some(t) = self.attempts[h as usize].done.take()
        {
            sched.cancel(t);
        }
        while let Some(&std::cmp::Reverse((f, id))) = rep.ps_heap.peek() {
            let a = &self.attempts[id as usize];
            if a.at_server && a.replica == r && a.pos != NONE && a.pos != LOST && a.ps_finish == f {
                let n = rep.in_service.len() as u128;
                let share = n.min(self.pools[rep.pool as usize].workers as u128);
                let left = (f - rep.ps_v.min(f)) as u128;
                let dt = (left * n).div_ceil(share * crate::pool::PS_SCALE) as u64;
                rep.ps_head = Some(id);
                self.attempts[id as usize].done =
                    Some(sched.timer_after(SimDuration(dt), Event::Done(id)));
                return;
            }
            rep.ps_heap.pop(); // left already (done, cancelled, crashed)
        }
    }

    /// Processor sharing: attempt `id` joins replica `r`'s processors at once.
    fn ps_arrive(&mut self, now: SimTime, id: u32, r: u32, sched: &mut Scheduler<Event>) {
        self.ps_advance(now, r);
        let rep = &mut self.replicas[r as usize];
        let pool = &mut self.pools[rep.pool as usize];
        pool.occupancy[rep.index as usize] += 1;
        let a = &mut self.attempts[id as usize];
        a.at_server = true;
        a.started = now;
        a.pos = rep.in_service.len() as u32;
        // Saturating: a service time of centuries must not wrap (issue 16, found by the fuzzer).
        a.ps_finish = rep.ps_v.saturating_add(
            u64::try_from(a.service.0 as u128 * crate::pool::PS_SCALE).unwrap_or(u64::MAX),
        );
        rep.ps_heap.push(std::cmp::Reverse((a.ps_finish, id)));
        rep.in_service.push(id);
        rep.busy
            .set(now, rep.in_service.len().min(pool.workers as usize) as u64);
        self.ps_reschedule(r, sched);
    }

    fn on_done(&mut self, now: SimTime, id: u32, sched: &mut Scheduler<Event>) {
        let a = &mut self.attempts[id as usize];
        a.done = None;
        let (r, live) = (a.replica, a.live);
        let ps = self.replicas[r as usize].ps_head == Some(id);
        if ps {
            self.ps_advance(now, r);
            self.replicas[r as usize].ps_head = None;
        }
        let outcome = if live {
            self.served_outcome(r)
        } else {
            Outcome::Succeeded // nobody will learn it
        };
        let pool = self.replicas[r as usize].pool as usize;
        // Work done for a caller that left still calls the dependencies (unless the pool drops
        // stale work, which stopped it already).
        if outcome == Outcome::Succeeded && self.deps[pool].is_some() {
            self.start_dependencies(now, id, sched);
        } else {
            self.finish_service(now, id, outcome, sched);
        }
        if ps {
            self.ps_reschedule(r, sched);
        }
    }

    /// Attempt `id` leaves its worker with `outcome` (told to its caller if it still waits);
    /// the worker takes the next waiting attempt.
    fn finish_service(
        &mut self,
        now: SimTime,
        id: u32,
        outcome: Outcome,
        sched: &mut Scheduler<Event>,
    ) {
        let a = &mut self.attempts[id as usize];
        a.at_server = false;
        let (r, pos, live) = (a.replica, a.pos as usize, a.live);
        self.leave_service(now, r, pos);
        let rep = &mut self.replicas[r as usize];
        rep.served += 1;
        let next = self.next_waiting(now, r);
        if live {
            self.attempt_ended(now, id, outcome, sched);
        } else {
            self.resilience.stale_served += 1;
            self.release_attempt(id);
        }
        if let Some(n) = next {
            self.start_service(now, n, sched);
        }
    }

    /// What a replica's answer is: an error with its pool's error rate (and its open gray
    /// failures'), else success.
    fn served_outcome(&mut self, r: u32) -> Outcome {
        {
            let pool = &mut self.pools[self.replicas[r as usize].pool as usize];
            let failed = match pool.error_rng.as_mut() {
                Some(rng) => {
                    let keep = self.fault_keep[r as usize];
                    let p = if keep == 1.0 {
                        pool.error_rate
                    } else {
                        1.0 - (1.0 - pool.error_rate) * keep
                    };
                    p > 0.0 && rng.chance(p)
                }
                None => false,
            };
            if failed {
                Outcome::Error
            } else {
                Outcome::Succeeded
            }
        }
    }

    /// Ends the attempts a replica held when it went away (a crash, a scale-in), taken off it
    /// already; returns how many had a caller waiting. First every one is marked `LOST`:
    /// ending one can reach another of the list (a sibling call cancelled, a call that fails
    /// its caller), which must find it off its worker but still owned here (not freed, not
    /// queued, not in service).
    fn fail_held(&mut self, now: SimTime, lost: &[u32], sched: &mut Scheduler<Event>) -> u64 {
        for &id in lost {
            let a = &mut self.attempts[id as usize];
            if let Some(t) = a.done.take() {
                sched.cancel(t);
            }
            a.pos = LOST;
        }
        let mut failed = 0;
        for &id in lost {
            let a = &mut self.attempts[id as usize];
            a.pos = NONE;
            a.at_server = false;
            if a.waiting_deps {
                // Its connections die with it: the calls it made are abandoned.
                a.waiting_deps = false;
                self.cancel_dependencies(now, id, false, sched);
            }
            if self.attempts[id as usize].live {
                failed += 1;
                self.attempt_ended(now, id, Outcome::Crashed, sched);
            } else {
                self.free_attempt(id); // cancelled or abandoned: nobody else holds it
            }
        }
        failed
    }

    fn on_crash(&mut self, now: SimTime, r: u32, sched: &mut Scheduler<Event>) {
        let rep = &mut self.replicas[r as usize];
        assert!(
            rep.is_up,
            "invariant: replica {r} crashed while down (t = {now})"
        );
        rep.is_up = false;
        rep.crashes += 1;
        let mut lost = std::mem::take(&mut self.scratch);
        rep.take_held(now, &mut lost);
        rep.up_level.set(now, 0);
        let pool = &mut self.pools[rep.pool as usize];
        pool.occupancy[rep.index as usize] = 0;
        pool.up = dec(pool.up, now, "a pool's up-count");
        if pool.up == 0 {
            self.pools_down += 1;
            self.service_up.set(now, 0);
        }
        // The crash first, then what it failed: observers attribute the losses to it.
        self.observer
            .record(now, &Record::ReplicaDown { replica: r });
        self.fail_held(now, &lost, sched);
        lost.clear();
        self.scratch = lost;
        let rep = &mut self.replicas[r as usize];
        let pool = &self.pools[rep.pool as usize];
        if let (Some(f), Some(rng)) = (&pool.failures, rep.failure_rng.as_mut()) {
            let ttr = f.time_to_repair.sample(rng);
            self.failure_after(r, ttr, Event::Repair(r), sched);
        }
        self.discovery_crashed(now, r, sched);
    }

    fn on_repair(&mut self, now: SimTime, r: u32, sched: &mut Scheduler<Event>) {
        let rep = &mut self.replicas[r as usize];
        assert!(
            !rep.is_up,
            "invariant: replica {r} repaired while up (t = {now})"
        );
        self.bring_up(now, r);
        self.observer.record(now, &Record::ReplicaUp { replica: r });
        self.schedule_crash(r, sched);
        self.discovery_started(now, r, sched);
    }

    fn on_warmup_end(&mut self, now: SimTime) {
        self.scaling_restart(now);
        for (i, r) in self.replicas.iter_mut().enumerate() {
            // Carry the window's area so far across the restart of the replica's statistics.
            let a = Self::areas(r, now);
            let (carry, base) = (&mut self.sample_carry[i], &self.sample_base[i]);
            for ((c, now), b) in carry.iter_mut().zip(a).zip(base) {
                *c += now - b;
            }
            self.sample_base[i] = [0; 3];
            r.restart_stats(now);
        }
        self.service_up.restart(now);
        self.resilience = ResilienceCounts::default();
        for h in &mut self.hops {
            h.resilience = ResilienceCounts::default();
        }
        self.observer.record(now, &Record::WarmupEnded);
    }
}

impl<O: Observer<Record>> Model for System<O> {
    type Event = Event;

    fn stalled(&mut self, now: SimTime, event: &Event) {
        self.stall = Some(format!(
            "the run made no progress in virtual time for {} events at t = {now}, in {}",
            sim_core::STALL_EVENTS,
            self.component_of(event)
        ));
    }

    #[inline]
    fn handle(&mut self, now: SimTime, event: Event, sched: &mut Scheduler<Event>) {
        match event {
            Event::Arrival(c) => self.on_arrival(now, c, sched),
            Event::Done(id) => self.on_done(now, id, sched),
            Event::Deadline(call) => {
                self.calls[call as usize].deadline = None;
                // The server keeps working on it: the client has gone, the work has not.
                self.finish_call(now, call, Outcome::TimedOut, None, sched);
            }
            Event::TryTimeout(id) => {
                self.attempts[id as usize].try_timeout = None;
                self.attempt_ended(now, id, Outcome::TimedOut, sched);
            }
            Event::Retry(call) => {
                self.calls[call as usize].pending = None;
                self.send_attempt(now, call, true, sched);
            }
            Event::Hedge(call) => {
                let cl = &mut self.calls[call as usize];
                cl.pending = None;
                if cl.waiting {
                    self.resilience.hedges += 1;
                    self.send_attempt(now, call, false, sched);
                }
            }
            Event::Crash(r) => self.on_crash(now, r, sched),
            Event::Repair(r) => self.on_repair(now, r, sched),
            Event::WarmupEnd => self.on_warmup_end(now),
            Event::Sample => self.on_sample(now, sched),
            Event::Probe(b, backend) => self.on_probe(now, b, backend, sched),
            Event::Uneject(b, backend) => {
                let lb = &mut self.balancers[b as usize];
                if let Some(o) = lb.outlier.as_mut() {
                    o.return_to_rotation(backend as usize);
                    lb.refresh_eligible();
                    self.record_health(now, b, backend, true);
                }
            }
            Event::FaultStart(i) => {
                let f = &self.scheduled[i as usize];
                let r = f.replica;
                match f.kind {
                    FaultKind::Down => {
                        self.held_down[r as usize] += 1;
                        if self.replicas[r as usize].is_up {
                            self.on_crash(now, r, sched);
                        }
                    }
                    FaultKind::Slow { factor, error_rate } => {
                        self.slow_begin(now, r, factor, error_rate);
                    }
                }
            }
            Event::FaultEnd(i) => {
                let f = &self.scheduled[i as usize];
                let r = f.replica;
                match f.kind {
                    FaultKind::Down => {
                        let held = &mut self.held_down[r as usize];
                        *held = dec(*held, now, "faults holding a replica down");
                        if *held == 0 && !self.replicas[r as usize].is_up && self.scaling.runs(r) {
                            self.on_repair(now, r, sched);
                        }
                    }
                    FaultKind::Slow { factor, error_rate } => {
                        self.slow_end(now, r, factor, error_rate);
                    }
                }
            }
            Event::GrayStart(r) => self.on_gray(now, r, true, sched),
            Event::GrayEnd(r) => self.on_gray(now, r, false, sched),
            Event::ProbeTimedOut(b, backend) => self.on_probe_result(now, b, backend, false),
            Event::BalancerCrash(b, i) => {
                let c = self.lb_pair[b as usize].crash(i as usize);
                self.lb_change(now, b, c, sched);
                if let (Some(f), Some(rng)) = (
                    &self.lb_failures[b as usize],
                    self.lb_failure_rng[b as usize][i as usize].as_mut(),
                ) {
                    sched.after(f.time_to_repair.sample(rng), Event::BalancerRepair(b, i));
                }
            }
            Event::BalancerRepair(b, i) => {
                let c = self.lb_pair[b as usize].repair(i as usize);
                self.lb_change(now, b, c, sched);
                self.schedule_lb_crash(b, i, sched);
            }
            Event::BalancerFailover(b) => {
                let c = self.lb_pair[b as usize].failover_done();
                self.lb_change(now, b, c, sched);
            }
            Event::BalancerOutageStart(o) => {
                let b = self.balancer_outages[o as usize].balancer;
                let pair = &mut self.lb_pair[b as usize];
                let active = pair.active();
                if pair.is_up(active) {
                    let c = pair.crash(active);
                    self.lb_change(now, b, c, sched);
                }
            }
            Event::BalancerOutageEnd(o) => {
                let b = self.balancer_outages[o as usize].balancer;
                let pair = &mut self.lb_pair[b as usize];
                // Repair the instance the outage took down (the one not up).
                if let Some(i) = (0..pair.instances()).find(|&i| !pair.is_up(i)) {
                    let c = pair.repair(i);
                    self.lb_change(now, b, c, sched);
                }
            }
            Event::PartitionStart(i) => self.on_partition(now, i, true),
            Event::PartitionEnd(i) => self.on_partition(now, i, false),
            Event::ScaleEval(p) => self.on_scale_eval(now, p, sched),
            Event::WarmedUp(r) => self.warmed(now, r, sched),
            Event::Drained(r) => self.remove_replica(now, r, sched),
            Event::Register(r) => self.registered_now(now, r, sched),
            Event::Expire(r) => self.expired(now, r),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::{Arrivals, BalancerSpec, ClientSpec, FailureSpec, PolicySpec, PoolSpec};

    #[derive(Default)]
    struct Count {
        outcomes: [u64; Outcome::COUNT],
        down: u64,
        up: u64,
        last: SimTime,
    }
    impl Observer<Record> for Count {
        fn record(&mut self, now: SimTime, r: &Record) {
            assert!(now >= self.last, "records arrive in time order");
            self.last = now;
            match *r {
                Record::Finished { outcome, .. } => self.outcomes[outcome as usize] += 1,
                Record::ReplicaDown { .. } => self.down += 1,
                Record::ReplicaUp { .. } => self.up += 1,
                _ => {}
            }
        }
    }

    fn stressed(policy: PolicySpec) -> Spec {
        Spec {
            name: "stress".into(),
            horizon: SimDuration::from_secs(2_000),
            warmup: SimDuration::ZERO,
            max_events: u64::MAX,
            window: SimDuration::ZERO,
            faults: Vec::new(),
            zones: Vec::new(),
            partitions: Vec::new(),
            balancer_outages: Vec::new(),
            hops: Vec::new(),
            clients: vec![ClientSpec {
                name: "c".into(),
                arrivals: Arrivals::Poisson { rate_per_s: 50.0 },
                timeout: Some(SimDuration::from_millis(300)),
                target: Target::Balancer(0),
                retry: None,
                hedge: None,
                breaker: None,
                max_in_flight: None,
                zone: None,
                priority: 0,
            }],
            balancers: vec![BalancerSpec {
                name: "lb".into(),
                policy,
                target: Target::Pool(0),
                health_check: None,
                outlier_detection: None,
                panic_threshold: 0.5,
                zone: None,
                failures: None,
                standby: None,
                zone_aware: None,
                slow_start: None,
                per_client: false,
            }],
            pools: vec![PoolSpec {
                name: "web".into(),
                replicas: 3,
                workers: 2,
                queue_capacity: Some(3),
                service: Dist::exponential(SimDuration::from_millis(100)).unwrap(),
                failures: Some(FailureSpec {
                    time_to_failure: Dist::exponential(SimDuration::from_secs(60)).unwrap(),
                    time_to_repair: Dist::exponential(SimDuration::from_secs(10)).unwrap(),
                }),
                gray_failures: None,
                error_rate: 0.0,
                drop_stale: false,
                discipline: crate::spec::Discipline::Fifo,
                rate_limit: None,
                slowdown_per_request: 0.0,
                zones: Vec::new(),
                dependencies: None,
                autoscale: None,
                discovery: None,
            }],
        }
    }

    /// Overload, timeouts, small queues and crashes together: every outcome happens, every
    /// request is accounted for, and the balancer's counts return to the in-flight total.
    #[test]
    fn every_request_is_accounted_for_under_stress() {
        for policy in [
            PolicySpec::RoundRobin,
            PolicySpec::Random,
            PolicySpec::LeastConnections,
            PolicySpec::LeastRequest { choices: 2 },
            PolicySpec::JoinShortestQueue,
        ] {
            let sys = System::new(
                &stressed(policy.clone()),
                StreamKey::new(1, 0),
                Count::default(),
            );
            let (summary, obs) = sys.run();
            let c = summary.conservation;
            assert!(c.offered > 90_000, "{policy:?}: {c:?}");
            // No error rate, no breaker: those two outcomes cannot happen; every other must.
            for o in Outcome::ALL {
                let none = matches!(o, Outcome::Error | Outcome::ShortCircuited);
                assert!(
                    (obs.outcomes[o as usize] == 0) == none,
                    "{policy:?}: no {o:?} in {:?}",
                    obs.outcomes
                );
            }
            assert_eq!(obs.outcomes.iter().sum::<u64>(), c.succeeded + c.failed);
            assert!(obs.down >= obs.up && obs.down - obs.up <= 3);
        }
    }

    #[test]
    fn balancer_counts_match_requests_in_flight() {
        let mut spec = stressed(PolicySpec::LeastConnections);
        spec.clients[0].arrivals = Arrivals::Constant { rate_per_s: 10.0 };
        spec.horizon = SimDuration::from_secs(100);
        let mut sys = System::new(&spec, StreamKey::new(2, 0), Count::default());
        let mut sched = Scheduler::new();
        sys.start(&mut sched);
        sim_core::run(
            &mut sys,
            &mut sched,
            Until::horizon(SimTime(spec.horizon.0)),
        );
        // Mid-run, with timeouts and crashes, the balancer's view equals the clients' view.
        let in_lb: u64 = sys.balancers[0].in_flight.iter().map(|&x| x as u64).sum();
        assert_eq!(in_lb, sys.counts.in_flight);
        sys.check_invariants();
    }

    #[test]
    fn per_client_instances_count_only_their_own_callers_attempts() {
        let mut spec = stressed(PolicySpec::LeastRequest { choices: 2 });
        spec.balancers[0].per_client = true;
        spec.horizon = SimDuration::from_secs(100);
        for name in ["d", "e"] {
            let mut c = spec.clients[0].clone();
            c.name = name.into();
            spec.clients.push(c);
        }
        let mut sys = System::new(&spec, StreamKey::new(2, 0), Count::default());
        assert_eq!(sys.balancers.len(), 3, "one instance per client");
        let mut sched = Scheduler::new();
        sys.start(&mut sched);
        let stats = sim_core::run(
            &mut sys,
            &mut sched,
            Until::horizon(SimTime(spec.horizon.0)),
        );
        // Mid-run, with timeouts and crashes: each instance counts exactly its own client's
        // attempts (checked per backend by the invariants), and together the clients' view.
        sys.check_invariants();
        let live = |c: u32| {
            (sys.attempts.iter())
                .filter(|a| a.live && sys.calls[a.call as usize].client == c)
                .count() as u64
        };
        for (i, lb) in sys.balancers.iter().enumerate() {
            let counted: u64 = lb.in_flight.iter().map(|&x| u64::from(x)).sum();
            assert_eq!(counted, live(i as u32), "instance {i}");
        }
        assert!(
            (0..3).all(|c| live(c) > 0),
            "every client has work in flight"
        );
        let names = sys.summary(stats).balancer_names;
        assert_eq!(names, ["lb"], "reports name balancers, not instances");
    }

    #[test]
    fn a_crash_fails_queued_and_in_service_requests() {
        let mut spec = stressed(PolicySpec::RoundRobin);
        spec.clients[0].timeout = None;
        spec.pools[0].queue_capacity = None;
        let (summary, obs) = System::new(&spec, StreamKey::new(3, 0), Count::default()).run();
        assert!(obs.outcomes[Outcome::Crashed as usize] > 0);
        assert_eq!(obs.outcomes[Outcome::TimedOut as usize], 0);
        assert_eq!(obs.outcomes[Outcome::Rejected as usize], 0);
        let crashes: u64 = summary.replicas.iter().map(|r| r.crashes).sum();
        assert_eq!(crashes, obs.down);
    }
}
