//! A primary–backup store: one primary takes every write and replicates it to k backups,
//! synchronously (acknowledged when every reachable backup confirmed) or asynchronously
//! (acknowledged at once, each backup receives it a lag later).
//!
//! Failure detection is a lease: the primary renews it by a heartbeat every `heartbeat`; when
//! heartbeats stop (the primary crashed or was partitioned away), the coordinator declares it
//! failed `lease` after the last one that got through, and promotes the live, in-sync backup
//! that holds the most of its writes after a `promotion` draw. The old primary's acknowledged
//! writes that the promoted backup does not hold are lost: that is the outage's RPO, and the
//! time from the failure until a primary accepts writes again is its RTO.
//!
//! With fencing, a primary stops accepting writes when its own lease runs out (the same instant
//! the coordinator declares it failed), so two primaries never overlap. Without fencing, a
//! partitioned old primary keeps accepting the writes of the clients on its side of the
//! partition after a new one was promoted: each such write acknowledged is a conflicting
//! (split-brain) write, discarded when the partition heals and it steps down.
//!
//! A crashed primary that comes back before a backup was promoted resumes (its writes were
//! on its disk: nothing is lost). A backup that rejoins copies the primary's state (resync).
//! The bookkeeping invariants, asserted at the end of every run:
//! writes offered = acknowledged + failed + in progress, and
//! acknowledged = durable + lost + still replicating.

use super::StoreRecord;
use crate::spec::FailureSpec;
use crate::store_spec::{PrimaryBackupSpec, Replication, SnapshotSpec, StoreFault};
use sim_core::{Dist, Observer, RunStats, Schedule, SimDuration, SimTime, Stream, StreamKey};

/// Not a node.
const NONE: u8 = u8::MAX;

/// What can happen in a primary–backup store.
#[derive(Clone, Copy, Debug)]
pub enum Event {
    /// A client issues a write.
    Write,
    /// A client issues a read.
    Read,
    /// A write reaches a backup (asynchronous) or its confirmation reaches the primary
    /// (synchronous). Dropped when the link broke meanwhile (`link` no longer current).
    Confirm {
        /// Slot of the write.
        slot: u32,
        /// The slot's generation when the write was sent.
        generation: u32,
        /// The backup.
        node: u8,
        /// Incarnations of the primary's and the backup's links when it was sent.
        link: u64,
    },
    /// A node crashes (random failures).
    Crash {
        /// The node.
        node: u8,
    },
    /// A node is repaired (random failures).
    Repair {
        /// The node.
        node: u8,
    },
    /// A scheduled fault starts (on whichever node is primary).
    FaultStart {
        /// Index in the spec's faults.
        fault: u32,
    },
    /// A scheduled fault ends.
    FaultEnd {
        /// Index in the spec's faults.
        fault: u32,
        /// The node it hit.
        node: u8,
    },
    /// The primary's lease ran out at the coordinator.
    Detect {
        /// The outage.
        outage: u32,
    },
    /// A backup finished its promotion.
    Promoted {
        /// The outage.
        outage: u32,
    },
    /// Time for a periodic snapshot.
    Snapshot,
    /// The restore after a disaster is done.
    Restored {
        /// The outage.
        outage: u32,
    },
}

/// What took the primary away.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutageCause {
    /// It crashed.
    Crash,
    /// It was partitioned from its backups and the failure detector.
    Partition,
    /// Every node lost its data; the store was restored from a snapshot.
    Disaster,
}

/// One loss of the primary: from its failure until a primary accepts writes again.
#[derive(Clone, Debug, PartialEq)]
pub struct Outage {
    /// The node that was primary.
    pub node: u32,
    /// Why it went away.
    pub cause: OutageCause,
    /// When.
    pub start: SimTime,
    /// When its lease ran out (the coordinator's detection, and with fencing the end of the old
    /// primary's writes).
    pub lease_expiry: SimTime,
    /// When writes were accepted again (promotion done, or the old primary back), if before
    /// the horizon.
    pub end: Option<SimTime>,
    /// The backup promoted, if the outage ended in a failover.
    pub promoted: Option<u32>,
    /// Acknowledged writes lost at the promotion (RPO, in writes).
    pub lost: u64,
    /// Writes that failed because of the outage.
    pub failed: u64,
    /// Writes the deposed primary acknowledged after the promotion (split brain).
    pub conflicting: u64,
}

impl Outage {
    /// Time writes could not be made (RTO), if the outage ended.
    pub fn rto(&self) -> Option<SimDuration> {
        self.end.map(|e| e.since(self.start))
    }
}

