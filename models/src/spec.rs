//! The resolved description of a topology that [`crate::System`] runs: plain data, already
//! validated, components referring to each other by index. The `scenarios` crate builds it from
//! a RON file; tests and benchmarks may build it by hand.

use sim_core::{Dist, SimDuration};

/// A whole topology and how long to run it.
#[derive(Clone, Debug)]
pub struct Spec {
    /// The scenario's name, for reports.
    pub name: String,
    /// Virtual time at which the run stops.
    pub horizon: SimDuration,
    /// Statistics ignore everything before this instant (requests arriving earlier, time-weighted
    /// means before it).
    pub warmup: SimDuration,
    /// Guard against runaway runs.
    pub max_events: u64,
    /// Length of a time-series window: every window the model reports each replica's mean load
    /// ([`crate::Record::ReplicaSample`]). Zero turns sampling off.
    pub window: SimDuration,
    /// Request sources.
    pub clients: Vec<ClientSpec>,
    /// Load balancers.
    pub balancers: Vec<BalancerSpec>,
    /// Replica pools.
    pub pools: Vec<PoolSpec>,
    /// Faults at fixed times, one replica each (outages and rolling restarts expanded).
    pub faults: Vec<ScheduledFault>,
    /// Zone names; components refer to them by index.
    pub zones: Vec<String>,
    /// Network partitions at fixed times.
    pub partitions: Vec<PartitionSpec>,
    /// Balancer instances failing at fixed times.
    pub balancer_outages: Vec<BalancerOutage>,
    /// Calls from pools to their dependencies (multi-tier), one entry per (pool, dependency).
    pub hops: Vec<HopSpec>,
}

impl Spec {
    /// Request priority classes in use (1 when no client sets one).
    pub fn priority_classes(&self) -> usize {
        self.clients
            .iter()
            .map(|c| c.priority as usize + 1)
            .max()
            .unwrap_or(1)
    }
}

/// A network partition: while it lasts, no packet crosses between components of different
/// groups (zones by index). A request that would cross gets no answer: only its timeouts end
/// it. A health probe that would cross fails.
#[derive(Clone, Debug, PartialEq)]
pub struct PartitionSpec {
    /// Groups of zones cut off from each other.
    pub groups: Vec<Vec<u32>>,
    /// When it begins.
    pub at: SimDuration,
    /// How long it lasts.
    pub duration: SimDuration,
    /// How reports name it (`a | b, c`).
    pub label: String,
}

/// A replica down (or slow) on [at, at + duration), whatever it is doing: a crash as a verb on
/// the timeline. Windows of one replica may overlap (it is down while any is open; slowdowns
/// multiply).
#[derive(Clone, Debug, PartialEq)]
pub struct ScheduledFault {
    /// Global replica index.
    pub replica: u32,
    /// When it goes down.
    pub at: SimDuration,
    /// How long it lasts.
    pub duration: SimDuration,
    /// What happens to the replica.
    pub kind: FaultKind,
}

/// What a scheduled fault does to its replica.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum FaultKind {
    /// It is down: queued and in-service requests fail, new ones are refused.
    Down,
    /// A gray failure: it stays up (health checks pass) but every service time that starts
    /// there takes `factor` times as long, and a served request fails with probability
    /// `error_rate` (on top of its pool's).
    Slow {
        /// Service-time multiplier (> 0).
        factor: f64,
        /// Probability that a request it serves fails meanwhile.
        error_rate: f64,
    },
}

/// Where a client or balancer sends requests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// The balancer at this index of [`Spec::balancers`].
    Balancer(usize),
    /// The pool at this index of [`Spec::pools`]; it must have exactly one replica when a client
    /// targets it directly (several replicas need a balancer to choose among them).
    Pool(usize),
}

