//! The resolved description of replicated stores (state that can be lost): plain data, already
//! validated. The `scenarios` crate builds it from a scenario's `stores: [...]`; tests build it
//! by hand. Each store runs as its own model ([`crate::store::PrimaryBackup`],
//! [`crate::store::Quorum`]) with its own named random streams.

use crate::spec::{Arrivals, FailureSpec, KeySpec};
use sim_core::{Dist, SimDuration};

pub use crate::lock_spec::{LockFault, LockKind, LockSpec, PauseSpec};

/// One replicated store.
#[derive(Clone, Debug)]
pub enum StoreSpec {
    /// One primary, k backups, failover by lease timeout.
    PrimaryBackup(PrimaryBackupSpec),
    /// N replicas, reads need R of them up, writes W (Dynamo-style).
    Quorum(QuorumSpec),
    /// Raft-like leader election timing (no log).
    Election(ElectionSpec),
    /// A Kafka/SQS-shaped message broker: partitions, producers with acks, a consumer group.
    Broker(BrokerSpec),
    /// A cache in front of a backend service (hits, misses, TTL, LRU, restarts).
    Cache(CacheSpec),
    /// A lease-based lock service (single node, Redlock, consensus) and its clients.
    Lock(LockSpec),
}

impl StoreSpec {
    /// The store's name (also names its random streams).
    pub fn name(&self) -> &str {
        match self {
            StoreSpec::PrimaryBackup(s) => &s.name,
            StoreSpec::Quorum(s) => &s.name,
            StoreSpec::Election(s) => &s.name,
            StoreSpec::Broker(s) => &s.name,
            StoreSpec::Cache(s) => &s.name,
            StoreSpec::Lock(s) => &s.name,
        }
    }
}

/// How the primary replicates a write to its backups.
#[derive(Clone, Debug)]
pub enum Replication {
    /// The write is acknowledged once every reachable backup has confirmed it; each confirm
    /// comes a `round_trip` draw after the write reached the primary, so the write's latency is
    /// the largest draw. With no reachable backup the write fails.
    Synchronous {
        /// Primary → backup → primary, per backup and write.
        round_trip: Dist,
    },
    /// The write is acknowledged at once and reaches each backup a `lag` draw later (each write
    /// and backup its own draw). A primary that fails before a write reached the backup that is
    /// promoted loses it.
    Asynchronous {
        /// Time from acknowledgement until a backup holds the write.
        lag: Dist,
    },
}

/// A fault at a fixed time, applied to whichever node is primary at that instant.
#[derive(Clone, Debug, PartialEq)]
pub enum StoreFault {
    /// The primary crashes at `at` and is repaired `duration` later (then it rejoins as a
    /// backup if another was promoted meanwhile, or resumes as primary).
    Crash {
        /// When.
        at: SimDuration,
        /// How long it stays down.
        duration: SimDuration,
    },
    /// The primary is cut off from its backups and from the failure detector for `duration`;
    /// the clients on its side of the partition (a fraction `clients_with_old_primary` of the
    /// writes) still reach it. With fencing it stops accepting writes when its lease runs out;
    /// without, it keeps accepting them (split brain) until the partition heals.
    Partition {
        /// When.
        at: SimDuration,
        /// How long it lasts.
        duration: SimDuration,
        /// Fraction of writes that still reach the old primary meanwhile (0–1).
        clients_with_old_primary: f64,
    },
    /// Every node loses its data at `at` (a region lost, an operator's mistake): the store is
    /// restored from its last snapshot, which takes a `restore` draw of its snapshot spec;
    /// the writes acknowledged after that snapshot are lost.
    Disaster {
        /// When.
        at: SimDuration,
    },
}

impl StoreFault {
    /// When the fault starts.
    pub fn at(&self) -> SimDuration {
        match self {
            StoreFault::Crash { at, .. }
            | StoreFault::Partition { at, .. }
            | StoreFault::Disaster { at } => *at,
        }
    }