/// Write counts of a primary–backup store (in a summary, from the end of warm-up).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PbCounts {
    /// Writes issued by clients.
    pub offered: u64,
    /// Acknowledged to the client.
    pub acked: u64,
    /// Failed: no primary reachable (or the client's primary fenced).
    pub failed_unavailable: u64,
    /// Failed: synchronous replication found no backup, or the primary failed before the
    /// confirmations came.
    pub failed_unreplicated: u64,
    /// Synchronous writes waiting for confirmations at the horizon.
    pub in_progress: u64,
    /// Acknowledged and held by a backup (for good: on every reachable backup, or on the
    /// promoted one).
    pub durable: u64,
    /// Acknowledged, then lost at a failover (includes the conflicting writes).
    pub lost: u64,
    /// Acknowledged and still on their way to a backup at the horizon.
    pub replicating: u64,
    /// Acknowledged by a deposed primary after another was promoted (split brain).
    pub conflicting: u64,
    /// Promotions.
    pub failovers: u64,
    /// Node crashes (random and scheduled).
    pub node_crashes: u64,
    /// Scheduled faults that found no primary to hit (it was already away).
    pub faults_skipped: u64,
    /// Snapshots taken.
    pub snapshots: u64,
    /// Disasters (every node's data lost, restored from a snapshot).
    pub disasters: u64,
    /// Reads issued.
    pub reads_offered: u64,
    /// Reads answered by a primary.
    pub reads_ok: u64,
    /// Reads answered by a deposed primary after a promotion (stale; counted in `reads_ok`).
    pub reads_stale: u64,
    /// Reads answered by a backup (`reads_from: Backups`; counted in `reads_ok`).
    pub reads_backup: u64,
    /// Of those, reads the backup answered without an acknowledged write it had not received.
    pub reads_backup_stale: u64,
    /// Σ staleness of the stale backup reads (now − the oldest acknowledged write the backup
    /// lacked), ns.
    pub staleness_ns_sum: u64,
    /// The largest staleness, ns.
    pub staleness_ns_max: u64,
}

impl PbCounts {
    /// What happened after `base` was taken (the end of warm-up): every count of events less
    /// its value then; writes in progress and replicating are as they are at the end.
    /// `durable` saturates: a disaster after warm-up can take back writes made durable before.
    fn since(&self, base: &PbCounts) -> PbCounts {
        let d = |now: u64, then: u64| now.saturating_sub(then);
        PbCounts {
            offered: d(self.offered, base.offered),
            acked: d(self.acked, base.acked),
            failed_unavailable: d(self.failed_unavailable, base.failed_unavailable),
            failed_unreplicated: d(self.failed_unreplicated, base.failed_unreplicated),
            in_progress: self.in_progress,
            durable: d(self.durable, base.durable),
            lost: d(self.lost, base.lost),
            replicating: self.replicating,
            conflicting: d(self.conflicting, base.conflicting),
            failovers: d(self.failovers, base.failovers),
            node_crashes: d(self.node_crashes, base.node_crashes),
            faults_skipped: d(self.faults_skipped, base.faults_skipped),
            snapshots: d(self.snapshots, base.snapshots),
            disasters: d(self.disasters, base.disasters),
            reads_offered: d(self.reads_offered, base.reads_offered),
            reads_ok: d(self.reads_ok, base.reads_ok),
            reads_stale: d(self.reads_stale, base.reads_stale),
            reads_backup: d(self.reads_backup, base.reads_backup),
            reads_backup_stale: d(self.reads_backup_stale, base.reads_backup_stale),
            staleness_ns_sum: d(self.staleness_ns_sum, base.staleness_ns_sum),
            // The largest over the whole run: a maximum cannot be taken back.
            staleness_ns_max: self.staleness_ns_max,
        }
    }
}

/// A primary–backup store's end-of-run figures.
#[derive(Clone, Debug)]
pub struct PbSummary {
    /// The store's name.
    pub name: String,
    /// Synchronous replication.
    pub synchronous: bool,
    /// Reads go to backups.
    pub reads_from_backups: bool,
    /// Fencing on.
    pub fencing: bool,
    /// Number of backups.
    pub backups: u32,
    /// Write counts.
    pub counts: PbCounts,
    /// Every outage, in order.
    pub outages: Vec<Outage>,
    /// The kernel's account of the run.
    pub run: RunStats,
}

#[derive(Clone, Copy, Debug, Default)]
struct Node {
    /// Open reasons to be down (a random failure, scheduled crashes); up when zero.
    down: u32,
    partitioned: bool,
    /// Holds every write of the current primary except those still on their way.
    synced: bool,
    /// Bumped whenever its links break or come back: confirmations sent before are dropped.
    incarnation: u32,
}

#[derive(Clone, Copy, Debug, Default)]
struct Slot {
    generation: u32,
    in_use: bool,
    issued: SimTime,
    /// The primary that took the write.
    node: u8,
    acked: bool,
    /// Backups the write is still on its way to (bit per node).
    pending: u32,
    /// Backups that hold it.
    holders: u32,
    /// Its place in the order of acknowledgements (1, 2, …; 0 until acknowledged).
    ack_seq: u64,
    /// The request's call waiting for it ([`super::OWN`]: the store's own write).
    token: u32,
}

