//! The observer that reports use: counts outcomes, records latencies in an HDR histogram and
//! batch means, all from the end of warm-up on. Memory is bounded whatever the run length.

use crate::batch::BatchMeans;
use hdrhistogram::Histogram;
use models::{Outcome, Record};
use sim_core::{Observer, SimTime};

/// Latencies above this (one week) are recorded as one week.
pub(crate) const HIGHEST_NS: u64 = 604_800_000_000_000;

/// Statistics over the records of one run.
#[derive(Clone, Debug)]
pub struct Collector {
    warmup: SimTime,
    /// Requests offered in the window.
    pub offered: u64,
    /// Outcomes of requests offered in the window, indexed like [`Outcome::ALL`].
    pub outcomes: [u64; 5],
    /// Latency of successful requests, ns (3 significant digits).
    pub latency: Histogram<u64>,
    /// Exact sum of successful latencies, ns.
    pub latency_sum_ns: u128,
    /// Exact largest successful latency, ns (the histogram only knows its bucket).
    pub latency_max_ns: u64,
    /// Batch means of successful latencies, in ms.
    pub latency_batches: BatchMeans,
    /// Batch means of "had to wait" (1 or 0) over successful requests.
    pub waited_batches: BatchMeans,
    /// Successful requests that waited at all.
    pub waited_count: u64,
    /// Exact sum of waiting times of successful requests, ns.
    pub wait_sum_ns: u128,
    /// Replica crashes in the window.
    pub crashes: u64,
    /// Trajectory fingerprint: a hash of every record (time and fields, warm-up included), so
    /// that any change in behaviour changes it, not only changes in the aggregates.
    pub fingerprint: u64,
}

#[inline]
pub(crate) fn mix(h: &mut u64, x: u64) {
    // FxHash's word step: a fixed algorithm (stable across releases and machines), one
    // multiply per word, so the fingerprint costs little on the hot path.
    *h = (h.rotate_left(5) ^ x).wrapping_mul(0x517c_c1b7_2722_0a95);
}

impl Collector {
    /// A collector whose window opens at `warmup`.
    pub fn new(warmup: SimTime) -> Self {
        Collector {
            warmup,
            offered: 0,
            outcomes: [0; 5],
            latency: Histogram::new_with_bounds(1, HIGHEST_NS, 3)
                .unwrap_or_else(|_| unreachable!("constant bounds are valid")),
            latency_sum_ns: 0,
            latency_max_ns: 0,
            latency_batches: BatchMeans::default(),
            waited_batches: BatchMeans::default(),
            wait_sum_ns: 0,
            waited_count: 0,
            crashes: 0,
            fingerprint: 0xcbf2_9ce4_8422_2325,
        }
    }

    /// Requests of the window with this outcome.
    pub fn count(&self, o: Outcome) -> u64 {
        self.outcomes[o as usize]
    }
}

/// Folds one record into a trajectory hash: the time and the fields that identify what
/// happened. The fingerprint of a run is this fold over all its records.
#[inline]
pub fn mix_record(h: &mut u64, now: SimTime, record: &Record) {
    mix(h, now.0);
    match *record {
        Record::Offered { client, .. } => mix(h, client as u64),
        Record::Finished {
            client,
            outcome,
            latency,
            ..
        } => {
            mix(h, ((client as u64) << 8) | 1 << 4 | outcome as u64);
            mix(h, latency.0);
        }
        Record::ReplicaDown { replica } => mix(h, (replica as u64) << 8 | 2),
        Record::ReplicaUp { replica } => mix(h, (replica as u64) << 8 | 3),
        Record::WarmupEnded => mix(h, 4),
    }
}

impl Observer<Record> for Collector {
    #[inline]
    fn record(&mut self, now: SimTime, record: &Record) {
        mix_record(&mut self.fingerprint, now, record);
        match *record {
            Record::Offered { .. } => {
                if now >= self.warmup {
                    self.offered += 1;
                }
            }
            Record::Finished {
                arrived,
                outcome,
                latency,
                waited,
                ..
            } => {
                if arrived < self.warmup {
                    return;
                }
                self.outcomes[outcome as usize] += 1;
                if outcome == Outcome::Succeeded {
                    let ns = latency.0;
                    self.latency.saturating_record(ns.clamp(1, HIGHEST_NS));
                    self.latency_sum_ns += ns as u128;
                    self.latency_max_ns = self.latency_max_ns.max(ns);
                    self.latency_batches.push(ns as f64 / 1e6);
                    self.waited_batches
                        .push(if waited.0 > 0 { 1.0 } else { 0.0 });
                    self.wait_sum_ns += waited.0 as u128;
                    self.waited_count += (waited.0 > 0) as u64;
                }
            }
            Record::ReplicaDown { .. } => {
                if now >= self.warmup {
                    self.crashes += 1;
                }
            }
            Record::ReplicaUp { .. } | Record::WarmupEnded => {}
        }
    }
}
