//! One run's figures, as a serialisable struct: the JSON report is a stable contract.

use crate::Verdict;
use crate::collector::Collector;
use crate::sre::{FaultWindow, Slo, Sre};
use crate::timeseries::WindowRow;
use models::{Outcome, Summary};
use serde::Serialize;

/// Who ran what: names the run so that it can be reproduced.
#[derive(Clone, Debug, Serialize)]
pub struct ReportMeta {
    /// hasim's version.
    pub hasim_version: String,
    /// The scenario's name.
    pub scenario: String,
    /// Hash of the scenario file's text (FNV-1a 64, hex).
    pub scenario_hash: String,
    /// The seed.
    pub seed: u64,
    /// The replication index.
    pub replication: u64,
    /// A command that reproduces this report.
    pub reproduce: String,
}

/// Request counts.
#[derive(Clone, Debug, Serialize)]
pub struct Requests {
    /// Issued in the window.
    pub offered: u64,
    /// Served before the client's timeout.
    pub succeeded: u64,
    /// Failed for any reason.
    pub failed: u64,
    /// Still waiting at the horizon.
    pub in_flight: u64,
    /// Failures by reason.
    pub failed_by: FailedBy,
}

/// Failures by reason.
#[derive(Clone, Debug, Serialize)]
pub struct FailedBy {
    /// The replica's queue was full.
    pub rejected: u64,
    /// The client gave up.
    pub timed_out: u64,
    /// The replica crashed while holding it.
    pub crashed: u64,
    /// Sent to a replica that was down.
    pub refused: u64,
    /// The replica answered with an error (its pool's `error_rate`).
    #[serde(skip_serializing_if = "is_zero")]
    pub error: u64,
    /// The client's circuit breaker was open.
    #[serde(skip_serializing_if = "is_zero")]
    pub short_circuited: u64,
}

fn is_zero(x: &u64) -> bool {
    *x == 0
}

fn is_zero_f64(x: &f64) -> bool {
    *x == 0.0
}

/// What retries, hedges, breakers and bulkheads did (present when a client has any).
#[derive(Clone, Debug, Serialize)]
pub struct Resilience {
    /// Attempts sent per request (1 without retries or hedges): the load amplification the
    /// servers see.
    pub attempts_per_request: f64,
    /// Attempts sent to a target after warm-up.
    pub attempts: u64,
    /// Retries scheduled.
    pub retries: u64,
    /// Retries a retry budget refused.
    pub retries_denied_by_budget: u64,
    /// Hedged copies sent.
    pub hedges: u64,
    /// Hedged copies cancelled because another answered first.
    pub hedges_cancelled: u64,
    /// Attempts failed at once by an open breaker.
    pub short_circuited: u64,
    /// Times a breaker opened.
    pub breaker_openings: u64,
    /// Requests a client-side bulkhead rejected.
    pub bulkhead_rejected: u64,
    /// Attempts a replica's rate limit rejected.
    pub rate_limited: u64,
    /// Attempts served in full after their caller had given up: work done for nobody.
    pub stale_served: u64,
    /// Attempts dropped unserved because their caller had given up (`drop_stale`).
    pub stale_dropped: u64,
}

/// One hop of multi-tier requests: a pool's calls to a dependency, made after warm-up.
#[derive(Clone, Debug, Serialize)]
pub struct HopReport {
    /// `caller → target`.
    pub hop: String,
    /// Calls that ended with an outcome (cancelled ones excluded).
    pub calls: u64,
    /// Calls that succeeded.
    pub succeeded: u64,
    /// Calls that failed, by reason.
    pub failed: u64,
    /// Failures by reason.
    pub failed_by: FailedBy,
    /// Calls their caller cancelled (a quorum or the first answer was in, a sibling failed,
    /// the caller gave up or crashed): neither success nor failure.
    pub cancelled: u64,
    /// succeeded / calls.
    pub availability: f64,
    /// Attempts per call (1 without retries or hedges).
    pub attempts_per_call: f64,
    /// Latency of successful calls, ms.
    pub latency_ms: HopLatencyMs,
    /// Retries scheduled at this hop.
    pub retries: u64,
    /// Retries its budget refused.
    pub retries_denied_by_budget: u64,
    /// Hedged copies sent.
    pub hedges: u64,
    /// Times its breaker opened.
    pub breaker_openings: u64,
    /// Attempts failed at once by its open breaker.
    pub short_circuited: u64,
    /// Calls its bulkhead rejected.
    pub bulkhead_rejected: u64,
}

