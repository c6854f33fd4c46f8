//! Timeouts, retries, hedging, circuit breakers and stale work: against their closed forms,
//! as data, and the metastable retry storm. Tolerances come from each estimate's own standard
//! error over the run (4 standard errors), plus the HDR histogram's 0.1% resolution for
//! quantiles.

use super::{load, repo};
use models::Record;
use models::breaker::{Breaker, BreakerState};
use models::spec::{BackoffSpec, BreakerSpec, BreakerWindow, Jitter};
use serde::Deserialize;
use sim_core::{Observer, SimDuration, SimTime, parse_duration};

fn scenario(text: &str) -> scenarios::Loaded {
    scenarios::parse_str(text, "test.ron").unwrap_or_else(|e| panic!("{e}"))
}

/// One replica with room for everything (no queueing), answering with an error with
/// probability `p`, behind a client that retries errors `n` times in all.
fn retrying(p: f64, n: u32, jitter: &str) -> String {
    format!(
        r#"Scenario(
            name: "retries", horizon: "200s", warmup: "1s",
            clients: [Client(name: "c", arrivals: Poisson(rate_per_s: 1000.0), target: "api",
                retry: Retry(max_attempts: {n}, retry_on: [Error],
                    backoff: Backoff(base: "10ms", max: "1s", jitter: {jitter})))],
            pools: [Pool(name: "api", replicas: 1, workers: 1000, service: Exponential(mean: "1ms"),
                error_rate: {p})],
        )"#
    )
}

/// With independent failures of probability p and N attempts: success 1 − p^N, attempts
/// (1 − p^N)/(1 − p), each within 4 standard errors of the run's own count.
#[test]
fn retries_reach_one_minus_p_to_the_n() {
    for (p, n) in [(0.2, 3), (0.5, 4), (0.1, 2)] {
        let loaded = scenario(&retrying(p, n, "None"));
        let (_, c) = hasim::Run::new(&loaded).seed(11).simulate().parts();
        let calls: u64 = c.outcomes.iter().sum();
        assert!(calls > 190_000, "{calls}");
        let q = 1.0 - p_pow(p, n);
        let ok = c.count(models::Outcome::Succeeded) as f64 / calls as f64;
        let se = (q * (1.0 - q) / calls as f64).sqrt();
        assert!(
            (ok - q).abs() <= 4.0 * se,
            "p {p} N {n}: success {ok} vs {q} ± {se}"
        );
        // Attempts: P(A = k) = p^(k−1)(1 − p) for k < N, P(A = N) = p^(N−1).
        let dist: Vec<f64> = (1..=n)
            .map(|k| {
                if k < n {
                    p_pow(p, k - 1) * (1.0 - p)
                } else {
                    p_pow(p, n - 1)
                }
            })
            .collect();
        let mean: f64 = dist
            .iter()
            .enumerate()
            .map(|(i, w)| (i + 1) as f64 * w)
            .sum();
        let m2: f64 = dist
            .iter()
            .enumerate()
            .map(|(i, w)| ((i + 1) as f64).powi(2) * w)
            .sum();
        assert!((mean - q / (1.0 - p)).abs() < 1e-12, "the closed form");
        let got = c.attempts as f64 / calls as f64;
        let se = ((m2 - mean * mean) / calls as f64).sqrt();
        assert!(
            (got - mean).abs() <= 4.0 * se,
            "p {p} N {n}: attempts {got} vs {mean} ± {se}"
        );
    }
}

fn p_pow(p: f64, k: u32) -> f64 {
    (0..k).fold(1.0, |x, _| x * p)
}

/// Backoff delays of retries, by the attempt they precede.
#[derive(Default)]
struct Delays(Vec<Vec<f64>>);

impl Observer<Record> for Delays {
    fn record(&mut self, _: SimTime, r: &Record) {
        if let Record::Retry { attempt, delay, .. } = *r {
            let k = attempt as usize - 2;
            if self.0.len() <= k {
                self.0.resize(k + 1, Vec::new());
            }
            self.0[k].push(delay.0 as f64);
        }
    }
}

