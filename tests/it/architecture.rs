//! Whole architectures (issue 20): stores on the request path, on one clock. A database
//! failover fails exactly the writes that arrive in its gap; synchronous replication adds the
//! backup round trip to a request, exactly; a quorum read at low load is the R-th order
//! statistic of N replica times; a message's time to processing is its produce latency plus
//! the consumer's service; a cache the pools call keeps its closed-form hit ratio; and a
//! pipeline whose workers are down keeps its front end available while the lag grows and
//! drains. Tolerances are 4 standard errors of each estimate over its run.

use hasim::Run;
use models::store::{StoreRecord, StoreSummary};
use models::{Outcome, Record};
use sim_core::{Observer, SimTime};

const Z: f64 = 4.0;

fn scenario(text: &str) -> scenarios::Loaded {
    scenarios::parse_str(text, "test.ron").unwrap_or_else(|e| panic!("{e}\n{text}"))
}

/// Every successful request's exact latency, every failure, and every first processing of a
/// broker message, after warm-up.
#[derive(Default)]
struct Seen {
    ok_ns: Vec<u64>,
    failed: u64,
    consumed_ns: Vec<u64>,
}

impl Observer<Record> for Seen {
    fn record(&mut self, _now: SimTime, r: &Record) {
        match *r {
            Record::Finished {
                outcome, latency, ..
            } => {
                if outcome == Outcome::Succeeded {
                    self.ok_ns.push(latency.0);
                } else {
                    self.failed += 1;
                }
            }
            Record::Store(StoreRecord::Consumed {
                first: true, delay, ..
            }) => self.consumed_ns.push(delay.0),
            _ => {}
        }
    }
}

fn web_to(store_call: &str, arrivals: &str, horizon: &str, stores: &str) -> String {
    format!(
        r#"Scenario(
    name: "t", seed: 1, horizon: "{horizon}",
    clients: [Client(name: "u", arrivals: {arrivals}, target: "web")],
    pools: [Pool(name: "web", replicas: 1, workers: 64, service: Constant("5ms"),
        dependencies: Dependencies(calls: [{store_call}]))],
    stores: [{stores}],
)"#
    )
}

fn pb(replication: &str, faults: &str) -> String {
    format!(
        r#"PrimaryBackup(name: "db", backups: 1, replication: {replication},
            heartbeat: "2s", lease: "10s", promotion: Constant("3s"), faults: [{faults}])"#
    )
}

#[test]
fn a_database_failover_fails_the_writes_that_arrive_in_its_gap() {
    let rate = 200.0;
    for seed in 1..=3 {
        let text = web_to(
            r#"Dependency(target: "db", op: Write)"#,
            &format!("Poisson(rate_per_s: {rate})"),
            "10m",
            &pb(
                r#"Asynchronous(lag: Exponential(mean: "50ms"))"#,
                r#"Crash(at: "5m", duration: "2m")"#,
            ),
        );
        let loaded = scenario(&text);
        let sim = Run::new(&loaded)
            .seed(seed)
            .observe(Seen::default())
            .simulate();
        let StoreSummary::PrimaryBackup(db) = &sim.stores[0].0 else {
            panic!("a primary-backup store")
        };
        assert_eq!(db.outages.len(), 1);
        let o = &db.outages[0];
        let gap = o.rto().expect("the failover ended").0 as f64 / 1e9;
        // Every request that failed was a write that found no primary, and vice versa.
        assert_eq!(sim.observer.failed, o.failed, "seed {seed}");
        assert_eq!(o.failed, db.counts.failed_unavailable);
        // Writes in the gap are Poisson(rate × gap).
        let want = rate * gap;
        let got = o.failed as f64;
        assert!(
            (got - want).abs() <= Z * want.sqrt(),
            "seed {seed}: {got} writes failed in a {gap} s gap, expected {want} ± {}",
            Z * want.sqrt()
        );
        // The gap is the lease left after the last heartbeat, plus the promotion.
        assert!((10.0..=15.0).contains(&gap), "gap {gap}");
    }
}

