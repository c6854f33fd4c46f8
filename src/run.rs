//! The one way to run a scenario: build, run, report. `hasim run`, `sweep`, `hunt`, `compare`,
//! the tests and the benches all go through [`Run`], so a sweep's variant and `run --variant`
//! cannot disagree on a figure: they are the same run.
//!
//! ```no_run
//! # fn main() -> Result<(), scenarios::ScenarioError> {
//! let loaded = scenarios::load(std::path::Path::new("scenarios/web-tier.ron"))?;
//! let (report, _) = hasim::Run::new(&loaded).seed(7).replication(0).execute();
//! println!("p99 {} ms", report.latency_ms.p99);
//! # Ok(()) }
//! ```

use models::spec::Spec;
use models::store::StoreSummary;
use models::store_spec::StoreSpec;
use models::{Record, Summary, System};
use reports::{Collector, Report, ReportMeta, StoreCollector, UnitResult};
use scenarios::Loaded;
use sim_core::{NullObserver, Observer, SimTime, StopReason, StreamKey};

/// One run of a scenario, configured step by step.
pub struct Run<'a, O = NullObserver> {
    spec: &'a Spec,
    stores: &'a [StoreSpec],
    loaded: Option<&'a Loaded>,
    seed: u64,
    replication: u64,
    reproduce: String,
    notes: Vec<String>,
    observer: O,
}

/// What a run produced before any report is made of it: the figures sweeps fold and
/// statistical tests read.
pub struct Simulated<O> {
    /// The request topology's end-of-run summary.
    pub summary: Summary,
    /// The statistics collector (counts, histograms, time series, fingerprint).
    pub collector: Collector,
    /// Each store's summary and collector, in the scenario's order.
    pub stores: Vec<(StoreSummary, StoreCollector)>,
    /// Notes the run itself raised (an event limit reached).
    pub notes: Vec<String>,
    /// The extra observer, after the run.
    pub observer: O,
}

impl<'a> Run<'a, NullObserver> {
    /// A run of a loaded scenario file: its topology, stores, objective and expectations.
    pub fn new(loaded: &'a Loaded) -> Self {
        let mut run = Run::spec(&loaded.spec);
        run.stores = &loaded.stores;
        run.loaded = Some(loaded);
        run.seed = loaded.seed.unwrap_or(crate::DEFAULT_SEED);
        run
    }

    /// A run of a topology built in code (no stores, the default objective, no expectations).
    pub fn spec(spec: &'a Spec) -> Self {
        Run {
            spec,
            stores: &[],
            loaded: None,
            seed: crate::DEFAULT_SEED,
            replication: 0,
            reproduce: String::new(),
            notes: Vec::new(),
            observer: NullObserver,
        }
    }
}

impl<'a, O: Observer<Record>> Run<'a, O> {
    /// The seed every random stream derives from.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// The replication: replication r of every variant draws from the same streams.
    pub fn replication(mut self, replication: u64) -> Self {
        self.replication = replication;
        self
    }

    /// The command line printed in the report as the way to get it again.
    pub fn reproduce(mut self, command: impl Into<String>) -> Self {
        self.reproduce = command.into();
        self
    }

    /// Notes the caller wants in the report (before the scenario's own).
    pub fn notes(mut self, notes: Vec<String>) -> Self {
        self.notes = notes;
        self
    }

