//! Calls and their attempts: the slabs that hold them, a caller's (client's or hop's) retries,
//! hedges, deadlines, per-try timeouts, breaker and bulkhead, and how a call ends. A call is a
//! client's request or a dependency call; an attempt is one try of it at a replica.

use super::*;

/// The request life cycle's state: callers (clients, then one per hop), calls and attempts in
/// slabs (no allocation once grown to the work in flight), and what they add up to.
pub(super) struct Requests {
    /// Clients first; hop `h` is caller `n_clients + h`.
    pub(super) clients: Vec<Client>,
    pub(super) calls: Vec<Call>,
    pub(super) free_calls: Vec<CallId>,
    pub(super) attempts: Vec<Attempt>,
    pub(super) free_attempts: Vec<AttemptId>,
    /// Some caller hedges (or a pool has dependencies): service must be cancellable.
    pub(super) hedging: bool,
    pub(super) resilience: ResilienceCounts,
    pub(super) counts: Conservation,
    pub(super) n_clients: u32,
}

pub(super) struct Client {
    pub(super) interarrival: Dist,
    /// Piecewise-constant Poisson rates, when the arrivals have steps.
    pub(super) steps: Option<Vec<(SimDuration, f64)>>,
    /// Arrivals with a state of their own (users, MMPP, rate curves, a trace), if any.
    pub(super) source: Option<crate::arrivals::Source>,
    pub(super) rng: Stream,
    pub(super) timeout: Option<SimDuration>,
    pub(super) target: Target,
    /// A hop's store: its calls go to this store, with this operation, not to `target`.
    pub(super) store: Option<crate::spec::StoreCall>,
    pub(super) retry: Option<crate::spec::RetrySpec>,
    pub(super) hedge: Option<crate::spec::HedgeSpec>,
    pub(super) breaker: Option<Breaker>,
    pub(super) budget: Option<Budget>,
    /// Backoff jitter draws (`client/NAME/retry`), if it retries.
    pub(super) retry_rng: Option<Stream>,
    /// Bulkhead: calls beyond this many in flight are rejected at once.
    pub(super) max_in_flight: u64,
    /// Calls waiting for an outcome.
    pub(super) in_flight: u64,
    /// Retry attempts whose outcome the client still awaits (for Envoy's budget).
    pub(super) retries_in_flight: u64,
    /// Priority class of its requests (0 first).
    pub(super) priority: u8,
}

/// A client's request, end to end: one or more attempts (retries, hedged copies).
#[derive(Clone, Copy)]
pub(super) struct Call {
    /// Sequence number of the request in the run (0, 1, 2, …): its name in traces.
    pub(super) seq: u64,
    pub(super) client: CallerId,
    pub(super) arrived: SimTime,
    /// Attempts started (short-circuited ones included).
    pub(super) attempts: u32,
    /// Live attempts, linked through `Attempt::sibling`.
    pub(super) live: AttemptId,
    /// The overall deadline.
    pub(super) deadline: Option<TimerId>,
    /// The backoff before the next retry, or the delay before the next hedged copy.
    pub(super) pending: Option<TimerId>,
    /// The last backoff (decorrelated jitter draws from it).
    pub(super) last_delay: SimDuration,
    /// The replica of the latest attempt (for the record).
    pub(super) replica: ReplicaId,
    /// The client still waits for an outcome.
    pub(super) waiting: bool,
    /// Priority class (0 first), the client's; a dependency call inherits its caller's.
    pub(super) priority: u8,
    /// For a dependency call: the attempt that made it (`NONE` for a client's request).
    pub(super) parent: AttemptId,
    /// The next call of the same parent attempt.
    pub(super) next_child: CallId,
    /// For a broker's message processed by its consumer replica (a call without parent, made
    /// by the group's hop): the consumer's incarnation when it took the message; else `NONE`.
    pub(super) job: u32,
}

/// `Call::seq` of a call that is no user's request (a consumer's processing).
pub(super) const NO_REQUEST: u64 = u64::MAX;

