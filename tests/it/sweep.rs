//! Sweeps: identical bytes for any --jobs and any sharding, named missing shards, resume after a
//! kill without recomputing finished units, diagnostics in sweep files, and common random
//! numbers narrowing comparisons.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const SMALL: &str = "tests/data/sweeps/small.ron";

use super::hasim;

fn ok(args: &[&str]) -> Output {
    let out = hasim(args);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Runs `file` as `n` shards and merges them into `dir`; returns the merged reports.
fn shards_merged(file: &str, n: u32, jobs: &str, dir: &Path) -> Vec<Vec<u8>> {
    let mut parts = Vec::new();
    for k in 1..=n {
        let part = dir.join(format!("{n}-part-{k}.json"));
        ok(&[
            "sweep",
            file,
            "--jobs",
            jobs,
            "--shard",
            &format!("{k}/{n}"),
            "--out",
            s(&part),
        ]);
        parts.push(part);
    }
    let merged = dir.join(format!("merged-{n}"));
    let mut args = vec!["merge", "--out", s(&merged)];
    args.extend(parts.iter().map(|p| s(p)));
    ok(&args);
    reports(&merged)
}

/// report.txt, report.json, report.csv of an output folder.
fn reports(dir: &Path) -> Vec<Vec<u8>> {
    ["report.txt", "report.json", "report.csv"]
        .iter()
        .map(|n| std::fs::read(dir.join(n)).expect("report written"))
        .collect()
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

#[test]
fn result_does_not_depend_on_jobs() {
    let t = tempfile::tempdir().expect("tempdir");
    let mut all = Vec::new();
    for jobs in ["1", "2", "8"] {
        let dir = t.path().join(format!("jobs{jobs}"));
        let out = ok(&["sweep", SMALL, "--jobs", jobs, "--out", s(&dir)]);
        all.push((reports(&dir), out.stdout));
    }
    assert!(
        all.windows(2).all(|w| w[0] == w[1]),
        "sweep output differs between --jobs 1, 2 and 8"
    );
    // 2 × 2 variants, every metric with an interval.
    let json: serde_json::Value = serde_json::from_slice(&all[0].0[1]).expect("json");
    assert_eq!(json["variants"].as_array().map(Vec::len), Some(4));
    assert!(
        json["variants"][0]["metrics"]["latency_ms_mean"]["ci95"].is_number(),
        "{json}"
    );
}

#[test]
fn shards_merged_equal_the_single_machine_sweep() {
    let t = tempfile::tempdir().expect("tempdir");
    let local = t.path().join("local");
    ok(&["sweep", SMALL, "--jobs", "2", "--out", s(&local)]);
    let expected = reports(&local);
    for n in [1u32, 3, 7] {
        let merged = shards_merged(SMALL, n, "1", t.path());
        assert!(
            merged == expected,
            "merge of {n} shards differs from the local sweep"
        );
    }
}

#[test]
fn merge_names_the_missing_shard_and_refuses_mixed_sweeps() {
    let t = tempfile::tempdir().expect("tempdir");
    let part = |k: u32| t.path().join(format!("p{k}.json"));
    for k in [1, 3] {
        ok(&[
            "sweep",
            SMALL,
            "--shard",
            &format!("{k}/3"),
            "--out",
            s(&part(k)),
        ]);
    }
    let out = hasim(&["merge", s(&part(1)), s(&part(3))]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("missing shard 2/3"), "{err}");
    // A shard of the same sweep with another seed is another sweep.
    ok(&[
        "sweep",
        SMALL,
        "--seed",
        "99",
        "--shard",
        "2/3",
        "--out",
        s(&part(2)),
    ]);
    let out = hasim(&["merge", s(&part(1)), s(&part(2)), s(&part(3))]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("different sweeps"));
}

#[test]
fn resume_reuses_finished_units_and_recomputes_nothing() {
    let t = tempfile::tempdir().expect("tempdir");
    let part = t.path().join("part.json");
    ok(&["sweep", SMALL, "--shard", "1/1", "--out", s(&part)]);
    let full: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&part).expect("part")).expect("json");
    // Fake an interrupted run: a checkpoint holding unit 5 only (variant 1), with a marked
    // fingerprint and one success less. If --resume recomputed it, the marks would be gone.
    let sweep = scenarios::load_sweep(&super::repo(SMALL)).unwrap_or_else(|e| panic!("{e}"));
    let mut unit = hasim::sweep::run_unit(&sweep, 5, 5, false).expect("runs");
    unit.fingerprint ^= 0xdead;
    unit.outcomes[0] -= 1;
    let ck = PathBuf::from(format!("{}.units", s(&part)));
    std::fs::create_dir_all(&ck).expect("mkdir");
    std::fs::write(
        ck.join("header.json"),
        serde_json::to_string(&full["header"]).expect("ser"),
    )
    .expect("write");
    std::fs::write(
        ck.join("unit-000000005.json"),
        serde_json::to_string(&unit).expect("ser"),
    )
    .expect("write");
    ok(&[
        "sweep",
        SMALL,
        "--shard",
        "1/1",
        "--out",
        s(&part),
        "--resume",
    ]);
    let resumed: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&part).expect("part")).expect("json");
    assert_ne!(
        resumed["variants"][1]["fingerprint"], full["variants"][1]["fingerprint"],
        "unit 5 was recomputed"
    );
    assert_ne!(resumed["variants"][1]["sum"], full["variants"][1]["sum"]);
    for v in [0usize, 2, 3] {
        assert_eq!(resumed["variants"][v], full["variants"][v], "variant {v}");
    }
    assert!(!ck.exists(), "the checkpoint is removed after success");
}