/// One priority class's requests (offered after warm-up).
#[derive(Clone, Debug, Serialize)]
pub struct ClassReport {
    /// The class (0 is served first).
    pub priority: u8,
    /// Requests that ended.
    pub requests: u64,
    /// Requests that succeeded.
    pub succeeded: u64,
    /// succeeded / requests.
    pub availability: f64,
    /// Latency of its successful requests, ms.
    pub latency_ms: HopLatencyMs,
}

/// Latency of a hop's successful calls, ms (HDR buckets, as for requests).
#[derive(Clone, Debug, Serialize)]
pub struct HopLatencyMs {
    /// Exact mean.
    pub mean: f64,
    /// Median.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 99th percentile.
    pub p99: f64,
    /// 99.9th percentile.
    pub p999: f64,
}

impl HopReport {
    fn new(s: &models::HopSummary, c: Option<&crate::collector::HopStats>) -> Self {
        let count = |o: Outcome| c.map_or(0, |c| c.outcomes[o as usize]);
        let calls: u64 = c.map_or(0, |c| c.outcomes.iter().sum());
        let succeeded = count(Outcome::Succeeded);
        let q = |p: f64| {
            c.filter(|c| !c.latency.is_empty()).map_or(0.0, |c| {
                round(c.latency.value_at_quantile(p) as f64 / 1e6, 4)
            })
        };
        let x = &s.resilience;
        HopReport {
            hop: s.name.clone(),
            calls,
            succeeded,
            failed: calls - succeeded,
            failed_by: FailedBy {
                rejected: count(Outcome::Rejected),
                timed_out: count(Outcome::TimedOut),
                crashed: count(Outcome::Crashed),
                refused: count(Outcome::Refused),
                error: count(Outcome::Error),
                short_circuited: count(Outcome::ShortCircuited),
            },
            cancelled: c.map_or(0, |c| c.cancelled),
            availability: round(ratio(succeeded as u128, calls as u128), 6),
            attempts_per_call: round(ratio(c.map_or(0, |c| c.attempts) as u128, calls as u128), 4),
            latency_ms: HopLatencyMs {
                mean: round(
                    ratio(c.map_or(0, |c| c.latency_sum_ns), succeeded as u128) / 1e6,
                    4,
                ),
                p50: q(0.5),
                p90: q(0.9),
                p99: q(0.99),
                p999: q(0.999),
            },
            retries: x.retries,
            retries_denied_by_budget: x.budget_denied,
            hedges: x.hedges,
            breaker_openings: x.breaker_openings,
            short_circuited: x.short_circuited,
            bulkhead_rejected: x.bulkhead_rejected,
        }
    }
}

/// Availability.
#[derive(Clone, Debug, Serialize)]
pub struct Availability {
    /// succeeded / (succeeded + failed): requests still in flight at the horizon have no
    /// outcome yet and are left out (offered = succeeded + failed + in flight).
    pub request: f64,
    /// Fraction of the window during which every pool had at least one replica up.
    pub time: f64,
}

/// Latency of successful requests, in milliseconds. Percentiles are HDR-histogram values
/// (3 significant digits, reported as the highest value of their bucket).
#[derive(Clone, Debug, Serialize)]
pub struct LatencyMs {
    /// Exact mean.
    pub mean: f64,
    /// Half-width of the mean's 95% confidence interval (batch means; null if too few batches).
    pub mean_ci95: Option<f64>,
    /// Median.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 99th percentile.
    pub p99: f64,
    /// 99.9th percentile.
    pub p999: f64,
    /// Largest (exact).
    pub max: f64,
}

/// Waiting before service, over successful requests.
#[derive(Clone, Debug, Serialize)]
pub struct Queueing {
    /// Fraction of requests that waited at all.
    pub p_wait: f64,
    /// Half-width of its 95% confidence interval (batch means).
    pub p_wait_ci95: Option<f64>,
    /// Mean time spent waiting, ms.
    pub mean_wait_ms: f64,
    /// Waiting-time percentiles, ms (HDR buckets, as for latency; 0 for those that did not
    /// wait).
    pub wait_ms: WaitMs,
}

/// Waiting-time (queueing delay) percentiles of successful requests, ms.
#[derive(Clone, Debug, Serialize)]
pub struct WaitMs {
    /// Median.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 99th percentile.
    pub p99: f64,
    /// 99.9th percentile.
    pub p999: f64,
}

/// One replica's figures over the window.
#[derive(Clone, Debug, Serialize)]
pub struct ReplicaReport {
    /// Pool name.
    pub pool: String,
    /// Index within the pool.
    pub index: u32,
    /// Mean fraction of workers busy.
    pub utilisation: f64,
    /// Time-averaged number of waiting requests.
    pub mean_queue_length: f64,
    /// Fraction of the window it was up (a scaled pool's replica is not up while not
    /// provisioned or warming: see `provisioned_fraction`).
    pub up_fraction: f64,
    /// Scaled pools: fraction of the window it was provisioned (warming, serving or draining);
    /// up_fraction / provisioned_fraction is its availability while it existed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provisioned_fraction: Option<f64>,
    /// Requests it completed (including ones whose client had given up).
    pub served: u64,
    /// Crashes.
    pub crashes: u64,
}