/// End to end, each jitter mode's mean backoff before retry k matches its formula: t, t/2,
/// 3t/4 with t = min(max, base·2^k), and 2·base for decorrelated jitter's first retry.
#[test]
fn each_jitter_mode_waits_its_mean() {
    for (mode, jitter) in [
        ("None", Jitter::None),
        ("Full", Jitter::Full),
        ("Equal", Jitter::Equal),
        ("Decorrelated", Jitter::Decorrelated),
    ] {
        let loaded = scenario(&retrying(0.5, 4, mode));
        let (_, d) = hasim::Run::new(&loaded)
            .seed(5)
            .observe(Delays::default())
            .execute();
        let spec = BackoffSpec {
            base: SimDuration::from_millis(10),
            max: SimDuration::from_secs(1),
            jitter,
        };
        assert_eq!(d.0.len(), 3, "{mode}: retries before attempts 2, 3 and 4");
        for (k, delays) in d.0.iter().enumerate() {
            let Some(want) = spec.mean(k as u32) else {
                continue;
            };
            let n = delays.len() as f64;
            let mean = delays.iter().sum::<f64>() / n;
            let t = 10e6 * (1u64 << k) as f64;
            let width = match jitter {
                Jitter::None => 0.0,
                Jitter::Full => t,
                Jitter::Equal => t / 2.0,
                Jitter::Decorrelated => 2.0 * 10e6,
            };
            let se = width / 12f64.sqrt() / n.sqrt();
            assert!(
                (mean - want).abs() <= 4.0 * se + 1.0,
                "{mode} k {k}: {mean} vs {want} ± {se} over {n}"
            );
        }
    }
}

