//! User-defined balancing policies (issue 18): a custom policy identical in rule to a built-in
//! one reproduces its report and trace byte for byte (same streams: common random numbers),
//! shared and per-client; its parameters are validated with positions; a sweep over its
//! parameter is the same whatever `--jobs` and shards; the determinism check covers it (and
//! catches a policy that keeps state outside itself).

use crate::repo;
use hasim::sweep::{self, Partial, Shard};
use hasim::{
    CustomDistribution, CustomPolicy, Dist, Extensions, PolicyView, Run, SimDuration, Stream,
};
use std::sync::atomic::{AtomicUsize, Ordering};

/// Round robin, written as a user would: the built-in rule, outside hasim.
#[derive(Clone, Debug, Default)]
struct MyRoundRobin {
    next: usize,
}

impl CustomPolicy for MyRoundRobin {
    fn pick(&mut self, view: &PolicyView<'_>, _rng: &mut Stream) -> usize {
        let e = view.eligible();
        let i = self.next % e.len();
        self.next = i + 1;
        e[i] as usize
    }
}

/// Uniformly random, from the stream the balancer gives it.
#[derive(Clone, Debug)]
struct MyRandom;

impl CustomPolicy for MyRandom {
    fn pick(&mut self, view: &PolicyView<'_>, rng: &mut Stream) -> usize {
        let e = view.eligible();
        e[rng.below(e.len() as u32) as usize] as usize
    }
}

/// Least loaded of the first `d` eligible backends after a rotating start: has a parameter
/// to validate and to sweep.
#[derive(Clone, Debug)]
struct LeastOfWindow {
    d: usize,
    start: usize,
}

impl CustomPolicy for LeastOfWindow {
    fn pick(&mut self, view: &PolicyView<'_>, _rng: &mut Stream) -> usize {
        let e = view.eligible();
        self.start = (self.start + 1) % e.len();
        let window = (0..self.d.min(e.len())).map(|k| e[(self.start + k) % e.len()] as usize);
        window.min_by_key(|&b| view.in_flight(b)).unwrap_or(0)
    }
}

/// Round robin over as many backends as a process-wide counter says: state outside the policy
/// (each new instance uses one backend more, cyclically), so a second run differs from the
/// first.
#[derive(Clone, Debug)]
struct LeakyRoundRobin {
    instance: usize,
    next: usize,
}

static LEAKED: AtomicUsize = AtomicUsize::new(0);

impl CustomPolicy for LeakyRoundRobin {
    fn pick(&mut self, view: &PolicyView<'_>, _rng: &mut Stream) -> usize {
        let e = view.eligible();
        self.next += 1;
        e[self.next % (1 + self.instance % e.len())] as usize
    }
}

/// Always backend 0, eligible or not.
#[derive(Clone, Debug)]
struct Stubborn;

impl CustomPolicy for Stubborn {
    fn pick(&mut self, _view: &PolicyView<'_>, _rng: &mut Stream) -> usize {
        0
    }
}

/// A built-in distribution, wrapped as a user would wrap their own.
#[derive(Debug)]
struct Wrapped(Dist);

impl CustomDistribution for Wrapped {
    fn sample(&self, rng: &mut Stream) -> SimDuration {
        self.0.sample(rng)
    }
    fn mean(&self) -> SimDuration {
        SimDuration(self.0.mean_ns() as u64)
    }
}

fn extensions() -> Extensions {
    Extensions::new()
        .distribution("exp", |p| {
            let mean = p.duration("mean")?;
            Dist::exponential(mean)
                .map(Wrapped)
                .map_err(|e| p.error("mean", e.to_string()))
        })
        .distribution("fixed", |p| {
            Ok(Wrapped(Dist::constant(p.duration("value")?)))
        })
        .arrivals("every", |p| Ok(Wrapped(Dist::constant(p.duration("gap")?))))
        .policy("my_rr", |_| Ok(|_| MyRoundRobin::default()))
        .policy("my_random", |_| Ok(|_| MyRandom))
        .policy("leaky_rr", |_| {
            Ok(|_| LeakyRoundRobin {
                instance: LEAKED.fetch_add(1, Ordering::Relaxed),
                next: 0,
            })
        })
        .policy("stubborn", |_| Ok(|_| Stubborn))
        .policy("least_of_window", |p| {
            let d = p.u32("d")?;
            if d == 0 {
                return Err(p
                    .error("d", "d must be at least 1")
                    .with_help("d = 1 is round robin"));
            }
            Ok(move |_| LeastOfWindow {
                d: d as usize,
                start: 0,
            })
        })
}

