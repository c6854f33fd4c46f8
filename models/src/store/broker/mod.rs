//! A message broker shaped like Kafka (partitions, leaders and followers, `acks`, consumer
//! groups) with SQS redelivery (visibility timeout, dead-letter queue after `max_receives`):
//! the timing, not a byte log.
//!
//! **Replication.** Each partition has a leader and followers; a message appended by the
//! leader reaches each live follower a `follower_lag` draw later (in order: a follower's log is
//! a prefix of the leader's). The in-sync replicas (ISR) are the leader and the followers that
//! are up and caught up; the high watermark (HW) is the smallest log end among them, and
//! consumers read only below it. A follower leaves the ISR when it crashes (Kafka waits
//! `replica.lag.time.max.ms`; here at once, so `acks=all` producers never stall on a dead
//! follower) and rejoins when it holds everything below the HW (Kafka's rule). When a leader
//! crashes, a `leader_failover` draw later the first live ISR member in replica order leads
//! (clean election; none: the partition stays offline until an ISR member returns); the
//! messages beyond its log end are cut from every log: acknowledged ones under `acks=1`
//! (lost), never acknowledged ones under `acks=all` (the producer got an error). Since an
//! `acks=all` message is acknowledged only below the HW, which every ISR member holds, a clean
//! election never loses one.
//!
//! **Consumers.** Partitions are assigned round robin to the live members; a member processes
//! one message at a time, its partitions in turn. A processing failure (probability
//! `failure_rate`) makes the message visible again after `visibility_timeout`; a message
//! received `max_receives` times without success goes to the dead-letter queue. Members commit
//! every `commit_interval`: the committed offset of a partition is its first unfinished
//! message. A crashed member is declared dead `session_timeout` after its last heartbeat; a
//! rebalance (also when a member comes back) stops every member for `rebalance_pause`, then
//! reassigns every partition, to be read again from its committed offset: messages processed
//! but not committed are processed again (duplicates), messages that were in flight at the
//! crashed member are received again. Retention deletes messages older than `retention`
//! (checked every window), consumed or not; those not processed yet are lost.
//!
//! The books, asserted at the end of every run: produced = refused + dropped (acks=0 without a
//! leader) + cut unacknowledged + lost unreplicated + lost to retention + delivered (first
//! successful processing) + dead-lettered + backlog (waiting or in flight).

use super::StoreRecord;
use crate::stats::TimeWeighted;
use crate::store_spec::{Acks, BrokerFault, BrokerSpec};
use sim_core::{Dist, Observer, RunStats, Schedule, SimDuration, SimTime, Stream, StreamKey};
use std::collections::VecDeque;

/// No consumer / no replica.
const NONE: u32 = u32::MAX;

/// What can happen in a broker.
#[derive(Clone, Copy, Debug)]
pub enum Event {
    /// The producer sends a message.
    Produce,
    /// A follower copied message `offset` of `partition` (dropped when the partition's leader
    /// epoch moved on).
    Fetch {
        /// The partition.
        partition: u32,
        /// Replica index within the partition.
        replica: u8,
        /// Leader epoch when it was sent.
        epoch: u32,
        /// The message.
        offset: u64,
    },
    /// A follower caught up with its (new) leader up to `upto`.
    CatchUp {
        /// The partition.
        partition: u32,
        /// Replica index.
        replica: u8,
        /// Leader epoch.
        epoch: u32,
        /// Log end it now holds.
        upto: u64,
    },
    /// The controller elects a leader for a partition whose leader crashed.
    Elect {
        /// The partition.
        partition: u32,
    },
    /// A broker node crashes (random failures).
    NodeCrash {
        /// The node.
        node: u32,
    },
    /// A broker node is repaired.
    NodeRepair {
        /// The node.
        node: u32,
    },
    /// A consumer crashes (random failures).
    ConsumerCrash {
        /// The consumer.
        consumer: u32,
    },
    /// A consumer restarts.
    ConsumerRepair {
        /// The consumer.
        consumer: u32,
    },
    /// A scheduled fault starts.
    FaultStart {
        /// Index in the spec's faults.
        fault: u32,
    },
    /// A scheduled fault ends.
    FaultEnd {
        /// Index in the spec's faults.
        fault: u32,
        /// The node or consumer it took down.
        target: u32,
    },
    /// A consumer's session ran out at the coordinator.
    Detect {
        /// The consumer.
        consumer: u32,
        /// Its incarnation when it crashed.
        incarnation: u32,
    },
    /// A rebalance's pause is over.
    RebalanceEnd {
        /// The rebalance (a newer one supersedes it).
        generation: u32,
    },
    /// A consumer finished processing a message.
    Done {
        /// The consumer.
        consumer: u32,
        /// Its incarnation when it started.
        incarnation: u32,
    },
    /// A failed message becomes visible again.
    Visible {
        /// Its partition.
        partition: u32,
    },
    /// Consumers commit their offsets.
    Commit,
    /// End of a window: a row of backlog and lag; retention.
    Sample,
}

