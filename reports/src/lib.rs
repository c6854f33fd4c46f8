//! `reports` turns what a run emitted (its [`models::Record`]s and end-of-run
//! [`models::Summary`]) into figures: counts, availability, latency percentiles with confidence
//! intervals, utilisation; and renders them as a table for people or JSON for programs.
//! It never runs a simulation and never touches files: the CLI decides where output goes.

#![warn(missing_docs)]
mod batch;
mod cache;
pub mod charts;
mod collector;
pub mod compare;
mod expect;
mod fleet;
pub mod html;
mod lock;
mod mser;
mod report;
mod sre;
mod store;
mod store_metrics;
mod sweep;
mod table;
mod theory;
pub mod timeseries;
mod users;

pub use batch::{BatchMeans, student_t_975};
pub use cache::{
    CacheBackend, CacheReport, CacheRequests, CacheWindowRow, RECOVERED_WITHIN, StampedeReport,
};
pub use collector::{Collector, FaultEffect, HopStats, MAX_FAULTS, mix_record};
pub use expect::{Expectation, Verdict};
pub use fleet::GroupReport;
pub use lock::{
    LockAcquisitions, LockAttempts, LockAvailability, LockReport, LockSafety, LockSections,
};
pub use mser::{Mser5, Truncation};
pub use report::{ClassReport, HopReport, Report, ReportInputs, ReportMeta, Resilience, WaitMs};
pub use sre::{DEFAULT_SLO_AVAILABILITY, FaultWindow, Incident, Slo, SloSource, Sre};
pub use store::{
    BrokerMessages, BrokerReport, BrokerWindowRow, ClusterReport, ElectionReport, LostBy,
    MAX_OUTAGES_LISTED, OpLatencyMs, OutageReport, PbReads, PbReport, PbWrites, QuorumOps,
    QuorumReport, QuorumTheory, Spread, StoreCollector, StoreReport, StoreSection, StoreSeries,
    with_stores_fingerprint,
};
pub use store_metrics::{
    StoreMetric, StoreValue, kind_metric_names, store_metric, store_metric_list, store_metric_names,
};
pub use sweep::{
    Column, Estimate, METRICS, Metric, Pooled, StoreAgg, SweepMeta, SweepReport, UnitResult,
    VariantAgg, VariantReport, estimate, unpaired_half_width,
};
pub use table::render_table;
pub use theory::{ASSUMES as THEORY_ASSUMES, Theory, theory};
pub use timeseries::{ReplicaLoad, TimeSeries, WindowRow};
pub use users::{Mva, UserStats, UsersReport, mva};
