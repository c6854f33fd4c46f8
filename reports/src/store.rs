//! Figures of replicated stores: writes acknowledged, failed and lost, RPO and RTO per outage
//! (count, mean, p50, p90, max), split-brain writes, quorum read/write availability next to the
//! binomial closed form. Built from a [`StoreCollector`] (latency histograms and a fingerprint,
//! fed the store's records) and the store's integer summary. Like the request path's, store
//! figures count from the end of warm-up (the stores' `warmup_ended`, and the collector counts
//! records after `WarmupEnded`); the fingerprints fold every record, so a warm-up changes none.
//! A cache counts the whole run (its filling is the point; its settled windows are its steady
//! state).

use crate::collector::{HIGHEST_NS, mix};
use hdrhistogram::Histogram;
use models::store::{
    ElectionSummary, OutageCause, PbSummary, QuorumSummary, StoreRecord, StoreSummary, k_of_n,
};
use serde::Serialize;
use sim_core::{Observer, SimTime};
use std::fmt::Write;

/// Outages listed one by one in a report; the rest are counted.
pub const MAX_OUTAGES_LISTED: usize = 100;

/// Latencies and a trajectory fingerprint of one store's operations.
#[derive(Clone, Debug)]
pub struct StoreCollector {
    /// Acknowledged writes' latency, ns.
    pub writes: Histogram<u64>,
    /// Exact sum of acknowledged writes' latency, ns.
    pub writes_sum_ns: u128,
    /// Successful reads' latency, ns.
    pub reads: Histogram<u64>,
    /// Exact sum of successful reads' latency, ns.
    pub reads_sum_ns: u128,
    /// Brokers: production → first successful processing, ns.
    pub consumed: Histogram<u64>,
    /// Exact sum of those delays, ns.
    pub consumed_sum_ns: u128,
    /// Hash of every record in order.
    pub fingerprint: u64,
    /// A cache's answered requests (made at its first record: other stores carry none).
    pub cache: Option<Box<CacheLatency>>,
}

/// Latencies of a cache's answered requests.
#[derive(Clone, Debug)]
pub struct CacheLatency {
    /// Hits and answered misses, ns.
    pub all: Histogram<u64>,
    /// Their exact sum, ns.
    pub all_sum_ns: u128,
    /// Answered misses alone, ns.
    pub misses: Histogram<u64>,
    /// Their exact sum, ns.
    pub misses_sum_ns: u128,
}

fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, HIGHEST_NS, 3)
        .unwrap_or_else(|e| unreachable!("fixed histogram bounds are valid: {e}"))
}

impl Default for StoreCollector {
    fn default() -> Self {
        let h = || {
            Histogram::new_with_bounds(1, HIGHEST_NS, 3)
                .unwrap_or_else(|e| unreachable!("fixed histogram bounds are valid: {e}"))
        };
        StoreCollector {
            writes: h(),
            writes_sum_ns: 0,
            reads: h(),
            reads_sum_ns: 0,
            consumed: h(),
            consumed_sum_ns: 0,
            fingerprint: 0,
            cache: None,
        }
    }
}

impl StoreCollector {
    /// A record during the warm-up: part of the trajectory (the fingerprint), not of the
    /// figures, which count from the end of warm-up as the request path's do.
    pub fn warming(&mut self, now: SimTime, record: &StoreRecord) {
        fold(&mut self.fingerprint, now, record);
    }

    /// Counts one record in the figures.
    fn count(&mut self, record: &StoreRecord) {
        if let StoreRecord::Cache {
            hit, ok, latency, ..
        } = *record
        {
            if ok {
                let c = self.cache.get_or_insert_with(|| {
                    Box::new(CacheLatency {
                        all: histogram(),
                        all_sum_ns: 0,
                        misses: histogram(),
                        misses_sum_ns: 0,
                    })
                });
                let v = latency.0.clamp(1, HIGHEST_NS);
                c.all.saturating_record(v);
                c.all_sum_ns += u128::from(latency.0);
                if !hit {
                    c.misses.saturating_record(v);
                    c.misses_sum_ns += u128::from(latency.0);
                }
            }
            return;
        }
        let (kind, ok, latency) = kind_ok_latency(record);
        if ok {
            let v = latency.0.clamp(1, HIGHEST_NS);
            if kind == 0 {
                self.writes.saturating_record(v);
                self.writes_sum_ns += u128::from(latency.0);
            } else if kind == 2 {
                self.consumed.saturating_record(v);
                self.consumed_sum_ns += u128::from(latency.0);
            } else {
                self.reads.saturating_record(v);
                self.reads_sum_ns += u128::from(latency.0);
            }
        }
    }
}

fn kind_ok_latency(record: &StoreRecord) -> (u64, bool, sim_core::SimDuration) {
    match *record {
        StoreRecord::Write { ok, latency, .. } => (0u64, ok, latency),
        StoreRecord::Read { ok, latency, .. } => (1, ok, latency),
        StoreRecord::Consumed { first, delay, .. } => (2, first, delay),
        StoreRecord::Cache {
            hit, ok, latency, ..
        } => (2 + u64::from(hit), ok, latency),
    }
}

/// Folds one record into a store's trajectory fingerprint.
fn fold(h: &mut u64, now: SimTime, record: &StoreRecord) {
    mix(h, now.0);
    let (kind, ok, latency) = kind_ok_latency(record);
    mix(h, kind << 1 | u64::from(ok));
    mix(h, latency.0);
}