    /// Feeds every record to `observer` too (a trace writer, a determinism checker, a user's
    /// own metrics), beside the statistics collector.
    pub fn observe<P: Observer<Record>>(self, observer: P) -> Run<'a, P> {
        Run {
            spec: self.spec,
            stores: self.stores,
            loaded: self.loaded,
            seed: self.seed,
            replication: self.replication,
            reproduce: self.reproduce,
            notes: self.notes,
            observer,
        }
    }

    /// Runs the topology and its stores and returns their raw figures.
    pub fn simulate(self) -> Simulated<O> {
        let spec = self.spec;
        let key = StreamKey::new(self.seed, self.replication);
        let mut collector = Collector::new(SimTime(spec.warmup.0), spec.window.0)
            .with_priorities(spec.clients.iter().map(|c| c.priority).collect())
            .with_consumers(consumer_replicas(spec, self.stores))
            .with_users(
                (spec.clients.iter())
                    .map(|c| matches!(c.arrivals, models::spec::Arrivals::Users { .. }))
                    .collect(),
            );
        // Autoscaling lag counts successes over the p99 objective as slow, if there is one.
        collector.scaling.slow_ns = self.loaded.and_then(|l| {
            l.expect.iter().find_map(|e| match e {
                reports::Expectation::LatencyP99 { max } => Some(max.0),
                _ => None,
            })
        });
        let (mut summary, (mut collector, observer)) =
            System::with_stores(spec, self.stores, key, (collector, self.observer)).run();
        let mut notes = Vec::new();
        if summary.run.reason == StopReason::MaxEvents {
            notes.push(format!(
                "the run stopped at the event limit ({} events) before the horizon: figures cover a shorter window",
                spec.max_events
            ));
        }
        // Each store's figures with its own collector (one that saw no operation is empty).
        collector
            .stores
            .resize_with(summary.stores.len(), StoreCollector::default);
        let stores = std::mem::take(&mut summary.stores)
            .into_iter()
            .zip(std::mem::take(&mut collector.stores))
            .collect();
        Simulated {
            summary,
            collector,
            stores,
            notes,
            observer,
        }
    }

    /// Runs and builds the report, in one step; returns it with the extra observer.
    pub fn execute(self) -> (Report, O) {
        let loaded = self.loaded;
        let spec = self.spec;
        let meta = ReportMeta {
            hasim_version: crate::VERSION.to_string(),
            scenario: spec.name.clone(),
            scenario_hash: crate::scenario_hash(loaded.map_or("", |l| &l.source)),
            seed: self.seed,
            replication: self.replication,
            reproduce: self.reproduce.clone(),
        };
        let mut notes = self.notes.clone();
        if let Some(l) = loaded {
            notes.extend(l.notes.iter().cloned());
        }
        let sim = self.simulate();
        notes.extend(sim.notes);
        let slo = loaded.map_or_else(reports::Slo::default, |l| l.slo);
        let stores = sim
            .stores
            .iter()
            .map(|(s, c)| reports::StoreReport::new(s, c))
            .collect();
        let report = Report::build(reports::ReportInputs {
            meta,
            collector: &sim.collector,
            summary: &sim.summary,
            spec,
            slo: &slo,
            notes,
            stores,
            expect: loaded.map_or(&[], |l| &l.expect),
        });
        (report, sim.observer)
    }
}

impl<O> Simulated<O> {
    /// The request path's summary and collector, for tests and benches that read them.
    pub fn parts(self) -> (Summary, Collector) {
        (self.summary, self.collector)
    }

    /// The integers a sweep folds for unit `unit` (variant `variant`, replication
    /// `replication`): the same figures, events and fingerprint as the run's report.
    pub fn unit(self, unit: u64, variant: u32, replication: u32) -> UnitResult {
        let mut u = UnitResult::new(unit, variant, replication, self.collector, &self.summary);
        if !self.stores.is_empty() {
            let stores: Vec<_> = (self.stores.iter())
                .map(|(s, c)| reports::StoreReport::new(s, c))
                .collect();
            u.fingerprint = reports::with_stores_fingerprint(u.fingerprint, &stores);
            u.stores = stores
                .iter()
                .flat_map(reports::StoreReport::metrics)
                .collect();
        }
        u
    }
}

/// Per replica of `spec`, whether it is a member of a broker's consumer group (`stores`).
fn consumer_replicas(spec: &Spec, stores: &[StoreSpec]) -> Vec<bool> {
    let groups: Vec<u32> = (stores.iter())
        .filter_map(|s| match s {
            StoreSpec::Broker(b) => b.consumers.pool.map(|g| g.pool),
            _ => None,
        })
        .collect();
    (spec.pools.iter().enumerate())
        .flat_map(|(p, pool)| {
            let member = groups.contains(&(p as u32));
            std::iter::repeat_n(member, pool.replicas as usize)
        })
        .collect()
}