/// Whole-run message counts of a broker.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BrokerCounts {
    /// Sent by the producer.
    pub produced: u64,
    /// Acknowledged to the producer (`acks=1` at the leader, `acks=all` at the high watermark;
    /// never with `acks=0`).
    pub acked: u64,
    /// Refused at once: no leader (acks 1, all), or fewer in-sync replicas than
    /// `min_insync_replicas` (acks all).
    pub refused: u64,
    /// `acks=all` messages cut at a leader election before they were acknowledged (the
    /// producer sees an error).
    pub cut_unacked: u64,
    /// `acks=0` messages sent while the partition had no leader: lost.
    pub dropped: u64,
    /// Appended by a leader that died before the follower that replaced it held them: lost.
    pub lost_unreplicated: u64,
    /// Of those, acknowledged ones (never under `acks=all`).
    pub lost_acked: u64,
    /// Deleted by retention before any successful processing: lost.
    pub lost_retention: u64,
    /// Messages processed successfully at least once (unique).
    pub delivered: u64,
    /// Processings of a message already delivered (or dead-lettered).
    pub duplicates: u64,
    /// Processings that failed.
    pub processing_failures: u64,
    /// Messages moved to the dead-letter queue.
    pub dead_lettered: u64,
    /// At the end: messages not finished, waiting.
    pub backlog: u64,
    /// At the end: messages not finished, being processed.
    pub in_flight: u64,
    /// Leader elections (a partition's leader replaced).
    pub elections: u64,
    /// Broker node crashes.
    pub node_crashes: u64,
    /// Consumer crashes.
    pub consumer_crashes: u64,
    /// Group rebalances.
    pub rebalances: u64,
    /// Scheduled faults that found nothing to hit (no leader, consumer already down).
    pub faults_skipped: u64,
}

impl BrokerCounts {
    /// What happened after `base` was taken (the end of warm-up); backlog and in flight are
    /// as they are.
    fn since(&self, base: &BrokerCounts) -> BrokerCounts {
        BrokerCounts {
            produced: self.produced - base.produced,
            acked: self.acked - base.acked,
            refused: self.refused - base.refused,
            cut_unacked: self.cut_unacked - base.cut_unacked,
            dropped: self.dropped - base.dropped,
            lost_unreplicated: self.lost_unreplicated - base.lost_unreplicated,
            lost_acked: self.lost_acked - base.lost_acked,
            lost_retention: self.lost_retention - base.lost_retention,
            delivered: self.delivered - base.delivered,
            duplicates: self.duplicates - base.duplicates,
            processing_failures: self.processing_failures - base.processing_failures,
            dead_lettered: self.dead_lettered - base.dead_lettered,
            backlog: self.backlog,
            in_flight: self.in_flight,
            elections: self.elections - base.elections,
            node_crashes: self.node_crashes - base.node_crashes,
            consumer_crashes: self.consumer_crashes - base.consumer_crashes,
            rebalances: self.rebalances - base.rebalances,
            faults_skipped: self.faults_skipped - base.faults_skipped,
        }
    }

    /// Lost for any reason.
    pub fn lost(&self) -> u64 {
        self.dropped + self.lost_unreplicated + self.lost_retention
    }
}

/// One window of a broker's run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BrokerWindow {
    /// End of the window.
    pub end: SimTime,
    /// Length of the window, ns (the last one may be shorter).
    pub length_ns: u64,
    /// Messages produced in the window.
    pub produced: u64,
    /// Messages delivered (first successful processing) in the window.
    pub delivered: u64,
    /// Duplicate processings in the window.
    pub duplicates: u64,
    /// Messages lost in the window.
    pub lost: u64,
    /// ∫ backlog dt over the window, ns · messages.
    pub backlog_area: u128,
    /// Messages not finished at the end of the window.
    pub backlog: u64,
    /// Consumer lag at the end: Σ over partitions of high watermark − committed offset.
    pub lag: u64,
    /// Largest consumer lag in the window.
    pub max_lag: u64,
}

