//! The scenario file as written: a serde mirror of the RON text. Every struct and enum denies
//! unknown fields, so a typo is an error instead of a silently ignored setting. Durations stay
//! strings here and are parsed in `validate`, where the error can point at the string.

use serde::Deserialize;

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    pub name: String,
    #[serde(default)]
    pub seed: Option<u64>,
    pub horizon: String,
    #[serde(default)]
    pub warmup: Option<String>,
    #[serde(default)]
    pub max_events: Option<u64>,
    #[serde(default)]
    pub expect: Vec<Expect>,
    #[serde(default)]
    pub slo: Option<Slo>,
    /// Required unless the scenario has `stores` (validation says so).
    #[serde(default)]
    pub clients: Vec<Client>,
    #[serde(default)]
    pub balancers: Vec<Balancer>,
    /// Required unless the scenario has `stores` (validation says so).
    #[serde(default)]
    pub pools: Vec<Pool>,
    #[serde(default)]
    pub faults: Vec<Fault>,
    /// Replicated stores, each run as its own model (validated in `validate_store`).
    #[serde(default)]
    pub stores: Vec<Store>,
    /// How `hasim test` compares this file's report with its golden file. Read by the test
    /// runner only: it changes no figure.
    #[serde(default)]
    pub golden: Option<Golden>,
}

/// `hasim test`'s comparison rules for one file (or, in `hasim-test.ron`, for every file of a
/// folder): which report fields to compare and how much each may move.
#[derive(Deserialize, Debug, Clone, Default, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Golden {
    /// Fields left out of the comparison (`latency_ms.max`, `replicas[*].in_flight`, `sre`).
    #[serde(default)]
    pub ignore: Vec<String>,
    /// When not empty, only these fields are compared.
    #[serde(default)]
    pub select: Vec<String>,
    /// How far numbers may move, per field; the last rule matching a field applies.
    #[serde(default)]
    pub tolerances: Vec<Tolerance>,
}

/// How far the numbers of the fields matching `field` may move before a test fails.
#[derive(Deserialize, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Tolerance {
    /// A field pattern: dot-separated keys, `*` for any one key or index, `**` for any depth.
    pub field: String,
    /// Relative change allowed (0.05 = 5%).
    #[serde(default)]
    pub relative: f64,
    /// Absolute change allowed, in the field's unit.
    #[serde(default)]
    pub absolute: f64,
    /// Which direction fails: `Either` (default), `Higher` (fail only if it grew) or `Lower`.
    #[serde(default)]
    pub fail_if: FailIf,
}

/// Which direction of change counts as a failure.
#[derive(Deserialize, Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum FailIf {
    /// Any change beyond the tolerance.
    #[default]
    Either,
    /// Only an increase (latency, failures: lower is better).
    Higher,
    /// Only a decrease (availability, throughput: higher is better).
    Lower,
}

impl Store {
    /// The store's name.
    pub fn name(&self) -> &str {
        match self {
            Store::PrimaryBackup { name, .. }
            | Store::Quorum { name, .. }
            | Store::Election { name, .. }
            | Store::Broker { name, .. }
            | Store::Cache { name, .. }
            | Store::Lock { name, .. } => name,
        }
    }

    /// The kind's name, as a scenario file spells it.
    pub fn kind(&self) -> &'static str {
        match self {
            Store::PrimaryBackup { .. } => "PrimaryBackup",
            Store::Quorum { .. } => "Quorum",
            Store::Election { .. } => "Election",
            Store::Broker { .. } => "Broker",
            Store::Cache { .. } => "Cache",
            Store::Lock { .. } => "Lock",
        }
    }

    /// The operations a pool may call it for; the first is the default when a kind serves one.
    pub fn serves(&self) -> &'static [StoreOp] {
        match self {
            Store::PrimaryBackup { .. } | Store::Quorum { .. } => &[StoreOp::Read, StoreOp::Write],
            Store::Election { .. } | Store::Broker { .. } => &[StoreOp::Write],
            Store::Cache { .. } => &[StoreOp::Read],
            Store::Lock { .. } => &[StoreOp::Lock],
        }
    }
}