/// An open-loop source of requests.
#[derive(Clone, Debug)]
pub struct ClientSpec {
    /// Unique name (also names its random stream).
    pub name: String,
    /// How arrivals are spaced.
    pub arrivals: Arrivals,
    /// The overall deadline: the client gives up on a request after this long, whatever
    /// attempt it is on (counted as timed out).
    pub timeout: Option<SimDuration>,
    /// Where requests go.
    pub target: Target,
    /// Retries of failed attempts, if any.
    pub retry: Option<RetrySpec>,
    /// Hedged copies of slow attempts, if any.
    pub hedge: Option<HedgeSpec>,
    /// A circuit breaker in front of the target, if any.
    pub breaker: Option<BreakerSpec>,
    /// Client-side bulkhead: requests beyond this many in flight fail at once (rejected).
    pub max_in_flight: Option<u32>,
    /// Its zone ([`Spec::zones`] index), if it has one.
    pub zone: Option<u32>,
    /// Priority class of its requests: every queue serves class 0 first, then 1, … (strict,
    /// non-preemptive); dependency calls inherit it.
    pub priority: u8,
}

/// Which failed attempts are retried (a set of [`crate::Outcome`]s).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryOn(pub u8);

impl RetryOn {
    /// The set with every failure a server can cause (Envoy's `5xx` + `reset` +
    /// `connect-failure` + `retriable-status-codes` 503): error, timed out, crashed, refused,
    /// rejected. A short-circuit is never retried.
    pub const fn with_all_failures(self) -> RetryOn {
        use crate::Outcome::*;
        self.with(Error)
            .with(TimedOut)
            .with(Crashed)
            .with(Refused)
            .with(Rejected)
    }

    /// The set with `o` added.
    pub const fn with(self, o: crate::Outcome) -> RetryOn {
        RetryOn(self.0 | 1 << o as u8)
    }

    /// True when `o` is in the set.
    pub const fn contains(self, o: crate::Outcome) -> bool {
        self.0 & (1 << o as u8) != 0
    }
}

/// Retries: what the client does when an attempt fails.
#[derive(Clone, Debug, PartialEq)]
pub struct RetrySpec {
    /// Attempts in all, the first included (gRPC `maxAttempts`; Envoy `num_retries` + 1).
    pub max_attempts: u32,
    /// An attempt is abandoned after this long (Envoy `per_try_timeout`); the server keeps the
    /// work unless its pool drops stale work.
    pub per_try_timeout: Option<SimDuration>,
    /// Failures that are retried.
    pub retry_on: RetryOn,
    /// Wait before each retry.
    pub backoff: BackoffSpec,
    /// A limit on retries across requests, if any.
    pub budget: Option<BudgetSpec>,
}

/// Exponential backoff: the k-th retry (k = 0, 1, …) waits about min(max, base·2^k).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BackoffSpec {
    /// First interval (Envoy 25 ms).
    pub base: SimDuration,
    /// Cap (Envoy 10 × base).
    pub max: SimDuration,
    /// How the interval is randomised.
    pub jitter: Jitter,
}

/// Jitter modes of Brooker's "Exponential Backoff and Jitter" (AWS, 2015); t = min(max, base·2^k).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Jitter {
    /// Exactly t (synchronised clients retry together).
    None,
    /// Uniform on [0, t) (Envoy, gRPC, AWS SDKs).
    Full,
    /// t/2 + uniform on [0, t/2).
    Equal,
    /// min(max, uniform on [base, 3·previous)), previous starting at base.
    Decorrelated,
}

/// Limits on retries across a client's requests.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum BudgetSpec {
    /// Envoy's retry budget: retries in flight ≤ max(min_concurrency, percent% × requests in
    /// flight).
    Envoy {
        /// Share of active requests that may be retries (Envoy 20).
        percent: f64,
        /// Retries always allowed concurrently (Envoy 3).
        min_concurrency: u32,
    },
    /// gRPC retry throttling (gRFC A6): tokens start at `max_tokens`, −1 per failed attempt,
    /// +`token_ratio` per success (capped); retries only while tokens > max_tokens / 2.
    Throttle {
        /// Bucket size (≤ 1000).
        max_tokens: f64,
        /// Tokens a success returns.
        token_ratio: f64,
    },
}

/// Hedged requests (Dean & Barroso; gRPC hedging): while no answer has come, another copy goes
/// out every `delay`, up to `max_copies` in all; the first success wins and the others are
/// cancelled (removed from their servers).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct HedgeSpec {
    /// Wait before each further copy.
    pub delay: SimDuration,
    /// Copies in all, the first included (≥ 2).
    pub max_copies: u32,
}

