//! `hasim compare` on a case whose order theory knows: at 90% load over ten servers, one
//! central queue (M/M/10) beats join-the-shortest-queue, which beats power of two choices,
//! which beats random routing (ten M/M/1 queues).

use std::path::Path;

const BASE: &str = r#"Scenario(
    name: "ranking",
    seed: 5,
    horizon: "3h",
    warmup: "10m",
    clients: [Client(name: "users", arrivals: Poisson(rate_per_s: 9.0), target: "lb")],
    balancers: [Balancer(name: "lb", policy: RoundRobin, target: "app")],
    pools: [Pool(name: "app", replicas: 10, workers: 1, service: Exponential(mean: "1s"))],
)
"#;

/// Variants 0–2: one replica with ten workers (a central queue; the policy has one replica to
/// pick). Variants 3–5: ten single-worker replicas behind Random, P2C and JSQ.
const SWEEP: &str = r#"Sweep(
    scenario: "base.ron",
    replications: 6,
    axes: [
        Axis(path: "pools[app]", values: [
            Pool(name: "app", replicas: 1, workers: 10, service: Exponential(mean: "1s")),
            Pool(name: "app", replicas: 10, workers: 1, service: Exponential(mean: "1s")),
        ]),
        Axis(path: "balancers[lb].policy", values: [Random, LeastRequest(choices: 2, replacement: true), JoinShortestQueue]),
    ],
)
"#;

fn run(dir: &Path, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_hasim"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("hasim runs")
}

#[test]
fn ranking_central_queue_then_jsq_then_p2c_then_random() {
    let t = tempfile::tempdir().expect("tempdir");
    std::fs::write(t.path().join("base.ron"), BASE).expect("write");
    std::fs::write(t.path().join("sweep.ron"), SWEEP).expect("write");
    let out = run(
        t.path(),
        &[
            "compare",
            "sweep.ron",
            "--baseline",
            "3",
            "--format",
            "json",
            "--out",
            "c.json",
            "--html",
            "c.html",
            "--jobs",
            "2",
            // P2C's mean latency is above JSQ's: this gate holds, so the command exits 1.
            "--fail-if",
            "mean_ms(#4) > mean_ms(replicas: 10, workers: 1, service: Exponential(mean: \"1s\")), JoinShortestQueue)",
            "--fail-if",
            "mean_ms(#5) > mean_ms(#4)",
        ],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("fail-if held: 'mean_ms(#4) > mean_ms(replicas: 10"),
        "{err}"
    );
    assert!(!err.contains("'mean_ms(#5) > mean_ms(#4)'"), "{err}");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(t.path().join("c.json")).expect("json"))
            .expect("valid JSON");
    let mean = json["metrics"]
        .as_array()
        .expect("metrics")
        .iter()
        .find(|m| m["name"] == "latency_ms_mean")
        .expect("mean latency");
    let ranking = mean["ranking"].as_array().expect("ranking");
    let order: Vec<(u64, u64, String)> = ranking
        .iter()
        .map(|r| {
            (
                r["rank"].as_u64().expect("rank"),
                r["variant"].as_u64().expect("variant"),
                r["group"].as_str().expect("group").to_string(),
            )
        })
        .collect();
    // The three central-queue variants tie (identical runs), then JSQ, P2C, random; every
    // step is significant, so each level has its own letter.
    assert_eq!(
        order,
        [
            (1, 0, "a".into()),
            (1, 1, "a".into()),
            (1, 2, "a".into()),
            (4, 5, "b".into()),
            (5, 4, "c".into()),
            (6, 3, "d".into()),
        ]
    );
    // Absolute values beside the differences; random is ten M/M/1 at ρ = 0.9 (W = 10 s).
    let random = &ranking[5];
    assert!(random["vs_baseline"].is_null(), "the baseline has no Δ");
    let w = random["value"]["mean"].as_f64().expect("mean");
    let ci = random["value"]["ci95"].as_f64().expect("ci");
    assert!((w - 10_000.0).abs() < ci + 300.0, "random W = {w} ± {ci}");
    assert_eq!(ranking[3]["vs_baseline"]["verdict"], "better");
    let identical = json["identical"].as_array().expect("identical");
    assert_eq!(identical.len(), 1, "{identical:?}");
    assert_eq!(identical[0]["variants"], serde_json::json!([0, 1, 2]));
    assert!(
        identical[0]["why"]
            .as_str()
            .expect("why")
            .contains("single replica"),
        "{identical:?}"
    );
    let html = std::fs::read_to_string(t.path().join("c.html")).expect("html");
    assert!(
        html.contains("ranked best first"),
        "the page has the ranking tables"
    );

    // Throughput moves by ~0.1%: significant, but below the default 1% practical threshold;
    // with --min-effect 0 the same difference is a verdict.
    let verdicts = |extra: &[&str]| -> String {
        let mut args = vec!["compare", "sweep.ron", "--baseline", "3", "--format", "csv"];
        args.extend_from_slice(extra);
        let out = run(t.path(), &args);
        assert_eq!(out.status.code(), Some(0));
        let csv = String::from_utf8(out.stdout).expect("utf-8");
        assert!(csv.starts_with("metric,rank,variant,label,mean,ci95,group,delta"));
        csv.lines()
            .find(|l| l.starts_with("throughput_rps,") && l.contains(",5,\""))
            .expect("JSQ's throughput row")
            .to_string()
    };
    assert!(
        verdicts(&[]).ends_with(",no practical difference"),
        "{}",
        verdicts(&[])
    );
    assert!(verdicts(&["--min-effect", "0"]).ends_with(",better"));
}

#[test]
fn bad_compare_arguments_exit_2() {
    for args in [
        &["compare", "scenarios/lb-compare.ron", "--min-effect", "-1"][..],
        &[
            "compare",
            "scenarios/lb-compare.ron",
            "--fail-if",
            "p99_ms(Nope) > 1",
        ],
        &["compare", "scenarios/lb-compare.ron", "--fail-if", "p99_ms"],
        &[
            "sweep",
            "scenarios/lb-compare.ron",
            "--fail-if",
            "nonsense > 1",
        ],
    ] {
        let out = super::hasim(args);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
