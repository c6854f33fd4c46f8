//! Stores on the request path: a hop whose target is a store sends each attempt to that store
//! (a read, a write, a lock) instead of to a replica; the store answers it later, from its own
//! events, and the answer ends the attempt like a replica's response would. The caller's
//! timeouts, retries, hedges, breaker and bulkhead apply as to any hop.
//!
//! An attempt a store holds is not freed until the store answered it, even when its caller
//! gave up (a time-out, a hedge that lost): the store keeps working on it, as a database
//! keeps executing a query whose client left.

use super::*;
use crate::spec::StoreCall;
use crate::store::{Answer, Notice};

impl<O: Observer<Record>> System<O> {
    /// Attempt `id` of a hop to store `to.store` is delivered there.
    pub(super) fn call_store(
        &mut self,
        now: SimTime,
        to: StoreCall,
        id: AttemptId,
        sched: &mut Scheduler<Event>,
    ) {
        self.req.attempts[id].at_store = true;
        let s = to.store;
        let observer = &mut self.observer;
        self.stores[s as usize].call(now, s, id.0, to.op, sched, &mut |t, r| {
            observer.record(t, &Record::Store(*r))
        });
        self.store_answers(now, s, sched);
    }

    /// Attempt `id` missed a cache whose callers fetch misses themselves: it calls the cache's
    /// backend through its hop (a dependency call of the attempt, with the hop's timeout and
    /// retries), and the cache learns the result when that call ends (`backend_fetched`).
    fn fetch_miss(&mut self, now: SimTime, id: AttemptId, sched: &mut Scheduler<Event>) {
        let c = self.req.calls[self.req.attempts[id].call].client;
        let hop = (self.req.clients[c].store)
            .and_then(|s| s.miss_hop)
            .unwrap_or_else(|| {
                unreachable!("a cache answers Miss only to callers with a fetch hop")
            });
        self.open_call(now, CallerId(self.req.n_clients + hop), id, sched);
    }

    /// The fetch that attempt `id` made for its cache ended (`ok`: the value came back): the
    /// cache fills the key and answers the attempt and those that waited for the same key.
    pub(super) fn backend_fetched(
        &mut self,
        now: SimTime,
        id: AttemptId,
        ok: bool,
        sched: &mut Scheduler<Event>,
    ) {
        let c = self.req.calls[self.req.attempts[id].call].client;
        let s = (self.req.clients[c].store)
            .unwrap_or_else(|| unreachable!("a fetch is made for a store's attempt"))
            .store;
        let fetch = self.req.attempts[id].slot;
        self.notify(now, s, Notice::Fetched { fetch, ok }, sched);
    }

    /// Ends the attempts store `s` has answered. An answer can make the caller call a store
    /// again (the next call of a sequence): those answers are taken in the next round.
    pub(super) fn store_answers(&mut self, now: SimTime, s: u32, sched: &mut Scheduler<Event>) {
        loop {
            let mut answers = std::mem::take(&mut self.answers);
            self.stores[s as usize].take_answers(&mut answers);
            if answers.is_empty() {
                self.answers = answers;
                return;
            }
            for &(token, answer) in &answers {
                if let Answer::Work { incarnation } = answer {
                    self.process(now, s, token, incarnation, sched);
                    continue;
                }
                let id = AttemptId(token);
                let a = &mut self.req.attempts[id];
                assert!(
                    a.at_store,
                    "invariant: a store answers only the attempts it holds"
                );
                let outcome = match answer {
                    Answer::Ok => Outcome::Succeeded,
                    Answer::Failed => Outcome::Error,
                    Answer::Work { .. } => unreachable!("work is taken above"),
                    Answer::Miss { fetch } => {
                        // The store still holds it: it answers once the fetch is back. A store
                        // attempt has no balancer slot: the slot field keeps the fetch.
                        self.req.attempts[id].slot = fetch;
                        self.fetch_miss(now, id, sched);
                        continue;
                    }
                };
                self.req.attempts[id].at_store = false;
                self.attempt_ended(now, id, outcome, sched);
            }
            answers.clear();
            self.answers = answers;
        }
    }

    /// Broker `s` asks its consumer `consumer` (a replica of the group's pool) to process a
    /// message: a call of the group's hop at that replica, without a parent request.
    fn process(
        &mut self,
        now: SimTime,
        s: u32,
        consumer: u32,
        incarnation: u32,
        sched: &mut Scheduler<Event>,
    ) {
        let g = *(self.tiers.groups.iter())
            .find(|g| g.store == s)
            .unwrap_or_else(|| unreachable!("only a group made of a pool asks for work"));
        let replica = ReplicaId(self.service.pools[g.pool].first_replica + consumer);
        let caller = CallerId(self.req.n_clients + g.hop);
        self.open_job(now, caller, AttemptId::NONE, (replica, incarnation), sched);
    }

    /// A consumer's processing (a call `cl` of hop `h`) ended: its broker learns how.
    pub(super) fn processed(
        &mut self,
        now: SimTime,
        h: u32,
        cl: &Call,
        ok: bool,
        sched: &mut Scheduler<Event>,
    ) {
        let g = *(self.tiers.groups.iter())
            .find(|g| g.hop == h)
            .unwrap_or_else(|| unreachable!("a job is made by a group's hop"));
        let consumer = cl.replica.0 - self.service.pools[g.pool].first_replica;
        let notice = Notice::Processed {
            consumer,
            incarnation: cl.job,
            ok,
        };
        self.notify(now, g.store, notice, sched);
    }

    /// Replica `r` went down or came back: if it is a consumer of a group, its broker learns
    /// it first (before the requests it held fail, whose processing is then stale).
    pub(super) fn member_changed(
        &mut self,
        now: SimTime,
        r: ReplicaId,
        up: bool,
        sched: &mut Scheduler<Event>,
    ) {
        let rep = &self.service.replicas[r];
        let g = self.tiers.group_of_pool[rep.pool as usize];
        if g == NONE {
            return;
        }
        let g = self.tiers.groups[g as usize];
        let notice = Notice::Member {
            consumer: rep.index,
            up,
        };
        self.notify(now, g.store, notice, sched);
    }

    fn notify(&mut self, now: SimTime, s: u32, notice: Notice, sched: &mut Scheduler<Event>) {
        let observer = &mut self.observer;
        self.stores[s as usize].notice(now, s, notice, sched, &mut |t, r| {
            observer.record(t, &Record::Store(*r))
        });
        self.store_answers(now, s, sched);
    }
}
