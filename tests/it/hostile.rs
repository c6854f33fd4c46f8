//! Every example of issue 16 ("hostile input never crashes, hangs or clobbers"), as a new user
//! would try it: each exits 2 (or 0 with a note) within a second, and clobbers nothing.

use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

/// Runs hasim with `args` in `dir`; asserts it ended within a second.
#[allow(clippy::disallowed_methods)] // the test's own stopwatch, not simulation time
fn timed(dir: &Path, args: &[&str]) -> Output {
    let start = std::time::Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_hasim"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("hasim runs");
    let took = start.elapsed();
    assert!(
        took < Duration::from_secs(1),
        "{args:?} took {took:?}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// `args` exits 2 within a second, and its error contains `needle`.
fn refused(dir: &Path, args: &[&str], needle: &str) {
    let out = timed(dir, args);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{args:?}\n{err}");
    assert!(
        err.contains(needle),
        "{args:?}: expected `{needle}` in\n{err}"
    );
    assert!(!err.contains("panicked"), "{args:?}\n{err}");
}

const BASE: &str = r#"Scenario(
    name: "h",
    horizon: "10s",
    clients: [Client(name: "users", arrivals: Poisson(rate_per_s: 10.0), target: "lb")],
    balancers: [Balancer(name: "lb", policy: RoundRobin, target: "web")],
    pools: [Pool(name: "web", replicas: 2, workers: 1, service: Exponential(mean: "10ms"))],
)
"#;

/// A scenario file in `dir` named `name`: BASE with `edits` applied.
fn scenario(dir: &Path, name: &str, edits: &[(&str, &str)]) -> String {
    let mut text = BASE.to_string();
    for (from, to) in edits {
        assert!(text.contains(from), "{from}");
        text = text.replace(from, to);
    }
    std::fs::write(dir.join(name), text).expect("write");
    name.to_string()
}

#[test]
fn sizes_past_their_budget_are_refused_at_validation() {
    let t = tempfile::tempdir().expect("tempdir");
    let d = t.path();
    let outage = scenario(
        d,
        "outage.ron",
        &[
            ("replicas: 2,", "replicas: 3000000000,"),
            (
                "    pools: [",
                "    faults: [PoolOutage(pool: \"web\", at: \"1s\", duration: \"1s\")],\n    pools: [",
            ),
        ],
    );
    refused(d, &["check", &outage], "more than the limit of 100000");
    let workers = scenario(d, "workers.ron", &[("workers: 1,", "workers: 1000000000,")]);
    for cmd in ["check", "run"] {
        refused(
            d,
            &[cmd, &workers],
            "workers per replica, more than the limit",
        );
    }
    let many = scenario(d, "many.ron", &[("replicas: 2,", "replicas: 6000000,")]);
    refused(d, &["run", &many], "6000000 replicas, more than the limit");
    let theory = scenario(
        d,
        "theory.ron",
        &[
            ("workers: 1,", "workers: 4294967295,"),
            ("horizon: \"10s\",", "horizon: \"10s\", max_events: 1000,"),
        ],
    );
    refused(d, &["run", &theory], "workers per replica");
    // --allow-large raises the limits, not past what the machine can address.
    refused(d, &["run", &theory, "--allow-large"], "workers per replica");
}

#[test]
fn a_theory_line_with_many_workers_is_quick() {
    // Within the large limits: 10⁸ workers on one replica, M/M/c closed forms beside the run.
    let t = tempfile::tempdir().expect("tempdir");
    let d = t.path();
    let mmc = r#"Scenario(
    name: "wide",
    horizon: "10s",
    max_events: 1000,
    clients: [Client(name: "users", arrivals: Poisson(rate_per_s: 10.0), target: "web")],
    pools: [Pool(name: "web", replicas: 1, workers: 100000000, service: Exponential(mean: "10ms"))],
)
"#;
    std::fs::write(d.join("wide.ron"), mmc).expect("write");
    let out = timed(d, &["run", "wide.ron", "--allow-large"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("M/M/100000000"));
}

#[test]
fn sweeps_past_2_to_the_32_variants_or_with_endless_replications_are_refused() {
    let root = super::root();
    for cmd in ["check", "sweep"] {
        refused(
            root,
            &[cmd, "tests/data/sweeps/bad-variants-wrap.ron"],
            "6975757441 variants, more than the limit",
        );
        refused(
            root,
            &[cmd, "tests/data/sweeps/bad-replications.ron"],
            "4294967295 runs, more than the limit",
        );
        refused(
            root,
            &[cmd, "tests/data/sweeps/bad-base-device.ron"],
            "not a regular file",
        );
    }
}

#[test]
fn zero_times_and_absurd_rates_are_refused() {
    let root = super::root();
    for (file, needle) in [
        ("zero-failure-times", "must have a mean above zero"),
        ("zero-repair-time", "must have a mean above zero"),
        (
            "budget-poisson-rate",
            "more than the limit of 1e7 events per simulated second",
        ),
        (
            "budget-constant-rate",
            "more than the limit of 1e7 events per simulated second",
        ),
        (
            "budget-erlang-k",
            "Erlang k (4294967295) is more than the limit",
        ),
        (
            "budget-events-per-second",
            "events into each simulated second",
        ),
    ] {
        let rel = format!("tests/data/bad/{file}.ron");
        refused(root, &["run", &rel], needle);
        // Even with the large limits: 10¹² per second would stop the nanosecond clock.
        if file == "budget-constant-rate" {
            refused(
                root,
                &["run", &rel, "--allow-large"],
                "1e9 events per simulated second",
            );
        }
    }
}

#[test]
fn a_64_kib_unknown_name_is_diagnosed_at_once() {
    let t = tempfile::tempdir().expect("tempdir");
    let d = t.path();
    let long = "y".repeat(65_536);
    let near = format!("{long}z");
    scenario(
        d,
        "long.ron",
        &[
            ("name: \"lb\"", &format!("name: \"{long}\"")),
            ("target: \"lb\"", &format!("target: \"{near}\"")),
        ],
    );
    refused(d, &["check", "long.ron"], "unknown component");
}

#[test]
fn merge_refuses_short_arrays_and_altered_numbers_naming_the_file() {
    let t = tempfile::tempdir().expect("tempdir");
    let d = t.path();
    let root = super::root();
    let part = d.join("part.json");
    let p = part.to_str().expect("utf-8");
    let out = Command::new(env!("CARGO_BIN_EXE_hasim"))
        .args([
            "sweep",
            "tests/data/sweeps/small.ron",
            "--shard",
            "1/1",
            "--out",
            p,
        ])
        .current_dir(root)
        .output()
        .expect("runs");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&part).expect("part");
    let ok = timed(root, &["merge", p]);
    assert_eq!(
        ok.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );

    let mut v: serde_json::Value = serde_json::from_str(&text).expect("json");
    // Altered numbers: the checksum no longer matches.
    let mut altered = v.clone();
    altered["variants"][0]["n"] = serde_json::json!(1);
    let bad = d.join("altered.json");
    std::fs::write(&bad, serde_json::to_string_pretty(&altered).expect("json")).expect("write");
    refused(
        root,
        &["merge", bad.to_str().expect("utf-8")],
        "altered.json: checksum mismatch",
    );
    // Short arrays, with a checksum recomputed to match: the lengths are checked too.
    v["variants"][0]["sum"] = serde_json::json!(["1"]);
    v["checksum"] = serde_json::json!(hasim::sweep::checksum(&v));
    let short = d.join("short.json");
    std::fs::write(&short, serde_json::to_string_pretty(&v).expect("json")).expect("write");
    refused(
        root,
        &["merge", short.to_str().expect("utf-8")],
        "short.json: variant 0: 1 sums",
    );
    // A shard count far past the files given is a missing shard, not a long loop.
    let mut huge: serde_json::Value = serde_json::from_str(&text).expect("json");
    huge["shard"]["n"] = serde_json::json!(u64::MAX);
    huge["checksum"] = serde_json::json!(hasim::sweep::checksum(&huge));
    let h = d.join("huge.json");
    std::fs::write(&h, serde_json::to_string_pretty(&huge).expect("json")).expect("write");
    refused(
        root,
        &["merge", h.to_str().expect("utf-8")],
        "missing shards 2/",
    );
}

