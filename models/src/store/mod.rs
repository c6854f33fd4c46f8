//! Replicated stores: state that a failure can lose. Each store is its own
//! [`sim_core::Model`], run beside (after) the request topology with its own named random
//! streams (`store/<name>/…`), so that adding a store shifts no other component's draws.
//!
//! - [`PrimaryBackup`]: one primary, k backups, synchronous or asynchronous replication,
//!   failover by lease timeout plus promotion, with or without fencing. Per outage: the writes
//!   lost (RPO) and the time writes fail (RTO); split-brain writes without fencing.
//! - [`Quorum`]: N replicas with independent crash/repair; reads need R up, writes W.
//! - [`LeaderElection`]: Raft-like election timing: time without a leader, terms per election.
//! - [`Broker`]: Kafka/SQS-shaped message broker: acks, ISR elections, a consumer group with
//!   rebalances, redelivery and a dead-letter queue; lost, duplicated and late messages.
//! - [`Cache`]: a look-aside cache (key popularity, TTL, LRU capacity) in front of a backend;
//!   a restart empties it and the miss storm hits the backend.
//!
//! Both emit [`StoreRecord`]s (one per operation, for latency histograms and the fingerprint)
//! and return a summary of integers that `reports` turns into figures.

mod broker;
mod cache;
mod election;
mod lock;
mod primary_backup;
mod quorum;

pub use broker::{Broker, BrokerCounts, BrokerSummary, BrokerWindow};
pub use cache::{
    Cache, CacheCounts, CacheRestart, CacheSummary, CacheWindow, MissCause, che_hit_ratio,
    ttl_hit_probability,
};
pub use election::{Election, ElectionSummary, LeaderElection};
pub use lock::{LockCounts, LockService, LockSummary};
pub use primary_backup::{Outage, OutageCause, PbCounts, PbSummary, PrimaryBackup};
pub use quorum::{OpCounts, Quorum, QuorumSummary, k_of_n};

use crate::spec::FailureSpec;
use crate::store_spec::StoreSpec;
use sim_core::{
    EventSlots, HostedScheduler, Model, Observer, RunStats, Schedule, Scheduler, SimDuration,
    SimTime, Stream, StreamKey, Until,
};
use std::cell::RefCell;
use std::rc::Rc;

/// A node is down while anything holds it (a random crash, a scheduled fault, a disaster):
/// takes one hold and says whether it just went down.
pub(crate) fn hold(down: &mut u32) -> bool {
    *down += 1;
    *down == 1
}

/// Releases one hold and says whether the node just came back.
pub(crate) fn release(down: &mut u32) -> bool {
    assert!(
        *down > 0,
        "invariant: a node is released only while held down"
    );
    *down -= 1;
    *down == 0
}

/// The delay to a node's next random crash (`repaired`: it just came back) or repair.
pub(crate) fn next_transition(
    failures: &Option<FailureSpec>,
    rng: &mut Stream,
    repaired: bool,
) -> Option<SimDuration> {
    failures.as_ref().map(|f| {
        if repaired {
            f.time_to_failure.sample(rng)
        } else {
            f.time_to_repair.sample(rng)
        }
    })
}

/// What a store emits per operation.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum StoreRecord {
    /// A write ended.
    Write {
        /// Index of the store in the scenario's `stores`.
        store: u32,
        /// Acknowledged (true) or failed.
        ok: bool,
        /// From issue to acknowledgement or failure.
        latency: SimDuration,
    },
    /// A read ended (quorum stores).
    Read {
        /// Index of the store.
        store: u32,
        /// Answered by R replicas (true) or failed.
        ok: bool,
        /// From issue to the R-th answer (zero when it failed).
        latency: SimDuration,
    },
    /// A broker's consumer finished processing a message (brokers).
    Consumed {
        /// Index of the store.
        store: u32,
        /// Its first successful processing (false: failed, or a duplicate).
        first: bool,
        /// From production to the end of processing (zero unless `first`).
        delay: SimDuration,
    },
    /// A cache request ended.
    Cache {
        /// Index of the store.
        store: u32,
        /// Answered from the cache.
        hit: bool,
        /// Answered (a hit, or a miss the backend answered) rather than failed.
        ok: bool,
        /// From the request to its answer or failure.
        latency: SimDuration,
    },
}