/// One try of a call at a replica.
#[derive(Clone, Copy)]
pub(super) struct Attempt {
    pub(super) call: CallId,
    pub(super) sent: SimTime,
    pub(super) started: SimTime,
    pub(super) service: SimDuration,
    pub(super) replica: ReplicaId,
    /// The balancer instance that chose the replica, and the backend slot it counted the
    /// attempt in (its completion decrements that instance's count).
    pub(super) balancer: InstanceId,
    pub(super) slot: u32,
    /// Position in the replica's `in_service` list while in service.
    pub(super) pos: u32,
    /// Next live attempt of the same call.
    pub(super) sibling: AttemptId,
    /// The breaker epoch that permitted it (`NONE` without a breaker).
    pub(super) epoch: u32,
    pub(super) try_timeout: Option<TimerId>,
    pub(super) done: Option<TimerId>,
    /// The caller still waits for this attempt's result.
    pub(super) live: bool,
    /// Cancelled by its caller (a hedge that lost): dropped wherever it is.
    pub(super) cancelled: bool,
    /// A retry (counts against Envoy's budget while live).
    pub(super) is_retry: bool,
    /// Queued or in service at a replica.
    pub(super) at_server: bool,
    /// A store holds it: it is freed once the store answered.
    pub(super) at_store: bool,
    /// Its own work is done and it waits for its dependency calls (still holding its worker).
    pub(super) waiting_deps: bool,
    /// Dependency calls made, succeeded and failed so far.
    pub(super) deps_started: u16,
    pub(super) deps_ok: u16,
    pub(super) deps_failed: u16,
    /// Its dependency calls in flight, linked through `Call::next_child`.
    pub(super) children: CallId,
    /// Processor sharing: when it finishes, in its replica's shared clock.
    pub(super) ps_finish: u64,
}

impl<O: Observer<Record>> System<O> {
    /// The gap to client `c`'s next arrival (`None`: none is due, as for users, whose next
    /// request follows their think time, or a trace played to its end).
    #[inline]
    pub(super) fn next_gap(&mut self, now: SimTime, c: CallerId) -> Option<SimDuration> {
        let client = &mut self.req.clients[c];
        if let Some(s) = client.source.as_mut() {
            return s.next_gap(now, &mut client.rng);
        }
        Some(match &client.steps {
            None => client.interarrival.sample(&mut client.rng),
            Some(steps) => crate::spec::steps_gap(steps, now, &mut client.rng),
        })
    }

    #[inline]
    pub(super) fn on_arrival(&mut self, now: SimTime, c: CallerId, sched: &mut Scheduler<Event>) {
        if let Some(gap) = self.next_gap(now, c) {
            sched.after(gap, Event::Call(CallEvent::Arrival(c)));
        }
        self.open_call(now, c, AttemptId::NONE, sched);
    }

    /// What caller `c` counts its resilience figures in: the run's for a client, its own for
    /// a hop.
    #[inline]
    pub(super) fn rc(&mut self, c: CallerId) -> &mut ResilienceCounts {
        match c.hop(self.req.n_clients) {
            Some(h) => &mut self.tiers.hops[h as usize].resilience,
            None => &mut self.req.resilience,
        }
    }

    /// Caller `c`'s breaker changed to `state`: a client's or a hop's record.
    pub(super) fn record_breaker(
        &mut self,
        now: SimTime,
        c: CallerId,
        state: crate::breaker::BreakerState,
    ) {
        let rec = match c.hop(self.req.n_clients) {
            None => Record::BreakerChange { client: c.0, state },
            Some(hop) => Record::HopBreakerChange { hop, state },
        };
        self.observer.record(now, &rec);
    }

    pub(super) fn new_call(&mut self, call: Call) -> CallId {
        match self.req.free_calls.pop() {
            Some(i) => {
                self.req.calls[i] = call;
                i
            }
            None => {
                self.req.calls.push(call);
                CallId((self.req.calls.len() - 1) as u32)
            }
        }
    }

    pub(super) fn new_attempt(&mut self, a: Attempt) -> AttemptId {
        match self.req.free_attempts.pop() {
            Some(i) => {
                self.req.attempts[i] = a;
                i
            }
            None => {
                self.req.attempts.push(a);
                AttemptId((self.req.attempts.len() - 1) as u32)
            }
        }
    }

