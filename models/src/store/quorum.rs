//! A Dynamo-style quorum store: N replicas, each crashing and being repaired independently. A
//! write succeeds when at least W replicas are up, a read when at least R are; it completes at
//! the W-th (R-th) fastest answer among the replicas that are up, each answering after its own
//! `response` draw. Time with at least W (R) replicas up is integrated exactly, so the run also
//! gives the time availability that the binomial closed form [`k_of_n`] predicts.

use super::StoreRecord;
use crate::spec::FailureSpec;
use crate::stats::TimeWeighted;
use crate::store_spec::QuorumSpec;
use sim_core::{Dist, Observer, RunStats, Schedule, SimDuration, SimTime, Stream, StreamKey};

/// P(at least `k` of `n` independent components are up), each up with probability `a`.
pub fn k_of_n(n: u32, k: u32, a: f64) -> f64 {
    let mut total = 0.0;
    for j in k..=n {
        // C(n, j) a^j (1 − a)^(n − j), by products (no transcendental functions).
        let mut c = 1.0;
        for i in 0..j {
            c = c * f64::from(n - i) / f64::from(i + 1);
        }
        let mut p = c;
        for _ in 0..j {
            p *= a;
        }
        for _ in j..n {
            p *= 1.0 - a;
        }
        total += p;
    }
    total
}

/// What can happen in a quorum store.
#[derive(Clone, Copy, Debug)]
pub enum Event {
    /// A client issues a write.
    Write,
    /// A client issues a read.
    Read,
    /// A replica crashes.
    Crash {
        /// The replica.
        node: u32,
    },
    /// A replica is repaired.
    Repair {
        /// The replica.
        node: u32,
    },
    /// A request's operation completes: its R-th (W-th) answer arrived.
    Reply {
        /// The call.
        token: u32,
    },
    /// A replica with its own workers finished serving its part of an operation.
    Served {
        /// The replica.
        node: u32,
        /// The operation.
        op: u32,
        /// The replica's incarnation when it started (a crash since voids it).
        incarnation: u32,
    },
}

/// Operations of one kind.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OpCounts {
    /// Issued.
    pub offered: u64,
    /// Met their quorum.
    pub succeeded: u64,
    /// Found fewer replicas up than their quorum (or lost the answers they needed in crashes).
    pub failed: u64,
    /// Waiting for answers at the horizon (replicas with workers only).
    pub in_progress: u64,
}

/// An operation waiting for its quorum at replicas with queues.
#[derive(Clone, Copy, Debug)]
struct Op {
    token: u32,
    write: bool,
    issued: SimTime,
    /// Answers still needed.
    needed: u32,
    /// Replicas still working on it (queued or in service).
    outstanding: u32,
    done: bool,
}

/// A replica's own servers and queue (`workers:` set).
#[derive(Clone, Debug, Default)]
struct Queue {
    busy: u32,
    waiting: std::collections::VecDeque<u32>,
    /// Bumped at each crash: work started before is lost.
    incarnation: u32,
}

/// A quorum store's end-of-run figures.
#[derive(Clone, Debug)]
pub struct QuorumSummary {
    /// The store's name.
    pub name: String,
    /// N.
    pub replicas: u32,
    /// R.
    pub read_quorum: u32,
    /// W.
    pub write_quorum: u32,
    /// Writes.
    pub writes: OpCounts,
    /// Reads.
    pub reads: OpCounts,
    /// Length of the run after warm-up, ns (the figures' window).
    pub horizon_ns: u64,
    /// ∫ [at least W replicas up] dt, ns.
    pub write_up_ns: u128,
    /// ∫ [at least R replicas up] dt, ns.
    pub read_up_ns: u128,
    /// Per replica: time up, ns.
    pub replica_up_ns: Vec<u128>,
    /// Per replica: crashes.
    pub replica_crashes: Vec<u64>,
    /// One replica's availability MTBF / (MTBF + MTTR) from the failure distributions' means
    /// (1 without failures).
    pub replica_availability: f64,
    /// The kernel's account of the run.
    pub run: RunStats,
}

