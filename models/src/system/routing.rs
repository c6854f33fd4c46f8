//! Routing: balancers and their instances (shared or per caller), active–passive pairs and their
//! failures, health probes and outlier ejection, zones and network partitions; the path of an
//! attempt from its caller through balancers to a replica.

use super::*;

/// Balancers, their instances and pairs, and the zones and partitions between callers and
/// replicas.
pub(super) struct Routing {
    /// Balancer instances: balancer `b`'s first is `b`; per-client ones' others follow.
    pub(super) balancers: Vec<Balancer>,
    /// Which balancer each instance belongs to, and which instance each caller uses.
    pub(super) lb_instances: crate::balancer::Instances,
    /// Per balancer: its pool (if its backends are a pool's replicas) or the next balancer.
    pub(super) balancer_target: Vec<Target>,
    /// Per balancer, its instances and which holds the VIP; their crash/repair process and
    /// streams (`balancer/NAME/instance/I/failures`).
    pub(super) lb_pair: Vec<crate::lb_pair::Pair>,
    pub(super) lb_failures: Vec<Option<crate::spec::FailureSpec>>,
    pub(super) lb_failure_rng: Vec<[Option<Stream>; 2]>,
    /// Per balancer, a failover delay drawn per failover and its stream
    /// (`balancer/NAME/failover`), when the delay is a distribution.
    pub(super) lb_failover: Vec<Option<(Dist, Stream)>>,
    pub(super) balancer_outages: Vec<crate::spec::BalancerOutage>,
    /// Zone of each client, balancer and replica (`NONE`: none, never cut off).
    pub(super) client_zone: Vec<u32>,
    pub(super) balancer_zone: Vec<u32>,
    pub(super) replica_zone: Vec<u32>,
    /// Network partitions, and per pair of zones (row-major) how many of them cut it now.
    pub(super) partitions: Vec<crate::spec::PartitionSpec>,
    pub(super) cut: Vec<u16>,
    pub(super) zones: usize,
    /// Partitions open now (routing checks links only when some are).
    pub(super) partitions_open: u32,
}

impl<O: Observer<Record>> System<O> {
    /// A probe: a live replica passes at once; a crashed one fails when the timeout runs out.
    /// Probes start on a fixed cadence (plus jitter), whatever their results.
    pub(super) fn on_probe(
        &mut self,
        now: SimTime,
        b: InstanceId,
        backend: u32,
        sched: &mut Scheduler<Event>,
    ) {
        let lb = &mut self.routing.balancers[b];
        let owner = self.routing.lb_instances.owner(b) as usize;
        let (Some(h), Some(rng), Target::Pool(p)) = (
            &lb.health,
            lb.health_rng.as_mut(),
            self.routing.balancer_target[owner],
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
            Event::Balancer(BalancerEvent::Probe(b, backend)),
        );
        let timeout = spec.timeout;
        let r = self.service.pools[p].first_replica + backend;
        let reachable = !self.is_cut(
            self.routing.balancer_zone[owner],
            self.routing.replica_zone[r as usize],
        );
        if self.service.replicas[r as usize].is_up && reachable {
            self.on_probe_result(now, b, backend, true);
        } else {
            sched.after(
                timeout,
                Event::Balancer(BalancerEvent::ProbeTimedOut(b, backend)),
            );
        }
    }