/// A circuit breaker over the client's attempts (resilience4j / Hystrix semantics).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BreakerSpec {
    /// Which calls the failure rate is computed over.
    pub window: BreakerWindow,
    /// Fewest calls in the window before the rate is judged.
    pub minimum_calls: u32,
    /// Failure rate (0–1) at or above which the breaker opens.
    pub failure_rate_threshold: f64,
    /// Time open before trial calls are let through.
    pub open_duration: SimDuration,
    /// Trial calls in half-open; all must finish, and their failure rate decides.
    pub half_open_calls: u32,
}

/// A breaker's sliding window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BreakerWindow {
    /// The last `n` calls.
    Count(u32),
    /// Calls of the last `length`, in `buckets` equal buckets (Hystrix: 10 s in 10).
    Time {
        /// Window length.
        length: SimDuration,
        /// Buckets it is divided into.
        buckets: u32,
    },
}

/// How a replica chooses the next waiting request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Discipline {
    /// Oldest first.
    Fifo,
    /// Newest first (under overload, fresh requests still meet their deadlines).
    Lifo,
    /// FIFO while the queue is at most `above` long, LIFO beyond (Facebook's adaptive LIFO).
    AdaptiveLifo {
        /// Queue length at which it switches.
        above: u32,
    },
    /// Processor sharing: every request present is served at once, each at rate
    /// min(1, workers / n) (a CPU-bound server time-slicing its threads); nothing queues, and
    /// `queue_capacity` bounds the requests beyond `workers`.
    ProcessorSharing,
}

/// Open-loop arrival processes.
#[derive(Clone, Debug)]
pub enum Arrivals {
    /// Exponential gaps with mean 1/rate.
    Poisson {
        /// Requests per second.
        rate_per_s: f64,
    },
    /// Evenly spaced, 1/rate apart.
    Constant {
        /// Requests per second.
        rate_per_s: f64,
    },
    /// Gaps uniform on [min, max).
    Uniform {
        /// Shortest gap.
        min: SimDuration,
        /// Longest gap.
        max: SimDuration,
    },
    /// A Poisson process whose rate is piecewise constant: `steps[i].1` requests per second
    /// from `steps[i].0` on (the first step starts at zero). A load step or a daily ramp.
    PoissonSteps {
        /// (from, rate per second), ascending in time.
        steps: Vec<(SimDuration, f64)>,
    },
    /// A renewal process whose gaps a user's distribution draws (see
    /// [`sim_core::CustomDistribution`]).
    Custom(sim_core::CustomDist),
    /// Closed-loop users: `count` users each send a request, wait for its answer (or its
    /// time-out), think, and send again. User `i` sends its first request at `i·ramp_up/count`.
    Users {
        /// Users.
        count: u32,
        /// Think time between an answer and the user's next request.
        think: Dist,
        /// The users start evenly over this period.
        ramp_up: SimDuration,
    },
    /// A Markov-modulated Poisson process: Poisson at each state's rate while in it, the
    /// states visited in turn, each held for an exponential time.
    Mmpp {
        /// The states (at least two).
        states: Vec<crate::arrivals::MmppState>,
    },
    /// A Poisson process whose rate follows a curve (a daily profile, a wave, a flash crowd).
    Curve {
        /// The rate.
        curve: crate::arrivals::RateCurve,
    },
    /// A recorded trace replayed.
    Trace {
        /// The trace.
        trace: crate::arrivals::TraceSpec,
    },
}

/// The gap to the next arrival of a Poisson process with piecewise-constant rate `steps`,
/// from `now`: an exponential draw at the current rate, redrawn from the next step's start
/// when it would cross it (exact, the exponential being memoryless).
pub fn steps_gap(
    steps: &[(SimDuration, f64)],
    now: sim_core::SimTime,
    rng: &mut sim_core::Stream,
) -> SimDuration {
    let mut t = now.0;
    let mut i = steps.partition_point(|s| s.0.0 <= t).saturating_sub(1);
    loop {
        let gap = Dist::Exponential {
            mean: 1e9 / steps[i].1,
        }
        .sample(rng)
        .0;
        let next = steps.get(i + 1).map_or(u64::MAX, |s| s.0.0);
        // The last step lasts forever (a gap past the end of time included).
        if t.saturating_add(gap) < next || i + 1 >= steps.len() {
            return SimDuration(t.saturating_add(gap) - now.0);
        }
        t = next;
        i += 1;
    }
}