impl Observer<StoreRecord> for StoreCollector {
    fn record(&mut self, now: SimTime, record: &StoreRecord) {
        fold(&mut self.fingerprint, now, record);
        self.count(record);
    }
}

/// Summary of a sample (RPO or RTO over outages): exact order statistics (nearest rank).
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Spread {
    /// Number of values.
    pub count: u64,
    /// Mean (0 when empty).
    pub mean: f64,
    /// Median.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// Largest.
    pub max: f64,
}

impl Spread {
    fn of(mut v: Vec<f64>, digits: i32) -> Spread {
        v.sort_by(f64::total_cmp);
        let n = v.len();
        let rank = |q: f64| {
            if n == 0 {
                0.0
            } else {
                // Nearest rank: the smallest value with at least q of the sample at or below it.
                let k = ((q * n as f64).ceil() as usize).clamp(1, n);
                v[k - 1]
            }
        };
        let mean = if n == 0 {
            0.0
        } else {
            v.iter().sum::<f64>() / n as f64
        };
        Spread {
            count: n as u64,
            mean: round(mean, digits),
            p50: round(rank(0.5), digits),
            p90: round(rank(0.9), digits),
            max: round(v.last().copied().unwrap_or(0.0), digits),
        }
    }
}

/// Latency of successful operations, ms.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct OpLatencyMs {
    /// Exact mean.
    pub mean: f64,
    /// Median (HDR, 3 significant digits).
    pub p50: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Largest.
    pub max: f64,
}

/// No latencies: all zero.
pub(crate) fn empty_latency() -> OpLatencyMs {
    OpLatencyMs {
        mean: 0.0,
        p50: 0.0,
        p99: 0.0,
        max: 0.0,
    }
}

pub(crate) fn latency(h: &Histogram<u64>, sum_ns: u128) -> OpLatencyMs {
    if h.is_empty() {
        return empty_latency();
    }
    // Zero latencies are recorded as 1 ns: report them as zero.
    let ms = |ns: u64| round(if ns <= 1 { 0.0 } else { ns as f64 / 1e6 }, 4);
    OpLatencyMs {
        mean: round(sum_ns as f64 / h.len() as f64 / 1e6, 4),
        p50: ms(h.value_at_quantile(0.5)),
        p99: ms(h.value_at_quantile(0.99)),
        max: ms(h.max()),
    }
}

pub(crate) fn round(x: f64, digits: i32) -> f64 {
    let f = [1.0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9][digits as usize];
    (x * f).round() / f
}

pub(crate) fn ratio(a: u128, b: u128) -> f64 {
    if b == 0 { 1.0 } else { a as f64 / b as f64 }
}

/// Write counts of a primary–backup store.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct PbWrites {
    /// Issued by clients.
    pub offered: u64,
    /// Acknowledged.
    pub acked: u64,
    /// Failed for any reason.
    pub failed: u64,
    /// Failed: no primary reachable (an outage, or a fenced primary).
    pub failed_unavailable: u64,
    /// Failed: synchronous replication reached no backup.
    pub failed_unreplicated: u64,
    /// Synchronous writes still waiting at the end.
    pub in_progress: u64,
    /// Acknowledged and held by a backup.
    pub durable: u64,
    /// Acknowledged and then lost in a failover (includes the conflicting ones).
    pub lost: u64,
    /// Acknowledged and still on their way to a backup at the end.
    pub replicating: u64,
    /// Acknowledged by a deposed primary after a promotion (split brain).
    pub conflicting: u64,
}

/// Reads of a primary–backup store.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct PbReads {
    /// Issued.
    pub offered: u64,
    /// Answered by a primary.
    pub ok: u64,
    /// Found no primary.
    pub failed: u64,
    /// Answered by a deposed primary after a promotion (stale; counted in `ok`).
    pub stale: u64,
    /// ok / offered.
    pub availability: f64,
    /// Reads answered by backups (`reads_from: Backups`; absent otherwise).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from_backups: Option<BackupReads>,
}

/// Reads a primary–backup store's backups answered, and how stale they were.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct BackupReads {
    /// Answered by a backup (the others went to the primary: no backup was up).
    pub answered: u64,
    /// Of those, answered without an acknowledged write the backup had not received yet.
    pub stale: u64,
    /// stale / answered.
    pub stale_share: f64,
    /// Mean staleness of the stale reads (now − the oldest acknowledged write missing), s.
    pub staleness_s_mean: f64,
    /// Largest staleness, s.
    pub staleness_s_max: f64,
}

/// One outage of the primary.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct OutageReport {
    /// The node that was primary.
    pub node: u32,
    /// `crash` or `partition`.
    pub cause: &'static str,
    /// When it began, s.
    pub start_s: f64,
    /// When its lease ran out (detection), s.
    pub lease_expiry_s: f64,
    /// When writes were accepted again, s (null if not by the end).
    pub end_s: Option<f64>,
    /// The backup promoted (null: the old primary came back first, or nothing yet).
    pub promoted: Option<u32>,
    /// Time writes failed, s.
    pub rto_s: Option<f64>,
    /// Acknowledged writes lost at the promotion.
    pub rpo_writes: u64,
    /// Writes that failed because of it.
    pub failed_writes: u64,
    /// Split-brain writes the old primary acknowledged after the promotion.
    pub conflicting_writes: u64,
}