/// A replicated store: state that failures can lose.
#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
// Parsed once per file: the size of a variant costs nothing worth a Box.
#[allow(clippy::large_enum_variant)]
pub enum Store {
    PrimaryBackup {
        name: String,
        backups: u32,
        #[serde(default)]
        writes: Option<Arrivals>,
        #[serde(default)]
        reads: Option<Arrivals>,
        replication: Replication,
        #[serde(default)]
        heartbeat: Option<String>,
        #[serde(default)]
        lease: Option<String>,
        #[serde(default)]
        promotion: Option<Dist>,
        #[serde(default)]
        fencing: Option<bool>,
        #[serde(default)]
        failures: Option<Failures>,
        #[serde(default)]
        faults: Vec<StoreFault>,
        #[serde(default)]
        snapshots: Option<Snapshots>,
        #[serde(default)]
        reads_from: Option<ReadsFrom>,
    },
    Quorum {
        name: String,
        replicas: u32,
        read_quorum: u32,
        write_quorum: u32,
        #[serde(default)]
        writes: Option<Arrivals>,
        #[serde(default)]
        reads: Option<Arrivals>,
        response: Dist,
        #[serde(default)]
        workers: Option<u32>,
        #[serde(default)]
        failures: Option<Failures>,
    },
    Election {
        name: String,
        nodes: u32,
        #[serde(default)]
        heartbeat: Option<String>,
        #[serde(default)]
        election_timeout: Option<String>,
        round_trip: Dist,
        #[serde(default)]
        failures: Option<Failures>,
        #[serde(default)]
        faults: Vec<StoreFault>,
    },
    Broker {
        name: String,
        #[serde(default)]
        brokers: Option<u32>,
        partitions: u32,
        replication_factor: u32,
        #[serde(default)]
        min_insync_replicas: Option<u32>,
        follower_lag: Dist,
        #[serde(default)]
        leader_failover: Option<Dist>,
        producer: Producer,
        consumers: ConsumerGroup,
        #[serde(default)]
        retention: Option<String>,
        #[serde(default)]
        window: Option<String>,
        #[serde(default)]
        failures: Option<Failures>,
        #[serde(default)]
        faults: Vec<BrokerFault>,
    },
    Cache {
        name: String,
        #[serde(default)]
        requests: Option<Arrivals>,
        keys: Keys,
        #[serde(default)]
        ttl: Option<String>,
        #[serde(default)]
        capacity: Option<u32>,
        #[serde(default)]
        hit_latency: Option<Dist>,
        #[serde(default)]
        coalesce_misses: Option<bool>,
        #[serde(default)]
        backend: Option<Backend>,
        #[serde(default)]
        misses_from: Option<Dependency>,
        #[serde(default)]
        failures: Option<Failures>,
        #[serde(default)]
        faults: Vec<CacheFault>,
    },
    // A lock service (validated in `validate_lock`).
    Lock {
        name: String,
        kind: LockKind,
        #[serde(default)]
        fencing: Option<bool>,
        #[serde(default)]
        clients: Option<u32>,
        ttl: String,
        #[serde(default)]
        acquire_timeout: Option<String>,
        #[serde(default)]
        retry: Option<String>,
        #[serde(default)]
        think: Option<Dist>,
        hold: Dist,
        #[serde(default)]
        pauses: Option<Pauses>,
        #[serde(default)]
        clock_drift: Option<f64>,
        #[serde(default)]
        drift_allowance: Option<String>,
        #[serde(default)]
        round_trip: Option<Dist>,
        #[serde(default)]
        failures: Option<Failures>,
        #[serde(default)]
        faults: Vec<LockFault>,
    },
}

/// How a lock is served.
#[derive(Deserialize, Debug, Clone, Copy)]
#[serde(deny_unknown_fields)]
pub enum LockKind {
    SingleNode,
    Redlock { servers: u32 },
    Consensus { servers: u32 },
}

