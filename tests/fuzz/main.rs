//! The fuzzer (issue 16): hostile scenario files must never crash, hang or exhaust memory.
//!
//! Inputs are of three kinds, drawn from a fixed seed: random scenario ASTs generated from the
//! raw RON schema (`generate`: every component, field and variant, with values that are sometimes
//! ordinary and sometimes hostile: 0, 2³²−1, 1e308, NaN, "0s", names of 64 KiB or with control
//! characters, references to nothing), mutations of the example files (scenarios/, tests/data/
//! good and bad, the sweep files: numbers, strings and variant names swapped for hostile ones,
//! lines deleted, duplicated or cut), and byte-level flips of those. Each goes through what
//! `hasim check` does (parse and validate) and, when valid, a bounded `hasim run` (at most
//! `MAX_EVENTS` events, report rendered as a table and JSON), in this process, with panics
//! caught. A sweep input is written beside a base scenario and loaded as a sweep.
//!
//! Budgets: every input must finish within `PER_INPUT_S` seconds (a watchdog aborts the process
//! naming the input if one runs past `HANG_S`), and the process runs under an address-space
//! limit of `MEMORY_GIB` GiB (`prlimit`), so an allocation past its budget aborts the test
//! instead of passing. The input being tried is written to `fuzz-current.ron` in Cargo's
//! temporary folder first, so that an abort leaves it behind; failures found are written to
//! `fuzz-failures/` there and listed. Each crasher found becomes a file in tests/data/bad.
//!
//! `cargo test --test fuzz` tries `DEFAULT_INPUTS` inputs (about a minute on a 2-core machine);
//! `HASIM_FUZZ_INPUTS=1000000` tries more, `HASIM_FUZZ_SEED` changes the seed.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

mod generate;
mod mutate;

/// Inputs per `cargo test`.
const DEFAULT_INPUTS: u64 = 15_000;
/// The bound on a run's events.
const MAX_EVENTS: u64 = 5_000;
/// Seconds an input (check and bounded run) may take.
const PER_INPUT_S: f64 = 5.0;
/// Seconds after which the watchdog declares a hang and aborts.
const HANG_S: u64 = 60;
/// The address-space limit of the fuzzing process.
const MEMORY_GIB: u64 = 8;

/// SplitMix64: small, fast and fixed, so that a seed names the same inputs forever. Carries
/// the current scenario's mood: how often a value is hostile, how often a field is wrong.
pub struct Rng {
    state: u64,
    pub hostile: f64,
    pub noise: f64,
}

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng {
            state: seed,
            hostile: 0.08,
            noise: 0.02,
        }
    }
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    /// Uniform in 0..n (n > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }
    pub fn chance(&mut self, p: f64) -> bool {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64 <= p
    }
    pub fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len())]
    }
}

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The example files mutations start from: every scenario, good and bad test file.
fn corpus() -> Vec<(String, String)> {
    let mut out = Vec::new();
    for dir in [
        "scenarios",
        "tests/data/good",
        "tests/data/bad",
        "tests/data/breakers",
    ] {
        let Ok(entries) = std::fs::read_dir(root().join(dir)) else {
            continue;
        };
        let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
        paths.sort();
        for p in paths {
            if p.extension().is_some_and(|x| x == "ron")
                && let Ok(text) = std::fs::read_to_string(&p)
            {
                out.push((p.display().to_string(), text));
            }
        }
    }
    assert!(out.len() > 50, "corpus: only {} files", out.len());
    out
}

