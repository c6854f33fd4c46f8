//! Sampling: the time series' per-window replica state, and the end of warm-up (statistics
//! restart, windows carry their area across it).

use super::*;

/// The time-series window and each replica's areas at the last sample.
pub(super) struct Sampling {
    /// Time-series window (zero = no sampling).
    pub(super) window: SimDuration,
    /// When the current time-series window began.
    pub(super) window_start: SimTime,
    /// Per replica: (busy, queued, up) areas at the last sample, in the frame of the replica's
    /// statistics (which restart at the end of warm-up), and the area carried over a restart.
    pub(super) sample_base: Vec<[u128; 3]>,
    pub(super) sample_carry: Vec<[u128; 3]>,
    /// Each replica's load over the window (as `f64` bits), for the spread of a large fleet
    /// (reused).
    pub(super) fleet_loads: Vec<u64>,
}

impl<O: Observer<Record>> System<O> {
    /// The end of the window that starts at `t`, clipped to the horizon.
    pub(super) fn next_sample(&self, t: SimTime) -> SimTime {
        SimTime(
            t.0.saturating_add(self.sampling.window.0)
                .min(self.horizon.0),
        )
    }

    pub(super) fn areas(r: &Replica, now: SimTime) -> [u128; 3] {
        [
            r.busy.area_until(now).0,
            r.queued.area_until(now).0,
            r.up_level.area_until(now).0,
        ]
    }

    /// Reports each replica's mean state over the window ending now. Reads state only, so the
    /// trajectory is the same with or without sampling.
    pub(super) fn on_sample(&mut self, now: SimTime, sched: &mut Scheduler<Event>) {
        let len = (now.0 - self.sampling.window_start.0).max(1) as f64;
        // A fleet beyond REPLICA_SAMPLES: the first ones one by one, one record for the rest.
        let fleet = self.service.replicas.len() > crate::record::REPLICA_SAMPLES;
        let mut loads = std::mem::take(&mut self.sampling.fleet_loads);
        let mut up_rest = 0.0;
        for (i, r) in self.service.replicas.iter().enumerate() {
            let a = Self::areas(r, now);
            let (base, carry) = (
                &mut self.sampling.sample_base[i],
                &mut self.sampling.sample_carry[i],
            );
            let mean = |k: usize| crate::stats::u128_to_f64(carry[k] + a[k] - base[k]) / len;
            let (in_service, queued, up) = (mean(0), mean(1), mean(2));
            *base = a;
            *carry = [0; 3];
            if fleet {
                loads.push((in_service + queued).to_bits());
            }
            if i < crate::record::REPLICA_SAMPLES {
                let rec = Record::ReplicaSample {
                    replica: i as u32,
                    in_service,
                    queued,
                    up,
                };
                self.observer.record(now, &rec);
            } else {
                up_rest += up;
            }
        }
        if fleet {
            let load = crate::stats::spread_of_bits(&mut loads);
            loads.clear();
            let rec = Record::FleetSample { up_rest, load };
            self.observer.record(now, &rec);
        }
        self.sampling.fleet_loads = loads;
        self.sample_scaling(now, len);
        self.sampling.window_start = now;
        if now < self.horizon {
            sched.at(self.next_sample(now), Event::Sample);
        }
    }

    pub(super) fn on_warmup_end(&mut self, now: SimTime) {
        self.scaling_restart(now);
        for (i, r) in self.service.replicas.iter_mut().enumerate() {
            // Carry the window's area so far across the restart of the replica's statistics.
            let a = Self::areas(r, now);
            let (carry, base) = (
                &mut self.sampling.sample_carry[i],
                &self.sampling.sample_base[i],
            );
            for ((c, now), b) in carry.iter_mut().zip(a).zip(base) {
                *c += now - b;
            }
            self.sampling.sample_base[i] = [0; 3];
            r.restart_stats(now);
        }
        self.service.service_up.restart(now);
        self.req.resilience = ResilienceCounts::default();
        for h in &mut self.tiers.hops {
            h.resilience = ResilienceCounts::default();
        }
        // Stores count from here too (issue 20: warm-up applies to every component).
        for store in &mut self.stores {
            store.warmup_ended(now);
        }
        self.observer.record(now, &Record::WarmupEnded);
    }
}