/// `text` with balancer `b`'s policy replaced by `policy`.
fn with_policy(text: &str, b: usize, policy: &str) -> String {
    let loc = scenarios::Locations::scan(text);
    let span = loc
        .get(&format!("balancers[{b}].policy"))
        .unwrap_or_else(|| panic!("no balancers[{b}].policy"));
    let mut out = text.to_string();
    out.replace_range(span, policy);
    out
}

fn load(text: &str, name: &str) -> scenarios::Loaded {
    scenarios::parse_str_with(text, name, &extensions()).unwrap_or_else(|e| panic!("{e}"))
}

/// The JSON report and the table of `loaded` with `seed`; the scenario hash (of the file's
/// text, which necessarily differs) is set to `hash`.
fn report(loaded: &scenarios::Loaded, seed: u64, hash: &str) -> (String, String) {
    let (mut r, _) = Run::new(loaded).seed(seed).replication(1).execute();
    r.scenario_hash = hash.to_string();
    (r.to_json(), reports::render_table(&r))
}

#[test]
fn a_custom_policy_identical_in_rule_to_a_built_in_reproduces_its_report_byte_for_byte() {
    // A shared balancer, one per client (`per_client`), one whose eligible set changes with
    // health checks.
    for file in [
        "scenarios/lb-p2c.ron",
        "scenarios/client-side-balancing.ron",
        "scenarios/health-checks.ron",
    ] {
        let text = std::fs::read_to_string(repo(file)).unwrap_or_else(|e| panic!("{e}"));
        for (built_in, custom) in [
            ("RoundRobin", r#"Custom(name: "my_rr")"#),
            ("Random", r#"Custom(name: "my_random", params: {})"#),
        ] {
            let a = load(&with_policy(&text, 0, built_in), file);
            let b = load(&with_policy(&text, 0, custom), file);
            let (ja, ta) = report(&a, 3, "same");
            let (jb, tb) = report(&b, 3, "same");
            assert_eq!(ja, jb, "{file}: {built_in} vs {custom}");
            assert_eq!(ta, tb, "{file}: {built_in} vs {custom}");
        }
        // And the comparison is not vacuous: another policy moves the figures.
        let rr = load(&with_policy(&text, 0, "RoundRobin"), file);
        let other = load(
            &with_policy(
                &text,
                0,
                r#"Custom(name: "least_of_window", params: {"d": 3})"#,
            ),
            file,
        );
        assert_ne!(
            report(&rr, 3, "same").0,
            report(&other, 3, "same").0,
            "{file}"
        );
    }
}

const SMALL: &str = r#"Scenario(
    name: "small",
    horizon: "20s",
    clients: [Client(name: "users", arrivals: Poisson(rate_per_s: 40.0), target: "lb")],
    balancers: [Balancer(name: "lb", policy: RoundRobin, target: "app")],
    pools: [Pool(name: "app", replicas: 4, workers: 1, service: Exponential(mean: "50ms"))],
)"#;

fn trace(loaded: &scenarios::Loaded) -> Vec<u8> {
    let filter = hasim::trace::TraceFilter {
        component: None,
        from: sim_core::SimTime::ZERO,
        to: sim_core::SimTime::MAX,
        limit: u64::MAX,
        request: None,
    };
    let t = hasim::trace::Trace::new(
        &loaded.spec,
        Vec::new(),
        filter,
        hasim::trace::TraceFormat::Jsonl,
    );
    let (_, t) = Run::new(loaded).seed(5).observe(t).execute();
    t.finish().unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn a_custom_policys_trace_is_the_built_in_ones() {
    let a = trace(&load(SMALL, "small.ron"));
    let b = trace(&load(
        &with_policy(SMALL, 0, r#"Custom(name: "my_rr")"#),
        "small.ron",
    ));
    assert!(
        a.len() > 10_000,
        "a trace with every pick: {} bytes",
        a.len()
    );
    assert!(a == b, "the traces differ");
}

/// The error of `policy` in SMALL, and the line and column of `needle` in the text.
fn error_of(policy: &str, needle: &str) -> (scenarios::ScenarioError, (usize, usize)) {
    let text = with_policy(SMALL, 0, policy);
    let e = match scenarios::parse_str_with(&text, "small.ron", &extensions()) {
        Ok(_) => panic!("{policy} was accepted"),
        Err(e) => e,
    };
    let at = text.find(needle).unwrap_or_else(|| panic!("{needle}"));
    (e, scenarios::line_col(&text, at))
}

fn position(e: &scenarios::ScenarioError) -> (usize, usize) {
    let p = e.position.unwrap_or_else(|| panic!("no position: {e}"));
    (p.line, p.col)
}

#[test]
fn a_custom_policys_parameters_are_validated_with_positions() {
    // The validator's own check, at the value it refused.
    let (e, at) = error_of(
        r#"Custom(name: "least_of_window", params: {"d": 0})"#,
        "0})",
    );
    assert_eq!(position(&e), at, "{e}");
    assert!(e.message.contains("d must be at least 1"), "{e}");
    assert_eq!(e.help.as_deref(), Some("d = 1 is round robin"));
    assert!(
        e.to_string()
            .starts_with(&format!("small.ron:{}:{}: ", at.0, at.1))
    );
    // A value of the wrong kind.
    let (e, at) = error_of(
        r#"Custom(name: "least_of_window", params: {"d": "two"})"#,
        r#""two""#,
    );
    assert_eq!(position(&e), at, "{e}");
    assert!(e.message.contains("whole number"), "{e}");
    // A missing parameter: at the parameters.
    let (e, at) = error_of(r#"Custom(name: "least_of_window")"#, "Custom(");
    assert_eq!(position(&e), at, "{e}");
    assert!(e.message.contains("parameter `d` is missing"), "{e}");
    // A parameter the policy never reads, with a suggestion.
    let (e, at) = error_of(
        r#"Custom(name: "least_of_window", params: {"d": 2, "dd": 3})"#,
        r#""dd""#,
    );
    assert_eq!(position(&e), (at.0, at.1 + 6), "at the value 3: {e}");
    assert!(e.message.contains("unknown parameter `dd`"), "{e}");
    assert_eq!(e.help.as_deref(), Some("did you mean `d`?"));
    // A name nobody registered, with a suggestion.
    let (e, at) = error_of(
        r#"Custom(name: "least_of_windows")"#,
        r#""least_of_windows""#,
    );
    assert_eq!(position(&e), at, "{e}");
    assert!(
        e.message.contains("no custom policy `least_of_windows`"),
        "{e}"
    );
    assert_eq!(e.help.as_deref(), Some("did you mean `least_of_window`?"));
    // Without extensions (the `hasim` command), the name is unknown and the hint says why.
    let text = with_policy(SMALL, 0, r#"Custom(name: "my_rr")"#);
    let e = scenarios::parse_str(&text, "small.ron").err();
    let e = e.unwrap_or_else(|| panic!("accepted without extensions"));
    assert!(
        e.help
            .unwrap_or_default()
            .contains("registered by the program")
    );
}

#[test]
fn a_pick_outside_the_eligible_set_stops_the_run_naming_the_policy() {
    // Backend 0 is down from the start: the balancer's health checks take it out.
    let text = r#"Scenario(
    name: "stubborn",
    horizon: "60s",
    clients: [Client(name: "users", arrivals: Poisson(rate_per_s: 10.0), target: "lb")],
    balancers: [Balancer(name: "lb", policy: Custom(name: "stubborn"), target: "app",
        health_check: HealthCheck(interval: "1s", timeout: "500ms", unhealthy_threshold: 1, healthy_threshold: 1))],
    pools: [Pool(name: "app", replicas: 3, workers: 1, service: Exponential(mean: "50ms"))],
    faults: [Crash(pool: "app", replica: 0, at: "1s", duration: "1h")],
)"#;
    let loaded = load(text, "stubborn.ron");
    let r = hasim::guarded(|| Run::new(&loaded).execute());
    let e = r.err().unwrap_or_else(|| panic!("the run went on"));
    assert!(
        e.contains("custom policy `stubborn` picked backend 0, which is not eligible"),
        "{e}"
    );
}

#[test]
fn the_determinism_check_covers_custom_policies() {
    let ok = load(
        &with_policy(SMALL, 0, r#"Custom(name: "my_random")"#),
        "small.ron",
    );
    let (_, _, verdict) = hasim::trace::check_determinism(|d| Run::new(&ok).observe(d).execute());
    assert_eq!(verdict, Ok(()));
    // State kept outside the policy: the second run picks differently, and the check says so.
    let leaky = load(
        &with_policy(SMALL, 0, r#"Custom(name: "leaky_rr")"#),
        "small.ron",
    );
    let (_, _, verdict) =
        hasim::trace::check_determinism(|d| Run::new(&leaky).observe(d).execute());
    assert!(verdict.is_err(), "a nondeterministic policy passed");
}

#[test]
fn a_sweep_over_a_custom_parameter_is_identical_across_jobs_and_shards() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let base = with_policy(
        SMALL,
        0,
        r#"Custom(name: "least_of_window", params: {"d": 1})"#,
    );
    std::fs::write(dir.path().join("base.ron"), base).unwrap_or_else(|e| panic!("{e}"));
    let sweep_file = dir.path().join("sweep.ron");
    std::fs::write(
        &sweep_file,
        r#"Sweep(scenario: "base.ron", replications: 3, seed: 9,
    axes: [Axis(path: "balancers[lb].policy.params.d", values: [1, 2, 4])])"#,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let s =
        scenarios::load_sweep_with(&sweep_file, &extensions()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(s.variants.len(), 3);
    let head = sweep::header(&s, 9, false);
    let json = |aggs: &[reports::VariantAgg]| sweep::report(&head, aggs, String::new()).to_json();
    let run = |shard: Shard, jobs: usize| {
        sweep::run_shard(&s, &head, shard, jobs, None, false).unwrap_or_else(|e| panic!("{e}"))
    };
    let one = json(&run(Shard::ALL, 1));
    assert_eq!(json(&run(Shard::ALL, 2)), one, "--jobs 2");
    let parts: Vec<(String, Partial)> = (1..=2)
        .map(|k| {
            let shard = Shard { k, n: 2 };
            let p = Partial {
                header: head.clone(),
                shard,
                units: sweep::units_of(shard, head.units_total),
                variants: run(shard, 1),
                checksum: String::new(),
            };
            let name = format!("part{k}.json");
            let read = Partial::from_file(&name, &p.to_file()).unwrap_or_else(|e| panic!("{e}"));
            (name, read)
        })
        .collect();
    let (h, aggs) = sweep::merge(parts).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(h, head);
    assert_eq!(json(&aggs), one, "2 shards merged");
    // The parameter reaches the policy: the variants differ.
    let v: serde_json::Value = serde_json::from_str(&one).unwrap_or_else(|e| panic!("{e}"));
    let means: Vec<String> = (0..3)
        .map(|i| v["variants"][i]["metrics"].to_string())
        .collect();
    assert!(means[0] != means[1] && means[1] != means[2], "{means:?}");
}

#[test]
fn custom_distributions_and_arrivals_reproduce_the_built_ins() {
    let text = SMALL.replace(
        "arrivals: Poisson(rate_per_s: 40.0)",
        "arrivals: Constant(rate_per_s: 40.0)",
    );
    let built_in = load(&text, "small.ron");
    let custom = load(
        &text
            .replace(
                "arrivals: Constant(rate_per_s: 40.0)",
                r#"arrivals: Custom(name: "every", params: {"gap": "25ms"})"#,
            )
            .replace(
                r#"service: Exponential(mean: "50ms")"#,
                r#"service: Custom(name: "exp", params: {"mean": "50ms"})"#,
            ),
        "small.ron",
    );
    assert_eq!(report(&built_in, 3, "same"), report(&custom, 3, "same"));
    // A fixed service time at low load: every latency is exactly it.
    let fixed = load(
        &SMALL
            .replace("rate_per_s: 40.0", "rate_per_s: 2.0")
            .replace(
                r#"service: Exponential(mean: "50ms")"#,
                r#"service: Custom(name: "fixed", params: {"value": "20ms"})"#,
            )
            .replace("workers: 1", "workers: 64"),
        "fixed.ron",
    );
    let (r, _) = Run::new(&fixed).seed(2).execute();
    assert!(r.requests.succeeded > 10, "{:?}", r.requests);
    assert_eq!((r.latency_ms.mean, r.latency_ms.max), (20.0, 20.0));
    // Their parameters are checked with positions too.
    let (e, at) = error_of_text(
        &SMALL.replace(
            r#"service: Exponential(mean: "50ms")"#,
            r#"service: Custom(name: "exp", params: {"mean": "0s"})"#,
        ),
        r#""0s""#,
    );
    assert_eq!(position(&e), at, "{e}");
    assert!(e.message.starts_with("custom distribution `exp`: "), "{e}");
    let (e, at) = error_of_text(
        &SMALL.replace(
            "arrivals: Poisson(rate_per_s: 40.0)",
            r#"arrivals: Custom(name: "every", params: {"gap": "0s"})"#,
        ),
        "{\"gap\"",
    );
    assert_eq!(position(&e), at, "{e}");
    assert!(e.message.contains("mean of zero"), "{e}");
}

fn error_of_text(text: &str, needle: &str) -> (scenarios::ScenarioError, (usize, usize)) {
    let e = match scenarios::parse_str_with(text, "small.ron", &extensions()) {
        Ok(_) => panic!("accepted"),
        Err(e) => e,
    };
    let at = text.find(needle).unwrap_or_else(|| panic!("{needle}"));
    (e, scenarios::line_col(text, at))
}
