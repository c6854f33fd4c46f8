//! Everything that can happen, by family: the run's own two events, and one enum per subsystem
//! (each handled in its subsystem's file).

use super::ids::{AttemptId, BalancerId, CallId, CallerId, InstanceId, PoolId, ReplicaId};

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
    /// Store `0`'s event waiting in its slot `1` (store/mod.rs: a store's events are its own
    /// type, kept out of this enum so that it stays small).
    Store(u32, u32),
    /// The warm-up period ends.
    WarmupEnd,
    /// A time-series window ends: sample every replica.
    Sample,
}

/// Calls and attempts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CallEvent {
    /// Client `0` issues its next request.
    Arrival(CallerId),
    /// Call `0` reaches its overall deadline: the client gives up.
    Deadline(CallId),
    /// Attempt `0` reaches its per-try timeout: the client abandons it.
    TryTimeout(AttemptId),
    /// Call `0`'s backoff is over: its next attempt goes out.
    Retry(CallId),
    /// Call `0` has waited the hedging delay: another copy goes out.
    Hedge(CallId),
}

/// Work at a replica.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ServiceEvent {
    /// Attempt `0` finishes service.
    Done(AttemptId),
}

/// Replicas' failures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaultEvent {
    /// Replica `0` (global index) crashes.
    Crash(ReplicaId),
    /// Replica `0` comes back.
    Repair(ReplicaId),
    /// Scheduled fault `0` begins: its replica goes down or slows.
    ScheduledStart(u32),
    /// Scheduled fault `0` ends: its replica comes back unless another holds it down.
    ScheduledEnd(u32),
    /// Replica `0` turns gray at random.
    GrayStart(ReplicaId),
    /// Replica `0`'s random gray episode ends.
    GrayEnd(ReplicaId),
    /// Host or rack `0` (hosts.rs) fails: every replica on it goes down.
    DomainDown(u32),
    /// Host or rack `0` is repaired.
    DomainUp(u32),
}

/// Balancers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BalancerEvent {
    /// Balancer instance `0` probes its backend `1`.
    Probe(InstanceId, u32),
    /// Balancer instance `0`'s probe of backend `1` timed out (the replica was down).
    ProbeTimedOut(InstanceId, u32),
    /// Balancer instance `0` returns ejected backend `1` to rotation.
    Uneject(InstanceId, u32),
    /// Instance `1` of balancer `0` fails.
    Crash(BalancerId, u32),
    /// Instance `1` of balancer `0` is repaired.
    Repair(BalancerId, u32),
    /// Balancer `0`'s failover delay has passed.
    Failover(BalancerId),
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
    Eval(PoolId),
    /// Replica `0` has warmed up after a scale-out.
    WarmedUp(ReplicaId),
    /// Replica `0`'s drain time is over: it is removed.
    Drained(ReplicaId),
}

/// Service discovery.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DiscoveryEvent {
    /// Replica `0`'s registration goes through.
    Register(ReplicaId),
    /// Replica `0`'s registration expires.
    Expire(ReplicaId),
}

#[cfg(test)]
mod tests {
    /// Every pending event is stored in the queue: nesting the families must not make it
    /// bigger than the flat enum of two `u32` payloads it replaced.
    #[test]
    fn an_event_is_no_bigger_than_a_tag_and_two_ids() {
        assert!(std::mem::size_of::<super::Event>() <= 12);
    }
}
