//! The typed records a run emits to its observer.

use sim_core::{SimDuration, SimTime};

/// How a request ended.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash, PartialOrd, Ord)]
pub enum Outcome {
    /// A replica served it before the client's timeout.
    Succeeded,
    /// The replica's queue was full.
    Rejected,
    /// The client gave up waiting.
    TimedOut,
    /// The replica crashed while the request was queued or in service.
    Crashed,
    /// The balancer sent it to a replica that was down (connection refused).
    Refused,
    /// The replica served it and answered with an error (the pool's `error_rate`).
    Error,
    /// The client's circuit breaker was open: it failed at once, without being sent.
    ShortCircuited,
}

impl Outcome {
    /// Every outcome, in report order.
    pub const ALL: [Outcome; Outcome::COUNT] = [
        Outcome::Succeeded,
        Outcome::Rejected,
        Outcome::TimedOut,
        Outcome::Crashed,
        Outcome::Refused,
        Outcome::Error,
        Outcome::ShortCircuited,
    ];

    /// How many outcomes there are.
    pub const COUNT: usize = 7;

    /// The name used in reports.
    pub fn name(self) -> &'static str {
        match self {
            Outcome::Succeeded => "succeeded",
            Outcome::Rejected => "rejected",
            Outcome::TimedOut => "timed_out",
            Outcome::Crashed => "crashed",
            Outcome::Refused => "refused",
            Outcome::Error => "error",
            Outcome::ShortCircuited => "short_circuited",
        }
    }
}

/// Replicas that report their load window by window one by one ([`Record::ReplicaSample`]);
/// a larger fleet is summarised ([`Record::FleetSample`]): a line per replica stops being
/// readable, and a record per replica per window would cost more than the requests.
pub const REPLICA_SAMPLES: usize = 64;