    pub(super) fn on_probe_result(
        &mut self,
        now: SimTime,
        b: InstanceId,
        backend: u32,
        passed: bool,
    ) {
        let lb = &mut self.routing.balancers[b];
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
    pub(super) fn record_health(
        &mut self,
        now: SimTime,
        b: InstanceId,
        backend: u32,
        healthy: bool,
    ) {
        if healthy && let Some(s) = self.routing.balancers[b].slow_start.as_mut() {
            s.rejoined(backend as usize, now);
        }
        let b = self.routing.lb_instances.owner(b);
        if let Target::Pool(p) = self.routing.balancer_target[b as usize] {
            let replica = self.service.pools[p].first_replica + backend;
            let rec = Record::HealthChange {
                balancer: b,
                replica,
                healthy,
            };
            self.observer.record(now, &rec);
        }
    }

    /// Replica `r` from zone `from`: `Ok(r)`, or `Err(Some(r))` across a partition.
    #[inline]
    pub(super) fn reach(&self, from: u32, r: ReplicaId) -> Result<ReplicaId, Option<ReplicaId>> {
        if self.is_cut(from, self.routing.replica_zone[r.ix()]) {
            Err(Some(r))
        } else {
            Ok(r)
        }
    }

    pub(super) fn schedule_lb_crash(
        &mut self,
        b: BalancerId,
        i: u32,
        sched: &mut Scheduler<Event>,
    ) {
        if let (Some(f), Some(rng)) = (
            &self.routing.lb_failures[b.ix()],
            self.routing.lb_failure_rng[b.ix()][i as usize].as_mut(),
        ) {
            sched.after(
                f.time_to_failure.sample(rng),
                Event::Balancer(BalancerEvent::Crash(b, i)),
            );
        }
    }

    /// Applies a balancer state change: when its VIP goes dark the attempts it routed are lost
    /// (connections reset); a failover starts its timer.
    pub(super) fn lb_change(
        &mut self,
        now: SimTime,
        b: BalancerId,
        c: crate::lb_pair::Change,
        sched: &mut Scheduler<Event>,
    ) {
        if c.start_failover {
            let delay = match self.routing.lb_failover[b.ix()].as_mut() {
                Some((d, rng)) => d.sample(rng),
                None => (self.routing.lb_pair[b.ix()].delay).unwrap_or(SimDuration::ZERO),
            };
            sched.after(delay, Event::Balancer(BalancerEvent::Failover(b)));
        }
        if c.stopped || c.resumed {
            let serving = c.resumed;
            self.observer.record(
                now,
                &Record::BalancerChange {
                    balancer: b.0,
                    serving,
                },
            );
        }
        if c.stopped {
            let mut lost = std::mem::take(&mut self.scratch);
            lost.extend(
                self.req
                    .attempts
                    .iter()
                    .enumerate()
                    .filter(|(_, a)| a.live && self.routing.lb_instances.owner(a.balancer) == b.0)
                    .map(|(i, _)| AttemptId(i as u32)),
            );
            for &id in &lost {
                // Ending one can end another of the list (its call, a sibling dependency
                // call); a slot freed and reused meanwhile was routed by no stopped balancer.
                let a = &self.req.attempts[id];
                if a.live && self.routing.lb_instances.owner(a.balancer) == b.0 {
                    self.attempt_ended(now, id, Outcome::Crashed, sched);
                }
            }
            lost.clear();
            self.scratch = lost;
        }
    }

    /// True while a partition separates zones `a` and `b`.
    #[inline]
    pub(super) fn is_cut(&self, a: u32, b: u32) -> bool {
        self.routing.partitions_open > 0
            && a != NONE
            && b != NONE
            && self.routing.cut[a as usize * self.routing.zones + b as usize] > 0
    }

    pub(super) fn on_partition(&mut self, now: SimTime, i: u32, open: bool) {
        let groups = &self.routing.partitions[i as usize].groups;
        for (gi, g) in groups.iter().enumerate() {
            for h in &groups[gi + 1..] {
                for &a in g {
                    for &b in h {
                        for (x, y) in [(a, b), (b, a)] {
                            let c =
                                &mut self.routing.cut[x as usize * self.routing.zones + y as usize];
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
        self.routing.partitions_open = if open {
            self.routing.partitions_open + 1
        } else {
            dec(self.routing.partitions_open, now, "open partitions")
        };
        self.observer
            .record(now, &Record::Partition { index: i, open });
    }

    /// Follows balancers down to a replica, counting the attempt in the deciding balancer;
    /// `Err` when a partition cuts a link on the way (the attempt is lost in the network),
    /// with the replica it was sent towards if it got that far.
    pub(super) fn route(
        &mut self,
        mut target: Target,
        id: AttemptId,
        mut from: u32,
    ) -> Result<ReplicaId, Option<ReplicaId>> {
        loop {
            match target {
                Target::Pool(p) => {
                    let r = self.service.pools[p].first_replica;
                    return self.reach(from, ReplicaId(r));
                }
                Target::Balancer(b) => {
                    let zone = self.routing.balancer_zone[b];
                    // A dark VIP, or one across a partition: the packets are lost.
                    if !self.routing.lb_pair[b].serving() || self.is_cut(from, zone) {
                        return Err(None);
                    }
                    if zone != NONE {
                        from = zone;
                    }
                    match self.routing.balancer_target[b] {
                        Target::Balancer(next) => target = Target::Balancer(next),
                        Target::Pool(p) => {
                            let a = &self.req.attempts[id];
                            let caller = self.req.calls[a.call].client;
                            // The caller's own instance if the balancer is per-client.
                            let i = self.routing.lb_instances.of(b, caller);
                            let lb = &mut self.routing.balancers[i];
                            // No member at all (every replica deregistered): a 503 at once.
                            if lb.eligible.is_empty() {
                                return Ok(ReplicaId::NONE);
                            }
                            let pool = &self.service.pools[p];
                            let view = LoadView {
                                in_flight: &lb.in_flight,
                                occupancy: &pool.occupancy,
                                eligible: match lb.zone.as_mut() {
                                    Some(z) => z.choose(&lb.eligible),
                                    None => &lb.eligible,
                                },
                                // The attempt is sent now.
                                now: a.sent,
                                client: caller.0,
                            };
                            let (policy, rng) = (&mut lb.policy, &mut lb.rng);
                            let slot = match lb.slow_start.as_mut() {
                                Some(s) => s.pick(view.now, || policy.pick(&view, rng)),
                                None => policy.pick(&view, rng),
                            };
                            // Trace detail: the loads the balancer saw, and its pick.
                            if self.observer.detailed() {
                                let seq = self.req.calls[a.call].seq;
                                for &e in view.eligible {
                                    let rec = Record::Candidate {
                                        request: seq,
                                        balancer: b as u32,
                                        replica: pool.first_replica + e,
                                        in_flight: lb.in_flight[e as usize],
                                        occupancy: pool.occupancy[e as usize],
                                    };
                                    self.observer.record(view.now, &rec);
                                }
                                let rec = Record::Picked {
                                    request: seq,
                                    balancer: b as u32,
                                    replica: pool.first_replica + slot as u32,
                                };
                                self.observer.record(view.now, &rec);
                            }
                            lb.sent(slot);
                            let a = &mut self.req.attempts[id];
                            a.balancer = InstanceId(i as u32);
                            a.slot = slot as u32;
                            let r = pool.first_replica + slot as u32;
                            return self.reach(from, ReplicaId(r));
                        }
                    }
                }
            }
        }
    }

    /// The deciding balancer learns that attempt `a` ended: its in-flight count, its latency
    /// estimate and outlier detection (`None`: cancelled, neither success nor failure).
    pub(super) fn lb_attempt_ended(
        &mut self,
        now: SimTime,
        a: &Attempt,
        outcome: Option<Outcome>,
        sched: &mut Scheduler<Event>,
    ) {
        if a.balancer == InstanceId::NONE {
            return;
        }
        let lb = &mut self.routing.balancers[a.balancer];
        let slot = a.slot as usize;
        lb.ended(slot, now);
        let Some(outcome) = outcome else { return };
        lb.policy.on_complete(slot, now.since(a.sent), now);
        if let Some(o) = lb.outlier.as_mut()
            && let Some(t) = o.response(slot, outcome == Outcome::Succeeded)
        {
            lb.refresh_eligible();
            let b = a.balancer;
            sched.after(t, Event::Balancer(BalancerEvent::Uneject(b, slot as u32)));
            self.record_health(now, b, slot as u32, false);
        }
    }

    /// A balancer's probe, ejection, instance failure or failover.
    pub(super) fn on_balancer_event(
        &mut self,
        now: SimTime,
        e: BalancerEvent,
        sched: &mut Scheduler<Event>,
    ) {
        match e {
            BalancerEvent::Probe(b, backend) => self.on_probe(now, b, backend, sched),
            BalancerEvent::ProbeTimedOut(b, backend) => {
                self.on_probe_result(now, b, backend, false)
            }
            BalancerEvent::Uneject(b, backend) => {
                let lb = &mut self.routing.balancers[b];
                if let Some(o) = lb.outlier.as_mut() {
                    o.return_to_rotation(backend as usize);
                    lb.refresh_eligible();
                    self.record_health(now, b, backend, true);
                }
            }
            BalancerEvent::Crash(b, i) => {
                let c = self.routing.lb_pair[b.ix()].crash(i as usize);
                self.lb_change(now, b, c, sched);
                if let (Some(f), Some(rng)) = (
                    &self.routing.lb_failures[b.ix()],
                    self.routing.lb_failure_rng[b.ix()][i as usize].as_mut(),
                ) {
                    sched.after(
                        f.time_to_repair.sample(rng),
                        Event::Balancer(BalancerEvent::Repair(b, i)),
                    );
                }
            }
            BalancerEvent::Repair(b, i) => {
                let c = self.routing.lb_pair[b.ix()].repair(i as usize);
                self.lb_change(now, b, c, sched);
                self.schedule_lb_crash(b, i, sched);
            }
            BalancerEvent::Failover(b) => {
                let c = self.routing.lb_pair[b.ix()].failover_done();
                self.lb_change(now, b, c, sched);
            }
            BalancerEvent::OutageStart(o) => {
                let b = self.routing.balancer_outages[o as usize].balancer;
                let pair = &mut self.routing.lb_pair[b as usize];
                let active = pair.active();
                if pair.is_up(active) {
                    let c = pair.crash(active);
                    self.lb_change(now, BalancerId(b), c, sched);
                }
            }
            BalancerEvent::OutageEnd(o) => {
                let b = self.routing.balancer_outages[o as usize].balancer;
                let pair = &mut self.routing.lb_pair[b as usize];
                // Repair the instance the outage took down (the one not up).
                if let Some(i) = (0..pair.instances()).find(|&i| !pair.is_up(i)) {
                    let c = pair.repair(i);
                    self.lb_change(now, BalancerId(b), c, sched);
                }
            }
        }
    }

    /// A partition begins or heals.
    pub(super) fn on_network_event(&mut self, now: SimTime, e: NetworkEvent) {
        match e {
            NetworkEvent::PartitionStart(i) => self.on_partition(now, i, true),
            NetworkEvent::PartitionEnd(i) => self.on_partition(now, i, false),
        }
    }
}