/// A primary–backup store's figures.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct PbReport {
    /// The store's name.
    pub name: String,
    /// `synchronous` or `asynchronous`.
    pub replication: &'static str,
    /// Fencing on.
    pub fencing: bool,
    /// Backups.
    pub backups: u32,
    /// Write counts.
    pub writes: PbWrites,
    /// acked / (acked + failed).
    pub write_availability: f64,
    /// Acknowledged writes' latency (the replica round trip when synchronous).
    pub write_latency_ms: OpLatencyMs,
    /// Reads, when the store has any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reads: Option<PbReads>,
    /// Promotions.
    pub failovers: u64,
    /// Acknowledged writes lost per failover or restore from a snapshot.
    pub rpo_writes: Spread,
    /// Seconds writes failed, per outage that ended (failover or the old primary back).
    pub rto_s: Spread,
    /// Node crashes, random and scheduled.
    pub node_crashes: u64,
    /// Scheduled faults that found the primary already away.
    pub faults_skipped: u64,
    /// Outages of the primary (crash or partition), whether or not they ended in a failover.
    pub outages_total: u64,
    /// Snapshots taken.
    pub snapshots: u64,
    /// Disasters: every node's data lost, the store restored from its last snapshot.
    pub disasters: u64,
    /// Outages, the first [`MAX_OUTAGES_LISTED`].
    pub outages: Vec<OutageReport>,
    /// Hash of the store's records in order.
    pub fingerprint: String,
}

/// The closed form for a quorum store with independent replicas.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct QuorumTheory {
    /// One replica's availability MTBF / (MTBF + MTTR).
    pub replica_availability: f64,
    /// P(at least W of N up).
    pub write_availability: f64,
    /// P(at least R of N up).
    pub read_availability: f64,
}

/// Operations of one kind on a quorum store.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct QuorumOps {
    /// Issued.
    pub offered: u64,
    /// Met their quorum.
    pub succeeded: u64,
    /// Did not.
    pub failed: u64,
    /// succeeded / offered.
    pub availability: f64,
    /// Fraction of the run with the quorum up.
    pub time_availability: f64,
    /// Successful operations' latency.
    pub latency_ms: OpLatencyMs,
}

/// A quorum store's figures.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct QuorumReport {
    /// The store's name.
    pub name: String,
    /// N.
    pub replicas: u32,
    /// R.
    pub read_quorum: u32,
    /// W.
    pub write_quorum: u32,
    /// Writes.
    pub writes: QuorumOps,
    /// Reads.
    pub reads: QuorumOps,
    /// Binomial closed form.
    pub theory: QuorumTheory,
    /// Fraction of the run each replica was up.
    pub replica_up: Vec<f64>,
    /// Crashes per replica.
    pub replica_crashes: Vec<u64>,
    /// Hash of the store's records in order.
    pub fingerprint: String,
}

/// One leader election.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct ElectionReport {
    /// The leader that crashed.
    pub old_leader: u32,
    /// When, s.
    pub lost_at_s: f64,
    /// When the next leader was elected, s (null if not by the end).
    pub elected_at_s: Option<f64>,
    /// The new leader.
    pub new_leader: Option<u32>,
    /// Terms it took (more than 1: split votes).
    pub terms: u64,
    /// Time without a leader, s.
    pub unavailable_s: Option<f64>,
}

/// A leader-elected cluster's figures.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct ClusterReport {
    /// The store's name.
    pub name: String,
    /// Cluster size.
    pub nodes: u32,
    /// Leader crashes (elections begun).
    pub elections: u64,
    /// Elections that took more than one term (split votes or lost candidates).
    pub split_elections: u64,
    /// The last term reached (the first leader's is 1).
    pub term: u64,
    /// Fraction of the run with a leader.
    pub leader_availability: f64,
    /// Seconds without a leader, per election that ended.
    pub unavailable_s: Spread,
    /// Terms per election that ended.
    pub terms_per_election: Spread,
    /// Node crashes.
    pub node_crashes: u64,
    /// Scheduled crashes that found no leader.
    pub faults_skipped: u64,
    /// The first [`MAX_OUTAGES_LISTED`] elections.
    pub listed: Vec<ElectionReport>,
    /// Hash of the elections.
    pub fingerprint: String,
}

/// One store's figures.
#[derive(Clone, Debug, Serialize, PartialEq)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum StoreReport {
    /// A primary–backup store.
    PrimaryBackup(PbReport),
    /// A quorum store.
    Quorum(QuorumReport),
    /// A leader-elected cluster.
    Election(ClusterReport),
    /// A message broker.
    Broker(BrokerReport),
    /// A cache in front of a backend.
    Cache(crate::cache::CacheReport),
    /// A lock service.
    Lock(crate::lock::LockReport),
}

/// What every store kind's section of the report can do, whatever the kind: the one trait a
/// kind's report implements (its JSON comes from its `Serialize`).
pub trait StoreSection {
    /// The store's name.
    fn name(&self) -> &str;
    /// Its trajectory fingerprint (hex), mixed into the run's.
    fn fingerprint(&self) -> &str;
    /// Its lines of the human table.
    fn render(&self, w: &mut String);
    /// Its per-window series (none for kinds without window rows).
    fn series(&self) -> Vec<StoreSeries> {
        Vec::new()
    }
    /// Largest RPO over its failovers (0 where it has none).
    fn max_rpo(&self) -> f64 {
        0.0
    }
    /// Largest RTO over its outages, s (0 where it has none).
    fn max_rto_s(&self) -> f64 {
        0.0
    }
    /// Its faults, for the SRE view's incidents beside the request path's: each with the
    /// store's operations it failed; the incident adds when the end-to-end objective was met
    /// again.
    fn incidents(&self) -> Vec<crate::FaultWindow> {
        Vec::new()
    }
}