impl Arrivals {
    /// Mean requests per second.
    pub fn rate_per_s(&self) -> f64 {
        match self {
            Arrivals::Poisson { rate_per_s } | Arrivals::Constant { rate_per_s } => *rate_per_s,
            Arrivals::Uniform { min, max } => 2e9 / (min.0 as f64 + max.0 as f64),
            // The first step's rate: the others depend on the horizon.
            Arrivals::PoissonSteps { steps } => steps[0].1,
            Arrivals::Custom(c) => 1e9 / c.mean_ns(),
            // Users' rate depends on the response time: the rate with zero response.
            Arrivals::Users { count, think, .. } => f64::from(*count) * 1e9 / think.mean_ns(),
            Arrivals::Mmpp { states } => crate::arrivals::mmpp_mean_rate(states),
            // The highest rate: the mean depends on the horizon.
            Arrivals::Curve { curve } => curve.max_per_s(),
            Arrivals::Trace { trace } => trace_rate(trace),
        }
    }

    /// The distribution of gaps between arrivals.
    pub fn interarrival(&self) -> Dist {
        let gap = |rate: f64| SimDuration((1e9 / rate).round() as u64);
        match self {
            Arrivals::Poisson { rate_per_s } => Dist::Exponential {
                mean: 1e9 / rate_per_s,
            },
            Arrivals::Constant { rate_per_s } => Dist::constant(gap(*rate_per_s)),
            Arrivals::Uniform { min, max } => Dist::Uniform {
                low: min.0 as f64,
                high: max.0 as f64,
            },
            // Unused: gaps come from `steps_gap`, which knows the time.
            Arrivals::PoissonSteps { steps } => Dist::Exponential {
                mean: 1e9 / steps[0].1,
            },
            Arrivals::Custom(c) => Dist::Custom(c.clone()),
            // Unused: these have a state of their own (`arrivals::Source`).
            Arrivals::Users { .. }
            | Arrivals::Mmpp { .. }
            | Arrivals::Curve { .. }
            | Arrivals::Trace { .. } => Dist::constant(SimDuration(1)),
        }
    }
}

/// A trace's mean rate over one pass (rows per second; a single row counts as one per second).
fn trace_rate(t: &crate::arrivals::TraceSpec) -> f64 {
    let span = t
        .period
        .map_or(t.offsets.last().copied().unwrap_or(0), |p| p.0);
    if span == 0 {
        return t.offsets.len() as f64;
    }
    t.offsets.len() as f64 * 1e9 / span as f64
}

/// A load balancer in front of a pool (or of another balancer).
#[derive(Clone, Debug)]
pub struct BalancerSpec {
    /// Unique name (also names its random stream).
    pub name: String,
    /// How it picks a backend.
    pub policy: PolicySpec,
    /// Its backends: the replicas of a pool, or a single downstream balancer.
    pub target: Target,
    /// Active health checking of its backends, if any (pool targets only).
    pub health_check: Option<HealthCheckSpec>,
    /// Passive outlier detection on its backends' responses, if any (pool targets only).
    pub outlier_detection: Option<OutlierSpec>,
    /// Below this fraction of healthy backends the balancer ignores health and routes to all
    /// (Envoy's panic threshold, default 0.5); 0 never panics (then with none healthy, all).
    pub panic_threshold: f64,
    /// Its zone ([`Spec::zones`] index), if it has one.
    pub zone: Option<u32>,
    /// Crash/repair process of each of its instances, if they fail.
    pub failures: Option<FailureSpec>,
    /// An active–passive pair: the standby takes over the VIP this long after the active
    /// fails. `None`: a single instance.
    pub standby: Option<SimDuration>,
    /// Zone-aware routing from its zone, if enabled (pool targets only).
    pub zone_aware: Option<ZoneSpec>,
    /// Slow start for backends that rejoin rotation, if any.
    pub slow_start: Option<SlowStartSpec>,
    /// Client-side balancing: every caller that sends to it (each client, each dependency hop)
    /// has its own instance, with its own policy state, in-flight counts, random streams,
    /// health checks, outlier detection and slow start (pool targets only, reached directly).
    /// `false`: one instance shared by every caller.
    pub per_client: bool,
    /// With a standby: the failover delay drawn afresh for every failover from this
    /// distribution (stream `balancer/NAME/failover`) instead of the fixed `standby` (which
    /// then holds its mean).
    pub failover_time: Option<Dist>,
}

