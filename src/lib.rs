//! The `hasim` package: the command-line tool (`src/main.rs`) and the library it is built on:
//! [`Run`], the one pipeline from a validated scenario to its report (used by every command,
//! the tests and the benches), sweeps, hunts, snapshot tests, traces, charts, and atomic output
//! files. Parsing lives in `scenarios`, simulation in `models`/`sim-core`, figures in `reports`;
//! this crate only wires them together, and re-exports what a program embedding hasim needs.
//!
//! # Use hasim from Rust
//!
//! Load a scenario from a file ([`load`]) or from text built in code ([`parse_str`]), run it
//! with a seed and a replication through [`Run`] — the very pipeline the command line uses —
//! and read the typed [`Report`]:
//!
//! ```
//! let text = r#"Scenario(
//!     name: "embedded",
//!     horizon: "10m",
//!     clients: [Client(name: "users", arrivals: Poisson(rate_per_s: 20.0), target: "lb")],
//!     balancers: [Balancer(name: "lb", policy: LeastRequest(choices: 2), target: "app")],
//!     pools: [Pool(name: "app", replicas: 4, workers: 2, service: Exponential(mean: "100ms"))],
//! )"#;
//! let loaded = hasim::parse_str(text, "embedded.ron")?;
//! let (report, _) = hasim::Run::new(&loaded).seed(7).replication(0).execute();
//! assert!(report.latency_ms.p99 > report.latency_ms.p50);
//! assert_eq!(report.availability.request, 1.0);
//! # Ok::<(), hasim::ScenarioError>(())
//! ```
//!
//! Replication `r` of any scenario draws from the same streams (`StreamKey(seed, r)`), so two
//! scenarios that differ only in a policy run on common random numbers.
//!
//! ## Your own balancing policy
//!
//! Implement [`CustomPolicy`], register a factory under a name in [`Extensions`] (its closure
//! reads and checks the scenario's `params`; an error it returns is shown at the parameter's
//! file:line:col), and refer to it as `Custom(name: "…", params: {…})` wherever a policy goes:
//!
//! ```
//! use hasim::{CustomPolicy, Extensions, PolicyView, Stream};
//!
//! /// The least loaded of `d` eligible backends sampled at random.
//! #[derive(Clone, Debug)]
//! struct LeastOfD(u32);
//!
//! impl CustomPolicy for LeastOfD {
//!     fn pick(&mut self, view: &PolicyView<'_>, rng: &mut Stream) -> usize {
//!         let e = view.eligible();
//!         (0..self.0)
//!             .map(|_| e[rng.below(e.len() as u32) as usize] as usize)
//!             .min_by_key(|&b| view.in_flight(b))
//!             .unwrap_or(e[0] as usize)
//!     }
//! }
//!
//! let ext = Extensions::new().policy("least_of_d", |params| {
//!     let d = params.u32_or("d", 2)?;
//!     if d == 0 {
//!         return Err(params.error("d", "d must be at least 1"));
//!     }
//!     Ok(move |_backends: usize| LeastOfD(d))
//! });
//! let text = r#"Scenario(
//!     name: "mine",
//!     horizon: "10m",
//!     clients: [Client(name: "users", arrivals: Poisson(rate_per_s: 20.0), target: "lb")],
//!     balancers: [Balancer(name: "lb", policy: Custom(name: "least_of_d", params: {"d": 3}),
//!         target: "app")],
//!     pools: [Pool(name: "app", replicas: 4, workers: 2, service: Exponential(mean: "100ms"))],
//! )"#;
//! let loaded = hasim::parse_str_with(text, "mine.ron", &ext)?;
//! let (report, _) = hasim::Run::new(&loaded).seed(7).execute();
//! assert!(report.requests.succeeded > 10_000);
//!
//! let bad = text.replace(r#"{"d": 3}"#, r#"{"d": 0}"#);
//! let e = hasim::parse_str_with(&bad, "mine.ron", &ext).unwrap_err();
//! assert!(e.to_string().starts_with("mine.ron:5:87: custom policy `least_of_d`: d must be"));
//! # Ok::<(), hasim::ScenarioError>(())
//! ```
//!
//! Each balancer instance gets its own value from the factory (one per caller with
//! `per_client`), and draws from that instance's policy stream (`balancer/NAME/policy`), the
//! stream a built-in policy would use. **Determinism** holds for a policy that keeps its state
//! in `self`, draws only from the `rng` it is given and never iterates over a `HashMap`:
//! [`trace::check_determinism`] runs a scenario twice and names the first record that differs.
//! Sweeps ([`scenarios::load_sweep_with`], then [`sweep`]) vary a custom policy's parameters by
//! path (`balancers[lb].policy.params.d`) with the same results on any number of threads and
//! shards.
//!
//! ## Your own metrics
//!
//! [`Run::observe`] feeds every typed [`Record`] to an [`Observer`] of yours as the run produces
//! it, beside hasim's own statistics:
//!
//! ```
//! use hasim::{Observer, Record, SimTime};
//!
//! /// Successes slower than 250 ms.
//! #[derive(Default)]
//! struct Slow(u64);
//!
//! impl Observer<Record> for Slow {
//!     fn record(&mut self, _now: SimTime, r: &Record) {
//!         if let Record::Finished { latency, .. } = r {
//!             self.0 += u64::from(latency.0 > 250_000_000);
//!         }
//!     }
//! }
//!
//! let text = r#"Scenario(
//!     name: "observed",
//!     horizon: "10m",
//!     clients: [Client(name: "users", arrivals: Poisson(rate_per_s: 8.0), target: "app")],
//!     pools: [Pool(name: "app", replicas: 1, workers: 1, service: Exponential(mean: "100ms"))],
//! )"#;
//! let loaded = hasim::parse_str(text, "observed.ron")?;
//! let (report, slow) = hasim::Run::new(&loaded).observe(Slow::default()).execute();
//! assert!(slow.0 > 0 && slow.0 < report.requests.offered);
//! # Ok::<(), hasim::ScenarioError>(())
//! ```