/// The sweep files mutations start from, and the base scenario they point at.
fn sweep_corpus() -> Vec<String> {
    let dir = root().join("tests/data/sweeps");
    let mut out: Vec<String> = std::fs::read_dir(&dir)
        .map(|r| {
            r.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| std::fs::read_to_string(p).is_ok_and(|t| t.contains("Sweep(")))
                .filter_map(|p| std::fs::read_to_string(p).ok())
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

/// What an input did wrong.
struct Failure {
    index: u64,
    what: String,
}

/// Limits this process's address space, so that an allocation past the budget fails (and
/// aborts the test) instead of succeeding on a large machine.
fn limit_memory() {
    let pid = std::process::id().to_string();
    let limit = format!("--as={}", MEMORY_GIB << 30);
    let ok = std::process::Command::new("prlimit")
        .args(["--pid", &pid, &limit])
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        ok,
        "prlimit (util-linux) is needed to bound the fuzzer's memory"
    );
}

/// Checks one scenario text as `hasim check` and a bounded `hasim run` would; true when it
/// was valid and ran.
#[allow(clippy::result_large_err)] // a diagnostic, built once on the error path
fn try_scenario(text: &str) -> Result<bool, String> {
    let parsed = hasim::guarded(|| {
        scenarios::parse_str(text, "fuzz.ron").map(|mut l| {
            l.spec.max_events = l.spec.max_events.min(MAX_EVENTS);
            l
        })
    })
    .map_err(|m| format!("check panicked: {m}"))?;
    let loaded = match parsed {
        Ok(l) => l,
        Err(e) => {
            // The message is shown to users: it must render.
            let shown = e.to_string();
            if shown.is_empty() {
                return Err("an empty error message".into());
            }
            if std::env::var_os("HASIM_FUZZ_SHOW_ERRORS").is_some() {
                eprintln!("refused: {}", e.message);
            }
            return Ok(false);
        }
    };
    hasim::guarded(|| {
        let report = hasim::Run::new(&loaded)
            .seed(1)
            .reproduce("fuzz")
            .execute()
            .0;
        let _ = reports::render_table(&report);
        let _ = report.to_json();
    })
    .map(|()| true)
    .map_err(|m| format!("run panicked: {m}"))
}

/// Checks one sweep text, beside the sweep tests' base scenario.
fn try_sweep(text: &str, dir: &Path) -> Result<bool, String> {
    let path = dir.join("sweep.ron");
    std::fs::write(&path, text).map_err(|e| e.to_string())?;
    hasim::guarded(|| match scenarios::load_sweep(&path) {
        Ok(s) => {
            let _ = hasim::sweep::header(&s, 1, false);
            true
        }
        Err(_) => false,
    })
    .map_err(|m| format!("sweep check panicked: {m}"))
}

#[test]
#[allow(clippy::disallowed_methods)] // the fuzzer's own time budget, not simulation time
fn hostile_inputs_never_crash_hang_or_exhaust_memory() {
    let inputs = std::env::var("HASIM_FUZZ_INPUTS")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(DEFAULT_INPUTS);
    let seed = std::env::var("HASIM_FUZZ_SEED")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(16);
    limit_memory();
    let tmp = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let current = tmp.join("fuzz-current.ron");
    let failures_dir = tmp.join("fuzz-failures");
    let sweep_dir = tempfile::tempdir().expect("tempdir");
    std::fs::copy(
        root().join("tests/data/sweeps/base.ron"),
        sweep_dir.path().join("base.ron"),
    )
    .expect("base.ron");
    let corpus = corpus();
    let sweeps = sweep_corpus();

    // The watchdog: an input still running after HANG_S seconds is a hang.
    let started = std::time::Instant::now();
    let since = Arc::new(AtomicU64::new(0)); // ms since `started` when the input began
    let watched = Arc::clone(&since);
    // What is running: 0 generating input #n, 1 checking and running it (n·2 + phase).
    let phase = Arc::new(AtomicU64::new(0));
    let watched_phase = Arc::clone(&phase);
    let current_shown = current.display().to_string();
    std::thread::spawn(move || {
        loop {
            std::thread::sleep(std::time::Duration::from_secs(1));
            let now = started.elapsed().as_millis() as u64;
            if now.saturating_sub(watched.load(Ordering::Relaxed)) > HANG_S * 1000 {
                let p = watched_phase.load(Ordering::Relaxed);
                if p.is_multiple_of(2) {
                    eprintln!(
                        "fuzz: generating input #{} took more than {HANG_S} s (a bug of the fuzzer)",
                        p / 2
                    );
                } else {
                    eprintln!(
                        "fuzz: input #{} ran for more than {HANG_S} s: it is in {current_shown}",
                        p / 2
                    );
                }
                std::process::abort();
            }
        }
    });

    let mut rng = Rng::new(seed);
    let mut failures: Vec<Failure> = Vec::new();
    let mut counts = [0u64; 4];
    let mut slowest = (0.0f64, 0u64);
    let mut slowest_text = String::new();
    let mut valid = 0u64;
    for index in 0..inputs {
        since.store(started.elapsed().as_millis() as u64, Ordering::Relaxed);
        phase.store(index * 2, Ordering::Relaxed);
        let kind = rng.below(100);
        let (k, text) = match kind {
            0..=39 => (0, generate::scenario(&mut rng)),
            _ if std::env::var_os("HASIM_FUZZ_ONLY_GENERATED").is_some() => {
                (0, generate::scenario(&mut rng))
            }
            40..=87 => {
                let (_, base) = rng.pick(&corpus);
                (1, mutate::text(&mut rng, base))
            }
            88..=97 => {
                let (_, base) = rng.pick(&corpus);
                (2, mutate::bytes(&mut rng, base))
            }
            _ => {
                let base = rng.pick(&sweeps);
                (3, mutate::text(&mut rng, base))
            }
        };
        counts[k] += 1;
        if index > 0 && index % 50_000 == 0 {
            eprintln!(
                "fuzz: {index} inputs, {valid} valid, {} failures, {:.0} s",
                failures.len(),
                started.elapsed().as_secs_f64()
            );
        }
        // Left behind if the process aborts (memory, hang).
        let _ = std::fs::write(&current, &text);
        let t0 = started.elapsed();
        since.store(t0.as_millis() as u64, Ordering::Relaxed);
        phase.store(index * 2 + 1, Ordering::Relaxed);
        let result = if k == 3 {
            try_sweep(&text, sweep_dir.path())
        } else {
            try_scenario(&text)
        };
        let took = (started.elapsed() - t0).as_secs_f64();
        if std::env::var_os("HASIM_FUZZ_SHOW").is_some() {
            eprintln!(
                "--- input #{index}: {result:?}\n{}",
                text.chars().take(3000).collect::<String>()
            );
        }
        if took > slowest.0 {
            slowest = (took, index);
            slowest_text.clone_from(&text);
        }
        let result = result.and_then(|ran| {
            valid += u64::from(ran);
            if took > PER_INPUT_S {
                Err(format!("took {took:.1} s, more than {PER_INPUT_S} s"))
            } else {
                Ok(())
            }
        });
        if let Err(what) = result {
            // Shown and kept at once: a long run's findings survive its interruption.
            let _ = std::fs::create_dir_all(&failures_dir);
            let p = failures_dir.join(format!("seed{seed}-input{index}.ron"));
            let _ = std::fs::write(&p, &text);
            eprintln!("fuzz: input #{index} failed: {what} ({})", p.display());
            failures.push(Failure { index, what });
            if failures.len() >= 100 {
                break;
            }
        }
    }
    eprintln!(
        "fuzz: seed {seed}, {} generated, {} mutated, {} byte-flipped, {} sweeps; {valid} valid (run); slowest input #{} took {:.3} s; {} failures; {:.1} s in all",
        counts[0],
        counts[1],
        counts[2],
        counts[3],
        slowest.1,
        slowest.0,
        failures.len(),
        started.elapsed().as_secs_f64()
    );
    let _ = std::fs::remove_file(&current);
    let _ = std::fs::write(tmp.join("fuzz-slowest.ron"), &slowest_text);
    if !failures.is_empty() {
        let mut list = String::new();
        for f in &failures {
            let p = failures_dir.join(format!("seed{seed}-input{}.ron", f.index));
            list.push_str(&format!(
                "\n  input #{}: {} ({})",
                f.index,
                f.what,
                p.display()
            ));
        }
        panic!("{} hostile inputs failed:{list}", failures.len());
    }
}
