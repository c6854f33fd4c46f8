//! What the models know at the end of a run, as plain integers: `reports` turns it into figures.

use super::*;

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

/// One replica group's figures over the window (a pool's `groups`).
#[derive(Clone, Debug)]
pub struct GroupSummary {
    /// Pool name.
    pub pool: String,
    /// The group as the scenario gave it.
    pub group: crate::fleet::GroupSpec,
    /// Index (within the pool) of its first replica.
    pub first: u32,
    /// Σ over its replicas of ∫ busy workers dt (worker·ns).
    pub busy_area: u128,
    /// Requests its replicas completed.
    pub served: u64,
    /// Requests the whole pool completed.
    pub pool_served: u64,
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
    pub scaling: Vec<scaling::ScalingSummary>,
    /// Replicas whose pool has random gray failures.
    pub gray_replicas: u32,
    /// Each store's figures, in the scenario's order.
    pub stores: Vec<crate::store::StoreSummary>,
    /// The component the run was stuck in, when the kernel stopped it as stalled.
    pub stalled: Option<String>,
    /// Replica groups of the pools that have them (empty when none has).
    pub groups: Vec<GroupSummary>,
}

impl<O: Observer<Record>> System<O> {
    pub(super) fn summary(&mut self, run: RunStats) -> Summary {
        let end = run.end;
        self.check_invariants();
        let replicas = self
            .service
            .replicas
            .iter()
            .map(|r| {
                let pool = &self.service.pools[r.pool as usize];
                ReplicaSummary {
                    pool: pool.name.clone(),
                    index: r.index,
                    workers: r.workers,
                    busy_area: r.busy.area_until(end).0,
                    queue_area: r.queued.area_until(end).0,
                    up_area: r.up_level.area_until(end).0,
                    served: r.served,
                    crashes: r.crashes,
                }
            })
            .collect();
        let (service_up_area, window_ns) = self.service.service_up.area_until(end);
        Summary {
            window_ns,
            service_up_area,
            replicas,
            conservation: self.req.counts,
            run,
            health_checked: self
                .routing
                .balancers
                .iter()
                .any(|b| b.health.is_some() || b.outlier.is_some()),
            resilience: self.req.resilience,
            resilient: self.req.clients[..self.req.n_clients as usize]
                .iter()
                .any(|c| {
                    c.retry.is_some()
                        || c.hedge.is_some()
                        || c.breaker.is_some()
                        || c.max_in_flight != u64::MAX
                })
                || self.service.replicas.iter().any(|r| r.rate_limit.is_some()),
            partition_labels: self
                .routing
                .partitions
                .iter()
                .map(|p| p.label.clone())
                .collect(),
            balancer_names: (self.routing.balancers[..self.routing.lb_instances.balancers()]
                .iter())
            .map(|b| b.name.clone())
            .collect(),
            hops: self.tiers.hops.clone(),
            scaling: self.scaling_summary(end),
            gray_replicas: self.faults.gray.replicas(),
            stores: self.stores.iter_mut().map(|s| s.finish(run)).collect(),
            stalled: self.stall.clone(),
            groups: self.group_summaries(end),
        }
    }
}

impl<O: Observer<Record>> System<O> {
    fn group_summaries(&self, end: SimTime) -> Vec<GroupSummary> {
        let reps = &self.service.replicas;
        (self.service.groups.iter())
            .map(|(p, first, g)| {
                let pool = &self.service.pools[*p as usize];
                let mine = &reps[*first as usize..(*first + g.count) as usize];
                let n = reps.len() as u32;
                let pool_served = (pool.first_replica..n)
                    .map(|r| &reps[r as usize])
                    .take_while(|r| r.pool == *p)
                    .map(|r| r.served)
                    .sum();
                GroupSummary {
                    pool: pool.name.clone(),
                    group: g.clone(),
                    first: first - pool.first_replica,
                    busy_area: mine.iter().map(|r| r.busy.area_until(end).0).sum(),
                    served: mine.iter().map(|r| r.served).sum(),
                    pool_served,
                }
            })
            .collect()
    }
}