#[test]
fn synchronous_replication_adds_the_backup_round_trip_exactly() {
    for (replication, want_ms) in [
        (r#"Synchronous(round_trip: Constant("2ms"))"#, 7),
        (r#"Asynchronous(lag: Constant("2ms"))"#, 5),
    ] {
        let text = web_to(
            r#"Dependency(target: "db", op: Write)"#,
            "Constant(rate_per_s: 20.0)",
            "1m",
            &pb(replication, ""),
        );
        let loaded = scenario(&text);
        let sim = Run::new(&loaded).observe(Seen::default()).simulate();
        let seen = &sim.observer;
        assert_eq!(seen.failed, 0);
        assert!(seen.ok_ns.len() > 1000);
        assert!(
            seen.ok_ns.iter().all(|&l| l == want_ms * 1_000_000),
            "{replication}: every request takes {want_ms} ms, found {:?}",
            &seen.ok_ns[..5]
        );
    }
}

#[test]
fn a_quorum_read_at_low_load_is_the_rth_order_statistic_of_n() {
    // N = 3 replicas answering after Exponential(10 ms) each, R = 2: the read ends at the
    // second of three, X(2) = E/3 + E'/2 in units of the mean (the gaps of order statistics
    // of exponentials), so E[X(2)] = 10 (1/3 + 1/2) ms and Var = 100 (1/9 + 1/4) ms².
    let mean_ms = 10.0;
    let text = web_to(
        r#"Dependency(target: "kv", op: Read)"#,
        "Poisson(rate_per_s: 50.0)",
        "2000s",
        r#"Quorum(name: "kv", replicas: 3, read_quorum: 2, write_quorum: 2,
            response: Exponential(mean: "10ms"))"#,
    );
    let loaded = scenario(&text);
    let sim = Run::new(&loaded).observe(Seen::default()).simulate();
    let lat: Vec<f64> = (sim.observer.ok_ns.iter())
        .map(|&l| l as f64 / 1e6 - 5.0)
        .collect();
    let n = lat.len() as f64;
    assert!(n > 90_000.0);
    let want = mean_ms * (1.0 / 3.0 + 1.0 / 2.0);
    let sd = mean_ms * (1.0f64 / 9.0 + 1.0 / 4.0).sqrt();
    let got = lat.iter().sum::<f64>() / n;
    assert!(
        (got - want).abs() <= Z * sd / n.sqrt(),
        "mean {got} ms, expected {want} ± {}",
        Z * sd / n.sqrt()
    );
    // And its distribution: P(X(2) ≤ t) = 3F² − 2F³, F = 1 − e^(−t/10).
    for t in [3.0, 8.0, 20.0] {
        let f = 1.0 - (-t / mean_ms).exp();
        let p = 3.0 * f * f - 2.0 * f * f * f;
        let got = lat.iter().filter(|&&x| x <= t).count() as f64 / n;
        let se = (p * (1.0 - p) / n).sqrt();
        assert!(
            (got - p).abs() <= Z * se,
            "P(X ≤ {t}) = {got}, expected {p}"
        );
    }
}

#[test]
fn a_message_takes_its_produce_latency_plus_the_consumer_service() {
    // acks All with one follower copying in exactly 3 ms: the produce answers after 3 ms, and
    // the consumer (idle: 5 messages/s) reads it then and processes it in exactly 20 ms.
    let text = web_to(
        r#"Dependency(target: "q")"#,
        "Constant(rate_per_s: 5.0)",
        "10m",
        r#"Broker(name: "q", partitions: 1, replication_factor: 2, min_insync_replicas: 2,
            follower_lag: Constant("3ms"), producer: Producer(acks: All),
            consumers: ConsumerGroup(consumers: 1, processing: Constant("20ms"), failure_rate: 0.0,
                heartbeat_interval: "3s", session_timeout: "10s", rebalance_pause: "3s",
                visibility_timeout: "30s", max_receives: 3, commit_interval: "5s"))"#,
    );
    let loaded = scenario(&text);
    let sim = Run::new(&loaded).observe(Seen::default()).simulate();
    let seen = &sim.observer;
    assert!(seen.ok_ns.len() > 2900);
    assert!(
        seen.ok_ns.iter().all(|&l| l == 8_000_000),
        "the user waits for the web's 5 ms and the produce's 3 ms"
    );
    assert!(seen.consumed_ns.len() > 2900);
    assert!(
        seen.consumed_ns.iter().all(|&d| d == 23_000_000),
        "produced → processed: 3 ms to be acknowledged, 20 ms of processing: {:?}",
        &seen.consumed_ns[..5]
    );
}