/// The running store, emitting [`StoreRecord`]s to `O`.
pub struct Quorum<O> {
    index: u32,
    name: String,
    read_quorum: u32,
    write_quorum: u32,
    writes_gap: Option<Dist>,
    reads_gap: Option<Dist>,
    response: Dist,
    failures: Option<FailureSpec>,
    up: Vec<bool>,
    n_up: u32,
    fail_rng: Vec<Stream>,
    write_rng: Stream,
    read_rng: Stream,
    response_rng: Stream,
    write_ok: TimeWeighted,
    read_ok: TimeWeighted,
    replica_up: Vec<TimeWeighted>,
    crashes: Vec<u64>,
    writes: OpCounts,
    reads: OpCounts,
    /// Reused for the replicas' answers to one operation.
    answers: Vec<u64>,
    /// Requests' calls answered, for the host.
    replies: super::Answers,
    /// Servers per replica (`None`: each replica answers every operation independently, with
    /// no queue).
    workers: Option<u32>,
    queues: Vec<Queue>,
    ops: Vec<Op>,
    free_ops: Vec<u32>,
    observer: O,
}

impl<O: Observer<StoreRecord>> Quorum<O> {
    /// Builds store `index` of `spec` with the random streams of `key`.
    pub fn new(spec: &QuorumSpec, index: u32, key: StreamKey, observer: O) -> Self {
        let n = spec.replicas;
        assert!(
            n >= 1 && (1..=n).contains(&spec.read_quorum) && (1..=n).contains(&spec.write_quorum),
            "invariant: 1 ≤ R, W ≤ N (validated)"
        );
        let s = |what: &str| key.stream(&format!("store/{}/{what}", spec.name));
        let mut write_ok = TimeWeighted::default();
        write_ok.set(SimTime::ZERO, 1);
        let mut read_ok = TimeWeighted::default();
        read_ok.set(SimTime::ZERO, 1);
        let replica_up = (0..n)
            .map(|_| {
                let mut t = TimeWeighted::default();
                t.set(SimTime::ZERO, 1);
                t
            })
            .collect();
        Quorum {
            index,
            name: spec.name.clone(),
            read_quorum: spec.read_quorum,
            write_quorum: spec.write_quorum,
            writes_gap: spec.writes.as_ref().map(|w| w.interarrival()),
            reads_gap: spec.reads.as_ref().map(|r| r.interarrival()),
            response: spec.response.clone(),
            failures: spec.failures.clone(),
            up: vec![true; n as usize],
            n_up: n,
            fail_rng: (0..n).map(|i| s(&format!("node/{i}/failures"))).collect(),
            write_rng: s("writes"),
            read_rng: s("reads"),
            response_rng: s("response"),
            write_ok,
            read_ok,
            replica_up,
            crashes: vec![0; n as usize],
            writes: OpCounts::default(),
            reads: OpCounts::default(),
            answers: Vec::with_capacity(n as usize),
            replies: Vec::new(),
            workers: spec.workers,
            queues: vec![Queue::default(); n as usize],
            ops: Vec::new(),
            free_ops: Vec::new(),
            observer,
        }
    }

    /// Runs from time zero to `horizon` (or `max_events`) and returns the summary and the
    /// observer.
    /// Runs alone from time zero to `horizon` (or `max_events`): the figures and the observer.
    pub fn run(mut self, horizon: SimTime, max_events: u64) -> (QuorumSummary, O) {
        let run = super::run_alone(&mut self, horizon, max_events);
        (self.summary(run), self.observer)
    }

    /// Schedules the first events.
    fn start_at(&mut self, sched: &mut dyn Schedule<Event>, horizon: SimTime) {
        let _ = horizon;
        if let Some(g) = &self.writes_gap {
            sched.after(g.sample(&mut self.write_rng), Event::Write);
        }
        if let Some(g) = &self.reads_gap {
            sched.after(g.sample(&mut self.read_rng), Event::Read);
        }
        if let Some(f) = &self.failures {
            for (i, rng) in self.fail_rng.iter_mut().enumerate() {
                sched.after(
                    f.time_to_failure.sample(rng),
                    Event::Crash { node: i as u32 },
                );
            }
        }
    }

