//! Tiers: an attempt at a pool with dependencies calls them after its own work (all, first,
//! quorum, sequence), keeps its worker while they run, and answers by its wait rule; calls no
//! longer needed are cancelled.

use super::*;

/// A broker's consumer group made of a pool's replicas: the broker asks a consumer to process
/// a message, the host makes that a call of `hop` at the consumer's replica.
#[derive(Clone, Copy)]
pub(super) struct Group {
    pub(super) store: u32,
    pub(super) pool: PoolId,
    pub(super) hop: u32,
}

/// What each pool calls, and each hop's counts.
pub(super) struct Tiers {
    /// Consumer groups made of a pool's replicas (store_calls.rs).
    pub(super) groups: Vec<Group>,
    /// Per pool, its group in `groups` (`NONE`: it is no consumer group).
    pub(super) group_of_pool: Vec<u32>,
    /// Per pool, what its replicas call after their own work.
    pub(super) deps: Vec<Option<crate::spec::DependenciesSpec>>,
    /// Per hop, whole-run counts (resilience counts restart at warm-up).
    pub(super) hops: Vec<HopSummary>,
}

impl<O: Observer<Record>> System<O> {
    /// Dependency call `cl` of hop `h` ended (`None`: cancelled or orphaned by its caller,
    /// which has already unlinked it): counted, and its caller learns the result.
    pub(super) fn hop_call_ended(
        &mut self,
        now: SimTime,
        h: u32,
        cl: &Call,
        outcome: Option<Outcome>,
        sched: &mut Scheduler<Event>,
    ) {
        let hop = &mut self.tiers.hops[h as usize];
        hop.in_flight = dec(hop.in_flight, now, "a hop's calls in flight");
        match outcome {
            Some(Outcome::Succeeded) => hop.succeeded += 1,
            Some(_) => hop.failed += 1,
            None => hop.cancelled += 1,
        }
        self.observer.record(
            now,
            &Record::HopFinished {
                hop: h,
                arrived: cl.arrived,
                replica: cl.replica.0,
                outcome,
                latency: now.since(cl.arrived),
                attempts: cl.attempts,
            },
        );
        // Trace detail: the request's own view of the call's end.
        if self.observer.detailed() && cl.seq != calls::NO_REQUEST {
            let rec = Record::DependencyEnded {
                request: cl.seq,
                hop: h,
                outcome,
            };
            self.observer.record(now, &rec);
        }
        if let Some(outcome) = outcome {
            let ok = outcome == Outcome::Succeeded;
            if cl.job != NONE {
                // A consumer's processing of a message (store_calls.rs).
                self.processed(now, h, cl, ok, sched);
            } else if self.req.attempts[cl.parent].at_store {
                // A cache's miss fetched by its caller (store_calls.rs).
                self.backend_fetched(now, cl.parent, ok, sched);
            } else {
                self.dependency_result(now, cl.parent, ok, sched);
            }
        }
    }

    /// Removes dependency call `call` from attempt `p`'s list (a handful of calls at most).
    pub(super) fn unlink_child(&mut self, p: AttemptId, call: CallId) {
        let next = self.req.calls[call].next_child;
        let a = &mut self.req.attempts[p];
        if a.children == call {
            a.children = next;
            return;
        }
        let mut cur = a.children;
        while cur != CallId::NONE {
            let n = self.req.calls[cur].next_child;
            if n == call {
                self.req.calls[cur].next_child = next;
                return;
            }
            cur = n;
        }
    }

    /// Attempt `id` finished its own work at a pool with dependencies: it calls them (in
    /// parallel, or the first of a sequence) and keeps its worker until they resolve.
    pub(super) fn start_dependencies(
        &mut self,
        now: SimTime,
        id: AttemptId,
        sched: &mut Scheduler<Event>,
    ) {
        let pool = self.service.replicas[self.req.attempts[id].replica.ix()].pool as usize;
        let deps = self.tiers.deps[pool]
            .as_ref()
            .unwrap_or_else(|| unreachable!());
        let first = match deps.wait_for {
            WaitFor::Sequence => 1,
            _ => deps.calls.len(),
        };
        let a = &mut self.req.attempts[id];
        a.waiting_deps = true;
        (a.deps_started, a.deps_ok, a.deps_failed) = (0, 0, 0);
        for _ in 0..first {
            // A call can fail at once (refused, rejected, short-circuited) and resolve the
            // request; then its slot may even be reused, but never by an attempt waiting for
            // dependencies (those only begin at a Done event), so this test is enough.
            if !self.req.attempts[id].waiting_deps {
                break;
            }
            self.next_dependency(now, id, pool, sched);
        }
    }