impl StoreRecord {
    /// The store that made it (its index in the scenario's `stores`).
    pub fn store(&self) -> u32 {
        match *self {
            StoreRecord::Write { store, .. }
            | StoreRecord::Read { store, .. }
            | StoreRecord::Consumed { store, .. }
            | StoreRecord::Cache { store, .. } => store,
        }
    }
}

/// A store's end-of-run figures.
#[derive(Clone, Debug)]
pub enum StoreSummary {
    /// A primary–backup store.
    PrimaryBackup(PbSummary),
    /// A quorum store.
    Quorum(QuorumSummary),
    /// A leader-elected cluster.
    Election(ElectionSummary),
    /// A message broker.
    Broker(BrokerSummary),
    /// A cache in front of a backend.
    Cache(CacheSummary),
    /// A lock service.
    Lock(LockSummary),
}

impl StoreSummary {
    /// The kernel's account of the store's run.
    pub fn run(&self) -> sim_core::RunStats {
        match self {
            StoreSummary::PrimaryBackup(p) => p.run,
            StoreSummary::Quorum(q) => q.run,
            StoreSummary::Election(e) => e.run,
            StoreSummary::Broker(b) => b.run,
            StoreSummary::Cache(c) => c.run,
            StoreSummary::Lock(l) => l.run,
        }
    }
}

/// What a request asks of a store: a pool's dependency call on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StoreOp {
    /// Read a key: a cache lookup, a database or quorum read.
    Read,
    /// Write: a database or quorum write, a message produced to a broker, a write that needs
    /// an elected leader.
    Write,
    /// Take a lock, run the critical section under it and release it (lock services).
    Lock,
}

impl StoreOp {
    /// The name a scenario file uses.
    pub fn name(self) -> &'static str {
        match self {
            StoreOp::Read => "Read",
            StoreOp::Write => "Write",
            StoreOp::Lock => "Lock",
        }
    }
}

/// A store's answer to a request's call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Answer {
    /// Done: read, written (acknowledged), produced, locked and released.
    Ok,
    /// Failed: unavailable, refused, not replicated, not acquired.
    Failed,
    /// A cache miss that its caller fetches itself, through its hop to the cache's backend; it
    /// then tells the cache with [`StoreModel::notice`] ([`Notice::Fetched`], naming `fetch`), and the cache
    /// answers the call.
    Miss {
        /// The cache's fetch.
        fetch: u32,
    },
    /// Not an answer but work for the host (the token is a consumer of a broker's group made
    /// of a pool's replicas): that replica processes one message, as a request to its pool,
    /// and the host tells the broker how it went with [`Notice::Processed`].
    Work {
        /// The consumer's incarnation when it took the message (a crash makes it stale).
        incarnation: u32,
    },
}

/// What the host tells a store besides calls: the result of something the store asked of the
/// request path, or a change of a pool the store is made of.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Notice {
    /// The caller told [`Answer::Miss`] fetched the value of `fetch` through its hop (`ok`)
    /// or failed to; only a cache whose backend the callers reach gives that answer.
    Fetched {
        /// The cache's fetch.
        fetch: u32,
        /// The value came back.
        ok: bool,
    },
    /// Consumer `consumer`'s processing (asked with [`Answer::Work`]) ended: processed (`ok`)
    /// or failed (an error, a time-out, its replica crashed).
    Processed {
        /// The consumer (the replica's index in its pool).
        consumer: u32,
        /// Its incarnation when it took the message.
        incarnation: u32,
        /// Processed successfully.
        ok: bool,
    },
    /// The replica that is consumer `consumer` went down (`up` false) or came back.
    Member {
        /// The consumer (the replica's index in its pool).
        consumer: u32,
        /// It came back.
        up: bool,
    },
}

/// The calls a store has answered since its host last looked, in order: (token, answer).
pub type Answers = Vec<(u32, Answer)>;

/// Answers call `token` (unless it is the store's own operation, [`OWN`]): done or failed.
pub(crate) fn answer(answers: &mut Answers, token: u32, ok: bool) {
    if token != OWN {
        answers.push((token, if ok { Answer::Ok } else { Answer::Failed }));
    }
}

/// A call's token when a store makes the operation itself (its own `writes:`, `reads:`…
/// arrivals): nobody waits for the answer.
pub const OWN: u32 = u32::MAX;

