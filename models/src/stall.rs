//! Which component a stalled run was stuck in: the kernel stops a run whose clock has not moved
//! for [`sim_core::STALL_EVENTS`] events and hands the model the next event; this names the
//! client, balancer or replica it belongs to, in the user's words.

use super::{Event, System};

impl<O> System<O> {
    /// The component `event` belongs to, for the error of a stalled run.
    pub(super) fn component_of(&self, event: &Event) -> String {
        let replica = |r: u32| match self.replicas.get(r as usize) {
            Some(rep) => match self.pools.get(rep.pool as usize) {
                Some(p) => format!("replica {} of pool `{}`", rep.index, p.name),
                None => format!("replica {r}"),
            },
            None => format!("replica {r}"),
        };
        let balancer = |b: u32| match self.balancers.get(b as usize) {
            Some(lb) => format!("balancer `{}`", lb.name),
            None => format!("balancer {b}"),
        };
        let caller = |c: u32| {
            if c < self.n_clients {
                match self.client_names.get(c as usize) {
                    Some(n) => format!("client `{n}`"),
                    None => format!("client {c}"),
                }
            } else {
                match self.hops.get((c - self.n_clients) as usize) {
                    Some(h) => format!("the calls {}", h.name),
                    None => format!("caller {c}"),
                }
            }
        };
        let call = |c: u32| match self.calls.get(c as usize) {
            Some(call) => caller(call.client),
            None => format!("call {c}"),
        };
        let attempt = |a: u32| match self.attempts.get(a as usize) {
            Some(at) => call(at.call),
            None => format!("attempt {a}"),
        };
        match *event {
            Event::Arrival(c) => format!("{}'s arrivals", caller(c)),
            Event::Deadline(c) => format!("{}'s timeouts", call(c)),
            Event::TryTimeout(a) => format!("{}'s per-try timeouts", attempt(a)),
            Event::Retry(c) => format!("{}'s retries", call(c)),
            Event::Hedge(c) => format!("{}'s hedged copies", call(c)),
            Event::Done(a) => match self.attempts.get(a as usize) {
                Some(at) => format!("service at {}", replica(at.replica)),
                None => format!("service of attempt {a}"),
            },
            Event::Crash(r) | Event::Repair(r) => format!("crashes and repairs of {}", replica(r)),
            Event::GrayStart(r) | Event::GrayEnd(r) => format!("gray failures of {}", replica(r)),
            Event::WarmedUp(r) | Event::Drained(r) => format!("autoscaling of {}", replica(r)),
            Event::Register(r) | Event::Expire(r) => {
                format!("service discovery of {}", replica(r))
            }
            Event::FaultStart(f) | Event::FaultEnd(f) => match self.scheduled.get(f as usize) {
                Some(s) => format!("a scheduled fault of {}", replica(s.replica)),
                None => format!("scheduled fault {f}"),
            },
            Event::Probe(b, _) | Event::ProbeTimedOut(b, _) => {
                format!("{}'s health checks", balancer(b))
            }
            Event::Uneject(b, _) => format!("{}'s outlier detection", balancer(b)),
            Event::BalancerCrash(b, _)
            | Event::BalancerRepair(b, _)
            | Event::BalancerFailover(b) => {
                format!("{}'s failures", balancer(b))
            }
            Event::BalancerOutageStart(o) | Event::BalancerOutageEnd(o) => {
                match self.balancer_outages.get(o as usize) {
                    Some(x) => format!("an outage of {}", balancer(x.balancer)),
                    None => format!("balancer outage {o}"),
                }
            }
            Event::PartitionStart(p) | Event::PartitionEnd(p) => {
                match self.partitions.get(p as usize) {
                    Some(x) => format!("network partition `{}`", x.label),
                    None => format!("network partition {p}"),
                }
            }
            Event::ScaleEval(p) => match self.pools.get(p as usize) {
                Some(pool) => format!("autoscaling of pool `{}`", pool.name),
                None => format!("autoscaling of pool {p}"),
            },
            Event::WarmupEnd => "the end of warm-up".to_string(),
            Event::Sample => "the time-series sampling".to_string(),
        }
    }
}