/// One crash and what it did.
#[derive(Clone, Debug, Serialize)]
pub struct FaultReport {
    /// `pool/index`.
    pub replica: String,
    /// Down at, seconds.
    pub down_s: f64,
    /// Back up at, seconds (null if still down at the horizon).
    pub up_s: Option<f64>,
    /// Requests the crash failed (queued or in service).
    pub requests_lost: u64,
    /// Requests sent to the replica while it was down.
    pub requests_refused: u64,
    /// False when the crash affected no request: verify the fault before trusting the result.
    pub had_effect: bool,
}

/// Replica crashes over the whole run (warm-up included), verified against their effect.
#[derive(Clone, Debug, Serialize)]
pub struct Faults {
    /// Crashes.
    pub total: u64,
    /// Crashes that affected no request.
    pub without_effect: u64,
    /// The first crashes, one by one.
    pub listed: Vec<FaultReport>,
    /// Slowdowns (gray failures), scheduled and random, one by one (the first 1000).
    pub slowdowns: Vec<SlowReport>,
    /// Random gray failures over the run (absent when no pool has `gray_failures`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gray: Option<GrayReport>,
    /// Network partitions, one by one (absent when the scenario has none).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub partitions: Vec<PartitionReport>,
    /// Times a balancer's virtual IP went dark (absent when none did).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub balancer_outages: Vec<BalancerOutageReport>,
}

/// A balancer with no instance serving its virtual IP, and what it cost.
#[derive(Clone, Debug, Serialize)]
pub struct BalancerOutageReport {
    /// The balancer's name.
    pub balancer: String,
    /// Went dark at, seconds.
    pub from_s: f64,
    /// Served again at, seconds (null if still dark at the horizon).
    pub to_s: Option<f64>,
    /// Requests that failed meanwhile.
    pub requests_failed: u64,
}

/// One network partition and what it did.
#[derive(Clone, Debug, Serialize)]
pub struct PartitionReport {
    /// The groups of zones it cut apart (`a | b, c`).
    pub groups: String,
    /// Began at, seconds.
    pub from_s: f64,
    /// Healed at, seconds (null if still cut at the horizon).
    pub to_s: Option<f64>,
    /// Requests that failed while it lasted.
    pub requests_failed: u64,
}

/// One slowdown and what it did.
#[derive(Clone, Debug, Serialize)]
pub struct SlowReport {
    /// `pool/index`.
    pub replica: String,
    /// Began at, seconds.
    pub from_s: f64,
    /// Ended at, seconds (null if still slow at the horizon).
    pub to_s: Option<f64>,
    /// Service-time multiplier.
    pub factor: f64,
    /// Extra error probability (absent when zero).
    #[serde(skip_serializing_if = "is_zero_f64")]
    pub error_rate: f64,
    /// Requests sent to it that failed meanwhile.
    pub requests_failed: u64,
    /// Requests sent to it that succeeded meanwhile.
    pub requests_succeeded: u64,
    /// A random gray-failure episode (the pool's `gray_failures`), not only a scheduled `Slow`
    /// fault (absent when false).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub random: bool,
}

/// The random gray failures of a run (pools' `gray_failures`), whole run (warm-up included).
#[derive(Clone, Debug, Serialize)]
pub struct GrayReport {
    /// Episodes begun (all of them; `slowdowns` lists the first 1000 slowdowns).
    pub episodes: u64,
    /// Replicas with a gray-failure process.
    pub replicas: u32,
    /// Replica-time spent gray, seconds (episodes still open at the horizon cut there).
    pub gray_s: f64,
    /// gray_s / (replicas × horizon): expected E[duration] / (E[time_between] + E[duration]).
    pub gray_fraction: f64,
    /// Requests sent to the replicas that succeeded while they were gray.
    pub requests_succeeded: u64,
    /// Requests sent to the replicas that failed while they were gray.
    pub requests_failed: u64,
}

/// One scaling action.
#[derive(Clone, Debug, Serialize)]
pub struct ScaleActionReport {
    /// Decided at, seconds.
    pub at_s: f64,
    /// Replicas before (serving and warming).
    pub from: u32,
    /// Replicas after.
    pub to: u32,
    /// Why.
    pub reason: String,
}

