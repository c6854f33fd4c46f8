//! The run as a time series: per window (the scenario's `slo.window`), requests offered and
//! finished, success rate, throughput, p50/p99 latency, replicas up, and each replica's mean load.
//!
//! Streamed: a window's latency percentiles are taken from a histogram that is reset when the
//! next window begins, so memory grows with the number of windows (bounded by validation), never
//! with the number of requests. Windows cover the whole run from time zero, warm-up included, so
//! that a chart's time axis is the scenario's own; availability figures use only the windows that
//! start after warm-up.

use crate::collector::HIGHEST_NS;
use hdrhistogram::Histogram;
use models::{Outcome, Record};
use sim_core::SimTime;

/// Replicas whose load is kept window by window; beyond this, the sum of replicas up and the
/// spread of load across the fleet ([`WindowRow::fleet_load`]).
pub const MAX_REPLICA_SERIES: usize = models::REPLICA_SAMPLES;

/// One replica's mean load over a window.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct ReplicaLoad {
    /// Mean requests in service.
    pub in_service: f64,
    /// Mean requests waiting.
    pub queued: f64,
    /// Fraction of the window it was up.
    pub up: f64,
}

/// One window of the run.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct WindowRow {
    /// Start, ns.
    pub start_ns: u64,
    /// End, ns (the last window may be shorter).
    pub end_ns: u64,
    /// Requests issued in the window.
    pub offered: u64,
    /// Requests that finished in the window with success.
    pub succeeded: u64,
    /// Requests that finished in the window with a failure.
    pub failed: u64,
    /// Median latency of the window's successes, ns (0 if none; 2 significant digits).
    pub p50_ns: u64,
    /// 99th percentile latency of the window's successes, ns (0 if none; 2 significant digits).
    pub p99_ns: u64,
    /// Mean number of replicas up over the window (all replicas).
    pub replicas_up: f64,
    /// Scaled pools' mean replicas provisioned (warming, serving, draining) and ready (warm and
    /// in rotation) over the window, in pool order (empty without autoscaling).
    pub scaled: Vec<(f64, f64)>,
    /// Per replica (the first [`MAX_REPLICA_SERIES`]), mean load over the window.
    pub replicas: Vec<ReplicaLoad>,
    /// With more than [`MAX_REPLICA_SERIES`] replicas: the median, p90, p99 and maximum
    /// across all of them of the mean requests in flight (in service + queued).
    pub fleet_load: Option<[f64; 4]>,
}

impl WindowRow {
    /// Window length in seconds.
    pub fn seconds(&self) -> f64 {
        (self.end_ns - self.start_ns) as f64 / 1e9
    }

    /// succeeded / finished, or `None` when nothing finished.
    pub fn success_rate(&self) -> Option<f64> {
        let n = self.succeeded + self.failed;
        (n > 0).then(|| self.succeeded as f64 / n as f64)
    }

    /// Successes per second.
    pub fn goodput_rps(&self) -> f64 {
        self.succeeded as f64 / self.seconds().max(1e-9)
    }
}

/// Builds [`WindowRow`]s from the records of a run.
#[derive(Clone, Debug)]
pub struct TimeSeries {
    window_ns: u64,
    rows: Vec<WindowRow>,
    /// Window whose successes `hist` holds.
    current: usize,
    /// End of window `current` once its row exists (0 before): records before it need no
    /// division to find their window.
    current_end: u64,
    hist: Histogram<u64>,
}

impl TimeSeries {
    /// A series of `window_ns`-long windows (0 = no series).
    pub fn new(window_ns: u64) -> Self {
        TimeSeries {
            window_ns,
            rows: Vec::new(),
            current: 0,
            current_end: 0,
            hist: Histogram::new_with_bounds(1, HIGHEST_NS, 2)
                .unwrap_or_else(|_| unreachable!("constant bounds are valid")),
        }
    }

    /// The window length, ns (0 when off).
    pub fn window_ns(&self) -> u64 {
        self.window_ns
    }

    fn row(&mut self, k: usize) -> &mut WindowRow {
        while self.rows.len() <= k {
            let i = self.rows.len() as u64;
            self.rows.push(WindowRow {
                start_ns: i * self.window_ns,
                end_ns: (i + 1) * self.window_ns,
                ..WindowRow::default()
            });
        }
        &mut self.rows[k]
    }

    /// Closes the latency percentiles of the window in `hist` when time has moved past it.
    fn advance(&mut self, k: usize) {
        if k > self.current {
            self.close_current();
            self.current = k;
        }
    }

    /// The row of the window holding `now` (records come in time order), made current.
    #[inline]
    fn row_at(&mut self, now: SimTime) -> &mut WindowRow {
        if now.0 >= self.current_end {
            self.enter(now);
        }
        &mut self.rows[self.current]
    }

    #[cold]
    fn enter(&mut self, now: SimTime) {
        let k = (now.0 / self.window_ns) as usize;
        self.advance(k);
        self.row(self.current);
        self.current_end = (self.current as u64 + 1).saturating_mul(self.window_ns);
    }

    fn close_current(&mut self) {
        if self.hist.is_empty() {
            return;
        }
        let (p50, p99) = (
            self.hist.value_at_quantile(0.5),
            self.hist.value_at_quantile(0.99),
        );
        let row = self.row(self.current);
        row.p50_ns = p50;
        row.p99_ns = p99;
        self.hist.reset();
    }