/// A broker's end-of-run figures.
#[derive(Clone, Debug)]
pub struct BrokerSummary {
    /// The store's name.
    pub name: String,
    /// Broker nodes.
    pub brokers: u32,
    /// Partitions.
    pub partitions: u32,
    /// Replicas per partition.
    pub replication_factor: u32,
    /// `acks`.
    pub acks: Acks,
    /// Members of the consumer group.
    pub consumers: u32,
    /// Message counts.
    pub counts: BrokerCounts,
    /// ∫ backlog dt over the run after warm-up, ns · messages (Little's law: λ · mean time
    /// in the broker).
    pub backlog_area: u128,
    /// Where the figures start: the end of warm-up (zero without one); window rows cover
    /// the whole run.
    pub since: SimTime,
    /// Largest consumer lag.
    pub max_lag: u64,
    /// Time the group spent paused by rebalances, ns.
    pub paused_ns: u64,
    /// One row per window.
    pub windows: Vec<BrokerWindow>,
    /// The window, ns.
    pub window_ns: u64,
    /// The kernel's account of the run.
    pub run: RunStats,
}

/// A message in a partition's log.
#[derive(Clone, Copy, Debug)]
struct Msg {
    produced: SimTime,
    receives: u32,
    /// Consumers processing it now.
    in_flight: u16,
    acked: bool,
    delivered: bool,
    dead: bool,
    /// The request's call waiting for its acknowledgement ([`super::OWN`]: none).
    token: u32,
}

impl Msg {
    fn finished(&self) -> bool {
        self.delivered || self.dead
    }
}

struct Partition {
    /// Replica index of the leader (`NONE` while offline or electing).
    leader: u32,
    /// The last leader (the one whose crash an election replaces).
    last_leader: u32,
    electing: bool,
    epoch: u32,
    /// Log end held by each replica.
    leo: Vec<u64>,
    /// Replicas in sync (bit per replica index).
    isr: u32,
    /// Copies to a follower arrive in order: the last scheduled arrival per replica.
    last_arrival: Vec<SimTime>,
    /// Messages from the committed offset `base` to the leader's log end.
    log: VecDeque<Msg>,
    base: u64,
    hw: u64,
    /// The owner's next offset to read.
    next: u64,
    /// Failed messages waiting to be visible again: (visible at, offset), in time order.
    retry: VecDeque<(SimTime, u64)>,
    /// The consumer it is assigned to.
    owner: u32,
}

#[derive(Clone, Copy, Debug, Default)]
struct Consumer {
    down: u32,
    /// In the group's current assignment (a dead member stays until detected).
    member: bool,
    incarnation: u32,
    /// (partition, offset) being processed.
    busy: Option<(u32, u64)>,
    /// The partition to look at first next time (round robin).
    rr: u32,
    hb_origin: SimTime,
}

/// The running broker, emitting [`StoreRecord`]s to `O`.
pub struct Broker<O> {
    index: u32,
    spec: BrokerSpec,
    parts: Vec<Partition>,
    node_down: Vec<u32>,
    consumers: Vec<Consumer>,
    produce_gap: Option<Dist>,
    produce_rng: Stream,
    keys: Stream,
    lag_rng: Stream,
    failover_rng: Stream,
    process_rng: Stream,
    outcome_rng: Stream,
    node_rng: Vec<Stream>,
    consumer_rng: Vec<Stream>,
    paused: bool,
    paused_since: SimTime,
    paused_ns: u64,
    generation: u32,
    counts: BrokerCounts,
    /// Messages not finished (waiting or in flight).
    undone: u64,
    backlog: TimeWeighted,
    lag: u64,
    max_lag: u64,
    window_max_lag: u64,
    last_sample: SimTime,
    last_counts: BrokerCounts,
    last_area: u128,
    windows: Vec<BrokerWindow>,
    /// Requests' calls answered, for the host.
    answers: super::Answers,
    /// At the end of warm-up (issue 20): the counts, ∫ backlog and time paused then, and when.
    warm: Option<(BrokerCounts, u128, u64, SimTime)>,
    observer: O,
}

