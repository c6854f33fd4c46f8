//! Faults: replicas' random crash/repair processes, scheduled faults (down, slow), and what a
//! crash does to the requests a replica holds. Slowdowns and random gray failures are in
//! `gray.rs`.

use super::*;

/// Faults at fixed times, and per replica what holds it down or slows it now.
pub(super) struct Faults {
    pub(super) scheduled: Vec<crate::spec::ScheduledFault>,
    /// Per replica, scheduled faults holding it down now.
    pub(super) held_down: Vec<u32>,
    /// Per replica, the product of the open slowdowns' factors, and how many are open.
    pub(super) slow: Vec<(f64, u32)>,
    /// Per replica, the probability that its open gray failures let a response through
    /// (Π (1 − error_rate)); 1 when none is open.
    pub(super) fault_keep: Vec<f64>,
    /// Random gray failures (gray.rs).
    pub(super) gray: gray::Gray,
    /// Per pool, its repair crews and the replicas waiting for one.
    pub(super) crews: Vec<crate::fleet::Crews>,
    /// Per pool, its containers' restart policy, if any.
    pub(super) restart: Vec<Option<crate::fleet::RestartSpec>>,
    /// Per replica (empty when no pool restarts containers): crashes in a row, last start.
    pub(super) restarts: Vec<crate::fleet::Restarts>,
}

impl<O: Observer<Record>> System<O> {
    pub(super) fn schedule_crash(&mut self, r: ReplicaId, sched: &mut Scheduler<Event>) {
        if !self.scaling.runs(r) {
            return; // not provisioned: its crash process starts when it is
        }
        let rep = &mut self.service.replicas[r];
        let pool = &self.service.pools[rep.pool as usize];
        if let (Some(f), Some(rng)) = (&pool.failures, rep.failure_rng.as_mut()) {
            let ttf = f.time_to_failure.sample(rng);
            self.failure_after(r, ttf, Event::Fault(FaultEvent::Crash(r)), sched);
        }
    }

    /// Schedules replica `r`'s next crash or repair; cancellable when its pool scales in.
    #[inline]
    pub(super) fn failure_after(
        &mut self,
        r: ReplicaId,
        d: SimDuration,
        e: Event,
        sched: &mut Scheduler<Event>,
    ) {
        if self.scaling.scaled[r.ix()] {
            self.scaling.failure_timer[r.ix()] = Some(sched.timer_after(d, e));
        } else {
            sched.after(d, e);
        }
    }

    /// Ends the attempts a replica held when it went away (a crash, a scale-in), taken off it
    /// already; returns how many had a caller waiting. First every one is marked `LOST`:
    /// ending one can reach another of the list (a sibling call cancelled, a call that fails
    /// its caller), which must find it off its worker but still owned here (not freed, not
    /// queued, not in service).
    pub(super) fn fail_held(
        &mut self,
        now: SimTime,
        lost: &[AttemptId],
        sched: &mut Scheduler<Event>,
    ) -> u64 {
        for &id in lost {
            let a = &mut self.req.attempts[id];
            if let Some(t) = a.done.take() {
                sched.cancel(t);
            }
            a.pos = LOST;
        }
        let mut failed = 0;
        for &id in lost {
            let a = &mut self.req.attempts[id];
            a.pos = NONE;
            a.at_server = false;
            if a.waiting_deps {
                // Its connections die with it: the calls it made are abandoned.
                a.waiting_deps = false;
                self.cancel_dependencies(now, id, false, sched);
            }
            if self.req.attempts[id].live {
                failed += 1;
                self.attempt_ended(now, id, Outcome::Crashed, sched);
            } else {
                self.free_attempt(id); // cancelled or abandoned: nobody else holds it
            }
        }
        failed
    }

    pub(super) fn on_crash(&mut self, now: SimTime, r: ReplicaId, sched: &mut Scheduler<Event>) {
        self.take_down(now, r, sched);
        self.needs_repair(r, sched);
        self.discovery_crashed(now, r, sched);
    }

    /// Replica `r` goes down: what it holds fails, the crash recorded first.
    pub(super) fn take_down(&mut self, now: SimTime, r: ReplicaId, sched: &mut Scheduler<Event>) {
        let rep = &mut self.service.replicas[r];
        assert!(
            rep.is_up,
            "invariant: replica {r} crashed while down (t = {now})"
        );
        rep.is_up = false;
        rep.crashes += 1;
        // A consumer's broker first: the processing it held fails below, stale by then.
        self.member_changed(now, r, false, sched);
        let rep = &mut self.service.replicas[r];
        let mut lost = std::mem::take(&mut self.scratch);
        rep.take_held(now, &mut lost);
        rep.up_level.set(now, 0);
        let pool = &mut self.service.pools[rep.pool as usize];
        pool.occupancy.set(rep.index as usize, 0);
        pool.up = dec(pool.up, now, "a pool's up-count");
        if pool.up == 0 {
            self.service.pools_down += 1;
            self.service.service_up.set(now, 0);
        }
        // The crash first, then what it failed: observers attribute the losses to it.
        self.observer
            .record(now, &Record::ReplicaDown { replica: r.0 });
        self.fail_held(now, &lost, sched);
        lost.clear();
        self.scratch = lost;
    }

