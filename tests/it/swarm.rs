//! Swarm testing (TigerBeetle-style): random but valid scenarios, drawn by proptest, must
//! validate, run without panics or broken invariants, and produce self-consistent reports.
//! A failing case shrinks, and the failure message prints the scenario file.

use proptest::prelude::*;

#[derive(Clone, Debug)]
struct PoolGen {
    replicas: u32,
    workers: u32,
    queue: Option<u32>,
    service: usize,
    failures: Option<(u32, u32)>,
    policy: usize,
    edge: bool,
    clients: Vec<(u32, Option<u32>)>,
}

fn pool_gen() -> impl Strategy<Value = PoolGen> {
    (
        1u32..5,
        1u32..4,
        proptest::option::of(0u32..6),
        0usize..10,
        proptest::option::of((5u32..120, 1u32..20)),
        0usize..5,
        any::<bool>(),
        proptest::collection::vec((1u32..60, proptest::option::of(20u32..2000)), 1..3),
    )
        .prop_map(
            |(replicas, workers, queue, service, failures, policy, edge, clients)| PoolGen {
                replicas,
                workers,
                queue,
                service,
                failures,
                policy,
                edge,
                clients,
            },
        )
}

const SERVICES: [&str; 10] = [
    "Exponential(mean: \"20ms\")",
    "Constant(\"15ms\")",
    "Uniform(low: \"1ms\", high: \"40ms\")",
    "Normal(mean: \"20ms\", sd: \"10ms\")",
    "LogNormal(median: \"10ms\", p99: \"120ms\")",
    "LogNormal(mean: \"20ms\", sd: \"30ms\")",
    "Erlang(k: 3, mean: \"20ms\")",
    "HyperExponential(branches: [(p: 0.9, mean: \"5ms\"), (p: 0.1, mean: \"150ms\")])",
    "Pareto(scale: \"5ms\", shape: 1.8)",
    "Weibull(scale: \"20ms\", shape: 0.7)",
];

fn render(pools: &[PoolGen], horizon_s: u32, warmup_s: u32) -> String {
    let mut clients = String::new();
    let mut balancers = String::new();
    let mut ps = String::new();
    for (i, p) in pools.iter().enumerate() {
        let policies = [
            "RoundRobin".to_string(),
            "Random".into(),
            "LeastConnections".into(),
            format!(
                "LeastRequest(choices: {})",
                1 + p.policy as u32 % p.replicas
            ),
            "JoinShortestQueue".into(),
        ];
        let target = if p.replicas > 1 || p.edge {
            // Client-side (one instance per client) for odd services, derived from the draws
            // already made so that the scenarios drawn stay the same; never behind an edge.
            let per_client = if p.service % 2 == 1 && !p.edge {
                ", per_client: true"
            } else {
                ""
            };
            balancers.push_str(&format!(
                "        Balancer(name: \"lb{i}\", policy: {}, target: \"pool{i}\"{per_client}),\n",
                policies[p.policy]
            ));
            if p.edge {
                balancers.push_str(&format!(
                    "        Balancer(name: \"edge{i}\", policy: RoundRobin, target: \"lb{i}\"),\n"
                ));
                format!("edge{i}")
            } else {
                format!("lb{i}")
            }
        } else {
            format!("pool{i}")
        };
        for (j, (rate, timeout)) in p.clients.iter().enumerate() {
            let t = timeout.map_or(String::new(), |t| format!(", timeout: \"{t}ms\""));
            clients.push_str(&format!("        Client(name: \"c{i}-{j}\", arrivals: Poisson(rate_per_s: {rate}.0){t}, target: \"{target}\"),\n"));
        }
        let q = p
            .queue
            .map_or(String::new(), |q| format!(", queue_capacity: {q}"));
        let f = p.failures.map_or(String::new(), |(ttf, ttr)| {
            format!(", failures: Failures(time_to_failure: Exponential(mean: \"{ttf}s\"), time_to_repair: Exponential(mean: \"{ttr}s\"))")
        });
        ps.push_str(&format!(
            "        Pool(name: \"pool{i}\", replicas: {}, workers: {}{q}, service: {}{f}),\n",
            p.replicas, p.workers, SERVICES[p.service]
        ));
    }
    format!(
        "Scenario(\n    name: \"swarm\",\n    horizon: \"{horizon_s}s\",\n    warmup: \"{warmup_s}s\",\n    clients: [\n{clients}    ],\n    balancers: [\n{balancers}    ],\n    pools: [\n{ps}    ],\n)\n"
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn random_valid_scenarios_run_and_keep_every_invariant(
        pools in proptest::collection::vec(pool_gen(), 1..4),
        horizon_s in 30u32..240,
        warmup_frac in 0u32..50,
        seed in 0u64..1_000_000,
    ) {
        let text = render(&pools, horizon_s, horizon_s * warmup_frac / 100);
        let loaded = scenarios::parse_str(&text, "swarm.ron").map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
        let r = hasim::guarded(|| hasim::Run::new(&loaded).seed(seed).execute().0)
            .map_err(|m| TestCaseError::fail(format!("invariant: {m}\nseed {seed}\n{text}")))?;
        let q = &r.requests;
        prop_assert_eq!(q.offered, q.succeeded + q.failed + q.in_flight, "conservation\n{}", text);
        let f = &q.failed_by;
        prop_assert_eq!(q.failed, f.rejected + f.timed_out + f.crashed + f.refused, "failure reasons\n{}", text);
        prop_assert!((0.0..=1.0).contains(&r.availability.request) && (0.0..=1.0).contains(&r.availability.time), "{}", text);
        let l = &r.latency_ms;
        prop_assert!(l.p50 <= l.p90 && l.p90 <= l.p99 && l.p99 <= l.p999, "percentiles out of order\n{}", text);
        prop_assert!(l.mean <= l.max + 1e-6, "mean above max\n{}", text);
        for rep in &r.replicas {
            prop_assert!(rep.utilisation <= 1.0 + 1e-9 && rep.up_fraction <= 1.0 + 1e-9, "{:?}\n{}", rep, text);
        }
        let lost: u64 = r.faults.listed.iter().map(|x| x.requests_lost).sum();
        let refused: u64 = r.faults.listed.iter().map(|x| x.requests_refused).sum();
        // Faults count the whole run; the report's counts only requests after warm-up.
        prop_assert!(lost >= f.crashed && refused >= f.refused, "fault attribution\n{}", text);
        // Timeouts only where a client has one.
        if pools.iter().all(|p| p.clients.iter().all(|c| c.1.is_none())) {
            prop_assert_eq!(f.timed_out, 0);
        }
    }
}