    /// Attempt `id` (at a replica of `pool`) makes its next dependency call.
    pub(super) fn next_dependency(
        &mut self,
        now: SimTime,
        id: AttemptId,
        pool: usize,
        sched: &mut Scheduler<Event>,
    ) {
        let a = &mut self.req.attempts[id];
        let j = a.deps_started as usize;
        a.deps_started += 1;
        let hop = self.tiers.deps[pool]
            .as_ref()
            .unwrap_or_else(|| unreachable!())
            .calls[j];
        // Trace detail: the call starts here (its attempts follow as the hop's).
        if self.observer.detailed() {
            let a = &self.req.attempts[id];
            let rec = Record::DependencyCall {
                request: self.req.calls[a.call].seq,
                hop,
                replica: a.replica.0,
            };
            self.observer.record(now, &rec);
        }
        self.open_call(now, CallerId(self.req.n_clients + hop), id, sched);
    }

    /// A dependency call of attempt `p` ended: the request answers once its pool's `wait_for`
    /// rule is met or can no longer be; the calls still in flight are then cancelled.
    pub(super) fn dependency_result(
        &mut self,
        now: SimTime,
        p: AttemptId,
        ok: bool,
        sched: &mut Scheduler<Event>,
    ) {
        let a = &mut self.req.attempts[p];
        assert!(
            a.waiting_deps,
            "invariant: a dependency answers a waiting attempt"
        );
        if ok {
            a.deps_ok += 1;
        } else {
            a.deps_failed += 1;
        }
        if a.pos == LOST {
            return; // its replica just crashed: the crash abandons its calls and fails it
        }
        let pool = self.service.replicas[a.replica].pool as usize;
        let deps = self.tiers.deps[pool]
            .as_ref()
            .unwrap_or_else(|| unreachable!());
        let n = deps.calls.len() as u16;
        let verdict = match deps.wait_for {
            WaitFor::All | WaitFor::Sequence if !ok => Some(false),
            WaitFor::All | WaitFor::Sequence => (a.deps_ok == n).then_some(true),
            WaitFor::First if ok => Some(true),
            WaitFor::First => (a.deps_failed == n).then_some(false),
            WaitFor::Quorum(k) => {
                let k = k as u16;
                if a.deps_ok >= k {
                    Some(true)
                } else {
                    (a.deps_failed > n - k).then_some(false)
                }
            }
        };
        match verdict {
            None if deps.wait_for == WaitFor::Sequence => {
                self.next_dependency(now, p, pool, sched);
            }
            None => {}
            Some(ok) => {
                self.req.attempts[p].waiting_deps = false;
                self.cancel_dependencies(now, p, true, sched);
                let outcome = if ok {
                    Outcome::Succeeded
                } else {
                    Outcome::Error
                };
                self.finish_service(now, p, outcome, sched);
            }
        }
    }

    /// Ends the dependency calls attempt `p` still has in flight: cancelled at their servers
    /// (`cancel`: the answer no longer matters) or abandoned (its replica crashed).
    pub(super) fn cancel_dependencies(
        &mut self,
        now: SimTime,
        p: AttemptId,
        cancel: bool,
        sched: &mut Scheduler<Event>,
    ) {
        let mut cur = std::mem::replace(&mut self.req.attempts[p].children, CallId::NONE);
        while cur != CallId::NONE {
            let next = self.req.calls[cur].next_child;
            self.req.calls[cur].parent = AttemptId::NONE;
            self.end_call(now, cur, None, None, cancel, sched);
            cur = next;
        }
    }
}