/// A store kind's model on the shared event loop: the one trait a store kind implements.
/// Its events are its own type (they wait in its slots, the topology's queue holds their slot
/// numbers), its draws come from `store/<name>/…` streams, its operations are
/// [`StoreRecord`]s, its end is a [`StoreSummary`].
pub trait StoreModel {
    /// Everything that can happen in this store.
    type Event: Copy;
    /// The store's name in the scenario.
    fn name(&self) -> &str;
    /// Schedules its first events (the run ends at `horizon`).
    fn start(&mut self, sched: &mut dyn Schedule<Self::Event>, horizon: SimTime);
    /// Reacts to one of its events.
    fn handle(&mut self, now: SimTime, event: Self::Event, sched: &mut dyn Schedule<Self::Event>);
    /// The scenario's warm-up ended at `now` (never called without one): from here on its
    /// figures count what happens from `now`, like the request path's (operations ending,
    /// time integrals, outages), and its summary says so. Its trajectory does not change.
    fn warmup_ended(&mut self, now: SimTime);
    /// Its end-of-run figures, its books checked; `run` is the kernel's account of its events.
    fn finish(&mut self, run: RunStats) -> StoreSummary;
    /// A request's call arrives: the store answers `token` in [`StoreModel::answers`], at once
    /// or from a later event, exactly once. Validation lets a pool call only the operations
    /// its kind serves (`serves` of the raw store in the `scenarios` crate).
    fn call(
        &mut self,
        now: SimTime,
        token: u32,
        op: StoreOp,
        sched: &mut dyn Schedule<Self::Event>,
    );
    /// The answers given since the host last took them.
    fn answers(&mut self) -> &mut Answers;
    /// The host tells it something it asked for or depends on ([`Notice`]); only the kinds
    /// that answer [`Answer::Miss`] or ask for [`Answer::Work`] hear from it.
    fn notice(&mut self, now: SimTime, notice: Notice, sched: &mut dyn Schedule<Self::Event>) {
        let _ = (now, sched);
        unreachable!("a store that asked nothing of the host hears {notice:?}")
    }
}

/// Runs a store on a loop of its own (unit tests, and a store's figures without the rest).
pub fn run_alone<M: StoreModel>(model: &mut M, horizon: SimTime, max_events: u64) -> RunStats {
    struct Alone<'a, M>(&'a mut M);
    impl<M: StoreModel> Model for Alone<'_, M> {
        type Event = M::Event;
        fn handle(&mut self, now: SimTime, e: M::Event, sched: &mut Scheduler<M::Event>) {
            self.0.handle(now, e, sched);
        }
    }
    let mut sched = Scheduler::new();
    model.start(&mut sched, horizon);
    sim_core::run(
        &mut Alone(model),
        &mut sched,
        Until {
            horizon,
            max_events,
        },
    )
}

/// The records a hosted store emits, waiting for the host to pass them on (in order, at the
/// time they were made). Shared by the store (its observer) and its host.
#[derive(Clone, Default)]
pub struct Outbox(Rc<RefCell<Vec<(SimTime, StoreRecord)>>>);

impl Observer<StoreRecord> for Outbox {
    #[inline]
    fn record(&mut self, now: SimTime, r: &StoreRecord) {
        self.0.borrow_mut().push((now, *r));
    }
}

/// A store on the topology's event loop, its event type erased: what the topology holds.
pub trait HostedStore {
    /// The store's name in the scenario.
    fn name(&self) -> &str;
    /// Schedules its first events as store `me` of the host.
    fn start(&mut self, me: u32, sched: &mut Scheduler<crate::Event>, horizon: SimTime);
    /// Handles its event waiting in `slot`; its records go to `out`.
    fn handle(
        &mut self,
        now: SimTime,
        me: u32,
        slot: u32,
        sched: &mut Scheduler<crate::Event>,
        out: &mut dyn FnMut(SimTime, &StoreRecord),
    );
    /// The scenario's warm-up ended at `now` (see [`StoreModel::warmup_ended`]).
    fn warmup_ended(&mut self, now: SimTime);
    /// Its end-of-run figures; `run` is the whole loop's account, its own events replace the
    /// count.
    fn finish(&mut self, run: RunStats) -> StoreSummary;
    /// A request's call `token` arrives at store `me`; its answer comes in
    /// [`HostedStore::take_answers`].
    fn call(
        &mut self,
        now: SimTime,
        me: u32,
        token: u32,
        op: StoreOp,
        sched: &mut Scheduler<crate::Event>,
        out: &mut dyn FnMut(SimTime, &StoreRecord),
    );
    /// Moves the answers given so far to the end of `into`.
    fn take_answers(&mut self, into: &mut Answers);
    /// The host tells store `me` something ([`StoreModel::notice`]).
    fn notice(
        &mut self,
        now: SimTime,
        me: u32,
        notice: Notice,
        sched: &mut Scheduler<crate::Event>,
        out: &mut dyn FnMut(SimTime, &StoreRecord),
    );
}

