//! The `hasim` package: the command-line tool (`src/main.rs`) and the few functions it shares
//! with the integration tests and benchmarks: run a validated scenario, build its report, write
//! output files atomically. Parsing lives in `scenarios`, simulation in `models`/`sim-core`,
//! figures in `reports`; this crate only wires them together.

pub mod diff;
pub mod hunt;
pub mod output;
pub mod sweep;
pub mod trace;
pub mod visual;

use models::System;
use models::spec::Spec;
use reports::{Collector, Report, ReportMeta};
use sim_core::{SimTime, StreamKey};
use std::io::Write;
use std::path::Path;

/// hasim's version, printed in every report.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The seed used when neither the command line nor the scenario gives one.
pub const DEFAULT_SEED: u64 = 1;

/// Runs replication `replication` of `spec` with `seed`; returns the end-of-run summary and
/// the statistics collector.
pub fn simulate(spec: &Spec, seed: u64, replication: u64) -> (models::Summary, Collector) {
    let collector = Collector::new(SimTime(spec.warmup.0), spec.window.0)
        .with_priorities(spec.clients.iter().map(|c| c.priority).collect());
    System::new(spec, StreamKey::new(seed, replication), collector).run()
}

/// Runs a loaded scenario and builds its report. `reproduce` is the command line that gives
/// the same report again.
pub fn run_report(
    loaded: &scenarios::Loaded,
    seed: u64,
    replication: u64,
    reproduce: String,
    extra_notes: Vec<String>,
) -> Report {
    run_observed(
        loaded,
        seed,
        replication,
        reproduce,
        extra_notes,
        sim_core::NullObserver,
    )
    .0
}

/// [`run_report`] with a second observer (a trace writer, a determinism checker) fed every
/// record beside the statistics collector; returns it after the run.
pub fn run_observed<O: sim_core::Observer<models::Record>>(
    loaded: &scenarios::Loaded,
    seed: u64,
    replication: u64,
    reproduce: String,
    extra_notes: Vec<String>,
    extra: O,
) -> (Report, O) {
    let spec = &loaded.spec;
    let mut collector = Collector::new(SimTime(spec.warmup.0), spec.window.0)
        .with_priorities(spec.clients.iter().map(|c| c.priority).collect());
    // Autoscaling lag counts successes over the p99 objective as slow, if there is one.
    collector.scaling.slow_ns = loaded.expect.iter().find_map(|e| match e {
        reports::Expectation::LatencyP99 { max } => Some(max.0),
        _ => None,
    });
    let observers = (collector, extra);
    let (summary, (collector, extra)) =
        System::new(spec, StreamKey::new(seed, replication), observers).run();
    let meta = ReportMeta {
        hasim_version: VERSION.to_string(),
        scenario: loaded.spec.name.clone(),
        scenario_hash: scenario_hash(&loaded.source),
        seed,
        replication,
        reproduce,
    };
    let mut notes = extra_notes;
    notes.extend(loaded.notes.iter().cloned());
    if summary.run.reason == sim_core::StopReason::MaxEvents {
        notes.push(format!(
            "the run stopped at the event limit ({} events) before the horizon: figures cover a shorter window",
            loaded.spec.max_events
        ));
    }
    // Stores run after the topology, each as its own model with its own streams: they share
    // nothing with it, so the order changes no number.
    let mut stores = Vec::with_capacity(loaded.stores.len());
    let mut store_events = 0;
    let mut stalled_store = None;
    for (i, store) in loaded.stores.iter().enumerate() {
        let (sum, col) = models::store::run_store(
            store,
            i as u32,
            StreamKey::new(seed, replication),
            SimTime(spec.horizon.0),
            spec.max_events,
            reports::StoreCollector::default(),
        );
        let run = sum.run();
        store_events += run.events;
        // Issue 16: a store's stall is an error too (the stores name no component further).
        if run.reason == sim_core::StopReason::Stalled {
            stalled_store = Some(format!(
                "the run made no progress in virtual time for {} events, in store `{}`",
                sim_core::STALL_EVENTS,
                store.name()
            ));
        }
        if run.reason == sim_core::StopReason::MaxEvents {
            notes.push(format!(
                "store `{}` stopped at the event limit ({} events) before the horizon",
                store.name(),
                spec.max_events
            ));
        }
        stores.push(reports::StoreReport::new(&sum, &col));
    }
    let mut report = Report::new(
        meta,
        &collector,
        &summary,
        loaded.spec.warmup.0,
        &loaded.slo,
        notes,
    );
    reports::add_stores(&mut report, stores, store_events);
    if report.stalled.is_none() {
        report.stalled = stalled_store;
    }
    report.check(&loaded.expect);
    report.theory = reports::theory(spec);
    (report, extra)
}

/// FNV-1a 64 of a scenario's text, as 16 hex digits: names the exact file a report came from.
pub fn scenario_hash(text: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.as_bytes() {
        h ^= *b as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{h:016x}")
}

/// Writes `contents` to `path` atomically: a temporary file in the same directory, then a
/// rename, so that no reader ever sees half a file.
/// Refuses to replace anything but a regular file ([`output::refuse_special`]); the temporary
/// file is removed on error and on SIGINT/SIGTERM ([`output`]).
pub fn write_atomically(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    output::refuse_special(path)?;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    let _registered = output::Registered::new(tmp.path());
    // A temporary file is private (0600); a report is for others to read, like any file the
    // user's shell would create.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        tmp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o644))?;
    }
    tmp.write_all(contents)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

thread_local! {
    static IN_GUARD: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    static LAST_PANIC: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
}

/// Runs `f`, turning a panic (an invariant assertion in the kernel or models) into its message
/// and location, so that callers can report it with the seed and the reproduce command instead
/// of a backtrace. Safe to call from many threads at once.
pub fn guarded<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    static HOOK: std::sync::Once = std::sync::Once::new();
    HOOK.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !IN_GUARD.with(|g| g.get()) {
                return default(info);
            }
            let p = info.payload();
            let msg = p
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "unknown panic".into());
            let at = info
                .location()
                .map(|l| format!(" (at {}:{})", l.file(), l.line()))
                .unwrap_or_default();
            LAST_PANIC.with(|l| *l.borrow_mut() = format!("{msg}{at}"));
        }));
    });
    let was = IN_GUARD.with(|g| g.replace(true));
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    IN_GUARD.with(|g| g.set(was));
    r.map_err(|_| LAST_PANIC.with(|l| l.take()))
}