    /// How long it lasts (a disaster lasts until the restore is done: zero here).
    pub fn duration(&self) -> SimDuration {
        match self {
            StoreFault::Crash { duration, .. } | StoreFault::Partition { duration, .. } => {
                *duration
            }
            StoreFault::Disaster { .. } => SimDuration::ZERO,
        }
    }
}

/// A primary–backup store: one primary takes every write; failover promotes the most
/// up-to-date live backup after the primary's lease runs out.
#[derive(Clone, Debug)]
pub struct PrimaryBackupSpec {
    /// Unique name among stores (names its random streams `store/<name>/…`).
    pub name: String,
    /// Number of backups k (≥ 1); the store has k + 1 nodes.
    pub backups: u32,
    /// The store's own write arrivals, if any (besides the pools' calls).
    pub writes: Option<Arrivals>,
    /// Read arrivals, if any: served by the primary (a deposed primary's reads are stale).
    pub reads: Option<Arrivals>,
    /// Synchronous or asynchronous replication.
    pub replication: Replication,
    /// The primary renews its lease by a heartbeat every `heartbeat` (from a random phase).
    pub heartbeat: SimDuration,
    /// The primary is declared failed `lease` after the last heartbeat that got through
    /// (Patroni `ttl`, Redis Sentinel `down-after-milliseconds`); with fencing the old primary
    /// stops accepting writes at the same instant.
    pub lease: SimDuration,
    /// Time from detection until the promoted backup accepts writes.
    pub promotion: Dist,
    /// Whether a primary whose lease expired refuses writes (fencing) or keeps accepting them.
    pub fencing: bool,
    /// Random crash/repair of every node, if any.
    pub failures: Option<FailureSpec>,
    /// Faults at fixed times, in time order.
    pub faults: Vec<StoreFault>,
    /// Periodic snapshots to restore from when every node lost its data, if any.
    pub snapshots: Option<SnapshotSpec>,
    /// Reads go to a live backup (chosen uniformly; the primary when none is up), which may
    /// not hold the latest acknowledged writes yet (a stale read), rather than to the primary.
    pub reads_from_backups: bool,
}

/// Periodic snapshots of a primary–backup store.
#[derive(Clone, Debug)]
pub struct SnapshotSpec {
    /// A snapshot of the primary's state every `interval` (from time zero; skipped while the
    /// primary is away).
    pub interval: SimDuration,
    /// Time to restore the store from a snapshot.
    pub restore: Dist,
}

/// A Dynamo-style quorum store: N replicas, each with independent crash/repair.
#[derive(Clone, Debug)]
pub struct QuorumSpec {
    /// Unique name among stores.
    pub name: String,
    /// N.
    pub replicas: u32,
    /// R: replicas that must answer a read (1 ≤ R ≤ N).
    pub read_quorum: u32,
    /// W: replicas that must acknowledge a write (1 ≤ W ≤ N).
    pub write_quorum: u32,
    /// The store's own write arrivals, if any (besides the pools' calls).
    pub writes: Option<Arrivals>,
    /// Read arrivals, if any.
    pub reads: Option<Arrivals>,
    /// One replica's response time to the coordinator, drawn per replica and operation; an
    /// operation completes at the R-th (W-th) fastest answer of the replicas that are up.
    pub response: Dist,
    /// Operations each replica serves at once, the others waiting in its FIFO queue (then
    /// `response` is a replica's service time, and load makes operations wait); `None`: no
    /// queue, every replica answers every operation after its own draw.
    pub workers: Option<u32>,
    /// Crash/repair of each replica.
    pub failures: Option<FailureSpec>,
}

/// Raft-like leader election, timing only: the leader sends a heartbeat every `heartbeat`;
/// when heartbeats stop, each live follower's election timer (a fresh draw, uniform in
/// [`election_timeout`, 2 × `election_timeout`), from the last heartbeat) fires, it starts a
/// new term and asks every other node for its vote; a request and its answer take one
/// `round_trip` draw; a node votes once per term; a majority of all nodes makes a leader. A
/// candidate whose timer fires again before it won starts another term (a split vote).
#[derive(Clone, Debug)]
pub struct ElectionSpec {
    /// Unique name among stores.
    pub name: String,
    /// Cluster size (1 to 31).
    pub nodes: u32,
    /// Leader heartbeat interval (etcd: 100 ms).
    pub heartbeat: SimDuration,
    /// Base election timeout T; each timer is uniform in [T, 2T) (etcd: 1000 ms).
    pub election_timeout: SimDuration,
    /// Vote request there and answer back, per request.
    pub round_trip: Dist,
    /// Random crash/repair of every node, if any.
    pub failures: Option<FailureSpec>,
    /// Crashes of whichever node leads at `at`, for `duration` (only `Crash` faults).
    pub faults: Vec<StoreFault>,
}

