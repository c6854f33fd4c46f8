//! Target-tracking autoscaling of a pool (AWS target tracking, Kubernetes HPA), as a child
//! module of `system` so that it can act on the replicas with small hooks there.
//!
//! A scaled pool has `max` replica slots; each is absent (not provisioned: not up, not a
//! backend, not counted as down), warming (provisioned, cold-starting), active, or draining
//! (out of the balancers, finishing its work). Every `evaluation_period` (boundaries at
//! multiples of it from time zero) the tracked metric is measured from the active replicas'
//! time-weighted integrals since the last evaluation — no per-event work — and gives
//! desired = ceil(load / target), load being the metric summed over the pool. Scale-out needs
//! `evaluation_periods` periods in a row asking for more and the cooldown since the last
//! scale-out; scale-in needs `scale_in_periods` asking for fewer (it goes to the most any of
//! them asked for) and the scale-in cooldown since any scaling action.

use super::*;
use crate::record::Record;
use crate::spec::{AutoscaleSpec, ScaleMetric, Spec};
use crate::stats::TimeWeighted;
use sim_core::{Observer, Scheduler, SimDuration, SimTime, TimerId};

/// Scaling actions listed one by one in the summary; the rest are counted.
pub const MAX_SCALE_EVENTS: usize = 1000;

/// The life cycle of a replica slot of a scaled pool (any other replica is always `Active`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Slot {
    Absent,
    Warming,
    Active,
    Draining,
}

/// One scaling action.
#[derive(Clone, Debug, PartialEq)]
pub struct ScaleEvent {
    /// When it was decided.
    pub at: SimTime,
    /// Replicas before (active and warming).
    pub from: u32,
    /// Replicas after.
    pub to: u32,
    /// Why, in words (metric, target, periods).
    pub reason: String,
    /// Scale-out: start of the first period of the breach that triggered it.
    pub breach_since: Option<SimTime>,
}

/// What a scaled pool did, for reports (areas over the statistics window).
#[derive(Clone, Debug, PartialEq)]
pub struct ScalingSummary {
    /// Index of the pool.
    pub pool: u32,
    /// Its name.
    pub name: String,
    /// min and max.
    pub min: u32,
    /// See `min`.
    pub max: u32,
    /// The first [`MAX_SCALE_EVENTS`] actions.
    pub events: Vec<ScaleEvent>,
    /// Actions in all.
    pub events_total: u64,
    /// ∫ replicas provisioned (warming, active and draining) dt over the window (replica·ns).
    pub provisioned_area: u128,
    /// ∫ replicas ready (active: warm and in the balancers) dt over the window.
    pub ready_area: u128,
    /// ∫ [replicas decided = max] dt over the window (ns).
    pub at_max_area: u128,
    /// Per slot, ∫ provisioned dt over the window (ns).
    pub slot_provisioned_area: Vec<u128>,
    /// Fewest and most replicas decided at any time of the run.
    pub fewest: u32,
    /// See `fewest`.
    pub most: u32,
    /// Requests a scale-in failed (still held when the drain time ran out).
    pub failed_by_scale_in: u64,
}

/// One scaled pool's autoscaler.
pub(super) struct Scaler {
    spec: AutoscaleSpec,
    pool: u32,
    first: u32,
    workers: u32,
    /// Replicas decided: active + warming (draining ones are on their way out).
    count: u32,
    out_streak: u32,
    in_streak: u32,
    /// Most replicas asked for during the current scale-in streak.
    in_desired: u32,
    breach_since: SimTime,
    last_out: Option<SimTime>,
    last_any: Option<SimTime>,
    /// Per slot: (busy, queued, up) areas at the last evaluation or since it became active.
    base: Vec<[u128; 3]>,
    /// Areas of replicas that stopped being active during the current period.
    acc: [u128; 3],
    /// Provisioned and ready counts, whole run (samples) and statistics window (summary).
    provisioned_all: TimeWeighted,
    ready_all: TimeWeighted,
    provisioned: TimeWeighted,
    ready: TimeWeighted,
    at_max: TimeWeighted,
    slot_provisioned: Vec<TimeWeighted>,
    /// Areas at the last sample (of the `_all` integrals).
    sample_base: [u128; 2],
    events: Vec<ScaleEvent>,
    events_total: u64,
    fewest: u32,
    most: u32,
    failed_by_scale_in: u64,
}

