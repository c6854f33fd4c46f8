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
mod primary_backup;
mod quorum;

pub use broker::{Broker, BrokerCounts, BrokerSummary, BrokerWindow};
pub use cache::{
    Cache, CacheCounts, CacheRestart, CacheSummary, CacheWindow, MissCause, che_hit_ratio,
    ttl_hit_probability,
};
pub use election::{Election, ElectionSummary, LeaderElection};
pub use primary_backup::{Outage, OutageCause, PbCounts, PbSummary, PrimaryBackup};
pub use quorum::{OpCounts, Quorum, QuorumSummary, k_of_n};

use crate::spec::FailureSpec;
use crate::store_spec::StoreSpec;
use sim_core::{Observer, SimDuration, SimTime, Stream, StreamKey};

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
        }
    }
}

/// Runs store `index` of a scenario (spec `spec`) from time zero to `horizon` (or
/// `max_events`), with the streams of `key`, feeding `observer`.
pub fn run_store<O: Observer<StoreRecord>>(
    spec: &StoreSpec,
    index: u32,
    key: StreamKey,
    horizon: SimTime,
    max_events: u64,
    observer: O,
) -> (StoreSummary, O) {
    match spec {
        StoreSpec::PrimaryBackup(s) => {
            let (sum, o) = PrimaryBackup::new(s, index, key, observer).run(horizon, max_events);
            (StoreSummary::PrimaryBackup(sum), o)
        }
        StoreSpec::Quorum(s) => {
            let (sum, o) = Quorum::new(s, index, key, observer).run(horizon, max_events);
            (StoreSummary::Quorum(sum), o)
        }
        StoreSpec::Election(s) => {
            let (sum, o) = LeaderElection::new(s, key, observer).run(horizon, max_events);
            (StoreSummary::Election(sum), o)
        }
        StoreSpec::Broker(s) => {
            let (sum, o) = Broker::new(s, index, key, observer).run(horizon, max_events);
            (StoreSummary::Broker(sum), o)
        }
        StoreSpec::Cache(s) => {
            let (mut sum, o) =
                Cache::new(s, index, key, horizon, observer).run(horizon, max_events);
            sum.theory = cache::theory(s);
            (StoreSummary::Cache(sum), o)
        }
    }
}
