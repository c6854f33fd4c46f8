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
use crate::store::Answer;

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
                let id = AttemptId(token);
                let a = &mut self.req.attempts[id];
                assert!(
                    a.at_store,
                    "invariant: a store answers only the attempts it holds"
                );
                a.at_store = false;
                let outcome = match answer {
                    Answer::Ok => Outcome::Succeeded,
                    Answer::Failed => Outcome::Error,
                };
                self.attempt_ended(now, id, outcome, sched);
            }
            answers.clear();
            self.answers = answers;
        }
    }
}
