//! Every store kind's headline metrics, by name: what sweeps, `compare`, `hunt`, `--fail-if`
//! and `expect: [Store(…)]` read of a store. A metric's full name is `<store>.<metric>`
//! (`kv.write_availability`, `db.rto_s_max`); the list of a kind is fixed, so the names a
//! scenario has are known before it runs (validation and gates check them up front), and a
//! run's values are taken from its report section, the very figures the run report prints.

use crate::cache::CacheReport;
use crate::lock::LockReport;
use crate::store::{BrokerReport, ClusterReport, PbReport, QuorumReport, StoreReport};
use models::store_spec::StoreSpec;
use serde::{Deserialize, Serialize};

/// One metric of a store kind.
pub struct StoreMetric<R> {
    /// Its name after the store's (`write_availability`).
    pub name: &'static str,
    /// True when lower is better.
    pub lower_is_better: bool,
    /// Its value in a report section.
    pub value: fn(&R) -> f64,
}

/// One store metric's value in one run (a sweep unit carries these).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct StoreValue {
    /// `<store>.<metric>`.
    pub name: String,
    /// True when lower is better.
    pub lower_is_better: bool,
    /// Its value.
    pub value: f64,
}

const fn m<R>(name: &'static str, lower_is_better: bool, value: fn(&R) -> f64) -> StoreMetric<R> {
    StoreMetric {
        name,
        lower_is_better,
        value,
    }
}

/// The first metrics of each kind are its headline (a sweep table shows the first four).
const PRIMARY_BACKUP: &[StoreMetric<PbReport>] = &[
    m("write_availability", false, |p| p.write_availability),
    m("write_p99_ms", true, |p| p.write_latency_ms.p99),
    m("lost_acked_writes", true, |p| p.writes.lost as f64),
    m("rto_s_max", true, |p| p.rto_s.max),
    m("write_mean_ms", true, |p| p.write_latency_ms.mean),
    m("failed_writes", true, |p| p.writes.failed as f64),
    m("rpo_writes_max", true, |p| p.rpo_writes.max),
    m("rto_s_mean", true, |p| p.rto_s.mean),
    m("failovers", true, |p| p.failovers as f64),
];

const QUORUM: &[StoreMetric<QuorumReport>] = &[
    m("write_availability", false, |q| q.writes.availability),
    m("read_availability", false, |q| q.reads.availability),
    m("write_p99_ms", true, |q| q.writes.latency_ms.p99),
    m("read_p99_ms", true, |q| q.reads.latency_ms.p99),
    m("write_availability_time", false, |q| {
        q.writes.time_availability
    }),
    m("read_availability_time", false, |q| {
        q.reads.time_availability
    }),
    m("write_mean_ms", true, |q| q.writes.latency_ms.mean),
    m("read_mean_ms", true, |q| q.reads.latency_ms.mean),
    m("failed_writes", true, |q| q.writes.failed as f64),
    m("failed_reads", true, |q| q.reads.failed as f64),
];

const ELECTION: &[StoreMetric<ClusterReport>] = &[
    m("leader_availability", false, |e| e.leader_availability),
    m("unavailable_s_max", true, |e| e.unavailable_s.max),
    m("unavailable_s_mean", true, |e| e.unavailable_s.mean),
    m("elections", true, |e| e.elections as f64),
    m("split_elections", true, |e| e.split_elections as f64),
];

const BROKER: &[StoreMetric<BrokerReport>] = &[
    m("delay_p99_ms", true, |b| b.delay_ms.p99),
    m("lag_max", true, |b| b.max_lag as f64),
    m("lost_messages", true, |b| b.messages.lost as f64),
    m("duplicates", true, |b| b.messages.duplicates as f64),
    m("delay_mean_ms", true, |b| b.delay_ms.mean),
    m("lost_acked_messages", true, |b| {
        b.messages.lost_acked as f64
    }),
    m("delivered", false, |b| b.messages.delivered as f64),
    m("producer_errors", true, |b| {
        b.messages.producer_errors as f64
    }),
    m("dead_lettered", true, |b| b.messages.dead_lettered as f64),
    m("backlog_mean", true, |b| b.mean_backlog),
];