impl<O: Observer<StoreRecord>> Broker<O> {
    /// Builds store `index` of `spec` with the random streams of `key`.
    pub fn new(spec: &BrokerSpec, index: u32, key: StreamKey, observer: O) -> Self {
        let rf = spec.replication_factor;
        assert!(
            (1..=32).contains(&rf)
                && rf <= spec.brokers
                && spec.brokers <= 32
                && (1..=rf).contains(&spec.min_insync_replicas)
                && spec.partitions >= 1
                && spec.consumers.consumers >= 1
                && spec.consumers.max_receives >= 1,
            "invariant: broker sizes validated"
        );
        let s = |what: &str| key.stream(&format!("store/{}/{what}", spec.name));
        let parts = (0..spec.partitions)
            .map(|_| Partition {
                leader: 0,
                last_leader: 0,
                electing: false,
                epoch: 0,
                leo: vec![0; rf as usize],
                isr: if rf == 32 { u32::MAX } else { (1 << rf) - 1 },
                last_arrival: vec![SimTime::ZERO; rf as usize],
                log: VecDeque::with_capacity(1024),
                base: 0,
                hw: 0,
                next: 0,
                retry: VecDeque::new(),
                owner: NONE,
            })
            .collect();
        let n_cons = spec.consumers.consumers;
        let mut consumers = Vec::with_capacity(n_cons as usize);
        for c in 0..n_cons {
            let mut hb = s(&format!("consumer/{c}/heartbeat"));
            let period = spec.consumers.heartbeat_interval.0.max(1);
            consumers.push(Consumer {
                member: true,
                hb_origin: SimTime(hb.next_u64() % period),
                ..Consumer::default()
            });
        }
        let mut b = Broker {
            index,
            parts,
            node_down: vec![0; spec.brokers as usize],
            consumers,
            produce_gap: spec.produce.as_ref().map(|p| p.interarrival()),
            produce_rng: s("produce"),
            keys: s("keys"),
            lag_rng: s("replication"),
            failover_rng: s("failover"),
            process_rng: s("processing"),
            outcome_rng: s("processing-failures"),
            node_rng: (0..spec.brokers)
                .map(|i| s(&format!("node/{i}/failures")))
                .collect(),
            consumer_rng: (0..n_cons)
                .map(|i| s(&format!("consumer/{i}/failures")))
                .collect(),
            paused: false,
            paused_since: SimTime::ZERO,
            paused_ns: 0,
            generation: 0,
            counts: BrokerCounts::default(),
            undone: 0,
            backlog: TimeWeighted::default(),
            lag: 0,
            max_lag: 0,
            window_max_lag: 0,
            last_sample: SimTime::ZERO,
            last_counts: BrokerCounts::default(),
            last_area: 0,
            warm: None,
            windows: Vec::new(),
            answers: Vec::new(),
            observer,
            spec: spec.clone(),
        };
        b.assign();
        b
    }

    /// Runs from time zero to `horizon` (or `max_events`) and returns the summary and the
    /// observer.
    /// Runs alone from time zero to `horizon` (or `max_events`): the figures and the observer.
    pub fn run(mut self, horizon: SimTime, max_events: u64) -> (BrokerSummary, O) {
        let run = super::run_alone(&mut self, horizon, max_events);
        (self.summary(run), self.observer)
    }

    /// Schedules the first events.
    fn start_at(&mut self, sched: &mut dyn Schedule<Event>, horizon: SimTime) {
        let _ = horizon;
        if let Some(g) = &self.produce_gap {
            sched.after(g.sample(&mut self.produce_rng), Event::Produce);
        }
        if let Some(f) = &self.spec.failures {
            for (i, rng) in self.node_rng.iter_mut().enumerate() {
                let d = f.time_to_failure.sample(rng);
                sched.after(d, Event::NodeCrash { node: i as u32 });
            }
        }
        if let Some(f) = &self.spec.consumers.failures {
            for (i, rng) in self.consumer_rng.iter_mut().enumerate() {
                let d = f.time_to_failure.sample(rng);
                sched.after(d, Event::ConsumerCrash { consumer: i as u32 });
            }
        }
        for (i, f) in self.spec.faults.iter().enumerate() {
            let at = match f {
                BrokerFault::LeaderCrash { at, .. } | BrokerFault::ConsumerCrash { at, .. } => *at,
            };
            sched.at(SimTime(at.0), Event::FaultStart { fault: i as u32 });
        }
        sched.after(self.spec.consumers.commit_interval, Event::Commit);
        sched.after(self.spec.window, Event::Sample);
        self.windows
            .reserve(horizon.0.div_ceil(self.spec.window.0.max(1)) as usize + 1);
    }