/// Seconds (as reports print them) back to nanoseconds.
pub(crate) fn ns(s: f64) -> u64 {
    (s * 1e9).round() as u64
}

impl StoreReport {
    /// The report of one store from its summary and collector.
    pub fn new(s: &StoreSummary, c: &StoreCollector) -> StoreReport {
        match s {
            StoreSummary::PrimaryBackup(p) => StoreReport::PrimaryBackup(pb(p, c)),
            StoreSummary::Quorum(q) => StoreReport::Quorum(quorum(q, c)),
            StoreSummary::Election(e) => StoreReport::Election(cluster(e)),
            StoreSummary::Broker(b) => StoreReport::Broker(broker(b, c)),
            StoreSummary::Cache(x) => StoreReport::Cache(crate::cache::cache(x, c)),
            StoreSummary::Lock(x) => StoreReport::Lock(crate::lock::lock(x, c)),
        }
    }

    /// Its section, whatever its kind.
    pub fn section(&self) -> &dyn StoreSection {
        match self {
            StoreReport::PrimaryBackup(p) => p,
            StoreReport::Quorum(q) => q,
            StoreReport::Election(e) => e,
            StoreReport::Broker(b) => b,
            StoreReport::Cache(x) => x,
            StoreReport::Lock(x) => x,
        }
    }

    /// Largest RPO over the failovers (0 for kinds without).
    pub fn max_rpo(&self) -> f64 {
        self.section().max_rpo()
    }

    /// Largest RTO over the outages, s (0 for kinds without).
    pub fn max_rto_s(&self) -> f64 {
        self.section().max_rto_s()
    }
}

impl StoreSection for PbReport {
    fn name(&self) -> &str {
        &self.name
    }
    fn fingerprint(&self) -> &str {
        &self.fingerprint
    }
    fn render(&self, w: &mut String) {
        render_pb(w, self)
    }
    fn max_rpo(&self) -> f64 {
        self.rpo_writes.max
    }
    fn max_rto_s(&self) -> f64 {
        self.rto_s.max
    }
    fn incidents(&self) -> Vec<crate::FaultWindow> {
        (self.outages.iter())
            .map(|o| crate::FaultWindow {
                fault: format!(
                    "store {}: primary node {} {} ({} writes failed, {} acknowledged lost)",
                    self.name, o.node, o.cause, o.failed_writes, o.rpo_writes
                ),
                start_ns: ns(o.start_s),
                end_ns: o.end_s.map(ns),
                requests_failed: o.failed_writes,
                detected_ns: Some(ns(o.lease_expiry_s)),
            })
            .collect()
    }
}

impl StoreSection for QuorumReport {
    fn name(&self) -> &str {
        &self.name
    }
    fn fingerprint(&self) -> &str {
        &self.fingerprint
    }
    fn render(&self, w: &mut String) {
        render_quorum(w, self)
    }
}

impl StoreSection for ClusterReport {
    fn name(&self) -> &str {
        &self.name
    }
    fn fingerprint(&self) -> &str {
        &self.fingerprint
    }
    fn render(&self, w: &mut String) {
        render_election(w, self)
    }
    fn incidents(&self) -> Vec<crate::FaultWindow> {
        (self.listed.iter())
            .map(|e| crate::FaultWindow {
                fault: format!(
                    "store {}: leader node {} lost ({} terms to a new one)",
                    self.name, e.old_leader, e.terms
                ),
                start_ns: ns(e.lost_at_s),
                end_ns: e.elected_at_s.map(ns),
                requests_failed: 0,
                detected_ns: None,
            })
            .collect()
    }
}

impl StoreSection for BrokerReport {
    fn name(&self) -> &str {
        &self.name
    }
    fn fingerprint(&self) -> &str {
        &self.fingerprint
    }
    fn render(&self, w: &mut String) {
        render_broker(w, self)
    }
    fn series(&self) -> Vec<StoreSeries> {
        let b = self;
        let s = |name: &str, f: &dyn Fn(&BrokerWindowRow) -> f64| StoreSeries {
            store: b.name.clone(),
            name: name.into(),
            unit: "messages".into(),
            window_s: b.window_s,
            points: b.windows.iter().map(|w| (w.end_s, f(w))).collect(),
        };
        // Backlog: time-averaged; lag: the largest in the window, counted from the
        // committed offsets (a message waiting for its visibility timeout holds its
        // partition's commit back).
        vec![
            s("backlog", &|w| w.backlog_mean),
            s("consumer lag", &|w| w.max_lag as f64),
        ]
    }
}

/// One per-window time series of a store, for charts and pages: every store kind that keeps
/// window rows exposes them this way (see [`StoreReport::series`]), so the page draws them
/// without knowing the kind. Values are plain numbers in `unit`; `points` are (end of the
/// window in s, value), one per window in time order (the last window may be shorter).
#[derive(Clone, Debug, PartialEq)]
pub struct StoreSeries {
    /// The store it belongs to.
    pub store: String,
    /// What is measured, e.g. `backlog`, `consumer lag`.
    pub name: String,
    /// Its unit, e.g. `messages`; series of the same name and unit share a chart panel.
    pub unit: String,
    /// The window, s.
    pub window_s: f64,
    /// (end of window s, value).
    pub points: Vec<(f64, f64)>,
}

impl StoreReport {
    /// The store's name.
    pub fn name(&self) -> &str {
        self.section().name()
    }