/// Every scaled pool's autoscaler, and the state of every replica slot.
pub(super) struct Scaling {
    /// Per pool.
    pub(super) pools: Vec<Option<Scaler>>,
    /// Per replica (global index).
    pub(super) slot: Vec<Slot>,
    /// Per replica: the pending crash or repair, when its pool is scaled (so that removing the
    /// replica can cancel it).
    pub(super) failure_timer: Vec<Option<TimerId>>,
    /// Per replica: the end of its warm-up, while warming.
    warm_timer: Vec<Option<TimerId>>,
    /// Per replica: its pool is scaled.
    pub(super) scaled: Vec<bool>,
}

impl Scaling {
    pub(super) fn new(spec: &Spec) -> Scaling {
        let mut slot = Vec::new();
        let mut scaled = Vec::new();
        let mut pools = Vec::new();
        let mut first = 0u32;
        for (p, ps) in spec.pools.iter().enumerate() {
            let n = ps.replicas;
            match ps.autoscale {
                Some(a) => {
                    slot.extend((0..n).map(|i| {
                        if i < a.initial {
                            Slot::Active
                        } else {
                            Slot::Absent
                        }
                    }));
                    scaled.extend((0..n).map(|_| true));
                    let level = |x: u32| {
                        let mut w = TimeWeighted::default();
                        w.set(SimTime::ZERO, x as u64);
                        w
                    };
                    pools.push(Some(Scaler {
                        spec: a,
                        pool: p as u32,
                        first,
                        workers: ps.workers,
                        count: a.initial,
                        out_streak: 0,
                        in_streak: 0,
                        in_desired: 0,
                        breach_since: SimTime::ZERO,
                        last_out: None,
                        last_any: None,
                        base: vec![[0; 3]; n as usize],
                        acc: [0; 3],
                        provisioned_all: level(a.initial),
                        ready_all: level(a.initial),
                        provisioned: level(a.initial),
                        ready: level(a.initial),
                        at_max: level((a.initial == a.max) as u32),
                        slot_provisioned: (0..n).map(|i| level((i < a.initial) as u32)).collect(),
                        sample_base: [0; 2],
                        events: Vec::new(),
                        events_total: 0,
                        fewest: a.initial,
                        most: a.initial,
                        failed_by_scale_in: 0,
                    }));
                }
                None => {
                    slot.extend((0..n).map(|_| Slot::Active));
                    scaled.extend((0..n).map(|_| false));
                    pools.push(None);
                }
            }
            first += n;
        }
        let n = slot.len();
        Scaling {
            pools,
            slot,
            failure_timer: vec![None; n],
            warm_timer: vec![None; n],
            scaled,
        }
    }

    /// Some pool is scaled.
    pub(super) fn any(&self) -> bool {
        self.pools.iter().any(Option::is_some)
    }

    /// Replica `r` runs (active or draining): it has a crash/repair process.
    #[inline]
    pub(super) fn runs(&self, r: ReplicaId) -> bool {
        matches!(self.slot[r.ix()], Slot::Active | Slot::Draining)
    }
}

impl Scaler {
    fn record_counts(&mut self, now: SimTime, slots: &[Slot]) {
        let mine = &slots[self.first as usize..][..self.base.len()];
        let prov = mine.iter().filter(|s| **s != Slot::Absent).count() as u64;
        let ready = mine.iter().filter(|s| **s == Slot::Active).count() as u64;
        self.provisioned_all.set(now, prov);
        self.provisioned.set(now, prov);
        self.ready_all.set(now, ready);
        self.ready.set(now, ready);
        self.at_max.set(now, (self.count == self.spec.max) as u64);
        for (i, s) in mine.iter().enumerate() {
            let w = &mut self.slot_provisioned[i];
            let level = (*s != Slot::Absent) as u64;
            if w.level() != level {
                w.set(now, level);
            }
        }
        self.fewest = self.fewest.min(self.count);
        self.most = self.most.max(self.count);
        assert!(
            (self.spec.min..=self.spec.max).contains(&self.count) && prov <= self.spec.max as u64,
            "invariant: pool {} scaled to {} replicas ({} provisioned) outside [{}, {}] (t = {now})",
            self.pool,
            self.count,
            prov,
            self.spec.min,
            self.spec.max
        );
    }