/// One scale-out's lag: from the start of the first evaluation period over target to the new
/// capacity being warm, and what finished meanwhile.
#[derive(Clone, Debug, Serialize)]
pub struct ScaleLagReport {
    /// The breach began at, seconds (start of its first period).
    pub breach_s: f64,
    /// Scale-out decided at, seconds.
    pub decided_s: f64,
    /// New replicas warm at, seconds.
    pub ready_s: f64,
    /// Replicas before and after.
    pub from: u32,
    /// See `from`.
    pub to: u32,
    /// Requests that finished in [breach, ready).
    pub requests_finished: u64,
    /// Of those, failed.
    pub requests_failed: u64,
    /// Of those, succeeded slower than the p99 objective (absent without one).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub requests_slow: Option<u64>,
}

/// An autoscaled pool over the run.
#[derive(Clone, Debug, Serialize)]
pub struct ScalingReport {
    /// The pool.
    pub pool: String,
    /// Its bounds.
    pub min: u32,
    /// See `min`.
    pub max: u32,
    /// Fewest and most replicas decided at any time of the run.
    pub fewest: u32,
    /// See `fewest`.
    pub most: u32,
    /// Mean replicas provisioned over the window (what you pay for).
    pub mean_provisioned: f64,
    /// Mean replicas ready (warm, in rotation) over the window.
    pub mean_ready: f64,
    /// Fraction of the window at max.
    pub time_at_max: f64,
    /// Scaling actions (all of the run; the first 1000 listed).
    pub actions_total: u64,
    /// See `actions_total`.
    pub actions: Vec<ScaleActionReport>,
    /// Each scale-out's lag and its cost.
    pub scale_out_lag: Vec<ScaleLagReport>,
    /// Requests a scale-in failed (still held when the drain time ran out).
    pub failed_by_scale_in: u64,
    /// Per time-series window (from time zero): mean replicas provisioned.
    pub provisioned_per_window: Vec<f64>,
    /// Per time-series window: mean replicas ready.
    pub ready_per_window: Vec<f64>,
}

/// The statistics window.
#[derive(Clone, Debug, Serialize)]
pub struct Window {
    /// Start of the window (end of warm-up), seconds.
    pub warmup_s: f64,
    /// End of the run, seconds.
    pub horizon_s: f64,
}

/// A whole single-run report.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    /// hasim's version.
    pub hasim_version: String,
    /// The scenario's name.
    pub scenario: String,
    /// Hash of the scenario file's text (FNV-1a 64, hex).
    pub scenario_hash: String,
    /// The seed.
    pub seed: u64,
    /// The replication index.
    pub replication: u64,
    /// A command that reproduces this report.
    pub reproduce: String,
    /// The statistics window.
    pub window: Window,
    /// Request counts.
    pub requests: Requests,
    /// Availability.
    pub availability: Availability,
    /// Availability as SREs define it: objective, windows, nines, error budget, incidents.
    pub sre: Sre,
    /// Latency of successful requests.
    pub latency_ms: LatencyMs,
    /// Waiting before service.
    pub queueing: Queueing,
    /// Successful requests per second of window.
    pub throughput_rps: f64,
    /// Per replica.
    pub replicas: Vec<ReplicaReport>,
    /// Per replica group of the pools that have groups (absent when none has).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<crate::GroupReport>,
    /// Events the kernel handled.
    pub events: u64,
    /// Trajectory fingerprint (hex): a hash of every record in order.
    pub fingerprint: String,
    /// Replica crashes and their effect.
    pub faults: Faults,
    /// Retries, hedges, breakers, bulkheads (absent when no client has any).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resilience: Option<Resilience>,
    /// Per hop of multi-tier requests (absent when no pool has dependencies).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub dependencies: Vec<HopReport>,
    /// Per priority class, requests offered after warm-up (absent with a single class).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub priorities: Vec<ClassReport>,
    /// Queueing theory's closed forms, for pools that are M/M/c queues.
    pub theory: Vec<crate::Theory>,
    /// Clients of closed-loop users: throughput, response and cycle (absent when none).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub users: Vec<crate::UsersReport>,
    /// Autoscaled pools (absent when none is).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub autoscaling: Vec<ScalingReport>,
    /// Replicated stores (absent when the scenario has none).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub stores: Vec<crate::StoreReport>,
    /// The scenario's expectations and how this run fared.
    pub expectations: Vec<Verdict>,
    /// Defaults the scenario relied on and other things a reader must know.
    pub notes: Vec<String>,
    /// The run window by window (charts and `--timeseries`; not part of the JSON report).
    #[serde(skip)]
    pub series: Vec<WindowRow>,
    /// Successful latencies' quantiles, ms, from p0 to p100 (the CDF chart; not in the JSON).
    #[serde(skip)]
    pub latency_curve: Vec<(f64, f64)>,
    /// Replica names in global order (`pool/index`).
    #[serde(skip)]
    pub replica_names: Vec<String>,
    /// Set when the kernel stopped the run as stalled (no progress in virtual time): why, and
    /// in which component. The figures then mean nothing; the CLI reports an error instead.
    #[serde(skip)]
    pub stalled: Option<String>,
}