    /// The end-of-run figures, the books checked.
    fn summary(&mut self, run: RunStats) -> BrokerSummary {
        let end = run.end;
        if end > self.last_sample {
            self.sample(end);
        }
        if self.paused {
            self.paused_ns += end.since(self.paused_since).0;
        }
        self.check_books();
        let (mut counts, mut backlog_area) = (self.counts, self.backlog.area_until(end).0);
        let since = match self.warm {
            Some((base, area, paused, at)) => {
                counts = counts.since(&base);
                backlog_area -= area;
                self.paused_ns -= paused;
                at
            }
            None => SimTime::ZERO,
        };
        BrokerSummary {
            name: self.spec.name.clone(),
            brokers: self.spec.brokers,
            partitions: self.spec.partitions,
            replication_factor: self.spec.replication_factor,
            acks: self.spec.acks,
            consumers: self.spec.consumers.consumers,
            counts,
            backlog_area,
            since,
            max_lag: self.max_lag,
            paused_ns: self.paused_ns,
            windows: std::mem::take(&mut self.windows),
            window_ns: self.spec.window.0,
            run,
        }
    }

    /// Every message accounted for, and the running totals match the logs.
    fn check_books(&mut self) {
        let (mut undone, mut in_flight, mut lag) = (0u64, 0u64, 0u64);
        for p in &self.parts {
            assert!(
                p.base <= p.hw && p.hw <= p.base + p.log.len() as u64,
                "invariant: committed ≤ high watermark ≤ log end"
            );
            lag += p.hw - p.base;
            for m in &p.log {
                if !m.finished() {
                    undone += 1;
                    if m.in_flight > 0 {
                        in_flight += 1;
                    }
                }
            }
        }
        assert_eq!(undone, self.undone, "invariant: the backlog count");
        assert_eq!(lag, self.lag, "invariant: the lag count");
        let c = &mut self.counts;
        c.in_flight = in_flight;
        c.backlog = undone - in_flight;
        assert_eq!(
            c.produced,
            c.refused
                + c.cut_unacked
                + c.dropped
                + c.lost_unreplicated
                + c.lost_retention
                + c.delivered
                + c.dead_lettered
                + undone,
            "invariant: produced = refused + cut + lost + delivered + dead-lettered + backlog: {c:?}"
        );
    }

    fn node_of(&self, partition: u32, replica: u32) -> u32 {
        (partition + replica) % self.spec.brokers
    }

    fn replica_up(&self, partition: u32, replica: u32) -> bool {
        self.node_down[self.node_of(partition, replica) as usize] == 0
    }

    fn set_undone(&mut self, now: SimTime, delta: i64) {
        self.undone = self.undone.wrapping_add_signed(delta);
        self.backlog.set(now, self.undone);
    }

    fn add_lag(&mut self, up: u64, down: u64) {
        self.lag = self.lag + up - down;
        self.max_lag = self.max_lag.max(self.lag);
        self.window_max_lag = self.window_max_lag.max(self.lag);
    }

    fn on_produce(&mut self, now: SimTime, sched: &mut dyn Schedule<Event>) {
        if let Some(g) = &self.produce_gap {
            sched.after(g.sample(&mut self.produce_rng), Event::Produce);
        }
        self.produce(now, super::OWN, sched);
    }

    /// Tells request call `token` (if it is one) whether its message was acknowledged.
    fn answer(&mut self, token: u32, ok: bool) {
        super::answer(&mut self.answers, token, ok);
    }