/// A balancer's active instance down on [at, at + duration).
#[derive(Clone, Debug, PartialEq)]
pub struct BalancerOutage {
    /// Index of the balancer.
    pub balancer: u32,
    /// When its active instance fails.
    pub at: SimDuration,
    /// How long until it is repaired.
    pub duration: SimDuration,
}

/// Where a zone-aware balancer is, relative to its backends.
#[derive(Clone, Debug, PartialEq)]
pub struct ZoneSpec {
    /// Per backend: it is in the balancer's zone.
    pub local: Vec<bool>,
    /// The share of the load that originates in this zone (Envoy's local percentage): the local
    /// zone's fraction of the pool's replicas, callers being assumed spread as the replicas are.
    pub local_share: f64,
}

/// Envoy's `slow_start_config`: a backend that rejoins rotation gets its weight scaled by
/// max(min_weight, (t / window)^(1/aggression)) for `window` after it rejoined.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SlowStartSpec {
    /// How long the ramp lasts.
    pub window: SimDuration,
    /// Shape of the ramp (1.0: linear; above 1, faster at first).
    pub aggression: f64,
    /// The least fraction of its weight a rejoined backend gets (0–1; Envoy: 10%).
    pub min_weight: f64,
}

/// Passive outlier detection, as Envoy's `consecutive_5xx`: every failed response (refused,
/// crashed, rejected, timed out) counts.
#[derive(Clone, Debug, PartialEq)]
pub struct OutlierSpec {
    /// Failures in a row that eject a backend (Envoy: 5).
    pub consecutive_errors: u32,
    /// Ejection time × times ejected (Envoy: 30 s) …
    pub base_ejection_time: SimDuration,
    /// … capped at this (Envoy: 300 s).
    pub max_ejection_time: SimDuration,
    /// Most backends ejected at once, as a fraction; at least one may always be (Envoy: 0.1).
    pub max_ejection_percent: f64,
}

/// Active health checks: a probe to each backend every `interval` (fixed cadence, first probe at
/// a uniformly random phase), so that detection lags a crash as it does in production: between
/// (fall − 1)·interval + timeout and fall·interval + timeout.
#[derive(Clone, Debug, PartialEq)]
pub struct HealthCheckSpec {
    /// Time between probe starts.
    pub interval: SimDuration,
    /// A probe to a crashed replica fails when this runs out (at most `interval`).
    pub timeout: SimDuration,
    /// Consecutive failed probes that mark a backend unhealthy (HAProxy `fall`).
    pub unhealthy_threshold: u32,
    /// Consecutive passed probes that mark it healthy again (HAProxy `rise`).
    pub healthy_threshold: u32,
    /// Each interval is lengthened by a uniform draw in [0, jitter).
    pub jitter: SimDuration,
}