/// The latency CDF as (ms, fraction ≤) points: every recorded bucket, thinned to at most ~400
/// points so that a chart stays small.
fn latency_curve(c: &Collector, succeeded: u64) -> Vec<(f64, f64)> {
    if succeeded == 0 {
        return Vec::new();
    }
    cdf_points(&c.latency)
}

/// The CDF of a latency histogram (ns) as (ms, fraction ≤) points, at most ~400 of them.
pub fn cdf_points(h: &hdrhistogram::Histogram<u64>) -> Vec<(f64, f64)> {
    if h.is_empty() {
        return Vec::new();
    }
    let total = h.len() as f64;
    let mut points = Vec::new();
    let mut seen = 0u64;
    for v in h.iter_recorded() {
        seen += v.count_at_value();
        points.push((v.value_iterated_to() as f64 / 1e6, seen as f64 / total));
    }
    let step = points.len().div_ceil(400).max(1);
    let last = points.last().copied();
    let mut thinned: Vec<(f64, f64)> = points.into_iter().step_by(step).collect();
    if let Some(l) = last
        && thinned.last() != Some(&l)
    {
        thinned.push(l);
    }
    thinned
}

/// Rounds to `digits` decimals so that reports print stable, readable numbers.
pub(crate) fn round(x: f64, digits: i32) -> f64 {
    if !x.is_finite() {
        return x;
    }
    let f = [1.0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9][digits as usize];
    (x * f).round() / f
}

fn ratio(a: u128, b: u128) -> f64 {
    if b == 0 { 0.0 } else { a as f64 / b as f64 }
}

/// Everything a run's report is made of.
pub struct ReportInputs<'a> {
    /// Who made the report, of what, and how to get it again.
    pub meta: ReportMeta,
    /// The request path's statistics.
    pub collector: &'a Collector,
    /// The models' end-of-run figures.
    pub summary: &'a Summary,
    /// The topology that ran (warm-up, window, the theory line's parameters).
    pub spec: &'a models::spec::Spec,
    /// The objective windows are judged against.
    pub slo: &'a Slo,
    /// Notes, in the order they are printed.
    pub notes: Vec<String>,
    /// The stores' sections, in the scenario's order.
    pub stores: Vec<crate::StoreReport>,
    /// What the scenario expects of the report.
    pub expect: &'a [crate::Expectation],
}

impl Report {
    /// Builds a run's report in one step: request figures, stores, expectations' verdicts and
    /// the closed forms beside them.
    pub fn build(i: ReportInputs<'_>) -> Report {
        // A store's faults are incidents of the request path only when there is one.
        let store_faults = (i.stores.iter())
            .filter(|_| !i.spec.clients.is_empty())
            .flat_map(|s| s.section().incidents())
            .collect();
        let mut report = Report::new(
            i.meta,
            i.collector,
            i.summary,
            (i.spec.warmup.0, i.spec.window.0),
            i.slo,
            i.notes,
            store_faults,
        );
        crate::store::add_stores(&mut report, i.stores);
        report.check(i.expect);
        report.theory = crate::theory(i.spec);
        report.users = crate::users::users(i.spec, &i.collector.users, i.summary.window_ns);
        report
    }

