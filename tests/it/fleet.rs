//! Fleets as they are: replica groups of different machines in one pool, shared repair crews.
//! Checked against what routing and the birth–death chain say, each tolerance `Z` standard
//! errors of the estimate, the standard error from independent replications' sample variance
//! (each replication a long run with its own streams).

use models::{Record, System};
use sim_core::{Observer, SimTime, StreamKey};

const Z: f64 = 4.0;

fn parse(text: &str) -> scenarios::Loaded {
    scenarios::parse_str(text, "fleet.ron").unwrap_or_else(|e| panic!("{e}"))
}

/// Mean and standard error of the mean of `xs`.
fn mean_se(xs: &[f64]) -> (f64, f64) {
    let n = xs.len() as f64;
    let m = xs.iter().sum::<f64>() / n;
    let var = xs.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (n - 1.0);
    (m, (var / n).sqrt())
}

fn assert_close(what: &str, xs: &[f64], truth: f64) {
    let (m, se) = mean_se(xs);
    assert!(se > 0.0, "{what}: no spread across replications");
    assert!(
        (m - truth).abs() <= Z * se,
        "{what}: simulated {m} vs {truth}: off by {:.2} standard errors (se {se})",
        (m - truth).abs() / se
    );
}

/// Four small machines (speed 1, one worker, weight 1) and two large ones (speed 2, two
/// workers, weight 4) behind `policy`, λ = 36/s of 100 ms work (at speed 1).
fn mixed(policy: &str) -> String {
    format!(
        r#"Scenario(
        name: "mixed", horizon: "2000s", warmup: "100s",
        clients: [Client(name: "c", arrivals: Poisson(rate_per_s: 36.0), target: "lb")],
        balancers: [Balancer(name: "lb", policy: {policy}, target: "app")],
        pools: [Pool(name: "app", service: Exponential(mean: "100ms"), groups: [
            ReplicaGroup(name: "small", count: 4, weight: 1),
            ReplicaGroup(name: "large", count: 2, speed: 2.0, workers: 2, weight: 4),
        ])],
    )"#
    )
}

/// A group's utilisation is its replicas' arrival rate × mean service time at its speed /
/// its workers: under random routing λ/6 per replica (small 0.6, large 0.15), under weighted
/// random λ·w/Σw (1:4 of capacity 1:4: 0.3 each). Its share of the pool's completions is
/// binomial around its routing probability.
#[test]
fn each_groups_utilisation_is_its_share_of_the_work() {
    let (lambda, s) = (36.0, 0.1);
    for (policy, p_small) in [("Random", 4.0 / 6.0), ("WeightedRandom()", 4.0 / 12.0)] {
        let loaded = parse(&mixed(policy));
        let per_replica = |p_group: f64, count: f64| lambda * p_group / count;
        let rho_small = per_replica(p_small, 4.0) * s;
        let rho_large = per_replica(1.0 - p_small, 2.0) * (s / 2.0) / 2.0;
        let (mut small, mut large) = (Vec::new(), Vec::new());
        for rep in 0..20 {
            let r = hasim::Run::new(&loaded)
                .seed(7)
                .replication(rep)
                .execute()
                .0;
            assert_eq!(r.groups.len(), 2, "{policy}: a line per group");
            let (g0, g1) = (&r.groups[0], &r.groups[1]);
            assert_eq!((g0.group.as_str(), g0.replicas, g0.first), ("small", 4, 0));
            assert_eq!((g1.group.as_str(), g1.workers, g1.first), ("large", 2, 4));
            small.push(g0.utilisation);
            large.push(g1.utilisation);
            // Every completion went to one group or the other; its group is a coin flip.
            let n = (g0.served + g1.served) as f64;
            let sd = (p_small * (1.0 - p_small) / n).sqrt();
            assert!(
                (g0.share_of_work - p_small).abs() <= Z * sd,
                "{policy} rep {rep}: small's share {} vs {p_small} ± {sd}",
                g0.share_of_work
            );
            // The replica lines agree with the group lines.
            let busy: f64 = r.replicas[..4].iter().map(|x| x.utilisation).sum::<f64>() / 4.0;
            assert!((busy - g0.utilisation).abs() < 1e-5, "{busy} vs {g0:?}");
        }
        assert_close(&format!("{policy}: small"), &small, rho_small);
        assert_close(&format!("{policy}: large"), &large, rho_large);
    }
}