    /// Frees an attempt nobody needs any more (its caller has its result and no server holds it).
    #[inline]
    pub(super) fn release_attempt(&mut self, id: AttemptId) {
        let a = &self.req.attempts[id];
        if !a.live && !a.at_server && !a.at_store {
            self.free_attempt(id);
        }
    }

    #[inline]
    pub(super) fn free_attempt(&mut self, id: AttemptId) {
        self.req.attempts[id].pos = NONE;
        self.req.free_attempts.push(id);
    }

    /// Caller `c` makes a call: a client's request (`parent` = `NONE`) or a dependency call of
    /// attempt `parent`.
    pub(super) fn open_call(
        &mut self,
        now: SimTime,
        c: CallerId,
        parent: AttemptId,
        sched: &mut Scheduler<Event>,
    ) {
        self.open_job(now, c, parent, (ReplicaId::NONE, NONE), sched);
    }

    /// [`Self::open_call`], or (`job` = (replica, incarnation), no parent, a group's hop) a
    /// consumer's processing of a message at its own replica.
    pub(super) fn open_job(
        &mut self,
        now: SimTime,
        c: CallerId,
        parent: AttemptId,
        (replica, job): (ReplicaId, u32),
        sched: &mut Scheduler<Event>,
    ) {
        let client = &mut self.req.clients[c];
        let (timeout, full) = (client.timeout, client.in_flight >= client.max_in_flight);
        client.in_flight += 1;
        let top = parent == AttemptId::NONE && job == NONE;
        let (seq, priority) = if top {
            (self.req.counts.offered, client.priority)
        } else if parent == AttemptId::NONE {
            (NO_REQUEST, 0)
        } else {
            let c = &self.req.calls[self.req.attempts[parent].call.ix()];
            (c.seq, c.priority)
        };
        let id = self.new_call(Call {
            seq,
            client: c,
            arrived: now,
            attempts: 0,
            live: AttemptId::NONE,
            deadline: None,
            pending: None,
            last_delay: SimDuration::ZERO,
            replica,
            waiting: true,
            parent,
            next_child: CallId::NONE,
            priority,
            job,
        });
        if top {
            self.req.counts.offered += 1;
            self.req.counts.in_flight += 1;
            self.observer.record(
                now,
                &Record::Offered {
                    client: c.0,
                    request: seq,
                },
            );
        } else {
            let h = &mut self.tiers.hops[(c.0 - self.req.n_clients) as usize];
            h.offered += 1;
            h.in_flight += 1;
            if parent != AttemptId::NONE {
                let p = &mut self.req.attempts[parent];
                self.req.calls[id].next_child = p.children;
                p.children = id;
            }
        }
        if full {
            self.rc(c).bulkhead_rejected += 1;
            self.finish_call(now, id, Outcome::Rejected, None, sched);
            return;
        }
        if let Some(t) = timeout {
            self.req.calls[id].deadline =
                Some(sched.timeout_after(t, Event::Call(CallEvent::Deadline(id))));
        }
        self.send_attempt(now, id, false, sched);
    }