#[test]
fn a_cache_the_pools_call_keeps_its_closed_form_hit_ratio() {
    // Web requests arrive as a Poisson stream and leave an uncongested pool as one: the cache
    // sees the same lookups as a standalone cache with `requests` would, and its TTL renewal
    // closed form (at the calls' measured rate) holds within the batch-means error.
    let text = web_to(
        r#"Dependency(target: "c")"#,
        "Poisson(rate_per_s: 1000.0)",
        "2000s",
        r#"Cache(name: "c", keys: Zipf(n: 2000, s: 0.8), ttl: "10s", hit_latency: Constant("0ms"),
            backend: Backend(workers: 100000, service: Constant("1ms"), queue_limit: 0))"#,
    );
    let loaded = scenario(&text);
    let sim = Run::new(&loaded).simulate();
    let StoreSummary::Cache(c) = &sim.stores[0].0 else {
        panic!("a cache")
    };
    let (theory, _) = c.theory.expect("a closed form for TTL without capacity");
    let (got, se) = crate::cache::hit_ratio_and_se(c);
    assert!(
        (got - theory).abs() <= Z * se,
        "hit ratio {got} ± {se}, closed form {theory}"
    );
    assert!(c.counts.requests > 1_900_000);
}

#[test]
fn the_order_pipeline_stays_available_while_its_workers_are_down() {
    let loaded = crate::load("scenarios/order-pipeline.ron");
    let sim = Run::new(&loaded).observe(Seen::default()).simulate();
    let StoreSummary::Broker(b) = &sim.stores[0].0 else {
        panic!("a broker")
    };
    assert_eq!(sim.observer.failed, 0, "the front end never fails");
    // 50 orders/s for the 600 s every worker is down.
    let want = 50.0 * 600.0;
    assert!(
        (b.max_lag as f64 - want).abs() <= Z * want.sqrt() + 200.0,
        "peak lag {} (≈ {want})",
        b.max_lag
    );
    // Drained: within 5 minutes of the workers' return the lag is back to its level before
    // the outage (what a commit interval leaves uncommitted: 50/s × 5 s).
    let lag_in = |from_s: u64, to_s: u64| {
        (b.windows.iter())
            .filter(|w| (from_s * 1_000_000_000..=to_s * 1_000_000_000).contains(&w.end.0))
            .map(|w| w.lag)
            .max()
            .expect("windows")
    };
    let (before, after) = (lag_in(120, 600), lag_in(1_500, 2_400));
    assert!(before < 500, "lag before the outage: {before}");
    assert!(
        after <= 2 * before,
        "lag after the drain {after}, before {before}"
    );
}

/// web → broker `q` → a consumer group made of the `worker` pool (its service, then a write to
/// `db`) — with `group` the ConsumerGroup's fields and `db` the database.
fn pipeline(arrivals: &str, horizon: &str, worker: &str, group: &str, db: &str) -> String {
    format!(
        r#"Scenario(
    name: "t", seed: 1, horizon: "{horizon}",
    clients: [Client(name: "u", arrivals: {arrivals}, target: "web")],
    pools: [
        Pool(name: "web", replicas: 1, workers: 64, service: Constant("5ms"),
            dependencies: Dependencies(calls: [Dependency(target: "q")])),
        {worker}
    ],
    stores: [
        Broker(name: "q", partitions: 2, replication_factor: 2, min_insync_replicas: 2,
            follower_lag: Constant("3ms"), producer: Producer(acks: All),
            consumers: ConsumerGroup({group} heartbeat_interval: "3s", session_timeout: "10s",
                rebalance_pause: "3s", visibility_timeout: "30s", max_receives: 3,
                commit_interval: "5s")),
        {db},
    ],
)"#
    )
}

