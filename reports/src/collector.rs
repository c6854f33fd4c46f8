//! The observer that reports use: counts outcomes, records latencies in an HDR histogram and
//! batch means, all from the end of warm-up on. Memory is bounded whatever the run length.

use crate::batch::BatchMeans;
use crate::store::StoreCollector;
use crate::timeseries::TimeSeries;
use hdrhistogram::Histogram;
use models::store::StoreRecord;
use models::{Outcome, Record};
use sim_core::{Observer, SimTime};

/// Latencies above this (one week) are recorded as one week.
pub(crate) const HIGHEST_NS: u64 = 604_800_000_000_000;

/// Crashes listed one by one in a report; the rest are counted.
pub const MAX_FAULTS: usize = 1000;

/// One replica crash and its observable effect: verified fault injection, so that a fault that
/// changed nothing is visible as such instead of giving false confidence.
#[derive(Clone, Debug, PartialEq)]
pub struct FaultEffect {
    /// Global replica index.
    pub replica: u32,
    /// When it went down.
    pub down_at: SimTime,
    /// When it came back, if it did before the horizon.
    pub up_at: Option<SimTime>,
    /// Requests queued or in service that the crash failed.
    pub lost: u64,
    /// Requests sent to it while it was down.
    pub refused: u64,
    /// When a balancer's health checks first took it out of rotation, if one did while it was
    /// down.
    pub detected_at: Option<SimTime>,
}

/// One slowdown (gray failure) of a replica, scheduled or random, and how the requests sent to
/// it that finished while it lasted ended. Overlapping slowdowns of one replica are one entry.
#[derive(Clone, Debug, PartialEq)]
pub struct SlowEffect {
    /// Global replica index.
    pub replica: u32,
    /// When it began.
    pub from: SimTime,
    /// When it ended, if before the horizon.
    pub to: Option<SimTime>,
    /// The largest service-time multiplier in force during it.
    pub factor: f64,
    /// The largest extra error probability in force during it.
    pub error_rate: f64,
    /// Requests sent to the replica that failed while it was slow.
    pub failed: u64,
    /// Requests sent to the replica that succeeded while it was slow.
    pub succeeded: u64,
    /// A random gray-failure episode (`gray_failures`) is part of it.
    pub random: bool,
}

/// The random gray-failure episodes of a run (all of them, listed or not).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct GrayTally {
    /// Episodes begun.
    pub episodes: u64,
    /// Replica-time spent gray in episodes that have ended, ns.
    pub ended_ns: u128,
    /// Requests sent to replicas that succeeded while they were gray.
    pub succeeded: u64,
    /// Requests sent to replicas that failed while they were gray.
    pub failed: u64,
}

/// Statistics over the records of one run.
#[derive(Clone, Debug)]
pub struct Collector {
    warmup: SimTime,
    /// Requests offered in the window.
    pub offered: u64,
    /// Outcomes of requests offered in the window, indexed like [`Outcome::ALL`].
    pub outcomes: [u64; Outcome::COUNT],
    /// Attempts made by the requests counted in `outcomes`.
    pub attempts: u64,
    /// Circuit-breaker transitions after warm-up, by the state entered (closed, open,
    /// half-open).
    pub breaker_changes: [u64; 3],
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
    /// Waiting time (queueing delay before service) of successful requests, ns (3
    /// significant digits; zero for those that did not wait).
    pub wait: Histogram<u64>,
    /// Replica crashes in the window.
    pub crashes: u64,
    /// Each replica crash and what it did, in order (at most [`MAX_FAULTS`] kept).
    pub faults: Vec<FaultEffect>,
    /// Crashes in the run (all of them, kept or not).
    pub faults_total: u64,
    /// Crashes that affected no request.
    pub faults_without_effect: u64,
    /// Per replica, the index in `faults` of its open crash.
    open_fault: Vec<Option<usize>>,
    /// Per replica (empty: none), whether it is a member of a broker's consumer group: its
    /// crash stops its partitions' consumption, an effect whether or not a request failed.
    consumers: Vec<bool>,
    /// Trajectory fingerprint: a hash of every record (time and fields, warm-up included), so
    /// that any change in behaviour changes it, not only changes in the aggregates.
    pub fingerprint: u64,
    /// The run window by window.
    pub series: TimeSeries,
    /// Each slowdown, in order (at most [`MAX_FAULTS`] kept).
    pub slowdowns: Vec<SlowEffect>,
    /// Per replica, the index in `slowdowns` of its open slowdown.
    open_slow: Vec<Option<usize>>,
    /// Random gray-failure episodes.
    pub gray: GrayTally,
    /// Per replica, when its open random gray episode began.
    gray_since: Vec<Option<SimTime>>,
    /// Each network partition, in order.
    pub partitions: Vec<PartitionEffect>,
    /// Each time a balancer's VIP went dark, in order (`index` is the balancer's).
    pub balancer_outages: Vec<PartitionEffect>,
    /// Per hop of a multi-tier request (pool → dependency), calls made after warm-up.
    pub hops: Vec<HopStats>,
    /// Per priority class, requests offered after warm-up (empty with a single class).
    pub classes: Vec<HopStats>,
    /// Per client, its priority class (empty with a single class).
    client_class: Vec<u8>,
    /// Per client, its closed-loop users' figures (`None` for open-loop clients; empty when
    /// no client has users).
    pub users: Vec<Option<crate::users::UserStats>>,
    /// Autoscaling: the lag of each scale-out and what it cost.
    pub scaling: ScalingLag,
    /// Per store (by index), its operations' statistics and fingerprint.
    pub stores: Vec<StoreCollector>,
    /// The warm-up is over (at `Record::WarmupEnded`, the instant the stores reset their
    /// counts): store records count in their figures from then on.
    stores_warm: bool,
}