/// M/M/∞ (no queueing): exponential service with mean 10 ms, a hedge after d = 20 ms. An
/// extra copy goes out when the first has not answered by d: e^(−d·μ) = e^(−2) of requests.
/// The latency is min(S₁, d + S₂): P(T > t) = e^(−μt) before d, e^(−μ(2t − d)) after, so
/// p99 = (ln 100 / μ + d) / 2 = 33.03 ms instead of ln 100 / μ = 46.05 ms.
#[test]
fn hedging_sends_e_to_the_minus_d_mu_extra_and_cuts_p99() {
    let text = |hedge: &str| {
        format!(
            r#"Scenario(
                name: "hedging", horizon: "200s", warmup: "1s",
                clients: [Client(name: "c", arrivals: Poisson(rate_per_s: 1000.0), target: "api"{hedge})],
                pools: [Pool(name: "api", replicas: 1, workers: 10000, service: Exponential(mean: "10ms"))],
            )"#
        )
    };
    let (mu, d) = (0.1, 20.0); // per ms, ms
    let p99 = |c: &reports::Collector| c.latency.value_at_quantile(0.99) as f64 / 1e6;
    // The quantile's standard error: sqrt(q(1 − q)/n) / f(t_q); f = 0.01 × the hazard there.
    let check = |got: f64, want: f64, hazard: f64, n: f64, what: &str| {
        let se = (0.99f64 * 0.01 / n).sqrt() / (0.01 * hazard);
        let tol = 4.0 * se + want * 1e-3;
        assert!(
            (got - want).abs() <= tol,
            "{what}: p99 {got} vs {want} ± {tol}"
        );
    };

    let plain = scenario(&text(""));
    let (_, c0) = hasim::Run::new(&plain).seed(3).simulate().parts();
    let n0 = c0.count(models::Outcome::Succeeded) as f64;
    check(p99(&c0), 100f64.ln() / mu, mu, n0, "unhedged");

    let hedged = scenario(&text(r#", hedge: Hedge(delay: "20ms", max_copies: 2)"#));
    let (s, c) = hasim::Run::new(&hedged).seed(3).simulate().parts();
    let n = c.count(models::Outcome::Succeeded) as f64;
    let extra = s.resilience.hedges as f64 / n;
    let want = (-d * mu).exp();
    let se = (want * (1.0 - want) / n).sqrt();
    assert!(
        (extra - want).abs() <= 4.0 * se,
        "extra copies {extra} vs {want} ± {se}"
    );
    check(p99(&c), (100f64.ln() / mu + d) / 2.0, 2.0 * mu, n, "hedged");
    // Every copy that lost was cancelled: one per hedged request that the original won, or
    // the original when the copy won; never more than the copies sent.
    // (Counts start at the end of warm-up: a hedge sent just before it may be cancelled after.)
    let x = s.resilience;
    assert!(x.cancelled <= x.hedges + 20, "{x:?}");
    assert!(x.cancelled as f64 > 0.99 * x.hedges as f64, "{x:?}");
}

// ---- circuit breaker state machines, as data (tests/data/breakers/*.ron) ----

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    breaker: RawBreaker,
    steps: Vec<Step>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBreaker {
    window: RawWindow,
    minimum_calls: u32,
    failure_rate_threshold: f64,
    open_duration: String,
    half_open_calls: u32,
}

#[derive(Deserialize)]
enum RawWindow {
    Count(u32),
    Time { length: String, buckets: u32 },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Step {
    at: String,
    #[serde(default)]
    call: Option<Call>,
    #[serde(default)]
    start: Option<String>,
    #[serde(default)]
    end: Option<String>,
    #[serde(default)]
    fails: Option<bool>,
    then: State,
}

#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "lowercase")]
enum Call {
    Ok,
    Fail,
    Refused,
}

#[derive(Deserialize, Clone, Copy, PartialEq, Debug)]
enum State {
    Closed,
    Open,
    HalfOpen,
}

fn dur(s: &str) -> SimDuration {
    parse_duration(s).unwrap_or_else(|e| panic!("{s}: {}", e.message))
}

#[test]
fn breaker_transitions_follow_the_configured_thresholds() {
    let mut files: Vec<_> = std::fs::read_dir(repo("tests/data/breakers"))
        .expect("the cases")
        .map(|e| e.expect("entry").path())
        .collect();
    files.sort();
    assert!(files.len() >= 3);
    for file in files {
        let text = std::fs::read_to_string(&file).expect("readable");
        let case: Case = ron::Options::default()
            .with_default_extension(ron::extensions::Extensions::IMPLICIT_SOME)
            .from_str(&text)
            .unwrap_or_else(|e| panic!("{file:?}: {e}"));
        let b = &case.breaker;
        let mut breaker = Breaker::new(BreakerSpec {
            window: match &b.window {
                RawWindow::Count(n) => BreakerWindow::Count(*n),
                RawWindow::Time { length, buckets } => BreakerWindow::Time {
                    length: dur(length),
                    buckets: *buckets,
                },
            },
            minimum_calls: b.minimum_calls,
            failure_rate_threshold: b.failure_rate_threshold,
            open_duration: dur(&b.open_duration),
            half_open_calls: b.half_open_calls,
        });
        let mut running: Vec<(String, u32)> = Vec::new();
        for (i, step) in case.steps.iter().enumerate() {
            let now = SimTime(dur(&step.at).0);
            let here = format!("{}: step {i} at {}", file.display(), step.at);
            if let Some(call) = step.call {
                let permit = breaker.permit(now);
                match call {
                    Call::Refused => assert!(permit.is_none(), "{here}: should be refused"),
                    Call::Ok | Call::Fail => {
                        let e = permit.unwrap_or_else(|| panic!("{here}: refused"));
                        breaker.record(now, e, matches!(call, Call::Fail));
                    }
                }
            }
            if let Some(name) = &step.start {
                let e = breaker
                    .permit(now)
                    .unwrap_or_else(|| panic!("{here}: refused"));
                running.push((name.clone(), e));
            }
            if let Some(name) = &step.end {
                let k = running
                    .iter()
                    .position(|(n, _)| n == name)
                    .expect("started");
                let (_, e) = running.remove(k);
                breaker.record(now, e, step.fails.expect("an end says whether it failed"));
            }
            let state = match breaker.state() {
                BreakerState::Closed => State::Closed,
                BreakerState::Open => State::Open,
                BreakerState::HalfOpen => State::HalfOpen,
            };
            assert_eq!(state, step.then, "{here}");
        }
    }
}

/// Breaker transitions and the replica's state, in time order.
#[derive(Default)]
struct BreakerLog(Vec<(SimTime, BreakerState)>);

impl Observer<Record> for BreakerLog {
    fn record(&mut self, now: SimTime, r: &Record) {
        if let Record::BreakerChange { state, .. } = *r {
            self.0.push((now, state));
        }
    }
}

/// In a run: the breaker opens once failures are half its time window, lets a trial through every
/// open_duration (never sooner) while it lasts, closes after it, and saves the replica the
/// refused requests.
#[test]
fn a_breaker_in_a_run_opens_probes_and_closes() {
    let loaded = load("scenarios/circuit-breaker.ron");
    let (r, log) = hasim::Run::new(&loaded)
        .seed(1)
        .observe(BreakerLog::default())
        .execute();
    let (from, to) = (SimTime(120_000_000_000), SimTime(180_000_000_000));
    let log = log.0;
    assert!(log.len() >= 3, "{log:?}");
    assert_eq!(log[0].1, BreakerState::Open);
    // Half of a 10 s window of successes must be outweighed first: about 5 s at 100 req/s.
    let opened = log[0].0.since(from);
    assert!(
        log[0].0 >= from
            && opened > SimDuration::from_secs(3)
            && opened < SimDuration::from_secs(7),
        "{log:?}"
    );
    for w in log.windows(2) {
        match (w[0].1, w[1].1) {
            (BreakerState::Open, BreakerState::HalfOpen) => {
                assert!(w[1].0.since(w[0].0) >= SimDuration::from_secs(5), "{w:?}")
            }
            (BreakerState::HalfOpen, BreakerState::Open | BreakerState::Closed)
            | (BreakerState::Closed, BreakerState::Open) => {}
            other => panic!("impossible transition {other:?}"),
        }
        if w[1].1 == BreakerState::Closed {
            assert!(w[1].0 >= to, "closed during the outage: {w:?}");
        }
    }
    let last = log.last().expect("transitions");
    assert_eq!(last.1, BreakerState::Closed);
    assert!(last.0.since(to) < SimDuration::from_secs(10), "{log:?}");
    let x = r.resilience.expect("a breaker");
    assert!(x.short_circuited > 1000, "{x:?}");
    assert!(
        r.requests.failed_by.refused < x.short_circuited / 10,
        "{:?}",
        r.requests
    );
}

// ---- stale work and the metastable retry storm ----

/// Success rate over the windows that start at or after `from_s`.
fn success_after(r: &reports::Report, from_s: f64) -> f64 {
    let (ok, all) = r
        .series
        .iter()
        .filter(|w| w.start_ns as f64 / 1e9 >= from_s)
        .fold((0, 0), |(o, a), w| {
            (o + w.succeeded, a + w.succeeded + w.failed)
        });
    ok as f64 / all.max(1) as f64
}

/// scenarios/retry-storm.ron: a 30 s slowdown with 3 attempts and no stale-drop leaves the
/// service collapsed long after the trigger; with 1 attempt, or with stale work dropped, it
/// recovers. Qualitative, over several seeds.
#[test]
fn a_retry_storm_is_metastable_unless_attempts_or_stale_work_are_cut() {
    let base = std::fs::read_to_string(repo("scenarios/retry-storm.ron")).expect("the example");
    let one = base.replace("max_attempts: 3", "max_attempts: 1");
    let drop = base.replace("drop_stale: false", "drop_stale: true");
    assert!(one != base && drop != base);
    for seed in [1, 2, 3] {
        let run = |text: &str| hasim::Run::new(&scenario(text)).seed(seed).execute().0;
        let storm = run(&base);
        // The trigger ends at 90 s; judge the last two minutes.
        let s = success_after(&storm, 180.0);
        assert!(
            s < 0.2,
            "seed {seed}: the storm should persist, success {s}"
        );
        let verdict = &storm.sre.incidents[0].verdict;
        assert!(verdict.starts_with("metastable"), "seed {seed}: {verdict}");
        let x = storm.resilience.as_ref().expect("retries");
        assert!(
            x.attempts_per_request > 2.5 && x.stale_served > 10_000,
            "{x:?}"
        );
        for (what, text) in [("1 attempt", &one), ("drop_stale", &drop)] {
            let r = run(text);
            let s = success_after(&r, 180.0);
            assert!(s > 0.99, "seed {seed}, {what}: should recover, success {s}");
            assert_eq!(
                r.sre.incidents[0].verdict, "recovered",
                "seed {seed}, {what}"
            );
        }
    }
}

/// Under overload with a deadline, LIFO serves fresh requests in time while FIFO serves only
/// requests whose callers have left.
#[test]
fn lifo_keeps_serving_in_time_under_overload() {
    let text = |discipline: &str| {
        format!(
            r#"Scenario(
                name: "lifo", horizon: "300s", warmup: "60s",
                clients: [Client(name: "c", arrivals: Poisson(rate_per_s: 150.0), timeout: "1s", target: "api")],
                pools: [Pool(name: "api", replicas: 1, workers: 1, queue_capacity: 1000,
                    service: Exponential(mean: "10ms"), discipline: {discipline})],
            )"#
        )
    };
    let ok = |d: &str| {
        let r = hasim::Run::new(&scenario(&text(d))).seed(2).execute().0;
        r.requests.succeeded as f64 / r.requests.offered as f64
    };
    let (fifo, lifo, adaptive) = (ok("Fifo"), ok("Lifo"), ok("AdaptiveLifo(above: 10)"));
    // Capacity is 100 of 150 req/s: at best two thirds succeed.
    assert!(fifo < 0.05, "FIFO {fifo}");
    assert!(lifo > 0.6 && lifo <= 0.67 + 0.01, "LIFO {lifo}");
    assert!(adaptive > 0.6, "adaptive LIFO {adaptive}");
}

/// gRPC retry throttling: during a full outage the tokens drain below half and retries stop;
/// without it every request is tried three times.
#[test]
fn retry_throttling_stops_retries_during_an_outage() {
    let text = |budget: &str| {
        format!(
            r#"Scenario(
                name: "throttle", horizon: "300s",
                clients: [Client(name: "c", arrivals: Poisson(rate_per_s: 100.0), target: "lb",
                    retry: Retry(max_attempts: 3{budget}))],
                balancers: [Balancer(name: "lb", policy: RoundRobin, target: "api")],
                pools: [Pool(name: "api", replicas: 2, workers: 4, service: Exponential(mean: "10ms"))],
                faults: [PoolOutage(pool: "api", at: "100s", duration: "60s")],
            )"#
        )
    };
    let retries = |b: &str| {
        let r = hasim::Run::new(&scenario(&text(b))).seed(4).execute().0;
        r.resilience.expect("retries").retries
    };
    let free = retries("");
    let throttled = retries(", budget: Throttle(max_tokens: 10.0, token_ratio: 0.1)");
    // 60 s × 100 req/s, two retries each.
    assert!(free > 11_000, "{free}");
    // Five failures drain 10 tokens to 5; each later retry needs ten successes first.
    assert!(throttled <= 10, "{throttled}");
}