    /// A message produced (the store's own, or a request's call `token`, answered when the
    /// producer's `acks` are met, or refused).
    fn produce(&mut self, now: SimTime, token: u32, sched: &mut dyn Schedule<Event>) {
        self.counts.produced += 1;
        let p = self.keys.below(self.spec.partitions);
        let acks = self.spec.acks;
        let part = &self.parts[p as usize];
        let refuse = part.leader == NONE
            || (acks == Acks::All && part.isr.count_ones() < self.spec.min_insync_replicas);
        if refuse {
            let ok = acks == Acks::None;
            if ok {
                self.counts.dropped += 1;
            } else {
                self.counts.refused += 1;
            }
            self.record_write(now, ok, SimDuration::ZERO);
            self.answer(token, ok);
            return;
        }
        let acked = acks == Acks::Leader;
        let part = &mut self.parts[p as usize];
        part.log.push_back(Msg {
            produced: now,
            receives: 0,
            in_flight: 0,
            acked,
            delivered: false,
            dead: false,
            token,
        });
        let offset = part.base + part.log.len() as u64 - 1;
        part.leo[part.leader as usize] = offset + 1;
        let epoch = part.epoch;
        if acked {
            self.counts.acked += 1;
        }
        if acks != Acks::All {
            self.record_write(now, true, SimDuration::ZERO);
            self.answer(token, true);
        }
        self.set_undone(now, 1);
        for r in 0..self.spec.replication_factor {
            if r == self.parts[p as usize].leader || !self.replica_up(p, r) {
                continue;
            }
            let lag = self.spec.follower_lag.sample(&mut self.lag_rng);
            let last = &mut self.parts[p as usize].last_arrival[r as usize];
            let at = SimTime(now.0 + lag.0).max(*last);
            *last = at;
            sched.at(
                at,
                Event::Fetch {
                    partition: p,
                    replica: r as u8,
                    epoch,
                    offset,
                },
            );
        }
        self.update_hw(p, now, sched);
    }

    fn record_write(&mut self, now: SimTime, ok: bool, latency: SimDuration) {
        let r = StoreRecord::Write {
            store: self.index,
            ok,
            latency,
        };
        self.observer.record(now, &r);
    }

    /// Moves the high watermark of `p` to the smallest log end in its ISR: acknowledges the
    /// `acks=all` messages it passed and lets the consumer read them.
    fn update_hw(&mut self, p: u32, now: SimTime, sched: &mut dyn Schedule<Event>) {
        let part = &self.parts[p as usize];
        if part.leader == NONE {
            return;
        }
        let mut hw = u64::MAX;
        for r in 0..self.spec.replication_factor {
            if part.isr & (1 << r) != 0 {
                hw = hw.min(part.leo[r as usize]);
            }
        }
        if hw <= part.hw {
            return;
        }
        let old = part.hw;
        if self.spec.acks == Acks::All {
            for o in old..hw {
                let part = &mut self.parts[p as usize];
                let m = &mut part.log[(o - part.base) as usize];
                m.acked = true;
                let (latency, token) = (now.since(m.produced), m.token);
                self.counts.acked += 1;
                self.record_write(now, true, latency);
                self.answer(token, true);
            }
        }
        self.parts[p as usize].hw = hw;
        self.add_lag(hw - old, 0);
        self.wake_owner(p, now, sched);
    }

    fn on_fetch(
        &mut self,
        p: u32,
        r: u32,
        epoch: u32,
        offset: u64,
        now: SimTime,
        sched: &mut dyn Schedule<Event>,
    ) {
        if self.parts[p as usize].epoch != epoch || !self.replica_up(p, r) {
            return;
        }
        let part = &mut self.parts[p as usize];
        let leo = &mut part.leo[r as usize];
        *leo = (*leo).max(offset + 1);
        // Kafka's rule: a follower is back in sync once it holds everything below the HW.
        if part.isr & (1 << r) == 0 && *leo >= part.hw && part.leader != NONE {
            part.isr |= 1 << r;
        }
        if part.isr & (1 << r) != 0 {
            self.update_hw(p, now, sched);
        }
    }

    fn on_catch_up(
        &mut self,
        p: u32,
        r: u32,
        epoch: u32,
        upto: u64,
        now: SimTime,
        sched: &mut dyn Schedule<Event>,
    ) {
        if self.parts[p as usize].epoch != epoch || !self.replica_up(p, r) {
            return;
        }
        let part = &mut self.parts[p as usize];
        let leo = &mut part.leo[r as usize];
        *leo = (*leo).max(upto);
        // The HW may have moved on since it started: then the copies that followed bring it
        // in sync (`on_fetch`).
        if *leo >= part.hw {
            part.isr |= 1 << r;
            self.update_hw(p, now, sched);
        }
    }

    /// A follower `r` of `p` starts copying from the current leader: it holds what the leader
    /// holds now a lag draw later.
    fn start_catch_up(&mut self, p: u32, r: u32, now: SimTime, sched: &mut dyn Schedule<Event>) {
        let lag = self.spec.follower_lag.sample(&mut self.lag_rng);
        let part = &mut self.parts[p as usize];
        let upto = part.base + part.log.len() as u64;
        let last = &mut part.last_arrival[r as usize];
        let at = SimTime(now.0 + lag.0).max(*last);
        *last = at;
        sched.at(
            at,
            Event::CatchUp {
                partition: p,
                replica: r as u8,
                epoch: part.epoch,
                upto,
            },
        );
    }