#[test]
fn a_message_processed_by_a_worker_pool_takes_its_service_and_its_calls() {
    // Idle (5 messages/s): a message is acknowledged 3 ms after it was produced, then its
    // consumer (a replica of `worker`) serves it in 15 ms and writes it to `db`, whose
    // synchronous replication takes 4 ms: 22 ms from produced to processed.
    let text = pipeline(
        "Constant(rate_per_s: 5.0)",
        "10m",
        r#"Pool(name: "worker", replicas: 2, workers: 1, service: Constant("15ms"),
            dependencies: Dependencies(calls: [Dependency(target: "db", op: Write)]))"#,
        r#"pool: "worker","#,
        &pb(r#"Synchronous(round_trip: Constant("4ms"))"#, ""),
    );
    let loaded = scenario(&text);
    let sim = Run::new(&loaded).observe(Seen::default()).simulate();
    let seen = &sim.observer;
    assert!(seen.ok_ns.len() > 2900);
    assert!(
        seen.ok_ns.iter().all(|&l| l == 8_000_000),
        "users wait 5 + 3 ms"
    );
    assert!(seen.consumed_ns.len() > 2900);
    assert!(
        seen.consumed_ns.iter().all(|&d| d == 22_000_000),
        "produced → processed: 3 + 15 + 4 ms, found {:?}",
        &seen.consumed_ns[..5]
    );
    let (StoreSummary::Broker(b), StoreSummary::PrimaryBackup(db)) =
        (&sim.stores[0].0, &sim.stores[1].0)
    else {
        panic!("a broker and a database")
    };
    // One processing per message, each a request to the pool and one write to the database.
    let hop = (sim.summary.hops.iter())
        .find(|h| h.name == "q → worker")
        .expect("the group's hop");
    assert_eq!(hop.succeeded, b.counts.delivered);
    assert_eq!(db.counts.acked, b.counts.delivered);
    let served: u64 = (sim.summary.replicas.iter())
        .filter(|r| r.pool == "worker")
        .map(|r| r.served)
        .sum();
    assert_eq!(served, hop.offered);
    assert_eq!(b.counts.duplicates + b.counts.processing_failures, 0);
}

#[test]
fn a_worker_pool_whose_database_fails_over_redelivers_what_failed() {
    // The database behind the workers fails over: every message processed in the gap fails
    // its write (≈ rate × gap, Poisson), is received again after the visibility timeout
    // (30 s, past the gap) and then processed. Users never notice; no message is lost.
    let rate = 50.0;
    for seed in 1..=3 {
        let text = pipeline(
            &format!("Poisson(rate_per_s: {rate})"),
            "10m",
            r#"Pool(name: "worker", replicas: 2, workers: 1, service: Constant("5ms"),
                dependencies: Dependencies(calls: [Dependency(target: "db", op: Write)]))"#,
            r#"pool: "worker","#,
            &pb(
                r#"Asynchronous(lag: Exponential(mean: "50ms"))"#,
                r#"Crash(at: "5m", duration: "2m")"#,
            ),
        );
        let loaded = scenario(&text);
        let sim = Run::new(&loaded)
            .seed(seed)
            .observe(Seen::default())
            .simulate();
        let (StoreSummary::Broker(b), StoreSummary::PrimaryBackup(db)) =
            (&sim.stores[0].0, &sim.stores[1].0)
        else {
            panic!("a broker and a database")
        };
        assert_eq!(sim.observer.failed, 0, "seed {seed}: users never fail");
        let o = &db.outages[0];
        let gap = o.rto().expect("the failover ended").0 as f64 / 1e9;
        assert_eq!(b.counts.processing_failures, o.failed, "seed {seed}");
        let want = rate * gap;
        assert!(
            (o.failed as f64 - want).abs() <= Z * want.sqrt(),
            "seed {seed}: {} processings failed in a {gap} s gap, expected {want}",
            o.failed
        );
        assert_eq!(b.counts.dead_lettered, 0, "seed {seed}");
        let c = &b.counts;
        assert_eq!(
            c.produced,
            c.delivered + c.backlog + c.in_flight,
            "seed {seed}: every message is processed or still in the topic"
        );
    }
}

