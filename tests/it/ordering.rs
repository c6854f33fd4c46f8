//! Ordering laws of dispatching (Winston 1977; Mitzenmacher 2001): with 10 single-worker
//! replicas, exponential service and Poisson arrivals, mean response obeys
//! central queue (M/M/10) ≤ JSQ ≤ P2C ≤ Random, and JSQ ≤ RoundRobin ≤ Random, at every load.
//!
//! Every variant of a replication runs on the same streams (common random numbers: the same
//! arrivals, and the k-th request draws the same service time from the pool's stream whatever
//! the routing), so the paired differences are far less noisy than the means. Each ordering is
//! asserted on the paired differences over `REPS` replications: the mean difference must exceed
//! its 95% Student-t half-width. The closest pair, JSQ vs the central queue at ρ = 0.5, differs
//! by 0.017 s ± 0.0006 (about 27 half-widths), so the run lengths leave a wide margin; the whole
//! test takes about 3 s. The two ends are also checked against theory (Erlang C for M/M/10,
//! M/M/1 for random routing) within `Z` standard errors of the replication means.
use models::Outcome;
use models::spec::Spec;
use reports::student_t_975;

const REPS: u64 = 10;
const SEED: u64 = 1;
/// Standard errors allowed between a replication mean and theory (as in theory.rs).
const Z: f64 = 4.0;

#[derive(Clone, Copy, Debug, PartialEq)]
enum Variant {
    /// One replica with 10 workers: M/M/10, a central FCFS queue.
    Central,
    Jsq,
    P2c,
    RoundRobin,
    Random,
}

const VARIANTS: [Variant; 5] = [
    Variant::Central,
    Variant::Jsq,
    Variant::P2c,
    Variant::RoundRobin,
    Variant::Random,
];

fn spec(v: Variant, rho: f64, horizon_s: u64, warmup_s: u64) -> Spec {
    let rate = 10.0 * rho;
    let (target, balancer, replicas, workers) = match v {
        Variant::Central => ("app", String::new(), 1, 10),
        _ => {
            let policy = match v {
                Variant::Jsq => "JoinShortestQueue",
                Variant::P2c => "LeastRequest(choices: 2)",
                Variant::RoundRobin => "RoundRobin",
                _ => "Random",
            };
            (
                "lb",
                format!("Balancer(name: \"lb\", policy: {policy}, target: \"app\")"),
                10,
                1,
            )
        }
    };
    let text = format!(
        r#"Scenario(
            name: "ordering",
            horizon: "{horizon_s}s",
            warmup: "{warmup_s}s",
            clients: [Client(name: "users", arrivals: Poisson(rate_per_s: {rate}), target: "{target}")],
            balancers: [{balancer}],
            pools: [Pool(name: "app", replicas: {replicas}, workers: {workers}, service: Exponential(mean: "1s"))],
        )"#
    );
    let mut spec = scenarios::parse_str(&text, "ordering.ron")
        .unwrap_or_else(|e| panic!("{e}"))
        .spec;
    spec.window = sim_core::SimDuration::ZERO;
    spec
}

/// Mean response (s) of successful requests of each variant, per replication.
fn means(rho: f64, horizon_s: u64, warmup_s: u64) -> Vec<[f64; 5]> {
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..REPS)
            .map(|r| {
                s.spawn(move || {
                    VARIANTS.map(|v| {
                        let (_, c) = hasim::Run::spec(&spec(v, rho, horizon_s, warmup_s))
                            .seed(SEED)
                            .replication(r)
                            .simulate()
                            .parts();
                        c.latency_sum_ns as f64 / c.count(Outcome::Succeeded) as f64 / 1e9
                    })
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("replication runs"))
            .collect()
    })
}

/// Mean response of M/M/c with offered load `a` = λ/μ (μ = 1): 1 + C(c, a)/(c − a), with
/// Erlang C from the Erlang B recursion.
fn mmc_mean_response(c: u32, a: f64) -> f64 {
    let mut b = 1.0;
    for k in 1..=c {
        b = a * b / (f64::from(k) + a * b);
    }
    let c = f64::from(c);
    let erlang_c = c * b / (c - a * (1.0 - b));
    1.0 + erlang_c / (c - a)
}

/// Mean and 95% half-width of the paired differences `worse − better`.
fn paired(runs: &[[f64; 5]], better: Variant, worse: Variant) -> (f64, f64) {
    let (b, w) = (better as usize, worse as usize);
    let d: Vec<f64> = runs.iter().map(|m| m[w] - m[b]).collect();
    let n = d.len() as f64;
    let mean = d.iter().sum::<f64>() / n;
    let var = d.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / (n - 1.0);
    (mean, student_t_975(d.len() - 1) * (var / n).sqrt())
}

#[test]
fn central_queue_jsq_p2c_round_robin_random_are_ordered_at_every_load() {
    use Variant::*;
    // (ρ, horizon, warm-up): heavier load relaxes more slowly but separates the variants more.
    for (rho, horizon, warmup) in [(0.5, 20_000, 200), (0.8, 20_000, 500), (0.9, 20_000, 1_000)] {
        let runs = means(rho, horizon, warmup);
        let avg = |v: Variant| runs.iter().map(|m| m[v as usize]).sum::<f64>() / runs.len() as f64;
        let summary: Vec<String> = VARIANTS
            .iter()
            .map(|&v| format!("{v:?} {:.4}", avg(v)))
            .collect();
        eprintln!("ρ = {rho}: {}", summary.join(", "));
        // The yardsticks: M/M/10 (Erlang C) and, for random routing, ten M/M/1 at ρ.
        for (v, truth) in [
            (Central, mmc_mean_response(10, 10.0 * rho)),
            (Random, 1.0 / (1.0 - rho)),
        ] {
            let xs: Vec<f64> = runs.iter().map(|m| m[v as usize]).collect();
            let n = xs.len() as f64;
            let var = xs.iter().map(|x| (x - avg(v)) * (x - avg(v))).sum::<f64>() / (n - 1.0);
            let se = (var / n).sqrt();
            assert!(
                (avg(v) - truth).abs() <= Z * se,
                "ρ = {rho}: {v:?} mean response {} vs theory {truth} (se {se})",
                avg(v)
            );
        }
        for (better, worse) in [
            (Central, Jsq),
            (Jsq, P2c),
            (P2c, Random),
            (Jsq, RoundRobin),
            (RoundRobin, Random),
        ] {
            let (d, half) = paired(&runs, better, worse);
            eprintln!("  {worse:?} − {better:?} = {d:.5} ± {half:.5}");
            assert!(
                d - half > 0.0,
                "ρ = {rho}: {better:?} should beat {worse:?}: mean difference {d} ± {half} (95%) over {REPS} paired replications [{}]",
                summary.join(", ")
            );
        }
    }
}
