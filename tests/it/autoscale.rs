//! Autoscaling and service discovery (issue 4): bounds, cooldowns, the evaluation delay and the
//! warm-up, draining on scale-in, the settled replica count against ceil(λ·s/u), and how long a
//! dead replica stays registered (and routed) with a TTL registry.

use models::spec::Spec;
use models::{Outcome, Record, System};
use sim_core::{Observer, SimTime, StreamKey};

const S: u64 = 1_000_000_000;

fn spec_of(text: &str) -> Spec {
    let mut spec = scenarios::parse_str(text, "autoscale.ron")
        .unwrap_or_else(|e| panic!("{e}"))
        .spec;
    spec.window = sim_core::SimDuration::ZERO;
    spec
}

/// What these tests look at, in time order.
#[derive(Default)]
struct Log {
    /// (decided, from, to, ready_at)
    scaled: Vec<(u64, u32, u32, u64)>,
    /// (at, replica, failed)
    removed: Vec<(u64, u32, u32)>,
    /// (at, replica, registered)
    registered: Vec<(u64, u32, bool)>,
    /// (at, replica, up)
    updown: Vec<(u64, u32, bool)>,
    /// (arrived, replica, outcome)
    finished: Vec<(u64, u32, Outcome)>,
}

impl Observer<Record> for Log {
    fn record(&mut self, now: SimTime, r: &Record) {
        match *r {
            Record::Scaled {
                from, to, ready_at, ..
            } => self.scaled.push((now.0, from, to, ready_at.0)),
            Record::Removed { replica, failed } => self.removed.push((now.0, replica, failed)),
            Record::Registered {
                replica,
                registered,
            } => self.registered.push((now.0, replica, registered)),
            Record::ReplicaDown { replica } => self.updown.push((now.0, replica, false)),
            Record::ReplicaUp { replica } => self.updown.push((now.0, replica, true)),
            Record::Finished {
                arrived,
                replica,
                outcome,
                ..
            } => self.finished.push((arrived.0, replica, outcome)),
            _ => {}
        }
    }
}

fn run(spec: &Spec, seed: u64) -> (models::Summary, Log) {
    System::new(spec, StreamKey::new(seed, 0), Log::default()).run()
}

/// A pool of single-worker replicas with exponential service `s_ms`, scaled on utilisation,
/// under piecewise Poisson load `steps`.
fn scaled(steps: &str, s_ms: u64, horizon_s: u64, autoscale: &str) -> Spec {
    spec_of(&format!(
        r#"Scenario(
            name: "scale", horizon: "{horizon_s}s",
            clients: [Client(name: "users", arrivals: PoissonSteps(steps: {steps}), timeout: "2s", target: "lb")],
            balancers: [Balancer(name: "lb", policy: LeastRequest(choices: 2), target: "app")],
            pools: [Pool(name: "app", workers: 1, queue_capacity: 50, service: Exponential(mean: "{s_ms}ms"),
                autoscale: Autoscale({autoscale}))],
        )"#
    ))
}

/// Under load that rises past what `max` can carry and falls below what `min` needs, the count
/// stays within [min, max] (the model also asserts it at every change), reaches both bounds,
/// and actions in the same direction are at least their cooldown apart.
#[test]
fn the_count_stays_within_bounds_and_actions_respect_their_cooldowns() {
    let spec = scaled(
        r#"[("0s", 5.0), ("600s", 400.0), ("2400s", 5.0), ("4200s", 150.0), ("5000s", 5.0)]"#,
        50,
        7200,
        r#"metric: Utilisation(target: 0.6), min: 2, max: 12, evaluation_period: "30s",
           evaluation_periods: 1, scale_in_periods: 2, cooldown: "90s", scale_in_cooldown: "150s",
           warm_up: "20s", drain: "10s", tolerance: 0.1"#,
    );
    for seed in 1..=4 {
        let (sum, log) = run(&spec, seed);
        assert!(log.scaled.len() >= 4, "seed {seed}: {:?}", log.scaled);
        let mut count = 2;
        let (mut last_out, mut last_any) = (None::<u64>, None::<u64>);
        for &(t, from, to, _) in &log.scaled {
            assert_eq!(from, count, "seed {seed}: actions chain");
            assert!((2..=12).contains(&to), "seed {seed}: {to} outside [2, 12]");
            if to > from {
                if let Some(l) = last_out {
                    assert!(
                        t - l >= 90 * S,
                        "seed {seed}: scale-outs {}s apart",
                        (t - l) / S
                    );
                }
                last_out = Some(t);
            } else {
                if let Some(l) = last_any {
                    assert!(
                        t - l >= 150 * S,
                        "seed {seed}: scale-in {}s after an action",
                        (t - l) / S
                    );
                }
            }
            last_any = Some(t);
            count = to;
        }
        let s = &sum.scaling[0];
        assert_eq!(
            (s.fewest, s.most),
            (2, 12),
            "seed {seed}: both bounds reached"
        );
        assert!(s.at_max_area > 0);
    }
}