#[test]
fn a_group_made_of_a_pool_is_checked_with_hints() {
    let worker = r#"Pool(name: "worker", replicas: 2, service: Constant("5ms"))"#;
    let db = pb(r#"Asynchronous(lag: Constant("1ms"))"#, "");
    for (group, want) in [
        (r#"pool: "wroker","#, "no pool is named `wroker`"),
        (
            r#"pool: "worker", consumers: 3,"#,
            "3 consumers, but pool `worker` has 2 replicas",
        ),
        (
            r#"pool: "worker", processing: Constant("1ms"),"#,
            "takes its `processing` from the pool",
        ),
        ("", "a consumer group needs its members"),
        ("consumers: 2,", "needs `processing`"),
    ] {
        // Without a pool in the group, no worker pool (it would be an orphan, reported first).
        let w = if group.contains("pool") { worker } else { "" };
        let text = pipeline("Constant(rate_per_s: 5.0)", "1m", w, group, &db);
        let e = scenarios::parse_str(&text, "t.ron").expect_err(group);
        let msg = e.to_string();
        assert!(msg.contains(want), "{group}: {msg}");
        assert!(
            e.span.is_some() && e.help.is_some(),
            "{group}: a place and a hint"
        );
    }
    // A pool only a group feeds is no orphan.
    let ok = pipeline(
        "Constant(rate_per_s: 5.0)",
        "1m",
        worker,
        r#"pool: "worker","#,
        &db,
    );
    scenario(&ok);
}

/// The README's excerpt of `hasim run scenarios/three-tier.ron` is what the command prints,
/// line for line, and its `ron` block is a valid dependency list.
#[test]
fn the_readme_section_is_real() {
    let readme = std::fs::read_to_string(crate::repo("README.md")).expect("README");
    let from = readme.find("## Whole architectures").expect("the section");
    let block = |fence: &str| -> String {
        let start = readme[from..].find(fence).expect("fence") + from + fence.len();
        let end = readme[start..].find("```").expect("closing fence") + start;
        readme[start..end].to_string()
    };
    let out = crate::hasim(&["run", "scenarios/three-tier.ron"]);
    assert_eq!(out.status.code(), Some(0));
    let printed = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = printed.lines().collect();
    for line in block("```text\n").lines() {
        assert!(
            lines.contains(&line),
            "the README shows a line the run does not print: {line}"
        );
    }
    let deps = block("```ron\n");
    let text = format!(
        r#"Scenario(name: "t", horizon: "1s",
    clients: [Client(name: "u", arrivals: Poisson(rate_per_s: 1.0), target: "web")],
    pools: [Pool(name: "web", replicas: 1, service: Constant("1ms"), {deps})],
    stores: [
        Cache(name: "catalog", keys: Uniform(n: 10), backend: Backend(workers: 1, service: Constant("1ms"))),
        PrimaryBackup(name: "orders-db", backups: 1, replication: Asynchronous(lag: Constant("1ms"))),
    ])"#
    );
    scenario(&text);
}

/// A dependency on a store is checked like any other: an operation the kind does not serve,
/// a missing one, or `op` on a pool is an error with its place and a hint.
#[test]
fn a_bad_store_call_is_an_error_with_a_hint() {
    let with = |call: &str| {
        format!(
            r#"Scenario(name: "t", horizon: "1s",
    clients: [Client(name: "u", arrivals: Poisson(rate_per_s: 1.0), target: "web")],
    pools: [Pool(name: "web", replicas: 1, service: Constant("1ms"),
        dependencies: Dependencies(calls: [{call}])),
        Pool(name: "other", replicas: 1, service: Constant("1ms"))],
    stores: [
        Cache(name: "c", keys: Uniform(n: 10), backend: Backend(workers: 1, service: Constant("1ms"))),
        PrimaryBackup(name: "db", backups: 1, replication: Asynchronous(lag: Constant("1ms"))),
    ])"#
        )
    };
    for (call, says) in [
        (
            r#"Dependency(target: "c", op: Write)"#,
            "a Cache store serves no Write calls",
        ),
        (r#"Dependency(target: "db")"#, "needs an op"),
        (r#"Dependency(target: "other", op: Read)"#, "is not a store"),
    ] {
        let text = with(call);
        let e = scenarios::parse_str(&text, "t.ron")
            .err()
            .unwrap_or_else(|| panic!("{call} is refused"))
            .to_string();
        assert!(e.contains(says), "{call}: {e}");
        assert!(e.contains("t.ron:"), "{e}");
    }
}

/// Reads from backups behind asynchronous replication: with Poisson writes at λ and a
/// constant lag L, a read finds its backup missing an acknowledged write exactly when one was
/// acknowledged in the last L: P(stale) = 1 − e^(−λL); its staleness is then the age of the
/// oldest such write, with mean L − 1/λ + L e^(−λL) / (1 − e^(−λL)), never more than L.
#[test]
fn reads_from_backups_are_stale_as_the_lag_predicts() {
    let (lambda, lag_ms): (f64, f64) = (100.0, 20.0);
    let text = web_to(
        r#"Dependency(target: "db", op: Read)"#,
        "Poisson(rate_per_s: 200.0)",
        "200s",
        &format!(
            r#"PrimaryBackup(name: "db", backups: 2, writes: Poisson(rate_per_s: {lambda}),
            replication: Asynchronous(lag: Constant("{lag_ms}ms")), reads_from: Backups)"#
        ),
    );
    let loaded = scenario(&text);
    let (report, _) = Run::new(&loaded).execute();
    let json = serde_json::to_value(&report).expect("json");
    let b = &json["stores"][0]["reads"]["from_backups"];
    let n = b["answered"].as_f64().expect("answered");
    assert!(n > 39_000.0, "{b}");
    let x = lambda * lag_ms / 1e3;
    let p = 1.0 - (-x).exp();
    let got = b["stale_share"].as_f64().expect("share");
    assert!(
        (got - p).abs() <= Z * (p * (1.0 - p) / n).sqrt(),
        "stale share {got}, expected {p}"
    );
    let want = lag_ms - 1e3 / lambda + lag_ms * (-x).exp() / p;
    let mean = b["staleness_s_mean"].as_f64().expect("mean") * 1e3;
    let stale = b["stale"].as_f64().expect("stale");
    assert!(
        (mean - want).abs() <= Z * (lag_ms / 2.0) / stale.sqrt() + 1e-3,
        "staleness {mean} ms, expected {want}"
    );
    assert!(b["staleness_s_max"].as_f64().expect("max") * 1e3 <= lag_ms);
}

/// A lock taken by a pool's requests: each request acquires it (a round trip), holds it for
/// its critical section and releases it; while the single lock server is down no request can
/// take it, and each fails when its acquire time-out runs out.
#[test]
fn requests_take_a_lock_and_fail_while_its_server_is_down() {
    let lock = |faults: &str| {
        format!(
            r#"Lock(name: "l", kind: SingleNode, fencing: false, ttl: "10s",
            acquire_timeout: "2s", retry: "100ms", hold: Constant("10ms"),
            round_trip: Constant("1ms"), faults: [{faults}])"#
        )
    };
    let run = |faults: &str| {
        let text = web_to(
            r#"Dependency(target: "l", op: Lock)"#,
            "Constant(rate_per_s: 5.0)",
            "10m",
            &lock(faults),
        );
        let loaded = scenario(&text);
        Run::new(&loaded)
            .observe(Seen::default())
            .simulate()
            .observer
    };
    let calm = run("");
    assert_eq!(calm.failed, 0);
    assert!(calm.ok_ns.len() > 2900);
    // Never faster than the web's 5 ms plus the 10 ms critical section.
    assert!(
        calm.ok_ns.iter().all(|&l| l >= 15_000_000),
        "{:?}",
        &calm.ok_ns[..3]
    );
    let down = run(r#"Crash(at: "2m", duration: "1m", server: 0)"#);
    // 5 requests/s for the minute it is down: every one of them fails (give or take the ones
    // arriving within an acquire time-out of the repair, which get the lock once it is back).
    assert!(
        (280..=300).contains(&down.failed),
        "{} requests failed while the lock server was down",
        down.failed
    );
}

/// A quorum store whose replicas have their own workers queues its operations: one replica
/// with one worker and exponential service is an M/M/1 queue, whose mean response is
/// 1/(μ − λ); behind a web tier of constant 5 ms, the request's mean is that plus 5 ms.
#[test]
fn a_quorum_replica_with_one_worker_is_an_mm1_queue() {
    let text = web_to(
        r#"Dependency(target: "kv", op: Write)"#,
        "Poisson(rate_per_s: 50.0)",
        "4000s",
        r#"Quorum(name: "kv", replicas: 1, read_quorum: 1, write_quorum: 1,
            response: Exponential(mean: "10ms"), workers: 1)"#,
    );
    let loaded = scenario(&text);
    let (report, _) = Run::new(&loaded).execute();
    let l = &report.latency_ms;
    let want = 5.0 + 1e3 / (100.0 - 50.0);
    let ci = l.mean_ci95.expect("a confidence interval");
    assert!(
        (l.mean - want).abs() <= 2.0 * ci,
        "mean {} ± {ci} ms, M/M/1 says {want}",
        l.mean
    );
    assert_eq!(report.requests.failed, 0);
}

