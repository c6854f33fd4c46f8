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
    /// The client gives up on a request after this long (counted as timed out).
    pub timeout: Option<SimDuration>,
    /// Where requests go.
    pub target: Target,
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
}

impl Arrivals {
    /// Mean requests per second.
    pub fn rate_per_s(&self) -> f64 {
        match self {
            Arrivals::Poisson { rate_per_s } | Arrivals::Constant { rate_per_s } => *rate_per_s,
            Arrivals::Uniform { min, max } => 2e9 / (min.0 as f64 + max.0 as f64),
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
        }
    }
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
}

/// Balancing policies. Each sees only this balancer's own in-flight counts, except
/// `JoinShortestQueue`, which is explicitly global (an oracle, as in the theory literature).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
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
}

/// Independent crash/repair cycles of each replica.
#[derive(Clone, Debug)]
pub struct FailureSpec {
    /// Time from (re)start to the next crash (mean = MTBF).
    pub time_to_failure: Dist,
    /// Time from crash to repair (mean = MTTR).
    pub time_to_repair: Dist,
}