    /// Its per-window series (none for kinds without window rows).
    pub fn series(&self) -> Vec<StoreSeries> {
        self.section().series()
    }

    /// Its lines of the human table, each split into a label and the rest (for pages).
    pub fn table_lines(&self) -> Vec<(String, String)> {
        let mut text = String::new();
        render(&mut text, std::slice::from_ref(self));
        text.lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| {
                // Labels fill the first 13 columns ("store        ", "  writes     ").
                let cut = l.char_indices().nth(13).map_or(l.len(), |(i, _)| i);
                let (label, rest) = l.split_at(cut);
                if label.trim().is_empty() || !label.ends_with(' ') {
                    (String::new(), l.trim().to_string())
                } else {
                    (label.trim().to_string(), rest.trim().to_string())
                }
            })
            .collect()
    }
}

/// Adds the stores to a run's report: their figures, and their fingerprints to its fingerprint
/// (a report without stores is left as it was). Their events are the run's: one loop ran all.
pub(crate) fn add_stores(report: &mut crate::Report, stores: Vec<StoreReport>) {
    if stores.is_empty() {
        return;
    }
    let h = u64::from_str_radix(&report.fingerprint, 16).unwrap_or(0);
    report.fingerprint = format!("{:016x}", with_stores_fingerprint(h, &stores));
    report.stores = stores;
}

/// A run's fingerprint `h` with its stores' fingerprints mixed in, in order (unchanged without
/// stores): what a report prints and what a sweep unit carries.
pub fn with_stores_fingerprint(mut h: u64, stores: &[StoreReport]) -> u64 {
    for s in stores {
        let f = s.section().fingerprint();
        mix(&mut h, u64::from_str_radix(f, 16).unwrap_or(0));
    }
    h
}

fn pb(p: &PbSummary, c: &StoreCollector) -> PbReport {
    let k = &p.counts;
    let failed = k.failed_unavailable + k.failed_unreplicated;
    let s = |t: SimTime| round(t.0 as f64 / 1e9, 6);
    let rpo = p
        .outages
        .iter()
        .filter(|o| o.promoted.is_some() || o.cause == OutageCause::Disaster)
        .map(|o| o.lost as f64)
        .collect();
    let rto = p
        .outages
        .iter()
        .filter_map(|o| o.rto())
        .map(|d| d.0 as f64 / 1e9)
        .collect();
    PbReport {
        name: p.name.clone(),
        replication: if p.synchronous {
            "synchronous"
        } else {
            "asynchronous"
        },
        fencing: p.fencing,
        backups: p.backups,
        writes: PbWrites {
            offered: k.offered,
            acked: k.acked,
            failed,
            failed_unavailable: k.failed_unavailable,
            failed_unreplicated: k.failed_unreplicated,
            in_progress: k.in_progress,
            durable: k.durable,
            lost: k.lost,
            replicating: k.replicating,
            conflicting: k.conflicting,
        },
        write_availability: round(ratio(u128::from(k.acked), u128::from(k.acked + failed)), 6),
        write_latency_ms: latency(&c.writes, c.writes_sum_ns),
        reads: (k.reads_offered > 0).then(|| PbReads {
            offered: k.reads_offered,
            ok: k.reads_ok,
            failed: k.reads_offered - k.reads_ok,
            stale: k.reads_stale,
            availability: round(
                ratio(u128::from(k.reads_ok), u128::from(k.reads_offered)),
                6,
            ),
            from_backups: p.reads_from_backups.then(|| BackupReads {
                answered: k.reads_backup,
                stale: k.reads_backup_stale,
                stale_share: round(
                    ratio(u128::from(k.reads_backup_stale), u128::from(k.reads_backup)),
                    6,
                ),
                staleness_s_mean: round(
                    ratio(
                        u128::from(k.staleness_ns_sum),
                        u128::from(k.reads_backup_stale),
                    ) / 1e9,
                    6,
                ),
                staleness_s_max: round(k.staleness_ns_max as f64 / 1e9, 6),
            }),
        }),
        failovers: k.failovers,
        rpo_writes: Spread::of(rpo, 3),
        rto_s: Spread::of(rto, 6),
        node_crashes: k.node_crashes,
        faults_skipped: k.faults_skipped,
        outages_total: p.outages.len() as u64,
        snapshots: k.snapshots,
        disasters: k.disasters,
        outages: p
            .outages
            .iter()
            .take(MAX_OUTAGES_LISTED)
            .map(|o| OutageReport {
                node: o.node,
                cause: match o.cause {
                    OutageCause::Crash => "crash",
                    OutageCause::Partition => "partition",
                    OutageCause::Disaster => "disaster",
                },
                start_s: s(o.start),
                lease_expiry_s: s(o.lease_expiry),
                end_s: o.end.map(s),
                promoted: o.promoted,
                rto_s: o.rto().map(|d| round(d.0 as f64 / 1e9, 6)),
                rpo_writes: o.lost,
                failed_writes: o.failed,
                conflicting_writes: o.conflicting,
            })
            .collect(),
        fingerprint: format!("{:016x}", c.fingerprint),
    }
}