/// A load step at t0 from well under to far over the target: with evaluation periods of P from
/// time zero and k periods in a row, the first period over target is the one holding t0 (the
/// step is big enough that even its part after t0 breaches) or the next, so the first scale-out
/// is decided at ⌈t0/P⌉·P + (k−1)·P or one period later — within [t0 + (k−1)·P, t0 + (k+1)·P)
/// — and its replicas take requests exactly warm_up later, not before.
#[test]
fn a_load_step_scales_out_after_the_evaluation_delay_and_capacity_arrives_after_warm_up() {
    let (p, k, warm) = (60u64, 3u64, 45u64);
    for (t0, seed) in [(630u64, 1u64), (640, 2), (600, 3), (690, 4)] {
        let spec = scaled(
            &format!(r#"[("0s", 10.0), ("{t0}s", 200.0)]"#),
            50,
            1500,
            &format!(
                r#"metric: Utilisation(target: 0.6), min: 2, max: 30, evaluation_period: "{p}s",
                   evaluation_periods: {k}, cooldown: "300s", warm_up: "{warm}s", drain: "10s""#
            ),
        );
        let (_, log) = run(&spec, seed);
        let &(decided, from, to, ready) = log.scaled.first().expect("a scale-out");
        assert!(to > from, "t0 {t0}: the first action is a scale-out");
        let boundary = t0.div_ceil(p) * p;
        let earliest = boundary + (k - 1) * p;
        assert!(
            decided == earliest * S || decided == (earliest + p) * S,
            "t0 {t0}: decided at {}s, expected {earliest}s or {}s",
            decided as f64 / 1e9,
            earliest + p
        );
        assert!(decided >= (t0 + (k - 1) * p) * S && decided < (t0 + (k + 1) * p) * S);
        if t0 % p == 0 {
            // The step on a boundary: k full periods over target, exactly.
            assert_eq!(decided, (t0 + k * p) * S, "t0 {t0}");
        }
        assert_eq!(ready, decided + warm * S);
        // Slots from `from` on are the new replicas: none receives a request before it is warm,
        // and they do receive requests right after.
        let first_new = log
            .finished
            .iter()
            .filter(|f| f.1 >= from && f.1 < to)
            .map(|f| f.0)
            .min()
            .expect("new replicas serve");
        assert!(
            first_new >= ready,
            "t0 {t0}: a request reached a replica before it was warm"
        );
        assert!(
            first_new < ready + S,
            "t0 {t0}: capacity unused after warm-up"
        );
    }
}

/// Scale-in: the chosen replica leaves the balancer at once and finishes what it holds within
/// the drain time. With a drain longer than the longest service nothing fails; with no drain,
/// what it holds fails (counted).
#[test]
fn scale_in_drains_and_fails_nothing_when_the_drain_outlasts_service() {
    let spec = |drain: &str| {
        spec_of(&format!(
            r#"Scenario(
                name: "drain", horizon: "3000s",
                clients: [Client(name: "users", arrivals: PoissonSteps(steps: [("0s", 300.0), ("900s", 100.0), ("1800s", 40.0)]), target: "lb")],
                balancers: [Balancer(name: "lb", policy: RoundRobin, target: "app")],
                pools: [Pool(name: "app", workers: 2, service: Uniform(low: "50ms", high: "250ms"),
                    autoscale: Autoscale(metric: Utilisation(target: 0.5), min: 1, max: 30, initial: 20,
                        evaluation_period: "30s", evaluation_periods: 1, scale_in_periods: 2,
                        cooldown: "60s", scale_in_cooldown: "60s", warm_up: "10s", drain: "{drain}"))],
            )"#
        ))
    };
    let (sum, log) = run(&spec("1s"), 1);
    // Coverage, not a tolerance: the load steps must have made it scale in more than once and
    // remove many replicas, or the drain checks below would check little.
    let ins = log.scaled.iter().filter(|s| s.2 < s.1).count();
    assert!(ins >= 2 && log.removed.len() >= 10, "{:?}", log.scaled);
    assert!(log.removed.iter().all(|r| r.2 == 0), "{:?}", log.removed);
    assert_eq!(sum.scaling[0].failed_by_scale_in, 0);
    assert_eq!(sum.conservation.failed, 0, "no request failed at all");
    // Removal comes exactly the drain time after the decision.
    for &(t, _, _) in &log.removed {
        assert!(
            log.scaled.iter().any(|s| s.0 + S == t),
            "removed at {t} without a decision 1s before"
        );
    }
    let (sum, log) = run(&spec("0s"), 1);
    let failed: u32 = log.removed.iter().map(|r| r.2).sum();
    assert!(failed > 0, "no drain: scale-in fails what the replica held");
    assert_eq!(sum.scaling[0].failed_by_scale_in, failed as u64);
    let crashed = log
        .finished
        .iter()
        .filter(|f| f.2 == Outcome::Crashed)
        .count();
    assert_eq!(crashed, failed as usize, "every failure is a scale-in's");
}