/// Balancing policies. Each sees only this balancer's own in-flight counts, except
/// `JoinShortestQueue`, which is explicitly global (an oracle, as in the theory literature).
/// `weights[b]` is backend `b`'s weight (one per backend, each > 0); only the eligible backends'
/// weights count.
#[derive(Clone, Debug, PartialEq)]
pub enum PolicySpec {
    /// Cyclic order.
    RoundRobin,
    /// Uniformly random backend.
    Random,
    /// Fewest of this balancer's in-flight requests; round robin among ties.
    LeastConnections,
    /// Sample `choices` distinct backends at random, take the one with fewest in-flight
    /// requests (Envoy `LEAST_REQUEST`, power of d choices).
    LeastRequest {
        /// d, the number of distinct backends sampled (Envoy's `choice_count`, default 2).
        choices: u32,
    },
    /// Fewest requests queued or in service at the replica (global knowledge).
    JoinShortestQueue,
    /// NGINX's smooth weighted round robin.
    SmoothWeightedRoundRobin {
        /// Weight per backend.
        weights: Vec<u32>,
    },
    /// HAProxy's `static-rr`: map-based interleaved weighted round robin.
    WeightedRoundRobin {
        /// Weight per backend.
        weights: Vec<u32>,
    },
    /// A random backend, with probability proportional to its weight.
    WeightedRandom {
        /// Weight per backend.
        weights: Vec<u32>,
    },
    /// Smallest in-flight/weight (HAProxy `leastconn`, NGINX `least_conn` with weights);
    /// round robin among ties.
    WeightedLeastConnections {
        /// Weight per backend.
        weights: Vec<u32>,
    },
    /// Envoy `LEAST_REQUEST` with its other options. Validation builds plain `LeastRequest`
    /// when every option is at its default, so the two never describe the same policy.
    LeastRequestOptions {
        /// d (Envoy's `choice_count`).
        choices: u32,
        /// Sample with replacement, as Envoy does (hasim's `LeastRequest` samples without).
        replacement: bool,
        /// Weights per backend; unequal weights switch to Envoy's weighted mode.
        weights: Option<Vec<u32>>,
        /// Envoy's `active_request_bias` (default 1.0): effective weight =
        /// weight / (active + 1)^bias.
        active_request_bias: f64,
    },
    /// Power of two choices on peak-EWMA latency × (in-flight + 1) (Finagle `p2cPeakEwma`,
    /// Linkerd, Tower).
    PeakEwma {
        /// Time constant of the decay of the latency estimate (default 10 s).
        decay: SimDuration,
        /// Estimate for a backend with no response yet (Linkerd: 30 ms).
        default_rtt: SimDuration,
    },
    /// Full scan for the lowest EWMA response time × (in-flight + 1) (after NGINX Plus
    /// `least_time`); round robin among ties.
    LeastResponseTime {
        /// Time constant of the moving average.
        decay: SimDuration,
        /// Estimate for a backend with no response yet.
        default_rtt: SimDuration,
    },
    /// HAProxy `first`: the lowest-index eligible backend with fewer than `maxconn` in-flight
    /// requests; when all are full, the least loaded (lowest index among equals).
    FirstAvailable {
        /// In-flight requests a backend may hold before the next one is used.
        maxconn: u32,
    },
    /// Envoy `RING_HASH` over a key drawn per request from `keys`.
    RingHash {
        /// The request keys.
        keys: KeySpec,
        /// Points on the ring, at least (Envoy's `minimum_ring_size`, default 1024).
        minimum_ring_size: u32,
    },
    /// Envoy `MAGLEV` over a key drawn per request from `keys`.
    Maglev {
        /// The request keys.
        keys: KeySpec,
        /// Entries of the lookup table, a prime (Envoy's `table_size`, default 65537).
        table_size: u32,
    },
    /// Join-idle-queue with a random fallback (Lu et al. 2011, JIQ-Random): a backend this
    /// balancer has no request in flight at is idle and waits in its I-queue.
    JoinIdleQueue,
    /// DNS round robin: each client caches one address of the rotating record set (the
    /// balancer's eligible backends) for `ttl`, and sends there until it expires, even if the
    /// backend has failed meanwhile. State is per client.
    DnsRoundRobin {
        /// How long a client keeps an answer (> 0; Java's default 30 s).
        ttl: SimDuration,
    },
    /// A user's policy, registered under a name (see [`crate::balancer::CustomPolicy`]).
    Custom(crate::balancer::CustomPolicySpec),
}

/// A population of request keys, for hashing policies: each request draws one.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum KeySpec {
    /// `n` equally likely keys.
    Uniform {
        /// Number of keys (≥ 1).
        n: u32,
    },
    /// `n` keys, the k-th most popular with probability ∝ 1/k^s.
    Zipf {
        /// Number of keys (≥ 1).
        n: u32,
        /// Exponent (> 0; about 1 for web objects).
        s: f64,
    },
}