/// One hop's calls (made after warm-up): outcomes and the latency of successful ones.
#[derive(Clone, Debug)]
pub struct HopStats {
    /// Outcomes, indexed like [`Outcome::ALL`].
    pub outcomes: [u64; Outcome::COUNT],
    /// Calls cancelled by their caller.
    pub cancelled: u64,
    /// Attempts made by the calls counted in `outcomes`.
    pub attempts: u64,
    /// Latency of successful calls, ns.
    pub latency: Histogram<u64>,
    /// Exact sum of successful latencies, ns.
    pub latency_sum_ns: u128,
}

impl HopStats {
    fn new() -> Self {
        HopStats {
            outcomes: [0; Outcome::COUNT],
            cancelled: 0,
            attempts: 0,
            latency: Histogram::new_with_bounds(1, HIGHEST_NS, 3)
                .unwrap_or_else(|_| unreachable!("valid histogram bounds")),
            latency_sum_ns: 0,
        }
    }
}

/// Requests finished, failed and slow, whole run (for differences over intervals).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    /// Finished.
    pub finished: u64,
    /// Failed.
    pub failed: u64,
    /// Succeeded slower than the slow threshold.
    pub slow: u64,
}

/// One scale-out's lag: from the start of the breach that triggered it to its capacity being
/// warm, and what finished meanwhile.
#[derive(Clone, Debug, PartialEq)]
pub struct LagEffect {
    /// Index of the pool.
    pub pool: u32,
    /// Start of the first evaluation period over target.
    pub breach_since: SimTime,
    /// When the scale-out was decided.
    pub decided: SimTime,
    /// When the new replicas were warm.
    pub ready_at: SimTime,
    /// Replicas before and after.
    pub from: u32,
    /// See `from`.
    pub to: u32,
    /// Requests that finished in [breach_since, ready_at), and of those failed and slow.
    pub during: Tally,
    /// The window has closed (ready_at passed).
    pub closed: bool,
}

/// What the collector tracks for autoscaling lag.
#[derive(Clone, Debug, Default)]
pub struct ScalingLag {
    /// A success slower than this (ns) counts as slow (the scenario's p99 objective, if any).
    pub slow_ns: Option<u64>,
    /// Running totals.
    pub tally: Tally,
    /// Per pool, the totals at its recent evaluation boundaries (at most 128 kept).
    checks: Vec<std::collections::VecDeque<(SimTime, Tally)>>,
    /// Each scale-out (at most [`MAX_FAULTS`]).
    pub lags: Vec<LagEffect>,
    /// Scale actions, and removals that failed requests.
    pub removed_failed: u64,
}