/// Something observable that happened in a run.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Record {
    /// A client issued a request.
    Offered {
        /// Index of the client.
        client: u32,
        /// The request's sequence number in the run.
        request: u64,
    },
    /// The client learned how its request ended.
    Finished {
        /// The request's sequence number in the run.
        request: u64,
        /// Global index of the replica it was sent to (`u32::MAX` if none).
        replica: u32,
        /// Index of the client.
        client: u32,
        /// When the request was issued.
        arrived: SimTime,
        /// The result.
        outcome: Outcome,
        /// Time from issue to outcome.
        latency: SimDuration,
        /// Time the successful attempt spent queued before service began (zero otherwise).
        waited: SimDuration,
        /// Attempts made (1 without retries or hedging; short-circuited ones included).
        attempts: u32,
    },
    /// A dependency call (one hop of a multi-tier request) ended.
    HopFinished {
        /// Index of the hop in the scenario's hops.
        hop: u32,
        /// When the call was made.
        arrived: SimTime,
        /// Global index of the replica its last attempt went to (`u32::MAX` if none).
        replica: u32,
        /// The result; `None` when its caller cancelled it (a quorum met, a sibling failed, the
        /// caller's replica crashed).
        outcome: Option<Outcome>,
        /// Time from call to outcome.
        latency: SimDuration,
        /// Attempts made.
        attempts: u32,
    },
    /// An attempt failed and the client will try again after `delay`.
    Retry {
        /// Index of the client.
        client: u32,
        /// The request's sequence number in the run.
        request: u64,
        /// The attempt that will be made (2 for the first retry).
        attempt: u32,
        /// The backoff.
        delay: SimDuration,
    },
    /// A dependency call's attempt failed and its caller (a hop) will try again after `delay`.
    HopRetry {
        /// Index of the hop in the scenario's hops.
        hop: u32,
        /// The sequence number of the end-user request the call serves.
        request: u64,
        /// The attempt that will be made (2 for the first retry).
        attempt: u32,
        /// The backoff.
        delay: SimDuration,
    },
    /// A hop's circuit breaker (in front of its dependency) changed state.
    HopBreakerChange {
        /// Index of the hop in the scenario's hops.
        hop: u32,
        /// The new state.
        state: crate::breaker::BreakerState,
    },
    /// A balancer's virtual IP went dark (no instance serving) or came back.
    BalancerChange {
        /// Index of the balancer.
        balancer: u32,
        /// True when an instance serves it again.
        serving: bool,
    },
    /// A network partition began (`open`) or healed.
    Partition {
        /// Index of the partition in the scenario.
        index: u32,
        /// True when it begins.
        open: bool,
    },
    /// A client's circuit breaker changed state.
    BreakerChange {
        /// Index of the client.
        client: u32,
        /// The new state.
        state: crate::breaker::BreakerState,
    },
    /// A replica crashed.
    ReplicaDown {
        /// Global replica index.
        replica: u32,
    },
    /// A replica came back.
    ReplicaUp {
        /// Global replica index.
        replica: u32,
    },
    /// The warm-up period ended; statistics start now.
    WarmupEnded,
    /// A scheduled slowdown began or ended: service times starting at the replica from now on
    /// are `factor` times their draw (1 = normal again).
    ReplicaSlow {
        /// Global replica index.
        replica: u32,
        /// The multiplier now in force.
        factor: f64,
        /// The extra error probability now in force (0 = none).
        error_rate: f64,
    },
    /// A random gray-failure episode (a pool's `gray_failures`) began or ended; the
    /// [`Record::ReplicaSlow`] with the state it puts in force follows at once.
    GrayEpisode {
        /// Global replica index.
        replica: u32,
        /// True when it begins.
        begins: bool,
    },
    /// A balancer's health checks changed their verdict on a replica.
    HealthChange {
        /// Index of the balancer.
        balancer: u32,
        /// Global replica index.
        replica: u32,
        /// Healthy again (true) or taken out of rotation (false).
        healthy: bool,
    },
    /// An autoscaler decided to change a pool's replica count.
    Scaled {
        /// Index of the pool.
        pool: u32,
        /// Replicas before (active and warming).
        from: u32,
        /// Replicas after.
        to: u32,
        /// Scale-out: start of the first period of the breach that triggered it (else now).
        breach_since: SimTime,
        /// Scale-out: when the new replicas are warm.
        ready_at: SimTime,
    },
    /// An autoscaler's evaluation period ended (whatever it decided).
    ScaleCheck {
        /// Index of the pool.
        pool: u32,
        /// The metric per ready replica over the period.
        metric: f64,
        /// Replicas it asks for (before streaks and cooldowns).
        desired: u32,
    },
    /// A scaled-in replica was removed at the end of its drain, failing what it still held.
    Removed {
        /// Global replica index.
        replica: u32,
        /// Requests it failed.
        failed: u32,
    },
    /// A replica became visible in its pool's registry, or its registration ended.
    Registered {
        /// Global replica index.
        replica: u32,
        /// Registered now (true) or no longer.
        registered: bool,
    },
    /// Detail (traces only): an attempt of a request is sent (after its breaker let it).
    Attempt {
        /// The request's sequence number (a dependency call carries its end-user request's).
        request: u64,
        /// The caller: a client's index, or `clients + hop` for a dependency call.
        caller: u32,
        /// 1 for the first attempt.
        attempt: u32,
        /// A hedged copy rather than a first try or a retry.
        hedge: bool,
    },
    /// Detail (traces only): a replica a balancer could pick for an attempt, with the loads it
    /// saw; one per eligible replica, just before [`Record::Picked`].
    Candidate {
        /// The request's sequence number.
        request: u64,
        /// Index of the balancer (in the scenario).
        balancer: u32,
        /// Global replica index.
        replica: u32,
        /// This balancer's attempts in flight to it.
        in_flight: u32,
        /// Requests at the replica (queued and in service, from every caller).
        occupancy: u32,
    },
    /// Detail (traces only): the balancer's choice for an attempt.
    Picked {
        /// The request's sequence number.
        request: u64,
        /// Index of the balancer (in the scenario).
        balancer: u32,
        /// Global replica index.
        replica: u32,
    },
    /// Detail (traces only): an attempt joined a replica's queue.
    Enqueued {
        /// The request's sequence number.
        request: u64,
        /// Global replica index.
        replica: u32,
        /// Queue length with it.
        queued: u32,
    },
    /// Detail (traces only): a replica began serving an attempt.
    ServiceStarted {
        /// The request's sequence number.
        request: u64,
        /// Global replica index.
        replica: u32,
    },
    /// Detail (traces only): a replica finished serving an attempt.
    ServiceEnded {
        /// The request's sequence number.
        request: u64,
        /// Global replica index.
        replica: u32,
    },
    /// Detail (traces only): a replica serving an attempt of a request calls a dependency (one
    /// hop of a multi-tier request), after its own work.
    DependencyCall {
        /// The end-user request's sequence number.
        request: u64,
        /// Index of the hop in the scenario's hops.
        hop: u32,
        /// Global index of the calling replica.
        replica: u32,
    },
    /// Detail (traces only): a dependency call ended (the request's view of
    /// [`Record::HopFinished`]).
    DependencyEnded {
        /// The end-user request's sequence number.
        request: u64,
        /// Index of the hop in the scenario's hops.
        hop: u32,
        /// The result; `None` when its caller cancelled it.
        outcome: Option<Outcome>,
    },
    /// End of a time-series window: a scaled pool's mean replica counts over the window that
    /// ends now. An observation, not part of the trajectory.
    PoolSample {
        /// Index of the pool.
        pool: u32,
        /// Mean replicas provisioned (warming, active, draining).
        provisioned: f64,
        /// Mean replicas ready (warm and in the balancers' sets).
        ready: f64,
    },
    /// End of a time-series window: one replica's time-averaged state over the window that ends
    /// now (the last window may be shorter). An observation, not part of the trajectory.
    ReplicaSample {
        /// Global replica index.
        replica: u32,
        /// Mean requests in service.
        in_service: f64,
        /// Mean requests waiting in its queue.
        queued: f64,
        /// Fraction of the window it was up.
        up: f64,
    },
    /// A store's operation (store/mod.rs); its store's collector takes it.
    Store(crate::store::StoreRecord),
    /// End of a time-series window in a run of more than [`REPLICA_SAMPLES`] replicas, which
    /// then only the first [`REPLICA_SAMPLES`] report one by one: the rest summed, and the
    /// spread of load across every replica. An observation, not part of the trajectory.
    FleetSample {
        /// Sum of the up fractions of the replicas without a [`Record::ReplicaSample`].
        up_rest: f64,
        /// Requests in flight (in service + queued), time-averaged over the window, across all
        /// replicas: the median, the 90th and 99th percentiles (nearest rank) and the maximum.
        load: [f64; 4],
    },
}

impl Record {
    /// True for the detail records that only traces ask for: they are emitted only to an
    /// observer that is [`sim_core::Observer::detailed`], and are not part of the trajectory's
    /// fingerprint.
    #[inline]
    pub fn is_detail(&self) -> bool {
        matches!(
            self,
            Record::Attempt { .. }
                | Record::Candidate { .. }
                | Record::Picked { .. }
                | Record::Enqueued { .. }
                | Record::ServiceStarted { .. }
                | Record::ServiceEnded { .. }
                | Record::DependencyCall { .. }
                | Record::DependencyEnded { .. }
        )
    }
}