    /// The metric's description for reasons.
    fn describe(&self, per_replica: f64) -> String {
        match self.spec.metric {
            ScaleMetric::Utilisation { target } => {
                format!("utilisation {per_replica:.3} vs target {target}")
            }
            ScaleMetric::InFlight { per_replica: t } => {
                format!("in flight {per_replica:.2} per replica vs target {t}")
            }
            ScaleMetric::QueueLength { per_replica: t } => {
                format!("queue {per_replica:.2} per replica vs target {t}")
            }
        }
    }
}

impl<O: Observer<Record>> System<O> {
    /// At build time: the slots beyond each scaled pool's `initial` are not provisioned.
    pub(super) fn init_scaling(&mut self) {
        if !self.scaling.any() {
            return;
        }
        for r in 0..self.service.replicas.len() {
            // Scale-in can stop service: it needs a cancellable timer.
            self.service.replicas[r].can_fail |= self.scaling.scaled[r];
            if self.scaling.slot[r] == Slot::Absent {
                let rep = &mut self.service.replicas[r];
                rep.is_up = false;
                rep.up_level.set(SimTime::ZERO, 0);
                let pool = &mut self.service.pools[rep.pool as usize];
                pool.up -= 1;
            }
        }
    }

    /// At start: the first evaluation of each scaled pool.
    pub(super) fn start_scaling(&mut self, sched: &mut Scheduler<Event>) {
        for s in self.scaling.pools.iter().flatten() {
            sched.at(
                SimTime(s.spec.evaluation_period.0),
                Event::Scaling(ScalingEvent::Eval(PoolId(s.pool))),
            );
        }
    }

    /// Areas of replica `r` now, in the frame of its statistics.
    fn scale_areas(&self, r: usize, now: SimTime) -> [u128; 3] {
        let rep = &self.service.replicas[r];
        [
            rep.busy.area_until(now).0,
            rep.queued.area_until(now).0,
            rep.up_level.area_until(now).0,
        ]
    }

    /// The end of an evaluation period of pool `p`: measure, decide, act.
    pub(super) fn on_scale_eval(&mut self, now: SimTime, p: PoolId, sched: &mut Scheduler<Event>) {
        let Some(s) = self.scaling.pools[p.ix()].as_ref() else {
            return;
        };
        let (first, n, period) = (s.first as usize, s.base.len(), s.spec.evaluation_period);
        let mut acc = s.acc;
        // Split borrows: the scaler's bases move while the replicas are read (no allocation).
        let (replicas, scaling) = (&self.service.replicas, &mut self.scaling);
        let s = scaling.pools[p.ix()]
            .as_mut()
            .unwrap_or_else(|| unreachable!());
        for i in 0..n {
            if scaling.slot[first + i] == Slot::Active {
                let rep = &replicas[first + i];
                let a = [
                    rep.busy.area_until(now).0,
                    rep.queued.area_until(now).0,
                    rep.up_level.area_until(now).0,
                ];
                for ((x, now), base) in acc.iter_mut().zip(a).zip(s.base[i]) {
                    *x += now - base;
                }
                s.base[i] = a;
            }
        }
        s.acc = [0; 3];
        sched.at(now.after(period), Event::Scaling(ScalingEvent::Eval(p)));
        let up_ns = acc[2];
        if up_ns == 0 {
            // No replica was up: nothing measured, nothing decided.
            return;
        }
        let sum = match s.spec.metric {
            ScaleMetric::Utilisation { .. } => acc[0] as f64 / s.workers as f64,
            ScaleMetric::InFlight { .. } => (acc[0] + acc[1]) as f64,
            ScaleMetric::QueueLength { .. } => acc[1] as f64,
        };
        let target = s.spec.metric.target();
        let per_replica = sum / up_ns as f64;
        let load = sum / period.0 as f64;
        let (min, max) = (s.spec.min, s.spec.max);
        let mut desired = ((load / target).ceil() as u32).clamp(min, max);
        if (per_replica / target - 1.0).abs() <= s.spec.tolerance {
            desired = s.count;
        }
        let count = s.count;
        let rec = Record::ScaleCheck {
            pool: p.0,
            metric: per_replica,
            desired,
        };
        self.observer.record(now, &rec);
        let s = self.scaling.pools[p.ix()]
            .as_mut()
            .unwrap_or_else(|| unreachable!());
        if desired > count {
            s.in_streak = 0;
            if s.out_streak == 0 {
                s.breach_since = SimTime(now.0 - period.0);
            }
            s.out_streak += 1;
        } else if desired < count {
            s.out_streak = 0;
            if s.in_streak == 0 {
                s.in_desired = desired;
            }
            s.in_streak += 1;
            s.in_desired = s.in_desired.max(desired);
        } else {
            s.out_streak = 0;
            s.in_streak = 0;
        }
        let since = |t: Option<SimTime>, d: SimDuration| t.is_none_or(|t| now.since(t) >= d);
        if s.out_streak >= s.spec.evaluation_periods && since(s.last_out, s.spec.cooldown) {
            let reason = format!("{} for {} periods", s.describe(per_replica), s.out_streak);
            let breach = s.breach_since;
            s.out_streak = 0;
            s.last_out = Some(now);
            s.last_any = Some(now);
            self.scale_to(now, p, desired, reason, Some(breach), sched);
        } else if s.in_streak >= s.spec.scale_in_periods
            && since(s.last_any, s.spec.scale_in_cooldown)
        {
            let to = s.in_desired;
            let reason = format!("{} for {} periods", s.describe(per_replica), s.in_streak);
            s.in_streak = 0;
            s.last_any = Some(now);
            self.scale_to(now, p, to, reason, None, sched);
        }
    }