impl ScalingLag {
    fn record(&mut self, now: SimTime, record: &Record) {
        // Windows whose capacity is now warm close before this record counts.
        for l in self
            .lags
            .iter_mut()
            .filter(|l| !l.closed && now >= l.ready_at)
        {
            l.closed = true;
            l.during = Tally {
                finished: self.tally.finished - l.during.finished,
                failed: self.tally.failed - l.during.failed,
                slow: self.tally.slow - l.during.slow,
            };
        }
        match *record {
            Record::Finished {
                outcome, latency, ..
            } => {
                self.tally.finished += 1;
                if outcome != Outcome::Succeeded {
                    self.tally.failed += 1;
                } else if self.slow_ns.is_some_and(|s| latency.0 > s) {
                    self.tally.slow += 1;
                }
            }
            Record::ScaleCheck { pool, .. } => {
                let p = pool as usize;
                if self.checks.len() <= p {
                    self.checks.resize(p + 1, Default::default());
                }
                let q = &mut self.checks[p];
                if q.len() == 128 {
                    q.pop_front();
                }
                q.push_back((now, self.tally));
            }
            Record::Scaled {
                pool,
                from,
                to,
                breach_since,
                ready_at,
            } if to > from && self.lags.len() < MAX_FAULTS => {
                // The totals when the breach began (time zero's are all zero).
                let start = self
                    .checks
                    .get(pool as usize)
                    .and_then(|q| q.iter().find(|c| c.0 == breach_since))
                    .map_or(Tally::default(), |c| c.1);
                self.lags.push(LagEffect {
                    pool,
                    breach_since,
                    decided: now,
                    ready_at,
                    from,
                    to,
                    during: start,
                    closed: false,
                });
            }
            Record::Removed { failed, .. } => self.removed_failed += failed as u64,
            _ => {}
        }
    }

    /// The lags with their counts, those still open at `end` closed there.
    pub fn finished(&self) -> Vec<LagEffect> {
        let mut x = self.clone();
        for l in x.lags.iter_mut().filter(|l| !l.closed) {
            l.during = Tally {
                finished: x.tally.finished - l.during.finished,
                failed: x.tally.failed - l.during.failed,
                slow: x.tally.slow - l.during.slow,
            };
        }
        x.lags
    }
}

/// One network partition and the requests that failed while it lasted.
#[derive(Clone, Debug, PartialEq)]
pub struct PartitionEffect {
    /// Its index in the scenario.
    pub index: u32,
    /// When it began.
    pub from: SimTime,
    /// When it healed, if before the horizon.
    pub to: Option<SimTime>,
    /// Requests that failed (anywhere) while it lasted.
    pub failed: u64,
    /// The first health verdict against a replica while it lasted (the checks noticed).
    pub detected_at: Option<SimTime>,
}

#[inline]
pub(crate) fn mix(h: &mut u64, x: u64) {
    // FxHash's word step: a fixed algorithm (stable across releases and machines), one
    // multiply per word, so the fingerprint costs little on the hot path.
    *h = (h.rotate_left(5) ^ x).wrapping_mul(0x517c_c1b7_2722_0a95);
}

impl Collector {
    /// A collector whose statistics window opens at `warmup`, with a time series of
    /// `series_window_ns`-long windows (0 = none).
    pub fn new(warmup: SimTime, series_window_ns: u64) -> Self {
        Collector {
            warmup,
            offered: 0,
            outcomes: [0; Outcome::COUNT],
            attempts: 0,
            breaker_changes: [0; 3],
            latency: Histogram::new_with_bounds(1, HIGHEST_NS, 3)
                .unwrap_or_else(|_| unreachable!("constant bounds are valid")),
            latency_sum_ns: 0,
            latency_max_ns: 0,
            latency_batches: BatchMeans::default(),
            waited_batches: BatchMeans::default(),
            wait_sum_ns: 0,
            wait: Histogram::new_with_bounds(1, HIGHEST_NS, 3)
                .unwrap_or_else(|_| unreachable!("constant bounds are valid")),
            waited_count: 0,
            crashes: 0,
            fingerprint: 0xcbf2_9ce4_8422_2325,
            faults: Vec::new(),
            faults_total: 0,
            faults_without_effect: 0,
            open_fault: Vec::new(),
            consumers: Vec::new(),
            series: TimeSeries::new(series_window_ns),
            slowdowns: Vec::new(),
            open_slow: Vec::new(),
            gray: GrayTally::default(),
            gray_since: Vec::new(),
            partitions: Vec::new(),
            balancer_outages: Vec::new(),
            hops: Vec::new(),
            classes: Vec::new(),
            client_class: Vec::new(),
            users: Vec::new(),
            scaling: ScalingLag::default(),
            stores: Vec::new(),
            stores_warm: warmup == SimTime::ZERO,
        }
    }