    fn new(
        meta: ReportMeta,
        c: &Collector,
        s: &Summary,
        (warmup_ns, series_window_ns): (u64, u64),
        slo: &Slo,
        notes: Vec<String>,
        store_faults: Vec<FaultWindow>,
    ) -> Report {
        let succeeded = c.count(Outcome::Succeeded);
        let failed: u64 = Outcome::ALL
            .iter()
            .filter(|o| **o != Outcome::Succeeded)
            .map(|o| c.count(*o))
            .sum();
        let in_flight = c.offered - succeeded - failed;
        let ms = |ns: u64| round(ns as f64 / 1e6, 4);
        let q = |p: f64| {
            if succeeded == 0 {
                0.0
            } else {
                ms(c.latency.value_at_quantile(p))
            }
        };
        let ci = |h: f64| if h.is_finite() { Some(h) } else { None };
        let window_ns = s.window_ns as u128;
        let provisioned = |pool: &str, i: u32| {
            s.scaling
                .iter()
                .find(|x| x.name == pool)
                .and_then(|x| x.slot_provisioned_area.get(i as usize))
                .map(|a| round(ratio(*a, window_ns), 6))
        };
        let replicas = s
            .replicas
            .iter()
            .map(|r| ReplicaReport {
                pool: r.pool.clone(),
                index: r.index,
                utilisation: round(ratio(r.busy_area, window_ns * r.workers as u128), 6),
                mean_queue_length: round(ratio(r.queue_area, window_ns), 6),
                up_fraction: round(ratio(r.up_area, window_ns), 6),
                provisioned_fraction: provisioned(&r.pool, r.index),
                served: r.served,
                crashes: r.crashes,
            })
            .collect();
        let name = |r: u32| {
            s.replicas
                .get(r as usize)
                .map_or(format!("#{r}"), |x| format!("{}/{}", x.pool, x.index))
        };
        let without_effect = c.faults_without_effect + c.open_faults_without_effect();
        let faults = Faults {
            total: c.faults_total,
            without_effect,
            listed: c
                .faults
                .iter()
                .map(|f| FaultReport {
                    replica: name(f.replica),
                    down_s: f.down_at.0 as f64 / 1e9,
                    up_s: f.up_at.map(|t| t.0 as f64 / 1e9),
                    requests_lost: f.lost,
                    requests_refused: f.refused,
                    had_effect: c.fault_had_effect(f),
                })
                .collect(),
            slowdowns: c
                .slowdowns
                .iter()
                .map(|s| SlowReport {
                    replica: name(s.replica),
                    from_s: s.from.0 as f64 / 1e9,
                    to_s: s.to.map(|t| t.0 as f64 / 1e9),
                    factor: s.factor,
                    // 1 − (1 − e) is e only up to rounding.
                    error_rate: round(s.error_rate, 9),
                    requests_failed: s.failed,
                    requests_succeeded: s.succeeded,
                    random: s.random,
                })
                .collect(),
            gray: (s.gray_replicas > 0).then(|| {
                let end = warmup_ns + s.window_ns;
                let ns = c.gray_ns(sim_core::SimTime(end));
                GrayReport {
                    episodes: c.gray.episodes,
                    replicas: s.gray_replicas,
                    gray_s: round(ns as f64 / 1e9, 3),
                    gray_fraction: round(ratio(ns, s.gray_replicas as u128 * end as u128), 6),
                    requests_succeeded: c.gray.succeeded,
                    requests_failed: c.gray.failed,
                }
            }),
            partitions: c
                .partitions
                .iter()
                .map(|p| PartitionReport {
                    groups: s.partition_labels[p.index as usize].clone(),
                    from_s: p.from.0 as f64 / 1e9,
                    to_s: p.to.map(|t| t.0 as f64 / 1e9),
                    requests_failed: p.failed,
                })
                .collect(),
            balancer_outages: c
                .balancer_outages
                .iter()
                .map(|p| BalancerOutageReport {
                    balancer: s.balancer_names[p.index as usize].clone(),
                    from_s: p.from.0 as f64 / 1e9,
                    to_s: p.to.map(|t| t.0 as f64 / 1e9),
                    requests_failed: p.failed,
                })
                .collect(),
        };
        let request_availability = round(ratio(succeeded as u128, (succeeded + failed) as u128), 6);
        let horizon_ns = warmup_ns + s.window_ns;
        let series = c.series.rows(sim_core::SimTime(horizon_ns));
        let fault_windows: Vec<FaultWindow> = c
            .faults
            .iter()
            .map(|f| FaultWindow {
                fault: format!("replica {} crashed", name(f.replica)),
                start_ns: f.down_at.0,
                end_ns: f.up_at.map(|t| t.0),
                requests_failed: f.lost + f.refused,
                detected_ns: f.detected_at.map(|t| t.0),
            })
            .chain(c.slowdowns.iter().map(|s| FaultWindow {
                fault: if s.error_rate > 0.0 {
                    format!(
                        "replica {} gray ×{}, {}% errors{}",
                        name(s.replica),
                        s.factor,
                        round(s.error_rate * 100.0, 7),
                        if s.random { " (random)" } else { "" }
                    )
                } else {
                    format!(
                        "replica {} slow ×{}{}",
                        name(s.replica),
                        s.factor,
                        if s.random { " (random)" } else { "" }
                    )
                },
                start_ns: s.from.0,
                end_ns: s.to.map(|t| t.0),
                requests_failed: s.failed,
                detected_ns: None,
            }))
            .chain(c.partitions.iter().map(|p| FaultWindow {
                fault: format!("partition {}", s.partition_labels[p.index as usize]),
                start_ns: p.from.0,
                end_ns: p.to.map(|t| t.0),
                requests_failed: p.failed,
                detected_ns: p.detected_at.map(|t| t.0),
            }))
            .chain(c.balancer_outages.iter().map(|p| FaultWindow {
                fault: format!("balancer {} down", s.balancer_names[p.index as usize]),
                start_ns: p.from.0,
                end_ns: p.to.map(|t| t.0),
                requests_failed: p.failed,
                detected_ns: None,
            }))
            .chain(store_faults)
            .collect();
        let sre = Sre::new(
            &series,
            slo,
            series_window_ns,
            warmup_ns,
            request_availability,
            &fault_windows,
        );
        let latency_curve = latency_curve(c, succeeded);
        let lags = c.scaling.finished();
        let secs = |t: sim_core::SimTime| t.0 as f64 / 1e9;
        let autoscaling = s
            .scaling
            .iter()
            .enumerate()
            .map(|(k, x)| ScalingReport {
                pool: x.name.clone(),
                min: x.min,
                max: x.max,
                fewest: x.fewest,
                most: x.most,
                mean_provisioned: round(ratio(x.provisioned_area, window_ns), 4),
                mean_ready: round(ratio(x.ready_area, window_ns), 4),
                time_at_max: round(ratio(x.at_max_area, window_ns), 6),
                actions_total: x.events_total,
                actions: x
                    .events
                    .iter()
                    .map(|e| ScaleActionReport {
                        at_s: secs(e.at),
                        from: e.from,
                        to: e.to,
                        reason: e.reason.clone(),
                    })
                    .collect(),
                scale_out_lag: lags
                    .iter()
                    .filter(|l| l.pool == x.pool)
                    .map(|l| ScaleLagReport {
                        breach_s: secs(l.breach_since),
                        decided_s: secs(l.decided),
                        ready_s: secs(l.ready_at),
                        from: l.from,
                        to: l.to,
                        requests_finished: l.during.finished,
                        requests_failed: l.during.failed,
                        requests_slow: c.scaling.slow_ns.map(|_| l.during.slow),
                    })
                    .collect(),
                failed_by_scale_in: x.failed_by_scale_in,
                provisioned_per_window: series
                    .iter()
                    .map(|w| w.scaled.get(k).map_or(0.0, |v| round(v.0, 4)))
                    .collect(),
                ready_per_window: series
                    .iter()
                    .map(|w| w.scaled.get(k).map_or(0.0, |v| round(v.1, 4)))
                    .collect(),
            })
            .collect::<Vec<_>>();

        let replica_names = (0..s.replicas.len() as u32).map(name).collect();
        let mut notes = notes;
        if !autoscaling.is_empty() {
            notes.push("autoscaled pools: a replica is up only while provisioned, warm and not crashed; a slot not provisioned is not down (provisioned_fraction, and the autoscaling section, say how long each existed)".into());
        }
        // A consumer's crash is detected by its group's session timeout, not by a balancer.
        if c.faults.iter().any(|f| !c.is_consumer(f.replica)) && !s.health_checked {
            notes.push("no health check is configured: crashed replicas are never detected and keep receiving requests until repaired (time_to_detect_s is null)".into());
        }
        let undetected = sre
            .incidents
            .iter()
            .filter(|i| {
                i.fault.ends_with(" crashed") && i.time_to_detect_s.is_none() && i.end_s.is_some()
            })
            .count();
        if s.health_checked && undetected > 0 {
            notes.push(format!(
                "{undetected} crashes were repaired before a health check took the replica out of rotation (time_to_detect_s is null)"
            ));
        }
        if without_effect > 0 {
            notes.push(format!(
                "{without_effect} of {} crashes affected no request (the replica held no work and was sent none while down): check that the fault model does what you intend",
                c.faults_total
            ));
        }
        if c.faults_total > c.faults.len() as u64 {
            notes.push(format!(
                "{} crashes: the first {} are listed one by one",
                c.faults_total,
                c.faults.len()
            ));
        }
        Report {
            stalled: s.stalled.clone(),
            hasim_version: meta.hasim_version,
            scenario: meta.scenario,
            scenario_hash: meta.scenario_hash,
            seed: meta.seed,
            replication: meta.replication,
            reproduce: meta.reproduce,
            window: Window {
                warmup_s: warmup_ns as f64 / 1e9,
                horizon_s: (warmup_ns + s.window_ns) as f64 / 1e9,
            },
            requests: Requests {
                offered: c.offered,
                succeeded,
                failed,
                in_flight,
                failed_by: FailedBy {
                    rejected: c.count(Outcome::Rejected),
                    timed_out: c.count(Outcome::TimedOut),
                    crashed: c.count(Outcome::Crashed),
                    refused: c.count(Outcome::Refused),
                    error: c.count(Outcome::Error),
                    short_circuited: c.count(Outcome::ShortCircuited),
                },
            },
            availability: Availability {
                request: request_availability,
                time: round(ratio(s.service_up_area, window_ns), 6),
            },
            sre,
            latency_ms: LatencyMs {
                mean: round(ratio(c.latency_sum_ns, succeeded as u128) / 1e6, 4),
                mean_ci95: ci(c.latency_batches.half_width_95()).map(|h| round(h, 4)),
                p50: q(0.5),
                p90: q(0.9),
                p99: q(0.99),
                p999: q(0.999),
                max: ms(c.latency_max_ns),
            },
            queueing: Queueing {
                p_wait: round(c.waited_batches.mean().max(0.0), 6),
                p_wait_ci95: ci(c.waited_batches.half_width_95()).map(|h| round(h, 6)),
                mean_wait_ms: round(ratio(c.wait_sum_ns, succeeded as u128) / 1e6, 4),
                wait_ms: {
                    let w = |p: f64| {
                        if c.wait.is_empty() {
                            0.0
                        } else {
                            ms(c.wait.value_at_quantile(p))
                        }
                    };
                    WaitMs {
                        p50: w(0.5),
                        p90: w(0.9),
                        p99: w(0.99),
                        p999: w(0.999),
                    }
                },
            },
            throughput_rps: round(succeeded as f64 / (s.window_ns as f64 / 1e9), 4),
            replicas,
            groups: crate::fleet::groups(s),
            events: s.run.events,
            fingerprint: format!("{:016x}", c.fingerprint),
            stores: Vec::new(),
            autoscaling,
            expectations: Vec::new(),
            faults,
            resilience: s.resilient.then(|| {
                let x = &s.resilience;
                let finished: u64 = c.outcomes.iter().sum();
                Resilience {
                    attempts_per_request: round(ratio(c.attempts as u128, finished as u128), 4),
                    attempts: x.attempts,
                    retries: x.retries,
                    retries_denied_by_budget: x.budget_denied,
                    hedges: x.hedges,
                    hedges_cancelled: x.cancelled,
                    short_circuited: x.short_circuited,
                    breaker_openings: x.breaker_openings,
                    bulkhead_rejected: x.bulkhead_rejected,
                    rate_limited: x.rate_limited,
                    stale_served: x.stale_served,
                    stale_dropped: x.stale_dropped,
                }
            }),
            dependencies: s
                .hops
                .iter()
                .enumerate()
                .map(|(i, h)| HopReport::new(h, c.hops.get(i)))
                .collect(),
            priorities: c
                .classes
                .iter()
                .enumerate()
                .map(|(k, s)| {
                    let h = HopReport::new(&models::HopSummary::default(), Some(s));
                    ClassReport {
                        priority: k as u8,
                        requests: h.calls,
                        succeeded: h.succeeded,
                        availability: h.availability,
                        latency_ms: h.latency_ms,
                    }
                })
                .collect(),
            theory: Vec::new(),
            users: Vec::new(),
            notes,
            series,
            latency_curve,
            replica_names,
        }
    }