/// The running store, emitting [`StoreRecord`]s to `O`.
pub struct PrimaryBackup<O> {
    index: u32,
    name: String,
    synchronous: bool,
    fencing: bool,
    delay: Dist,
    promotion: Dist,
    heartbeat: SimDuration,
    lease: SimDuration,
    interarrival: Option<Dist>,
    read_gap: Option<Dist>,
    reads: Stream,
    read_sides: Stream,
    /// Reads go to a backup (`reads_from: Backups`), chosen with `read_backups`.
    reads_from_backups: bool,
    read_backups: Stream,
    failures: Option<FailureSpec>,
    faults: Vec<StoreFault>,
    nodes: Vec<Node>,
    fail_rng: Vec<Stream>,
    arrivals: Stream,
    sides: Stream,
    replication: Stream,
    promotions: Stream,
    heartbeats: Stream,
    primary: u8,
    /// A partitioned old primary still taking writes after a promotion (no fencing).
    deposed: u8,
    deposed_outage: u32,
    /// The outage in progress: set exactly when the primary is down or partitioned.
    open: Option<u32>,
    /// The partitioned node, the share of writes still sent to it, and its outage.
    partition: Option<(u8, f64, u32)>,
    /// Heartbeats are sent at `hb_origin + n·heartbeat`.
    hb_origin: SimTime,
    slots: Vec<Slot>,
    free: Vec<u32>,
    snapshots: Option<SnapshotSpec>,
    restores: Stream,
    /// Acknowledgements up to this sequence number are in the last snapshot.
    snap_seq: u64,
    /// Writes counted durable that were acknowledged after the last snapshot.
    durable_since_snap: u64,
    counts: PbCounts,
    outages: Vec<Outage>,
    /// Requests' calls answered, for the host.
    answers: super::Answers,
    /// The counts and the time at the end of warm-up (issue 20): the summary counts from there.
    warm: Option<(PbCounts, SimTime)>,
    observer: O,
}

impl<O: Observer<StoreRecord>> PrimaryBackup<O> {
    /// Builds store `index` of `spec` with the random streams of `key`.
    pub fn new(spec: &PrimaryBackupSpec, index: u32, key: StreamKey, observer: O) -> Self {
        assert!(
            (1..=30).contains(&spec.backups),
            "invariant: 1 to 30 backups (validated), got {}",
            spec.backups
        );
        let n = spec.backups as usize + 1;
        let s = |what: &str| key.stream(&format!("store/{}/{what}", spec.name));
        let (synchronous, delay) = match &spec.replication {
            Replication::Synchronous { round_trip } => (true, round_trip.clone()),
            Replication::Asynchronous { lag } => (false, lag.clone()),
        };
        PrimaryBackup {
            index,
            name: spec.name.clone(),
            synchronous,
            fencing: spec.fencing,
            delay,
            promotion: spec.promotion.clone(),
            heartbeat: spec.heartbeat,
            lease: spec.lease,
            interarrival: spec.writes.as_ref().map(|w| w.interarrival()),
            read_gap: spec.reads.as_ref().map(|r| r.interarrival()),
            reads: s("reads"),
            read_sides: s("read-clients"),
            reads_from_backups: spec.reads_from_backups,
            read_backups: s("read-backups"),
            failures: spec.failures.clone(),
            faults: spec.faults.clone(),
            nodes: vec![
                Node {
                    synced: true,
                    ..Node::default()
                };
                n
            ],
            fail_rng: (0..n).map(|i| s(&format!("node/{i}/failures"))).collect(),
            arrivals: s("writes"),
            sides: s("clients"),
            replication: s("replication"),
            promotions: s("promotion"),
            heartbeats: s("heartbeat"),
            primary: 0,
            deposed: NONE,
            deposed_outage: 0,
            open: None,
            partition: None,
            hb_origin: SimTime::ZERO,
            slots: Vec::with_capacity(1024),
            free: Vec::with_capacity(1024),
            snapshots: spec.snapshots.clone(),
            restores: s("restore"),
            snap_seq: 0,
            durable_since_snap: 0,
            counts: PbCounts::default(),
            warm: None,
            outages: Vec::new(),
            answers: Vec::new(),
            observer,
        }
    }

    /// Runs from time zero to `horizon` (or `max_events`) and returns the summary and the
    /// observer.
    /// Runs alone from time zero to `horizon` (or `max_events`): the figures and the observer.
    pub fn run(mut self, horizon: SimTime, max_events: u64) -> (PbSummary, O) {
        let run = super::run_alone(&mut self, horizon, max_events);
        (self.summary(run), self.observer)
    }

    /// Schedules the first events.
    fn start_at(&mut self, sched: &mut dyn Schedule<Event>, horizon: SimTime) {
        let _ = horizon;
        self.start_events(sched);
    }

    /// The end-of-run figures, the books checked.
    fn summary(&mut self, run: RunStats) -> PbSummary {
        let mut counts = self.check_invariants();
        if let Some((base, at)) = self.warm {
            counts = counts.since(&base);
            // Outages over before the end of warm-up are its; one open then counts whole.
            self.outages.retain(|o| o.end.is_none_or(|e| e >= at));
        }
        PbSummary {
            name: self.name.clone(),
            synchronous: self.synchronous,
            reads_from_backups: self.reads_from_backups,
            fencing: self.fencing,
            backups: self.nodes.len() as u32 - 1,
            counts,
            outages: std::mem::take(&mut self.outages),
            run,
        }
    }