    /// Starts the next attempt of `call`: through the client's breaker, then routed and
    /// delivered; arms its per-try timeout and the next hedge.
    pub(super) fn send_attempt(
        &mut self,
        now: SimTime,
        call: CallId,
        is_retry: bool,
        sched: &mut Scheduler<Event>,
    ) {
        let cl = &mut self.req.calls[call];
        cl.attempts += 1;
        let (c, attempts_made) = (cl.client, cl.attempts);
        let client = &mut self.req.clients[c];
        let epoch = match client.breaker.as_mut() {
            Some(b) => {
                let before = b.state();
                let permit = b.permit(now);
                let after = b.state();
                if before != after {
                    self.record_breaker(now, c, after);
                }
                match permit {
                    Some(e) => e,
                    None => {
                        self.rc(c).short_circuited += 1;
                        self.after_failure(now, call, Outcome::ShortCircuited, sched);
                        return;
                    }
                }
            }
            None => NONE,
        };
        self.rc(c).attempts += 1;
        let client = &mut self.req.clients[c];
        if is_retry {
            client.retries_in_flight += 1;
        }
        let (target, store, per_try, hedge) = (
            client.target,
            client.store,
            client.retry.as_ref().and_then(|r| r.per_try_timeout),
            client.hedge,
        );
        let cl = &mut self.req.calls[call];
        let sibling = cl.live;
        let id = self.new_attempt(Attempt {
            call,
            sent: now,
            started: now,
            service: SimDuration::ZERO,
            replica: ReplicaId::NONE,
            balancer: InstanceId::NONE,
            slot: NONE,
            pos: NONE,
            sibling,
            epoch,
            try_timeout: None,
            done: None,
            live: true,
            cancelled: false,
            is_retry,
            at_server: false,
            at_store: false,
            waiting_deps: false,
            deps_started: 0,
            deps_ok: 0,
            deps_failed: 0,
            children: CallId::NONE,
            ps_finish: 0,
        });
        self.req.calls[call].live = id;
        // Trace detail, only for observers that ask for it (a trace), of users' requests.
        if self.observer.detailed() && self.req.calls[call].seq != NO_REQUEST {
            let cl = &self.req.calls[call];
            let rec = Record::Attempt {
                request: cl.seq,
                caller: c.0,
                attempt: attempts_made,
                hedge: !sibling.is_none(),
            };
            self.observer.record(now, &rec);
        }
        if let Some(t) = per_try {
            self.req.attempts[id].try_timeout =
                Some(sched.timeout_after(t, Event::Call(CallEvent::TryTimeout(id))));
        }
        if let Some(h) = hedge
            && attempts_made < h.max_copies
        {
            let cl = &mut self.req.calls[call];
            if let Some(t) = cl.pending.take() {
                sched.cancel(t);
            }
            cl.pending = Some(sched.timeout_after(h.delay, Event::Call(CallEvent::Hedge(call))));
        }
        if let Some(s) = store {
            self.call_store(now, s, id, sched);
            return;
        }
        let cl = &self.req.calls[call];
        let mut parent = cl.parent;
        // A cache's fetch is made by the attempt at the cache, itself made at a replica.
        while parent != AttemptId::NONE && self.req.attempts[parent].replica == ReplicaId::NONE {
            parent = self.req.calls[self.req.attempts[parent].call].parent;
        }
        let routed = if cl.job != NONE {
            // A consumer processes its message at its own replica; the broker is in no zone.
            self.reach(NONE, cl.replica)
        } else {
            let from = if parent == AttemptId::NONE {
                self.routing.client_zone[c.ix()]
            } else {
                self.routing.replica_zone[self.req.attempts[parent].replica.ix()]
            };
            self.route(target, id, from)
        };
        // A partition swallows the attempt: no answer ever comes, only its timeouts end it.
        match routed {
            Ok(replica) => {
                self.req.calls[call].replica = replica;
                self.deliver(now, id, replica, sched);
            }
            Err(Some(replica)) => {
                // Sent towards a replica it cannot reach: lost on the way.
                self.req.calls[call].replica = replica;
                self.req.attempts[id].replica = replica;
            }
            Err(None) => {}
        }
    }

    /// Attempt `id` ended for its caller with `outcome` (served, failed, or abandoned): the
    /// balancer, breaker and budget learn it, then the call succeeds, waits for its other
    /// copies, retries or fails. Nothing happens for an attempt already abandoned.
    pub(super) fn attempt_ended(
        &mut self,
        now: SimTime,
        id: AttemptId,
        outcome: Outcome,
        sched: &mut Scheduler<Event>,
    ) {
        let a = &mut self.req.attempts[id];
        if !a.live {
            self.release_attempt(id);
            return;
        }
        a.live = false;
        if let Some(t) = a.try_timeout.take() {
            sched.cancel(t);
        }
        let a = *a;
        self.unlink(id);
        self.lb_attempt_ended(now, &a, Some(outcome), sched);
        if outcome == Outcome::TimedOut {
            self.abandoned(now, id, sched);
        }
        let ok = outcome == Outcome::Succeeded;
        let c = self.req.calls[a.call].client;
        let client = &mut self.req.clients[c];
        if a.is_retry {
            client.retries_in_flight = dec(client.retries_in_flight, now, "retries in flight");
        }
        if let Some(b) = client.budget.as_mut() {
            b.attempt_ended(ok);
        }
        let change = client.breaker.as_mut().map(|b| {
            let (before, opened) = (b.state(), b.openings);
            b.record(now, a.epoch, !ok);
            (before, b.state(), b.openings - opened)
        });
        if let Some((before, after, opened)) = change {
            self.rc(c).breaker_openings += opened;
            if before != after {
                self.record_breaker(now, c, after);
            }
        }
        self.release_attempt(id);
        if ok {
            self.finish_call(now, a.call, outcome, Some(&a), sched);
        } else {
            self.after_failure(now, a.call, outcome, sched);
        }
    }