/// A replica's token bucket (100/s, burst 20) under 300 req/s: it admits the rate and rejects
/// the rest, never more than burst + rate·t in a window (asserted per second of the run).
#[test]
fn a_rate_limited_replica_admits_its_rate() {
    let loaded = scenario(
        r#"Scenario(
            name: "rate-limit", horizon: "100s",
            clients: [Client(name: "c", arrivals: Poisson(rate_per_s: 300.0), target: "api")],
            pools: [Pool(name: "api", replicas: 1, workers: 100, service: Exponential(mean: "1ms"),
                rate_limit: TokenBucket(rate_per_s: 100.0, burst: 20))],
        )"#,
    );
    #[derive(Default)]
    struct PerSecond(Vec<u64>);
    impl Observer<Record> for PerSecond {
        fn record(&mut self, now: SimTime, r: &Record) {
            if let Record::Finished {
                outcome: models::Outcome::Succeeded,
                latency,
                ..
            } = *r
            {
                let s = (now.0 - latency.0) as usize / 1_000_000_000;
                if self.0.len() <= s {
                    self.0.resize(s + 1, 0);
                }
                self.0[s] += 1;
            }
        }
    }
    let (r, per_s) = hasim::Run::new(&loaded)
        .seed(1)
        .observe(PerSecond::default())
        .execute();
    // Admitted when they arrived: at most 20 + 100 in any one second.
    assert!(per_s.0.iter().all(|&n| n <= 120), "{:?}", per_s.0);
    let ok = r.requests.succeeded as f64;
    assert!(
        ok <= 20.0 + 100.0 * 100.0 && ok > 0.98 * 100.0 * 100.0,
        "{ok}"
    );
    let x = r.resilience.expect("a rate limit");
    assert_eq!(x.rate_limited, r.requests.failed_by.rejected);
}