    fn start_events(&mut self, sched: &mut dyn Schedule<Event>) {
        self.hb_origin = SimTime(self.heartbeats.next_u64() % self.heartbeat.0.max(1));
        if let Some(g) = &self.interarrival {
            sched.after(g.sample(&mut self.arrivals), Event::Write);
        }
        if let Some(f) = &self.failures {
            for (i, rng) in self.fail_rng.iter_mut().enumerate() {
                sched.after(
                    f.time_to_failure.sample(rng),
                    Event::Crash { node: i as u8 },
                );
            }
        }
        for (i, f) in self.faults.iter().enumerate() {
            sched.at(SimTime(f.at().0), Event::FaultStart { fault: i as u32 });
        }
        if let Some(s) = &self.snapshots {
            sched.after(s.interval, Event::Snapshot);
        }
        if let Some(g) = &self.read_gap {
            sched.after(g.sample(&mut self.reads), Event::Read);
        }
    }

    /// A read: answered by the primary the client reaches, stale when that is a deposed one.
    fn on_read(&mut self, now: SimTime, sched: &mut dyn Schedule<Event>) {
        if let Some(g) = &self.read_gap {
            sched.after(g.sample(&mut self.reads), Event::Read);
        }
        self.read(now, super::OWN);
    }

    /// A read (the store's own, or a request's call `token`), answered at once.
    fn read(&mut self, now: SimTime, token: u32) {
        self.counts.reads_offered += 1;
        if self.reads_from_backups
            && let Some(b) = self.pick_backup()
        {
            self.counts.reads_ok += 1;
            self.counts.reads_backup += 1;
            if let Some(stale) = self.staleness(b, now) {
                self.counts.reads_backup_stale += 1;
                self.counts.staleness_ns_sum += stale.0;
                self.counts.staleness_ns_max = self.counts.staleness_ns_max.max(stale.0);
            }
            let r = StoreRecord::Read {
                store: self.index,
                ok: true,
                latency: SimDuration::ZERO,
            };
            self.observer.record(now, &r);
            self.answer(token, true);
            return;
        }
        let ok = match self.partition {
            Some((q, share, _)) if self.read_sides.uniform() < share => {
                let in_lease = q == self.primary
                    && self.open.is_some_and(|o| {
                        !self.fencing || now < self.outages[o as usize].lease_expiry
                    });
                let up = self.nodes[q as usize].down == 0;
                if up && q == self.deposed {
                    self.counts.reads_stale += 1;
                }
                up && (in_lease || q == self.deposed)
            }
            _ => self.open.is_none(),
        };
        if ok {
            self.counts.reads_ok += 1;
        }
        let r = StoreRecord::Read {
            store: self.index,
            ok,
            latency: SimDuration::ZERO,
        };
        self.observer.record(now, &r);
        self.answer(token, ok);
    }

    /// A live, reachable, in-sync backup of the primary, uniformly (none: the read goes to
    /// the primary).
    fn pick_backup(&mut self) -> Option<u8> {
        let n = self.nodes.len() as u8;
        let ok = |s: &Self, b: u8| b != s.primary && s.reachable(b) && s.nodes[b as usize].synced;
        let live = (0..n).filter(|&b| ok(self, b)).count() as u64;
        if live == 0 {
            return None;
        }
        let k = self.read_backups.next_u64() % live;
        (0..n).filter(|&b| ok(self, b)).nth(k as usize)
    }

    /// How far behind backup `b` is: now − the oldest acknowledged write of the primary it has
    /// not received yet (`None`: it holds every acknowledged write).
    fn staleness(&self, b: u8, now: SimTime) -> Option<SimDuration> {
        let bit = 1u32 << b;
        (self.slots.iter())
            .filter(|s| s.in_use && s.acked && s.node == self.primary && s.pending & bit != 0)
            .map(|s| s.issued)
            .min()
            .map(|t| now.since(t))
    }

    /// Tells request call `token` (if it is one) how its operation ended.
    fn answer(&mut self, token: u32, ok: bool) {
        super::answer(&mut self.answers, token, ok);
    }

    /// A write acknowledged as number `ack_seq` is now durable.
    fn made_durable(&mut self, ack_seq: u64) {
        self.counts.durable += 1;
        if ack_seq > self.snap_seq {
            self.durable_since_snap += 1;
        }
    }

    /// The counts at the end of the run, after checking that every write is accounted for.
    fn check_invariants(&mut self) -> PbCounts {
        let mut c = self.counts;
        c.in_progress = self.slots.iter().filter(|s| s.in_use && !s.acked).count() as u64;
        c.replicating = self.slots.iter().filter(|s| s.in_use && s.acked).count() as u64;
        assert_eq!(
            c.offered,
            c.acked + c.failed_unavailable + c.failed_unreplicated + c.in_progress,
            "invariant: writes offered = acknowledged + failed + in progress ({c:?})"
        );
        assert_eq!(
            c.acked,
            c.durable + c.lost + c.replicating,
            "invariant: acknowledged = durable + lost + replicating ({c:?})"
        );
        assert!(c.conflicting <= c.lost, "invariant: conflicting ⊆ lost");
        assert_eq!(
            c.lost,
            self.outages
                .iter()
                .map(|o| o.lost + o.conflicting)
                .sum::<u64>(),
            "invariant: the outages account for every lost write"
        );
        c
    }