    fn scale_to(
        &mut self,
        now: SimTime,
        p: PoolId,
        to: u32,
        reason: String,
        breach: Option<SimTime>,
        sched: &mut Scheduler<Event>,
    ) {
        let s = self.scaling.pools[p.ix()]
            .as_mut()
            .unwrap_or_else(|| unreachable!());
        let (from, first, n, warm_up, drain) = (
            s.count,
            s.first,
            s.base.len() as u32,
            s.spec.warm_up,
            s.spec.drain,
        );
        let mut to_warm = Vec::new();
        let mut to_drain = Vec::new();
        if to > from {
            // The lowest free slots (a draining one is not free until removed).
            let free =
                (first..first + n).filter(|&r| self.scaling.slot[r as usize] == Slot::Absent);
            to_warm.extend(free.take((to - from) as usize));
        } else {
            // Kubernetes' order: replicas not serving first (warming, then crashed), then the
            // newest (highest slot).
            let rank = |r: u32| match self.scaling.slot[r as usize] {
                Slot::Warming => Some(0),
                Slot::Active if !self.service.replicas[r as usize].is_up => Some(1),
                Slot::Active => Some(2),
                _ => None,
            };
            let mut cands: Vec<(u32, u32)> = (first..first + n)
                .filter_map(|r| rank(r).map(|k| (k, u32::MAX - r)))
                .collect();
            cands.sort_unstable();
            to_drain.extend(
                cands
                    .iter()
                    .take((from - to) as usize)
                    .map(|c| u32::MAX - c.1),
            );
        }
        let s = self.scaling.pools[p.ix()]
            .as_mut()
            .unwrap_or_else(|| unreachable!());
        let to = from + to_warm.len() as u32 - to_drain.len() as u32;
        s.count = to;
        s.events_total += 1;
        if s.events.len() < MAX_SCALE_EVENTS {
            s.events.push(ScaleEvent {
                at: now,
                from,
                to,
                reason,
                breach_since: breach,
            });
        }
        let rec = Record::Scaled {
            pool: p.0,
            from,
            to,
            breach_since: breach.unwrap_or(now),
            ready_at: now.after(warm_up),
        };
        self.observer.record(now, &rec);
        for &r in &to_warm {
            self.scaling.slot[r as usize] = Slot::Warming;
            if warm_up == SimDuration::ZERO {
                self.warmed(now, ReplicaId(r), sched);
            } else {
                self.scaling.warm_timer[r as usize] = Some(sched.timer_after(
                    warm_up,
                    Event::Scaling(ScalingEvent::WarmedUp(ReplicaId(r))),
                ));
            }
        }
        for &r in &to_drain {
            if self.scaling.slot[r as usize] == Slot::Warming {
                if let Some(t) = self.scaling.warm_timer[r as usize].take() {
                    sched.cancel(t);
                }
                self.scaling.slot[r as usize] = Slot::Absent;
            } else {
                self.scaling.slot[r as usize] = Slot::Draining;
                self.fold_scale_areas(now, ReplicaId(r));
                self.discovery_leave(ReplicaId(r), sched);
                if drain == SimDuration::ZERO {
                    self.remove_replica(now, ReplicaId(r), sched);
                } else {
                    sched.after(drain, Event::Scaling(ScalingEvent::Drained(ReplicaId(r))));
                }
            }
        }
        self.scaled_counts(now, p);
        self.refresh_members(p.ix());
    }