/// The weights of a weighted policy that gives none are the groups', replica by replica; a
/// policy that gives its own keeps them.
#[test]
fn weighted_policies_take_the_groups_weights() {
    use models::spec::PolicySpec;
    let loaded = parse(&mixed("SmoothWeightedRoundRobin()"));
    assert_eq!(
        loaded.spec.balancers[0].policy,
        PolicySpec::SmoothWeightedRoundRobin {
            weights: vec![1, 1, 1, 1, 4, 4]
        }
    );
    let loaded = parse(&mixed("WeightedRoundRobin(weights: [1, 2, 3, 4, 5, 6])"));
    assert_eq!(
        loaded.spec.balancers[0].policy,
        PolicySpec::WeightedRoundRobin {
            weights: vec![1, 2, 3, 4, 5, 6]
        }
    );
    // Smooth WRR is deterministic: 12 requests in a cycle, 1 to each small, 4 to each large.
    let r = hasim::Run::new(&loaded).execute().0;
    assert_eq!(r.groups.len(), 2);
}

/// Time spent with each number of replicas down, after warm-up.
struct Down {
    warmup: SimTime,
    down: usize,
    since: SimTime,
    time: Vec<u64>,
}

impl Observer<Record> for Down {
    fn record(&mut self, now: SimTime, r: &Record) {
        let d = match r {
            Record::ReplicaDown { .. } => 1isize,
            Record::ReplicaUp { .. } => -1,
            _ => return,
        };
        let from = self.since.max(self.warmup);
        if now > from {
            self.time[self.down] += now.0 - from.0;
        }
        self.since = now;
        self.down = (self.down as isize + d) as usize;
    }
}

/// P(j replicas down) of the machine-repairman chain: n machines failing at rate λ each while
/// up, k crews repairing at rate μ each, a FIFO queue for a crew (birth rate (n − j)λ, death
/// rate min(j, k)μ).
fn birth_death(n: usize, k: usize, lambda: f64, mu: f64) -> Vec<f64> {
    let mut p = vec![1.0];
    for j in 1..=n {
        let up = (n - j + 1) as f64 * lambda;
        let down = j.min(k) as f64 * mu;
        p.push(p[j - 1] * up / down);
    }
    let total: f64 = p.iter().sum();
    p.iter().map(|x| x / total).collect()
}

/// k of n: the share of time with at least m of the 5 replicas up, for every m, is the
/// birth–death chain's with k crews (MTBF 40 s, MTTR 20 s: one crew is often busy when the
/// next crash comes, so k = 1, 2 and 5 give different answers).
#[test]
fn k_shared_crews_give_the_birth_death_availability() {
    let (n, lambda, mu) = (5usize, 1.0 / 40.0, 1.0 / 20.0);
    for k in [1usize, 2, 5] {
        let crews = if k == n {
            String::new()
        } else {
            format!("repair_crews: {k},")
        };
        let loaded = parse(&format!(
            r#"Scenario(
            name: "crews", horizon: "20000s", warmup: "500s",
            clients: [Client(name: "c", arrivals: Poisson(rate_per_s: 0.1), target: "lb")],
            balancers: [Balancer(name: "lb", policy: RoundRobin, target: "app")],
            pools: [Pool(name: "app", replicas: 5, service: Exponential(mean: "10ms"), {crews}
                failures: Failures(time_to_failure: Exponential(mean: "40s"),
                                   time_to_repair: Exponential(mean: "20s")))],
        )"#
        ));
        let theory = birth_death(n, k, lambda, mu);
        let mut at_least: Vec<Vec<f64>> = vec![Vec::new(); n + 1];
        for rep in 0..20 {
            let obs = Down {
                warmup: SimTime(loaded.spec.warmup.0),
                down: 0,
                since: SimTime::ZERO,
                time: vec![0; n + 1],
            };
            let (summary, mut obs) = System::new(&loaded.spec, StreamKey::new(11, rep), obs).run();
            let end = SimTime(loaded.spec.horizon.0);
            obs.time[obs.down] += end.0 - obs.since.max(obs.warmup).0;
            let total: u64 = obs.time.iter().sum();
            assert_eq!(u128::from(total), u128::from(summary.window_ns));
            // P(at least m up) = P(at most n − m down).
            for (m, xs) in at_least.iter_mut().enumerate() {
                let t: u64 = obs.time[..=n - m].iter().sum();
                xs.push(t as f64 / total as f64);
            }
        }
        for (m, xs) in at_least.iter().enumerate().skip(1) {
            let truth: f64 = theory[..=n - m].iter().sum();
            assert_close(&format!("{k} crews: P(≥ {m} of {n} up)"), xs, truth);
        }
    }
}