    fn reachable(&self, n: u8) -> bool {
        let node = &self.nodes[n as usize];
        node.down == 0 && !node.partitioned
    }

    fn link(&self, from: u8, to: u8) -> u64 {
        (u64::from(self.nodes[from as usize].incarnation) << 32)
            | u64::from(self.nodes[to as usize].incarnation)
    }

    fn alloc(&mut self, slot: Slot) -> u32 {
        match self.free.pop() {
            Some(i) => {
                let generation = self.slots[i as usize].generation.wrapping_add(1);
                self.slots[i as usize] = Slot { generation, ..slot };
                i
            }
            None => {
                self.slots.push(slot);
                self.slots.len() as u32 - 1
            }
        }
    }

    fn release(&mut self, i: u32) {
        self.slots[i as usize].in_use = false;
        self.free.push(i);
    }

    /// Write `token` ended: recorded, and its caller answered.
    fn emit(&mut self, now: SimTime, token: u32, ok: bool, latency: SimDuration) {
        let r = StoreRecord::Write {
            store: self.index,
            ok,
            latency,
        };
        self.observer.record(now, &r);
        self.answer(token, ok);
    }

    fn on_write(&mut self, now: SimTime, sched: &mut dyn Schedule<Event>) {
        if let Some(g) = &self.interarrival {
            sched.after(g.sample(&mut self.arrivals), Event::Write);
        }
        self.write(now, super::OWN, sched);
    }

    /// A write (the store's own, or a request's call `token`).
    fn write(&mut self, now: SimTime, token: u32, sched: &mut dyn Schedule<Event>) {
        self.counts.offered += 1;
        // Clients on the partitioned node's side still reach it, and only it.
        if let Some((q, share, outage)) = self.partition
            && self.sides.uniform() < share
        {
            let as_primary = q == self.primary
                && self.open.is_some()
                && (!self.fencing
                    || now < self.outages[self.open.unwrap_or(0) as usize].lease_expiry);
            if self.nodes[q as usize].down == 0 && (as_primary || q == self.deposed) {
                self.accept(q, now, token, sched);
            } else {
                self.fail_unavailable(now, token, outage);
            }
            return;
        }
        match self.open {
            None => self.accept(self.primary, now, token, sched),
            Some(o) => self.fail_unavailable(now, token, o),
        }
    }

    fn fail_unavailable(&mut self, now: SimTime, token: u32, outage: u32) {
        self.counts.failed_unavailable += 1;
        self.outages[outage as usize].failed += 1;
        self.emit(now, token, false, SimDuration::ZERO);
    }

    /// Node `n` (the primary, or a deposed primary) takes a write.
    fn accept(&mut self, n: u8, now: SimTime, token: u32, sched: &mut dyn Schedule<Event>) {
        if n == self.deposed {
            // Split brain: the write is acknowledged and will be discarded when the partition
            // heals (a partitioned node cannot replicate, so only asynchronous writes get here
            // acknowledged).
            if self.synchronous {
                self.counts.failed_unreplicated += 1;
                self.outages[self.deposed_outage as usize].failed += 1;
                self.emit(now, token, false, SimDuration::ZERO);
            } else {
                self.counts.acked += 1;
                self.counts.lost += 1;
                self.counts.conflicting += 1;
                self.outages[self.deposed_outage as usize].conflicting += 1;
                self.emit(now, token, true, SimDuration::ZERO);
            }
            return;
        }
        let mut targets = 0u32;
        if self.reachable(n) {
            for b in 0..self.nodes.len() as u8 {
                if b != n && self.reachable(b) && self.nodes[b as usize].synced {
                    targets |= 1 << b;
                }
            }
        }
        if self.synchronous && targets == 0 {
            self.counts.failed_unreplicated += 1;
            if let Some(o) = self.open {
                self.outages[o as usize].failed += 1;
            }
            self.emit(now, token, false, SimDuration::ZERO);
            return;
        }
        let mut ack_seq = 0;
        if !self.synchronous {
            self.counts.acked += 1;
            ack_seq = self.counts.acked;
            self.emit(now, token, true, SimDuration::ZERO);
        }
        let slot = self.alloc(Slot {
            generation: 0,
            in_use: true,
            issued: now,
            node: n,
            acked: !self.synchronous,
            pending: targets,
            holders: 0,
            ack_seq,
            token,
        });
        let generation = self.slots[slot as usize].generation;
        for b in 0..self.nodes.len() as u8 {
            if targets & (1 << b) != 0 {
                let d = self.delay.sample(&mut self.replication);
                let link = self.link(n, b);
                sched.after(
                    d,
                    Event::Confirm {
                        slot,
                        generation,
                        node: b,
                        link,
                    },
                );
            }
        }
    }