    fn node_crash(&mut self, node: u32, now: SimTime, sched: &mut dyn Schedule<Event>) {
        self.counts.node_crashes += 1;
        for p in 0..self.spec.partitions {
            for r in 0..self.spec.replication_factor {
                if self.node_of(p, r) != node {
                    continue;
                }
                let part = &mut self.parts[p as usize];
                if part.leader == r {
                    part.leader = NONE;
                    // Copies from the dead leader stop.
                    part.epoch = part.epoch.wrapping_add(1);
                    part.electing = true;
                    let d = self.spec.leader_failover.sample(&mut self.failover_rng);
                    sched.after(d, Event::Elect { partition: p });
                } else if part.isr & (1 << r) != 0 {
                    part.isr &= !(1 << r);
                    self.update_hw(p, now, sched);
                }
            }
        }
    }

    fn node_repair(&mut self, node: u32, now: SimTime, sched: &mut dyn Schedule<Event>) {
        for p in 0..self.spec.partitions {
            for r in 0..self.spec.replication_factor {
                if self.node_of(p, r) != node {
                    continue;
                }
                let part = &self.parts[p as usize];
                if part.leader != NONE {
                    self.start_catch_up(p, r, now, sched);
                } else if !part.electing {
                    self.elect(p, now, sched);
                }
            }
        }
    }

    /// Clean election: the first live ISR member leads; the messages beyond its log end are
    /// cut from the log.
    fn elect(&mut self, p: u32, now: SimTime, sched: &mut dyn Schedule<Event>) {
        self.parts[p as usize].electing = false;
        let rf = self.spec.replication_factor;
        let Some(r) =
            (0..rf).find(|&r| self.parts[p as usize].isr & (1 << r) != 0 && self.replica_up(p, r))
        else {
            return; // offline until an in-sync replica comes back
        };
        let acks = self.spec.acks;
        let part = &mut self.parts[p as usize];
        let new_leo = part.leo[r as usize];
        assert!(
            new_leo >= part.hw,
            "invariant: an in-sync replica holds everything below the high watermark"
        );
        let old = part.last_leader;
        if old != r {
            self.counts.elections += 1;
        }
        let mut cut = 0i64;
        while part.base + part.log.len() as u64 > new_leo {
            let m = part.log.pop_back().unwrap_or_else(|| unreachable!());
            cut -= 1;
            match (acks, m.acked) {
                (Acks::All, false) => {
                    // The producer's request times out or is told NOT_LEADER: it failed.
                    self.counts.cut_unacked += 1;
                    if m.token != super::OWN {
                        self.answers.push((m.token, super::Answer::Failed));
                    }
                }
                (_, true) => {
                    self.counts.lost_unreplicated += 1;
                    self.counts.lost_acked += 1;
                }
                (_, false) => self.counts.lost_unreplicated += 1,
            }
        }
        for x in 0..rf as usize {
            part.leo[x] = part.leo[x].min(new_leo);
        }
        if old != r {
            part.isr &= !(1 << old);
        }
        part.leader = r;
        part.last_leader = r;
        part.epoch = part.epoch.wrapping_add(1);
        if cut != 0 {
            self.set_undone(now, cut);
        }
        for x in 0..rf {
            if x != r && self.replica_up(p, x) {
                self.start_catch_up(p, x, now, sched);
            }
        }
        self.update_hw(p, now, sched);
        self.wake_owner(p, now, sched);
    }
}

impl<O: Observer<StoreRecord>> super::StoreModel for Broker<O> {
    type Event = Event;

    fn name(&self) -> &str {
        &self.spec.name
    }

    fn start(&mut self, sched: &mut dyn Schedule<Event>, horizon: SimTime) {
        self.start_at(sched, horizon);
    }

    fn call(
        &mut self,
        now: SimTime,
        token: u32,
        _op: super::StoreOp,
        sched: &mut dyn Schedule<Event>,
    ) {
        self.produce(now, token, sched);
    }

    fn answers(&mut self) -> &mut super::Answers {
        &mut self.answers
    }

    fn notice(&mut self, now: SimTime, notice: super::Notice, sched: &mut dyn Schedule<Event>) {
        self.on_notice(notice, now, sched);
    }

    fn finish(&mut self, run: RunStats) -> super::StoreSummary {
        super::StoreSummary::Broker(self.summary(run))
    }