    /// Removes live attempt `id` from its call's list.
    pub(super) fn unlink(&mut self, id: AttemptId) {
        let a = self.req.attempts[id];
        let call = &mut self.req.calls[a.call];
        if call.live == id {
            call.live = a.sibling;
            return;
        }
        let mut cur = call.live;
        while cur != AttemptId::NONE {
            let next = self.req.attempts[cur].sibling;
            if next == id {
                self.req.attempts[cur].sibling = a.sibling;
                return;
            }
            cur = next;
        }
    }

    /// An attempt of `call` failed with `outcome`: wait for its other copies, send the next
    /// hedge at once, retry after a backoff, or give up.
    pub(super) fn after_failure(
        &mut self,
        now: SimTime,
        call: CallId,
        outcome: Outcome,
        sched: &mut Scheduler<Event>,
    ) {
        let cl = &self.req.calls[call];
        if !cl.waiting || cl.live != AttemptId::NONE {
            return;
        }
        let (attempts, last_delay, c) = (cl.attempts, cl.last_delay, cl.client);
        let client = &mut self.req.clients[c];
        if let Some(h) = client.hedge
            && attempts < h.max_copies
            && outcome != Outcome::ShortCircuited
        {
            self.rc(c).hedges += 1;
            self.send_attempt(now, call, false, sched);
            return;
        }
        if let Some(r) = &client.retry
            && attempts < r.max_attempts
            && r.retry_on.contains(outcome)
        {
            if let Some(b) = &client.budget
                && !b.allows(client.in_flight, client.retries_in_flight)
            {
                self.rc(c).budget_denied += 1;
            } else {
                let k = attempts - 1;
                let rng = client.retry_rng.as_mut().unwrap_or_else(|| unreachable!());
                let prev = if k == 0 { r.backoff.base } else { last_delay };
                let delay = r.backoff.delay(k, prev, rng);
                let cl = &mut self.req.calls[call];
                cl.last_delay = delay;
                if let Some(t) = cl.pending.take() {
                    sched.cancel(t);
                }
                cl.pending = Some(sched.timer_after(delay, Event::Call(CallEvent::Retry(call))));
                let (request, attempt) = (cl.seq, attempts + 1);
                let rec = match c.hop(self.req.n_clients) {
                    None => Record::Retry {
                        client: c.0,
                        request,
                        attempt,
                        delay,
                    },
                    Some(hop) => Record::HopRetry {
                        hop,
                        request,
                        attempt,
                        delay,
                    },
                };
                self.rc(c).retries += 1;
                self.observer.record(now, &rec);
                return;
            }
        }
        self.finish_call(now, call, outcome, None, sched);
    }

    /// Tells the client how its call ended (once). Its other live attempts are abandoned —
    /// cancelled at their servers when a copy succeeded (hedging), else left to run on.
    pub(super) fn finish_call(
        &mut self,
        now: SimTime,
        call: CallId,
        outcome: Outcome,
        winner: Option<&Attempt>,
        sched: &mut Scheduler<Event>,
    ) {
        let cancel = outcome == Outcome::Succeeded;
        self.end_call(now, call, Some(outcome), winner, cancel, sched);
    }