    fn on_confirm(&mut self, now: SimTime, slot: u32, generation: u32, node: u8, link: u64) {
        let s = self.slots[slot as usize];
        let bit = 1u32 << node;
        if !s.in_use || s.generation != generation || s.pending & bit == 0 {
            return;
        }
        if link != self.link(s.node, node) {
            return;
        }
        let s = &mut self.slots[slot as usize];
        s.pending &= !bit;
        s.holders |= bit;
        self.settle(slot, now);
    }

    /// A write with nothing left on its way: durable (or acknowledged, if synchronous) when a
    /// backup holds it.
    fn settle(&mut self, slot: u32, now: SimTime) {
        let s = self.slots[slot as usize];
        if !s.in_use || s.pending != 0 {
            return;
        }
        match (s.acked, s.holders != 0) {
            (true, true) => {
                self.made_durable(s.ack_seq);
                self.release(slot);
            }
            // Asynchronous, held by no backup yet: it waits for a resync (or is lost).
            (true, false) => {}
            (false, true) => {
                self.counts.acked += 1;
                self.made_durable(self.counts.acked);
                self.emit(now, s.token, true, now.since(s.issued));
                self.release(slot);
            }
            (false, false) => {
                self.counts.failed_unreplicated += 1;
                self.emit(now, s.token, false, now.since(s.issued));
                self.release(slot);
            }
        }
    }

    /// The synchronous writes of `n` waiting for confirmations fail: `n` can no longer get
    /// them (it crashed or was cut off).
    fn fail_waiting(&mut self, n: u8, now: SimTime) {
        for i in 0..self.slots.len() as u32 {
            let s = self.slots[i as usize];
            if s.in_use && !s.acked && s.node == n {
                self.counts.failed_unreplicated += 1;
                if let Some(o) = self.open {
                    self.outages[o as usize].failed += 1;
                }
                self.emit(now, s.token, false, now.since(s.issued));
                self.release(i);
            }
        }
    }

    /// Backup `b` copies the primary's state: it now holds every write of the primary.
    fn resync(&mut self, b: u8, now: SimTime) {
        self.nodes[b as usize].synced = true;
        let bit = 1u32 << b;
        for i in 0..self.slots.len() as u32 {
            let s = &mut self.slots[i as usize];
            if s.in_use && s.node == self.primary {
                s.pending &= !bit;
                s.holders |= bit;
                self.settle(i, now);
            }
        }
    }

    fn open_outage(&mut self, cause: OutageCause, now: SimTime, sched: &mut dyn Schedule<Event>) {
        let hb = self.heartbeat.0.max(1);
        // The last heartbeat that got through; the lease granted at the start counts as one.
        let last = if now < self.hb_origin {
            SimTime::ZERO
        } else {
            SimTime(self.hb_origin.0 + (now.0 - self.hb_origin.0) / hb * hb)
        };
        let lease_expiry = last.after(self.lease).max(now);
        let id = self.outages.len() as u32;
        self.outages.push(Outage {
            node: u32::from(self.primary),
            cause,
            start: now,
            lease_expiry,
            end: None,
            promoted: None,
            lost: 0,
            failed: 0,
            conflicting: 0,
        });
        self.open = Some(id);
        sched.at(lease_expiry, Event::Detect { outage: id });
    }

    /// The old primary is reachable again before a backup was promoted: it carries on.
    fn resume(&mut self, now: SimTime) {
        let Some(o) = self.open.take() else { return };
        self.outages[o as usize].end = Some(now);
        self.hb_origin = now;
        for b in 0..self.nodes.len() as u8 {
            if b != self.primary && self.reachable(b) {
                self.resync(b, now);
            }
        }
    }

    /// The live, in-sync backup holding the most of the primary's unfinished writes (the
    /// lowest index among equals).
    fn candidate(&self) -> Option<u8> {
        let mut best: Option<(u64, u8)> = None;
        for b in 0..self.nodes.len() as u8 {
            if b == self.primary || !self.reachable(b) || !self.nodes[b as usize].synced {
                continue;
            }
            let bit = 1u32 << b;
            let held = self
                .slots
                .iter()
                .filter(|s| s.in_use && s.holders & bit != 0)
                .count() as u64;
            if best.is_none_or(|(h, _)| held > h) {
                best = Some((held, b));
            }
        }
        best.map(|(_, b)| b)
    }

