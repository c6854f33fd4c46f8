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
}

/// Operations of one kind.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OpCounts {
    /// Issued.
    pub offered: u64,
    /// Met their quorum.
    pub succeeded: u64,
    /// Found fewer replicas up than their quorum.
    pub failed: u64,
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
    writes_gap: Dist,
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
    /// Reused for the answers of one operation.
    answers: Vec<u64>,
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
            writes_gap: spec.writes.interarrival(),
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
        sched.after(self.writes_gap.sample(&mut self.write_rng), Event::Write);
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
        for ops in [&self.writes, &self.reads] {
            assert_eq!(
                ops.offered,
                ops.succeeded + ops.failed,
                "invariant: operations offered = succeeded + failed"
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

    fn warmup_ended(&mut self, now: SimTime) {
        // Operations end as they start: counts restart; time integrals restart at `now`.
        (self.writes, self.reads) = (OpCounts::default(), OpCounts::default());
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
                sched.after(self.writes_gap.sample(&mut self.write_rng), Event::Write);
                self.writes.offered += 1;
                let r = self.operate(self.write_quorum);
                match r {
                    Some(_) => self.writes.succeeded += 1,
                    None => self.writes.failed += 1,
                }
                let rec = StoreRecord::Write {
                    store: self.index,
                    ok: r.is_some(),
                    latency: r.unwrap_or(SimDuration::ZERO),
                };
                self.observer.record(now, &rec);
            }
            Event::Read => {
                if let Some(g) = &self.reads_gap {
                    sched.after(g.sample(&mut self.read_rng), Event::Read);
                }
                self.reads.offered += 1;
                let r = self.operate(self.read_quorum);
                match r {
                    Some(_) => self.reads.succeeded += 1,
                    None => self.reads.failed += 1,
                }
                let rec = StoreRecord::Read {
                    store: self.index,
                    ok: r.is_some(),
                    latency: r.unwrap_or(SimDuration::ZERO),
                };
                self.observer.record(now, &rec);
            }
            Event::Crash { node } | Event::Repair { node } => {
                let repaired = matches!(event, Event::Repair { .. });
                self.set_up(now, node, repaired);
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
