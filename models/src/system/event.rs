//! Everything that can happen, by family: the run's own two events, and one enum per subsystem
//! (each handled in its subsystem's file). Ids are indices into the subsystems' tables.

/// An event of the running topology.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    /// A caller's request, attempt or timer (calls.rs).
    Call(CallEvent),
    /// A replica's work (service.rs).
    Service(ServiceEvent),
    /// A crash, a repair, a scheduled fault, a gray failure (faults.rs, gray.rs).
    Fault(FaultEvent),
    /// A balancer's probes, ejections and instances (routing.rs).
    Balancer(BalancerEvent),
    /// A network partition (routing.rs).
    Network(NetworkEvent),
    /// Autoscaling (scaling.rs).
    Scaling(ScalingEvent),
    /// Service discovery (discovery.rs).
    Discovery(DiscoveryEvent),
    /// The warm-up period ends.
    WarmupEnd,
    /// A time-series window ends: sample every replica.
    Sample,
}

/// Calls and attempts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CallEvent {
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
}

/// Work at a replica.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ServiceEvent {
    /// Attempt `0` finishes service.
    Done(u32),
}

/// Replicas' failures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaultEvent {
    /// Replica `0` (global index) crashes.
    Crash(u32),
    /// Replica `0` comes back.
    Repair(u32),
    /// Scheduled fault `0` begins: its replica goes down or slows.
    ScheduledStart(u32),
    /// Scheduled fault `0` ends: its replica comes back unless another holds it down.
    ScheduledEnd(u32),
    /// Replica `0` turns gray at random.
    GrayStart(u32),
    /// Replica `0`'s random gray episode ends.
    GrayEnd(u32),
}

/// Balancers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BalancerEvent {
    /// Balancer instance `0` probes its backend `1`.
    Probe(u32, u32),
    /// Balancer instance `0`'s probe of backend `1` timed out (the replica was down).
    ProbeTimedOut(u32, u32),
    /// Balancer instance `0` returns ejected backend `1` to rotation.
    Uneject(u32, u32),
    /// Instance `1` of balancer `0` fails.
    Crash(u32, u32),
    /// Instance `1` of balancer `0` is repaired.
    Repair(u32, u32),
    /// Balancer `0`'s failover delay has passed.
    Failover(u32),
    /// Scheduled balancer outage `0` begins.
    OutageStart(u32),
    /// Scheduled balancer outage `0` ends.
    OutageEnd(u32),
}

/// The network between zones.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NetworkEvent {
    /// Network partition `0` begins.
    PartitionStart(u32),
    /// Network partition `0` heals.
    PartitionEnd(u32),
}

/// Autoscaling.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScalingEvent {
    /// An evaluation period of scaled pool `0` ends.
    Eval(u32),
    /// Replica `0` has warmed up after a scale-out.
    WarmedUp(u32),
    /// Replica `0`'s drain time is over: it is removed.
    Drained(u32),
}

/// Service discovery.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DiscoveryEvent {
    /// Replica `0`'s registration goes through.
    Register(u32),
    /// Replica `0`'s registration expires.
    Expire(u32),
}