    /// Ends a call: with its outcome, or (`None`) because the attempt that made it no longer
    /// needs it (a dependency call cancelled or orphaned). Its live attempts are cancelled at
    /// their servers (`cancel`) or abandoned.
    pub(super) fn end_call(
        &mut self,
        now: SimTime,
        call: CallId,
        outcome: Option<Outcome>,
        winner: Option<&Attempt>,
        cancel: bool,
        sched: &mut Scheduler<Event>,
    ) {
        let cl = &mut self.req.calls[call];
        if !cl.waiting {
            return;
        }
        cl.waiting = false;
        if let Some(t) = cl.deadline.take() {
            sched.cancel(t);
        }
        if let Some(t) = cl.pending.take() {
            sched.cancel(t);
        }
        let mut cur = std::mem::replace(&mut cl.live, AttemptId::NONE);
        while cur != AttemptId::NONE {
            let a = &mut self.req.attempts[cur];
            let next = a.sibling;
            a.live = false;
            if let Some(t) = a.try_timeout.take() {
                sched.cancel(t);
            }
            let a = *a;
            let c = self.req.calls[call].client.ix();
            if a.is_retry {
                let client = &mut self.req.clients[c];
                client.retries_in_flight = dec(client.retries_in_flight, now, "retries in flight");
            }
            if cancel {
                self.lb_attempt_ended(now, &a, None, sched);
                if self.cancel_at_server(now, cur, sched) {
                    self.rc(CallerId(c as u32)).cancelled += 1;
                }
            } else {
                self.lb_attempt_ended(now, &a, Some(Outcome::TimedOut), sched);
                self.abandoned(now, cur, sched);
            }
            self.release_attempt(cur);
            cur = next;
        }
        let cl = self.req.calls[call];
        let client = &mut self.req.clients[cl.client];
        client.in_flight = dec(client.in_flight, now, "a client's requests in flight");
        if let Some(h) = cl.client.hop(self.req.n_clients) {
            if outcome.is_some() && cl.parent != AttemptId::NONE {
                self.unlink_child(cl.parent, call);
            }
            self.req.free_calls.push(call);
            self.hop_call_ended(now, h, &cl, outcome, sched);
            return;
        }
        let outcome = outcome.unwrap_or_else(|| unreachable!("a client's call is never orphaned"));
        self.req.counts.in_flight = dec(self.req.counts.in_flight, now, "requests in flight");
        // A closed-loop user has its answer (or gave up): it thinks, then sends the next one.
        if let Some(s) = client.source.as_ref()
            && let Some(think) = s.think(&mut client.rng)
        {
            sched.after(think, Event::Call(CallEvent::Arrival(cl.client)));
        }
        let (replica, waited) = match winner {
            Some(a) => (a.replica, a.started.since(a.sent)),
            None => (cl.replica, SimDuration::ZERO),
        };
        if outcome == Outcome::Succeeded {
            self.req.counts.succeeded += 1;
        } else {
            self.req.counts.failed += 1;
        }
        let rec = Record::Finished {
            request: cl.seq,
            replica: replica.0,
            client: cl.client.0,
            arrived: cl.arrived,
            outcome,
            latency: now.since(cl.arrived),
            waited,
            attempts: cl.attempts,
        };
        self.observer.record(now, &rec);
        self.req.free_calls.push(call);
    }

    /// A call's or an attempt's timer.
    #[inline]
    pub(super) fn on_call_event(
        &mut self,
        now: SimTime,
        e: CallEvent,
        sched: &mut Scheduler<Event>,
    ) {
        match e {
            CallEvent::Arrival(c) => self.on_arrival(now, c, sched),
            CallEvent::Deadline(call) => {
                self.req.calls[call].deadline = None;
                // The server keeps working on it: the client has gone, the work has not.
                self.finish_call(now, call, Outcome::TimedOut, None, sched);
            }
            CallEvent::TryTimeout(id) => {
                self.req.attempts[id].try_timeout = None;
                self.attempt_ended(now, id, Outcome::TimedOut, sched);
            }
            CallEvent::Retry(call) => {
                self.req.calls[call].pending = None;
                self.send_attempt(now, call, true, sched);
            }
            CallEvent::Hedge(call) => {
                let cl = &mut self.req.calls[call];
                cl.pending = None;
                if cl.waiting {
                    self.req.resilience.hedges += 1;
                    self.send_attempt(now, call, false, sched);
                }
            }
        }
    }
}