#[test]
#[cfg(unix)]
fn outputs_never_replace_fifos_symlinks_or_devices_and_are_checked_before_the_run() {
    let t = tempfile::tempdir().expect("tempdir");
    let d = t.path();
    let root = super::root();
    let status = Command::new("mkfifo")
        .arg(d.join("out.fifo"))
        .status()
        .expect("mkfifo");
    assert!(status.success());
    std::fs::write(d.join("target.json"), "keep").expect("write");
    std::os::unix::fs::symlink(d.join("target.json"), d.join("link.json")).expect("symlink");
    let s = |p: &str| d.join(p).to_str().expect("utf-8").to_string();
    refused(
        root,
        &["run", "scenarios/mm1.ron", "--out", &s("out.fifo")],
        "it is a FIFO",
    );
    refused(
        root,
        &["run", "scenarios/mm1.ron", "--out", &s("link.json")],
        "it is a symbolic link",
    );
    refused(
        root,
        &["run", "scenarios/mm1.ron", "--trace", &s("link.json")],
        "it is a symbolic link",
    );
    refused(
        root,
        &["run", "scenarios/mm1.ron", "--out", "/dev/null"],
        "it is a device",
    );
    assert_eq!(
        std::fs::read_to_string(d.join("target.json")).expect("read"),
        "keep"
    );
    let meta = std::fs::symlink_metadata(d.join("link.json")).expect("link");
    assert!(meta.file_type().is_symlink());
    // mm1 simulates 10⁷ s: an unwritable output is found before, not after.
    refused(
        root,
        &[
            "run",
            "scenarios/mm1.ron",
            "--out",
            &s("no/such/dir/r.json"),
        ],
        "does not exist",
    );
    refused(
        root,
        &[
            "run",
            "scenarios/mm1.ron",
            "--html",
            &s("no/such/dir/r.html"),
        ],
        "does not exist",
    );
    refused(
        root,
        &[
            "sweep",
            "tests/data/sweeps/small.ron",
            "--shard",
            "1/2",
            "--out",
            &s("out.fifo"),
        ],
        "it is a FIFO",
    );
}

