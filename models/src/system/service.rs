//! Service: pools and replicas, their queues (FIFO, LIFO, adaptive LIFO, priority classes) and
//! processor sharing; an attempt's delivery, service, completion and cancellation at a replica.

use super::*;

/// Pools and their replicas, and whether every pool has a replica up.
pub(super) struct Service {
    pub(super) pools: Vec<Pool>,
    pub(super) replicas: Vec<Replica>,
    /// Pools with no replica up now.
    pub(super) pools_down: u32,
    /// ∫ [every pool has a replica up] dt.
    pub(super) service_up: TimeWeighted,
    /// Replica groups (fleet.rs): (pool, global index of its first replica, the group).
    pub(super) groups: Vec<(u32, u32, crate::fleet::GroupSpec)>,
}

impl<O: Observer<Record>> System<O> {
    pub(super) fn deliver(
        &mut self,
        now: SimTime,
        id: AttemptId,
        r: ReplicaId,
        sched: &mut Scheduler<Event>,
    ) {
        if r == ReplicaId::NONE {
            self.attempt_ended(now, id, Outcome::Refused, sched);
            return;
        }
        let rep = &mut self.service.replicas[r];
        let pool = &mut self.service.pools[rep.pool as usize];
        // Drawn before anything can fail the request, so the stream stays aligned across variants.
        let mut service = pool.service.sample(&mut pool.service_rng);
        if rep.speed != 1.0 {
            service = SimDuration((service.0 as f64 / rep.speed).round() as u64);
        }
        let slow = self.faults.slow[r.ix()].0;
        if slow != 1.0 {
            service = SimDuration((service.0 as f64 * slow).round() as u64);
        }
        let a = &mut self.req.attempts[id];
        a.service = service;
        a.replica = r;
        if !rep.is_up {
            self.attempt_ended(now, id, Outcome::Refused, sched);
        } else if let Some(b) = rep.rate_limit.as_mut()
            && !b.take(now)
        {
            self.req.resilience.rate_limited += 1;
            self.attempt_ended(now, id, Outcome::Rejected, sched);
        } else if pool.discipline == Discipline::ProcessorSharing {
            // Everyone is served at once; `queue_capacity` bounds those beyond the workers.
            let room = rep.workers.saturating_add(pool.queue_capacity);
            if (rep.in_service.len() as u32) < room {
                self.ps_arrive(now, id, r, sched);
            } else {
                self.attempt_ended(now, id, Outcome::Rejected, sched);
            }
        } else if (rep.in_service.len() as u32) < rep.workers {
            pool.occupancy.inc(rep.index as usize);
            a.at_server = true;
            self.start_service(now, id, sched);
        } else if (rep.queue.len() as u32) < pool.queue_capacity {
            pool.occupancy.inc(rep.index as usize);
            a.at_server = true;
            rep.queue.push(self.req.calls[a.call].priority, id);
            rep.queued.set(now, rep.queue.len() as u64);
            // Trace detail.
            if self.observer.detailed() {
                let rec = Record::Enqueued {
                    request: self.req.calls[a.call].seq,
                    replica: r.0,
                    queued: rep.queue.len() as u32,
                };
                self.observer.record(now, &rec);
            }
        } else {
            self.attempt_ended(now, id, Outcome::Rejected, sched);
        }
    }

    pub(super) fn start_service(
        &mut self,
        now: SimTime,
        id: AttemptId,
        sched: &mut Scheduler<Event>,
    ) {
        let a = &mut self.req.attempts[id];
        let rep = &mut self.service.replicas[a.replica];
        let k = self.service.pools[rep.pool as usize].slowdown_per_request;
        if k > 0.0 {
            let factor = 1.0 + k * rep.in_service.len() as f64;
            a.service = SimDuration((a.service.0 as f64 * factor).round() as u64);
        }
        a.started = now;
        // Trace detail.
        if self.observer.detailed() {
            let rec = Record::ServiceStarted {
                request: self.req.calls[a.call].seq,
                replica: a.replica.0,
            };
            self.observer.record(now, &rec);
        }
        a.pos = rep.in_service.len() as u32;
        rep.in_service.push(id);
        rep.busy.set(now, rep.in_service.len() as u64);
        // Only a crash, a cancelled hedge or dropped stale work stops service, so otherwise
        // skip the timer table.
        if rep.can_fail || self.req.hedging || self.service.pools[rep.pool as usize].drop_stale {
            a.done = Some(sched.timer_after(a.service, Event::Service(ServiceEvent::Done(id))));
        } else {
            sched.after(a.service, Event::Service(ServiceEvent::Done(id)));
        }
    }

