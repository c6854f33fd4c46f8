//! Gray failures, as a child module of `system`: a replica that stays up (health checks pass)
//! but serves `factor` times slower and answers with an extra error probability. One
//! mechanism for both kinds: a scheduled `Slow` fault opens and closes a slowdown at fixed
//! times, and a pool's `gray_failures` opens and closes one at random, per replica, from its own
//! stream (`pool/NAME/replica/I/gray`).
//!
//! Open slowdowns of a replica compose: their factors multiply, and so do their chances to
//! answer without an error (Π (1 − error_rate)). A random episode belongs to the host (a bad
//! disk, a noisy neighbour), not to the process: a crash does not end it, and a replica
//! repaired during one comes back gray. Each replica alternates healthy for `time_between`,
//! gray for `duration`, from time zero (healthy) to the horizon, so the long-run fraction of
//! its time spent gray is E[duration] / (E[time_between] + E[duration]), crashes or not.

use super::*;
use crate::record::Record;
use crate::spec::{GrayFailureSpec, Spec};
use sim_core::{Observer, Scheduler, SimTime, Stream, StreamKey};

/// The random gray-failure process of every replica whose pool has `gray_failures`.
pub(super) struct Gray {
    /// Per pool, its process, if any.
    spec: Vec<Option<GrayFailureSpec>>,
    /// Per replica, its stream (`None`: its pool has no random gray failures).
    rng: Vec<Option<Stream>>,
}

impl Gray {
    pub(super) fn new(spec: &Spec, key: &StreamKey) -> Gray {
        let mut rng = Vec::new();
        for p in &spec.pools {
            rng.extend((0..p.replicas).map(|i| {
                p.gray_failures
                    .as_ref()
                    .map(|_| key.stream(&format!("pool/{}/replica/{i}/gray", p.name)))
            }));
        }
        Gray {
            spec: spec.pools.iter().map(|p| p.gray_failures.clone()).collect(),
            rng,
        }
    }

    /// How many replicas have a random gray-failure process.
    pub(super) fn replicas(&self) -> u32 {
        self.rng.iter().filter(|r| r.is_some()).count() as u32
    }
}

impl<O: Observer<Record>> System<O> {
    /// Opens a slowdown of replica `r` (a scheduled `Slow` fault or a random episode): service
    /// times that start there from now on are `factor` times longer, and its answers fail with
    /// `error_rate` more (on top of the other open slowdowns and its pool's error rate).
    pub(super) fn slow_begin(&mut self, now: SimTime, r: ReplicaId, factor: f64, error_rate: f64) {
        let s = &mut self.faults.slow[r.ix()];
        *s = (s.0 * factor, s.1 + 1);
        let factor = s.0;
        let keep = &mut self.faults.fault_keep[r.ix()];
        *keep *= 1.0 - error_rate;
        let error_rate = 1.0 - *keep;
        let rec = Record::ReplicaSlow {
            replica: r.0,
            factor,
            error_rate,
        };
        self.observer.record(now, &rec);
    }

    /// Closes a slowdown opened by [`Self::slow_begin`] with the same `factor` and `error_rate`.
    pub(super) fn slow_end(&mut self, now: SimTime, r: ReplicaId, factor: f64, error_rate: f64) {
        let s = &mut self.faults.slow[r.ix()];
        let open = dec(s.1, now, "slowdowns of a replica");
        let keep = &mut self.faults.fault_keep[r.ix()];
        // Back to exactly 1 when none is open: no rounding drift.
        (*s, *keep) = if open == 0 {
            ((1.0, 0), 1.0)
        } else {
            ((s.0 / factor, open), *keep / (1.0 - error_rate))
        };
        let rec = Record::ReplicaSlow {
            replica: r.0,
            factor: s.0,
            error_rate: 1.0 - *keep,
        };
        self.observer.record(now, &rec);
    }

    /// Schedules the first episode of every replica with random gray failures.
    pub(super) fn start_gray(&mut self, sched: &mut Scheduler<Event>) {
        for r in 0..self.service.replicas.len() as u32 {
            self.gray_after(
                ReplicaId(r),
                Event::Fault(FaultEvent::GrayStart(ReplicaId(r))),
                sched,
            );
        }
    }

    /// Replica `r` turns gray (`GrayStart`) or healthy again (`GrayEnd`); the next turn is
    /// drawn from its stream.
    pub(super) fn on_gray(
        &mut self,
        now: SimTime,
        r: ReplicaId,
        begins: bool,
        sched: &mut Scheduler<Event>,
    ) {
        let pool = self.service.replicas[r].pool as usize;
        let Some(g) = &self.faults.gray.spec[pool] else {
            unreachable!("a gray-failure event of replica {r}, whose pool has none")
        };
        let (factor, error_rate) = (g.factor, g.error_rate);
        // The episode first, then the state it puts in force: observers tell random episodes
        // from scheduled slowdowns by it.
        let rec = Record::GrayEpisode {
            replica: r.0,
            begins,
        };
        self.observer.record(now, &rec);
        if begins {
            self.slow_begin(now, r, factor, error_rate);
            self.gray_after(r, Event::Fault(FaultEvent::GrayEnd(r)), sched);
        } else {
            self.slow_end(now, r, factor, error_rate);
            self.gray_after(r, Event::Fault(FaultEvent::GrayStart(r)), sched);
        }
    }

    /// Schedules replica `r`'s next turn: gray after a healthy spell, healthy after an episode.
    fn gray_after(&mut self, r: ReplicaId, e: Event, sched: &mut Scheduler<Event>) {
        let pool = self.service.replicas[r].pool as usize;
        let (Some(g), Some(rng)) = (
            &self.faults.gray.spec[pool],
            self.faults.gray.rng[r.ix()].as_mut(),
        ) else {
            return;
        };
        let d = match e {
            Event::Fault(FaultEvent::GrayStart(_)) => g.time_between.sample(rng),
            _ => g.duration.sample(rng),
        };
        sched.after(d, e);
    }
}