#[test]
#[cfg(unix)]
#[allow(clippy::disallowed_methods)] // the test's own stopwatch, not simulation time
fn a_killed_trace_run_leaves_no_temporary_file() {
    let t = tempfile::tempdir().expect("tempdir");
    let d = t.path();
    let trace = d.join("trace.jsonl");
    let mut child = Command::new(env!("CARGO_BIN_EXE_hasim"))
        .args([
            "run",
            "scenarios/mm1.ron",
            "--trace",
            trace.to_str().expect("utf-8"),
            "--trace-limit",
            "100000000",
        ])
        .current_dir(super::root())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn");
    // Wait until the temporary trace file has grown, then stop the run as a user would.
    let start = std::time::Instant::now();
    let files = || std::fs::read_dir(d).map(|r| r.count()).unwrap_or(0);
    while files() == 0 && start.elapsed() < Duration::from_secs(30) {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(files(), 1, "the run's temporary trace file");
    std::thread::sleep(Duration::from_millis(300));
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(killed.success());
    let status = child.wait().expect("wait");
    assert_eq!(
        status.code(),
        Some(128 + 15),
        "exits as a SIGTERM'd process"
    );
    let left: Vec<_> = std::fs::read_dir(d)
        .expect("dir")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}

#[test]
fn suspicious_but_legal_settings_get_a_note_and_control_characters_are_escaped() {
    let t = tempfile::tempdir().expect("tempdir");
    let d = t.path();
    let f = scenario(
        d,
        "notes.ron",
        &[
            ("name: \"users\"", "name: \"us\\u{1b}[31mers\\u{7}\""),
            (
                "target: \"lb\")",
                "target: \"lb\", timeout: \"1s\", retry: Retry(per_try_timeout: \"2s\"))",
            ),
            (
                "horizon: \"10s\",",
                "horizon: \"10s\",\n    slo: Slo(window: \"1m\"),",
            ),
        ],
    );
    for cmd in ["check", "run"] {
        let out = timed(d, &[cmd, &f]);
        assert_eq!(out.status.code(), Some(0), "{cmd}");
        let all = [out.stdout, out.stderr].concat();
        let text = String::from_utf8_lossy(&all);
        assert!(
            text.contains("per_try_timeout (2s) is longer than the overall timeout (1s)"),
            "{cmd}: {text}"
        );
        assert!(
            text.contains("window (1m) is longer than the horizon (10s)"),
            "{cmd}: {text}"
        );
        assert!(
            text.contains("contains control characters"),
            "{cmd}: {text}"
        );
        assert!(
            text.contains("us\\u{1b}[31mers"),
            "{cmd}: shown escaped: {text}"
        );
        assert!(
            !all.iter().any(|&b| b == 0x1b || b == 0x07),
            "{cmd}: a raw control character reached the terminal"
        );
    }
}

/// README's "Limits" table is the code's: every default and large value, row by row.
#[test]
fn the_readme_lists_the_limits_in_force() {
    use scenarios::limits::{DEFAULT, LARGE, Limits};
    let readme = std::fs::read_to_string(super::repo("README.md")).expect("README");
    let section = readme
        .split("## Limits")
        .nth(1)
        .and_then(|s| s.split("\n## ").next())
        .expect("a Limits section");
    let rows: Vec<(String, String, String)> = section
        .lines()
        .filter(|l| l.starts_with("| ") && !l.starts_with("| limit"))
        .map(|l| {
            let c: Vec<&str> = l.split('|').map(str::trim).collect();
            let num = |s: &str| s.split_whitespace().next().unwrap_or("").to_string();
            (c[1].to_string(), num(c[2]), num(c[3]))
        })
        .collect();
    let field = |l: &Limits, key: &str| -> String {
        match key {
            "file size" => l.file_bytes.to_string(),
            "replicas" => l.replicas.to_string(),
            "workers" => l.workers.to_string(),
            "keys" => l.keys.to_string(),
            "Erlang" => l.erlang_k.to_string(),
            "choices" => l.choices.to_string(),
            "breaker" => l.breaker_calls.to_string(),
            "variants" => l.variants.to_string(),
            "runs" => l.runs.to_string(),
            "events per simulated second" => format!("{}", l.events_per_s as u64),
            "replica samples" => l.replica_samples.to_string(),
            "users" => l.users.to_string(),
            _ => unreachable!(),
        }
    };
    let keys = [
        "file size",
        "replicas",
        "workers",
        "keys",
        "Erlang",
        "choices",
        "breaker",
        "variants",
        "runs",
        "events per simulated second",
        "replica samples",
        "users",
    ];
    assert_eq!(rows.len(), keys.len(), "{rows:?}");
    for key in keys {
        let (_, d, l) = rows
            .iter()
            .find(|(name, _, _)| name.starts_with(key) || name.contains(key))
            .unwrap_or_else(|| panic!("no README row for {key}"));
        assert_eq!(*d, field(&DEFAULT, key), "README default for {key}");
        assert_eq!(*l, field(&LARGE, key), "README --allow-large for {key}");
    }
    // The stall guard, written with thin groups of three digits.
    let digits = sim_core::STALL_EVENTS.to_string();
    let mut grouped = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            grouped.push(' ');
        }
        grouped.push(c);
    }
    assert!(
        section.contains(&format!("{grouped} events")),
        "README: the stall guard is {grouped} events"
    );
}

/// Valid scenarios the fuzzer found crashing `check` or `run` (tests/data/crashers, each saying
/// what broke): they check, and run to the end.
#[test]
fn the_fuzzers_crashers_check_and_run() {
    let dir = super::repo("tests/data/crashers");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("tests/data/crashers")
        .map(|e| e.expect("entry").path())
        .collect();
    files.sort();
    assert!(files.len() >= 3);
    for path in files {
        let rel = path.strip_prefix(super::root()).expect("inside repo");
        let rel = rel.to_str().expect("utf-8");
        for cmd in ["check", "run"] {
            let out = timed(super::root(), &[cmd, rel]);
            let err = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(0), "{cmd} {rel}\n{err}");
        }
    }
}