    /// The next waiting attempt replica `r` should serve, by its pool's discipline; attempts
    /// that were cancelled (and, with `drop_stale`, whose caller has gone) are dropped here.
    pub(super) fn next_waiting(&mut self, now: SimTime, r: ReplicaId) -> Option<AttemptId> {
        let rep = &mut self.service.replicas[r];
        let pool = &mut self.service.pools[rep.pool as usize];
        let mut taken = false;
        let next = loop {
            let discipline = pool.discipline;
            let next = rep.queue.pop(|len| match discipline {
                Discipline::Fifo => false,
                Discipline::Lifo => true,
                Discipline::AdaptiveLifo { above } => len as u32 > above,
                Discipline::ProcessorSharing => false,
            });
            let Some(id) = next else { break None };
            taken = true;
            let a = &mut self.req.attempts[id];
            // Abandoned attempts of a drop_stale pool were marked cancelled when abandoned.
            if a.cancelled {
                a.at_server = false;
                let occ = dec(
                    pool.occupancy[rep.index as usize],
                    now,
                    "a replica's occupancy",
                );
                pool.occupancy.set(rep.index as usize, occ);
                self.req.attempts[id].pos = NONE;
                self.req.free_attempts.push(id);
                continue;
            }
            break Some(id);
        };
        if taken {
            rep.queued.set(now, rep.queue.len() as u64);
        }
        next
    }

    /// Stops the work of an attempt nobody waits for (a hedge that lost, or any abandoned
    /// attempt when its pool drops stale work): a queued one is marked and dropped when a worker
    /// reaches it; one in service stops and frees its worker. True if it was at a server.
    pub(super) fn cancel_at_server(
        &mut self,
        now: SimTime,
        id: AttemptId,
        sched: &mut Scheduler<Event>,
    ) -> bool {
        let a = &mut self.req.attempts[id];
        if !a.at_server {
            return false;
        }
        a.cancelled = true;
        if a.pos == LOST {
            return true; // its replica just crashed: the crash frees it
        }
        let r = a.replica;
        if self.service.pools[self.service.replicas[r].pool as usize].discipline
            == Discipline::ProcessorSharing
        {
            // In service with the others (its departure may be the one scheduled).
            self.ps_advance(now, r);
            let a = &mut self.req.attempts[id];
            a.at_server = false;
            let pos = a.pos as usize;
            self.leave_service(now, r, pos);
            self.ps_reschedule(r, sched);
            return true;
        }
        let a = &mut self.req.attempts[id];
        if let Some(t) = a.done.take() {
            sched.cancel(t);
        } else if a.waiting_deps {
            // In service, waiting for its dependencies: they are cancelled too (deadline
            // propagation).
            a.waiting_deps = false;
            self.cancel_dependencies(now, id, true, sched);
        } else {
            return true; // queued: dropped when a worker reaches it
        }
        let a = &mut self.req.attempts[id];
        a.at_server = false;
        let (r, pos) = (a.replica, a.pos as usize);
        self.leave_service(now, r, pos);
        if let Some(n) = self.next_waiting(now, r) {
            self.start_service(now, n, sched);
        }
        true
    }

    /// The caller abandoned attempt `a` (timeout): a pool that drops stale work stops it.
    pub(super) fn abandoned(&mut self, now: SimTime, id: AttemptId, sched: &mut Scheduler<Event>) {
        let a = &self.req.attempts[id];
        if a.at_server
            && self.service.pools[self.service.replicas[a.replica].pool as usize].drop_stale
            && self.cancel_at_server(now, id, sched)
        {
            self.req.resilience.stale_dropped += 1;
        }
    }

    /// Removes the attempt at `pos` of replica `r`'s in-service list.
    pub(super) fn leave_service(&mut self, now: SimTime, r: ReplicaId, pos: usize) {
        let rep = &mut self.service.replicas[r];
        rep.in_service.swap_remove(pos);
        if let Some(&moved) = rep.in_service.get(pos) {
            self.req.attempts[moved].pos = pos as u32;
        }
        let pool = &mut self.service.pools[rep.pool as usize];
        rep.busy
            .set(now, rep.in_service.len().min(rep.workers as usize) as u64);
        let occ = dec(
            pool.occupancy[rep.index as usize],
            now,
            "a replica's occupancy",
        );
        pool.occupancy.set(rep.index as usize, occ);
    }

    /// Processor sharing: advances replica `r`'s clock to `now` at rate min(1, workers / n)
    /// per request (before n changes).
    pub(super) fn ps_advance(&mut self, now: SimTime, r: ReplicaId) {
        let rep = &mut self.service.replicas[r];
        let n = rep.in_service.len() as u128;
        if n > 0 {
            let share = n.min(rep.workers as u128);
            let dv = now.since(rep.ps_at).0 as u128 * crate::pool::PS_SCALE * share / n;
            rep.ps_v = rep
                .ps_v
                .saturating_add(u64::try_from(dv).unwrap_or(u64::MAX));
        }
        rep.ps_at = now;
    }

