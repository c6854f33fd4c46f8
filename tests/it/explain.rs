//! One request followed end to end: `--trace-request` keeps every step of its life, the steps
//! add up to its latency exactly, and `hasim explain` tells it.

use super::hasim;

fn steps(path: &std::path::Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .expect("trace")
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect()
}

fn at(steps: &[serde_json::Value], event: &str) -> Vec<u64> {
    steps
        .iter()
        .filter(|s| s["event"] == event)
        .map(|s| s["t_ns"].as_u64().expect("t_ns"))
        .collect()
}

#[test]
fn the_trace_of_one_request_reconstructs_its_latency_exactly() {
    let t = tempfile::tempdir().expect("tempdir");
    // Ten replicas at 90% load: requests queue, so every step has a duration.
    let mut waited_some = false;
    for request in [100_000u64, 100_001, 100_002, 250_000] {
        let path = t.path().join(format!("r{request}.jsonl"));
        let out = hasim(&[
            "run",
            "scenarios/lb-p2c.ron",
            "--trace",
            path.to_str().expect("utf-8"),
            "--trace-request",
            &request.to_string(),
        ]);
        assert_eq!(out.status.code(), Some(0));
        let s = steps(&path);
        assert!(
            s.iter().all(|x| x["request"] == request),
            "only this request"
        );
        let (offered, finished) = (at(&s, "offered"), at(&s, "finished"));
        assert_eq!((offered.len(), finished.len()), (1, 1), "{s:?}");
        let fin = s
            .iter()
            .find(|x| x["event"] == "finished")
            .expect("finished");
        assert_eq!(fin["outcome"], "succeeded");
        let latency = fin["latency_ns"].as_u64().expect("latency");
        let waited = fin["waited_ns"].as_u64().expect("waited");
        // Offered → finished is the latency, to the nanosecond.
        assert_eq!(finished[0] - offered[0], latency, "{s:?}");
        // The balancer saw every replica with its load, and picked one of them.
        let candidates: Vec<&serde_json::Value> =
            s.iter().filter(|x| x["event"] == "candidate").collect();
        assert_eq!(candidates.len(), 10, "{s:?}");
        assert!(candidates.iter().all(|c| c["occupancy"].is_u64()));
        let picked = s.iter().find(|x| x["event"] == "picked").expect("picked");
        let replica = picked["replica"].as_str().expect("replica");
        assert_eq!(fin["replica"], replica);
        // Queued (if at all) until service began, served until the answer: the parts add up.
        let (start, end) = (at(&s, "service_start"), at(&s, "service_end"));
        assert_eq!((start.len(), end.len()), (1, 1));
        let enqueued = at(&s, "enqueued");
        let queued_for = enqueued.first().map_or(0, |e| start[0] - e);
        assert_eq!(queued_for, waited, "{s:?}");
        waited_some |= waited > 0;
        assert_eq!(end[0], finished[0]);
        assert_eq!(
            (start[0] - offered[0]) + (end[0] - start[0]),
            latency,
            "waiting + service = latency"
        );
        // `hasim explain` tells the same story in words.
        let told = hasim(&[
            "explain",
            path.to_str().expect("utf-8"),
            &request.to_string(),
        ]);
        assert_eq!(told.status.code(), Some(0));
        let text = String::from_utf8_lossy(&told.stdout);
        assert!(text.contains(&format!("lb picks {replica}")), "{text}");
        assert!(
            text.contains(&format!("latency {:.3} ms", latency as f64 / 1e6)),
            "{text}"
        );
    }
    assert!(waited_some, "at 90% load some of these requests queued");
}

#[test]
fn a_filter_that_matches_nothing_says_so() {
    let t = tempfile::tempdir().expect("tempdir");
    let path = t.path().join("t.jsonl");
    let out = hasim(&[
        "run",
        "scenarios/lb-p2c.ron",
        "--trace",
        path.to_str().expect("utf-8"),
        "--trace-component",
        "no-such-thing",
    ]);
    assert_eq!(out.status.code(), Some(0));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("warning: the trace filter matched no record"),
        "{err}"
    );
    // The balancer is a component: its picks are in the trace.
    let out = hasim(&[
        "run",
        "scenarios/lb-p2c.ron",
        "--trace",
        path.to_str().expect("utf-8"),
        "--trace-component",
        "lb",
        "--trace-limit",
        "50",
    ]);
    assert_eq!(out.status.code(), Some(0));
    let s = steps(&path);
    assert_eq!(s.len(), 50);
    assert!(s.iter().any(|x| x["event"] == "picked"), "{s:?}");
    let missing = hasim(&["explain", path.to_str().expect("utf-8"), "999999999"]);
    assert_eq!(missing.status.code(), Some(2));
}

/// A request of a multi-tier scenario: each dependency call it makes is a step of its life,
/// in the trace (which replica called, through which hop, and when the call ended) and in
/// `hasim explain`; every call that starts also ends.
#[test]
fn dependency_calls_are_steps_of_a_request() {
    let t = tempfile::tempdir().expect("tempdir");
    let path = t.path().join("mt.jsonl");
    let out = hasim(&[
        "run",
        "scenarios/multi-tier.ron",
        "--trace",
        path.to_str().expect("utf-8"),
        "--trace-request",
        "1000",
    ]);
    assert_eq!(out.status.code(), Some(0));
    let s = steps(&path);
    let calls: Vec<&serde_json::Value> = s
        .iter()
        .filter(|x| x["event"] == "dependency_call")
        .collect();
    let ends = s.iter().filter(|x| x["event"] == "dependency_end").count();
    // api calls search three times (copies: 3) and every search replica that serves it calls
    // profile once (retries aside): at least four calls, each one ended (or was cancelled).
    assert!(calls.len() >= 4, "{s:?}");
    assert_eq!(calls.len(), ends, "{s:?}");
    let first = calls[0];
    assert_eq!(first["hop"], "hop/api → lb-search");
    // The calling replica is the one the client's balancer picked, and the call starts after
    // it began serving (its own work comes first).
    let picked = s.iter().find(|x| x["event"] == "picked").expect("picked");
    assert_eq!(first["component"], picked["replica"]);
    let served = at(&s, "service_start")[0];
    assert!(first["t_ns"].as_u64().expect("t_ns") >= served);
    // Each call's attempt follows it at the same instant, made by the hop.
    let i = s
        .iter()
        .position(|x| std::ptr::eq(x, first))
        .expect("index");
    assert_eq!(s[i + 1]["event"], "attempt");
    assert_eq!(s[i + 1]["component"], first["hop"]);
    let told = hasim(&["explain", path.to_str().expect("utf-8"), "1000"]);
    assert_eq!(told.status.code(), Some(0));
    let text = String::from_utf8_lossy(&told.stdout);
    let caller = first["component"].as_str().expect("component");
    assert!(
        text.contains(&format!(
            "{caller} calls its dependency through hop/api → lb-search"
        )),
        "{text}"
    );
    assert!(
        text.contains("the dependency call ends: succeeded"),
        "{text}"
    );
}