    /// Checks `expect` against this report and records the verdicts.
    fn check(&mut self, expect: &[crate::Expectation]) {
        self.expectations = expect.iter().map(|e| e.check(self)).collect();
    }

    /// True when every expectation holds.
    pub fn all_met(&self) -> bool {
        self.expectations.iter().all(|v| v.met)
    }

    /// A scenario of stores alone: no clients, no replicas, no request figures.
    pub fn stores_only(&self) -> bool {
        self.replicas.is_empty() && !self.stores.is_empty()
    }

    /// The JSON form (pretty, stable key order, trailing newline). A report of stores alone
    /// leaves out the request sections, which would all be zeros.
    pub fn to_json(&self) -> String {
        let json = if self.stores_only() {
            serde_json::to_string_pretty(&StoresOnly {
                hasim_version: &self.hasim_version,
                scenario: &self.scenario,
                scenario_hash: &self.scenario_hash,
                seed: self.seed,
                replication: self.replication,
                reproduce: &self.reproduce,
                window: &self.window,
                events: self.events,
                fingerprint: &self.fingerprint,
                stores: &self.stores,
                expectations: &self.expectations,
                notes: &self.notes,
            })
        } else {
            serde_json::to_string_pretty(self)
        };
        let mut s = json.unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
        s.push('\n');
        s
    }
}

/// The JSON contract of a report of stores alone: [`Report`] without its request sections.
#[derive(Serialize)]
struct StoresOnly<'a> {
    hasim_version: &'a str,
    scenario: &'a str,
    scenario_hash: &'a str,
    seed: u64,
    replication: u64,
    reproduce: &'a str,
    window: &'a Window,
    events: u64,
    fingerprint: &'a str,
    stores: &'a [crate::StoreReport],
    expectations: &'a [Verdict],
    notes: &'a [String],
}