    /// Marks the replicas that are members of a broker's consumer group (per replica).
    pub fn with_consumers(mut self, consumers: Vec<bool>) -> Self {
        if consumers.contains(&true) {
            self.consumers = consumers;
        }
        self
    }

    /// Whether replica `r` is a member of a broker's consumer group.
    pub fn is_consumer(&self, r: u32) -> bool {
        self.consumers.get(r as usize) == Some(&true)
    }

    /// Whether replica `r`'s crash had an effect: it failed or refused requests, or it is a
    /// consumer (its partitions stopped until the group rebalanced).
    pub fn fault_had_effect(&self, f: &FaultEffect) -> bool {
        f.lost + f.refused > 0 || self.is_consumer(f.replica)
    }

    /// Keeps figures per priority class, given each client's class (nothing with one class).
    pub fn with_priorities(mut self, client_class: Vec<u8>) -> Self {
        let classes = client_class
            .iter()
            .map(|&k| k as usize + 1)
            .max()
            .unwrap_or(1);
        if classes > 1 {
            self.classes = (0..classes).map(|_| HopStats::new()).collect();
            self.client_class = client_class;
        }
        self
    }

    /// Keeps figures per client of closed-loop users, given which clients have users.
    pub fn with_users(mut self, users: Vec<bool>) -> Self {
        if users.iter().any(|&u| u) {
            self.users = users
                .into_iter()
                .map(|u| u.then(crate::users::UserStats::default))
                .collect();
        }
        self
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
    if let Record::ReplicaSample { .. } | Record::PoolSample { .. } | Record::FleetSample { .. } =
        record
    {
        // An observation of state: the same trajectory has the same fingerprint whatever the
        // time-series window.
        return;
    }
    // Trace-only detail (emitted only when a trace asks): fingerprints do not depend on it.
    if record.is_detail() {
        return;
    }
    mix(h, now.0);
    match *record {
        Record::Offered { client, .. } => mix(h, client as u64),
        Record::Finished {
            client,
            outcome,
            latency,
            attempts,
            ..
        } => {
            mix(h, ((client as u64) << 8) | 1 << 4 | outcome as u64);
            mix(h, latency.0);
            // A single attempt adds nothing, so fingerprints from before retries still hold.
            if attempts != 1 {
                mix(h, (attempts as u64) << 8 | 7);
            }
        }
        Record::Retry {
            client,
            request,
            attempt,
            delay,
        } => {
            mix(h, (client as u64) << 32 | (attempt as u64) << 8 | 8);
            mix(h, request);
            mix(h, delay.0);
        }
        Record::BreakerChange { client, state } => {
            mix(h, (client as u64) << 8 | (state as u64) << 4 | 9);
        }
        Record::Partition { index, open } => {
            mix(h, (index as u64) << 8 | (open as u64) << 4 | 10);
        }
        Record::BalancerChange { balancer, serving } => {
            mix(h, (balancer as u64) << 8 | (serving as u64) << 4 | 11);
        }
        Record::ReplicaDown { replica } => mix(h, (replica as u64) << 8 | 2),
        Record::ReplicaUp { replica } => mix(h, (replica as u64) << 8 | 3),
        Record::WarmupEnded => mix(h, 4),
        Record::HealthChange {
            balancer,
            replica,
            healthy,
        } => {
            mix(h, (replica as u64) << 8 | (healthy as u64) << 4 | 5);
            mix(h, balancer as u64);
        }
        Record::ReplicaSlow {
            replica,
            factor,
            error_rate,
        } => {
            mix(h, (replica as u64) << 8 | 6);
            mix(h, factor.to_bits());
            // Zero adds nothing: fingerprints from before error-rate faults still hold.
            if error_rate != 0.0 {
                mix(h, error_rate.to_bits());
            }
        }
        Record::GrayEpisode { replica, begins } => {
            mix(h, 17);
            mix(h, (replica as u64) << 1 | begins as u64);
        }
        Record::ReplicaSample { .. } | Record::PoolSample { .. } | Record::FleetSample { .. } => {}
        Record::Store(r) => {
            // Only observers that fold every record see these (a run's fingerprint takes its
            // stores' from their own collectors).
            let (store, what, ok, latency) = match r {
                StoreRecord::Write { store, ok, latency } => (store, 0, ok, latency),
                StoreRecord::Read { store, ok, latency } => (store, 1, ok, latency),
                StoreRecord::Consumed {
                    store,
                    first,
                    delay,
                } => (store, 2, first, delay),
                StoreRecord::Cache {
                    store,
                    hit,
                    ok,
                    latency,
                } => (store, 4 | u64::from(hit), ok, latency),
            };
            mix(
                h,
                (store as u64) << 16 | what << 8 | u64::from(ok) << 4 | 22,
            );
            mix(h, latency.0);
        }
        // Returned early above.
        Record::Attempt { .. }
        | Record::Candidate { .. }
        | Record::Picked { .. }
        | Record::Enqueued { .. }
        | Record::ServiceStarted { .. }
        | Record::ServiceEnded { .. }
        | Record::DependencyCall { .. }
        | Record::DependencyEnded { .. } => {}
        Record::HopFinished {
            hop,
            outcome,
            latency,
            attempts,
            ..
        } => {
            mix(h, 16);
            mix(h, (hop as u64) << 8 | outcome.map_or(15, |o| o as u64));
            mix(h, latency.0);
            if attempts != 1 {
                mix(h, (attempts as u64) << 8 | 7);
            }
        }
        Record::HopRetry {
            hop,
            request,
            attempt,
            delay,
        } => {
            mix(h, (hop as u64) << 32 | (attempt as u64) << 8 | 20);
            mix(h, request);
            mix(h, delay.0);
        }
        Record::HopBreakerChange { hop, state } => {
            mix(h, (hop as u64) << 8 | (state as u64) << 4 | 21);
        }
        Record::Scaled { pool, from, to, .. } => {
            mix(h, (pool as u64) << 8 | 12);
            mix(h, (from as u64) << 32 | to as u64);
        }
        Record::ScaleCheck { pool, desired, .. } => {
            mix(h, (pool as u64) << 8 | 13);
            mix(h, desired as u64);
        }
        Record::Removed { replica, failed } => {
            mix(h, (replica as u64) << 8 | 14);
            mix(h, failed as u64);
        }
        Record::Registered {
            replica,
            registered,
        } => mix(h, (replica as u64) << 8 | (registered as u64) << 4 | 15),
    }
}

impl Collector {
    #[inline]
    fn track_faults(&mut self, now: SimTime, record: &Record) {
        // The common record: a success while no replica was ever slow or gray touches nothing
        // below.
        if let Record::Finished {
            outcome: Outcome::Succeeded,
            ..
        } = *record
            && self.open_slow.is_empty()
            && self.gray_since.is_empty()
        {
            return;
        }
        self.track_fault_records(now, record);
    }