    /// Replica `r` crashed on its own: its repair starts now, or with shared crews when a
    /// crew is free (FIFO).
    pub(super) fn needs_repair(&mut self, r: ReplicaId, sched: &mut Scheduler<Event>) {
        let p = self.service.replicas[r].pool as usize;
        if self.service.pools[p].failures.is_some()
            && (!self.faults.crews[p].limited() || self.faults.crews[p].request(r.0))
        {
            self.start_repair(r, sched);
        }
    }

    /// A crew starts repairing replica `r`: its repair time runs from now (with a restart
    /// policy, refused with shared crews so that this is the crash's instant, after its
    /// back-off, and followed by its readiness delay).
    fn start_repair(&mut self, r: ReplicaId, sched: &mut Scheduler<Event>) {
        let rep = &mut self.service.replicas[r];
        let pool = &self.service.pools[rep.pool as usize];
        if let (Some(f), Some(rng)) = (&pool.failures, rep.failure_rng.as_mut()) {
            let mut ttr = f.time_to_repair.sample(rng);
            // A container's back-off and readiness around its repair: no draw of its own.
            if let Some(policy) = &self.faults.restart[rep.pool as usize] {
                let st = &mut self.faults.restarts[r.ix()];
                ttr = policy.down_time(st, sched.now(), ttr);
            }
            self.failure_after(r, ttr, Event::Fault(FaultEvent::Repair(r)), sched);
        }
    }

    /// A random repair ended: with shared crews, the crew takes the next replica waiting.
    fn crew_done(&mut self, r: ReplicaId, sched: &mut Scheduler<Event>) {
        let p = self.service.replicas[r].pool as usize;
        if self.faults.crews[p].limited()
            && let Some(next) = self.faults.crews[p].finished()
        {
            self.start_repair(ReplicaId(next), sched);
        }
    }

    /// Shared crews: each is repairing one replica or idle, and every replica down waits for
    /// one or is being repaired.
    pub(super) fn check_crews(&self) {
        for (p, c) in self.faults.crews.iter().enumerate() {
            if !c.limited() {
                continue;
            }
            let pool = &self.service.pools[p];
            let n = self.service.replicas.len() as u32;
            let count = (pool.first_replica..n)
                .take_while(|&r| self.service.replicas[r as usize].pool == p as u32)
                .filter(|&r| {
                    (self.hosts.own_down(r)).unwrap_or(!self.service.replicas[r as usize].is_up)
                })
                .count();
            assert!(
                c.busy <= c.crews && c.busy as usize + c.waiting.len() == count,
                "invariant: pool {}'s crews: {} busy of {}, {} waiting, {count} replicas down",
                pool.name,
                c.busy,
                c.crews,
                c.waiting.len()
            );
        }
    }

    pub(super) fn on_repair(&mut self, now: SimTime, r: ReplicaId, sched: &mut Scheduler<Event>) {
        let rep = &mut self.service.replicas[r];
        assert!(
            !rep.is_up,
            "invariant: replica {r} repaired while up (t = {now})"
        );
        self.bring_up(now, r);
        self.observer
            .record(now, &Record::ReplicaUp { replica: r.0 });
        self.member_changed(now, r, true, sched);
        self.schedule_crash(r, sched);
        self.discovery_started(now, r, sched);
    }

    /// A replica's crash, repair, scheduled fault or gray episode.
    pub(super) fn on_fault_event(
        &mut self,
        now: SimTime,
        e: FaultEvent,
        sched: &mut Scheduler<Event>,
    ) {
        match e {
            FaultEvent::Crash(r) if self.hosts.hosted(r) => self.hosted_crash(now, r, sched),
            FaultEvent::Crash(r) => self.on_crash(now, r, sched),
            FaultEvent::Repair(r) => {
                if self.hosts.hosted(r) {
                    self.hosted_repair(now, r, sched);
                } else {
                    self.on_repair(now, r, sched);
                }
                self.crew_done(r, sched);
            }
            FaultEvent::ScheduledStart(i) => {
                let f = &self.faults.scheduled[i as usize];
                let r = f.replica;
                match f.kind {
                    FaultKind::Down => {
                        self.faults.held_down[r as usize] += 1;
                        if self.service.replicas[r as usize].is_up {
                            self.on_crash(now, ReplicaId(r), sched);
                        }
                    }
                    FaultKind::Slow { factor, error_rate } => {
                        self.slow_begin(now, ReplicaId(r), factor, error_rate);
                    }
                }
            }
            FaultEvent::ScheduledEnd(i) => {
                let f = &self.faults.scheduled[i as usize];
                let r = f.replica;
                match f.kind {
                    FaultKind::Down => {
                        let held = &mut self.faults.held_down[r as usize];
                        *held = dec(*held, now, "faults holding a replica down");
                        if *held == 0
                            && !self.service.replicas[r as usize].is_up
                            && self.hosts.holds_none(ReplicaId(r))
                            && self.scaling.runs(ReplicaId(r))
                        {
                            self.on_repair(now, ReplicaId(r), sched);
                        }
                    }
                    FaultKind::Slow { factor, error_rate } => {
                        self.slow_end(now, ReplicaId(r), factor, error_rate);
                    }
                }
            }
            FaultEvent::GrayStart(r) => self.on_gray(now, r, true, sched),
            FaultEvent::GrayEnd(r) => self.on_gray(now, r, false, sched),
            FaultEvent::DomainDown(d) => self.on_domain(now, d, true, sched),
            FaultEvent::DomainUp(d) => self.on_domain(now, d, false, sched),
        }
    }
}