/// A set of identical replicas.
#[derive(Clone, Debug)]
pub struct PoolSpec {
    /// Unique name (also names its random streams).
    pub name: String,
    /// Number of replicas (≥ 1).
    pub replicas: u32,
    /// Concurrent requests each replica serves (≥ 1).
    pub workers: u32,
    /// Waiting room per replica; `None` is unbounded. A request that finds it full is rejected.
    pub queue_capacity: Option<u32>,
    /// Service time, drawn once per request when it reaches the pool.
    pub service: Dist,
    /// Crash/repair process of each replica, if any.
    pub failures: Option<FailureSpec>,
    /// Random gray failures of each replica, if any.
    pub gray_failures: Option<GrayFailureSpec>,
    /// Probability that a served request fails anyway (an error response, a 5xx).
    pub error_rate: f64,
    /// Requests whose caller has given up are dropped when they reach a worker instead of
    /// served. Without it a server keeps working for callers that left: retry storms become
    /// metastable.
    pub drop_stale: bool,
    /// Which waiting request a free worker takes.
    pub discipline: Discipline,
    /// Each replica admits requests through its own token bucket (a sidecar's local rate
    /// limit); requests without a token are rejected (429).
    pub rate_limit: Option<TokenBucketSpec>,
    /// Service slows with load: a request starting while n others are in service takes
    /// (1 + `slowdown_per_request` · n) times its drawn service time (contention, GC).
    pub slowdown_per_request: f64,
    /// Zones its replicas are spread over in turn (replica i in `zones[i mod len]`); empty: none.
    pub zones: Vec<u32>,
    /// Services it calls after its own work, before it answers (a multi-tier request).
    pub dependencies: Option<DependenciesSpec>,
    /// Target-tracking autoscaling, if any: then `replicas` is its `max` (one slot per replica
    /// it may run) and only the provisioned ones exist.
    pub autoscale: Option<AutoscaleSpec>,
    /// A service registry the balancers learn the pool's replicas from, if any.
    pub discovery: Option<DiscoverySpec>,
    /// Replica groups and repair crews (default: identical replicas, a crew each).
    pub fleet: crate::fleet::FleetSpec,
}

/// What a pool's replica calls after its own work on a request; the worker stays busy (a
/// thread per request) until the calls resolve, then answers: success, or an error when the
/// calls failed by `wait_for`'s rule.
#[derive(Clone, Debug, PartialEq)]
pub struct DependenciesSpec {
    /// When the request may answer.
    pub wait_for: WaitFor,
    /// One entry per outgoing call (a dependency with `copies: k` appears k times), in order.
    pub calls: Vec<u32>,
    /// The distinct hops (indices into [`Spec::hops`]) this pool calls, in file order.
    pub hops: Vec<u32>,
}

/// How a request with several dependency calls resolves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WaitFor {
    /// All calls in parallel; any failure fails the request at once (the others are cancelled).
    All,
    /// All calls in parallel; the first success answers (the others are cancelled).
    First,
    /// All calls in parallel; `k` successes answer, more than n − k failures fail.
    Quorum(u32),
    /// One call after the other, each after the previous succeeded (a chain within a service).
    Sequence,
}

/// A hop's calls to a store: which store, and the operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StoreCall {
    /// Index of the store in the scenario's `stores`.
    pub store: u32,
    /// Read, write, lock.
    pub op: crate::store::StoreOp,
    /// For a cache whose callers fetch its misses: the hop (index into [`Spec::hops`]) they
    /// fetch them through.
    pub miss_hop: Option<u32>,
}

/// One hop: a pool calling a target, with a caller's resilience settings (its own timeout,
/// retries, hedging, breaker and bulkhead, shared by every replica of the calling pool).
#[derive(Clone, Debug)]
pub struct HopSpec {
    /// How reports name it: `caller → target`.
    pub name: String,
    /// The calling pool.
    pub from_pool: u32,
    /// Where the calls go (a balancer or a pool; unused when `store` is set).
    pub target: Target,
    /// A store the calls go to instead (`stores[i]` of the scenario), and what they ask of it.
    pub store: Option<StoreCall>,
    /// Deadline of each call (all its attempts).
    pub timeout: Option<SimDuration>,
    /// Retries, if any.
    pub retry: Option<RetrySpec>,
    /// Hedged copies, if any.
    pub hedge: Option<HedgeSpec>,
    /// Circuit breaker, if any.
    pub breaker: Option<BreakerSpec>,
    /// Bulkhead: calls beyond this many in flight (over the calling pool) fail at once.
    pub max_in_flight: Option<u32>,
}

/// What target tracking keeps near its target, per ready replica, averaged over an evaluation
/// period (time-weighted).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ScaleMetric {
    /// Fraction of workers busy (HPA CPU utilisation, AWS `ASGAverageCPUUtilization`).
    Utilisation {
        /// Target fraction (0–1).
        target: f64,
    },
    /// Requests queued or in service (KEDA / Knative concurrency).
    InFlight {
        /// Target per replica.
        per_replica: f64,
    },
    /// Requests waiting (SQS backlog per instance).
    QueueLength {
        /// Target per replica.
        per_replica: f64,
    },
}

