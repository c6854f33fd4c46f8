//! Reproducing runs: expectations and exit code 1, hunting bad seeds, invariant violations
//! reported with their seed, golden fingerprints of every example.

use super::hasim;

#[test]
fn an_unmet_expectation_exits_1_with_the_reproduce_command() {
    let out = hasim(&["run", "tests/data/good/flaky.ron", "--seed", "9"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("expectation failed: availability ≥ 0.9999"),
        "{err}"
    );
    assert!(
        err.contains("reproduce: hasim run tests/data/good/flaky.ron --seed 9"),
        "{err}"
    );
    assert!(err.contains("scenario hash"), "{err}");
    // The report itself is still printed, with the verdicts.
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(table.contains("expect FAIL availability"), "{table}");
    let ok = hasim(&["run", "tests/data/good/flaky.ron", "--seed", "1"]);
    assert_eq!(ok.status.code(), Some(0));
}

#[test]
fn hunt_finds_the_failing_seeds_and_its_commands_reproduce_them() {
    let a = hasim(&[
        "hunt",
        "tests/data/good/flaky.ron",
        "--seeds",
        "40",
        "--jobs",
        "1",
    ]);
    let b = hasim(&[
        "hunt",
        "tests/data/good/flaky.ron",
        "--seeds",
        "40",
        "--jobs",
        "2",
    ]);
    assert_eq!(a.status.code(), Some(1));
    assert_eq!(a.stdout, b.stdout, "hunt's list depends on --jobs");
    let text = String::from_utf8(a.stdout).expect("utf-8");
    let commands: Vec<&str> = text
        .lines()
        .filter_map(|l| l.trim().strip_prefix("reproduce: "))
        .collect();
    assert!(!commands.is_empty(), "{text}");
    let failing: Vec<u64> = commands
        .iter()
        .filter_map(|c| c.rsplit(' ').next()?.parse().ok())
        .collect();
    // Every seed hunt lists fails when rerun by its command; every other seed passes.
    for seed in 1..=40u64 {
        let out = hasim(&[
            "run",
            "tests/data/good/flaky.ron",
            "--seed",
            &seed.to_string(),
        ]);
        let expected = if failing.contains(&seed) { 1 } else { 0 };
        assert_eq!(out.status.code(), Some(expected), "seed {seed}");
    }
    // Worst first.
    let shortfall = |l: &str| -> f64 {
        l.rsplit('(')
            .next()
            .and_then(|x| x.split('%').next())
            .and_then(|x| x.parse().ok())
            .unwrap_or(0.0)
    };
    let sevs: Vec<f64> = text
        .lines()
        .filter(|l| l.starts_with("seed "))
        .map(shortfall)
        .collect();
    assert!(sevs.windows(2).all(|w| w[0] >= w[1]), "{sevs:?}");
}

#[test]
fn a_broken_invariant_becomes_a_message_not_a_crash_of_the_caller() {
    let r: Result<(), String> =
        hasim::guarded(|| panic!("invariant: requests offered = succeeded + failed + in flight"));
    let msg = r.expect_err("caught");
    assert!(
        msg.contains("invariant: requests offered") && msg.contains("repro.rs"),
        "{msg}"
    );
    assert_eq!(hasim::guarded(|| 7), Ok(7));
}

/// Same seed, same bytes, three times; and the fingerprints of every example, snapshotted so
/// that any change of behaviour (not only of the aggregates) shows up in review.
#[test]
fn golden_fingerprints_of_the_examples() {
    let mut lines = Vec::new();
    for (rel, runs) in super::example_reports() {
        assert!(
            runs[0] == runs[1] && runs[1] == runs[2],
            "{rel}: three runs differ"
        );
        let v: serde_json::Value = serde_json::from_slice(&runs[0]).expect("json");
        lines.push(format!(
            "{rel}: seed {} fingerprint {} events {}",
            v["seed"],
            v["fingerprint"].as_str().unwrap_or("?"),
            v["events"]
        ));
    }
    insta::assert_snapshot!(lines.join("\n"));
}

/// `hasim run SWEEP --variant V --replication R` is exactly unit (V, R) of the sweep.
#[test]
fn one_replication_of_a_sweep_reproduces_exactly() {
    let sweep = scenarios::load_sweep(&super::repo("scenarios/lb-compare.ron"))
        .unwrap_or_else(|e| panic!("{e}"));
    let (v, r) = (3u64, 5u64);
    let unit =
        hasim::sweep::run_unit(&sweep, 11, v * sweep.replications as u64 + r, false).expect("runs");
    let out = hasim(&[
        "run",
        "scenarios/lb-compare.ron",
        "--variant",
        "3",
        "--replication",
        "5",
        "--format",
        "json",
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(json["fingerprint"], format!("{:016x}", unit.fingerprint));
    assert_eq!(json["requests"]["offered"], unit.offered);
    assert_eq!(json["seed"], 11);
    // A sweep file without --variant is refused with a hint, not run.
    let out = hasim(&["run", "scenarios/lb-compare.ron"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--variant"));
}

#[test]
fn check_determinism_passes_on_every_example() {
    for f in [
        "scenarios/web-tier.ron",
        "scenarios/lb-p2c.ron",
        "tests/data/good/every-distribution.ron",
    ] {
        let out = hasim(&["run", f, "--check-determinism"]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{f}: {err}");
        assert!(err.contains("determinism check passed"), "{f}: {err}");
    }
}

#[test]
fn trace_is_filtered_bounded_and_matches_the_report() {
    let t = tempfile::tempdir().expect("tempdir");
    let all = t.path().join("all.jsonl");
    let out = hasim(&[
        "run",
        "tests/data/good/chained-balancers.ron",
        "--trace",
        all.to_str().expect("utf-8"),
    ]);
    assert_eq!(out.status.code(), Some(0));
    let report_offered = {
        let j = hasim(&[
            "run",
            "tests/data/good/chained-balancers.ron",
            "--format",
            "json",
        ]);
        let v: serde_json::Value = serde_json::from_slice(&j.stdout).expect("json");
        v["requests"]["offered"].as_u64().expect("offered")
    };
    let text = std::fs::read_to_string(&all).expect("trace written");
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect();
    // Every request is offered once and finishes at most once; times never go backwards.
    let offered_after_warmup = lines
        .iter()
        .filter(|l| l["event"] == "offered" && l["t_ns"].as_u64() >= Some(10_000_000_000))
        .count();
    assert_eq!(offered_after_warmup as u64, report_offered);
    assert!(
        lines
            .windows(2)
            .all(|w| w[0]["t_ns"].as_u64() <= w[1]["t_ns"].as_u64())
    );
    // Filters: one replica, a time window, a line cap.
    let some = t.path().join("some.jsonl");
    let out = hasim(&[
        "run",
        "tests/data/good/chained-balancers.ron",
        "--trace",
        some.to_str().expect("utf-8"),
        "--trace-component",
        "app/1",
        "--trace-from",
        "1m",
        "--trace-to",
        "2m",
        "--trace-limit",
        "25",
    ]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("25 trace lines"));
    let text = std::fs::read_to_string(&some).expect("trace written");
    assert_eq!(text.lines().count(), 25);
    for l in text.lines() {
        let v: serde_json::Value = serde_json::from_str(l).expect("JSON line");
        // The replica's own steps (queueing, service) and the requests it answered.
        assert!(v["component"] == "app/1" || v["replica"] == "app/1", "{l}");
        let t = v["t_ns"].as_u64().expect("t");
        assert!((60_000_000_000..=120_000_000_000).contains(&t), "{l}");
    }
}

/// Verified fault injection: every crash is listed with what it did, and crashes that did
/// nothing are counted and called out.
#[test]
fn faults_without_effect_are_flagged() {
    let out = hasim(&["run", "tests/data/good/idle-faults.ron", "--format", "json"]);
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let f = &v["faults"];
    let total = f["total"].as_u64().expect("total");
    let none = f["without_effect"].as_u64().expect("without_effect");
    let crashes: u64 = v["replicas"]
        .as_array()
        .expect("replicas")
        .iter()
        .map(|r| r["crashes"].as_u64().unwrap_or(0))
        .sum();
    assert_eq!(total, crashes, "every crash is in the fault list");
    assert!(none > 0 && none < total, "{none} of {total} without effect");
    let listed = f["listed"].as_array().expect("listed");
    let mut counted = 0;
    for x in listed {
        let effect = x["requests_lost"].as_u64().unwrap_or(0)
            + x["requests_refused"].as_u64().unwrap_or(0)
            > 0;
        assert_eq!(x["had_effect"].as_bool(), Some(effect), "{x}");
        counted += (!effect) as u64;
    }
    assert_eq!(counted, none);
    // Lost and refused add up to the report's own counts.
    let lost: u64 = listed
        .iter()
        .map(|x| x["requests_lost"].as_u64().unwrap_or(0))
        .sum();
    let refused: u64 = listed
        .iter()
        .map(|x| x["requests_refused"].as_u64().unwrap_or(0))
        .sum();
    assert_eq!(
        lost,
        v["requests"]["failed_by"]["crashed"]
            .as_u64()
            .expect("crashed")
    );
    assert_eq!(
        refused,
        v["requests"]["failed_by"]["refused"]
            .as_u64()
            .expect("refused")
    );
    assert!(v["notes"].as_array().expect("notes").iter().any(|n| {
        n.as_str()
            .is_some_and(|s| s.contains("affected no request"))
    }));
}

#[test]
fn a_sweep_checks_its_own_determinism_across_jobs() {
    let out = hasim(&[
        "sweep",
        "tests/data/sweeps/small.ron",
        "--check-determinism",
        "--jobs",
        "3",
    ]);
    assert_eq!(out.status.code(), Some(0));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("--jobs 1 and --jobs 3 give identical reports")
    );
}

#[test]
fn fail_if_gates_ci_on_the_command_line() {
    let out = hasim(&["run", "scenarios/lb-p2c.ron", "--fail-if", "mean > 1s"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("expectation failed: mean latency ≤ 1s"),
        "{err}"
    );
    assert!(
        err.contains("--fail-if 'mean > 1s'"),
        "the reproduce command keeps the gate: {err}"
    );
    let out = hasim(&[
        "run",
        "scenarios/lb-p2c.ron",
        "--fail-if",
        "availability < 0.99",
        "--fail-if",
        "p99 > 60s",
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = hasim(&[
        "run",
        "scenarios/lb-p2c.ron",
        "--fail-if",
        "availability >= 1",
    ]);
    assert_eq!(out.status.code(), Some(2));
}

/// The closed forms printed beside the simulated figures are Erlang C's, and the simulation
/// agrees with them within its own confidence interval.
#[test]
fn theory_beside_the_numbers() {
    let out = hasim(&["run", "scenarios/mmc.ron", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let t = &v["theory"][0];
    assert_eq!(t["model"], "M/M/10");
    assert_eq!(t["p_wait"], 0.668732);
    let w = t["mean_response_ms"].as_f64().expect("W");
    let (mean, ci) = (
        v["latency_ms"]["mean"].as_f64().expect("mean"),
        v["latency_ms"]["mean_ci95"].as_f64().expect("ci"),
    );
    assert!(
        (mean - w).abs() <= ci,
        "simulated {mean} ± {ci} vs theory {w}"
    );
    // No closed form for a pool with crashes, timeouts and a bounded queue.
    let out = hasim(&["run", "scenarios/web-tier.ron", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["theory"], serde_json::json!([]));
}