    fn promote(&mut self, p: u8, outage: u32, now: SimTime) {
        let old = self.primary;
        let bit = 1u32 << p;
        let mut lost = 0;
        for i in 0..self.slots.len() as u32 {
            let s = self.slots[i as usize];
            if !s.in_use {
                continue;
            }
            assert!(
                s.acked && s.node == old,
                "invariant: at a promotion only the old primary's acknowledged writes are unfinished"
            );
            if s.holders & bit != 0 {
                self.made_durable(s.ack_seq);
            } else {
                lost += 1;
            }
            self.release(i);
        }
        self.counts.lost += lost;
        self.counts.failovers += 1;
        let o = &mut self.outages[outage as usize];
        o.lost = lost;
        o.end = Some(now);
        o.promoted = Some(u32::from(p));
        self.open = None;
        self.primary = p;
        self.hb_origin = now;
        let old_node = self.nodes[old as usize];
        if !self.fencing && old_node.down == 0 && old_node.partitioned {
            self.deposed = old;
            self.deposed_outage = outage;
        }
        for b in 0..self.nodes.len() as u8 {
            if b != p {
                self.nodes[b as usize].synced = false;
                if self.reachable(b) {
                    self.resync(b, now);
                }
            }
        }
    }

    /// Node `n` goes down (its first open reason).
    fn crash(&mut self, n: u8, now: SimTime, sched: &mut dyn Schedule<Event>) {
        self.counts.node_crashes += 1;
        let node = &mut self.nodes[n as usize];
        node.incarnation = node.incarnation.wrapping_add(1);
        node.synced = false;
        if n == self.primary {
            if self.open.is_none() {
                self.open_outage(OutageCause::Crash, now, sched);
            }
            self.fail_waiting(n, now);
            return;
        }
        if n == self.deposed {
            self.deposed = NONE;
        }
        // A backup: writes on their way to it no longer wait for it. During an outage they
        // stay unfinished: the promotion decides whether the promoted backup holds them.
        let bit = 1u32 << n;
        let settle = self.open.is_none();
        for i in 0..self.slots.len() as u32 {
            let s = &mut self.slots[i as usize];
            if s.in_use && s.pending & bit != 0 {
                s.pending &= !bit;
                if settle {
                    self.settle(i, now);
                }
            }
        }
    }

    /// Node `n` is back up (its last open reason ended).
    fn repair(&mut self, n: u8, now: SimTime) {
        let node = &mut self.nodes[n as usize];
        node.incarnation = node.incarnation.wrapping_add(1);
        if n == self.primary {
            if !self.nodes[n as usize].partitioned {
                self.resume(now);
            }
        } else if self.open.is_none() && self.reachable(n) {
            self.resync(n, now);
        }
    }

    fn heal(&mut self, q: u8, now: SimTime) {
        let node = &mut self.nodes[q as usize];
        node.partitioned = false;
        node.incarnation = node.incarnation.wrapping_add(1);
        self.partition = None;
        if q == self.deposed {
            // It learns of the newer primary and steps down; its split-brain writes are gone.
            self.deposed = NONE;
        }
        if q == self.primary {
            if self.nodes[q as usize].down == 0 {
                self.resume(now);
            }
        } else if self.open.is_none() && self.reachable(q) {
            self.nodes[q as usize].synced = false;
            self.resync(q, now);
        }
    }

    fn fault_start(&mut self, fault: u32, now: SimTime, sched: &mut dyn Schedule<Event>) {
        let f = self.faults[fault as usize].clone();
        let q = self.primary;
        let end = now.after(f.duration());
        match f {
            StoreFault::Crash { .. } => {
                let node = &mut self.nodes[q as usize];
                node.down += 1;
                if node.down == 1 {
                    self.crash(q, now, sched);
                }
            }
            StoreFault::Partition {
                clients_with_old_primary,
                ..
            } => {
                if self.open.is_some() || self.partition.is_some() {
                    self.counts.faults_skipped += 1;
                    return;
                }
                let node = &mut self.nodes[q as usize];
                node.partitioned = true;
                node.incarnation = node.incarnation.wrapping_add(1);
                self.open_outage(OutageCause::Partition, now, sched);
                let outage = self.open.unwrap_or(0);
                self.partition = Some((q, clients_with_old_primary, outage));
                self.fail_waiting(q, now);
            }
            StoreFault::Disaster { .. } => {
                self.disaster(now, sched);
                return;
            }
        }
        sched.at(end, Event::FaultEnd { fault, node: q });
    }

    /// Every node loses its data: the store is down until it is restored from the last
    /// snapshot, and the writes acknowledged after that snapshot are lost. Skipped (and
    /// counted) while the primary is already away.
    fn disaster(&mut self, now: SimTime, sched: &mut dyn Schedule<Event>) {
        let Some(restore) = self.snapshots.as_ref().map(|s| s.restore.clone()) else {
            unreachable!("validation requires snapshots for a disaster");
        };
        if self.open.is_some() || self.partition.is_some() {
            self.counts.faults_skipped += 1;
            return;
        }
        self.counts.disasters += 1;
        let id = self.outages.len() as u32;
        self.outages.push(Outage {
            node: u32::from(self.primary),
            cause: OutageCause::Disaster,
            start: now,
            lease_expiry: now,
            end: None,
            promoted: None,
            lost: 0,
            failed: 0,
            conflicting: 0,
        });
        self.open = Some(id);
        self.fail_waiting(self.primary, now);
        // What the snapshot holds survives: writes on their way acknowledged before it are
        // durable after all; everything acknowledged after it is gone.
        let mut lost = self.durable_since_snap;
        self.counts.durable -= self.durable_since_snap;
        self.durable_since_snap = 0;
        for i in 0..self.slots.len() as u32 {
            let s = self.slots[i as usize];
            if !s.in_use {
                continue;
            }
            assert!(s.acked, "invariant: waiting writes failed first");
            if s.ack_seq > self.snap_seq {
                lost += 1;
            } else {
                self.counts.durable += 1;
            }
            self.release(i);
        }
        self.counts.lost += lost;
        self.outages[id as usize].lost = lost;
        for n in &mut self.nodes {
            n.down += 1;
            n.synced = false;
            n.incarnation = n.incarnation.wrapping_add(1);
        }
        let d = restore.sample(&mut self.restores);
        sched.after(d, Event::Restored { outage: id });
    }