    /// Folds one record in.
    #[inline]
    pub fn record(&mut self, now: SimTime, record: &Record) {
        if self.window_ns == 0 {
            return;
        }
        match *record {
            // Trace-only detail counts nothing.
            Record::Store(_)
            | Record::Attempt { .. }
            | Record::Candidate { .. }
            | Record::Picked { .. }
            | Record::Enqueued { .. }
            | Record::ServiceStarted { .. }
            | Record::ServiceEnded { .. }
            | Record::DependencyCall { .. }
            | Record::DependencyEnded { .. } => {}
            Record::Offered { .. } => self.row_at(now).offered += 1,
            Record::Finished {
                outcome, latency, ..
            } => {
                let row = self.row_at(now);
                if outcome == Outcome::Succeeded {
                    row.succeeded += 1;
                    self.hist.saturating_record(latency.0.clamp(1, HIGHEST_NS));
                } else {
                    row.failed += 1;
                }
            }
            Record::Retry { .. }
            | Record::BreakerChange { .. }
            | Record::HopFinished { .. }
            | Record::HopRetry { .. }
            | Record::HopBreakerChange { .. }
            | Record::Partition { .. }
            | Record::BalancerChange { .. } => {}
            Record::ReplicaSample {
                replica,
                in_service,
                queued,
                up,
            } => {
                // A sample at t reports the window that ends at t.
                let k = (now.0.saturating_sub(1) / self.window_ns) as usize;
                let row = self.row(k);
                row.end_ns = row.end_ns.min(now.0);
                row.replicas_up += up;
                let r = replica as usize;
                if r < MAX_REPLICA_SERIES {
                    if row.replicas.len() <= r {
                        row.replicas.resize(r + 1, ReplicaLoad::default());
                    }
                    row.replicas[r] = ReplicaLoad {
                        in_service,
                        queued,
                        up,
                    };
                }
            }
            Record::FleetSample { up_rest, load } => {
                let k = (now.0.saturating_sub(1) / self.window_ns) as usize;
                let row = self.row(k);
                row.end_ns = row.end_ns.min(now.0);
                row.replicas_up += up_rest;
                row.fleet_load = Some(load);
            }
            Record::PoolSample {
                provisioned, ready, ..
            } => {
                let k = (now.0.saturating_sub(1) / self.window_ns) as usize;
                self.row(k).scaled.push((provisioned, ready));
            }
            Record::Scaled { .. }
            | Record::ScaleCheck { .. }
            | Record::Removed { .. }
            | Record::Registered { .. } => {}
            Record::ReplicaDown { .. }
            | Record::ReplicaUp { .. }
            | Record::WarmupEnded
            | Record::ReplicaSlow { .. }
            | Record::GrayEpisode { .. }
            | Record::HealthChange { .. } => {}
        }
    }

    /// The rows up to `horizon`, the open window's percentiles included.
    pub fn rows(&self, horizon: SimTime) -> Vec<WindowRow> {
        let mut ts = self.clone();
        ts.close_current();
        if ts.window_ns > 0 && horizon.0 > 0 {
            ts.row(((horizon.0 - 1) / ts.window_ns) as usize);
        }
        let mut rows = ts.rows;
        rows.retain(|r| r.start_ns < horizon.0.max(1));
        if let Some(last) = rows.last_mut() {
            last.end_ns = last.end_ns.min(horizon.0);
        }
        rows
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sim_core::SimDuration;

    fn fin(outcome: Outcome, ms: u64) -> Record {
        Record::Finished {
            request: 0,
            replica: 0,
            client: 0,
            arrived: SimTime(0),
            outcome,
            latency: SimDuration::from_millis(ms),
            waited: SimDuration::ZERO,
            attempts: 1,
        }
    }

    #[test]
    fn windows_count_by_time_and_close_their_percentiles() {
        let s = 1_000_000_000;
        let mut ts = TimeSeries::new(s);
        ts.record(
            SimTime(10),
            &Record::Offered {
                client: 0,
                request: 0,
            },
        );
        for i in 0..100 {
            ts.record(SimTime(20 + i), &fin(Outcome::Succeeded, 10 + i));
        }
        ts.record(SimTime(s - 1), &fin(Outcome::TimedOut, 300));
        // Nothing in window 1; window 2 has one slow success.
        ts.record(SimTime(2 * s + 5), &fin(Outcome::Succeeded, 500));
        ts.record(
            SimTime(s),
            &Record::ReplicaSample {
                replica: 1,
                in_service: 2.0,
                queued: 0.5,
                up: 1.0,
            },
        );
        let rows = ts.rows(SimTime(2 * s + 500_000_000));
        assert_eq!(rows.len(), 3);
        assert_eq!(
            (rows[0].offered, rows[0].succeeded, rows[0].failed),
            (1, 100, 1)
        );
        assert_eq!(rows[0].success_rate(), Some(100.0 / 101.0));
        let p50_ms = rows[0].p50_ns as f64 / 1e6;
        assert!((59.0..=61.0).contains(&p50_ms), "{p50_ms}");
        assert_eq!(rows[1].success_rate(), None);
        assert_eq!(rows[0].replicas[1].queued, 0.5);
        assert_eq!(rows[2].succeeded, 1);
        assert!((rows[2].p99_ns as f64 / 1e6 - 500.0).abs() < 5.0);
        assert_eq!(
            rows[2].end_ns,
            2 * s + 500_000_000,
            "the last window is cut"
        );
        assert_eq!(rows[2].goodput_rps(), 2.0);
    }
}