/// A lock holder's stop-the-world pauses.
#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
pub struct Pauses {
    pub probability: f64,
    pub duration: Dist,
}

/// A lock server's crash at a fixed time.
#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
pub enum LockFault {
    Crash {
        at: String,
        duration: String,
        #[serde(default)]
        server: Option<u32>,
    },
}

/// A broker's producer.
#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
pub struct Producer {
    #[serde(default)]
    pub messages: Option<Arrivals>,
    #[serde(default)]
    pub acks: Option<Acks>,
}

/// Kafka `acks`: 0, 1 or all.
#[derive(Deserialize, Debug, Clone, Copy)]
#[serde(deny_unknown_fields)]
pub enum Acks {
    Zero,
    One,
    All,
}

/// A broker's consumer group.
#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
pub struct ConsumerGroup {
    #[serde(default)]
    pub consumers: Option<u32>,
    #[serde(default)]
    pub processing: Option<Dist>,
    #[serde(default)]
    pub failure_rate: Option<f64>,
    #[serde(default)]
    pub heartbeat_interval: Option<String>,
    #[serde(default)]
    pub session_timeout: Option<String>,
    #[serde(default)]
    pub rebalance_pause: Option<String>,
    #[serde(default)]
    pub visibility_timeout: Option<String>,
    #[serde(default)]
    pub max_receives: Option<u32>,
    #[serde(default)]
    pub commit_interval: Option<String>,
    #[serde(default)]
    pub failures: Option<Failures>,
    /// The pool whose replicas are the consumers (each processes its messages as requests).
    #[serde(default)]
    pub pool: Option<String>,
}

/// Faults at fixed times in a broker.
#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
pub enum BrokerFault {
    LeaderCrash {
        at: String,
        duration: String,
        #[serde(default)]
        partition: Option<u32>,
    },
    ConsumerCrash {
        at: String,
        duration: String,
        #[serde(default)]
        consumer: Option<u32>,
    },
}

/// The service behind a cache.
#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
pub struct Backend {
    pub workers: u32,
    pub service: Dist,
    #[serde(default)]
    pub queue_limit: Option<u32>,
    #[serde(default)]
    pub timeout: Option<String>,
}

/// A cache's scheduled restarts.
#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
pub enum CacheFault {
    Restart {
        at: String,
        #[serde(default)]
        duration: Option<String>,
    },
}

/// How a primary replicates writes.
#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
pub enum Replication {
    Synchronous { round_trip: Dist },
    Asynchronous { lag: Dist },
}

/// Periodic snapshots of a primary–backup store.
#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
pub struct Snapshots {
    pub interval: String,
    pub restore: Dist,
}

/// Faults at fixed times on whichever node is a store's primary.
#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
pub enum StoreFault {
    Crash {
        at: String,
        duration: String,
    },
    Partition {
        at: String,
        duration: String,
        #[serde(default)]
        clients_with_old_primary: Option<f64>,
    },
    Disaster {
        at: String,
    },
}

/// Faults at fixed times.
#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
pub enum Fault {
    Crash {
        pool: String,
        replica: u32,
        at: String,
        duration: String,
    },
    PoolOutage {
        pool: String,
        at: String,
        duration: String,
    },
    ZoneOutage {
        zone: String,
        at: String,
        duration: String,
    },
    RollingRestart {
        pool: String,
        at: String,
        downtime: String,
        gap: String,
    },
    Slow {
        pool: String,
        replica: u32,
        at: String,
        duration: String,
        #[serde(default)]
        factor: Option<f64>,
        #[serde(default)]
        error_rate: Option<f64>,
    },
    Partition {
        groups: Vec<Vec<String>>,
        at: String,
        duration: String,
    },
    BalancerOutage {
        balancer: String,
        at: String,
        duration: String,
    },
}