/// A cache whose misses its callers fetch (`misses_from`): a hit takes the lookup, a miss the
/// lookup plus the backend pool's service, exactly; the pool serves one request per fetch; and
/// when the backend is a database that fails over, exactly the misses in the gap fail.
#[test]
fn a_cache_miss_reads_through_to_its_backend() {
    let text = r#"Scenario(
    name: "t", seed: 3, horizon: "120s",
    clients: [Client(name: "u", arrivals: Poisson(rate_per_s: 50.0), target: "web")],
    pools: [
        Pool(name: "web", replicas: 1, workers: 64, service: Constant("5ms"),
            dependencies: Dependencies(calls: [Dependency(target: "c")])),
        Pool(name: "db", replicas: 1, workers: 64, service: Constant("10ms")),
    ],
    stores: [Cache(name: "c", keys: Zipf(n: 500, s: 0.9), ttl: "20s", hit_latency: Constant("1ms"),
        misses_from: Dependency(target: "db", timeout: "1s"))],
)"#;
    let loaded = scenario(text);
    let sim = Run::new(&loaded).observe(Seen::default()).simulate();
    let StoreSummary::Cache(c) = &sim.stores[0].0 else {
        panic!("a cache")
    };
    let seen = &sim.observer;
    assert_eq!(seen.failed, 0);
    let hits = seen.ok_ns.iter().filter(|&&l| l == 6_000_000).count() as u64;
    let misses = seen.ok_ns.iter().filter(|&&l| l == 16_000_000).count() as u64;
    assert_eq!(
        hits + misses,
        seen.ok_ns.len() as u64,
        "only 6 ms and 16 ms"
    );
    assert_eq!(hits, c.counts.hits);
    assert_eq!(misses, c.counts.misses_ok);
    assert!(hits > 1000 && misses > 500, "{hits} hits, {misses} misses");
    // One backend request per fetch (no single flight: every miss fetches).
    assert_eq!(sim.summary.hops[1].offered, c.counts.fetches);

    // The database behind it fails over: a miss finds no primary and fails; hits do not.
    let text = r#"Scenario(
    name: "t", seed: 3, horizon: "120s",
    clients: [Client(name: "u", arrivals: Poisson(rate_per_s: 50.0), target: "web")],
    pools: [Pool(name: "web", replicas: 1, workers: 64, service: Constant("5ms"),
        dependencies: Dependencies(calls: [Dependency(target: "c")]))],
    stores: [
        Cache(name: "c", keys: Zipf(n: 500, s: 0.9), ttl: "20s", hit_latency: Constant("1ms"),
            misses_from: Dependency(target: "db", op: Read)),
        PrimaryBackup(name: "db", backups: 1, replication: Asynchronous(lag: Constant("1ms")),
            heartbeat: "2s", lease: "10s", promotion: Constant("3s"),
            faults: [Crash(at: "60s", duration: "30s")]),
    ],
)"#;
    let loaded = scenario(text);
    let sim = Run::new(&loaded).observe(Seen::default()).simulate();
    let (StoreSummary::Cache(c), StoreSummary::PrimaryBackup(db)) =
        (&sim.stores[0].0, &sim.stores[1].0)
    else {
        panic!("a cache and a database")
    };
    assert!(sim.observer.failed > 0, "misses in the failover gap fail");
    assert_eq!(
        sim.observer.failed, c.counts.failed,
        "every failure is a miss"
    );
    assert_eq!(
        c.counts.failed,
        db.counts.reads_offered - db.counts.reads_ok
    );
    assert_eq!(db.counts.reads_offered, c.counts.fetches);
}