    /// Processor sharing: schedules the departure of the request that finishes first at the
    /// current rate (after n changed), replacing the one scheduled.
    pub(super) fn ps_reschedule(&mut self, r: ReplicaId, sched: &mut Scheduler<Event>) {
        let rep = &mut self.service.replicas[r];
        if let Some(h) = rep.ps_head.take()
            && let Some(t) = self.req.attempts[h].done.take()
        {
            sched.cancel(t);
        }
        while let Some(&std::cmp::Reverse((f, id))) = rep.ps_heap.peek() {
            let a = &self.req.attempts[id];
            if a.at_server && a.replica == r && a.pos != NONE && a.pos != LOST && a.ps_finish == f {
                let n = rep.in_service.len() as u128;
                let share = n.min(rep.workers as u128);
                let left = (f - rep.ps_v.min(f)) as u128;
                let dt = (left * n).div_ceil(share * crate::pool::PS_SCALE) as u64;
                rep.ps_head = Some(id);
                self.req.attempts[id].done = Some(
                    sched.timer_after(SimDuration(dt), Event::Service(ServiceEvent::Done(id))),
                );
                return;
            }
            rep.ps_heap.pop(); // left already (done, cancelled, crashed)
        }
    }

    /// Processor sharing: attempt `id` joins replica `r`'s processors at once.
    pub(super) fn ps_arrive(
        &mut self,
        now: SimTime,
        id: AttemptId,
        r: ReplicaId,
        sched: &mut Scheduler<Event>,
    ) {
        self.ps_advance(now, r);
        let rep = &mut self.service.replicas[r];
        let pool = &mut self.service.pools[rep.pool as usize];
        pool.occupancy.inc(rep.index as usize);
        let a = &mut self.req.attempts[id];
        a.at_server = true;
        a.started = now;
        // Trace detail.
        if self.observer.detailed() {
            let rec = Record::ServiceStarted {
                request: self.req.calls[a.call].seq,
                replica: r.0,
            };
            self.observer.record(now, &rec);
        }
        a.pos = rep.in_service.len() as u32;
        // Saturating: a service time of centuries must not wrap (found by the fuzzer).
        a.ps_finish = rep.ps_v.saturating_add(
            u64::try_from(a.service.0 as u128 * crate::pool::PS_SCALE).unwrap_or(u64::MAX),
        );
        rep.ps_heap.push(std::cmp::Reverse((a.ps_finish, id)));
        rep.in_service.push(id);
        rep.busy
            .set(now, rep.in_service.len().min(rep.workers as usize) as u64);
        self.ps_reschedule(r, sched);
    }

    pub(super) fn on_done(&mut self, now: SimTime, id: AttemptId, sched: &mut Scheduler<Event>) {
        let a = &mut self.req.attempts[id];
        a.done = None;
        let (r, live) = (a.replica, a.live);
        let ps = self.service.replicas[r].ps_head == Some(id);
        if ps {
            self.ps_advance(now, r);
            self.service.replicas[r].ps_head = None;
        }
        let outcome = if live {
            self.served_outcome(r)
        } else {
            Outcome::Succeeded // nobody will learn it
        };
        let pool = self.service.replicas[r].pool as usize;
        // Work done for a caller that left still calls the dependencies (unless the pool drops
        // stale work, which stopped it already).
        if outcome == Outcome::Succeeded && self.tiers.deps[pool].is_some() {
            self.start_dependencies(now, id, sched);
        } else {
            self.finish_service(now, id, outcome, sched);
        }
        if ps {
            self.ps_reschedule(r, sched);
        }
    }

    /// Attempt `id` leaves its worker with `outcome` (told to its caller if it still waits);
    /// the worker takes the next waiting attempt.
    pub(super) fn finish_service(
        &mut self,
        now: SimTime,
        id: AttemptId,
        outcome: Outcome,
        sched: &mut Scheduler<Event>,
    ) {
        let a = &mut self.req.attempts[id];
        a.at_server = false;
        let (r, pos, live) = (a.replica, a.pos as usize, a.live);
        // Trace detail.
        if self.observer.detailed() {
            let rec = Record::ServiceEnded {
                request: self.req.calls[a.call].seq,
                replica: r.0,
            };
            self.observer.record(now, &rec);
        }
        self.leave_service(now, r, pos);
        let rep = &mut self.service.replicas[r];
        rep.served += 1;
        let next = self.next_waiting(now, r);
        if live {
            self.attempt_ended(now, id, outcome, sched);
        } else {
            self.req.resilience.stale_served += 1;
            self.release_attempt(id);
        }
        if let Some(n) = next {
            self.start_service(now, n, sched);
        }
    }

    /// What a replica's answer is: an error with its pool's error rate (and its open gray
    /// failures'), else success.
    pub(super) fn served_outcome(&mut self, r: ReplicaId) -> Outcome {
        {
            let pool = &mut self.service.pools[self.service.replicas[r].pool as usize];
            let failed = match pool.error_rng.as_mut() {
                Some(rng) => {
                    let keep = self.faults.fault_keep[r.ix()];
                    let p = if keep == 1.0 {
                        pool.error_rate
                    } else {
                        1.0 - (1.0 - pool.error_rate) * keep
                    };
                    p > 0.0 && rng.chance(p)
                }
                None => false,
            };
            if failed {
                Outcome::Error
            } else {
                Outcome::Succeeded
            }
        }
    }
}