    fn track_fault_records(&mut self, now: SimTime, record: &Record) {
        if let Record::Finished {
            outcome, replica, ..
        } = *record
        {
            let failed = (outcome != Outcome::Succeeded) as u64;
            let succeeded = 1 - failed;
            if let Some(Some(i)) = self.open_slow.get(replica as usize) {
                let s = &mut self.slowdowns[*i];
                s.failed += failed;
                s.succeeded += succeeded;
            }
            if let Some(Some(_)) = self.gray_since.get(replica as usize) {
                self.gray.failed += failed;
                self.gray.succeeded += succeeded;
            }
        }
        match *record {
            Record::Finished { outcome, .. } if outcome != Outcome::Succeeded => {
                for p in self
                    .partitions
                    .iter_mut()
                    .chain(self.balancer_outages.iter_mut())
                    .filter(|p| p.to.is_none())
                {
                    p.failed += 1;
                }
            }
            Record::BalancerChange {
                balancer,
                serving: false,
            } if self.balancer_outages.len() < MAX_FAULTS => {
                self.balancer_outages.push(PartitionEffect {
                    index: balancer,
                    from: now,
                    to: None,
                    failed: 0,
                    detected_at: None,
                });
            }
            Record::BalancerChange {
                balancer,
                serving: true,
            } => {
                if let Some(p) = self
                    .balancer_outages
                    .iter_mut()
                    .find(|p| p.index == balancer && p.to.is_none())
                {
                    p.to = Some(now);
                }
            }
            Record::Partition { index, open: true } if self.partitions.len() < MAX_FAULTS => {
                self.partitions.push(PartitionEffect {
                    index,
                    from: now,
                    to: None,
                    failed: 0,
                    detected_at: None,
                });
            }
            Record::Partition { index, open: false } => {
                if let Some(p) = self
                    .partitions
                    .iter_mut()
                    .find(|p| p.index == index && p.to.is_none())
                {
                    p.to = Some(now);
                }
            }
            _ => {}
        }
        match *record {
            Record::ReplicaDown { replica } => {
                let r = replica as usize;
                if self.open_fault.len() <= r {
                    self.open_fault.resize(r + 1, None);
                }
                self.faults_total += 1;
                if self.faults.len() < MAX_FAULTS {
                    self.faults.push(FaultEffect {
                        replica,
                        down_at: now,
                        up_at: None,
                        lost: 0,
                        refused: 0,
                        detected_at: None,
                    });
                    self.open_fault[r] = Some(self.faults.len() - 1);
                } else {
                    self.open_fault[r] = None;
                }
            }
            Record::ReplicaUp { replica } => {
                if let Some(i) = self
                    .open_fault
                    .get_mut(replica as usize)
                    .and_then(Option::take)
                {
                    self.faults[i].up_at = Some(now);
                    if !self.fault_had_effect(&self.faults[i]) {
                        self.faults_without_effect += 1;
                    }
                }
            }
            Record::ReplicaSlow {
                replica,
                factor,
                error_rate,
            } => {
                let r = replica as usize;
                if self.open_slow.len() <= r {
                    self.open_slow.resize(r + 1, None);
                }
                match (self.open_slow[r], factor == 1.0 && error_rate == 0.0) {
                    (Some(i), true) => {
                        self.slowdowns[i].to = Some(now);
                        self.open_slow[r] = None;
                    }
                    (Some(i), false) => {
                        let s = &mut self.slowdowns[i];
                        s.factor = s.factor.max(factor);
                        s.error_rate = s.error_rate.max(error_rate);
                        s.random |= self.gray_since.get(r).is_some_and(Option::is_some);
                    }
                    (None, false) if self.slowdowns.len() < MAX_FAULTS => {
                        self.slowdowns.push(SlowEffect {
                            replica,
                            from: now,
                            to: None,
                            factor,
                            error_rate,
                            failed: 0,
                            succeeded: 0,
                            random: self.gray_since.get(r).is_some_and(Option::is_some),
                        });
                        self.open_slow[r] = Some(self.slowdowns.len() - 1);
                    }
                    _ => {}
                }
            }
            Record::GrayEpisode { replica, begins } => {
                let r = replica as usize;
                if self.gray_since.len() <= r {
                    self.gray_since.resize(r + 1, None);
                }
                if begins {
                    self.gray.episodes += 1;
                    self.gray_since[r] = Some(now);
                } else if let Some(since) = self.gray_since[r].take() {
                    self.gray.ended_ns += (now.0 - since.0) as u128;
                }
            }
            Record::HealthChange {
                replica,
                healthy: false,
                ..
            } => {
                if let Some(Some(i)) = self.open_fault.get(replica as usize) {
                    let f = &mut self.faults[*i];
                    f.detected_at.get_or_insert(now);
                }
                for p in self.partitions.iter_mut().filter(|p| p.to.is_none()) {
                    p.detected_at.get_or_insert(now);
                }
            }
            Record::Finished {
                outcome: o @ (Outcome::Crashed | Outcome::Refused),
                replica,
                ..
            }
            | Record::HopFinished {
                outcome: Some(o @ (Outcome::Crashed | Outcome::Refused)),
                replica,
                ..
            } => {
                if let Some(Some(i)) = self.open_fault.get(replica as usize) {
                    let f = &mut self.faults[*i];
                    if o == Outcome::Crashed {
                        f.lost += 1
                    } else {
                        f.refused += 1
                    }
                }
            }
            _ => {}
        }
    }