#[test]
fn a_killed_sweep_resumes_to_the_same_report() {
    let t = tempfile::tempdir().expect("tempdir");
    const SLOW: &str = "tests/data/sweeps/slow.ron";
    let (a, b) = (t.path().join("a"), t.path().join("b"));
    ok(&["sweep", SLOW, "--jobs", "1", "--out", s(&a)]);
    let mut child = Command::new(env!("CARGO_BIN_EXE_hasim"))
        .args(["sweep", SLOW, "--jobs", "1", "--out", s(&b)])
        .current_dir(super::root())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn");
    let ck = PathBuf::from(format!("{}.units", s(&b)));
    #[allow(clippy::disallowed_methods)] // a test's own timeout, not simulation time
    let start = std::time::Instant::now();
    let units = |d: &Path| {
        std::fs::read_dir(d)
            .map(|r| {
                r.filter(|e| {
                    e.as_ref()
                        .is_ok_and(|e| e.file_name().to_string_lossy().starts_with("unit-"))
                })
                .count()
            })
            .unwrap_or(0)
    };
    while units(&ck) < 2 && start.elapsed().as_secs() < 60 {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let _ = child.kill();
    let _ = child.wait();
    let finished_before = units(&ck);
    assert!(
        finished_before >= 2,
        "the sweep made no progress before the kill"
    );
    // No half-written file: every unit file parses (a killed writer leaves only its temp file).
    for e in std::fs::read_dir(&ck).expect("checkpoint") {
        let p = e.expect("entry").path();
        if !p
            .file_name()
            .is_some_and(|n| n.to_string_lossy().ends_with(".json"))
        {
            continue;
        }
        let text = std::fs::read_to_string(&p).expect("read");
        serde_json::from_str::<serde_json::Value>(&text)
            .unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    }
    assert!(
        finished_before < 16,
        "the sweep finished before it could be killed"
    );
    ok(&["sweep", SLOW, "--jobs", "1", "--out", s(&b), "--resume"]);
    assert!(reports(&a) == reports(&b), "resumed sweep differs");
}

#[test]
fn sweep_file_errors_point_into_the_sweep_file() {
    for f in [
        "bad-path",
        "bad-value",
        "bad-field",
        "bad-variants-wrap",
        "bad-replications",
        "bad-base-device",
    ] {
        let rel = format!("tests/data/sweeps/{f}.ron");
        let text = std::fs::read_to_string(super::repo(&rel)).expect("read");
        let expect = text
            .lines()
            .next()
            .and_then(|l| l.strip_prefix("// expect: "))
            .expect("header");
        let (pos, msg) = expect.split_once(' ').expect("pos msg");
        let out = hasim(&["sweep", &rel]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{rel}: {err}");
        assert!(err.contains(&format!("{rel}:{pos}:")), "{rel}: {err}");
        assert!(err.contains(msg), "{rel}: {err}");
    }
}

#[test]
fn shard_from_cluster_environment() {
    use hasim::sweep::Shard;
    let env = |pairs: &'static [(&'static str, &'static str)]| {
        move |k: &str| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    };
    assert_eq!(
        Shard::from_env(
            env(&[
                ("SLURM_ARRAY_TASK_ID", "3"),
                ("SLURM_ARRAY_TASK_COUNT", "8")
            ]),
            None
        ),
        Ok(Shard { k: 4, n: 8 })
    );
    assert_eq!(
        Shard::from_env(
            env(&[
                ("SLURM_ARRAY_TASK_ID", "11"),
                ("SLURM_ARRAY_TASK_COUNT", "4"),
                ("SLURM_ARRAY_TASK_MIN", "10")
            ]),
            None
        ),
        Ok(Shard { k: 2, n: 4 })
    );
    assert_eq!(
        Shard::from_env(env(&[("JOB_COMPLETION_INDEX", "0")]), Some(5)),
        Ok(Shard { k: 1, n: 5 })
    );
    assert!(Shard::from_env(env(&[("JOB_COMPLETION_INDEX", "0")]), None).is_err());
    assert!(Shard::from_env(env(&[]), None).is_err());
    assert!(
        Shard::parse("0/3").is_err() && Shard::parse("4/3").is_err() && Shard::parse("x").is_err()
    );
}

/// Common random numbers: the paired interval of a difference is narrower than the interval the
/// same comparison gets with independent streams per variant.
#[test]
fn common_random_numbers_narrow_the_comparison() {
    let sweep = scenarios::load_sweep(&super::repo(SMALL)).unwrap_or_else(|e| panic!("{e}"));
    let run = |independent: bool| -> Vec<reports::UnitResult> {
        (0..sweep.variants.len() as u64 * sweep.replications as u64)
            .map(|u| hasim::sweep::run_unit(&sweep, 5, u, independent).expect("runs"))
            .collect()
    };
    let (crn, ind) = (run(false), run(true));
    let mean_latency = &reports::METRICS[2];
    let of = |us: &[reports::UnitResult], v: u32| -> Vec<f64> {
        us.iter()
            .filter(|u| u.variant == v)
            .map(|u| (mean_latency.value)(u))
            .collect()
    };
    // Variant 0 vs 1: round robin with 1 vs 2 workers.
    let d: Vec<f64> = of(&crn, 1)
        .iter()
        .zip(of(&crn, 0))
        .map(|(a, b)| a - b)
        .collect();
    let paired = reports::estimate(&d).ci95.expect("ci");
    let unpaired = reports::unpaired_half_width(&of(&ind, 1), &of(&ind, 0)).expect("ci");
    assert!(
        paired < unpaired,
        "paired ±{paired} vs independent ±{unpaired}"
    );
}

#[test]
fn mser5_warmup_is_chosen_reported_and_stable() {
    let a = ok(&[
        "sweep",
        "tests/data/sweeps/mser.ron",
        "--format",
        "json",
        "--jobs",
        "1",
    ]);
    let b = ok(&[
        "sweep",
        "tests/data/sweeps/mser.ron",
        "--format",
        "json",
        "--jobs",
        "2",
    ]);
    assert_eq!(a.stdout, b.stdout);
    let v: serde_json::Value = serde_json::from_slice(&a.stdout).expect("json");
    assert!(
        v["warmup_rule"]
            .as_str()
            .is_some_and(|r| r.contains("MSER-5")),
        "{v}"
    );
    let w = v["variants"][0]["warmup_s"].as_f64().expect("warmup_s");
    assert!(
        (0.0..=25_000.0).contains(&w),
        "MSER-5 may cut at most half the pilot: {w}"
    );
    // A manual override wins and is reported.
    let t = tempfile::tempdir().expect("tempdir");
    let fixed = t.path().join("fixed.ron");
    let text = std::fs::read_to_string(super::repo("tests/data/sweeps/small.ron")).expect("read");
    let base = super::repo("tests/data/sweeps/base.ron");
    let text = text
        .replace("\"base.ron\"", &format!("{:?}", s(&base)))
        .replace(
            "replications: 4,",
            "replications: 2,\n    warmup: Fixed(\"3m\"),",
        );
    std::fs::write(&fixed, text).expect("write");
    let out = ok(&["sweep", s(&fixed), "--format", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["warmup_rule"], "fixed 3m");
    assert_eq!(v["variants"][3]["warmup_s"], 180.0);
}

#[test]
fn target_ci_adds_replications_until_precise_or_capped() {
    let out = ok(&[
        "sweep",
        SMALL,
        "--format",
        "json",
        "--target-ci",
        "0.05",
        "--max-replications",
        "40",
    ]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let r = v["replications"].as_u64().expect("replications");
    assert!(r.is_multiple_of(4) && (4..=40).contains(&r), "{r}");
    let precise = |v: &serde_json::Value| {
        v["variants"].as_array().expect("variants").iter().all(|x| {
            let e = &x["metrics"]["latency_ms_mean"];
            e["ci95"].as_f64().unwrap_or(f64::INFINITY) / e["mean"].as_f64().unwrap_or(0.0) <= 0.05
        })
    };
    assert!(
        r == 40 || precise(&v),
        "stopped at {r} replications without reaching the target"
    );
    if r > 4 {
        // It did not stop a round too late either: one round fewer was not precise enough.
        let fewer = ok(&[
            "sweep",
            SMALL,
            "--format",
            "json",
            "--target-ci",
            "0.05",
            "--max-replications",
            &(r - 4).to_string(),
        ]);
        let f: serde_json::Value = serde_json::from_slice(&fewer.stdout).expect("json");
        assert!(!precise(&f), "{} replications were already enough", r - 4);
    }
    // An unreachable target stops at the cap.
    let capped = ok(&[
        "sweep",
        SMALL,
        "--format",
        "json",
        "--target-ci",
        "0.000001",
        "--max-replications",
        "8",
    ]);
    let c: serde_json::Value = serde_json::from_slice(&capped.stdout).expect("json");
    assert_eq!(c["replications"], 8);
}

/// The issue's own example: 3 replica counts × 5 policies × 30 replications, identical bytes
/// for --jobs 1 and 2 and for 1, 3 and 7 shards merged.
#[test]
fn the_3x5x30_policy_sweep_is_identical_across_jobs_and_shards() {
    const FILE: &str = "scenarios/sweep-policies.ron";
    let t = tempfile::tempdir().expect("tempdir");
    let one = t.path().join("jobs1");
    ok(&["sweep", FILE, "--jobs", "1", "--out", s(&one)]);
    let expected = reports(&one);
    let json: serde_json::Value = serde_json::from_slice(&expected[1]).expect("json");
    assert_eq!(json["variants"].as_array().map(Vec::len), Some(15));
    assert_eq!(json["replications"], 30);
    let two = t.path().join("jobs2");
    ok(&["sweep", FILE, "--jobs", "2", "--out", s(&two)]);
    assert!(reports(&two) == expected, "--jobs 2 differs from --jobs 1");
    for n in [1u32, 3, 7] {
        assert!(
            shards_merged(FILE, n, "2", t.path()) == expected,
            "{n} shards merged differ"
        );
    }
}

#[test]
fn compare_prints_paired_intervals_and_verdicts() {
    let out = ok(&["compare", "scenarios/lb-compare.ron", "--jobs", "2"]);
    let text = String::from_utf8(out.stdout).expect("utf-8");
    assert!(text.contains("baseline: #0 RoundRobin"), "{text}");
    assert!(
        text.contains("mean latency (ms) — lower is better"),
        "{text}"
    );
    // Power of two choices beats round robin at 90% load: a significant, named verdict.
    let p2c = text
        .lines()
        .skip_while(|l| !l.starts_with("mean latency"))
        .find(|l| l.contains("#3 LeastRequest(choices: 2)"))
        .expect("a P2C row");
    assert!(p2c.contains("better"), "{p2c}");
    // Least connections and JSQ behind one balancer: identical, and said why.
    assert!(
        text.contains("identical: #2 LeastConnections and #4 JoinShortestQueue"),
        "{text}"
    );
    assert!(text.contains("see the same numbers"), "{text}");
    assert!(
        text.contains("reproduce: hasim compare scenarios/lb-compare.ron"),
        "{text}"
    );
}

/// A sweep's variant and `hasim run --variant` are one run through one pipeline: every metric
/// the sweep reports for a variant (one replication) is the run's report figure, and so are the
/// events and the fingerprint, stores included (the sweep once ran no stores and counted
/// neither their events nor their fingerprint).
#[test]
fn a_sweep_variant_equals_run_variant_on_every_metric() {
    let file = "tests/data/sweeps/store-sweep.ron";
    let sweep: serde_json::Value =
        serde_json::from_slice(&ok(&["sweep", file, "--format", "json", "--jobs", "2"]).stdout)
            .expect("sweep JSON");
    let variants = sweep["variants"].as_array().expect("variants");
    assert_eq!(variants.len(), 4);
    let seed = sweep["seed"].to_string();
    for (v, variant) in variants.iter().enumerate() {
        let out = ok(&[
            "run",
            file,
            "--variant",
            &v.to_string(),
            "--seed",
            &seed,
            "--format",
            "json",
        ]);
        let run: serde_json::Value = serde_json::from_slice(&out.stdout).expect("run JSON");
        assert!(!run["stores"].as_array().expect("stores").is_empty());
        // One replication: the variant's fingerprint is its one unit's (unit v), mixed as
        // the sweep mixes units into an order-free set.
        let fp = u64::from_str_radix(run["fingerprint"].as_str().expect("fingerprint"), 16)
            .expect("hex fingerprint");
        let unit = ((v as u64).rotate_left(32) ^ fp).wrapping_mul(0x517c_c1b7_2722_0a95);
        assert_eq!(
            variant["fingerprint"].as_str(),
            Some(format!("{unit:016x}").as_str()),
            "variant {v}: the run's fingerprint, stores included"
        );
        let metrics = variant["metrics"].as_object().expect("metrics");
        let n = |path: &str| -> f64 {
            let mut x = &run;
            for k in path.split('.') {
                x = match k.parse::<usize>() {
                    Ok(i) => &x[i],
                    Err(_) => &x[k],
                };
            }
            x.as_f64()
                .unwrap_or_else(|| panic!("run report lacks {path}"))
        };
        let replicas = run["replicas"].as_array().expect("replicas");
        let per_replica_mean = |k: &str| {
            replicas.iter().map(|r| r[k].as_f64().unwrap()).sum::<f64>() / replicas.len() as f64
        };
        for (name, m) in metrics {
            let swept = m["mean"].as_f64().expect("mean");
            // The run's figure and the decimals it is printed with.
            let (ran, decimals) = match name.as_str() {
                "availability_request" => (n("availability.request"), 6),
                "availability_time" => (n("availability.time"), 6),
                "latency_ms_mean" => (n("latency_ms.mean"), 4),
                "latency_ms_p50" => (n("latency_ms.p50"), 4),
                "latency_ms_p90" => (n("latency_ms.p90"), 4),
                "latency_ms_p99" => (n("latency_ms.p99"), 4),
                "latency_ms_p999" => (n("latency_ms.p999"), 4),
                "latency_ms_max" => (n("latency_ms.max"), 4),
                "throughput_rps" => (n("throughput_rps"), 4),
                "failed" => (n("requests.failed"), 0),
                "offered" => (n("requests.offered"), 0),
                "succeeded" => (n("requests.succeeded"), 0),
                "in_flight" => (n("requests.in_flight"), 0),
                "rejected" => (n("requests.failed_by.rejected"), 0),
                "timed_out" => (n("requests.failed_by.timed_out"), 0),
                "crashed" => (n("requests.failed_by.crashed"), 0),
                "refused" => (n("requests.failed_by.refused"), 0),
                "p_wait" => (n("queueing.p_wait"), 6),
                "mean_wait_ms" => (n("queueing.mean_wait_ms"), 4),
                // Equal workers per replica: the pool's figure is the replicas' mean.
                "utilisation" => (per_replica_mean("utilisation"), 6),
                "mean_queue_length" => (per_replica_mean("mean_queue_length"), 6),
                "up_fraction" => (per_replica_mean("up_fraction"), 6),
                // The store's metrics are its section's figures.
                "db.write_availability" => (n("stores.0.write_availability"), 6),
                "db.write_p99_ms" => (n("stores.0.write_latency_ms.p99"), 4),
                "db.write_mean_ms" => (n("stores.0.write_latency_ms.mean"), 4),
                "db.lost_acked_writes" => (n("stores.0.writes.lost"), 0),
                "db.failed_writes" => (n("stores.0.writes.failed"), 0),
                "db.rpo_writes_max" => (n("stores.0.rpo_writes.max"), 3),
                "db.rto_s_max" => (n("stores.0.rto_s.max"), 6),
                "db.rto_s_mean" => (n("stores.0.rto_s.mean"), 6),
                "db.failovers" => (n("stores.0.failovers"), 0),
                other => panic!("metric {other} has no figure in the run report: map it here"),
            };
            // Both print rounded: they agree to the coarser rounding (plus the sum of three
            // rounded replica figures).
            let tol = 2.0 * 0.5 * libm::pow(10.0, -f64::from(decimals)) * replicas.len() as f64;
            assert!(
                (swept - ran).abs() <= tol,
                "variant {v}: {name}: sweep {swept}, run --variant {ran}"
            );
        }
    }
}

const QUORUM: &str = "tests/data/sweeps/quorum-sweep.ron";

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).expect("JSON")
}

/// A sweep over a store's parameter (the write quorum W of a quorum store alone) reports the
/// store's metrics per variant: distinct, in the order W dictates, time availability within
/// two 95% half-widths of the binomial closed form P(≥ W of 3 up), no request metric at all
/// (the scenario has no clients), and the same bytes for any --jobs and any sharding.
#[test]
fn a_sweep_over_a_store_parameter_reports_the_store_metrics() {
    let t = tempfile::tempdir().expect("tempdir");
    let local = t.path().join("local");
    ok(&["sweep", QUORUM, "--jobs", "1", "--out", s(&local)]);
    let expected = reports(&local);
    let two = t.path().join("two");
    ok(&["sweep", QUORUM, "--jobs", "2", "--out", s(&two)]);
    assert!(reports(&two) == expected, "--jobs 1 and 2 differ");
    assert!(
        shards_merged(QUORUM, 3, "2", t.path()) == expected,
        "3 shards merged differ from the local sweep"
    );
    let v: serde_json::Value = serde_json::from_slice(&expected[1]).expect("json");
    let variants = v["variants"].as_array().expect("variants");
    assert_eq!(variants.len(), 3);
    let metric = |w: usize, name: &str| -> (f64, f64) {
        let m = &variants[w]["metrics"][name];
        let mean = m["mean"]
            .as_f64()
            .unwrap_or_else(|| panic!("variant {w} lacks {name}: {m}"));
        (mean, m["ci95"].as_f64().expect("ci95"))
    };
    for (w, variant) in variants.iter().enumerate() {
        let metrics = variant["metrics"].as_object().expect("metrics");
        assert!(
            metrics.keys().all(|k| k.starts_with("kv.")),
            "variant {w}: a request metric in a sweep of a store alone: {:?}",
            metrics.keys().collect::<Vec<_>>()
        );
        // A replica is up with A = MTBF / (MTBF + MTTR); a write needs W + 1 of 3.
        let a = 12.0 / 12.5;
        let theory = models::store::k_of_n(3, w as u32 + 1, a);
        let (mean, ci) = metric(w, "kv.write_availability_time");
        // With W = 1 all three replicas are down together for 6.4e-5 of the time: 8
        // replications of 2 days may not see it at all (an interval of 0); the bound is then
        // the closed form's distance from 1.
        let tol = (2.0 * ci).max(1.0 - theory);
        assert!(
            (mean - theory).abs() <= tol,
            "W = {}: time availability {mean} ± {ci}, closed form {theory}",
            w + 1
        );
    }
    // More replicas to wait for: less available, slower.
    let avail: Vec<f64> = (0..3)
        .map(|w| metric(w, "kv.write_availability").0)
        .collect();
    let p99: Vec<f64> = (0..3).map(|w| metric(w, "kv.write_p99_ms").0).collect();
    assert!(
        avail[0] > avail[1] && avail[1] > avail[2] && avail[2] > 0.5,
        "{avail:?}"
    );
    assert!(
        p99[0] > 0.0 && p99[0] < p99[1] && p99[1] < p99[2],
        "{p99:?}"
    );
    // Reads need R = 2 whatever W is: the same replicas up, the same availability.
    let reads: Vec<f64> = (0..3)
        .map(|w| metric(w, "kv.read_availability").0)
        .collect();
    assert!(reads.windows(2).all(|p| p[0] == p[1]), "{reads:?}");
    // The table leaves the request metrics out and shows the store's.
    let table = String::from_utf8_lossy(&expected[0]);
    assert!(table.contains("no request path (stores alone)"), "{table}");
    assert!(table.contains("store kv · mean ± 95% CI"), "{table}");
    assert!(!table.contains("throughput/s"), "{table}");
    let csv = String::from_utf8_lossy(&expected[2]);
    assert!(
        csv.lines()
            .any(|l| l.starts_with("2,\"stores[kv].write_quorum=3\",kv.write_p99_ms,")),
        "{csv}"
    );
}

/// `compare` over a store's parameter ranks the store's metrics the right way round
/// (availability: higher is better; latency: lower) with verdicts, and shows no request metric.
#[test]
fn compare_over_a_store_parameter_ranks_its_metrics() {
    let c = json(&ok(&["compare", QUORUM, "--jobs", "2", "--format", "json"]));
    let metrics = c["metrics"].as_array().expect("metrics");
    assert!(
        metrics
            .iter()
            .all(|m| m["name"].as_str().is_some_and(|n| n.starts_with("kv."))),
        "{c}"
    );
    let block = |name: &str| {
        metrics
            .iter()
            .find(|m| m["name"] == name)
            .unwrap_or_else(|| panic!("no {name} block"))
    };
    let order = |name: &str| -> Vec<u64> {
        block(name)["ranking"]
            .as_array()
            .expect("ranking")
            .iter()
            .map(|r| r["variant"].as_u64().expect("variant"))
            .collect()
    };
    assert_eq!(order("kv.write_availability"), [0, 1, 2]);
    assert_eq!(block("kv.write_availability")["better"], "higher");
    assert_eq!(order("kv.write_p99_ms"), [0, 1, 2]);
    assert_eq!(block("kv.write_p99_ms")["better"], "lower");
    let verdict = |name: &str, v: u64| {
        block(name)["ranking"]
            .as_array()
            .expect("ranking")
            .iter()
            .find(|r| r["variant"] == v)
            .expect("row")["vs_baseline"]["verdict"]
            .clone()
    };
    assert_eq!(verdict("kv.write_p99_ms", 2), "worse");
    assert_eq!(verdict("kv.write_availability", 2), "worse");
}

/// `--fail-if` over a store metric fails exactly when it holds, and a metric a variant does
/// not have (an unknown store metric, or a request metric of stores alone) is refused before
/// anything runs, exit 2, with the names the variants have.
#[test]
fn fail_if_on_store_metrics_passes_fails_and_refuses() {
    let code = |args: &[&str]| hasim(args).status.code();
    // W = 3 makes about 88% of writes, W = 2 over 99%.
    let sweep = |cond: &str| code(&["sweep", QUORUM, "--jobs", "2", "--fail-if", cond]);
    assert_eq!(sweep("kv.write_availability(#2) < 0.95"), Some(1));
    assert_eq!(sweep("kv.write_availability(#1) < 0.95"), Some(0));
    let compare = |cond: &str| code(&["compare", QUORUM, "--jobs", "2", "--fail-if", cond]);
    assert_eq!(
        compare("kv.write_p99_ms(#2) > kv.write_p99_ms(#0)"),
        Some(1)
    );
    assert_eq!(
        compare("kv.write_p99_ms(#0) > kv.write_p99_ms(#2)"),
        Some(0)
    );
    for (cond, says) in [
        (
            "kv.write_p99 > 20",
            "variant #0 (1) has no store metric `kv.write_p99`; it has: kv.write_availability, kv.read_availability, kv.write_p99_ms",
        ),
        (
            "p99_ms(#1) > 20",
            "variant #1 (2) has no request metric `latency_ms_p99`; it has: kv.write_availability",
        ),
    ] {
        for cmd in ["sweep", "compare"] {
            let out = hasim(&[cmd, QUORUM, "--fail-if", cond]);
            let err = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{cmd} {cond}: {err}");
            assert!(err.contains(says), "{cmd} {cond}: {err}");
            assert!(out.stdout.is_empty(), "{cmd} {cond}: ran anyway");
        }
    }
}

/// `expect: [Store(metric: …)]` and `run --fail-if` on a store metric: met and missed as the
/// figures say, `hunt` lists the seeds that miss one, and an unknown name is exit 2.
#[test]
fn store_metric_expectations_pass_and_fail() {
    let file = "tests/data/good/store-metric-expectations.ron";
    let out = hasim(&["run", file]);
    assert_eq!(out.status.code(), Some(1));
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(
        table.contains("expect FAIL db.lost_acked_writes ≤ 0: got 11"),
        "{table}"
    );
    assert!(
        table.contains("expect ok   db.write_availability ≥ 0.8: 0.98"),
        "{table}"
    );
    // The figure the expectation read is the report's own.
    let report = json(&hasim(&["run", file, "--format", "json"]));
    assert_eq!(report["stores"][0]["writes"]["lost"], 11);
    let hunt = hasim(&["hunt", file, "--seeds", "3", "--jobs", "2"]);
    assert_eq!(hunt.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&hunt.stdout).contains("3 of 3 failed"),
        "{}",
        String::from_utf8_lossy(&hunt.stdout)
    );
    let base = "tests/data/sweeps/quorum-base.ron";
    let run = |cond: &str| hasim(&["run", base, "--fail-if", cond]);
    assert_eq!(run("kv.write_availability < 0.9").status.code(), Some(0));
    assert_eq!(run("kv.write_availability < 0.9999").status.code(), Some(1));
    // A request bound on stores alone would read a zero: refused.
    let requests = run("availability < 0.9");
    assert_eq!(requests.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&requests.stderr)
            .contains("has no request path (stores alone): bound a store's metric instead"),
        "{}",
        String::from_utf8_lossy(&requests.stderr)
    );
    let bad = run("kv.write_p99 > 3");
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains(
            "`kv.write_p99` is not a metric of any store of tests/data/sweeps/quorum-base.ron; its stores' metrics are: kv.write_availability,"
        ),
        "{}",
        String::from_utf8_lossy(&bad.stderr)
    );
}