    /// Replica `r` stops being active: its areas so far count towards the current period.
    fn fold_scale_areas(&mut self, now: SimTime, r: ReplicaId) {
        let a = self.scale_areas(r.ix(), now);
        let p = self.service.replicas[r].pool as usize;
        let s = self.scaling.pools[p]
            .as_mut()
            .unwrap_or_else(|| unreachable!());
        let i = (r.0 - s.first) as usize;
        for ((x, now), base) in s.acc.iter_mut().zip(a).zip(s.base[i]) {
            *x += now - base;
        }
    }

    fn scaled_counts(&mut self, now: SimTime, p: PoolId) {
        if let Some(s) = self.scaling.pools[p.ix()].as_mut() {
            s.record_counts(now, &self.scaling.slot);
        }
    }

    /// Replica `r` has warmed up: it comes up, joins the balancers (through the registry if
    /// there is one) and starts its crash process.
    pub(super) fn warmed(&mut self, now: SimTime, r: ReplicaId, sched: &mut Scheduler<Event>) {
        self.scaling.warm_timer[r.ix()] = None;
        self.scaling.slot[r.ix()] = Slot::Active;
        let p = self.service.replicas[r].pool;
        let a = self.scale_areas(r.ix(), now);
        let s = self.scaling.pools[p as usize]
            .as_mut()
            .unwrap_or_else(|| unreachable!());
        s.base[(r.0 - s.first) as usize] = a;
        // A scheduled fault holding its slot down keeps it down until the fault ends.
        if self.faults.held_down[r.ix()] == 0 {
            self.bring_up(now, r);
            self.schedule_crash(r, sched);
            self.discovery_started(now, r, sched);
        }
        self.scaled_counts(now, PoolId(p));
        self.refresh_members(p as usize);
    }

    /// Like a repair, without the record (a new replica is not a recovery).
    pub(super) fn bring_up(&mut self, now: SimTime, r: ReplicaId) {
        let rep = &mut self.service.replicas[r];
        rep.is_up = true;
        rep.up_level.set(now, 1);
        let pool = &mut self.service.pools[rep.pool as usize];
        pool.up += 1;
        if pool.up == 1 {
            self.service.pools_down = dec(self.service.pools_down, now, "pools down");
            if self.service.pools_down == 0 {
                self.service.service_up.set(now, 1);
            }
        }
    }

    /// The drain time of replica `r` is over: what it still holds fails, and it is removed.
    pub(super) fn remove_replica(
        &mut self,
        now: SimTime,
        r: ReplicaId,
        sched: &mut Scheduler<Event>,
    ) {
        if let Some(t) = self.scaling.failure_timer[r.ix()].take() {
            sched.cancel(t);
        }
        self.scaling.slot[r.ix()] = Slot::Absent;
        let rep = &mut self.service.replicas[r];
        let p = rep.pool;
        let mut lost = std::mem::take(&mut self.scratch);
        rep.take_held(now, &mut lost);
        if rep.is_up {
            rep.is_up = false;
            rep.up_level.set(now, 0);
            let pool = &mut self.service.pools[p as usize];
            pool.up = dec(pool.up, now, "a pool's up-count");
            if pool.up == 0 {
                self.service.pools_down += 1;
                self.service.service_up.set(now, 0);
            }
        }
        let pool = &mut self.service.pools[p as usize];
        pool.occupancy.set(rep.index as usize, 0);
        let failed = self.fail_held(now, &lost, sched);
        lost.clear();
        self.scratch = lost;
        if let Some(s) = self.scaling.pools[p as usize].as_mut() {
            s.failed_by_scale_in += failed;
        }
        let rec = Record::Removed {
            replica: r.0,
            failed: failed as u32,
        };
        self.observer.record(now, &rec);
        self.scaled_counts(now, PoolId(p));
    }