    /// The restore is done: every node holds the snapshot; the lowest-index node that is up
    /// leads (if every node is still down for another reason, node 0 leads when repaired).
    fn restored(&mut self, outage: u32, now: SimTime) {
        for n in &mut self.nodes {
            assert!(n.down > 0, "invariant: a disaster holds every node down");
            n.down -= 1;
        }
        self.snap_seq = self.counts.acked;
        self.durable_since_snap = 0;
        self.primary = (0..self.nodes.len() as u8)
            .find(|&b| self.reachable(b))
            .unwrap_or(0);
        for n in &mut self.nodes {
            n.synced = true;
        }
        if self.reachable(self.primary) {
            self.open = Some(outage);
            self.resume(now);
        }
    }

    fn fault_end(&mut self, fault: u32, q: u8, now: SimTime) {
        match self.faults[fault as usize] {
            StoreFault::Crash { .. } => {
                let node = &mut self.nodes[q as usize];
                assert!(node.down > 0, "invariant: a node comes back only when down");
                node.down -= 1;
                if node.down == 0 {
                    self.repair(q, now);
                }
            }
            StoreFault::Partition { .. } => self.heal(q, now),
            StoreFault::Disaster { .. } => {}
        }
    }
}

impl<O: Observer<StoreRecord>> super::StoreModel for PrimaryBackup<O> {
    type Event = Event;

    fn name(&self) -> &str {
        &self.name
    }

    fn start(&mut self, sched: &mut dyn Schedule<Event>, horizon: SimTime) {
        self.start_at(sched, horizon);
    }

    fn finish(&mut self, run: RunStats) -> super::StoreSummary {
        super::StoreSummary::PrimaryBackup(self.summary(run))
    }

    fn call(
        &mut self,
        now: SimTime,
        token: u32,
        op: super::StoreOp,
        sched: &mut dyn Schedule<Event>,
    ) {
        match op {
            super::StoreOp::Write => self.write(now, token, sched),
            _ => self.read(now, token),
        }
    }

    fn answers(&mut self) -> &mut super::Answers {
        &mut self.answers
    }

    fn warmup_ended(&mut self, now: SimTime) {
        // Acknowledgement counts number the writes (snapshots compare them), so the counts
        // run on; the summary subtracts these.
        self.warm = Some((self.counts, now));
    }

    fn handle(&mut self, now: SimTime, event: Event, sched: &mut dyn Schedule<Event>) {
        match event {
            Event::Write => self.on_write(now, sched),
            Event::Read => self.on_read(now, sched),
            Event::Confirm {
                slot,
                generation,
                node,
                link,
            } => self.on_confirm(now, slot, generation, node, link),
            Event::Crash { node } => {
                if super::hold(&mut self.nodes[node as usize].down) {
                    self.crash(node, now, sched);
                }
                let rng = &mut self.fail_rng[node as usize];
                if let Some(d) = super::next_transition(&self.failures, rng, false) {
                    sched.after(d, Event::Repair { node });
                }
            }
            Event::Repair { node } => {
                if super::release(&mut self.nodes[node as usize].down) {
                    self.repair(node, now);
                }
                let rng = &mut self.fail_rng[node as usize];
                if let Some(d) = super::next_transition(&self.failures, rng, true) {
                    sched.after(d, Event::Crash { node });
                }
            }
            Event::FaultStart { fault } => self.fault_start(fault, now, sched),
            Event::FaultEnd { fault, node } => self.fault_end(fault, node, now),
            Event::Detect { outage } => {
                if self.open == Some(outage) && self.candidate().is_some() {
                    let d = self.promotion.sample(&mut self.promotions);
                    sched.after(d, Event::Promoted { outage });
                }
                // Without a candidate the store waits for the old primary to come back.
            }
            Event::Snapshot => {
                if let Some(s) = &self.snapshots {
                    sched.after(s.interval, Event::Snapshot);
                }
                // A snapshot of the primary's state: every write it acknowledged so far.
                if self.open.is_none() {
                    self.counts.snapshots += 1;
                    self.snap_seq = self.counts.acked;
                    self.durable_since_snap = 0;
                }
            }
            Event::Restored { outage } => self.restored(outage, now),
            Event::Promoted { outage } => {
                if self.open == Some(outage)
                    && let Some(p) = self.candidate()
                {
                    self.promote(p, outage, now);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