const CACHE: &[StoreMetric<CacheReport>] = &[
    m("hit_ratio", false, |c| c.hit_ratio),
    m("availability", false, |c| {
        let r = &c.requests;
        let answered = r.hits + r.misses_answered;
        crate::store::round(
            crate::store::ratio(u128::from(answered), u128::from(answered + r.failed)),
            6,
        )
    }),
    m("p99_ms", true, |c| c.latency_ms.p99),
    m("backend_utilisation", true, |c| c.backend.utilisation),
    m("mean_ms", true, |c| c.latency_ms.mean),
    m("miss_p99_ms", true, |c| c.miss_latency_ms.p99),
    m("failed", true, |c| c.requests.failed as f64),
    m("backend_rps", true, |c| c.backend.rate_per_s),
];

const LOCK: &[StoreMetric<LockReport>] = &[
    m("violations", true, |l| l.safety.violations as f64),
    m("availability_time", false, |l| l.availability.time),
    m("acquire_success_ratio", false, |l| {
        l.acquisitions.success_ratio
    }),
    m("rejected_by_fencing", true, |l| {
        l.sections.rejected_by_fencing as f64
    }),
    m("superseded_writes", true, |l| {
        l.safety.superseded_writes as f64
    }),
    m("acquire_wait_p99_ms", true, |l| l.acquisitions.wait_ms.p99),
    m("acquire_timeouts", true, |l| {
        l.acquisitions.timed_out as f64
    }),
];

fn names<R>(store: &str, list: &[StoreMetric<R>]) -> Vec<(String, bool)> {
    list.iter()
        .map(|x| (format!("{store}.{}", x.name), x.lower_is_better))
        .collect()
}

fn values<R>(store: &str, r: &R, list: &[StoreMetric<R>]) -> Vec<StoreValue> {
    list.iter()
        .map(|x| StoreValue {
            name: format!("{store}.{}", x.name),
            lower_is_better: x.lower_is_better,
            value: (x.value)(r),
        })
        .collect()
}

/// The metrics a store of this spec has, `(<store>.<metric>, lower is better)`, in order:
/// known before any run.
pub fn store_metric_names(spec: &StoreSpec) -> Vec<(String, bool)> {
    let n = spec.name();
    match spec {
        StoreSpec::PrimaryBackup(_) => names(n, PRIMARY_BACKUP),
        StoreSpec::Quorum(_) => names(n, QUORUM),
        StoreSpec::Election(_) => names(n, ELECTION),
        StoreSpec::Broker(_) => names(n, BROKER),
        StoreSpec::Cache(_) => names(n, CACHE),
        StoreSpec::Lock(_) => names(n, LOCK),
    }
}

impl StoreReport {
    /// Its metrics' values, in the order of [`store_metric_names`].
    pub fn metrics(&self) -> Vec<StoreValue> {
        let n = self.name();
        match self {
            StoreReport::PrimaryBackup(p) => values(n, p, PRIMARY_BACKUP),
            StoreReport::Quorum(q) => values(n, q, QUORUM),
            StoreReport::Election(e) => values(n, e, ELECTION),
            StoreReport::Broker(b) => values(n, b, BROKER),
            StoreReport::Cache(c) => values(n, c, CACHE),
            StoreReport::Lock(l) => values(n, l, LOCK),
        }
    }
}

/// The metric names of a store kind as scenario files spell it (`PrimaryBackup`, `Quorum`,
/// `Election`, `Broker`, `Cache`, `Lock`), for documentation and its tests.
pub fn kind_metric_names(kind: &str) -> Option<Vec<&'static str>> {
    fn of<R>(list: &[StoreMetric<R>]) -> Vec<&'static str> {
        list.iter().map(|x| x.name).collect()
    }
    Some(match kind {
        "PrimaryBackup" => of(PRIMARY_BACKUP),
        "Quorum" => of(QUORUM),
        "Election" => of(ELECTION),
        "Broker" => of(BROKER),
        "Cache" => of(CACHE),
        "Lock" => of(LOCK),
        _ => return None,
    })
}

/// The value of store metric `name` (`<store>.<metric>`) in a run's stores, if one has it.
pub fn store_metric(stores: &[StoreReport], name: &str) -> Option<f64> {
    let (store, _) = name.rsplit_once('.')?;
    stores
        .iter()
        .filter(|s| s.name() == store)
        .flat_map(StoreReport::metrics)
        .find(|v| v.name == name)
        .map(|v| v.value)
}

/// The store metric names of a scenario's stores, for a hint: `kv.write_availability, …`.
pub fn store_metric_list(stores: &[StoreSpec]) -> Vec<String> {
    stores
        .iter()
        .flat_map(store_metric_names)
        .map(|(n, _)| n)
        .collect()
}