    /// The end-of-run figures, the books checked.
    fn summary(&mut self, run: RunStats) -> QuorumSummary {
        let end = run.end;
        for o in self.ops.iter().filter(|o| !o.done) {
            if o.write {
                self.writes.in_progress += 1;
            } else {
                self.reads.in_progress += 1;
            }
        }
        for ops in [&self.writes, &self.reads] {
            assert_eq!(
                ops.offered,
                ops.succeeded + ops.failed + ops.in_progress,
                "invariant: operations offered = succeeded + failed + in progress"
            );
        }
        assert_eq!(
            self.n_up as usize,
            self.up.iter().filter(|u| **u).count(),
            "invariant: the up count matches the replicas"
        );
        let availability = match &self.failures {
            Some(f) => {
                let (u, d) = (f.time_to_failure.mean_ns(), f.time_to_repair.mean_ns());
                u / (u + d)
            }
            None => 1.0,
        };
        QuorumSummary {
            name: self.name.clone(),
            replicas: self.up.len() as u32,
            read_quorum: self.read_quorum,
            write_quorum: self.write_quorum,
            writes: self.writes,
            reads: self.reads,
            // From the end of warm-up (zero without one).
            horizon_ns: self.write_ok.area_until(end).1,
            write_up_ns: self.write_ok.area_until(end).0,
            read_up_ns: self.read_ok.area_until(end).0,
            replica_up_ns: self
                .replica_up
                .iter()
                .map(|t| t.area_until(end).0)
                .collect(),
            replica_crashes: self.crashes.clone(),
            replica_availability: availability,
            run,
        }
    }

    /// An operation that needs `quorum` answers: its latency, or `None` when too few are up.
    fn operate(&mut self, quorum: u32) -> Option<SimDuration> {
        if self.n_up < quorum {
            return None;
        }
        self.answers.clear();
        for _ in 0..self.n_up {
            self.answers
                .push(self.response.sample(&mut self.response_rng).0);
        }
        let k = quorum as usize - 1;
        let (_, kth, _) = self.answers.select_nth_unstable(k);
        Some(SimDuration(*kth))
    }

    /// One read or write (the store's own, or a request's call `token`): counted and
    /// recorded when issued; a call is answered at its R-th (W-th) answer, or at once when
    /// too few replicas are up.
    fn op(
        &mut self,
        now: SimTime,
        token: u32,
        op: super::StoreOp,
        sched: &mut dyn Schedule<Event>,
    ) {
        let write = op == super::StoreOp::Write;
        if self.workers.is_some() {
            self.queued_op(now, token, write, sched);
            return;
        }
        let r = self.operate(self.quorum(write));
        let counts = self.counts(write);
        counts.offered += 1;
        match r {
            Some(_) => counts.succeeded += 1,
            None => counts.failed += 1,
        }
        // Recorded when issued (its latency is known); a call is answered when it completes.
        self.record_op(now, write, r);
        if token != super::OWN {
            match r {
                Some(d) => sched.after(d, Event::Reply { token }),
                None => self.replies.push((token, super::Answer::Failed)),
            }
        }
    }

    /// W for a write, R for a read.
    fn quorum(&self, write: bool) -> u32 {
        if write {
            self.write_quorum
        } else {
            self.read_quorum
        }
    }

    /// The counts of writes or of reads.
    fn counts(&mut self, write: bool) -> &mut OpCounts {
        if write {
            &mut self.writes
        } else {
            &mut self.reads
        }
    }

    /// An operation at replicas with their own workers: sent to every replica up, it completes
    /// at the R-th (W-th) answer, each replica answering after its queue and its service; it
    /// fails at once when too few are up, or later when crashes leave too few working on it.
    fn queued_op(
        &mut self,
        now: SimTime,
        token: u32,
        write: bool,
        sched: &mut dyn Schedule<Event>,
    ) {
        let quorum = self.quorum(write);
        self.counts(write).offered += 1;
        if self.n_up < quorum {
            self.counts(write).failed += 1;
            self.end_op(now, token, write, None);
            return;
        }
        let op = Op {
            token,
            write,
            issued: now,
            needed: quorum,
            outstanding: self.n_up,
            done: false,
        };
        let id = match self.free_ops.pop() {
            Some(i) => {
                self.ops[i as usize] = op;
                i
            }
            None => {
                self.ops.push(op);
                self.ops.len() as u32 - 1
            }
        };
        for node in 0..self.up.len() as u32 {
            if self.up[node as usize] {
                self.queues[node as usize].waiting.push_back(id);
                self.serve_next(node, sched);
            }
        }
    }