/// Load-dependent slowdown: with constant 10 ms service and 5% per request in service, a
/// request that starts beside n others takes 10·(1 + 0.05·n) ms; alone it takes 10 ms.
#[test]
fn service_slows_with_the_requests_in_service() {
    let loaded = scenario(
        r#"Scenario(
            name: "slowdown", horizon: "1s",
            clients: [Client(name: "c", arrivals: Constant(rate_per_s: 1000.0), target: "api")],
            pools: [Pool(name: "api", replicas: 1, workers: 100, service: Constant("10ms"),
                slowdown_per_request: 0.05)],
        )"#,
    );
    #[derive(Default)]
    struct Lat(Vec<u64>);
    impl Observer<Record> for Lat {
        fn record(&mut self, _: SimTime, r: &Record) {
            if let Record::Finished { latency, .. } = *r {
                self.0.push(latency.0);
            }
        }
    }
    let (_, lat) = hasim::Run::new(&loaded)
        .seed(1)
        .observe(Lat::default())
        .execute();
    // Arrivals every 1 ms: the first starts alone (10 ms); in steady state n others are in
    // service with n = latency / 1 ms − 1, so latency L solves L = 10·(1 + 0.05·(L − 1)) ms:
    // L = 9.5 / 0.5 = 19 ms.
    assert_eq!(lat.0[0], 10_000_000);
    let last = *lat.0.last().expect("finished");
    assert!((18_500_000..=19_500_000).contains(&last), "{last}");
}