fn cluster(e: &ElectionSummary) -> ClusterReport {
    let s = |t: SimTime| round(t.0 as f64 / 1e9, 6);
    // The figures count the elections not over by the end of warm-up; the fingerprint all.
    let counted: Vec<_> = (e.elections.iter())
        .filter(|x| x.elected_at.is_none_or(|t| t >= e.since))
        .collect();
    let ended: Vec<_> = counted.iter().filter(|x| x.elected_at.is_some()).collect();
    let mut h = 0u64;
    for x in &e.elections {
        mix(&mut h, x.lost_at.0);
        mix(&mut h, x.elected_at.map_or(u64::MAX, |t| t.0));
        mix(
            &mut h,
            x.terms << 8 | u64::from(x.new_leader.unwrap_or(255)),
        );
    }
    ClusterReport {
        name: e.name.clone(),
        nodes: e.nodes,
        elections: counted.len() as u64,
        split_elections: counted.iter().filter(|x| x.terms > 1).count() as u64,
        term: e.term,
        leader_availability: round(ratio(e.led_ns, u128::from(e.run.end.0 - e.since.0)), 6),
        unavailable_s: Spread::of(
            ended
                .iter()
                .filter_map(|x| x.unavailable())
                .map(|d| d.0 as f64 / 1e9)
                .collect(),
            6,
        ),
        terms_per_election: Spread::of(ended.iter().map(|x| x.terms as f64).collect(), 3),
        node_crashes: e.node_crashes,
        faults_skipped: e.faults_skipped,
        listed: counted
            .iter()
            .take(MAX_OUTAGES_LISTED)
            .map(|x| ElectionReport {
                old_leader: x.old_leader,
                lost_at_s: s(x.lost_at),
                elected_at_s: x.elected_at.map(s),
                new_leader: x.new_leader,
                terms: x.terms,
                unavailable_s: x.unavailable().map(|d| round(d.0 as f64 / 1e9, 6)),
            })
            .collect(),
        fingerprint: format!("{h:016x}"),
    }
}

fn quorum(q: &QuorumSummary, c: &StoreCollector) -> QuorumReport {
    let t = u128::from(q.horizon_ns);
    let a = q.replica_availability;
    let ops = |o: &models::store::OpCounts, up: u128, h: &Histogram<u64>, sum: u128| QuorumOps {
        offered: o.offered,
        succeeded: o.succeeded,
        failed: o.failed,
        availability: round(ratio(u128::from(o.succeeded), u128::from(o.offered)), 6),
        time_availability: round(ratio(up, t), 6),
        latency_ms: latency(h, sum),
    };
    QuorumReport {
        name: q.name.clone(),
        replicas: q.replicas,
        read_quorum: q.read_quorum,
        write_quorum: q.write_quorum,
        writes: ops(&q.writes, q.write_up_ns, &c.writes, c.writes_sum_ns),
        reads: ops(&q.reads, q.read_up_ns, &c.reads, c.reads_sum_ns),
        theory: QuorumTheory {
            replica_availability: round(a, 6),
            write_availability: round(k_of_n(q.replicas, q.write_quorum, a), 6),
            read_availability: round(k_of_n(q.replicas, q.read_quorum, a), 6),
        },
        replica_up: q
            .replica_up_ns
            .iter()
            .map(|u| round(ratio(*u, t), 6))
            .collect(),
        replica_crashes: q.replica_crashes.clone(),
        fingerprint: format!("{:016x}", c.fingerprint),
    }
}

/// Messages lost, by cause.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct LostBy {
    /// `acks=0` messages sent while their partition had no leader.
    pub acks0_no_leader: u64,
    /// Appended by a leader that died before the follower that replaced it held them.
    pub unreplicated_leader_loss: u64,
    /// Deleted by retention before they were processed.
    pub retention: u64,
}

/// A broker's message counts. produced = producer_errors + lost + delivered + dead_lettered +
/// backlog + in_flight.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct BrokerMessages {
    /// Sent by the producer.
    pub produced: u64,
    /// Acknowledged to it (none with acks=0).
    pub acked: u64,
    /// Errors the producer saw: refused (no leader, too few in-sync replicas) or cut at a leader
    /// election before their acknowledgement (acks=all).
    pub producer_errors: u64,
    /// Lost, all causes.
    pub lost: u64,
    /// Lost, by cause.
    pub lost_by: LostBy,
    /// Of the lost, those the producer had been told were written.
    pub lost_acked: u64,
    /// Processed successfully at least once.
    pub delivered: u64,
    /// Processed again after a successful processing (at-least-once redelivery).
    pub duplicates: u64,
    /// Processings that failed.
    pub processing_failures: u64,
    /// Moved to the dead-letter queue after `max_receives` receives.
    pub dead_lettered: u64,
    /// Waiting at the end.
    pub backlog: u64,
    /// Being processed at the end.
    pub in_flight: u64,
}

/// One window of a broker's run.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct BrokerWindowRow {
    /// End of the window, s.
    pub end_s: f64,
    /// Produced in the window.
    pub produced: u64,
    /// Delivered (first successful processing) in the window.
    pub delivered: u64,
    /// Duplicate processings in the window.
    pub duplicates: u64,
    /// Lost in the window.
    pub lost: u64,
    /// Time-averaged messages not finished.
    pub backlog_mean: f64,
    /// Messages not finished at the end.
    pub backlog: u64,
    /// Consumer lag at the end (Σ high watermark − committed offset).
    pub lag: u64,
    /// Largest consumer lag in the window.
    pub max_lag: u64,
}

