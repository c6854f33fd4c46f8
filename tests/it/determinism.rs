//! Same scenario + same seed = the same bytes; another seed = other numbers.

use std::process::Command;

fn run(args: &[&str]) -> (Vec<u8>, i32) {
    let out = Command::new(env!("CARGO_BIN_EXE_hasim"))
        .args(args)
        .current_dir(super::root())
        .output()
        .expect("hasim runs");
    (out.stdout, out.status.code().unwrap_or(-1))
}

#[test]
fn same_seed_same_bytes_other_seed_other_numbers() {
    let args = [
        "run",
        "scenarios/web-tier.ron",
        "--seed",
        "3",
        "--format",
        "json",
    ];
    let (a, code_a) = run(&args);
    let (b, code_b) = run(&args);
    assert_eq!((code_a, code_b), (0, 0));
    assert!(!a.is_empty());
    assert!(a == b, "two runs with the same seed differ");
    let (c, _) = run(&[
        "run",
        "scenarios/web-tier.ron",
        "--seed",
        "4",
        "--format",
        "json",
    ]);
    let num = |bytes: &[u8], key: &str| -> serde_json::Value {
        let v: serde_json::Value = serde_json::from_slice(bytes).expect("JSON");
        v.pointer(key)
            .cloned()
            .unwrap_or_else(|| panic!("{key} missing"))
    };
    assert_ne!(num(&a, "/requests/offered"), num(&c, "/requests/offered"));
    assert_ne!(num(&a, "/latency_ms/mean"), num(&c, "/latency_ms/mean"));
    // The table names the seed and a command that reproduces it.
    let (t, _) = run(&["run", "scenarios/web-tier.ron", "--seed", "3"]);
    let t = String::from_utf8(t).expect("utf-8");
    assert!(
        t.contains("reproduce: hasim run scenarios/web-tier.ron --seed 3"),
        "{t}"
    );
}

#[test]
fn replications_are_independent_runs_of_the_same_seed() {
    let (a, _) = run(&["run", "scenarios/lb-p2c.ron", "--format", "json"]);
    let (b, _) = run(&[
        "run",
        "scenarios/lb-p2c.ron",
        "--format",
        "json",
        "--replication",
        "1",
    ]);
    assert_ne!(a, b);
    let b = String::from_utf8(b).expect("utf-8");
    assert!(b.contains("--seed 7 --replication 1"), "{b}");
}

/// Common random numbers: changing only the policy leaves arrivals and service work alone, so
/// the number of requests offered is identical across policies.
#[test]
fn policies_see_the_same_arrivals() {
    let base = super::load("scenarios/lb-p2c.ron");
    let offered = |policy| {
        let mut spec = base.spec.clone();
        spec.balancers[0].policy = policy;
        let (_, c) = hasim::Run::spec(&spec).seed(7).simulate().parts();
        (c.offered, c.latency_sum_ns)
    };
    use models::spec::PolicySpec::*;
    let (rr, rr_sum) = offered(RoundRobin);
    let (p2c, p2c_sum) = offered(LeastRequest { choices: 2 });
    let (jsq, _) = offered(JoinShortestQueue);
    assert_eq!(rr, p2c);
    assert_eq!(rr, jsq);
    // ...while the routing really changes the outcome: P2C beats round robin at ρ = 0.9.
    assert!(p2c_sum < rr_sum, "p2c {p2c_sum} vs rr {rr_sum}");
}

#[test]
fn output_file_is_written_whole() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("report.json");
    let (_, code) = run(&[
        "run",
        "scenarios/lb-p2c.ron",
        "--format",
        "json",
        "--out",
        path.to_str().expect("utf-8 path"),
    ]);
    assert_eq!(code, 0);
    let (stdout, _) = run(&["run", "scenarios/lb-p2c.ron", "--format", "json"]);
    assert_eq!(std::fs::read(&path).expect("report written"), stdout);
    // Only the report: no temporary file left beside it.
    assert_eq!(std::fs::read_dir(dir.path()).expect("dir").count(), 1);
}