    /// Replica `node` starts the next waiting operation if a worker is free.
    fn serve_next(&mut self, node: u32, sched: &mut dyn Schedule<Event>) {
        let workers = self.workers.unwrap_or(u32::MAX);
        let q = &mut self.queues[node as usize];
        if q.busy >= workers {
            return;
        }
        let Some(op) = q.waiting.pop_front() else {
            return;
        };
        q.busy += 1;
        let incarnation = q.incarnation;
        let d = self.response.sample(&mut self.response_rng);
        sched.after(
            d,
            Event::Served {
                node,
                op,
                incarnation,
            },
        );
    }

    /// One replica's answer to operation `id` (`ok`: served; else lost in a crash).
    fn answered(&mut self, now: SimTime, id: u32, ok: bool) {
        let o = &mut self.ops[id as usize];
        o.outstanding -= 1;
        if !o.done {
            if ok {
                o.needed -= 1;
            }
            let o = *o;
            if o.needed == 0 || o.outstanding < o.needed {
                self.ops[id as usize].done = true;
                let counts = self.counts(o.write);
                if o.needed == 0 {
                    counts.succeeded += 1;
                    self.end_op(now, o.token, o.write, Some(now.since(o.issued)));
                } else {
                    counts.failed += 1;
                    self.end_op(now, o.token, o.write, None);
                }
            }
        }
        if self.ops[id as usize].outstanding == 0 {
            self.free_ops.push(id);
        }
    }

    /// Records an operation's end (`latency`: met its quorum) and answers its caller.
    fn end_op(&mut self, now: SimTime, token: u32, write: bool, latency: Option<SimDuration>) {
        self.record_op(now, write, latency);
        super::answer(&mut self.replies, token, latency.is_some());
    }

    /// An operation's record: met its quorum after `latency`, or failed (`None`).
    fn record_op(&mut self, now: SimTime, write: bool, latency: Option<SimDuration>) {
        let (ok, latency) = (latency.is_some(), latency.unwrap_or(SimDuration::ZERO));
        let rec = if write {
            StoreRecord::Write {
                store: self.index,
                ok,
                latency,
            }
        } else {
            StoreRecord::Read {
                store: self.index,
                ok,
                latency,
            }
        };
        self.observer.record(now, &rec);
    }

    /// A crash of `node` loses the work queued or in service there.
    fn lose_queue(&mut self, now: SimTime, node: u32) {
        let q = &mut self.queues[node as usize];
        q.incarnation = q.incarnation.wrapping_add(1);
        let waiting = std::mem::take(&mut q.waiting);
        for &id in &waiting {
            self.answered(now, id, false);
        }
        // In service: their Served events find a stale incarnation and count as lost.
    }

    fn set_up(&mut self, now: SimTime, node: u32, up: bool) {
        assert_ne!(
            self.up[node as usize], up,
            "invariant: a replica crashes only when up and recovers only when down"
        );
        self.up[node as usize] = up;
        if up {
            self.n_up += 1;
        } else {
            self.n_up -= 1;
            self.crashes[node as usize] += 1;
        }
        self.replica_up[node as usize].set(now, u64::from(up));
        self.write_ok
            .set(now, u64::from(self.n_up >= self.write_quorum));
        self.read_ok
            .set(now, u64::from(self.n_up >= self.read_quorum));
    }
}

impl<O: Observer<StoreRecord>> super::StoreModel for Quorum<O> {
    type Event = Event;

    fn name(&self) -> &str {
        &self.name
    }

    fn start(&mut self, sched: &mut dyn Schedule<Event>, horizon: SimTime) {
        self.start_at(sched, horizon);
    }

    fn finish(&mut self, run: RunStats) -> super::StoreSummary {
        super::StoreSummary::Quorum(self.summary(run))
    }

    fn call(
        &mut self,
        now: SimTime,
        token: u32,
        op: super::StoreOp,
        sched: &mut dyn Schedule<Event>,
    ) {
        self.op(now, token, op, sched);
    }