/// When a producer counts a message as sent (Kafka `acks`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Acks {
    /// `acks=0`: fire and forget; lost when the partition has no leader or its leader dies
    /// before a follower that takes over holds it.
    None,
    /// `acks=1`: acknowledged once the leader appended it; lost when the leader dies before the
    /// follower elected in its place held it.
    Leader,
    /// `acks=all`: acknowledged once every in-sync replica holds it (the high watermark passed
    /// it); refused while fewer than `min_insync_replicas` are in sync.
    All,
}

/// A fault at a fixed time in a broker.
#[derive(Clone, Debug, PartialEq)]
pub enum BrokerFault {
    /// The broker node leading `partition` at `at` crashes for `duration`.
    LeaderCrash {
        /// When.
        at: SimDuration,
        /// How long the node stays down.
        duration: SimDuration,
        /// Whose leader (0-based).
        partition: u32,
    },
    /// Consumer `consumer` of the group crashes at `at` and restarts `duration` later.
    ConsumerCrash {
        /// When.
        at: SimDuration,
        /// How long it stays down.
        duration: SimDuration,
        /// Which consumer (0-based).
        consumer: u32,
    },
}

/// The consumer group of a broker (Kafka group semantics, SQS redelivery semantics).
#[derive(Clone, Debug)]
pub struct ConsumerGroupSpec {
    /// Members; partitions are assigned round robin to the live ones (extra members idle).
    pub consumers: u32,
    /// Time to process one message; a consumer processes one message at a time.
    pub processing: Dist,
    /// Probability that processing a message fails (it is redelivered after the visibility
    /// timeout, or dead-lettered after `max_receives` receives).
    pub failure_rate: f64,
    /// Heartbeats to the group coordinator, from a random phase per consumer.
    pub heartbeat_interval: SimDuration,
    /// A consumer is declared dead this long after its last heartbeat (Kafka 45 s).
    pub session_timeout: SimDuration,
    /// Every member stops consuming for this long when the group rebalances (eager rebalance).
    pub rebalance_pause: SimDuration,
    /// A message whose processing failed is received again this long later (SQS 30 s).
    pub visibility_timeout: SimDuration,
    /// Receives before a message goes to the dead-letter queue (SQS `maxReceiveCount`).
    pub max_receives: u32,
    /// Consumers commit what they processed every `commit_interval` (Kafka
    /// `auto.commit.interval.ms`, 5 s); a partition reassigned is read again from its last
    /// commit, so what was processed but not committed is delivered twice.
    pub commit_interval: SimDuration,
    /// Random crash/restart of each consumer.
    pub failures: Option<FailureSpec>,
    /// The group is a pool's replicas (consumer `i` is replica `i`): each message is processed
    /// as a request to that replica, with its pool's service and dependencies, instead of a
    /// `processing` draw; the replicas' crashes are the members' (`None`: the group is its own
    /// model).
    pub pool: Option<ConsumerPool>,
}

/// A consumer group made of a pool's replicas.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConsumerPool {
    /// The pool (`pools[i]` of the scenario).
    pub pool: u32,
    /// The hop its messages are processed through (`hops[i]` of the spec: the broker calling
    /// the pool), whose timeout is the group's visibility timeout.
    pub hop: u32,
}