    fn warmup_ended(&mut self, now: SimTime) {
        // Window rows difference the running counts, so they run on; the summary subtracts
        // these. The largest lag restarts from the lag now.
        let paused = self.paused_ns
            + if self.paused {
                now.since(self.paused_since).0
            } else {
                0
            };
        self.warm = Some((self.counts, self.backlog.area_until(now).0, paused, now));
        self.max_lag = self.lag;
    }

    fn handle(&mut self, now: SimTime, event: Event, sched: &mut dyn Schedule<Event>) {
        match event {
            Event::Produce => self.on_produce(now, sched),
            Event::Fetch {
                partition,
                replica,
                epoch,
                offset,
            } => self.on_fetch(partition, u32::from(replica), epoch, offset, now, sched),
            Event::CatchUp {
                partition,
                replica,
                epoch,
                upto,
            } => self.on_catch_up(partition, u32::from(replica), epoch, upto, now, sched),
            Event::Elect { partition } => {
                if self.parts[partition as usize].electing {
                    self.elect(partition, now, sched);
                }
            }
            Event::NodeCrash { node } => {
                if super::hold(&mut self.node_down[node as usize]) {
                    self.node_crash(node, now, sched);
                }
                let rng = &mut self.node_rng[node as usize];
                if let Some(d) = super::next_transition(&self.spec.failures, rng, false) {
                    sched.after(d, Event::NodeRepair { node });
                }
            }
            Event::NodeRepair { node } => {
                if super::release(&mut self.node_down[node as usize]) {
                    self.node_repair(node, now, sched);
                }
                let rng = &mut self.node_rng[node as usize];
                if let Some(d) = super::next_transition(&self.spec.failures, rng, true) {
                    sched.after(d, Event::NodeCrash { node });
                }
            }
            Event::ConsumerCrash { consumer } => {
                if super::hold(&mut self.consumers[consumer as usize].down) {
                    self.consumer_crash(consumer, now, sched);
                }
                let rng = &mut self.consumer_rng[consumer as usize];
                let f = &self.spec.consumers.failures;
                if let Some(d) = super::next_transition(f, rng, false) {
                    sched.after(d, Event::ConsumerRepair { consumer });
                }
            }
            Event::ConsumerRepair { consumer } => {
                if super::release(&mut self.consumers[consumer as usize].down) {
                    self.consumer_back(consumer, now, sched);
                }
                let rng = &mut self.consumer_rng[consumer as usize];
                let f = &self.spec.consumers.failures;
                if let Some(d) = super::next_transition(f, rng, true) {
                    sched.after(d, Event::ConsumerCrash { consumer });
                }
            }
            Event::FaultStart { fault } => self.fault_start(fault, now, sched),
            Event::FaultEnd { fault, target } => match self.spec.faults[fault as usize] {
                BrokerFault::LeaderCrash { .. } => {
                    if super::release(&mut self.node_down[target as usize]) {
                        self.node_repair(target, now, sched);
                    }
                }
                BrokerFault::ConsumerCrash { .. } => {
                    if super::release(&mut self.consumers[target as usize].down) {
                        self.consumer_back(target, now, sched);
                    }
                }
            },
            Event::Detect {
                consumer,
                incarnation,
            } => {
                let k = self.consumers[consumer as usize];
                if k.down > 0 && k.member && k.incarnation == incarnation {
                    self.rebalance(now, sched);
                }
            }
            Event::RebalanceEnd { generation } => {
                if generation == self.generation && self.paused {
                    self.paused = false;
                    self.paused_ns += now.since(self.paused_since).0;
                    self.assign();
                    for c in 0..self.consumers.len() as u32 {
                        self.pull(c, now, sched);
                    }
                }
            }
            Event::Done {
                consumer,
                incarnation,
            } => {
                if self.consumers[consumer as usize].incarnation == incarnation
                    && self.consumers[consumer as usize].down == 0
                {
                    self.on_done(consumer, None, now, sched);
                }
            }
            Event::Visible { partition } => self.wake_owner(partition, now, sched),
            Event::Commit => {
                sched.after(self.spec.consumers.commit_interval, Event::Commit);
                self.commit(now);
            }
            Event::Sample => {
                sched.after(self.spec.window, Event::Sample);
                self.retention(now);
                self.sample(now);
            }
        }
    }
}

mod consumers;
#[cfg(test)]
mod tests;