/// Steady state: Poisson load λ, exponential service s, one worker per replica, target u and no
/// tolerance band: the count settles at ceil(λ·s/u) ± 1 (the estimate of λ·s over a period
/// has a standard error of about 1.5% here, so the ceiling moves by at most one).
#[test]
fn the_settled_count_is_the_load_over_the_target() {
    for (rate, s_ms, u, seed) in [
        (200.0, 50u64, 0.5, 1u64),
        (120.0, 100, 0.7, 2),
        (60.0, 200, 0.8, 3),
    ] {
        let spec = scaled(
            &format!(r#"[("0s", {rate})]"#),
            s_ms,
            4000,
            &format!(
                r#"metric: Utilisation(target: {u}), min: 1, max: 40, initial: 1, evaluation_period: "60s",
                   evaluation_periods: 1, scale_in_periods: 3, cooldown: "60s", scale_in_cooldown: "180s",
                   warm_up: "30s", drain: "10s", tolerance: 0.0"#
            ),
        );
        let (_, log) = run(&spec, seed);
        let want = (rate * s_ms as f64 / 1000.0 / u).ceil() as u32;
        // Settled: from 2000 s on, every count within one of the closed form.
        let mut count = 1;
        let mut after = Vec::new();
        for &(t, _, to, _) in &log.scaled {
            if t >= 2000 * S {
                after.push(to);
            } else {
                count = to;
            }
        }
        for c in std::iter::once(count).chain(after) {
            assert!(
                c.abs_diff(want) <= 1,
                "λ {rate}, s {s_ms} ms, u {u}: count {c}, ceil(λs/u) = {want}; {:?}",
                log.scaled
            );
        }
    }
}

/// A registry with TTL expiry and no health checks: after each crash the dead replica stays
/// registered — and routed — for a time in (ttl − heartbeat, ttl]; the requests sent to it
/// meanwhile fail (refused), and no request is refused outside such windows. With health
/// checks, fewer are.
#[test]
fn a_dead_replica_stays_routed_until_its_registration_expires() {
    let (ttl, hb, delay) = (30u64, 10u64, 5u64);
    let spec = |health: &str| {
        spec_of(&format!(
            r#"Scenario(
                name: "registry", horizon: "20000s",
                clients: [Client(name: "users", arrivals: Poisson(rate_per_s: 40.0), target: "lb")],
                balancers: [Balancer(name: "lb", policy: RoundRobin, target: "app"{health})],
                pools: [Pool(name: "app", replicas: 4, workers: 4, service: Exponential(mean: "20ms"),
                    failures: Failures(time_to_failure: Exponential(mean: "600s"), time_to_repair: Exponential(mean: "60s")),
                    discovery: Registry(registration_delay: "{delay}s", ttl: "{ttl}s", heartbeat: "{hb}s"))],
            )"#
        ))
    };
    let (_, log) = run(&spec(""), 1);
    let mut expired = 0;
    let mut windows: Vec<(u32, u64, u64)> = Vec::new();
    for (i, &(c, r, up)) in log.updown.iter().enumerate() {
        if up {
            continue;
        }
        let back = log.updown[i..]
            .iter()
            .find(|x| x.1 == r && x.2)
            .map_or(u64::MAX, |x| x.0);
        let gone = log
            .registered
            .iter()
            .find(|x| x.1 == r && !x.2 && x.0 >= c)
            .map(|x| x.0)
            .filter(|&e| e <= back.saturating_add(delay * S));
        match gone {
            Some(e) => {
                let d = e - c;
                assert!(
                    d > (ttl - hb) * S && d <= ttl * S,
                    "replica {r} crashed at {c}: deregistered {d} ns later"
                );
                expired += 1;
                windows.push((r, c, e));
            }
            // Crashed so late that the lease runs out after the horizon (and it is never
            // repaired in the run): routed, and refused, until the end.
            None if back == u64::MAX && c + ttl * S > 20_000 * S => {
                windows.push((r, c, 20_000 * S));
            }
            // Repaired and registered again before the lease ran out.
            None => {
                assert!(
                    back.saturating_add(delay * S) <= c + ttl * S,
                    "replica {r} at {c}"
                );
                windows.push((r, c, back));
            }
        }
    }
    assert!(expired >= 20, "{expired} expiries");
    let refused: Vec<_> = log
        .finished
        .iter()
        .filter(|f| f.2 == Outcome::Refused)
        .collect();
    assert!(refused.len() > 100, "{} refused", refused.len());
    for f in &refused {
        assert!(
            windows
                .iter()
                .any(|w| w.0 == f.1 && f.0 >= w.1 && f.0 < w.2),
            "a request refused outside a dead-but-registered window: {f:?}"
        );
    }
    let (_, checked) = run(
        &spec(
            r#", health_check: HealthCheck(interval: "2s", timeout: "1s", unhealthy_threshold: 2, healthy_threshold: 2)"#,
        ),
        1,
    );
    let refused_checked = checked
        .finished
        .iter()
        .filter(|f| f.2 == Outcome::Refused)
        .count();
    assert!(
        refused_checked * 3 < refused.len(),
        "health checks hide dead replicas: {refused_checked} vs {}",
        refused.len()
    );
}