/// The objective reports judge availability against, and the window they judge it in.
#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
pub struct Slo {
    #[serde(default)]
    pub availability: Option<f64>,
    #[serde(default)]
    pub window: Option<String>,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
pub struct Client {
    pub name: String,
    pub arrivals: Arrivals,
    #[serde(default)]
    pub timeout: Option<String>,
    pub target: String,
    #[serde(default)]
    pub retry: Option<Retry>,
    #[serde(default)]
    pub hedge: Option<Hedge>,
    #[serde(default)]
    pub breaker: Option<Breaker>,
    #[serde(default)]
    pub max_in_flight: Option<u32>,
    #[serde(default)]
    pub zone: Option<String>,
    #[serde(default)]
    pub priority: Option<u8>,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
pub struct Retry {
    #[serde(default)]
    pub max_attempts: Option<u32>,
    #[serde(default)]
    pub per_try_timeout: Option<String>,
    #[serde(default)]
    pub retry_on: Option<Vec<RetryOn>>,
    #[serde(default)]
    pub backoff: Option<Backoff>,
    #[serde(default)]
    pub budget: Option<Budget>,
}

/// Failures an attempt can have, as retry conditions.
#[derive(Deserialize, Debug, Clone, Copy)]
#[serde(deny_unknown_fields)]
pub enum RetryOn {
    Error,
    TimedOut,
    Crashed,
    Refused,
    Rejected,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
pub struct Backoff {
    #[serde(default)]
    pub base: Option<String>,
    #[serde(default)]
    pub max: Option<String>,
    /// Not an `Option`: RON would read `jitter: None` as "not set" instead of "no jitter".
    #[serde(default)]
    pub jitter: Jitter,
}

#[derive(Deserialize, Debug, Clone, Copy, Default)]
#[serde(deny_unknown_fields)]
pub enum Jitter {
    /// Not written in the file (full jitter, noted).
    #[default]
    #[serde(skip)]
    Unset,
    None,
    Full,
    Equal,
    Decorrelated,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
pub enum Budget {
    Envoy {
        #[serde(default)]
        percent: Option<f64>,
        #[serde(default)]
        min_concurrency: Option<u32>,
    },
    Throttle {
        max_tokens: f64,
        token_ratio: f64,
    },
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
pub struct Hedge {
    pub delay: String,
    #[serde(default)]
    pub max_copies: Option<u32>,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
pub struct Breaker {
    #[serde(default)]
    pub window: Option<BreakerWindow>,
    #[serde(default)]
    pub minimum_calls: Option<u32>,
    #[serde(default)]
    pub failure_rate_threshold: Option<f64>,
    #[serde(default)]
    pub open_duration: Option<String>,
    #[serde(default)]
    pub half_open_calls: Option<u32>,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
pub enum BreakerWindow {
    Count(u32),
    Time { length: String, buckets: u32 },
}

#[derive(Deserialize, Debug, Clone, Copy)]
#[serde(deny_unknown_fields)]
pub enum Discipline {
    Fifo,
    Lifo,
    AdaptiveLifo { above: u32 },
    ProcessorSharing,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
pub enum Arrivals {
    Poisson {
        rate_per_s: f64,
    },
    Constant {
        rate_per_s: f64,
    },
    Uniform {
        min: String,
        max: String,
    },
    PoissonSteps {
        steps: Vec<(String, f64)>,
    },
    /// Gaps drawn by a distribution the loading program registered.
    Custom {
        name: String,
        #[serde(default)]
        params: std::collections::BTreeMap<String, ron::Value>,
    },
    Users {
        count: u32,
        think: Dist,
        #[serde(default)]
        ramp_up: Option<String>,
    },
    Mmpp {
        states: Vec<MmppState>,
    },
    Daily {
        profile: Vec<(String, f64)>,
        #[serde(default)]
        period: Option<String>,
    },
    Wave {
        trough_per_s: f64,
        peak_per_s: f64,
        #[serde(default)]
        period: Option<String>,
        #[serde(default)]
        peak_at: Option<String>,
    },
    FlashCrowd {
        base_per_s: f64,
        peak_per_s: f64,
        at: String,
        rise: String,
        #[serde(default)]
        hold: Option<String>,
        fall: String,
    },
    Trace {
        file: String,
        #[serde(default)]
        speed_up: Option<f64>,
        #[serde(default)]
        looping: Option<bool>,
    },
}

/// One state of a Markov-modulated Poisson process.
#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
pub struct MmppState {
    pub rate_per_s: f64,
    pub mean_holding: String,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
pub struct Balancer {
    pub name: String,
    pub policy: Policy,
    pub target: String,
    #[serde(default)]
    pub health_check: Option<HealthCheck>,
    #[serde(default)]
    pub outlier_detection: Option<OutlierDetection>,
    #[serde(default)]
    pub panic_threshold: Option<f64>,
    #[serde(default)]
    pub zone: Option<String>,
    #[serde(default)]
    pub failures: Option<Failures>,
    #[serde(default)]
    pub standby: Option<Standby>,
    #[serde(default)]
    pub zone_aware: Option<bool>,
    #[serde(default)]
    pub slow_start: Option<SlowStart>,
    #[serde(default)]
    pub per_client: Option<bool>,
}

/// The passive half of an active–passive balancer pair.
#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
pub struct Standby {
    #[serde(default)]
    pub failover_delay: Option<String>,
    /// The failover delay as a distribution, drawn per failover (instead of `failover_delay`).
    #[serde(default)]
    pub failover_time: Option<Dist>,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
pub struct SlowStart {
    pub window: String,
    #[serde(default)]
    pub aggression: Option<f64>,
    #[serde(default)]
    pub min_weight_percent: Option<f64>,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
pub struct OutlierDetection {
    #[serde(default)]
    pub consecutive_errors: Option<u32>,
    #[serde(default)]
    pub base_ejection_time: Option<String>,
    #[serde(default)]
    pub max_ejection_time: Option<String>,
    #[serde(default)]
    pub max_ejection_percent: Option<f64>,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
pub struct HealthCheck {
    #[serde(default)]
    pub interval: Option<String>,
    #[serde(default)]
    pub timeout: Option<String>,
    #[serde(default)]
    pub unhealthy_threshold: Option<u32>,
    #[serde(default)]
    pub healthy_threshold: Option<u32>,
    #[serde(default)]
    pub jitter: Option<String>,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
pub enum Policy {
    RoundRobin,
    Random,
    LeastConnections,
    LeastRequest {
        choices: u32,
        /// Envoy samples with replacement; hasim's default (and historical meaning) does not.
        #[serde(default)]
        replacement: bool,
        #[serde(default)]
        weights: Option<Vec<u32>>,
        #[serde(default)]
        active_request_bias: Option<f64>,
    },
    JoinShortestQueue,
    SmoothWeightedRoundRobin {
        /// Empty (left out): the target pool's groups' weights.
        #[serde(default)]
        weights: Vec<u32>,
    },
    WeightedRoundRobin {
        /// Empty (left out): the target pool's groups' weights.
        #[serde(default)]
        weights: Vec<u32>,
    },
    WeightedRandom {
        /// Empty (left out): the target pool's groups' weights.
        #[serde(default)]
        weights: Vec<u32>,
    },
    WeightedLeastConnections {
        /// Empty (left out): the target pool's groups' weights.
        #[serde(default)]
        weights: Vec<u32>,
    },
    PeakEwma {
        #[serde(default)]
        decay: Option<String>,
        #[serde(default)]
        default_rtt: Option<String>,
    },
    LeastResponseTime {
        #[serde(default)]
        decay: Option<String>,
        #[serde(default)]
        default_rtt: Option<String>,
    },
    FirstAvailable {
        maxconn: u32,
    },
    RingHash {
        keys: Keys,
        #[serde(default)]
        minimum_ring_size: Option<u32>,
    },
    Maglev {
        keys: Keys,
        #[serde(default)]
        table_size: Option<u32>,
    },
    JoinIdleQueue,
    DnsRoundRobin {
        #[serde(default)]
        ttl: Option<String>,
    },
    /// A policy the loading program registered (`scenarios::Extensions::policy`).
    Custom {
        name: String,
        #[serde(default)]
        params: std::collections::BTreeMap<String, ron::Value>,
    },
}

/// The request keys a hashing policy draws from.
#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
pub enum Keys {
    Uniform { n: u32 },
    Zipf { n: u32, s: f64 },
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
pub struct Pool {
    pub name: String,
    /// `NO_REPLICAS` when left out (allowed only with `autoscale`, which then sets it to its
    /// `max`: one slot per replica it may run).
    #[serde(default = "no_replicas")]
    pub replicas: u32,
    #[serde(default)]
    pub workers: Option<u32>,
    #[serde(default)]
    pub queue_capacity: Option<u32>,
    pub service: Dist,
    #[serde(default)]
    pub failures: Option<Failures>,
    #[serde(default)]
    pub gray_failures: Option<GrayFailures>,
    #[serde(default)]
    pub zones: Option<Vec<String>>,
    #[serde(default)]
    pub error_rate: Option<f64>,
    #[serde(default)]
    pub drop_stale: Option<bool>,
    #[serde(default)]
    pub discipline: Option<Discipline>,
    #[serde(default)]
    pub rate_limit: Option<TokenBucket>,
    #[serde(default)]
    pub slowdown_per_request: Option<f64>,
    #[serde(default)]
    pub dependencies: Option<Dependencies>,
    pub autoscale: Option<Autoscale>,
    #[serde(default)]
    pub discovery: Option<Registry>,
    /// Replica groups of different machines (then `replicas` is left out: their counts add up).
    #[serde(default)]
    pub groups: Option<Vec<ReplicaGroup>>,
    /// Repair crews shared by the replicas (a FIFO queue for a free crew).
    #[serde(default)]
    pub repair_crews: Option<u32>,
    /// The hosts (and racks) the replicas run on, failing with everything on them.
    #[serde(default)]
    pub hosts: Option<Hosts>,
    /// Containers' restart policy: back-off before a crashed replica restarts, readiness after.
    #[serde(default)]
    pub restart: Option<Restart>,
}

/// A container restart policy (Kubernetes' CrashLoopBackOff), durations as text.
#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
pub struct Restart {
    #[serde(default)]
    pub initial_backoff: Option<String>,
    #[serde(default)]
    pub max_backoff: Option<String>,
    #[serde(default)]
    pub reset_after: Option<String>,
    #[serde(default)]
    pub readiness_delay: Option<String>,
}

/// Hosts under a pool's replicas, and racks under the hosts.
#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
pub struct Hosts {
    pub count: u32,
    #[serde(default)]
    pub placement: Option<Placement>,
    #[serde(default)]
    pub failures: Option<Failures>,
    #[serde(default)]
    pub racks: Option<u32>,
    #[serde(default)]
    pub rack_failures: Option<Failures>,
}

/// How replicas are placed on hosts.
#[derive(Deserialize, Debug, Clone, Copy)]
#[serde(deny_unknown_fields)]
pub enum Placement {
    Spread,
    Packed,
}

/// Replicas of one kind inside a pool: four small machines, two large ones.
#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
pub struct ReplicaGroup {
    pub name: String,
    pub count: u32,
    #[serde(default)]
    pub speed: Option<f64>,
    #[serde(default)]
    pub workers: Option<u32>,
    #[serde(default)]
    pub weight: Option<u32>,
    #[serde(default)]
    pub zone: Option<String>,
}

/// What a pool's replicas call after their own work (multi-tier).
#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
pub struct Dependencies {
    #[serde(default)]
    pub wait_for: Option<WaitFor>,
    pub calls: Vec<Dependency>,
}

#[derive(Deserialize, Debug, Clone, Copy)]
#[serde(deny_unknown_fields)]
pub enum WaitFor {
    All,
    First,
    Quorum(u32),
    Sequence,
}

/// One dependency: a target and the caller's settings for it.
#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
pub struct Dependency {
    pub target: String,
    #[serde(default)]
    pub copies: Option<u32>,
    #[serde(default)]
    pub timeout: Option<String>,
    #[serde(default)]
    pub retry: Option<Retry>,
    #[serde(default)]
    pub hedge: Option<Hedge>,
    #[serde(default)]
    pub breaker: Option<Breaker>,
    #[serde(default)]
    pub max_in_flight: Option<u32>,
    /// What a call to a store asks of it.
    #[serde(default)]
    pub op: Option<StoreOp>,
}

/// Which node answers a primary-backup store's reads.
#[derive(Deserialize, Debug, Clone, Copy)]
#[serde(deny_unknown_fields)]
pub enum ReadsFrom {
    Primary,
    Backups,
}

/// What a pool's call asks of a store.
#[derive(Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub enum StoreOp {
    Read,
    Write,
    Lock,
}

/// `replicas` was left out.
pub const NO_REPLICAS: u32 = u32::MAX;

fn no_replicas() -> u32 {
    NO_REPLICAS
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
pub struct Autoscale {
    pub metric: ScaleMetric,
    pub min: u32,
    pub max: u32,
    #[serde(default)]
    pub initial: Option<u32>,
    #[serde(default)]
    pub evaluation_period: Option<String>,
    #[serde(default)]
    pub evaluation_periods: Option<u32>,
    #[serde(default)]
    pub scale_in_periods: Option<u32>,
    #[serde(default)]
    pub cooldown: Option<String>,
    #[serde(default)]
    pub scale_in_cooldown: Option<String>,
    #[serde(default)]
    pub warm_up: Option<String>,
    #[serde(default)]
    pub drain: Option<String>,
    #[serde(default)]
    pub tolerance: Option<f64>,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
pub enum ScaleMetric {
    Utilisation { target: f64 },
    InFlight { per_replica: f64 },
    QueueLength { per_replica: f64 },
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
pub struct Registry {
    #[serde(default)]
    pub registration_delay: Option<String>,
    #[serde(default)]
    pub ttl: Option<String>,
    #[serde(default)]
    pub heartbeat: Option<String>,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
pub struct TokenBucket {
    pub rate_per_s: f64,
    pub burst: u32,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
pub struct Failures {
    pub time_to_failure: Dist,
    pub time_to_repair: Dist,
}

/// A pool's random gray failures: each replica healthy for `time_between`, then up but slow
/// and/or failing for `duration`, as under a scheduled `Slow` fault.
#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
pub struct GrayFailures {
    pub time_between: Dist,
    pub duration: Dist,
    #[serde(default)]
    pub factor: Option<f64>,
    #[serde(default)]
    pub error_rate: Option<f64>,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
pub enum Dist {
    Constant(String),
    Exponential {
        mean: String,
    },
    Uniform {
        low: String,
        high: String,
    },
    Normal {
        mean: String,
        sd: String,
    },
    LogNormal {
        #[serde(default)]
        mean: Option<String>,
        #[serde(default)]
        sd: Option<String>,
        #[serde(default)]
        median: Option<String>,
        #[serde(default)]
        p99: Option<String>,
    },
    Erlang {
        k: u32,
        mean: String,
    },
    HyperExponential {
        branches: Vec<Branch>,
    },
    Pareto {
        scale: String,
        shape: f64,
    },
    Weibull {
        scale: String,
        shape: f64,
    },
    Empirical(Vec<String>),
    /// A distribution the loading program registered (`scenarios::Extensions::distribution`).
    Custom {
        name: String,
        #[serde(default)]
        params: std::collections::BTreeMap<String, ron::Value>,
    },
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
pub struct Branch {
    pub p: f64,
    pub mean: String,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
pub enum Expect {
    Availability {
        min: f64,
    },
    LatencyP99 {
        max: String,
    },
    LatencyMean {
        max: String,
    },
    Throughput {
        min_rps: f64,
    },
    ErrorBudget {
        max: f64,
    },
    MaxRpo {
        writes: u64,
    },
    MaxRto {
        max: String,
    },
    Store {
        metric: String,
        #[serde(default)]
        min: Option<f64>,
        #[serde(default)]
        max: Option<f64>,
    },
}