#![warn(missing_docs)]

pub mod diff;
pub mod gate;
pub mod hunt;
pub mod output;
pub mod run;
pub mod snapshot;
pub mod sweep;
pub mod trace;
pub mod visual;

pub use run::{Run, Simulated};

// The library API (README, "Use hasim from Rust"): load or write a scenario, register your own
// components, run it through `Run`, read the typed report. Everything a user needs is here,
// whichever crate it lives in.
pub use models::Record;
pub use models::balancer::{CustomPolicy, PolicyView};
pub use reports::Report;
pub use scenarios::{
    Extensions, Loaded, ParamError, Params, ScenarioError, load, load_with, parse_str,
    parse_str_with,
};
pub use sim_core::{CustomDistribution, Dist, Observer, SimDuration, SimTime, Stream};
use std::io::Write;
use std::path::Path;

/// hasim's version, printed in every report.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The seed used when neither the command line nor the scenario gives one.
pub const DEFAULT_SEED: u64 = 1;

/// A file's path as reports show it: relative to the working directory, whether it was typed
/// relative or absolute (`/home/me/repo/scenarios/mm1.ron` run from `/home/me/repo` shows as
/// `scenarios/mm1.ron`), with `.` and `..` resolved by the text alone. A report therefore does
/// not depend on how its file was named on the command line.
pub fn shown_path(path: &Path) -> String {
    use std::path::Component;
    let Ok(cwd) = std::env::current_dir() else {
        return path.display().to_string();
    };
    fn clean(p: &Path) -> Vec<Component<'_>> {
        let mut out: Vec<Component<'_>> = Vec::new();
        for c in p.components() {
            match c {
                Component::CurDir => {}
                Component::ParentDir if matches!(out.last(), Some(Component::Normal(_))) => {
                    out.pop();
                }
                c => out.push(c),
            }
        }
        out
    }
    let full = cwd.join(path);
    let (file, here) = (clean(&full), clean(&cwd));
    let common = file.iter().zip(&here).take_while(|(a, b)| a == b).count();
    // Outside the root's first folder: `../..` up to `/` says nothing clearer than the
    // absolute path.
    if common <= 1 {
        return full.display().to_string();
    }
    let mut rel = std::path::PathBuf::new();
    for _ in common..here.len() {
        rel.push("..");
    }
    for c in &file[common..] {
        rel.push(c.as_os_str());
    }
    rel.display().to_string()
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