/// The README's store-metric section is the code's: its table lists every kind's metrics in
/// order, and its sweep output is what the command prints.
#[test]
fn the_readme_store_metrics_are_real() {
    let readme = std::fs::read_to_string(super::repo("README.md")).expect("README");
    let from = readme
        .find("### Store metrics: sweeps, compare")
        .expect("section");
    let section = &readme[from..];
    let mut kinds = 0;
    for line in section
        .lines()
        .take_while(|l| !l.starts_with("A sweep over"))
    {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        let [_, kind, metrics, _] = cells[..] else {
            continue;
        };
        let Some(names) = reports::kind_metric_names(kind) else {
            continue;
        };
        let listed: Vec<&str> = metrics.split(", ").map(|m| m.trim_matches('`')).collect();
        assert_eq!(listed, names, "README row for {kind}");
        kinds += 1;
    }
    assert_eq!(kinds, 6, "a README row per store kind");
    // The console block: the command's line, then what it prints (trycmd runs it too).
    let start = section
        .find("```console\n$ hasim sweep")
        .expect("output block")
        + 11;
    let start = start + section[start..].find('\n').expect("command line") + 1;
    let shown = &section[start..start + section[start..].find("```").expect("fence")];
    let out = ok(&["sweep", QUORUM]);
    // trycmd's block keeps a blank line before its closing fence.
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim_end(),
        shown.trim_end()
    );
}