/// A message broker's figures.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct BrokerReport {
    /// The store's name.
    pub name: String,
    /// Broker nodes.
    pub brokers: u32,
    /// Partitions.
    pub partitions: u32,
    /// Replicas per partition.
    pub replication_factor: u32,
    /// `0`, `1` or `all`.
    pub acks: &'static str,
    /// Members of the consumer group.
    pub consumers: u32,
    /// Message counts.
    pub messages: BrokerMessages,
    /// Production → first successful processing, ms.
    pub delay_ms: OpLatencyMs,
    /// Time-averaged messages not finished (Little: production rate × mean time inside).
    pub mean_backlog: f64,
    /// Largest consumer lag, messages.
    pub max_lag: u64,
    /// Group rebalances.
    pub rebalances: u64,
    /// Time the group was paused by rebalances, s.
    pub paused_s: f64,
    /// Partition leader elections.
    pub elections: u64,
    /// Broker node crashes.
    pub node_crashes: u64,
    /// Consumer crashes.
    pub consumer_crashes: u64,
    /// Scheduled faults that found nothing to hit.
    pub faults_skipped: u64,
    /// The window of the rows, s.
    pub window_s: f64,
    /// One row per window.
    pub windows: Vec<BrokerWindowRow>,
    /// Hash of the broker's records in order.
    pub fingerprint: String,
}

fn broker(b: &models::store::BrokerSummary, c: &StoreCollector) -> BrokerReport {
    let k = &b.counts;
    // The figures' window: from the end of warm-up.
    let end = b.run.end.0 - b.since.0;
    BrokerReport {
        name: b.name.clone(),
        brokers: b.brokers,
        partitions: b.partitions,
        replication_factor: b.replication_factor,
        acks: match b.acks {
            models::store_spec::Acks::None => "0",
            models::store_spec::Acks::Leader => "1",
            models::store_spec::Acks::All => "all",
        },
        consumers: b.consumers,
        messages: BrokerMessages {
            produced: k.produced,
            acked: k.acked,
            producer_errors: k.refused + k.cut_unacked,
            lost: k.lost(),
            lost_by: LostBy {
                acks0_no_leader: k.dropped,
                unreplicated_leader_loss: k.lost_unreplicated,
                retention: k.lost_retention,
            },
            lost_acked: k.lost_acked,
            delivered: k.delivered,
            duplicates: k.duplicates,
            processing_failures: k.processing_failures,
            dead_lettered: k.dead_lettered,
            backlog: k.backlog,
            in_flight: k.in_flight,
        },
        delay_ms: latency(&c.consumed, c.consumed_sum_ns),
        mean_backlog: round(
            if end == 0 {
                0.0
            } else {
                b.backlog_area as f64 / end as f64
            },
            3,
        ),
        max_lag: b.max_lag,
        rebalances: k.rebalances,
        paused_s: round(b.paused_ns as f64 / 1e9, 6),
        elections: k.elections,
        node_crashes: k.node_crashes,
        consumer_crashes: k.consumer_crashes,
        faults_skipped: k.faults_skipped,
        window_s: round(b.window_ns as f64 / 1e9, 6),
        windows: b
            .windows
            .iter()
            .map(|w| BrokerWindowRow {
                end_s: round(w.end.0 as f64 / 1e9, 6),
                produced: w.produced,
                delivered: w.delivered,
                duplicates: w.duplicates,
                lost: w.lost,
                backlog_mean: round(
                    if w.length_ns == 0 {
                        w.backlog as f64
                    } else {
                        w.backlog_area as f64 / w.length_ns as f64
                    },
                    3,
                ),
                backlog: w.backlog,
                lag: w.lag,
                max_lag: w.max_lag,
            })
            .collect(),
        fingerprint: format!("{:016x}", c.fingerprint),
    }
}

/// The stores' lines of the human table.
pub(crate) fn render(w: &mut String, stores: &[StoreReport]) {
    for s in stores {
        let _ = writeln!(w);
        s.section().render(w);
    }
}

fn render_pb(w: &mut String, p: &PbReport) {
    let x = &p.writes;
    let _ = writeln!(
        w,
        "store        {} · primary + {} backup{} · {} replication · fencing {}",
        p.name,
        p.backups,
        if p.backups == 1 { "" } else { "s" },
        p.replication,
        if p.fencing { "on" } else { "off" }
    );
    let _ = writeln!(
        w,
        "  writes     offered {}  acked {}  failed {} (unavailable {}, unreplicated {})  availability {}",
        x.offered,
        x.acked,
        x.failed,
        x.failed_unavailable,
        x.failed_unreplicated,
        p.write_availability
    );
    let _ = writeln!(
        w,
        "  acked      durable {}  lost {}  replicating {}  split-brain conflicting {}",
        x.durable, x.lost, x.replicating, x.conflicting
    );
    if let Some(rd) = &p.reads {
        let _ = writeln!(
            w,
            "  reads      offered {}  ok {}  failed {}  stale (split brain) {}  availability {}",
            rd.offered, rd.ok, rd.failed, rd.stale, rd.availability
        );
        if let Some(b) = &rd.from_backups {
            let _ = writeln!(
                w,
                "  from backups {} answered, {} stale ({}): staleness mean {} s  max {} s",
                b.answered, b.stale, b.stale_share, b.staleness_s_mean, b.staleness_s_max
            );
        }
    }
    let l = &p.write_latency_ms;
    let _ = writeln!(
        w,
        "  latency ms mean {}  p50 {}  p99 {}  max {}",
        l.mean, l.p50, l.p99, l.max
    );
    let (r, t) = (&p.rpo_writes, &p.rto_s);
    let _ = writeln!(
        w,
        "  RPO writes {} failovers and restores: mean {}  p50 {}  p90 {}  max {}",
        r.count, r.mean, r.p50, r.p90, r.max
    );
    let _ = writeln!(
        w,
        "  RTO s      {} outages: mean {}  p50 {}  p90 {}  max {}",
        t.count, t.mean, t.p50, t.p90, t.max
    );
    if p.snapshots + p.disasters > 0 {
        let _ = writeln!(
            w,
            "  snapshots  {} taken · {} disasters restored from the last one",
            p.snapshots, p.disasters
        );
    }
    for o in p.outages.iter().take(10) {
        let end = match (o.end_s, o.promoted) {
            (Some(e), None) if o.cause == "disaster" => {
                format!("restored from the last snapshot at {e:.3}s")
            }
            (Some(e), Some(b)) => format!("node {b} promoted at {e:.3}s"),
            (Some(e), None) => format!("node {} back at {e:.3}s", o.node),
            (None, _) => "not over at the end".to_string(),
        };
        let rto = o.rto_s.map_or("—".to_string(), |r| format!("{r}s"));
        let split = if o.conflicting_writes > 0 {
            format!(", {} split-brain writes", o.conflicting_writes)
        } else {
            String::new()
        };
        let _ = writeln!(
            w,
            "  {:<9}  node {} at {:.3}s, lease out at {:.3}s, {end}: RTO {rto}, {} lost, {} failed{split}",
            o.cause, o.node, o.start_s, o.lease_expiry_s, o.rpo_writes, o.failed_writes
        );
    }
    if p.outages_total > 10 {
        let _ = writeln!(
            w,
            "  … {} more outages ({} listed in the JSON report)",
            p.outages_total - 10,
            p.outages.len()
        );
    }
}