/// A message broker: one topic of `partitions`, each replicated on `replication_factor` of
/// `brokers` nodes (leader and followers), one producer, one consumer group.
#[derive(Clone, Debug)]
pub struct BrokerSpec {
    /// Unique name among stores.
    pub name: String,
    /// Broker nodes (≥ replication factor, ≤ 32); partition p's replicas are nodes p, p+1, …
    /// (mod brokers), the first its preferred leader.
    pub brokers: u32,
    /// Partitions of the topic.
    pub partitions: u32,
    /// Replicas per partition (1 to 32).
    pub replication_factor: u32,
    /// In-sync replicas an `acks=all` write needs (1 to the replication factor).
    pub min_insync_replicas: u32,
    /// Time for a follower to copy a message from its leader (each message and follower its
    /// own draw; followers copy in order).
    pub follower_lag: Dist,
    /// Time from a leader's crash until the controller made an in-sync follower leader
    /// (KRaft `broker.session.timeout.ms` 9 s).
    pub leader_failover: Dist,
    /// The producer's own message arrivals, if any (besides the pools' calls); each message goes
    /// to a uniformly random partition.
    pub produce: Option<Arrivals>,
    /// The producer's `acks`.
    pub acks: Acks,
    /// The consumer group.
    pub consumers: ConsumerGroupSpec,
    /// Messages older than this are deleted whether consumed or not (Kafka 7 d); checked every
    /// window.
    pub retention: SimDuration,
    /// Per-window rows (backlog, lag) are cut every `window`.
    pub window: SimDuration,
    /// Random crash/repair of each broker node.
    pub failures: Option<FailureSpec>,
    /// Faults at fixed times, in time order.
    pub faults: Vec<BrokerFault>,
}

/// A look-aside cache in front of a backend service. Each request asks for one key (drawn from
/// `keys`); a hit answers after a `hit_latency` draw; a miss (the key was never cached since the
/// last restart, expired, or was evicted) is fetched from the backend and inserted when the
/// fetch returns, to expire `ttl` after that insertion (hits do not extend it). A restart
/// empties the cache.
#[derive(Clone, Debug)]
pub struct CacheSpec {
    /// Unique name among stores (names its random streams `store/<name>/…`).
    pub name: String,
    /// The cache's own request arrivals, if any (besides the pools' calls).
    pub requests: Option<Arrivals>,
    /// The key population each request draws from (uniform or Zipf).
    pub keys: KeySpec,
    /// Time to live from insertion (`None`: entries never expire).
    pub ttl: Option<SimDuration>,
    /// Entries held at most, least recently used evicted first (`None`: unbounded).
    pub capacity: Option<u32>,
    /// Time a lookup takes: a hit's latency, and the part of a miss's before the fetch.
    pub hit_latency: Dist,
    /// Single flight: a miss on a key whose fetch is already in flight waits for that fetch
    /// instead of sending its own.
    pub coalesce_misses: bool,
    /// The service behind the cache (`None`: its callers fetch misses themselves, through
    /// their hop to the cache's `backend: Call(…)`, a pool or a store of the scenario).
    pub backend: Option<BackendSpec>,
    /// Random crash/repair of the cache node (a crash empties it; it is down until repaired).
    pub failures: Option<FailureSpec>,
    /// Restarts at fixed times, in time order.
    pub faults: Vec<CacheFault>,
    /// Length of the per-window rows (the scenario's window).
    pub window: SimDuration,
}

/// The backend service a cache's misses are fetched from: `workers` servers and a FIFO queue.
#[derive(Clone, Debug)]
pub struct BackendSpec {
    /// Fetches served at once (≥ 1).
    pub workers: u32,
    /// One fetch's service time.
    pub service: Dist,
    /// Fetches waiting at most; a fetch that finds the queue full is rejected.
    pub queue_limit: u32,
    /// Longest a fetch may wait in the queue (`None`: no limit): one that waited longer has
    /// been given up by its client and fails when it reaches the head (no work is spent on it).
    pub timeout: Option<SimDuration>,
}

/// A scheduled restart of a cache: it is emptied at `at` and stays down for `duration` (zero: it
/// comes back at once, empty). While it is down every request goes to the backend, and fetched
/// values are not inserted.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CacheFault {
    /// When.
    pub at: SimDuration,
    /// How long it stays down.
    pub duration: SimDuration,
}