/// With registration delay d, a repaired replica receives no request before d after its
/// repair, and receives some soon after.
#[test]
fn a_repaired_replica_gets_its_first_request_after_the_registration_delay() {
    let d = 5u64;
    let spec = spec_of(&format!(
        r#"Scenario(
            name: "registry", horizon: "20000s",
            clients: [Client(name: "users", arrivals: Poisson(rate_per_s: 40.0), target: "lb")],
            balancers: [Balancer(name: "lb", policy: RoundRobin, target: "app")],
            pools: [Pool(name: "app", replicas: 4, workers: 4, service: Exponential(mean: "20ms"),
                failures: Failures(time_to_failure: Exponential(mean: "600s"), time_to_repair: Exponential(mean: "60s")),
                discovery: Registry(registration_delay: "{d}s", ttl: "30s", heartbeat: "10s"))],
        )"#
    ));
    let (_, log) = run(&spec, 2);
    let mut checked = 0;
    for &(u, r, up) in &log.updown {
        // Only repairs of a replica whose registration had expired: one repaired within its
        // lease is still registered, and routed at once.
        let registered = log
            .registered
            .iter()
            .rev()
            .find(|x| x.1 == r && x.0 <= u)
            .is_none_or(|x| x.2);
        if !up || registered {
            continue;
        }
        let next_down = log
            .updown
            .iter()
            .find(|x| x.1 == r && !x.2 && x.0 > u)
            .map_or(u64::MAX, |x| x.0);
        let first = log
            .finished
            .iter()
            .filter(|f| f.1 == r && f.0 >= u && f.0 < next_down)
            .map(|f| f.0)
            .min();
        if let Some(f) = first {
            assert!(f >= u + d * S, "replica {r} up at {u}: a request at {f}");
            if next_down > u + (d + 2) * S {
                assert!(
                    f < u + (d + 2) * S,
                    "replica {r}: unused after registration"
                );
                checked += 1;
            }
        }
    }
    assert!(checked >= 20, "{checked} repairs checked");
}
