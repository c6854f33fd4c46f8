//! The `hasim` package: the command-line tool (`src/main.rs`) and the library it is built on:
//! [`Run`], the one pipeline from a validated scenario to its report (used by every command,
//! the tests and the benches), sweeps, hunts, snapshot tests, traces, charts, and atomic output
//! files. Parsing lives in `scenarios`, simulation in `models`/`sim-core`, figures in `reports`;
//! this crate only wires them together.

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
pub use sim_core::{Observer, SimDuration, SimTime, Stream};
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