struct Hosting<M: StoreModel> {
    model: M,
    slots: EventSlots<M::Event>,
    outbox: Outbox,
    events: u64,
}

fn wrap(store: u32, slot: u32) -> crate::Event {
    crate::Event::Store(store, slot)
}

impl<M: StoreModel> Hosting<M> {
    /// Hands the records the store made to `out`, in order.
    fn pass_records(&mut self, out: &mut dyn FnMut(SimTime, &StoreRecord)) {
        let mut records = self.outbox.0.borrow_mut();
        for (t, r) in records.iter() {
            out(*t, r);
        }
        records.clear();
    }
}

impl<M: StoreModel> HostedStore for Hosting<M> {
    fn name(&self) -> &str {
        self.model.name()
    }

    fn start(&mut self, me: u32, sched: &mut Scheduler<crate::Event>, horizon: SimTime) {
        let mut view = HostedScheduler::new(sched, &mut self.slots, me, wrap);
        self.model.start(&mut view, horizon);
    }

    #[inline]
    fn handle(
        &mut self,
        now: SimTime,
        me: u32,
        slot: u32,
        sched: &mut Scheduler<crate::Event>,
        out: &mut dyn FnMut(SimTime, &StoreRecord),
    ) {
        self.events += 1;
        let e = self.slots.take(slot);
        let mut view = HostedScheduler::new(sched, &mut self.slots, me, wrap);
        self.model.handle(now, e, &mut view);
        self.pass_records(out);
    }

    fn call(
        &mut self,
        now: SimTime,
        me: u32,
        token: u32,
        op: StoreOp,
        sched: &mut Scheduler<crate::Event>,
        out: &mut dyn FnMut(SimTime, &StoreRecord),
    ) {
        let mut view = HostedScheduler::new(sched, &mut self.slots, me, wrap);
        self.model.call(now, token, op, &mut view);
        self.pass_records(out);
    }

    fn take_answers(&mut self, into: &mut Answers) {
        into.append(self.model.answers());
    }

    fn notice(
        &mut self,
        now: SimTime,
        me: u32,
        notice: Notice,
        sched: &mut Scheduler<crate::Event>,
        out: &mut dyn FnMut(SimTime, &StoreRecord),
    ) {
        let mut view = HostedScheduler::new(sched, &mut self.slots, me, wrap);
        self.model.notice(now, notice, &mut view);
        self.pass_records(out);
    }

    fn warmup_ended(&mut self, now: SimTime) {
        self.model.warmup_ended(now);
    }

    fn finish(&mut self, run: RunStats) -> StoreSummary {
        self.model.finish(RunStats {
            events: self.events,
            ..run
        })
    }
}

/// Store `index` of a scenario, ready for the topology's loop: the one place that turns a
/// store kind's spec into its model (register a new kind here).
pub fn host(
    spec: &StoreSpec,
    index: u32,
    key: StreamKey,
    horizon: SimTime,
) -> Box<dyn HostedStore> {
    fn boxed<M: StoreModel + 'static>(model: impl FnOnce(Outbox) -> M) -> Box<dyn HostedStore> {
        let outbox = Outbox::default();
        Box::new(Hosting {
            model: model(outbox.clone()),
            slots: EventSlots::default(),
            outbox,
            events: 0,
        })
    }
    match spec {
        StoreSpec::PrimaryBackup(s) => boxed(|o| PrimaryBackup::new(s, index, key, o)),
        StoreSpec::Quorum(s) => boxed(|o| Quorum::new(s, index, key, o)),
        StoreSpec::Election(s) => boxed(|o| LeaderElection::new(s, key, o)),
        StoreSpec::Broker(s) => boxed(|o| Broker::new(s, index, key, o)),
        StoreSpec::Cache(s) => boxed(|o| Cache::new(s, index, key, horizon, o)),
        StoreSpec::Lock(s) => boxed(|o| LockService::new(s, index, key, o)),
    }
}
