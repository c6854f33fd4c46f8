//! Figures of replicated stores: writes acknowledged, failed and lost, RPO and RTO per outage
//! (count, mean, p50, p90, max), split-brain writes, quorum read/write availability next to the
//! binomial closed form. Built from a [`StoreCollector`] (latency histograms and a fingerprint,
//! fed the store's records) and the store's integer summary. Stores count the whole run: they
//! have no queueing transient for a warm-up to cut.

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
            fingerprint: 0,
            cache: None,
        }
    }
}

impl Observer<StoreRecord> for StoreCollector {
    fn record(&mut self, now: SimTime, record: &StoreRecord) {
        mix(&mut self.fingerprint, now.0);
        if let StoreRecord::Cache {
            hit, ok, latency, ..
        } = *record
        {
            mix(
                &mut self.fingerprint,
                (2 + u64::from(hit)) << 1 | u64::from(ok),
            );
            mix(&mut self.fingerprint, latency.0);
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
        let (kind, ok, latency) = match *record {
            StoreRecord::Write { ok, latency, .. } => (0u64, ok, latency),
            StoreRecord::Read { ok, latency, .. } => (1, ok, latency),
            StoreRecord::Cache { .. } => unreachable!("cache records are handled above"),
        };
        mix(&mut self.fingerprint, kind << 1 | u64::from(ok));
        mix(&mut self.fingerprint, latency.0);
        if ok {
            let v = latency.0.clamp(1, HIGHEST_NS);
            if kind == 0 {
                self.writes.saturating_record(v);
                self.writes_sum_ns += u128::from(latency.0);
            } else {
                self.reads.saturating_record(v);
                self.reads_sum_ns += u128::from(latency.0);
            }
        }
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
    /// A cache in front of a backend.
    Cache(crate::cache::CacheReport),
}

impl StoreReport {
    /// The report of one store from its summary and collector.
    pub fn new(s: &StoreSummary, c: &StoreCollector) -> StoreReport {
        match s {
            StoreSummary::PrimaryBackup(p) => StoreReport::PrimaryBackup(pb(p, c)),
            StoreSummary::Quorum(q) => StoreReport::Quorum(quorum(q, c)),
            StoreSummary::Election(e) => StoreReport::Election(cluster(e)),
            StoreSummary::Cache(x) => StoreReport::Cache(crate::cache::cache(x, c)),
        }
    }

    /// Largest RPO over the failovers (0 for quorum stores).
    pub fn max_rpo(&self) -> f64 {
        match self {
            StoreReport::PrimaryBackup(p) => p.rpo_writes.max,
            StoreReport::Quorum(_) | StoreReport::Election(_) | StoreReport::Cache(_) => 0.0,
        }
    }

    /// Largest RTO over the outages, s (0 for quorum stores).
    pub fn max_rto_s(&self) -> f64 {
        match self {
            StoreReport::PrimaryBackup(p) => p.rto_s.max,
            StoreReport::Quorum(_) | StoreReport::Election(_) | StoreReport::Cache(_) => 0.0,
        }
    }
}

/// Adds the stores to a run's report: their figures, their events to the report's count and
/// their fingerprints to its fingerprint (a report without stores is left as it was).
pub fn add_stores(report: &mut crate::Report, stores: Vec<StoreReport>, events: u64) {
    if stores.is_empty() {
        return;
    }
    let mut h = u64::from_str_radix(&report.fingerprint, 16).unwrap_or(0);
    for s in &stores {
        let f = match s {
            StoreReport::PrimaryBackup(p) => &p.fingerprint,
            StoreReport::Quorum(q) => &q.fingerprint,
            StoreReport::Election(e) => &e.fingerprint,
            StoreReport::Cache(x) => &x.fingerprint,
        };
        mix(&mut h, u64::from_str_radix(f, 16).unwrap_or(0));
    }
    report.fingerprint = format!("{h:016x}");
    report.events += events;
    report.stores = stores;
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
    let ended: Vec<_> = e
        .elections
        .iter()
        .filter(|x| x.elected_at.is_some())
        .collect();
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
        elections: e.elections.len() as u64,
        split_elections: e.elections.iter().filter(|x| x.terms > 1).count() as u64,
        term: e.term,
        leader_availability: round(ratio(e.led_ns, u128::from(e.run.end.0)), 6),
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
        listed: e
            .elections
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

/// The stores' lines of the human table.
pub(crate) fn render(w: &mut String, stores: &[StoreReport]) {
    for s in stores {
        let _ = writeln!(w);
        match s {
            StoreReport::PrimaryBackup(p) => {
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
            StoreReport::Cache(c) => crate::cache::render(w, c),
            StoreReport::Election(e) => {
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
            StoreReport::Quorum(q) => {
                let _ = writeln!(
                    w,
                    "store        {} · quorum N {} R {} W {} · replica availability {} (MTBF / (MTBF + MTTR))",
                    q.name,
                    q.replicas,
                    q.read_quorum,
                    q.write_quorum,
                    q.theory.replica_availability
                );
                for (what, o, theory) in [
                    ("writes", &q.writes, q.theory.write_availability),
                    ("reads", &q.reads, q.theory.read_availability),
                ] {
                    let _ = writeln!(
                        w,
                        "  {what:<10} offered {}  ok {}  failed {}  availability {}  time {}  theory {}",
                        o.offered,
                        o.succeeded,
                        o.failed,
                        o.availability,
                        o.time_availability,
                        theory
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
        }
    }
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