    /// Sets every balancer in front of pool `p` to its current members and recomputes their
    /// eligible sets.
    pub(super) fn refresh_members(&mut self, p: usize) {
        let first = self.service.pools[p].first_replica as usize;
        for (b, lb) in self.routing.balancers.iter_mut().enumerate() {
            let owner = self.routing.lb_instances.owner(InstanceId(b as u32)) as usize;
            if self.routing.balancer_target[owner] != crate::spec::Target::Pool(p) {
                continue;
            }
            let Some(m) = lb.members.as_mut() else {
                continue;
            };
            for (i, x) in m.iter_mut().enumerate() {
                let r = first + i;
                *x = self.scaling.slot[r] == Slot::Active && self.discovery.visible(r);
            }
            lb.refresh_eligible();
        }
    }

    /// At the end of warm-up, before the replicas' statistics restart: the current period's
    /// areas so far are kept, and the scalers' window integrals restart.
    pub(super) fn scaling_restart(&mut self, now: SimTime) {
        for p in 0..self.scaling.pools.len() {
            let Some(s) = self.scaling.pools[p].as_ref() else {
                continue;
            };
            let (first, n) = (s.first as usize, s.base.len());
            for i in 0..n {
                if self.scaling.slot[first + i] == Slot::Active {
                    self.fold_scale_areas(now, ReplicaId((first + i) as u32));
                }
            }
            let s = self.scaling.pools[p]
                .as_mut()
                .unwrap_or_else(|| unreachable!());
            s.base.iter_mut().for_each(|b| *b = [0; 3]);
            s.provisioned.restart(now);
            s.ready.restart(now);
            s.at_max.restart(now);
            s.slot_provisioned.iter_mut().for_each(|w| w.restart(now));
        }
    }

    /// At each time-series sample: each scaled pool's mean replicas over the window.
    pub(super) fn sample_scaling(&mut self, now: SimTime, len_ns: f64) {
        for s in self.scaling.pools.iter_mut().flatten() {
            let a = [
                s.provisioned_all.area_until(now).0,
                s.ready_all.area_until(now).0,
            ];
            let rec = Record::PoolSample {
                pool: s.pool,
                provisioned: (a[0] - s.sample_base[0]) as f64 / len_ns,
                ready: (a[1] - s.sample_base[1]) as f64 / len_ns,
            };
            s.sample_base = a;
            self.observer.record(now, &rec);
        }
    }

    /// The scaled pools' figures at the end of the run.
    pub(super) fn scaling_summary(&self, end: SimTime) -> Vec<ScalingSummary> {
        self.scaling
            .pools
            .iter()
            .flatten()
            .map(|s| ScalingSummary {
                pool: s.pool,
                name: self.service.pools[s.pool as usize].name.clone(),
                min: s.spec.min,
                max: s.spec.max,
                events: s.events.clone(),
                events_total: s.events_total,
                provisioned_area: s.provisioned.area_until(end).0,
                ready_area: s.ready.area_until(end).0,
                at_max_area: s.at_max.area_until(end).0,
                slot_provisioned_area: s
                    .slot_provisioned
                    .iter()
                    .map(|w| w.area_until(end).0)
                    .collect(),
                fewest: s.fewest,
                most: s.most,
                failed_by_scale_in: s.failed_by_scale_in,
            })
            .collect()
    }

    /// Slots agree with the replicas: an absent or warming one is down and holds no work.
    pub(super) fn check_scaling(&self) {
        for (r, slot) in self.scaling.slot.iter().enumerate() {
            if matches!(slot, Slot::Absent | Slot::Warming) {
                let rep = &self.service.replicas[r];
                assert!(
                    !rep.is_up && rep.in_service.is_empty() && rep.queue.is_empty(),
                    "invariant: replica {r} not provisioned but up or busy"
                );
            }
        }
        for s in self.scaling.pools.iter().flatten() {
            assert!((s.spec.min..=s.spec.max).contains(&s.count));
        }
        let _ = NONE;
    }

    /// An evaluation period's end, a warm-up's end, a drain's end.
    pub(super) fn on_scaling_event(
        &mut self,
        now: SimTime,
        e: ScalingEvent,
        sched: &mut Scheduler<Event>,
    ) {
        match e {
            ScalingEvent::Eval(p) => self.on_scale_eval(now, p, sched),
            ScalingEvent::WarmedUp(r) => self.warmed(now, r, sched),
            ScalingEvent::Drained(r) => self.remove_replica(now, r, sched),
        }
    }
}