impl ScaleMetric {
    /// The target value per replica.
    pub fn target(self) -> f64 {
        match self {
            ScaleMetric::Utilisation { target } => target,
            ScaleMetric::InFlight { per_replica } | ScaleMetric::QueueLength { per_replica } => {
                per_replica
            }
        }
    }
}

/// Target-tracking autoscaling of a pool (AWS target tracking, Kubernetes HPA): every
/// `evaluation_period` (boundaries at multiples of it from time zero) the metric's mean over
/// the period gives desired = ceil(load / target) replicas, load being the metric summed over
/// the pool (per-ready-replica mean × mean ready replicas).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AutoscaleSpec {
    /// What is tracked, and its target.
    pub metric: ScaleMetric,
    /// Fewest replicas provisioned (≥ 1).
    pub min: u32,
    /// Most replicas provisioned.
    pub max: u32,
    /// Replicas provisioned (and warm) at time zero.
    pub initial: u32,
    /// Length of an evaluation period.
    pub evaluation_period: SimDuration,
    /// Periods in a row that must ask for more replicas before a scale-out.
    pub evaluation_periods: u32,
    /// Periods in a row that must ask for fewer before a scale-in (to the most any of them
    /// asked for: HPA's stabilisation window).
    pub scale_in_periods: u32,
    /// Least time between two scale-outs.
    pub cooldown: SimDuration,
    /// Least time between two scale-ins, and from a scale-out to a scale-in.
    pub scale_in_cooldown: SimDuration,
    /// Cold start: a new replica serves (and counts) only this long after it is provisioned.
    pub warm_up: SimDuration,
    /// A replica chosen for scale-in leaves the balancers at once, keeps serving what it holds
    /// for this long, then is removed (what it still holds fails).
    pub drain: SimDuration,
    /// No action while |metric / target − 1| ≤ tolerance (HPA: 0.1).
    pub tolerance: f64,
}

/// Registry-based service discovery (Consul TTL checks, Eureka leases): a replica is
/// registered `registration_delay` after it starts serving, renews every `heartbeat` while
/// alive, and a dead one stays registered until `ttl` after its last heartbeat. Balancers send
/// only to registered replicas (and, with health checks, healthy ones).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DiscoverySpec {
    /// From (re)start to visible in the registry.
    pub registration_delay: SimDuration,
    /// A registration expires this long after its last heartbeat (≥ heartbeat).
    pub ttl: SimDuration,
    /// Time between heartbeats.
    pub heartbeat: SimDuration,
}

/// A token bucket: `burst` tokens, refilled at `rate_per_s`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TokenBucketSpec {
    /// Tokens per second.
    pub rate_per_s: f64,
    /// Bucket size (≥ 1).
    pub burst: u32,
}

/// Independent gray-failure cycles of each replica: healthy for `time_between`, then gray
/// for `duration` (up, health checks pass, but slow and/or failing as under a scheduled
/// [`FaultKind::Slow`]), then healthy again, from time zero to the horizon. The cycle belongs
/// to the host, not the process: a crash does not end an episode, and a replica repaired
/// during one comes back gray. Episodes compose with scheduled slowdowns like overlapping
/// slowdowns do (factors multiply, the chances to answer without an error multiply).
#[derive(Clone, Debug)]
pub struct GrayFailureSpec {
    /// Healthy time from the end of an episode (or time zero) to the start of the next.
    pub time_between: Dist,
    /// Length of an episode.
    pub duration: Dist,
    /// Service-time multiplier while gray (> 0), as [`FaultKind::Slow`]'s.
    pub factor: f64,
    /// Probability that a request it answers while gray fails, as [`FaultKind::Slow`]'s.
    pub error_rate: f64,
}

/// Independent crash/repair cycles of each replica.
#[derive(Clone, Debug)]
pub struct FailureSpec {
    /// Time from (re)start to the next crash (mean = MTBF).
    pub time_to_failure: Dist,
    /// Time from crash to repair (mean = MTTR).
    pub time_to_repair: Dist,
}