    /// Replica-time spent gray in random episodes up to `end`, ns (open ones cut there).
    pub fn gray_ns(&self, end: SimTime) -> u128 {
        self.gray.ended_ns
            + self
                .gray_since
                .iter()
                .flatten()
                .map(|s| end.0.saturating_sub(s.0) as u128)
                .sum::<u128>()
    }

    /// Crashes still open at the end that affected nothing (counted once the run is over).
    pub fn open_faults_without_effect(&self) -> u64 {
        self.open_fault
            .iter()
            .flatten()
            .filter(|&&i| !self.fault_had_effect(&self.faults[i]))
            .count() as u64
    }
}

impl Collector {
    /// Each store keeps its own statistics and fingerprint, as if it ran alone.
    #[cold]
    fn store_record(&mut self, now: SimTime, r: &StoreRecord) {
        let i = r.store() as usize;
        if self.stores.len() <= i {
            self.stores.resize_with(i + 1, StoreCollector::default);
        }
        if self.stores_warm {
            self.stores[i].record(now, r);
        } else {
            self.stores[i].warming(now, r);
        }
    }
}

impl Observer<Record> for Collector {
    #[inline]
    fn record(&mut self, now: SimTime, record: &Record) {
        if let Record::Store(r) = record {
            self.store_record(now, r);
            return;
        }
        if let Record::WarmupEnded = record {
            self.stores_warm = true;
        }
        // Trace-only detail is not part of the trajectory (and reaches a collector only beside
        // a trace writer).
        if record.is_detail() {
            return;
        }
        mix_record(&mut self.fingerprint, now, record);
        if let Record::Offered { .. } = record {
            // One per request: fault tracking and scaling lags ignore it (a lag due to close
            // here closes at the next record that counts, with the same tally).
            self.series.record(now, record);
            if now >= self.warmup {
                self.offered += 1;
            }
            return;
        }
        self.track_faults(now, record);
        self.series.record(now, record);
        if !self.scaling.checks.is_empty() || !matches!(record, Record::Finished { .. }) {
            self.scaling.record(now, record);
        }
        match *record {
            Record::Offered { .. } | Record::Store(_) => {} // counted above
            Record::Finished {
                arrived,
                outcome,
                latency,
                waited,
                attempts,
                client,
                ..
            } => {
                if arrived < self.warmup {
                    return;
                }
                self.outcomes[outcome as usize] += 1;
                self.attempts += attempts as u64;
                if let Some(Some(u)) = self.users.get_mut(client as usize) {
                    u.finished += 1;
                    u.succeeded += (outcome == Outcome::Succeeded) as u64;
                    u.response_sum_ns += latency.0 as u128;
                }
                if let Some(&k) = self.client_class.get(client as usize) {
                    let s = &mut self.classes[k as usize];
                    s.outcomes[outcome as usize] += 1;
                    s.attempts += attempts as u64;
                    if outcome == Outcome::Succeeded {
                        s.latency.saturating_record(latency.0.clamp(1, HIGHEST_NS));
                        s.latency_sum_ns += latency.0 as u128;
                    }
                }
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
                    self.wait.saturating_record(waited.0.min(HIGHEST_NS));
                }
            }
            Record::ReplicaDown { .. } => {
                if now >= self.warmup {
                    self.crashes += 1;
                }
            }
            Record::ReplicaUp { .. }
            | Record::WarmupEnded
            | Record::ReplicaSample { .. }
            | Record::FleetSample { .. }
            | Record::ReplicaSlow { .. }
            | Record::GrayEpisode { .. }
            | Record::HealthChange { .. }
            | Record::Retry { .. }
            | Record::HopRetry { .. }
            | Record::HopBreakerChange { .. }
            | Record::Partition { .. }
            | Record::BalancerChange { .. }
            | Record::Scaled { .. }
            | Record::ScaleCheck { .. }
            | Record::Removed { .. }
            | Record::Registered { .. }
            | Record::PoolSample { .. }
            | Record::Attempt { .. }
            | Record::Candidate { .. }
            | Record::Picked { .. }
            | Record::Enqueued { .. }
            | Record::ServiceStarted { .. }
            | Record::ServiceEnded { .. }
            | Record::DependencyCall { .. }
            | Record::DependencyEnded { .. } => {}
            Record::BreakerChange { state, .. } => {
                if now >= self.warmup {
                    self.breaker_changes[state as usize] += 1;
                }
            }
            Record::HopFinished {
                hop,
                arrived,
                outcome,
                latency,
                attempts,
                ..
            } => {
                if arrived < self.warmup {
                    return;
                }
                let hop = hop as usize;
                if self.hops.len() <= hop {
                    self.hops.resize_with(hop + 1, HopStats::new);
                }
                let s = &mut self.hops[hop];
                let Some(outcome) = outcome else {
                    s.cancelled += 1;
                    return;
                };
                s.outcomes[outcome as usize] += 1;
                s.attempts += attempts as u64;
                if outcome == Outcome::Succeeded {
                    s.latency.saturating_record(latency.0.clamp(1, HIGHEST_NS));
                    s.latency_sum_ns += latency.0 as u128;
                }
            }
        }
    }
}