fn render_election(w: &mut String, e: &ClusterReport) {
    let _ = writeln!(
        w,
        "store        {} · leader election over {} nodes · leader {} of the time",
        e.name, e.nodes, e.leader_availability
    );
    let (u, t) = (&e.unavailable_s, &e.terms_per_election);
    let _ = writeln!(
        w,
        "  elections  {} ({} took more than one term) · last term {} · node crashes {}",
        e.elections, e.split_elections, e.term, e.node_crashes
    );
    let _ = writeln!(
        w,
        "  no leader  s per election: mean {}  p50 {}  p90 {}  max {}",
        u.mean, u.p50, u.p90, u.max
    );
    let _ = writeln!(
        w,
        "  terms      per election: mean {}  max {}",
        t.mean, t.max
    );
}

fn render_quorum(w: &mut String, q: &QuorumReport) {
    let _ = writeln!(
        w,
        "store        {} · quorum N {} R {} W {} · replica availability {} (MTBF / (MTBF + MTTR))",
        q.name, q.replicas, q.read_quorum, q.write_quorum, q.theory.replica_availability
    );
    for (what, o, theory) in [
        ("writes", &q.writes, q.theory.write_availability),
        ("reads", &q.reads, q.theory.read_availability),
    ] {
        let _ = writeln!(
            w,
            "  {what:<10} offered {}  ok {}  failed {}  availability {}  time {}  theory {}",
            o.offered, o.succeeded, o.failed, o.availability, o.time_availability, theory
        );
        let l = &o.latency_ms;
        let _ = writeln!(
            w,
            "             latency ms mean {}  p50 {}  p99 {}  max {}",
            l.mean, l.p50, l.p99, l.max
        );
    }
    let ups: Vec<String> = q.replica_up.iter().map(|u| u.to_string()).collect();
    let _ = writeln!(
        w,
        "  replicas   up {}  crashes {:?}",
        ups.join(" "),
        q.replica_crashes
    );
}

fn render_broker(w: &mut String, b: &BrokerReport) {
    let m = &b.messages;
    let _ = writeln!(
        w,
        "store        {} · broker: {} partitions × {} replicas on {} nodes · acks {} · {} consumers",
        b.name, b.partitions, b.replication_factor, b.brokers, b.acks, b.consumers
    );
    let _ = writeln!(
        w,
        "  messages   produced {}  acked {}  producer errors {}  delivered {}  duplicates {}  dead-lettered {}",
        m.produced, m.acked, m.producer_errors, m.delivered, m.duplicates, m.dead_lettered
    );
    let _ = writeln!(
        w,
        "  lost       {} (acked {}): acks=0 without a leader {}, leader died unreplicated {}, retention {}",
        m.lost,
        m.lost_acked,
        m.lost_by.acks0_no_leader,
        m.lost_by.unreplicated_leader_loss,
        m.lost_by.retention
    );
    let _ = writeln!(
        w,
        "  at the end backlog {}  in flight {}  (processing failures {})",
        m.backlog, m.in_flight, m.processing_failures
    );
    let d = &b.delay_ms;
    let _ = writeln!(
        w,
        "  delay ms   produce → processed: mean {}  p50 {}  p99 {}  max {}",
        d.mean, d.p50, d.p99, d.max
    );
    let _ = writeln!(
        w,
        "  lag        mean backlog {}  max consumer lag {} · {} rebalances, paused {} s · {} leader elections · crashes: {} nodes, {} consumers",
        b.mean_backlog,
        b.max_lag,
        b.rebalances,
        b.paused_s,
        b.elections,
        b.node_crashes,
        b.consumer_crashes
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spread_uses_nearest_rank() {
        let s = Spread::of(vec![4.0, 1.0, 3.0, 2.0], 3);
        assert_eq!(
            (s.count, s.mean, s.p50, s.p90, s.max),
            (4, 2.5, 2.0, 4.0, 4.0)
        );
        let e = Spread::of(Vec::new(), 3);
        assert_eq!((e.count, e.max), (0, 0.0));
    }
}
