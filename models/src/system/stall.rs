//! Which component a stalled run was stuck in: the kernel stops a run whose clock has not moved
//! for [`sim_core::STALL_EVENTS`] events and hands the model the next event; this names the
//! client, balancer, replica or store it belongs to, in the user's words.

use super::*;

impl<O> System<O> {
    /// The component `event` belongs to, for the error of a stalled run.
    pub(super) fn component_of(&self, event: &Event) -> String {
        let replica = |r: ReplicaId| match self.service.replicas.get(r.ix()) {
            Some(rep) => match self.service.pools.get(rep.pool as usize) {
                Some(p) => format!("replica {} of pool `{}`", rep.index, p.name),
                None => format!("replica {r}"),
            },
            None => format!("replica {r}"),
        };
        let balancer = |b: u32| match self.routing.balancers.get(b as usize) {
            Some(lb) => format!("balancer `{}`", lb.name),
            None => format!("balancer {b}"),
        };
        let caller = |c: CallerId| match c.hop(self.req.n_clients) {
            None => match self.client_names.get(c.ix()) {
                Some(n) => format!("client `{n}`"),
                None => format!("client {c}"),
            },
            Some(h) => match self.tiers.hops.get(h as usize) {
                Some(h) => format!("the calls {}", h.name),
                None => format!("caller {c}"),
            },
        };
        let call = |c: CallId| match self.req.calls.get(c.ix()) {
            Some(call) => caller(call.client),
            None => format!("call {c}"),
        };
        let attempt = |a: AttemptId| match self.req.attempts.get(a.ix()) {
            Some(at) => call(at.call),
            None => format!("attempt {a}"),
        };
        match *event {
            Event::Call(e) => match e {
                CallEvent::Arrival(c) => format!("{}'s arrivals", caller(c)),
                CallEvent::Deadline(c) => format!("{}'s timeouts", call(c)),
                CallEvent::TryTimeout(a) => format!("{}'s per-try timeouts", attempt(a)),
                CallEvent::Retry(c) => format!("{}'s retries", call(c)),
                CallEvent::Hedge(c) => format!("{}'s hedged copies", call(c)),
            },
            Event::Service(ServiceEvent::Done(a)) => match self.req.attempts.get(a.ix()) {
                Some(at) => format!("service at {}", replica(at.replica)),
                None => format!("service of attempt {a}"),
            },
            Event::Fault(e) => match e {
                FaultEvent::Crash(r) | FaultEvent::Repair(r) => {
                    format!("crashes and repairs of {}", replica(r))
                }
                FaultEvent::GrayStart(r) | FaultEvent::GrayEnd(r) => {
                    format!("gray failures of {}", replica(r))
                }
                FaultEvent::DomainDown(d) | FaultEvent::DomainUp(d) => {
                    format!("crashes and repairs of host or rack {d}")
                }
                FaultEvent::ScheduledStart(f) | FaultEvent::ScheduledEnd(f) => {
                    match self.faults.scheduled.get(f as usize) {
                        Some(s) => {
                            format!("a scheduled fault of {}", replica(ReplicaId(s.replica)))
                        }
                        None => format!("scheduled fault {f}"),
                    }
                }
            },
            Event::Scaling(e) => match e {
                ScalingEvent::WarmedUp(r) | ScalingEvent::Drained(r) => {
                    format!("autoscaling of {}", replica(r))
                }
                ScalingEvent::Eval(p) => match self.service.pools.get(p.ix()) {
                    Some(pool) => format!("autoscaling of pool `{}`", pool.name),
                    None => format!("autoscaling of pool {p}"),
                },
            },
            Event::Discovery(DiscoveryEvent::Register(r) | DiscoveryEvent::Expire(r)) => {
                format!("service discovery of {}", replica(r))
            }
            Event::Balancer(e) => match e {
                BalancerEvent::Probe(b, _) | BalancerEvent::ProbeTimedOut(b, _) => {
                    format!("{}'s health checks", balancer(b.0))
                }
                BalancerEvent::Uneject(b, _) => format!("{}'s outlier detection", balancer(b.0)),
                BalancerEvent::Crash(b, _)
                | BalancerEvent::Repair(b, _)
                | BalancerEvent::Failover(b) => format!("{}'s failures", balancer(b.0)),
                BalancerEvent::OutageStart(o) | BalancerEvent::OutageEnd(o) => {
                    match self.routing.balancer_outages.get(o as usize) {
                        Some(x) => format!("an outage of {}", balancer(x.balancer)),
                        None => format!("balancer outage {o}"),
                    }
                }
            },
            Event::Network(NetworkEvent::PartitionStart(p) | NetworkEvent::PartitionEnd(p)) => {
                match self.routing.partitions.get(p as usize) {
                    Some(x) => format!("network partition `{}`", x.label),
                    None => format!("network partition {p}"),
                }
            }
            Event::Store(s, _) => match self.stores.get(s as usize) {
                Some(store) => format!("store `{}`", store.name()),
                None => format!("store {s}"),
            },
            Event::WarmupEnd => "the end of warm-up".to_string(),
            Event::Sample => "the time-series sampling".to_string(),
        }
    }
}