    fn answers(&mut self) -> &mut super::Answers {
        &mut self.replies
    }

    fn warmup_ended(&mut self, now: SimTime) {
        // Operations end as they start: counts restart; time integrals restart at `now`.
        (self.writes, self.reads) = (OpCounts::default(), OpCounts::default());
        // Queued operations still waiting end after warm-up: they count as offered then.
        for o in self.ops.iter().filter(|o| !o.done && o.outstanding > 0) {
            if o.write {
                self.writes.offered += 1;
            } else {
                self.reads.offered += 1;
            }
        }
        self.crashes.fill(0);
        for t in [&mut self.write_ok, &mut self.read_ok]
            .into_iter()
            .chain(&mut self.replica_up)
        {
            t.restart(now);
        }
    }

    fn handle(&mut self, now: SimTime, event: Event, sched: &mut dyn Schedule<Event>) {
        match event {
            Event::Write => {
                if let Some(g) = &self.writes_gap {
                    sched.after(g.sample(&mut self.write_rng), Event::Write);
                }
                self.op(now, super::OWN, super::StoreOp::Write, sched);
            }
            Event::Read => {
                if let Some(g) = &self.reads_gap {
                    sched.after(g.sample(&mut self.read_rng), Event::Read);
                }
                self.op(now, super::OWN, super::StoreOp::Read, sched);
            }
            Event::Reply { token } => self.replies.push((token, super::Answer::Ok)),
            Event::Served {
                node,
                op,
                incarnation,
            } => {
                let q = &mut self.queues[node as usize];
                let alive = q.incarnation == incarnation;
                if alive {
                    q.busy -= 1;
                }
                self.answered(now, op, alive);
                if alive {
                    self.serve_next(node, sched);
                }
            }
            Event::Crash { node } | Event::Repair { node } => {
                let repaired = matches!(event, Event::Repair { .. });
                self.set_up(now, node, repaired);
                if !repaired && self.workers.is_some() {
                    self.queues[node as usize].busy = 0;
                    self.lose_queue(now, node);
                }
                let rng = &mut self.fail_rng[node as usize];
                if let Some(d) = super::next_transition(&self.failures, rng, repaired) {
                    let next = if repaired {
                        Event::Crash { node }
                    } else {
                        Event::Repair { node }
                    };
                    sched.after(d, next);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Replicas with queues that crash often: crashes lose queued and in-service work, some
    /// operations fail for it, and the books (offered = succeeded + failed + in progress,
    /// asserted by `summary`) still balance.
    #[test]
    fn queued_replicas_that_crash_keep_the_books() {
        use crate::spec::{Arrivals, FailureSpec};
        let ms = |x: u64| SimDuration::from_millis(x);
        let spec = QuorumSpec {
            name: "kv".into(),
            replicas: 3,
            read_quorum: 2,
            write_quorum: 2,
            writes: Some(Arrivals::Poisson { rate_per_s: 80.0 }),
            reads: Some(Arrivals::Poisson { rate_per_s: 80.0 }),
            response: Dist::exponential(ms(5)).expect("valid"),
            workers: Some(1),
            failures: Some(FailureSpec {
                time_to_failure: Dist::exponential(ms(2_000)).expect("valid"),
                time_to_repair: Dist::exponential(ms(500)).expect("valid"),
            }),
        };
        let q = Quorum::new(&spec, 0, StreamKey::new(3, 0), sim_core::NullObserver);
        let (s, _) = q.run(SimTime(SimDuration::from_secs(600).0), u64::MAX);
        for ops in [s.writes, s.reads] {
            assert!(ops.succeeded > 10_000 && ops.failed > 100, "{ops:?}");
        }
    }

    #[test]
    fn k_of_n_matches_hand_values() {
        // 2 of 3 at a = 0.9: 3·0.81·0.1 + 0.729 = 0.972.
        assert!((k_of_n(3, 2, 0.9) - 0.972).abs() < 1e-12);
        assert!((k_of_n(1, 1, 0.25) - 0.25).abs() < 1e-12);
        assert!((k_of_n(5, 0, 0.3) - 1.0).abs() < 1e-12);
        // All of 3: a³.
        assert!((k_of_n(3, 3, 0.5) - 0.125).abs() < 1e-12);
    }
}
